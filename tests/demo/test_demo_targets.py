"""Planning the demo's targets (app/demo/targets.py) on hand-made actuals, without a
database; the seeded targets themselves are checked in test_demo_seed.py."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from random import Random

import pytest

from app.demo.targets import FACTORS, MISMATCH_FIELD, apportion, plan_targets
from app.reports.kpis import rate
from app.targets.models import TARGET_FIELDS
from app.targets.progress import _status, expected_share

HAINAN, HAIKOU, SANYA, SANSHA = "460000", "460100", "460200", "460300"
AS_OF = date(2026, 6, 30)  # 0.4959 of the year gone
SHARE = expected_share(2026, AS_OF)


def _actuals(trainees, businesses, loans, amount, jobs):
    return {
        "trainees": trainees,
        "businesses_opened": businesses,
        "loans_count": loans,
        "loans_amount": Decimal(amount),
        "jobs_created": jobs,
    }


ACTUALS = {
    HAINAN: _actuals(60, 25, 30, "3000000.00", 70),
    HAIKOU: _actuals(40, 15, 20, "2100000.00", 45),
    SANYA: _actuals(20, 10, 10, "900000.00", 25),
    SANSHA: _actuals(0, 0, 0, "0.00", 0),
}


def _plan(seed: int = 7, mismatch: str | None = MISMATCH_FIELD, share: Decimal = SHARE):
    return plan_targets(
        Random(seed),
        province_code=HAINAN,
        actuals=ACTUALS,
        share=share,
        factors=FACTORS["current"],
        mismatch=mismatch,
    )


def test_the_province_s_targets_follow_its_pace_some_ahead_some_behind():
    plan = _plan()
    assert plan[HAINAN] == {
        "trainees": 133,  # 1.10 × 60 / 0.4959 = 133.09
        "businesses_opened": 48,  # 0.95 × 25 / 0.4959 = 47.89
        "loans_count": 57,  # 0.95 × 30 / 0.4959 = 57.47
        "loans_amount": Decimal("5570000.00"),  # 0.92 × 3,000,000 / 0.4959, to 10,000
        "jobs_created": 184,  # 1.30 × 70 / 0.4959 = 183.505
    }
    statuses = {
        name: _status(target, rate(ACTUALS[HAINAN][name], target), SHARE)
        for name, target in plan[HAINAN].items()
    }
    assert statuses == {
        "trainees": "amber",
        "businesses_opened": "green",
        "loans_count": "green",
        "loans_amount": "green",
        "jobs_created": "red",
    }


def test_the_cities_share_the_province_s_targets_but_for_one_figure():
    plan = _plan()
    for name in TARGET_FIELDS:
        cities = sum(plan[code][name] or 0 for code in (HAIKOU, SANYA, SANSHA))
        if name == MISMATCH_FIELD:
            # The largest city pledges 5 % more (9 jobs of 184).
            assert cities == plan[HAINAN][name] + 9
        else:
            assert cities == plan[HAINAN][name], name
        # Roughly in proportion: Haikou has twice Sanya's actuals.
        assert plan[HAIKOU][name] > plan[SANYA][name] > (plan[SANSHA][name] or 0)
    # A city without records still gets a share: at least one of each count, one average
    # loan (100,000).
    assert plan[SANSHA]["loans_amount"] >= Decimal("100000.00")
    assert all(plan[SANSHA][name] >= 1 for name in TARGET_FIELDS)


def test_without_a_mismatch_every_figure_adds_up():
    plan = _plan(mismatch=None)
    for name in TARGET_FIELDS:
        assert sum(plan[code][name] for code in (HAIKOU, SANYA, SANSHA)) == plan[HAINAN][name]


def test_the_plan_is_reproducible_from_the_random_stream():
    assert _plan(seed=3) == _plan(seed=3)
    # The stream shakes the cities' weights: other seeds split differently.
    assert len({_plan(seed=seed)[HAIKOU]["trainees"] for seed in range(20)}) > 1


def test_a_year_with_nothing_yet_still_gives_every_city_a_count():
    quiet = {code: _actuals(0, 0, 0, "0.00", 0) for code in ACTUALS}
    plan = plan_targets(
        Random(1),
        province_code=HAINAN,
        actuals=quiet,
        share=Decimal("0.0027"),
        factors=FACTORS["current"],
        mismatch=None,
    )
    assert plan[HAINAN]["trainees"] == 3  # one per city
    assert plan[HAINAN]["loans_amount"] == Decimal("10000.00")
    assert {plan[code]["trainees"] for code in (HAIKOU, SANYA, SANSHA)} == {1}
    # Not enough amount to go round: one city has it, the others no amount target.
    amounts = [plan[code]["loans_amount"] for code in (HAIKOU, SANYA, SANSHA)]
    assert sorted(amounts, key=lambda value: value is None) == [Decimal("10000.00"), None, None]


@pytest.mark.parametrize(
    ("total", "weights", "floor", "parts"),
    [
        (10, [1.0, 1.0], 0, [5, 5]),
        (10, [3.0, 1.0], 0, [8, 2]),  # 7.5 / 2.5: ties go to the first
        (7, [1.0, 1.0, 1.0], 0, [3, 2, 2]),
        (10, [9.0, 0.0, 1.0], 2, [6, 2, 2]),  # 4 over the floors: 3.6, 0, 0.4
        (4, [0.0, 0.0], 0, [2, 2]),
        (0, [], 0, []),
    ],
)
def test_apportion_adds_up_in_proportion(total, weights, floor, parts):
    assert apportion(total, weights, floor=floor) == parts
    assert sum(parts) == total


def test_apportion_refuses_floors_above_the_total():
    with pytest.raises(ValueError, match="floors"):
        apportion(3, [1.0, 1.0], floor=2)
