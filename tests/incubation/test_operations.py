"""Incubation rules: bases, capacity, one residency per business and unit, dates, endings."""

from __future__ import annotations

from datetime import date

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from app.businesses.models import Observation
from app.core.audit import AuditEntry
from app.core.errors import Conflict, PermissionDenied, ValidationFailed
from app.extensions import db
from app.incubation import operations
from app.incubation.models import IncubationBase, Residency
from app.incubation.operations import create_base, end_residency, start_residency, update_base
from tests.businesses.factories import make_business, make_observation
from tests.factories import DEFAULT_AS_OF, make_user
from tests.incubation.factories import base_body, make_base, make_residency

AS_OF = DEFAULT_AS_OF  # 2026-11-22


@pytest.fixture(autouse=True)
def in_english(db_session):
    """Messages are compared in English (outside a request they default to Chinese)."""
    with force_locale("en"):
        yield


@pytest.fixture
def haikou_staff(db_session):
    return make_user(role="staff", region_code="460100")


@pytest.fixture
def hainan_staff(db_session):
    return make_user(role="staff", region_code="460000")


def audit_entries(action):
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def move_in(actor, base, business, unit="A-101", starts_on=date(2026, 5, 1), **values):
    return start_residency(
        actor,
        base,
        {"business_id": business.id, "unit_label": unit, "starts_on": starts_on, **values},
        as_of=AS_OF,
    )


def move_out(actor, residency, ends_on=date(2026, 10, 1), outcome="graduated", **values):
    return end_residency(
        actor, residency, {"ends_on": ends_on, "outcome": outcome, **values}, as_of=AS_OF
    )


# Bases ----------------------------------------------------------------------------------
def test_create_base_is_audited(haikou_staff):
    base = create_base(haikou_staff, base_body(name="  椰城创业园 ", units=12))
    assert (base.name, base.units, base.kind, base.operator_phone) == (
        "椰城创业园",
        12,
        "park",
        "0898-66668888",
    )
    [entry] = audit_entries("incubation_base.create")
    assert entry.entity_id == str(base.id)
    assert entry.region_code == "460100"
    assert entry.actor_id == haikou_staff.id
    assert entry.after["units"] == 12


def test_a_base_outside_the_actors_area_is_refused(haikou_staff):
    with pytest.raises(ValidationFailed) as caught:
        create_base(haikou_staff, base_body(name="三亚基地", region_code="460200"))
    assert set(caught.value.errors) == {"region_code"}
    assert (
        db.session.scalar(select(IncubationBase).where(IncubationBase.name == "三亚基地")) is None
    )


def test_province_staff_add_bases_in_their_cities(hainan_staff):
    assert create_base(hainan_staff, base_body(region_code="460200")).region_code == "460200"
    with pytest.raises(ValidationFailed):
        create_base(hainan_staff, base_body(region_code="310110"))


def test_only_staff_manage_bases(db_session):
    officer = make_user(role="officer", region_code="460100")
    with pytest.raises(PermissionDenied):
        create_base(officer, base_body())


@pytest.mark.parametrize(
    ("fields", "bad_field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "园" * 101}, "name"),
        ({"name": "a\x00b"}, "name"),
        ({"kind": "castle"}, "kind"),
        ({"units": 0}, "units"),
        ({"units": 10_001}, "units"),
        ({"units": True}, "units"),
        ({"units": "5"}, "units"),
        ({"address": "路" * 201}, "address"),
        ({"operator_name": "王" * 101}, "operator_name"),
        ({"operator_phone": "12345"}, "operator_phone"),
        ({"operator_phone": "1380013800"}, "operator_phone"),  # a mobile of 10 digits
        ({"operator_phone": "0898-6666-8888-1234"}, "operator_phone"),
        ({"operator_phone": "call me"}, "operator_phone"),
        ({"operator_phone": "0" * 21}, "operator_phone"),
    ],
)
def test_bad_bases_are_refused_by_field(haikou_staff, fields, bad_field):
    with pytest.raises(ValidationFailed) as caught:
        create_base(haikou_staff, base_body(name="坏基地") | fields)
    assert set(caught.value.errors) == {bad_field}
    assert db.session.scalar(select(IncubationBase).where(IncubationBase.name == "坏基地")) is None


@pytest.mark.parametrize("phone", ["0898-66668888", "13800138000", "138 0013 8000", "", None])
def test_landlines_and_mobiles_are_accepted(haikou_staff, phone):
    base = create_base(haikou_staff, base_body(operator_phone=phone))
    assert base.operator_phone == (phone or "")


