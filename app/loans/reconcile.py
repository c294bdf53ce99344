"""Reconciliation: does every loan's stored servicing state match its postings? (issue 9)

A read-only check, set-based: five statements whatever the number of loans (one per level
— repayments, installments, loans with their fund entries — and one count), never a loop
over loans. Every expected value is derived from the postings — the repayment entries,
the allocations of the live payments, the schedule, the loan's terms, the fund entries —
and each stored column is compared in exactly one check, so a single wrong value is
reported once, under the check that owns it (a wrong allocation is itself a posting, so
everything derived from it differs too).

The rules are those of D33 (docs/decisions.md) and `loans.allocation`/`loans.servicing`:

- a live payment (not reversed) is allocated in full: the replay refuses any excess, so
  the model has no unallocated part; reversed payments and reversal entries carry no
  allocations (they are rebuilt without them); a reversal undoes exactly one payment of
  its own loan, for the opposite amount;
- an installment's paid principal and interest are the sums of the live allocations to
  it, never more than it owes (its borrower interest, or its full interest once the
  subsidy is lost); it is paid off on the day of the last payment that reached it (its due
  day when it owes nothing) exactly when it is fully paid; its status is SPEC §9's as of
  the loan's last sweep; it lost its subsidy (loans whose terms say so) when it was not
  fully paid by the end of its due day and a later sweep or payment showed it;
- a disbursed loan's schedule has `term_months` installments whose principal adds up to
  the amount; its outstanding principal is the amount less the principal allocated, in
  every status (compensation, recovery and write-off leave it as the last posting left
  it); it is `closed` exactly when every installment is paid, on the day of its last live
  payment; a loan never disbursed has no schedule, no repayments and nothing outstanding;
- fund entries: one compensation for a compensated, recovered or written-off loan (none
  for any other) matching its compensated amount and day, recoveries adding up to its
  recovered amount and never more than the compensation, `recovered` exactly when all of
  it came back, every entry in the fund that backs the loan;
- nothing is dated after `as_of` (the day the check is made for), and no payment before
  the disbursement;
- a disbursed loan's founder is a borrower since the first disbursement of any of their
  loans (`founder.borrower_since`, D52).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    exists,
    false,
    func,
    not_,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.engine import Row
from sqlalchemy.orm import aliased

from app.core.db import Money
from app.core.sql import as_date
from app.extensions import db
from app.founders.models import Founder
from app.loans.borrowers import first_disbursements
from app.loans.models import (
    Allocation,
    EntryKind,
    FundEntry,
    FundEntryKind,
    InstallmentStatus,
    Loan,
    LoanInstallment,
    LoanStatus,
    Repayment,
)

PAYMENT = EntryKind.PAYMENT.value
REVERSAL = EntryKind.REVERSAL.value
COMPENSATION = FundEntryKind.COMPENSATION.value
RECOVERY = FundEntryKind.RECOVERY.value
CLOSED = LoanStatus.CLOSED.value
RECOVERED = LoanStatus.RECOVERED.value
# A loan in these states has been compensated by the fund (once).
COMPENSATED_STATUSES = (
    LoanStatus.COMPENSATED.value,
    LoanStatus.RECOVERED.value,
    LoanStatus.WRITTEN_OFF.value,
)

ALL_LOANS = "loans"
DISBURSED_LOANS = "disbursed"

# Every check, in report order: (name, the loans it covers, what it holds).
CHECKS: tuple[tuple[str, str, str], ...] = (
    ("payment_allocated", DISBURSED_LOANS, "a live payment is allocated in full"),
    ("reversed_unallocated", DISBURSED_LOANS, "reversed payments and reversals hold nothing"),
    ("allocation_target", DISBURSED_LOANS, "allocations go to the payment's own loan"),
    ("reversal_entry", DISBURSED_LOANS, "a reversal undoes one payment of its loan exactly"),
    ("repayment_date", ALL_LOANS, "entries dated from disbursement to as_of"),
    ("installment_paid", DISBURSED_LOANS, "paid amounts = the live allocations"),
    ("installment_over_allocated", DISBURSED_LOANS, "allocations within what is owed"),
    ("installment_paid_off", DISBURSED_LOANS, "paid_off_on set iff fully paid, on its day"),
    ("installment_status", DISBURSED_LOANS, "status as of the last sweep"),
    ("installment_subsidy", DISBURSED_LOANS, "subsidy lost iff not paid by the due day"),
    ("schedule", ALL_LOANS, "term_months installments whose principal = amount"),
    ("outstanding_principal", ALL_LOANS, "amount − principal allocated"),
    ("loan_closed", DISBURSED_LOANS, "closed iff every installment is paid"),
    ("compensation", ALL_LOANS, "compensated amount, day and status = the fund's entry"),
    ("recovery", ALL_LOANS, "recovered amount = entries, within compensation"),
    ("fund_entry", ALL_LOANS, "entries in the loan's fund, dated by as_of"),
    ("borrower_since", DISBURSED_LOANS, "the founder's borrower_since = first disbursement"),
)


@dataclass(frozen=True)
class Difference:
    """A stored value that is not what the postings imply."""

    loan_id: int
    check: str
    subject: str  # what differs: "payment 12 allocated", "installment 3 paid_principal"
    expected: Any
    found: Any


@dataclass(frozen=True)
class CheckSummary:
    """How many loans a check covered and how many differences it found."""

    check: str
    description: str
    loans_checked: int
    differences: int


@dataclass(frozen=True)
class Reconciliation:
    """The whole result: a summary per check and every difference, by loan."""

    as_of: date
    region_codes: tuple[str, ...] | None
    summaries: list[CheckSummary]
    differences: list[Difference]

    @property
    def is_clean(self) -> bool:
        """Every loan reconciles."""
        return not self.differences


@dataclass(frozen=True)
class _Rule:
    """One comparison of a statement: `differs` in SQL, the values shown from the row."""

    check: str
    field: str
    differs: ColumnElement[bool]
    expected: Callable[[Row[Any]], Any]
    found: Callable[[Row[Any]], Any]


LoanScope = Callable[[Any], ColumnElement[bool]]


def _scope(region_codes: tuple[str, ...] | None) -> LoanScope:
    """A condition on a loan id column: the loan is one of the regions' (or any loan)."""
    if region_codes is None:
        return lambda _loan_id: true()
    loans = select(Loan.id).where(Loan.region_code.in_(region_codes))
    return lambda loan_id: loan_id.in_(loans)


