"""The JSON API base: tokens, bearer auth, the error format and POST /users."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.auth.models import ApiToken, User
from app.core.db import utcnow
from app.extensions import db
from tests.factories import DEFAULT_PASSWORD, make_user

NEW_USER = {
    "username": "api.created",
    "password": "a long enough password",
    "role": "staff",
    "region_code": "460200",
}


def test_token_is_issued_for_good_credentials(client):
    user = make_user()
    db.session.commit()
    response = client.post(
        "/api/v1/auth/token", json={"username": user.username, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"token", "expires_at"}
    assert response.headers["Cache-Control"] == "no-store"
    stored = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert body["token"] not in stored.token_hash


def test_bad_credentials_get_one_generic_401(client):
    user = make_user()
    db.session.commit()
    wrong = client.post(
        "/api/v1/auth/token",
        json={"username": user.username, "password": "nope nope nope"},
        headers={"Accept-Language": "en"},
    )
    unknown = client.post(
        "/api/v1/auth/token",
        json={"username": "ghost", "password": "nope nope nope"},
        headers={"Accept-Language": "en"},
    )
    assert wrong.status_code == unknown.status_code == 401
    assert (
        wrong.get_json() == unknown.get_json() == {"error": "Unknown username or wrong password."}
    )


def test_repeated_failures_answer_429_with_retry_after(app, client):
    user = make_user()
    db.session.commit()
    for _ in range(app.config["LOGIN_FREE_FAILURES"] + 1):
        client.post(
            "/api/v1/auth/token", json={"username": user.username, "password": "bad password"}
        )
    response = client.post(
        "/api/v1/auth/token", json={"username": user.username, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(b"{not json", "application/json"), (b"[1, 2]", "application/json"), (b"", None)],
)
def test_malformed_json_is_400(client, body, content_type):
    response = client.post("/api/v1/auth/token", data=body, content_type=content_type)
    assert response.status_code == 400
    assert "error" in response.get_json()


def test_missing_and_mistyped_fields_are_422_per_field(api_as):
    admin = api_as("admin", "460000")
    response = admin.post(
        "/api/v1/users",
        json={"username": 12, "role": "staff", "region_code": "460100", "founder_id": "x"},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert errors["username"] == ["Expected text."]
    assert errors["founder_id"] == ["Expected a whole number."]
    response = admin.post("/api/v1/users", json={"role": "staff"})
    errors = response.get_json()["errors"]
    assert {"username", "password", "region_code"} <= set(errors)


def test_admin_creates_a_user(api_as):
    admin = api_as("admin", "460000")
    response = admin.post("/api/v1/users", json=NEW_USER)
    assert response.status_code == 201
    body = response.get_json()
    assert body["username"] == "api.created"
    assert body["region_code"] == "460200"
    assert "password" not in body
    assert "password_hash" not in body
    assert db.session.get(User, body["id"]).role == "staff"


def test_duplicate_user_is_409_with_the_existing_id(api_as):
    admin = api_as("admin", "460000")
    first = admin.post("/api/v1/users", json=NEW_USER).get_json()
    again = admin.post("/api/v1/users", json=NEW_USER | {"username": "API.Created"})
    assert again.status_code == 409
    assert again.get_json()["id"] == first["id"]


def test_unknown_region_and_role_are_422(api_as):
    admin = api_as("admin", "460000")
    response = admin.post(
        "/api/v1/users", json=NEW_USER | {"region_code": "999999", "role": "boss"}
    )
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"region_code", "role"}


@pytest.mark.parametrize("role", ["staff", "officer", "founder"])
def test_only_admins_create_users(api_as, role):
    api = api_as(role)
    assert api.post("/api/v1/users", json=NEW_USER).status_code == 403


def test_no_token_is_401_and_a_bad_token_is_401_even_with_a_session(client, login_as):
    assert client.get("/api/v1/regions").status_code == 401
    login_as("admin", "460000")
    assert client.get("/api/v1/regions").status_code == 200  # the session works
    response = client.get("/api/v1/regions", headers={"Authorization": "Bearer forged"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_revoked_and_expired_tokens_are_refused(api_as):
    api = api_as("staff")
    assert api.delete("/api/v1/auth/token").status_code == 204
    assert api.get("/api/v1/regions").status_code == 401
    other = api_as("staff")
    token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == other.user.id))
    token.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert other.get("/api/v1/regions").status_code == 401


def test_delete_token_without_a_token_is_401(client, login_as):
    login_as("staff")
    assert client.delete("/api/v1/auth/token").status_code == 401


def test_list_envelope_and_page_validation(api_as):
    admin = api_as("admin", "460000")
    for number in range(3):
        make_user(username=f"listed.{number}")
    db.session.commit()
    body = admin.get("/api/v1/users", query_string={"per_page": 2, "q": "listed"}).get_json()
    assert set(body) == {"items", "page", "per_page", "total"}
    assert (body["page"], body["per_page"], body["total"]) == (1, 2, 3)
    assert len(body["items"]) == 2
    page_two = admin.get("/api/v1/users", query_string={"per_page": 2, "q": "listed", "page": 2})
    assert len(page_two.get_json()["items"]) == 1
    for bad in ({"page": 0}, {"per_page": 201}, {"page": "two"}):
        response = admin.get("/api/v1/users", query_string=bad)
        assert response.status_code == 422
        assert set(response.get_json()["errors"]) == set(bad)


def test_session_api_calls_need_csrf_but_bearer_calls_do_not(csrf_client):
    make_user(role="admin", region_code="460000", username="csrf.admin")
    db.session.commit()
    page = csrf_client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    csrf_client.post(
        "/login",
        data={"username": "csrf.admin", "password": DEFAULT_PASSWORD, "csrf_token": token},
    )
    # Signing in starts a new session, so the page after it carries a new CSRF token.
    dashboard = csrf_client.get("/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', dashboard).group(1)
    refused = csrf_client.post("/api/v1/users", json=NEW_USER)
    assert refused.status_code == 400
    accepted = csrf_client.post("/api/v1/users", json=NEW_USER, headers={"X-CSRFToken": token})
    assert accepted.status_code == 201
    bearer = csrf_client.post(
        "/api/v1/auth/token", json={"username": "csrf.admin", "password": DEFAULT_PASSWORD}
    ).get_json()["token"]
    # A bearer-signed call needs no CSRF token, even beside the session cookie.
    with_token = csrf_client.post(
        "/api/v1/users",
        json=NEW_USER | {"username": "second.one"},
        headers={"Authorization": f"Bearer {bearer}"},
    )
    assert with_token.status_code == 201


def test_unknown_api_path_is_json_404(api_as):
    api = api_as("staff")
    response = api.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.is_json


def test_method_not_allowed_is_json_405(api_as):
    api = api_as("admin", "460000")
    response = api.put("/api/v1/users", json={})
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]


def test_oversized_uploads_are_refused_with_413(app, api_as):
    admin = api_as("admin", "460000")
    original = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 1024
    try:
        response = admin.post("/api/v1/users", json=NEW_USER | {"display_name": "名" * 2000})
    finally:
        app.config["MAX_CONTENT_LENGTH"] = original
    assert response.status_code == 413
    assert response.is_json


def test_a_huge_name_is_a_field_error_not_a_crash(api_as):
    admin = api_as("admin", "460000")
    response = admin.post("/api/v1/users", json=NEW_USER | {"display_name": "x" * 1_000_000})
    assert response.status_code == 422
    assert "display_name" in response.get_json()["errors"]


def test_anonymous_api_writes_get_401_even_with_csrf_on(csrf_client):
    assert csrf_client.post("/api/v1/users", json=NEW_USER).status_code == 401
    assert csrf_client.delete("/api/v1/auth/token").status_code == 401


def test_nul_in_json_text_is_422(api_as):
    admin = api_as("admin", "460000")
    response = admin.post("/api/v1/users", json=NEW_USER | {"display_name": "a\u0000b"})
    assert response.status_code == 422
    assert "display_name" in response.get_json()["errors"]


def test_proxy_headers_are_trusted_only_when_configured(database_url):
    from app import create_app

    seen = {}
    for count in (0, 1):
        proxied = create_app("testing", SQLALCHEMY_DATABASE_URI=database_url, PROXY_COUNT=count)

        @proxied.get("/__address")
        def address():
            from flask import request

            return request.remote_addr

        seen[count] = (
            proxied.test_client()
            .get("/__address", headers={"X-Forwarded-For": "203.0.113.9"})
            .get_data(as_text=True)
        )
        with proxied.app_context():
            from app.extensions import db as app_db

            app_db.engine.dispose()
    assert seen == {0: "127.0.0.1", 1: "203.0.113.9"}


def test_nul_in_a_looked_up_field_is_422_not_a_database_error(api_as):
    admin = api_as("admin", "460000")
    response = admin.post("/api/v1/users", json=NEW_USER | {"region_code": "a\u0000b"})
    assert response.status_code == 422
    assert "region_code" in response.get_json()["errors"]
