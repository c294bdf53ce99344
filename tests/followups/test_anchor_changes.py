"""Anchor changes, the classic failures of follow-up systems (SPEC §11): a corrected
completed_on, opened_on, disbursed_on or ends_on re-plans the open tasks from the new date
and leaves done tasks alone; a closed business or an ended loan has its open tasks
cancelled; a passed result corrected to failed cancels the post-training follow-ups; and
the daily job afterwards never brings any of them back."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from app.businesses import operations as business_operations
from app.core.dates import add_months
from app.extensions import db
from app.followups import hooks, jobs
from app.followups.models import FollowupTask
from app.incubation import operations as incubation_operations
from app.loans import fund
from app.loans import jobs as loan_jobs
from app.loans import operations as loan_operations
from app.loans.models import Loan
from app.training import operations as training_operations
from tests.businesses.factories import make_business
from tests.factories import make_founder, make_user
from tests.incubation.factories import make_base, make_residency
from tests.loans.factories import make_loan
from tests.training.factories import get_course, make_cohort, make_enrollment

pytestmark = pytest.mark.usefixtures("db_session")


def run_days(first: date, last: date, step: int = 1) -> None:
    """The follow-up steps of the daily job for every `step`-th day from first to last."""
    day = first
    while day <= last:
        jobs.plan_followups(day)
        jobs.reconcile_followups(day)
        jobs.mark_missed(day)
        jobs.refresh_lost(day)
        day += timedelta(days=step)


def tasks_of(kind: str, subject_id: int) -> dict[int, tuple[date, str, date | None]]:
    """sequence -> (due_on, status, closed_on) of a subject's tasks of `kind`."""
    db.session.expire_all()
    rows = db.session.scalars(
        select(FollowupTask).where(FollowupTask.kind == kind, FollowupTask.subject_id == subject_id)
    )
    return {task.sequence: (task.due_on, task.status, task.closed_on) for task in rows}


def complete(kind: str, subject_id: int, sequence: int, done_on: date) -> None:
    """Mark a task done as a follow-up call would (the work queue's operation is elsewhere)."""
    task = db.session.scalar(
        select(FollowupTask).where(
            FollowupTask.kind == kind,
            FollowupTask.subject_id == subject_id,
            FollowupTask.sequence == sequence,
        )
    )
    task.status, task.done_on, task.closed_on, task.channel = "done", done_on, done_on, "phone"
    db.session.flush()


@pytest.fixture
def staff() -> Any:
    return make_user(role="staff", region_code="460100")


@pytest.fixture
def officer() -> Any:
    return make_user(role="officer", region_code="460100")


# Post-training: completed_on corrected, passed corrected to failed ---------------------------
@pytest.fixture
def trained() -> Any:
    """A founder who passed SYB on 2025-12-10, called at 3 months, due again on 2026-06-10."""
    founder = make_founder(registered_on=date(2025, 1, 6))
    cohort = make_cohort(course=get_course("SYB"), starts_on=date(2025, 11, 24))
    enrollment = make_enrollment(
        cohort, founder, result="passed", completed_on=date(2025, 12, 10), attendance=40
    )
    jobs.plan_followups(date(2026, 3, 5))
    complete("post_training", founder.id, 1, date(2026, 3, 12))
    jobs.plan_followups(date(2026, 6, 5))
    assert tasks_of("post_training", founder.id) == {
        1: (date(2026, 3, 10), "done", date(2026, 3, 12)),
        2: (date(2026, 6, 10), "open", None),
    }
    return enrollment


def test_a_corrected_completion_day_replans_open_tasks_only(staff: Any, trained: Any) -> None:
    training_operations.record_result(
        staff,
        trained,
        result="passed",
        completed_on=date(2025, 12, 20),
        attendance=40,
        as_of=date(2026, 6, 5),
    )
    expected = {
        1: (date(2026, 3, 10), "done", date(2026, 3, 12)),
        2: (date(2026, 6, 20), "open", None),
    }
    assert tasks_of("post_training", trained.founder_id) == expected
    run_days(date(2026, 6, 6), date(2026, 6, 12))
    assert tasks_of("post_training", trained.founder_id) == expected


