"""Reads of training records for pages, the API and other features' filters."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, not_, select

from app.training.models import ENTREPRENEURSHIP_KINDS, Cohort, Course, Enrollment, TrainingResult


def _enrollments_of(founder_id_column: ColumnElement):
    return select(Enrollment.id).where(Enrollment.founder_id == founder_id_column)


def _passed_entrepreneurship_of(founder_id_column: ColumnElement):
    return (
        select(Enrollment.id)
        .join(Cohort, Cohort.id == Enrollment.cohort_id)
        .join(Course, Course.id == Cohort.course_id)
        .where(
            Enrollment.founder_id == founder_id_column,
            Enrollment.result == TrainingResult.PASSED,
            Course.kind.in_(ENTREPRENEURSHIP_KINDS),
        )
    )


def training_status_clause(status: str, founder_id_column: ColumnElement) -> ColumnElement[bool]:
    """WHERE clause for the founder list's training filter (EXISTS subqueries, indexed).

    - not_enrolled: never enrolled in any course;
    - in_training: has an enrollment without a result yet;
    - passed: passed an entrepreneurship course (GYB/SYB/IYB/EYB);
    - not_passed: enrolled, no open enrollment, and never passed entrepreneurship training.
    """
    any_enrollment = exists(_enrollments_of(founder_id_column))
    open_enrollment = exists(_enrollments_of(founder_id_column).where(Enrollment.result.is_(None)))
    passed = exists(_passed_entrepreneurship_of(founder_id_column))
    if status == "not_enrolled":
        return not_(any_enrollment)
    if status == "in_training":
        return open_enrollment
    if status == "passed":
        return passed
    if status == "not_passed":
        return and_(any_enrollment, not_(open_enrollment), not_(passed))
    raise ValueError(f"unknown training status {status!r}")


def list_enrollments_of_founder(founder_id: int) -> list[Enrollment]:
    """A founder's enrollments with their cohort, course and institution, oldest first."""
    from app.extensions import db

    stmt = (
        select(Enrollment)
        .join(Cohort, Cohort.id == Enrollment.cohort_id)
        .where(Enrollment.founder_id == founder_id)
        .order_by(Cohort.starts_on, Enrollment.id)
    )
    return list(db.session.scalars(stmt))
