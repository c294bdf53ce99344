"""The training API: every endpoint, its permission, scope, conflicts and field errors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.core.audit import AuditEntry
from app.core.dates import today_in_china
from app.extensions import db
from app.training.models import Cohort, Enrollment, Institution
from tests.factories import make_founder
from tests.training.factories import get_course, make_cohort, make_enrollment, make_institution

EN = {"Accept-Language": "en"}


def recent_cohort(region_code="460100", **fields):
    """A cohort that began a month ago, so results up to today are acceptable."""
    starts = today_in_china() - timedelta(days=30)
    values = {"starts_on": starts, "ends_on": starts + timedelta(days=10)}
    return make_cohort(region_code=region_code, **(values | fields))


def ids_committed(*objects):
    ids = [obj.id for obj in objects]
    db.session.commit()
    return ids


ENDPOINTS = [
    ("post", "/api/v1/institutions"),
    ("get", "/api/v1/institutions"),
    ("get", "/api/v1/institutions/1"),
    ("post", "/api/v1/courses"),
    ("get", "/api/v1/courses"),
    ("post", "/api/v1/cohorts"),
    ("get", "/api/v1/cohorts"),
    ("get", "/api/v1/cohorts/1"),
    ("post", "/api/v1/cohorts/1/enrollments"),
    ("post", "/api/v1/enrollments/1/result"),
]


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_anonymous_callers_get_401(anonymous_api, method, url):
    response = getattr(anonymous_api, method)(url)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("role", ["founder", "officer", "admin"])
@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_only_centre_staff_manage_training(api_as, role, method, url):
    api = api_as(role, "460000" if role == "admin" else "460100")
    kwargs = {"json": {}} if method == "post" else {}
    response = getattr(api, method)(url, **kwargs)
    assert response.status_code == 403


# Institutions ---------------------------------------------------------------------------
def test_create_institution(api_as):
    api = api_as("staff", "460100")
    response = api.post(
        "/api/v1/institutions",
        json={"name": "海口创业学院", "region_code": "460100", "designated": True},
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body == {
        "id": body["id"],
        "name": "海口创业学院",
        "region_code": "460100",
        "designated": True,
    }
    assert db.session.get(Institution, body["id"]).designated is True
    duplicate = api.post(
        "/api/v1/institutions", json={"name": "海口创业学院", "region_code": "460100"}
    )
    assert duplicate.status_code == 409
    assert duplicate.get_json()["id"] == body["id"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"region_code": "460100"}, "name"),
        ({"name": "x" * 101, "region_code": "460100"}, "name"),
        ({"name": "三亚学校", "region_code": "460200"}, "region_code"),  # not Haikou's
        ({"name": "学校", "region_code": "999999"}, "region_code"),
        ({"name": "学校", "region_code": "460100", "designated": "yes"}, "designated"),
        ({"name": 12, "region_code": "460100"}, "name"),
    ],
)
def test_bad_institutions_are_422_naming_the_field(api_as, body, field):
    api = api_as("staff", "460100")
    response = api.post("/api/v1/institutions", json=body, headers=EN)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]
    assert db.session.scalar(select(Institution)) is None


def test_malformed_json_is_400(api_as):
    api = api_as("staff", "460100")
    response = api.post(
        "/api/v1/institutions", data="{", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400


def test_list_institutions_is_scoped_and_paginated(api_as):
    haikou_ids = ids_committed(*(make_institution(region_code="460100") for _ in range(3)))
    [sanya_id] = ids_committed(make_institution(region_code="460200"))
    api = api_as("staff", "460100")
    response = api.get("/api/v1/institutions?per_page=2")
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"items", "page", "per_page", "total"}
    assert (body["page"], body["per_page"], body["total"]) == (1, 2, 3)
    second = api.get("/api/v1/institutions?per_page=2&page=2").get_json()
    seen = {item["id"] for item in body["items"] + second["items"]}
    assert seen == set(haikou_ids)
    assert sanya_id not in seen
    assert api.get("/api/v1/institutions?per_page=201").status_code == 422
    assert "per_page" in api.get("/api/v1/institutions?per_page=x").get_json()["errors"]
    province = api_as("staff", "460000")
    filtered = province.get("/api/v1/institutions?region_code=460200").get_json()
    assert [item["id"] for item in filtered["items"]] == [sanya_id]


def test_institution_detail_has_its_figures(api_as):
    institution = make_institution(region_code="460100")
    cohort = recent_cohort(institution=institution)
    done = cohort.ends_on
    make_enrollment(cohort, result="passed", completed_on=done, certificate_no="API-1")
    make_enrollment(cohort, result="passed", completed_on=done)
    make_enrollment(cohort, result="failed", completed_on=done)
    make_enrollment(cohort, result="dropped", completed_on=done)
    [institution_id] = ids_committed(institution)
    [sanya_id] = ids_committed(make_institution(region_code="460200"))
    api = api_as("staff", "460100")
    response = api.get(f"/api/v1/institutions/{institution_id}")
    assert response.status_code == 200
    body = response.get_json()
    assert body["cohorts"] == 1
    assert body["statistics"] == {
        "enrolled": 4,
        "passed": 2,
        "failed": 1,
        "dropped": 1,
        "certificates": 1,
        "pass_rate": 0.6667,
        "certificate_rate": 0.5,
    }
    # Finished weeks ago: the pass rate is known, nobody can be 3 months on yet.
    outcomes = body["outcomes"]
    assert (outcomes["passed"], outcomes["failed"], outcomes["pass_rate"]) == (2, 1, 0.6667)
    assert (outcomes["eligible_3m"], outcomes["opening_rate_3m"]) == (0, None)
    assert api.get(f"/api/v1/institutions/{sanya_id}").status_code == 404
    assert api.get("/api/v1/institutions/2147483647").status_code == 404


def test_institution_detail_rates_how_its_trainees_did(api_as, rated_institution):
    """See conftest.py: Haikou's staff count Haikou's founders, the province's everyone."""
    db.session.commit()
    url = f"/api/v1/institutions/{rated_institution.rated_id}"
    haikou = api_as("staff", "460100").get(url).get_json()["outcomes"]
    assert haikou == {
        "passed": 4,
        "failed": 1,
        "pass_rate": 0.8,
        "eligible_3m": 4,
        "opened_3m": 2,
        "opening_rate_3m": 0.5,
        "eligible_6m": 4,
        "opened_6m": 3,
        "opening_rate_6m": 0.75,
        "operating": 2,
        "jobs": 7,
        "jobs_per_business": 3.5,
        "businesses": 3,
        "survival_12m": 0.6667,
    }
    province = api_as("staff", "460000").get(url).get_json()["outcomes"]
    assert (province["pass_rate"], province["opening_rate_6m"], province["survival_12m"]) == (
        0.8333,
        0.8,
        0.5,
    )
    quiet = api_as("staff", "460100").get(f"/api/v1/institutions/{rated_institution.quiet_id}")
    assert quiet.get_json()["outcomes"]["pass_rate"] is None


