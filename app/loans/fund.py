"""Guarantee funds: balances, leverage, suspension, compensation, recovery, write-off.

Rules decided here (D33 in docs/decisions.md):

- A region has its own fund once it has a ledger entry; a city without one uses its
  province's fund (SPEC §9). A loan remembers the fund that backed it at disbursement.
- Balance = the sum of the fund's entries (deposits and recoveries +, withdrawals and
  compensations −). Guaranteed outstanding = outstanding principal of the active and
  defaulted loans it backs. Leverage used = guaranteed outstanding / balance, to compare
  with the policy's `leverage`; a disbursement that would take the guaranteed outstanding
  above leverage × balance is refused (409), and so is an application.
- The fund's compensation rate (compensated / disbursed over the loans it backs) above the
  policy's `suspend_compensation_rate` suspends new loans in the regions it serves (409).
- Compensation: only a defaulted loan, at most guarantee_ratio × (outstanding principal +
  the borrower interest owed on installments already due), never more than the balance.
  Recoveries (from the borrower or a named guarantor, with a reference used once per
  loan) never exceed what was compensated; the last one makes the loan `recovered`.
  A write-off ends a compensated loan with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import case, exists, func, select

from app.core.audit import record_audit, snapshot
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.core.permissions import Role
from app.extensions import db
from app.followups import hooks as followup_hooks
from app.integrity.models import EventKind, EventSource
from app.integrity.operations import record_event
from app.loans.lifecycle import LoanAction, move, status_label
from app.loans.models import (
    SERVICED_STATUSES,
    FundEntry,
    FundEntryKind,
    Guarantor,
    Loan,
    LoanInstallment,
    LoanStatus,
    RecoverySource,
)
from app.loans.policies import get_effective_policy
from app.loans.rules import MAX_NOTE, MAX_REFERENCE, clean_amount, clean_text
from app.regions.models import Region
from app.regions.queries import get_region

ZERO = Decimal("0.00")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class FundSummary:
    """A fund's figures for its page and `GET /funds/{region_code}`."""

    region_code: str
    has_own_fund: bool
    balance: Decimal
    guaranteed_outstanding: Decimal
    leverage: Decimal
    capacity: Decimal  # leverage × balance
    compensated: Decimal
    recovered: Decimal
    disbursed: Decimal
    suspend_compensation_rate: Decimal

    @property
    def leverage_used(self) -> Decimal | None:
        """Guaranteed outstanding as a multiple of the balance (None without a balance)."""
        if self.balance <= 0:
            return None
        return (self.guaranteed_outstanding / self.balance).quantize(
            Decimal("0.0001"), rounding=ROUND_HALF_UP
        )

    @property
    def headroom(self) -> Decimal:
        """How much more principal the fund may guarantee."""
        return max(ZERO, self.capacity - self.guaranteed_outstanding)

    @property
    def compensation_rate(self) -> Decimal | None:
        """Compensated / disbursed over the loans the fund backs."""
        if self.disbursed <= 0:
            return None
        return (self.compensated / self.disbursed).quantize(
            Decimal("0.0001"), rounding=ROUND_HALF_UP
        )

    @property
    def is_suspended(self) -> bool:
        """New loans are refused while the compensation rate is above the policy's limit
        (compared exactly: 5.004 % is above 5 %, though it shows as 5.00 %)."""
        if self.disbursed <= 0:
            return False
        return self.compensated > self.disbursed * self.suspend_compensation_rate


def has_own_fund(region_code: str) -> bool:
    """Whether the region keeps a fund ledger of its own."""
    return bool(db.session.scalar(select(exists().where(FundEntry.region_code == region_code))))


def fund_region_for(region_code: str) -> str:
    """The region whose fund backs loans of `region_code`: its own, else its province's."""
    region = get_region(region_code)
    if region is None:
        raise NotFound(_("No such region."))
    if region.is_province or has_own_fund(region.code):
        return region.code
    return region.province_code


def get_fund_summary(region_code: str) -> FundSummary:
    """The fund's balance, guaranteed outstanding and loss figures (two aggregate queries)."""
    fund_code = fund_region_for(region_code)
    policy = get_effective_policy(fund_code)
    balance = _yuan(
        db.session.scalar(
            select(func.sum(FundEntry.amount)).where(FundEntry.region_code == fund_code)
        )
    )
    serviced = Loan.status.in_([status.value for status in SERVICED_STATUSES])
    row = db.session.execute(
        select(
            func.sum(case((serviced, Loan.outstanding_principal), else_=None)),
            func.sum(Loan.compensated_amount),
            func.sum(Loan.recovered_amount),
            func.sum(Loan.amount),
        ).where(Loan.fund_region_code == fund_code)
    ).one()
    outstanding, compensated, recovered, disbursed = (_yuan(value) for value in row)
    return FundSummary(
        region_code=fund_code,
        has_own_fund=fund_code == region_code or has_own_fund(region_code),
        balance=balance,
        guaranteed_outstanding=outstanding,
        leverage=policy.leverage,
        capacity=(balance * policy.leverage).quantize(CENT, rounding=ROUND_HALF_UP),
        compensated=compensated,
        recovered=recovered,
        disbursed=disbursed,
        suspend_compensation_rate=policy.suspend_compensation_rate,
    )


