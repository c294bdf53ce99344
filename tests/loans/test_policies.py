"""Loan policies per region (SPEC §9): inheritance, the admin's changes, the API and pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from flask_babel import force_locale
from sqlalchemy import event, func, select

from app.core.audit import AuditEntry
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.extensions import db
from app.loans.models import LoanPolicy
from app.loans.policies import (
    DEFAULT_POLICY,
    POLICY_FIELDS,
    clear_policy,
    get_effective_policy,
    get_policy_in_scope,
    list_region_policies,
    policy_field_errors,
    put_policy,
)
from tests.factories import make_user

AS_OF = datetime(2026, 11, 22, 2, 30, tzinfo=UTC)
EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}
API = "/api/v1/loan-policies"
PAGES = "/admin/loan-policies"
HAINAN, HAIKOU, SANYA = "460000", "460100", "460200"
SHANGHAI, YANGPU = "310000", "310110"
TEN_MB = 10 * 1024 * 1024


@pytest.fixture(autouse=True)
def in_english(request):
    """Messages are compared in English (outside a request they default to Chinese). A
    test of the CSRF-protected app brings its own session, so it gets no second one."""
    if "csrf_client" not in request.fixturenames:
        request.getfixturevalue("db_session")
    with force_locale("en"):
        yield


@pytest.fixture
def admin(db_session):
    return make_user(role="admin", region_code=HAINAN)


def make_policy(region_code: str, **fields: Any) -> LoanPolicy:
    """A region's own policy row: the defaults with `fields` changed (flushed)."""
    row = LoanPolicy(region_code=region_code, **(dict(DEFAULT_POLICY) | fields))
    db.session.add(row)
    db.session.flush()
    return row


def policy_rows() -> dict[str, LoanPolicy]:
    return {row.region_code: row for row in db.session.scalars(select(LoanPolicy))}


def audit_entries(action_prefix: str = "loan_policy.") -> list[AuditEntry]:
    stmt = (
        select(AuditEntry)
        .where(AuditEntry.action.startswith(action_prefix))
        .order_by(AuditEntry.id)
    )
    return list(db.session.scalars(stmt))


def nothing_written() -> bool:
    count = db.session.scalar(select(func.count()).select_from(LoanPolicy))
    return count == 0 and audit_entries() == []


# Defaults and inheritance ----------------------------------------------------------------
def test_defaults_follow_spec():
    assert dict(DEFAULT_POLICY) == {
        "max_amount": Decimal("300000.00"),
        "max_term_months": 36,
        "annual_rate": Decimal("0.0345"),
        "subsidy_rate": Decimal("1"),
        "require_training": True,
        "default_days": 90,
        "guarantee_ratio": Decimal("0.8"),
        "leverage": Decimal("5"),
        "suspend_compensation_rate": Decimal("0.05"),
        "subsidy_requires_on_time": True,
    }
    assert set(DEFAULT_POLICY) == set(POLICY_FIELDS)
    # Each default passes the policy's own rules.
    assert policy_field_errors(DEFAULT_POLICY) == {}


@pytest.mark.parametrize("code", [HAINAN, HAIKOU])
def test_without_any_row_the_defaults_apply(db_session, code):
    policy = get_effective_policy(code)
    assert policy.region_code == code
    assert policy.source == "default"
    assert policy.source_region_code is None
    assert policy.is_default
    assert policy.is_inherited
    assert policy.values() == dict(DEFAULT_POLICY)
    assert policy.updated_at is None


def test_a_city_without_a_row_uses_its_provinces(db_session):
    make_policy(HAINAN, max_amount=Decimal("200000.00"), annual_rate=Decimal("0.04"))
    policy = get_effective_policy(HAIKOU)
    assert (policy.region_code, policy.source, policy.source_region_code) == (
        HAIKOU,
        "province",
        HAINAN,
    )
    assert policy.is_inherited
    assert not policy.is_default
    assert policy.max_amount == Decimal("200000.00")
    assert policy.annual_rate == Decimal("0.04")
    assert policy.max_term_months == 36