def _is_live(payment: Any) -> ColumnElement[bool]:
    """A payment no reversal undoes (NOT EXISTS: PostgreSQL plans it as an anti-join with
    sound estimates, where an outer join filtered on NULL was guessed at one row)."""
    undo = aliased(Repayment)
    return and_(
        payment.kind == PAYMENT,
        ~exists(select(undo.id).where(undo.reverses_id == payment.id)),
    )


def _live_allocations(scope: LoanScope) -> Any:
    """Per installment: principal and interest of the live allocations, last payment day."""
    return (
        select(
            Allocation.installment_id.label("installment_id"),
            func.sum(Allocation.principal).label("principal"),
            func.sum(Allocation.interest).label("interest"),
            func.max(Repayment.paid_on).label("last_paid_on"),
        )
        .join(Repayment, Repayment.id == Allocation.repayment_id)
        .where(_is_live(Repayment), scope(Repayment.loan_id))
        .group_by(Allocation.installment_id)
        .subquery("live_allocation")
    )


def _last_live_payments(scope: LoanScope) -> Any:
    """Per loan: the day of its latest live payment."""
    return (
        select(
            Repayment.loan_id.label("loan_id"),
            func.max(Repayment.paid_on).label("paid_on"),
        )
        .where(_is_live(Repayment), scope(Repayment.loan_id))
        .group_by(Repayment.loan_id)
        .subquery("last_live_payment")
    )


@dataclass(frozen=True)
class _Derived:
    """An installment as its live allocations make it."""

    principal: ColumnElement[Any]
    interest: ColumnElement[Any]
    interest_owed: ColumnElement[Any]
    is_fully_paid: ColumnElement[bool]
    paid_off_on: ColumnElement[Any]


