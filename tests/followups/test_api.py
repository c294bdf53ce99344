"""JSON API of follow-ups: list, one task, complete, attempts, services, assign, misuse."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.integrity.models import IntegrityEvent
from tests.factories import make_founder
from tests.followups.factories import make_task

QIONGHAI = "469002"
ITEM_KEYS = {
    "id",
    "kind",
    "subject_type",
    "subject_id",
    "founder_id",
    "sequence",
    "due_on",
    "status",
    "region_code",
}


def committed(*objects):
    ids = [obj.id for obj in objects]
    db.session.commit()
    return ids


def test_list_with_filters_and_page_envelope(api_as):
    founder = make_founder(region_code=QIONGHAI, lost_to_follow_up_on=date(2026, 9, 9))
    first = make_task("intake_contact", founder=founder, due_on=date(2026, 1, 6))
    second = make_task("business", founder=founder, due_on=date(2026, 6, 1))
    founder_id = founder.id
    first_id, second_id = committed(first, second)
    api = api_as("staff", QIONGHAI)
    body = api.get("/api/v1/followups?per_page=50").get_json()
    assert set(body) == {"items", "page", "per_page", "total"}
    mine = [item for item in body["items"] if item["founder_id"] == founder_id]
    assert [item["id"] for item in mine] == [first_id, second_id]
    assert set(mine[0]) >= ITEM_KEYS
    assert mine[0]["lost_to_follow_up_on"] == "2026-09-09"
    only = api.get("/api/v1/followups?kind=business&due_before=2026-06-02").get_json()
    assert second_id in [item["id"] for item in only["items"]]
    assert first_id not in [item["id"] for item in only["items"]]
    assert (
        api.get(f"/api/v1/followups?region_code=460100&founder_id={founder_id}").get_json()["total"]
        == 0
    )


@pytest.mark.parametrize(
    "query", ["status=later", "kind=x", "due_before=tomorrow", "per_page=500", "founder_id=-1"]
)
def test_bad_filters_are_422(api_as, query):
    api = api_as("staff")
    response = api.get(f"/api/v1/followups?{query}")
    assert response.status_code == 422
    assert response.get_json()["errors"]


def test_roles(api_as, anonymous_api):
    task = make_task("business")
    (task_id,) = committed(task)
    assert anonymous_api.get("/api/v1/followups").status_code == 401
    assert api_as("founder").get("/api/v1/followups").status_code == 403
    assert api_as("admin", "460000").get(f"/api/v1/followups/{task_id}").status_code == 200
    admin_complete = api_as("admin", "460000").post(
        f"/api/v1/followups/{task_id}/complete", json={}
    )
    assert admin_complete.status_code == 403
    assert api_as("staff", "460200").get(f"/api/v1/followups/{task_id}").status_code == 404
    assert api_as("officer").get(f"/api/v1/followups/{task_id}").status_code == 404
    assert api_as("staff").get("/api/v1/followups/999999999").status_code == 404


def test_complete_and_409(api_as):
    task = make_task("business", due_on=date(2026, 6, 1))
    (task_id,) = committed(task)
    api = api_as("staff")
    bad = api.post(
        f"/api/v1/followups/{task_id}/complete",
        json={"done_on": "2026-06-02", "channel": "self_report", "employees": -1},
    )
    assert bad.status_code == 422
    assert {"channel", "employees"} <= set(bad.get_json()["errors"])
    text = api.post(f"/api/v1/followups/{task_id}/complete", json={"employees": "3"})
    assert set(text.get_json()["errors"]) == {"employees"}
    missing = api.post(
        f"/api/v1/followups/{task_id}/complete", json={"done_on": "2026-06-02", "channel": "phone"}
    )
    assert missing.status_code == 422
    assert "business_status" in missing.get_json()["errors"]
    body = {
        "done_on": "2026-06-02",
        "channel": "phone",
        "business_status": "suspended",
        "employees": 0,
        "monthly_revenue": "0.00",
        "employment": "unemployed",
        "note": "暂停营业",
    }
    response = api.post(f"/api/v1/followups/{task_id}/complete", json=body)
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert (answer["status"], answer["business_status"], answer["monthly_revenue"]) == (
        "done",
        "suspended",
        "0.00",
    )
    assert api.post(f"/api/v1/followups/{task_id}/complete", json=body).status_code == 409
    assert api.post("/api/v1/followups/1/complete", data="nope").status_code in (400, 404)


def test_attempts_and_services(api_as):
    task = make_task("intake_services", due_on=date(2026, 1, 14))
    (task_id,) = committed(task)
    api = api_as("staff")
    attempt = api.post(
        f"/api/v1/followups/{task_id}/attempts",
        json={"attempted_on": "2026-01-13", "channel": "phone", "note": "无人接听"},
    )
    assert attempt.status_code == 201
    incomplete = api.post(
        f"/api/v1/followups/{task_id}/complete", json={"done_on": "2026-01-14", "channel": "phone"}
    )
    assert incomplete.status_code == 422
    assert "services" in incomplete.get_json()["errors"]
    items = ["career_guidance", "lead", "lead", "lead"]
    for item in items:
        response = api.post(
            f"/api/v1/followups/{task_id}/services",
            json={"item": item, "provided_on": "2026-01-12", "channel": "visit"},
        )
        assert response.status_code == 201
    assert (
        api.post(
            f"/api/v1/followups/{task_id}/services",
            json={"item": "lead", "provided_on": "2026-01-12", "channel": "visit"},
        ).status_code
        == 409
    )
    assert api.post(f"/api/v1/followups/{task_id}/services", json={"item": "x"}).status_code == 422
    detail = api.get(f"/api/v1/followups/{task_id}").get_json()
    assert detail["services_missing"] == {"training_offer": 1}
    assert len(detail["attempts"]) == 1
    api.post(
        f"/api/v1/followups/{task_id}/services",
        json={"item": "training_offer", "provided_on": "2026-01-13", "channel": "phone"},
    )
    detail = api.get(f"/api/v1/followups/{task_id}").get_json()
    assert (detail["status"], detail["done_on"], detail["channel"]) == (
        "done",
        "2026-01-13",
        "phone",
    )


def test_assign(api_as):
    task = make_task("business")
    (task_id,) = committed(task)
    api = api_as("staff")
    response = api.post(f"/api/v1/followups/{task_id}/assign", json={"assignee_id": api.user.id})
    assert response.get_json()["assignee_id"] == api.user.id
    wrong = api.post(f"/api/v1/followups/{task_id}/assign", json={"assignee_id": 999999})
    assert wrong.status_code == 422
    assert "assignee_id" in wrong.get_json()["errors"]
    cleared = api.post(f"/api/v1/followups/{task_id}/assign", json={"assignee_id": None})
    assert cleared.get_json()["assignee_id"] is None


def test_loan_usage_misuse_flow(api_as):
    task = make_task("loan_usage", due_on=date(2026, 3, 1))
    founder_id = task.founder_id
    (task_id,) = committed(task)
    officer = api_as("officer")
    no_answer = officer.post(
        f"/api/v1/followups/{task_id}/complete", json={"done_on": "2026-03-02", "channel": "visit"}
    )
    assert "fund_usage_ok" in no_answer.get_json()["errors"]
    wrong_type = officer.post(
        f"/api/v1/followups/{task_id}/complete",
        json={"done_on": "2026-03-02", "channel": "visit", "fund_usage_ok": "no"},
    )
    assert "fund_usage_ok" in wrong_type.get_json()["errors"]
    done = officer.post(
        f"/api/v1/followups/{task_id}/complete",
        json={"done_on": "2026-03-02", "channel": "visit", "fund_usage_ok": False},
    )
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["misuse_state"] == "pending"
    staff = api_as("staff")
    assert (
        staff.post(f"/api/v1/followups/{task_id}/misuse", json={"decision": "confirm"}).status_code
        == 403
    )
    bad = officer.post(f"/api/v1/followups/{task_id}/misuse", json={"decision": "maybe"})
    assert bad.status_code == 422
    confirmed = officer.post(
        f"/api/v1/followups/{task_id}/misuse", json={"decision": "confirm", "note": "买车"}
    )
    assert confirmed.status_code == 200
    assert confirmed.get_json()["misuse_state"] == "confirmed"
    again = officer.post(f"/api/v1/followups/{task_id}/misuse", json={"decision": "confirm"})
    assert again.status_code == 409
    count = db.session.scalar(
        select(func.count()).where(
            IntegrityEvent.founder_id == founder_id, IntegrityEvent.kind == "fund_misuse"
        )
    )
    assert count == 1


def test_dismiss_misuse(api_as):
    task = make_task(
        "loan_usage",
        status="done",
        due_on=date(2026, 3, 1),
        fund_usage_ok=False,
        misuse_state="pending",
    )
    (task_id,) = committed(task)
    officer = api_as("officer")
    response = officer.post(f"/api/v1/followups/{task_id}/misuse", json={"decision": "dismiss"})
    assert response.get_json()["misuse_state"] == "dismissed"
