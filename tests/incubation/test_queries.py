"""Incubation reads: occupancy per base and per region, scope, resident lists."""

from __future__ import annotations

from datetime import date

import pytest

from app.core.errors import NotFound
from app.extensions import db
from app.incubation.queries import (
    BaseFilters,
    base_occupancy,
    get_base_in_scope,
    get_residency_in_scope,
    list_bases_stmt,
    list_residencies_of_business,
    list_residencies_of_founder,
    list_residents,
    region_occupancy,
    total_occupancy,
)
from tests.businesses.factories import make_business
from tests.factories import make_founder, make_user
from tests.incubation.factories import make_base, make_residency

ENDED = {"ends_on": date(2026, 6, 30), "outcome": "graduated"}


@pytest.fixture
def bases(db_session):
    """Two Haikou bases and a Sanya base with current and past residents."""
    haikou_park = make_base(name="海口科技园", units=3)
    make_residency(haikou_park)
    make_residency(haikou_park)
    make_residency(haikou_park, **ENDED)
    haikou_campus = make_base(name="海口大学城", kind="campus", units=5)
    sanya = make_base(name="三亚创业港", region_code="460200", units=4)
    make_residency(sanya)
    return {"haikou_park": haikou_park, "haikou_campus": haikou_campus, "sanya": sanya}


def names(user, filters=None):
    filters = filters or BaseFilters()
    return [base.name for base in db.session.scalars(list_bases_stmt(user, filters))]


def test_occupancy_per_base_counts_only_current_residents(bases):
    figures = base_occupancy(base.id for base in bases.values())
    park = figures[bases["haikou_park"].id]
    assert (park.units, park.occupied, park.free, park.rate) == (3, 2, 1, 0.6667)
    campus = figures[bases["haikou_campus"].id]
    assert (campus.units, campus.occupied, campus.free, campus.rate) == (5, 0, 5, 0.0)
    assert figures[bases["sanya"].id].occupied == 1
    assert base_occupancy([]) == {}


def test_province_staff_see_the_bases_of_their_cities(bases):
    province = make_user(role="staff", region_code="460000")
    assert names(province) == ["海口大学城", "海口科技园", "三亚创业港"]
    assert names(province, BaseFilters(region_code="460200")) == ["三亚创业港"]


def test_city_staff_see_only_their_own_bases(bases):
    haikou = make_user(role="staff", region_code="460100")
    assert names(haikou) == ["海口大学城", "海口科技园"]
    assert names(haikou, BaseFilters(region_code="460200")) == []
    assert get_base_in_scope(haikou, bases["haikou_park"].id) == bases["haikou_park"]
    with pytest.raises(NotFound):
        get_base_in_scope(haikou, bases["sanya"].id)
    with pytest.raises(NotFound):
        get_base_in_scope(haikou, 999_999_999)


def test_bases_are_searched_by_name_and_kind(bases):
    province = make_user(role="staff", region_code="460000")
    assert names(province, BaseFilters(q="科技")) == ["海口科技园"]
    assert names(province, BaseFilters(q="%")) == []  # a wildcard is a literal character
    assert names(province, BaseFilters(kind="campus")) == ["海口大学城"]


def test_residencies_are_seen_through_their_base(bases):
    sanya_residency = make_residency(bases["sanya"])
    haikou = make_user(role="staff", region_code="460100")
    sanya = make_user(role="staff", region_code="460200")
    assert get_residency_in_scope(sanya, sanya_residency.id) == sanya_residency
    with pytest.raises(NotFound):
        get_residency_in_scope(haikou, sanya_residency.id)


def test_occupancy_per_region_for_province_staff(bases):
    province = make_user(role="staff", region_code="460000")
    lines = {line.region.code: line.occupancy for line in region_occupancy(province)}
    assert "310000" not in lines
    assert lines["460000"].bases == 0
    haikou = lines["460100"]
    assert (haikou.bases, haikou.units, haikou.occupied, haikou.free) == (2, 8, 2, 6)
    assert haikou.rate == 0.25
    sanya = lines["460200"]
    assert (sanya.bases, sanya.units, sanya.occupied, sanya.free, sanya.rate) == (1, 4, 1, 3, 0.25)
    assert (lines["460300"].units, lines["460300"].rate) == (0, None)
    total = total_occupancy(region_occupancy(province))
    assert (total.bases, total.units, total.occupied, total.free) == (3, 12, 3, 9)


def test_occupancy_per_region_for_city_staff_is_their_city_only(bases):
    haikou = make_user(role="staff", region_code="460100")
    [line] = region_occupancy(haikou)
    assert line.region.code == "460100"
    assert (line.occupancy.bases, line.occupancy.units, line.occupancy.occupied) == (2, 8, 2)


def test_residents_current_and_past(db_session):
    base = make_base(units=5)
    founder = make_founder(name="李娜")
    business = make_business(founder, name="椰子鸡")
    make_residency(base, unit_label="B-2")
    make_residency(base, business, unit_label="A-1")
    old = make_residency(base, unit_label="A-1", starts_on=date(2026, 3, 1), **ENDED)
    older = make_residency(
        base, unit_label="C-3", ends_on=date(2026, 5, 1), outcome="left", starts_on=date(2026, 4, 1)
    )
    current = list_residents(base.id)
    assert [r.unit_label for r in current] == ["A-1", "B-2"]
    assert (current[0].business.name, current[0].business.founder.name) == ("椰子鸡", "李娜")
    assert [r.id for r in list_residents(base.id, current=False)] == [old.id, older.id]


def test_residencies_of_a_business_and_of_a_founder(db_session):
    founder = make_founder()
    first = make_business(founder)
    second = make_business(founder)
    earlier = make_residency(make_base(), first, starts_on=date(2026, 3, 15), **ENDED)
    later = make_residency(make_base(), first, starts_on=date(2026, 7, 1))
    other = make_residency(make_base(), second, starts_on=date(2026, 5, 1))
    make_residency(make_base())  # someone else's
    assert [r.id for r in list_residencies_of_business(first.id)] == [later.id, earlier.id]
    staff = make_user(role="staff", region_code=founder.region_code)
    assert [r.id for r in list_residencies_of_founder(staff, founder.id)] == [
        later.id,
        other.id,
        earlier.id,
    ]
