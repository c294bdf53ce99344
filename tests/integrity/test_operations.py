"""Integrity rules: the one event writer, once keys, manual events, corrections, points."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from app.core.audit import AuditEntry
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.extensions import db
from app.integrity import operations
from app.integrity.models import (
    CorrectionState,
    EventKind,
    IntegrityCorrection,
    IntegrityEvent,
    IntegrityPoints,
)
from app.integrity.operations import (
    decide_correction,
    propose_correction,
    record_event,
    record_manual_event,
)
from app.integrity.points import current_points, points_for, set_points
from app.integrity.queries import get_integrity_standing
from tests.factories import DEFAULT_AS_OF, make_founder, make_user
from tests.integrity.factories import make_correction, make_event

AS_OF = DEFAULT_AS_OF  # 2026-11-22


@pytest.fixture(autouse=True)
def in_english(db_session):
    """Messages are compared in English (outside a request they default to Chinese)."""
    with force_locale("en"):
        yield


@pytest.fixture
def founder(db_session):
    return make_founder(region_code="460100")


@pytest.fixture
def officer(db_session):
    return make_user(role="officer", region_code="460100")


@pytest.fixture
def second_officer(db_session):
    return make_user(role="officer", region_code="460100")


def audit_entries(action):
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def event_count(founder_id=None):
    stmt = select(func.count(IntegrityEvent.id))
    if founder_id is not None:
        stmt = stmt.where(IntegrityEvent.founder_id == founder_id)
    return db.session.scalar(stmt)


# record_event ---------------------------------------------------------------------------
def test_record_event_takes_its_points_from_the_table_and_is_audited(founder, officer):
    event = record_event(
        founder.id,
        "paid_late",
        occurred_on=date(2026, 7, 3),
        source="repayment",
        note="  第 3 期逾期 4 天  ",
        actor=officer,
    )
    assert (event.kind, event.points, event.source, event.note) == (
        "paid_late",
        -5,
        "repayment",
        "第 3 期逾期 4 天",
    )
    assert event.recorded_by_id == officer.id
    [entry] = audit_entries("integrity.event")
    assert entry.entity_type == "integrity_event"
    assert entry.entity_id == str(event.id)
    assert entry.region_code == "460100"
    assert entry.after["points"] == -5
    assert get_integrity_standing(founder.id).score == 95


def test_record_event_by_the_system_and_with_given_points(founder):
    event = record_event(
        founder.id, EventKind.DEFAULTED, occurred_on=date(2026, 9, 1), source="loan", points=-33
    )
    assert event.points == -33
    assert event.recorded_by_id is None
    assert audit_entries("integrity.event")[0].actor_id is None


def test_a_correction_needs_its_points(founder):
    with pytest.raises(ValueError, match="correction"):
        record_event(founder.id, "correction", occurred_on=AS_OF, source="officer")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"kind": "no_such_kind"}, "EventKind"),
        ({"source": "rumour"}, "EventSource"),
        ({"points": 151}, "within"),
        ({"points": True}, "must be an int"),
        ({"occurred_on": "2026-01-01"}, "must be a date"),
        ({"once_key": "k" * 65}, "once_key"),
        ({"once_key": ""}, "once_key"),
    ],
)
def test_wrong_arguments_are_programming_errors(founder, arguments, message):
    values = {"kind": "paid_on_time", "occurred_on": AS_OF, "source": "repayment"} | arguments
    kind = values.pop("kind")
    with pytest.raises(ValueError, match=message):
        record_event(founder.id, kind, **values)
    assert event_count() == 0


def test_a_once_key_is_written_once(founder):
    first = record_event(
        founder.id,
        "paid_on_time",
        occurred_on=date(2026, 2, 1),
        source="repayment",
        once_key="timeliness:installment:1",
    )
    again = record_event(
        founder.id,
        "paid_on_time",
        occurred_on=date(2026, 2, 1),
        source="repayment",
        once_key="timeliness:installment:1",
    )
    third = record_event(
        founder.id,
        "paid_late",
        occurred_on=date(2026, 2, 9),
        source="repayment",
        once_key="timeliness:installment:1",
    )
    assert first is not None
    assert first.once_key == "timeliness:installment:1"
    assert again is None
    assert third is None
    assert event_count(founder.id) == 1
    assert len(audit_entries("integrity.event")) == 1
    assert get_integrity_standing(founder.id).score == 101


def test_a_racing_twin_of_a_once_key_is_undone_in_its_savepoint(founder, monkeypatch):
    """The twin checked before the first event existed (as a concurrent request would):
    its insert fails on the unique key, only its savepoint is undone, and it answers None."""
    kept = record_event(
        founder.id, "defaulted", occurred_on=AS_OF, source="loan", once_key="default:loan:7"
    )
    real_lookup = operations._event_with_key
    looks = []

    def first_look_misses(key):
        looks.append(key)  # the first look finds nothing, as if the first were uncommitted
        return None if len(looks) == 1 else real_lookup(key)

    monkeypatch.setattr(operations, "_event_with_key", first_look_misses)
    twin = record_event(
        founder.id, "defaulted", occurred_on=AS_OF, source="loan", once_key="default:loan:7"
    )
    assert twin is None
    assert len(looks) == 2  # the check before the insert, and the one after it failed
    db.session.commit()  # the transaction is intact
    assert [event.id for event in db.session.scalars(select(IntegrityEvent))] == [kept.id]
    assert len(audit_entries("integrity.event")) == 1


# Points table ---------------------------------------------------------------------------
def test_the_points_table_starts_at_spec_defaults(db_session):
    table = current_points()
    assert table["paid_on_time"] == 1
    assert table["false_information"] == -50
    assert "correction" not in table
    assert len(table) == 10


def test_adjusting_points_changes_future_events_only(founder):
    admin = make_user(role="admin", region_code="460000")
    old = record_event(founder.id, "paid_on_time", occurred_on=date(2026, 3, 1), source="repayment")
    set_points(admin, "paid_on_time", 3)
    new = record_event(founder.id, "paid_on_time", occurred_on=date(2026, 4, 1), source="repayment")
    db.session.refresh(old)
    assert (old.points, new.points) == (1, 3)
    assert points_for("paid_on_time") == 3
    assert current_points()["paid_on_time"] == 3
    assert get_integrity_standing(founder.id).score == 104
    set_points(admin, "paid_on_time", 2)  # a second change updates the same row
    assert db.session.scalar(select(func.count()).select_from(IntegrityPoints)) == 1
    entries = audit_entries("integrity.points")
    assert [(e.before["points"], e.after["points"]) for e in entries] == [(1, 3), (3, 2)]
    assert entries[0].entity_id == "paid_on_time"


def test_only_admins_set_points_within_range_and_never_for_corrections(db_session, officer):
    admin = make_user(role="admin", region_code="460000")
    with pytest.raises(PermissionDenied):
        set_points(officer, "paid_on_time", 2)
    with pytest.raises(ValidationFailed) as refused:
        set_points(admin, "correction", 5)
    assert set(refused.value.errors) == {"kind"}
    with pytest.raises(ValidationFailed) as refused:
        set_points(admin, "paid_late", -151)
    assert set(refused.value.errors) == {"points"}
    with pytest.raises(ValueError, match="no points in the table"):
        points_for("correction")
    assert audit_entries("integrity.points") == []


# Manual events --------------------------------------------------------------------------
def test_an_officer_records_integrity_education(founder, officer):
    event = record_manual_event(
        officer,
        founder,
        "integrity_education",
        occurred_on=date(2026, 10, 9),
        note="参加借款人诚信教育讲座",
        as_of=AS_OF,
    )
    assert (event.kind, event.points, event.source) == ("integrity_education", 5, "officer")
    assert event.recorded_by_id == officer.id
    assert get_integrity_standing(founder.id).score == 105
    assert len(audit_entries("integrity.event")) == 1


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"kind": "paid_on_time"}, "kind"),
        ({"kind": "correction"}, "kind"),
        ({"kind": "nonsense"}, "kind"),
        ({"occurred_on": AS_OF + timedelta(days=1)}, "occurred_on"),
        ({"occurred_on": date(1999, 12, 31)}, "occurred_on"),
        ({"occurred_on": None}, "occurred_on"),
        ({"note": "   "}, "note"),
        ({"note": "说" * 1001}, "note"),
    ],
)
def test_bad_manual_events_name_the_field_and_write_nothing(founder, officer, values, field):
    arguments = {
        "kind": "false_information",
        "occurred_on": date(2026, 10, 1),
        "note": "申请材料中的营业执照系伪造",
    } | values
    kind = arguments.pop("kind")
    with pytest.raises(ValidationFailed) as refused:
        record_manual_event(officer, founder, kind, as_of=AS_OF, **arguments)
    assert set(refused.value.errors) == {field}
    assert event_count() == 0


def test_the_kind_message_says_which_kinds_are_manual(founder, officer):
    with pytest.raises(ValidationFailed) as refused:
        record_manual_event(officer, founder, "defaulted", occurred_on=AS_OF, note="x", as_of=AS_OF)
    assert "integrity education" in refused.value.errors["kind"][0]


def test_manual_events_are_for_officers_of_the_founders_area(founder):
    staff = make_user(role="staff", region_code="460100")
    admin = make_user(role="admin", region_code="460000")
    sanya_officer = make_user(role="officer", region_code="460200")
    province_officer = make_user(role="officer", region_code="460000")
    values = {"occurred_on": AS_OF, "note": "资金挪作他用", "as_of": AS_OF}
    for actor in (staff, admin):
        with pytest.raises(PermissionDenied):
            record_manual_event(actor, founder, "fund_misuse", **values)
    with pytest.raises(NotFound):
        record_manual_event(sanya_officer, founder, "fund_misuse", **values)
    event = record_manual_event(province_officer, founder, "fund_misuse", **values)
    assert event.points == -30
    assert event_count() == 1


# Corrections ----------------------------------------------------------------------------
def test_a_correction_counts_once_a_second_officer_approves_it(founder, officer, second_officer):
    wrong = make_event(founder, "paid_late", occurred_on=date(2026, 5, 1))
    correction = propose_correction(
        officer,
        founder,
        points=5,
        reason="银行记账日期错误，该期实际按时还款",
        corrects_event_id=wrong.id,
        as_of=date(2026, 11, 20),
    )
    assert correction.state == CorrectionState.PENDING
    assert (correction.proposed_on, correction.proposed_by_id) == (date(2026, 11, 20), officer.id)
    assert get_integrity_standing(founder.id).score == 95  # not counted yet
    decide_correction(second_officer, correction, approve=True, note="核实无误", as_of=AS_OF)
    assert correction.state == CorrectionState.APPROVED
    assert (correction.decided_by_id, correction.decision_note) == (second_officer.id, "核实无误")
    assert correction.decided_at is not None
    event = db.session.get(IntegrityEvent, correction.event_id)
    assert (event.kind, event.points, event.source, event.occurred_on) == (
        "correction",
        5,
        "officer",
        AS_OF,
    )
    assert event.note == "银行记账日期错误，该期实际按时还款"
    assert (event.recorded_by_id, event.approved_by_id) == (officer.id, second_officer.id)
    assert get_integrity_standing(founder.id).score == 100
    [proposed] = audit_entries("integrity.correction.propose")
    [approved] = audit_entries("integrity.correction.approve")
    assert proposed.region_code == approved.region_code == "460100"
    assert approved.actor_id == second_officer.id
    assert approved.before["state"] == "pending"
    assert approved.after["state"] == "approved"
    assert approved.after["event_id"] == event.id
    assert len(audit_entries("integrity.event")) == 1


def test_the_proposer_cannot_decide_their_own_correction(founder, officer):
    correction = make_correction(founder, officer)
    with pytest.raises(PermissionDenied, match="A second officer must approve"):
        decide_correction(officer, correction, approve=True, note="", as_of=AS_OF)
    with pytest.raises(PermissionDenied):
        decide_correction(officer, correction, approve=False, note="撤回", as_of=AS_OF)
    db.session.refresh(correction)
    assert correction.state == CorrectionState.PENDING
    assert event_count() == 0
    assert audit_entries("integrity.correction.approve") == []


def test_a_decided_correction_cannot_be_decided_again(founder, officer, second_officer):
    third_officer = make_user(role="officer", region_code="460100")
    correction = make_correction(founder, officer, points=-12)
    decide_correction(second_officer, correction, approve=True, note="", as_of=AS_OF)
    for approve in (True, False):
        with pytest.raises(Conflict, match="already approved"):
            decide_correction(
                third_officer, correction, approve=approve, note="不同意", as_of=AS_OF
            )
    assert event_count() == 1
    assert get_integrity_standing(founder.id).score == 88


def test_a_rejection_says_why_and_adds_nothing(founder, officer, second_officer):
    correction = make_correction(founder, officer)
    with pytest.raises(ValidationFailed) as refused:
        decide_correction(second_officer, correction, approve=False, note="  ", as_of=AS_OF)
    assert set(refused.value.errors) == {"note"}
    decide_correction(second_officer, correction, approve=False, note="证据不足", as_of=AS_OF)
    assert (correction.state, correction.decision_note, correction.event_id) == (
        "rejected",
        "证据不足",
        None,
    )
    assert event_count() == 0
    [entry] = audit_entries("integrity.correction.reject")
    assert entry.after["decision_note"] == "证据不足"
    with pytest.raises(Conflict, match="already rejected"):
        decide_correction(second_officer, correction, approve=True, note="", as_of=AS_OF)


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"points": 0}, "points"),
        ({"points": 151}, "points"),
        ({"points": -151}, "points"),
        ({"points": True}, "points"),
        ({"reason": ""}, "note"),
        ({"reason": "理" * 1001}, "note"),
        ({"corrects_event_id": 999_999_999}, "corrects_event_id"),
    ],
)
def test_bad_corrections_name_the_field(founder, officer, values, field):
    arguments = {"points": 10, "reason": "录入错误"} | values
    with pytest.raises(ValidationFailed) as refused:
        propose_correction(officer, founder, as_of=AS_OF, **arguments)
    assert set(refused.value.errors) == {field}
    assert db.session.scalar(select(IntegrityCorrection)) is None


def test_a_correction_answers_an_event_of_the_same_founder(founder, officer):
    other = make_founder(region_code="460100")
    foreign = make_event(other, "defaulted")
    with pytest.raises(ValidationFailed) as refused:
        propose_correction(
            officer, founder, points=40, reason="错记", corrects_event_id=foreign.id, as_of=AS_OF
        )
    assert set(refused.value.errors) == {"corrects_event_id"}


def test_one_pending_correction_per_event(founder, officer, second_officer):
    wrong = make_event(founder, "defaulted")
    first = propose_correction(
        officer, founder, points=40, reason="错记", corrects_event_id=wrong.id, as_of=AS_OF
    )
    with pytest.raises(Conflict) as refused:
        propose_correction(
            second_officer,
            founder,
            points=40,
            reason="错记",
            corrects_event_id=wrong.id,
            as_of=AS_OF,
        )
    assert refused.value.payload["id"] == first.id


def test_corrections_are_for_officers_of_the_founders_area(founder, officer):
    staff = make_user(role="staff", region_code="460100")
    sanya_officer = make_user(role="officer", region_code="460200")
    with pytest.raises(PermissionDenied):
        propose_correction(staff, founder, points=5, reason="x", as_of=AS_OF)
    with pytest.raises(NotFound):
        propose_correction(sanya_officer, founder, points=5, reason="x", as_of=AS_OF)
    correction = make_correction(founder, officer)
    with pytest.raises(NotFound):
        decide_correction(sanya_officer, correction, approve=True, note="", as_of=AS_OF)
    with pytest.raises(PermissionDenied):
        decide_correction(staff, correction, approve=True, note="", as_of=AS_OF)
    assert correction.state == CorrectionState.PENDING
