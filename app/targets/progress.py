"""Progress towards a region's targets: the year's actuals up to a date, against the
targets, with a colour for how the region is doing (SPEC §13; D44).

Actuals are the KPI engine's figures (`reports.kpis.compute_kpis`) of the region (a
province with its cities) as of `as_of`, over the period from 1 January of the year to
`as_of` (the year's end at the latest):

- trainees: entrepreneurship training `enrolled`;
- businesses_opened: the businesses opened in the period (`survival.businesses`);
- loans_count, loans_amount: loans disbursed in the period;
- jobs_created: the employees of the businesses opened in the period and operating on
  `as_of` (`jobs.jobs`).

Progress is actual / target, rounded half-up to 4 places; None without a target or with a
target of 0. Expected is the share of the year gone by `as_of` (days elapsed, `as_of`
included, over the days of the year; 0 before the year starts, 1 after it ends), also to
4 places. The status is green when progress reaches the expected share, amber from 80 % of
it, red below; None without a target. A target of 0 is met by anything: green.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from app.reports.kpis import compute_kpis, rate
from app.targets.models import MONEY_FIELDS, TARGET_FIELDS
from app.targets.queries import get_targets
from app.targets.rules import TARGET_LABELS, target_label

__all__ = ["TARGET_LABELS", "TargetProgress", "actuals_of", "expected_share", "target_progress"]

PLACES = Decimal("0.0001")
AMBER_SHARE = Decimal("0.8")
GREEN, AMBER, RED = "green", "amber", "red"


@dataclass(frozen=True)
class TargetProgress:
    """One figure of a region's year: the target, the actual so far and how it is going."""

    field: str
    label: str
    target: int | Decimal | None
    actual: int | Decimal
    progress: float | None
    expected: float
    status: str | None

    @property
    def is_money(self) -> bool:
        """True for the amount of loans (shown and answered as money)."""
        return self.field in MONEY_FIELDS


def _round(value: Decimal) -> Decimal:
    return value.quantize(PLACES, rounding=ROUND_HALF_UP)


def expected_share(year: int, as_of: date) -> Decimal:
    """The share of `year` gone by `as_of` (that day included), to 4 places: 0 before the
    year starts, 1 once it has ended."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    if as_of < first:
        return Decimal(0)
    elapsed = (min(as_of, last) - first).days + 1
    return _round(Decimal(elapsed) / Decimal((last - first).days + 1))


def actuals_of(region_code: str, year: int, as_of: date) -> dict[str, int | Decimal]:
    """The year's actual figures of the region (a province with its cities) up to
    `as_of`; all 0 when `as_of` is before the year."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    if as_of < first:
        return {name: Decimal("0.00") if name in MONEY_FIELDS else 0 for name in TARGET_FIELDS}
    kpis: dict[str, Any] = compute_kpis(region_code, as_of, start=first, end=min(as_of, last))
    return {
        "trainees": kpis["training"]["enrolled"],
        "businesses_opened": kpis["survival"]["businesses"],
        "loans_count": kpis["loans"]["disbursed_count"],
        "loans_amount": Decimal(kpis["loans"]["disbursed_amount"]),
        "jobs_created": kpis["jobs"]["jobs"],
    }


def _status(target: int | Decimal | None, progress: float | None, expected: Decimal) -> str | None:
    if target is None:
        return None
    if progress is None:  # a target of 0: met whatever happens
        return GREEN
    done = Decimal(str(progress))
    if done >= expected:
        return GREEN
    if done >= AMBER_SHARE * expected:
        return AMBER
    return RED


def target_progress(region_code: str, year: int, as_of: date) -> list[TargetProgress]:
    """The five figures of a region's year as of `as_of`: target, actual, progress,
    expected share and status (see the module docstring)."""
    row = get_targets(year, region_code)
    targets = row.values() if row is not None else dict.fromkeys(TARGET_FIELDS)
    actuals = actuals_of(region_code, year, as_of)
    expected = expected_share(year, as_of)
    lines = []
    for name in TARGET_FIELDS:
        target, actual = targets[name], actuals[name]
        progress = rate(actual, target) if target is not None else None
        lines.append(
            TargetProgress(
                field=name,
                label=target_label(name),
                target=target,
                actual=actual,
                progress=progress,
                expected=float(expected),
                status=_status(target, progress, expected),
            )
        )
    return lines
