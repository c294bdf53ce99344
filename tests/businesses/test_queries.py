"""Who sees which businesses and self-reports, the list filters, histories and firsts."""

from __future__ import annotations

from datetime import date

import pytest

from app.businesses.queries import (
    BusinessFilters,
    count_pending_reports,
    first_opened_on,
    get_business_in_scope,
    get_observation_in_scope,
    list_businesses_of_founder,
    list_businesses_stmt,
    list_observations,
    list_reports_stmt,
)
from app.core.errors import NotFound
from app.extensions import db
from tests.businesses.factories import make_business, make_observation
from tests.factories import make_founder, make_user
from tests.library.factories import make_project


def names(user, **filters):
    stmt = list_businesses_stmt(user, BusinessFilters(**filters))
    return [business.name for business in db.session.scalars(stmt)]


@pytest.fixture
def area(db_session):
    """Businesses of Haikou (two founders), Sanya and Shanghai's Yangpu."""
    haikou = make_founder(region_code="460100")
    businesses = {
        "海口椰子店": make_business(
            haikou, name="海口椰子店", industry="food", opened_on=date(2026, 1, 10)
        ),
        "海口修车铺": make_business(
            haikou, name="海口修车铺", industry="repair", opened_on=date(2026, 4, 1)
        ),
        "海口民宿": make_business(
            name="海口民宿", industry="homestay", opened_on=date(2025, 7, 1), region_code="460100"
        ),
        "三亚民宿": make_business(
            name="三亚民宿", industry="homestay", opened_on=date(2026, 2, 1), region_code="460200"
        ),
        "杨浦咖啡": make_business(
            name="杨浦咖啡", industry="catering", opened_on=date(2026, 3, 1), region_code="310110"
        ),
    }
    make_observation(businesses["海口修车铺"], status="suspended", employees=1)
    make_observation(businesses["三亚民宿"], status="closed", observed_on=date(2026, 9, 1))
    return businesses


# Scope ----------------------------------------------------------------------------------
def test_city_staff_see_their_city_newest_opening_first(area):
    staff = make_user(role="staff", region_code="460100")
    assert names(staff) == ["海口修车铺", "海口椰子店", "海口民宿"]


def test_province_staff_see_the_whole_province(area):
    staff = make_user(role="staff", region_code="460000")
    assert names(staff) == ["海口修车铺", "三亚民宿", "海口椰子店", "海口民宿"]


def test_officers_see_their_area(area):
    officer = make_user(role="officer", region_code="460200")
    assert names(officer) == ["三亚民宿"]


def test_admins_see_everything(area):
    admin = make_user(role="admin", region_code="460000")
    assert len(names(admin)) == 5


def test_founders_see_only_their_own(area):
    business = area["海口民宿"]
    account = make_user(role="founder", region_code="460100", founder_id=business.founder_id)
    assert names(account) == ["海口民宿"]
    stranger = make_user(role="founder", region_code="460100")
    assert names(stranger) == []


def test_get_business_in_scope_is_404_outside(area):
    staff = make_user(role="staff", region_code="460100")
    haikou = area["海口民宿"]
    assert get_business_in_scope(staff, haikou.id) is haikou
    for business_id in (area["三亚民宿"].id, area["杨浦咖啡"].id, 999_999):
        with pytest.raises(NotFound):
            get_business_in_scope(staff, business_id)
    owner = make_user(role="founder", region_code="460100", founder_id=haikou.founder_id)
    assert get_business_in_scope(owner, haikou.id) is haikou
    with pytest.raises(NotFound):
        get_business_in_scope(owner, area["海口椰子店"].id)
    officer = make_user(role="officer", region_code="460200")
    with pytest.raises(NotFound):
        get_business_in_scope(officer, haikou.id)


# Filters --------------------------------------------------------------------------------
@pytest.fixture
def hainan_staff(area):
    return make_user(role="staff", region_code="460000")


def test_search_is_a_name_prefix(hainan_staff):
    assert names(hainan_staff, q="海口") == ["海口修车铺", "海口椰子店", "海口民宿"]
    assert names(hainan_staff, q="海口椰") == ["海口椰子店"]
    assert names(hainan_staff, q="民宿") == []  # not the middle of a name
    assert names(hainan_staff, q="杨浦") == []  # out of scope


def test_filter_by_status(hainan_staff):
    assert names(hainan_staff, status="suspended") == ["海口修车铺"]
    assert names(hainan_staff, status="closed") == ["三亚民宿"]
    assert names(hainan_staff, status="operating") == ["海口椰子店", "海口民宿"]


def test_filter_by_industry_and_region(hainan_staff):
    assert names(hainan_staff, industry="homestay") == ["三亚民宿", "海口民宿"]
    assert names(hainan_staff, industry="homestay", region_code="460200") == ["三亚民宿"]
    assert names(hainan_staff, region_code="460100") == ["海口修车铺", "海口椰子店", "海口民宿"]
    assert names(hainan_staff, region_code="310110") == []  # the filter never widens the scope


def test_filter_by_founder(area, hainan_staff):
    founder_id = area["海口椰子店"].founder_id
    assert names(hainan_staff, founder_id=founder_id) == ["海口修车铺", "海口椰子店"]


def test_filter_by_library_project(hainan_staff):
    project = make_project(region_code="460100")
    make_business(name="海口项目店", library_project_id=project.id, opened_on=date(2026, 5, 5))
    assert names(hainan_staff, library_project_id=project.id) == ["海口项目店"]


