"""Money: Decimal in Python, integer fen in the database, exact sums on every engine."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, Table, func, insert, select

from app.core.db import Money, format_money, to_money
from app.extensions import db

amounts = st.decimals(
    min_value=Decimal("-99999999.99"),
    max_value=Decimal("99999999.99"),
    places=2,
    allow_nan=False,
    allow_infinity=False,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0.005", "0.01"),
        ("2.675", "2.68"),  # a float would say 2.67
        ("-2.675", "-2.68"),  # half away from zero, like the bank
        ("1234.5", "1234.50"),
        (7, "7.00"),
        (Decimal("0.004"), "0.00"),
    ],
)
def test_to_money_rounds_half_up_to_the_fen(raw, expected):
    assert to_money(raw) == Decimal(expected)
    assert format_money(to_money(raw)) == expected


@pytest.mark.parametrize("raw", [0.1, True, "abc", "NaN", "Infinity", None, [1]])
def test_to_money_refuses_floats_and_junk(raw):
    with pytest.raises((TypeError, ValueError)):
        to_money(raw)


@pytest.fixture
def money_table(db_session):
    """A scratch table with a Money column, created inside the rolled-back transaction."""
    metadata = MetaData()
    table = Table(
        "scratch_money",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("amount", Money, nullable=False),
    )
    table.create(db.session.connection())
    return table


def test_money_is_stored_as_integer_fen(money_table):
    db.session.execute(insert(money_table).values(amount=Decimal("1234.56")))
    raw = db.session.execute(
        select(money_table.c.amount.cast(Integer)).select_from(money_table)
    ).scalar()
    assert raw == 123456
    assert db.session.execute(select(money_table.c.amount)).scalar() == Decimal("1234.56")


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(values=st.lists(amounts, min_size=1, max_size=20))
def test_database_sum_equals_decimal_sum(money_table, values):
    db.session.execute(money_table.delete())
    db.session.execute(insert(money_table), [{"amount": value} for value in values])
    stored = list(db.session.execute(select(money_table.c.amount).order_by(money_table.c.id)))
    assert [row.amount for row in stored] == values
    total = db.session.execute(select(func.sum(money_table.c.amount))).scalar()
    assert total == sum(values, Decimal("0.00"))
    assert isinstance(total, Decimal)
