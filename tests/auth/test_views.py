"""Sign-in, sessions, CSRF, headers and the user administration pages."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.auth.models import User
from app.core.audit import AuditEntry
from app.extensions import db
from tests.factories import DEFAULT_PASSWORD, make_user

GENERIC_FAILURE = "Unknown username or wrong password."


def sign_in(client, username, password=DEFAULT_PASSWORD, **kwargs):
    return client.post("/login", data={"username": username, "password": password}, **kwargs)


def test_login_page_renders_with_security_headers(client):
    response = client.get("/login", headers={"Accept-Language": "en"})
    assert response.status_code == 200
    assert "Sign in" in response.get_data(as_text=True)
    headers = response.headers
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in headers  # only in production


def test_pages_are_chinese_by_default_and_follow_the_browser(client):
    chinese = client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    english = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert "登录" in chinese.get_data(as_text=True)
    assert "Sign in" in english.get_data(as_text=True)


def test_session_cookie_is_httponly_and_samesite(client):
    user = make_user()
    db.session.commit()
    response = sign_in(client, user.username)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_successful_sign_in_lands_on_the_dashboard(client):
    user = make_user(display_name="李明")
    db.session.commit()
    response = sign_in(client, user.username)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "李明" in page


@pytest.mark.parametrize("which", ["wrong_password", "unknown_user"])
def test_failed_sign_in_shows_one_generic_message(client, which):
    user = make_user()
    db.session.commit()
    username = user.username if which == "wrong_password" else "no.such.person"
    response = sign_in(client, username, "not the password", headers={"Accept-Language": "en"})
    assert response.status_code == 200
    assert GENERIC_FAILURE in response.get_data(as_text=True)


def test_too_many_failures_lock_the_account_with_a_clear_message(app, client):
    user = make_user()
    db.session.commit()
    for _ in range(app.config["LOGIN_FREE_FAILURES"] + 1):
        sign_in(client, user.username, "not the password")
    response = sign_in(client, user.username, headers={"Accept-Language": "en"})
    assert "Too many failed attempts" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # still signed out


def test_next_parameter_cannot_redirect_off_site(client):
    user = make_user()
    db.session.commit()
    response = sign_in(client, user.username, query_string={"next": "//evil.example/x"})
    assert response.headers["Location"] == "/"
    client.post("/logout")
    user_again = make_user()
    db.session.commit()
    response = sign_in(client, user_again.username, query_string={"next": "/regions"})
    assert response.headers["Location"] == "/regions"


def signed_in_on_two_devices(app, client):
    """A user signed in on `client` and on a second device; returns (user, second client)."""
    user = make_user()
    db.session.commit()
    other_device = app.test_client()
    sign_in(client, user.username)
    sign_in(other_device, user.username)
    return user, other_device


def test_logout_ends_every_session_of_the_user(app, client):
    _, other_device = signed_in_on_two_devices(app, client)
    assert other_device.get("/").status_code == 200
    response = client.post("/logout")
    assert response.status_code == 302
    assert other_device.get("/").status_code == 302
    assert client.get("/").status_code == 302


def test_password_change_ends_sessions_and_requires_the_new_password(app, client):
    user, other_device = signed_in_on_two_devices(app, client)
    response = client.post(
        "/account/password",
        data={
            "current_password": DEFAULT_PASSWORD,
            "new_password": "the new password 2026",
            "confirm": "the new password 2026",
        },
    )
    assert response.status_code == 302
    assert other_device.get("/").status_code == 302
    assert sign_in(client, user.username).status_code == 200  # old password refused
    assert sign_in(client, user.username, "the new password 2026").status_code == 302


def test_password_change_with_wrong_current_password_names_the_field(client, login_as):
    login_as("staff")
    response = client.post(
        "/account/password",
        data={
            "current_password": "wrong",
            "new_password": "the new password 2026",
            "confirm": "the new password 2026",
        },
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 200
    assert "The current password is not correct." in response.get_data(as_text=True)


def test_csrf_is_required_on_forms(csrf_client):
    user = make_user()
    db.session.commit()
    refused = sign_in(csrf_client, user.username, headers={"Accept-Language": "en"})
    assert refused.status_code == 302  # back to the form with a message, not signed in
    assert csrf_client.get("/").status_code == 302
    page = csrf_client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "The form had expired. Please try again." in page
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    accepted = csrf_client.post(
        "/login",
        data={"username": user.username, "password": DEFAULT_PASSWORD, "csrf_token": token},
    )
    assert accepted.status_code == 302
    assert csrf_client.get("/").status_code == 200


def test_every_page_form_refuses_a_post_without_csrf_token(csrf_app, csrf_client):
    """No unsafe page route runs its action without the token (the API has its own rules)."""
    unsafe_rules = [
        rule
        for rule in csrf_app.url_map.iter_rules()
        if not rule.rule.startswith("/api/") and {"POST", "PUT", "PATCH", "DELETE"} & rule.methods
    ]
    assert len(unsafe_rules) >= 7
    for rule in unsafe_rules:
        url = rule.rule.replace("<id:user_id>", "1")
        response = csrf_client.post(url, data={"username": "x", "locale": "en"})
        assert response.status_code == 302, rule.rule
        assert "/login" not in response.headers["Location"] or rule.rule == "/login"


def test_admin_creates_an_account_through_the_form(client, login_as):
    login_as("admin", "460000")
    assert client.get("/admin/users/new").status_code == 200
    response = client.post(
        "/admin/users/new",
        data={
            "username": "zhang.wei",
            "display_name": "张伟",
            "password": "a fine new password",
            "role": "officer",
            "region_code": "460200",
        },
    )
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.username == "zhang.wei"))
    assert (user.role, user.region_code, user.display_name) == ("officer", "460200", "张伟")
    listing = client.get("/admin/users", query_string={"q": "zhang"}).get_data(as_text=True)
    assert "zhang.wei" in listing


def test_admin_form_errors_name_the_field_and_write_nothing(client, login_as):
    login_as("admin", "460000")
    response = client.post(
        "/admin/users/new",
        data={"username": "x", "password": "short", "role": "staff", "region_code": "123456"},
        headers={"Accept-Language": "en"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Unknown region." in page
    assert "Field must be between 3 and 64 characters long." in page
    assert db.session.scalar(select(User).where(User.username == "x")) is None


def test_admin_deactivates_and_resets_password(app, client, login_as):
    login_as("admin", "460000")
    target = make_user(display_name="旧名字")
    db.session.commit()
    target_id, target_name = target.id, target.username
    their_device = app.test_client()
    sign_in(their_device, target_name)
    response = client.post(
        f"/admin/users/{target_id}/edit",
        data={"display_name": "新名字", "role": "staff", "region_code": "460100"},
    )  # the unticked "active" box deactivates
    assert response.status_code == 302
    assert their_device.get("/").status_code == 302
    assert db.session.get(User, target_id).active is False
    response = client.post(
        f"/admin/users/{target_id}/password",
        data={"password": "reset password 2026", "confirm": "reset password 2026"},
    )
    assert response.status_code == 302
    actions = set(
        db.session.scalars(select(AuditEntry.action).where(AuditEntry.entity_id == str(target_id)))
    )
    assert {"user.create", "user.update", "user.password_reset"} <= actions


def test_editing_an_unknown_user_is_404(client, login_as):
    login_as("admin", "460000")
    assert client.get("/admin/users/999999/edit").status_code == 404
    assert client.get("/admin/users/999999/password").status_code == 404


def test_user_list_filters_by_role_region_and_status(client, login_as):
    login_as("admin", "460000")
    make_user(role="officer", region_code="460200", username="officer.sanya")
    make_user(role="staff", region_code="310110", username="staff.yangpu")
    db.session.commit()
    page = client.get("/admin/users", query_string={"role": "officer"}).get_data(as_text=True)
    assert "officer.sanya" in page
    assert "staff.yangpu" not in page
    page = client.get("/admin/users", query_string={"region_code": "310110"}).get_data(as_text=True)
    assert "staff.yangpu" in page
    assert "officer.sanya" not in page
    page = client.get("/admin/users", query_string={"status": "inactive"}).get_data(as_text=True)
    assert "staff.yangpu" not in page


def test_language_switch_is_remembered_on_the_account(client, login_as):
    user = login_as("staff")
    response = client.post("/language", data={"locale": "en", "next": "/regions"})
    assert response.headers["Location"] == "/regions"
    assert db.session.get(User, user.id).locale == "en"
    page = client.get("/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "Dashboard" in page
    response = client.post("/language", data={"locale": "zh_CN", "next": "//evil.example"})
    assert response.headers["Location"] == "/"
    assert db.session.get(User, user.id).locale == "zh_CN"
    page = client.get("/").get_data(as_text=True)
    assert 'value="zh_CN" class="btn btn-sm btn-secondary"' in page  # shown as chosen


def test_audit_page_filters(client, login_as):
    admin = login_as("admin", "460000")
    make_user(username="audited.person")
    db.session.commit()
    page = client.get(
        "/admin/audit", query_string={"action": "user.create", "actor": admin.username}
    ).get_data(as_text=True)
    assert "user.create" in page
    page = client.get("/admin/audit", query_string={"entity_type": "region"}).get_data(as_text=True)
    assert "user.create" not in page
    bad_dates = client.get("/admin/audit", query_string={"occurred_from": "not-a-date"})
    assert bad_dates.status_code == 200


def test_domain_errors_on_pages_flash_and_go_back_only_on_site(client, login_as):
    login_as("admin", "460000")
    form = {"code": "460100", "name": "海口", "level": "city", "parent_code": "460000"}
    response = client.post(
        "/admin/regions/new", data=form, headers={"Referer": "https://evil.example/x"}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    response = client.post(
        "/admin/regions/new",
        data=form,
        headers={"Referer": "http://localhost/regions?x=1", "Accept-Language": "en"},
    )
    assert response.headers["Location"] == "/regions?x=1"
    page = client.get("/regions", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Region 460100 already exists." in page


def test_language_chosen_before_sign_in_is_kept_and_saved(client):
    user = make_user()
    db.session.commit()
    db.session.refresh(user)
    client.post("/language", data={"locale": "en", "next": "/login"})
    sign_in(client, user.username)
    assert "Dashboard" in client.get("/", headers={"Accept-Language": "zh-CN"}).get_data(
        as_text=True
    )
    assert db.session.get(User, user.id).locale == "en"
    client.post("/logout")
    page = client.get("/login", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "Sign in" in page


def test_sessions_end_a_working_day_after_sign_in_however_busy(app, client, login_as):
    login_as("staff")
    assert client.get("/").status_code == 200
    lifetime = app.config["PERMANENT_SESSION_LIFETIME"].total_seconds()
    with client.session_transaction() as session:
        session["signed_in_at"] -= lifetime + 1
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_nul_characters_are_a_field_error(client, login_as):
    login_as("admin", "460000")
    response = client.post(
        "/admin/regions/new",
        data={"code": "460500", "name": "坏\x00名", "level": "city", "parent_code": "460000"},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 200
    assert "Contains a character that is not allowed." in response.get_data(as_text=True)


def test_duplicate_username_on_the_form_is_a_field_error_keeping_the_input(client, login_as):
    login_as("admin", "460000")
    make_user(username="taken.name")
    db.session.commit()
    response = client.post(
        "/admin/users/new",
        data={
            "username": "taken.name",
            "display_name": "重名的人",
            "password": "a fine new password",
            "role": "staff",
            "region_code": "460100",
        },
        headers={"Accept-Language": "en"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "The username taken.name is taken." in page
    assert "重名的人" in page


def test_huge_ids_in_urls_are_404_not_errors(client, login_as):
    login_as("admin", "460000")
    for user_id in ("2147483648", "99999999999999999999", "0"):
        assert client.get(f"/admin/users/{user_id}/edit").status_code == 404


def test_signed_in_pages_are_not_cached_but_static_files_are(client, login_as):
    assert "no-store" not in client.get("/login").headers.get("Cache-Control", "")
    login_as("staff")
    assert client.get("/").headers["Cache-Control"] == "no-store"
    static = client.get("/static/app.css")
    assert "no-store" not in static.headers.get("Cache-Control", "")
    static.close()
