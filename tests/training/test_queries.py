"""Training reads: scope, filters, the roster and the figures counted in SQL."""

from __future__ import annotations

from datetime import date

import pytest

from app.core.errors import NotFound
from app.extensions import db
from app.reports.dimensions import Dimension
from app.reports.kpis import compute_breakdown
from app.training.queries import (
    CohortFilters,
    InstitutionOutcome,
    TrainingStatistics,
    cohort_statistics,
    count_seats_taken,
    get_cohort_in_scope,
    get_enrollment_in_scope,
    get_institution_in_scope,
    institution_outcomes,
    institution_statistics,
    list_cohorts_stmt,
    list_courses_stmt,
    list_institutions_stmt,
    list_roster,
    outcome_region,
    rate,
)
from tests.factories import make_user
from tests.training.factories import (
    get_course,
    make_cohort,
    make_course,
    make_enrollment,
    make_institution,
)

DONE = date(2026, 3, 13)
# The `rated_institution` fixture (conftest.py): its regions and the date it is rated on.
HAIKOU, SANYA, PROVINCE = "460100", "460200", "460000"
D = date(2026, 6, 30)


def class_with_results(cohort, *, passed=0, certified=0, failed=0, dropped=0, open_=0):
    for number in range(passed):
        certificate = f"C{cohort.id}-{number}" if number < certified else None
        make_enrollment(cohort, result="passed", completed_on=DONE, certificate_no=certificate)
    for _ in range(failed):
        make_enrollment(cohort, result="failed", completed_on=DONE)
    for _ in range(dropped):
        make_enrollment(cohort, result="dropped", completed_on=DONE)
    for _ in range(open_):
        make_enrollment(cohort)


def test_rates_round_half_up_to_four_places_and_are_none_without_denominator():
    assert rate(2, 3) == 0.6667
    assert rate(1, 8) == 0.125
    assert rate(1, 20_000) == 0.0001  # 0.00005 rounds up
    assert rate(0, 5) == 0.0
    assert rate(0, 0) is None
    empty = TrainingStatistics()
    assert (empty.pass_rate, empty.certificate_rate) == (None, None)


def test_cohort_statistics(db_session):
    cohort = make_cohort()
    class_with_results(cohort, passed=3, certified=2, failed=1, dropped=1, open_=1)
    empty = make_cohort()
    figures = cohort_statistics([cohort.id, empty.id])
    assert figures[cohort.id] == TrainingStatistics(
        enrolled=6, passed=3, failed=1, dropped=1, certificates=2, cohorts=1
    )
    assert figures[cohort.id].pass_rate == 0.75
    assert figures[cohort.id].certificate_rate == 0.6667
    assert figures[empty.id] == TrainingStatistics(cohorts=1)
    assert figures[empty.id].pass_rate is None
    assert cohort_statistics([]) == {}
    assert count_seats_taken(cohort.id) == 6


def test_institution_statistics_cover_all_its_cohorts(db_session):
    institution = make_institution()
    spring = make_cohort(institution=institution)
    autumn = make_cohort(institution=institution, starts_on=date(2026, 9, 1))
    make_cohort(institution=institution)  # no one enrolled yet
    class_with_results(spring, passed=2, certified=2, failed=2)
    class_with_results(autumn, passed=1, dropped=3)
    other = make_institution()
    class_with_results(make_cohort(institution=other), failed=1)
    idle = make_institution()
    figures = institution_statistics([institution.id, other.id, idle.id])
    mine = figures[institution.id]
    assert (mine.cohorts, mine.enrolled, mine.passed, mine.failed, mine.dropped) == (3, 8, 3, 2, 3)
    assert (mine.pass_rate, mine.certificate_rate) == (0.6, 0.6667)
    assert figures[other.id].pass_rate == 0.0
    assert figures[other.id].certificate_rate is None
    assert figures[idle.id] == TrainingStatistics()


