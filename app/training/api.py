"""JSON API: institutions, courses, cohorts, enrollments and results.

Every route needs `training.manage` (centre staff), reads included: training records name
founders, and the permission map has no read-only training permission yet.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from flask_login import current_user

from app.core.api import (
    api_endpoint,
    iso_date,
    json_response,
    read_json_form,
    read_query_form,
    validate_or_raise,
)
from app.core.dates import today_in_china
from app.core.pagination import page_envelope, paginate, read_page_request
from app.core.permissions import Permission, permission_required
from app.extensions import db
from app.training import operations
from app.training.forms import (
    CohortFilterForm,
    CohortForm,
    CourseFilterForm,
    CourseForm,
    EnrollmentForm,
    InstitutionFilterForm,
    InstitutionForm,
    ResultForm,
)
from app.training.models import Cohort, Course, CourseKind, Enrollment, Institution, TrainingResult
from app.training.queries import (
    CohortFilters,
    TrainingStatistics,
    cohort_statistics,
    get_cohort_in_scope,
    get_enrollment_in_scope,
    get_institution_in_scope,
    institution_outcomes,
    institution_statistics,
    list_cohorts_stmt,
    list_courses_stmt,
    list_institutions_stmt,
    list_roster,
)

training_api_bp = Blueprint("api_training", __name__, url_prefix="/api/v1")

DATE = {"type": "string", "format": "date"}
RATE = {"type": "number", "nullable": True, "minimum": 0, "maximum": 1}
STATISTICS_SCHEMA = {
    "type": "object",
    "description": "pass_rate = passed / (passed + failed); certificate_rate = "
    "certificates / passed; null when the denominator is 0",
    "properties": {
        "enrolled": {"type": "integer"},
        "passed": {"type": "integer"},
        "failed": {"type": "integer"},
        "dropped": {"type": "integer"},
        "certificates": {"type": "integer"},
        "pass_rate": RATE,
        "certificate_rate": RATE,
    },
    "required": ["enrolled", "passed", "failed", "dropped", "certificates", "pass_rate"],
}
INSTITUTION_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "region_code": {"type": "string"},
        "designated": {"type": "boolean"},
    },
    "required": ["id", "name", "region_code", "designated"],
}
OUTCOMES_SCHEMA = {
    "type": "object",
    "description": "how the institution's trainees did, the KPI figures by institution "
    "over the founders of the caller's area as of today (D46): pass_rate = passed / "
    "(passed + failed) in its entrepreneurship classes; opening_rate_Nm = opened_Nm / "
    "eligible_Nm, founders whose first passed entrepreneurship training was there and "
    "who opened a business within N months; jobs_per_business = jobs / operating "
    "businesses of those founders; survival_12m = Kaplan–Meier 12-month survival of "
    "their businesses; rates null when there is nothing to divide or estimate from",
    "properties": {
        "passed": {"type": "integer"},
        "failed": {"type": "integer"},
        "pass_rate": RATE,
        "eligible_3m": {"type": "integer"},
        "opened_3m": {"type": "integer"},
        "opening_rate_3m": RATE,
        "eligible_6m": {"type": "integer"},
        "opened_6m": {"type": "integer"},
        "opening_rate_6m": RATE,
        "operating": {"type": "integer"},
        "jobs": {"type": "integer"},
        "jobs_per_business": {"type": "number", "nullable": True, "minimum": 0},
        "businesses": {"type": "integer"},
        "survival_12m": RATE,
    },
    "required": [
        "passed",
        "failed",
        "pass_rate",
        "eligible_3m",
        "opened_3m",
        "opening_rate_3m",
        "eligible_6m",
        "opened_6m",
        "opening_rate_6m",
        "operating",
        "jobs",
        "jobs_per_business",
        "businesses",
        "survival_12m",
    ],
}
INSTITUTION_DETAIL_SCHEMA = {
    "type": "object",
    "properties": {
        **INSTITUTION_SCHEMA["properties"],
        "cohorts": {"type": "integer"},
        "statistics": STATISTICS_SCHEMA,
        "outcomes": OUTCOMES_SCHEMA,
    },
    "required": [*INSTITUTION_SCHEMA["required"], "cohorts", "statistics", "outcomes"],
}
COURSE_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "code": {"type": "string"},
        "name": {"type": "string"},
        "name_en": {"type": "string", "nullable": True},
        "kind": {"type": "string", "enum": [kind.value for kind in CourseKind]},
        "hours": {"type": "integer"},
    },
    "required": ["id", "code", "name", "kind", "hours"],
}
ENROLLMENT_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "cohort_id": {"type": "integer"},
        "founder_id": {"type": "integer"},
        "founder_name": {"type": "string"},
        "enrolled_on": DATE,
        "attendance": {"type": "integer"},
        "result": {
            "type": "string",
            "nullable": True,
            "enum": [*(result.value for result in TrainingResult), None],
        },
        "completed_on": {**DATE, "nullable": True},
        "certificate_no": {"type": "string", "nullable": True},
    },
    "required": ["id", "cohort_id", "founder_id", "enrolled_on", "result", "completed_on"],
}
COHORT_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "course_id": {"type": "integer"},
        "course_code": {"type": "string"},
        "kind": {"type": "string", "enum": [kind.value for kind in CourseKind]},
        "institution_id": {"type": "integer"},
        "region_code": {"type": "string"},
        "starts_on": DATE,
        "ends_on": DATE,
        "capacity": {"type": "integer"},
        "seats_taken": {"type": "integer"},
        "statistics": STATISTICS_SCHEMA,
    },
    "required": [
        "id",
        "course_id",
        "institution_id",
        "region_code",
        "starts_on",
        "ends_on",
        "capacity",
        "seats_taken",
    ],
}
COHORT_DETAIL_SCHEMA = {
    "type": "object",
    "properties": {
        **COHORT_SCHEMA["properties"],
        "roster": {"type": "array", "items": ENROLLMENT_SCHEMA},
    },
    "required": [*COHORT_SCHEMA["required"], "roster"],
}


def institution_json(institution: Institution) -> dict[str, Any]:
    """The API's view of an institution."""
    return {
        "id": institution.id,
        "name": institution.name,
        "region_code": institution.region_code,
        "designated": institution.designated,
    }


