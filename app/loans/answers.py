"""The loans API's answers: OpenAPI schemas and the builders that fill them (SPEC §14:
money as strings with 2 decimals, rates as plain decimal text, dates YYYY-MM-DD).

Only `loans.api` uses them; pages render the models themselves.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from app.core.api import (
    DATE_SCHEMA,
    MONEY_SCHEMA,
    NULLABLE_DATE_SCHEMA,
    iso_date,
    money_str,
)
from app.founders.models import mask_id_number
from app.loans.fund import FundSummary
from app.loans.models import (
    Bucket,
    EntryKind,
    EntrySource,
    FundEntry,
    FundEntryKind,
    Guarantor,
    InstallmentStatus,
    Loan,
    LoanInstallment,
    LoanStatus,
    RecoverySource,
    Repayment,
)
from app.loans.policies import rate_text
from app.loans.policy_forms import RATE_PATTERN
from app.loans.queries import list_repayments, reversed_payment_ids
from app.loans.schedule import RepaymentMethod

# Schemas ---------------------------------------------------------------------------------
SIGNED_MONEY_SCHEMA: dict[str, Any] = {"type": "string", "pattern": r"^-?\d+\.\d{2}$"}
RATE_SCHEMA: dict[str, Any] = {"type": "string", "pattern": RATE_PATTERN}
RATIO_4_SCHEMA: dict[str, Any] = {
    "type": "string",
    "pattern": r"^\d+\.\d{4}$",
    "nullable": True,
}
USER_ID_SCHEMA: dict[str, Any] = {"type": "integer", "nullable": True}
DATETIME_SCHEMA: dict[str, Any] = {"type": "string", "format": "date-time"}


def _enum(values: Any, *, nullable: bool = False) -> dict[str, Any]:
    members = [value.value for value in values]
    if nullable:
        return {"type": "string", "enum": [*members, None], "nullable": True}
    return {"type": "string", "enum": members}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    """An answer object: every property is always present (null when it has no value)."""
    return {"type": "object", "properties": properties, "required": list(properties)}


GUARANTOR_SCHEMA = _object(
    {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "id_number_masked": {"type": "string"},
        "relationship": {"type": "string"},
        "employer": {"type": "string"},
    }
)
INSTALLMENT_SCHEMA = _object(
    {
        "n": {"type": "integer"},
        "due_on": DATE_SCHEMA,
        "principal": MONEY_SCHEMA,
        "interest": MONEY_SCHEMA,
        "subsidy": MONEY_SCHEMA,
        "borrower_interest": MONEY_SCHEMA,
        "subsidy_lost": {"type": "boolean"},
        "amount_due": {
            **MONEY_SCHEMA,
            "description": "principal + the borrower's interest (all of it once the subsidy "
            "is lost)",
        },
        "paid_principal": MONEY_SCHEMA,
        "paid_interest": MONEY_SCHEMA,
        "paid_off_on": NULLABLE_DATE_SCHEMA,
        "status": _enum(InstallmentStatus),
    }
)
REPAYMENT_SCHEMA = _object(
    {
        "id": {"type": "integer"},
        "loan_id": {"type": "integer"},
        "kind": _enum(EntryKind),
        "paid_on": DATE_SCHEMA,
        "amount": {**SIGNED_MONEY_SCHEMA, "description": "negative for a reversal"},
        "reference": {"type": "string", "nullable": True},
        "reverses_id": {"type": "integer", "nullable": True},
        "reversed": {"type": "boolean", "description": "a later reversal undoes this payment"},
        "reason": {"type": "string"},
        "source": _enum(EntrySource),
        "created_at": DATETIME_SCHEMA,
    }
)
LOAN_SCHEMA = _object(
    {
        "id": {"type": "integer"},
        "founder_id": {"type": "integer"},
        "business_id": {"type": "integer", "nullable": True},
        "region_code": {"type": "string"},
        "amount": MONEY_SCHEMA,
        "term_months": {"type": "integer"},
        "repayment_method": _enum(RepaymentMethod),
        "purpose": {"type": "string"},
        "status": _enum(LoanStatus),
        "annual_rate": RATE_SCHEMA,
        "subsidy_rate": RATE_SCHEMA,
        "guarantee_ratio": RATE_SCHEMA,
        "default_days": {"type": "integer"},
        "applied_on": DATE_SCHEMA,
        "reviewed_on": NULLABLE_DATE_SCHEMA,
        "reviewed_by": USER_ID_SCHEMA,
        "approved_on": NULLABLE_DATE_SCHEMA,
        "approved_by": USER_ID_SCHEMA,
        "rejected_on": NULLABLE_DATE_SCHEMA,
        "rejection_reason": {"type": "string"},
        "disbursed_on": NULLABLE_DATE_SCHEMA,
        "bank_reference": {"type": "string", "nullable": True},
        "fund_region_code": {"type": "string", "nullable": True},
        "outstanding_principal": MONEY_SCHEMA,
        "days_past_due": {"type": "integer"},
        "bucket": _enum(Bucket),
        "swept_on": {
            **NULLABLE_DATE_SCHEMA,
            "description": "the daily sweep that days_past_due, bucket and overdue are as of",
        },
        "closed_on": NULLABLE_DATE_SCHEMA,
        "defaulted_on": NULLABLE_DATE_SCHEMA,
        "compensated_on": NULLABLE_DATE_SCHEMA,
        "compensated_amount": MONEY_SCHEMA,
        "recovered_amount": MONEY_SCHEMA,
        "ended_on": {**NULLABLE_DATE_SCHEMA, "description": "recovered or written off"},
        "write_off_reason": {"type": "string"},
    }
)
LOAN_DETAIL_SCHEMA = _object(
    {
        **LOAN_SCHEMA["properties"],
        "guarantors": {"type": "array", "items": GUARANTOR_SCHEMA},
        "schedule": {
            "type": "array",
            "items": INSTALLMENT_SCHEMA,
            "description": "empty until the loan is disbursed",
        },
        "repayments": {
            "type": "array",
            "items": REPAYMENT_SCHEMA,
            "description": "payments and reversals in date order",
        },
    }
)
FUND_ENTRY_SCHEMA = _object(
    {
        "id": {"type": "integer"},
        "region_code": {"type": "string", "description": "the fund's region"},
        "kind": _enum(FundEntryKind),
        "entry_on": DATE_SCHEMA,
        "amount": {
            **SIGNED_MONEY_SCHEMA,
            "description": "+ raises the balance (deposit, recovery), - lowers it",
        },
        "reference": {"type": "string"},
        "note": {"type": "string"},
        "loan_id": {"type": "integer", "nullable": True},
        "recovery_source": _enum(RecoverySource, nullable=True),
        "guarantor_id": {"type": "integer", "nullable": True},
    }
)
LOAN_FUND_ENTRY_SCHEMA = _object(
    {**FUND_ENTRY_SCHEMA["properties"], "loan_status": _enum(LoanStatus)}
)
FUND_SCHEMA = _object(
    {
        "region_code": {"type": "string", "description": "the region whose fund this is"},
        "requested_region_code": {"type": "string"},
        "has_own_fund": {
            "type": "boolean",
            "description": "false for a city that uses its province's fund",
        },
        "balance": MONEY_SCHEMA,
        "guaranteed_outstanding": MONEY_SCHEMA,
        "leverage": {**RATE_SCHEMA, "description": "the policy's limit"},
        "capacity": {**MONEY_SCHEMA, "description": "leverage * balance"},
        "leverage_used": {
            **RATIO_4_SCHEMA,
            "description": "guaranteed outstanding / balance; null without a balance",
        },
        "headroom": {**MONEY_SCHEMA, "description": "how much more principal it may guarantee"},
        "compensated": MONEY_SCHEMA,
        "recovered": MONEY_SCHEMA,
        "disbursed": MONEY_SCHEMA,
        "compensation_rate": {
            **RATIO_4_SCHEMA,
            "description": "compensated / disbursed; null before any disbursement",
        },
        "suspend_compensation_rate": RATE_SCHEMA,
        "suspended": {"type": "boolean", "description": "new loans are refused"},
    }
)


# Answers ---------------------------------------------------------------------------------
def loan_json(loan: Loan) -> dict[str, Any]:
    """The API's view of a loan in a list: its terms, where it stands and its arrears."""
    return {
        "id": loan.id,
        "founder_id": loan.founder_id,
        "business_id": loan.business_id,
        "region_code": loan.region_code,
        "amount": money_str(loan.amount),
        "term_months": loan.term_months,
        "repayment_method": loan.repayment_method,
        "purpose": loan.purpose,
        "status": loan.status,
        "annual_rate": rate_text(loan.annual_rate),
        "subsidy_rate": rate_text(loan.subsidy_rate),
        "guarantee_ratio": rate_text(loan.guarantee_ratio),
        "default_days": loan.default_days,
        "applied_on": iso_date(loan.applied_on),
        "reviewed_on": iso_date(loan.reviewed_on),
        "reviewed_by": loan.reviewed_by_id,
        "approved_on": iso_date(loan.approved_on),
        "approved_by": loan.approved_by_id,
        "rejected_on": iso_date(loan.rejected_on),
        "rejection_reason": loan.rejection_reason,
        "disbursed_on": iso_date(loan.disbursed_on),
        "bank_reference": loan.bank_reference,
        "fund_region_code": loan.fund_region_code,
        "outstanding_principal": money_str(loan.outstanding_principal),
        "days_past_due": loan.days_past_due,
        "bucket": loan.bucket,
        "swept_on": iso_date(loan.swept_on),
        "closed_on": iso_date(loan.closed_on),
        "defaulted_on": iso_date(loan.defaulted_on),
        "compensated_on": iso_date(loan.compensated_on),
        "compensated_amount": money_str(loan.compensated_amount),
        "recovered_amount": money_str(loan.recovered_amount),
        "ended_on": iso_date(loan.ended_on),
        "write_off_reason": loan.write_off_reason,
    }


