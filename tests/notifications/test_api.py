"""GET /api/v1/notifications and marking read through the API."""

from __future__ import annotations

from flask_babel import force_locale

from app.extensions import db
from app.notifications.messages import title_and_text
from tests.factories import make_user
from tests.notifications.factories import make_notification


def test_list_shape_newest_first(api_as):
    api = api_as("officer")
    older = make_notification(
        api.user,
        kind="arrears",
        params={"loan_id": 7, "founder_name": "张伟", "due_on": "2026-02-28", "days_past_due": 5},
    )
    newer = make_notification(api.user)
    db.session.commit()
    older_id, newer_id, older_params = older.id, newer.id, dict(older.params)
    response = api.get("/api/v1/notifications", headers={"Accept-Language": "en"})
    assert response.status_code == 200
    body = response.get_json()
    assert (body["page"], body["per_page"], body["total"]) == (1, 20, 2)
    first, second = body["items"]
    assert first["id"] == newer_id
    assert second["id"] == older_id
    assert set(first) == {"id", "kind", "title", "text", "link", "created_on", "read"}
    assert first["kind"] == "followups_due"
    assert first["link"] == "/followups/"
    assert first["read"] is False
    assert first["created_on"] == "2026-03-05"
    assert second["link"] == "/loans/7"
    with force_locale("en"):
        title, text = title_and_text("arrears", older_params)
    assert (second["title"], second["text"]) == (title, text)


def test_pagination(api_as):
    api = api_as("founder")
    for _ in range(5):
        make_notification(api.user)
    db.session.commit()
    body = api.get("/api/v1/notifications?page=2&per_page=2").get_json()
    assert (len(body["items"]), body["total"]) == (2, 5)
    assert api.get("/api/v1/notifications?per_page=500").status_code == 422


def test_mark_read_and_read_all(api_as):
    api = api_as("staff")
    notes = [make_notification(api.user) for _ in range(3)]
    db.session.commit()
    one = notes[0].id
    response = api.post(f"/api/v1/notifications/{one}/read")
    assert response.status_code == 200
    assert response.get_json()["read"] is True
    assert api.post(f"/api/v1/notifications/{one}/read").get_json()["read"] is True
    response = api.post("/api/v1/notifications/read-all")
    assert response.get_json() == {"marked": 2}
    assert api.post("/api/v1/notifications/read-all").get_json() == {"marked": 0}
    items = api.get("/api/v1/notifications").get_json()["items"]
    assert all(item["read"] for item in items)


def test_another_users_notification_is_404(api_as):
    theirs = make_notification(make_user(role="staff"))
    db.session.commit()
    theirs_id = theirs.id
    api = api_as("admin")
    assert api.post(f"/api/v1/notifications/{theirs_id}/read").status_code == 404
    assert api.post("/api/v1/notifications/2147483647/read").status_code == 404
    assert api.get("/api/v1/notifications").get_json()["total"] == 0


def test_anonymous_gets_401(anonymous_api):
    assert anonymous_api.get("/api/v1/notifications").status_code == 401
    assert anonymous_api.post("/api/v1/notifications/read-all").status_code == 401
    assert anonymous_api.post("/api/v1/notifications/1/read").status_code == 401
