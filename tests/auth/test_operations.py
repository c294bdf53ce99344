"""Account rules, tested on the operations directly (no HTTP)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.auth import operations
from app.auth.models import ApiToken, LoginThrottle, User
from app.auth.queries import load_user_for_session
from app.core.audit import AuditEntry
from app.core.db import utcnow
from app.core.errors import Conflict, ValidationFailed
from app.extensions import db
from tests.factories import DEFAULT_PASSWORD, make_user


def audit_entries(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_create_user_hashes_with_argon2id_and_audits_without_the_hash(db_session):
    admin = make_user(role="admin", region_code="460000")
    user = operations.create_user(
        admin,
        username="Li.Ming",
        password="a long enough password",
        role="staff",
        region_code="460100",
        display_name="李明",
    )
    assert user.username == "li.ming"
    assert user.password_hash.startswith("$argon2id$")
    assert "a long enough password" not in user.password_hash
    entry = audit_entries("user.create")[-1]
    assert entry.actor_id == admin.id
    assert entry.entity_type == "user_account"
    assert entry.entity_id == str(user.id)
    assert entry.after["username"] == "li.ming"
    assert "password_hash" not in entry.after
    assert entry.region_code == "460100"


@pytest.mark.parametrize(
    ("fields", "bad_field"),
    [
        ({"username": "ab"}, "username"),
        ({"username": "has space"}, "username"),
        ({"password": "short"}, "password"),
        ({"password": "aaaaaaaaaaaa"}, "password"),
        ({"password": "x" * 129}, "password"),
        ({"role": "superuser"}, "role"),
        ({"region_code": "999999"}, "region_code"),
        ({"founder_id": 7}, "founder_id"),  # a staff account cannot be linked to a founder
        ({"role": "founder", "founder_id": 0}, "founder_id"),
        ({"display_name": "名" * 101}, "display_name"),
    ],
)
def test_create_user_names_the_bad_field_and_writes_nothing(db_session, fields, bad_field):
    values = {
        "username": "new.user",
        "password": "a long enough password",
        "role": "staff",
        "region_code": "460100",
    } | fields
    with pytest.raises(ValidationFailed) as caught:
        operations.create_user(None, **values)
    assert bad_field in caught.value.errors
    assert db.session.scalar(select(User).where(User.username == "new.user")) is None


def test_duplicate_username_is_a_conflict_naming_the_existing_account(db_session):
    first = make_user(username="wang.fang")
    with pytest.raises(Conflict) as caught:
        make_user(username="WANG.FANG")
    assert caught.value.payload["id"] == first.id


def test_deactivation_ends_sessions_and_tokens(db_session):
    admin = make_user(role="admin", region_code="460000")
    user = make_user()
    session_id = user.get_id()
    _, token = operations.issue_api_token(user)
    operations.update_user(
        admin,
        user,
        display_name="",
        role=user.role,
        region_code=user.region_code,
        founder_id=None,
        active=False,
    )
    assert load_user_for_session(session_id) is None
    assert db.session.get(ApiToken, token.id).revoked_at is not None
    entry = audit_entries("user.update")[-1]
    assert entry.before["active"] is True
    assert entry.after == {"active": False}


def test_an_admin_cannot_lock_themselves_out(db_session):
    admin = make_user(role="admin", region_code="460000")
    with pytest.raises(ValidationFailed) as caught:
        operations.update_user(
            admin,
            admin,
            display_name="",
            role="staff",
            region_code="460000",
            founder_id=None,
            active=False,
        )
    assert set(caught.value.errors) == {"active", "role"}


def test_password_reset_ends_every_session(db_session):
    admin = make_user(role="admin", region_code="460000")
    user = make_user()
    old_session = user.get_id()
    operations.reset_password(admin, user, "another fine password")
    assert load_user_for_session(old_session) is None
    assert load_user_for_session(user.get_id()) is user
    assert operations.authenticate(user.username, "another fine password", ip_address=None).user
    assert audit_entries("user.password_reset")[-1].entity_id == str(user.id)


def test_change_own_password_checks_the_current_one(db_session):
    user = make_user()
    with pytest.raises(ValidationFailed) as caught:
        operations.change_own_password(user, "wrong password", "a brand new password")
    assert "current_password" in caught.value.errors
    with pytest.raises(ValidationFailed) as caught:
        operations.change_own_password(user, DEFAULT_PASSWORD, DEFAULT_PASSWORD)
    assert "new_password" in caught.value.errors
    version = user.session_version
    operations.change_own_password(user, DEFAULT_PASSWORD, "a brand new password")
    assert user.session_version == version + 1


def test_sign_out_everywhere_bumps_the_session_version(db_session):
    user = make_user()
    old = user.get_id()
    operations.sign_out_everywhere(user)
    assert load_user_for_session(old) is None


@pytest.mark.parametrize("session_id", ["", "abc", "1", "1:x", ":", "99999:1"])
def test_malformed_session_ids_load_nobody(db_session, session_id):
    assert load_user_for_session(session_id) is None


def test_wrong_password_and_unknown_user_fail_alike_and_are_counted(db_session):
    user = make_user()
    wrong = operations.authenticate(user.username, "wrong password!", ip_address="10.0.0.1")
    unknown = operations.authenticate("nobody.here", "wrong password!", ip_address="10.0.0.1")
    assert wrong.user is None
    assert unknown.user is None
    assert not wrong.is_locked
    assert not unknown.is_locked
    counts = {row.key: row.failures for row in db.session.scalars(select(LoginThrottle)).all()}
    assert counts[f"user:{user.username}"] == 1
    assert counts[f"pair:{user.username}@10.0.0.1"] == 1
    assert counts["user:nobody.here"] == 1
    assert counts["ip:10.0.0.1"] == 2


def test_repeated_failures_lock_the_pair_even_for_the_right_password(app, db_session):
    user = make_user()
    free = app.config["LOGIN_FREE_FAILURES"]
    for _ in range(free + 1):
        result = operations.authenticate(user.username, "wrong password!", ip_address="10.0.0.9")
    assert result.user is None
    pair = db.session.get(LoginThrottle, f"pair:{user.username}@10.0.0.9")
    assert pair.failures == free + 1
    assert pair.locked_until > utcnow()
    locked = operations.authenticate(user.username, DEFAULT_PASSWORD, ip_address="10.0.0.9")
    assert locked.user is None
    assert 0 < locked.retry_after_seconds <= app.config["LOGIN_LOCK_BASE_SECONDS"] + 1
    # The owner, from another address, is not locked out by someone else's guesses.
    elsewhere = operations.authenticate(user.username, DEFAULT_PASSWORD, ip_address="10.0.0.7")
    assert elsewhere.user is not None
    assert db.session.get(LoginThrottle, f"user:{user.username}") is None


def test_once_a_lock_passes_the_next_attempt_is_checked(app, db_session):
    user = make_user()
    for _ in range(app.config["LOGIN_FREE_FAILURES"] + 1):
        operations.authenticate(user.username, "wrong password!", ip_address="10.0.0.9")
    pair = db.session.get(LoginThrottle, f"pair:{user.username}@10.0.0.9")
    pair.locked_until = utcnow() - timedelta(seconds=1)
    db.session.flush()
    assert operations.authenticate(user.username, DEFAULT_PASSWORD, ip_address="10.0.0.9").user
    assert db.session.get(LoginThrottle, f"pair:{user.username}@10.0.0.9") is None


def test_a_username_is_locked_for_everyone_only_after_many_failures(app, db_session):
    user = make_user()
    free = app.config["LOGIN_USER_FREE_FAILURES"]
    for number in range(free + 1):
        operations.authenticate(user.username, "wrong password!", ip_address=f"10.2.0.{number}")
    result = operations.authenticate(user.username, DEFAULT_PASSWORD, ip_address="10.3.0.1")
    assert result.user is None
    assert result.is_locked


def test_lock_time_doubles_and_is_capped(app, db_session):
    user = make_user()
    key = f"pair:{user.username}@10.1.1.1"
    waits = []
    for _ in range(app.config["LOGIN_FREE_FAILURES"] + 10):
        db.session.execute(
            LoginThrottle.__table__.update()
            .where(LoginThrottle.key == key)
            .values(locked_until=None)
        )
        operations.authenticate(user.username, "wrong password!", ip_address="10.1.1.1")
        throttle = db.session.get(LoginThrottle, key, populate_existing=True)
        if throttle.locked_until:
            waits.append(round((throttle.locked_until - utcnow()).total_seconds()))
    base, cap = app.config["LOGIN_LOCK_BASE_SECONDS"], app.config["LOGIN_LOCK_MAX_SECONDS"]
    assert waits[:3] == [base, base * 2, base * 4]
    assert max(waits) == cap


def test_a_successful_sign_in_takes_back_its_count_on_the_address(db_session):
    user = make_user()
    operations.authenticate("someone.else", "wrong password!", ip_address="10.4.0.1")
    assert operations.authenticate(user.username, DEFAULT_PASSWORD, ip_address="10.4.0.1").user
    assert db.session.get(LoginThrottle, "ip:10.4.0.1").failures == 1


def test_inactive_account_cannot_sign_in(db_session):
    user = make_user()
    user.active = False
    db.session.flush()
    assert operations.authenticate(user.username, DEFAULT_PASSWORD, ip_address=None).user is None


def test_tokens_are_stored_hashed_and_expire(app, db_session):
    user = make_user()
    raw, token = operations.issue_api_token(user)
    assert raw not in token.token_hash
    assert len(token.token_hash) == 64
    assert operations.find_usable_token(raw) is token
    token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.flush()
    assert operations.find_usable_token(raw) is None
    assert operations.find_usable_token("") is None
    assert operations.find_usable_token("x" * 500) is None


def test_revoked_token_is_refused(db_session):
    user = make_user()
    raw, token = operations.issue_api_token(user)
    operations.revoke_api_token(token)
    assert operations.find_usable_token(raw) is None


def test_forgotten_failures_are_pruned(db_session):
    old = utcnow() - operations.FAILURE_MEMORY - timedelta(minutes=1)
    db.session.add(LoginThrottle(key="user:long.ago", failures=3, last_failed_at=old))
    db.session.add(
        LoginThrottle(
            key="user:still.locked",
            failures=9,
            last_failed_at=old,
            locked_until=utcnow() + timedelta(minutes=5),
        )
    )
    db.session.flush()
    operations.authenticate("someone.else", "wrong password!", ip_address=None)
    assert db.session.get(LoginThrottle, "user:long.ago") is None
    assert db.session.get(LoginThrottle, "user:still.locked") is not None
