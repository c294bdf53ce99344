"""Tests for app.core.dates: month arithmetic and Monday-Friday working days."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.dates import add_months, add_working_days, is_working_day, month_end

DATES = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))

# 2026-01-05 is a Monday.
MON, TUE, WED, THU, FRI, SAT, SUN = (date(2026, 1, 5) + timedelta(days=i) for i in range(7))


def _working_days_between(start: date, end: date) -> int:
    """Count working days in the half-open interval (start, end]."""
    return sum(is_working_day(start + timedelta(days=i)) for i in range(1, (end - start).days + 1))


# --- month_end ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 1, 1), date(2026, 1, 31)),
        (date(2026, 2, 14), date(2026, 2, 28)),
        (date(2024, 2, 1), date(2024, 2, 29)),
        (date(2000, 2, 29), date(2000, 2, 29)),
        (date(1900, 2, 10), date(1900, 2, 28)),
        (date(2026, 4, 30), date(2026, 4, 30)),
        (date(2026, 12, 25), date(2026, 12, 31)),
    ],
)
def test_month_end(day: date, expected: date) -> None:
    assert month_end(day) == expected


@settings(max_examples=200, deadline=None)
@given(DATES)
def test_month_end_is_last_day_of_same_month(day: date) -> None:
    end = month_end(day)
    assert (end.year, end.month) == (day.year, day.month)
    assert end >= day
    assert (end + timedelta(days=1)).day == 1


# --- add_months -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2026, 1, 15), 1, date(2026, 2, 15)),
        (date(2026, 1, 31), 0, date(2026, 1, 31)),
        (date(2026, 3, 31), 1, date(2026, 4, 30)),
        (date(2026, 1, 31), 3, date(2026, 4, 30)),
        (date(2026, 11, 30), 2, date(2027, 1, 30)),
        (date(2026, 12, 31), 1, date(2027, 1, 31)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2024, 2, 29), 48, date(2028, 2, 29)),
        (date(1896, 2, 29), 48, date(1900, 2, 28)),
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
        (date(2024, 3, 31), -1, date(2024, 2, 29)),
        (date(2026, 1, 15), -1, date(2025, 12, 15)),
        (date(2026, 1, 31), -13, date(2024, 12, 31)),
        (date(2026, 5, 31), -24, date(2024, 5, 31)),
    ],
)
def test_add_months(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


@settings(max_examples=200, deadline=None)
@given(DATES, st.integers(min_value=-600, max_value=600))
def test_add_months_lands_in_target_month_with_clamped_day(start: date, months: int) -> None:
    result = add_months(start, months)
    assert (result.year * 12 + result.month) - (start.year * 12 + start.month) == months
    assert result.day == min(start.day, month_end(result).day)


@settings(max_examples=200, deadline=None)
@given(DATES.filter(lambda d: d.day <= 28), st.integers(min_value=-600, max_value=600))
def test_add_months_is_reversible_when_no_clamping(start: date, months: int) -> None:
    assert add_months(add_months(start, months), -months) == start


# --- working days ---------------------------------------------------------------------------


def test_is_working_day() -> None:
    assert [is_working_day(d) for d in (MON, TUE, WED, THU, FRI, SAT, SUN)] == [
        True,
        True,
        True,
        True,
        True,
        False,
        False,
    ]


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (MON, 0, MON),
        (SAT, 0, SAT),
        (SUN, 0, SUN),
        (MON, 1, TUE),
        (MON, 4, FRI),
        (MON, 5, MON + timedelta(weeks=1)),
        (THU, 1, FRI),
        (THU, 2, MON + timedelta(weeks=1)),
        (FRI, 1, MON + timedelta(weeks=1)),
        (SAT, 1, MON + timedelta(weeks=1)),
        (SUN, 1, MON + timedelta(weeks=1)),
        (SAT, 5, FRI + timedelta(weeks=1)),
        (SUN, 6, MON + timedelta(weeks=2)),
        (FRI, 10, FRI + timedelta(weeks=2)),
        (WED, 12, FRI + timedelta(weeks=2)),
        (date(2026, 12, 31), 1, date(2027, 1, 1)),
        (date(2026, 12, 31), 2, date(2027, 1, 4)),
    ],
)
def test_add_working_days(start: date, days: int, expected: date) -> None:
    assert add_working_days(start, days) == expected


def test_add_working_days_rejects_negative() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        add_working_days(MON, -1)


@settings(max_examples=200, deadline=None)
@given(DATES, st.integers(min_value=1, max_value=400))
def test_add_working_days_counts_exactly_n_working_days(start: date, days: int) -> None:
    result = add_working_days(start, days)
    assert is_working_day(result)
    assert result > start
    assert _working_days_between(start, result) == days


@settings(max_examples=200, deadline=None)
@given(DATES, st.integers(min_value=0, max_value=200), st.integers(min_value=0, max_value=200))
def test_add_working_days_composes(start: date, first: int, second: int) -> None:
    if first == 0:
        # Adding 0 keeps a weekend start on the weekend, so composition only holds after >= 1.
        first = 1
    assert add_working_days(add_working_days(start, first), second) == add_working_days(
        start, first + second
    )
