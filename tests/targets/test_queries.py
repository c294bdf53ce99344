"""Reading targets: a region's row, a province's split and where the split does not add
up (SPEC §13)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import event

from app.extensions import db
from app.targets.queries import get_targets, list_split, split_mismatches
from tests.targets.factories import make_targets

HAINAN, HAIKOU, SANYA, QIONGHAI = "460000", "460100", "460200", "469002"
SHANGHAI, YANGPU = "310000", "310110"
HAINAN_CITIES = 19


@pytest.fixture(autouse=True)
def _session(db_session):
    """Every test here reads the database."""


def _count_queries():
    statements: list[str] = []

    def before(conn, cursor, statement, *args):
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    return statements, lambda: event.remove(engine, "before_cursor_execute", before)


def test_get_targets_reads_one_region_and_year():
    make_targets(2026, HAIKOU, trainees=10)
    make_targets(2027, HAIKOU, trainees=20)
    assert get_targets(2026, HAIKOU).trainees == 10
    assert get_targets(2027, HAIKOU).trainees == 20
    assert get_targets(2026, SANYA) is None


def test_the_split_lists_the_province_then_every_city_with_none_where_unset():
    make_targets(2026, HAINAN, trainees=300, loans_amount="900000.00")
    make_targets(2026, SANYA, trainees=80)
    make_targets(2025, HAIKOU, trainees=99)  # another year
    make_targets(2026, YANGPU, trainees=7)  # another province
    rows = list_split(2026, HAINAN)
    assert len(rows) == 1 + HAINAN_CITIES
    assert [row.region.code for row in rows[:3]] == [HAINAN, HAIKOU, SANYA]
    codes = [row.region.code for row in rows[1:]]
    assert codes == sorted(codes)
    assert rows[0].values() == {
        "trainees": 300,
        "businesses_opened": None,
        "loans_count": None,
        "loans_amount": Decimal("900000.00"),
        "jobs_created": None,
    }
    assert rows[1].target is None
    assert rows[1].values() == dict.fromkeys(rows[1].values())
    assert not rows[1].has_targets
    assert rows[2].value("trainees") == 80
    assert rows[2].has_targets
    assert {row.region.code for row in rows if row.has_targets} == {HAINAN, SANYA}


def test_the_split_takes_one_query():
    make_targets(2026, HAINAN, trainees=1)
    statements, stop = _count_queries()
    try:
        rows = list_split(2026, HAINAN)
        assert [row.region.display_name for row in rows]  # nothing loaded lazily
    finally:
        stop()
    assert len(statements) == 1


def test_unknown_province_has_an_empty_split():
    assert list_split(2026, "999999") == []
    assert split_mismatches(2026, "999999") == {}


def test_mismatches_name_each_figure_that_does_not_add_up():
    make_targets(
        2026,
        HAINAN,
        trainees=300,
        businesses_opened=50,
        loans_count=0,
        loans_amount="1000000.00",
        jobs_created=None,
    )
    make_targets(
        2026, HAIKOU, trainees=200, businesses_opened=30, loans_amount="600000.50", jobs_created=9
    )
    make_targets(2026, SANYA, trainees=100, businesses_opened=15, loans_amount="399999.50")
    make_targets(2026, QIONGHAI, trainees=None, businesses_opened=None)
    # Another year and another province do not count.
    make_targets(2025, SANYA, businesses_opened=5)
    make_targets(2026, YANGPU, businesses_opened=5)
    assert split_mismatches(2026, HAINAN) == {
        # trainees: 200 + 100 = 300, adds up; loans_amount adds up to the fen.
        "businesses_opened": (50, 45),
        # No city has a loans_count target at all: the split is not done (0 = 0 or not).
        "loans_count": (0, 0),
        # jobs_created: the province has no target, so the cities' 9 is no mismatch.
    }


def test_money_mismatches_are_exact_to_the_fen():
    make_targets(2026, HAINAN, loans_amount="1000000.00")
    make_targets(2026, HAIKOU, loans_amount="600000.01")
    make_targets(2026, SANYA, loans_amount="400000.00")
    assert split_mismatches(2026, HAINAN) == {
        "loans_amount": (Decimal("1000000.00"), Decimal("1000000.01"))
    }


def test_a_province_without_targets_has_no_mismatch():
    make_targets(2026, HAIKOU, trainees=5)
    assert split_mismatches(2026, HAINAN) == {}


def test_a_province_whose_cities_have_no_targets_is_reported_for_every_figure():
    make_targets(2026, SHANGHAI, trainees=10, loans_amount="5.00")
    assert split_mismatches(2026, SHANGHAI) == {
        "trainees": (10, 0),
        "loans_amount": (Decimal("5.00"), Decimal("0.00")),
    }


def test_a_split_that_adds_up_has_no_mismatch():
    make_targets(2026, HAINAN, trainees=30, jobs_created=10)
    make_targets(2026, HAIKOU, trainees=10, jobs_created=10)
    make_targets(2026, SANYA, trainees=20, jobs_created=0)
    assert split_mismatches(2026, HAINAN) == {}


def test_mismatches_take_one_query():
    make_targets(2026, HAINAN, trainees=30)
    statements, stop = _count_queries()
    try:
        split_mismatches(2026, HAINAN)
    finally:
        stop()
    assert len(statements) == 1
    assert "GROUP BY" in statements[0].upper()
