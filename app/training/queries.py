"""Reads of training records for pages, the API and other features' filters.

Scope: institutions and cohorts belong to their region; an enrollment is seen through its
cohort's region (a province's staff may enroll a founder of one city in a class in
another, and the class's staff then see that founder's name on the roster). Courses are a
catalogue shared by every region. Figures are counted in SQL (GROUP BY); only the rates
are divided here, from those counts.

Two kinds of institution figures: `institution_statistics` counts the enrollments of its
cohorts in the viewer's area (every course kind: enrolled, passed, failed, dropped,
certificates); `institution_outcomes` is its rating on how its trainees did (SPEC §6,
D46), the KPI engine's figures broken down by institution (`Dimension.INSTITUTION`) as of
a date: entrepreneurship pass rate, opening rates at 3 and 6 months, jobs per operating
business and 12-month survival, over the founders of the viewer's area. A founder's
opening, businesses and survival count for the institution of the founder's first passed
entrepreneurship cohort.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, and_, case, exists, func, not_, select
from sqlalchemy.orm import joinedload

from app.core.dates import today_in_china
from app.core.errors import NotFound
from app.core.permissions import Role, scoped
from app.extensions import db
from app.reports.dimensions import Dimension
from app.reports.kpis import group_breakdown, survival_breakdown
from app.training.models import (
    ENTREPRENEURSHIP_KINDS,
    Cohort,
    Course,
    CourseKind,
    Enrollment,
    Institution,
    TrainingResult,
)


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
    stmt = (
        select(Enrollment)
        .join(Cohort, Cohort.id == Enrollment.cohort_id)
        .where(Enrollment.founder_id == founder_id)
        .order_by(Cohort.starts_on, Enrollment.id)
    )
    return list(db.session.scalars(stmt))


# Institutions ---------------------------------------------------------------------------
def list_institutions_stmt(
    user: Any, *, q: str | None = None, region_code: str | None = None
) -> Select:
    """Institutions in the user's scope, by region then name; `q` matches the name's start."""
    stmt = scoped(select(Institution), user, region_column=Institution.region_code)
    if q:
        stmt = stmt.where(Institution.name.startswith(q, autoescape=True))
    if region_code:
        stmt = stmt.where(Institution.region_code == region_code)
    return stmt.order_by(Institution.region_code, Institution.name, Institution.id)


def list_institutions(user: Any) -> list[Institution]:
    """Every institution in the user's scope (for select boxes)."""
    return list(db.session.scalars(list_institutions_stmt(user)))


def get_institution_in_scope(user: Any, institution_id: int) -> Institution:
    """The institution if the user may see it; 404 otherwise."""
    stmt = scoped(
        select(Institution).where(Institution.id == institution_id),
        user,
        region_column=Institution.region_code,
    )
    institution = db.session.scalar(stmt)
    if institution is None:
        raise NotFound(_("No such institution in your area."))
    return institution


# Courses --------------------------------------------------------------------------------
_KIND_ORDER = case(
    {kind.value: position for position, kind in enumerate(CourseKind)}, value=Course.kind
)


def list_courses_stmt(*, kind: str | None = None) -> Select:
    """The course catalogue: GYB, SYB, IYB, EYB, then skills courses, each by code."""
    stmt = select(Course).order_by(_KIND_ORDER, Course.code)
    if kind:
        stmt = stmt.where(Course.kind == kind)
    return stmt


def list_courses() -> list[Course]:
    """The whole catalogue (for select boxes)."""
    return list(db.session.scalars(list_courses_stmt()))


# Cohorts --------------------------------------------------------------------------------
@dataclass(frozen=True)
class CohortFilters:
    """What the cohort list and the API filter by; every field optional."""

    region_code: str | None = None
    kind: str | None = None
    institution_id: int | None = None
    starts_from: date | None = None
    starts_to: date | None = None

    @classmethod
    def from_form(cls, form: Any) -> CohortFilters:
        """Read the filter form's cleaned values (empty boxes mean "any")."""
        return cls(**{name: form[name].data or None for name in cls.__dataclass_fields__})


def list_cohorts_stmt(user: Any, filters: CohortFilters = CohortFilters()) -> Select:
    """Cohorts in the user's scope matching `filters`, latest start first."""
    stmt = scoped(select(Cohort), user, region_column=Cohort.region_code)
    if filters.region_code:
        stmt = stmt.where(Cohort.region_code == filters.region_code)
    if filters.kind:
        of_kind = select(Course.id).where(Course.kind == filters.kind)
        stmt = stmt.where(Cohort.course_id.in_(of_kind))
    if filters.institution_id:
        stmt = stmt.where(Cohort.institution_id == filters.institution_id)
    if filters.starts_from:
        stmt = stmt.where(Cohort.starts_on >= filters.starts_from)
    if filters.starts_to:
        stmt = stmt.where(Cohort.starts_on <= filters.starts_to)
    return stmt.order_by(Cohort.starts_on.desc(), Cohort.id.desc())


