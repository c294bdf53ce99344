"""Training rules: institutions, courses, cohorts, enrollments, results and the roster."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.core.audit import AuditEntry
from app.core.errors import Conflict, ValidationFailed
from app.extensions import db
from app.training.models import Cohort, Course, Enrollment, Institution
from app.training.operations import (
    ResultRow,
    create_cohort,
    create_course,
    create_institution,
    enroll_founder,
    record_result,
    record_roster_results,
)
from tests.factories import DEFAULT_AS_OF, make_founder, make_user
from tests.training.factories import (
    get_course,
    make_cohort,
    make_enrollment,
    make_institution,
)

AS_OF = DEFAULT_AS_OF  # 2026-11-22


@pytest.fixture
def haikou_staff(db_session):
    return make_user(role="staff", region_code="460100")


@pytest.fixture
def hainan_staff(db_session):
    return make_user(role="staff", region_code="460000")


def audit_entries(action):
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


# Institutions ---------------------------------------------------------------------------
def test_create_institution_is_audited(haikou_staff):
    institution = create_institution(haikou_staff, " 海口创业学院 ", "460100", True)
    assert institution.name == "海口创业学院"
    assert institution.designated is True
    [entry] = audit_entries("institution.create")
    assert entry.entity_id == str(institution.id)
    assert entry.region_code == "460100"
    assert entry.actor_id == haikou_staff.id
    assert entry.after["name"] == "海口创业学院"


def test_institution_outside_the_actors_area_is_refused(haikou_staff):
    with pytest.raises(ValidationFailed) as caught:
        create_institution(haikou_staff, "三亚学校", "460200", False)
    assert set(caught.value.errors) == {"region_code"}
    assert db.session.scalar(select(Institution).where(Institution.name == "三亚学校")) is None


def test_province_staff_add_institutions_in_their_cities(hainan_staff):
    institution = create_institution(hainan_staff, "三亚学校", "460200", False)
    assert institution.region_code == "460200"
    with pytest.raises(ValidationFailed):
        create_institution(hainan_staff, "上海学校", "310110", False)


@pytest.mark.parametrize("name", ["", "   ", "校" * 101, "a\x00b"])
def test_institution_name_is_required_and_bounded(haikou_staff, name):
    with pytest.raises(ValidationFailed) as caught:
        create_institution(haikou_staff, name, "460100", False)
    assert set(caught.value.errors) == {"name"}


def test_institution_name_is_unique_per_region(haikou_staff, hainan_staff):
    first = create_institution(haikou_staff, "同名学校", "460100", False)
    with pytest.raises(Conflict) as caught:
        create_institution(haikou_staff, "同名学校", "460100", True)
    assert caught.value.payload["id"] == first.id
    # The same name in another region is another institution.
    assert create_institution(hainan_staff, "同名学校", "460200", False).id != first.id


# Courses --------------------------------------------------------------------------------
def test_create_course_upper_cases_the_code_and_audits(haikou_staff):
    course = create_course(haikou_staff, "ecom-1", "电子商务", "skill", 60, name_en="E-commerce")
    assert (course.code, course.kind, course.hours, course.name_en) == (
        "ECOM-1",
        "skill",
        60,
        "E-commerce",
    )
    [entry] = audit_entries("course.create")
    assert entry.after["code"] == "ECOM-1"


def test_course_code_is_unique(haikou_staff):
    with pytest.raises(Conflict) as caught:
        create_course(haikou_staff, "syb", "SYB again", "SYB", 80)
    assert caught.value.payload["id"] == get_course("SYB").id


@pytest.mark.parametrize(
    ("fields", "bad_field"),
    [
        ({"code": ""}, "code"),
        ({"code": "has space"}, "code"),
        ({"code": "X" * 21}, "code"),
        ({"name": ""}, "name"),
        ({"kind": "MBA"}, "kind"),
        ({"hours": 0}, "hours"),
        ({"hours": 2001}, "hours"),
        ({"hours": True}, "hours"),
        ({"name_en": "e" * 101}, "name_en"),
    ],
)
def test_bad_courses_are_refused_by_field(haikou_staff, fields, bad_field):
    values = {"code": "NEW1", "name": "新课程", "kind": "skill", "hours": 40}
    with pytest.raises(ValidationFailed) as caught:
        create_course(haikou_staff, **(values | fields))
    assert set(caught.value.errors) == {bad_field}
    assert db.session.scalar(select(Course).where(Course.code == "NEW1")) is None


# Cohorts --------------------------------------------------------------------------------
def cohort_values(institution, **changes):
    values = {
        "course_id": get_course("SYB").id,
        "institution_id": institution.id,
        "region_code": institution.region_code,
        "starts_on": date(2026, 9, 1),
        "ends_on": date(2026, 9, 10),
        "capacity": 25,
        "name": "2026 秋季班",
    }
    return values | changes


def test_create_cohort_is_audited(haikou_staff):
    institution = make_institution(region_code="460100")
    cohort = create_cohort(haikou_staff, **cohort_values(institution))
    assert (cohort.capacity, cohort.name, cohort.course.code) == (25, "2026 秋季班", "SYB")
    [entry] = audit_entries("cohort.create")
    assert entry.entity_id == str(cohort.id)
    assert entry.region_code == "460100"
    assert entry.after["starts_on"] == "2026-09-01"


def test_haikou_staff_cannot_open_a_cohort_in_sanya(haikou_staff):
    sanya_institution = make_institution(region_code="460200")
    with pytest.raises(ValidationFailed) as caught:
        create_cohort(haikou_staff, **cohort_values(sanya_institution))
    assert set(caught.value.errors) == {"region_code", "institution_id"}
    haikou_institution = make_institution(region_code="460100")
    with pytest.raises(ValidationFailed) as caught:
        create_cohort(haikou_staff, **cohort_values(haikou_institution, region_code="460200"))
    assert set(caught.value.errors) == {"region_code"}
    assert db.session.scalar(select(Cohort)) is None


def test_province_staff_may_use_a_city_institution_elsewhere_in_the_province(hainan_staff):
    haikou_institution = make_institution(region_code="460100")
    cohort = create_cohort(hainan_staff, **cohort_values(haikou_institution, region_code="460200"))
    assert cohort.region_code == "460200"


def test_institution_and_cohort_share_a_province(db_session):
    admin = make_user(role="admin", region_code="460000")
    haikou_institution = make_institution(region_code="460100")
    with pytest.raises(ValidationFailed) as caught:
        create_cohort(admin, **cohort_values(haikou_institution, region_code="310110"))
    assert set(caught.value.errors) == {"institution_id"}


@pytest.mark.parametrize(
    ("changes", "bad_field"),
    [
        ({"ends_on": date(2026, 8, 31)}, "ends_on"),
        ({"starts_on": None}, "starts_on"),
        ({"starts_on": date(1999, 12, 31)}, "starts_on"),
        ({"capacity": 0}, "capacity"),
        ({"capacity": 1001}, "capacity"),
        ({"course_id": 999_999}, "course_id"),
        ({"course_id": None}, "course_id"),
        ({"institution_id": 999_999}, "institution_id"),
        ({"region_code": "999999"}, "region_code"),
        ({"name": "班" * 101}, "name"),
    ],
)
def test_bad_cohorts_are_refused_by_field(haikou_staff, changes, bad_field):
    institution = make_institution(region_code="460100")
    with pytest.raises(ValidationFailed) as caught:
        create_cohort(haikou_staff, **cohort_values(institution, **changes))
    assert set(caught.value.errors) == {bad_field}


def test_a_one_day_cohort_is_fine(haikou_staff):
    institution = make_institution(region_code="460100")
    day = date(2026, 9, 1)
    cohort = create_cohort(
        haikou_staff, **cohort_values(institution, starts_on=day, ends_on=day, capacity=1)
    )
    assert cohort.starts_on == cohort.ends_on


# Enrollments ----------------------------------------------------------------------------
def test_enroll_founder_is_audited(haikou_staff):
    cohort = make_cohort(region_code="460100")
    founder = make_founder(region_code="460100")
    enrollment = enroll_founder(haikou_staff, cohort, founder.id, as_of=AS_OF)
    assert (enrollment.cohort_id, enrollment.founder_id) == (cohort.id, founder.id)
    assert enrollment.enrolled_on == AS_OF
    assert enrollment.result is None
    [entry] = audit_entries("enrollment.create")
    assert entry.entity_id == str(enrollment.id)
    assert entry.region_code == "460100"
    assert entry.after["founder_id"] == founder.id


def test_a_founder_is_enrolled_once_per_cohort(haikou_staff):
    cohort = make_cohort(region_code="460100")
    founder = make_founder(region_code="460100")
    first = enroll_founder(haikou_staff, cohort, founder.id, as_of=AS_OF)
    with pytest.raises(Conflict) as caught:
        enroll_founder(haikou_staff, cohort, founder.id, as_of=AS_OF)
    assert caught.value.payload["id"] == first.id
    # Another cohort is fine.
    other = make_cohort(region_code="460100")
    assert enroll_founder(haikou_staff, other, founder.id, as_of=AS_OF).cohort_id == other.id


def test_a_full_cohort_refuses_enrollment(haikou_staff):
    cohort = make_cohort(region_code="460100", capacity=2)
    make_enrollment(cohort)
    make_enrollment(cohort, result="dropped", completed_on=date(2026, 3, 3))  # keeps its seat
    founder = make_founder(region_code="460100")
    with pytest.raises(Conflict) as caught:
        enroll_founder(haikou_staff, cohort, founder.id, as_of=AS_OF)
    assert caught.value.payload == {"capacity": 2}
    assert "2" in caught.value.message
    count = db.session.scalars(select(Enrollment).where(Enrollment.cohort_id == cohort.id))
    assert len(list(count)) == 2


def test_an_already_enrolled_founder_of_a_full_cohort_hears_about_the_duplicate(haikou_staff):
    cohort = make_cohort(region_code="460100", capacity=1)
    enrollment = make_enrollment(cohort)
    with pytest.raises(Conflict) as caught:
        enroll_founder(haikou_staff, cohort, enrollment.founder_id, as_of=AS_OF)
    assert caught.value.payload == {"id": enrollment.id}


def test_haikou_staff_cannot_enroll_a_sanya_founder(haikou_staff, hainan_staff):
    cohort = make_cohort(region_code="460100")
    sanya_founder = make_founder(region_code="460200")
    with pytest.raises(ValidationFailed) as caught:
        enroll_founder(haikou_staff, cohort, sanya_founder.id, as_of=AS_OF)
    assert set(caught.value.errors) == {"founder_id"}
    assert audit_entries("enrollment.create") == []
    # Province staff look after both cities.
    assert enroll_founder(hainan_staff, cohort, sanya_founder.id, as_of=AS_OF).id


@pytest.mark.parametrize("founder_id", [999_999_999, 0, -1, 2**40, None, "1"])
def test_unknown_founders_are_a_field_error(haikou_staff, founder_id):
    cohort = make_cohort(region_code="460100")
    with pytest.raises(ValidationFailed) as caught:
        enroll_founder(haikou_staff, cohort, founder_id, as_of=AS_OF)
    assert set(caught.value.errors) == {"founder_id"}


# Results --------------------------------------------------------------------------------
def test_record_a_pass_with_certificate_is_audited(haikou_staff):
    cohort = make_cohort(region_code="460100")
    enrollment = make_enrollment(cohort)
    record_result(
        haikou_staff,
        enrollment,
        result="passed",
        completed_on=date(2026, 3, 13),
        certificate_no=" SYB-2026-001 ",
        attendance=80,
        as_of=AS_OF,
    )
    assert (enrollment.result, enrollment.certificate_no, enrollment.attendance) == (
        "passed",
        "SYB-2026-001",
        80,
    )
    [entry] = audit_entries("enrollment.result")
    assert entry.region_code == "460100"
    assert entry.before == {
        "result": None,
        "completed_on": None,
        "certificate_no": None,
        "attendance": 0,
    }
    assert entry.after == {
        "result": "passed",
        "completed_on": "2026-03-13",
        "certificate_no": "SYB-2026-001",
        "attendance": 80,
    }


@pytest.mark.parametrize(
    ("changes", "bad_field"),
    [
        ({"completed_on": date(2026, 3, 1)}, "completed_on"),  # before the cohort starts
        ({"completed_on": date(2026, 11, 23)}, "completed_on"),  # after as_of
        ({"completed_on": None}, "completed_on"),
        ({"result": "absent"}, "result"),
        ({"result": None}, "result"),
        ({"result": "failed", "certificate_no": "C-1"}, "certificate_no"),
        ({"result": "dropped", "certificate_no": "C-1"}, "certificate_no"),
        ({"certificate_no": "C" * 41}, "certificate_no"),
        ({"attendance": -1}, "attendance"),
        ({"attendance": 81}, "attendance"),  # SYB has 80 hours
    ],
)
def test_bad_results_are_refused_by_field(haikou_staff, changes, bad_field):
    cohort = make_cohort(region_code="460100")
    enrollment = make_enrollment(cohort)
    values = {"result": "passed", "completed_on": date(2026, 3, 13), "certificate_no": None}
    with pytest.raises(ValidationFailed) as caught:
        record_result(haikou_staff, enrollment, **(values | changes), as_of=AS_OF)
    assert set(caught.value.errors) == {bad_field}
    assert enrollment.result is None
    assert audit_entries("enrollment.result") == []


def test_completion_on_the_first_day_and_today_is_fine(haikou_staff):
    cohort = make_cohort(region_code="460100")
    first, second = make_enrollment(cohort), make_enrollment(cohort)
    record_result(haikou_staff, first, result="dropped", completed_on=cohort.starts_on, as_of=AS_OF)
    record_result(haikou_staff, second, result="passed", completed_on=AS_OF, as_of=AS_OF)
    assert (first.result, second.result) == ("dropped", "passed")


def test_a_certificate_number_is_unique(haikou_staff):
    cohort = make_cohort(region_code="460100")
    make_enrollment(cohort, result="passed", completed_on=date(2026, 3, 13), certificate_no="SYB-7")
    enrollment = make_enrollment(cohort)
    with pytest.raises(Conflict):
        record_result(
            haikou_staff,
            enrollment,
            result="passed",
            completed_on=date(2026, 3, 13),
            certificate_no="SYB-7",
            as_of=AS_OF,
        )
    assert enrollment.certificate_no is None


def test_a_result_may_be_corrected_and_the_certificate_goes_with_the_pass(haikou_staff):
    cohort = make_cohort(region_code="460100")
    enrollment = make_enrollment(
        cohort, result="passed", completed_on=date(2026, 3, 13), certificate_no="SYB-8"
    )
    record_result(
        haikou_staff, enrollment, result="failed", completed_on=date(2026, 3, 13), as_of=AS_OF
    )
    assert (enrollment.result, enrollment.certificate_no) == ("failed", None)
    [entry] = audit_entries("enrollment.result")
    assert entry.before == {"result": "passed", "certificate_no": "SYB-8"}
    assert entry.after == {"result": "failed", "certificate_no": None}


def test_recording_the_same_result_again_changes_nothing(haikou_staff):
    cohort = make_cohort(region_code="460100")
    enrollment = make_enrollment(cohort, result="failed", completed_on=date(2026, 3, 13))
    record_result(
        haikou_staff, enrollment, result="failed", completed_on=date(2026, 3, 13), as_of=AS_OF
    )
    assert audit_entries("enrollment.result") == []


# The roster -----------------------------------------------------------------------------
def roster_of(cohort, count):
    return [make_enrollment(cohort) for _ in range(count)]


def test_roster_records_the_whole_class(haikou_staff):
    cohort = make_cohort(region_code="460100")
    first, second, third, fourth = roster_of(cohort, 4)
    done = date(2026, 3, 13)
    changed = record_roster_results(
        haikou_staff,
        cohort,
        [
            ResultRow(first.id, "passed", done, "SYB-1", 80),
            ResultRow(second.id, "failed", done, None, 60),
            ResultRow(third.id, "dropped", date(2026, 3, 4), "", 8),
            ResultRow(fourth.id, None, None, None, None),  # nothing yet
        ],
        as_of=AS_OF,
    )
    assert changed == 3
    results = [(e.result, e.certificate_no, e.attendance) for e in (first, second, third, fourth)]
    assert results == [
        ("passed", "SYB-1", 80),
        ("failed", None, 60),
        ("dropped", None, 8),
        (None, None, 0),
    ]
    assert len(audit_entries("enrollment.result")) == 3


def test_roster_is_all_or_nothing(haikou_staff):
    cohort = make_cohort(region_code="460100")
    first, second, third = roster_of(cohort, 3)
    done = date(2026, 3, 13)
    with pytest.raises(ValidationFailed) as caught:
        record_roster_results(
            haikou_staff,
            cohort,
            [
                ResultRow(first.id, "passed", done, "SYB-1", 80),
                ResultRow(second.id, "passed", date(2026, 1, 1), None, 99),
                ResultRow(third.id, "failed", done, "SYB-3", None),
            ],
            as_of=AS_OF,
        )
    assert caught.value.errors.keys() == {
        "results-1-completed_on",
        "results-1-attendance",
        "results-2-certificate_no",
    }
    for enrollment in (first, second, third):
        db.session.refresh(enrollment)
        assert enrollment.result is None
    assert audit_entries("enrollment.result") == []


def test_roster_finds_certificate_numbers_used_twice_or_elsewhere(haikou_staff):
    elsewhere = make_cohort(region_code="460100")
    make_enrollment(elsewhere, result="passed", completed_on=date(2026, 3, 13), certificate_no="X9")
    cohort = make_cohort(region_code="460100")
    first, second, third = roster_of(cohort, 3)
    done = date(2026, 3, 13)
    with pytest.raises(ValidationFailed) as caught:
        record_roster_results(
            haikou_staff,
            cohort,
            [
                ResultRow(first.id, "passed", done, "A1"),
                ResultRow(second.id, "passed", done, "A1"),
                ResultRow(third.id, "passed", done, "X9"),
            ],
            as_of=AS_OF,
        )
    assert caught.value.errors.keys() == {"results-1-certificate_no"}
    with pytest.raises(ValidationFailed) as caught:
        record_roster_results(
            haikou_staff,
            cohort,
            [
                ResultRow(first.id, "passed", done, "A1"),
                ResultRow(third.id, "passed", done, "X9"),
            ],
            as_of=AS_OF,
        )
    assert caught.value.errors.keys() == {"results-1-certificate_no"}


def test_roster_may_swap_two_certificate_numbers(haikou_staff):
    cohort = make_cohort(region_code="460100")
    done = date(2026, 3, 13)
    first = make_enrollment(cohort, result="passed", completed_on=done, certificate_no="S-1")
    second = make_enrollment(cohort, result="passed", completed_on=done, certificate_no="S-2")
    changed = record_roster_results(
        haikou_staff,
        cohort,
        [ResultRow(first.id, "passed", done, "S-2"), ResultRow(second.id, "passed", done, "S-1")],
        as_of=AS_OF,
    )
    assert changed == 2
    assert (first.certificate_no, second.certificate_no) == ("S-2", "S-1")


def test_roster_refuses_other_cohorts_enrollments_and_removed_results(haikou_staff):
    cohort = make_cohort(region_code="460100")
    other = make_enrollment(make_cohort(region_code="460100"))
    done = date(2026, 3, 13)
    recorded = make_enrollment(cohort, result="passed", completed_on=done)
    with pytest.raises(ValidationFailed) as caught:
        record_roster_results(
            haikou_staff,
            cohort,
            [
                ResultRow(other.id, "passed", done),
                ResultRow(recorded.id, None, None),
                ResultRow(recorded.id, "passed", done),
            ],
            as_of=AS_OF,
        )
    assert caught.value.errors.keys() == {
        "results-0-enrollment_id",
        "results-1-result",
        "results-2-enrollment_id",
    }
    assert other.result is None


def test_roster_records_attendance_before_any_result(haikou_staff):
    cohort = make_cohort(region_code="460100")
    [enrollment] = roster_of(cohort, 1)
    changed = record_roster_results(
        haikou_staff, cohort, [ResultRow(enrollment.id, None, None, None, 24)], as_of=AS_OF
    )
    assert changed == 1
    assert (enrollment.attendance, enrollment.result) == (24, None)
    [entry] = audit_entries("enrollment.attendance")
    assert entry.before == {"attendance": 0}
    assert entry.after == {"attendance": 24}
    with pytest.raises(ValidationFailed) as caught:
        record_roster_results(
            haikou_staff,
            cohort,
            [ResultRow(enrollment.id, None, date(2026, 3, 13), "C-1", None)],
            as_of=AS_OF,
        )
    assert caught.value.errors.keys() == {"results-0-result", "results-0-certificate_no"}
