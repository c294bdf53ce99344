"""Date arithmetic in SQL that reads the same on SQLite and PostgreSQL.

Set-based jobs compare due dates with the job's date inside the database; the two engines
spell date differences and date shifts differently, so these constructs compile to each.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Date, Integer
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
