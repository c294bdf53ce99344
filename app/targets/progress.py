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

A province's page needs every line at once: `split_progress` answers the province's line
from one `compute_kpis` and all its cities' from one `compute_breakdown` by region (one
set-based pass over the same member rows, so each city's actuals are what `actuals_of`
gives it; a city without records has zero actuals).

Progress is actual / target, rounded half-up to 4 places; None without a target or with a
target of 0. Expected is the share of the year gone by `as_of` (days elapsed, `as_of`
included, over the days of the year; 0 before the year starts, 1 after it ends), also to
4 places. The status is green when progress reaches the expected share, amber from 80 % of
it, red below; None without a target. A target of 0 is met by anything: green.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from app.reports.dimensions import Dimension
from app.reports.kpis import compute_breakdown, compute_kpis, rate
from app.targets.models import MONEY_FIELDS, TARGET_FIELDS
from app.targets.queries import get_targets, list_split
from app.targets.rules import TARGET_LABELS, target_label

__all__ = [
    "TARGET_LABELS",
    "TargetProgress",
    "actuals_of",
    "expected_share",
    "split_actuals",
    "split_progress",
    "target_progress",
]

Actuals = dict[str, int | Decimal]

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


def _year_window(year: int, as_of: date) -> tuple[date, date] | None:
    """The period the year's actuals cover up to `as_of`; None before the year starts."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    if as_of < first:
        return None
    return first, min(as_of, last)


def _no_actuals() -> Actuals:
    return {name: Decimal("0.00") if name in MONEY_FIELDS else 0 for name in TARGET_FIELDS}


def _actuals_from(figures: Mapping[str, Any]) -> Actuals:
    """The five actuals read from one region's KPI figures (`compute_kpis`' shape, or a
    row of `compute_breakdown`)."""
    return {
        "trainees": figures["training"]["enrolled"],
        "businesses_opened": figures["survival"]["businesses"],
        "loans_count": figures["loans"]["disbursed_count"],
        "loans_amount": Decimal(figures["loans"]["disbursed_amount"]),
        "jobs_created": figures["jobs"]["jobs"],
    }


def actuals_of(region_code: str, year: int, as_of: date) -> Actuals:
    """The year's actual figures of the region (a province with its cities) up to
    `as_of`; all 0 when `as_of` is before the year."""
    window = _year_window(year, as_of)
    if window is None:
        return _no_actuals()
    return _actuals_from(compute_kpis(region_code, as_of, start=window[0], end=window[1]))


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


def _lines(
    targets: Mapping[str, int | Decimal | None], actuals: Actuals, expected: Decimal
) -> list[TargetProgress]:
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


def target_progress(
    region_code: str, year: int, as_of: date, actuals: Actuals | None = None
) -> list[TargetProgress]:
    """The five figures of a region's year as of `as_of`: target, actual, progress,
    expected share and status (see the module docstring). `actuals` are `actuals_of`'s,
    when the caller has them already (the dashboard's are memoised)."""
    row = get_targets(year, region_code)
    targets = row.values() if row is not None else dict.fromkeys(TARGET_FIELDS)
    if actuals is None:
        actuals = actuals_of(region_code, year, as_of)
    return _lines(targets, actuals, expected_share(year, as_of))


def split_actuals(
    year: int, province_code: str, as_of: date, region_codes: Collection[str]
) -> dict[str, Actuals]:
    """The year's actuals of these lines of a province's page up to `as_of` (the province's
    code: the province with its cities; a city's: the city alone), as `actuals_of` gives
    each, in at most two passes: `compute_kpis` for the province's line and one breakdown
    by region for the cities' lines (a city without records: all 0)."""
    codes = set(region_codes)
    window = _year_window(year, as_of)
    if window is None:
        return {code: _no_actuals() for code in codes}
    first, end = window
    actuals: dict[str, Actuals] = {}
    if province_code in codes:
        actuals[province_code] = _actuals_from(compute_kpis(province_code, as_of, first, end))
    cities = codes - {province_code}
    if cities:
        # One city alone (a city's staff): its own breakdown is smaller than the province's.
        scope = next(iter(cities)) if len(cities) == 1 else province_code
        rows = compute_breakdown(scope, as_of, Dimension.REGION, first, end)
        by_city = {row["key"]: row for row in rows}
        for code in cities:
            found = by_city.get(code)
            actuals[code] = _actuals_from(found) if found is not None else _no_actuals()
    return actuals


def split_progress(
    year: int, province_code: str, as_of: date, region_codes_in_scope: Collection[str]
) -> dict[str, list[TargetProgress]]:
    """{region code: its five figures' progress} for the lines of a province's page that
    have targets and lie in `region_codes_in_scope`: what `target_progress` answers for
    each, from one `compute_kpis` (the province) and one breakdown by region (the cities)
    instead of a pass per line."""
    wanted = {
        row.region.code: row.values()
        for row in list_split(year, province_code)
        if row.has_targets and row.region.code in region_codes_in_scope
    }
    if not wanted:
        return {}
    actuals = split_actuals(year, province_code, as_of, wanted)
    expected = expected_share(year, as_of)
    return {code: _lines(targets, actuals[code], expected) for code, targets in wanted.items()}