def test_base_names_are_unique_per_region(haikou_staff, hainan_staff):
    first = create_base(haikou_staff, base_body(name="同名基地"))
    with pytest.raises(Conflict) as caught:
        create_base(haikou_staff, base_body(name="同名基地", units=3))
    assert caught.value.payload["id"] == first.id
    other = create_base(hainan_staff, base_body(name="同名基地", region_code="460200"))
    assert other.id != first.id


def test_update_base_audits_the_changed_fields(haikou_staff):
    base = make_base(units=5, name="旧名")
    assert update_base(haikou_staff, base, {"name": "新名", "units": 8}) is True
    assert (base.name, base.units) == ("新名", 8)
    [entry] = audit_entries("incubation_base.update")
    assert entry.before == {"name": "旧名", "units": 5}
    assert entry.after == {"name": "新名", "units": 8}
    assert update_base(haikou_staff, base, {"units": 8}) is False
    assert len(audit_entries("incubation_base.update")) == 1


def test_units_never_drop_below_the_current_residents(haikou_staff):
    base = make_base(units=5)
    for _n in range(3):
        make_residency(base)
    make_residency(base, ends_on=date(2026, 6, 1), outcome="left")
    with pytest.raises(ValidationFailed) as caught:
        update_base(haikou_staff, base, {"units": 2})
    assert set(caught.value.errors) == {"units"}
    assert "3" in caught.value.errors["units"][0]
    assert update_base(haikou_staff, base, {"units": 3}) is True


def test_renaming_to_a_taken_name_is_a_conflict(haikou_staff):
    taken = make_base(name="已有基地")
    base = make_base(name="另一个")
    with pytest.raises(Conflict) as caught:
        update_base(haikou_staff, base, {"name": "已有基地"})
    assert caught.value.payload["id"] == taken.id


def test_a_base_cannot_move_out_of_the_actors_area(haikou_staff):
    base = make_base()
    with pytest.raises(ValidationFailed) as caught:
        update_base(haikou_staff, base, {"region_code": "460200"})
    assert set(caught.value.errors) == {"region_code"}


# Starting a residency -------------------------------------------------------------------
def test_start_residency_is_audited(haikou_staff):
    base = make_base()
    business = make_business()
    residency = move_in(haikou_staff, base, business, unit=" B-2 ", note="签约三年")
    assert (residency.unit_label, residency.starts_on, residency.note) == (
        "B-2",
        date(2026, 5, 1),
        "签约三年",
    )
    assert residency.ends_on is None
    [entry] = audit_entries("residency.start")
    assert entry.entity_id == str(residency.id)
    assert entry.region_code == "460100"
    assert entry.after["business_id"] == business.id


def test_the_last_free_unit_is_taken_then_the_base_is_full(haikou_staff):
    base = make_base(units=2)
    make_residency(base)
    last = move_in(haikou_staff, base, make_business(), unit="LAST")
    assert last.id is not None
    with pytest.raises(Conflict) as caught:
        move_in(haikou_staff, base, make_business(), unit="EXTRA")
    assert caught.value.message == "The base is full (2 of 2 units used)."
    assert caught.value.payload == {"units": 2, "occupied": 2}


def test_past_residents_do_not_take_units(haikou_staff):
    base = make_base(units=1)
    make_residency(base, ends_on=date(2026, 4, 30), outcome="left")
    assert move_in(haikou_staff, base, make_business()).id is not None


def test_ending_a_residency_frees_a_unit_for_a_new_resident(haikou_staff):
    base = make_base(units=1)
    first = move_in(haikou_staff, base, make_business(), unit="A-1")
    with pytest.raises(Conflict):
        move_in(haikou_staff, base, make_business(), unit="A-2")
    move_out(haikou_staff, first)  # on 2026-10-01
    second = move_in(haikou_staff, base, make_business(), unit="A-1", starts_on=date(2026, 10, 1))
    assert second.unit_label == "A-1"


def test_a_backdated_start_never_double_books_history(haikou_staff):
    """A-1 was taken from May to October: a start dated inside that time is refused, for
    the unit and for a one-unit base, though both are free today."""
    base = make_base(units=1)
    move_out(haikou_staff, move_in(haikou_staff, base, make_business(), unit="A-1"))
    for unit in ("A-1", "A-2"):
        with pytest.raises(Conflict):
            move_in(haikou_staff, base, make_business(), unit=unit, starts_on=date(2026, 6, 1))
    assert move_in(haikou_staff, base, make_business(), unit="A-2", starts_on=date(2026, 10, 2))


def test_a_business_lives_in_one_base_at_a_time(haikou_staff):
    home = make_base(name="椰风基地")
    other = make_base()
    business = make_business()
    living = move_in(haikou_staff, home, business)
    with pytest.raises(Conflict) as caught:
        move_in(haikou_staff, other, business, unit="C-1")
    assert "椰风基地" in caught.value.message
    assert caught.value.payload["id"] == living.id
    with pytest.raises(Conflict):
        move_in(haikou_staff, home, business, unit="C-2")