def _yuan(value: Decimal | None) -> Decimal:
    """A SUM over a Money column (already yuan), 0.00 when there were no rows."""
    return value if value is not None else ZERO


def check_region_open(region_code: str) -> None:
    """409 while the region's fund has compensated more than the policy allows."""
    summary = get_fund_summary(region_code)
    if summary.is_suspended:
        raise Conflict(
            _(
                "New loans are suspended here: the guarantee fund's compensation rate is "
                "%(rate)s%%, above the %(limit)s%% the policy allows.",
                rate=f"{summary.compensation_rate * 100:.2f}",
                limit=f"{summary.suspend_compensation_rate * 100:.2f}",
            )
        )


def lock_fund(region_code: str) -> str:
    """Hold the fund that backs `region_code` until the transaction ends, so two payouts or
    withdrawals cannot both pass a balance or leverage check (the fund's region row, FOR NO
    KEY UPDATE on PostgreSQL; SQLite writers hold the database lock already). Callers lock
    a loan first and its fund second, always in that order. Returns the fund's region."""
    fund_code = fund_region_for(region_code)
    db.session.execute(
        select(Region.code).where(Region.code == fund_code).with_for_update(key_share=True)
    )
    return fund_code


def check_leverage(region_code: str, amount: Decimal) -> str:
    """409 when guaranteeing `amount` more would exceed leverage × balance; returns the
    region of the fund that would back the loan. Locks the fund (see lock_fund)."""
    lock_fund(region_code)
    summary = get_fund_summary(region_code)
    if summary.guaranteed_outstanding + amount > summary.capacity:
        raise Conflict(
            _(
                "The guarantee fund can back %(headroom)s yuan more (balance %(balance)s × "
                "leverage %(leverage)s, %(outstanding)s already guaranteed); this loan needs "
                "%(amount)s.",
                headroom=f"{summary.headroom:,.2f}",
                balance=f"{summary.balance:,.2f}",
                leverage=summary.leverage,
                outstanding=f"{summary.guaranteed_outstanding:,.2f}",
                amount=f"{amount:,.2f}",
            )
        )
    return summary.region_code


def _entry_values(values: dict[str, Any], *, as_of: date, signed: bool) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    entry_on = values.get("date")
    if not isinstance(entry_on, date):
        errors["date"] = [_("Enter a date.")]
    elif entry_on > as_of:
        errors["date"] = [_("The date cannot be in the future.")]
    raw = values.get("amount")
    negative = False
    if signed and isinstance(raw, str) and raw.strip().startswith("-"):
        negative, raw = True, raw.strip()[1:]
    elif signed and isinstance(raw, Decimal) and raw < 0:
        negative, raw = True, -raw
    amount, problems = clean_amount(raw)
    if problems:
        errors["amount"] = problems
    reference, problems = clean_text(values.get("reference"), limit=MAX_REFERENCE, required=True)
    if problems:
        errors["reference"] = problems
    note, problems = clean_text(
        values.get("note") or values.get("reason"), limit=MAX_NOTE, required=False
    )
    if problems:
        errors["note"] = problems
    if errors:
        raise ValidationFailed(errors)
    assert amount is not None
    return {
        "entry_on": entry_on,
        "amount": -amount if negative else amount,
        "reference": reference,
        "note": note,
    }


