"""Business survival: the Kaplan–Meier estimator against statsmodels, small cases worked
out by hand, and the durations read from businesses and observations as of a date."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pytest
from scipy.stats import norm
from statsmodels.duration.survfunc import SurvfuncRight

from app.reports.durations import list_business_durations
from app.reports.survival import (
    kaplan_meier,
    naive_survival_rate,
    round_rate,
    survival_curve,
    survival_figures,
)
from tests.businesses.factories import make_business, make_observation
from tests.factories import make_founder

AS_OF = date(2026, 6, 1)
OPENED = date(2025, 1, 1)


def reference(durations: np.ndarray, events: np.ndarray) -> dict[str, np.ndarray]:
    """statsmodels' curve, with the log(−log) interval by the delta method on its SE.

    SurvfuncRight has no pointwise interval of its own; its quantile_ci uses this same
    cloglog transform, g(S) = log(−log S), g'(S) = −1 / (S log S).
    """
    fit = SurvfuncRight(durations, events.astype(float))
    s, se = fit.surv_prob, fit.surv_prob_se
    low = np.full_like(s, np.nan)
    high = np.full_like(s, np.nan)
    ok = s > 0
    g = np.log(-np.log(s[ok]))
    g_se = se[ok] / np.abs(s[ok] * np.log(s[ok]))
    z = norm.ppf(0.975)
    low[ok] = np.exp(-np.exp(g + z * g_se))
    high[ok] = np.exp(-np.exp(g - z * g_se))
    return {"times": fit.surv_times, "survival": s, "std_error": se, "low": low, "high": high}


def assert_matches_statsmodels(durations: np.ndarray, events: np.ndarray) -> None:
    ours = kaplan_meier(durations, events)
    ref = reference(durations, events)
    np.testing.assert_array_equal(ours.times, ref["times"])
    for name in ("survival", "std_error", "low", "high"):
        np.testing.assert_allclose(
            getattr(ours, name), ref[name], rtol=0, atol=1e-9, equal_nan=True, err_msg=name
        )
    np.testing.assert_allclose(ours.variance, ref["std_error"] ** 2, atol=1e-9, equal_nan=True)


@pytest.mark.parametrize("seed", range(8))
def test_matches_statsmodels_on_tied_day_counts(seed):
    # Whole days over a short range: many ties, events and censorings at the same time.
    rng = np.random.default_rng(seed)
    size = int(rng.integers(5, 400))
    durations = rng.integers(0, 60, size).astype(float)
    events = rng.random(size) < rng.uniform(0.2, 0.9)
    assert_matches_statsmodels(durations, events)


@pytest.mark.parametrize("seed", range(8))
def test_matches_statsmodels_on_continuous_times_with_censoring(seed):
    rng = np.random.default_rng(100 + seed)
    size = int(rng.integers(20, 2000))
    failure = rng.exponential(400, size)
    censoring = rng.exponential(600, size)
    durations = np.minimum(failure, censoring)
    assert_matches_statsmodels(durations, failure <= censoring)


def test_matches_statsmodels_when_survival_reaches_zero():
    durations = np.array([3, 3, 5, 7, 7, 9, 9], dtype=float)
    events = np.array([1, 0, 1, 1, 0, 1, 1], dtype=bool)
    assert_matches_statsmodels(durations, events)
    estimate = kaplan_meier(durations, events)
    assert estimate.survival[-1] == 0
    at_end = estimate.survival_at(9)
    assert at_end.survival == 0.0
    assert (at_end.std_error, at_end.low, at_end.high) == (None, None, None)
    # The last subject closed, so S stays 0 beyond the follow-up.
    assert estimate.survival_at(1000).survival == 0.0


def test_five_businesses_worked_by_hand():
    # Days to closure (event) or to the last sighting (censored):
    #   100 closed, 200 censored, 300 closed, 400 censored, 500 closed.
    # t=100: 5 at risk, 1 closes -> S = 4/5.     Greenwood Σ = 1/(5·4) = 0.05
    # t=300: 3 at risk, 1 closes -> S = 4/5·2/3 = 8/15 = 0.533333
    #                                            Σ = 0.05 + 1/(3·2) = 13/60 = 0.216667
    # S(365) = 8/15; SE = S·√Σ = 0.533333 · 0.465475 = 0.248253
    # log(−log): θ = ln(−ln 8/15) = ln 0.628609 = −0.464246, se(θ) = √Σ / 0.628609 = 0.740484
    #   z·se(θ) = 1.959964 · 0.740484 = 1.451322
    #   low  = exp(−exp(θ + 1.451322)) = exp(−exp(0.987076)) = exp(−2.683346) = 0.068332
    #   high = exp(−exp(θ − 1.451322)) = exp(−exp(−1.915568)) = exp(−0.147261) = 0.863071
    estimate = kaplan_meier([100, 200, 300, 400, 500], [True, False, True, False, True])
    at_year = estimate.survival_at(365)
    assert at_year.survival == pytest.approx(8 / 15, abs=1e-12)
    assert at_year.std_error == pytest.approx(0.2482531563, abs=1e-9)
    assert at_year.low == pytest.approx(0.0683320878, abs=1e-9)
    assert at_year.high == pytest.approx(0.8630711827, abs=1e-9)
    assert list(estimate.times) == [100, 300, 500]
    assert list(estimate.at_risk) == [5, 3, 1]
    # The step function: events on the day itself count, S = 1 before the first.
    assert estimate.survival_at(99).survival == 1.0
    assert estimate.survival_at(99).low == 1.0
    assert estimate.survival_at(100).survival == pytest.approx(0.8)
    assert estimate.survival_at(500).survival == 0.0


def test_ties_count_events_before_censorings():
    # At t=10 one closes and one is censored: both were at risk, so S = 1 − 1/4.
    estimate = kaplan_meier([10, 10, 20, 30], [True, False, True, False])
    assert list(estimate.at_risk) == [4, 2]
    assert estimate.survival_at(10).survival == pytest.approx(0.75)
    assert estimate.survival_at(25).survival == pytest.approx(0.375)


def test_all_censored_and_beyond_follow_up():
    estimate = kaplan_meier([30, 90, 200], [False, False, False])
    assert estimate.times.size == 0
    assert estimate.survival_at(150).survival == 1.0
    # Nobody was followed for a year: KM does not say what S(365) is.
    assert estimate.survival_at(365).survival is None


def test_empty_input():
    estimate = kaplan_meier([], [])
    assert estimate.subjects == 0
    point = estimate.survival_at(365)
    assert (point.survival, point.std_error, point.low, point.high) == (None,) * 4
    assert naive_survival_rate([], [], [], AS_OF) is None


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="differ in length"):
        kaplan_meier([1, 2], [True])
    with pytest.raises(ValueError, match="non-negative"):
        kaplan_meier([-1], [True])


def test_naive_rate_counts_only_businesses_a_year_old():
    opened = [date(2025, 1, 1), date(2025, 6, 1), date(2025, 6, 2)]
    # 2025-06-01 is exactly as_of − 365 days: eligible; 2025-06-02 is not.
    assert naive_survival_rate([100, 400, 10], [True, True, True], opened, AS_OF) == 0.5
    assert naive_survival_rate([365, 366], [True, True], opened[:2], AS_OF) == 0.5


def test_rates_round_half_up():
    # Python's round(0.00045, 4) gives 0.0004 (half-even on the binary float).
    assert round_rate(0.00045) == 0.0005
    assert round_rate(0.53333333) == 0.5333
    assert round_rate(None) is None
    assert round_rate(math.nan) is None


# --- Durations from the database -----------------------------------------------------


def day(offset: int) -> date:
    return OPENED + timedelta(days=offset)


def closed_business(founder=None, *, closed_at: int, opened_on: date = OPENED):
    """Seen operating halfway, then closed `closed_at` days after opening."""
    business = make_business(founder, opened_on=opened_on)
    make_observation(
        business, status="operating", observed_on=opened_on + timedelta(closed_at // 2)
    )
    make_observation(business, status="closed", observed_on=opened_on + timedelta(closed_at))
    return business


def seen_business(
    founder=None, *, seen_at: int, status: str = "operating", opened_on: date = OPENED
):
    """Last seen `seen_at` days after opening with `status`."""
    business = make_business(founder, opened_on=opened_on)
    make_observation(business, status=status, observed_on=opened_on + timedelta(seen_at))
    return business


def durations_by_id(*args, **kwargs) -> dict[int, tuple[bool, int]]:
    frame = list_business_durations(*args, **kwargs)
    return {
        row.business_id: (bool(row.is_closed), int(row.duration_days)) for row in frame.itertuples()
    }


def test_durations_closed_operating_suspended_and_unseen(db_session):
    closed = closed_business(closed_at=100)
    operating = seen_business(seen_at=200)
    suspended = seen_business(seen_at=250, status="suspended")
    unseen = make_business(opened_on=day(10))
    # closed_on earlier than the day the closure was observed: the closure date counts.
    late_news = make_business(opened_on=OPENED)
    make_observation(late_news, status="operating", observed_on=day(20))
    make_observation(late_news, status="closed", observed_on=day(90), closed_on=day(60))
    sanya = seen_business(make_founder(region_code="460200"), seen_at=30)
    shanghai = seen_business(make_founder(region_code="310101"), seen_at=40)

    got = durations_by_id(["460000"], AS_OF)
    assert got == {
        closed.id: (True, 100),
        operating.id: (False, 200),
        suspended.id: (False, 250),
        unseen.id: (False, 0),
        late_news.id: (True, 60),
        sanya.id: (False, 30),
    }
    assert shanghai.id not in got
    # A list of cities reads the same as their province.
    assert durations_by_id(["460100", "460200"], AS_OF) == got
    assert set(durations_by_id(["460200"], AS_OF)) == {sanya.id}


def test_lost_founder_is_censored_not_closed(db_session):
    lost = make_founder(lost_to_follow_up_on=date(2026, 1, 10))
    business = make_business(lost, opened_on=OPENED)
    make_observation(business, status="operating", observed_on=day(80))
    make_observation(business, status="closed", observed_on=day(120))
    # Lost only after as_of: as of as_of the founder was still followed, so it closed.
    lost_later = make_founder(lost_to_follow_up_on=date(2026, 7, 1))
    counted = closed_business(lost_later, closed_at=150)

    frame = list_business_durations(["460100"], AS_OF).set_index("business_id")
    assert bool(frame.loc[business.id, "is_closed"]) is False
    assert bool(frame.loc[business.id, "is_founder_lost"]) is True
    # Censored at the last day it was seen open, not credited with the days until closure.
    assert frame.loc[business.id, "duration_days"] == 80
    assert bool(frame.loc[counted.id, "is_closed"]) is True
    assert frame.loc[counted.id, "duration_days"] == 150


def test_records_after_as_of_are_ignored(db_session):
    as_of = day(300)
    # Closed after as_of: censored at its last sighting by as_of.
    closes_later = make_business(opened_on=OPENED)
    make_observation(closes_later, status="operating", observed_on=day(200))
    make_observation(closes_later, status="closed", observed_on=day(310))
    # Seen again after as_of: that sighting does not lengthen its follow-up.
    seen_later = seen_business(seen_at=100)
    make_observation(seen_later, status="operating", observed_on=day(400))
    # Closed, then reopened by as_of: the latest observation decides.
    reopened = closed_business(closed_at=50)
    make_observation(reopened, status="operating", observed_on=day(90), is_reopening=True)
    # Reopened only after as_of: still closed as of as_of.
    reopens_later = closed_business(closed_at=60)
    make_observation(reopens_later, status="operating", observed_on=day(320), is_reopening=True)
    opens_later = make_business(opened_on=day(301))

    got = durations_by_id(["460100"], as_of)
    assert got == {
        closes_later.id: (False, 200),
        seen_later.id: (False, 100),
        reopened.id: (False, 90),
        reopens_later.id: (True, 60),
    }
    assert opens_later.id not in got


def test_period_filters_on_opening_date(db_session):
    early = seen_business(seen_at=30, opened_on=date(2025, 1, 1))
    first = seen_business(seen_at=30, opened_on=date(2025, 3, 1))
    last = seen_business(seen_at=30, opened_on=date(2025, 3, 31))
    late = seen_business(seen_at=30, opened_on=date(2025, 4, 1))

    got = durations_by_id(["460100"], AS_OF, date(2025, 3, 1), date(2025, 3, 31))
    assert set(got) == {first.id, last.id}
    assert set(durations_by_id(["460100"], AS_OF, start=date(2025, 3, 2))) == {last.id, late.id}
    assert set(durations_by_id(["460100"], AS_OF, end=date(2025, 3, 1))) == {early.id, first.id}


def test_survival_figures_on_the_hand_worked_businesses(db_session):
    # The five businesses of test_five_businesses_worked_by_hand, all opened 2025-01-01.
    closed_business(closed_at=100)
    seen_business(seen_at=200)
    closed_business(closed_at=300)
    seen_business(seen_at=400, status="suspended")
    closed_business(closed_at=500)
    # A lost founder's closure is censored at 0 days (never seen open): no extra closure.
    lost = make_founder(lost_to_follow_up_on=date(2026, 5, 1))
    make_observation(make_business(lost, opened_on=day(400)), status="closed", observed_on=day(420))

    # Six businesses, three closures. KM: the lost founder's business is censored at day 0,
    # still at risk before the first closure, so t=100 has 5 at risk as in the hand case
    # (censored at 0 leaves the risk set before day 100): S(365) = 8/15 = 0.5333, interval
    # 0.0683 to 0.8631. Naive: opened ≤ 2025-06-01 are the five; 100 and 300 closed within
    # a year: 3/5 = 0.6.
    assert survival_figures(["460000"], AS_OF) == {
        "businesses": 6,
        "closures": 3,
        "km_12m": 0.5333,
        "km_12m_low": 0.0683,
        "km_12m_high": 0.8631,
        "naive_12m": 0.6,
    }
    curve = survival_curve(["460000"], AS_OF)
    assert [point["days"] for point in curve] == [0, 100, 300, 500]
    assert curve[0] == {"days": 0, "survival": 1.0, "low": 1.0, "high": 1.0, "at_risk": 6}
    assert curve[2]["survival"] == pytest.approx(8 / 15)
    assert curve[-1]["survival"] == 0.0
    assert curve[-1]["low"] is None


def test_survival_figures_with_nothing_to_measure(db_session):
    assert survival_figures(["460300"], AS_OF) == {
        "businesses": 0,
        "closures": 0,
        "km_12m": None,
        "km_12m_low": None,
        "km_12m_high": None,
        "naive_12m": None,
    }
    assert survival_curve(["460300"], AS_OF) == []
    # Young businesses only: no naive rate, and no S(365) beyond their follow-up.
    seen_business(make_founder(region_code="460300"), seen_at=30, opened_on=date(2026, 3, 1))
    figures = survival_figures(["460300"], AS_OF)
    assert figures["businesses"] == 1
    assert figures["km_12m"] is None
    assert figures["naive_12m"] is None
