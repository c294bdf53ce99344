"""Founder operations: registering, correcting, and the audited view of a full ID number."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from flask_babel import force_locale

from app.auth.operations import create_user
from app.core.errors import Conflict, ValidationFailed
from app.extensions import db
from app.founders.models import Founder, TargetGroup
from app.founders.operations import record_id_number_view, register_founder, update_founder
from tests.factories import (
    DEFAULT_AS_OF,
    DEFAULT_PASSWORD,
    make_founder,
    make_id_number,
    make_user,
)
from tests.founders.helpers import (
    HAIKOU,
    HAINAN,
    SANYA,
    audit_entries,
    count_founders_and_audit,
    founder_values,
    id_number_born,
    id_number_ending_in_x,
    with_wrong_check_char,
)

AS_OF = DEFAULT_AS_OF


@pytest.fixture(autouse=True)
def english(db_session):
    with force_locale("en"):
        yield


@pytest.fixture
def haikou_staff(db_session):
    return make_user(role="staff", region_code=HAIKOU)


def register(actor, **overrides):
    return register_founder(actor, as_of=AS_OF, **founder_values(**overrides))


def refused(action, *args, **kwargs):
    """Run an action that must fail; answer the error and prove nothing was written."""
    before = count_founders_and_audit()
    with pytest.raises((ValidationFailed, Conflict)) as raised:
        action(*args, **kwargs)
    assert count_founders_and_audit() == before
    return raised.value


# Registering ---------------------------------------------------------------------------
def test_register_stores_the_founder_with_derived_fields_and_an_audit_entry(haikou_staff):
    id_number = id_number_born(date(1985, 12, 1), sex="male")
    founder = register(haikou_staff, id_number=id_number, education=None)
    stored = db.session.get(Founder, founder.id)
    assert stored.id_number == id_number
    assert stored.id_number_last4 == id_number[-4:]
    assert stored.birth_date == date(1985, 12, 1)
    assert stored.sex == "male"
    assert stored.education is None
    assert stored.region_code == HAIKOU
    [entry] = audit_entries("founder.create", founder.id)
    assert entry.actor_id == haikou_staff.id
    assert entry.region_code == HAIKOU
    assert entry.before is None
    assert entry.after["name"] == "王芳"
    assert entry.after["birth_date"] == "1985-12-01"


def test_the_audit_log_never_holds_a_full_id_number(haikou_staff):
    founder = register(haikou_staff)
    update_founder(haikou_staff, founder, as_of=AS_OF, id_number=id_number_born(date(1991, 1, 2)))
    record_id_number_view(haikou_staff, founder)
    entries = audit_entries("founder.create") + audit_entries("founder.update")
    entries += audit_entries("founder.view_id_number")
    assert len(entries) == 3
    dumped = json.dumps([[entry.before, entry.after] for entry in entries])
    assert founder.id_number not in dumped
    assert founder.id_number_masked in dumped


def test_registered_on_defaults_to_as_of(haikou_staff):
    founder = register(haikou_staff, registered_on=None)
    assert founder.registered_on == AS_OF


@pytest.mark.parametrize("sex", ["male", "female"])
def test_sex_is_read_from_the_17th_digit(haikou_staff, sex):
    founder = register(haikou_staff, id_number=make_id_number(sex=sex))
    assert founder.sex == sex


def test_lower_case_x_is_normalised(haikou_staff):
    id_number = id_number_ending_in_x()
    founder = register(haikou_staff, id_number=id_number.lower())
    assert founder.id_number == id_number
    assert founder.id_number_last4 == id_number[-4:]


def test_wrong_checksum_is_a_field_error_and_writes_nothing(haikou_staff):
    error = refused(register, haikou_staff, id_number=with_wrong_check_char(make_id_number()))
    assert error.errors == {
        "id_number": ["This ID number's check character is wrong; please check each digit."]
    }
    assert error.status_code == 422


def test_a_10_digit_phone_is_a_field_error(haikou_staff):
    error = refused(register, haikou_staff, phone="1391234567")
    assert list(error.errors) == ["phone"]


@pytest.mark.parametrize("region_code", ["999999", SANYA])
def test_unknown_and_out_of_scope_regions_are_refused(haikou_staff, region_code):
    error = refused(register, haikou_staff, region_code=region_code)
    assert list(error.errors) == ["region_code"]


def test_province_staff_register_in_any_city_of_their_province(db_session):
    province_staff = make_user(role="staff", region_code=HAINAN)
    assert register(province_staff, region_code=SANYA).region_code == SANYA
    assert register(province_staff, region_code=HAINAN).region_code == HAINAN
    error = refused(register, province_staff, region_code="310110")
    assert list(error.errors) == ["region_code"]


def test_founders_may_register_nobody(db_session):
    founder_user = make_user(role="founder", region_code=HAIKOU)
    error = refused(register, founder_user)
    assert list(error.errors) == ["region_code"]


def test_future_registration_date_is_refused(haikou_staff):
    error = refused(register, haikou_staff, registered_on=AS_OF + timedelta(days=1))
    assert error.errors == {"registered_on": ["The registration date cannot be in the future."]}
    assert register(haikou_staff, registered_on=AS_OF).registered_on == AS_OF


def test_registration_before_birth_is_refused(haikou_staff):
    error = refused(
        register,
        haikou_staff,
        id_number=id_number_born(date(2008, 9, 1)),
        registered_on=date(2008, 8, 31),
    )
    assert error.errors == {"registered_on": ["The registration date is before the birth date."]}


@pytest.mark.parametrize("name", ["张" * 51, "x" * 10 * 1024 * 1024])
def test_over_long_names_are_refused(haikou_staff, name):
    error = refused(register, haikou_staff, name=name)
    assert error.errors == {"name": ["Use at most 50 characters."]}


@pytest.mark.parametrize("target_group", [group.value for group in TargetGroup])
def test_every_target_group_is_accepted(haikou_staff, target_group):
    assert register(haikou_staff, target_group=target_group).target_group == target_group


def test_unknown_fields_are_a_programming_error(haikou_staff):
    with pytest.raises(TypeError):
        register(haikou_staff, nickname="小王")


def test_a_duplicate_id_number_is_a_conflict_with_the_existing_id(haikou_staff):
    first = register(haikou_staff)
    error = refused(register, haikou_staff, id_number=first.id_number, name="另一个人")
    assert error.status_code == 409
    assert error.payload == {"id": first.id}
    assert error.to_json()["id"] == first.id


def test_the_duplicate_check_ignores_case_of_x(haikou_staff):
    first = register(haikou_staff, id_number=id_number_ending_in_x())
    error = refused(register, haikou_staff, id_number=first.id_number.lower())
    assert error.payload == {"id": first.id}


def test_a_duplicate_in_another_region_is_still_a_conflict(haikou_staff):
    sanya_founder = make_founder(region_code=SANYA)
    error = refused(register, haikou_staff, id_number=sanya_founder.id_number)
    assert error.payload == {"id": sanya_founder.id}


# Correcting ----------------------------------------------------------------------------
def test_update_changes_only_the_given_fields_and_audits_them(haikou_staff):
    founder = register(haikou_staff)
    unchanged = {
        name: getattr(founder, name)
        for name in ("name", "id_number", "region_code", "target_group", "registered_on")
    }
    old_phone = founder.phone
    update_founder(haikou_staff, founder, as_of=AS_OF, phone="13800001111", education=None)
    stored = db.session.get(Founder, founder.id)
    assert stored.phone == "13800001111"
    assert stored.education is None
    assert {name: getattr(stored, name) for name in unchanged} == unchanged
    [entry] = audit_entries("founder.update", founder.id)
    assert entry.actor_id == haikou_staff.id
    assert entry.before == {"phone": old_phone, "education": "bachelor"}
    assert entry.after == {"phone": "13800001111", "education": None}


def test_update_without_a_change_writes_no_audit_entry(haikou_staff):
    founder = register(haikou_staff)
    update_founder(haikou_staff, founder, as_of=AS_OF, name=founder.name)
    assert audit_entries("founder.update", founder.id) == []


def test_a_corrected_id_number_re_derives_birth_date_and_sex(haikou_staff):
    founder = register(haikou_staff, id_number=make_id_number(sex="female"))
    new_id = id_number_born(date(1979, 2, 28), sex="male")
    update_founder(haikou_staff, founder, as_of=AS_OF, id_number=new_id.lower())
    stored = db.session.get(Founder, founder.id)
    assert stored.id_number == new_id
    assert stored.id_number_last4 == new_id[-4:]
    assert stored.birth_date == date(1979, 2, 28)
    assert stored.sex == "male"
    [entry] = audit_entries("founder.update", founder.id)
    assert entry.after["birth_date"] == "1979-02-28"
    assert entry.after["sex"] == "male"


def test_update_to_anothers_id_number_is_a_conflict(haikou_staff):
    other = make_founder(region_code=SANYA)
    founder = register(haikou_staff)
    old_id_number = founder.id_number
    error = refused(update_founder, haikou_staff, founder, as_of=AS_OF, id_number=other.id_number)
    assert error.payload == {"id": other.id}
    assert founder.id_number == old_id_number


def test_keeping_the_own_id_number_is_no_conflict(haikou_staff):
    founder = register(haikou_staff)
    update_founder(haikou_staff, founder, as_of=AS_OF, id_number=founder.id_number, name="王芳芳")
    assert founder.name == "王芳芳"


def test_update_with_bad_values_changes_nothing(haikou_staff):
    founder = register(haikou_staff)
    snapshot = {name: getattr(founder, name) for name in founder_values()}
    error = refused(
        update_founder,
        haikou_staff,
        founder,
        as_of=AS_OF,
        phone="123",
        region_code=SANYA,
        registered_on=AS_OF + timedelta(days=3),
    )
    assert set(error.errors) == {"phone", "region_code", "registered_on"}
    assert {name: getattr(founder, name) for name in snapshot} == snapshot


def test_update_refuses_a_registration_date_before_a_corrected_birth_date(haikou_staff):
    founder = register(haikou_staff, registered_on=date(2015, 1, 1))
    error = refused(
        update_founder,
        haikou_staff,
        founder,
        as_of=AS_OF,
        id_number=id_number_born(date(2016, 1, 1)),
    )
    assert list(error.errors) == ["registered_on"]


def test_update_may_move_a_founder_within_the_actors_province(db_session):
    province_staff = make_user(role="staff", region_code=HAINAN)
    founder = register(province_staff)
    update_founder(province_staff, founder, as_of=AS_OF, region_code=SANYA)
    assert db.session.get(Founder, founder.id).region_code == SANYA


def test_update_rejects_unknown_fields(haikou_staff):
    founder = register(haikou_staff)
    with pytest.raises(TypeError):
        update_founder(haikou_staff, founder, as_of=AS_OF, birth_date=date(1990, 1, 1))


# Viewing the full number ---------------------------------------------------------------
def test_record_id_number_view_leaves_an_audit_entry(db_session):
    officer = make_user(role="officer", region_code=HAIKOU)
    founder = make_founder(region_code=HAIKOU)
    before = count_founders_and_audit()
    record_id_number_view(officer, founder)
    assert count_founders_and_audit() == (before[0], before[1] + 1)
    [entry] = audit_entries("founder.view_id_number", founder.id)
    assert entry.actor_id == officer.id
    assert entry.actor_username == officer.username
    assert entry.entity_type == "founder"
    assert entry.region_code == HAIKOU
    assert entry.before is None
    assert entry.after is None


# Founder accounts ------------------------------------------------------------------------
def test_a_founder_account_links_to_an_existing_founder_of_its_region(db_session):
    founder = make_founder(region_code=SANYA)
    account = create_user(
        None,
        username="founder.own",
        password=DEFAULT_PASSWORD,
        role="founder",
        region_code=SANYA,
        founder_id=founder.id,
    )
    assert account.founder_id == founder.id


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"founder_id": None}, "founder_id"),
        ({"founder_id": 999_999_999}, "founder_id"),
        ({"founder_id": 0}, "founder_id"),
        ({"region_code": HAIKOU}, "region_code"),
        ({"role": "staff"}, "founder_id"),
    ],
)
def test_founder_account_links_that_are_refused(db_session, fields, field):
    founder = make_founder(region_code=SANYA)
    values = {"role": "founder", "region_code": SANYA, "founder_id": founder.id} | fields
    error = refused(create_user, None, username="founder.bad", password=DEFAULT_PASSWORD, **values)
    assert field in error.errors


def test_one_account_per_founder(db_session):
    founder = make_founder(region_code=HAIKOU)
    make_user(role="founder", region_code=HAIKOU, founder_id=founder.id)
    error = refused(
        create_user,
        None,
        username="second.account",
        password=DEFAULT_PASSWORD,
        role="founder",
        region_code=HAIKOU,
        founder_id=founder.id,
    )
    assert error.errors == {"founder_id": ["This founder already has an account."]}
