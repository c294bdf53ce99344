"""The bell and the list page: counts, unread highlighted, links, mark read, scope."""

from __future__ import annotations

import re

from flask import url_for

from app.extensions import db
from app.notifications.models import Notification
from tests.factories import make_user
from tests.notifications.factories import make_notification

EN = {"Accept-Language": "en"}


def read_at(notification_id: int):
    return db.session.get(Notification, notification_id).read_at


def ids(*notifications: Notification) -> list[int]:
    db.session.commit()
    return [notification.id for notification in notifications]


def bell_count(html: str) -> str | None:
    match = re.search(r'data-testid="notification-count">(\d+)<', html)
    return match.group(1) if match else None


def test_bell_shows_the_unread_count_on_every_page(client, login_as):
    user = login_as("staff")
    make_notification(user)
    make_notification(user)
    read = make_notification(user)
    read.read_at = read.created_at
    db.session.commit()
    for path in ("/", "/notifications/"):
        response = client.get(path, follow_redirects=True)
        assert response.status_code == 200
        assert bell_count(response.get_data(as_text=True)) == "2"


def test_no_count_without_unread(client, login_as):
    login_as("officer")
    html = client.get("/notifications/").get_data(as_text=True)
    assert 'data-testid="notification-bell"' in html
    assert bell_count(html) is None


def test_list_newest_first_with_text_links_and_unread_marked(client, login_as, app):
    user = login_as("staff")
    older = make_notification(user, params={"due_today": 1, "overdue": 0})
    newer = make_notification(user, params={"due_today": 4, "overdue": 2})
    older.read_at = older.created_at
    [newer_id] = ids(newer)
    html = client.get("/notifications/", headers=EN).get_data(as_text=True)
    assert html.index("Follow-ups due today: 4; overdue: 2.") < html.index(
        "Follow-ups due today: 1; overdue: 0."
    )
    assert html.count('data-read="false"') == 1
    assert html.count('data-read="true"') == 1
    assert f"/notifications/{newer_id}/open" in html
    assert 'data-testid="mark-all-read"' in html


def test_list_is_paginated(client, login_as):
    user = login_as("founder")
    for _ in range(25):
        make_notification(user, kind="status_request", params={"due_on": "2026-03-01"})
    db.session.commit()
    html = client.get("/notifications/?page=2").get_data(as_text=True)
    assert html.count('data-testid="notification"') == 5


def test_opening_a_link_marks_read_and_goes_there(client, login_as, app):
    user = login_as("staff")
    [note_id] = ids(make_notification(user))
    response = client.get(f"/notifications/{note_id}/open")
    assert response.status_code == 302
    with app.test_request_context():
        assert response.headers["Location"] == url_for("followups.queue")
    assert read_at(note_id) is not None


def test_a_link_to_nowhere_comes_back_to_the_list(client, login_as):
    user = login_as("staff")
    [note_id] = ids(make_notification(user, kind="unknown_kind"))
    response = client.get(f"/notifications/{note_id}/open")
    assert response.headers["Location"].endswith("/notifications/")


def test_mark_read_and_mark_all_read(client, login_as):
    user = login_as("officer")
    one, two, three = ids(*(make_notification(user) for _ in range(3)))
    assert client.post(f"/notifications/{one}/read").status_code == 302
    assert read_at(one) is not None
    assert read_at(two) is None
    response = client.post("/notifications/read-all", follow_redirects=True)
    assert response.status_code == 200
    assert read_at(two) is not None
    assert read_at(three) is not None
    assert bell_count(response.get_data(as_text=True)) is None


def test_another_users_notification_is_404(client, login_as):
    other = make_user(role="staff")
    [theirs] = ids(make_notification(other))
    login_as("staff")
    assert client.get(f"/notifications/{theirs}/open").status_code == 404
    assert client.post(f"/notifications/{theirs}/read").status_code == 404
    client.post("/notifications/read-all")
    assert read_at(theirs) is None


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get("/notifications/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_every_role_reads_its_list(client, login_as):
    for role in ("admin", "staff", "officer", "founder"):
        login_as(role)
        assert client.get("/notifications/").status_code == 200
        client.post("/logout")
