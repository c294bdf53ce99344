"""Founder reads: scope, filters, search forms, training status and order."""

from __future__ import annotations

from datetime import date

import pytest

from app.core.errors import NotFound
from app.extensions import db
from app.founders.queries import (
    FounderFilters,
    get_account_of_founder,
    get_founder_in_scope,
    list_founders_stmt,
)
from app.regions.queries import region_codes_in_scope
from tests.factories import make_founder, make_id_number, make_user
from tests.founders.helpers import (
    HAIKOU,
    HAINAN,
    SANYA,
    SHANGHAI_YANGPU,
    enroll,
    id_number_ending_in_x,
)


def listed(user, **filters):
    """Ids of the founders the user's list shows, in list order."""
    stmt = list_founders_stmt(user, FounderFilters(**filters))
    return [founder.id for founder in db.session.scalars(stmt)]


@pytest.fixture
def three_regions(db_session):
    """One founder in Haikou, one in Sanya (both Hainan), one in Shanghai's Yangpu."""
    return {
        HAIKOU: make_founder(region_code=HAIKOU),
        SANYA: make_founder(region_code=SANYA),
        SHANGHAI_YANGPU: make_founder(region_code=SHANGHAI_YANGPU),
    }


# Scope ---------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["staff", "officer"])
def test_city_staff_and_officers_see_only_their_city(three_regions, role):
    user = make_user(role=role, region_code=HAIKOU)
    assert listed(user) == [three_regions[HAIKOU].id]
    with pytest.raises(NotFound):
        get_founder_in_scope(user, three_regions[SANYA].id)
    assert get_founder_in_scope(user, three_regions[HAIKOU].id) is three_regions[HAIKOU]


def test_province_staff_see_every_city_of_their_province(three_regions):
    province_staff = make_user(role="staff", region_code=HAINAN)
    own_province = {three_regions[HAIKOU].id, three_regions[SANYA].id}
    assert set(listed(province_staff)) == own_province
    with pytest.raises(NotFound):
        get_founder_in_scope(province_staff, three_regions[SHANGHAI_YANGPU].id)


def test_admins_see_everyone(three_regions):
    admin = make_user(role="admin", region_code=HAINAN)
    assert set(listed(admin)) == {founder.id for founder in three_regions.values()}
    assert get_founder_in_scope(admin, three_regions[SHANGHAI_YANGPU].id).region_code == (
        SHANGHAI_YANGPU
    )


def test_a_founder_sees_only_themselves(three_regions):
    own = three_regions[HAIKOU]
    founder_user = make_user(role="founder", region_code=HAIKOU, founder_id=own.id)
    assert listed(founder_user) == [own.id]
    assert get_founder_in_scope(founder_user, own.id) is own
    other_in_same_city = make_founder(region_code=HAIKOU)
    with pytest.raises(NotFound):
        get_founder_in_scope(founder_user, other_in_same_city.id)


def test_missing_and_out_of_scope_founders_look_the_same(three_regions):
    staff = make_user(role="staff", region_code=HAIKOU)
    with pytest.raises(NotFound) as missing:
        get_founder_in_scope(staff, 2_000_000_000)
    with pytest.raises(NotFound) as elsewhere:
        get_founder_in_scope(staff, three_regions[SANYA].id)
    assert missing.value.message == elsewhere.value.message
    assert missing.value.status_code == 404


def test_the_region_filter_cannot_widen_the_scope(three_regions):
    staff = make_user(role="staff", region_code=HAIKOU)
    assert listed(staff, region_code=SANYA) == []
    province_staff = make_user(role="staff", region_code=HAINAN)
    assert listed(province_staff, region_code=SANYA) == [three_regions[SANYA].id]


def test_account_of_founder(db_session):
    founder = make_founder()
    assert get_account_of_founder(founder.id) is None
    account = make_user(role="founder", region_code=HAIKOU, founder_id=founder.id)
    assert get_account_of_founder(founder.id) == account


# Filters -------------------------------------------------------------------------------
@pytest.fixture
def province_staff(db_session):
    return make_user(role="staff", region_code=HAINAN)


def test_target_group_filter(province_staff):
    veteran = make_founder(target_group="veteran")
    make_founder(target_group="laid_off")
    assert listed(province_staff, target_group="veteran") == [veteran.id]


def test_registration_date_range_is_inclusive(province_staff):
    early = make_founder(registered_on=date(2026, 1, 31))
    first = make_founder(registered_on=date(2026, 2, 1))
    last = make_founder(registered_on=date(2026, 2, 28))
    late = make_founder(registered_on=date(2026, 3, 1))
    window = {"registered_from": date(2026, 2, 1), "registered_to": date(2026, 2, 28)}
    assert listed(province_staff, **window) == [last.id, first.id]
    assert listed(province_staff, registered_from=date(2026, 3, 1)) == [late.id]
    assert listed(province_staff, registered_to=date(2026, 1, 31)) == [early.id]


def test_filters_combine(province_staff):
    match = make_founder(region_code=SANYA, target_group="veteran", registered_on=date(2026, 5, 1))
    make_founder(region_code=HAIKOU, target_group="veteran", registered_on=date(2026, 5, 1))
    make_founder(region_code=SANYA, target_group="disabled", registered_on=date(2026, 5, 1))
    make_founder(region_code=SANYA, target_group="veteran", registered_on=date(2025, 5, 1))
    assert listed(
        province_staff,
        region_code=SANYA,
        target_group="veteran",
        registered_from=date(2026, 1, 1),
    ) == [match.id]


