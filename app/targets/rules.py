"""What a target may be, and the words for each figure (SPEC §13, §15).

A target is a whole number of 0 or more (trainees, businesses opened, loans, jobs) or an
amount in yuan of 0 or more with at most 2 decimals (the loans' amount); None means "no
target". Limits keep typing slips out and every value inside its column: a count at most
10,000,000, an amount at most 100,000,000,000 yuan. Numbers are int, Decimal or plainly
written text, never floats or booleans. Every message names its field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.core.db import CENT, to_money
from app.targets.models import COUNT_FIELDS, FIRST_YEAR, LAST_YEAR, MONEY_FIELDS, TARGET_FIELDS

MAX_COUNT = 10_000_000
MAX_AMOUNT = Decimal("100000000000")
# An amount as people write it: ASCII digits, an optional point (Decimal would also read
# "1e3", "1_000" and other scripts' digits, which in a target are slips, not intent).
PLAIN_AMOUNT = re.compile(r"-?[0-9]+(\.[0-9]+)?")

# The figures' names in the interface (SPEC §16 glossary for Chinese): the targets page,
# the API's messages and the statistics table use these.
TARGET_LABELS: Mapping[str, Any] = MappingProxyType(
    {
        "trainees": _l("Trainees"),
        "businesses_opened": _l("New businesses opened"),
        "loans_count": _l("Number of guaranteed loans"),
        "loans_amount": _l("Amount of guaranteed loans"),
        "jobs_created": _l("Jobs created"),
    }
)


def target_label(name: str) -> str:
    """A figure's name in the user's language."""
    return str(TARGET_LABELS[name])


def is_valid_year(year: Any) -> bool:
    """True for a whole year from 2000 to 2099, the years targets are set for."""
    return isinstance(year, int) and not isinstance(year, bool) and FIRST_YEAR <= year <= LAST_YEAR


def year_message() -> str:
    """Why a year cannot have targets."""
    return _("The year must be from %(first)s to %(last)s.", first=FIRST_YEAR, last=LAST_YEAR)


def count_message(name: str) -> str:
    """The rule of a count target, with its field's name."""
    return _(
        "%(field)s must be a whole number from 0 to %(max)s.",
        field=target_label(name),
        max=f"{MAX_COUNT:,}",
    )


def amount_message(name: str) -> str:
    """The rule of an amount target, with its field's name."""
    return _(
        '%(field)s must be an amount in yuan from 0 to %(max)s, like "1234.50".',
        field=target_label(name),
        max=f"{MAX_AMOUNT:,}",
    )


def places_message(name: str) -> str:
    """An amount with more than 2 decimals, with its field's name."""
    return _("%(field)s has at most 2 decimals.", field=target_label(name))


def _amount(value: Any) -> Decimal | None:
    """Decimal, int or plainly written text as a finite Decimal; None for anything else."""
    if isinstance(value, bool | float):
        return None
    if isinstance(value, str):
        value = value.strip()
        if not PLAIN_AMOUNT.fullmatch(value):
            return None
    if not isinstance(value, Decimal | int | str):
        return None
    try:
        amount = Decimal(value)
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


def _field_errors(name: str, value: Any) -> list[str]:
    if value is None:
        return []
    if name in COUNT_FIELDS:
        is_count = isinstance(value, int) and not isinstance(value, bool)
        return [] if is_count and 0 <= value <= MAX_COUNT else [count_message(name)]
    amount = _amount(value)
    if amount is None or not 0 <= amount <= MAX_AMOUNT:
        return [amount_message(name)]
    if amount != amount.quantize(CENT):
        return [places_message(name)]
    return []


def target_field_errors(values: Mapping[str, Any]) -> dict[str, list[str]]:
    """Why each target value given cannot be used, per field (None clears a target and is
    always fine; fields left out are not checked)."""
    errors = {}
    for name in TARGET_FIELDS:
        if name in values and (messages := _field_errors(name, values[name])):
            errors[name] = messages
    return errors


def clean_targets(values: Mapping[str, Any]) -> dict[str, Any]:
    """Checked values in their stored form: counts as int, amounts to the fen."""
    clean: dict[str, Any] = {}
    for name, value in values.items():
        if value is not None and name in MONEY_FIELDS:
            value = to_money(_amount(value))
        clean[name] = value
    return clean
