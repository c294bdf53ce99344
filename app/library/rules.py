"""The rules a library project's fields obey, as pure functions shared by the forms' operations
and the spreadsheet import, so both say the same thing about the same bad value."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _

from app.core.db import to_money
from app.core.industries import INDUSTRY_VALUES

PROJECT_FIELDS = (
    "title",
    "industry",
    "investment_min",
    "investment_max",
    "payback_months",
    "jobs_potential",
    "summary",
    "market",
    "risks",
    "startup_steps",
    "licences",
    "expert_contact",
)
TEXT_LIMITS = {
    "title": 100,
    "summary": 2000,
    "market": 4000,
    "risks": 4000,
    "startup_steps": 4000,
    "licences": 2000,
    "expert_contact": 100,
}
REQUIRED_TEXT = ("title", "summary")
# Ten million yuan: far above any microbusiness, far below where arithmetic misbehaves.
MAX_INVESTMENT = Decimal("10000000.00")


@dataclass(frozen=True)
class CleanProject:
    """A project's values after every rule passed."""

    title: str
    industry: str
    investment_min: Decimal
    investment_max: Decimal
    payback_months: int
    jobs_potential: int
    summary: str
    market: str
    risks: str
    startup_steps: str
    licences: str
    expert_contact: str

    def as_row(self) -> dict[str, Any]:
        """Column values for an insert or update."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def _money(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None or value == "":
        return None
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite():
        return None
    if abs(amount) > MAX_INVESTMENT:
        return amount  # the range check refuses it (and quantize fails beyond 28 digits)
    if amount != amount.quantize(Decimal("0.01")):
        return None
    return amount


def _whole(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip() if value is not None else ""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 6 else None


def check_project(values: dict[str, Any]) -> tuple[CleanProject | None, dict[str, list[str]]]:
    """Check every field of one project; answer the clean project or the errors per field."""
    errors: dict[str, list[str]] = {}
    text: dict[str, str] = {}
    for name, limit in TEXT_LIMITS.items():
        raw = values.get(name)
        value = raw.strip() if isinstance(raw, str) else ""
        if raw is not None and not isinstance(raw, str):
            errors[name] = [_("Expected text.")]
        elif name in REQUIRED_TEXT and not value:
            errors[name] = [_("This field is required.")]
        elif len(value) > limit:
            errors[name] = [_("Use at most %(n)s characters.", n=limit)]
        elif "\x00" in value:
            errors[name] = [_("Contains a character that is not allowed.")]
        text[name] = value

    industry = values.get("industry")
    if not isinstance(industry, str) or industry not in INDUSTRY_VALUES:
        errors["industry"] = [_("Choose one of the industries.")]

    amounts: dict[str, Decimal] = {}
    for name in ("investment_min", "investment_max"):
        amount = _money(values.get(name))
        if amount is None:
            errors[name] = [_('Enter an amount in yuan with at most 2 decimals, like "50000.00".')]
        elif amount < 0 or amount > MAX_INVESTMENT:
            errors[name] = [_("Enter an amount between 0 and 10,000,000 yuan.")]
        else:
            amounts[name] = to_money(amount)
    if len(amounts) == 2 and amounts["investment_min"] > amounts["investment_max"]:
        errors["investment_max"] = [_("The highest investment is below the lowest.")]

    numbers: dict[str, int] = {}
    for name, low, high in (("payback_months", 1, 240), ("jobs_potential", 0, 1000)):
        number = _whole(values.get(name))
        if number is None or not low <= number <= high:
            errors[name] = [_("Enter a whole number from %(low)s to %(high)s.", low=low, high=high)]
        else:
            numbers[name] = number

    if errors:
        return None, errors
    return CleanProject(industry=industry, **amounts, **numbers, **text), {}