def test_a_pass_corrected_to_failed_cancels_the_post_training_follow_ups(
    staff: Any, trained: Any
) -> None:
    training_operations.record_result(
        staff,
        trained,
        result="failed",
        completed_on=date(2025, 12, 10),
        attendance=40,
        as_of=date(2026, 6, 5),
    )
    expected = {
        1: (date(2026, 3, 10), "done", date(2026, 3, 12)),
        2: (date(2026, 6, 10), "cancelled", date(2026, 6, 5)),
    }
    assert tasks_of("post_training", trained.founder_id) == expected
    run_days(date(2026, 6, 6), date(2027, 1, 10), step=7)  # past the 12-month due day
    assert tasks_of("post_training", trained.founder_id) == expected


# Businesses: opened_on corrected; closed ----------------------------------------------------
@pytest.fixture
def business() -> Any:
    """Opened 2025-12-05: the 3-month call done, the 6-month one due on 2026-06-05."""
    business = make_business(opened_on=date(2025, 12, 5))
    jobs.plan_followups(date(2026, 3, 1))
    complete("business", business.id, 1, date(2026, 3, 6))
    jobs.plan_followups(date(2026, 6, 1))
    assert tasks_of("business", business.id) == {
        1: (date(2026, 3, 5), "done", date(2026, 3, 6)),
        2: (date(2026, 6, 5), "open", None),
    }
    return business


def test_a_corrected_opening_day_replans_open_tasks_only(staff: Any, business: Any) -> None:
    business_operations.update_business(
        staff, business, {"opened_on": date(2025, 12, 15)}, as_of=date(2026, 6, 1)
    )
    expected = {
        1: (date(2026, 3, 5), "done", date(2026, 3, 6)),
        2: (date(2026, 6, 15), "open", None),
    }
    assert tasks_of("business", business.id) == expected
    run_days(date(2026, 6, 2), date(2026, 6, 10))
    assert tasks_of("business", business.id) == expected


def test_an_earlier_opening_day_plans_what_is_now_due(staff: Any) -> None:
    business = make_business(opened_on=date(2026, 3, 25))
    jobs.plan_followups(date(2026, 6, 1))
    assert tasks_of("business", business.id) == {}
    business_operations.update_business(
        staff, business, {"opened_on": date(2026, 3, 2)}, as_of=date(2026, 6, 1)
    )
    assert tasks_of("business", business.id) == {1: (date(2026, 6, 2), "open", None)}


def test_closing_a_business_cancels_its_open_tasks_for_good(staff: Any, business: Any) -> None:
    business_operations.record_observation(
        staff,
        business,
        {
            "observed_on": date(2026, 6, 10),
            "status": "closed",
            "closed_on": date(2026, 6, 8),
            "employees": 0,
        },
        as_of=date(2026, 6, 10),
    )
    expected = {
        1: (date(2026, 3, 5), "done", date(2026, 3, 6)),
        2: (date(2026, 6, 5), "cancelled", date(2026, 6, 8)),
    }
    assert tasks_of("business", business.id) == expected
    # Three years of daily jobs: the 12-, 24- and 36-month follow-ups never come.
    run_days(date(2026, 6, 11), date(2029, 1, 31), step=7)
    assert tasks_of("business", business.id) == expected


def test_the_daily_job_finds_a_closure_or_correction_no_hook_saw(business: Any) -> None:
    other = make_business(opened_on=date(2025, 12, 5))
    jobs.plan_followups(date(2026, 6, 1))
    business.opened_on = date(2025, 12, 10)
    other.status, other.closed_on, other.employees = "closed", date(2026, 6, 3), 0
    db.session.flush()
    assert jobs.reconcile_followups(date(2026, 6, 4)) == {"cancelled": 1, "replanned": 1}
    assert tasks_of("business", business.id)[2] == (date(2026, 6, 10), "open", None)
    assert tasks_of("business", other.id) == {2: (date(2026, 6, 5), "cancelled", date(2026, 6, 3))}
    assert jobs.reconcile_followups(date(2026, 6, 4)) == {"cancelled": 0, "replanned": 0}