def test_a_city_with_its_own_row_uses_it(db_session):
    make_policy(HAINAN, max_amount=Decimal("200000.00"))
    make_policy(HAIKOU, max_amount=Decimal("150000.00"), subsidy_rate=Decimal("0.5"))
    policy = get_effective_policy(HAIKOU)
    assert (policy.source, policy.source_region_code) == ("own", HAIKOU)
    assert not policy.is_inherited
    assert not policy.is_default
    assert (policy.max_amount, policy.subsidy_rate) == (Decimal("150000.00"), Decimal("0.5"))
    # The sibling city still inherits the province's.
    assert get_effective_policy(SANYA).max_amount == Decimal("200000.00")


def test_a_province_uses_its_own_row_and_never_another_provinces(db_session):
    make_policy(SHANGHAI, max_amount=Decimal("500000.00"))
    assert get_effective_policy(SHANGHAI).source == "own"
    assert get_effective_policy(YANGPU).max_amount == Decimal("500000.00")
    assert get_effective_policy(HAINAN).source == "default"
    assert get_effective_policy(HAIKOU).source == "default"


def test_effective_policy_takes_at_most_two_queries(db_session):
    make_policy(HAINAN)
    db.session.commit()
    db.session.expire_all()
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    engine = db.session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        get_effective_policy(HAIKOU)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) <= 2, statements


@pytest.mark.parametrize("code", ["999999", "abc", "", "4601000", "46010\x00"])
def test_unknown_region_is_not_found(db_session, code):
    with pytest.raises(NotFound):
        get_effective_policy(code)


def test_answer_format(db_session):
    body = get_effective_policy(HAIKOU).as_json()
    assert body == {
        "region_code": HAIKOU,
        "source": "default",
        "source_region_code": None,
        "max_amount": "300000.00",
        "max_term_months": 36,
        "annual_rate": "0.0345",
        "subsidy_rate": "1",
        "require_training": True,
        "default_days": 90,
        "guarantee_ratio": "0.8",
        "leverage": "5",
        "suspend_compensation_rate": "0.05",
        "subsidy_requires_on_time": True,
        "updated_at": None,
    }
    make_policy(HAINAN, leverage=Decimal("100"), updated_at=AS_OF)
    body = get_effective_policy(HAIKOU).as_json()
    assert body["leverage"] == "100"  # never "1E+2"
    assert (body["source"], body["source_region_code"]) == ("province", HAINAN)
    assert body["updated_at"] == "2026-11-22T02:30:00+00:00"


def test_overview_lists_every_region_with_its_source(db_session):
    make_policy(HAINAN)
    make_policy(SANYA)
    lines = {line.region.code: line for line in list_region_policies()}
    assert lines[HAINAN].policy.source == "own"
    assert lines[HAIKOU].policy.source == "province"
    assert lines[HAIKOU].source_region.code == HAINAN
    assert lines[SANYA].policy.source == "own"
    assert lines[SHANGHAI].policy.source == "default"
    assert lines[YANGPU].source_region is None
    codes = [line.region.code for line in list_region_policies()]
    assert codes.index(HAINAN) < codes.index(HAIKOU) < codes.index(SANYA)


# Scope of readers ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("role", "home", "code", "visible"),
    [
        ("officer", HAIKOU, HAIKOU, True),
        ("officer", HAIKOU, HAINAN, True),  # the province whose policy Haikou falls back to
        ("officer", HAIKOU, SANYA, False),
        ("officer", HAIKOU, SHANGHAI, False),
        ("officer", HAINAN, HAINAN, True),
        ("officer", HAINAN, SANYA, True),
        ("officer", HAINAN, YANGPU, False),
        ("admin", HAINAN, YANGPU, True),
        ("staff", HAIKOU, HAIKOU, False),
        ("founder", HAIKOU, HAIKOU, False),
    ],
)
def test_who_reads_which_policy(db_session, role, home, code, visible):
    user = make_user(role=role, region_code=home)
    if visible:
        assert get_policy_in_scope(user, code).region_code == code
    else:
        with pytest.raises(NotFound):
            get_policy_in_scope(user, code)


