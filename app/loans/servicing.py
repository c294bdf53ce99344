"""Bringing a loan's stored state in line with its repayment entries.

`replay_loan` is the one writer of installment payment state, allocations, the loan's
outstanding principal and (between sweeps) its days past due. It runs the pure replay of
`loans.allocation` over the live payments and writes what changed; callers hold the loan's
row lock (`lock_loan`) so two postings to one loan are replayed one after the other.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import delete, exists, insert, select
from sqlalchemy.orm import aliased

from app.core.audit import record_audit
from app.extensions import db
from app.followups import hooks as followup_hooks
from app.integrity.models import EventKind, EventSource, IntegrityEvent
from app.integrity.operations import record_event
from app.loans.allocation import (
    Payment,
    ReplayResult,
    ScheduledInstallment,
    bucket_for,
    days_past_due,
    replay,
)
from app.loans.lifecycle import LoanAction, move
from app.loans.models import (
    Allocation,
    EntryKind,
    Loan,
    LoanInstallment,
    LoanStatus,
    Repayment,
)

LATE_GRACE_DAYS = 30  # paid 1..30 days late is `paid_late`; later is the sweep's late_over_30


def lock_loan(loan_id: int) -> Loan | None:
    """The loan, freshly read under its row lock (SELECT … FOR UPDATE on PostgreSQL; on
    SQLite the writer's transaction already holds the database write lock)."""
    return db.session.scalar(
        select(Loan)
        .where(Loan.id == loan_id)
        .with_for_update(of=Loan)
        .execution_options(populate_existing=True)
    )


def schedule_of(installments: list[LoanInstallment]) -> list[ScheduledInstallment]:
    """The stored schedule as the pure replay reads it."""
    return [
        ScheduledInstallment(
            n=row.n,
            due_on=row.due_on,
            principal=row.principal,
            interest=row.interest,
            borrower_interest=row.borrower_interest,
        )
        for row in installments
    ]


def live_payments(loan_id: int) -> list[Payment]:
    """The loan's payments that no reversal undoes."""
    reversal = aliased(Repayment)
    rows = db.session.execute(
        select(Repayment.id, Repayment.paid_on, Repayment.amount).where(
            Repayment.loan_id == loan_id,
            Repayment.kind == EntryKind.PAYMENT,
            ~exists(select(reversal.id).where(reversal.reverses_id == Repayment.id)),
        )
    ).all()
    return [Payment(entry_id=row.id, paid_on=row.paid_on, amount=row.amount) for row in rows]


def installments_of(loan_id: int) -> list[LoanInstallment]:
    """The loan's installments in order, freshly read."""
    return list(
        db.session.scalars(
            select(LoanInstallment)
            .where(LoanInstallment.loan_id == loan_id)
            .order_by(LoanInstallment.n)
            .execution_options(populate_existing=True)
        )
    )


def compute_replay(loan: Loan) -> tuple[list[LoanInstallment], ReplayResult]:
    """Replay the loan's live payments without writing anything."""
    installments = installments_of(loan.id)
    result = replay(
        schedule_of(installments),
        live_payments(loan.id),
        swept_on=loan.swept_on,
        subsidy_requires_on_time=loan.subsidy_requires_on_time,
    )
    return installments, result


def replay_loan(loan: Loan, *, actor: object | None = None) -> ReplayResult:
    """Recompute and store everything the loan's entries imply (see the module docstring).

    The caller checks `result.excess` before committing: money beyond what is owed must
    not be accepted, and raising then rolls this whole write back.
    """
    installments, result = compute_replay(loan)
    for row, state in zip(installments, result.installments, strict=True):
        row.paid_principal = state.paid_principal
        row.paid_interest = state.paid_interest
        row.paid_off_on = state.paid_off_on
        row.subsidy_lost = state.subsidy_lost
        row.status = state.status
    _rebuild_allocations(loan.id, installments, result)
    loan.outstanding_principal = loan.amount - result.principal_paid
    loan.days_past_due = days_past_due(
        schedule_of(installments), result.installments, loan.swept_on
    )
    loan.bucket = bucket_for(loan.days_past_due)
    if result.excess == 0:
        _record_timeliness(loan, installments, actor)
        _close_or_reopen(loan, installments, result, actor)
    db.session.flush()
    return result


def _rebuild_allocations(
    loan_id: int, installments: list[LoanInstallment], result: ReplayResult
) -> None:
    db.session.execute(
        delete(Allocation).where(
            Allocation.repayment_id.in_(select(Repayment.id).where(Repayment.loan_id == loan_id))
        )
    )
    ids_by_n = {row.n: row.id for row in installments}
    rows = [
        {
            "repayment_id": share.entry_id,
            "installment_id": ids_by_n[share.n],
            "principal": share.principal,
            "interest": share.interest,
        }
        for share in result.shares
    ]
    if rows:
        db.session.execute(insert(Allocation), rows)


def _owes_something(row: LoanInstallment) -> bool:
    return row.principal + row.borrower_interest > 0


def _record_timeliness(loan: Loan, installments: list[LoanInstallment], actor: object) -> None:
    """paid_on_time or paid_late, once per installment (the key is shared with the sweep's
    late_over_30, so an installment never gets two lateness events)."""
    done = set(
        db.session.scalars(
            select(IntegrityEvent.installment_id).where(
                IntegrityEvent.loan_id == loan.id, IntegrityEvent.installment_id.is_not(None)
            )
        )
    )
    for row in installments:
        if row.paid_off_on is None or not _owes_something(row) or row.id in done:
            continue
        days_late = (row.paid_off_on - row.due_on).days
        if days_late > LATE_GRACE_DAYS:
            continue
        kind = EventKind.PAID_ON_TIME if days_late <= 0 else EventKind.PAID_LATE
        record_event(
            loan.founder_id,
            kind,
            occurred_on=row.paid_off_on,
            source=EventSource.REPAYMENT,
            note=f"loan {loan.id} installment {row.n}",
            actor=actor,
            loan_id=loan.id,
            installment_id=row.id,
            once_key=timeliness_key(row.id),
        )


def timeliness_key(installment_id: int) -> str:
    """The once-key of an installment's single timeliness event."""
    return f"installment:{installment_id}:timeliness"


def _close_or_reopen(
    loan: Loan, installments: list[LoanInstallment], result: ReplayResult, actor: object
) -> None:
    status = LoanStatus(loan.status)
    if result.is_fully_paid and status in (LoanStatus.ACTIVE, LoanStatus.DEFAULTED):
        before = _status_snapshot(loan)
        move(loan, LoanAction.CLOSE)
        loan.closed_on = _last_payment_on(loan.id)
        loan.days_past_due, loan.bucket = 0, bucket_for(0)
        record_audit(actor, "loan.close", loan, before, _status_snapshot(loan))
        if loan.closed_on is not None:
            followup_hooks.subject_ended("loan", loan.id, ended_on=loan.closed_on)
        if all(
            row.paid_off_on is not None and row.paid_off_on <= row.due_on
            for row in installments
            if _owes_something(row)
        ):
            record_event(
                loan.founder_id,
                EventKind.LOAN_CLOSED_CLEAN,
                occurred_on=loan.closed_on,
                source=EventSource.REPAYMENT,
                note=f"loan {loan.id}",
                actor=actor,
                loan_id=loan.id,
                once_key=f"loan:{loan.id}:closed_clean",
            )
    elif not result.is_fully_paid and status is LoanStatus.CLOSED:
        before = _status_snapshot(loan)
        # A loan that had defaulted goes back to defaulted: a reversal never cures a default.
        move(loan, LoanAction.REOPEN_DEFAULTED if loan.defaulted_on else LoanAction.REOPEN)
        loan.closed_on = None
        record_audit(actor, "loan.reopen", loan, before, _status_snapshot(loan))


def _status_snapshot(loan: Loan) -> dict[str, object]:
    return {"status": loan.status, "closed_on": loan.closed_on}


def _last_payment_on(loan_id: int) -> date | None:
    dates = [payment.paid_on for payment in live_payments(loan_id)]
    return max(dates) if dates else None


def amount_left_on(installments: list[LoanInstallment]) -> Decimal:
    """What the borrower still owes on the whole schedule, as stored."""
    return sum((row.amount_left for row in installments), Decimal("0.00"))