def _derived(allocated: Any) -> _Derived:
    """What the allocations say of the installment they are joined to."""
    principal = func.coalesce(allocated.c.principal, 0)
    interest = func.coalesce(allocated.c.interest, 0)
    interest_owed = case(
        (LoanInstallment.subsidy_lost.is_(True), LoanInstallment.interest),
        else_=LoanInstallment.borrower_interest,
    )
    is_fully_paid = and_(principal == LoanInstallment.principal, interest == interest_owed)
    # The payment that completes an installment is the last to reach it; one that owes
    # nothing counts as paid on its due day.
    paid_off_on = case(
        (is_fully_paid, func.coalesce(allocated.c.last_paid_on, LoanInstallment.due_on)),
        else_=None,
    )
    return _Derived(principal, interest, interest_owed, is_fully_paid, paid_off_on)


def _differences(
    stmt: Select[Any],
    rules: list[_Rule],
    subject: Callable[[Row[Any]], str],
) -> list[Difference]:
    """Run `stmt` for the rows where any rule differs, and name each difference."""
    flags = [case((rule.differs, 1), else_=0).label(f"differs_{i}") for i, rule in enumerate(rules)]
    rows = db.session.execute(
        stmt.add_columns(*flags).where(or_(*(rule.differs for rule in rules)))
    ).all()
    found = []
    for row in rows:
        for i, rule in enumerate(rules):
            if row._mapping[f"differs_{i}"]:
                found.append(
                    Difference(
                        loan_id=row.loan_id,
                        check=rule.check,
                        subject=f"{subject(row)} {rule.field}".strip(),
                        expected=rule.expected(row),
                        found=rule.found(row),
                    )
                )
    return found


def repayment_differences(scope: LoanScope, as_of: date) -> list[Difference]:
    """Repayment entries against their allocations, their reversals and their dates."""
    undone = aliased(Repayment)
    allocated = (
        select(
            Allocation.repayment_id.label("repayment_id"),
            _yuan(func.sum(Allocation.principal + Allocation.interest)).label("amount"),
            func.sum(case((LoanInstallment.loan_id != Repayment.loan_id, 1), else_=0)).label(
                "elsewhere"
            ),
        )
        .join(Repayment, Repayment.id == Allocation.repayment_id)
        .join(LoanInstallment, LoanInstallment.id == Allocation.installment_id)
        .where(scope(Repayment.loan_id))
        .group_by(Allocation.repayment_id)
        .subquery("allocated")
    )
    allocated_amount = func.coalesce(allocated.c.amount, 0)
    is_live = _is_live(Repayment)
    is_payment = Repayment.kind == PAYMENT
    is_reversal = Repayment.kind == REVERSAL
    day = as_date(as_of)
    stmt = (
        select(
            Repayment.loan_id,
            Repayment.id,
            Repayment.kind,
            Repayment.amount,
            Repayment.paid_on,
            Repayment.reverses_id,
            Loan.disbursed_on,
            allocated.c.amount.label("allocated"),
            allocated.c.elsewhere,
            undone.amount.label("undone_amount"),
            undone.loan_id.label("undone_loan_id"),
            undone.kind.label("undone_kind"),
            undone.paid_on.label("undone_paid_on"),
        )
        .join(Loan, Loan.id == Repayment.loan_id)
        .outerjoin(undone, undone.id == Repayment.reverses_id)
        .outerjoin(allocated, allocated.c.repayment_id == Repayment.id)
        .where(scope(Repayment.loan_id))
    )
    misdated_payment = and_(
        is_payment,
        or_(
            Loan.disbursed_on.is_(None),
            Repayment.paid_on < Loan.disbursed_on,
            Repayment.paid_on > day,
        ),
    )
    misdated_reversal = and_(
        is_reversal,
        or_(Repayment.paid_on > day, Repayment.paid_on < func.coalesce(undone.paid_on, day)),
    )
    rules = [
        _Rule(
            "payment_allocated",
            "allocated",
            and_(is_live, allocated_amount != Repayment.amount),
            lambda r: r.amount,
            lambda r: _money(r.allocated),
        ),
        _Rule(
            "reversed_unallocated",
            "allocated",
            and_(not_(is_live), allocated.c.amount.is_not(None)),
            lambda r: _money(None),
            lambda r: r.allocated,
        ),
        _Rule(
            "allocation_target",
            "allocations to other loans' installments",
            func.coalesce(allocated.c.elsewhere, 0) > 0,
            lambda r: 0,
            lambda r: r.elsewhere,
        ),
        _Rule(
            "reversal_entry",
            "reverses",
            and_(
                is_reversal,
                or_(
                    undone.id.is_(None),
                    undone.kind != PAYMENT,
                    undone.loan_id != Repayment.loan_id,
                    undone.amount + Repayment.amount != 0,
                ),
            ),
            lambda r: f"a payment of loan {r.loan_id} for {_money(-r.amount)}",
            lambda r: (
                "nothing"
                if r.undone_kind is None
                else f"a {r.undone_kind} of loan {r.undone_loan_id} for {r.undone_amount}"
            ),
        ),
        _Rule(
            "repayment_date",
            "paid_on",
            or_(misdated_payment, misdated_reversal),
            lambda r: _date_range(r.disbursed_on if r.kind == PAYMENT else r.undone_paid_on, as_of),
            lambda r: r.paid_on,
        ),
    ]
    return _differences(stmt, rules, lambda r: f"{r.kind} {r.id}")


