"""Tests for app.core.validators: ID numbers, unified social credit codes, mobile numbers."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.validators import (
    ID_CHECK_CHARS,
    ID_NUMBER_WEIGHTS,
    USCC_ALPHABET,
    USCC_REGISTRATION_AUTHORITIES,
    USCC_WEIGHTS,
    IdNumberInfo,
    InvalidValue,
    id_number_check_char,
    is_valid_id_number,
    is_valid_mobile,
    is_valid_uscc,
    parse_id_number,
    parse_mobile,
    parse_uscc,
    uscc_check_char,
)

ID_SUBSTITUTION_CHARS = "0123456789X"

# --- strategies -----------------------------------------------------------------------------


@st.composite
def valid_id_numbers(draw: st.DrawFn) -> tuple[str, date, str]:
    """Build a valid ID number together with the birth date and sex it encodes."""
    region = draw(st.integers(min_value=100000, max_value=999999))
    birth = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(2025, 12, 31)))
    sequence = draw(st.integers(min_value=0, max_value=999))
    first17 = f"{region:06d}{birth:%Y%m%d}{sequence:03d}"
    sex = "male" if sequence % 2 == 1 else "female"
    return first17 + id_number_check_char(first17), birth, sex


@st.composite
def valid_usccs(draw: st.DrawFn) -> str:
    """Build a valid unified social credit code."""
    authority = draw(st.sampled_from(USCC_REGISTRATION_AUTHORITIES))
    org_class = draw(st.sampled_from(USCC_ALPHABET))
    region = draw(st.text(alphabet="0123456789", min_size=6, max_size=6))
    organisation = draw(st.text(alphabet=USCC_ALPHABET, min_size=9, max_size=9))
    first17 = authority + org_class + region + organisation
    return first17 + uscc_check_char(first17)


def _substitutions(value: str, alphabet: str) -> list[str]:
    """Every string obtained by replacing exactly one character with a different one."""
    return [
        value[:i] + char + value[i + 1 :]
        for i in range(len(value))
        for char in alphabet
        if char != value[i]
    ]


# --- ID numbers: constants ------------------------------------------------------------------


def test_id_weights_are_powers_of_two_mod_11() -> None:
    assert tuple(2 ** (17 - i) % 11 for i in range(17)) == ID_NUMBER_WEIGHTS
    assert ID_CHECK_CHARS == "10X98765432"


def test_id_single_substitution_detection_holds_mathematically() -> None:
    # A one-digit change alters the weighted sum by w * d with 0 < |d| <= 9; 11 is prime and
    # no weight is 0 mod 11, so the residue always changes.  The check char map is injective.
    assert all(weight % 11 != 0 for weight in ID_NUMBER_WEIGHTS)
    assert len(set(ID_CHECK_CHARS)) == 11


# --- ID numbers: properties -----------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(valid_id_numbers())
def test_generated_id_numbers_parse(case: tuple[str, date, str]) -> None:
    id_number, birth, sex = case
    info = parse_id_number(id_number, as_of=date(2025, 12, 31))
    assert info == IdNumberInfo(
        id_number=id_number, birth_date=birth, sex=sex, region_prefix=id_number[:6]
    )
    assert is_valid_id_number(id_number)


@settings(max_examples=200, deadline=None)
@given(valid_id_numbers())
def test_any_single_character_change_invalidates_id_number(case: tuple[str, date, str]) -> None:
    id_number, _, _ = case
    for changed in _substitutions(id_number, ID_SUBSTITUTION_CHARS):
        assert not is_valid_id_number(changed), changed


@settings(max_examples=200, deadline=None)
@given(valid_id_numbers())
def test_lower_case_x_and_whitespace_are_normalised(case: tuple[str, date, str]) -> None:
    id_number, _, _ = case
    assert parse_id_number(f"  {id_number.lower()}\t").id_number == id_number


# --- ID numbers: examples -------------------------------------------------------------------


def test_known_valid_id_number() -> None:
    info = parse_id_number("11010519491231002X")
    assert info.id_number == "11010519491231002X"
    assert info.birth_date == date(1949, 12, 31)
    assert info.sex == "female"
    assert info.region_prefix == "110105"


def test_lower_case_x_is_normalised() -> None:
    assert parse_id_number("11010519491231002x").id_number == "11010519491231002X"
    assert is_valid_id_number(" 11010519491231002x ")


def test_birth_before_1900_is_rejected_even_with_correct_checksum() -> None:
    # Famous GB 11643 example; its check character is correct, only the year is out of range.
    assert id_number_check_char("44052418800101001") == "4"
    with pytest.raises(InvalidValue) as excinfo:
        parse_id_number("440524188001010014")
    assert excinfo.value.code == "birth_date"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("", "length"),
        ("11010519491231002", "length"),
        ("11010519491231002X0", "length"),
        ("1101051949123100AX", "format"),
        ("X10105194912310020", "format"),
        ("01010519491231002X", "format"),
        ("110105194902300021", "birth_date"),
        ("110105194913010021", "birth_date"),
        ("110105194912310021", "checksum"),
        ("11010519491231002Y", "format"),
    ],
)
def test_invalid_id_numbers(value: str, code: str) -> None:
    with pytest.raises(InvalidValue) as excinfo:
        parse_id_number(value)
    assert excinfo.value.code == code
    assert excinfo.value.message == str(excinfo.value)
    assert isinstance(excinfo.value, ValueError)
    assert not is_valid_id_number(value)


def test_wrong_length_message() -> None:
    with pytest.raises(InvalidValue, match="ID number must be 18 characters"):
        parse_id_number("1234")


def test_full_width_digits_are_rejected() -> None:
    assert not is_valid_id_number("１１０１０５１９４９１２３１００２X")


def test_future_birth_date_is_rejected_with_as_of() -> None:
    first17 = "11010520300101001"
    future = first17 + id_number_check_char(first17)
    assert parse_id_number(future).birth_date == date(2030, 1, 1)
    assert parse_id_number(future, as_of=date(2030, 1, 1)).birth_date == date(2030, 1, 1)
    with pytest.raises(InvalidValue) as excinfo:
        parse_id_number(future, as_of=date(2029, 12, 31))
    assert excinfo.value.code == "birth_date"


def test_check_char_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="17 ASCII digits"):
        id_number_check_char("1234")
    with pytest.raises(ValueError, match="17 ASCII digits"):
        id_number_check_char("1101051949123100X")


# --- USCC: constants ------------------------------------------------------------------------


def test_uscc_constants() -> None:
    assert len(USCC_ALPHABET) == len(set(USCC_ALPHABET)) == 31
    assert not set("IOSVZ") & set(USCC_ALPHABET)
    assert tuple(3**i % 31 for i in range(17)) == USCC_WEIGHTS
    # 31 is prime and no weight is 0 mod 31, so any single substitution changes the residue.
    assert all(weight % 31 != 0 for weight in USCC_WEIGHTS)


# --- USCC: properties -----------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(valid_usccs())
def test_generated_usccs_parse(code: str) -> None:
    assert parse_uscc(code) == code
    assert parse_uscc(f" {code.lower()} ") == code
    assert is_valid_uscc(code)


@settings(max_examples=200, deadline=None)
@given(valid_usccs())
def test_any_single_character_change_invalidates_uscc(code: str) -> None:
    for changed in _substitutions(code, USCC_ALPHABET):
        assert not is_valid_uscc(changed), changed


# --- USCC: examples -------------------------------------------------------------------------


def test_known_valid_uscc() -> None:
    assert parse_uscc("91350100M000100Y43") == "91350100M000100Y43"
    assert parse_uscc("91350100m000100y43") == "91350100M000100Y43"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("", "length"),
        ("91350100M000100Y4", "length"),
        ("91350100M000100Y430", "length"),
        ("91350100M000100I43", "format"),
        ("91350100O000100Y43", "format"),
        ("B1350100M000100Y43", "format"),
        ("913501A0M000100Y43", "format"),
        ("91350100M000100Y44", "checksum"),
    ],
)
def test_invalid_usccs(value: str, code: str) -> None:
    with pytest.raises(InvalidValue) as excinfo:
        parse_uscc(value)
    assert excinfo.value.code == code
    assert not is_valid_uscc(value)


def test_uscc_check_char_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="USCC alphabet"):
        uscc_check_char("91350100M000100Y")
    with pytest.raises(ValueError, match="USCC alphabet"):
        uscc_check_char("91350100I000100Y4")


# --- mobile numbers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "13800138000",
        "+86 138-0013-8000",
        "+8613800138000",
        "8613800138000",
        "86 138 0013 8000",
        " 199-9999-9999 ",
    ],
)
def test_valid_mobiles(value: str) -> None:
    assert parse_mobile(value) == value.strip().replace(" ", "").replace("-", "")[-11:]
    assert is_valid_mobile(value)


def test_mobile_normalisation_example() -> None:
    assert parse_mobile("+86 138-0013-8000") == "13800138000"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "1380013800",
        "138001380000",
        "12800138000",
        "10800138000",
        "23800138000",
        "+8612800138000",
        "+861380013800",
        "861380013800",
        "+85213800138000",
        "1380013800a",
        "138.0013.8000",
        "１３８００１３８０００",
    ],
)
def test_invalid_mobiles(value: str) -> None:
    with pytest.raises(InvalidValue) as excinfo:
        parse_mobile(value)
    assert excinfo.value.code == "format"
    assert not is_valid_mobile(value)


@settings(max_examples=200, deadline=None)
@given(
    st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
    st.sampled_from(["", "+86", "86", "+86 ", "86-"]),
)
def test_mobile_round_trip(number: str, prefix: str) -> None:
    assert parse_mobile(prefix + number) == number


def test_the_id_number_form_check_refuses_birth_dates_after_today(app):
    from wtforms import Form, StringField

    from app.core.forms import IdNumber

    class IdForm(Form):
        id_number = StringField(validators=[IdNumber()])

    born_2099 = "11010520990101" + "001"
    future = born_2099 + id_number_check_char(born_2099)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        form = IdForm(data={"id_number": future})
        assert not form.validate()
        assert form.errors["id_number"] == ["The birth date inside this ID number is not possible."]
        valid = IdForm(data={"id_number": "11010519491231002x"})
        assert valid.validate()
        assert valid.id_number.data == "11010519491231002X"
