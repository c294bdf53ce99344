"""Rules of working follow-ups: completing by kind, attempts, the intake package, assignment
and fund-misuse decisions (SPEC §11)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.businesses.models import Observation
from app.core.audit import AuditEntry
from app.core.errors import Conflict, PermissionDenied, ValidationFailed
from app.extensions import db
from app.followups import operations
from app.followups.models import EmploymentObservation, FollowupAttempt
from app.integrity.models import IntegrityEvent
from tests.businesses.factories import make_observation
from tests.factories import make_founder, make_user
from tests.followups.factories import make_task

AS_OF = date(2026, 11, 22)
DONE = {"done_on": date(2026, 6, 3), "channel": "phone", "note": ""}


@pytest.fixture
def staff(db_session):
    return make_user(role="staff", region_code="460100")


@pytest.fixture
def officer(db_session):
    return make_user(role="officer", region_code="460100")


def errors_of(excinfo):
    return excinfo.value.errors


# Completing -----------------------------------------------------------------------------
def test_business_completion_records_a_followup_observation(staff):
    task = make_task("business", due_on=date(2026, 6, 1))
    values = DONE | {
        "business_status": "operating",
        "employees": 4,
        "monthly_revenue": Decimal("9000.00"),
        "employment": "self_employed",
    }
    operations.complete_task(staff, task, values, as_of=AS_OF)
    assert (task.status, task.done_on, task.closed_on, task.channel) == (
        "done",
        date(2026, 6, 3),
        date(2026, 6, 3),
        "phone",
    )
    assert task.completed_by_id == staff.id
    observation = db.session.get(Observation, task.observation_id)
    assert (observation.source, observation.status, observation.employees) == (
        "followup",
        "operating",
        4,
    )
    assert observation.monthly_revenue == Decimal("9000.00")
    assert observation.business.employees == 4  # the current status follows
    employment = db.session.scalar(
        select(EmploymentObservation).where(EmploymentObservation.task_id == task.id)
    )
    assert (employment.employment, employment.source) == ("self_employed", "followup")
    assert db.session.scalar(select(func.count()).where(AuditEntry.action == "followup.complete"))


def test_business_completion_requires_the_status(staff):
    task = make_task("business")
    with pytest.raises(ValidationFailed) as excinfo:
        operations.complete_task(staff, task, DONE, as_of=AS_OF)
    assert "business_status" in errors_of(excinfo)
    assert task.status == "open"


def test_business_history_errors_name_our_fields(staff):
    task = make_task("business")
    from app.businesses.models import Business

    subject = db.session.get(Business, task.subject_id)
    make_observation(subject, status="closed", observed_on=date(2026, 5, 1))
    with pytest.raises((ValidationFailed, Conflict)):
        operations.complete_task(
            staff, task, DONE | {"business_status": "operating", "employees": 1}, as_of=AS_OF
        )
    # A closure before what was last seen is refused on our done_on field.
    task2 = make_task("business", due_on=date(2026, 9, 1))
    subject2 = db.session.get(Business, task2.subject_id)
    make_observation(subject2, observed_on=date(2026, 8, 1))
    with pytest.raises(ValidationFailed) as excinfo:
        operations.complete_task(
            staff,
            task2,
            DONE | {"done_on": date(2026, 7, 1), "business_status": "closed"},
            as_of=AS_OF,
        )
    assert "done_on" in errors_of(excinfo)


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"done_on": date(2026, 11, 23)}, "done_on"),  # the future
        ({"done_on": date(2025, 12, 31)}, "done_on"),  # before the founder registered
        ({"done_on": None}, "done_on"),
        ({"channel": "self_report"}, "channel"),
        ({"channel": "fax"}, "channel"),
        ({"note": "x" * 1001}, "note"),
        ({"employment": "retired"}, "employment"),
        ({"fund_usage_ok": False}, "fund_usage_ok"),
        ({"business_status": "operating"}, "business_status"),  # no business here
    ],
)
def test_bad_completion_is_422_naming_the_field(staff, values, field):
    task = make_task("intake_contact", due_on=date(2026, 1, 6))
    with pytest.raises(ValidationFailed) as excinfo:
        operations.complete_task(staff, task, DONE | values, as_of=AS_OF)
    assert field in errors_of(excinfo)


def test_post_training_requires_employment_and_records_it(staff):
    task = make_task("post_training", due_on=date(2026, 6, 1))
    with pytest.raises(ValidationFailed) as excinfo:
        operations.complete_task(staff, task, DONE, as_of=AS_OF)
    assert "employment" in errors_of(excinfo)
    operations.complete_task(staff, task, DONE | {"employment": "employed"}, as_of=AS_OF)
    assert task.employment == "employed"
    row = db.session.scalar(
        select(EmploymentObservation).where(EmploymentObservation.founder_id == task.founder_id)
    )
    assert (row.employment, row.source, row.observed_on) == (
        "employed",
        "followup",
        date(2026, 6, 3),
    )


def test_done_task_is_409_and_cancelled_too(staff):
    done = make_task("intake_contact", status="done", due_on=date(2026, 1, 6))
    with pytest.raises(Conflict):
        operations.complete_task(staff, done, DONE, as_of=AS_OF)
    cancelled = make_task("intake_contact", status="cancelled", due_on=date(2026, 1, 6))
    with pytest.raises(Conflict):
        operations.record_attempt(
            staff, cancelled, {"attempted_on": AS_OF, "channel": "phone"}, as_of=AS_OF
        )


def test_missed_task_can_be_completed_late_and_clears_lost(staff):
    founder = make_founder()
    first = make_task("post_training", founder=founder, status="missed", due_on=date(2026, 4, 5))
    make_task("post_training", founder=founder, status="missed", due_on=date(2026, 7, 5))
    from app.followups.standing import refresh_lost_flags

    refresh_lost_flags([founder.id])
    db.session.refresh(founder)
    assert founder.lost_to_follow_up_on == date(2026, 8, 5)
    operations.complete_task(
        staff,
        first,
        {"done_on": date(2026, 11, 20), "channel": "visit", "employment": "unemployed"},
        as_of=AS_OF,
    )
    assert (first.status, first.closed_on) == ("done", date(2026, 11, 20))


def test_officer_completes_only_loan_usage(officer, staff):
    business_task = make_task("business")
    with pytest.raises(PermissionDenied):
        operations.complete_task(
            officer, business_task, DONE | {"business_status": "operating"}, as_of=AS_OF
        )
    admin = make_user(role="admin", region_code="460000")
    with pytest.raises(PermissionDenied):
        operations.complete_task(
            admin, business_task, DONE | {"business_status": "operating"}, as_of=AS_OF
        )
    sanya = make_user(role="staff", region_code="460200")
    with pytest.raises(PermissionDenied):
        operations.complete_task(
            sanya, business_task, DONE | {"business_status": "operating"}, as_of=AS_OF
        )


def test_loan_usage_requires_fund_usage(officer):
    task = make_task("loan_usage", due_on=date(2026, 3, 1))
    with pytest.raises(ValidationFailed) as excinfo:
        operations.complete_task(officer, task, DONE, as_of=AS_OF)
    assert "fund_usage_ok" in errors_of(excinfo)
    operations.complete_task(officer, task, DONE | {"fund_usage_ok": True}, as_of=AS_OF)
    assert (task.fund_usage_ok, task.misuse_state) == (True, None)


# Attempts -------------------------------------------------------------------------------
def test_attempt_leaves_the_task_open(staff):
    task = make_task("intake_contact", due_on=date(2026, 1, 6))
    attempt = operations.record_attempt(
        staff,
        task,
        {"attempted_on": date(2026, 1, 6), "channel": "phone", "note": "无人接听"},
        as_of=AS_OF,
    )
    assert task.status == "open"
    assert (attempt.task_id, attempt.channel, attempt.note) == (task.id, "phone", "无人接听")
    with pytest.raises(ValidationFailed) as excinfo:
        operations.record_attempt(
            staff, task, {"attempted_on": date(2027, 1, 1), "channel": "x"}, as_of=AS_OF
        )
    assert set(errors_of(excinfo)) == {"attempted_on", "channel"}
    assert db.session.scalar(select(func.count(FollowupAttempt.id))) >= 1


# The intake package ---------------------------------------------------------------------
def _service(item, day=date(2026, 1, 10)):
    return {"item": item, "detail": "", "provided_on": day, "channel": "visit"}


def test_intake_package_item_by_item_completes_the_task(staff):
    task = make_task("intake_services", due_on=date(2026, 1, 14))
    operations.record_service_item(staff, task, _service("career_guidance"), as_of=AS_OF)
    for day in (11, 12, 13):
        operations.record_service_item(
            staff, task, _service("lead", date(2026, 1, day)), as_of=AS_OF
        )
    assert task.status == "open"
    with pytest.raises(ValidationFailed) as excinfo:
        operations.complete_task(staff, task, DONE | {"done_on": date(2026, 1, 14)}, as_of=AS_OF)
    assert "services" in errors_of(excinfo)
    with pytest.raises(Conflict):
        operations.record_service_item(staff, task, _service("lead"), as_of=AS_OF)
    operations.record_service_item(
        staff, task, _service("training_offer", date(2026, 1, 12)), as_of=AS_OF
    )
    assert (task.status, task.done_on, task.channel) == ("done", date(2026, 1, 13), "visit")
    with pytest.raises(Conflict):
        operations.record_service_item(staff, task, _service("career_guidance"), as_of=AS_OF)


def test_intake_package_inline_on_completion(staff):
    task = make_task("intake_services", due_on=date(2026, 1, 14))
    services = ["career_guidance", "lead", "lead", "lead", "training_offer"]
    operations.complete_task(
        staff, task, DONE | {"done_on": date(2026, 1, 14), "services": services}, as_of=AS_OF
    )
    assert task.status == "done"


def test_service_item_on_another_kind_is_409(staff):
    task = make_task("intake_contact", due_on=date(2026, 1, 6))
    with pytest.raises(Conflict):
        operations.record_service_item(staff, task, _service("lead"), as_of=AS_OF)


# Assignment -----------------------------------------------------------------------------
def test_assign_to_a_colleague_in_scope(staff):
    task = make_task("business")
    colleague = make_user(role="staff", region_code="460000")  # the province's staff
    operations.assign_task(staff, task, colleague.id)
    assert task.assignee_id == colleague.id
    for wrong in (make_user(role="staff", region_code="460200"), make_user(role="officer")):
        with pytest.raises(ValidationFailed) as excinfo:
            operations.assign_task(staff, task, wrong.id)
        assert "assignee_id" in errors_of(excinfo)
    operations.assign_task(staff, task, None)
    assert task.assignee_id is None


# Fund misuse ----------------------------------------------------------------------------
def _misused(officer):
    task = make_task("loan_usage", due_on=date(2026, 3, 1))
    operations.complete_task(officer, task, DONE | {"fund_usage_ok": False}, as_of=AS_OF)
    assert task.misuse_state == "pending"
    return task


def test_confirmed_misuse_makes_one_integrity_event(officer):
    task = _misused(officer)
    operations.confirm_misuse(officer, task, "用于购车")
    assert task.misuse_state == "confirmed"
    events = list(
        db.session.scalars(
            select(IntegrityEvent).where(IntegrityEvent.founder_id == task.founder_id)
        )
    )
    misuse = [event for event in events if event.kind == "fund_misuse"]
    assert len(misuse) == 1
    assert (misuse[0].source, misuse[0].loan_id, misuse[0].points) == (
        "followup",
        task.subject_id,
        -30,
    )
    assert misuse[0].once_key == f"fund_misuse:task:{task.id}"
    with pytest.raises(Conflict):
        operations.confirm_misuse(officer, task, "again")


def test_dismissed_misuse_makes_no_event(officer):
    task = _misused(officer)
    operations.dismiss_misuse(officer, task, "误会")
    assert task.misuse_state == "dismissed"
    assert not db.session.scalar(
        select(func.count()).where(
            IntegrityEvent.founder_id == task.founder_id, IntegrityEvent.kind == "fund_misuse"
        )
    )


def test_staff_cannot_decide_misuse(officer, staff):
    task = _misused(officer)
    with pytest.raises(PermissionDenied):
        operations.confirm_misuse(staff, task, "")


def test_no_pending_finding_is_409(officer):
    task = make_task("loan_usage", due_on=date(2026, 3, 1))
    with pytest.raises(Conflict):
        operations.dismiss_misuse(officer, task, "")


def test_done_on_not_before_disbursement(officer):
    task = make_task("loan_usage", due_on=date(2026, 3, 1))
    with pytest.raises(ValidationFailed) as excinfo:
        operations.complete_task(
            officer,
            task,
            {"done_on": date(2026, 1, 30), "channel": "phone", "fund_usage_ok": True},
            as_of=AS_OF,
        )
    assert "done_on" in errors_of(excinfo)
    assert task.due_on - timedelta(days=29) > date(2026, 1, 30)


def test_closure_found_at_a_followup_completes_it_and_cancels_the_rest(staff):
    task = make_task("business", due_on=date(2026, 6, 1))
    later = make_task("business", subject=task_business(task), due_on=date(2026, 9, 1))
    operations.complete_task(
        staff, task, DONE | {"business_status": "closed", "employees": 0}, as_of=AS_OF
    )
    db.session.flush()
    db.session.refresh(task)
    db.session.refresh(later)
    assert (task.status, task.business_status) == ("done", "closed")
    assert later.status == "cancelled"


def task_business(task):
    from app.businesses.models import Business

    return db.session.get(Business, task.subject_id)


def test_officer_records_the_business_found_at_a_loan_usage_visit(officer):
    from tests.businesses.factories import make_business
    from tests.loans.factories import make_loan, make_trained_founder

    founder = make_trained_founder(region_code="460100")
    business = make_business(founder, opened_on=date(2025, 12, 1))
    loan = make_loan(founder=founder, business_id=business.id)
    task = make_task("loan_usage", subject=loan, founder=founder, due_on=date(2026, 3, 1))
    values = DONE | {"fund_usage_ok": True, "business_status": "operating", "employees": 3}
    operations.complete_task(officer, task, values, as_of=AS_OF)
    observation = db.session.get(Observation, task.observation_id)
    assert (observation.business_id, observation.source, observation.employees) == (
        business.id,
        "followup",
        3,
    )
    assert observation.recorded_by_id == officer.id
