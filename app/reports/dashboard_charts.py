"""The dashboard's charts, drawn server-side as SVG (reports.charts), one at a time.

Each chart gathers its own figures, so the page can ask for them separately (as images
the browser loads beside the page) instead of waiting for all of them at once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from app.loans.forms import BUCKET_LABELS
from app.reports.charts import Series, bar_chart, line_chart, survival_chart
from app.reports.dimensions import Dimension
from app.reports.kpis import group_breakdown, portfolio_by_bucket, region_codes
from app.reports.survival import survival_curve
from app.reports.trends import snapshot_series

# Months of history the by-month charts show.
CHART_MONTHS = 24

CHART_TITLES: dict[str, Any] = {
    "opening": _l("Opening rate at 3 and 6 months, by month of training"),
    "survival": _l("Business survival (Kaplan–Meier, 95% band)"),
    "jobs": _l("Jobs per operating business, month by month"),
    "portfolio": _l("Outstanding principal by days past due (yuan)"),
    "par30": _l("PAR30 and on-time repayment, month by month"),
    "followups": _l("Follow-ups by month due: on time, late, missed, still open"),
    "trends": _l("Programme outcomes, month by month"),
    "counts": _l("Founders, operating businesses and jobs, month by month"),
}


def render_chart(
    name: str, region_code: str, as_of: date, start: date | None = None, end: date | None = None
) -> Markup:
    """The named chart of the region as of `as_of` (period optional) as SVG markup."""
    return _BUILDERS[name](str(CHART_TITLES[name]), region_code, as_of, start, end)


def _empty() -> str:
    return _("No data yet for this chart.")


def _opening(title: str, region: str, as_of: date, start: Any, end: Any) -> Markup:
    months = _recent(group_breakdown("opening", region, as_of, Dimension.MONTH, start, end))
    return line_chart(
        title,
        [month for month, _figures in months],
        [
            Series(_("Within 3 months"), [figures["rate_3m"] for _m, figures in months]),
            Series(_("Within 6 months"), [figures["rate_6m"] for _m, figures in months]),
        ],
        percent=True,
        target=0.5,
        target_label=_("6-month target"),
        empty_text=_empty(),
    )


def _survival(title: str, region: str, as_of: date, start: Any, end: Any) -> Markup:
    return survival_chart(
        title,
        survival_curve(region_codes(region), as_of, start, end),
        label_days=_("Days since opening"),
        label_survival=_("Still operating"),
        empty_text=_empty(),
    )


def _portfolio(title: str, region: str, as_of: date, start: Any, end: Any) -> Markup:
    rows = portfolio_by_bucket(region, as_of, start, end)
    return bar_chart(
        title,
        [str(BUCKET_LABELS.get(row["bucket"], row["bucket"])) for row in rows],
        [Series(_("Outstanding principal"), [float(row["outstanding"]) for row in rows])],
        stacked=False,
        empty_text=_empty(),
    )


def _followups(title: str, region: str, as_of: date, start: Any, end: Any) -> Markup:
    months = _recent(group_breakdown("followups", region, as_of, Dimension.MONTH, start, end))

    def column(pick: Callable[[dict[str, Any]], int]) -> list[float | None]:
        return [float(pick(figures)) for _month, figures in months]

    return bar_chart(
        title,
        [month for month, _figures in months],
        [
            Series(_("On time"), column(lambda f: f["done_on_time"])),
            Series(_("Late"), column(lambda f: f["done"] - f["done_on_time"])),
            Series(_("Missed"), column(lambda f: f["missed"])),
            Series(_("Still open"), column(lambda f: f["due"] - f["done"] - f["missed"])),
        ],
        stacked=True,
        empty_text=_empty(),
    )


def _trend(
    paths: list[tuple[str, Any]], *, percent: bool, target: float | None = None
) -> Callable[..., Markup]:
    """A chart of monthly snapshot figures (the `monthly` job's kpi_snapshot rows)."""

    def build(title: str, region: str, as_of: date, start: Any, end: Any) -> Markup:
        dates, series = snapshot_series(region, [path for path, _label in paths], until=as_of)
        return line_chart(
            title,
            [day.strftime("%Y-%m") for day in dates],
            [Series(str(label), series[path]) for path, label in paths],
            percent=percent,
            target=target,
            target_label=_("Policy target") if target is not None else "",
            empty_text=_empty(),
        )

    return build


def _recent(by_month: dict[Any, dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    months = sorted(key for key in by_month if key is not None)[-CHART_MONTHS:]
    return [(month, by_month[month]) for month in months]


_BUILDERS: dict[str, Callable[..., Markup]] = {
    "opening": _opening,
    "survival": _survival,
    "jobs": _trend([("jobs.jobs_per_business", _l("Jobs per business"))], percent=False, target=3),
    "portfolio": _portfolio,
    "par30": _trend(
        [("loans.par30", _l("PAR30")), ("loans.on_time_rate", _l("On-time repayment"))],
        percent=True,
    ),
    "followups": _followups,
    "trends": _trend(
        [
            ("training.pass_rate", _l("Pass rate")),
            ("opening.rate_6m", _l("Opened within 6 months")),
            ("survival.km_12m", _l("12-month survival")),
            ("followups.response_rate", _l("Follow-up response rate")),
        ],
        percent=True,
    ),
    "counts": _trend(
        [
            ("counts.founders_registered", _l("Founders registered")),
            ("counts.businesses_operating", _l("Businesses operating")),
            ("counts.jobs", _l("Jobs")),
        ],
        percent=False,
    ),
}