def course_json(course: Course) -> dict[str, Any]:
    """The API's view of a course."""
    return {
        "id": course.id,
        "code": course.code,
        "name": course.name,
        "name_en": course.name_en,
        "kind": course.kind,
        "hours": course.hours,
    }


def cohort_json(cohort: Cohort, statistics: TrainingStatistics) -> dict[str, Any]:
    """The API's view of a cohort with its figures."""
    return {
        "id": cohort.id,
        "name": cohort.name,
        "course_id": cohort.course_id,
        "course_code": cohort.course.code,
        "kind": cohort.course.kind,
        "institution_id": cohort.institution_id,
        "region_code": cohort.region_code,
        "starts_on": iso_date(cohort.starts_on),
        "ends_on": iso_date(cohort.ends_on),
        "capacity": cohort.capacity,
        "seats_taken": statistics.enrolled,
        "statistics": statistics.as_json(),
    }


def enrollment_json(enrollment: Enrollment) -> dict[str, Any]:
    """The API's view of an enrollment and its result."""
    return {
        "id": enrollment.id,
        "cohort_id": enrollment.cohort_id,
        "founder_id": enrollment.founder_id,
        "founder_name": enrollment.founder.name,
        "enrolled_on": iso_date(enrollment.enrolled_on),
        "attendance": enrollment.attendance,
        "result": enrollment.result,
        "completed_on": iso_date(enrollment.completed_on),
        "certificate_no": enrollment.certificate_no,
    }


# Institutions ---------------------------------------------------------------------------
@training_api_bp.post("/institutions")
@permission_required(Permission.TRAINING_MANAGE)
@api_endpoint(
    "Add a training institution in a region of the caller's area",
    form=InstitutionForm,
    response=INSTITUTION_SCHEMA,
    status=201,
    errors=(409,),
)
def add_institution() -> Any:
    """Staff add an institution; a name already used in that region is a 409."""
    form = read_json_form(InstitutionForm)
    validate_or_raise(form)
    institution = operations.create_institution(
        current_user, form.name.data, form.region_code.data, form.designated.data
    )
    db.session.commit()
    return json_response(institution_json(institution), 201)


@training_api_bp.get("/institutions")
@permission_required(Permission.TRAINING_MANAGE)
@api_endpoint(
    "List training institutions in the caller's area",
    query=InstitutionFilterForm,
    response=INSTITUTION_SCHEMA,
    paginated=True,
)
def list_institutions() -> Any:
    """Institutions in scope, filtered by name start and region."""
    filters = read_query_form(InstitutionFilterForm)
    stmt = list_institutions_stmt(
        current_user, q=filters.q.data, region_code=filters.region_code.data
    )
    pagination = paginate(stmt, read_page_request(request.args))
    return json_response(page_envelope(pagination, institution_json))


@training_api_bp.get("/institutions/<id:institution_id>")
@permission_required(Permission.TRAINING_MANAGE)
@api_endpoint(
    "One institution with its cohorts' pass and certificate figures and how its trainees did",
    response=INSTITUTION_DETAIL_SCHEMA,
)
def institution_detail(institution_id: int) -> Any:
    """An institution in scope, its figures over all its cohorts and its trainees' outcomes."""
    institution = get_institution_in_scope(current_user, institution_id)
    statistics = institution_statistics([institution.id], current_user)[institution.id]
    outcomes = institution_outcomes([institution.id], current_user)[institution.id]
    body = institution_json(institution) | {
        "cohorts": statistics.cohorts,
        "statistics": statistics.as_json(),
        "outcomes": outcomes.as_json(),
    }
    return json_response(body)


