"""Training reads: scope, filters, the roster and the figures counted in SQL."""

from __future__ import annotations

from datetime import date

import pytest

from app.core.errors import NotFound
from app.extensions import db
from app.training.queries import (
    CohortFilters,
    TrainingStatistics,
    cohort_statistics,
    count_seats_taken,
    get_cohort_in_scope,
    get_enrollment_in_scope,
    get_institution_in_scope,
    institution_statistics,
    list_cohorts_stmt,
    list_courses_stmt,
    list_institutions_stmt,
    list_roster,
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
