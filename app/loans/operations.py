"""Loans: applying, the four-eyes review, disbursement, repayments and reversals (SPEC §9).

Rules decided here (D33 in docs/decisions.md):

- Officers apply on a founder's behalf for founders of their area. The application checks,
  each with its own message: the amount and term within the region's policy, passed
  entrepreneurship training (when the policy requires it), integrity grade A or B, no
  other live loan (409), the region not suspended (409) and room under the guarantee
  fund's leverage (409). The loan keeps the policy's terms it was granted on.
- Review by one officer, approval by a different one (403 otherwise); either may reject
  with a reason. The loan row is locked for every move, so two officers acting at once
  make one transition and the other gets 409.
- Disbursement (dated between approval and today, with the bank's unique reference)
  re-checks suspension and leverage, then stores the schedule.
- Payments: idempotent by (loan, reference) — the same amount answers the first posting,
  another amount is 409 — posted under the loan's row lock, replayed in date order
  (`loans.servicing`), refused (422) when they would pay more than is owed. A reversal
  is a new entry; the loan replays without the reversed payment and reopens if it had
  closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from app.businesses.models import Business, BusinessStatus
from app.core.audit import record_audit, snapshot
from app.core.db import MAX_ID
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.core.permissions import Role, scoped
from app.extensions import db
from app.founders.models import Founder, mask_id_number
from app.integrity.queries import get_integrity_standing
from app.loans import fund
from app.loans.borrowers import mark_borrower
from app.loans.lifecycle import LoanAction, move, status_label
from app.loans.models import (
    LIVE_STATUSES,
    EntryKind,
    EntrySource,
    Guarantor,
    Loan,
    LoanInstallment,
    LoanStatus,
    Repayment,
)
from app.loans.policies import get_effective_policy
from app.loans.rules import (
    MAX_NOTE,
    MAX_PURPOSE,
    MAX_REFERENCE,
    clean_amount,
    clean_guarantors,
    clean_method,
    clean_term,
    clean_text,
)
from app.loans.schedule import build_schedule
from app.loans.servicing import (
    amount_left_on,
    lock_loan,
    replay_loan,
)
from app.training.queries import training_status_clause

OFFICER_ROLES = frozenset({Role.OFFICER})
GOOD_GRADES = frozenset({"A", "B"})
LOAN_AUDIT_EXCLUDE = frozenset({"updated_at", "created_at"})


def require_officer(actor: Any) -> None:
    """Loan work is the guarantee officers' (SPEC §4); admins read but do not lend."""
    if getattr(actor, "role", None) not in OFFICER_ROLES:
        raise PermissionDenied(_("Only loan officers may do this."))


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def _founder_in_scope(actor: Any, founder_id: Any) -> Founder | None:
    if not _is_id(founder_id):
        return None
    return db.session.scalar(
        scoped(
            select(Founder).where(Founder.id == founder_id),
            actor,
            region_column=Founder.region_code,
        )
    )


def has_passed_training(founder_id: int) -> bool:
    """Whether the founder passed an entrepreneurship course (SPEC §6)."""
    return bool(
        db.session.scalar(
            select(Founder.id).where(
                Founder.id == founder_id, training_status_clause("passed", Founder.id)
            )
        )
    )


def live_loan_of(founder_id: int) -> Loan | None:
    """The founder's loan between application and its end, if any."""
    return db.session.scalar(
        select(Loan).where(Loan.founder_id == founder_id, Loan.status.in_(LIVE_STATUSES))
    )


def _is_open_business_of(founder: Founder, business_id: Any) -> bool:
    return _is_id(business_id) and bool(
        db.session.scalar(
            select(Business.id).where(
                Business.id == business_id,
                Business.founder_id == founder.id,
                Business.status != BusinessStatus.CLOSED,
            )
        )
    )


@dataclass(frozen=True)
class Application:
    """A checked application, ready to be stored."""

    founder: Founder
    business_id: int | None
    amount: Decimal
    term_months: int
    repayment_method: str
    purpose: str
    guarantors: list[Any]


