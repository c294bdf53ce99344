"""Businesses on the founder pages: the founder's businesses table, the "opened" milestone of
the journey, and the register's "has a business" filter (page, API and export)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from flask_babel import force_locale
from openpyxl import load_workbook

from app.extensions import db
from app.founders.export import describe_filters, export_founders_xlsx
from app.founders.models import Founder
from app.founders.queries import FounderFilters, list_founders_stmt
from tests.businesses.factories import make_business, make_observation
from tests.factories import make_founder, make_user

EN = {"Accept-Language": "en"}


def page(response, status=200):
    assert response.status_code == status, response.status_code
    return response.get_data(as_text=True)


def founder_ids_on(html):
    """Founder ids linked from the list, in order."""
    return [int(found) for found in re.findall(r'href="/founders/(\d+)"', html)]


@pytest.fixture
def register(db_session):
    """Three Haikou founders: one with two businesses (one closed), one with none, one
    whose only business closed; and a Sanya founder with a business."""
    owner = make_founder(region_code="460100", name="有店", registered_on=date(2026, 1, 3))
    make_business(owner, name="一店", opened_on=date(2026, 6, 1))
    closed = make_business(owner, name="二店", opened_on=date(2025, 9, 1))
    make_observation(closed, status="closed", observed_on=date(2026, 2, 1))
    none = make_founder(region_code="460100", name="无店", registered_on=date(2026, 1, 2))
    gone = make_founder(region_code="460100", name="关店", registered_on=date(2026, 1, 1))
    make_observation(make_business(gone), status="closed", observed_on=date(2026, 7, 1))
    sanya = make_founder(region_code="460200", name="三亚")
    make_business(sanya)
    ids = {"owner": owner.id, "none": none.id, "gone": gone.id, "sanya": sanya.id}
    db.session.commit()
    return ids


# The query ------------------------------------------------------------------------------
def ids_of(user, **filters):
    stmt = list_founders_stmt(user, FounderFilters(**filters))
    return [founder.id for founder in db.session.scalars(stmt)]


def test_the_filter_keeps_founders_with_or_without_a_business(register):
    staff = make_user(role="staff", region_code="460100")
    assert ids_of(staff, has_business="yes") == [register["owner"], register["gone"]]
    assert ids_of(staff, has_business="no") == [register["none"]]
    assert ids_of(staff) == [register["owner"], register["none"], register["gone"]]
    hainan = make_user(role="staff", region_code="460000")
    assert set(ids_of(hainan, has_business="yes")) == {
        register["owner"],
        register["gone"],
        register["sanya"],
    }


def test_a_closed_business_still_counts_as_having_had_one(register):
    staff = make_user(role="staff", region_code="460100")
    assert register["gone"] in ids_of(staff, has_business="yes")
    assert register["gone"] not in ids_of(staff, has_business="no")


def test_the_export_describes_the_filter(app, db_session):
    with app.test_request_context(headers=EN):
        assert describe_filters(FounderFilters(has_business="yes"), regions={}) == [
            ("Business", "Has a business")
        ]
        assert describe_filters(FounderFilters(has_business="no"), regions={}) == [
            ("Business", "No business yet")
        ]


# The register page ----------------------------------------------------------------------
def test_the_register_page_filters_by_business(client, login_as, register):
    login_as("staff", "460100")
    html = page(client.get("/founders", headers=EN))
    assert 'name="has_business"' in html
    assert "Has a business" in html
    owners = page(client.get("/founders?has_business=yes", headers=EN))
    assert founder_ids_on(owners) == [register["owner"], register["gone"]]
    others = page(client.get("/founders?has_business=no", headers=EN))
    assert founder_ids_on(others) == [register["none"]]
    ignored = page(client.get("/founders?has_business=maybe", headers=EN))
    assert founder_ids_on(ignored) == [register["owner"], register["none"], register["gone"]]


def test_the_export_takes_the_filter(register):
    staff = make_user(role="staff", region_code="460100")
    with force_locale("en"):
        path, count = export_founders_xlsx(
            staff, FounderFilters(has_business="no"), exported_at=datetime(2026, 11, 22, tzinfo=UTC)
        )
    try:
        assert count == 1
        workbook = load_workbook(path)
        founders, info = workbook.worksheets
        [row] = founders.iter_rows(min_row=2, values_only=True)
        assert "无店" in row
        assert dict(info.iter_rows(values_only=True))["Business"] == "No business yet"
        workbook.close()
    finally:
        path.unlink(missing_ok=True)


# The API --------------------------------------------------------------------------------
def test_the_api_filters_by_business(api_as, register):
    api = api_as("staff", "460100")
    owners = api.get("/api/v1/founders?has_business=yes").get_json()
    assert [item["id"] for item in owners["items"]] == [register["owner"], register["gone"]]
    assert owners["total"] == 2
    others = api.get("/api/v1/founders?has_business=no").get_json()
    assert [item["id"] for item in others["items"]] == [register["none"]]
    response = api.get("/api/v1/founders?has_business=maybe", headers=EN)
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["has_business"]


# The founder page -----------------------------------------------------------------------
def test_the_founder_page_shows_the_businesses_and_a_record_link(client, login_as, register):
    login_as("staff", "460100")
    founder_id = register["owner"]
    html = page(client.get(f"/founders/{founder_id}", headers=EN))
    assert html.count('data-testid="founder-business"') == 2
    assert html.index("一店") < html.index("二店")  # newest opening first
    assert re.search(r'href="/businesses/\d+">一店<', html)
    assert 'data-testid="record-business"' in html
    assert f'href="/businesses/new?founder_id={founder_id}"' in html
    assert "Closed" in html


def test_the_opened_milestone_is_the_first_opening_day(client, login_as, register):
    login_as("staff", "460100")
    html = page(client.get(f"/founders/{register['owner']}", headers=EN))
    assert "Opened a business · 2025-09-01" in html
    assert "Opened a business · 2026-06-01" not in html


def test_without_a_business_the_milestone_is_not_reached(client, login_as, register):
    login_as("staff", "460100")
    html = page(client.get(f"/founders/{register['none']}", headers=EN))
    assert "No business recorded yet." in html
    assert 'data-testid="founder-business"' not in html
    assert "Opened a business ·" not in html
    assert 'data-testid="record-business"' in html


def test_officers_see_the_businesses_but_do_not_record_them(client, login_as, register):
    login_as("officer", "460100")
    html = page(client.get(f"/founders/{register['owner']}", headers=EN))
    assert html.count('data-testid="founder-business"') == 2
    assert re.search(r'href="/businesses/\d+">一店<', html)
    assert 'data-testid="record-business"' not in html


def test_the_founders_own_page_shows_the_milestone_and_their_businesses(client, login_as):
    user = login_as("founder", "460100")
    founder = db.session.get(Founder, user.founder_id)
    business = make_business(founder, name="我的店", opened_on=date(2026, 4, 2))
    business_id = business.id
    db.session.commit()
    html = page(client.get("/me", headers=EN))
    assert "Opened a business · 2026-04-02" in html
    assert 'data-testid="my-business"' in html
    assert f'href="/me/businesses/{business_id}"' in html
    assert "我的店" in html


def test_a_founder_without_a_business_is_told_so(client, login_as):
    login_as("founder", "460100")
    html = page(client.get("/me", headers=EN))
    assert (
        "No business recorded yet. When you open one, your guidance centre records it here." in html
    )
    assert 'data-testid="my-business"' not in html
