"""Accounts: creating and changing users, signing in with throttling, API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import case, delete, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.auth.models import ApiToken, LoginThrottle, User
from app.auth.passwords import burn_verification_time, hash_password, needs_rehash, verify_password
from app.core.audit import changed_fields, record_audit, snapshot
from app.core.db import utcnow
from app.core.errors import Conflict, ValidationFailed
from app.core.permissions import Role
from app.extensions import db
from app.regions.queries import get_region

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,63}$")
PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 128
# Failures older than this are forgotten when the next one is counted.
FAILURE_MEMORY = timedelta(hours=1)


# Validation ---------------------------------------------------------------------------
def normalise_username(username: str | None) -> str:
    """Usernames are case-insensitive: stored and compared in lower case.

    NUL characters are dropped: no username has one and PostgreSQL cannot compare them.
    """
    return (username or "").replace("\x00", "").strip().lower()


def password_errors(password: str | None) -> list[str]:
    """Why a new password is unacceptable (empty list when it is fine)."""
    password = password or ""
    if len(password) < PASSWORD_MIN_LENGTH:
        return [_("Use at least %(n)s characters.", n=PASSWORD_MIN_LENGTH)]
    if len(password) > PASSWORD_MAX_LENGTH:
        return [_("Use at most %(n)s characters.", n=PASSWORD_MAX_LENGTH)]
    if len(set(password)) < 4:
        return [_("Use a password that is not just a few repeated characters.")]
    return []


def _account_errors(*, role: str, region_code: str, founder_id: int | None) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if role not in {r.value for r in Role}:
        errors["role"] = [_("Choose one of the roles.")]
    if get_region(region_code) is None:
        errors["region_code"] = [_("Unknown region.")]
    if founder_id is not None and role != Role.FOUNDER:
        errors["founder_id"] = [_("Only founder accounts are linked to a founder.")]
    if founder_id is not None and founder_id < 1:
        errors["founder_id"] = [_("Enter a valid founder id.")]
    return errors


# Users --------------------------------------------------------------------------------
def create_user(
    actor: Any,
    *,
    username: str,
    password: str,
    role: str,
    region_code: str,
    founder_id: int | None = None,
    display_name: str = "",
) -> User:
    """Add an account; the username is unique regardless of case."""
    username = normalise_username(username)
    errors = _account_errors(role=role, region_code=region_code, founder_id=founder_id)
    if not USERNAME_PATTERN.match(username):
        errors["username"] = [
            _("3 to 64 characters: lower-case letters, digits, dot, dash or underscore.")
        ]
    if problems := password_errors(password):
        errors["password"] = problems
    if len(display_name or "") > 100:
        errors["display_name"] = [_("Use at most %(n)s characters.", n=100)]
    if errors:
        raise ValidationFailed(errors)
    existing = get_user_by_username(username)
    if existing is not None:
        raise Conflict(_("The username %(name)s is taken.", name=username), id=existing.id)
    user = User(
        username=username,
        display_name=(display_name or "").strip(),
        password_hash=hash_password(password),
        role=role,
        region_code=region_code,
        founder_id=founder_id,
        active=True,
        session_version=1,
    )
    db.session.add(user)
    db.session.flush()
    record_audit(actor, "user.create", user, None, snapshot(user))
    return user


def update_user(
    actor: Any,
    user: User,
    *,
    display_name: str,
    role: str,
    region_code: str,
    founder_id: int | None,
    active: bool,
) -> User:
    """Change an account's role, region, link or status; deactivation ends its sessions."""
    errors = _account_errors(role=role, region_code=region_code, founder_id=founder_id)
    if len(display_name or "") > 100:
        errors["display_name"] = [_("Use at most %(n)s characters.", n=100)]
    if getattr(actor, "id", None) == user.id:
        if not active:
            errors["active"] = [_("You cannot deactivate your own account.")]
        if role != user.role:
            errors["role"] = [_("You cannot change your own role.")]
    if errors:
        raise ValidationFailed(errors)
    before = snapshot(user)
    user.display_name = (display_name or "").strip()
    user.role = role
    user.region_code = region_code
    user.founder_id = founder_id
    was_active, user.active = user.active, active
    if was_active and not active:
        _end_all_access(user)
    db.session.flush()
    db.session.refresh(user, ["region"])
    after = snapshot(user)
    record_audit(actor, "user.update", user, before, changed_fields(before, after))
    return user


def reset_password(actor: Any, user: User, new_password: str) -> None:
    """An administrator sets a new password; the user's sessions and tokens end."""
    if problems := password_errors(new_password):
        raise ValidationFailed({"password": problems})
    _set_password(user, new_password)
    record_audit(actor, "user.password_reset", user, None, {"sessions_ended": True})


def change_own_password(user: User, current_password: str, new_password: str) -> None:
    """The user changes their own password; every session and token of theirs ends."""
    errors: dict[str, list[str]] = {}
    if not verify_password(user.password_hash, current_password or ""):
        errors["current_password"] = [_("The current password is not correct.")]
    if problems := password_errors(new_password):
        errors["new_password"] = problems
    elif new_password == current_password:
        errors["new_password"] = [_("Choose a password different from the current one.")]
    if errors:
        raise ValidationFailed(errors)
    _set_password(user, new_password)
    record_audit(user, "user.password_change", user, None, {"sessions_ended": True})