def check_application(actor: Any, values: dict[str, Any], *, as_of: date) -> Application:
    """Every field rule at once (422), then the standing rules one by one (409)."""
    errors: dict[str, list[str]] = {}
    founder = _founder_in_scope(actor, values.get("founder_id"))
    if founder is None:
        errors["founder_id"] = [_("Choose a founder in your area.")]
    policy = get_effective_policy(founder.region_code) if founder is not None else None
    amount, problems = clean_amount(values.get("amount"))
    if problems:
        errors["amount"] = problems
    elif policy is not None and amount is not None and amount > policy.max_amount:
        errors["amount"] = [
            _(
                "The most this region lends is %(amount)s yuan.",
                amount=f"{policy.max_amount:,.2f}",
            )
        ]
    term, problems = clean_term(
        values.get("term_months"),
        max_term_months=policy.max_term_months if policy is not None else 360,
    )
    if problems:
        errors["term_months"] = problems
    method, problems = clean_method(values.get("repayment_method"))
    if problems:
        errors["repayment_method"] = problems
    purpose, problems = clean_text(values.get("purpose"), limit=MAX_PURPOSE, required=True)
    if problems:
        errors["purpose"] = problems
    business_id = values.get("business_id")
    if (
        business_id is not None
        and founder is not None
        and not _is_open_business_of(founder, business_id)
    ):
        errors["business_id"] = [_("Choose one of this founder's open businesses.")]
    guarantors, problems_by_field = clean_guarantors(
        values.get("guarantors"),
        founder_id_number=founder.id_number if founder is not None else None,
        as_of=as_of,
    )
    errors.update(problems_by_field)
    if founder is not None and "founder_id" not in errors:
        errors.update(_founder_standing_errors(founder, policy))
    if errors:
        raise ValidationFailed(errors)
    assert founder is not None
    assert amount is not None
    assert term is not None
    assert method is not None
    _check_no_live_loan(founder)
    fund.check_region_open(founder.region_code)
    fund.check_leverage(founder.region_code, amount)
    return Application(founder, business_id, amount, term, method, purpose, guarantors)


def _founder_standing_errors(founder: Founder, policy: Any) -> dict[str, list[str]]:
    messages = []
    if policy.require_training and not has_passed_training(founder.id):
        messages.append(
            _(
                "%(name)s has not passed entrepreneurship training, which this region requires.",
                name=founder.name,
            )
        )
    standing = get_integrity_standing(founder.id)
    if standing.grade not in GOOD_GRADES:
        messages.append(
            _(
                "%(name)s's integrity grade is %(grade)s (score %(score)s); loans need A or B.",
                name=founder.name,
                grade=standing.grade,
                score=standing.score,
            )
        )
    return {"founder_id": messages} if messages else {}


def _check_no_live_loan(founder: Founder) -> None:
    existing = live_loan_of(founder.id)
    if existing is not None:
        raise Conflict(
            _(
                "%(name)s already has loan %(id)s (%(status)s); one loan at a time.",
                name=founder.name,
                id=existing.id,
                status=status_label(existing.status),
            ),
            loan_id=existing.id,
        )


def apply_for_loan(actor: Any, values: dict[str, Any], *, as_of: date) -> Loan:
    """Record an application for a founder of the officer's area (status `submitted`)."""
    require_officer(actor)
    application = check_application(actor, values, as_of=as_of)
    policy = get_effective_policy(application.founder.region_code)
    loan = Loan(
        founder=application.founder,
        business_id=application.business_id,
        region_code=application.founder.region_code,
        amount=application.amount,
        term_months=application.term_months,
        repayment_method=application.repayment_method,
        purpose=application.purpose,
        status=LoanStatus.SUBMITTED,
        annual_rate=policy.annual_rate,
        subsidy_rate=policy.subsidy_rate,
        subsidy_requires_on_time=policy.subsidy_requires_on_time,
        default_days=policy.default_days,
        guarantee_ratio=policy.guarantee_ratio,
        applied_on=as_of,
        applied_by_id=actor.id,
    )
    db.session.add(loan)
    for guarantor in application.guarantors:
        db.session.add(
            Guarantor(
                loan=loan,
                name=guarantor.name,
                id_number=guarantor.id_number,
                relationship_to_founder=guarantor.relationship,
                employer=guarantor.employer,
                phone=guarantor.phone,
            )
        )
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        # Another application for the same founder won the race (one live loan per founder).
        raise Conflict(_("This founder already has a loan in progress.")) from None
    after = _loan_snapshot(loan) | {
        "guarantors": [
            {
                "name": guarantor.name,
                "id_number_masked": mask_id_number(guarantor.id_number),
                "relationship": guarantor.relationship,
                "employer": guarantor.employer,
            }
            for guarantor in application.guarantors
        ]
    }
    record_audit(actor, "loan.apply", loan, None, after, region_code=loan.region_code)
    return loan


