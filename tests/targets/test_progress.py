"""Progress towards targets (SPEC §13): the year's actuals up to a date from the KPI
engine, progress, the expected share of the year and the colour, on hand-made data with
the expected numbers written out."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from flask_babel import force_locale

from app.targets.progress import (
    TARGET_LABELS,
    TargetProgress,
    _status,
    actuals_of,
    expected_share,
    target_progress,
)
from tests.businesses.factories import make_business, make_observation
from tests.factories import make_founder
from tests.loans.factories import make_loan
from tests.targets.factories import make_targets
from tests.training.factories import get_course, make_cohort, make_course, make_enrollment

D = date(2026, 6, 30)
HAINAN, HAIKOU, SANYA = "460000", "460100", "460200"
EXPECTED_ON_D = 0.4959  # 181 days of 365, half up


@pytest.fixture(autouse=True)
def in_english(db_session):
    with force_locale("en"):
        yield


def _haikou_year() -> None:
    """Haikou's 2026 so far, and what must not count."""
    syb = get_course("SYB")
    # Trainees: a March SYB completed in March, and a June enrollment not completed yet.
    march = make_cohort(region_code=HAIKOU, course=syb, starts_on=date(2026, 3, 2))
    make_enrollment(march, result="passed", completed_on=date(2026, 3, 13))
    june = make_cohort(region_code=HAIKOU, course=syb, starts_on=date(2026, 6, 1))
    make_enrollment(june)
    # Not counted: completed in 2025, enrolled after D, a skill course.
    last_year = make_cohort(region_code=HAIKOU, course=syb, starts_on=date(2025, 11, 24))
    make_enrollment(last_year, result="passed", completed_on=date(2025, 12, 12))
    july = make_cohort(region_code=HAIKOU, course=syb, starts_on=date(2026, 7, 2))
    make_enrollment(july)
    skill = make_cohort(region_code=HAIKOU, course=make_course(), starts_on=date(2026, 3, 2))
    make_enrollment(skill, result="passed", completed_on=date(2026, 3, 13))
    # Businesses: three opened in 2026 by D (one closed since); jobs: the operating ones'.
    make_business(
        make_founder(region_code=HAIKOU), opened_on=date(2026, 3, 1), employees_at_opening=2
    )
    make_business(
        make_founder(region_code=HAIKOU), opened_on=date(2026, 5, 1), employees_at_opening=3
    )
    closed = make_business(
        make_founder(region_code=HAIKOU), opened_on=date(2026, 4, 1), employees_at_opening=4
    )
    make_observation(closed, status="closed", observed_on=date(2026, 6, 1))
    make_business(
        make_founder(region_code=HAIKOU), opened_on=date(2025, 12, 1), employees_at_opening=6
    )
    make_business(
        make_founder(region_code=HAIKOU), opened_on=date(2026, 7, 5), employees_at_opening=7
    )
    # Loans: one of 100,000.00 disbursed in January; one disbursed after D.
    make_loan(region_code=HAIKOU, disbursed_on=date(2026, 1, 31))
    make_loan(region_code=HAIKOU, disbursed_on=date(2026, 7, 10))


def _by_field(lines: list[TargetProgress]) -> dict[str, tuple]:
    return {line.field: (line.target, line.actual, line.progress, line.status) for line in lines}


def test_actuals_are_the_kpis_of_the_year_up_to_the_date():
    _haikou_year()
    assert actuals_of(HAIKOU, 2026, D) == {
        "trainees": 2,
        "businesses_opened": 3,
        "loans_count": 1,
        "loans_amount": Decimal("100000.00"),
        "jobs_created": 5,
    }
    # A province counts its cities.
    assert actuals_of(HAINAN, 2026, D)["businesses_opened"] == 3
    assert actuals_of(SANYA, 2026, D) == {
        "trainees": 0,
        "businesses_opened": 0,
        "loans_count": 0,
        "loans_amount": Decimal("0.00"),
        "jobs_created": 0,
    }