def sign_out_everywhere(user: User) -> None:
    """Logout: end every browser session of this user, on every device."""
    user.session_version = User.session_version + 1
    db.session.flush()
    db.session.refresh(user, ["session_version"])


def _set_password(user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    user.password_changed_at = _now()
    _end_all_access(user)


def _end_all_access(user: User) -> None:
    user.session_version = User.session_version + 1
    # A user has a handful of tokens; loading them keeps the session's copies current.
    open_tokens = select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    for token in db.session.scalars(open_tokens):
        token.revoked_at = _now()
    db.session.flush()
    db.session.refresh(user, ["session_version"])


def get_user_by_username(username: str) -> User | None:
    """The account with this username (case-insensitive), or None."""
    return db.session.scalar(select(User).where(User.username == normalise_username(username)))


# Signing in ---------------------------------------------------------------------------
@dataclass(frozen=True)
class SignInResult:
    """The outcome of a sign-in attempt; the caller commits it either way."""

    user: User | None
    retry_after_seconds: int = 0

    @property
    def is_locked(self) -> bool:
        return self.retry_after_seconds > 0


def authenticate(username: str, password: str, *, ip_address: str | None) -> SignInResult:
    """Check a username and password, counting failures in the database.

    Unknown usernames and wrong passwords fail alike, take the same time and are counted
    alike, so an attacker learns nothing and is slowed down across every worker process.
    """
    now = _now()
    name = normalise_username(username)[:64]
    keys = [f"user:{name}"] + ([f"ip:{ip_address}"] if ip_address else [])
    wait = _seconds_locked(keys, now)
    if wait:
        return SignInResult(None, retry_after_seconds=wait)
    user = get_user_by_username(name) if name else None
    if user is None:
        burn_verification_time(password or "")
        ok = False
    else:
        ok = verify_password(user.password_hash, password or "") and user.is_active
    if not ok:
        _count_failure(keys, now)
        return SignInResult(None)
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.key == keys[0]))
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    db.session.flush()
    return SignInResult(user)


def _seconds_locked(keys: list[str], now: datetime) -> int:
    locked_until = db.session.scalar(
        select(func.max(LoginThrottle.locked_until)).where(LoginThrottle.key.in_(keys))
    )
    if locked_until is None:
        return 0
    if locked_until.tzinfo is None:  # SQLite's max() returns the raw stored value
        locked_until = datetime.fromisoformat(str(locked_until)).replace(tzinfo=now.tzinfo)
    remaining = (locked_until - now).total_seconds()
    return max(0, int(remaining) + 1) if remaining > 0 else 0


def _count_failure(keys: list[str], now: datetime) -> None:
    """Add one failure to every key atomically, then lock keys past their free allowance.

    The increment is one upsert, so two workers failing at once both count. Failures older
    than FAILURE_MEMORY are forgotten, so a shared office address recovers by itself.
    """
    config = current_app.config
    forgotten = now - FAILURE_MEMORY
    # Keep the table small: rows whose failures are forgotten and whose lock has passed go.
    db.session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.last_failed_at < forgotten,
            or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < now),
        )
    )
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    for key in keys:
        stmt = insert(LoginThrottle).values(key=key, failures=1, last_failed_at=now)
        stmt = stmt.on_conflict_do_update(
            index_elements=[LoginThrottle.key],
            set_={
                "failures": case(
                    (LoginThrottle.last_failed_at < forgotten, 1),
                    else_=LoginThrottle.failures + 1,
                ),
                "last_failed_at": now,
            },
        )
        db.session.execute(stmt)
        throttle = db.session.get(LoginThrottle, key, populate_existing=True)
        free = config["LOGIN_IP_FREE_FAILURES" if key.startswith("ip:") else "LOGIN_FREE_FAILURES"]
        if throttle.failures > free:
            doublings = min(throttle.failures - free - 1, 16)
            seconds = min(
                config["LOGIN_LOCK_BASE_SECONDS"] * 2**doublings, config["LOGIN_LOCK_MAX_SECONDS"]
            )
            throttle.locked_until = now + timedelta(seconds=seconds)
    db.session.flush()


# API tokens ---------------------------------------------------------------------------
def _token_digest(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode("utf-8")).hexdigest()


def issue_api_token(user: User) -> tuple[str, ApiToken]:
    """A new bearer token for `user`; the raw value is returned once and never stored."""
    raw = secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        token_hash=_token_digest(raw),
        expires_at=_now() + timedelta(hours=current_app.config["API_TOKEN_HOURS"]),
    )
    db.session.add(token)
    db.session.flush()
    return raw, token


def find_usable_token(raw_token: str) -> ApiToken | None:
    """The unrevoked, unexpired token matching `raw_token` whose user is active, or None."""
    if not raw_token or len(raw_token) > 200:
        return None
    token = db.session.scalar(
        select(ApiToken).where(ApiToken.token_hash == _token_digest(raw_token))
    )
    if token is None or not token.is_usable(_now()):
        return None
    return token


def revoke_api_token(token: ApiToken) -> None:
    """End a token now; later requests with it get 401."""
    token.revoked_at = _now()
    db.session.flush()


def _now() -> datetime:
    return utcnow()
