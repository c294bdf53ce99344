"""Trend series for charts, read from the monthly KPI snapshots (`reports.jobs`).

A figure is named by a path into a snapshot row's figures: "group.figure" for a KPI of
SPEC §14 ("loans.par30", "jobs.jobs_per_business", "opening.rate_3m") or
"counts.<name>" for one of the snapshot's counts ("counts.businesses_opened"). A figure
a row lacks (a null rate, a row written before the figure existed) is None, so the chart
leaves a gap instead of drawing a zero.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from app.core.dates import add_months
from app.extensions import db
from app.reports.models import KpiSnapshot


def snapshot_series(
    region_code: str, paths: list[str], until: date, months: int = 12
) -> tuple[list[date], dict[str, list[float | None]]]:
    """The region's snapshot dates in the `months` months up to `until` (oldest first), and
    for each path its value on each of those dates (None where missing; money as float)."""
    keys = {path: _split(path) for path in paths}
    rows = db.session.execute(
        select(KpiSnapshot.as_of, KpiSnapshot.figures)
        .where(
            KpiSnapshot.region_code == region_code,
            KpiSnapshot.as_of > add_months(until, -months),
            KpiSnapshot.as_of <= until,
        )
        .order_by(KpiSnapshot.as_of)
    ).all()
    dates = [row.as_of for row in rows]
    series = {
        path: [_number(_lookup(row.figures, *key)) for row in rows] for path, key in keys.items()
    }
    return dates, series


def _split(path: str) -> tuple[str, str]:
    group, dot, figure = path.partition(".")
    if not dot or not group or not figure or "." in figure:
        raise ValueError(f"A figure path is 'group.figure' or 'counts.name', not {path!r}")
    return group, figure


def _lookup(figures: Any, group: str, figure: str) -> Any:
    if not isinstance(figures, dict):
        return None
    if group == "counts":
        # Rows written before the snapshot held KPIs were the counts alone.
        counts = figures.get("counts", figures if "kpis" not in figures else None)
        return counts.get(figure) if isinstance(counts, dict) else None
    values = (figures.get("kpis") or {}).get(group)
    return values.get(figure) if isinstance(values, dict) else None


def _number(value: Any) -> float | None:
    """A JSON figure as a float: numbers as they are, money strings ("1234.50") parsed."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None
