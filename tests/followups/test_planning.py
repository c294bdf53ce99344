"""Follow-up planning: every trigger's due dates, the window, idempotence, the unique key."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.core.dates import add_months, add_working_days
from app.extensions import db
from app.followups import jobs
from app.followups.models import FollowupPlan, FollowupTask, TaskKind
from app.followups.plan import DEFAULT_PLANS, PlanUnit, get_plans, longest_shift_days, shift
from tests.businesses.factories import make_business
from tests.factories import make_founder
from tests.incubation.factories import make_base, make_residency
from tests.loans.factories import make_loan
from tests.training.factories import get_course, make_cohort, make_course, make_enrollment

pytestmark = pytest.mark.usefixtures("db_session")

AS_OF = date(2026, 6, 20)  # a Saturday; the window is 2026-05-21 < due_on <= 2026-07-04


def tasks(kind: str | None = None, subject_id: int | None = None) -> list[tuple[Any, ...]]:
    """(kind, subject_type, subject_id, sequence, due_on, status) of the matching tasks."""
    query = select(
        FollowupTask.kind,
        FollowupTask.subject_type,
        FollowupTask.subject_id,
        FollowupTask.sequence,
        FollowupTask.due_on,
        FollowupTask.status,
    ).order_by(FollowupTask.kind, FollowupTask.subject_id, FollowupTask.sequence)
    if kind is not None:
        query = query.where(FollowupTask.kind == kind)
    if subject_id is not None:
        query = query.where(FollowupTask.subject_id == subject_id)
    return [tuple(row) for row in db.session.execute(query)]


def due_dates(kind: str, subject_id: int) -> dict[int, date]:
    return {row[3]: row[4] for row in tasks(kind, subject_id)}


def full_table() -> list[tuple[Any, ...]]:
    return [
        tuple(row)
        for row in db.session.execute(
            select(
                FollowupTask.id,
                FollowupTask.subject_type,
                FollowupTask.subject_id,
                FollowupTask.kind,
                FollowupTask.sequence,
                FollowupTask.due_on,
                FollowupTask.status,
                FollowupTask.closed_on,
                FollowupTask.founder_id,
                FollowupTask.region_code,
            ).order_by(FollowupTask.id)
        )
    ]


def passed(founder: Any, completed_on: date, *, course: Any = None, result: str = "passed") -> Any:
    cohort = make_cohort(
        region_code=founder.region_code,
        course=course or get_course("SYB"),
        starts_on=completed_on - timedelta(days=14),
    )
    return make_enrollment(cohort, founder, result=result, completed_on=completed_on)


def test_intake_tasks_count_from_registration_in_days_and_working_days() -> None:
    registered = date(2026, 6, 13)  # a Saturday
    founder = make_founder(registered_on=registered, region_code="460200")
    counts = jobs.plan_followups(AS_OF)
    assert (counts["intake_contact"], counts["intake_services"]) == (1, 1)
    assert due_dates("intake_contact", founder.id) == {1: registered + timedelta(days=1)}
    assert due_dates("intake_services", founder.id) == {1: add_working_days(registered, 7)}
    task = db.session.scalar(select(FollowupTask).where(FollowupTask.subject_id == founder.id))
    assert (task.subject_type, task.founder_id, task.region_code, task.status) == (
        "founder",
        founder.id,
        "460200",
        "open",
    )
    assert (task.closed_on, task.done_on) == (None, None)


@pytest.mark.parametrize(
    ("due", "planned"),
    [
        (AS_OF - timedelta(days=31), False),
        (AS_OF - timedelta(days=30), False),  # would be missed tomorrow: never made late
        (AS_OF - timedelta(days=29), True),
        (AS_OF, True),
        (AS_OF + timedelta(days=14), True),
        (AS_OF + timedelta(days=15), False),
    ],
)
def test_window_is_as_of_minus_30_exclusive_to_as_of_plus_14(due: date, planned: bool) -> None:
    founder = make_founder(registered_on=due - timedelta(days=1))
    jobs.plan_followups(AS_OF)
    assert bool(due_dates("intake_contact", founder.id)) is planned


def test_post_training_counts_from_the_first_passed_entrepreneurship_completion() -> None:
    founder = make_founder(registered_on=date(2025, 1, 6))
    passed(founder, date(2026, 3, 20))
    passed(founder, date(2026, 3, 31))  # a later pass does not move the anchor
    passed(founder, date(2026, 2, 27), result="failed")  # a failure is no anchor
    passed(founder, date(2026, 1, 30), course=make_course(kind="skill"))  # nor a skills course
    dropped_only = make_founder(registered_on=date(2025, 1, 6))
    passed(dropped_only, date(2026, 3, 20), result="dropped")
    jobs.plan_followups(AS_OF)
    assert due_dates("post_training", founder.id) == {1: add_months(date(2026, 3, 20), 3)}
    assert due_dates("post_training", dropped_only.id) == {}
    # Later sequences come when their day is near.
    for day in (date(2026, 9, 10), date(2027, 3, 10)):
        jobs.plan_followups(day)
    assert due_dates("post_training", founder.id) == {
        1: date(2026, 6, 20),
        2: date(2026, 9, 20),
        3: date(2027, 3, 20),
    }


def test_business_follow_ups_clamp_to_month_end_and_skip_closed_businesses() -> None:
    march_31 = make_business(opened_on=date(2026, 3, 31))
    new_years_eve = make_business(opened_on=date(2025, 12, 31))
    two_years = make_business(opened_on=date(2024, 6, 29))
    closed = make_business(
        opened_on=date(2026, 3, 31), status="closed", closed_on=date(2026, 5, 1), employees=0
    )
    jobs.plan_followups(AS_OF)
    assert due_dates("business", march_31.id) == {1: date(2026, 6, 30)}
    assert due_dates("business", new_years_eve.id) == {2: date(2026, 6, 30)}
    assert due_dates("business", two_years.id) == {4: add_months(date(2024, 6, 29), 24)}
    assert due_dates("business", closed.id) == {}
    task = db.session.scalar(
        select(FollowupTask).where(
            FollowupTask.kind == "business", FollowupTask.subject_id == march_31.id
        )
    )
    assert (task.subject_type, task.founder_id, task.region_code) == (
        "business",
        march_31.founder_id,
        march_31.region_code,
    )


def test_loan_usage_one_month_after_disbursement_then_every_three_months() -> None:
    loan = make_loan(disbursed_on=date(2026, 1, 31))
    day = date(2026, 1, 31)
    while day <= date(2027, 2, 1):
        jobs.plan_followups(day)
        day += timedelta(days=7)
    expected = {n: add_months(date(2026, 1, 31), 1 + 3 * (n - 1)) for n in range(1, 5)}
    assert due_dates("loan_usage", loan.id) == expected
    assert (expected[1], expected[2]) == (date(2026, 2, 28), date(2026, 5, 31))
    assert {row[1] for row in tasks("loan_usage", loan.id)} == {"loan"}


def test_loans_not_yet_disbursed_have_no_usage_follow_up() -> None:
    approved = make_loan(status="approved")
    jobs.plan_followups(date(2026, 3, 1))
    assert due_dates("loan_usage", approved.id) == {}


def test_incubation_exit_from_the_move_out_day_with_the_business_founder_and_region() -> None:
    base = make_base(region_code="460100")
    business = make_business(opened_on=date(2025, 1, 2), region_code="460200")
    residency = make_residency(
        base,
        business,
        starts_on=date(2025, 2, 1),
        ends_on=date(2025, 12, 31),
        outcome="graduated",
    )
    still_there = make_residency(base, starts_on=date(2025, 2, 1))
    jobs.plan_followups(AS_OF)
    assert due_dates("incubation_exit", residency.id) == {1: date(2026, 6, 30)}
    assert due_dates("incubation_exit", still_there.id) == {}
    task = db.session.scalar(select(FollowupTask).where(FollowupTask.kind == "incubation_exit"))
    assert (task.subject_type, task.founder_id, task.region_code) == (
        "residency",
        business.founder_id,
        "460200",
    )


def _mixed_subjects() -> None:
    make_founder(registered_on=AS_OF - timedelta(days=3))
    founder = make_founder(registered_on=date(2025, 1, 6))
    passed(founder, date(2026, 3, 20))
    make_business(opened_on=date(2026, 3, 31))
    make_loan(disbursed_on=date(2026, 1, 31))
    make_residency(
        make_base(), starts_on=date(2025, 2, 1), ends_on=date(2025, 12, 31), outcome="left"
    )


def test_planning_twice_for_a_date_makes_each_task_once() -> None:
    _mixed_subjects()
    first = jobs.plan_followups(AS_OF)
    assert all(first[kind.value] >= 1 for kind in TaskKind), first
    table = full_table()
    assert jobs.plan_followups(AS_OF) == {kind.value: 0 for kind in TaskKind}
    assert jobs.reconcile_followups(AS_OF) == {"cancelled": 0, "replanned": 0}
    assert jobs.reconcile_followups(AS_OF) == {"cancelled": 0, "replanned": 0}
    assert full_table() == table
    # An earlier or later date adds only what its own window holds, never a duplicate.
    jobs.plan_followups(AS_OF - timedelta(days=5))
    jobs.plan_followups(AS_OF + timedelta(days=5))
    keys = [(row[1], row[2], row[3], row[4]) for row in full_table()]
    assert len(keys) == len(set(keys))


def test_the_database_holds_one_task_per_subject_kind_and_sequence() -> None:
    founder = make_founder(registered_on=AS_OF)
    jobs.plan_followups(AS_OF)
    task = db.session.scalar(select(FollowupTask).where(FollowupTask.subject_id == founder.id))
    duplicate = FollowupTask(
        kind=task.kind,
        subject_type=task.subject_type,
        subject_id=task.subject_id,
        founder_id=task.founder_id,
        sequence=task.sequence,
        due_on=task.due_on + timedelta(days=1),
        region_code=task.region_code,
    )
    db.session.add(duplicate)
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.flush()


def test_an_admins_plan_replaces_the_default_for_its_kind() -> None:
    db.session.add(FollowupPlan(kind="business", unit="months", offsets="2,5", repeat_every=None))
    db.session.add(FollowupPlan(kind="intake_contact", unit="working_days", offsets="2"))
    db.session.flush()
    plans = get_plans()
    assert (plans[TaskKind.BUSINESS].offsets, plans[TaskKind.BUSINESS].is_default) == (
        (2, 5),
        False,
    )
    assert plans[TaskKind.LOAN_USAGE] == DEFAULT_PLANS[TaskKind.LOAN_USAGE]
    business = make_business(opened_on=date(2026, 4, 30))
    founder = make_founder(registered_on=date(2026, 6, 19))  # a Friday
    jobs.plan_followups(AS_OF)
    assert due_dates("business", business.id) == {1: date(2026, 6, 30)}
    assert due_dates("intake_contact", founder.id) == {1: date(2026, 6, 23)}


def test_repeat_every_extends_a_plan_in_working_days_too() -> None:
    db.session.add(
        FollowupPlan(kind="intake_services", unit="working_days", offsets="3", repeat_every=5)
    )
    db.session.flush()
    founder = make_founder(registered_on=date(2026, 6, 5))  # a Friday
    jobs.plan_followups(AS_OF)
    plan = get_plans()[TaskKind.INTAKE_SERVICES]
    expected = {
        n: plan.due_on(date(2026, 6, 5), n)
        for n in range(1, 10)
        if AS_OF - timedelta(days=30) < plan.due_on(date(2026, 6, 5), n) <= AS_OF + timedelta(14)
    }
    assert len(expected) >= 2
    assert due_dates("intake_services", founder.id) == expected
    assert expected[1] == add_working_days(date(2026, 6, 5), 3)


def test_loan_money_amount_is_irrelevant_to_planning() -> None:
    # The Money column is read by nothing here; planning copies ids, dates and region only.
    loan = make_loan(disbursed_on=date(2026, 5, 20), amount=Decimal("5000.00"))
    jobs.plan_followups(AS_OF)
    assert due_dates("loan_usage", loan.id) == {1: date(2026, 6, 20)}


@settings(max_examples=400, deadline=None)
@given(
    anchor=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
    offset=st.integers(min_value=1, max_value=400),
    unit=st.sampled_from(list(PlanUnit)),
)
def test_a_task_is_never_due_further_from_its_anchor_than_planning_reads(anchor, offset, unit):
    """plan_tasks reads only subjects whose anchor lies within longest_shift_days before
    the window: a bound that is too tight would silently leave tasks unplanned."""
    due = shift(anchor, offset, unit)
    assert anchor <= due <= anchor + timedelta(days=longest_shift_days(offset, unit))
