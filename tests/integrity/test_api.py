"""Integrity API: files, manual events, corrections and the points table through /api/v1."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.core.audit import AuditEntry
from app.core.dates import today_in_china
from app.extensions import db
from app.integrity.models import IntegrityCorrection, IntegrityEvent, IntegrityPoints
from tests.factories import make_founder, make_user
from tests.integrity.factories import make_correction, make_event

EN = {"Accept-Language": "en"}
EVENT_FIELDS = {
    "id",
    "kind",
    "points",
    "occurred_on",
    "source",
    "note",
    "loan_id",
    "recorded_by",
    "created_at",
}
CORRECTION_FIELDS = {
    "id",
    "founder_id",
    "points",
    "reason",
    "corrects_event_id",
    "state",
    "proposed_on",
    "proposed_by",
    "decided_at",
    "decided_by",
    "decision_note",
    "event_id",
    "created_at",
}


def committed(*objects):
    ids = [obj.id for obj in objects]
    db.session.commit()
    return ids


def days_ago(n):
    return (today_in_china() - timedelta(days=n)).isoformat()


def file_of(founder_id):
    return f"/api/v1/founders/{founder_id}/integrity"


def events_of(founder_id):
    return f"/api/v1/founders/{founder_id}/integrity-events"


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def haikou_founder(db_session):
    """A Haikou founder with a late payment (-5) and a pending correction; their id."""
    founder = make_founder(region_code="460100", name="林小梅")
    make_event(founder, "paid_late", occurred_on=date(2026, 5, 2), note="第 2 期逾期 3 天")
    make_correction(founder, make_user(role="officer", region_code="460100"), points=5)
    return committed(founder)[0]


def test_an_officer_reads_a_file(api_as, haikou_founder):
    response = api_as("officer", "460100").get(file_of(haikou_founder))
    assert response.status_code == 200
    body = response.get_json()
    assert (body["founder_id"], body["score"], body["grade"]) == (haikou_founder, 95, "B")
    [event] = body["events"]
    assert set(event) == EVENT_FIELDS
    assert (event["kind"], event["points"], event["occurred_on"], event["note"]) == (
        "paid_late",
        -5,
        "2026-05-02",
        "第 2 期逾期 3 天",
    )
    assert event["recorded_by"] is None
    [pending] = body["pending_corrections"]
    assert set(pending) == CORRECTION_FIELDS
    assert (pending["state"], pending["points"]) == ("pending", 5)


def test_a_founder_reads_their_own_file_but_nobody_elses(api_as, haikou_founder):
    api = api_as("founder", "460100", founder_id=haikou_founder)
    body = api.get(file_of(haikou_founder)).get_json()
    assert body["score"] == 95
    assert body["events"][0]["note"] == "第 2 期逾期 3 天"
    assert body["pending_corrections"] == []  # proposals are the officers' business
    [other] = committed(make_founder(region_code="460100"))
    assert api.get(file_of(other)).status_code == 404


def test_staff_and_other_areas_cannot_read_files(api_as, haikou_founder):
    assert api_as("staff", "460100").get(file_of(haikou_founder)).status_code == 403
    assert api_as("officer", "460200").get(file_of(haikou_founder)).status_code == 404
    assert api_as("admin", "460000").get(file_of(haikou_founder)).status_code == 200
    assert api_as("officer", "460100").get(file_of(999_999_999)).status_code == 404


def test_an_officer_records_a_manual_event(api_as, haikou_founder):
    api = api_as("officer", "460100")
    response = api.post(
        events_of(haikou_founder),
        json={
            "kind": "integrity_education",
            "occurred_on": days_ago(2),
            "note": "参加借款人诚信教育讲座",
        },
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert set(body) == EVENT_FIELDS
    assert (body["kind"], body["points"], body["source"]) == ("integrity_education", 5, "officer")
    assert body["recorded_by"] == (api.user.display_name or api.user.username)
    assert api.get(file_of(haikou_founder)).get_json()["score"] == 100
    founder_answer = api.get(f"/api/v1/founders/{haikou_founder}").get_json()
    assert founder_answer["integrity"] == {"score": 100, "grade": "B"}
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "integrity.event"))
    assert (entry.actor_id, entry.region_code) == (api.user.id, "460100")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "paid_on_time"}, "kind"),
        ({"kind": "defaulted"}, "kind"),
        ({"kind": ""}, "kind"),
        ({"kind": 5}, "kind"),
        ({"occurred_on": days_ago(-1)}, "occurred_on"),
        ({"occurred_on": "1999-12-31"}, "occurred_on"),
        ({"occurred_on": "2026-02-30"}, "occurred_on"),
        ({"occurred_on": None}, "occurred_on"),
        ({"note": ""}, "note"),
        ({"note": "   "}, "note"),
        ({"note": "说" * 1001}, "note"),
        ({"note": "坏\x00"}, "note"),
    ],
)
def test_bad_manual_events_are_422_by_field_and_write_nothing(api_as, haikou_founder, body, field):
    payload = {"kind": "false_information", "occurred_on": days_ago(1), "note": "伪造流水"}
    response = api_as("officer", "460100").post(
        events_of(haikou_founder), json=payload | body, headers=EN
    )
    assert response.status_code == 422, response.get_json()
    assert set(response.get_json()["errors"]) == {field}
    assert count(IntegrityEvent) == 1  # the fixture's only
    assert (
        db.session.scalar(select(AuditEntry).where(AuditEntry.action == "integrity.event")) is None
    )


def test_a_kind_that_is_not_manual_is_explained(api_as, haikou_founder):
    response = api_as("officer", "460100").post(
        events_of(haikou_founder),
        json={"kind": "paid_on_time", "occurred_on": days_ago(1), "note": "x"},
        headers=EN,
    )
    assert "integrity education" in response.get_json()["errors"]["kind"][0]


def test_missing_fields_are_each_named(api_as, haikou_founder):
    response = api_as("officer", "460100").post(events_of(haikou_founder), json={}, headers=EN)
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"kind", "note"}
    response = api_as("officer", "460100").post(
        events_of(haikou_founder), json={"kind": "fund_misuse", "note": "x"}, headers=EN
    )
    assert set(response.get_json()["errors"]) == {"occurred_on"}


def test_malformed_json_is_400(api_as, haikou_founder):
    response = api_as("officer", "460100").post(
        events_of(haikou_founder), data="{nope", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400


def test_who_may_record_events(api_as, haikou_founder):
    payload = {"kind": "fund_misuse", "occurred_on": days_ago(1), "note": "挪用"}
    assert (
        api_as("staff", "460100").post(events_of(haikou_founder), json=payload).status_code == 403
    )
    assert (
        api_as("admin", "460000").post(events_of(haikou_founder), json=payload).status_code == 403
    )
    founder = api_as("founder", "460100", founder_id=haikou_founder)
    assert founder.post(events_of(haikou_founder), json=payload).status_code == 403
    sanya = api_as("officer", "460200")
    assert sanya.post(events_of(haikou_founder), json=payload).status_code == 404
    assert count(IntegrityEvent) == 1


# Corrections ----------------------------------------------------------------------------
def propose(api, founder_id, **fields):
    body = {"kind": "correction", "points": 20, "note": "违约认定有误，银行已撤销"} | fields
    return api.post(events_of(founder_id), json=body)


def test_a_correction_is_proposed_then_approved_by_another_officer(api_as, haikou_founder):
    proposer, approver = api_as("officer", "460100"), api_as("officer", "460100")
    [wrong] = db.session.scalars(
        select(IntegrityEvent.id).where(IntegrityEvent.founder_id == haikou_founder)
    )
    response = propose(proposer, haikou_founder, points=5, corrects_event_id=wrong)
    assert response.status_code == 202, response.get_json()
    correction = response.get_json()
    assert set(correction) == CORRECTION_FIELDS
    assert (correction["state"], correction["points"], correction["corrects_event_id"]) == (
        "pending",
        5,
        wrong,
    )
    assert correction["proposed_on"] == today_in_china().isoformat()
    assert proposer.get(file_of(haikou_founder)).get_json()["score"] == 95  # not yet

    url = f"/api/v1/integrity/corrections/{correction['id']}"
    response = approver.post(f"{url}/approve", json={"note": "核实无误"})
    assert response.status_code == 200, response.get_json()
    decided = response.get_json()
    assert (decided["state"], decided["decision_note"]) == ("approved", "核实无误")
    assert decided["event_id"] is not None
    assert decided["decided_at"] is not None
    body = approver.get(file_of(haikou_founder)).get_json()
    assert body["score"] == 100
    assert body["events"][0]["kind"] == "correction"
    assert body["events"][0]["note"] == "违约认定有误，银行已撤销"
    assert all(c["id"] != correction["id"] for c in body["pending_corrections"])
    assert approver.get(f"/api/v1/founders/{haikou_founder}").get_json()["integrity"] == {
        "score": 100,
        "grade": "B",
    }


def test_the_proposer_cannot_approve_and_nothing_changes(api_as, haikou_founder):
    proposer = api_as("officer", "460100")
    correction = propose(proposer, haikou_founder).get_json()
    url = f"/api/v1/integrity/corrections/{correction['id']}"
    response = proposer.post(f"{url}/approve", json={}, headers=EN)
    assert response.status_code == 403
    assert "A second officer must approve" in response.get_json()["error"]
    assert proposer.post(f"{url}/reject", json={"note": "撤回"}).status_code == 403
    assert db.session.get(IntegrityCorrection, correction["id"]).state == "pending"
    assert count(IntegrityEvent) == 1
    assert proposer.get(file_of(haikou_founder)).get_json()["score"] == 95


def test_a_second_decision_is_409(api_as, haikou_founder):
    proposer = api_as("officer", "460100")
    correction = propose(proposer, haikou_founder).get_json()
    url = f"/api/v1/integrity/corrections/{correction['id']}"
    assert (
        api_as("officer", "460100").post(f"{url}/reject", json={"note": "证据不足"}).status_code
        == 200
    )
    late = api_as("officer", "460100")
    assert late.post(f"{url}/approve", json={}).status_code == 409
    assert late.post(f"{url}/reject", json={"note": "同意驳回"}).status_code == 409
    assert count(IntegrityEvent) == 1


def test_bad_decisions_and_proposals(api_as, haikou_founder):
    proposer, other = api_as("officer", "460100"), api_as("officer", "460100")
    for fields, field in (
        ({"points": 0}, "points"),
        ({"points": 151}, "points"),
        ({"points": "5"}, "points"),
        ({"points": None}, "points"),
        ({"note": ""}, "note"),
        ({"corrects_event_id": 999_999_999}, "corrects_event_id"),
        ({"corrects_event_id": 0}, "corrects_event_id"),
    ):
        response = propose(proposer, haikou_founder, **fields)
        assert response.status_code == 422, fields
        assert set(response.get_json()["errors"]) == {field}, fields
    assert count(IntegrityCorrection) == 1  # the fixture's only
    correction = propose(proposer, haikou_founder).get_json()
    url = f"/api/v1/integrity/corrections/{correction['id']}"
    response = other.post(f"{url}/reject", json={})
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"note"}
    assert other.post("/api/v1/integrity/corrections/999999999/approve", json={}).status_code == 404
    sanya = api_as("officer", "460200")
    assert sanya.post(f"{url}/approve", json={}).status_code == 404
    assert api_as("admin", "460000").post(f"{url}/approve", json={}).status_code == 403


def test_the_correction_queue(api_as, haikou_founder):
    officer = api_as("officer", "460100")
    response = officer.get("/api/v1/integrity/corrections")
    assert response.status_code == 200
    page = response.get_json()
    assert page["total"] == 1
    assert page["items"][0]["state"] == "pending"
    assert officer.get("/api/v1/integrity/corrections?state=approved").get_json()["total"] == 0
    assert officer.get("/api/v1/integrity/corrections?state=maybe").status_code == 422
    assert api_as("officer", "460200").get("/api/v1/integrity/corrections").get_json()["total"] == 0
    assert api_as("admin", "460000").get("/api/v1/integrity/corrections").get_json()["total"] == 1
    assert api_as("staff", "460100").get("/api/v1/integrity/corrections").status_code == 403
    founder = api_as("founder", "460100", founder_id=haikou_founder)
    assert founder.get("/api/v1/integrity/corrections").status_code == 403


# Points ---------------------------------------------------------------------------------
def test_the_points_table(api_as, haikou_founder):
    response = api_as("officer", "460100").get("/api/v1/integrity/points")
    assert response.status_code == 200
    table = {line["kind"]: line for line in response.get_json()}
    assert len(table) == 10
    assert table["defaulted"] == {"kind": "defaulted", "points": -40, "default_points": -40}
    assert api_as("staff", "460100").get("/api/v1/integrity/points").status_code == 403


def test_the_admin_adjusts_points_for_future_events(api_as, haikou_founder):
    admin = api_as("admin", "460000")
    response = admin.put("/api/v1/integrity/points/integrity_education", json={"points": 8})
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {
        "kind": "integrity_education",
        "points": 8,
        "default_points": 5,
    }
    officer = api_as("officer", "460100")
    event = officer.post(
        events_of(haikou_founder),
        json={"kind": "integrity_education", "occurred_on": days_ago(1), "note": "讲座"},
    ).get_json()
    assert event["points"] == 8
    old = db.session.scalar(select(IntegrityEvent).where(IntegrityEvent.kind == "paid_late"))
    assert old.points == -5  # made before: unchanged
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "integrity.points"))
    assert (entry.before, entry.after) == (
        {"kind": "integrity_education", "points": 5},
        {"kind": "integrity_education", "points": 8},
    )


@pytest.mark.parametrize(
    ("kind", "body", "status", "field"),
    [
        ("correction", {"points": 5}, 422, "kind"),
        ("no_such_kind", {"points": 5}, 404, None),
        ("paid_late", {"points": -151}, 422, "points"),
        ("paid_late", {"points": "-5"}, 422, "points"),
        ("paid_late", {}, 422, "points"),
    ],
)
def test_bad_points_are_refused(api_as, kind, body, status, field):
    response = api_as("admin", "460000").put(f"/api/v1/integrity/points/{kind}", json=body)
    assert response.status_code == status
    if field:
        assert set(response.get_json()["errors"]) == {field}
    assert count(IntegrityPoints) == 0


def test_only_admins_adjust_points(api_as, db_session):
    for role, region in (("officer", "460100"), ("staff", "460100")):
        response = api_as(role, region).put(
            "/api/v1/integrity/points/paid_late", json={"points": -6}
        )
        assert response.status_code == 403
    assert count(IntegrityPoints) == 0