# Loans: disbursed_on corrected; paid off; compensated and written off ----------------------
def test_a_corrected_disbursement_day_replans_open_tasks_only() -> None:
    loan = make_loan(disbursed_on=date(2026, 1, 31))
    jobs.plan_followups(date(2026, 2, 25))
    complete("loan_usage", loan.id, 1, date(2026, 3, 2))
    jobs.plan_followups(date(2026, 5, 25))
    assert tasks_of("loan_usage", loan.id)[2] == (date(2026, 5, 31), "open", None)
    # No operation edits disbursed_on once set; a correction made in the data is announced.
    loan.disbursed_on = date(2026, 2, 10)
    hooks.anchor_changed("loan", loan.id, as_of=date(2026, 5, 25))
    expected = {
        1: (date(2026, 2, 28), "done", date(2026, 3, 2)),
        2: (add_months(date(2026, 2, 10), 4), "open", None),
    }
    assert tasks_of("loan_usage", loan.id) == expected
    run_days(date(2026, 5, 26), date(2026, 6, 5))
    assert tasks_of("loan_usage", loan.id) == expected


def test_a_loan_paid_off_has_its_usage_visits_cancelled(officer: Any) -> None:
    loan = make_loan(
        disbursed_on=date(2026, 1, 10),
        amount=Decimal("1200.00"),
        term_months=3,
        repayment_method="equal_principal",
    )
    jobs.plan_followups(date(2026, 2, 1))
    assert tasks_of("loan_usage", loan.id) == {1: (date(2026, 2, 10), "open", None)}
    total = sum(row.amount_owed for row in loan.installments)
    loan_operations.post_repayment(
        officer,
        loan.id,
        {"paid_on": date(2026, 2, 5), "amount": total, "reference": "ALL"},
        as_of=date(2026, 2, 5),
    )
    assert db.session.get(Loan, loan.id).status == "closed"
    expected = {1: (date(2026, 2, 10), "cancelled", date(2026, 2, 5))}
    assert tasks_of("loan_usage", loan.id) == expected
    run_days(date(2026, 2, 6), date(2027, 2, 6), step=7)
    assert tasks_of("loan_usage", loan.id) == expected


def test_a_compensated_then_written_off_loan_gets_no_more_usage_visits(officer: Any) -> None:
    loan = make_loan(disbursed_on=date(2026, 1, 31))
    run_days(date(2026, 1, 31), date(2026, 6, 28), step=7)
    assert tasks_of("loan_usage", loan.id) == {
        1: (date(2026, 2, 28), "missed", date(2026, 3, 31)),
        2: (date(2026, 5, 31), "open", None),
    }
    loan_jobs.sweep(date(2026, 6, 30))
    locked = loan_operations.lock_loan_in_scope(officer, loan.id)
    assert locked.status == "defaulted"
    run_days(date(2026, 6, 30), date(2026, 6, 30))  # defaulted is still serviced
    assert tasks_of("loan_usage", loan.id)[2] == (date(2026, 5, 31), "open", None)
    fund.compensate_loan(
        officer,
        locked,
        {"date": date(2026, 6, 30), "amount": Decimal("80000.00"), "reference": "=COMP-9"},
        as_of=date(2026, 7, 1),
    )
    expected = {
        1: (date(2026, 2, 28), "missed", date(2026, 3, 31)),
        2: (date(2026, 5, 31), "cancelled", date(2026, 6, 30)),
    }
    assert tasks_of("loan_usage", loan.id) == expected
    fund.write_off_loan(
        officer, locked, {"date": date(2026, 7, 1), "reason": "无力偿还"}, as_of=date(2026, 7, 1)
    )
    assert db.session.get(Loan, loan.id).status == "written_off"
    run_days(date(2026, 7, 1), date(2027, 7, 1), step=7)
    assert tasks_of("loan_usage", loan.id) == expected


