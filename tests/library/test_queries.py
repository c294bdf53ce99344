"""Who sees which projects, search with Chinese text, filters, sorts and outcomes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.core.errors import NotFound
from app.extensions import db
from app.library.queries import (
    ProjectFilters,
    counted_region,
    get_project_in_scope,
    list_adoptions_of_founder,
    list_adoptions_of_project,
    list_projects_stmt,
    project_outcomes,
)
from app.reports.dimensions import Dimension
from app.reports.kpis import compute_breakdown
from tests.businesses.factories import make_business, make_observation
from tests.factories import make_founder, make_user
from tests.library.factories import make_adoption, make_project
from tests.training.factories import make_cohort, make_enrollment

D = date(2026, 6, 30)
HAIKOU, SANYA, PROVINCE = "460100", "460200", "460000"


def titles(user, **filters):
    stmt = list_projects_stmt(user, ProjectFilters(**filters))
    return [project.title for project in db.session.scalars(stmt)]


def visible(user, **filters):
    return set(titles(user, **filters))


@pytest.fixture
def library(db_session):
    """Projects of Hainan (province), Haikou and Sanya in every status, and Shanghai's."""
    projects = {}
    for region, prefix in (("460000", "hainan"), ("460100", "haikou"), ("460200", "sanya")):
        for status in ("draft", "published", "retired"):
            name = f"{prefix}-{status}"
            projects[name] = make_project(region_code=region, status=status, title=name)
    projects["yangpu-published"] = make_project(
        region_code="310110", status="published", title="yangpu-published"
    )
    projects["shanghai-published"] = make_project(
        region_code="310000", status="published", title="shanghai-published"
    )
    return projects


# Visibility -----------------------------------------------------------------------------
def test_founders_see_their_citys_and_provinces_published_projects(library):
    haikou_founder = make_user(role="founder", region_code="460100")
    assert visible(haikou_founder) == {"haikou-published", "hainan-published"}


def test_sanya_founders_never_see_haikou_projects(library):
    sanya_founder = make_user(role="founder", region_code="460200")
    assert visible(sanya_founder) == {"sanya-published", "hainan-published"}
    for name in ("haikou-published", "haikou-draft", "haikou-retired"):
        with pytest.raises(NotFound):
            get_project_in_scope(sanya_founder, library[name].id)
    assert visible(sanya_founder, region_code="460100") == {"hainan-published"}


def test_founders_never_see_drafts(library):
    founder = make_user(role="founder", region_code="460100")
    assert visible(founder, status="draft") == set()
    with pytest.raises(NotFound):
        get_project_in_scope(founder, library["haikou-draft"].id)
    with pytest.raises(NotFound):
        get_project_in_scope(founder, library["hainan-draft"].id)


def test_city_staff_see_their_library_and_their_own_drafts(library):
    haikou_staff = make_user(role="staff", region_code="460100")
    assert visible(haikou_staff) == {
        "haikou-draft",
        "haikou-published",
        "haikou-retired",
        "hainan-published",
    }
    with pytest.raises(NotFound):
        get_project_in_scope(haikou_staff, library["sanya-published"].id)
    with pytest.raises(NotFound):
        get_project_in_scope(haikou_staff, library["hainan-draft"].id)


def test_officers_see_published_projects_only(library):
    haikou_officer = make_user(role="officer", region_code="460100")
    assert visible(haikou_officer) == {"haikou-published", "hainan-published"}
    hainan_officer = make_user(role="officer", region_code="460000")
    assert visible(hainan_officer) == {"haikou-published", "hainan-published", "sanya-published"}


def test_province_staff_see_their_projects_and_the_cities_published(library):
    hainan_staff = make_user(role="staff", region_code="460000")
    assert visible(hainan_staff) == {
        "hainan-draft",
        "hainan-published",
        "hainan-retired",
        "haikou-published",
        "sanya-published",
    }


def test_admins_see_every_published_project(library):
    admin = make_user(role="admin", region_code="460000")
    assert visible(admin) == {
        "hainan-published",
        "haikou-published",
        "sanya-published",
        "yangpu-published",
        "shanghai-published",
    }


def test_region_filter_is_that_regions_library(library):
    hainan_staff = make_user(role="staff", region_code="460000")
    assert visible(hainan_staff, region_code="460200") == {"sanya-published", "hainan-published"}
    # With a status, curators see their own drafts within that library.
    assert visible(hainan_staff, region_code="460200", status="draft") == {"hainan-draft"}
    admin = make_user(role="admin", region_code="460000")
    assert visible(admin, region_code="310110") == {"yangpu-published", "shanghai-published"}
    haikou_staff = make_user(role="staff", region_code="460100")
    assert visible(haikou_staff, region_code="460200") == {"hainan-published"}
    assert visible(haikou_staff, region_code="999999") == set()