def loan_detail_json(loan: Loan) -> dict[str, Any]:
    """One loan with its guarantors (ID numbers masked), schedule and repayment entries."""
    reversed_ids = reversed_payment_ids(loan.id)
    return loan_json(loan) | {
        "guarantors": [guarantor_json(guarantor) for guarantor in loan.guarantors],
        "schedule": [installment_json(line) for line in loan.installments],
        "repayments": [repayment_json(entry, reversed_ids) for entry in list_repayments(loan.id)],
    }


def guarantor_json(guarantor: Guarantor) -> dict[str, Any]:
    """A counter-guarantor; the full ID number never leaves the server (SPEC §4)."""
    return {
        "id": guarantor.id,
        "name": guarantor.name,
        "id_number_masked": mask_id_number(guarantor.id_number),
        "relationship": guarantor.relationship_to_founder,
        "employer": guarantor.employer,
    }


def installment_json(line: LoanInstallment) -> dict[str, Any]:
    """One line of the schedule with what has been paid on it. Once the installment lost
    its subsidy, `subsidy` is 0.00 and `borrower_interest` the whole interest (SPEC §9:
    "the schedule shows the change"); the subsidy as scheduled stays in the database for
    the subsidy claim."""
    return {
        "n": line.n,
        "due_on": iso_date(line.due_on),
        "principal": money_str(line.principal),
        "interest": money_str(line.interest),
        "subsidy": money_str(Decimal("0.00") if line.subsidy_lost else line.subsidy),
        "borrower_interest": money_str(line.interest_owed),
        "subsidy_lost": line.subsidy_lost,
        "amount_due": money_str(line.amount_owed),
        "paid_principal": money_str(line.paid_principal),
        "paid_interest": money_str(line.paid_interest),
        "paid_off_on": iso_date(line.paid_off_on),
        "status": line.status,
    }