def installment_differences(scope: LoanScope) -> list[Difference]:
    """Installments against the live allocations to them and the loan's last sweep."""
    allocated = _live_allocations(scope)
    last_payment = _last_live_payments(scope)
    derived = _derived(allocated)
    expected_status = case(
        (derived.is_fully_paid, InstallmentStatus.PAID.value),
        (
            and_(Loan.swept_on.is_not(None), LoanInstallment.due_on < Loan.swept_on),
            InstallmentStatus.OVERDUE.value,
        ),
        (derived.principal + derived.interest > 0, InstallmentStatus.PARTIAL.value),
        else_=InstallmentStatus.PENDING.value,
    )
    # Known to have passed unpaid: a sweep or a live payment dated after the due day found
    # it not fully paid (loans.allocation.replay).
    subsidy_lost = and_(
        Loan.subsidy_requires_on_time.is_(True),
        or_(
            and_(derived.is_fully_paid, derived.paid_off_on > LoanInstallment.due_on),
            and_(
                not_(derived.is_fully_paid),
                or_(
                    and_(Loan.swept_on.is_not(None), Loan.swept_on > LoanInstallment.due_on),
                    and_(
                        last_payment.c.paid_on.is_not(None),
                        last_payment.c.paid_on > LoanInstallment.due_on,
                    ),
                ),
            ),
        ),
    )
    stored_lost = LoanInstallment.subsidy_lost.is_(True)
    stmt = (
        select(
            LoanInstallment.loan_id,
            LoanInstallment.n,
            LoanInstallment.principal,
            LoanInstallment.paid_principal,
            LoanInstallment.paid_interest,
            LoanInstallment.paid_off_on,
            LoanInstallment.subsidy_lost,
            LoanInstallment.status,
            allocated.c.principal.label("allocated_principal"),
            allocated.c.interest.label("allocated_interest"),
            _yuan(derived.interest_owed).label("interest_owed"),
            derived.paid_off_on.label("expected_paid_off_on"),
            expected_status.label("expected_status"),
            case((subsidy_lost, true()), else_=false()).label("expected_subsidy_lost"),
        )
        .join(Loan, Loan.id == LoanInstallment.loan_id)
        .outerjoin(allocated, allocated.c.installment_id == LoanInstallment.id)
        .outerjoin(last_payment, last_payment.c.loan_id == LoanInstallment.loan_id)
        .where(scope(LoanInstallment.loan_id))
    )
    rules = [
        _Rule(
            "installment_paid",
            "paid_principal",
            LoanInstallment.paid_principal != derived.principal,
            lambda r: _money(r.allocated_principal),
            lambda r: r.paid_principal,
        ),
        _Rule(
            "installment_paid",
            "paid_interest",
            LoanInstallment.paid_interest != derived.interest,
            lambda r: _money(r.allocated_interest),
            lambda r: r.paid_interest,
        ),
        _Rule(
            "installment_over_allocated",
            "principal",
            derived.principal > LoanInstallment.principal,
            lambda r: f"at most {r.principal}",
            lambda r: r.allocated_principal,
        ),
        _Rule(
            "installment_over_allocated",
            "interest",
            derived.interest > derived.interest_owed,
            lambda r: f"at most {r.interest_owed}",
            lambda r: r.allocated_interest,
        ),
        _Rule(
            "installment_paid_off",
            "paid_off_on",
            LoanInstallment.paid_off_on.is_distinct_from(derived.paid_off_on),
            lambda r: r.expected_paid_off_on,
            lambda r: r.paid_off_on,
        ),
        _Rule(
            "installment_status",
            "status",
            LoanInstallment.status != expected_status,
            lambda r: r.expected_status,
            lambda r: r.status,
        ),
        _Rule(
            "installment_subsidy",
            "subsidy_lost",
            # The sweep leaves the flag alone where there is no subsidy to lose.
            and_(
                LoanInstallment.subsidy > 0,
                or_(and_(stored_lost, not_(subsidy_lost)), and_(not_(stored_lost), subsidy_lost)),
            ),
            lambda r: bool(r.expected_subsidy_lost),
            lambda r: bool(r.subsidy_lost),
        ),
    ]
    return _differences(stmt, rules, lambda r: f"installment {r.n}")