def test_status_filter_for_curators(library):
    haikou_staff = make_user(role="staff", region_code="460100")
    assert visible(haikou_staff, status="draft") == {"haikou-draft"}
    assert visible(haikou_staff, status="retired") == {"haikou-retired"}


# Search, filters, sorts -----------------------------------------------------------------
def test_search_chinese_text_in_title_and_summary(db_session):
    make_project(region_code="460100", title="椰子糖作坊", summary="糖果")
    make_project(region_code="460100", title="民宿", summary="利用老房子和椰子林开民宿")
    make_project(region_code="460100", title="手机维修", summary="维修服务")
    founder = make_user(role="founder", region_code="460100")
    assert visible(founder, q="椰子") == {"椰子糖作坊", "民宿"}
    assert visible(founder, q="维修") == {"手机维修"}
    assert visible(founder, q="咖啡") == set()


def test_search_treats_like_wildcards_literally(db_session):
    make_project(region_code="460100", title="100%纯椰汁")
    make_project(region_code="460100", title="普通椰汁")
    founder = make_user(role="founder", region_code="460100")
    assert visible(founder, q="%") == {"100%纯椰汁"}
    assert visible(founder, q="_") == set()


def test_search_ignores_case_of_latin_letters(db_session):
    make_project(region_code="460100", title="Wi-Fi 维修")
    founder = make_user(role="founder", region_code="460100")
    assert visible(founder, q="wi-fi") == {"Wi-Fi 维修"}


def test_filters_industry_investment_and_payback(db_session):
    make_project(
        region_code="460100",
        title="cheap",
        industry="repair",
        investment_min=Decimal("5000.00"),
        investment_max=Decimal("10000.00"),
        payback_months=6,
    )
    make_project(
        region_code="460100",
        title="dear",
        industry="homestay",
        investment_min=Decimal("200000.00"),
        investment_max=Decimal("500000.00"),
        payback_months=36,
    )
    founder = make_user(role="founder", region_code="460100")
    assert visible(founder, industry="repair") == {"cheap"}
    assert visible(founder, max_investment=Decimal("5000.00")) == {"cheap"}
    assert visible(founder, max_investment=Decimal("4999.99")) == set()
    assert visible(founder, max_investment=Decimal("200000.00")) == {"cheap", "dear"}
    assert visible(founder, payback=12) == {"cheap"}
    assert visible(founder, payback=36) == {"cheap", "dear"}


def test_sorts(db_session):
    old = make_project(region_code="460100", title="old", investment_min=Decimal("1000.00"))
    middle = make_project(region_code="460100", title="middle", investment_min=Decimal("500.00"))
    new = make_project(region_code="460100", title="new", investment_min=Decimal("9000.00"))
    for _ in range(2):
        make_adoption(middle)
    make_adoption(old)
    founder = make_user(role="founder", region_code="460100")
    assert titles(founder) == ["new", "middle", "old"]
    assert titles(founder, sort="newest") == ["new", "middle", "old"]
    assert titles(founder, sort="investment") == ["middle", "old", "new"]
    assert titles(founder, sort="outcome") == ["middle", "old", "new"]
    assert new.id


def test_newest_puts_drafts_last(db_session):
    make_project(region_code="460100", title="draft", status="draft")
    make_project(region_code="460100", title="published")
    staff = make_user(role="staff", region_code="460100")
    assert titles(staff) == ["published", "draft"]


# Outcomes and adoptions -----------------------------------------------------------------
def test_outcomes_count_adopters(db_session):
    popular = make_project(region_code="460100")
    quiet = make_project(region_code="460100")
    for _ in range(3):
        make_adoption(popular)
    outcomes = project_outcomes([popular.id, quiet.id], as_of=D)
    assert outcomes[popular.id].adopters == 3
    assert outcomes[quiet.id].adopters == 0
    assert outcomes[popular.id].as_json() == {
        "adopters": 3,
        "businesses": 0,
        "operating": 0,
        "jobs": 0,
        "survival_12m": None,
        "opening_rate_6m": None,
    }
    assert project_outcomes([]) == {}
    # Adoptions after the date are not known yet.
    assert project_outcomes([popular.id], as_of=date(2026, 4, 30))[popular.id].adopters == 0