# Residencies: ended through the operation; ends_on corrected; ends_on cleared --------------
def test_ending_a_residency_plans_at_once_and_a_corrected_end_replans(staff: Any) -> None:
    base = make_base(region_code="460100")
    business = make_business(opened_on=date(2025, 1, 2))
    residency = make_residency(base, business, starts_on=date(2025, 2, 1))
    incubation_operations.end_residency(
        staff,
        residency,
        {"ends_on": date(2025, 12, 25), "outcome": "graduated"},
        as_of=date(2026, 6, 20),
    )
    assert tasks_of("incubation_exit", residency.id) == {1: (date(2026, 6, 25), "open", None)}

    residency.ends_on = date(2026, 1, 5)
    hooks.anchor_changed("residency", residency.id, as_of=date(2026, 6, 20))
    expected = {1: (date(2026, 7, 5), "open", None)}
    assert tasks_of("incubation_exit", residency.id) == expected
    run_days(date(2026, 6, 21), date(2026, 6, 30))
    assert tasks_of("incubation_exit", residency.id) == expected

    residency.ends_on, residency.outcome = None, None  # the move-out was recorded by mistake
    hooks.anchor_changed("residency", residency.id, as_of=date(2026, 7, 1))
    expected = {1: (date(2026, 7, 5), "cancelled", date(2026, 7, 1))}
    assert tasks_of("incubation_exit", residency.id) == expected
    run_days(date(2026, 7, 2), date(2027, 2, 1), step=7)
    assert tasks_of("incubation_exit", residency.id) == expected


# Founders: registered_on corrected ----------------------------------------------------------
def test_a_corrected_registration_day_replans_the_intake_tasks(staff: Any) -> None:
    from app.founders import operations as founder_operations

    founder = make_founder(registered_on=date(2026, 6, 1))
    jobs.plan_followups(date(2026, 6, 1))
    complete("intake_contact", founder.id, 1, date(2026, 6, 2))
    founder_operations.update_founder(
        staff, founder, as_of=date(2026, 6, 3), registered_on=date(2026, 6, 3)
    )
    assert tasks_of("intake_contact", founder.id) == {
        1: (date(2026, 6, 2), "done", date(2026, 6, 2))
    }
    # 2026-06-03 is a Wednesday: 7 working days later is Friday 2026-06-12.
    assert tasks_of("intake_services", founder.id) == {1: (date(2026, 6, 12), "open", None)}


def test_a_follow_up_that_finds_the_business_closed_is_done_and_the_rest_cancelled(
    staff: Any,
) -> None:
    from app.followups import operations as followup_operations

    business = make_business(opened_on=date(2025, 12, 5))
    jobs.plan_followups(date(2026, 3, 1))
    task = db.session.scalar(
        select(FollowupTask).where(
            FollowupTask.kind == "business", FollowupTask.subject_id == business.id
        )
    )
    followup_operations.complete_task(
        staff,
        task,
        {
            "done_on": date(2026, 3, 6),
            "channel": "visit",
            "note": "",
            "business_status": "closed",
            "employees": 0,
        },
        as_of=date(2026, 3, 6),
    )
    expected = {1: (date(2026, 3, 5), "done", date(2026, 3, 6))}
    assert tasks_of("business", business.id) == expected
    run_days(date(2026, 3, 7), date(2027, 1, 1), step=7)
    assert tasks_of("business", business.id) == expected


def test_a_business_moving_region_takes_its_open_task_without_the_old_assignee(
    staff: Any, business: Any
) -> None:
    task = db.session.scalars(
        select(FollowupTask).where(
            FollowupTask.subject_id == business.id, FollowupTask.sequence == 2
        )
    ).one()
    task.assignee_id = staff.id
    done = db.session.scalars(
        select(FollowupTask).where(
            FollowupTask.subject_id == business.id, FollowupTask.sequence == 1
        )
    ).one()
    done.assignee_id = staff.id
    db.session.flush()
    province_staff = make_user(role="staff", region_code="460000")
    business_operations.update_business(
        province_staff, business, {"region_code": "460200"}, as_of=date(2026, 6, 1)
    )
    db.session.refresh(task)
    db.session.refresh(done)
    assert (task.region_code, task.assignee_id) == ("460200", None)
    assert (done.region_code, done.assignee_id) == ("460100", staff.id)  # what happened stays