# Changes ---------------------------------------------------------------------------------
def test_a_citys_first_change_copies_its_provinces_other_values(admin):
    make_policy(
        HAINAN, max_amount=Decimal("200000.00"), annual_rate=Decimal("0.04"), default_days=60
    )
    row = put_policy(admin, HAIKOU, {"max_amount": Decimal("100000")}, as_of=AS_OF)
    assert row.region_code == HAIKOU
    assert row.max_amount == Decimal("100000.00")
    assert (row.annual_rate, row.default_days) == (Decimal("0.04"), 60)
    assert (row.updated_at, row.updated_by_id) == (AS_OF, admin.id)
    policy = get_effective_policy(HAIKOU)
    assert policy.source == "own"
    # The province's policy is untouched.
    assert get_effective_policy(HAINAN).max_amount == Decimal("200000.00")
    [entry] = audit_entries()
    assert (entry.action, entry.entity_type, entry.entity_id, entry.region_code) == (
        "loan_policy.create",
        "loan_policy",
        HAIKOU,
        HAIKOU,
    )
    assert entry.actor_id == admin.id
    assert entry.before["max_amount"] == "200000.00"
    assert entry.before["annual_rate"] == "0.04"
    assert (entry.before["source"], entry.before["source_region_code"]) == ("province", HAINAN)
    assert entry.after["max_amount"] == "100000.00"
    assert entry.after["annual_rate"] == "0.04"
    assert set(entry.after) == set(POLICY_FIELDS)


def test_a_first_change_without_any_row_copies_the_defaults(admin):
    row = put_policy(admin, HAINAN, {"leverage": 8}, as_of=AS_OF)
    assert row.leverage == Decimal("8")
    assert row.max_amount == Decimal("300000.00")
    [entry] = audit_entries()
    assert (entry.before["source"], entry.before["source_region_code"]) == ("default", None)


def test_an_empty_change_pins_the_inherited_policy(admin):
    make_policy(HAINAN, max_term_months=24)
    put_policy(admin, HAIKOU, {}, as_of=AS_OF)
    assert policy_rows()[HAIKOU].max_term_months == 24
    assert get_effective_policy(HAIKOU).source == "own"


def test_changing_an_own_policy_audits_only_the_changed_fields(admin):
    make_policy(HAIKOU)
    put_policy(
        admin,
        HAIKOU,
        {"annual_rate": "0.0385", "require_training": False, "max_amount": Decimal("300000")},
        as_of=AS_OF,
    )
    row = policy_rows()[HAIKOU]
    assert (row.annual_rate, row.require_training) == (Decimal("0.0385"), False)
    assert row.updated_at == AS_OF
    [entry] = audit_entries()
    assert entry.action == "loan_policy.update"
    assert entry.before == {"annual_rate": "0.0345", "require_training": True}
    assert entry.after == {"annual_rate": "0.0385", "require_training": False}


def test_a_change_that_changes_nothing_writes_nothing(admin):
    make_policy(HAIKOU, updated_at=AS_OF)
    later = datetime(2026, 12, 1, tzinfo=UTC)
    put_policy(admin, HAIKOU, {"annual_rate": Decimal("0.034500")}, as_of=later)
    assert policy_rows()[HAIKOU].updated_at == AS_OF
    assert audit_entries() == []


@pytest.mark.parametrize("role", ["officer", "staff", "founder"])
def test_only_admins_change_policies(db_session, role):
    actor = make_user(role=role, region_code=HAINAN)
    with pytest.raises(PermissionDenied):
        put_policy(actor, HAIKOU, {"max_amount": Decimal("1000")}, as_of=AS_OF)
    with pytest.raises(PermissionDenied):
        clear_policy(actor, HAIKOU)
    assert nothing_written()


def test_changing_an_unknown_regions_policy_is_not_found(admin):
    with pytest.raises(NotFound):
        put_policy(admin, "999999", {}, as_of=AS_OF)
    with pytest.raises(NotFound):
        clear_policy(admin, "999999")


def test_unknown_fields_are_a_programming_error(admin):
    with pytest.raises(ValueError, match="not policy fields"):
        put_policy(admin, HAIKOU, {"region_code": SANYA}, as_of=AS_OF)


