"""The daily loan sweep (SPEC §9, §12): close of business for every serviced loan.

`sweep(as_of)` is a handful of set-based statements over all active and defaulted loans,
whatever their number — never a loop over loans:

1. installments due before `as_of` and not fully paid become `overdue` and, where the loan's
   terms say so, lose their subsidy;
2. each loan's days past due (as_of − the oldest such due date), bucket and `swept_on`;
3. active loans at `default_days` or more become `defaulted`, dated the day they crossed;
4. integrity events: `late_over_30` once per installment (dated the day it reached 31 days
   overdue), `defaulted` once per loan — the once-keys make repeats harmless.

Every date it writes is derived from the data, not from the day the job happened to run,
so running it twice for a date, or for skipped dates in order, gives the same rows. A run
for a date before a loan's last sweep leaves that loan alone.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from sqlalchemy import String, and_, case, cast, exists, func, insert, literal, or_, select, update

from app.core.audit import AuditEntry
from app.core.db import utcnow
from app.core.sql import add_days, as_date, days_between
from app.extensions import db
from app.founders.models import Founder
from app.integrity.models import EventKind, EventSource, IntegrityEvent
from app.integrity.points import points_for
from app.loans.lifecycle import LoanAction, next_status
from app.loans.models import (
    SERVICED_STATUSES,
    Bucket,
    InstallmentStatus,
    Loan,
    LoanInstallment,
    LoanStatus,
)
from app.loans.servicing import LATE_GRACE_DAYS

logger = logging.getLogger(__name__)

SERVICED = [status.value for status in SERVICED_STATUSES]


def sweep(as_of: date) -> dict[str, int]:
    """Run the close of business for `as_of`; returns counts for the job record."""
    day = as_date(as_of)
    in_sweep = and_(
        Loan.status.in_(SERVICED),
        Loan.disbursed_on.is_not(None),
        or_(Loan.swept_on.is_(None), Loan.swept_on <= as_of),
    )
    swept_loans = select(Loan.id).where(in_sweep)
    counts = {
        "installments_overdue": _mark_overdue(day, swept_loans),
        "subsidies_lost": _take_subsidies(day, in_sweep),
    }
    counts["loans_swept"] = _update_days_past_due(day, in_sweep, as_of)
    counts["defaulted"] = _default_loans(as_of)
    counts["late_over_30_events"] = _late_over_30_events(day)
    counts["defaulted_events"] = _defaulted_events()
    db.session.flush()
    logger.info("loan sweep for %s: %s", as_of, counts)
    return counts


def _unpaid_before(day: Any) -> Any:
    return and_(LoanInstallment.paid_off_on.is_(None), LoanInstallment.due_on < day)


def _mark_overdue(day: Any, swept_loans: Any) -> int:
    result = db.session.execute(
        update(LoanInstallment)
        .where(
            LoanInstallment.loan_id.in_(swept_loans),
            _unpaid_before(day),
            LoanInstallment.status != InstallmentStatus.OVERDUE,
        )
        .values(status=InstallmentStatus.OVERDUE)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def _take_subsidies(day: Any, in_sweep: Any) -> int:
    result = db.session.execute(
        update(LoanInstallment)
        .where(
            LoanInstallment.loan_id.in_(
                select(Loan.id).where(in_sweep, Loan.subsidy_requires_on_time.is_(True))
            ),
            _unpaid_before(day),
            LoanInstallment.subsidy_lost.is_(False),
            LoanInstallment.subsidy > 0,
        )
        .values(subsidy_lost=True)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def _update_days_past_due(day: Any, in_sweep: Any, as_of: date) -> int:
    """Days past due, bucket and swept_on of every loan in the sweep, in one UPDATE … FROM
    a grouped read of the installments (a per-loan subquery, run twice for the bucket in
    a second UPDATE, cost twice the statement at 100k founders)."""
    # Unpaid on the sweep's day: a catch-up run for a past day must not count payments
    # made after it, or a loan paid late would never have been past due (or defaulted).
    unpaid_that_day = and_(
        LoanInstallment.loan_id == Loan.id,
        or_(LoanInstallment.paid_off_on.is_(None), LoanInstallment.paid_off_on > day),
        LoanInstallment.due_on < day,
    )
    days = func.coalesce(days_between(day, func.min(LoanInstallment.due_on)), 0)
    past_due = (
        select(Loan.id.label("loan_id"), days.label("days"))
        .select_from(Loan)
        .outerjoin(LoanInstallment, unpaid_that_day)
        .where(in_sweep)
        .group_by(Loan.id)
        .subquery()
    )
    result = db.session.execute(
        update(Loan)
        .where(Loan.id == past_due.c.loan_id)
        .values(
            days_past_due=past_due.c.days,
            bucket=bucket_case(past_due.c.days),
            swept_on=as_of,
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def bucket_case(days: Any) -> Any:
    """SQL for `loans.allocation.bucket_for`."""
    return case(
        (days <= 0, Bucket.CURRENT.value),
        (days <= 30, Bucket.DAYS_1_30.value),
        (days <= 60, Bucket.DAYS_31_60.value),
        (days <= 90, Bucket.DAYS_61_90.value),
        else_=Bucket.DAYS_90_PLUS.value,
    )


def _default_loans(as_of: date) -> int:
    """Active loans at default_days past due move to `defaulted` (audited by the system)."""
    reaching = and_(
        Loan.status == LoanStatus.ACTIVE,
        Loan.swept_on == as_of,
        Loan.days_past_due >= Loan.default_days,
    )
    target = next_status(LoanStatus.ACTIVE, LoanAction.DEFAULT)
    db.session.execute(
        insert(AuditEntry).from_select(
            [
                "occurred_at",
                "actor_username",
                "action",
                "entity_type",
                "entity_id",
                "region_code",
                "before",
                "after",
            ],
            select(
                literal(utcnow(), AuditEntry.occurred_at.type),
                literal("system"),
                literal("loan.default"),
                literal(Loan.__tablename__),
                cast(Loan.id, String),
                Loan.region_code,
                literal({"status": LoanStatus.ACTIVE.value}, AuditEntry.before.type),
                literal({"status": target.value}, AuditEntry.after.type),
            ).where(reaching),
        )
    )
    result = db.session.execute(
        update(Loan)
        .where(reaching)
        .values(
            status=target.value,
            # The day days past due reached default_days, whichever day the sweep ran.
            defaulted_on=add_days(as_date(as_of), Loan.default_days - Loan.days_past_due),
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def _once_key(prefix: str, ident: Any, suffix: str) -> Any:
    return literal(prefix) + cast(ident, String) + literal(suffix)


def _late_over_30_events(day: Any) -> int:
    """One `late_over_30` per installment that reached 31 days overdue unpaid; shares its
    once-key with the repayment's paid_on_time / paid_late, so at most one of them exists."""
    key = _once_key("installment:", LoanInstallment.id, ":timeliness")
    reached_on = add_days(LoanInstallment.due_on, LATE_GRACE_DAYS + 1)
    rows = (
        select(
            Loan.founder_id,
            literal(EventKind.LATE_OVER_30.value),
            literal(points_for(EventKind.LATE_OVER_30)),
            reached_on,
            literal(EventSource.LOAN.value),
            # The same note the repayment's events carry: which loan, which installment.
            literal("loan ")
            + cast(Loan.id, String)
            + literal(" installment ")
            + cast(LoanInstallment.n, String),
            Loan.id,
            LoanInstallment.id,
            key,
            literal(utcnow(), IntegrityEvent.created_at.type),
        )
        .join(Loan, Loan.id == LoanInstallment.loan_id)
        .where(
            Loan.status.in_(SERVICED),
            LoanInstallment.due_on <= add_days(day, -(LATE_GRACE_DAYS + 1)),
            or_(
                LoanInstallment.paid_off_on.is_(None),
                LoanInstallment.paid_off_on > add_days(LoanInstallment.due_on, LATE_GRACE_DAYS),
            ),
            ~exists(select(IntegrityEvent.id).where(IntegrityEvent.once_key == key)),
        )
    )
    return _insert_events(rows)