def test_lists_are_scoped_to_the_users_area(db_session):
    haikou = make_user(role="staff", region_code="460100")
    hainan = make_user(role="staff", region_code="460000")
    officer = make_user(role="officer", region_code="460100")
    founder_user = make_user(role="founder", region_code="460100")
    haikou_cohort = make_cohort(region_code="460100")
    sanya_cohort = make_cohort(region_code="460200")
    shanghai_cohort = make_cohort(region_code="310110")

    def cohort_ids(user):
        return {c.id for c in db.session.scalars(list_cohorts_stmt(user, CohortFilters()))}

    mine = {haikou_cohort.id, sanya_cohort.id, shanghai_cohort.id}
    assert cohort_ids(haikou) & mine == {haikou_cohort.id}
    assert cohort_ids(hainan) & mine == {haikou_cohort.id, sanya_cohort.id}
    assert cohort_ids(officer) & mine == {haikou_cohort.id}  # permission decides, not scope
    assert cohort_ids(founder_user) == set()
    institutions = {i.id for i in db.session.scalars(list_institutions_stmt(haikou))}
    assert haikou_cohort.institution_id in institutions
    assert sanya_cohort.institution_id not in institutions

    with pytest.raises(NotFound):
        get_cohort_in_scope(haikou, sanya_cohort.id)
    with pytest.raises(NotFound):
        get_institution_in_scope(haikou, sanya_cohort.institution_id)
    sanya_enrollment = make_enrollment(sanya_cohort)
    with pytest.raises(NotFound):
        get_enrollment_in_scope(haikou, sanya_enrollment.id)
    assert get_enrollment_in_scope(hainan, sanya_enrollment.id) == sanya_enrollment
    assert get_cohort_in_scope(hainan, sanya_cohort.id) == sanya_cohort


def test_cohort_filters(db_session):
    staff = make_user(role="staff", region_code="460000")
    institution = make_institution(region_code="460100")
    skill = make_course()
    march = make_cohort(institution=institution, starts_on=date(2026, 3, 2))
    june = make_cohort(
        institution=institution,
        course=skill,
        starts_on=date(2026, 6, 1),
        ends_on=date(2026, 6, 5),
    )
    sanya = make_cohort(region_code="460200", starts_on=date(2026, 4, 1), ends_on=date(2026, 4, 9))

    def ids(**filters):
        stmt = list_cohorts_stmt(staff, CohortFilters(**filters))
        return [c.id for c in db.session.scalars(stmt) if c.id in {march.id, june.id, sanya.id}]

    assert ids() == [june.id, sanya.id, march.id]  # latest start first
    assert ids(region_code="460200") == [sanya.id]
    assert ids(kind="skill") == [june.id]
    assert ids(kind="SYB") == [sanya.id, march.id]
    assert ids(institution_id=institution.id) == [june.id, march.id]
    assert ids(starts_from=date(2026, 4, 1), starts_to=date(2026, 5, 31)) == [sanya.id]


def test_roster_and_catalogue_order(db_session):
    cohort = make_cohort()
    first, second = make_enrollment(cohort), make_enrollment(cohort)
    roster = list_roster(cohort.id)
    assert [e.id for e in roster] == [first.id, second.id]
    assert roster[0].founder.name
    codes = [c.code for c in db.session.scalars(list_courses_stmt())]
    assert codes[:4] == ["GYB", "SYB", "IYB", "EYB"]
    assert [c.kind for c in db.session.scalars(list_courses_stmt(kind="EYB"))] == ["EYB"]
    assert get_course("GYB").is_entrepreneurship


def test_institution_figures_count_only_the_cohorts_in_the_users_area(db_session):
    """A Haikou institution teaching a class in Sanya: Haikou staff see Haikou's figures."""
    haikou_staff = make_user(role="staff", region_code="460100")
    institution = make_institution(region_code="460100")
    home = make_cohort(region_code="460100", institution=institution)
    away = make_cohort(region_code="460200", institution=institution)
    make_enrollment(home, result="passed", completed_on=date(2026, 3, 13))
    make_enrollment(away, result="failed", completed_on=date(2026, 3, 13))
    everywhere = institution_statistics([institution.id])[institution.id]
    in_haikou = institution_statistics([institution.id], haikou_staff)[institution.id]
    assert (everywhere.cohorts, everywhere.passed, everywhere.failed) == (2, 1, 1)
    assert (in_haikou.cohorts, in_haikou.passed, in_haikou.failed) == (1, 1, 0)