def repayment_json(entry: Repayment, reversed_ids: set[int] | None = None) -> dict[str, Any]:
    """A payment or a reversal; `reversed_ids` (the loan's reversed payments) saves a query
    per entry when a whole list is answered."""
    if reversed_ids is None:
        reversed_ids = reversed_payment_ids(entry.loan_id)
    return {
        "id": entry.id,
        "loan_id": entry.loan_id,
        "kind": entry.kind,
        "paid_on": iso_date(entry.paid_on),
        "amount": money_str(entry.amount),
        "reference": entry.reference,
        "reverses_id": entry.reverses_id,
        "reversed": entry.id in reversed_ids,
        "reason": entry.reason,
        "source": entry.source,
        "created_at": entry.created_at.isoformat(),
    }


def fund_entry_json(entry: FundEntry) -> dict[str, Any]:
    """A movement of a guarantee fund."""
    return {
        "id": entry.id,
        "region_code": entry.region_code,
        "kind": entry.kind,
        "entry_on": iso_date(entry.entry_on),
        "amount": money_str(entry.amount),
        "reference": entry.reference,
        "note": entry.note,
        "loan_id": entry.loan_id,
        "recovery_source": entry.recovery_source,
        "guarantor_id": entry.guarantor_id,
    }


def _ratio_text(value: Any) -> str | None:
    return None if value is None else f"{value:.4f}"


def fund_json(summary: FundSummary, requested_region_code: str) -> dict[str, Any]:
    """A fund's balance, leverage and loss figures."""
    return {
        "region_code": summary.region_code,
        "requested_region_code": requested_region_code,
        "has_own_fund": summary.has_own_fund,
        "balance": money_str(summary.balance),
        "guaranteed_outstanding": money_str(summary.guaranteed_outstanding),
        "leverage": rate_text(summary.leverage),
        "capacity": money_str(summary.capacity),
        "leverage_used": _ratio_text(summary.leverage_used),
        "headroom": money_str(summary.headroom),
        "compensated": money_str(summary.compensated),
        "recovered": money_str(summary.recovered),
        "disbursed": money_str(summary.disbursed),
        "compensation_rate": _ratio_text(summary.compensation_rate),
        "suspend_compensation_rate": rate_text(summary.suspend_compensation_rate),
        "suspended": summary.is_suspended,
    }