BAD_VALUES = [
    ("max_amount", Decimal("0")),
    ("max_amount", Decimal("-1")),
    ("max_amount", "-0.01"),
    ("max_amount", Decimal("10000000.01")),
    ("max_amount", Decimal("1000.005")),  # 3 decimals
    ("max_amount", "abc"),
    ("max_amount", "1e5"),
    ("max_amount", 300000.0),  # a float
    ("max_amount", None),
    ("max_term_months", 0),
    ("max_term_months", 361),
    ("max_term_months", "12"),
    ("max_term_months", True),
    ("default_days", 0),
    ("default_days", 3651),
    ("annual_rate", Decimal("0.36")),
    ("annual_rate", Decimal("-0.01")),
    ("annual_rate", Decimal("0.0000001")),  # 7 decimals
    ("annual_rate", "1e-3"),
    ("annual_rate", 0.0345),
    ("subsidy_rate", Decimal("1.5")),
    ("subsidy_rate", -1),
    ("guarantee_ratio", Decimal("1.01")),
    ("guarantee_ratio", "x" * TEN_MB),
    ("leverage", 0),
    ("leverage", Decimal("100.5")),
    ("suspend_compensation_rate", Decimal("-0.05")),
    ("suspend_compensation_rate", Decimal("1.000001")),
    ("require_training", "yes"),
    ("require_training", 1),
    ("subsidy_requires_on_time", None),
]


@pytest.mark.parametrize(("name", "value"), BAD_VALUES)
def test_bad_values_are_refused_naming_the_field(admin, name, value):
    with pytest.raises(ValidationFailed) as refused:
        put_policy(admin, HAIKOU, {name: value}, as_of=AS_OF)
    assert list(refused.value.errors) == [name]
    assert nothing_written()


def test_every_bad_field_is_named_at_once(admin):
    values = {"max_amount": "-5", "max_term_months": 0, "annual_rate": Decimal("1.5")}
    with pytest.raises(ValidationFailed) as refused:
        put_policy(admin, HAIKOU, values, as_of=AS_OF)
    assert set(refused.value.errors) == set(values)


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("max_amount", Decimal("-1"), "maximum amount"),
        ("max_amount", Decimal("1.001"), "Maximum amount (yuan) has at most 2 decimals"),
        ("max_term_months", 0, "maximum term"),
        ("annual_rate", Decimal("0.5"), "annual interest rate"),
        ("annual_rate", Decimal("0.0000001"), "Annual interest rate has at most 6 decimals"),
        ("subsidy_rate", Decimal("1.5"), "interest subsidy share"),
        ("guarantee_ratio", "abc", "Guarantee ratio must be a number"),
        ("leverage", 0, "leverage"),
        ("suspend_compensation_rate", 2, "compensation rate that suspends"),
        ("default_days", 0, "days past due before default"),
        ("require_training", None, "Entrepreneurship training required is required"),
        ("subsidy_requires_on_time", "no", "must be true or false"),
    ],
)
def test_messages_name_their_field(name, value, words):
    [message] = policy_field_errors({name: value})[name]
    assert words.lower() in message.lower(), message


def test_only_the_given_fields_are_checked():
    assert policy_field_errors({}) == {}
    assert policy_field_errors({"leverage": "7.5", "max_amount": 50000}) == {}


def test_edge_values_are_accepted(admin):
    values = {
        "max_amount": Decimal("10000000.00"),
        "max_term_months": 360,
        "annual_rate": Decimal("0.359999"),
        "subsidy_rate": 0,
        "guarantee_ratio": 1,
        "leverage": Decimal("0.000001"),
        "suspend_compensation_rate": "1",
        "default_days": 1,
        "require_training": False,
        "subsidy_requires_on_time": False,
    }
    row = put_policy(admin, HAINAN, values, as_of=AS_OF)
    db.session.commit()
    db.session.expire_all()
    stored = policy_rows()[HAINAN]
    assert stored is row or stored.region_code == HAINAN
    assert stored.annual_rate == Decimal("0.359999")
    assert stored.leverage == Decimal("0.000001")
    assert stored.max_amount == Decimal("10000000.00")


# Clearing --------------------------------------------------------------------------------
def test_clearing_a_citys_policy_returns_it_to_its_provinces(admin):
    make_policy(HAINAN, max_amount=Decimal("200000.00"))
    make_policy(HAIKOU, max_amount=Decimal("100000.00"))
    now = clear_policy(admin, HAIKOU)
    assert (now.source, now.source_region_code) == ("province", HAINAN)
    assert HAIKOU not in policy_rows()
    assert get_effective_policy(HAIKOU).max_amount == Decimal("200000.00")
    [entry] = audit_entries()
    assert (entry.action, entry.entity_type, entry.entity_id, entry.region_code) == (
        "loan_policy.clear",
        "loan_policy",
        HAIKOU,
        HAIKOU,
    )
    assert entry.before["max_amount"] == "100000.00"
    assert entry.before["source"] == "own"
    assert entry.after["max_amount"] == "200000.00"
    assert (entry.after["source"], entry.after["source_region_code"]) == ("province", HAINAN)


