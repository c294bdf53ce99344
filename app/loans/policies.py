"""Loan policies per region (SPEC §9): what applies where, and the admin's changes.

Rules decided here:

- A region's policy is its own row, else its province's row, else `DEFAULT_POLICY`; a
  province never inherits from anything but the defaults. Reading it costs two primary-key
  lookups (the region, then the policy rows of the region and its province in one query).
- Defaults follow SPEC §9. `subsidy_rate` defaults to 1: public funds pay all the interest,
  the first of SPEC's examples and the usual terms of the national start-up guaranteed
  loan for individuals; a region that shares the interest sets 0.5.
- Limits (every message names its field): the maximum amount is more than 0 and at most
  10,000,000 yuan, with at most 2 decimals; the term 1 to 360 months; default after 1 to
  3650 days past due; the annual rate at least 0 and below 0.36 (a rate of 36 percent or
  more is a typing slip such as 3.45 for 0.0345; 0 is an interest-free loan); the subsidy
  share, the guarantee ratio and the suspension threshold 0 to 1; the leverage more than
  0 and at most 100. Rates have at most 6 decimals (the `Rate` column stores millionths).
  Numbers are Decimal, int or plainly written text, never floats; flags real booleans.
- Only administrators change policies. A PUT sets the region's own row: a field left out
  keeps the value that applies now, so a city's first change of one field copies its
  province's (or the default) others into the city's own row, and an empty PUT pins the
  inherited policy as the region's own. Writers of one region's policy queue on the region
  row, so two changes never both insert it.
- Clearing deletes a region's own row: a city inherits its province's policy again, a
  province falls back to the defaults. Clearing a region without a row of its own is a 409.
- Audit: `loan_policy.create` (before: the values that applied and where they came from;
  after: the new row), `loan_policy.update` (only the changed fields; nothing is written
  when nothing changed), `loan_policy.clear` (before: the row; after: what applies now),
  all under the policy's region.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.core.audit import changed_fields, record_audit
from app.core.db import CENT, RATE_UNIT, format_money, to_money, to_rate
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.core.permissions import Role
from app.extensions import db
from app.loans.models import LoanPolicy
from app.regions.models import Region
from app.regions.queries import get_region, list_regions

POLICY_FIELDS = (
    "max_amount",
    "max_term_months",
    "annual_rate",
    "subsidy_rate",
    "require_training",
    "default_days",
    "guarantee_ratio",
    "leverage",
    "suspend_compensation_rate",
    "subsidy_requires_on_time",
)
MONEY_FIELDS = ("max_amount",)
WHOLE_NUMBER_FIELDS = ("max_term_months", "default_days")
RATE_FIELDS = (
    "annual_rate",
    "subsidy_rate",
    "guarantee_ratio",
    "leverage",
    "suspend_compensation_rate",
)
FLAG_FIELDS = ("require_training", "subsidy_requires_on_time")

DEFAULT_POLICY: Mapping[str, Any] = MappingProxyType(
    {
        "max_amount": Decimal("300000.00"),
        "max_term_months": 36,
        "annual_rate": Decimal("0.0345"),
        "subsidy_rate": Decimal("1"),
        "require_training": True,
        "default_days": 90,
        "guarantee_ratio": Decimal("0.8"),
        "leverage": Decimal("5"),
        "suspend_compensation_rate": Decimal("0.05"),
        "subsidy_requires_on_time": True,
    }
)

MAX_AMOUNT = Decimal("10000000")
MIN_TERM_MONTHS, MAX_TERM_MONTHS = 1, 360
MIN_DEFAULT_DAYS, MAX_DEFAULT_DAYS = 1, 3650
ANNUAL_RATE_CEILING = Decimal("0.36")  # excluded
MAX_LEVERAGE = Decimal("100")
RATE_PLACES = 6
# How people write a number: ASCII digits, an optional point and sign. Decimal also reads
# "1e-3", "1_000" and other scripts' digits, which in a policy are slips, not intent.
PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")

FIELD_LABELS: Mapping[str, Any] = MappingProxyType(
    {
        "max_amount": _l("Maximum amount (yuan)"),
        "max_term_months": _l("Maximum term (months)"),
        "annual_rate": _l("Annual interest rate"),
        "subsidy_rate": _l("Interest subsidy share"),
        "require_training": _l("Entrepreneurship training required"),
        "default_days": _l("Days past due before default"),
        "guarantee_ratio": _l("Guarantee ratio"),
        "leverage": _l("Leverage"),
        "suspend_compensation_rate": _l("Compensation rate that suspends new loans"),
        "subsidy_requires_on_time": _l("Subsidy only on installments paid on time"),
    }
)
# The range of each number, said with its field's name; the form shows the same words.
RANGE_MESSAGES: Mapping[str, Any] = MappingProxyType(
    {
        "max_amount": _l("The maximum amount must be more than 0 and at most 10,000,000 yuan."),
        "max_term_months": _l("The maximum term is a whole number of months from 1 to 360."),
        "default_days": _l("The days past due before default are a whole number from 1 to 3650."),
        "annual_rate": _l(
            "The annual interest rate must be at least 0 and below 0.36; write 3.45 percent "
            "as 0.0345."
        ),
        "subsidy_rate": _l(
            "The interest subsidy share is from 0 to 1; 1 means public funds pay all the interest."
        ),
        "guarantee_ratio": _l("The guarantee ratio is from 0 to 1, like 0.8."),
        "leverage": _l("The leverage must be more than 0 and at most 100."),
        "suspend_compensation_rate": _l(
            "The compensation rate that suspends new loans is from 0 to 1, like 0.05."
        ),
    }
)


@dataclass(frozen=True)
class EffectivePolicy:
    """The policy that applies in a region, and whose row it comes from."""

    region_code: str
    # The region whose row applies: the region itself, its province, or None (defaults).
    source_region_code: str | None
    max_amount: Decimal
    max_term_months: int
    annual_rate: Decimal
    subsidy_rate: Decimal
    require_training: bool
    default_days: int
    guarantee_ratio: Decimal
    leverage: Decimal
    suspend_compensation_rate: Decimal
    subsidy_requires_on_time: bool
    updated_at: datetime | None = None
    updated_by_id: int | None = None

    @property
    def is_default(self) -> bool:
        """True when neither the region nor its province has a row: the built-in defaults."""
        return self.source_region_code is None

    @property
    def is_inherited(self) -> bool:
        """True when the region has no row of its own (its province's or the defaults)."""
        return self.source_region_code != self.region_code

    @property
    def source(self) -> str:
        """Where the values come from: "own", "province" or "default"."""
        if self.is_default:
            return "default"
        return "province" if self.is_inherited else "own"

    def values(self) -> dict[str, Any]:
        """The policy fields alone, as the operations and the form take them."""
        return {name: getattr(self, name) for name in POLICY_FIELDS}

    def as_json(self) -> dict[str, Any]:
        """The API's answer: money as "300000.00", rates as plain decimals like "0.0345"."""
        body: dict[str, Any] = {
            "region_code": self.region_code,
            "source": self.source,
            "source_region_code": self.source_region_code,
        }
        for name in POLICY_FIELDS:
            value = getattr(self, name)
            if name in MONEY_FIELDS:
                value = format_money(value)
            elif name in RATE_FIELDS:
                value = rate_text(value)
            body[name] = value
        body["updated_at"] = self.updated_at.isoformat() if self.updated_at else None
        return body

    def audit_values(self) -> dict[str, Any]:
        """The values and where they came from, for an audit entry's `before` or `after`."""
        return {
            **self.values(),
            "source": self.source,
            "source_region_code": self.source_region_code,
        }


def rate_text(value: Decimal) -> str:
    """A rate written plainly with at most 6 decimals: "0.0345", "1", "5", never "1E+2"."""
    return format(to_rate(value), "f")


def _from_row(region_code: str, row: LoanPolicy | None) -> EffectivePolicy:
    if row is None:
        return EffectivePolicy(region_code=region_code, source_region_code=None, **DEFAULT_POLICY)
    return EffectivePolicy(
        region_code=region_code,
        source_region_code=row.region_code,
        updated_at=row.updated_at,
        updated_by_id=row.updated_by_id,
        **{name: getattr(row, name) for name in POLICY_FIELDS},
    )


def _resolve(region: Region, rows: Mapping[str, LoanPolicy]) -> EffectivePolicy:
    """The region's own row, else its province's, else the defaults."""
    row = rows.get(region.code) or rows.get(region.province_code)
    return _from_row(region.code, row)


def get_policy_region(region_code: str) -> Region:
    """The region whose policy is asked for; an unknown region is a NotFound."""
    region = get_region(region_code)
    if region is None:
        raise NotFound(_("Unknown region."))
    return region


def _effective_for(region: Region) -> EffectivePolicy:
    codes = {region.code, region.province_code}
    rows = db.session.scalars(select(LoanPolicy).where(LoanPolicy.region_code.in_(codes)))
    return _resolve(region, {row.region_code: row for row in rows})


def get_effective_policy(region_code: str) -> EffectivePolicy:
    """The loan policy that applies in a region: its own, else its province's, else the
    defaults. An unknown region is a NotFound."""
    return _effective_for(get_policy_region(region_code))


def may_read_policy(user: Any, region: Region) -> bool:
    """Admins read every region's policy; an officer the regions of their area and their
    own province, whose policy is the one their city falls back to. Nobody else."""
    role = getattr(user, "role", None)
    if role == Role.ADMIN:
        return True
    if role != Role.OFFICER or not getattr(user, "region_code", None):
        return False
    own_province = user.region.province_code if user.region is not None else user.region_code
    return user.region_code in (region.code, region.parent_code) or region.code == own_province


def get_policy_in_scope(user: Any, region_code: str) -> EffectivePolicy:
    """The policy of a region the user may read; 404 for unknown and out-of-scope regions
    alike."""
    region = get_region(region_code)
    if region is None or not may_read_policy(user, region):
        raise NotFound(_("No such region in your area."))
    return _effective_for(region)


@dataclass(frozen=True)
class RegionPolicy:
    """One line of the admin's overview: a region, the policy that applies there and the
    region that policy belongs to (None for the defaults)."""

    region: Region
    policy: EffectivePolicy
    source_region: Region | None


def list_region_policies() -> list[RegionPolicy]:
    """Every region in tree order (each province followed by its cities) with its policy,
    read in two queries."""
    rows = {row.region_code: row for row in db.session.scalars(select(LoanPolicy))}
    regions = list_regions()
    by_code = {region.code: region for region in regions}
    lines = []
    for region in regions:
        policy = _resolve(region, rows)
        source = by_code.get(policy.source_region_code) if policy.source_region_code else None
        lines.append(RegionPolicy(region, policy, source))
    return lines


# Validation ------------------------------------------------------------------------------
def _label(name: str) -> str:
    return str(FIELD_LABELS[name])


def _number(value: Any) -> Decimal | None:
    """Decimal, int or plainly written text as a finite Decimal; None for anything else."""
    if isinstance(value, bool | float):
        return None
    if isinstance(value, str):
        if not PLAIN_NUMBER.fullmatch(value.strip()):
            return None
        value = value.strip()
    if not isinstance(value, Decimal | int | str):
        return None
    try:
        number = Decimal(value)
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _in_range(name: str, value: Decimal | int) -> bool:
    if name == "max_amount":
        return 0 < value <= MAX_AMOUNT
    if name == "max_term_months":
        return MIN_TERM_MONTHS <= value <= MAX_TERM_MONTHS
    if name == "default_days":
        return MIN_DEFAULT_DAYS <= value <= MAX_DEFAULT_DAYS
    if name == "annual_rate":
        return 0 <= value < ANNUAL_RATE_CEILING
    if name == "leverage":
        return 0 < value <= MAX_LEVERAGE
    return 0 <= value <= 1  # subsidy share, guarantee ratio, suspension threshold


def _field_errors(name: str, value: Any) -> list[str]:
    if value is None:
        return [_("%(field)s is required.", field=_label(name))]
    if name in FLAG_FIELDS:
        if isinstance(value, bool):
            return []
        return [_("%(field)s must be true or false.", field=_label(name))]
    if name in WHOLE_NUMBER_FIELDS:
        if isinstance(value, bool) or not isinstance(value, int):
            return [_("%(field)s must be a whole number.", field=_label(name))]
        return [] if _in_range(name, value) else [str(RANGE_MESSAGES[name])]
    number = _number(value)
    if number is None:
        example = "300000.00" if name in MONEY_FIELDS else rate_text(DEFAULT_POLICY[name])
        return [
            _(
                '%(field)s must be a number written plainly, like "%(example)s".',
                field=_label(name),
                example=example,
            )
        ]
    if not _in_range(name, number):
        return [str(RANGE_MESSAGES[name])]
    unit, places = (CENT, 2) if name in MONEY_FIELDS else (RATE_UNIT, RATE_PLACES)
    if number != number.quantize(unit):
        return [_("%(field)s has at most %(n)s decimals.", field=_label(name), n=places)]
    return []


def policy_field_errors(values: Mapping[str, Any]) -> dict[str, list[str]]:
    """Why each policy value given cannot be used, per field (fields left out are not
    checked; a value of None is a missing one)."""
    errors = {}
    for name in POLICY_FIELDS:
        if name in values and (messages := _field_errors(name, values[name])):
            errors[name] = messages
    return errors


def _clean(values: Mapping[str, Any]) -> dict[str, Any]:
    """Checked values in their stored form: money to the fen, rates to the millionth."""
    clean: dict[str, Any] = {}
    for name in POLICY_FIELDS:
        value = values[name]
        if name in MONEY_FIELDS:
            value = to_money(_number(value))
        elif name in RATE_FIELDS:
            value = to_rate(_number(value))
        clean[name] = value
    return clean


# Changes ---------------------------------------------------------------------------------
def _require_admin(actor: Any) -> None:
    if getattr(actor, "role", None) != Role.ADMIN:
        raise PermissionDenied(_("Only administrators change loan policies."))


def _lock_region(region_code: str) -> Region:
    """The region, its row held until commit so that one region's policy changes queue
    (PostgreSQL: FOR NO KEY UPDATE, which still lets rows that reference the region be
    added; SQLite's writers hold the database lock from their BEGIN)."""
    region = get_policy_region(region_code)
    db.session.execute(
        select(Region.code).where(Region.code == region.code).with_for_update(key_share=True)
    )
    return region


def _row_values(row: LoanPolicy) -> dict[str, Any]:
    return {name: getattr(row, name) for name in POLICY_FIELDS}


def put_policy(
    actor: Any, region_code: str, values: Mapping[str, Any], *, as_of: datetime
) -> LoanPolicy:
    """An administrator sets a region's own policy. Fields left out keep the values that
    apply now; `as_of` is the moment of the change, stamped as `updated_at`."""
    _require_admin(actor)
    unknown = set(values) - set(POLICY_FIELDS)
    if unknown:
        raise ValueError(f"not policy fields: {sorted(unknown)}")
    region = _lock_region(region_code)
    effective = _effective_for(region)
    merged = effective.values() | dict(values)
    if errors := policy_field_errors(merged):
        raise ValidationFailed(errors)
    clean = _clean(merged)
    row = db.session.get(LoanPolicy, region.code)
    if row is None:
        row = LoanPolicy(region_code=region.code, updated_at=as_of, updated_by_id=actor.id, **clean)
        db.session.add(row)
        record_audit(actor, "loan_policy.create", row, effective.audit_values(), _row_values(row))
        return row
    before = _row_values(row)
    changes = changed_fields(before, clean)
    if not changes:
        return row
    for name, value in changes.items():
        setattr(row, name, value)
    row.updated_at = as_of
    row.updated_by_id = actor.id
    record_audit(
        actor, "loan_policy.update", row, {name: before[name] for name in changes}, changes
    )
    return row


def clear_policy(actor: Any, region_code: str) -> EffectivePolicy:
    """An administrator removes a region's own policy: a city inherits its province's
    again, a province falls back to the defaults. Answers the policy that applies now."""
    _require_admin(actor)
    region = _lock_region(region_code)
    row = db.session.get(LoanPolicy, region.code)
    if row is None:
        raise Conflict(_("This region has no loan policy of its own."))
    before = {**_row_values(row), "source": "own", "source_region_code": region.code}
    db.session.delete(row)
    db.session.flush()
    now = _effective_for(region)
    record_audit(
        actor,
        "loan_policy.clear",
        (LoanPolicy.__tablename__, region.code),
        before,
        now.audit_values(),
        region_code=region.code,
    )
    return now