# Courses --------------------------------------------------------------------------------
@training_api_bp.post("/courses")
@permission_required(Permission.TRAINING_MANAGE)
@api_endpoint(
    "Add a course to the shared catalogue",
    form=CourseForm,
    response=COURSE_SCHEMA,
    status=201,
    errors=(409,),
)
def add_course() -> Any:
    """Staff add a course; a code already in the catalogue is a 409."""
    form = read_json_form(CourseForm)
    validate_or_raise(form)
    course = operations.create_course(
        current_user,
        form.code.data,
        form.name.data,
        form.kind.data,
        form.hours.data,
        name_en=form.name_en.data,
    )
    db.session.commit()
    return json_response(course_json(course), 201)


@training_api_bp.get("/courses")
@permission_required(Permission.TRAINING_MANAGE)
@api_endpoint(
    "List the course catalogue", query=CourseFilterForm, response=COURSE_SCHEMA, paginated=True
)
def list_courses() -> Any:
    """The catalogue, optionally one kind."""
    filters = read_query_form(CourseFilterForm)
    pagination = paginate(
        list_courses_stmt(kind=filters.kind.data), read_page_request(request.args)
    )
    return json_response(page_envelope(pagination, course_json))


# Cohorts --------------------------------------------------------------------------------
@training_api_bp.post("/cohorts")
@permission_required(Permission.TRAINING_MANAGE)
@api_endpoint(
    "Open a cohort of a course at an institution",
    form=CohortForm,
    response=COHORT_SCHEMA,
    status=201,
)
def add_cohort() -> Any:
    """Staff open a class in a region of their area."""
    form = read_json_form(CohortForm)
    validate_or_raise(form)
    cohort = operations.create_cohort(
        current_user,
        course_id=form.course_id.data,
        institution_id=form.institution_id.data,
        region_code=form.region_code.data,
        starts_on=form.starts_on.data,
        ends_on=form.ends_on.data,
        capacity=form.capacity.data,
        name=form.name.data or "",
    )
    db.session.commit()
    return json_response(cohort_json(cohort, TrainingStatistics(cohorts=1)), 201)


@training_api_bp.get("/cohorts")
@permission_required(Permission.TRAINING_MANAGE)
@api_endpoint(
    "List cohorts in the caller's area",
    query=CohortFilterForm,
    response=COHORT_SCHEMA,
    paginated=True,
)
def list_cohorts() -> Any:
    """Cohorts in scope, filtered by region, course kind, institution and start date."""
    filters = read_query_form(CohortFilterForm)
    stmt = list_cohorts_stmt(current_user, CohortFilters.from_form(filters))
    pagination = paginate(stmt, read_page_request(request.args))
    figures = cohort_statistics(cohort.id for cohort in pagination.items)
    return json_response(page_envelope(pagination, lambda c: cohort_json(c, figures[c.id])))


@training_api_bp.get("/cohorts/<id:cohort_id>")
@permission_required(Permission.TRAINING_MANAGE)
@api_endpoint("One cohort with its roster and results", response=COHORT_DETAIL_SCHEMA)
def cohort_detail(cohort_id: int) -> Any:
    """A cohort in scope, its figures and every enrollment."""
    cohort = get_cohort_in_scope(current_user, cohort_id)
    body = cohort_json(cohort, cohort_statistics([cohort.id])[cohort.id])
    body["roster"] = [enrollment_json(enrollment) for enrollment in list_roster(cohort.id)]
    return json_response(body)


@training_api_bp.post("/cohorts/<id:cohort_id>/enrollments")
@permission_required(Permission.TRAINING_MANAGE)
@api_endpoint(
    "Enroll a founder in a cohort (409 when already enrolled or the cohort is full)",
    form=EnrollmentForm,
    response=ENROLLMENT_SCHEMA,
    status=201,
    errors=(409,),
)
def enroll(cohort_id: int) -> Any:
    """Give a founder of the caller's area a seat in the cohort."""
    cohort = get_cohort_in_scope(current_user, cohort_id)
    form = read_json_form(EnrollmentForm)
    validate_or_raise(form)
    enrollment = operations.enroll_founder(
        current_user, cohort, form.founder_id.data, as_of=today_in_china()
    )
    db.session.commit()
    return json_response(enrollment_json(enrollment), 201)


@training_api_bp.post("/enrollments/<id:enrollment_id>/result")
@permission_required(Permission.TRAINING_MANAGE)
@api_endpoint(
    "Record or correct an enrollment's result (409 when the certificate number is taken)",
    form=ResultForm,
    response=ENROLLMENT_SCHEMA,
    errors=(409,),
)
def record_result(enrollment_id: int) -> Any:
    """Passed, failed or dropped, the date, and for a pass the certificate number."""
    enrollment = get_enrollment_in_scope(current_user, enrollment_id)
    form = read_json_form(ResultForm)
    validate_or_raise(form)
    operations.record_result(
        current_user,
        enrollment,
        result=form.result.data,
        completed_on=form.completed_on.data,
        certificate_no=form.certificate_no.data,
        attendance=form.attendance.data,
        as_of=today_in_china(),
    )
    db.session.commit()
    return json_response(enrollment_json(enrollment))
