"""Loan test data, made through the real operations so every rule and audit entry applies."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from app.auth.models import User
from app.extensions import db
from app.founders.models import Founder
from app.loans import fund, operations
from app.loans.models import FundEntry, FundEntryKind, Loan
from tests.factories import make_founder, make_id_number, make_user
from tests.training.factories import make_cohort, make_enrollment

APPLIED_ON = date(2026, 1, 5)


def make_trained_founder(*, region_code: str = "460100", **fields: Any) -> Founder:
    """A founder who passed SYB training, so the policy's training rule is met."""
    return pass_training(make_founder(region_code=region_code, **fields))


def pass_training(founder: Founder) -> Founder:
    """Give the founder a passed SYB enrollment (December 2025)."""
    cohort = make_cohort(region_code=founder.region_code, starts_on=date(2025, 11, 24))
    make_enrollment(cohort, founder, result="passed", completed_on=date(2025, 12, 12))
    return founder


def fund_region(region_code: str = "460000", amount: str = "10000000.00") -> FundEntry:
    """Deposit money in a region's guarantee fund (inserted directly, as the admin would)."""
    entry = FundEntry(
        region_code=region_code,
        kind=FundEntryKind.DEPOSIT,
        entry_on=date(2025, 1, 1),
        amount=Decimal(amount),
        reference=f"deposit-{region_code}-{amount}",
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def guarantor_body(**fields: Any) -> dict[str, Any]:
    """A valid counter-guarantor."""
    return {
        "name": "王芳",
        "id_number": make_id_number(sex="female"),
        "relationship": "姐姐",
        "employer": "海口市第一小学",
    } | fields


def application_body(founder: Founder, **fields: Any) -> dict[str, Any]:
    """A valid application for `founder`: 100,000 over 12 months, equal installments."""
    return {
        "founder_id": founder.id,
        "amount": Decimal("100000.00"),
        "term_months": 12,
        "repayment_method": "equal_installment",
        "purpose": "购置设备",
        "guarantors": [guarantor_body()],
    } | fields


def officers(region_code: str = "460100") -> tuple[User, User]:
    """Two different officers of a region: the reviewer and the approver."""
    return make_user(role="officer", region_code=region_code), make_user(
        role="officer", region_code=region_code
    )


def make_loan(
    *,
    founder: Founder | None = None,
    status: str = "active",
    disbursed_on: date = date(2026, 1, 31),
    region_code: str = "460100",
    reviewer: User | None = None,
    approver: User | None = None,
    **fields: Any,
) -> Loan:
    """A loan taken through the lifecycle up to `status` (submitted, reviewed, approved or
    active), funding the province's guarantee fund first if it is empty."""
    if fund.get_fund_summary(region_code).balance == 0:
        fund_region(fund.fund_region_for(region_code))
    founder = founder or make_trained_founder(region_code=region_code)
    if reviewer is None or approver is None:
        reviewer, approver = officers(region_code)
    loan = operations.apply_for_loan(
        reviewer, application_body(founder, **fields), as_of=APPLIED_ON
    )
    if status == "submitted":
        return loan
    operations.review_loan(reviewer, loan.id, {"decision": "approve", "note": ""}, as_of=APPLIED_ON)
    if status == "reviewed":
        return loan
    operations.approve_loan(
        approver, loan.id, {"decision": "approve", "note": ""}, as_of=APPLIED_ON
    )
    if status == "approved":
        return loan
    operations.disburse_loan(
        approver,
        loan.id,
        {"disbursed_on": disbursed_on, "bank_reference": f"BANK-{loan.id}"},
        as_of=max(disbursed_on, APPLIED_ON),
    )
    return loan
