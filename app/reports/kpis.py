"""The KPI engine (SPEC §11, §14): every figure of a region as of a date D.

A region's figures cover the region and its cities (a province includes its cities);
records dated after D are left out; an optional period [start, end] applies to each
figure's entry event. Every figure is one SQL aggregate (conditional sums, scalar
subqueries); Python only rounds and shapes the answer.

Definitions where SPEC §11 leaves a choice (docs: KPI definitions):

- Units. Training and opening count the founder's region (the founder is the unit),
  businesses their own region, loans the loan's region, follow-ups the task's region.
- training. An entrepreneurship enrollment (GYB/SYB/IYB/EYB) enrolled on or before D
  counts as `enrolled` when its entry date lies in the period: its completion date when it
  was completed by D, else its enrollment date. `passed` and `failed` are results whose
  completion date is ≤ D and in the period; a result completed after D is not known yet.
- opening. c = the founder's first passed entrepreneurship completion ≤ D; founders with
  a business opened on or before c are left out; the period applies to c. Eligible at m
  months: add_months(c, m) ≤ D; opened: one of the founder's businesses (any region) with
  c < opened_on ≤ add_months(c, m), counted among the eligible only.
- jobs. Businesses opened ≤ D (and in the period, by opened_on), their status on D the
  latest observation by then (`reports.status.status_as_of`); jobs = employees of the
  operating ones.
- loans. Loans disbursed ≤ D and in the period (by disbursed_on). The outstanding
  principal and PAR30 are computed as of D from the installments rather than read from
  the sweep's columns, so a past D does not see later payments: a loan is serviced on D
  when disbursed by then and not closed, compensated or ended by then; its outstanding
  principal on D is the amount less the principal allocated from payments made by D;
  days past due on D = D − the due date of its oldest installment due before D and not
  fully paid by D (paid_off_on). For D on the latest sweep's date this is the sweep's
  figure. The on-time rate takes installments with due_on ≤ D (the period applies to
  due_on) of loans disbursed by D: amount due = principal + borrower interest (the
  subsidy is lost only once overdue, so this is what was owed on the due date); paid by
  due_on = the allocations of payments with paid_on ≤ due_on (partial payments count).
  Compensated and recovered amounts are the guarantee fund's compensation and recovery
  entries dated ≤ D for the same loans, so both rates cover the period's disbursements.
  Allocations are rebuilt from live payments, so a payment reversed after D no longer
  counts on D (the one place the figures read a later record).
- followups. Tasks due ≤ D and in the period (by due_on), not cancelled by D; done on
  time = done with done_on ≤ due_on; missed = missed as it stood on D (as the monthly
  snapshot counts it); response rate = tasks done by D / tasks due. `lost` = founders of
  the region flagged lost to follow-up on or before D (a stock: the period is not applied).
- survival. `reports.survival.survival_figures` over the same region set and period.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Select,
    and_,
    case,
    exists,
    func,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.orm import aliased

from app.businesses.models import Business, BusinessStatus
from app.core.sql import add_days, add_months, as_date, days_between
from app.extensions import db
from app.followups.models import FollowupTask, TaskStatus
from app.followups.planning import MISSED_AFTER_DAYS
from app.founders.models import Founder
from app.loans.models import (
    Allocation,
    FundEntry,
    FundEntryKind,
    Loan,
    LoanInstallment,
    Repayment,
)
from app.regions.models import Region
from app.reports.status import status_as_of
from app.training.models import ENTREPRENEURSHIP_KINDS, Cohort, Course, Enrollment, TrainingResult

RATE_PLACES = Decimal("0.0001")
CENT = Decimal("0.01")
ENTREPRENEURSHIP = [kind.value for kind in ENTREPRENEURSHIP_KINDS]
# Days past due beyond which a loan's principal is "at risk" (PAR30).
PAR_DAYS = 30


def region_codes(region_code: str) -> list[str]:
    """The region and its cities (a city has none), in code order."""
    return list(
        db.session.scalars(
            select(Region.code)
            .where(or_(Region.code == region_code, Region.parent_code == region_code))
            .order_by(Region.code)
        )
    )


def rate(numerator: Any, denominator: Any) -> float | None:
    """numerator / denominator rounded half-up to 4 places; None when nothing to divide by."""
    if not denominator:
        return None
    value = (Decimal(numerator or 0) / Decimal(denominator)).quantize(
        RATE_PLACES, rounding=ROUND_HALF_UP
    )
    return float(value)


def compute_kpis(
    region_code: str, as_of: date, start: date | None = None, end: date | None = None
) -> dict[str, Any]:
    """Every SPEC §11 figure of the region (and its cities) as of `as_of`, in the §14 shape."""
    codes = region_codes(region_code)
    window = _Window(as_of, start, end)
    return {
        "region_code": region_code,
        "as_of": as_of.isoformat(),
        "training": training_figures(codes, window),
        "opening": opening_figures(codes, window),
        "survival": _survival(codes, as_of, start, end),
        "jobs": jobs_figures(codes, window),
        "loans": loan_figures(codes, window),
        "followups": followup_figures(codes, window),
    }


class _Window:
    """The cut-off D and the optional period, as SQL conditions on a date column."""

    def __init__(self, as_of: date, start: date | None, end: date | None) -> None:
        self.as_of = as_of
        self.day = as_date(as_of)
        self.start = start
        self.end = end

    def in_period(self, column: Any) -> Any:
        """`column` within [start, end] (either side open when not given)."""
        conditions = []
        if self.start is not None:
            conditions.append(column >= as_date(self.start))
        if self.end is not None:
            conditions.append(column <= as_date(self.end))
        return and_(true(), *conditions)

    def known(self, column: Any) -> Any:
        """`column` dated by D and within the period."""
        return and_(column.is_not(None), column <= self.day, self.in_period(column))


def _one(stmt: Select) -> Any:
    return db.session.execute(stmt).one()


def _count_if(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _fen(column: Any) -> Any:
    """A Money column as raw integer fen, so SQL arithmetic on it stays integral."""
    return type_coerce(column, BigInteger)


def _yuan(fen: Any) -> Decimal:
    return (Decimal(int(fen or 0)) / 100).quantize(CENT)


def training_figures(codes: list[str], window: _Window) -> dict[str, Any]:
    """Entrepreneurship enrollments entering the period: enrolled, passed, failed, pass rate."""
    completed = and_(Enrollment.completed_on.is_not(None), Enrollment.completed_on <= window.day)
    entry_on = case((completed, Enrollment.completed_on), else_=Enrollment.enrolled_on)
    result_known = and_(completed, window.in_period(Enrollment.completed_on))
    enrolled, passed, failed = _one(
        select(
            func.count(),
            _count_if(and_(result_known, Enrollment.result == TrainingResult.PASSED.value)),
            _count_if(and_(result_known, Enrollment.result == TrainingResult.FAILED.value)),
        )
        .select_from(Enrollment)
        .join(Founder, Founder.id == Enrollment.founder_id)
        .join(Cohort, Cohort.id == Enrollment.cohort_id)
        .join(Course, Course.id == Cohort.course_id)
        .where(
            Founder.region_code.in_(codes),
            Course.kind.in_(ENTREPRENEURSHIP),
            Enrollment.enrolled_on <= window.day,
            window.in_period(entry_on),
        )
    )
    return {
        "enrolled": int(enrolled),
        "passed": int(passed),
        "failed": int(failed),
        "pass_rate": rate(passed, int(passed) + int(failed)),
    }


def opening_figures(codes: list[str], window: _Window) -> dict[str, Any]:
    """Opening rates at 3 and 6 months after the first passed entrepreneurship training."""
    first_pass = (
        select(
            Enrollment.founder_id.label("founder_id"),
            func.min(Enrollment.completed_on).label("completed_on"),
        )
        .join(Cohort, Cohort.id == Enrollment.cohort_id)
        .join(Course, Course.id == Cohort.course_id)
        .join(Founder, Founder.id == Enrollment.founder_id)
        .where(
            Founder.region_code.in_(codes),
            Course.kind.in_(ENTREPRENEURSHIP),
            Enrollment.result == TrainingResult.PASSED.value,
            Enrollment.completed_on <= window.day,
        )
        .group_by(Enrollment.founder_id)
        .subquery("first_pass")
    )
    c = first_pass.c.completed_on
    before = aliased(Business)
    opened_before = exists().where(
        before.founder_id == first_pass.c.founder_id, before.opened_on <= c
    )

    def opened_within(months: int) -> Any:
        later = aliased(Business)
        return exists().where(
            later.founder_id == first_pass.c.founder_id,
            later.opened_on > c,
            later.opened_on <= add_months(c, months),
            later.opened_on <= window.day,
        )

    eligible_3 = add_months(c, 3) <= window.day
    eligible_6 = add_months(c, 6) <= window.day
    e3, o3, e6, o6 = _one(
        select(
            _count_if(eligible_3),
            _count_if(and_(eligible_3, opened_within(3))),
            _count_if(eligible_6),
            _count_if(and_(eligible_6, opened_within(6))),
        )
        .select_from(first_pass)
        .where(~opened_before, window.in_period(c))
    )
    return {
        "eligible_3m": int(e3),
        "opened_3m": int(o3),
        "rate_3m": rate(o3, e3),
        "eligible_6m": int(e6),
        "opened_6m": int(o6),
        "rate_6m": rate(o6, e6),
    }


def jobs_figures(codes: list[str], window: _Window) -> dict[str, Any]:
    """Operating businesses on D, their employees, and jobs per operating business."""
    status = status_as_of(window.day)
    operating, jobs = _one(
        select(func.count(), func.coalesce(func.sum(status.c.employees), 0))
        .select_from(Business)
        .join(status, status.c.business_id == Business.id)
        .where(
            Business.region_code.in_(codes),
            window.known(Business.opened_on),
            status.c.status == BusinessStatus.OPERATING.value,
        )
    )
    return {
        "operating": int(operating),
        "jobs": int(jobs),
        "jobs_per_business": rate(jobs, operating),
    }


def loan_figures(codes: list[str], window: _Window) -> dict[str, Any]:
    """Disbursements, outstanding principal, on-time repayment, PAR30, compensation and
    recovery of the region's loans disbursed by D (and in the period)."""
    day = window.day
    cohort = (Loan.region_code.in_(codes), window.known(Loan.disbursed_on))
    principal_paid = (
        select(func.coalesce(func.sum(_fen(Allocation.principal)), 0))
        .join(Repayment, Repayment.id == Allocation.repayment_id)
        .join(LoanInstallment, LoanInstallment.id == Allocation.installment_id)
        .where(LoanInstallment.loan_id == Loan.id, Repayment.paid_on <= day)
        .scalar_subquery()
    )
    outstanding = _fen(Loan.amount) - principal_paid
    oldest_unpaid = (
        select(func.min(LoanInstallment.due_on))
        .where(
            LoanInstallment.loan_id == Loan.id,
            LoanInstallment.due_on < day,
            or_(LoanInstallment.paid_off_on.is_(None), LoanInstallment.paid_off_on > day),
        )
        .scalar_subquery()
    )
    serviced = and_(
        *(
            or_(column.is_(None), column > day)
            for column in (Loan.closed_on, Loan.compensated_on, Loan.ended_on)
        )
    )
    at_risk = and_(serviced, days_between(day, oldest_unpaid) > PAR_DAYS)

    def fund_total(kind: FundEntryKind) -> Any:
        return (
            select(func.coalesce(func.sum(_fen(FundEntry.amount)), 0))
            .where(
                FundEntry.loan_id == Loan.id,
                FundEntry.kind == kind.value,
                FundEntry.entry_on <= day,
            )
            .scalar_subquery()
        )

    count, disbursed, outstanding_fen, at_risk_fen, compensated, recovered = _one(
        select(
            func.count(),
            func.coalesce(func.sum(_fen(Loan.amount)), 0),
            func.coalesce(func.sum(case((serviced, outstanding), else_=0)), 0),
            func.coalesce(func.sum(case((at_risk, outstanding), else_=0)), 0),
            # Compensation entries lower the fund, so they are negative.
            -func.coalesce(func.sum(fund_total(FundEntryKind.COMPENSATION)), 0),
            func.coalesce(func.sum(fund_total(FundEntryKind.RECOVERY)), 0),
        ).where(*cohort)
    )
    paid_by_due = (
        select(func.coalesce(func.sum(_fen(Allocation.principal) + _fen(Allocation.interest)), 0))
        .join(Repayment, Repayment.id == Allocation.repayment_id)
        .where(
            Allocation.installment_id == LoanInstallment.id,
            Repayment.paid_on <= LoanInstallment.due_on,
        )
        .scalar_subquery()
    )
    due_fen, paid_fen = _one(
        select(
            func.coalesce(
                func.sum(_fen(LoanInstallment.principal) + _fen(LoanInstallment.borrower_interest)),
                0,
            ),
            func.coalesce(func.sum(paid_by_due), 0),
        )
        .join(Loan, Loan.id == LoanInstallment.loan_id)
        .where(
            Loan.region_code.in_(codes),
            Loan.disbursed_on <= day,
            window.known(LoanInstallment.due_on),
        )
    )
    return {
        "disbursed_count": int(count),
        "disbursed_amount": f"{_yuan(disbursed):.2f}",
        "outstanding_principal": f"{_yuan(outstanding_fen):.2f}",
        "on_time_rate": rate(paid_fen, due_fen),
        "par30": rate(at_risk_fen, outstanding_fen),
        "compensation_rate": rate(compensated, disbursed),
        "recovery_rate": rate(recovered, compensated),
    }