def test_progress_and_colours_against_the_share_of_the_year():
    _haikou_year()
    make_targets(
        2026,
        HAIKOU,
        trainees=5,
        businesses_opened=6,
        loans_count=2,
        loans_amount=Decimal("250000.00"),
        jobs_created=25,
    )
    lines = target_progress(HAIKOU, 2026, D)
    assert [line.field for line in lines] == [
        "trainees",
        "businesses_opened",
        "loans_count",
        "loans_amount",
        "jobs_created",
    ]
    assert {line.expected for line in lines} == {EXPECTED_ON_D}
    assert _by_field(lines) == {
        # 2 / 5 = 0.4: below 0.4959, at least 0.8 × 0.4959 = 0.3967.
        "trainees": (5, 2, 0.4, "amber"),
        # 3 / 6 = 0.5 ≥ 0.4959.
        "businesses_opened": (6, 3, 0.5, "green"),
        "loans_count": (2, 1, 0.5, "green"),
        # 100,000 / 250,000 = 0.4.
        "loans_amount": (Decimal("250000.00"), Decimal("100000.00"), 0.4, "amber"),
        # 5 / 25 = 0.2 < 0.3967.
        "jobs_created": (25, 5, 0.2, "red"),
    }
    assert lines[0].label == "Trainees"
    assert lines[3].is_money
    assert not lines[0].is_money


def test_progress_rounds_half_up_to_4_places():
    _haikou_year()
    make_targets(2026, HAIKOU, trainees=3, businesses_opened=80_000)
    lines = _by_field(target_progress(HAIKOU, 2026, D))
    assert lines["trainees"][2] == 0.6667  # 2 / 3
    # 3 / 80,000 = 0.0000375: half up gives 0.0000, and half-even would too; 0.00005 → 0.0001.
    assert lines["businesses_opened"][2] == 0.0
    make_targets(2026, SANYA, trainees=40_000)
    make_enrollment(make_cohort(region_code=SANYA, starts_on=date(2026, 3, 2)))
    make_enrollment(make_cohort(region_code=SANYA, starts_on=date(2026, 3, 2)))
    assert _by_field(target_progress(SANYA, 2026, D))["trainees"][2] == 0.0001  # 0.00005


def test_a_province_counts_its_cities_against_its_own_targets():
    _haikou_year()
    make_targets(2026, HAINAN, trainees=10)
    lines = _by_field(target_progress(HAINAN, 2026, D))
    assert lines["trainees"] == (10, 2, 0.2, "red")


def test_no_target_means_no_progress_and_no_colour_and_a_zero_target_is_met():
    _haikou_year()
    make_targets(2026, HAIKOU, loans_count=0)
    lines = _by_field(target_progress(HAIKOU, 2026, D))
    assert lines["trainees"] == (None, 2, None, None)
    assert lines["loans_count"] == (0, 1, None, "green")
    assert _by_field(target_progress(SANYA, 2026, D))["jobs_created"] == (None, 0, None, None)


def test_before_the_year_starts_nothing_is_expected_and_nothing_counted():
    _haikou_year()
    make_targets(2027, HAIKOU, trainees=10, loans_amount=Decimal("5.00"))
    lines = target_progress(HAIKOU, 2027, D)
    assert {line.expected for line in lines} == {0.0}
    assert _by_field(lines)["trainees"] == (10, 0, 0.0, "green")
    assert _by_field(lines)["loans_amount"] == (Decimal("5.00"), Decimal("0.00"), 0.0, "green")


def test_after_the_year_the_whole_year_is_expected_and_counted():
    _haikou_year()
    make_targets(2025, HAIKOU, businesses_opened=2)
    lines = target_progress(HAIKOU, 2025, D)
    assert {line.expected for line in lines} == {1.0}
    assert _by_field(lines)["businesses_opened"] == (2, 1, 0.5, "red")


@pytest.mark.parametrize(
    ("year", "as_of", "share"),
    [
        (2026, date(2025, 12, 31), Decimal("0")),
        (2026, date(2026, 1, 1), Decimal("0.0027")),  # 1 / 365
        (2026, D, Decimal("0.4959")),
        (2028, date(2028, 2, 29), Decimal("0.1639")),  # 60 / 366, a leap year
        (2026, date(2026, 12, 31), Decimal("1")),
        (2026, date(2027, 3, 1), Decimal("1")),
    ],
)
def test_expected_share_of_the_year(year, as_of, share):
    assert expected_share(year, as_of) == share


@pytest.mark.parametrize(
    ("progress", "status"),
    [(0.5, "green"), (0.4959, "green"), (0.3968, "amber"), (0.3967, "red"), (0.0, "red")],
)
def test_colour_boundaries(progress, status):
    # Expected 0.4959: green from 0.4959, amber from 0.8 × 0.4959 = 0.39672.
    assert _status(10, progress, Decimal("0.4959")) == status


def test_the_labels_name_the_five_figures():
    assert {name: str(label) for name, label in TARGET_LABELS.items()} == {
        "trainees": "Trainees",
        "businesses_opened": "New businesses opened",
        "loans_count": "Number of guaranteed loans",
        "loans_amount": "Amount of guaranteed loans",
        "jobs_created": "Jobs created",
    }