def test_clearing_a_provinces_policy_falls_back_to_the_defaults(admin):
    make_policy(HAINAN, max_amount=Decimal("200000.00"))
    now = clear_policy(admin, HAINAN)
    assert now.is_default
    assert get_effective_policy(HAIKOU).source == "default"


def test_clearing_without_an_own_policy_is_a_conflict(admin):
    make_policy(HAINAN)
    with pytest.raises(Conflict):
        clear_policy(admin, HAIKOU)
    assert audit_entries() == []


# JSON API --------------------------------------------------------------------------------
def test_officer_reads_the_policy_of_their_city(api_as):
    make_policy(HAINAN, annual_rate=Decimal("0.04"))
    db.session.commit()
    api = api_as("officer", HAIKOU)
    response = api.get(f"{API}/{HAIKOU}")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["region_code"] == HAIKOU
    assert (body["source"], body["source_region_code"]) == ("province", HAINAN)
    assert body["annual_rate"] == "0.04"
    assert body["max_amount"] == "300000.00"
    assert body["updated_at"] is not None
    assert api.get(f"{API}/{HAINAN}").status_code == 200


@pytest.mark.parametrize(
    ("home", "code"),
    [(HAIKOU, SANYA), (HAIKOU, SHANGHAI), (HAIKOU, YANGPU), (HAINAN, YANGPU), (HAIKOU, "999999")],
)
def test_officer_gets_404_outside_their_scope(api_as, home, code):
    response = api_as("officer", home).get(f"{API}/{code}")
    assert response.status_code == 404
    assert response.get_json()["error"]


def test_province_officer_reads_their_cities(api_as):
    assert api_as("officer", HAINAN).get(f"{API}/{SANYA}").status_code == 200


@pytest.mark.parametrize("code", ["999999", "abc", "4601001"])
def test_unknown_region_is_404(api_as, code):
    api = api_as("admin", HAINAN)
    assert api.get(f"{API}/{code}").status_code == 404
    assert api.put(f"{API}/{code}", json={"max_amount": "1000.00"}).status_code == 404
    assert api.put(f"{API}/{code}", json={"max_amount": "junk"}).status_code == 404


@pytest.mark.parametrize("role", ["staff", "founder"])
def test_other_roles_may_not_read_policies(api_as, role):
    assert api_as(role, HAIKOU).get(f"{API}/{HAIKOU}").status_code == 403


def test_anonymous_gets_401(anonymous_api):
    assert anonymous_api.get(f"{API}/{HAIKOU}").status_code == 401
    assert anonymous_api.put(f"{API}/{HAIKOU}", json={}).status_code == 401


@pytest.mark.parametrize("role", ["officer", "staff"])
def test_only_admins_put(api_as, role):
    response = api_as(role, HAIKOU).put(f"{API}/{HAIKOU}", json={"max_amount": "1000.00"})
    assert response.status_code == 403
    assert nothing_written()


def test_admin_put_changes_one_field_and_copies_the_rest(api_as):
    make_policy(HAINAN, max_amount=Decimal("200000.00"), default_days=60)
    db.session.commit()
    api = api_as("admin", HAINAN)
    response = api.put(
        f"{API}/{HAIKOU}", json={"annual_rate": "0.04", "require_training": False, "leverage": 6}
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["source"], body["source_region_code"]) == ("own", HAIKOU)
    assert (body["annual_rate"], body["require_training"], body["leverage"]) == ("0.04", False, "6")
    assert (body["max_amount"], body["default_days"]) == ("200000.00", 60)
    assert body["subsidy_requires_on_time"] is True  # left out: kept, not read as false
    row = policy_rows()[HAIKOU]
    assert (row.annual_rate, row.max_amount, row.updated_by_id) == (
        Decimal("0.04"),
        Decimal("200000.00"),
        api.user.id,
    )
    [entry] = audit_entries()
    assert entry.action == "loan_policy.create"
    assert entry.before["annual_rate"] == "0.0345"
    assert entry.after["annual_rate"] == "0.04"
    assert api.get(f"{API}/{HAIKOU}").get_json() == body