def loan_differences(scope: LoanScope, as_of: date) -> list[Difference]:
    """Loans against their schedule, their allocated principal and their fund entries."""
    allocated = _live_allocations(scope)
    derived = _derived(allocated)
    schedule = (
        select(
            LoanInstallment.loan_id.label("loan_id"),
            func.count().label("installments"),
            func.sum(LoanInstallment.principal).label("principal"),
            _yuan(func.sum(derived.principal)).label("allocated_principal"),
            func.sum(case((derived.is_fully_paid, 0), else_=1)).label("unpaid"),
        )
        .outerjoin(allocated, allocated.c.installment_id == LoanInstallment.id)
        .where(scope(LoanInstallment.loan_id))
        .group_by(LoanInstallment.loan_id)
        .subquery("schedule")
    )
    last_payment = _last_live_payments(scope)
    owner = aliased(Loan)
    is_compensation = FundEntry.kind == COMPENSATION
    is_recovery = FundEntry.kind == RECOVERY
    entries = (
        select(
            FundEntry.loan_id.label("loan_id"),
            _yuan(func.sum(case((is_compensation, FundEntry.amount), else_=0))).label(
                "compensation"
            ),
            func.sum(case((is_compensation, 1), else_=0)).label("compensations"),
            func.min(case((is_compensation, FundEntry.entry_on), else_=None)).label(
                "compensated_on"
            ),
            _yuan(func.sum(case((is_recovery, FundEntry.amount), else_=0))).label("recovered"),
            func.sum(
                case(
                    (
                        FundEntry.region_code.is_distinct_from(owner.fund_region_code),
                        1,
                    ),
                    else_=0,
                )
            ).label("other_fund"),
            func.max(FundEntry.entry_on).label("last_entry_on"),
            func.min(case((is_recovery, FundEntry.entry_on), else_=None)).label(
                "first_recovery_on"
            ),
        )
        .join(owner, owner.id == FundEntry.loan_id)
        .where(scope(FundEntry.loan_id))
        .group_by(FundEntry.loan_id)
        .subquery("entries")
    )
    is_disbursed = Loan.disbursed_on.is_not(None)
    installments = func.coalesce(schedule.c.installments, 0)
    principal_allocated = func.coalesce(schedule.c.allocated_principal, 0)
    is_paid_off = and_(installments > 0, func.coalesce(schedule.c.unpaid, 0) == 0)
    is_closed = Loan.status == CLOSED
    expected_closed_on = case((is_closed, last_payment.c.paid_on), else_=None)
    compensation = func.coalesce(entries.c.compensation, 0)  # negative: money paid out
    compensations = func.coalesce(entries.c.compensations, 0)
    recovered = func.coalesce(entries.c.recovered, 0)
    is_compensated = Loan.status.in_(COMPENSATED_STATUSES)
    is_fully_recovered = and_(compensations > 0, recovered + compensation == 0)
    day = as_date(as_of)
    stmt = (
        select(
            Loan.id.label("loan_id"),
            Loan.status,
            Loan.amount,
            Loan.term_months,
            Loan.disbursed_on,
            Loan.outstanding_principal,
            Loan.closed_on,
            Loan.compensated_amount,
            Loan.compensated_on,
            Loan.recovered_amount,
            Loan.fund_region_code,
            schedule.c.installments,
            schedule.c.principal.label("scheduled_principal"),
            schedule.c.allocated_principal,
            schedule.c.unpaid,
            last_payment.c.paid_on.label("last_paid_on"),
            entries.c.compensation,
            entries.c.compensations,
            entries.c.compensated_on.label("entry_compensated_on"),
            entries.c.recovered,
            entries.c.other_fund,
            entries.c.last_entry_on,
            entries.c.first_recovery_on,
        )
        .outerjoin(schedule, schedule.c.loan_id == Loan.id)
        .outerjoin(last_payment, last_payment.c.loan_id == Loan.id)
        .outerjoin(entries, entries.c.loan_id == Loan.id)
        .where(scope(Loan.id))
    )
    rules = [
        _Rule(
            "schedule",
            "installments",
            installments != case((is_disbursed, Loan.term_months), else_=0),
            lambda r: r.term_months if r.disbursed_on is not None else 0,
            lambda r: r.installments or 0,
        ),
        _Rule(
            "schedule",
            "principal",
            and_(is_disbursed, func.coalesce(schedule.c.principal, 0) != Loan.amount),
            lambda r: r.amount,
            lambda r: _money(r.scheduled_principal),
        ),
        _Rule(
            "outstanding_principal",
            "outstanding_principal",
            Loan.outstanding_principal
            != case((is_disbursed, Loan.amount - principal_allocated), else_=0),
            lambda r: r.amount - _money(r.allocated_principal) if r.disbursed_on else _money(None),
            lambda r: r.outstanding_principal,
        ),
        _Rule(
            "loan_closed",
            "status",
            and_(
                is_disbursed,
                or_(and_(is_closed, not_(is_paid_off)), and_(not_(is_closed), is_paid_off)),
            ),
            lambda r: "closed" if not r.unpaid else f"not closed ({r.unpaid} unpaid)",
            lambda r: r.status,
        ),
        _Rule(
            "loan_closed",
            "closed_on",
            Loan.closed_on.is_distinct_from(expected_closed_on),
            lambda r: r.last_paid_on if r.status == CLOSED else None,
            lambda r: r.closed_on,
        ),
        _Rule(
            "compensation",
            "compensated_amount",
            Loan.compensated_amount + compensation != 0,
            lambda r: -_money(r.compensation),
            lambda r: r.compensated_amount,
        ),
        _Rule(
            "compensation",
            "compensated_on",
            Loan.compensated_on.is_distinct_from(entries.c.compensated_on),
            lambda r: r.entry_compensated_on,
            lambda r: r.compensated_on,
        ),
        _Rule(
            "compensation",
            "status",
            or_(
                compensations > 1,
                and_(is_compensated, compensations == 0),
                and_(not_(is_compensated), compensations > 0),
            ),
            lambda r: _compensation_status(r.compensations or 0),
            lambda r: f"{r.status} ({r.compensations or 0} compensation entries)",
        ),
        _Rule(
            "recovery",
            "recovered_amount",
            Loan.recovered_amount != recovered,
            lambda r: _money(r.recovered),
            lambda r: r.recovered_amount,
        ),
        _Rule(
            "recovery",
            "recovered within compensation",
            recovered + compensation > 0,
            lambda r: f"at most {-_money(r.compensation)}",
            lambda r: r.recovered,
        ),
        _Rule(
            "recovery",
            "status",
            or_(
                and_(Loan.status == RECOVERED, not_(is_fully_recovered)),
                and_(Loan.status != RECOVERED, is_fully_recovered),
            ),
            lambda r: (
                RECOVERED
                if r.compensations and _money(r.recovered) + _money(r.compensation) == 0
                else "not recovered (compensation not all recovered)"
            ),
            lambda r: r.status,
        ),
        _Rule(
            "fund_entry",
            "fund",
            func.coalesce(entries.c.other_fund, 0) > 0,
            lambda r: f"every entry in fund {r.fund_region_code}",
            lambda r: f"{r.other_fund} in another fund",
        ),
        _Rule(
            "fund_entry",
            "last entry_on",
            entries.c.last_entry_on > day,
            lambda r: f"on or before {as_of.isoformat()}",
            lambda r: r.last_entry_on,
        ),
        _Rule(
            "fund_entry",
            "first recovery entry_on",
            entries.c.first_recovery_on < func.coalesce(entries.c.compensated_on, day),
            lambda r: f"on or after the compensation ({r.entry_compensated_on or 'none'})",
            lambda r: r.first_recovery_on,
        ),
    ]
    return _differences(stmt, rules, lambda r: "loan")


