"""A province's page's progress in one pass (D44): `split_progress` answers, line by line,
what `target_progress` answers for each region alone, from one `compute_kpis` for the
province and one breakdown by region for its cities."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from flask_babel import force_locale

from app.regions.queries import region_codes_in
from app.targets import progress as progress_module
from app.targets.progress import split_actuals, split_progress, target_progress
from tests.businesses.factories import make_business, make_observation
from tests.factories import make_founder
from tests.loans.factories import make_loan
from tests.targets.factories import make_targets
from tests.targets.test_progress import _haikou_year
from tests.training.factories import get_course, make_cohort, make_enrollment

D = date(2026, 6, 30)
HAINAN, HAIKOU, SANYA, SANSHA, DANZHOU = "460000", "460100", "460200", "460300", "460400"
WUZHISHAN = "469001"
NOTHING = {
    "trainees": 0,
    "businesses_opened": 0,
    "loans_count": 0,
    "loans_amount": Decimal("0.00"),
    "jobs_created": 0,
}


@pytest.fixture(autouse=True)
def in_english(db_session):
    with force_locale("en"):
        yield


def _province_year() -> None:
    """Haikou's year (see test_progress), Sanya's, and records kept at province level;
    Sansha and Danzhou have none."""
    _haikou_year()
    syb = get_course("SYB")
    sanya = make_cohort(region_code=SANYA, course=syb, starts_on=date(2026, 2, 2))
    for _ in range(3):
        make_enrollment(sanya, result="passed", completed_on=date(2026, 2, 13))
    opened = make_business(
        make_founder(region_code=SANYA), opened_on=date(2026, 4, 1), employees_at_opening=5
    )
    make_observation(opened, status="operating", observed_on=date(2026, 6, 1), employees=3)
    make_loan(region_code=SANYA, disbursed_on=date(2026, 5, 29), amount=Decimal("80000.00"))
    # The province's own records: a trainee and a business registered at province level.
    make_enrollment(
        make_cohort(region_code=HAINAN, course=syb, starts_on=date(2026, 3, 2)),
        make_founder(region_code=HAINAN),
    )
    make_business(
        make_founder(region_code=HAINAN), opened_on=date(2026, 1, 20), employees_at_opening=1
    )


def _set_targets() -> None:
    make_targets(
        2026,
        HAINAN,
        trainees=20,
        businesses_opened=10,
        loans_count=4,
        loans_amount="400000.00",
        jobs_created=30,
    )
    make_targets(2026, HAIKOU, trainees=8, businesses_opened=5, jobs_created=20)
    make_targets(2026, SANYA, trainees=6, loans_count=2, loans_amount="200000.00")
    make_targets(2026, SANSHA, trainees=2, businesses_opened=0)
    # Danzhou has targets only for 2027; Wuzhishan none at all.
    make_targets(2027, DANZHOU, trainees=3)


def _one_by_one(codes: list[str], year: int, as_of: date) -> dict[str, list]:
    return {code: target_progress(code, year, as_of) for code in codes}


def test_split_progress_is_target_progress_line_by_line():
    _province_year()
    _set_targets()
    everywhere = region_codes_in(HAINAN)
    split = split_progress(2026, HAINAN, D, everywhere)
    # The lines with targets for the year, in the page's order.
    assert list(split) == [HAINAN, HAIKOU, SANYA, SANSHA]
    assert split == _one_by_one([HAINAN, HAIKOU, SANYA, SANSHA], 2026, D)
    actual = {code: {line.field: line.actual for line in lines} for code, lines in split.items()}
    assert actual[HAINAN] == {
        "trainees": 6,  # Haikou's 2, Sanya's 3 and the province's own 1
        "businesses_opened": 5,
        "loans_count": 2,
        "loans_amount": Decimal("180000.00"),
        # Haikou's 5; Sanya's business employs 3 as last observed; the province's own 1.
        "jobs_created": 9,
    }
    assert actual[SANYA]["trainees"] == 3
    # A city without a record counts zero.
    assert actual[SANSHA] == NOTHING


@pytest.mark.parametrize(
    "as_of",
    [
        date(2025, 12, 31),
        date(2026, 1, 1),
        date(2026, 3, 31),
        D,
        date(2026, 12, 31),
        date(2027, 2, 1),
    ],
)
def test_split_progress_equals_target_progress_on_any_date(as_of):
    _province_year()
    _set_targets()
    split = split_progress(2026, HAINAN, as_of, region_codes_in(HAINAN))
    assert split == _one_by_one(list(split), 2026, as_of)


def test_only_the_lines_in_scope_get_progress():
    _province_year()
    _set_targets()
    # A city's staff: their own city alone (read from its own, smaller, breakdown).
    assert split_progress(2026, HAINAN, D, {SANYA}) == _one_by_one([SANYA], 2026, D)
    # A city in scope without targets gets no progress line; out of scope, none either.
    assert split_progress(2026, HAINAN, D, {WUZHISHAN, DANZHOU}) == {}
    assert split_progress(2026, HAINAN, D, set()) == {}
    # Two cities: from the province's breakdown.
    both = split_progress(2026, HAINAN, D, {HAIKOU, SANSHA})
    assert both == _one_by_one([HAIKOU, SANSHA], 2026, D)


def test_one_kpi_pass_for_the_province_and_one_breakdown_for_the_cities(monkeypatch):
    _province_year()
    _set_targets()
    for name in ("target_progress", "actuals_of"):
        monkeypatch.setattr(progress_module, name, None)  # never per line
    calls: list[tuple[str, str]] = []

    def spy(name, function):
        def counted(region_code, *args, **kwargs):
            calls.append((name, region_code))
            return function(region_code, *args, **kwargs)

        monkeypatch.setattr(progress_module, name, counted)

    spy("compute_kpis", progress_module.compute_kpis)
    spy("compute_breakdown", progress_module.compute_breakdown)
    split = split_progress(2026, HAINAN, D, region_codes_in(HAINAN))
    assert len(split) == 4
    assert sorted(calls) == [("compute_breakdown", HAINAN), ("compute_kpis", HAINAN)]


def test_split_actuals_before_the_year_are_zero_without_a_pass(monkeypatch):
    _province_year()
    monkeypatch.setattr(progress_module, "compute_kpis", None)
    monkeypatch.setattr(progress_module, "compute_breakdown", None)
    actuals = split_actuals(2027, HAINAN, D, [HAINAN, HAIKOU])
    assert actuals == {HAINAN: NOTHING, HAIKOU: NOTHING}