def followup_figures(codes: list[str], window: _Window) -> dict[str, Any]:
    """Follow-up tasks due by D (and in the period): timeliness, misses, response, lost."""
    day = window.day
    cancelled_by_then = and_(
        FollowupTask.status == TaskStatus.CANCELLED.value, FollowupTask.closed_on <= day
    )
    done_by_then = and_(FollowupTask.status == TaskStatus.DONE.value, FollowupTask.done_on <= day)
    on_time = and_(done_by_then, FollowupTask.done_on <= FollowupTask.due_on)
    # As the monthly snapshot counts it: missed by D stays missed even if done later.
    missed_by_then = and_(
        add_days(FollowupTask.due_on, MISSED_AFTER_DAYS + 1) <= day,
        or_(
            and_(FollowupTask.status == TaskStatus.MISSED.value, FollowupTask.closed_on <= day),
            and_(FollowupTask.status == TaskStatus.DONE.value, FollowupTask.done_on > day),
        ),
    )
    due, done_on_time, missed, done = _one(
        select(
            func.count(),
            _count_if(on_time),
            _count_if(missed_by_then),
            _count_if(done_by_then),
        ).where(
            FollowupTask.region_code.in_(codes),
            window.known(FollowupTask.due_on),
            ~cancelled_by_then,
        )
    )
    lost = db.session.scalar(
        select(func.count()).where(
            Founder.region_code.in_(codes),
            Founder.lost_to_follow_up_on.is_not(None),
            Founder.lost_to_follow_up_on <= day,
        )
    )
    return {
        "due": int(due),
        "done_on_time": int(done_on_time),
        "on_time_rate": rate(done_on_time, due),
        "missed": int(missed),
        "response_rate": rate(done, due),
        "lost": int(lost or 0),
    }


def _survival(codes: list[str], as_of: date, start: date | None, end: date | None) -> dict:
    # Imported here: survival.py is its own module (lifelines-backed Kaplan–Meier).
    from app.reports.survival import survival_figures

    return survival_figures(codes, as_of, start, end)
