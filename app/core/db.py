"""Database foundations shared by every model: declarative base, constraint names,
the Money column type and the SQLite connection settings."""

from __future__ import annotations

import enum
import sqlite3
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from flask import g, has_request_context, request
from sqlalchemy import BigInteger, DateTime, MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

# One naming convention so Alembic migrations name constraints the same on every engine.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

CENT = Decimal("0.01")
# Ids in URLs and bodies stay within a 32-bit INTEGER column on every engine.
MAX_ID = 2**31 - 1


class Base(DeclarativeBase):
    """Declarative base for all models."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """Timezone-aware now in UTC, the only clock timestamps are written with."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always returned timezone-aware, on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use app.core.db.utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def to_money(value: Any) -> Decimal:
    """Turn user or code input into yuan with exactly 2 decimals, refusing floats and junk.

    Floats are refused because they cannot say 0.1 exactly; callers pass Decimal, int or str.
    """
    if isinstance(value, bool | float):
        raise TypeError("money must be Decimal, int or str, never float or bool")
    try:
        amount = Decimal(value) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError, TypeError):
        raise ValueError(f"not an amount of money: {value!r}") from None
    if not amount.is_finite():
        raise ValueError(f"not an amount of money: {value!r}")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def format_money(value: Decimal) -> str:
    """The API's money format: a string with exactly 2 decimals."""
    return f"{to_money(value):.2f}"


class Money(TypeDecorator):
    """Yuan as `Decimal` in Python, integer fen in the database on every engine.

    SQLite's driver would turn NUMERIC into float; integer fen keeps SUM() exact everywhere.
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> int | None:
        if value is None:
            return None
        return int(to_money(value) * 100)

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        if value is None:
            return None
        return (Decimal(int(value)) / 100).quantize(CENT)

    def coerce_compared_value(self, op: Any, value: Any) -> TypeDecorator:
        return self


RATE_UNIT = Decimal("0.000001")


def to_rate(value: Any) -> Decimal:
    """A rate or ratio (0.0345, 0.8, 5) as a Decimal of at most 6 decimals; never a float."""
    if isinstance(value, bool | float):
        raise TypeError("rates must be Decimal, int or str, never float or bool")
    try:
        rate = Decimal(value) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError, TypeError):
        raise ValueError(f"not a rate: {value!r}") from None
    if not rate.is_finite():
        raise ValueError(f"not a rate: {value!r}")
    return rate.quantize(RATE_UNIT, rounding=ROUND_HALF_UP).normalize() + 0


class Rate(TypeDecorator):
    """Rates and ratios as `Decimal`, stored as integer millionths on every engine.

    Interest rates (0.0345), subsidy shares (0.5) and leverage (5) must multiply money
    exactly; SQLite would hand NUMERIC back as a float.
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> int | None:
        if value is None:
            return None
        return int(to_rate(value) / RATE_UNIT)

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        if value is None:
            return None
        return to_rate(Decimal(int(value)) * RATE_UNIT)

    def coerce_compared_value(self, op: Any, value: Any) -> TypeDecorator:
        return self


@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection: Any, connection_record: Any) -> None:
    """WAL, foreign keys and a busy timeout; transactions are begun by us, not the driver."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # Autocommit at the driver level so that our "begin" listener decides how to begin.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def mark_request_as_writing() -> None:
    """Declare that this GET request writes (e.g. an audit entry), before it reads what it
    will write about. Its SQLite transaction then takes the write lock up front like any
    POST: a read-only transaction already begun (loading the signed-in user, say) is ended,
    so the next statement begins IMMEDIATE. Objects loaded so far reload on next use.
    """
    from app.extensions import db

    g.writes_database = True
    if db.session().in_transaction():
        db.session.rollback()


def _is_read_only_request() -> bool:
    return (
        has_request_context()
        and request.method in READ_ONLY_METHODS
        and not g.get("writes_database", False)
    )


@event.listens_for(Engine, "begin")
def _begin_on_sqlite(connection: Any) -> None:
    """Writers take SQLite's write lock when their transaction begins; readers do not.

    A deferred transaction that reads and then writes can fail at once with "database is
    locked" when another writer got in between; BEGIN IMMEDIATE waits (busy_timeout)
    instead. Page views and API reads begin deferred, so under WAL they never wait for a
    writer and never hold writers up. Commands and jobs (no request) always write-lock.
    """
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN" if _is_read_only_request() else "BEGIN IMMEDIATE")


def in_list(column: str, values: type[enum.StrEnum]) -> str:
    """A CHECK constraint's text keeping `column` to an enum's values."""
    quoted = ", ".join(f"'{member.value}'" for member in values)
    return f"{column} IN ({quoted})"
