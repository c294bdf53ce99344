"""check_founder: the field rules every way into the register shares (form, API, import)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask_babel import force_locale

from app.founders.models import Education, TargetGroup, mask_id_number
from app.founders.rules import check_founder
from app.integrity.queries import get_integrity_standing
from app.integrity.scoring import standing_from_points
from tests.factories import make_id_number
from tests.founders.helpers import (
    HAIKOU,
    SANYA,
    founder_values,
    id_number_born,
    id_number_ending_in_x,
    with_wrong_check_char,
)

AS_OF = date(2026, 11, 22)
IN_SCOPE = frozenset({HAIKOU})


@pytest.fixture(autouse=True)
def english(app):
    with app.app_context(), force_locale("en"):
        yield


def check(**overrides):
    return check_founder(founder_values(**overrides), as_of=AS_OF, region_codes=IN_SCOPE)


def test_valid_values_come_back_clean_with_the_derived_fields():
    id_number = id_number_born(date(1988, 7, 9), sex="female")
    clean, errors = check(id_number=id_number, name="  王芳 ")
    assert errors == {}
    assert clean.name == "王芳"
    assert clean.id_number == id_number
    assert clean.id_number_last4 == id_number[-4:]
    assert clean.birth_date == date(1988, 7, 9)
    assert clean.sex == "female"
    assert set(clean.as_row()) >= {"name", "id_number", "birth_date", "sex", "registered_on"}


@pytest.mark.parametrize(("sex", "odd"), [("male", True), ("female", False)])
def test_sex_follows_the_parity_of_the_17th_digit(sex, odd):
    id_number = make_id_number(sex=sex)
    assert (int(id_number[16]) % 2 == 1) is odd
    clean, _ = check(id_number=id_number)
    assert clean.sex == sex


def test_lower_case_x_is_stored_as_upper_case():
    id_number = id_number_ending_in_x()
    clean, errors = check(id_number=id_number.lower())
    assert errors == {}
    assert clean.id_number == id_number
    assert clean.id_number_last4.endswith("X")


def test_wrong_check_character_is_named_on_id_number():
    _, errors = check(id_number=with_wrong_check_char(make_id_number()))
    assert errors == {
        "id_number": ["This ID number's check character is wrong; please check each digit."]
    }


@pytest.mark.parametrize(
    ("id_number", "message"),
    [
        ("", "Enter the 18-character ID number."),
        (None, "Enter the 18-character ID number."),
        (123, "Enter the 18-character ID number."),
        ("46010019900517", "An ID number has 18 characters."),
        ("46010019900517001Y", "An ID number is 17 digits followed by a digit or X."),
        ("460100199002300011", "The birth date inside this ID number is not possible."),
    ],
)
def test_malformed_id_numbers_are_named(id_number, message):
    _, errors = check(id_number=id_number)
    assert errors == {"id_number": [message]}


def test_a_birth_date_after_today_is_refused():
    born_tomorrow = id_number_born(AS_OF + timedelta(days=400))
    _, errors = check(id_number=born_tomorrow)
    assert errors == {"id_number": ["The birth date inside this ID number is not possible."]}


@pytest.mark.parametrize("phone", ["1391234567", "139123456789", "23912345678", "1391234567x", ""])
def test_a_phone_that_is_not_11_mobile_digits_is_a_field_error(phone):
    _, errors = check(phone=phone)
    assert errors == {"phone": ["Enter an 11-digit mainland mobile number starting with 1."]}


def test_phone_separators_and_country_code_are_removed():
    clean, errors = check(phone="+86 139-1234-5678")
    assert errors == {}
    assert clean.phone == "13912345678"


@pytest.mark.parametrize("region_code", ["999999", SANYA, "", None, "4601"])
def test_unknown_and_out_of_scope_regions_read_the_same(region_code):
    _, errors = check(region_code=region_code)
    assert errors == {"region_code": ["Unknown region, or a region outside your area."]}


def test_registration_date_defaults_to_today():
    clean, errors = check(registered_on=None)
    assert errors == {}
    assert clean.registered_on == AS_OF


@pytest.mark.parametrize(
    ("registered_on", "message"),
    [
        (AS_OF + timedelta(days=1), "The registration date cannot be in the future."),
        (date(1999, 12, 31), "The registration date cannot be before 2000-01-01."),
        ("2026-01-01", "Enter a date as YYYY-MM-DD."),
    ],
)
def test_bad_registration_dates(registered_on, message):
    _, errors = check(registered_on=registered_on)
    assert errors == {"registered_on": [message]}


def test_registration_before_birth_is_refused():
    id_number = id_number_born(date(2010, 6, 1))
    _, errors = check(id_number=id_number, registered_on=date(2010, 5, 31))
    assert errors == {"registered_on": ["The registration date is before the birth date."]}
    _, errors = check(id_number=id_number, registered_on=date(2010, 6, 1))
    assert errors == {}


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "Enter the name as written on the ID card."),
        ("   ", "Enter the name as written on the ID card."),
        (None, "Enter the name as written on the ID card."),
        ("张" * 51, "Use at most 50 characters."),
        ("x" * 10 * 1024 * 1024, "Use at most 50 characters."),
        ("王\n芳", "Contains a character that is not allowed."),
    ],
)
def test_bad_names(name, message):
    _, errors = check(name=name)
    assert errors == {"name": [message]}


def test_a_50_character_name_is_fine():
    clean, errors = check(name="张" * 50)
    assert errors == {}
    assert clean.name == "张" * 50


@pytest.mark.parametrize("target_group", [group.value for group in TargetGroup])
def test_every_target_group_is_accepted(target_group):
    clean, errors = check(target_group=target_group)
    assert errors == {}
    assert clean.target_group == target_group


@pytest.mark.parametrize("target_group", ["", None, "unemployed", "LAID_OFF"])
def test_unknown_target_groups_are_refused(target_group):
    _, errors = check(target_group=target_group)
    assert errors == {"target_group": ["Choose one of the target groups."]}


@pytest.mark.parametrize("education", [None, "", *(level.value for level in Education)])
def test_education_is_optional_but_from_the_list(education):
    clean, errors = check(education=education)
    assert errors == {}
    assert clean.education == (education or None)


def test_unknown_education_is_refused():
    _, errors = check(education="phd")
    assert errors == {"education": ["Choose one of the education levels."]}


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_the_certificate_flag_must_be_a_boolean(value):
    _, errors = check(has_reemployment_certificate=value)
    assert errors == {"has_reemployment_certificate": ["Expected yes or no."]}


def test_the_certificate_flag_defaults_to_no():
    values = founder_values()
    del values["has_reemployment_certificate"]
    clean, errors = check_founder(values, as_of=AS_OF, region_codes=IN_SCOPE)
    assert errors == {}
    assert clean.has_reemployment_certificate is False


@pytest.mark.parametrize("field", ["region_code", "target_group", "education"])
@pytest.mark.parametrize("value", [["460100"], {"code": "460100"}])
def test_lists_and_objects_are_field_errors_not_crashes(field, value):
    _, errors = check(**{field: value})
    assert list(errors) == [field]


def test_every_bad_field_is_reported_at_once():
    _, errors = check_founder({}, as_of=AS_OF, region_codes=IN_SCOPE)
    assert set(errors) == {"name", "id_number", "phone", "region_code", "target_group"}


def test_mask_keeps_the_region_and_the_last_four():
    assert mask_id_number("46010019900517001X") == "460100***********X"
    assert mask_id_number("short") == "*****"


@pytest.mark.parametrize(
    ("points", "score", "grade"),
    [
        (0, 100, "B"),
        (10, 110, "A"),
        (9, 109, "B"),
        (-10, 90, "B"),
        (-11, 89, "C"),
        (-40, 60, "C"),
        (-41, 59, "D"),
        (500, 150, "A"),
        (-500, 0, "D"),
    ],
)
def test_integrity_score_and_grade(points, score, grade):
    standing = standing_from_points(points)
    assert (standing.score, standing.grade) == (score, grade)
    assert standing.as_json() == {"score": score, "grade": grade}


def test_a_founder_without_events_stands_at_100_b(db_session):
    assert get_integrity_standing(1).as_json() == {"score": 100, "grade": "B"}


def test_the_mask_and_the_shown_facts_do_not_rebuild_the_number():
    """Lists show the masked number beside birth date and sex; together they must still
    leave many candidates (the serial stays hidden)."""
    from app.core.validators import id_number_check_char

    number = make_id_number(region_prefix="460100", birth_date=date(1990, 5, 17), sex="female")
    masked = mask_id_number(number)
    assert masked.count("*") == 11
    assert number[14:17] not in masked[6:]
    birth = number[6:14]
    candidates = [
        f"{masked[:6]}{birth}{serial:03d}"
        for serial in range(1000)
        if serial % 2 == 0  # female: even 17th digit
    ]
    consistent = [c for c in candidates if id_number_check_char(c) == masked[-1]]
    assert len(consistent) > 20