def post_fund_entry(
    actor: Any, region_code: str, values: dict[str, Any], *, as_of: date
) -> FundEntry:
    """A deposit (+) or withdrawal (−) by the admin; a withdrawal cannot overdraw the fund."""
    if getattr(actor, "role", None) != Role.ADMIN:
        raise PermissionDenied(_("Only an administrator moves money in or out of a fund."))
    region = db.session.get(Region, region_code) if isinstance(region_code, str) else None
    if region is None:
        raise NotFound(_("No such region."))
    clean = _entry_values(values, as_of=as_of, signed=True)
    db.session.execute(
        select(Region.code).where(Region.code == region.code).with_for_update(key_share=True)
    )
    balance = get_fund_summary(region.code).balance if has_own_fund(region.code) else ZERO
    if db.session.scalar(
        select(FundEntry.id).where(
            FundEntry.region_code == region.code,
            FundEntry.reference == clean["reference"],
            FundEntry.kind.in_([FundEntryKind.DEPOSIT.value, FundEntryKind.WITHDRAWAL.value]),
        )
    ):
        raise Conflict(
            _("Reference %(ref)s was already recorded for this fund.", ref=clean["reference"])
        )
    if clean["amount"] < 0 and balance + clean["amount"] < 0:
        raise Conflict(
            _("The fund holds %(balance)s yuan; it cannot pay out more.", balance=f"{balance:,.2f}")
        )
    entry = FundEntry(
        region_code=region.code,
        kind=FundEntryKind.DEPOSIT if clean["amount"] > 0 else FundEntryKind.WITHDRAWAL,
        entry_on=clean["entry_on"],
        amount=clean["amount"],
        reference=clean["reference"],
        note=clean["note"],
        recorded_by_id=actor.id,
    )
    db.session.add(entry)
    db.session.flush()
    record_audit(actor, "fund.entry", entry, None, snapshot(entry), region_code=region.code)
    return entry


def compensation_limit(loan: Loan) -> Decimal:
    """guarantee_ratio × (outstanding principal + borrower interest owed on due installments)."""
    interest_due = ZERO
    for row in db.session.scalars(
        select(LoanInstallment).where(
            LoanInstallment.loan_id == loan.id,
            LoanInstallment.paid_off_on.is_(None),
            LoanInstallment.due_on < (loan.swept_on or loan.defaulted_on or date.max),
        )
    ):
        interest_due += row.interest_owed - row.paid_interest
    base = loan.outstanding_principal + interest_due
    return (base * loan.guarantee_ratio).quantize(CENT, rounding=ROUND_HALF_UP)


def _require_officer(actor: Any) -> None:
    if getattr(actor, "role", None) != Role.OFFICER:
        raise PermissionDenied(_("Only loan officers may do this."))


def compensate_loan(actor: Any, loan: Loan, values: dict[str, Any], *, as_of: date) -> FundEntry:
    """The fund pays the bank its share of a defaulted loan's loss (the caller holds the
    loan's row lock)."""
    _require_officer(actor)
    if "amount" not in values or values.get("amount") in (None, ""):
        values = values | {"amount": compensation_limit(loan)}
    clean = _entry_values(values, as_of=as_of, signed=False)
    before = snapshot(loan)
    move(loan, LoanAction.COMPENSATE)
    limit = compensation_limit(loan)
    if clean["amount"] > limit:
        raise ValidationFailed.single(
            "amount",
            _(
                "The fund covers at most %(limit)s yuan of this loan (%(ratio)s of what is owed).",
                limit=f"{limit:,.2f}",
                ratio=loan.guarantee_ratio,
            ),
        )
    if loan.defaulted_on is not None and clean["entry_on"] < loan.defaulted_on:
        raise ValidationFailed.single(
            "date",
            _(
                "The loan defaulted on %(day)s; compensation cannot be earlier.",
                day=loan.defaulted_on.isoformat(),
            ),
        )
    fund_code = loan.fund_region_code or fund_region_for(loan.region_code)
    db.session.execute(
        select(Region.code).where(Region.code == fund_code).with_for_update(key_share=True)
    )
    balance = get_fund_summary(fund_code).balance
    if clean["amount"] > balance:
        raise Conflict(
            _(
                "The fund holds %(balance)s yuan; it cannot pay %(amount)s.",
                balance=f"{balance:,.2f}",
                amount=f"{clean['amount']:,.2f}",
            )
        )
    entry = FundEntry(
        region_code=fund_code,
        kind=FundEntryKind.COMPENSATION,
        entry_on=clean["entry_on"],
        amount=-clean["amount"],
        reference=clean["reference"],
        loan_id=loan.id,
        note=clean["note"],
        recorded_by_id=actor.id,
    )
    db.session.add(entry)
    loan.compensated_amount = clean["amount"]
    loan.compensated_on = clean["entry_on"]
    db.session.flush()
    # Handed to the guarantee fund: no longer serviced, so no more usage visits.
    followup_hooks.subject_ended("loan", loan.id, ended_on=loan.compensated_on)
    record_event(
        loan.founder_id,
        EventKind.COMPENSATED,
        occurred_on=clean["entry_on"],
        source=EventSource.LOAN,
        note=f"loan {loan.id}",
        actor=actor,
        loan_id=loan.id,
        once_key=f"loan:{loan.id}:compensated",
    )
    record_audit(
        actor, "loan.compensate", loan, before, snapshot(loan), region_code=loan.region_code
    )
    return entry