def test_outcomes_count_businesses_operating_and_their_jobs(db_session):
    project = make_project(region_code="460100")
    other = make_project(region_code="460100")
    make_business(library_project_id=project.id, employees_at_opening=4)
    suspended = make_business(library_project_id=project.id, employees_at_opening=2)
    make_observation(suspended, status="suspended", employees=1)
    closed = make_business(library_project_id=project.id, employees_at_opening=5)
    make_observation(closed, status="closed")
    make_business(library_project_id=other.id, employees_at_opening=7)
    make_business(employees_at_opening=9)  # names no project

    outcome = project_outcomes([project.id], as_of=D)[project.id]

    assert (outcome.businesses, outcome.closures, outcome.operating, outcome.jobs) == (3, 1, 1, 4)
    assert outcome.jobs_per_business == 4.0
    # Opened 2026-03-01: nobody followed for a year yet, so no 12-month estimate.
    assert outcome.survival_12m is None
    # Before the closure was observed, all three were still going.
    earlier = project_outcomes([project.id], as_of=date(2026, 5, 31))[project.id]
    assert (earlier.businesses, earlier.closures, earlier.operating) == (3, 0, 3)
    assert project_outcomes([project.id], as_of=date(2026, 2, 28))[project.id].businesses == 0


def test_outcomes_count_within_the_viewers_area_and_everywhere_for_founders(db_session):
    """A province project named by one Haikou and two Sanya businesses: Haikou's staff see
    1 (the list they link to shows 1), Sanya's 2, the province 3; a founder sees 3."""
    project = make_project(region_code="460000")
    make_business(make_founder(region_code="460100"), library_project_id=project.id)
    for _ in range(2):
        make_business(make_founder(region_code="460200"), library_project_id=project.id)
    make_adoption(project, make_founder(region_code="460200"))

    def seen(role, region):
        user = make_user(role=role, region_code=region)
        outcome = project_outcomes([project.id], user, D)[project.id]
        return outcome.businesses, outcome.adopters

    assert seen("staff", "460100") == (1, 0)
    assert seen("officer", "460200") == (2, 1)
    assert seen("staff", "460000") == (3, 1)
    assert seen("founder", "460100") == (3, 1)
    assert project_outcomes([project.id], as_of=D)[project.id].businesses == 3


@pytest.fixture
def adopted_programme(db_session):
    """A province project P, as of D = 2026-06-30:

    Haikou
    - a1 passed SYB on 2025-10-15, adopted P on 2025-10-20, opened a business naming no
      project on 2026-02-01 (within 6 months): operating, 3 staff on 2026-06-01 — it
      counts under P because a1 adopted P;
    - a2 passed SYB on 2025-11-10, adopted P on 2025-11-20, never opened;
    - b2 (untrained) named P, opened 2025-01-10, closed 2025-07-10 (181 days);
    - b3 (untrained) named P, opened 2025-03-01, operating with 2 on 2026-06-01 (457 days).
    Sanya
    - s1 passed SYB on 2025-10-01, adopted P on 2025-10-05, opened a business naming P on
      2025-12-01, closed 2026-03-01 (90 days).
    Elsewhere, a Haikou business of project Q (not P) and one naming nothing.
    """
    project = make_project(region_code=PROVINCE, title="P")
    other = make_project(region_code=HAIKOU, title="Q")
    haikou_class = make_cohort(region_code=HAIKOU, starts_on=date(2025, 10, 1))
    sanya_class = make_cohort(region_code=SANYA, starts_on=date(2025, 9, 15))

    a1 = make_founder(region_code=HAIKOU, name="a1")
    make_enrollment(haikou_class, a1, result="passed", completed_on=date(2025, 10, 15))
    make_adoption(project, a1, adopted_on=date(2025, 10, 20))
    own = make_business(a1, opened_on=date(2026, 2, 1))
    make_observation(own, observed_on=date(2026, 6, 1), employees=3)

    a2 = make_founder(region_code=HAIKOU, name="a2")
    make_enrollment(haikou_class, a2, result="passed", completed_on=date(2025, 11, 10))
    make_adoption(project, a2, adopted_on=date(2025, 11, 20))

    b2 = make_business(
        make_founder(region_code=HAIKOU), opened_on=date(2025, 1, 10), library_project_id=project.id
    )
    make_observation(b2, observed_on=date(2025, 7, 10), status="closed")
    b3 = make_business(
        make_founder(region_code=HAIKOU), opened_on=date(2025, 3, 1), library_project_id=project.id
    )
    make_observation(b3, observed_on=date(2026, 6, 1), employees=2)

    s1 = make_founder(region_code=SANYA, name="s1")
    make_enrollment(sanya_class, s1, result="passed", completed_on=date(2025, 10, 1))
    make_adoption(project, s1, adopted_on=date(2025, 10, 5))
    tea = make_business(s1, opened_on=date(2025, 12, 1), library_project_id=project.id)
    make_observation(tea, observed_on=date(2026, 3, 1), status="closed")

    make_business(make_founder(region_code=HAIKOU), library_project_id=other.id)
    make_business(make_founder(region_code=HAIKOU))
    return project.id


