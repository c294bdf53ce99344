"""The founder register's JSON API: every endpoint and every error code (SPEC §14, §15)."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from app.core.dates import today_in_china
from app.extensions import db
from app.founders.models import Founder
from tests.factories import make_id_number
from tests.founders.helpers import (
    HAIKOU,
    HAINAN,
    SANYA,
    audit_entries,
    count_founders_and_audit,
    founder_json_body,
    id_number_born,
    id_number_ending_in_x,
    saved_founder,
    with_wrong_check_char,
)

EN = {"Accept-Language": "en"}
MISSING_ID = 999_999_999
LIST_KEYS = {
    "id",
    "name",
    "id_number_masked",
    "birth_date",
    "sex",
    "phone",
    "region_code",
    "target_group",
    "education",
    "has_reemployment_certificate",
    "registered_on",
    "integrity",
}


def post_founder(api, **overrides):
    return api.post("/api/v1/founders", json=founder_json_body(**overrides), headers=EN)


# 401 -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/v1/founders"),
        ("get", "/api/v1/founders"),
        ("get", "/api/v1/founders/1"),
        ("patch", "/api/v1/founders/1"),
    ],
)
def test_every_endpoint_needs_a_token(anonymous_api, method, path):
    response = getattr(anonymous_api, method)(path)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "error" in response.get_json()


def test_a_wrong_token_is_401(client):
    response = client.get("/api/v1/founders", headers={"Authorization": "Bearer nonsense"})
    assert response.status_code == 401


# POST /founders -------------------------------------------------------------------------
def test_staff_register_a_founder(api_as):
    staff = api_as("staff", HAIKOU)
    id_number = id_number_born(date(1990, 2, 3), sex="female")
    response = post_founder(staff, id_number=id_number, registered_on="2026-03-02")
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == LIST_KEYS
    assert body["id_number_masked"] == f"{id_number[:6]}***********{id_number[-1]}"
    assert body["birth_date"] == "1990-02-03"
    assert body["sex"] == "female"
    assert body["registered_on"] == "2026-03-02"
    assert body["integrity"] == {"score": 100, "grade": "B"}
    assert id_number not in response.get_data(as_text=True)
    founder = db.session.get(Founder, body["id"])
    assert founder.id_number == id_number
    assert [entry.actor_id for entry in audit_entries("founder.create", founder.id)] == [
        staff.user.id
    ]


def test_register_defaults_and_normalises(api_as):
    staff = api_as("staff", HAIKOU)
    id_number = id_number_ending_in_x()
    body = founder_json_body(id_number=id_number.lower(), phone="139 1234 5678")
    for optional in ("registered_on", "education", "has_reemployment_certificate"):
        del body[optional]
    response = staff.post("/api/v1/founders", json=body)
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert answer["registered_on"] == today_in_china().isoformat()
    assert answer["education"] is None
    assert answer["has_reemployment_certificate"] is False
    assert answer["phone"] == "13912345678"
    assert answer["id_number_masked"].endswith("X")
    assert db.session.get(Founder, answer["id"]).id_number == id_number


def test_province_staff_register_in_a_city_of_their_province(api_as):
    response = post_founder(api_as("staff", HAINAN), region_code=SANYA)
    assert response.status_code == 201
    assert response.get_json()["region_code"] == SANYA


@pytest.mark.parametrize(("role", "region"), [("founder", HAIKOU), ("officer", HAIKOU)])
def test_founders_and_officers_may_not_register(api_as, role, region):
    api = api_as(role, region)
    before = count_founders_and_audit()
    assert post_founder(api).status_code == 403
    assert count_founders_and_audit() == before


def test_admins_may_not_register(api_as):
    assert post_founder(api_as("admin", HAINAN)).status_code == 403


def test_duplicate_is_409_with_the_existing_id(api_as):
    staff = api_as("staff", HAIKOU)
    first = post_founder(staff).get_json()
    id_number = db.session.get(Founder, first["id"]).id_number
    before = count_founders_and_audit()
    again = post_founder(staff, id_number=id_number.lower(), name="冒名")
    assert again.status_code == 409
    assert again.get_json()["id"] == first["id"]
    assert "error" in again.get_json()
    assert count_founders_and_audit() == before


def test_duplicate_of_a_founder_in_another_region_is_409_with_the_id(api_as):
    sanya_founder = saved_founder(region_code=SANYA)
    response = post_founder(api_as("staff", HAIKOU), id_number=sanya_founder.id_number)
    assert response.status_code == 409
    assert response.get_json()["id"] == sanya_founder.id


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"id_number": "CHECKSUM"},
            "id_number",
            "This ID number's check character is wrong; please check each digit.",
        ),
        ({"id_number": "4601001990"}, "id_number", "An ID number has 18 characters."),
        ({"id_number": 460100199005170011}, "id_number", "Expected text."),
        (
            {"phone": "1391234567"},
            "phone",
            "Enter an 11-digit mainland mobile number starting with 1.",
        ),
        ({"phone": 13912345678}, "phone", "Expected text."),
        (
            {"region_code": "999999"},
            "region_code",
            "Unknown region, or a region outside your area.",
        ),
        ({"region_code": SANYA}, "region_code", "Unknown region, or a region outside your area."),
        ({"target_group": "astronaut"}, "target_group", None),
        ({"education": "phd"}, "education", None),
        ({"registered_on": "2026-02-30"}, "registered_on", None),
        ({"registered_on": "yesterday"}, "registered_on", None),
        ({"registered_on": "1999-12-31"}, "registered_on", None),
        ({"registered_on": 20260101}, "registered_on", "Expected a date as YYYY-MM-DD."),
        ({"has_reemployment_certificate": "yes"}, "has_reemployment_certificate", None),
        ({"has_reemployment_certificate": 1}, "has_reemployment_certificate", None),
        ({"name": ["王芳"]}, "name", "Expected text."),
        ({"name": {"family": "王"}}, "name", "Expected text."),
        ({"name": ""}, "name", None),
        ({"name": "张" * 51}, "name", None),
        ({"name": "x" * 10 * 1024 * 1024}, "name", None),
        ({"name": "王\x00芳"}, "name", "Contains a character that is not allowed."),
        ({"region_code": ["460100"]}, "region_code", "Expected text."),
    ],
)
def test_bad_fields_are_422_naming_the_field(api_as, overrides, field, message):
    staff = api_as("staff", HAIKOU)
    if overrides.get("id_number") == "CHECKSUM":
        overrides = {"id_number": with_wrong_check_char(make_id_number())}
    before = count_founders_and_audit()
    response = post_founder(staff, **overrides)
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert field in errors
    assert all(isinstance(text, str) and text for text in errors[field])
    if message:
        assert message in errors[field]
    assert count_founders_and_audit() == before


def test_future_registration_date_is_422(api_as):
    tomorrow = (today_in_china() + timedelta(days=1)).isoformat()
    response = post_founder(api_as("staff", HAIKOU), registered_on=tomorrow)
    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "registered_on": ["The registration date cannot be in the future."]
    }


def test_registration_before_birth_is_422(api_as):
    response = post_founder(
        api_as("staff", HAIKOU),
        id_number=id_number_born(date(2012, 5, 5)),
        registered_on="2012-05-04",
    )
    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "registered_on": ["The registration date is before the birth date."]
    }


def test_missing_required_fields_are_each_named(api_as):
    response = api_as("staff", HAIKOU).post("/api/v1/founders", json={})
    assert response.status_code == 422
    assert {"name", "id_number", "phone", "region_code", "target_group"} <= set(
        response.get_json()["errors"]
    )


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"", b'"text"', b"null"])
@pytest.mark.parametrize("method", ["post", "patch"])
def test_malformed_json_is_400(api_as, body, method):
    staff = api_as("staff", HAIKOU)
    founder = saved_founder()
    path = "/api/v1/founders" if method == "post" else f"/api/v1/founders/{founder.id}"
    response = getattr(staff, method)(path, data=body, content_type="application/json")
    assert response.status_code == 400
    assert "error" in response.get_json()


# GET /founders --------------------------------------------------------------------------
def test_list_is_scoped_paginated_and_masked(api_as):
    haikou = [saved_founder(registered_on=date(2026, 1, day)) for day in range(1, 6)]
    sanya = saved_founder(region_code=SANYA)
    staff = api_as("staff", HAIKOU)
    response = staff.get("/api/v1/founders?per_page=2&page=2")
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"items", "page", "per_page", "total"}
    assert (body["page"], body["per_page"], body["total"]) == (2, 2, 5)
    assert [item["id"] for item in body["items"]] == [haikou[2].id, haikou[1].id]
    assert all(set(item) == LIST_KEYS for item in body["items"])
    full = staff.get("/api/v1/founders?per_page=200")
    text = full.get_data(as_text=True)
    assert [item["id"] for item in full.get_json()["items"]] == [f.id for f in reversed(haikou)]
    for founder in [*haikou, sanya]:
        assert founder.id_number not in text
    assert haikou[0].id_number_masked in text
    assert '"id_number"' not in text


def test_list_writes_no_audit_entry(api_as):
    saved_founder()
    staff = api_as("staff", HAIKOU)
    before = count_founders_and_audit()
    assert staff.get("/api/v1/founders").status_code == 200
    assert count_founders_and_audit() == before


def test_a_page_past_the_end_is_empty(api_as):
    saved_founder()
    body = api_as("staff", HAIKOU).get("/api/v1/founders?page=50").get_json()
    assert body["items"] == []
    assert body["total"] == 1


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("per_page=201", "per_page"),
        ("per_page=0", "per_page"),
        ("per_page=ten", "per_page"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("training_status=graduated", "training_status"),
        ("target_group=astronaut", "target_group"),
        ("registered_from=2026-13-01", "registered_from"),
        ("registered_from=2026-03-01&registered_to=2026-02-01", "registered_to"),
        ("q=" + "张" * 51, "q"),
        ("q=%00", "q"),
    ],
)
def test_bad_list_parameters_are_422(api_as, query, field):
    response = api_as("staff", HAIKOU).get(f"/api/v1/founders?{query}", headers=EN)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]


def test_list_filters_and_search(api_as):
    zhang = saved_founder(name="张伟", phone="13812345678", target_group="veteran")
    li = saved_founder(name="李娜", registered_on=date(2025, 6, 1))
    sanya = saved_founder(name="张三", region_code=SANYA)
    province = api_as("staff", HAINAN)

    def ids(query):
        response = province.get(f"/api/v1/founders?{query}")
        assert response.status_code == 200, response.get_json()
        return [item["id"] for item in response.get_json()["items"]]

    assert set(ids("q=张")) == {zhang.id, sanya.id}
    assert ids("q=13812345678") == [zhang.id]
    assert ids("q=138123") == [zhang.id]
    assert ids(f"q={li.id_number[-4:]}") == [li.id]
    assert ids("target_group=veteran") == [zhang.id]
    assert ids(f"region_code={SANYA}") == [sanya.id]
    assert ids("registered_to=2025-12-31") == [li.id]
    assert set(ids("training_status=not_enrolled")) == {zhang.id, li.id, sanya.id}
    assert ids("training_status=passed") == []


@pytest.mark.parametrize("role", ["staff", "officer", "admin"])
def test_who_may_list(api_as, role):
    api = api_as(role, HAINAN if role == "admin" else HAIKOU)
    assert api.get("/api/v1/founders").status_code == 200


def test_founders_may_not_list(api_as):
    assert api_as("founder", HAIKOU).get("/api/v1/founders").status_code == 403


# GET /founders/{id} --------------------------------------------------------------------
@pytest.mark.parametrize("role", ["staff", "officer"])
def test_staff_and_officers_in_scope_get_the_full_number_audited(api_as, role):
    founder = saved_founder()
    api = api_as(role, HAIKOU)
    plain = api.get(f"/api/v1/founders/{founder.id}")
    assert plain.status_code == 200
    assert "id_number" not in plain.get_json()
    assert audit_entries("founder.view_id_number", founder.id) == []
    response = api.get(f"/api/v1/founders/{founder.id}?include=id_number")
    assert response.status_code == 200
    body = response.get_json()
    assert body["id_number"] == founder.id_number
    assert body["id_number_masked"] == founder.id_number_masked
    assert body["integrity"] == {"score": 100, "grade": "B"}
    [entry] = audit_entries("founder.view_id_number", founder.id)
    assert entry.actor_id == api.user.id
    assert founder.id_number not in json.dumps([entry.before, entry.after])


def test_province_staff_read_a_city_founder(api_as):
    founder = saved_founder(region_code=SANYA)
    response = api_as("staff", HAINAN).get(f"/api/v1/founders/{founder.id}?include=id_number")
    assert response.status_code == 200
    assert response.get_json()["id_number"] == founder.id_number


def test_admins_never_get_the_full_number(api_as):
    founder = saved_founder(region_code=SANYA)
    admin = api_as("admin", HAINAN)
    before = count_founders_and_audit()
    response = admin.get(f"/api/v1/founders/{founder.id}")
    assert response.status_code == 200
    assert "id_number" not in response.get_json()
    assert admin.get(f"/api/v1/founders/{founder.id}?include=id_number").status_code == 403
    assert founder.id_number not in response.get_data(as_text=True)
    assert count_founders_and_audit() == before


def test_a_founder_reads_only_their_own_record_masked(api_as):
    other = saved_founder()
    api = api_as("founder", HAIKOU)
    own = db.session.get(Founder, api.user.founder_id)
    before = count_founders_and_audit()
    response = api.get(f"/api/v1/founders/{own.id}")
    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == own.id
    assert body["id_number_masked"] == own.id_number_masked
    assert "id_number" not in body
    assert own.id_number not in response.get_data(as_text=True)
    assert count_founders_and_audit() == before
    assert api.get(f"/api/v1/founders/{other.id}").status_code == 404


@pytest.mark.parametrize("role", ["staff", "officer"])
def test_out_of_scope_and_missing_founders_are_404(api_as, role):
    sanya_founder = saved_founder(region_code=SANYA)
    api = api_as(role, HAIKOU)
    before = count_founders_and_audit()
    elsewhere = api.get(f"/api/v1/founders/{sanya_founder.id}", headers=EN)
    missing = api.get(f"/api/v1/founders/{MISSING_ID}", headers=EN)
    assert elsewhere.status_code == missing.status_code == 404
    assert elsewhere.get_json() == missing.get_json()
    assert sanya_founder.id_number not in elsewhere.get_data(as_text=True)
    assert count_founders_and_audit() == before


@pytest.mark.parametrize("founder_id", ["0", "-1", "abc", "99999999999999999999"])
def test_ids_that_cannot_exist_are_404(api_as, founder_id):
    api = api_as("staff", HAIKOU)
    assert api.get(f"/api/v1/founders/{founder_id}").status_code == 404


@pytest.mark.parametrize("founder_id", ["0", "2147483648"])
def test_patch_of_an_id_that_cannot_exist_is_404(api_as, founder_id):
    api = api_as("staff", HAIKOU)
    assert api.patch(f"/api/v1/founders/{founder_id}", json={}).status_code == 404


# PATCH /founders/{id} ------------------------------------------------------------------
def test_patch_changes_only_the_given_fields(api_as):
    founder = saved_founder(education="high_school", target_group="laid_off")
    unchanged = {
        name: getattr(founder, name)
        for name in ("name", "id_number", "region_code", "registered_on", "birth_date")
    }
    staff = api_as("staff", HAIKOU)
    response = staff.patch(
        f"/api/v1/founders/{founder.id}",
        json={"phone": "13700000001", "education": None, "target_group": "veteran"},
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["phone"], body["education"], body["target_group"]) == (
        "13700000001",
        None,
        "veteran",
    )
    assert "id_number" not in body
    stored = db.session.get(Founder, founder.id)
    db.session.refresh(stored)
    assert {name: getattr(stored, name) for name in unchanged} == unchanged
    [entry] = audit_entries("founder.update", founder.id)
    assert entry.actor_id == staff.user.id
    assert set(entry.after) == {"phone", "education", "target_group"}
    assert entry.before["target_group"] == "laid_off"


def test_patch_with_an_empty_body_changes_nothing(api_as):
    founder = saved_founder()
    response = api_as("staff", HAIKOU).patch(f"/api/v1/founders/{founder.id}", json={})
    assert response.status_code == 200
    assert audit_entries("founder.update", founder.id) == []


def test_patch_of_the_id_number_re_derives_birth_date_and_sex(api_as):
    founder = saved_founder(sex="male")
    new_id = id_number_ending_in_x(birth_date=date(1975, 10, 1), sex="female")
    response = api_as("staff", HAIKOU).patch(
        f"/api/v1/founders/{founder.id}", json={"id_number": new_id.lower()}
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["birth_date"] == "1975-10-01"
    assert body["sex"] == "female"
    assert body["id_number_masked"] == f"{new_id[:6]}***********{new_id[-1]}"


@pytest.mark.parametrize(
    "field",
    [
        "name",
        "id_number",
        "phone",
        "region_code",
        "target_group",
        "has_reemployment_certificate",
        "registered_on",
    ],
)
@pytest.mark.parametrize("empty", [None, ""])
def test_patch_cannot_empty_a_required_field(api_as, field, empty):
    founder = saved_founder()
    staff = api_as("staff", HAIKOU)
    before = count_founders_and_audit()
    response = staff.patch(f"/api/v1/founders/{founder.id}", json={field: empty}, headers=EN)
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == [field]
    assert count_founders_and_audit() == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"phone": "1391234567"}, "phone"),
        ({"region_code": SANYA}, "region_code"),
        ({"registered_on": "2099-01-01"}, "registered_on"),
        ({"name": 42}, "name"),
        ({"has_reemployment_certificate": "no"}, "has_reemployment_certificate"),
        ({"id_number": "CHECKSUM"}, "id_number"),
    ],
)
def test_patch_bad_values_are_422(api_as, change, field):
    founder = saved_founder()
    if change.get("id_number") == "CHECKSUM":
        change = {"id_number": with_wrong_check_char(make_id_number())}
    staff = api_as("staff", HAIKOU)
    before = count_founders_and_audit()
    response = staff.patch(f"/api/v1/founders/{founder.id}", json=change)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]
    assert count_founders_and_audit() == before


def test_patch_to_a_duplicate_id_number_is_409(api_as):
    founder = saved_founder()
    other = saved_founder(region_code=SANYA)
    response = api_as("staff", HAIKOU).patch(
        f"/api/v1/founders/{founder.id}", json={"id_number": other.id_number}
    )
    assert response.status_code == 409
    assert response.get_json()["id"] == other.id
    db.session.expire_all()
    assert db.session.get(Founder, founder.id).id_number != other.id_number


@pytest.mark.parametrize(("role", "region"), [("officer", HAIKOU), ("founder", HAIKOU)])
def test_officers_and_founders_may_not_patch(api_as, role, region):
    api = api_as(role, region)
    target = api.user.founder_id or saved_founder().id
    response = api.patch(f"/api/v1/founders/{target}", json={"name": "改名"})
    assert response.status_code == 403


def test_patch_out_of_scope_and_missing_are_404(api_as):
    sanya_founder = saved_founder(region_code=SANYA)
    staff = api_as("staff", HAIKOU)
    assert (
        staff.patch(f"/api/v1/founders/{sanya_founder.id}", json={"name": "x"}).status_code == 404
    )
    assert staff.patch(f"/api/v1/founders/{MISSING_ID}", json={"name": "x"}).status_code == 404
    db.session.expire_all()
    assert db.session.get(Founder, sanya_founder.id).name == "张伟"


def test_patch_may_move_within_the_province_only(api_as):
    founder = saved_founder(region_code=HAIKOU)
    province = api_as("staff", HAINAN)
    moved = province.patch(f"/api/v1/founders/{founder.id}", json={"region_code": SANYA})
    assert moved.status_code == 200
    assert moved.get_json()["region_code"] == SANYA
    away = province.patch(f"/api/v1/founders/{founder.id}", json={"region_code": "310110"})
    assert away.status_code == 422


def test_derived_and_unknown_keys_in_the_body_are_ignored(api_as):
    staff = api_as("staff", HAIKOU)
    id_number = id_number_born(date(1990, 2, 3), sex="male")
    response = post_founder(
        staff, id_number=id_number, sex="female", birth_date="1900-01-01", id=MISSING_ID
    )
    assert response.status_code == 201
    body = response.get_json()
    assert (body["sex"], body["birth_date"]) == ("male", "1990-02-03")
    assert body["id"] != MISSING_ID


def test_openapi_describes_the_founder_endpoints(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"get", "post"} <= set(paths["/founders"])
    assert {"get", "patch"} <= set(paths["/founders/{founder_id}"])


def test_every_problem_is_reported_at_once(api_as):
    """Shape errors (the form) and rule errors (scope, dates) come back together."""
    api = api_as("staff", HAIKOU)
    future = (today_in_china() + timedelta(days=3)).isoformat()
    response = post_founder(api, phone="1387654321", region_code="460200", registered_on=future)
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert set(errors) == {"phone", "region_code", "registered_on"}
    assert db.session.query(Founder).count() == 0


def test_a_patch_reports_only_the_fields_it_changes(api_as):
    api = api_as("staff", HAIKOU)
    founder_id = post_founder(api).get_json()["id"]
    response = api.patch(
        f"/api/v1/founders/{founder_id}", json={"phone": "12", "region_code": "460200"}
    )
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"phone", "region_code"}
