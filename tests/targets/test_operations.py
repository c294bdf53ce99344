"""Setting targets (SPEC §13, §4): create, update, audit, who may, and bad values."""

from __future__ import annotations

from decimal import Decimal

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.core.audit import AuditEntry
from app.core.errors import NotFound, PermissionDenied, ValidationFailed
from app.extensions import db
from app.regions.queries import get_region
from app.targets.models import RegionTarget
from app.targets.operations import (
    is_target_setter,
    may_set_targets,
    set_province_targets,
    set_targets,
)
from app.targets.queries import get_targets
from tests.factories import make_user
from tests.targets.factories import make_targets

HAINAN, HAIKOU, SANYA = "460000", "460100", "460200"
SHANGHAI, YANGPU = "310000", "310110"


@pytest.fixture(autouse=True)
def in_english(db_session):
    """Messages are compared in English (outside a request they default to Chinese)."""
    with force_locale("en"):
        yield


@pytest.fixture
def admin():
    return make_user(role="admin", region_code=HAINAN)


@pytest.fixture
def province_staff():
    return make_user(role="staff", region_code=HAINAN)


def _audit(action: str) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        )
    )


def _rows() -> int:
    return db.session.scalar(select(func.count()).select_from(RegionTarget))


def test_the_first_values_make_the_row_and_audit_them(province_staff):
    row = set_targets(province_staff, 2026, HAIKOU, {"trainees": 120, "loans_amount": "1500000.5"})
    assert row.id is not None
    assert row.values() == {
        "trainees": 120,
        "businesses_opened": None,
        "loans_count": None,
        "loans_amount": Decimal("1500000.50"),
        "jobs_created": None,
    }
    assert row.updated_by_id == province_staff.id
    (entry,) = _audit("region_target.create")
    assert (entry.entity_type, entry.entity_id, entry.region_code) == (
        "region_target",
        str(row.id),
        HAIKOU,
    )
    assert entry.actor_id == province_staff.id
    assert entry.before is None
    assert entry.after == {
        "year": 2026,
        "trainees": 120,
        "businesses_opened": None,
        "loans_count": None,
        "loans_amount": "1500000.50",
        "jobs_created": None,
    }


def test_a_change_keeps_the_figures_left_out_and_audits_only_the_changed_ones(admin):
    row = make_targets(2026, HAIKOU, trainees=100, loans_count=40, loans_amount="800000.00")
    set_targets(admin, 2026, HAIKOU, {"trainees": 110, "loans_count": 40, "jobs_created": 300})
    db.session.refresh(row)
    assert row.values() == {
        "trainees": 110,
        "businesses_opened": None,
        "loans_count": 40,
        "loans_amount": Decimal("800000.00"),
        "jobs_created": 300,
    }
    (entry,) = _audit("region_target.update")
    assert entry.before == {"year": 2026, "trainees": 100, "jobs_created": None}
    assert entry.after == {"year": 2026, "trainees": 110, "jobs_created": 300}
    assert row.updated_by_id == admin.id


def test_none_clears_a_target(admin):
    make_targets(2026, SANYA, trainees=50, loans_amount="10.00")
    row = set_targets(admin, 2026, SANYA, {"loans_amount": None})
    assert row.loans_amount is None
    assert row.trainees == 50
    (entry,) = _audit("region_target.update")
    assert entry.before == {"year": 2026, "loans_amount": "10.00"}
    assert entry.after == {"year": 2026, "loans_amount": None}


def test_a_change_that_changes_nothing_writes_nothing(admin):
    make_targets(2026, HAIKOU, trainees=100, loans_amount="5.00")
    set_targets(admin, 2026, HAIKOU, {"trainees": 100, "loans_amount": Decimal("5")})
    assert _audit("region_target.update") == []


def test_setting_nothing_where_nothing_is_set_makes_no_row(admin):
    row = set_targets(admin, 2026, HAIKOU, {"trainees": None})
    assert row.id is None
    assert get_targets(2026, HAIKOU) is None
    assert _rows() == 0
    assert _audit("region_target.create") == []


