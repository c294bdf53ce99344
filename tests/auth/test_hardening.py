"""Controls of the security review (docs/security.md, "Gaps found") that had no test:
logging of sign-ins and refusals, the password policy and the forced change, token
revocation, throttling of the current-password check, equal time for unknown names,
session renewal, headers on every kind of response, downloads never cached."""

from __future__ import annotations

import io
import logging
import re

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from app import create_app
from app.auth import operations, passwords
from app.auth.models import ApiToken, User
from app.core.audit import AuditEntry
from app.core.errors import ValidationFailed
from app.extensions import db
from tests.factories import DEFAULT_PASSWORD, make_user

NEW_PASSWORD = "a brand new password 2026"


def sign_in(client, username, password=DEFAULT_PASSWORD, **kwargs):
    return client.post("/login", data={"username": username, "password": password}, **kwargs)


def token_for(client, username, password=DEFAULT_PASSWORD):
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    return response


# Gap 2: sign-in outcomes and refusals are logged ----------------------------------------
def test_sign_in_outcomes_are_logged_without_the_password(app, client, caplog):
    user_id = make_user(username="log.me").id
    db.session.commit()
    caplog.set_level(logging.INFO, logger="app.auth.operations")
    sign_in(client, "log.me")
    ok = [r for r in caplog.records if "sign-in ok" in r.getMessage()]
    assert ok
    assert f"user={user_id}" in ok[-1].getMessage()
    client.post("/logout")
    caplog.clear()
    sign_in(client, "log.me", "a wrong password here")
    sign_in(client, "nobody.here", "another wrong password")
    sign_in(client, "forged\nsign-in ok user=1", "x" * 12)
    refused = [r.getMessage() for r in caplog.records if "sign-in refused" in r.getMessage()]
    assert len(refused) == 3
    assert "name='log.me'" in refused[0]
    assert "name='nobody.here'" in refused[1]
    # A newline in a typed name is escaped: it cannot start a forged line of its own.
    assert "\n" not in refused[2]
    assert "\\n" in refused[2]
    for _ in range(app.config["LOGIN_FREE_FAILURES"]):
        sign_in(client, "log.me", "a wrong password here")
    caplog.clear()
    sign_in(client, "log.me")  # the right password, but the pair is locked
    assert any("locked" in r.getMessage() for r in caplog.records)
    assert "a wrong password here" not in caplog.text
    assert DEFAULT_PASSWORD not in caplog.text


def test_token_issue_and_revoke_are_logged(client, caplog):
    user = make_user()
    db.session.commit()
    caplog.set_level(logging.INFO, logger="app.auth.operations")
    raw = token_for(client, user.username).get_json()["token"]
    client.delete("/api/v1/auth/token", headers={"Authorization": f"Bearer {raw}"})
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith(f"API token issued user={user.id}") for m in messages)
    assert any(m.startswith(f"API token revoked user={user.id}") for m in messages)
    assert raw not in caplog.text


def test_forbidden_requests_are_logged(client, login_as, caplog):
    founder = login_as("founder")
    caplog.set_level(logging.WARNING, logger="app.core.permissions")
    assert client.get("/admin/users").status_code == 403
    [record] = [r for r in caplog.records if r.name == "app.core.permissions"]
    assert record.levelno == logging.WARNING
    assert f"user={founder.id}" in record.getMessage()
    assert "auth.list_users" in record.getMessage()


# Gap 5 and 7: password change, reset and logout end API tokens --------------------------
def open_tokens(user_id):
    return list(
        db.session.scalars(
            select(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        )
    )


def test_password_change_and_reset_revoke_api_tokens(client):
    user = make_user()
    admin = make_user(role="admin", region_code="460000")
    raw, _ = operations.issue_api_token(user)
    operations.change_own_password(user, DEFAULT_PASSWORD, NEW_PASSWORD)
    assert operations.find_usable_token(raw) is None
    raw, _ = operations.issue_api_token(user)
    operations.reset_password(admin, user, "reset by the admin 2026")
    assert operations.find_usable_token(raw) is None
    assert open_tokens(user.id) == []
    db.session.commit()
    # The same through the API: a token issued, then the password changed on the page.
    other = make_user()
    db.session.commit()
    bearer = token_for(client, other.username).get_json()["token"]
    headers = {"Authorization": f"Bearer {bearer}"}
    assert client.get("/api/v1/regions", headers=headers).status_code == 200
    sign_in(client, other.username)
    client.post(
        "/account/password",
        data={
            "current_password": DEFAULT_PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    assert client.get("/api/v1/regions", headers=headers).status_code == 401


def test_change_own_password_is_audited(db_session):
    user = make_user()
    operations.change_own_password(user, DEFAULT_PASSWORD, NEW_PASSWORD)
    [entry] = db.session.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "user.password_change", AuditEntry.entity_id == str(user.id)
        )
    )
    assert entry.actor_id == user.id
    assert entry.after == {"sessions_ended": True}


def test_logout_revokes_the_users_api_tokens(client):
    user = make_user()
    db.session.commit()
    bearer = token_for(client, user.username).get_json()["token"]
    headers = {"Authorization": f"Bearer {bearer}"}
    assert client.get("/api/v1/regions", headers=headers).status_code == 200
    sign_in(client, user.username)
    assert client.post("/logout").status_code == 302
    assert client.get("/api/v1/regions", headers=headers).status_code == 401
    assert open_tokens(user.id) == []


# Gap 15: the password policy and the forced change ---------------------------------------
@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("eleven char", "at least 12"),
        ("qwerty123456", "most common"),
        ("Password1234", "most common"),
        ("1qaz2wsx3edc", "most common"),
        ("my name is wang.fang!", "username"),
        ("WANG.FANG.2026", "username"),
        ("abababababababab", "repeated"),
    ],
)
def test_common_and_short_passwords_are_refused(db_session, password, why):
    user = make_user(username="wang.fang")
    with force_locale("en"):
        assert why in " ".join(operations.password_errors(password, username="wang.fang"))
    with pytest.raises(ValidationFailed) as refused:
        operations.create_user(
            None, username="wang.fang", password=password, role="staff", region_code="460100"
        )
    assert "password" in refused.value.errors
    with pytest.raises(ValidationFailed):
        operations.reset_password(None, user, password)
    with pytest.raises(ValidationFailed) as refused:
        operations.change_own_password(user, DEFAULT_PASSWORD, password)
    assert "new_password" in refused.value.errors


