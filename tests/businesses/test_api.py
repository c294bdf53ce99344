"""The businesses API: every endpoint, its permission, scope, answers, conflicts and field
errors (SPEC §14: money as strings with 2 decimals, 422 naming the field)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.businesses.models import Business, Observation
from app.core.audit import AuditEntry
from app.core.dates import today_in_china
from app.extensions import db
from app.founders.models import Founder
from tests.businesses.factories import business_body, make_business, make_observation, make_uscc
from tests.factories import make_founder
from tests.library.factories import make_project

EN = {"Accept-Language": "en"}


def committed_id(obj):
    ident = obj.id
    db.session.commit()
    return ident


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def haikou_founder_id():
    return committed_id(make_founder(region_code="460100"))


def own_business_id(api, **fields):
    """A business of the founder signed in to `api`."""
    founder = db.session.get(Founder, api.user.founder_id)
    return committed_id(make_business(founder, **fields))


def observation_body(**fields):
    return {"observed_on": "2026-06-01", "status": "operating", "employees": 3} | fields


ENDPOINTS = [
    ("post", "/api/v1/businesses"),
    ("get", "/api/v1/businesses"),
    ("get", "/api/v1/businesses/1"),
    ("patch", "/api/v1/businesses/1"),
    ("post", "/api/v1/businesses/1/observations"),
    ("get", "/api/v1/observations/reports"),
    ("post", "/api/v1/observations/1/verify"),
    ("post", "/api/v1/observations/1/query"),
]
STAFF_ONLY = [
    ("post", "/api/v1/businesses"),
    ("patch", "/api/v1/businesses/1"),
    ("get", "/api/v1/observations/reports"),
    ("post", "/api/v1/observations/1/verify"),
    ("post", "/api/v1/observations/1/query"),
]


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_anonymous_callers_get_401(anonymous_api, method, url):
    assert getattr(anonymous_api, method)(url).status_code == 401


@pytest.mark.parametrize("role", ["founder", "officer", "admin"])
@pytest.mark.parametrize(("method", "url"), STAFF_ONLY)
def test_only_staff_write_and_review(api_as, role, method, url):
    api = api_as(role, "460000" if role == "admin" else "460100")
    response = getattr(api, method)(url, json={}) if method != "get" else api.get(url)
    assert response.status_code == 403


@pytest.mark.parametrize("role", ["officer", "admin"])
def test_officers_and_admins_do_not_observe(api_as, role):
    business_id = committed_id(make_business())
    api = api_as(role, "460000" if role == "admin" else "460100")
    response = api.post(f"/api/v1/businesses/{business_id}/observations", json=observation_body())
    assert response.status_code == 403
    assert count(Observation) == 0


# Creating -------------------------------------------------------------------------------
def test_staff_record_a_business(api_as):
    founder_id = haikou_founder_id()
    project_id = committed_id(make_project(region_code="460100"))
    code = make_uscc()
    api = api_as("staff", "460100")
    response = api.post(
        "/api/v1/businesses",
        json=business_body(founder_id, uscc=code, library_project_id=project_id),
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body == {
        "id": body["id"],
        "founder_id": founder_id,
        "name": "椰香小吃店",
        "industry": "catering",
        "region_code": "460100",
        "opened_on": "2026-03-01",
        "uscc": code,
        "library_project_id": project_id,
        "employees_at_opening": 2,
        "status": "operating",
        "employees": 2,
        "status_observed_on": "2026-03-01",
        "closed_on": None,
        "observations": [],
    }
    assert db.session.get(Business, body["id"]).founder_id == founder_id
    assert count(AuditEntry) >= 1


def test_optional_fields_may_be_left_out_or_null(api_as):
    founder_id = haikou_founder_id()
    api = api_as("staff", "460100")
    response = api.post(
        "/api/v1/businesses", json=business_body(founder_id, uscc=None, library_project_id=None)
    )
    assert response.status_code == 201
    assert (response.get_json()["uscc"], response.get_json()["library_project_id"]) == (None, None)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"uscc": "91460100MA5T000001"}, "uscc"),
        ({"uscc": "123"}, "uscc"),
        ({"uscc": 123}, "uscc"),
        ({"industry": "mining"}, "industry"),
        ({"industry": 5}, "industry"),
        ({"employees_at_opening": "two"}, "employees_at_opening"),
        ({"employees_at_opening": "2"}, "employees_at_opening"),
        ({"employees_at_opening": 2.5}, "employees_at_opening"),
        ({"employees_at_opening": True}, "employees_at_opening"),
        ({"employees_at_opening": -1}, "employees_at_opening"),
        ({"employees_at_opening": 10**30}, "employees_at_opening"),
        ({"employees_at_opening": None}, "employees_at_opening"),
        ({"name": None}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 200}, "name"),
        ({"name": "x\x00y"}, "name"),
        ({"founder_id": "abc"}, "founder_id"),
        ({"founder_id": 999_999}, "founder_id"),
        ({"founder_id": 10**30}, "founder_id"),
        ({"founder_id": None}, "founder_id"),
        ({"region_code": "460200"}, "region_code"),
        ({"region_code": "999999"}, "region_code"),
        ({"opened_on": "2026-13-01"}, "opened_on"),
        ({"opened_on": "yesterday"}, "opened_on"),
        ({"opened_on": "1970-01-01"}, "opened_on"),
        ({"opened_on": "9999-12-31"}, "opened_on"),
        ({"library_project_id": "x"}, "library_project_id"),
        ({"library_project_id": 999_999}, "library_project_id"),
    ],
)
def test_bad_input_is_422_naming_the_field(api_as, fields, field):
    founder_id = haikou_founder_id()
    api = api_as("staff", "460100")
    body = business_body(founder_id) | fields
    response = api.post("/api/v1/businesses", json=body, headers=EN)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]
    assert count(Business) == 0


def test_missing_fields_are_each_named(api_as):
    api = api_as("staff", "460100")
    response = api.post("/api/v1/businesses", json={}, headers=EN)
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {
        "founder_id",
        "name",
        "industry",
        "region_code",
        "opened_on",
        "employees_at_opening",
    }


def test_an_opening_tomorrow_is_422(api_as):
    founder_id = haikou_founder_id()
    api = api_as("staff", "460100")
    tomorrow = (today_in_china() + timedelta(days=1)).isoformat()
    response = api.post(
        "/api/v1/businesses", json=business_body(founder_id, opened_on=tomorrow), headers=EN
    )
    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "opened_on": ["The opening day cannot be in the future."]
    }


def test_a_ten_megabyte_name_is_422(api_as):
    founder_id = haikou_founder_id()
    api = api_as("staff", "460100")
    body = business_body(founder_id, name="x" * (10 * 1024 * 1024))
    response = api.post("/api/v1/businesses", json=body, headers=EN)
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["name"]
    assert count(Business) == 0


def test_a_duplicate_credit_code_is_409_with_the_holders_id(api_as):
    code = make_uscc()
    holder_id = committed_id(make_business(uscc=code))
    founder_id = haikou_founder_id()
    api = api_as("staff", "460100")
    response = api.post("/api/v1/businesses", json=business_body(founder_id, uscc=code.lower()))
    assert response.status_code == 409
    assert response.get_json()["id"] == holder_id
    assert code in response.get_json()["error"]
    assert count(Business) == 1


def test_a_founder_out_of_scope_is_422(api_as):
    sanya_founder_id = committed_id(make_founder(region_code="460200"))
    api = api_as("staff", "460100")
    response = api.post("/api/v1/businesses", json=business_body(sanya_founder_id), headers=EN)
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"founder_id": ["Choose a founder in your area."]}


@pytest.mark.parametrize("data", ["[", "[]", '"text"', "null", "", "{"])
def test_malformed_json_is_400(api_as, data):
    business_id = committed_id(make_business())
    api = api_as("staff", "460100")
    headers = {"Content-Type": "application/json"}
    for method, url in (
        ("post", "/api/v1/businesses"),
        ("patch", f"/api/v1/businesses/{business_id}"),
        ("post", f"/api/v1/businesses/{business_id}/observations"),
    ):
        response = getattr(api, method)(url, data=data, headers=headers)
        assert response.status_code == 400, (method, url)
        assert "error" in response.get_json()
    assert count(Observation) == 0


# Reading --------------------------------------------------------------------------------
def test_the_list_is_scoped_filtered_and_paginated(api_as):
    for number in range(3):
        make_business(name=f"海口{number}", opened_on=date(2026, 1, 1 + number))
    closed = make_business(name="海口关店", opened_on=date(2025, 5, 1), industry="retail")
    make_observation(closed, status="closed", observed_on=date(2026, 2, 1))
    make_business(name="三亚店", region_code="460200")
    db.session.commit()
    api = api_as("staff", "460100")
    body = api.get("/api/v1/businesses?per_page=2&page=2").get_json()
    assert (body["page"], body["per_page"], body["total"]) == (2, 2, 4)
    assert [item["name"] for item in body["items"]] == ["海口0", "海口关店"]
    everything = api.get("/api/v1/businesses").get_json()
    assert [item["name"] for item in everything["items"]] == ["海口2", "海口1", "海口0", "海口关店"]
    item = everything["items"][3]
    assert set(item) == {
        "id",
        "founder_id",
        "name",
        "industry",
        "region_code",
        "opened_on",
        "uscc",
        "library_project_id",
        "employees_at_opening",
        "status",
        "employees",
        "status_observed_on",
        "closed_on",
    }
    assert (item["status"], item["employees"], item["closed_on"]) == ("closed", 0, "2026-02-01")
    closed_only = api.get("/api/v1/businesses?status=closed").get_json()
    assert [item["name"] for item in closed_only["items"]] == ["海口关店"]
    retail = api.get("/api/v1/businesses?industry=retail&q=海口").get_json()
    assert retail["total"] == 1
    dated = api.get("/api/v1/businesses?opened_from=2026-01-02&opened_to=2026-01-03").get_json()
    assert [item["name"] for item in dated["items"]] == ["海口2", "海口1"]


def test_province_staff_list_the_province_and_filter_by_region(api_as):
    make_business(name="海口店", region_code="460100")
    make_business(name="三亚店", region_code="460200")
    make_business(name="杨浦店", region_code="310110")
    db.session.commit()
    api = api_as("staff", "460000")
    assert api.get("/api/v1/businesses").get_json()["total"] == 2
    sanya = api.get("/api/v1/businesses?region_code=460200").get_json()
    assert [item["name"] for item in sanya["items"]] == ["三亚店"]


@pytest.mark.parametrize(
    "query",
    [
        "status=gone",
        "industry=mining",
        "opened_from=2026-02-30",
        "opened_from=2026-05-01&opened_to=2026-04-01",
        "founder_id=abc",
        "page=0",
        "per_page=201",
    ],
)
def test_bad_filters_are_422(api_as, query):
    api = api_as("staff", "460100")
    response = api.get(f"/api/v1/businesses?{query}", headers=EN)
    assert response.status_code == 422
    assert response.get_json()["errors"]


def test_founders_list_and_read_only_their_own(api_as):
    other_id = committed_id(make_business(name="别人的店"))
    api = api_as("founder", "460100")
    own_id = own_business_id(api, name="我的店")
    body = api.get("/api/v1/businesses").get_json()
    assert [item["id"] for item in body["items"]] == [own_id]
    assert api.get(f"/api/v1/businesses/{own_id}").status_code == 200
    assert api.get(f"/api/v1/businesses/{other_id}").status_code == 404


def test_officers_read_businesses_of_their_area(api_as):
    haikou_id = committed_id(make_business(name="海口店"))
    sanya_id = committed_id(make_business(name="三亚店", region_code="460200"))
    api = api_as("officer", "460100")
    body = api.get("/api/v1/businesses").get_json()
    assert [item["name"] for item in body["items"]] == ["海口店"]
    assert api.get(f"/api/v1/businesses/{haikou_id}").status_code == 200
    assert api.get(f"/api/v1/businesses/{sanya_id}").status_code == 404


def test_the_detail_has_the_history_latest_first_with_money_as_strings(api_as):
    business = make_business(opened_on=date(2026, 3, 1))
    make_observation(business, observed_on=date(2026, 4, 1), monthly_revenue=None)
    make_observation(business, observed_on=date(2026, 8, 1), status="suspended", employees=1)
    make_observation(business, observed_on=date(2026, 6, 1), monthly_revenue="1234.5")
    business_id = committed_id(business)
    api = api_as("staff", "460100")
    response = api.get(f"/api/v1/businesses/{business_id}")
    assert response.status_code == 200
    body = response.get_json()
    assert (body["status"], body["employees"], body["status_observed_on"]) == (
        "suspended",
        1,
        "2026-08-01",
    )
    history = body["observations"]
    assert [item["observed_on"] for item in history] == ["2026-08-01", "2026-06-01", "2026-04-01"]
    assert [item["monthly_revenue"] for item in history] == ["12000.00", "1234.50", None]
    assert history[0] == {
        "id": history[0]["id"],
        "business_id": business_id,
        "observed_on": "2026-08-01",
        "status": "suspended",
        "employees": 1,
        "monthly_revenue": "12000.00",
        "closed_on": None,
        "note": "",
        "source": "staff",
        "reopened": False,
        "verified": True,
        "review_state": None,
        "query_note": "",
    }


def test_absent_businesses_are_404(api_as):
    api = api_as("staff", "460100")
    assert api.get("/api/v1/businesses/999999").status_code == 404
    assert api.patch("/api/v1/businesses/999999", json={"name": "x"}).status_code == 404
    response = api.post("/api/v1/businesses/999999/observations", json=observation_body())
    assert response.status_code == 404


# Correcting -----------------------------------------------------------------------------
def test_staff_correct_only_the_given_fields(api_as):
    business_id = committed_id(make_business(name="旧名", industry="catering"))
    other_founder_id = haikou_founder_id()
    api = api_as("staff", "460100")
    response = api.patch(
        f"/api/v1/businesses/{business_id}",
        json={"name": "新名", "opened_on": "2026-02-01", "founder_id": other_founder_id},
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["name"], body["industry"], body["opened_on"]) == ("新名", "catering", "2026-02-01")
    assert body["status_observed_on"] == "2026-02-01"
    assert body["founder_id"] != other_founder_id
    [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "business.update"))
    assert entry.before["name"] == "旧名"
    assert "industry" not in entry.after


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"industry": "mining"}, "industry"),
        ({"opened_on": None}, "opened_on"),
        ({"opened_on": "2026-07-01"}, "opened_on"),  # after the first observation
        ({"region_code": "460200"}, "region_code"),
        ({"employees_at_opening": "3"}, "employees_at_opening"),
        ({"uscc": "ABC"}, "uscc"),
    ],
)
def test_bad_corrections_are_422(api_as, fields, field):
    business = make_business(name="旧名")
    make_observation(business, observed_on=date(2026, 6, 1))
    business_id = committed_id(business)
    api = api_as("staff", "460100")
    response = api.patch(f"/api/v1/businesses/{business_id}", json=fields, headers=EN)
    assert response.status_code == 422, response.get_json()
    assert list(response.get_json()["errors"]) == [field]
    db.session.expire_all()
    assert db.session.get(Business, business_id).name == "旧名"


def test_a_correction_to_a_used_credit_code_is_409(api_as):
    code = make_uscc()
    holder_id = committed_id(make_business(uscc=code))
    business_id = committed_id(make_business())
    api = api_as("staff", "460100")
    response = api.patch(f"/api/v1/businesses/{business_id}", json={"uscc": code})
    assert response.status_code == 409
    assert response.get_json()["id"] == holder_id


def test_staff_of_another_city_cannot_correct(api_as):
    business_id = committed_id(make_business())
    api = api_as("staff", "460200")
    assert api.patch(f"/api/v1/businesses/{business_id}", json={"name": "x"}).status_code == 404


# Observations ---------------------------------------------------------------------------
def test_staff_record_an_observation(api_as):
    business_id = committed_id(make_business())
    api = api_as("staff", "460100")
    response = api.post(
        f"/api/v1/businesses/{business_id}/observations",
        json=observation_body(
            status="suspended", employees=1, monthly_revenue="1234.5", note="装修"
        ),
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["business_id"] == business_id
    assert (body["status"], body["employees"], body["monthly_revenue"]) == (
        "suspended",
        1,
        "1234.50",
    )
    assert (body["source"], body["verified"], body["review_state"]) == ("staff", True, None)
    assert body["note"] == "装修"
    detail = api.get(f"/api/v1/businesses/{business_id}").get_json()
    assert (detail["status"], detail["employees"]) == ("suspended", 1)
    assert [item["id"] for item in detail["observations"]] == [body["id"]]


def test_the_observation_day_defaults_to_today(api_as):
    business_id = committed_id(make_business())
    api = api_as("staff", "460100")
    response = api.post(
        f"/api/v1/businesses/{business_id}/observations",
        json={"status": "operating", "employees": 4},
    )
    assert response.status_code == 201
    assert response.get_json()["observed_on"] == today_in_china().isoformat()


def test_a_closure_answers_its_closing_day(api_as):
    business_id = committed_id(make_business())
    api = api_as("staff", "460100")
    response = api.post(
        f"/api/v1/businesses/{business_id}/observations",
        json={"observed_on": "2026-07-01", "status": "closed", "closed_on": "2026-06-20"},
    )
    assert response.status_code == 201
    assert (response.get_json()["closed_on"], response.get_json()["employees"]) == ("2026-06-20", 0)
    detail = api.get(f"/api/v1/businesses/{business_id}").get_json()
    assert (detail["status"], detail["closed_on"]) == ("closed", "2026-06-20")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"observed_on": "2026-02-28"}, "observed_on"),  # before the opening
        ({"observed_on": "2026-02-30"}, "observed_on"),
        ({"observed_on": 20260601}, "observed_on"),
        ({"status": "gone"}, "status"),
        ({"status": None}, "status"),
        ({"employees": "three"}, "employees"),
        ({"employees": -1}, "employees"),
        ({"employees": None}, "employees"),
        ({"monthly_revenue": "abc"}, "monthly_revenue"),
        ({"monthly_revenue": "1.234"}, "monthly_revenue"),
        ({"monthly_revenue": "-5.00"}, "monthly_revenue"),
        ({"monthly_revenue": "NaN"}, "monthly_revenue"),
        ({"monthly_revenue": 1234.5}, "monthly_revenue"),
        ({"monthly_revenue": "10000000.01"}, "monthly_revenue"),
        ({"closed_on": "2026-06-01"}, "closed_on"),  # for an operating business
        ({"status": "closed", "employees": 2}, "employees"),
        ({"status": "closed", "employees": 0, "closed_on": "2026-06-02"}, "closed_on"),
        ({"note": "x" * 1001}, "note"),
        ({"reopened": "yes"}, "reopened"),
    ],
)
def test_bad_observations_are_422_naming_the_field(api_as, fields, field):
    business_id = committed_id(make_business(opened_on=date(2026, 3, 1)))
    api = api_as("staff", "460100")
    response = api.post(
        f"/api/v1/businesses/{business_id}/observations",
        json=observation_body(**fields),
        headers=EN,
    )
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]
    assert count(Observation) == 0


def test_an_observation_tomorrow_is_422(api_as):
    business_id = committed_id(make_business())
    api = api_as("staff", "460100")
    tomorrow = (today_in_china() + timedelta(days=1)).isoformat()
    response = api.post(
        f"/api/v1/businesses/{business_id}/observations",
        json=observation_body(observed_on=tomorrow),
        headers=EN,
    )
    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "observed_on": ["An observation cannot be in the future."]
    }


def test_a_founder_reports_on_their_own_business(api_as):
    api = api_as("founder", "460100")
    business_id = own_business_id(api)
    response = api.post(
        f"/api/v1/businesses/{business_id}/observations",
        json={"status": "operating", "employees": 5, "monthly_revenue": "8000"},
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["source"], body["verified"], body["review_state"]) == ("founder", False, "pending")
    assert body["monthly_revenue"] == "8000.00"
    detail = api.get(f"/api/v1/businesses/{business_id}").get_json()
    assert detail["employees"] == 5


def test_a_founder_cannot_touch_someone_elses_business(api_as):
    other_id = committed_id(make_business())
    api = api_as("founder", "460100")
    response = api.post(f"/api/v1/businesses/{other_id}/observations", json=observation_body())
    assert response.status_code == 404
    assert api.get(f"/api/v1/businesses/{other_id}").status_code == 404
    assert count(Observation) == 0


def test_a_founder_cannot_record_a_reopening(api_as):
    api = api_as("founder", "460100")
    founder = db.session.get(Founder, api.user.founder_id)
    business = make_business(founder)
    make_observation(business, status="closed", observed_on=date(2026, 6, 1))
    business_id = committed_id(business)
    response = api.post(
        f"/api/v1/businesses/{business_id}/observations",
        json=observation_body(observed_on="2026-07-01", reopened=True),
    )
    assert response.status_code == 403
    plain = api.post(
        f"/api/v1/businesses/{business_id}/observations",
        json=observation_body(observed_on="2026-07-01"),
    )
    assert plain.status_code == 409
    assert count(Observation) == 1


def test_a_closed_business_takes_only_a_staff_reopening(api_as):
    business = make_business()
    make_observation(business, status="closed", observed_on=date(2026, 6, 1))
    business_id = committed_id(business)
    api = api_as("staff", "460100")
    url = f"/api/v1/businesses/{business_id}/observations"
    closed = api.post(url, json=observation_body(observed_on="2026-07-01"), headers=EN)
    assert closed.status_code == 409
    assert "closed on 2026-06-01" in closed.get_json()["error"]
    early = api.post(
        url, json=observation_body(observed_on="2026-05-01", reopened=True), headers=EN
    )
    assert early.status_code == 422
    assert list(early.get_json()["errors"]) == ["observed_on"]
    reopened = api.post(url, json=observation_body(observed_on="2026-07-01", reopened=True))
    assert reopened.status_code == 201
    assert reopened.get_json()["reopened"] is True
    detail = api.get(f"/api/v1/businesses/{business_id}").get_json()
    assert (detail["status"], detail["closed_on"]) == ("operating", None)
    again = api.post(url, json=observation_body(observed_on="2026-08-01", reopened=True))
    assert again.status_code == 409


def test_a_closure_before_the_last_observation_is_422(api_as):
    business = make_business()
    make_observation(business, observed_on=date(2026, 8, 1))
    business_id = committed_id(business)
    api = api_as("staff", "460100")
    response = api.post(
        f"/api/v1/businesses/{business_id}/observations",
        json={"observed_on": "2026-09-01", "status": "closed", "closed_on": "2026-07-01"},
        headers=EN,
    )
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["closed_on"]


# The review queue -----------------------------------------------------------------------
@pytest.fixture
def queue(db_session):
    haikou = make_business(name="海口店")
    sanya = make_business(name="三亚店", region_code="460200")
    ids = {
        "pending": make_observation(haikou, source="founder", monthly_revenue="99.9").id,
        "queried": make_observation(
            haikou, source="founder", review_state="queried", query_note="真的吗？"
        ).id,
        "verified": make_observation(
            haikou, source="founder", review_state="verified", verified=True
        ).id,
        "staff": make_observation(haikou, source="staff").id,
        "sanya": make_observation(sanya, source="founder").id,
    }
    db.session.commit()
    return ids


def test_the_review_queue_by_state(api_as, queue):
    api = api_as("staff", "460100")
    pending = api.get("/api/v1/observations/reports").get_json()
    assert (pending["total"], pending["page"]) == (1, 1)
    [item] = pending["items"]
    assert item["id"] == queue["pending"]
    assert (item["review_state"], item["monthly_revenue"]) == ("pending", "99.90")
    queried = api.get("/api/v1/observations/reports?state=queried").get_json()
    assert [item["id"] for item in queried["items"]] == [queue["queried"]]
    assert queried["items"][0]["query_note"] == "真的吗？"
    verified = api.get("/api/v1/observations/reports?state=verified").get_json()
    assert [item["id"] for item in verified["items"]] == [queue["verified"]]
    province = api_as("staff", "460000").get("/api/v1/observations/reports").get_json()
    assert {item["id"] for item in province["items"]} == {queue["pending"], queue["sanya"]}


def test_an_unknown_review_state_is_422(api_as, queue):
    api = api_as("staff", "460100")
    response = api.get("/api/v1/observations/reports?state=lost", headers=EN)
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["state"]


def test_staff_verify_a_report(api_as, queue):
    api = api_as("staff", "460100")
    response = api.post(f"/api/v1/observations/{queue['pending']}/verify")
    assert response.status_code == 200
    assert (response.get_json()["review_state"], response.get_json()["verified"]) == (
        "verified",
        True,
    )
    assert db.session.get(Observation, queue["pending"]).reviewed_by_id == api.user.id
    assert api.post(f"/api/v1/observations/{queue['pending']}/verify").status_code == 409
    assert api.post(f"/api/v1/observations/{queue['staff']}/verify").status_code == 409
    assert api.post(f"/api/v1/observations/{queue['queried']}/verify").status_code == 200
    assert api.post(f"/api/v1/observations/{queue['sanya']}/verify").status_code == 404
    assert api.post("/api/v1/observations/999999/verify").status_code == 404


def test_staff_query_a_report(api_as, queue):
    api = api_as("staff", "460100")
    url = f"/api/v1/observations/{queue['pending']}/query"
    for body in ({}, {"note": ""}, {"note": "   "}, {"note": 5}, {"note": "x" * 1001}):
        response = api.post(url, json=body, headers=EN)
        assert response.status_code == 422, body
        assert list(response.get_json()["errors"]) == ["note"]
    response = api.post(url, json={"note": "员工有几人？"})
    assert response.status_code == 200
    assert (response.get_json()["review_state"], response.get_json()["query_note"]) == (
        "queried",
        "员工有几人？",
    )
    assert api.post(url, json={"note": "再问"}).status_code == 409
    verified = f"/api/v1/observations/{queue['verified']}/query"
    assert api.post(verified, json={"note": "?"}).status_code == 409
    sanya = f"/api/v1/observations/{queue['sanya']}/query"
    assert api.post(sanya, json={"note": "?"}).status_code == 404
    malformed = api.post(url, data="{", headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400


def test_staff_of_another_city_cannot_observe_or_review(api_as, queue):
    business_id = db.session.get(Observation, queue["pending"]).business_id
    api = api_as("staff", "460200")
    response = api.post(f"/api/v1/businesses/{business_id}/observations", json=observation_body())
    assert response.status_code == 404
    assert api.post(f"/api/v1/observations/{queue['pending']}/verify").status_code == 404
    assert api.get(f"/api/v1/businesses/{business_id}").status_code == 404


def test_the_list_filters_by_founder_and_library_project(api_as):
    founder = make_founder(region_code="460100")
    project = make_project(region_code="460100")
    mine = make_business(founder, name="项目店", library_project_id=project.id)
    make_business(founder, name="另一家")
    make_business(name="别人的店")
    ids = {"founder": founder.id, "project": project.id, "mine": mine.id}
    db.session.commit()
    api = api_as("staff", "460100")
    by_founder = api.get(f"/api/v1/businesses?founder_id={ids['founder']}").get_json()
    assert {item["name"] for item in by_founder["items"]} == {"项目店", "另一家"}
    by_project = api.get(f"/api/v1/businesses?library_project_id={ids['project']}").get_json()
    assert [item["id"] for item in by_project["items"]] == [ids["mine"]]
