"""How a loan's payments are spread over its installments: a pure replay (SPEC §9).

The state of every installment is a function of the schedule, the live payments (not
reversed) and the date of the last daily sweep, never of the order in which postings were
typed in. Payments are replayed in date order (ties by entry id); each pays the oldest
installment not yet fully paid, its borrower interest first, then its principal.

Subsidy loss (policy flag `subsidy_requires_on_time`): an installment that is not fully
paid at the end of its due day loses its subsidy — the borrower then owes its full
interest — as soon as that day is known to have passed: a sweep dated after it, or a
payment dated after it. Counting the payment too keeps the allocation right when a late
payment is posted before the next sweep runs; the sweep's own rule (due before its date,
not fully paid) then marks the same installments, so either order gives the same result.

An installment that owes nothing (full subsidy on an interest-only month, or a zero rate)
counts as paid on its due day.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from app.loans.models import Bucket, InstallmentStatus

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class ScheduledInstallment:
    """What the schedule says an installment is (amounts as stored at disbursement)."""

    n: int
    due_on: date
    principal: Decimal
    interest: Decimal
    borrower_interest: Decimal


@dataclass(frozen=True)
class Payment:
    """A live payment: received on `paid_on`, not reversed."""

    entry_id: int
    paid_on: date
    amount: Decimal


@dataclass(frozen=True)
class Share:
    """The part of a payment that went to installment `n`."""

    entry_id: int
    n: int
    principal: Decimal
    interest: Decimal


@dataclass
class InstallmentState:
    """What the replay made of one installment."""

    n: int
    paid_principal: Decimal = ZERO
    paid_interest: Decimal = ZERO
    paid_off_on: date | None = None
    subsidy_lost: bool = False
    status: str = InstallmentStatus.PENDING


@dataclass
class ReplayResult:
    """Installment states, the allocation of every payment, and what could not be placed."""

    installments: list[InstallmentState]
    shares: list[Share] = field(default_factory=list)
    # Money beyond everything the borrower owes, and the first payment that carried it.
    excess: Decimal = ZERO
    excess_entry_id: int | None = None

    @property
    def principal_paid(self) -> Decimal:
        """Principal repaid across the schedule."""
        return sum((state.paid_principal for state in self.installments), ZERO)

    @property
    def is_fully_paid(self) -> bool:
        """Every installment fully paid: the loan can close."""
        return all(state.paid_off_on is not None for state in self.installments)


def interest_owed(due: ScheduledInstallment, state: InstallmentState) -> Decimal:
    """The borrower's interest on an installment: all of it once the subsidy is lost."""
    return due.interest if state.subsidy_lost else due.borrower_interest


def amount_left(due: ScheduledInstallment, state: InstallmentState) -> Decimal:
    """What the borrower still owes on an installment."""
    return due.principal + interest_owed(due, state) - state.paid_principal - state.paid_interest


def replay(
    schedule: Sequence[ScheduledInstallment],
    payments: Iterable[Payment],
    *,
    swept_on: date | None,
    subsidy_requires_on_time: bool,
) -> ReplayResult:
    """Allocate `payments` over `schedule` as the module docstring says."""
    states = [InstallmentState(n=due.n) for due in schedule]
    for due, state in zip(schedule, states, strict=True):
        if amount_left(due, state) == ZERO:
            state.paid_off_on = due.due_on
    result = ReplayResult(installments=states)
    settled = 0  # installments before this index have had their due day judged

    def settle_before(day: date) -> None:
        nonlocal settled
        while settled < len(schedule) and schedule[settled].due_on < day:
            state = states[settled]
            if subsidy_requires_on_time and state.paid_off_on is None:
                state.subsidy_lost = True
            settled += 1

    for payment in sorted(payments, key=lambda p: (p.paid_on, p.entry_id)):
        settle_before(payment.paid_on)
        remaining = payment.amount
        for due, state in zip(schedule, states, strict=True):
            if remaining == ZERO:
                break
            if state.paid_off_on is not None:
                continue
            to_interest = min(remaining, interest_owed(due, state) - state.paid_interest)
            remaining -= to_interest
            to_principal = min(remaining, due.principal - state.paid_principal)
            remaining -= to_principal
            if to_interest or to_principal:
                state.paid_interest += to_interest
                state.paid_principal += to_principal
                result.shares.append(
                    Share(payment.entry_id, due.n, principal=to_principal, interest=to_interest)
                )
            if amount_left(due, state) == ZERO:
                state.paid_off_on = payment.paid_on
        if remaining > ZERO:
            result.excess += remaining
            if result.excess_entry_id is None:
                result.excess_entry_id = payment.entry_id
    if swept_on is not None:
        settle_before(swept_on)
    for due, state in zip(schedule, states, strict=True):
        state.status = installment_status(due, state, swept_on=swept_on)
    return result


def installment_status(
    due: ScheduledInstallment, state: InstallmentState, *, swept_on: date | None
) -> str:
    """SPEC §9 status as of the last sweep: paid, overdue, partial or pending."""
    if state.paid_off_on is not None:
        return InstallmentStatus.PAID
    if swept_on is not None and due.due_on < swept_on:
        return InstallmentStatus.OVERDUE
    if state.paid_principal or state.paid_interest:
        return InstallmentStatus.PARTIAL
    return InstallmentStatus.PENDING


def days_past_due(
    schedule: Sequence[ScheduledInstallment],
    states: Sequence[InstallmentState],
    on: date | None,
) -> int:
    """D − due_on of the oldest installment not fully paid with due_on < D (0 if none)."""
    if on is None:
        return 0
    for due, state in zip(schedule, states, strict=True):
        if state.paid_off_on is None and due.due_on < on:
            return (on - due.due_on).days
    return 0


def bucket_for(days: int) -> str:
    """current, 1-30, 31-60, 61-90, 90+."""
    if days <= 0:
        return Bucket.CURRENT
    if days <= 30:
        return Bucket.DAYS_1_30
    if days <= 60:
        return Bucket.DAYS_31_60
    if days <= 90:
        return Bucket.DAYS_61_90
    return Bucket.DAYS_90_PLUS
