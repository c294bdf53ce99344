"""Incubation pages through the client: lists, forms, moving in and out, occupancy."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.businesses.models import Business
from app.core.dates import today_in_china
from app.extensions import db
from app.incubation.models import IncubationBase, Residency
from tests.businesses.factories import make_business
from tests.incubation.factories import make_base, make_residency

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}


def committed(*objects):
    ids = [obj.id for obj in objects]
    db.session.commit()
    return ids


def days_ago(n):
    return (today_in_china() - timedelta(days=n)).isoformat()


def recent_business(**fields):
    return make_business(opened_on=today_in_china() - timedelta(days=200), **fields)


def base_form(**fields):
    values = {
        "name": "椰城孵化园",
        "region_code": "460100",
        "kind": "idle_factory",
        "address": "海口市秀英区",
        "units": "6",
        "operator_name": "王经理",
        "operator_phone": "0898-66668888",
    }
    return values | fields


@pytest.fixture
def haikou_base(db_session):
    """The id of a Haikou base of 3 units with one current and one past resident."""
    base = make_base(name="海口科技园", units=3, address="滨海大道 1 号")
    make_residency(base, make_business(name="椰子鸡"), unit_label="A-101")
    make_residency(base, make_business(name="老店"), ends_on=date(2026, 6, 1), outcome="graduated")
    return committed(base)[0]


@pytest.mark.parametrize("headers", [EN, ZH])
def test_staff_pages_render_in_both_languages(client, login_as, haikou_base, headers):
    login_as("staff", "460100")
    pages = [
        "/incubation/",
        "/incubation/bases/new",
        f"/incubation/bases/{haikou_base}",
        f"/incubation/bases/{haikou_base}/edit",
        "/incubation/occupancy",
    ]
    for url in pages:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, url
        assert ('<html lang="zh-CN">' in response.get_data(as_text=True)) == (headers is ZH)


def test_the_list_shows_units_occupied_and_free(client, login_as, haikou_base):
    login_as("staff", "460100")
    html = client.get("/incubation/", headers=EN).get_data(as_text=True)
    assert "海口科技园" in html
    assert 'data-testid="occupied">1</a>' in html
    assert 'data-testid="free">2</td>' in html
    assert "<meter" in html
    assert "Incubation bases" in html
    chinese = client.get("/incubation/", headers=ZH).get_data(as_text=True)
    assert "海口科技园" in chinese


def test_the_list_filters_by_region_and_name(client, login_as, haikou_base):
    make_base(name="三亚创业港", region_code="460200")
    db.session.commit()
    login_as("staff", "460000")
    everything = client.get("/incubation/", headers=EN).get_data(as_text=True)
    assert "海口科技园" in everything
    assert "三亚创业港" in everything
    sanya = client.get("/incubation/?region_code=460200", headers=EN).get_data(as_text=True)
    assert "三亚创业港" in sanya
    assert "海口科技园" not in sanya
    named = client.get("/incubation/?q=科技", headers=EN).get_data(as_text=True)
    assert "海口科技园" in named
    assert "三亚创业港" not in named


def test_create_a_base(client, login_as):
    login_as("staff", "460100")
    response = client.post("/incubation/bases/new", data=base_form(), headers=EN)
    assert response.status_code == 302
    base = db.session.scalar(select(IncubationBase).where(IncubationBase.name == "椰城孵化园"))
    assert (base.kind, base.units, base.operator_phone) == ("idle_factory", 6, "0898-66668888")
    assert response.headers["Location"].endswith(f"/incubation/bases/{base.id}")
    page = client.get(response.headers["Location"], headers=EN).get_data(as_text=True)
    assert "Base 椰城孵化园 added." in page
    assert "Idle factory" in page


def test_base_form_errors_are_shown_next_to_their_fields(client, login_as):
    login_as("staff", "460100")
    response = client.post(
        "/incubation/bases/new",
        data=base_form(units="0", operator_phone="1380013800", region_code="460200"),
        headers=EN,
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Number must be between 1 and 10000." in html
    assert db.session.scalar(select(IncubationBase)) is None
    # The form's own checks passed; the rules (scope, phone digits) are the operation's.
    response = client.post(
        "/incubation/bases/new",
        data=base_form(operator_phone="1380013800", region_code="460200"),
        headers=EN,
    )
    html = response.get_data(as_text=True)
    assert "A mobile number has 11 digits." in html
    assert "Choose a region in your area." in html
    assert html.count("invalid-feedback") >= 2
    assert db.session.scalar(select(IncubationBase)) is None


def test_a_duplicate_name_is_refused_with_a_message(client, login_as, haikou_base):
    login_as("staff", "460100")
    response = client.post("/incubation/bases/new", data=base_form(name="海口科技园"), headers=EN)
    assert response.status_code == 200
    assert "A base named 海口科技园 already exists in this region." in response.get_data(
        as_text=True
    )


def test_edit_a_base(client, login_as, haikou_base):
    login_as("staff", "460100")
    url = f"/incubation/bases/{haikou_base}/edit"
    form = client.get(url, headers=EN).get_data(as_text=True)
    assert 'value="海口科技园"' in form
    too_few = client.post(url, data=base_form(name="海口科技园", units="0"), headers=EN)
    assert too_few.status_code == 200
    response = client.post(url, data=base_form(name="海口科技园二期", units="8"), headers=EN)
    assert response.status_code == 302
    db.session.expire_all()
    base = db.session.get(IncubationBase, haikou_base)
    assert (base.name, base.units) == ("海口科技园二期", 8)


def test_units_below_the_residents_are_refused_on_the_page(client, login_as, haikou_base):
    make_residency(db.session.get(IncubationBase, haikou_base))
    db.session.commit()
    login_as("staff", "460100")
    response = client.post(
        f"/incubation/bases/{haikou_base}/edit",
        data=base_form(name="海口科技园", units="1"),
        headers=EN,
    )
    assert response.status_code == 200
    assert "2 businesses live in this base now; units cannot be fewer." in response.get_data(
        as_text=True
    )


def test_the_base_page_shows_residents_and_occupancy(client, login_as, haikou_base):
    login_as("staff", "460100")
    html = client.get(f"/incubation/bases/{haikou_base}", headers=EN).get_data(as_text=True)
    assert 'data-testid="occupied">1<' in html
    assert 'data-testid="free">2<' in html
    assert "A-101" in html
    assert "椰子鸡" in html
    assert "老店" in html
    assert "Graduated" in html
    resident = db.session.scalar(select(Residency).where(Residency.unit_label == "A-101"))
    assert f'href="/businesses/{resident.business_id}"' in html
    assert f'action="/incubation/residencies/{resident.id}/end"' in html


def test_move_a_business_in_and_out(client, login_as, haikou_base):
    [business_id] = committed(recent_business(name="新店"))
    login_as("staff", "460100")
    url = f"/incubation/bases/{haikou_base}/residencies"
    response = client.post(
        url,
        data={"business_id": str(business_id), "unit_label": "B-2", "starts_on": days_ago(10)},
        headers=EN,
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"], headers=EN).get_data(as_text=True)
    assert "新店 moved in." in page
    residency = db.session.scalar(select(Residency).where(Residency.business_id == business_id))
    response = client.post(
        f"/incubation/residencies/{residency.id}/end",
        data={"ends_on": days_ago(1), "outcome": "closed"},
        headers=EN,
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"], headers=EN).get_data(as_text=True)
    assert "新店 moved out." in page
    db.session.expire_all()
    assert db.session.get(Residency, residency.id).outcome == "closed"
    assert db.session.get(Business, business_id).status == "closed"


def test_a_full_base_refuses_a_new_resident_with_a_message(client, login_as):
    base = make_base(units=1)
    make_residency(base)
    [base_id, business_id] = committed(base, recent_business())
    login_as("staff", "460100")
    page = client.get(f"/incubation/bases/{base_id}", headers=EN).get_data(as_text=True)
    assert "This base is full." in page
    response = client.post(
        f"/incubation/bases/{base_id}/residencies",
        data={"business_id": str(business_id), "unit_label": "B", "starts_on": days_ago(5)},
        headers=EN,
    )
    assert response.status_code == 200
    assert "The base is full (1 of 1 units used)." in response.get_data(as_text=True)
    assert db.session.scalar(select(Residency).where(Residency.business_id == business_id)) is None


def test_residency_field_errors_are_shown_next_to_their_fields(client, login_as, haikou_base):
    [business_id] = committed(recent_business())
    [sanya_business_id] = committed(recent_business(region_code="460200"))
    login_as("staff", "460100")
    url = f"/incubation/bases/{haikou_base}/residencies"
    future = client.post(
        url,
        data={"business_id": str(business_id), "unit_label": "B", "starts_on": days_ago(-1)},
        headers=EN,
    ).get_data(as_text=True)
    assert "The day the business moved in cannot be in the future." in future
    outside = client.post(
        url,
        data={"business_id": str(sanya_business_id), "unit_label": "B", "starts_on": days_ago(1)},
        headers=EN,
    ).get_data(as_text=True)
    assert "Choose a business in your area." in outside
    empty = client.post(url, data={}, headers=EN).get_data(as_text=True)
    assert empty.count("This field is required.") == 3


def test_ending_errors_are_shown_in_the_residents_row(client, login_as, haikou_base):
    residency_id = db.session.scalar(select(Residency.id).where(Residency.unit_label == "A-101"))
    login_as("staff", "460100")
    response = client.post(
        f"/incubation/residencies/{residency_id}/end",
        data={"ends_on": "2026-03-01", "outcome": "left"},
        headers=EN,
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "The business moved in on 2026-04-01; it cannot have moved out earlier." in html
    assert f'id="ends_on-{residency_id}"' in html
    db.session.expire_all()
    assert db.session.get(Residency, residency_id).ends_on is None


def test_ending_twice_is_refused_with_a_message(client, login_as, haikou_base):
    past_id = db.session.scalar(select(Residency.id).where(Residency.ends_on.is_not(None)))
    login_as("staff", "460100")
    response = client.post(
        f"/incubation/residencies/{past_id}/end",
        data={"ends_on": days_ago(0), "outcome": "left"},
        headers=EN,
    )
    assert response.status_code == 200
    assert "This residency already ended on 2026-06-01." in response.get_data(as_text=True)


def test_occupancy_per_region_links_to_the_lists(client, login_as, haikou_base):
    make_base(name="三亚创业港", region_code="460200", units=4)
    db.session.commit()
    login_as("staff", "460000")
    html = client.get("/incubation/occupancy", headers=EN).get_data(as_text=True)
    assert 'data-region="460100"' in html
    assert 'data-region="460200"' in html
    assert 'href="/incubation/?region_code=460100" data-testid="units">3</a>' in html
    assert 'href="/incubation/?region_code=460200" data-testid="free">4</a>' in html
    assert 'data-testid="rate">33.3%</a>' in html
    assert 'data-testid="total-row"' in html


def test_city_staff_see_their_own_city_only(client, login_as, haikou_base):
    make_base(name="三亚创业港", region_code="460200")
    db.session.commit()
    login_as("staff", "460100")
    html = client.get("/incubation/occupancy", headers=EN).get_data(as_text=True)
    assert 'data-region="460100"' in html
    assert 'data-region="460200"' not in html
    assert "三亚创业港" not in client.get("/incubation/", headers=EN).get_data(as_text=True)


def test_another_citys_base_is_404(client, login_as):
    sanya = make_base(region_code="460200")
    residency = make_residency(sanya)
    [sanya_id, residency_id, business_id] = committed(sanya, residency, recent_business())
    login_as("staff", "460100")
    assert client.get(f"/incubation/bases/{sanya_id}").status_code == 404
    assert client.get(f"/incubation/bases/{sanya_id}/edit").status_code == 404
    assert client.post(f"/incubation/bases/{sanya_id}/edit", data=base_form()).status_code == 404
    moved = client.post(
        f"/incubation/bases/{sanya_id}/residencies",
        data={"business_id": str(business_id), "unit_label": "A", "starts_on": days_ago(1)},
    )
    assert moved.status_code == 404
    ended = client.post(
        f"/incubation/residencies/{residency_id}/end",
        data={"ends_on": days_ago(0), "outcome": "left"},
    )
    assert ended.status_code == 404
    db.session.expire_all()
    assert db.session.get(Residency, residency_id).ends_on is None


@pytest.mark.parametrize(
    ("role", "region"), [("officer", "460100"), ("founder", "460100"), ("admin", "460000")]
)
def test_other_roles_are_forbidden(client, login_as, role, region):
    login_as(role, region)
    assert client.get("/incubation/").status_code == 403
    assert client.get("/incubation/occupancy").status_code == 403
    assert client.post("/incubation/bases/new", data=base_form()).status_code == 403
    assert db.session.scalar(select(IncubationBase)) is None


def test_anonymous_visitors_are_sent_to_sign_in(client, db_session):
    response = client.get("/incubation/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_a_base_names_residents_from_other_areas_without_a_dead_link(client, login_as):
    login_as("staff", "460100")
    base = make_base(region_code="460100")
    own = make_business(region_code="460100")
    other = make_business(region_code="460200")
    make_residency(base, own, unit_label="A1")
    make_residency(base, other, unit_label="A2")
    db.session.commit()
    base_id, own_id, other_id, other_name = base.id, own.id, other.id, other.name
    html = client.get(f"/incubation/bases/{base_id}").get_data(as_text=True)
    assert f'href="/businesses/{own_id}"' in html
    assert f'href="/businesses/{other_id}"' not in html
    assert other_name in html
