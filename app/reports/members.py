"""The records behind each KPI figure (SPEC §11): one statement per figure group.

A figure is a sum over its group's member rows, so the number on the dashboard, its
breakdown by any dimension and the real-name list it links to are the same rows by
construction. Every member statement selects:

- the unit's id (`enrollment_id`, `founder_id`, `business_id`, `loan_id`,
  `installment_id`, `task_id`), `founder_id` and `region_code` (the unit's region);
- `entry_on`, the date the period applies to (completion, opening, disbursement, due);
- flags (1 or 0) and amounts (integer fen, head counts) that the figures sum.

See `app/reports/kpis.py` for the definitions these statements implement.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import (
    BigInteger,
    Select,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    true,
    type_coerce,
)

from app.businesses.models import Business, BusinessStatus
from app.core.sql import add_days, add_months, as_date, days_between
from app.followups.models import Employment, EmploymentObservation, FollowupTask, TaskStatus
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
from app.reports.durations import business_durations_query
from app.reports.status import status_as_of
from app.training.models import (
    ENTREPRENEURSHIP_KINDS,
    Cohort,
    Course,
    CourseKind,
    Enrollment,
    TrainingResult,
)

ENTREPRENEURSHIP = [kind.value for kind in ENTREPRENEURSHIP_KINDS]
# Days past due beyond which a loan's principal is "at risk" (PAR30).
PAR_DAYS = 30


class Window:
    """The cut-off D and the optional period, as SQL conditions on a date column."""

    def __init__(self, as_of: date, start: date | None = None, end: date | None = None) -> None:
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


def flag(condition: Any) -> Any:
    """1 where the condition holds, else 0 (summed into counts)."""
    return case((condition, 1), else_=0)


def fen(column: Any) -> Any:
    """A Money column as raw integer fen, so SQL arithmetic on it stays integral."""
    return type_coerce(column, BigInteger)


def entrepreneurship_enrollments() -> Select:
    """Enrollments in GYB/SYB/IYB/EYB courses, with their founder joined."""
    return (
        select(Enrollment)
        .join(Founder, Founder.id == Enrollment.founder_id)
        .join(Cohort, Cohort.id == Enrollment.cohort_id)
        .join(Course, Course.id == Cohort.course_id)
        .where(Course.kind.in_(ENTREPRENEURSHIP))
    )


def training_members(codes: list[str], window: Window) -> Select:
    """Entrepreneurship enrollments enrolled by D: `enrolled` when the enrollment date lies
    in the period, `passed`/`failed` when the result was known by D and its completion
    date lies in the period (so a year's trainees do not change once next year's results
    come in, and a pass rate covers the results of its period)."""
    completed = and_(Enrollment.completed_on.is_not(None), Enrollment.completed_on <= window.day)
    entry_on = case((completed, Enrollment.completed_on), else_=Enrollment.enrolled_on)
    enrolled = window.in_period(Enrollment.enrolled_on)
    result_known = and_(completed, window.in_period(Enrollment.completed_on))
    return (
        entrepreneurship_enrollments()
        .with_only_columns(
            Enrollment.id.label("enrollment_id"),
            Enrollment.founder_id.label("founder_id"),
            Founder.region_code.label("region_code"),
            entry_on.label("entry_on"),
            Enrollment.cohort_id.label("cohort_id"),
            flag(enrolled).label("enrolled"),
            flag(and_(result_known, Enrollment.result == TrainingResult.PASSED.value)).label(
                "passed"
            ),
            flag(and_(result_known, Enrollment.result == TrainingResult.FAILED.value)).label(
                "failed"
            ),
            maintain_column_froms=True,
        )
        .where(
            Founder.region_code.in_(codes),
            Enrollment.enrolled_on <= window.day,
            or_(enrolled, result_known),
        )
    )


def opening_members(codes: list[str], window: Window) -> Select:
    """Founders by their first passed entrepreneurship completion c ≤ D (in the period),
    without a business opened on or before c; eligible and opened at 3 and 6 months."""
    first_pass = (
        entrepreneurship_enrollments()
        .with_only_columns(
            Enrollment.founder_id.label("founder_id"),
            Founder.region_code.label("region_code"),
            func.min(Enrollment.completed_on).label("completed_on"),
            maintain_column_froms=True,
        )
        .where(
            Founder.region_code.in_(codes),
            Enrollment.result == TrainingResult.PASSED.value,
            Enrollment.completed_on <= window.day,
        )
        .group_by(Enrollment.founder_id, Founder.region_code)
        .subquery("first_pass")
    )
    c = first_pass.c.completed_on
    # A founder's first business opened by D decides all three questions: one opened on or
    # before c exists iff the first one did (the founder is then left out); otherwise the
    # first opened after c is the first of all, so "opened within m months" is "the first
    # opened by c + m months". One grouped read of business (index founder_id, opened_on)
    # joined once, instead of three EXISTS probes per founder.
    first_business = (
        select(
            Business.founder_id.label("founder_id"),
            func.min(Business.opened_on).label("opened_on"),
        )
        .where(Business.opened_on <= window.day)
        .group_by(Business.founder_id)
        .subquery("first_business")
    )
    first_opened = first_business.c.opened_on

    def opened_within(months: int) -> Any:
        return and_(first_opened.is_not(None), first_opened <= add_months(c, months))

    eligible_3 = add_months(c, 3) <= window.day
    eligible_6 = add_months(c, 6) <= window.day
    return (
        select(
            first_pass.c.founder_id,
            first_pass.c.region_code,
            c.label("entry_on"),
            flag(eligible_3).label("eligible_3m"),
            flag(and_(eligible_3, opened_within(3))).label("opened_3m"),
            flag(eligible_6).label("eligible_6m"),
            flag(and_(eligible_6, opened_within(6))).label("opened_6m"),
        )
        .select_from(first_pass)
        .outerjoin(first_business, first_business.c.founder_id == first_pass.c.founder_id)
        .where(or_(first_opened.is_(None), first_opened > c), window.in_period(c))
    )


def business_members(codes: list[str], window: Window) -> Select:
    """Businesses opened by D (in the period), their status on D: operating ones and their
    employees."""
    status = status_as_of(window.day)
    is_operating = status.c.status == BusinessStatus.OPERATING.value
    return (
        select(
            Business.id.label("business_id"),
            Business.founder_id.label("founder_id"),
            Business.region_code.label("region_code"),
            Business.opened_on.label("entry_on"),
            flag(is_operating).label("operating"),
            case((is_operating, status.c.employees), else_=0).label("jobs"),
        )
        .join(status, status.c.business_id == Business.id)
        .where(Business.region_code.in_(codes), window.known(Business.opened_on))
    )


def survival_members(codes: list[str], window: Window) -> Select:
    """Businesses opened by D (in the period) with their duration and closure (durations.py)."""
    durations = business_durations_query(codes, window.as_of, window.start, window.end)
    return durations.add_columns(
        Business.founder_id.label("founder_id"),
        Business.region_code.label("region_code"),
        Business.opened_on.label("entry_on"),
        literal(1).label("businesses"),
    ).order_by(None)


def business_outcome_members(codes: list[str], window: Window) -> Select:
    """`survival_members` with each business's status on D (`operating`, `jobs`): the
    businesses of `business_members` (the same scope), so the KPIs read the observations
    once for survival and jobs."""
    durations = business_durations_query(
        codes, window.as_of, window.start, window.end, with_status=True
    )
    return durations.add_columns(
        Business.founder_id.label("founder_id"),
        Business.region_code.label("region_code"),
        Business.opened_on.label("entry_on"),
        literal(1).label("businesses"),
    ).order_by(None)


def loan_members(codes: list[str], window: Window) -> Select:
    """Loans disbursed by D (in the period): amount, outstanding and at-risk principal on D,
    days past due on D, compensation and recovery by D (all in fen).

    The per-loan amounts are grouped once over the region's loans and joined (rather than
    a scalar subquery per loan and per use, which repeated the allocation sums for the
    outstanding and at-risk columns)."""
    day = window.day
    in_scope = and_(Loan.region_code.in_(codes), window.known(Loan.disbursed_on))
    paid = (
        select(
            LoanInstallment.loan_id.label("loan_id"),
            func.sum(fen(Allocation.principal)).label("principal"),
        )
        .join(Allocation, Allocation.installment_id == LoanInstallment.id)
        .join(Repayment, Repayment.id == Allocation.repayment_id)
        .join(Loan, Loan.id == LoanInstallment.loan_id)
        .where(in_scope, Repayment.paid_on <= day)
        .group_by(LoanInstallment.loan_id)
        .subquery("principal_paid")
    )
    unpaid = (
        select(
            LoanInstallment.loan_id.label("loan_id"),
            func.min(LoanInstallment.due_on).label("due_on"),
        )
        .join(Loan, Loan.id == LoanInstallment.loan_id)
        .where(
            in_scope,
            LoanInstallment.due_on < day,
            or_(LoanInstallment.paid_off_on.is_(None), LoanInstallment.paid_off_on > day),
        )
        .group_by(LoanInstallment.loan_id)
        .subquery("oldest_unpaid")
    )

    def fund_sum(kind: FundEntryKind) -> Any:
        return func.sum(case((FundEntry.kind == kind.value, fen(FundEntry.amount)), else_=0))

    funds = (
        select(
            FundEntry.loan_id.label("loan_id"),
            fund_sum(FundEntryKind.COMPENSATION).label("compensation"),
            fund_sum(FundEntryKind.RECOVERY).label("recovery"),
        )
        .join(Loan, Loan.id == FundEntry.loan_id)
        .where(in_scope, FundEntry.entry_on <= day)
        .group_by(FundEntry.loan_id)
        .subquery("fund_totals")
    )
    outstanding = fen(Loan.amount) - func.coalesce(paid.c.principal, 0)
    serviced = and_(
        *(
            or_(column.is_(None), column > day)
            for column in (Loan.closed_on, Loan.compensated_on, Loan.ended_on)
        )
    )
    days_past_due = func.coalesce(days_between(day, unpaid.c.due_on), 0)
    at_risk = and_(serviced, days_past_due > PAR_DAYS)
    return (
        select(
            Loan.id.label("loan_id"),
            Loan.founder_id.label("founder_id"),
            Loan.region_code.label("region_code"),
            Loan.business_id.label("business_id"),
            Loan.disbursed_on.label("entry_on"),
            fen(Loan.amount).label("amount_fen"),
            flag(serviced).label("serviced"),
            case((serviced, outstanding), else_=0).label("outstanding_fen"),
            case((serviced, days_past_due), else_=0).label("days_past_due"),
            flag(at_risk).label("at_risk"),
            case((at_risk, outstanding), else_=0).label("at_risk_fen"),
            # Compensation entries lower the fund, so they are negative.
            (-func.coalesce(funds.c.compensation, 0)).label("compensated_fen"),
            func.coalesce(funds.c.recovery, 0).label("recovered_fen"),
        )
        .outerjoin(paid, paid.c.loan_id == Loan.id)
        .outerjoin(unpaid, unpaid.c.loan_id == Loan.id)
        .outerjoin(funds, funds.c.loan_id == Loan.id)
        .where(in_scope)
    )


def installment_members(codes: list[str], window: Window) -> Select:
    """Installments due by D (in the period) of loans disbursed by D, up to the loan's
    compensation or write-off: the amount due on the due date and the part of it paid by
    then."""
    paid_by_due = (
        select(func.coalesce(func.sum(fen(Allocation.principal) + fen(Allocation.interest)), 0))
        .join(Repayment, Repayment.id == Allocation.repayment_id)
        .where(
            Allocation.installment_id == LoanInstallment.id,
            Repayment.paid_on <= LoanInstallment.due_on,
        )
        .scalar_subquery()
    )
    return (
        select(
            LoanInstallment.id.label("installment_id"),
            LoanInstallment.loan_id.label("loan_id"),
            Loan.founder_id.label("founder_id"),
            Loan.region_code.label("region_code"),
            Loan.business_id.label("business_id"),
            LoanInstallment.due_on.label("entry_on"),
            (fen(LoanInstallment.principal) + fen(LoanInstallment.borrower_interest)).label(
                "due_fen"
            ),
            paid_by_due.label("paid_fen"),
        )
        .join(Loan, Loan.id == LoanInstallment.loan_id)
        .where(
            Loan.region_code.in_(codes),
            Loan.disbursed_on <= window.day,
            window.known(LoanInstallment.due_on),
            # Once the fund compensated the bank (or the loan was written off), the bank
            # no longer expects the later installments: they are not "due" any more.
            *(
                or_(column.is_(None), LoanInstallment.due_on <= column)
                for column in (Loan.compensated_on, Loan.ended_on)
            ),
        )
    )


def followup_members(codes: list[str], window: Window) -> Select:
    """Follow-up tasks due by D (in the period) and not cancelled by D."""
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
    return select(
        FollowupTask.id.label("task_id"),
        FollowupTask.founder_id.label("founder_id"),
        FollowupTask.region_code.label("region_code"),
        FollowupTask.due_on.label("entry_on"),
        literal(1).label("due"),
        flag(on_time).label("done_on_time"),
        flag(missed_by_then).label("missed"),
        flag(done_by_then).label("done"),
    ).where(
        FollowupTask.region_code.in_(codes),
        window.known(FollowupTask.due_on),
        ~cancelled_by_then,
    )


def lost_members(codes: list[str], window: Window) -> Select:
    """Founders of the regions flagged lost to follow-up on or before D (a stock: the
    period is not applied)."""
    return select(
        Founder.id.label("founder_id"),
        Founder.region_code.label("region_code"),
        Founder.lost_to_follow_up_on.label("entry_on"),
        literal(1).label("lost"),
    ).where(
        Founder.region_code.in_(codes),
        Founder.lost_to_follow_up_on.is_not(None),
        Founder.lost_to_follow_up_on <= window.day,
    )


def reemployment_members(codes: list[str], window: Window) -> Select:
    """Founders by their first passed skills course c ≤ D (in the period): whether an
    employment status was observed after c by D, and whether the latest such status is
    employed or self-employed (SPEC §1's re-employment after skills training)."""
    first_pass = (
        select(
            Enrollment.founder_id.label("founder_id"),
            Founder.region_code.label("region_code"),
            func.min(Enrollment.completed_on).label("completed_on"),
        )
        .join(Founder, Founder.id == Enrollment.founder_id)
        .join(Cohort, Cohort.id == Enrollment.cohort_id)
        .join(Course, Course.id == Cohort.course_id)
        .where(
            Founder.region_code.in_(codes),
            Course.kind == CourseKind.SKILL.value,
            Enrollment.result == TrainingResult.PASSED.value,
            Enrollment.completed_on <= window.day,
        )
        .group_by(Enrollment.founder_id, Founder.region_code)
        .subquery("skills_pass")
    )
    c = first_pass.c.completed_on
    latest = (
        select(EmploymentObservation.employment)
        .where(
            EmploymentObservation.founder_id == first_pass.c.founder_id,
            EmploymentObservation.observed_on >= c,
            EmploymentObservation.observed_on <= window.day,
        )
        .order_by(EmploymentObservation.observed_on.desc(), EmploymentObservation.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    working = (Employment.EMPLOYED.value, Employment.SELF_EMPLOYED.value)
    return (
        select(
            first_pass.c.founder_id,
            first_pass.c.region_code,
            c.label("entry_on"),
            literal(1).label("trained"),
            flag(latest.is_not(None)).label("observed"),
            flag(latest.in_(working)).label("employed"),
        )
        .select_from(first_pass)
        .where(window.in_period(c))
    )