def _loan_snapshot(loan: Loan) -> dict[str, Any]:
    return snapshot(loan, exclude=LOAN_AUDIT_EXCLUDE)


def lock_loan_in_scope(actor: Any, loan_id: int) -> Loan:
    """The loan under its row lock, or 404 when it is absent or outside the actor's area."""
    in_scope = db.session.scalar(
        scoped(select(Loan.id).where(Loan.id == loan_id), actor, region_column=Loan.region_code)
    )
    loan = lock_loan(loan_id) if in_scope is not None else None
    if loan is None:
        raise NotFound(_("No such loan."))
    return loan


def _decision(values: dict[str, Any]) -> tuple[bool, str]:
    decision = values.get("decision")
    errors: dict[str, list[str]] = {}
    if decision not in ("approve", "reject"):
        errors["decision"] = [_("Choose approve or reject.")]
    note, problems = clean_text(values.get("note"), limit=MAX_NOTE, required=decision == "reject")
    if problems:
        errors["note"] = (
            [_("Give the reason for rejecting.")] if decision == "reject" and not note else problems
        )
    if errors:
        raise ValidationFailed(errors)
    return decision == "approve", note


def _reject(loan: Loan, action: LoanAction, note: str, as_of: date) -> None:
    move(loan, action)
    loan.rejected_on = as_of
    loan.rejection_reason = note


def review_loan(actor: Any, loan_id: int, values: dict[str, Any], *, as_of: date) -> Loan:
    """The first officer's review: `reviewed`, or `rejected` with a reason."""
    require_officer(actor)
    approve, note = _decision(values)
    loan = lock_loan_in_scope(actor, loan_id)
    before = _loan_snapshot(loan)
    if approve:
        move(loan, LoanAction.REVIEW)
        loan.reviewed_on, loan.reviewed_by_id, loan.review_note = as_of, actor.id, note
    else:
        _reject(loan, LoanAction.REJECT_IN_REVIEW, note, as_of)
        loan.reviewed_on, loan.reviewed_by_id, loan.review_note = as_of, actor.id, note
    db.session.flush()
    record_audit(
        actor, "loan.review", loan, before, _loan_snapshot(loan), region_code=loan.region_code
    )
    return loan


def approve_loan(actor: Any, loan_id: int, values: dict[str, Any], *, as_of: date) -> Loan:
    """The second officer's decision (four eyes): `approved`, or `rejected` with a reason."""
    require_officer(actor)
    approve, note = _decision(values)
    loan = lock_loan_in_scope(actor, loan_id)
    if loan.status == LoanStatus.REVIEWED and loan.reviewed_by_id == actor.id:
        raise PermissionDenied(
            _("You reviewed this loan: a second officer must approve or reject it.")
        )
    before = _loan_snapshot(loan)
    if approve:
        move(loan, LoanAction.APPROVE)
        fund.check_region_open(loan.region_code)
        founder_errors = _grade_errors(loan.founder)
        if founder_errors:
            raise Conflict(founder_errors[0])
    else:
        _reject(loan, LoanAction.REJECT_IN_APPROVAL, note, as_of)
    loan.approved_on, loan.approved_by_id, loan.approval_note = as_of, actor.id, note
    db.session.flush()
    record_audit(
        actor, "loan.approve", loan, before, _loan_snapshot(loan), region_code=loan.region_code
    )
    return loan


def _grade_errors(founder: Founder) -> list[str]:
    standing = get_integrity_standing(founder.id)
    if standing.grade in GOOD_GRADES:
        return []
    return [
        _(
            "%(name)s's integrity grade is now %(grade)s (score %(score)s); loans need A or B.",
            name=founder.name,
            grade=standing.grade,
            score=standing.score,
        )
    ]