def get_cohort_in_scope(user: Any, cohort_id: int) -> Cohort:
    """The cohort if the user may see it; 404 otherwise."""
    stmt = scoped(
        select(Cohort).where(Cohort.id == cohort_id), user, region_column=Cohort.region_code
    )
    cohort = db.session.scalar(stmt)
    if cohort is None:
        raise NotFound(_("No such cohort in your area."))
    return cohort


def list_roster(cohort_id: int) -> list[Enrollment]:
    """The cohort's enrollments with their founders, in enrollment order."""
    stmt = (
        select(Enrollment)
        .options(joinedload(Enrollment.founder))
        .where(Enrollment.cohort_id == cohort_id)
        .order_by(Enrollment.id)
    )
    return list(db.session.scalars(stmt))


def count_seats_taken(cohort_id: int) -> int:
    """Seats taken in a cohort: every enrollment, whatever its result."""
    stmt = select(func.count(Enrollment.id)).where(Enrollment.cohort_id == cohort_id)
    return int(db.session.scalar(stmt) or 0)


def get_enrollment_in_scope(user: Any, enrollment_id: int) -> Enrollment:
    """The enrollment if the user may see its cohort; 404 otherwise."""
    stmt = scoped(
        select(Enrollment)
        .join(Cohort, Cohort.id == Enrollment.cohort_id)
        .where(Enrollment.id == enrollment_id),
        user,
        region_column=Cohort.region_code,
    )
    enrollment = db.session.scalar(stmt)
    if enrollment is None:
        raise NotFound(_("No such enrollment in your area."))
    return enrollment


# Statistics -----------------------------------------------------------------------------
def rate(numerator: int, denominator: int) -> float | None:
    """A share rounded half-up to 4 places, or None when there is nothing to divide by."""
    if not denominator:
        return None
    share = (Decimal(numerator) / Decimal(denominator)).quantize(
        Decimal("0.0001"), rounding=ROUND_HALF_UP
    )
    return float(share)


@dataclass(frozen=True)
class TrainingStatistics:
    """Outcome counts of a set of enrollments (a cohort, an institution) and their rates.

    pass rate = passed / (passed + failed): dropped founders did not sit the assessment;
    certificate rate = certificates / passed. How the graduates did afterwards (SPEC §6's
    opening rate) is `InstitutionOutcome`.
    """

    enrolled: int = 0
    passed: int = 0
    failed: int = 0
    dropped: int = 0
    certificates: int = 0
    cohorts: int = 0

    @property
    def pass_rate(self) -> float | None:
        """Passed over assessed (passed + failed)."""
        return rate(self.passed, self.passed + self.failed)

    @property
    def certificate_rate(self) -> float | None:
        """Certificates over passed."""
        return rate(self.certificates, self.passed)

    def as_json(self) -> dict[str, Any]:
        """The API's view of the figures."""
        return {
            "enrolled": self.enrolled,
            "passed": self.passed,
            "failed": self.failed,
            "dropped": self.dropped,
            "certificates": self.certificates,
            "pass_rate": self.pass_rate,
            "certificate_rate": self.certificate_rate,
        }


def _outcome_columns() -> list[ColumnElement]:
    def counted(result: TrainingResult) -> ColumnElement:
        return func.coalesce(func.sum(case((Enrollment.result == result, 1), else_=0)), 0)

    return [
        func.count(Enrollment.id).label("enrolled"),
        counted(TrainingResult.PASSED).label("passed"),
        counted(TrainingResult.FAILED).label("failed"),
        counted(TrainingResult.DROPPED).label("dropped"),
        func.count(Enrollment.certificate_no).label("certificates"),
    ]


def _statistics(row: Any, cohorts: int = 0) -> TrainingStatistics:
    return TrainingStatistics(
        enrolled=int(row.enrolled),
        passed=int(row.passed),
        failed=int(row.failed),
        dropped=int(row.dropped),
        certificates=int(row.certificates),
        cohorts=cohorts,
    )


def cohort_statistics(cohort_ids: Iterable[int]) -> dict[int, TrainingStatistics]:
    """Figures per cohort, for the given cohorts (those without enrollments get zeros)."""
    ids = sorted(set(cohort_ids))
    if not ids:
        return {}
    stmt = (
        select(Enrollment.cohort_id, *_outcome_columns())
        .where(Enrollment.cohort_id.in_(ids))
        .group_by(Enrollment.cohort_id)
    )
    found = {row.cohort_id: _statistics(row, 1) for row in db.session.execute(stmt)}
    return {cohort_id: found.get(cohort_id, TrainingStatistics(cohorts=1)) for cohort_id in ids}