# Courses --------------------------------------------------------------------------------
def test_create_and_list_courses(api_as):
    api = api_as("staff", "460100")
    response = api.post(
        "/api/v1/courses", json={"code": "ecom", "name": "电子商务", "kind": "skill", "hours": 40}
    )
    assert response.status_code == 201
    body = response.get_json()
    assert (body["code"], body["kind"], body["hours"], body["name_en"]) == (
        "ECOM",
        "skill",
        40,
        None,
    )
    duplicate = api.post(
        "/api/v1/courses", json={"code": "ECOM", "name": "again", "kind": "skill", "hours": 40}
    )
    assert duplicate.status_code == 409
    listing = api.get("/api/v1/courses?per_page=200").get_json()
    codes = [item["code"] for item in listing["items"]]
    assert codes[:4] == ["GYB", "SYB", "IYB", "EYB"]
    assert "ECOM" in codes
    skills = api.get("/api/v1/courses?kind=skill").get_json()
    assert {item["kind"] for item in skills["items"]} == {"skill"}
    assert "kind" in api.get("/api/v1/courses?kind=MBA").get_json()["errors"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": "MBA"}, "kind"),
        ({"hours": 0}, "hours"),
        ({"hours": "40"}, "hours"),
        ({"code": "a b"}, "code"),
        ({"code": None}, "code"),
    ],
)
def test_bad_courses_are_422(api_as, changes, field):
    api = api_as("staff", "460100")
    body = {"code": "NEW", "name": "新课", "kind": "skill", "hours": 40} | changes
    response = api.post("/api/v1/courses", json=body)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]


# Cohorts --------------------------------------------------------------------------------
def cohort_body(institution_id, **changes):
    return {
        "course_id": get_course("SYB").id,
        "institution_id": institution_id,
        "region_code": "460100",
        "starts_on": "2026-09-01",
        "ends_on": "2026-09-10",
        "capacity": 30,
    } | changes