def record_recovery(actor: Any, loan: Loan, values: dict[str, Any], *, as_of: date) -> FundEntry:
    """Money recovered from the borrower or a guarantor goes back into the fund."""
    _require_officer(actor)
    clean = _entry_values(values, as_of=as_of, signed=False)
    source = values.get("source") or RecoverySource.BORROWER
    errors: dict[str, list[str]] = {}
    if source not in {s.value for s in RecoverySource}:
        errors["source"] = [_("Choose the borrower or a guarantor.")]
    guarantor_id = values.get("guarantor_id")
    if source == RecoverySource.GUARANTOR:
        if not _is_guarantor_of(loan, guarantor_id):
            errors["guarantor_id"] = [_("Choose one of this loan's guarantors.")]
    else:
        guarantor_id = None
    if errors:
        raise ValidationFailed(errors)
    if loan.status != LoanStatus.COMPENSATED:
        raise Conflict(
            _(
                "Recoveries are recorded for compensated loans; this one is “%(status)s”.",
                status=status_label(loan.status),
            )
        )
    if db.session.scalar(
        select(FundEntry.id).where(
            FundEntry.loan_id == loan.id,
            FundEntry.kind == FundEntryKind.RECOVERY,
            FundEntry.reference == clean["reference"],
        )
    ):
        raise Conflict(
            _("Reference %(ref)s was already recorded for this loan.", ref=clean["reference"])
        )
    left = loan.compensated_amount - loan.recovered_amount
    if clean["amount"] > left:
        raise ValidationFailed.single(
            "amount",
            _("Only %(left)s yuan of the compensation is still to recover.", left=f"{left:,.2f}"),
        )
    if loan.compensated_on is not None and clean["entry_on"] < loan.compensated_on:
        raise ValidationFailed.single("date", _("A recovery cannot predate the compensation."))
    before = snapshot(loan)
    entry = FundEntry(
        region_code=loan.fund_region_code or fund_region_for(loan.region_code),
        kind=FundEntryKind.RECOVERY,
        entry_on=clean["entry_on"],
        amount=clean["amount"],
        reference=clean["reference"],
        loan_id=loan.id,
        recovery_source=source,
        guarantor_id=guarantor_id,
        note=clean["note"],
        recorded_by_id=actor.id,
    )
    db.session.add(entry)
    loan.recovered_amount = loan.recovered_amount + clean["amount"]
    if loan.recovered_amount == loan.compensated_amount:
        move(loan, LoanAction.RECOVER)
        loan.ended_on = clean["entry_on"]
        record_event(
            loan.founder_id,
            EventKind.RECOVERED_IN_FULL,
            occurred_on=clean["entry_on"],
            source=EventSource.LOAN,
            note=f"loan {loan.id}",
            actor=actor,
            loan_id=loan.id,
            once_key=f"loan:{loan.id}:recovered",
        )
    db.session.flush()
    record_audit(actor, "loan.recover", loan, before, snapshot(loan), region_code=loan.region_code)
    return entry


def _is_guarantor_of(loan: Loan, guarantor_id: Any) -> bool:
    if not isinstance(guarantor_id, int) or isinstance(guarantor_id, bool):
        return False
    return bool(
        db.session.scalar(
            select(Guarantor.id).where(Guarantor.id == guarantor_id, Guarantor.loan_id == loan.id)
        )
    )


def write_off_loan(actor: Any, loan: Loan, values: dict[str, Any], *, as_of: date) -> Loan:
    """Close what cannot be recovered of a compensated loan, with a reason."""
    _require_officer(actor)
    errors: dict[str, list[str]] = {}
    on = values.get("date")
    if not isinstance(on, date):
        errors["date"] = [_("Enter a date.")]
    elif on > as_of:
        errors["date"] = [_("The date cannot be in the future.")]
    elif loan.compensated_on is not None and on < loan.compensated_on:
        errors["date"] = [_("A write-off cannot predate the compensation.")]
    reason, problems = clean_text(values.get("reason"), limit=MAX_NOTE, required=True)
    if problems:
        errors["reason"] = [_("Give the reason for the write-off.")] if not reason else problems
    if errors:
        raise ValidationFailed(errors)
    before = snapshot(loan)
    move(loan, LoanAction.WRITE_OFF)
    loan.ended_on = on
    loan.write_off_reason = reason
    db.session.flush()
    record_audit(
        actor, "loan.write_off", loan, before, snapshot(loan), region_code=loan.region_code
    )
    return loan