def institution_statistics(
    institution_ids: Iterable[int], user: Any = None
) -> dict[int, TrainingStatistics]:
    """Figures per institution over its cohorts — with `user`, only the cohorts in the
    user's area, so the figures agree with the cohort list beside them."""
    ids = sorted(set(institution_ids))
    if not ids:
        return {}
    stmt = (
        select(
            Cohort.institution_id,
            func.count(func.distinct(Cohort.id)).label("cohorts"),
            *_outcome_columns(),
        )
        .select_from(Cohort)
        .outerjoin(Enrollment, Enrollment.cohort_id == Cohort.id)
        .where(Cohort.institution_id.in_(ids))
        .group_by(Cohort.institution_id)
    )
    if user is not None:
        stmt = scoped(stmt, user, region_column=Cohort.region_code)
    found = {
        row.institution_id: _statistics(row, int(row.cohorts)) for row in db.session.execute(stmt)
    }
    return {
        institution_id: found.get(institution_id, TrainingStatistics()) for institution_id in ids
    }


@dataclass(frozen=True)
class InstitutionOutcome:
    """How an institution's trainees did (SPEC §6, §11), as the KPI engine counts it by
    institution: the entrepreneurship pass rate; of the founders whose first passed
    entrepreneurship training was there, the share who opened a business within 3 and 6
    months (among those trained at least that long ago); jobs per operating business and
    the 12-month survival of those founders' businesses. Rates are None without data."""

    passed: int = 0
    failed: int = 0
    pass_rate: float | None = None
    eligible_3m: int = 0
    opened_3m: int = 0
    opening_rate_3m: float | None = None
    eligible_6m: int = 0
    opened_6m: int = 0
    opening_rate_6m: float | None = None
    operating: int = 0
    jobs: int = 0
    jobs_per_business: float | None = None
    businesses: int = 0
    survival_12m: float | None = None

    def as_json(self) -> dict[str, Any]:
        """The API's `outcomes` object."""
        return {
            "passed": self.passed,
            "failed": self.failed,
            "pass_rate": self.pass_rate,
            "eligible_3m": self.eligible_3m,
            "opened_3m": self.opened_3m,
            "opening_rate_3m": self.opening_rate_3m,
            "eligible_6m": self.eligible_6m,
            "opened_6m": self.opened_6m,
            "opening_rate_6m": self.opening_rate_6m,
            "operating": self.operating,
            "jobs": self.jobs,
            "jobs_per_business": self.jobs_per_business,
            "businesses": self.businesses,
            "survival_12m": self.survival_12m,
        }


def outcome_region(user: Any) -> str | None:
    """The region whose founders an institution's rating counts (with its cities): staff
    and officers their own, so each number matches the list it links to; None, every
    region, for administrators and without a user."""
    if getattr(user, "role", None) in (Role.STAFF, Role.OFFICER):
        return user.region_code
    return None


def institution_outcomes(
    institution_ids: Iterable[int], user: Any = None, as_of: date | None = None
) -> dict[int, InstitutionOutcome]:
    """Each institution's rating as of `as_of` (today in China by default) over the
    founders of `user`'s area (see `outcome_region`); every id present."""
    ids = sorted(set(institution_ids))
    if not ids:
        return {}
    as_of = as_of or today_in_china()
    region = outcome_region(user)
    training = group_breakdown("training", region, as_of, Dimension.INSTITUTION)
    opening = group_breakdown("opening", region, as_of, Dimension.INSTITUTION)
    jobs = group_breakdown("jobs", region, as_of, Dimension.INSTITUTION)
    survival = survival_breakdown(region, as_of, Dimension.INSTITUTION)
    outcomes = {}
    for institution_id in ids:
        trained = training.get(institution_id, {})
        opened = opening.get(institution_id, {})
        worked = jobs.get(institution_id, {})
        lasted = survival.get(institution_id, {})
        outcomes[institution_id] = InstitutionOutcome(
            passed=trained.get("passed", 0),
            failed=trained.get("failed", 0),
            pass_rate=trained.get("pass_rate"),
            eligible_3m=opened.get("eligible_3m", 0),
            opened_3m=opened.get("opened_3m", 0),
            opening_rate_3m=opened.get("rate_3m"),
            eligible_6m=opened.get("eligible_6m", 0),
            opened_6m=opened.get("opened_6m", 0),
            opening_rate_6m=opened.get("rate_6m"),
            operating=worked.get("operating", 0),
            jobs=worked.get("jobs", 0),
            jobs_per_business=worked.get("jobs_per_business"),
            businesses=lasted.get("businesses", 0),
            survival_12m=lasted.get("km_12m"),
        )
    return outcomes