def test_create_cohort(api_as):
    [institution_id] = ids_committed(make_institution(region_code="460100"))
    api = api_as("staff", "460100")
    response = api.post("/api/v1/cohorts", json=cohort_body(institution_id, name="秋季班"))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["course_code"] == "SYB"
    assert body["kind"] == "SYB"
    assert (body["starts_on"], body["ends_on"]) == ("2026-09-01", "2026-09-10")
    assert body["capacity"] == 30
    assert body["seats_taken"] == 0
    assert body["statistics"]["pass_rate"] is None
    assert db.session.get(Cohort, body["id"]).name == "秋季班"
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "cohort.create"))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"ends_on": "2026-08-31"}, "ends_on"),
        ({"starts_on": "2026-02-30"}, "starts_on"),
        ({"starts_on": "1999-12-31"}, "starts_on"),
        ({"capacity": 0}, "capacity"),
        ({"capacity": 1001}, "capacity"),
        ({"capacity": "30"}, "capacity"),
        ({"course_id": 2147483647}, "course_id"),
        ({"course_id": "SYB"}, "course_id"),
        ({"region_code": "460200"}, "region_code"),
        ({"institution_id": None}, "institution_id"),
    ],
)
def test_bad_cohorts_are_422_naming_the_field(api_as, changes, field):
    [institution_id] = ids_committed(make_institution(region_code="460100"))
    api = api_as("staff", "460100")
    response = api.post("/api/v1/cohorts", json=cohort_body(institution_id) | changes)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]
    assert db.session.scalar(select(Cohort)) is None


def test_a_sanya_institution_is_not_haikous_to_use(api_as):
    [sanya_id] = ids_committed(make_institution(region_code="460200"))
    api = api_as("staff", "460100")
    response = api.post("/api/v1/cohorts", json=cohort_body(sanya_id))
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"institution_id"}


def test_list_cohorts_is_scoped_filtered_and_paginated(api_as):
    haikou = recent_cohort("460100")
    make_enrollment(haikou)
    haikou_id, sanya_id = ids_committed(haikou, recent_cohort("460200"))
    api = api_as("staff", "460100")
    body = api.get("/api/v1/cohorts").get_json()
    assert set(body) == {"items", "page", "per_page", "total"}
    assert [item["id"] for item in body["items"]] == [haikou_id]
    assert body["items"][0]["seats_taken"] == 1
    assert sanya_id not in {item["id"] for item in body["items"]}
    assert api.get("/api/v1/cohorts?kind=skill").get_json()["total"] == 0
    assert api.get("/api/v1/cohorts?kind=SYB").get_json()["total"] == 1
    bad = api.get("/api/v1/cohorts?starts_from=2026-13-01&institution_id=x")
    assert bad.status_code == 422
    assert {"starts_from", "institution_id"} <= set(bad.get_json()["errors"])
    assert api.get("/api/v1/cohorts?page=0").status_code == 422


def test_cohort_detail_has_the_roster(api_as):
    cohort = recent_cohort("460100")
    enrollment = make_enrollment(cohort, attendance=12)
    cohort_id, enrollment_id = ids_committed(cohort, enrollment)
    [sanya_id] = ids_committed(recent_cohort("460200"))
    api = api_as("staff", "460100")
    body = api.get(f"/api/v1/cohorts/{cohort_id}").get_json()
    [row] = body["roster"]
    assert row["id"] == enrollment_id
    assert row["attendance"] == 12
    assert row["result"] is None
    assert row["founder_name"]
    assert api.get(f"/api/v1/cohorts/{sanya_id}").status_code == 404


# Enrollments and results ----------------------------------------------------------------
def test_enroll_then_duplicate_then_full(api_as):
    cohort_id, first_id, second_id = ids_committed(
        recent_cohort("460100", capacity=1),
        make_founder(region_code="460100"),
        make_founder(region_code="460100"),
    )
    api = api_as("staff", "460100")
    response = api.post(f"/api/v1/cohorts/{cohort_id}/enrollments", json={"founder_id": first_id})
    assert response.status_code == 201
    body = response.get_json()
    assert (body["cohort_id"], body["founder_id"], body["result"]) == (cohort_id, first_id, None)
    assert body["enrolled_on"] == today_in_china().isoformat()
    again = api.post(f"/api/v1/cohorts/{cohort_id}/enrollments", json={"founder_id": first_id})
    assert again.status_code == 409
    assert again.get_json()["id"] == body["id"]
    full = api.post(
        f"/api/v1/cohorts/{cohort_id}/enrollments", json={"founder_id": second_id}, headers=EN
    )
    assert full.status_code == 409
    assert "full" in full.get_json()["error"]