def _compensation_status(compensations: int) -> str:
    if compensations == 0:
        return "not compensated (no compensation entry)"
    if compensations == 1:
        return "compensated, recovered or written_off"
    return "one compensation entry"


def _yuan(amount: ColumnElement[Any]) -> ColumnElement[Any]:
    """Read an expression over Money columns as yuan (arithmetic loses the column type)."""
    return type_coerce(amount, Money)


def _money(value: Any) -> Any:
    """A SUM that found no rows is 0.00."""
    return value if value is not None else Decimal("0.00")


def _date_range(start: date | None, end: date) -> str:
    return f"{start.isoformat() if start else '?'} to {end.isoformat()}"


def borrower_differences(scope: LoanScope) -> list[Difference]:
    """Disbursed loans whose founder's `borrower_since` is not the first day any loan of
    theirs was paid out (D52)."""
    first = first_disbursements()
    rows = db.session.execute(
        select(Loan.id, first.c.first_paid_out_on, Founder.borrower_since)
        .join(Founder, Founder.id == Loan.founder_id)
        .join(first, first.c.founder_id == Loan.founder_id)
        .where(
            scope(Loan.id),
            Loan.disbursed_on.is_not(None),
            Founder.borrower_since.is_distinct_from(first.c.first_paid_out_on),
        )
    )
    return [
        Difference(loan_id, "borrower_since", "founder borrower_since", expected, found)
        for loan_id, expected, found in rows
    ]


