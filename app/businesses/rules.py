"""The rules a business's fields and an observation's fields obey, as pure functions.

Operations apply them (pages and the API alike), so the same bad value gets the same
message everywhere. Rules that need other rows (scope, the founder, the library, the
business's history) live in `businesses.operations`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _

from app.businesses.models import BusinessStatus
from app.core.db import to_money
from app.core.industries import INDUSTRY_VALUES
from app.core.validators import InvalidValue, contains_nul, parse_uscc

BUSINESS_FIELDS = (
    "founder_id",
    "name",
    "industry",
    "region_code",
    "opened_on",
    "uscc",
    "library_project_id",
    "employees_at_opening",
)
OBSERVATION_FIELDS = (
    "observed_on",
    "status",
    "employees",
    "monthly_revenue",
    "closed_on",
    "note",
)
MAX_NAME = 100
MAX_NOTE = 1000
MAX_EMPLOYEES = 10_000
# Ten million yuan a month: far above any microbusiness, far below where arithmetic fails.
MAX_MONTHLY_REVENUE = Decimal("10000000.00")
# Businesses founders already ran when they registered are recorded too (they matter for
# the opening rate's "had no business before training"), but not from before the reform era.
EARLIEST_OPENING = date(1980, 1, 1)


@dataclass(frozen=True)
class CleanObservation:
    """An observation's values after the field rules passed (history rules come later)."""

    observed_on: date
    status: str
    employees: int
    monthly_revenue: Decimal | None
    closed_on: date | None
    note: str


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


def clean_head_count(value: Any) -> tuple[int | None, list[str]]:
    """A number of employees: a whole number from 0 to 10,000."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_EMPLOYEES:
        return None, [
            _("Enter a whole number of employees from 0 to %(max)s.", max=f"{MAX_EMPLOYEES:,}")
        ]
    return value, []


def clean_revenue(value: Any) -> tuple[Decimal | None, list[str]]:
    """An optional monthly revenue in yuan: 0 to ten million, at most 2 decimals."""
    if value is None or value == "":
        return None, []
    if isinstance(value, bool | float):
        return None, [_('Enter an amount in yuan with at most 2 decimals, like "8000.00".')]
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None, [_('Enter an amount in yuan with at most 2 decimals, like "8000.00".')]
    if not amount.is_finite() or not 0 <= amount <= MAX_MONTHLY_REVENUE:
        return None, [_("Enter an amount between 0 and 10,000,000 yuan.")]
    if amount != amount.quantize(Decimal("0.01")):
        return None, [_('Enter an amount in yuan with at most 2 decimals, like "8000.00".')]
    return to_money(amount), []


def clean_uscc(value: Any) -> tuple[str | None, list[str]]:
    """An optional unified social credit code with a correct check character."""
    if value is None or value == "":
        return None, []
    if not isinstance(value, str):
        return None, [_("Expected text.")]
    try:
        return parse_uscc(value), []
    except InvalidValue as error:
        if error.code == "checksum":
            return None, [
                _("This credit code's check character is wrong; please check each character.")
            ]
        return None, [_("A unified social credit code has 18 digits or capital letters.")]


def check_business_fields(values: dict[str, Any], *, as_of: date) -> dict[str, list[str]]:
    """Field-level problems of a business (name, industry, dates, head count, code)."""
    errors: dict[str, list[str]] = {}
    if "name" in values:
        _name, name_errors = clean_text(values["name"], limit=MAX_NAME, required=True)
        if name_errors:
            errors["name"] = name_errors
    if "industry" in values:
        industry = values["industry"]
        if not isinstance(industry, str) or industry not in INDUSTRY_VALUES:
            errors["industry"] = [_("Choose one of the industries.")]
    if "opened_on" in values:
        opened_on = values["opened_on"]
        if not isinstance(opened_on, date):
            errors["opened_on"] = [_("Enter the day the business opened.")]
        elif opened_on > as_of:
            errors["opened_on"] = [_("The opening day cannot be in the future.")]
        elif opened_on < EARLIEST_OPENING:
            errors["opened_on"] = [
                _("Choose a day from %(min)s on.", min=EARLIEST_OPENING.isoformat())
            ]
    if "employees_at_opening" in values:
        _count, count_errors = clean_head_count(values["employees_at_opening"])
        if count_errors:
            errors["employees_at_opening"] = count_errors
    if "uscc" in values:
        _code, code_errors = clean_uscc(values["uscc"])
        if code_errors:
            errors["uscc"] = code_errors
    return errors


def check_observation_fields(
    values: dict[str, Any], *, opened_on: date, as_of: date
) -> tuple[CleanObservation | None, dict[str, list[str]]]:
    """Field-level rules of an observation: dates between opening and today, a closing date
    only for a closure (by default the day of the observation), nobody employed once closed."""
    errors: dict[str, list[str]] = {}
    status = values.get("status")
    if not isinstance(status, str) or status not in {s.value for s in BusinessStatus}:
        errors["status"] = [_("Choose operating, suspended or closed.")]
        status = None

    observed_on = values.get("observed_on")
    if not isinstance(observed_on, date):
        errors["observed_on"] = [_("Enter the day of the observation.")]
        observed_on = None
    elif observed_on > as_of:
        errors["observed_on"] = [_("An observation cannot be in the future.")]
    elif observed_on < opened_on:
        errors["observed_on"] = [
            _(
                "The business opened on %(day)s; an observation cannot be earlier.",
                day=opened_on.isoformat(),
            )
        ]

    closed_on = values.get("closed_on")
    if status != BusinessStatus.CLOSED:
        if closed_on is not None and status is not None:
            errors["closed_on"] = [_("Only a closed business has a closing day.")]
        closed_on = None
    else:
        if closed_on is None:
            closed_on = observed_on
        if not isinstance(closed_on, date):
            if "observed_on" not in errors:
                errors["closed_on"] = [_("Enter the day the business closed.")]
        elif closed_on < opened_on:
            errors["closed_on"] = [
                _(
                    "The business opened on %(day)s; it cannot have closed earlier.",
                    day=opened_on.isoformat(),
                )
            ]
        elif observed_on is not None and closed_on > observed_on:
            errors["closed_on"] = [_("The closing day cannot be after the observation.")]

    employees = values.get("employees")
    if employees is None and status == BusinessStatus.CLOSED:
        employees = 0
    employees, employee_errors = clean_head_count(employees)
    if employee_errors:
        errors["employees"] = employee_errors
    elif status == BusinessStatus.CLOSED and employees:
        errors["employees"] = [_("A closed business employs nobody; enter 0.")]

    revenue, revenue_errors = clean_revenue(values.get("monthly_revenue"))
    if revenue_errors:
        errors["monthly_revenue"] = revenue_errors
    note, note_errors = clean_text(values.get("note"), limit=MAX_NOTE, required=False)
    if note_errors:
        errors["note"] = note_errors

    if errors:
        return None, errors
    return (
        CleanObservation(
            observed_on=observed_on,
            status=status,
            employees=employees,
            monthly_revenue=revenue,
            closed_on=closed_on,
            note=note,
        ),
        {},
    )
