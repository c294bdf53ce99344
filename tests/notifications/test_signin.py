"""The founder's status-update request at sign-in, and the optional e-mail on accounts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import url_for
from sqlalchemy import select

from app.auth.models import User
from app.core.audit import AuditEntry
from app.core.dates import today_in_china
from app.extensions import db
from app.followups.models import FollowupTask
from app.notifications.queries import has_pending_status_request
from tests.factories import DEFAULT_PASSWORD, make_founder, make_user
from tests.notifications.factories import make_task


@pytest.fixture
def status_url(app):
    """The founder's status update page, where a pending request sends them."""
    with app.test_request_context():
        return url_for("followups.my_status")


def founder_account():
    founder = make_founder(region_code="460100")
    user = make_user(role="founder", region_code="460100", founder_id=founder.id)
    return founder, user


def sign_in(client, username):
    return client.post("/login", data={"username": username, "password": DEFAULT_PASSWORD})


def flashes(client):
    with client.session_transaction() as session:
        return [message for _category, message in session.get("_flashes", [])]


def test_founder_with_a_due_follow_up_is_asked_at_every_sign_in(client, status_url):
    founder, user = founder_account()
    task = make_task(founder, kind="business", due_on=today_in_china() - timedelta(days=3))
    db.session.commit()
    username, task_id = user.username, task.id

    response = sign_in(client, username)
    assert response.status_code == 302
    assert response.headers["Location"] == status_url
    assert len(flashes(client)) == 1

    client.post("/logout")
    assert sign_in(client, username).headers["Location"] == status_url

    # Answering completes the task: the request is gone.
    client.post("/logout")
    answered = db.session.get(FollowupTask, task_id)
    answered.status = "done"
    answered.done_on = answered.closed_on = today_in_china()
    answered.channel = "self_report"
    db.session.commit()
    assert sign_in(client, username).headers["Location"].endswith("/")
    assert sign_in(client, username).status_code in (200, 302)


def test_no_request_without_an_open_business_or_post_training_task(client, status_url):
    founder, user = founder_account()
    make_task(founder, kind="intake_contact", due_on=today_in_china())
    make_task(founder, kind="business", due_on=today_in_china() + timedelta(days=45))
    db.session.commit()
    response = sign_in(client, user.username)
    assert response.headers["Location"] != status_url
    assert flashes(client) == []


def test_staff_are_never_redirected(client, status_url):
    staff = make_user(role="staff")
    db.session.commit()
    assert sign_in(client, staff.username).headers["Location"] != status_url


def test_pending_status_request_window(db_session):
    founder = make_founder()
    today = today_in_china()
    assert not has_pending_status_request(founder.id, today)
    assert not has_pending_status_request(None, today)
    make_task(founder, kind="post_training", due_on=today + timedelta(days=30))
    assert has_pending_status_request(founder.id, today)  # the 30-day window has opened
    assert not has_pending_status_request(founder.id, today - timedelta(days=1))
    other = make_founder()
    make_task(other, kind="business", due_on=today - timedelta(days=40), status="missed")
    make_task(other, kind="business", due_on=today, status="cancelled")
    assert not has_pending_status_request(other.id, today)


# E-mail on accounts ---------------------------------------------------------------------
def test_admin_sets_and_clears_an_email(client, login_as):
    login_as("admin", "460000")
    response = client.post(
        "/admin/users/new",
        data={
            "username": "li.na",
            "password": "a fine new password",
            "role": "staff",
            "region_code": "460100",
            "email": " li.na@example.com ",
        },
    )
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.username == "li.na"))
    assert user.email == "li.na@example.com"
    user_id = user.id
    page = client.get(f"/admin/users/{user_id}/edit").get_data(as_text=True)
    assert 'value="li.na@example.com"' in page

    response = client.post(
        f"/admin/users/{user_id}/edit",
        data={"role": "staff", "region_code": "460100", "active": "y", "email": "new@example.org"},
    )
    assert response.status_code == 302
    assert db.session.get(User, user_id).email == "new@example.org"
    update = db.session.scalar(
        select(AuditEntry).where(
            AuditEntry.entity_id == str(user_id), AuditEntry.action == "user.update"
        )
    )
    assert update.after == {"email": "new@example.org"}

    client.post(
        f"/admin/users/{user_id}/edit",
        data={"role": "staff", "region_code": "460100", "active": "y", "email": ""},
    )
    assert db.session.get(User, user_id).email is None


@pytest.mark.parametrize("bad", ["not-an-address", "a@b", "two@@example.com", "sp ace@example.com"])
def test_malformed_email_is_refused(client, login_as, bad):
    login_as("admin", "460000")
    response = client.post(
        "/admin/users/new",
        data={
            "username": "wang.fang",
            "password": "a fine new password",
            "role": "staff",
            "region_code": "460100",
            "email": bad,
        },
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 200
    assert "Enter an e-mail address like name@example.com." in response.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.username == "wang.fang")) is None


def test_api_creates_a_user_with_email(api_as):
    api = api_as("admin", "460000")
    body = {
        "username": "zhao.lei",
        "password": "a fine new password",
        "role": "officer",
        "region_code": "460200",
        "email": "zhao.lei@example.com",
    }
    response = api.post("/api/v1/users", json=body)
    assert response.status_code == 201
    assert response.get_json()["email"] == "zhao.lei@example.com"
    response = api.post("/api/v1/users", json=body | {"username": "zhao.two", "email": "nope"})
    assert response.status_code == 422
    assert "email" in response.get_json()["errors"]


def test_update_without_email_keeps_it(db_session):
    from app.auth import operations

    user = make_user(role="staff", email="keep@example.com")
    operations.update_user(
        None,
        user,
        display_name="x",
        role="staff",
        region_code="460100",
        founder_id=None,
        active=True,
    )
    assert user.email == "keep@example.com"


def test_no_request_for_a_task_too_old_for_a_report_to_complete(db_session):
    founder, _user = founder_account()
    today = today_in_china()
    make_task(founder, kind="business", due_on=today - timedelta(days=31))
    assert not has_pending_status_request(founder.id, today)
    make_task(founder, kind="post_training", due_on=today - timedelta(days=30))
    assert has_pending_status_request(founder.id, today)