def test_an_occupied_unit_is_a_conflict(haikou_staff):
    base = make_base()
    holder = move_in(haikou_staff, base, make_business(name="先来小店"), unit="A-101")
    with pytest.raises(Conflict) as caught:
        move_in(haikou_staff, base, make_business(), unit="A-101")
    assert "A-101" in caught.value.message
    assert "先来小店" in caught.value.message
    assert caught.value.payload["id"] == holder.id
    # The same label in another base is another unit.
    assert move_in(haikou_staff, make_base(), make_business(), unit="A-101").id is not None


def test_a_closed_business_cannot_move_in(haikou_staff):
    business = make_business()
    make_observation(business, status="closed", observed_on=date(2026, 6, 1))
    with pytest.raises(Conflict) as caught:
        move_in(haikou_staff, make_base(), business, starts_on=date(2026, 7, 1))
    assert "2026-06-01" in caught.value.message
    assert db.session.scalar(select(Residency)) is None


def test_a_business_outside_the_actors_area_is_a_field_error(haikou_staff):
    sanya_business = make_business(region_code="460200")
    for business_id in (sanya_business.id, 999_999_999, 0, True, "1"):
        with pytest.raises(ValidationFailed) as caught:
            start_residency(
                haikou_staff,
                make_base(),
                {"business_id": business_id, "unit_label": "A", "starts_on": date(2026, 5, 1)},
                as_of=AS_OF,
            )
        assert caught.value.errors == {"business_id": ["Choose a business in your area."]}


@pytest.mark.parametrize(
    ("starts_on", "message"),
    [
        (date(2026, 2, 28), "The business opened on 2026-03-01; it cannot have moved in earlier."),
        (date(2026, 11, 23), "The day the business moved in cannot be in the future."),
        (None, "Enter the day the business moved in."),
        ("2026-05-01", "Enter the day the business moved in."),
    ],
)
def test_a_residency_starts_between_opening_and_today(haikou_staff, starts_on, message):
    with pytest.raises(ValidationFailed) as caught:
        move_in(haikou_staff, make_base(), make_business(), starts_on=starts_on)
    assert caught.value.errors == {"starts_on": [message]}


def test_opening_day_and_today_are_both_allowed(haikou_staff):
    assert move_in(haikou_staff, make_base(), make_business(), starts_on=date(2026, 3, 1))
    assert move_in(haikou_staff, make_base(), make_business(), starts_on=AS_OF)


def test_a_new_residency_cannot_start_before_the_last_one_ended(haikou_staff):
    business = make_business()
    make_residency(make_base(), business, ends_on=date(2026, 8, 1), outcome="left")
    with pytest.raises(ValidationFailed) as caught:
        move_in(haikou_staff, make_base(), business, starts_on=date(2026, 7, 31))
    assert set(caught.value.errors) == {"starts_on"}
    assert move_in(haikou_staff, make_base(), business, starts_on=date(2026, 8, 1))


@pytest.mark.parametrize(
    ("values", "bad_field"),
    [
        ({"unit_label": ""}, "unit_label"),
        ({"unit_label": "   "}, "unit_label"),
        ({"unit_label": "U" * 21}, "unit_label"),
        ({"unit_label": 101}, "unit_label"),
        ({"note": "记" * 1001}, "note"),
    ],
)
def test_bad_residency_fields_are_refused(haikou_staff, values, bad_field):
    with pytest.raises(ValidationFailed) as caught:
        move_in(haikou_staff, make_base(), make_business(), **values)
    assert set(caught.value.errors) == {bad_field}


def test_every_field_error_is_reported_at_once(haikou_staff):
    with pytest.raises(ValidationFailed) as caught:
        start_residency(haikou_staff, make_base(), {}, as_of=AS_OF)
    assert set(caught.value.errors) == {"business_id", "unit_label", "starts_on"}


def test_a_race_lost_to_the_database_index_is_the_same_conflict(haikou_staff, monkeypatch):
    """Two staff moving the same business in at once: the check passed for both, the
    partial unique index refuses the second insert."""
    base = make_base(name="竞争基地")
    business = make_business()
    make_residency(base, business, unit_label="X-1")
    real = operations._open_residency_of
    answers = iter([None])
    monkeypatch.setattr(
        operations, "_open_residency_of", lambda business_id: next(answers, real(business_id))
    )
    with pytest.raises(Conflict) as caught:
        move_in(haikou_staff, make_base(), business, unit="Y-1")
    assert "竞争基地" in caught.value.message
    assert audit_entries("residency.start") == []


