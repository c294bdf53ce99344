"""Demo targets (SPEC §13, D44): Hainan's annual targets for `as_of`'s year and the year
before, set from the demo's own figures so the dashboard and the targets page have
something to say.

The province's target of each figure is a factor times the year's pace: the actual so far
(`targets.progress.split_actuals`, the figures progress is measured on) over the share of
the year gone by `as_of` (the whole year for last year). A factor above 1 leaves the
province behind, below 1 ahead: this year trainees are slightly behind (amber), jobs
behind (red), businesses and loans on track (green).

Each figure is then split to the cities in proportion to their actuals, each city's
weight shaken a little by the demo's random stream, so cities land on both sides of their
pace. Every city gets at least one of each count (the province's count is raised to the
number of cities if need be) and, where there is enough to go round, one average loan's
amount. The split adds up exactly except in this year's jobs, where the cities' targets
add up to a little more than the province's, so the page shows its split warning.
Amounts are whole 10,000 yuan.

Everything goes through `targets.operations.set_province_targets` as the demo
administrator, so each line is audited as if typed into the province's page.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from random import Random
from typing import Any

from sqlalchemy import select

from app.auth.models import User
from app.core.permissions import Role
from app.extensions import db
from app.regions.queries import region_codes_in
from app.targets.models import MONEY_FIELDS, TARGET_FIELDS
from app.targets.operations import set_province_targets
from app.targets.progress import expected_share, split_actuals

# The demo province (the demo logins' own).
PROVINCE = "460000"
# Province target = factor × pace. Above 1: behind; 0.8 × pace / factor is amber's edge.
FACTORS: Mapping[str, Mapping[str, Decimal]] = {
    "current": {
        "trainees": Decimal("1.10"),  # 91 % of pace: slightly behind
        "businesses_opened": Decimal("0.95"),
        "loans_count": Decimal("0.95"),
        "loans_amount": Decimal("0.92"),  # a bit ahead of pace
        "jobs_created": Decimal("1.30"),  # 77 % of pace: behind
    },
    "previous": {
        "trainees": Decimal("1.05"),  # missed by a little
        "businesses_opened": Decimal("0.90"),
        "loans_count": Decimal("1.00"),
        "loans_amount": Decimal("0.95"),
        "jobs_created": Decimal("1.10"),  # missed
    },
}
# The one figure of this year whose cities' split does not add up (SPEC §13's warning).
MISMATCH_FIELD = "jobs_created"
# How much the cities over-commit on it: this share of the province's target (at least 1).
MISMATCH_SHARE = Decimal("0.05")
# A city's weight is its actual times a factor drawn from this range, plus this share of
# the cities' mean, so a city without records this year still gets a share.
JITTER = (0.8, 1.25)
SMOOTHING = 0.2
# Amounts are set in whole units of this many yuan; a city's least is one average loan
# (this many units when the province has no loans yet).
AMOUNT_UNIT = Decimal(10_000)
DEFAULT_LOAN_UNITS = 10


def write_targets(rng: Random, *, as_of: date, demo_usernames: Iterable[str]) -> dict[str, int]:
    """Set Hainan's and its cities' targets for `as_of`'s year and the year before, as the
    demo administrator; commit; answer the number of target rows written."""
    admin = db.session.scalar(
        select(User).where(User.username.in_(list(demo_usernames)), User.role == Role.ADMIN)
    )
    codes = sorted(region_codes_in(PROVINCE))
    if admin is None or PROVINCE not in codes:
        return {"targets": 0}
    rows = 0
    for year, kind in ((as_of.year - 1, "previous"), (as_of.year, "current")):
        lines = plan_targets(
            rng,
            province_code=PROVINCE,
            actuals=split_actuals(year, PROVINCE, as_of, codes),
            share=expected_share(year, as_of),
            factors=FACTORS[kind],
            mismatch=MISMATCH_FIELD if kind == "current" else None,
        )
        rows += len(set_province_targets(admin, year, PROVINCE, lines))
    db.session.commit()
    return {"targets": rows}


def plan_targets(
    rng: Random,
    *,
    province_code: str,
    actuals: Mapping[str, Mapping[str, Any]],
    share: Decimal,
    factors: Mapping[str, Decimal],
    mismatch: str | None,
) -> dict[str, dict[str, Any]]:
    """{region code: targets} for a province (from its own actuals) and its cities (the
    province's targets split by theirs); `mismatch` names the figure whose cities' targets
    add up to more than the province's. A city's figure of 0 is left without a target."""
    cities = sorted(code for code in actuals if code != province_code)
    plan: dict[str, dict[str, Any]] = {code: {} for code in [province_code, *cities]}
    own = actuals[province_code]
    for name in TARGET_FIELDS:
        unit = AMOUNT_UNIT if name in MONEY_FIELDS else Decimal(1)
        pace = Decimal(own[name]) / share if share else Decimal(0)
        floor = _floor(name, own, unit)
        # Every city gets each count (a tiny or brand-new year's pace may be less than
        # that); the amount's floor applies only where there is enough to go round.
        least = 1 if name in MONEY_FIELDS else floor * len(cities)
        total = max(least, 1, _units(factors[name] * pace, unit))
        shares = [float(actuals[code][name]) * rng.uniform(*JITTER) for code in cities]
        smoothing = SMOOTHING * sum(shares) / len(shares) if shares else 0.0
        weights = [weight + smoothing for weight in shares]
        parts = apportion(total, weights, floor=floor if total >= floor * len(cities) else 0)
        if name == mismatch and parts:
            extra = max(1, _units(MISMATCH_SHARE * total, Decimal(1)))
            parts[weights.index(max(weights))] += extra  # the largest city pledges more
        plan[province_code][name] = _value(name, total, unit)
        for code, part in zip(cities, parts, strict=True):
            plan[code][name] = _value(name, part, unit) if part else None
    return plan


def _units(value: Decimal, unit: Decimal) -> int:
    return int((value / unit).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _floor(name: str, own: Mapping[str, Any], unit: Decimal) -> int:
    """The least a city is given of a figure, in units: one of each count, and one loan's
    worth of the amount (the province's average loan this year)."""
    if name not in MONEY_FIELDS:
        return 1
    if not own["loans_count"]:
        return DEFAULT_LOAN_UNITS
    return max(1, _units(Decimal(own[name]) / own["loans_count"], unit))


def _value(name: str, units: int, unit: Decimal) -> int | Decimal:
    return (units * unit).quantize(Decimal("0.01")) if name in MONEY_FIELDS else units


def apportion(total: int, weights: list[float], *, floor: int = 0) -> list[int]:
    """`total` split into whole parts in proportion to `weights` (largest remainders, ties
    to the first), each at least `floor`; the parts add up to `total` exactly."""
    if not weights:
        return []
    rest = total - floor * len(weights)
    if rest < 0:
        raise ValueError("total is smaller than the floors")
    weight_sum = sum(weights)
    if weight_sum > 0:
        quotas = [rest * weight / weight_sum for weight in weights]
    else:
        quotas = [rest / len(weights)] * len(weights)
    parts = [int(quota) for quota in quotas]
    by_remainder = sorted(
        range(len(weights)), key=lambda index: (parts[index] - quotas[index], index)
    )
    for index in by_remainder[: rest - sum(parts)]:
        parts[index] += 1
    return [floor + part for part in parts]
