"""Date arithmetic in SQL that reads the same on SQLite and PostgreSQL.

Set-based jobs compare due dates with the job's date inside the database; the two engines
spell date differences and date shifts differently, so these constructs compile to each.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Date, Integer, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement


class days_between(FunctionElement):
    """Whole days from `earlier` to `later` (later − earlier), as an integer."""

    type = Integer()
    inherit_cache = True
    name = "days_between"


@compiles(days_between)
def _days_between_default(element: days_between, compiler: Any, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    return f"({compiler.process(later, **kw)} - {compiler.process(earlier, **kw)})"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element: days_between, compiler: Any, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    return (
        f"CAST(julianday({compiler.process(later, **kw)})"
        f" - julianday({compiler.process(earlier, **kw)}) AS INTEGER)"
    )


class add_days(FunctionElement):
    """`day` shifted by a whole number of days (a literal or an integer expression)."""

    type = Date()
    inherit_cache = True
    name = "add_days"


@compiles(add_days)
def _add_days_default(element: add_days, compiler: Any, **kw: Any) -> str:
    day, days = list(element.clauses)
    return f"CAST(({compiler.process(day, **kw)} + {compiler.process(days, **kw)}) AS DATE)"


@compiles(add_days, "sqlite")
def _add_days_sqlite(element: add_days, compiler: Any, **kw: Any) -> str:
    day, days = list(element.clauses)
    return f"date({compiler.process(day, **kw)}, ({compiler.process(days, **kw)}) || ' days')"


def as_date(value: Any) -> ColumnElement:
    """A bound date parameter typed as DATE, so engines compare it as a date."""
    from sqlalchemy import bindparam

    return bindparam(None, value, type_=Date())


class add_months(FunctionElement):
    """`day` shifted by whole calendar months, clamped to the month's end like
    `app.core.dates.add_months` (31 January + 1 month is 28 or 29 February)."""

    type = Date()
    inherit_cache = True
    name = "add_months"


@compiles(add_months)
def _add_months_default(element: add_months, compiler: Any, **kw: Any) -> str:
    # PostgreSQL's date + interval already clamps to the last day of the target month.
    day, months = list(element.clauses)
    return (
        f"CAST(({compiler.process(day, **kw)}"
        f" + CAST({compiler.process(months, **kw)} AS INTEGER) * INTERVAL '1 month') AS DATE)"
    )


@compiles(add_months, "sqlite")
def _add_months_sqlite(element: add_months, compiler: Any, **kw: Any) -> str:
    # SQLite's '+N months' overflows into the next month (31 Jan + 1 month = 3 March), so
    # count from the first of the month and clamp to the target month's last day. ISO date
    # strings order as dates, so min() picks the earlier of the two.
    day, months = list(element.clauses)
    d = compiler.process(day, **kw)
    n = compiler.process(months, **kw)
    same_day = (
        f"date({d}, 'start of month', ({n}) || ' months',"
        f" (CAST(strftime('%d', {d}) AS INTEGER) - 1) || ' days')"
    )
    month_end = f"date({d}, 'start of month', (({n}) + 1) || ' months', '-1 day')"
    return f"min({same_day}, {month_end})"


class _weekday(FunctionElement):
    """The day of the week, Monday 0 to Sunday 6 (Python's `date.weekday()`)."""

    type = Integer()
    inherit_cache = True
    name = "weekday"


@compiles(_weekday)
def _weekday_default(element: _weekday, compiler: Any, **kw: Any) -> str:
    (day,) = list(element.clauses)
    return f"(CAST(EXTRACT(ISODOW FROM {compiler.process(day, **kw)}) AS INTEGER) - 1)"


@compiles(_weekday, "sqlite")
def _weekday_sqlite(element: _weekday, compiler: Any, **kw: Any) -> str:
    (day,) = list(element.clauses)
    return f"((CAST(strftime('%w', {compiler.process(day, **kw)}) AS INTEGER) + 6) % 7)"


def add_working_days(day: Any, days: Any) -> ColumnElement:
    """`day` plus `days` working days (Mon–Fri), exactly as `app.core.dates.add_working_days`:
    0 leaves the day as it is; from a weekend, counting starts at the Friday before."""
    from sqlalchemy import case, cast, literal

    n = cast(literal(days, Integer()) if isinstance(days, int) else days, Integer())
    weekday = _weekday(day)
    back_to_friday = case((weekday > 4, weekday - 4), else_=0)
    start_weekday = case((weekday > 4, 4), else_=weekday)
    remainder = n % 5
    # Whole weeks are 7 days; the rest crosses one weekend when it runs past Friday.
    shift = (
        remainder
        - back_to_friday
        + (n // 5) * 7
        + case((start_weekday + remainder > 4, 2), else_=0)
    )
    return case((n == 0, day), else_=add_days(day, cast(shift, Integer())))


class month_of(FunctionElement):
    """The calendar month of `day` as text 'YYYY-MM' (for grouping figures by month)."""

    type = String()
    inherit_cache = True
    name = "month_of"


@compiles(month_of)
def _month_of_default(element: month_of, compiler: Any, **kw: Any) -> str:
    (day,) = list(element.clauses)
    return f"to_char({compiler.process(day, **kw)}, 'YYYY-MM')"


@compiles(month_of, "sqlite")
def _month_of_sqlite(element: month_of, compiler: Any, **kw: Any) -> str:
    (day,) = list(element.clauses)
    return f"strftime('%Y-%m', {compiler.process(day, **kw)})"