def test_each_year_has_its_own_row(admin):
    set_targets(admin, 2026, HAIKOU, {"trainees": 1})
    set_targets(admin, 2027, HAIKOU, {"trainees": 2})
    assert get_targets(2026, HAIKOU).trainees == 1
    assert get_targets(2027, HAIKOU).trainees == 2


# Who may set targets ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("role", "home", "region", "allowed"),
    [
        ("admin", HAINAN, HAINAN, True),
        ("admin", HAINAN, YANGPU, True),
        ("staff", HAINAN, HAINAN, True),
        ("staff", HAINAN, SANYA, True),
        ("staff", HAIKOU, HAIKOU, False),
        ("staff", HAIKOU, HAINAN, False),
        ("officer", HAINAN, HAIKOU, False),
        ("staff", SHANGHAI, HAIKOU, False),
    ],
)
def test_who_may_set_which_targets(role, home, region, allowed):
    user = make_user(role=role, region_code=home)
    assert may_set_targets(user, get_region(region)) is allowed


def test_target_setters_are_admins_and_province_staff():
    assert is_target_setter(make_user(role="admin", region_code=HAINAN))
    assert is_target_setter(make_user(role="staff", region_code=SHANGHAI))
    assert not is_target_setter(make_user(role="staff", region_code=HAIKOU))
    assert not is_target_setter(make_user(role="officer", region_code=HAINAN))
    assert not is_target_setter(make_user(role="founder", region_code=HAIKOU))


def test_city_staff_read_but_may_not_set_their_own_citys_targets():
    staff = make_user(role="staff", region_code=HAIKOU)
    with pytest.raises(PermissionDenied, match="Only administrators and the province's staff"):
        set_targets(staff, 2026, HAIKOU, {"trainees": 10})
    assert _rows() == 0


def test_officers_may_not_set_targets():
    officer = make_user(role="officer", region_code=HAINAN)
    with pytest.raises(PermissionDenied):
        set_targets(officer, 2026, HAIKOU, {"trainees": 10})


@pytest.mark.parametrize(
    ("home", "region"),
    [(SHANGHAI, HAIKOU), (SHANGHAI, HAINAN), (HAINAN, YANGPU), (HAIKOU, SANYA)],
)
def test_another_areas_region_looks_absent(home, region):
    staff = make_user(role="staff", region_code=home)
    with pytest.raises(NotFound):
        set_targets(staff, 2026, region, {"trainees": 10})
    assert _rows() == 0


@pytest.mark.parametrize("code", ["999999", "46010", "", "abcdef"])
def test_an_unknown_region_is_not_found(admin, code):
    with pytest.raises(NotFound):
        set_targets(admin, 2026, code, {"trainees": 10})


# Bad values ------------------------------------------------------------------------------
@pytest.mark.parametrize("year", [1999, 2100, 0, -2026, "2026", 2026.0, True])
def test_years_run_from_2000_to_2099(admin, year):
    with pytest.raises(ValidationFailed) as caught:
        set_targets(admin, year, HAIKOU, {"trainees": 1})
    assert caught.value.errors == {"year": ["The year must be from 2000 to 2099."]}


@pytest.mark.parametrize("year", [2000, 2099])
def test_edge_years_are_accepted(admin, year):
    assert set_targets(admin, year, HAIKOU, {"trainees": 1}).year == year


def test_every_bad_figure_is_named_at_once(admin):
    with pytest.raises(ValidationFailed) as caught:
        set_targets(
            admin,
            2026,
            HAIKOU,
            {
                "trainees": -1,
                "businesses_opened": 2.5,
                "loans_count": "3",
                "loans_amount": "12.345",
                "jobs_created": 10_000_001,
            },
        )
    assert caught.value.errors == {
        "trainees": ["Trainees must be a whole number from 0 to 10,000,000."],
        "businesses_opened": ["New businesses opened must be a whole number from 0 to 10,000,000."],
        "loans_count": ["Number of guaranteed loans must be a whole number from 0 to 10,000,000."],
        "loans_amount": ["Amount of guaranteed loans has at most 2 decimals."],
        "jobs_created": ["Jobs created must be a whole number from 0 to 10,000,000."],
    }
    assert _rows() == 0