def test_admin_put_updates_an_own_policy(api_as):
    make_policy(HAIKOU)
    db.session.commit()
    api = api_as("admin", HAINAN)
    response = api.put(f"{API}/{HAIKOU}", json={"max_term_months": 24, "max_amount": 150000})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["max_amount"] == "150000.00"
    [entry] = audit_entries()
    assert entry.action == "loan_policy.update"
    assert entry.before == {"max_amount": "300000.00", "max_term_months": 36}
    assert entry.after == {"max_amount": "150000.00", "max_term_months": 24}


BAD_BODIES = [
    ({"max_amount": "-1"}, "max_amount"),
    ({"max_amount": "0"}, "max_amount"),
    ({"max_amount": "1000.005"}, "max_amount"),
    ({"max_amount": "abc"}, "max_amount"),
    ({"max_amount": 1000.5}, "max_amount"),
    ({"max_amount": "10000000.01"}, "max_amount"),
    ({"max_amount": None}, "max_amount"),
    ({"max_amount": "9" * TEN_MB}, "max_amount"),
    ({"max_term_months": 0}, "max_term_months"),
    ({"max_term_months": 361}, "max_term_months"),
    ({"max_term_months": "12"}, "max_term_months"),
    ({"max_term_months": 12.5}, "max_term_months"),
    ({"default_days": 3651}, "default_days"),
    ({"default_days": True}, "default_days"),
    ({"annual_rate": "0.36"}, "annual_rate"),
    ({"annual_rate": "-0.01"}, "annual_rate"),
    ({"annual_rate": "0.0345001"}, "annual_rate"),  # 7 decimals
    ({"annual_rate": "1e-3"}, "annual_rate"),
    ({"annual_rate": 0.0345}, "annual_rate"),  # a JSON number with a fraction
    ({"annual_rate": ""}, "annual_rate"),
    ({"annual_rate": "３"}, "annual_rate"),  # a full-width digit
    ({"annual_rate": "NaN"}, "annual_rate"),
    ({"subsidy_rate": "1.5"}, "subsidy_rate"),
    ({"subsidy_rate": True}, "subsidy_rate"),
    ({"subsidy_rate": ["1"]}, "subsidy_rate"),
    ({"guarantee_ratio": "x" * TEN_MB}, "guarantee_ratio"),
    ({"guarantee_ratio": "1.01"}, "guarantee_ratio"),
    ({"leverage": 0}, "leverage"),
    ({"leverage": "101"}, "leverage"),
    ({"suspend_compensation_rate": "2"}, "suspend_compensation_rate"),
    ({"require_training": "yes"}, "require_training"),
    ({"require_training": 1}, "require_training"),
    ({"subsidy_requires_on_time": None}, "subsidy_requires_on_time"),
]


@pytest.mark.parametrize(("body", "field"), BAD_BODIES)
def test_put_refuses_bad_input_naming_the_field(api_as, body, field):
    response = api_as("admin", HAINAN).put(f"{API}/{HAIKOU}", json=body, headers=EN)
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    errors = response.get_json()["errors"]
    assert list(errors) == [field]
    assert all(isinstance(message, str) and message for message in errors[field])
    assert nothing_written()


def test_put_names_every_bad_field_at_once(api_as):
    body = {
        "max_amount": "-1",
        "max_term_months": 0,
        "annual_rate": "1e-3",
        "subsidy_rate": "1.5",
        "leverage": "0",
        "default_days": 99999,
    }
    response = api_as("admin", HAINAN).put(f"{API}/{HAIKOU}", json=body, headers=EN)
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert set(errors) == set(body)
    assert errors["subsidy_rate"] == [
        "The interest subsidy share is from 0 to 1; 1 means public funds pay all the interest."
    ]
    assert errors["annual_rate"] == [
        'Annual interest rate must be a number written plainly, like "0.0345".'
    ]
    assert nothing_written()