def test_a_haikou_viewer_counts_haikous_records_only(adopted_programme):
    project_id = adopted_programme
    staff = make_user(role="staff", region_code=HAIKOU)
    outcome = project_outcomes([project_id], staff, D)[project_id]
    # Durations 120 (censored), 181 (closed), 457 (censored): S = 1 - 1/2 after day 181.
    assert (outcome.businesses, outcome.closures, outcome.survival_12m) == (3, 1, 0.5)
    assert (outcome.operating, outcome.jobs, outcome.jobs_per_business) == (2, 5, 2.5)
    # a1 opened within 6 months, a2 did not.
    assert (outcome.eligible_6m, outcome.opened_6m, outcome.opening_rate_6m) == (2, 1, 0.5)
    assert outcome.as_json() == {
        "adopters": 2,
        "businesses": 3,
        "operating": 2,
        "jobs": 5,
        "survival_12m": 0.5,
        "opening_rate_6m": 0.5,
    }


def test_a_sanya_viewer_and_the_whole_province(adopted_programme):
    project_id = adopted_programme
    sanya = project_outcomes([project_id], make_user(role="officer", region_code=SANYA), D)
    assert sanya[project_id].as_json() == {
        "adopters": 1,
        "businesses": 1,
        "operating": 0,
        "jobs": 0,
        "survival_12m": 0.0,  # its one business closed after 90 days
        "opening_rate_6m": 1.0,
    }
    assert sanya[project_id].jobs_per_business is None
    province = project_outcomes([project_id], make_user(role="staff", region_code=PROVINCE), D)
    # Closures on days 90 (4 at risk) and 181 (2 at risk): 3/4 x 1/2.
    assert province[project_id].survival_12m == 0.375
    assert province[project_id].opening_rate_6m == 0.6667  # a1 and s1 of a1, a2, s1
    assert (province[project_id].businesses, province[project_id].adopters) == (4, 3)
    # Administrators and founders count every region: the province's figures here.
    for role in ("admin", "founder"):
        user = make_user(role=role, region_code=HAIKOU)
        assert project_outcomes([project_id], user, D) == province


@pytest.mark.parametrize("region", [HAIKOU, SANYA, PROVINCE])
def test_outcomes_are_the_kpi_breakdown_by_library_project(adopted_programme, region):
    project_id = adopted_programme
    user = make_user(role="staff", region_code=region)
    assert counted_region(user) == region
    outcome = project_outcomes([project_id], user, D)[project_id]
    row = {row["key"]: row for row in compute_breakdown(region, D, Dimension.LIBRARY_ITEM)}[
        project_id
    ]
    assert outcome.businesses == row["survival"]["businesses"]
    assert outcome.closures == row["survival"]["closures"]
    assert outcome.survival_12m == row["survival"]["km_12m"]
    assert outcome.survival_12m_low == row["survival"]["km_12m_low"]
    assert outcome.survival_12m_high == row["survival"]["km_12m_high"]
    assert outcome.operating == row["jobs"]["operating"]
    assert outcome.jobs == row["jobs"]["jobs"]
    assert outcome.jobs_per_business == row["jobs"]["jobs_per_business"]
    assert outcome.eligible_6m == row["opening"]["eligible_6m"]
    assert outcome.opened_6m == row["opening"]["opened_6m"]
    assert outcome.opening_rate_6m == row["opening"]["rate_6m"]


def test_counted_region_by_role(db_session):
    assert counted_region(None) is None
    assert counted_region(make_user(role="admin", region_code=HAIKOU)) is None
    assert counted_region(make_user(role="founder", region_code=HAIKOU)) is None
    assert counted_region(make_user(role="officer", region_code=SANYA)) == SANYA


def test_adoptions_of_a_founder_come_with_their_projects(db_session):
    founder = make_founder(region_code="460100")
    first = make_adoption(make_project(region_code="460100", title="甲"), founder)
    second = make_adoption(
        make_project(region_code="460000", title="乙"),
        founder,
        adopted_on=first.adopted_on.replace(month=6),
    )
    make_adoption(make_project(region_code="460100"))  # someone else's
    adoptions = list_adoptions_of_founder(founder.id)
    assert [adoption.id for adoption in adoptions] == [second.id, first.id]
    assert [adoption.project.title for adoption in adoptions] == ["乙", "甲"]


def test_adopters_of_a_project_are_scoped(db_session):
    project = make_project(region_code="460000")
    haikou = make_adoption(project, make_founder(region_code="460100"))
    sanya = make_adoption(project, make_founder(region_code="460200"))
    haikou_staff = make_user(role="staff", region_code="460100")
    hainan_staff = make_user(role="staff", region_code="460000")
    assert [a.id for a in list_adoptions_of_project(haikou_staff, project.id)] == [haikou.id]
    assert {a.id for a in list_adoptions_of_project(hainan_staff, project.id)} == {
        haikou.id,
        sanya.id,
    }
