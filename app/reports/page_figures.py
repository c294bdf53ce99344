"""Region figures for the pages people reload, memoised for a few minutes (D51).

The dashboard, its eight charts, the targets' progress on it and the library's outcomes
each compute KPIs over every record of a region: 0.2–1 s a view for a province of 20,000
founders, seconds at a million. Staff keep these pages open and reload them all day, while
a region's figures move by a few records a minute; computing them on every view took most
of the servers' CPU under load (docs/performance.md, "Load test"). So each is computed once
per process for its arguments (region, day, period, and the language where labels are
drawn in: the dashboard's breakdown, a chart) and kept for
`CACHE_DEFAULT_TIMEOUT` seconds (300 by default; `PAGE_FIGURES_SECONDS`).

What must be exact the moment it is asked stays live: `GET /api/v1/kpis`, the list behind
every number and its export, the statistics table, and the monthly snapshots. The dashboard
says when its figures were computed, so a number that differs from its list by the last
minutes' records is explained on the page.

The key is the arguments alone: access (role, region scope) is checked before a figure is
asked for, and a region's figures are the same for everyone allowed to see them.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from markupsafe import Markup

from app.core.db import utcnow
from app.extensions import cache
from app.reports.dimensions import Dimension
from app.reports.kpis import (
    compute_breakdown,
    compute_kpis,
    compute_reemployment,
    group_breakdown,
    survival_breakdown,
)


@cache.memoize()
def dashboard_figures(
    region_code: str,
    as_of: date,
    start: date | None,
    end: date | None,
    breakdown_by: Dimension,
    locale: str,
) -> dict[str, Any]:
    """The dashboard's KPIs, re-employment and breakdown, and when they were computed. The
    language is part of the key: the breakdown's labels (target groups, "with a loan",
    months) are translated as they are computed."""
    return {
        "kpis": compute_kpis(region_code, as_of, start, end),
        "reemployment": compute_reemployment(region_code, as_of, start, end),
        "breakdown": compute_breakdown(region_code, as_of, breakdown_by, start, end),
        "computed_at": utcnow(),
    }


@cache.memoize()
def year_actuals(region_code: str, year: int, as_of: date) -> dict[str, Any]:
    """The year's actuals up to `as_of` behind the dashboard's target lines."""
    from app.targets.progress import actuals_of

    return actuals_of(region_code, year, as_of)


@cache.memoize()
def chart_svg(
    name: str,
    region_code: str,
    as_of: date,
    start: date | None,
    end: date | None,
    locale: str,
) -> Markup:
    """One dashboard chart; the language is part of the key since titles and legends are
    drawn into the SVG."""
    from app.reports.dashboard_charts import render_chart

    return render_chart(name, region_code, as_of, start, end)


@cache.memoize()
def library_outcome_breakdowns(region_code: str | None, as_of: date) -> dict[str, Any]:
    """Jobs, opening and survival of every library project's adopters in a region (None:
    everywhere), the figures `library.queries.project_outcomes` picks each project's from."""
    return {
        "jobs": group_breakdown("jobs", region_code, as_of, Dimension.LIBRARY_ITEM),
        "opening": group_breakdown("opening", region_code, as_of, Dimension.LIBRARY_ITEM),
        "survival": survival_breakdown(region_code, as_of, Dimension.LIBRARY_ITEM),
    }