def count_loans(scope: LoanScope) -> dict[str, int]:
    """The loans in scope, and those disbursed (the populations of the checks)."""
    row = db.session.execute(
        select(
            func.count(Loan.id),
            func.count(Loan.disbursed_on),
        ).where(scope(Loan.id))
    ).one()
    return {ALL_LOANS: row[0], DISBURSED_LOANS: row[1]}


def reconcile_loans(*, as_of: date, region_codes: Iterable[str] | None = None) -> Reconciliation:
    """Check every loan (of `region_codes`, or all) against its postings; see the module."""
    codes = tuple(sorted(region_codes)) if region_codes is not None else None
    scope = _scope(codes)
    populations = count_loans(scope)
    differences = [
        *repayment_differences(scope, as_of),
        *installment_differences(scope),
        *loan_differences(scope, as_of),
        *borrower_differences(scope),
    ]
    order = {name: i for i, (name, _population, _description) in enumerate(CHECKS)}
    differences.sort(key=lambda d: (d.loan_id, order[d.check], d.subject))
    summaries = [
        CheckSummary(
            check=name,
            description=description,
            loans_checked=populations[population],
            differences=sum(1 for d in differences if d.check == name),
        )
        for name, population, description in CHECKS
    ]
    return Reconciliation(
        as_of=as_of, region_codes=codes, summaries=summaries, differences=differences
    )


__all__ = [
    "CHECKS",
    "CheckSummary",
    "Difference",
    "Reconciliation",
    "reconcile_loans",
]
