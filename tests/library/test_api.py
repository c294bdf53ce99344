"""The library API: every endpoint, its permission, scope, conflicts and field errors."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.core.audit import AuditEntry
from app.core.dates import today_in_china
from app.extensions import db
from app.library.models import LibraryAdoption, LibraryProject
from tests.factories import make_founder
from tests.library.factories import make_adoption, make_project, project_body

EN = {"Accept-Language": "en"}
# A project nobody has opened a business of yet: no rate to estimate.
NO_RATES = {"survival_12m": None, "opening_rate_6m": None}


def committed_id(obj):
    ident = obj.id
    db.session.commit()
    return ident


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


ENDPOINTS = [
    ("post", "/api/v1/library/projects"),
    ("get", "/api/v1/library/projects"),
    ("get", "/api/v1/library/projects/1"),
    ("patch", "/api/v1/library/projects/1"),
    ("post", "/api/v1/library/projects/1/publish"),
    ("post", "/api/v1/library/projects/1/retire"),
    ("post", "/api/v1/library/projects/1/revise"),
    ("post", "/api/v1/library/projects/1/promote"),
    ("post", "/api/v1/library/projects/1/adoptions"),
]
CURATE = [e for e in ENDPOINTS if e[0] != "get" and not e[1].endswith("adoptions")]


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_anonymous_callers_get_401(anonymous_api, method, url):
    assert getattr(anonymous_api, method)(url).status_code == 401


@pytest.mark.parametrize("role", ["founder", "officer", "admin"])
@pytest.mark.parametrize(("method", "url"), CURATE)
def test_only_staff_curate(api_as, role, method, url):
    api = api_as(role, "460000" if role == "admin" else "460100")
    assert getattr(api, method)(url, json={}).status_code == 403


@pytest.mark.parametrize("role", ["officer", "admin"])
def test_officers_and_admins_do_not_adopt(api_as, role):
    api = api_as(role, "460000" if role == "admin" else "460100")
    project_id = committed_id(make_project(region_code="460100"))
    response = api.post(f"/api/v1/library/projects/{project_id}/adoptions", json={})
    assert response.status_code == 403


# Creating and reading -------------------------------------------------------------------
def test_create_a_project(api_as):
    api = api_as("staff", "460100")
    response = api.post("/api/v1/library/projects", json=project_body(investment_min=30000))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["level"] == "city"
    assert body["region_code"] == "460100"
    assert body["status"] == "draft"
    assert body["investment_min"] == "30000.00"
    assert body["investment_max"] == "80000.00"
    assert body["title"] == "椰子糖小作坊"
    assert body["promoted_from_id"] is None
    assert body["outcome"] == {
        "adopters": 0,
        "businesses": 0,
        "operating": 0,
        "jobs": 0,
        **NO_RATES,
    }
    assert body["licences"] == "食品生产许可证"
    assert db.session.get(LibraryProject, body["id"]).level == "city"


def test_province_staff_create_province_projects(api_as):
    api = api_as("staff", "460000")
    body = api.post("/api/v1/library/projects", json=project_body()).get_json()
    assert (body["level"], body["region_code"]) == ("province", "460000")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"title": None}, "title"),
        ({"title": 5}, "title"),
        ({"industry": "mining"}, "industry"),
        ({"investment_min": "abc"}, "investment_min"),
        ({"investment_min": "1.234"}, "investment_min"),
        ({"investment_min": "NaN"}, "investment_min"),
        ({"investment_min": "sNaN"}, "investment_min"),
        ({"investment_min": "-5.00"}, "investment_min"),
        ({"investment_min": 1.5}, "investment_min"),
        ({"investment_max": "100.00"}, "investment_max"),
        ({"payback_months": "12"}, "payback_months"),
        ({"payback_months": 0}, "payback_months"),
        ({"payback_months": 10**30}, "payback_months"),
        ({"jobs_potential": True}, "jobs_potential"),
        ({"summary": "x" * 2001}, "summary"),
        ({"market": "x\x00"}, "market"),
    ],
)
def test_bad_input_is_422_naming_the_field(api_as, fields, field):
    api = api_as("staff", "460100")
    response = api.post("/api/v1/library/projects", json=project_body(**fields), headers=EN)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]
    assert count(LibraryProject) == 0


def test_malformed_json_is_400(api_as):
    api = api_as("staff", "460100")
    response = api.post(
        "/api/v1/library/projects", data="[", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400


def test_list_is_the_callers_library_and_paginated(api_as):
    for number in range(3):
        make_project(region_code="460100", title=f"海口{number}")
    make_project(region_code="460000", title="海南")
    make_project(region_code="460200", title="三亚")
    make_project(region_code="460100", title="草稿", status="draft")
    db.session.commit()
    api = api_as("founder", "460100")
    body = api.get("/api/v1/library/projects?per_page=2&page=2").get_json()
    assert (body["page"], body["per_page"], body["total"]) == (2, 2, 4)
    assert len(body["items"]) == 2
    everything = api.get("/api/v1/library/projects").get_json()["items"]
    assert {item["title"] for item in everything} == {"海口0", "海口1", "海口2", "海南"}
    item = everything[0]
    assert set(item) == {
        "id",
        "title",
        "level",
        "region_code",
        "industry",
        "investment_min",
        "investment_max",
        "payback_months",
        "jobs_potential",
        "summary",
        "status",
        "promoted_from_id",
        "outcome",
    }
    assert item["investment_min"] == "30000.00"


def test_list_filters_search_and_sort(api_as):
    make_project(region_code="460100", title="椰子糖", industry="food")
    popular = make_project(region_code="460100", title="修车", industry="repair")
    make_adoption(popular)
    db.session.commit()
    api = api_as("founder", "460100")
    url = "/api/v1/library/projects"
    assert [i["title"] for i in api.get(f"{url}?q=椰子").get_json()["items"]] == ["椰子糖"]
    assert [i["title"] for i in api.get(f"{url}?industry=repair").get_json()["items"]] == ["修车"]
    items = api.get(f"{url}?sort=outcome").get_json()["items"]
    assert [i["title"] for i in items] == ["修车", "椰子糖"]
    assert items[0]["outcome"] == {
        "adopters": 1,
        "businesses": 0,
        "operating": 0,
        "jobs": 0,
        **NO_RATES,
    }
    assert api.get(f"{url}?max_investment=29999.99").get_json()["total"] == 0
    assert api.get(f"{url}?payback=18").get_json()["total"] == 2
    assert api.get(f"{url}?region_code=460100").get_json()["total"] == 2


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("sort=best", "sort"),
        ("industry=mining", "industry"),
        ("max_investment=lots", "max_investment"),
        ("payback=0", "payback"),
        ("region_code=999999", "region_code"),
        ("status=gone", "status"),
        ("page=0", "page"),
        ("per_page=201", "per_page"),
    ],
)
def test_bad_filters_are_422(api_as, query, field):
    api = api_as("staff", "460100")
    response = api.get(f"/api/v1/library/projects?{query}")
    assert response.status_code == 422
    assert field in response.get_json()["errors"]


def test_detail_and_scope(api_as):
    haikou = make_project(region_code="460100", title="海口", market="游客")
    draft = make_project(region_code="460100", status="draft")
    make_adoption(haikou)
    ids = [haikou.id, draft.id]
    db.session.commit()
    sanya_founder = api_as("founder", "460200")
    assert sanya_founder.get(f"/api/v1/library/projects/{ids[0]}").status_code == 404
    haikou_founder = api_as("founder", "460100")
    body = haikou_founder.get(f"/api/v1/library/projects/{ids[0]}").get_json()
    assert body["market"] == "游客"
    assert body["outcome"] == {
        "adopters": 1,
        "businesses": 0,
        "operating": 0,
        "jobs": 0,
        **NO_RATES,
    }
    assert haikou_founder.get(f"/api/v1/library/projects/{ids[1]}").status_code == 404
    assert haikou_founder.get("/api/v1/library/projects/999999").status_code == 404


# Editing and status ---------------------------------------------------------------------
def test_patch_changes_only_the_given_fields(api_as):
    project_id = committed_id(make_project(region_code="460100", title="旧"))
    api = api_as("staff", "460100")
    response = api.patch(
        f"/api/v1/library/projects/{project_id}",
        json={"title": "新", "investment_max": "99000.50", "market": None},
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["title"], body["investment_max"], body["payback_months"]) == ("新", "99000.50", 18)
    [entry] = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "library_project.update")
    )
    assert entry.after == {"title": "新", "investment_max": "99000.50"}


def test_patch_errors(api_as):
    project_id = committed_id(make_project(region_code="460100"))
    api = api_as("staff", "460100")
    url = f"/api/v1/library/projects/{project_id}"
    response = api.patch(url, json={"investment_min": "90000.00"})
    assert response.status_code == 422
    assert "investment_max" in response.get_json()["errors"]
    response = api.patch(url, json={"title": ""})
    assert response.status_code == 422
    assert "title" in response.get_json()["errors"]
    assert db.session.get(LibraryProject, project_id).investment_min == 30000


def test_other_regions_get_404_or_403(api_as):
    haikou_id = committed_id(make_project(region_code="460100"))
    hainan_id = committed_id(make_project(region_code="460000"))
    sanya = api_as("staff", "460200")
    assert sanya.patch(f"/api/v1/library/projects/{haikou_id}", json={}).status_code == 404
    assert sanya.post(f"/api/v1/library/projects/{haikou_id}/retire").status_code == 404
    haikou = api_as("staff", "460100")
    response = haikou.patch(f"/api/v1/library/projects/{hainan_id}", json={"title": "x"})
    assert response.status_code == 403
    assert haikou.post(f"/api/v1/library/projects/{hainan_id}/retire").status_code == 403
    hainan = api_as("staff", "460000")
    assert hainan.patch(f"/api/v1/library/projects/{haikou_id}", json={}).status_code == 403


def test_status_endpoints(api_as):
    project_id = committed_id(make_project(region_code="460100", status="draft"))
    api = api_as("staff", "460100")
    url = f"/api/v1/library/projects/{project_id}"
    response = api.post(f"{url}/publish")
    assert response.status_code == 200
    assert response.get_json()["status"] == "published"
    assert response.get_json()["published_at"]
    assert api.post(f"{url}/publish").status_code == 409
    assert api.post(f"{url}/retire").get_json()["status"] == "retired"
    assert api.post(f"{url}/retire").status_code == 409
    assert api.post(f"{url}/revise").get_json()["status"] == "draft"
    conflict = api.post(f"{url}/revise", headers=EN)
    assert conflict.status_code == 409
    assert conflict.get_json()["error"] == "This project is already a draft."


def test_promote(api_as):
    origin_id = committed_id(make_project(region_code="460100", title="椰子糖"))
    hainan = api_as("staff", "460000")
    response = hainan.post(f"/api/v1/library/projects/{origin_id}/promote")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["level"], body["region_code"], body["status"]) == ("province", "460000", "draft")
    assert body["promoted_from_id"] == origin_id
    assert body["title"] == "椰子糖"
    again = hainan.post(f"/api/v1/library/projects/{origin_id}/promote")
    assert again.status_code == 409
    assert again.get_json()["id"] == body["id"]
    haikou = api_as("staff", "460100")
    assert haikou.post(f"/api/v1/library/projects/{origin_id}/promote").status_code == 403
    sanya = api_as("staff", "460200")
    assert sanya.post(f"/api/v1/library/projects/{origin_id}/promote").status_code == 404


# Adoption -------------------------------------------------------------------------------
def test_founder_adopts_for_themself(api_as):
    project_id = committed_id(make_project(region_code="460000"))
    api = api_as("founder", "460100")
    response = api.post(f"/api/v1/library/projects/{project_id}/adoptions", json={})
    assert response.status_code == 201, response.get_json()
    assert response.get_json() == {
        "id": response.get_json()["id"],
        "project_id": project_id,
        "founder_id": api.user.founder_id,
        "adopted_on": today_in_china().isoformat(),
    }
    again = api.post(
        f"/api/v1/library/projects/{project_id}/adoptions",
        json={"founder_id": api.user.founder_id},
    )
    assert again.status_code == 409
    other = committed_id(make_founder(region_code="460100"))
    response = api.post(
        f"/api/v1/library/projects/{project_id}/adoptions", json={"founder_id": other}
    )
    assert response.status_code == 422
    assert "founder_id" in response.get_json()["errors"]
    assert count(LibraryAdoption) == 1


def test_staff_adopt_for_a_founder(api_as):
    project_id = committed_id(make_project(region_code="460100"))
    founder_id = committed_id(make_founder(region_code="460100"))
    sanya_founder_id = committed_id(make_founder(region_code="460200"))
    api = api_as("staff", "460100")
    url = f"/api/v1/library/projects/{project_id}/adoptions"
    assert api.post(url, json={"founder_id": founder_id}).status_code == 201
    assert api.post(url, json={"founder_id": founder_id}).status_code == 409
    for body in ({}, {"founder_id": sanya_founder_id}, {"founder_id": "x"}, {"founder_id": 0}):
        response = api.post(url, json=body)
        assert response.status_code == 422, body
        assert "founder_id" in response.get_json()["errors"]


def test_adopting_a_draft_is_409_and_a_hidden_project_404(api_as):
    draft_id = committed_id(make_project(region_code="460100", status="draft"))
    sanya_id = committed_id(make_project(region_code="460200"))
    founder_id = committed_id(make_founder(region_code="460100"))
    staff = api_as("staff", "460100")
    response = staff.post(
        f"/api/v1/library/projects/{draft_id}/adoptions", json={"founder_id": founder_id}
    )
    assert response.status_code == 409
    founder = api_as("founder", "460100")
    assert founder.post(f"/api/v1/library/projects/{draft_id}/adoptions").status_code == 404
    assert founder.post(f"/api/v1/library/projects/{sanya_id}/adoptions").status_code == 404
    assert count(LibraryAdoption) == 0


def test_the_openapi_document_lists_the_library(client, db_session):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert set(paths["/library/projects"]) == {"get", "post"}
    assert set(paths["/library/projects/{project_id}"]) == {"get", "patch"}
    for action in ("publish", "retire", "revise", "promote", "adoptions"):
        assert "post" in paths[f"/library/projects/{{project_id}}/{action}"]
