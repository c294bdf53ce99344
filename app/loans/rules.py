"""The rules an application's own fields obey, as pure functions (SPEC §9, §15).

Operations apply them for pages and the API alike, so a bad value gets the same message
everywhere; rules that need other rows (scope, training, integrity, the fund) live in
`loans.operations`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _

from app.core.db import to_money
from app.core.forms import id_number_message
from app.core.validators import InvalidValue, contains_nul, parse_id_number, parse_mobile
from app.loans.schedule import RepaymentMethod

MAX_PURPOSE = 500
MAX_NOTE = 1000
MAX_REFERENCE = 64
MAX_GUARANTORS = 5
MAX_AMOUNT_EVER = Decimal("100000000.00")


@dataclass(frozen=True)
class GuarantorInput:
    """A counter-guarantor as the application names them, after the field rules."""

    name: str
    id_number: str
    relationship: str
    employer: str
    phone: str


def clean_text(value: Any, *, limit: int, required: bool) -> tuple[str, list[str]]:
    """Trimmed text, or the reason it cannot be used."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        return "", [_("Expected text.")]
    value = value.strip()
    if required and not value:
        return "", [_("This field is required.")]
    if len(value) > limit:
        return "", [_("Use at most %(n)s characters.", n=limit)]
    if contains_nul(value):
        return "", [_("Contains a character that is not allowed.")]
    return value, []


def clean_amount(value: Any) -> tuple[Decimal | None, list[str]]:
    """A positive amount of yuan with at most 2 decimals."""
    if isinstance(value, bool | float) or value is None or value == "":
        return None, [_("Enter an amount such as 1234.50.")]
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None, [_("Enter an amount such as 1234.50.")]
    if not amount.is_finite():
        return None, [_("Enter an amount such as 1234.50.")]
    if amount > MAX_AMOUNT_EVER:  # before quantize, which fails on very long numbers
        return None, [_("This amount is too large.")]
    if amount <= 0:
        return None, [_("The amount must be more than zero.")]
    if amount != amount.quantize(Decimal("0.01")):
        return None, [_("Use at most 2 decimals.")]
    return to_money(amount), []


def clean_guarantor(
    value: Any, *, founder_id_number: str | None, as_of: date
) -> tuple[GuarantorInput | None, dict[str, list[str]]]:
    """One guarantor's fields: a name, a checked ID number (not the borrower's own), the
    relationship, and optionally the employer and a mobile number."""
    if not isinstance(value, dict):
        return None, {"": [_("Each guarantor needs a name, ID number and relationship.")]}
    errors: dict[str, list[str]] = {}
    name, problems = clean_text(value.get("name"), limit=50, required=True)
    if problems:
        errors["name"] = problems
    relationship, problems = clean_text(value.get("relationship"), limit=50, required=True)
    if problems:
        errors["relationship"] = problems
    employer, problems = clean_text(value.get("employer"), limit=100, required=False)
    if problems:
        errors["employer"] = problems
    raw_id = value.get("id_number")
    id_number = ""
    if not isinstance(raw_id, str) or not raw_id.strip():
        errors["id_number"] = [_("This field is required.")]
    else:
        try:
            id_number = parse_id_number(raw_id, as_of=as_of).id_number
        except InvalidValue as error:
            errors["id_number"] = [id_number_message(error.code)]
        else:
            if founder_id_number and id_number == founder_id_number:
                errors["id_number"] = [_("A borrower cannot guarantee their own loan.")]
    phone = ""
    raw_phone = value.get("phone")
    if raw_phone not in (None, ""):
        try:
            if not isinstance(raw_phone, str):
                raise InvalidValue("format", "not text")
            phone = parse_mobile(raw_phone)
        except InvalidValue:
            errors["phone"] = [_("Enter an 11-digit mobile number starting with 1.")]
    if errors:
        return None, errors
    return GuarantorInput(name, id_number, relationship, employer, phone), {}


def clean_guarantors(
    values: Any, *, founder_id_number: str | None, as_of: date
) -> tuple[list[GuarantorInput], dict[str, list[str]]]:
    """The application's guarantors, errors keyed `guarantors[i].field`."""
    if values is None:
        return [], {}
    if not isinstance(values, list):
        return [], {"guarantors": [_("Expected a list of guarantors.")]}
    if len(values) > MAX_GUARANTORS:
        return [], {"guarantors": [_("Name at most %(n)s guarantors.", n=MAX_GUARANTORS)]}
    cleaned: list[GuarantorInput] = []
    errors: dict[str, list[str]] = {}
    seen: set[str] = set()
    for index, value in enumerate(values):
        guarantor, problems = clean_guarantor(
            value, founder_id_number=founder_id_number, as_of=as_of
        )
        for field, messages in problems.items():
            key = f"guarantors[{index}].{field}" if field else f"guarantors[{index}]"
            errors[key] = messages
        if guarantor is None:
            continue
        if guarantor.id_number in seen:
            errors[f"guarantors[{index}].id_number"] = [_("This guarantor is named twice.")]
            continue
        seen.add(guarantor.id_number)
        cleaned.append(guarantor)
    return cleaned, errors


def clean_method(value: Any) -> tuple[str | None, list[str]]:
    """One of the three repayment methods."""
    try:
        return RepaymentMethod(value).value, []
    except ValueError:
        return None, [_("Choose a repayment method.")]


def clean_term(value: Any, *, max_term_months: int) -> tuple[int | None, list[str]]:
    """Whole months, 1 up to the policy's maximum."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None, [_("Enter a whole number of months.")]
    if not 1 <= value <= max_term_months:
        return None, [
            _("The term must be 1 to %(n)s months under this region's policy.", n=max_term_months)
        ]
    return value, []
