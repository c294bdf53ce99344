"""Business survival (SPEC §11): a Kaplan–Meier estimator and the survival figures.

The estimator is written out here rather than taken from lifelines or statsmodels so the
app does not ship a modelling library for thirty lines of arithmetic; the tests hold it to
statsmodels' `SurvfuncRight` on random data to 1e-9 (survival, standard error and the
log(−log) interval). Durations are whole days; an "event" is a closure, anything else is
right-censored (see `app.reports.durations` for how each business's duration is read).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from statistics import NormalDist
from typing import Any

import numpy as np

from app.reports.durations import list_business_durations

# The survival figure the KPIs report: S at one year.
YEAR_DAYS = 365
# Two-sided 95 %: the same z as scipy's norm.ppf(0.975), which statsmodels uses.
Z_95 = NormalDist().inv_cdf(0.975)
RATE_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class SurvivalPoint:
    """S(t) with its Greenwood standard error and 95 % log(−log) interval.

    None where undefined: every figure for empty data or beyond the longest follow-up
    when it ended censored; the standard error and interval once S has reached 0.
    """

    survival: float | None
    std_error: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class KaplanMeier:
    """The Kaplan–Meier step curve, one entry per distinct event time.

    `survival[i]` holds on [times[i], times[i + 1]); before the first event S = 1.
    `greenwood_sum[i]` is Σ d/(n(n−d)) up to times[i] (inf once n = d, i.e. S = 0);
    `variance` is Greenwood's S²·Σ, the square of the standard error.
    """

    times: np.ndarray
    at_risk: np.ndarray
    events: np.ndarray
    survival: np.ndarray
    greenwood_sum: np.ndarray
    variance: np.ndarray
    std_error: np.ndarray
    low: np.ndarray
    high: np.ndarray
    subjects: int
    event_count: int
    # The longest observed duration, and whether it ended in an event: past it the curve
    # is only defined when it did (S is then 0 for good).
    last_time: float | None
    last_is_event: bool

    def survival_at(self, t: float) -> SurvivalPoint:
        """The step function and its interval at `t` (events at `t` included)."""
        if self.subjects == 0 or self.last_time is None:
            return SurvivalPoint(None, None, None, None)
        if t > self.last_time and not self.last_is_event:
            # Nobody was followed this long: KM says nothing about S(t) here.
            return SurvivalPoint(None, None, None, None)
        index = int(np.searchsorted(self.times, t, side="right")) - 1
        if index < 0:
            return SurvivalPoint(1.0, 0.0, 1.0, 1.0)
        return SurvivalPoint(
            float(self.survival[index]),
            _finite_or_none(self.std_error[index]),
            _finite_or_none(self.low[index]),
            _finite_or_none(self.high[index]),
        )


def kaplan_meier(durations: Any, events: Any, counts: Any = None) -> KaplanMeier:
    """Kaplan–Meier estimate of S(t) from right-censored durations.

    `events[i]` is true when subject i's duration ended in the event, false when it was
    censored. At a tied time, events count before censorings (the censored are still at
    risk then), as in statsmodels and lifelines. `counts[i]` (default 1) is how many
    subjects share row i's duration and outcome, so the database can send a few thousand
    (duration, closed, count) rows instead of one row per business: the sums below are of
    whole numbers either way, so the estimate is the same to the last bit.
    """
    time = np.asarray(durations, dtype=np.float64).reshape(-1)
    status = np.asarray(events, dtype=bool).reshape(-1)
    if time.shape != status.shape:
        raise ValueError("durations and events differ in length")
    if time.size and (np.isnan(time).any() or (time < 0).any()):
        raise ValueError("durations must be non-negative numbers")
    weight = (
        np.ones(time.size, dtype=np.int64)
        if counts is None
        else np.asarray(counts, dtype=np.int64).reshape(-1)
    )
    if weight.shape != time.shape:
        raise ValueError("durations and counts differ in length")

    unique, rank = np.unique(time, return_inverse=True)
    deaths = np.bincount(rank, weights=(status * weight).astype(np.float64), minlength=unique.size)
    # At risk just before each time: everyone whose duration is at least that long.
    subjects_at = np.bincount(rank, weights=weight.astype(np.float64), minlength=unique.size)
    at_risk = np.cumsum(subjects_at.astype(np.int64)[::-1])[::-1]

    has_event = deaths > 0
    times = unique[has_event]
    d = deaths[has_event]
    n = at_risk[has_event].astype(np.float64)

    survival = np.cumprod(1.0 - d / n)
    with np.errstate(divide="ignore", invalid="ignore"):
        # n = d makes the term infinite: S is 0 from there on and so is its "variance",
        # but the interval is undefined (kept as nan, reported as None).
        greenwood_sum = np.cumsum(np.where(n > d, d / (n * (n - d)), np.inf))
        std_error = np.where(survival > 0, survival * np.sqrt(greenwood_sum), np.nan)
        variance = std_error**2
        # log(−log) transform: θ = log(−log S) has standard error √Σ / |log S|; the
        # interval S^exp(±z·se) stays inside [0, 1], unlike S ± z·SE.
        log_s = np.log(survival)
        theta_se = np.sqrt(greenwood_sum) / np.abs(log_s)
        low = np.exp(-np.exp(np.log(-log_s) + Z_95 * theta_se))
        high = np.exp(-np.exp(np.log(-log_s) - Z_95 * theta_se))
    # S = 1 cannot happen at an event time; S = 0 leaves the interval undefined.
    undefined = ~(survival > 0)
    low[undefined] = np.nan
    high[undefined] = np.nan

    if time.size:
        last_time: float | None = float(unique[-1])
        last_is_event = bool(status[time == unique[-1]].all())
    else:
        last_time, last_is_event = None, False
    return KaplanMeier(
        times=times,
        at_risk=at_risk[has_event],
        events=d.astype(np.int64),
        survival=survival,
        greenwood_sum=greenwood_sum,
        variance=variance,
        std_error=std_error,
        low=low,
        high=high,
        subjects=int(weight.sum()),
        event_count=int((status * weight).sum()),
        last_time=last_time,
        last_is_event=last_is_event,
    )


def naive_survival_rate(durations: Any, events: Any, opened_on: Any, as_of: date) -> float | None:
    """Share of businesses opened ≤ as_of − 365 days that did not close within 365 days.

    Shown beside Kaplan–Meier so staff see the bias of ignoring censoring: it drops every
    business younger than a year instead of using the time it was followed. None when no
    business is old enough.
    """
    cutoff = np.datetime64(as_of - timedelta(days=YEAR_DAYS))
    opened = np.asarray(opened_on, dtype="datetime64[D]").reshape(-1)
    old_enough = opened <= cutoff
    eligible = int(old_enough.sum())
    if eligible == 0:
        return None
    closed = np.asarray(events, dtype=bool).reshape(-1) & (
        np.asarray(durations, dtype=np.float64).reshape(-1) <= YEAR_DAYS
    )
    survived = eligible - int((closed & old_enough).sum())
    return float((Decimal(survived) / Decimal(eligible)).quantize(RATE_PLACES, ROUND_HALF_UP))


def survival_figures(
    region_codes: list[str], as_of: date, start: date | None = None, end: date | None = None
) -> dict[str, Any]:
    """The survival KPIs of SPEC §11 for the regions (provinces include their cities)."""
    return survival_from_durations(list_business_durations(region_codes, as_of, start, end), as_of)


def survival_from_durations(frame: Any, as_of: date) -> dict[str, Any]:
    """The survival KPIs of the businesses in a durations frame (durations.DURATION_COLUMNS)."""
    estimate = kaplan_meier(frame["duration_days"], frame["is_closed"])
    at_year = estimate.survival_at(YEAR_DAYS)
    return {
        "businesses": len(frame),
        "closures": int(frame["is_closed"].sum()),
        "km_12m": round_rate(at_year.survival),
        "km_12m_low": round_rate(at_year.low),
        "km_12m_high": round_rate(at_year.high),
        "naive_12m": naive_survival_rate(
            frame["duration_days"], frame["is_closed"], frame["opened_on"], as_of
        ),
    }


def survival_from_counts(
    durations: Any, events: Any, old_enough: Any, counts: Any, as_of: date
) -> dict[str, Any]:
    """`survival_from_durations` over grouped rows: each row is `counts` businesses with
    one duration, outcome and whether it opened at least a year before `as_of`."""
    weight = np.asarray(counts, dtype=np.int64).reshape(-1)
    closed = np.asarray(events, dtype=bool).reshape(-1)
    old = np.asarray(old_enough, dtype=bool).reshape(-1)
    days = np.asarray(durations, dtype=np.float64).reshape(-1)
    estimate = kaplan_meier(days, closed, weight)
    at_year = estimate.survival_at(YEAR_DAYS)
    eligible = int(weight[old].sum())
    naive = None
    if eligible:
        survived = eligible - int(weight[old & closed & (days <= YEAR_DAYS)].sum())
        naive = float((Decimal(survived) / Decimal(eligible)).quantize(RATE_PLACES, ROUND_HALF_UP))
    return {
        "businesses": estimate.subjects,
        "closures": estimate.event_count,
        "km_12m": round_rate(at_year.survival),
        "km_12m_low": round_rate(at_year.low),
        "km_12m_high": round_rate(at_year.high),
        "naive_12m": naive,
    }


def survival_curve(
    region_codes: list[str], as_of: date, start: date | None = None, end: date | None = None
) -> list[dict[str, Any]]:
    """The Kaplan–Meier curve with its 95 % band, as chart points (day 0 first).

    A point per event time, plus one at the longest follow-up so the chart shows how far
    the estimate reaches. Values are unrounded floats; None where the band is undefined.
    """
    frame = list_business_durations(region_codes, as_of, start, end)
    estimate = kaplan_meier(frame["duration_days"], frame["is_closed"])
    if estimate.subjects == 0:
        return []
    points = [{"days": 0, "survival": 1.0, "low": 1.0, "high": 1.0, "at_risk": estimate.subjects}]
    for i, day in enumerate(estimate.times):
        point = {
            "days": int(day),
            "survival": float(estimate.survival[i]),
            "low": _finite_or_none(estimate.low[i]),
            "high": _finite_or_none(estimate.high[i]),
            "at_risk": int(estimate.at_risk[i]),
        }
        if point["days"] == 0:
            points[0] = point
        else:
            points.append(point)
    last = estimate.last_time
    if last is not None and int(last) > points[-1]["days"]:
        tail = estimate.survival_at(last)
        points.append(
            {
                "days": int(last),
                "survival": tail.survival,
                "low": tail.low,
                "high": tail.high,
                "at_risk": int((frame["duration_days"] >= last).sum()),
            }
        )
    return points


def round_rate(value: float | None) -> float | None:
    """A rate to 4 places, half up (Python's round() is half-even on binary floats)."""
    if value is None or not math.isfinite(value):
        return None
    # Through its shortest repr, so 0.12345 rounds as the decimal number it prints as.
    return float(Decimal(repr(float(value))).quantize(RATE_PLACES, ROUND_HALF_UP))


def _finite_or_none(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None