def test_filter_by_opening_dates(hainan_staff):
    assert names(hainan_staff, opened_from=date(2026, 2, 1)) == ["海口修车铺", "三亚民宿"]
    assert names(hainan_staff, opened_to=date(2026, 1, 10)) == ["海口椰子店", "海口民宿"]
    both = names(hainan_staff, opened_from=date(2026, 1, 1), opened_to=date(2026, 2, 28))
    assert both == ["三亚民宿", "海口椰子店"]


def test_filters_combine(area, hainan_staff):
    founder_id = area["海口椰子店"].founder_id
    assert names(hainan_staff, founder_id=founder_id, status="operating", q="海口") == [
        "海口椰子店"
    ]


# A founder's businesses and history -----------------------------------------------------
def test_a_founders_businesses_and_first_opening(db_session):
    founder = make_founder(region_code="460100")
    staff = make_user(role="staff", region_code="460100")
    assert list_businesses_of_founder(staff, founder.id) == []
    assert first_opened_on(founder.id) is None
    later = make_business(founder, opened_on=date(2026, 6, 1))
    earlier = make_business(founder, opened_on=date(2025, 9, 1))
    make_business(opened_on=date(2024, 1, 1))  # someone else's
    assert list_businesses_of_founder(staff, founder.id) == [later, earlier]
    assert first_opened_on(founder.id) == date(2025, 9, 1)


def test_a_founders_businesses_elsewhere_stay_out_of_sight(db_session):
    """Province staff may record a Haikou founder's business in Sanya; Haikou's staff and
    officers do not see it on the founder's page, Sanya's and the province's do."""
    founder = make_founder(region_code="460100")
    haikou = make_business(founder, region_code="460100")
    sanya = make_business(founder, region_code="460200", opened_on=date(2025, 1, 1))
    viewers = [("staff", "460100"), ("officer", "460100"), ("staff", "460200"), ("staff", "460000")]
    seen_by = {
        (role, region): list_businesses_of_founder(
            make_user(role=role, region_code=region), founder.id
        )
        for role, region in viewers
    }
    assert seen_by[("staff", "460100")] == [haikou]
    assert seen_by[("officer", "460100")] == [haikou]
    assert seen_by[("staff", "460200")] == [sanya]
    assert seen_by[("staff", "460000")] == [haikou, sanya]
    # The journey's milestone is the founder's: the first opening, wherever it was.
    assert first_opened_on(founder.id) == date(2025, 1, 1)


def test_the_history_is_latest_first(db_session):
    business = make_business()
    first = make_observation(business, observed_on=date(2026, 4, 1))
    third = make_observation(business, observed_on=date(2026, 8, 1))
    second = make_observation(business, observed_on=date(2026, 6, 1))
    same_day = make_observation(business, observed_on=date(2026, 8, 1), status="suspended")
    assert list_observations(business.id) == [same_day, third, second, first]
    assert business.status == "suspended"


# Self-reports ---------------------------------------------------------------------------
@pytest.fixture
def reports(db_session):
    haikou = make_business(region_code="460100")
    sanya = make_business(region_code="460200")
    made = {
        "haikou_pending": make_observation(haikou, source="founder"),
        "haikou_pending_2": make_observation(
            haikou, source="founder", observed_on=date(2026, 7, 1)
        ),
        "haikou_queried": make_observation(
            haikou, source="founder", review_state="queried", query_note="?"
        ),
        "haikou_verified": make_observation(
            haikou, source="founder", review_state="verified", verified=True
        ),
        "haikou_staff": make_observation(haikou, source="staff"),
        "sanya_pending": make_observation(sanya, source="founder"),
    }
    db.session.flush()
    return made


def report_ids(user, state="pending"):
    return [observation.id for observation in db.session.scalars(list_reports_stmt(user, state))]


def test_the_review_queue_is_the_areas_reports_in_a_state_oldest_first(reports):
    haikou = make_user(role="staff", region_code="460100")
    assert report_ids(haikou) == [reports["haikou_pending"].id, reports["haikou_pending_2"].id]
    assert report_ids(haikou, "queried") == [reports["haikou_queried"].id]
    assert report_ids(haikou, "verified") == [reports["haikou_verified"].id]
    assert count_pending_reports(haikou) == 2
    hainan = make_user(role="staff", region_code="460000")
    assert set(report_ids(hainan)) == {
        reports["haikou_pending"].id,
        reports["haikou_pending_2"].id,
        reports["sanya_pending"].id,
    }
    assert count_pending_reports(hainan) == 3
    sanya = make_user(role="staff", region_code="460200")
    assert count_pending_reports(sanya) == 1
    shanghai = make_user(role="staff", region_code="310000")
    assert count_pending_reports(shanghai) == 0
    assert report_ids(shanghai) == []


def test_staff_observations_never_wait_for_review(reports):
    haikou = make_user(role="staff", region_code="460100")
    queued = {
        id_ for state in ("pending", "queried", "verified") for id_ in report_ids(haikou, state)
    }
    assert reports["haikou_staff"].id not in queued


def test_get_observation_in_scope_is_404_outside(reports):
    haikou = make_user(role="staff", region_code="460100")
    observation = reports["haikou_pending"]
    assert get_observation_in_scope(haikou, observation.id) is observation
    for observation_id in (reports["sanya_pending"].id, 999_999):
        with pytest.raises(NotFound):
            get_observation_in_scope(haikou, observation_id)