def test_enrolling_out_of_scope(api_as):
    haikou_cohort, sanya_cohort, sanya_founder = ids_committed(
        recent_cohort("460100"), recent_cohort("460200"), make_founder(region_code="460200")
    )
    api = api_as("staff", "460100")
    refused = api.post(
        f"/api/v1/cohorts/{haikou_cohort}/enrollments", json={"founder_id": sanya_founder}
    )
    assert refused.status_code == 422
    assert set(refused.get_json()["errors"]) == {"founder_id"}
    hidden = api.post(
        f"/api/v1/cohorts/{sanya_cohort}/enrollments", json={"founder_id": sanya_founder}
    )
    assert hidden.status_code == 404
    missing = api.post(f"/api/v1/cohorts/{haikou_cohort}/enrollments", json={})
    assert missing.status_code == 422
    assert "founder_id" in missing.get_json()["errors"]
    assert db.session.scalar(select(Enrollment)) is None


def test_record_a_result(api_as):
    cohort = recent_cohort("460100")
    enrollment_id, other_id = ids_committed(make_enrollment(cohort), make_enrollment(cohort))
    done = (today_in_china() - timedelta(days=15)).isoformat()
    api = api_as("staff", "460100")
    response = api.post(
        f"/api/v1/enrollments/{enrollment_id}/result",
        json={"result": "passed", "completed_on": done, "certificate_no": "HK-SYB-1"},
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["result"], body["completed_on"], body["certificate_no"]) == (
        "passed",
        done,
        "HK-SYB-1",
    )
    taken = api.post(
        f"/api/v1/enrollments/{other_id}/result",
        json={"result": "passed", "completed_on": done, "certificate_no": "HK-SYB-1"},
    )
    assert taken.status_code == 409
    assert db.session.get(Enrollment, other_id).result is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"completed_on": "tomorrow"}, "completed_on"),
        ({"completed_on": "2000-01-01"}, "completed_on"),  # before the cohort began
        ({"result": "failed", "certificate_no": "C-1"}, "certificate_no"),
        ({"result": "graduated"}, "result"),
        ({"attendance": 81}, "attendance"),
        ({"attendance": -1}, "attendance"),
        ({"certificate_no": "C" * 41}, "certificate_no"),
    ],
)
def test_bad_results_are_422_naming_the_field(api_as, changes, field):
    [enrollment_id] = ids_committed(make_enrollment(recent_cohort("460100")))
    today = today_in_china()
    body = {"result": "passed", "completed_on": today.isoformat()} | changes
    if body["completed_on"] == "tomorrow":
        body["completed_on"] = (today + timedelta(days=1)).isoformat()
    api = api_as("staff", "460100")
    response = api.post(f"/api/v1/enrollments/{enrollment_id}/result", json=body, headers=EN)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]
    assert db.session.get(Enrollment, enrollment_id).result is None


def test_results_out_of_scope_are_404(api_as):
    [enrollment_id] = ids_committed(make_enrollment(recent_cohort("460200")))
    api = api_as("staff", "460100")
    response = api.post(
        f"/api/v1/enrollments/{enrollment_id}/result",
        json={"result": "failed", "completed_on": today_in_china().isoformat()},
    )
    assert response.status_code == 404
    assert api.post("/api/v1/enrollments/2147483647/result", json={}).status_code == 404


def test_openapi_documents_the_training_endpoints(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    enrollment = paths["/cohorts/{cohort_id}/enrollments"]["post"]
    assert {"201", "401", "403", "404", "409", "422"} <= set(enrollment["responses"])
    body = enrollment["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["founder_id"]
    assert body["properties"]["founder_id"]["type"] == "integer"
    cohort = paths["/cohorts"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(cohort["required"]) == {
        "course_id",
        "institution_id",
        "region_code",
        "starts_on",
        "ends_on",
        "capacity",
    }
    assert cohort["properties"]["course_id"]["type"] == "integer"
    query = {p["name"] for p in paths["/cohorts"]["get"]["parameters"]}
    assert {"region_code", "kind", "institution_id", "starts_from", "starts_to", "page"} <= query
    result = paths["/enrollments/{enrollment_id}/result"]["post"]
    result_body = result["requestBody"]["content"]["application/json"]["schema"]
    assert set(result_body["required"]) == {"result", "completed_on"}
    assert result_body["properties"]["result"]["enum"] == ["passed", "failed", "dropped"]