@pytest.mark.parametrize("body", ["[]", "not json", '"text"'])
def test_put_malformed_json_is_400(api_as, body):
    response = api_as("admin", HAINAN).put(
        f"{API}/{HAIKOU}", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert nothing_written()


def test_empty_put_pins_the_inherited_policy(api_as):
    response = api_as("admin", HAINAN).put(f"{API}/{HAIKOU}", json={})
    assert response.status_code == 200
    assert response.get_json()["source"] == "own"
    assert response.get_json()["max_amount"] == "300000.00"


def test_openapi_documents_the_policy_routes(client, db_session):
    document = client.get("/api/v1/openapi.json").get_json()
    item = document["paths"]["/loan-policies/{region_code}"]
    assert set(item) == {"get", "put"}
    answer = item["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert set(answer["required"]) == {
        "region_code",
        "source",
        "source_region_code",
        "updated_at",
        *POLICY_FIELDS,
    }
    assert answer["properties"]["annual_rate"]["pattern"] == r"^[0-9]+(\.[0-9]{1,6})?$"
    assert answer["properties"]["max_amount"]["pattern"] == r"^\d+\.\d{2}$"
    assert answer["properties"]["source"]["enum"] == ["own", "province", "default"]
    assert {"401", "403", "404"} <= set(item["get"]["responses"])
    body = item["put"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["properties"]) == set(POLICY_FIELDS)
    assert not body.get("required")  # fields left out keep the values that apply
    assert body["properties"]["leverage"]["pattern"] == r"^[0-9]+(\.[0-9]{1,6})?$"
    assert body["properties"]["require_training"]["type"] == "boolean"
    assert (
        body["properties"]["max_term_months"]["minimum"],
        body["properties"]["max_term_months"]["maximum"],
    ) == (1, 360)
    assert {"400", "401", "403", "404", "422"} <= set(item["put"]["responses"])


# Pages -----------------------------------------------------------------------------------
def form_data(**fields: Any) -> dict[str, str]:
    values = {
        "max_amount": "300000.00",
        "max_term_months": "36",
        "annual_rate": "0.0345",
        "subsidy_rate": "1",
        "require_training": "y",
        "default_days": "90",
        "guarantee_ratio": "0.8",
        "leverage": "5",
        "suspend_compensation_rate": "0.05",
        "subsidy_requires_on_time": "y",
    }
    return {name: value for name, value in (values | fields).items() if value is not None}


@pytest.mark.parametrize("headers", [EN, ZH])
def test_overview_renders(client, login_as, headers):
    make_policy(HAINAN, max_amount=Decimal("200000.00"), annual_rate=Decimal("0.04"))
    make_policy(SANYA, max_amount=Decimal("150000.50"))
    login_as("admin", HAINAN)
    response = client.get(f"{PAGES}/", headers=headers)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'id="region-{HAIKOU}"' in html
    assert f'id="region-{YANGPU}"' in html
    assert "¥200,000" in html
    assert "4%" in html
    assert "¥150,000.50" in html
    if headers is EN:
        assert "Own policy" in html
        assert "Inherits from Hainan" in html
        assert "Inherits the defaults" in html


@pytest.mark.parametrize("role", ["officer", "staff", "founder"])
def test_pages_are_for_admins(client, login_as, role):
    login_as(role, HAIKOU)
    assert client.get(f"{PAGES}/").status_code == 403
    assert client.get(f"{PAGES}/{HAIKOU}").status_code == 403
    assert client.post(f"{PAGES}/{HAIKOU}", data=form_data()).status_code == 403
    assert nothing_written()


def test_edit_page_starts_from_the_inherited_values(client, login_as):
    make_policy(HAINAN, max_amount=Decimal("200000.00"), annual_rate=Decimal("0.04"))
    login_as("admin", HAINAN)
    response = client.get(f"{PAGES}/{HAIKOU}", headers=EN)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'value="200000.00"' in html
    assert 'value="0.04"' in html
    assert "This city has no policy of its own" in html
    assert 'data-testid="clear-form"' not in html


def test_edit_page_saves_a_citys_own_policy(client, login_as):
    make_policy(HAINAN, max_amount=Decimal("200000.00"))
    admin_user = login_as("admin", HAINAN)
    response = client.post(
        f"{PAGES}/{HAIKOU}",
        data=form_data(max_amount="120000", annual_rate="0.0385", require_training=None),
        headers=EN,
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{PAGES}/#region-{HAIKOU}")
    row = policy_rows()[HAIKOU]
    assert (row.max_amount, row.annual_rate, row.require_training) == (
        Decimal("120000.00"),
        Decimal("0.0385"),
        False,
    )
    assert row.updated_by_id == admin_user.id
    [entry] = audit_entries()
    assert entry.action == "loan_policy.create"
    page = client.get(f"{PAGES}/{HAIKOU}", headers=EN).get_data(as_text=True)
    assert "This region has a policy of its own" in page
    assert "Use the province" in page


def test_edit_page_shows_every_bad_field_and_saves_nothing(client, login_as):
    login_as("admin", HAINAN)
    response = client.post(
        f"{PAGES}/{HAIKOU}",
        data=form_data(max_amount="-5", annual_rate="0.5", max_term_months="0", subsidy_rate="abc"),
        headers=EN,
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "The maximum amount must be more than 0" in html
    assert "The annual interest rate must be at least 0 and below 0.36" in html
    assert "The maximum term is a whole number of months from 1 to 360." in html
    assert "Interest subsidy share must be a number written plainly" in html
    assert nothing_written()


def test_edit_page_refuses_an_emptied_field(client, login_as):
    login_as("admin", HAINAN)
    response = client.post(f"{PAGES}/{HAIKOU}", data=form_data(max_amount=""), headers=EN)
    assert response.status_code == 200
    assert "Maximum amount (yuan) is required." in response.get_data(as_text=True)
    assert nothing_written()


def test_clear_button_returns_a_city_to_its_provinces_policy(client, login_as):
    make_policy(HAINAN, max_amount=Decimal("200000.00"))
    make_policy(HAIKOU, max_amount=Decimal("100000.00"))
    db.session.commit()
    login_as("admin", HAINAN)
    response = client.post(f"{PAGES}/{HAIKOU}/clear", headers=EN)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{PAGES}/{HAIKOU}")
    assert HAIKOU not in policy_rows()
    [entry] = audit_entries()
    assert entry.action == "loan_policy.clear"
    page = client.get(f"{PAGES}/{HAIKOU}", headers=EN).get_data(as_text=True)
    assert "now uses its province" in page
    assert 'value="200000.00"' in page


def test_clear_button_on_a_province_says_defaults(client, login_as):
    make_policy(HAINAN)
    db.session.commit()
    login_as("admin", HAINAN)
    page = client.get(f"{PAGES}/{HAINAN}", headers=EN).get_data(as_text=True)
    assert "Use the default policy" in page
    client.post(f"{PAGES}/{HAINAN}/clear", headers=EN)
    page = client.get(f"{PAGES}/{HAINAN}", headers=EN).get_data(as_text=True)
    assert "now uses the default policy" in page
    assert "Neither this region nor its province has a policy" in page


def test_clearing_without_an_own_policy_says_so(client, login_as):
    login_as("admin", HAINAN)
    response = client.post(f"{PAGES}/{HAIKOU}/clear", headers=EN, follow_redirects=True)
    assert response.status_code == 200
    assert "This region has no loan policy of its own." in response.get_data(as_text=True)
    assert audit_entries() == []


@pytest.mark.parametrize("code", ["999999", "abc"])
def test_unknown_region_pages_are_404(client, login_as, code):
    login_as("admin", HAINAN)
    assert client.get(f"{PAGES}/{code}").status_code == 404
    assert client.post(f"{PAGES}/{code}", data=form_data()).status_code == 404
    assert client.post(f"{PAGES}/{code}/clear").status_code == 404


def test_saving_and_clearing_need_the_csrf_token(csrf_client):
    from tests.factories import DEFAULT_PASSWORD

    username = make_user(role="admin", region_code=HAINAN).username
    make_policy(HAIKOU)
    db.session.commit()
    login_page = csrf_client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page)[1]
    csrf_client.post(
        "/login", data={"username": username, "password": DEFAULT_PASSWORD, "csrf_token": token}
    )
    refused = csrf_client.post(f"{PAGES}/{HAIKOU}", data=form_data(max_amount="1000"))
    assert refused.status_code == 302  # "the form had expired", nothing saved
    assert csrf_client.post(f"{PAGES}/{HAIKOU}/clear").status_code == 302
    db.session.expire_all()
    assert policy_rows()[HAIKOU].max_amount == Decimal("300000.00")
    assert audit_entries() == []
    page = csrf_client.get(f"{PAGES}/{HAIKOU}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    done = csrf_client.post(f"{PAGES}/{HAIKOU}/clear", data={"csrf_token": token})
    assert done.status_code == 302
    assert HAIKOU not in policy_rows()