def test_newest_registration_first_then_newest_id(province_staff):
    older = make_founder(registered_on=date(2025, 6, 1))
    same_day_first = make_founder(registered_on=date(2026, 6, 1))
    same_day_second = make_founder(registered_on=date(2026, 6, 1))
    newest = make_founder(registered_on=date(2026, 7, 1))
    assert listed(province_staff) == [newest.id, same_day_second.id, same_day_first.id, older.id]


# Search --------------------------------------------------------------------------------
def test_search_by_the_beginning_of_a_chinese_name(province_staff):
    zhang_wei = make_founder(name="张伟", registered_on=date(2026, 1, 2))
    zhang_sanfeng = make_founder(name="张三丰", registered_on=date(2026, 1, 1))
    make_founder(name="李张")
    make_founder(name="章伟")
    assert listed(province_staff, q="张") == [zhang_wei.id, zhang_sanfeng.id]
    assert listed(province_staff, q="张三") == [zhang_sanfeng.id]
    assert listed(province_staff, q="张三丰") == [zhang_sanfeng.id]
    assert listed(province_staff, q="伟") == []


def test_search_by_a_latin_name_prefix(province_staff):
    maria = make_founder(name="Maria Lopez")
    make_founder(name="Mario")
    assert listed(province_staff, q="Maria") == [maria.id]


def test_search_by_a_whole_phone_number(province_staff):
    wanted = make_founder(phone="13812345678")
    make_founder(phone="13812345679")
    assert listed(province_staff, q="13812345678") == [wanted.id]


def test_search_by_the_beginning_of_a_phone_number(province_staff):
    first = make_founder(phone="13812345678", registered_on=date(2026, 1, 2))
    second = make_founder(phone="13812399999", registered_on=date(2026, 1, 1))
    make_founder(phone="13912345678")
    make_founder(phone="13712399999")
    assert listed(province_staff, q="138123") == [first.id, second.id]
    assert listed(province_staff, q="1381234") == [first.id]
    assert listed(province_staff, q="13812") == [first.id, second.id]
    assert listed(province_staff, q="1381234567") == [first.id]


def test_search_by_the_last_four_of_the_id_number(province_staff):
    id_number = make_id_number()
    wanted = make_founder(id_number=id_number)
    make_founder()
    assert listed(province_staff, q=id_number[-4:]) == [wanted.id]


@pytest.mark.parametrize("case", [str.upper, str.lower])
def test_search_by_the_last_four_ending_in_x(province_staff, case):
    id_number = id_number_ending_in_x()
    wanted = make_founder(id_number=id_number)
    make_founder()
    assert listed(province_staff, q=case(id_number[-4:])) == [wanted.id]


def test_search_stays_in_scope(db_session):
    make_founder(region_code=SANYA, name="张伟", phone="13812345678")
    haikou_staff = make_user(role="staff", region_code=HAIKOU)
    assert listed(haikou_staff, q="张") == []
    assert listed(haikou_staff, q="13812345678") == []


def test_search_for_what_nobody_matches(province_staff):
    make_founder(name="张伟")
    assert listed(province_staff, q="%") == []
    assert listed(province_staff, q="_") == []
    assert listed(province_staff, q="0000000000000000000") == []


# Training status -----------------------------------------------------------------------
@pytest.fixture
def trainees(province_staff):
    never = make_founder(name="从未报名")
    in_training = make_founder(name="在训")
    enroll(in_training, course_code="GYB")
    passed = make_founder(name="已结业")
    enroll(passed, course_code="SYB", result="passed")
    failed = make_founder(name="未通过")
    enroll(failed, course_code="SYB", result="failed")
    dropped = make_founder(name="退学")
    enroll(dropped, course_code="IYB", result="dropped")
    skills_only = make_founder(name="只学技能")
    enroll(skills_only, course_code="T-COOK", result="passed")
    passed_and_studying = make_founder(name="再学")
    enroll(passed_and_studying, course_code="GYB", result="passed")
    enroll(passed_and_studying, course_code="EYB")
    failed_then_passed = make_founder(name="补考")
    enroll(failed_then_passed, course_code="SYB", result="failed")
    enroll(failed_then_passed, course_code="SYB", result="passed")
    return {
        name: founder.id
        for name, founder in {
            "never": never,
            "in_training": in_training,
            "passed": passed,
            "failed": failed,
            "dropped": dropped,
            "skills_only": skills_only,
            "passed_and_studying": passed_and_studying,
            "failed_then_passed": failed_then_passed,
        }.items()
    }


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("not_enrolled", {"never"}),
        ("in_training", {"in_training", "passed_and_studying"}),
        ("passed", {"passed", "passed_and_studying", "failed_then_passed"}),
        ("not_passed", {"failed", "dropped", "skills_only"}),
    ],
)
def test_training_status(province_staff, trainees, status, expected):
    assert set(listed(province_staff, training_status=status)) == {
        trainees[name] for name in expected
    }


def test_an_unknown_training_status_is_a_programming_error(province_staff):
    with pytest.raises(ValueError, match="unknown training status"):
        listed(province_staff, training_status="graduated")


# Regions a user may register into ----------------------------------------------------------
def test_region_codes_in_scope(db_session):
    city = region_codes_in_scope(make_user(role="staff", region_code=HAIKOU))
    province = region_codes_in_scope(make_user(role="staff", region_code=HAINAN))
    officer = region_codes_in_scope(make_user(role="officer", region_code=SANYA))
    admin = region_codes_in_scope(make_user(role="admin", region_code=HAINAN))
    founder = region_codes_in_scope(make_user(role="founder", region_code=HAIKOU))
    assert city == {HAIKOU}
    assert {HAINAN, HAIKOU, SANYA} <= province
    assert all(code.startswith("46") for code in province)
    assert officer == {SANYA}
    assert {HAINAN, HAIKOU, SANYA, SHANGHAI_YANGPU} <= admin
    assert founder == frozenset()