def disburse_loan(actor: Any, loan_id: int, values: dict[str, Any], *, as_of: date) -> Loan:
    """The bank paid the loan out: store its schedule and start servicing it."""
    require_officer(actor)
    loan = lock_loan_in_scope(actor, loan_id)
    disbursed_on = values.get("disbursed_on")
    errors: dict[str, list[str]] = {}
    if not isinstance(disbursed_on, date):
        errors["disbursed_on"] = [_("Enter the date the bank paid the loan out.")]
    elif disbursed_on > as_of:
        errors["disbursed_on"] = [_("The disbursement date cannot be in the future.")]
    elif loan.approved_on is not None and disbursed_on < loan.approved_on:
        errors["disbursed_on"] = [
            _(
                "The loan was approved on %(day)s; it cannot be paid out before.",
                day=loan.approved_on.isoformat(),
            )
        ]
    reference, problems = clean_text(
        values.get("bank_reference"), limit=MAX_REFERENCE, required=True
    )
    if problems:
        errors["bank_reference"] = problems
    if errors:
        raise ValidationFailed(errors)
    before = _loan_snapshot(loan)
    move(loan, LoanAction.DISBURSE)
    if db.session.scalar(select(Loan.id).where(Loan.bank_reference == reference)):
        raise Conflict(_("Bank reference %(ref)s is already used by another loan.", ref=reference))
    fund.check_region_open(loan.region_code)
    loan.fund_region_code = fund.check_leverage(loan.region_code, loan.amount)
    loan.disbursed_on, loan.bank_reference = disbursed_on, reference
    loan.outstanding_principal = loan.amount
    mark_borrower(loan.founder_id, disbursed_on)
    for line in build_schedule(
        principal=loan.amount,
        term_months=loan.term_months,
        annual_rate=loan.annual_rate,
        subsidy_rate=loan.subsidy_rate,
        method=loan.repayment_method,
        disbursed_on=disbursed_on,
    ):
        db.session.add(
            LoanInstallment(
                loan_id=loan.id,
                n=line.n,
                due_on=line.due_on,
                principal=line.principal,
                interest=line.interest,
                subsidy=line.subsidy,
                borrower_interest=line.borrower_interest,
            )
        )
    db.session.flush()
    replay_loan(loan, actor=actor)  # installments that owe nothing count as paid
    record_audit(
        actor, "loan.disburse", loan, before, _loan_snapshot(loan), region_code=loan.region_code
    )
    return loan


@dataclass(frozen=True)
class Posting:
    """A payment as posted: `created` is False when the reference was already posted."""

    repayment: Repayment
    created: bool


def _payment_values(
    values: dict[str, Any], loan: Loan, *, as_of: date
) -> tuple[date, Decimal, str]:
    errors: dict[str, list[str]] = {}
    paid_on = values.get("paid_on")
    if not isinstance(paid_on, date):
        errors["paid_on"] = [_("Enter the date the bank received the payment.")]
    elif paid_on > as_of:
        errors["paid_on"] = [_("A payment cannot be dated in the future.")]
    elif loan.disbursed_on is not None and paid_on < loan.disbursed_on:
        errors["paid_on"] = [
            _(
                "The loan was paid out on %(day)s; a repayment cannot be earlier.",
                day=loan.disbursed_on.isoformat(),
            )
        ]
    amount, problems = clean_amount(values.get("amount"))
    if problems:
        errors["amount"] = problems
    reference, problems = clean_text(values.get("reference"), limit=MAX_REFERENCE, required=True)
    if problems:
        errors["reference"] = problems
    if errors:
        raise ValidationFailed(errors)
    assert isinstance(paid_on, date)
    assert amount is not None
    return paid_on, amount, reference


def post_repayment(
    actor: Any,
    loan_id: int,
    values: dict[str, Any],
    *,
    as_of: date,
    source: EntrySource = EntrySource.OFFICER,
) -> Posting:
    """Post a payment received for the loan (see the module docstring for the rules)."""
    require_officer(actor)
    loan = lock_loan_in_scope(actor, loan_id)
    reference = values.get("reference")
    if isinstance(reference, str) and reference.strip():
        existing = db.session.scalar(
            select(Repayment).where(
                Repayment.loan_id == loan.id, Repayment.reference == reference.strip()
            )
        )
        if existing is not None:
            return _repeat_of(existing, values)
    paid_on, amount, reference = _payment_values(values, loan, as_of=as_of)
    if loan.status not in (LoanStatus.ACTIVE, LoanStatus.DEFAULTED):
        raise Conflict(
            _(
                "Repayments are posted to loans being repaid or defaulted; this one is "
                "“%(status)s”.",
                status=status_label(loan.status),
            ),
            status=loan.status,
        )
    repayment = Repayment(
        loan_id=loan.id,
        kind=EntryKind.PAYMENT,
        paid_on=paid_on,
        amount=amount,
        reference=reference,
        source=source,
        recorded_by_id=actor.id,
    )
    db.session.add(repayment)
    db.session.flush()
    result = replay_loan(loan, actor=actor)
    if result.excess > 0:
        # What the loan could take on that day: late days cost the subsidy, so this is not
        # simply the sum of what is left.
        owed = amount - result.excess
        raise ValidationFailed.single(
            "amount",
            _(
                "This is more than the borrower owes: at most %(owed)s yuan can be posted.",
                owed=f"{owed:.2f}",
            ),
        )
    record_audit(
        actor,
        "repayment.post",
        repayment,
        None,
        snapshot(repayment),
        region_code=loan.region_code,
    )
    return Posting(repayment, True)