@pytest.mark.parametrize(
    "amount", ["-0.01", "1e3", "abc", 1.5, True, "NaN", "Infinity", "100000000000.01", ""]
)
def test_bad_amounts_are_refused_naming_the_field(admin, amount):
    with pytest.raises(ValidationFailed) as caught:
        set_targets(admin, 2026, HAIKOU, {"loans_amount": amount})
    assert list(caught.value.errors) == ["loans_amount"]
    assert "Amount of guaranteed loans" in caught.value.errors["loans_amount"][0]


def test_edge_values_are_accepted(admin):
    row = set_targets(
        admin,
        2026,
        HAIKOU,
        {
            "trainees": 0,
            "businesses_opened": 10_000_000,
            "loans_count": 0,
            "loans_amount": "100000000000.00",
            "jobs_created": 0,
        },
    )
    db.session.refresh(row)
    assert row.loans_amount == Decimal("100000000000.00")
    assert row.businesses_opened == 10_000_000


def test_unknown_fields_are_a_programming_error(admin):
    with pytest.raises(ValueError, match="not target fields"):
        set_targets(admin, 2026, HAIKOU, {"trainee": 1})


# A province's page: every line at once ---------------------------------------------------
def test_a_province_and_its_cities_are_saved_together(province_staff):
    rows = set_province_targets(
        province_staff,
        2026,
        HAINAN,
        {HAINAN: {"trainees": 300}, HAIKOU: {"trainees": 200}, SANYA: {"trainees": None}},
    )
    assert [row.region_code for row in rows] == [HAINAN, HAIKOU, SANYA]
    assert get_targets(2026, HAINAN).trainees == 300
    assert get_targets(2026, HAIKOU).trainees == 200
    assert get_targets(2026, SANYA) is None
    assert len(_audit("region_target.create")) == 2


def test_one_bad_cell_saves_no_line(province_staff):
    make_targets(2026, HAIKOU, trainees=5)
    with pytest.raises(ValidationFailed) as caught:
        set_province_targets(
            province_staff,
            2026,
            HAINAN,
            {
                HAINAN: {"trainees": 300},
                HAIKOU: {"trainees": 6},
                SANYA: {"loans_count": -2},
                YANGPU: {"trainees": 1},
            },
        )
    assert caught.value.errors == {
        f"{SANYA}.loans_count": [
            "Number of guaranteed loans must be a whole number from 0 to 10,000,000."
        ],
        f"{YANGPU}.region_code": ["This region is not in the province."],
    }
    assert get_targets(2026, HAINAN) is None
    assert get_targets(2026, HAIKOU).trainees == 5


def test_a_citys_page_is_not_a_province(admin):
    with pytest.raises(NotFound):
        set_province_targets(admin, 2026, HAIKOU, {HAIKOU: {"trainees": 1}})


def test_city_staff_may_not_save_their_provinces_page():
    staff = make_user(role="staff", region_code=HAIKOU)
    with pytest.raises(NotFound):  # the province is not in a city's scope
        set_province_targets(staff, 2026, HAINAN, {HAIKOU: {"trainees": 1}})


# The database holds the rules too ------------------------------------------------------------
@pytest.mark.parametrize(
    "values",
    [
        {"trainees": -1},
        {"businesses_opened": -1},
        {"loans_count": -1},
        {"loans_amount": Decimal("-0.01")},
        {"jobs_created": -1},
        {"year": 1999},
        {"year": 2100},
    ],
)
def test_the_database_refuses_negative_targets_and_other_years(values):
    db.session.add(RegionTarget(**({"year": 2026, "region_code": HAIKOU} | values)))
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.flush()


def test_the_database_holds_one_row_per_region_and_year():
    make_targets(2026, HAIKOU, trainees=1)
    db.session.add(RegionTarget(year=2026, region_code=HAIKOU, trainees=2))
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.flush()
