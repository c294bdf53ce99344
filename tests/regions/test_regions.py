"""The region tree: seed data, adding regions, CSV import, pages and API."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.cli import import_regions_command
from app.core.audit import AuditEntry
from app.core.errors import Conflict, ValidationFailed
from app.extensions import db
from app.regions.models import Region
from app.regions.operations import create_region, import_regions_csv
from app.regions.queries import list_regions, region_codes_in


def test_migrations_seed_hainan_and_shanghai(db_session):
    counts = dict(
        db.session.execute(
            select(Region.parent_code, func.count()).group_by(Region.parent_code)
        ).all()
    )
    assert counts == {None: 2, "460000": 19, "310000": 16}
    assert db.session.get(Region, "460200").name == "三亚市"
    assert db.session.get(Region, "469002").name == "琼海市"
    assert db.session.get(Region, "310110").name == "杨浦区"
    assert db.session.get(Region, "310115").name_en == "Pudong New Area"


def test_regions_are_listed_as_a_tree(db_session):
    codes = [region.code for region in list_regions()]
    assert codes.index("310000") < codes.index("310101") < codes.index("460000")
    assert codes.index("460000") < codes.index("460100") < codes.index("469030")
    assert set(region_codes_in("310000")) == {"310000"} | {
        c for c in codes if c.startswith("31") and c != "310000"
    }
    assert region_codes_in("460200") == ["460200"]


def test_create_city_is_audited(db_session):
    region = create_region(None, code="460500", name="测试市", level="city", parent_code="460000")
    assert region.parent.code == "460000"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "region.create"))
    assert entry.entity_id == "460500"
    assert entry.after["name"] == "测试市"


@pytest.mark.parametrize(
    ("fields", "bad_field"),
    [
        ({"code": "46050"}, "code"),
        ({"code": "abcdef"}, "code"),
        ({"code": "470100"}, "code"),  # not inside Hainan's code range
        ({"parent_code": "460100"}, "parent_code"),  # parent must be a province
        ({"parent_code": None}, "parent_code"),
        ({"level": "village"}, "level"),
        ({"name": ""}, "name"),
        ({"name": "名" * 65}, "name"),
        ({"level": "province", "parent_code": None, "code": "460500"}, "code"),
    ],
)
def test_bad_regions_are_refused_by_field(db_session, fields, bad_field):
    values = {"code": "460500", "name": "测试市", "level": "city", "parent_code": "460000"}
    with pytest.raises(ValidationFailed) as caught:
        create_region(None, **(values | fields))
    assert bad_field in caught.value.errors
    assert db.session.get(Region, "460500") is None


def test_existing_code_is_a_conflict(db_session):
    with pytest.raises(Conflict):
        create_region(None, code="460100", name="海口", level="city", parent_code="460000")


GOOD_CSV = """code,name,level,parent_code,name_en
440300,深圳市,city,440000,Shenzhen
440000,广东省,province,,Guangdong
460100,海口市,city,460000,Haikou City
"""


def test_csv_import_adds_provinces_before_cities_and_renames(db_session):
    result = import_regions_csv(None, GOOD_CSV)
    assert result.errors == []
    assert (result.created, result.updated, result.unchanged) == (2, 1, 0)
    assert db.session.get(Region, "440300").parent_code == "440000"
    assert db.session.get(Region, "460100").name_en == "Haikou City"


def test_csv_import_with_a_bad_row_writes_nothing(db_session):
    text = GOOD_CSV + "449999,坏的,city,999999,\n"
    result = import_regions_csv(None, text)
    assert result.created == 0
    assert result.errors == [
        {"row": 5, "field": "parent_code", "message": result.errors[0]["message"]}
    ]
    assert db.session.get(Region, "440000") is None
    assert db.session.get(Region, "460100").name_en == "Haikou"


def test_csv_import_reports_missing_columns(db_session):
    result = import_regions_csv(None, "code,level\n440000,province\n")
    assert result.errors[0]["field"] == "name"


def test_regions_import_command(app, db_session, tmp_path):
    path = tmp_path / "regions.csv"
    path.write_text(GOOD_CSV, encoding="utf-8")
    runner = app.test_cli_runner()
    result = runner.invoke(import_regions_command, [str(path)])
    assert result.exit_code == 0, result.output
    assert "2 created, 1 renamed" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name,level\n12,x,city\n", encoding="utf-8")
    result = runner.invoke(import_regions_command, [str(bad)])
    assert result.exit_code == 1
    assert "row 2" in result.output


def test_regions_api_lists_every_region(api_as):
    api = api_as("founder")
    body = api.get("/api/v1/regions").get_json()
    assert len(body) == 37
    assert {
        "code": "460200",
        "name": "三亚市",
        "name_en": "Sanya",
        "level": "city",
        "parent_code": "460000",
    } in body


def test_admin_adds_a_region_through_the_api(api_as):
    admin = api_as("admin", "460000")
    response = admin.post(
        "/api/v1/regions",
        json={"code": "460500", "name": "测试市", "level": "city", "parent_code": "460000"},
    )
    assert response.status_code == 201
    again = admin.post(
        "/api/v1/regions",
        json={"code": "460500", "name": "测试市", "level": "city", "parent_code": "460000"},
    )
    assert again.status_code == 409
    bad = admin.post("/api/v1/regions", json={"code": "4605", "name": "x", "level": "city"})
    assert bad.status_code == 422
    assert "code" in bad.get_json()["errors"]


def test_region_pages(client, login_as):
    login_as("staff")
    page = client.get("/regions").get_data(as_text=True)
    assert "三亚市" in page
    assert "杨浦区" in page
    assert client.get("/admin/regions/new").status_code == 403


def test_admin_adds_a_region_through_the_form(client, login_as):
    login_as("admin", "460000")
    assert client.get("/admin/regions/new").status_code == 200
    response = client.post(
        "/admin/regions/new",
        data={"code": "460500", "name": "测试市", "level": "city", "parent_code": "460000"},
    )
    assert response.status_code == 302
    assert db.session.get(Region, "460500") is not None
    response = client.post(
        "/admin/regions/new",
        data={"code": "460600", "name": "无省", "level": "city", "parent_code": ""},
        headers={"Accept-Language": "en"},
    )
    assert "A city needs an existing province as parent." in response.get_data(as_text=True)
