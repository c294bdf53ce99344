"""What the home page of staff and officers shows (issue 8): the policy indicators of
SPEC §1 against their thresholds, every KPI with the list behind it and a breakdown.
Plain data; the page shapes it, and the charts (reports.dashboard_charts) load apart.

Indicator colours: green when the figure meets the policy threshold, amber within 10 %
of it (e.g. a pass rate from 81 % against 90 %), red below; grey (None) without data.
Every outcome figure carries the follow-up response rate behind it (SPEC §11).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l

from app.core.numbers import percent_text
from app.reports.dimensions import Dimension
from app.reports.kpis import region_codes
from app.reports.page_figures import dashboard_figures

AMBER_WITHIN = Decimal("0.9")


@dataclass(frozen=True)
class PolicyIndicator:
    """One SPEC §1 indicator: its value against the policy threshold."""

    key: str
    label: Any
    value: float | None
    threshold: float
    is_percent: bool
    link: str  # the KPI figure whose list backs it ("training.pass_rate")
    response_rate: float | None = None
    note: Any = None

    @property
    def status(self) -> str | None:
        """green, amber or red against the threshold; None without a value."""
        return indicator_status(self.value, self.threshold)


def indicator_status(value: float | None, threshold: float) -> str | None:
    """green when value ≥ threshold, amber from 90 % of it, red below, None without data."""
    if value is None:
        return None
    number, goal = Decimal(str(value)), Decimal(str(threshold))
    if number >= goal:
        return "green"
    if number >= AMBER_WITHIN * goal:
        return "amber"
    return "red"


@dataclass
class DashboardData:
    """Everything the dashboard draws, for one region as of one day."""

    region_code: str
    as_of: date
    start: date | None
    end: date | None
    kpis: dict[str, Any]
    reemployment: dict[str, Any]
    indicators: list[PolicyIndicator]
    breakdown_by: Dimension
    breakdown: list[dict[str, Any]]
    computed_at: datetime  # the figures are memoised for minutes (reports.page_figures)


def policy_indicators(kpis: dict[str, Any], reemployment: dict[str, Any]) -> list[PolicyIndicator]:
    """SPEC §1's table, measured: each policy target with the figure that answers it."""
    response = kpis["followups"]["response_rate"]
    return [
        PolicyIndicator(
            "pass_rate",
            _l("Training pass rate"),
            kpis["training"]["pass_rate"],
            0.90,
            True,
            "training.pass_rate",
        ),
        PolicyIndicator(
            "rate_3m",
            _l("Business opened within 3 months of training"),
            kpis["opening"]["rate_3m"],
            0.30,
            True,
            "opening.rate_3m",
            response,
        ),
        PolicyIndicator(
            "rate_6m",
            _l("Business opened within 6 months of training"),
            kpis["opening"]["rate_6m"],
            0.50,
            True,
            "opening.rate_6m",
            response,
        ),
        PolicyIndicator(
            "km_12m",
            _l("Businesses still operating after 1 year"),
            kpis["survival"]["km_12m"],
            0.80,
            True,
            "survival.km_12m",
            response,
            _l("Kaplan–Meier; naive rate %(naive)s", naive=_percent(kpis["survival"]["naive_12m"])),
        ),
        PolicyIndicator(
            "jobs_per_business",
            _l("Jobs per founder's business"),
            kpis["jobs"]["jobs_per_business"],
            3,
            False,
            "jobs.jobs_per_business",
            response,
        ),
        PolicyIndicator(
            "reemployment",
            _l("Re-employment after skills training"),
            reemployment["rate"],
            0.60,
            True,
            "reemployment.rate",
            reemployment["response_rate"],
        ),
    ]


def _percent(value: float | None) -> str:
    return percent_text(value)


def default_breakdown(region_code: str) -> Dimension:
    """A province is read by city, a city by target group."""
    return Dimension.REGION if len(region_codes(region_code)) > 1 else Dimension.TARGET_GROUP


def build_dashboard(
    region_code: str,
    as_of: date,
    start: date | None = None,
    end: date | None = None,
    breakdown_by: Dimension | None = None,
    *,
    locale: str,
) -> DashboardData:
    """Gather the dashboard's figures for the region as of `as_of` (period optional),
    computed at most a few minutes ago (reports.page_figures) for a viewer reading
    `locale` (the language the breakdown's labels are in)."""
    breakdown_by = breakdown_by or default_breakdown(region_code)
    figures = dashboard_figures(region_code, as_of, start, end, breakdown_by, locale)
    return DashboardData(
        region_code=region_code,
        as_of=as_of,
        start=start,
        end=end,
        kpis=figures["kpis"],
        reemployment=figures["reemployment"],
        indicators=policy_indicators(figures["kpis"], figures["reemployment"]),
        breakdown_by=breakdown_by,
        breakdown=figures["breakdown"],
        computed_at=figures["computed_at"],
    )
