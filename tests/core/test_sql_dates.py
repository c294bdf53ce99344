"""The SQL date shifts read exactly like their Python originals in app.core.dates."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Date, Integer, literal, select, union_all

from app.core.dates import add_months, add_working_days
from app.core.sql import add_months as sql_add_months
from app.core.sql import add_working_days as sql_add_working_days
from app.core.sql import as_date
from app.extensions import db

MONTHS = [-13, -12, -1, 0, 1, 2, 3, 4, 6, 7, 11, 12, 13, 24, 25, 36, 48]
WORKING_DAYS = [0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 14, 15, 23]


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


# Month ends, leap days and every weekday, across two year ends and a leap year.
SAMPLE_DAYS = sorted(
    set(
        _days(date(2023, 12, 20), date(2024, 3, 10))
        + _days(date(2024, 12, 25), date(2025, 1, 5))
        + [date(2023, 1, 31), date(2024, 1, 31), date(2024, 2, 29), date(2023, 2, 28)]
        + [date(2024, 8, 31), date(2024, 10, 31), date(2099, 12, 31), date(2000, 2, 29)]
        + [date(2026, 3, 31), date(2026, 5, 30), date(2026, 5, 31)]
    )
)


def _numbers(values: list[int]) -> Any:
    """The shifts as a column, so the constructs are tested with expressions too."""
    return union_all(*[select(literal(value, Integer()).label("n")) for value in values]).subquery()


@pytest.mark.usefixtures("db_session")
def test_add_months_matches_python_for_bound_days_and_column_months() -> None:
    numbers = _numbers(MONTHS)
    for day in SAMPLE_DAYS:
        rows = db.session.execute(
            select(numbers.c.n, sql_add_months(as_date(day), numbers.c.n))
        ).all()
        got = dict(rows)
        expected = {n: add_months(day, n) for n in MONTHS}
        assert got == expected, day


@pytest.mark.usefixtures("db_session")
def test_add_months_matches_python_for_column_days_and_literal_months() -> None:
    days = union_all(*[select(literal(day, Date()).label("day")) for day in SAMPLE_DAYS]).subquery()
    for months in (1, 3, 12, -1):
        rows = db.session.execute(select(days.c.day, sql_add_months(days.c.day, months))).all()
        assert dict(rows) == {day: add_months(day, months) for day in SAMPLE_DAYS}


@pytest.mark.usefixtures("db_session")
def test_add_working_days_matches_python_every_weekday() -> None:
    numbers = _numbers(WORKING_DAYS)
    for day in SAMPLE_DAYS:
        rows = db.session.execute(
            select(numbers.c.n, sql_add_working_days(as_date(day), numbers.c.n))
        ).all()
        got = dict(rows)
        expected = {n: add_working_days(day, n) for n in WORKING_DAYS}
        assert got == expected, day


@pytest.mark.usefixtures("db_session")
def test_add_working_days_with_a_python_count_and_column_days() -> None:
    days = union_all(*[select(literal(day, Date()).label("day")) for day in SAMPLE_DAYS]).subquery()
    for count in (0, 1, 7):
        rows = db.session.execute(select(days.c.day, sql_add_working_days(days.c.day, count))).all()
        assert dict(rows) == {day: add_working_days(day, count) for day in SAMPLE_DAYS}


def test_samples_cover_weekends_and_month_ends() -> None:
    assert {day.weekday() for day in SAMPLE_DAYS} == set(range(7))
    assert date(2024, 2, 29) in SAMPLE_DAYS
    assert date(2024, 1, 31) in SAMPLE_DAYS