# How the trainees did (KPI figures by institution) --------------------------------------
def test_a_haikou_viewer_rates_the_institution_on_haikous_founders(rated_institution):
    staff = make_user(role="staff", region_code=HAIKOU)
    outcomes = institution_outcomes([rated_institution.rated_id], staff, D)
    outcome = outcomes[rated_institution.rated_id]
    # Entrepreneurship only: h1, h2, h4, h6 passed, h3 failed (h7's skills class and the
    # Sanya founder s1 are left out).
    assert (outcome.passed, outcome.failed, outcome.pass_rate) == (4, 1, 0.8)
    # h1 and h6 opened within 3 months, h2 within 6; h4 never.
    assert (outcome.eligible_3m, outcome.opened_3m, outcome.opening_rate_3m) == (4, 2, 0.5)
    assert (outcome.eligible_6m, outcome.opened_6m, outcome.opening_rate_6m) == (4, 3, 0.75)
    assert (outcome.operating, outcome.jobs, outcome.jobs_per_business) == (2, 7, 3.5)
    # Durations 184 (closed), 396 and 426 (censored): S = 2/3 after day 184.
    assert (outcome.businesses, outcome.survival_12m) == (3, 0.6667)
    # The enrollment statistics beside it count the classes of the area, every kind.
    statistics = institution_statistics([rated_institution.rated_id], staff)
    enrollments = statistics[rated_institution.rated_id]
    assert (enrollments.passed, enrollments.failed) == (5, 2)


def test_a_sanya_viewer_and_the_province_rate_the_same_institution(rated_institution):
    rated = rated_institution.rated_id
    sanya = institution_outcomes([rated], make_user(role="staff", region_code=SANYA), D)[rated]
    assert sanya.as_json() == {
        "passed": 1,
        "failed": 0,
        "pass_rate": 1.0,
        "eligible_3m": 1,
        "opened_3m": 1,
        "opening_rate_3m": 1.0,
        "eligible_6m": 1,
        "opened_6m": 1,
        "opening_rate_6m": 1.0,
        "operating": 0,
        "jobs": 0,
        "jobs_per_business": None,
        "businesses": 1,
        "survival_12m": 0.0,  # its one business closed after 61 days
    }
    province = institution_outcomes([rated], make_user(role="staff", region_code=PROVINCE), D)
    assert province[rated].pass_rate == 0.8333  # 5 / 6
    assert (province[rated].opening_rate_3m, province[rated].opening_rate_6m) == (0.6, 0.8)
    # Closures on days 61 (4 at risk) and 184 (3 at risk): 3/4 x 2/3.
    assert province[rated].survival_12m == 0.5
    assert province[rated].jobs_per_business == 3.5
    # Administrators (and no user) count every region: the province's figures here.
    admin = make_user(role="admin", region_code=PROVINCE)
    assert institution_outcomes([rated], admin, D) == province
    assert institution_outcomes([rated], None, D) == province


def test_an_institution_without_records_and_no_institutions(rated_institution):
    quiet = rated_institution.quiet_id
    assert institution_outcomes([quiet], None, D) == {quiet: InstitutionOutcome()}
    assert institution_outcomes([], None, D) == {}
    # Before the results were in, nothing is known yet.
    early = institution_outcomes([rated_institution.rated_id], None, date(2025, 3, 13))
    assert early[rated_institution.rated_id] == InstitutionOutcome()


@pytest.mark.parametrize("region", [HAIKOU, SANYA, PROVINCE])
def test_outcomes_are_the_kpi_breakdown_by_institution(rated_institution, region):
    rated = rated_institution.rated_id
    user = make_user(role="staff", region_code=region)
    assert outcome_region(user) == region
    outcome = institution_outcomes([rated], user, D)[rated]
    row = {row["key"]: row for row in compute_breakdown(region, D, Dimension.INSTITUTION)}[rated]
    assert (outcome.passed, outcome.failed, outcome.pass_rate) == (
        row["training"]["passed"],
        row["training"]["failed"],
        row["training"]["pass_rate"],
    )
    for months in (3, 6):
        assert getattr(outcome, f"eligible_{months}m") == row["opening"][f"eligible_{months}m"]
        assert getattr(outcome, f"opened_{months}m") == row["opening"][f"opened_{months}m"]
        assert getattr(outcome, f"opening_rate_{months}m") == row["opening"][f"rate_{months}m"]
    assert (outcome.operating, outcome.jobs, outcome.jobs_per_business) == (
        row["jobs"]["operating"],
        row["jobs"]["jobs"],
        row["jobs"]["jobs_per_business"],
    )
    assert (outcome.businesses, outcome.survival_12m) == (
        row["survival"]["businesses"],
        row["survival"]["km_12m"],
    )