def _repeat_of(existing: Repayment, values: dict[str, Any]) -> Posting:
    amount, problems = clean_amount(values.get("amount"))
    if existing.kind == EntryKind.PAYMENT and not problems and amount == existing.amount:
        return Posting(existing, False)
    raise Conflict(
        _(
            "Reference %(ref)s was already posted to this loan for %(amount)s yuan.",
            ref=existing.reference,
            amount=f"{existing.amount:.2f}",
        ),
        repayment_id=existing.id,
    )


def _check_can_reopen(loan: Loan) -> None:
    """A reversal that reopens a paid-off loan would give its founder two live loans when
    they have applied again since: the new application must be settled first (409)."""
    other = live_loan_of(loan.founder_id)
    if other is not None and other.id != loan.id:
        raise Conflict(
            _(
                "Reversing this payment reopens loan %(id)s, but the founder has loan "
                "%(other)s in progress: reject or settle that one first.",
                id=loan.id,
                other=other.id,
            ),
            loan_id=other.id,
        )


def reverse_repayment(
    actor: Any, repayment_id: int, values: dict[str, Any], *, as_of: date
) -> Repayment:
    """Undo a payment with a reason: a new entry; the loan replays without the payment."""
    require_officer(actor)
    reason, problems = clean_text(values.get("reason"), limit=MAX_NOTE, required=True)
    if problems:
        raise ValidationFailed(
            {"reason": [_("Give the reason for the reversal.")] if not reason else problems}
        )
    payment = db.session.scalar(
        scoped(
            select(Repayment)
            .join(Loan, Loan.id == Repayment.loan_id)
            .where(Repayment.id == repayment_id),
            actor,
            region_column=Loan.region_code,
        )
    )
    if payment is None:
        raise NotFound(_("No such repayment."))
    loan = lock_loan_in_scope(actor, payment.loan_id)
    if payment.kind != EntryKind.PAYMENT:
        raise Conflict(_("A reversal cannot itself be reversed."))
    if db.session.scalar(select(exists().where(Repayment.reverses_id == payment.id))):
        raise Conflict(_("This payment was already reversed."), repayment_id=payment.id)
    if loan.status not in (LoanStatus.ACTIVE, LoanStatus.DEFAULTED, LoanStatus.CLOSED):
        raise Conflict(
            _(
                "Payments of a loan in status “%(status)s” cannot be reversed.",
                status=status_label(loan.status),
            ),
            status=loan.status,
        )
    if loan.status == LoanStatus.CLOSED:
        _check_can_reopen(loan)
    reversal = Repayment(
        loan_id=loan.id,
        kind=EntryKind.REVERSAL,
        paid_on=max(as_of, payment.paid_on),
        amount=-payment.amount,
        reverses_id=payment.id,
        reason=reason,
        source=EntrySource.OFFICER,
        recorded_by_id=actor.id,
    )
    db.session.add(reversal)
    db.session.flush()
    replay_loan(loan, actor=actor)
    record_audit(
        actor,
        "repayment.reverse",
        reversal,
        snapshot(payment),
        snapshot(reversal),
        region_code=loan.region_code,
    )
    return reversal


__all__ = [
    "Posting",
    "amount_left_on",
    "apply_for_loan",
    "approve_loan",
    "disburse_loan",
    "lock_loan_in_scope",
    "post_repayment",
    "reverse_repayment",
    "review_loan",
]
