"""Training test data: institutions, cohorts and enrollments, inserted directly (flushed)."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.founders.models import Founder
from app.training.models import Cohort, Course, Enrollment, Institution
from tests.factories import make_founder

_sequence = itertools.count(1)


def get_course(code: str = "SYB") -> Course:
    """A course of the catalogue (GYB, SYB, IYB and EYB are seeded by the migration)."""
    return db.session.scalar(select(Course).where(Course.code == code))


def make_course(*, kind: str = "skill", hours: int = 40, **fields: Any) -> Course:
    """A new course with a unique code."""
    values = {"code": f"SK{next(_sequence)}", "name": "电商技能", "kind": kind, "hours": hours}
    course = Course(**(values | fields))
    db.session.add(course)
    db.session.flush()
    return course


def make_institution(*, region_code: str = "460100", **fields: Any) -> Institution:
    """A designated institution with a unique name in its region."""
    values = {"name": f"培训学校{next(_sequence)}", "region_code": region_code, "designated": True}
    institution = Institution(**(values | fields))
    db.session.add(institution)
    db.session.flush()
    return institution


def make_cohort(
    *,
    region_code: str = "460100",
    institution: Institution | None = None,
    course: Course | None = None,
    **fields: Any,
) -> Cohort:
    """A cohort of SYB (by default) at a new institution of the same region, two weeks long."""
    institution = institution or make_institution(region_code=region_code)
    course = course or get_course("SYB")
    values = {
        "course_id": course.id,
        "institution_id": institution.id,
        "region_code": region_code,
        "name": "",
        "starts_on": date(2026, 3, 2),
        "ends_on": date(2026, 3, 13),
        "capacity": 30,
    }
    values = values | fields
    if "starts_on" in fields and "ends_on" not in fields:
        values["ends_on"] = values["starts_on"] + timedelta(days=11)
    cohort = Cohort(**values)
    db.session.add(cohort)
    db.session.flush()
    return cohort


def make_enrollment(cohort: Cohort, founder: Founder | None = None, **fields: Any) -> Enrollment:
    """A founder (new, of the cohort's region, by default) enrolled in the cohort."""
    founder = founder or make_founder(region_code=cohort.region_code)
    values = {
        "cohort_id": cohort.id,
        "founder_id": founder.id,
        "enrolled_on": cohort.starts_on,
        "attendance": 0,
    }
    enrollment = Enrollment(**(values | fields))
    db.session.add(enrollment)
    db.session.flush()
    return enrollment
