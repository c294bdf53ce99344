"""The field rules of businesses and observations, as pure functions (no database)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.businesses.rules import (
    check_business_fields,
    check_observation_fields,
    clean_head_count,
    clean_revenue,
    clean_text,
    clean_uscc,
)
from tests.businesses.factories import make_uscc

AS_OF = date(2026, 11, 22)
OPENED = date(2026, 3, 1)


@pytest.fixture(autouse=True)
def _babel(app):
    """Messages are translated, so the rules run inside a request (English)."""
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


# Revenue --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("8000.5", Decimal("8000.50")),
        ("8000", Decimal("8000.00")),
        (8000, Decimal("8000.00")),
        (" 12.34 ", Decimal("12.34")),
        ("0", Decimal("0.00")),
        ("10000000.00", Decimal("10000000.00")),
        (Decimal("1.10"), Decimal("1.10")),
    ],
)
def test_good_revenue_is_money_with_two_decimals(value, expected):
    amount, errors = clean_revenue(value)
    assert errors == []
    assert amount == expected
    assert str(amount) == str(expected)


@pytest.mark.parametrize("value", [None, ""])
def test_revenue_is_optional(value):
    assert clean_revenue(value) == (None, [])


@pytest.mark.parametrize(
    "value",
    [
        "8000.555",  # three decimals
        "1.001",
        "-1.00",  # negative
        "-0.01",
        "10000000.01",  # above ten million
        "99999999999",
        "abc",
        "NaN",
        "sNaN",
        "Infinity",
        "-Infinity",
        8000.5,  # a float cannot say 0.1 exactly
        1.0,
        True,
        [],
        "1e400",
    ],
)
def test_bad_revenue_is_refused(value):
    amount, errors = clean_revenue(value)
    assert amount is None
    assert len(errors) == 1


def test_revenue_messages_say_what_is_wrong():
    assert clean_revenue("1.234")[1] == [
        'Enter an amount in yuan with at most 2 decimals, like "8000.00".'
    ]
    assert clean_revenue("-5")[1] == ["Enter an amount between 0 and 10,000,000 yuan."]
    assert clean_revenue("10000000.01")[1] == ["Enter an amount between 0 and 10,000,000 yuan."]


# Head counts ----------------------------------------------------------------------------
@pytest.mark.parametrize("value", [0, 1, 10_000])
def test_head_counts_from_0_to_10000(value):
    assert clean_head_count(value) == (value, [])


@pytest.mark.parametrize("value", [True, False, -1, 10_001, 10**30, "3", 3.0, None])
def test_bad_head_counts_are_refused(value):
    count, errors = clean_head_count(value)
    assert count is None
    assert errors == ["Enter a whole number of employees from 0 to 10,000."]


# Text and credit codes ------------------------------------------------------------------
def test_text_is_trimmed_and_limited():
    assert clean_text("  椰香  ", limit=100, required=True) == ("椰香", [])
    assert clean_text("   ", limit=100, required=True)[1] == ["This field is required."]
    assert clean_text(None, limit=100, required=False) == ("", [])
    assert clean_text("x" * 101, limit=100, required=True)[1] == ["Use at most 100 characters."]
    assert clean_text(5, limit=100, required=True)[1] == ["Expected text."]
    assert clean_text("a\x00b", limit=100, required=True)[1] == [
        "Contains a character that is not allowed."
    ]


def test_credit_codes_are_checked_and_normalised():
    code = make_uscc()
    assert clean_uscc(code) == (code, [])
    assert clean_uscc(f" {code.lower()} ") == (code, [])
    assert clean_uscc(None) == (None, [])
    assert clean_uscc("") == (None, [])
    wrong_check = code[:17] + ("0" if code[17] != "0" else "1")
    assert clean_uscc(wrong_check)[1] == [
        "This credit code's check character is wrong; please check each character."
    ]
    assert clean_uscc("123")[1] == [
        "A unified social credit code has 18 digits or capital letters."
    ]
    assert clean_uscc(123)[1] == ["Expected text."]


# A business's fields --------------------------------------------------------------------
def test_good_business_fields_have_no_errors():
    values = {
        "name": "椰香小吃店",
        "industry": "catering",
        "opened_on": OPENED,
        "employees_at_opening": 2,
        "uscc": make_uscc(),
    }
    assert check_business_fields(values, as_of=AS_OF) == {}


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"name": "x" * 101}, "name", "Use at most 100 characters."),
        ({"industry": "mining"}, "industry", "Choose one of the industries."),
        ({"industry": None}, "industry", "Choose one of the industries."),
        ({"opened_on": None}, "opened_on", "Enter the day the business opened."),
        ({"opened_on": "2026-03-01"}, "opened_on", "Enter the day the business opened."),
        (
            {"opened_on": date(2026, 11, 23)},
            "opened_on",
            "The opening day cannot be in the future.",
        ),
        ({"opened_on": date(1979, 12, 31)}, "opened_on", "Choose a day from 1980-01-01 on."),
        (
            {"employees_at_opening": -1},
            "employees_at_opening",
            "Enter a whole number of employees from 0 to 10,000.",
        ),
        ({"uscc": "91460100MA5T00000X"}, "uscc", None),
    ],
)
def test_bad_business_fields_are_named(fields, field, message):
    errors = check_business_fields(fields, as_of=AS_OF)
    assert list(errors) == [field]
    if message is not None:
        assert errors[field] == [message]


def test_the_earliest_and_latest_opening_days_are_accepted():
    assert check_business_fields({"opened_on": date(1980, 1, 1)}, as_of=AS_OF) == {}
    assert check_business_fields({"opened_on": AS_OF}, as_of=AS_OF) == {}


# An observation's fields ----------------------------------------------------------------
def observe(**fields):
    values = {"observed_on": date(2026, 6, 1), "status": "operating", "employees": 3} | fields
    return check_observation_fields(values, opened_on=OPENED, as_of=AS_OF)


def test_a_good_observation_is_cleaned():
    clean, errors = observe(monthly_revenue="8000.5", note="  走访  ")
    assert errors == {}
    assert clean.observed_on == date(2026, 6, 1)
    assert clean.status == "operating"
    assert clean.employees == 3
    assert clean.monthly_revenue == Decimal("8000.50")
    assert clean.closed_on is None
    assert clean.note == "走访"


def test_a_closure_defaults_its_day_and_head_count():
    clean, errors = observe(status="closed", employees=None)
    assert errors == {}
    assert clean.closed_on == date(2026, 6, 1)
    assert clean.employees == 0


def test_a_closure_may_name_an_earlier_closing_day():
    clean, errors = observe(status="closed", employees=0, closed_on=date(2026, 5, 20))
    assert errors == {}
    assert clean.closed_on == date(2026, 5, 20)


def test_observations_lie_between_opening_and_today():
    assert observe(observed_on=OPENED)[1] == {}
    assert observe(observed_on=AS_OF)[1] == {}


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {"observed_on": date(2026, 2, 28)},
            "observed_on",
            "The business opened on 2026-03-01; an observation cannot be earlier.",
        ),
        (
            {"observed_on": date(2026, 11, 23)},
            "observed_on",
            "An observation cannot be in the future.",
        ),
        ({"observed_on": None}, "observed_on", "Enter the day of the observation."),
        ({"status": "bankrupt"}, "status", "Choose operating, suspended or closed."),
        ({"status": None}, "status", "Choose operating, suspended or closed."),
        (
            {"closed_on": date(2026, 5, 1)},
            "closed_on",
            "Only a closed business has a closing day.",
        ),
        (
            {"status": "closed", "employees": 0, "closed_on": date(2026, 2, 1)},
            "closed_on",
            "The business opened on 2026-03-01; it cannot have closed earlier.",
        ),
        (
            {"status": "closed", "employees": 0, "closed_on": date(2026, 6, 2)},
            "closed_on",
            "The closing day cannot be after the observation.",
        ),
        (
            {"status": "closed", "employees": 2},
            "employees",
            "A closed business employs nobody; enter 0.",
        ),
        (
            {"employees": None},
            "employees",
            "Enter a whole number of employees from 0 to 10,000.",
        ),
        (
            {"monthly_revenue": "1.234"},
            "monthly_revenue",
            'Enter an amount in yuan with at most 2 decimals, like "8000.00".',
        ),
        ({"note": "x" * 1001}, "note", "Use at most 1000 characters."),
    ],
)
def test_bad_observation_fields_are_named(fields, field, message):
    clean, errors = observe(**fields)
    assert clean is None
    assert list(errors) == [field]
    assert errors[field] == [message]
