"""Incubation API: bases and residencies through /api/v1 (SPEC §14)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.core.dates import today_in_china
from app.extensions import db
from app.incubation.models import IncubationBase, Residency
from tests.businesses.factories import make_business
from tests.incubation.factories import base_body, make_base, make_residency

BASES = "/api/v1/incubation/bases"
BASE_FIELDS = {
    "id",
    "name",
    "region_code",
    "kind",
    "address",
    "units",
    "operator_name",
    "operator_phone",
    "occupied",
    "free",
}
RESIDENCY_FIELDS = {
    "id",
    "base_id",
    "business_id",
    "unit_label",
    "starts_on",
    "ends_on",
    "outcome",
    "note",
}
EN = {"Accept-Language": "en"}


def committed(*objects):
    ids = [obj.id for obj in objects]
    db.session.commit()
    return ids


def days_ago(n):
    return (today_in_china() - timedelta(days=n)).isoformat()


def test_create_base(api_as):
    api = api_as("staff", "460100")
    response = api.post(BASES, json=base_body(name="椰城孵化园", units=20))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert set(body) == BASE_FIELDS | {"residents"}
    assert (body["name"], body["units"], body["occupied"], body["free"]) == (
        "椰城孵化园",
        20,
        0,
        20,
    )
    assert body["operator_phone"] == "0898-66668888"
    assert body["residents"] == []
    assert db.session.get(IncubationBase, body["id"]).region_code == "460100"


@pytest.mark.parametrize(
    ("fields", "bad_field"),
    [
        ({"name": ""}, "name"),
        ({"units": 0}, "units"),
        ({"units": "5"}, "units"),  # text where a number belongs
        ({"units": 10_001}, "units"),
        ({"kind": "castle"}, "kind"),
        ({"region_code": "460200"}, "region_code"),  # another city
        ({"region_code": "999999"}, "region_code"),
        ({"operator_phone": "1380013800"}, "operator_phone"),
        ({"operator_phone": "电话"}, "operator_phone"),
        ({"address": "路" * 201}, "address"),
        ({"name": "园" * 100_000}, "name"),
    ],
)
def test_bad_bases_are_422_by_field(api_as, fields, bad_field):
    api = api_as("staff", "460100")
    response = api.post(BASES, json=base_body(name="坏基地") | fields, headers=EN)
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {bad_field}
    assert db.session.scalar(select(IncubationBase)) is None


def test_missing_fields_are_each_named(api_as):
    response = api_as("staff", "460100").post(BASES, json={})
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"name", "region_code", "kind", "units"}


def test_malformed_json_is_400(api_as):
    api = api_as("staff", "460100")
    response = api.post(BASES, data="{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400


def test_errors_speak_chinese_by_default(api_as):
    response = api_as("staff", "460100").post(BASES, json=base_body(region_code="460200"))
    assert response.status_code == 422
    assert response.get_json()["errors"]["region_code"] == ["请选择您管辖范围内的地区。"]


def test_duplicate_name_is_409_with_the_existing_id(api_as):
    [existing_id] = committed(make_base(name="同名基地"))
    response = api_as("staff", "460100").post(BASES, json=base_body(name="同名基地"))
    assert response.status_code == 409
    assert response.get_json()["id"] == existing_id


def test_list_bases_with_occupancy(api_as):
    park = make_base(name="海口科技园", units=3)
    make_residency(park)
    make_residency(park, ends_on=date(2026, 6, 1), outcome="left")
    make_base(name="海口大学城", kind="campus", units=2)
    make_base(name="三亚创业港", region_code="460200")
    committed(park)
    body = api_as("staff", "460100").get(f"{BASES}?per_page=1").get_json()
    assert set(body) == {"items", "page", "per_page", "total"}
    assert (body["page"], body["per_page"], body["total"]) == (1, 1, 2)
    [first] = body["items"]
    assert set(first) == BASE_FIELDS
    province = api_as("staff", "460000")
    items = province.get(BASES).get_json()["items"]
    assert {item["name"]: (item["units"], item["occupied"], item["free"]) for item in items} == {
        "海口科技园": (3, 1, 2),
        "海口大学城": (2, 0, 2),
        "三亚创业港": (10, 0, 10),
    }
    sanya = province.get(f"{BASES}?region_code=460200").get_json()["items"]
    assert [item["name"] for item in sanya] == ["三亚创业港"]
    assert [i["name"] for i in province.get(f"{BASES}?q=科技").get_json()["items"]] == [
        "海口科技园"
    ]


def test_list_filters_are_validated(api_as):
    api = api_as("staff", "460100")
    assert api.get(f"{BASES}?per_page=201").status_code == 422
    assert api.get(f"{BASES}?kind=castle").status_code == 422
    assert api.get(f"{BASES}?region_code=abc").status_code == 422


def test_base_detail_lists_current_residents(api_as):
    base = make_base(units=4)
    business = make_business(name="椰子鸡")
    living = make_residency(base, business, unit_label="A-1")
    make_residency(base, ends_on=date(2026, 6, 1), outcome="graduated")
    [base_id, living_id] = committed(base, living)
    body = api_as("staff", "460100").get(f"{BASES}/{base_id}").get_json()
    assert (body["units"], body["occupied"], body["free"]) == (4, 1, 3)
    [resident] = body["residents"]
    assert set(resident) == RESIDENCY_FIELDS | {"business_name", "founder_id", "founder_name"}
    assert (resident["id"], resident["unit_label"], resident["business_name"]) == (
        living_id,
        "A-1",
        "椰子鸡",
    )
    assert resident["ends_on"] is None
    assert resident["starts_on"] == "2026-04-01"


def test_start_and_end_a_residency(api_as):
    base = make_base(units=1)
    business = make_business(opened_on=today_in_china() - timedelta(days=100))
    [base_id, business_id] = committed(base, business)
    api = api_as("staff", "460100")
    started = api.post(
        f"{BASES}/{base_id}/residencies",
        json={"business_id": business_id, "unit_label": " A-1 ", "starts_on": days_ago(30)},
    )
    assert started.status_code == 201, started.get_json()
    body = started.get_json()
    assert set(body) == RESIDENCY_FIELDS
    assert (body["base_id"], body["business_id"], body["unit_label"]) == (
        base_id,
        business_id,
        "A-1",
    )
    assert (body["ends_on"], body["outcome"], body["note"]) == (None, None, "")

    full = api.post(
        f"{BASES}/{base_id}/residencies",
        json={
            "business_id": committed(make_business())[0],
            "unit_label": "A-2",
            "starts_on": days_ago(1),
        },
        headers=EN,
    )
    assert full.status_code == 409
    assert full.get_json()["error"] == "The base is full (1 of 1 units used)."

    ended = api.post(
        f"/api/v1/residencies/{body['id']}/end",
        json={"ends_on": days_ago(0), "outcome": "graduated", "note": "搬到更大的厂房"},
    )
    assert ended.status_code == 200, ended.get_json()
    assert (ended.get_json()["outcome"], ended.get_json()["ends_on"]) == ("graduated", days_ago(0))
    again = api.post(
        f"/api/v1/residencies/{body['id']}/end", json={"ends_on": days_ago(0), "outcome": "left"}
    )
    assert again.status_code == 409
    detail = api.get(f"{BASES}/{base_id}").get_json()
    assert (detail["occupied"], detail["free"], detail["residents"]) == (0, 1, [])


def test_ending_as_closed_closes_the_business(api_as):
    business = make_business(opened_on=today_in_china() - timedelta(days=100))
    residency = make_residency(
        make_base(), business, starts_on=today_in_china() - timedelta(days=50)
    )
    [residency_id, business_id] = committed(residency, business)
    response = api_as("staff", "460100").post(
        f"/api/v1/residencies/{residency_id}/end",
        json={"ends_on": days_ago(2), "outcome": "closed"},
    )
    assert response.status_code == 200, response.get_json()
    db.session.expire_all()
    assert db.session.get(Residency, residency_id).outcome == "closed"
    assert db.session.get(type(business), business_id).status == "closed"


@pytest.mark.parametrize(
    ("body", "bad_fields"),
    [
        ({}, {"business_id", "unit_label", "starts_on"}),
        ({"business_id": "1", "unit_label": "A", "starts_on": "2026-05-01"}, {"business_id"}),
        (
            {"business_id": 999_999_999, "unit_label": "A", "starts_on": "2026-05-01"},
            {"business_id"},
        ),
        ({"unit_label": "U" * 21}, {"business_id", "unit_label", "starts_on"}),
        ({"starts_on": "2026-02-30"}, {"business_id", "unit_label", "starts_on"}),
    ],
)
def test_bad_residencies_are_422(api_as, body, bad_fields):
    [base_id] = committed(make_base())
    response = api_as("staff", "460100").post(f"{BASES}/{base_id}/residencies", json=body)
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == bad_fields
    assert db.session.scalar(select(Residency)) is None


def test_a_business_of_another_city_is_a_field_error(api_as):
    [base_id, business_id] = committed(make_base(), make_business(region_code="460200"))
    response = api_as("staff", "460100").post(
        f"{BASES}/{base_id}/residencies",
        json={"business_id": business_id, "unit_label": "A", "starts_on": "2026-05-01"},
        headers=EN,
    )
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"business_id": ["Choose a business in your area."]}


def test_moving_in_before_opening_or_in_the_future_is_422(api_as):
    business = make_business(opened_on=today_in_china() - timedelta(days=10))
    [base_id, business_id] = committed(make_base(), business)
    api = api_as("staff", "460100")
    for starts_on in (days_ago(11), days_ago(-1)):
        response = api.post(
            f"{BASES}/{base_id}/residencies",
            json={"business_id": business_id, "unit_label": "A", "starts_on": starts_on},
        )
        assert response.status_code == 422
        assert set(response.get_json()["errors"]) == {"starts_on"}


def test_ending_before_the_start_is_422(api_as):
    [residency_id] = committed(make_residency(make_base()))
    response = api_as("staff", "460100").post(
        f"/api/v1/residencies/{residency_id}/end", json={"ends_on": "2026-03-31", "outcome": "left"}
    )
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"ends_on"}


def test_anonymous_callers_get_401(anonymous_api, db_session):
    [base_id, residency_id] = committed(base := make_base(), make_residency(base))
    assert anonymous_api.get(BASES).status_code == 401
    assert anonymous_api.post(BASES, json=base_body()).status_code == 401
    assert anonymous_api.get(f"{BASES}/{base_id}").status_code == 401
    assert anonymous_api.post(f"{BASES}/{base_id}/residencies", json={}).status_code == 401
    assert anonymous_api.post(f"/api/v1/residencies/{residency_id}/end", json={}).status_code == 401


@pytest.mark.parametrize(
    ("role", "region"), [("founder", "460100"), ("officer", "460100"), ("admin", "460000")]
)
def test_other_roles_get_403(api_as, role, region):
    [base_id, residency_id] = committed(base := make_base(), make_residency(base))
    api = api_as(role, region)
    assert api.get(BASES).status_code == 403
    assert api.post(BASES, json=base_body()).status_code == 403
    assert api.get(f"{BASES}/{base_id}").status_code == 403
    assert api.post(f"{BASES}/{base_id}/residencies", json={}).status_code == 403
    assert api.post(f"/api/v1/residencies/{residency_id}/end", json={}).status_code == 403
    assert db.session.scalar(select(IncubationBase).where(IncubationBase.id != base_id)) is None


def test_another_citys_base_is_404(api_as):
    sanya = make_base(region_code="460200")
    residency = make_residency(sanya)
    [sanya_id, residency_id] = committed(sanya, residency)
    [business_id] = committed(make_business())
    haikou = api_as("staff", "460100")
    assert haikou.get(f"{BASES}/{sanya_id}").status_code == 404
    moved = haikou.post(
        f"{BASES}/{sanya_id}/residencies",
        json={"business_id": business_id, "unit_label": "A", "starts_on": "2026-05-01"},
    )
    assert moved.status_code == 404
    ended = haikou.post(
        f"/api/v1/residencies/{residency_id}/end", json={"ends_on": "2026-06-01", "outcome": "left"}
    )
    assert ended.status_code == 404
    db.session.expire_all()
    assert db.session.get(Residency, residency_id).ends_on is None
    assert haikou.get(f"{BASES}/999999999").status_code == 404
    assert api_as("staff", "460200").get(f"{BASES}/{sanya_id}").status_code == 200