def _defaulted_events() -> int:
    key = _once_key("loan:", Loan.id, ":defaulted")
    rows = select(
        Loan.founder_id,
        literal(EventKind.DEFAULTED.value),
        literal(points_for(EventKind.DEFAULTED)),
        Loan.defaulted_on,
        literal(EventSource.LOAN.value),
        literal("loan ") + cast(Loan.id, String),
        Loan.id,
        literal(None),
        key,
        literal(utcnow(), IntegrityEvent.created_at.type),
    ).where(
        Loan.defaulted_on.is_not(None),
        ~exists(select(IntegrityEvent.id).where(IntegrityEvent.once_key == key)),
    )
    return _insert_events(rows)


def _insert_events(rows: Any) -> int:
    # Counted through RETURNING: drivers report no rowcount for INSERT … SELECT.
    result = db.session.execute(
        insert(IntegrityEvent)
        .from_select(
            [
                "founder_id",
                "kind",
                "points",
                "occurred_on",
                "source",
                "note",
                "loan_id",
                "installment_id",
                "once_key",
                "created_at",
            ],
            rows,
        )
        .returning(IntegrityEvent.id)
    )
    ids = [row.id for row in result.all()]
    _audit_events(ids)
    return len(ids)


def _audit_events(event_ids: list[int]) -> None:
    """One `integrity.event` audit entry per event the sweep made, by "system" (in chunks,
    to stay under the engines' limits on bound parameters)."""
    for start in range(0, len(event_ids), 5000):
        chunk = event_ids[start : start + 5000]
        db.session.execute(
            insert(AuditEntry).from_select(
                [
                    "occurred_at",
                    "actor_username",
                    "action",
                    "entity_type",
                    "entity_id",
                    "region_code",
                ],
                select(
                    literal(utcnow(), AuditEntry.occurred_at.type),
                    literal("system"),
                    literal("integrity.event"),
                    literal(IntegrityEvent.__tablename__),
                    cast(IntegrityEvent.id, String),
                    Founder.region_code,
                )
                .join(Founder, Founder.id == IntegrityEvent.founder_id)
                .where(IntegrityEvent.id.in_(chunk)),
            )
        )