def test_a_unit_race_lost_to_the_database_index_is_the_same_conflict(haikou_staff, monkeypatch):
    base = make_base()
    make_residency(base, unit_label="Z-9")
    real = operations._unit_holder
    answers = iter([None])
    monkeypatch.setattr(operations, "_unit_holder", lambda *args: next(answers, real(*args)))
    with pytest.raises(Conflict) as caught:
        move_in(haikou_staff, base, make_business(), unit="Z-9")
    assert "Z-9" in caught.value.message


# Ending a residency ---------------------------------------------------------------------
def test_end_residency_is_audited(haikou_staff):
    residency = make_residency(make_base(), note="入驻")
    move_out(haikou_staff, residency, outcome="graduated", note="顺利毕业")
    assert (residency.ends_on, residency.outcome) == (date(2026, 10, 1), "graduated")
    assert residency.note == "入驻\n顺利毕业"
    [entry] = audit_entries("residency.end")
    assert entry.before == {"ends_on": None, "outcome": None, "note": "入驻"}
    assert entry.after["outcome"] == "graduated"
    assert entry.region_code == "460100"


def test_a_residency_ends_once(haikou_staff):
    residency = make_residency(make_base())
    move_out(haikou_staff, residency, outcome="left")
    with pytest.raises(Conflict) as caught:
        move_out(haikou_staff, residency, outcome="graduated")
    assert "2026-10-01" in caught.value.message
    assert residency.outcome == "left"


@pytest.mark.parametrize(
    ("values", "errors"),
    [
        (
            {"ends_on": date(2026, 3, 31)},
            {"ends_on": ["The business moved in on 2026-04-01; it cannot have moved out earlier."]},
        ),
        (
            {"ends_on": date(2026, 11, 23)},
            {"ends_on": ["The day the business moved out cannot be in the future."]},
        ),
        ({"ends_on": None}, {"ends_on": ["Enter the day the business moved out."]}),
        ({"outcome": "moved"}, {"outcome": ["Choose graduated, left or closed."]}),
        ({"outcome": None}, {"outcome": ["Choose graduated, left or closed."]}),
    ],
)
def test_bad_endings_are_refused_by_field(haikou_staff, values, errors):
    residency = make_residency(make_base())
    with pytest.raises(ValidationFailed) as caught:
        move_out(haikou_staff, residency, **values)
    assert caught.value.errors == errors
    assert residency.ends_on is None


def test_a_residency_may_end_the_day_it_started_or_today(haikou_staff):
    move_out(haikou_staff, make_residency(make_base()), ends_on=date(2026, 4, 1))
    move_out(haikou_staff, make_residency(make_base()), ends_on=AS_OF)


def test_ending_as_closed_records_the_businesss_closure(haikou_staff):
    base = make_base(name="椰林基地")
    business = make_business()
    residency = make_residency(base, business)
    move_out(haikou_staff, residency, ends_on=date(2026, 9, 30), outcome="closed")
    assert (business.status, business.closed_on, business.employees) == (
        "closed",
        date(2026, 9, 30),
        0,
    )
    [observation] = db.session.scalars(
        select(Observation).where(Observation.business_id == business.id)
    )
    assert (observation.observed_on, observation.status, observation.source) == (
        date(2026, 9, 30),
        "closed",
        "staff",
    )
    assert "椰林基地" in observation.note
    assert len(audit_entries("observation.create")) == 1


def test_ending_as_closed_keeps_an_earlier_recorded_closure(haikou_staff):
    business = make_business()
    residency = make_residency(make_base(), business)
    make_observation(business, status="closed", observed_on=date(2026, 8, 1))
    move_out(haikou_staff, residency, ends_on=date(2026, 9, 1), outcome="closed")
    assert business.closed_on == date(2026, 8, 1)
    assert len(list(db.session.scalars(select(Observation)))) == 1


def test_a_closure_the_business_history_refuses_names_ends_on(haikou_staff):
    business = make_business()
    residency = make_residency(make_base(), business)
    make_observation(business, status="operating", observed_on=date(2026, 10, 15))
    with pytest.raises(ValidationFailed) as caught:
        move_out(haikou_staff, residency, ends_on=date(2026, 10, 1), outcome="closed")
    assert set(caught.value.errors) == {"ends_on"}
    assert "2026-10-15" in caught.value.errors["ends_on"][0]
    assert business.status == "operating"
    assert residency.ends_on is None


def test_ending_as_left_or_graduated_leaves_the_business_status_alone(haikou_staff):
    business = make_business()
    move_out(haikou_staff, make_residency(make_base(), business), outcome="left")
    assert business.status == "operating"
    assert db.session.scalar(select(Observation)) is None
