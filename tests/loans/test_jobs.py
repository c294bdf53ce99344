"""The daily sweep: days past due, buckets, overdue installments, subsidy loss, defaults
and the sweep's integrity events; run twice, for skipped dates, and after repayments."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.extensions import db
from app.integrity.models import IntegrityEvent
from app.loans import operations
from app.loans.jobs import sweep
from app.loans.models import Loan, LoanInstallment
from tests.factories import make_user
from tests.loans.factories import fund_region, make_loan

D = Decimal


@pytest.fixture(autouse=True)
def funded(db_session):
    fund_region("460000")


def small_loan(**fields):
    """1,200 over 3 months from 2026-01-10, half subsidised: dues 02-10, 03-10, 04-10."""
    from app.loans.models import LoanPolicy

    db.session.merge(
        LoanPolicy(
            region_code="460000",
            max_amount=D("300000"),
            max_term_months=36,
            annual_rate=D("0.12"),
            subsidy_rate=D("0.5"),
            require_training=True,
            default_days=90,
            guarantee_ratio=D("0.8"),
            leverage=D("5"),
            suspend_compensation_rate=D("0.05"),
            subsidy_requires_on_time=True,
        )
    )
    db.session.flush()
    values = {
        "amount": D("1200.00"),
        "term_months": 3,
        "repayment_method": "equal_principal",
        "disbursed_on": date(2026, 1, 10),
    } | fields
    return make_loan(**values)


def refreshed(loan):
    db.session.expire_all()
    return db.session.get(Loan, loan.id)


def kinds(founder_id):
    return list(
        db.session.scalars(
            select(IntegrityEvent.kind)
            .where(IntegrityEvent.founder_id == founder_id)
            .order_by(IntegrityEvent.occurred_on, IntegrityEvent.id)
        )
    )


def test_days_past_due_bucket_and_overdue_installments():
    loan = small_loan()
    counts = sweep(date(2026, 3, 15))
    loan = refreshed(loan)
    assert loan.days_past_due == 33  # oldest unpaid due 2026-02-10
    assert loan.bucket == "31-60"
    assert loan.swept_on == date(2026, 3, 15)
    statuses = [row.status for row in loan.installments]
    assert statuses == ["overdue", "overdue", "pending"]
    assert [row.subsidy_lost for row in loan.installments] == [True, True, False]
    assert counts["loans_swept"] == 1
    assert counts["late_over_30_events"] == 1
    event = db.session.scalar(select(IntegrityEvent).where(IntegrityEvent.kind == "late_over_30"))
    assert event.occurred_on == date(2026, 3, 13)  # the day it reached 31 days overdue
    assert event.points == -15


def test_running_twice_changes_nothing_more():
    loan = small_loan()
    sweep(date(2026, 3, 15))
    before = kinds(loan.founder_id)
    counts = sweep(date(2026, 3, 15))
    assert counts["late_over_30_events"] == 0
    assert counts["installments_overdue"] == 0
    assert kinds(loan.founder_id) == before
    assert refreshed(loan).days_past_due == 33


def test_skipped_dates_in_order_give_the_same_result_as_daily_runs():
    daily = small_loan()
    day = date(2026, 2, 1)
    while day <= date(2026, 6, 1):
        sweep(day)
        day += timedelta(days=1)
    daily_state = refreshed(daily)
    daily_events = db.session.execute(
        select(IntegrityEvent.kind, IntegrityEvent.occurred_on).order_by(
            IntegrityEvent.occurred_on, IntegrityEvent.kind.desc()
        )
    ).all()
    assert daily_state.status == "defaulted"
    # Days past due reached 90 on 2026-05-11 (90 days after 2026-02-10).
    assert daily_state.defaulted_on == date(2026, 5, 11)
    assert [tuple(row) for row in daily_events] == EXPECTED_EVENTS


EXPECTED_EVENTS = [
    ("late_over_30", date(2026, 3, 13)),
    ("late_over_30", date(2026, 4, 10)),
    ("late_over_30", date(2026, 5, 11)),
    ("defaulted", date(2026, 5, 11)),
]


def test_a_single_late_run_matches():
    loan = small_loan()
    sweep(date(2026, 6, 1))
    loan = refreshed(loan)
    assert loan.status == "defaulted"
    assert loan.defaulted_on == date(2026, 5, 11)
    assert loan.days_past_due == 111
    assert loan.bucket == "90+"
    kinds_found = db.session.execute(
        select(IntegrityEvent.kind, IntegrityEvent.occurred_on).order_by(
            IntegrityEvent.occurred_on, IntegrityEvent.kind.desc()
        )
    ).all()
    assert [tuple(row) for row in kinds_found] == EXPECTED_EVENTS
    # Running earlier dates afterwards leaves the loan alone.
    sweep(date(2026, 3, 1))
    assert refreshed(loan).swept_on == date(2026, 6, 1)


def test_a_payment_after_the_sweep_pays_the_lost_subsidy_first():
    loan = small_loan()
    sweep(date(2026, 2, 15))
    officer = make_user(role="officer")
    first = refreshed(loan).installments[0]
    assert first.subsidy_lost
    assert first.amount_owed == D("412.00")
    operations.post_repayment(
        officer,
        loan.id,
        {"paid_on": date(2026, 2, 16), "amount": D("412.00"), "reference": "LATE1"},
        as_of=date(2026, 2, 16),
    )
    loan = refreshed(loan)
    first = loan.installments[0]
    assert (first.paid_interest, first.paid_principal, first.status) == (
        D("12.00"),
        D("400.00"),
        "paid",
    )
    assert loan.days_past_due == 0
    assert loan.bucket == "current"
    assert kinds(loan.founder_id) == ["paid_late"]


def test_late_over_30_and_paid_late_never_both():
    loan = small_loan()
    officer = make_user(role="officer")
    # Paid 40 days late without a sweep in between; the next sweep adds late_over_30.
    operations.post_repayment(
        officer,
        loan.id,
        {"paid_on": date(2026, 3, 22), "amount": D("412.00"), "reference": "VERYLATE"},
        as_of=date(2026, 3, 22),
    )
    assert kinds(loan.founder_id) == []
    sweep(date(2026, 3, 23))
    assert kinds(loan.founder_id) == ["late_over_30"]


def test_closed_loans_are_not_swept():
    loan = small_loan()
    officer = make_user(role="officer")
    total = sum(row.amount_owed for row in loan.installments)
    operations.post_repayment(
        officer,
        loan.id,
        {"paid_on": date(2026, 1, 20), "amount": total, "reference": "ALL"},
        as_of=date(2026, 1, 20),
    )
    assert refreshed(loan).status == "closed"
    counts = sweep(date(2026, 6, 1))
    assert counts["loans_swept"] == 0
    assert refreshed(loan).status == "closed"
    rows = db.session.scalars(select(LoanInstallment).where(LoanInstallment.loan_id == loan.id))
    assert {row.status for row in rows} == {"paid"}


def test_the_command_runs_the_sweep_for_a_date(app):
    loan = small_loan()
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["loans", "sweep", "--date", "2026-03-15"])
    assert result.exit_code == 0, result.output
    assert "Loan sweep for 2026-03-15" in result.output
    assert "loans_swept 1" in result.output
    assert refreshed(loan).days_past_due == 33
    bad = app.test_cli_runner().invoke(args=["loans", "sweep", "--date", "15/03/2026"])
    assert bad.exit_code != 0


def test_the_sweep_audits_its_defaults_and_events():
    from app.core.audit import AuditEntry

    loan = small_loan()
    sweep(date(2026, 6, 1))
    entries = db.session.execute(
        select(AuditEntry.action, AuditEntry.entity_type, AuditEntry.actor_username)
    ).all()
    assert ("loan.default", "loan", "system") in entries
    events = [e for e in entries if e.action == "integrity.event" and e.actor_username == "system"]
    assert len(events) == 4  # three late_over_30 and the default
    assert refreshed(loan).status == "defaulted"