def test_twelve_characters_of_a_random_password_are_enough(db_session):
    assert operations.password_errors("k3J-x_9qLm2Z", username="demo.admin") == []
    assert len(operations.common_passwords()) >= 100


def test_a_reset_password_must_be_changed_at_sign_in(app, client, login_as):
    login_as("admin", "460000")
    target = make_user()
    db.session.commit()
    target_id, name = target.id, target.username
    assert target.must_change_password is False  # made without an acting user (CLI, demo)
    client.post(
        f"/admin/users/{target_id}/password",
        data={"password": "reset by the admin 2026", "confirm": "reset by the admin 2026"},
    )
    assert db.session.get(User, target_id).must_change_password is True
    theirs = app.test_client()
    landed = sign_in(theirs, name, "reset by the admin 2026")
    assert landed.headers["Location"].endswith("/account/password")
    # Every other page leads back to the change; the API answers 403 naming it.
    assert theirs.get("/").headers["Location"].endswith("/account/password")
    assert theirs.get("/founders").headers["Location"].endswith("/account/password")
    assert theirs.get("/account/password").status_code == 200
    api = theirs.get("/api/v1/regions", headers={"Accept-Language": "en"})
    assert api.status_code == 403
    assert "password" in api.get_json()["error"]
    refused = token_for(app.test_client(), name, "reset by the admin 2026")
    assert refused.status_code == 403
    assert "修改密码" in refused.get_json()["error"]  # no Accept-Language: the default, Chinese
    changed = theirs.post(
        "/account/password",
        data={
            "current_password": "reset by the admin 2026",
            "new_password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    assert changed.status_code == 302
    assert db.session.get(User, target_id).must_change_password is False
    assert sign_in(theirs, name, NEW_PASSWORD).headers["Location"].endswith("/")
    assert theirs.get("/").status_code == 200
    assert token_for(app.test_client(), name, NEW_PASSWORD).status_code == 201


def test_accounts_made_by_another_user_must_change_their_password(client, login_as, api_as):
    login_as("admin", "460000")
    client.post(
        "/admin/users/new",
        data={
            "username": "made.by.admin",
            "password": "chosen by the admin 1",
            "role": "staff",
            "region_code": "460100",
        },
    )
    assert operations.get_user_by_username("made.by.admin").must_change_password is True
    admin_api = api_as("admin", "460000")
    response = admin_api.post(
        "/api/v1/users",
        json={
            "username": "made.by.api",
            "password": "chosen by the admin 2",
            "role": "staff",
            "region_code": "460100",
        },
    )
    assert response.status_code == 201
    assert operations.get_user_by_username("made.by.api").must_change_password is True


def test_resetting_ones_own_password_does_not_force_a_change(db_session):
    admin = make_user(role="admin", region_code="460000")
    operations.reset_password(admin, admin, "my own new password 1")
    assert admin.must_change_password is False


# Gap 16: the current-password check is throttled -----------------------------------------
def test_wrong_current_passwords_are_throttled(app, client, login_as):
    user = login_as("staff")
    wrong = {"current_password": "not my password", "new_password": NEW_PASSWORD}
    wrong["confirm"] = NEW_PASSWORD
    english = {"Accept-Language": "en"}
    for _ in range(app.config["LOGIN_FREE_FAILURES"] + 1):
        page = client.post("/account/password", data=wrong, headers=english)
        assert "The current password is not correct." in page.get_data(as_text=True)
    # Locked now: even the right current password is not checked.
    right = wrong | {"current_password": DEFAULT_PASSWORD}
    refused = client.post("/account/password", data=right, headers=english)
    assert refused.status_code == 302
    followed = client.get(refused.headers["Location"], headers=english)
    assert "Too many wrong passwords" in followed.get_data(as_text=True)
    db.session.expire_all()
    assert operations.verify_password(db.session.get(User, user.id).password_hash, DEFAULT_PASSWORD)


# Gap 17: unknown usernames take one password check, like known ones -----------------------
def test_unknown_usernames_cost_one_password_check(app, db_session, monkeypatch):
    make_user(username="known.one")
    calls = []
    real = passwords.verify_password

    def counting(password_hash, password):
        calls.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(passwords, "verify_password", counting)
    monkeypatch.setattr(operations, "verify_password", counting)
    with app.test_request_context():
        operations.authenticate("known.one", "a wrong password", ip_address="10.0.0.1")
        assert len(calls) == 1
        operations.authenticate("unknown.one", "a wrong password", ip_address="10.0.0.2")
    assert len(calls) == 2
    assert calls[1].startswith("$argon2id$")


# Gap 18: signing in starts a new session --------------------------------------------------
def test_sign_in_starts_a_new_session(csrf_client):
    username = make_user().username
    db.session.commit()
    page = csrf_client.get("/login").get_data(as_text=True)
    before = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    with csrf_client.session_transaction() as session:
        session["planted"] = "by someone who had the browser before"
        old_csrf = session["csrf_token"]
    csrf_client.post(
        "/login",
        data={"username": username, "password": DEFAULT_PASSWORD, "csrf_token": before},
    )
    with csrf_client.session_transaction() as session:
        assert "planted" not in session
        assert session.get("csrf_token") != old_csrf


# Gap 8: security headers on every kind of response ----------------------------------------
HEADERS = {
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


def assert_security_headers(response):
    for name, value in HEADERS.items():
        assert value in response.headers.get(name, ""), (name, response.status_code)


def test_security_headers_on_every_kind_of_response(app, client, api_as, monkeypatch):
    api = api_as("staff")
    responses = {
        "api 200": api.get("/api/v1/regions"),
        "api 401": client.get("/api/v1/regions"),
        "api 404": api.get("/api/v1/nothing-here"),
        "openapi": client.get("/api/v1/openapi.json"),
        "page 404": client.get("/no/such/page"),
        "static": client.get("/static/app.css"),
    }
    sign_in(client, api.user.username)
    responses["xlsx"] = client.get("/founders/export.xlsx")
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024)
    responses["page 413"] = client.post(
        "/founders/import", data={"file": (io.BytesIO(b"x" * 4096), "f.csv")}
    )
    client.post("/logout")
    founder = make_user(role="founder")
    db.session.commit()
    sign_in(client, founder.username)
    responses["page 403"] = client.get("/admin/users")
    expected = {"api 200": 200, "api 401": 401, "api 404": 404, "openapi": 200}
    expected |= {"page 404": 404, "static": 200, "xlsx": 200, "page 413": 413, "page 403": 403}
    for name, response in responses.items():
        assert response.status_code == expected[name], name
        assert_security_headers(response)
        response.close()


def test_a_crash_in_production_carries_the_headers_and_hsts(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    production = create_app("production")

    def boom():
        raise RuntimeError("secret internals")

    production.add_url_rule("/boom", "boom", boom)
    response = production.test_client().get("/boom")
    assert response.status_code == 500
    assert_security_headers(response)
    assert "max-age=" in response.headers["Strict-Transport-Security"]


# Gap 4: downloads are not kept in the browser's cache --------------------------------------
def test_downloads_are_not_kept_in_the_browser_cache(client, login_as):
    login_as("staff")
    for url in ("/founders/export.xlsx", "/founders/import/template.xlsx"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Content-Disposition"].startswith("attachment")
        assert response.headers["Cache-Control"] == "no-store", url
        response.close()


# Gap 11: every upload route refuses a body over the 20 MiB cap ----------------------------
# One byte over the cap, sent as it is (the test client would spool a built form to a file).
TOO_BIG = b"a" * (20 * 1024 * 1024 + 1)
MULTIPART = "multipart/form-data; boundary=boundary"


@pytest.mark.parametrize(
    ("role", "url"),
    [
        ("staff", "/founders/import"),
        ("staff", "/api/v1/imports/founders"),
        ("staff", "/library/import"),
        ("officer", "/loans/statements/"),
        ("officer", "/api/v1/imports/repayments"),
    ],
)
def test_every_upload_route_refuses_a_body_over_20_mib(client, api_as, role, url):
    api = api_as(role)
    sign_in(client, api.user.username)
    if url.startswith("/api/"):
        response = api.post(url, data=TOO_BIG, content_type=MULTIPART)
        assert response.is_json
    else:
        response = client.post(url, data=TOO_BIG, content_type=MULTIPART)
    assert response.status_code == 413
