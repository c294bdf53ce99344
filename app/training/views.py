"""Pages: institutions, courses, cohorts and their rosters.

Every page needs `training.manage` (centre staff). The cohort page is the roster: staff
enroll founders there and enter the whole class's results in one form.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from app.core.dates import today_in_china
from app.core.errors import Conflict, ValidationFailed
from app.core.forms import show_form_errors, with_blank
from app.core.pagination import paginate, read_page_request_or_first
from app.core.permissions import Permission, has_permission, permission_required
from app.core.url_converters import parse_id
from app.extensions import db
from app.founders.last4_search import record_last4_search
from app.founders.queries import FounderFilters, list_founders_stmt
from app.regions.queries import region_choices_in_scope
from app.training import operations
from app.training.forms import (
    KIND_LABELS,
    RESULT_LABELS,
    CohortFilterForm,
    CohortForm,
    CourseFilterForm,
    CourseForm,
    EnrollmentForm,
    FounderSearchForm,
    InstitutionFilterForm,
    InstitutionForm,
    RosterForm,
)
from app.training.models import Cohort, Enrollment
from app.training.operations import ResultRow
from app.training.queries import (
    CohortFilters,
    cohort_statistics,
    get_cohort_in_scope,
    get_institution_in_scope,
    institution_outcomes,
    institution_statistics,
    list_cohorts_stmt,
    list_courses,
    list_courses_stmt,
    list_institutions,
    list_institutions_stmt,
    list_roster,
    outcome_region,
)

training_bp = Blueprint("training", __name__, url_prefix="/training")

FOUNDER_SEARCH_LIMIT = 10
ROSTER_FIELD = re.compile(r"results-(\d+)-(\w+)")


@training_bp.app_context_processor
def training_labels() -> dict[str, Any]:
    """Labels of course kinds and results, for every training template."""
    return {
        "kind_label": lambda code: KIND_LABELS.get(code, code or ""),
        "result_label": lambda code: RESULT_LABELS.get(code, code or ""),
    }


def _institution_choices() -> list[SelectChoice]:
    return [
        SelectChoice(str(i.id), f"{i.name} · {i.region.display_name}")
        for i in list_institutions(current_user)
    ]


# Institutions ---------------------------------------------------------------------------
@training_bp.get("/institutions")
@permission_required(Permission.TRAINING_MANAGE)
def institutions() -> Any:
    """Institutions in the user's area with their overall pass and certificate rates."""
    filters = InstitutionFilterForm(request.args)
    filters.region_code.choices = with_blank(region_choices_in_scope(current_user))
    values = filters.data if filters.validate() else {}
    stmt = list_institutions_stmt(
        current_user, q=values.get("q"), region_code=values.get("region_code")
    )
    pagination = paginate(stmt, read_page_request_or_first(request.args))
    figures = institution_statistics(
        (institution.id for institution in pagination.items), current_user
    )
    return render_template(
        "training/institutions.html", filters=filters, pagination=pagination, figures=figures
    )


@training_bp.route("/institutions/new", methods=["GET", "POST"])
@permission_required(Permission.TRAINING_MANAGE)
def new_institution() -> Any:
    """Add a training institution."""
    form = InstitutionForm()
    form.region_code.choices = region_choices_in_scope(current_user)
    if form.validate_on_submit():
        try:
            institution = operations.create_institution(
                current_user, form.name.data, form.region_code.data, form.designated.data
            )
        except (ValidationFailed, Conflict) as error:
            db.session.rollback()
            show_form_errors(form, error, field_name="name")
        else:
            db.session.commit()
            flash(_("Institution %(name)s added.", name=institution.name), "success")
            return redirect(url_for("training.institution_detail", institution_id=institution.id))
    return render_template("training/institution_form.html", form=form)


@training_bp.get("/institutions/<id:institution_id>")
@permission_required(Permission.TRAINING_MANAGE)
def institution_detail(institution_id: int) -> Any:
    """An institution, its figures, how its trainees did (linked to the KPI lists for
    readers of reports), and its cohorts, each with its pass and certificate rate."""
    institution = get_institution_in_scope(current_user, institution_id)
    stmt = list_cohorts_stmt(current_user, CohortFilters(institution_id=institution.id))
    pagination = paginate(stmt, read_page_request_or_first(request.args, default_per_page=50))
    as_of = today_in_china()
    return render_template(
        "training/institution.html",
        institution=institution,
        totals=institution_statistics([institution.id], current_user)[institution.id],
        outcome=institution_outcomes([institution.id], current_user, as_of)[institution.id],
        outcome_as_of=as_of,
        show_lists=has_permission(current_user, Permission.REPORTS_READ),
        list_region=outcome_region(current_user),
        pagination=pagination,
        figures=cohort_statistics(cohort.id for cohort in pagination.items),
    )


# Courses --------------------------------------------------------------------------------
@training_bp.get("/courses")
@permission_required(Permission.TRAINING_MANAGE)
def courses() -> Any:
    """The course catalogue shared by every region."""
    filters = CourseFilterForm(request.args)
    values = filters.data if filters.validate() else {}
    pagination = paginate(
        list_courses_stmt(kind=values.get("kind")),
        read_page_request_or_first(request.args, default_per_page=50),
    )
    return render_template("training/courses.html", filters=filters, pagination=pagination)


@training_bp.route("/courses/new", methods=["GET", "POST"])
@permission_required(Permission.TRAINING_MANAGE)
def new_course() -> Any:
    """Add a course (usually a skills course; the SIYB courses come with the install)."""
    form = CourseForm()
    if request.method == "GET":
        form.kind.data = "skill"
    if form.validate_on_submit():
        try:
            course = operations.create_course(
                current_user,
                form.code.data,
                form.name.data,
                form.kind.data,
                form.hours.data,
                name_en=form.name_en.data,
            )
        except (ValidationFailed, Conflict) as error:
            db.session.rollback()
            show_form_errors(form, error, field_name="code")
        else:
            db.session.commit()
            flash(_("Course %(code)s added.", code=course.code), "success")
            return redirect(url_for("training.courses"))
    return render_template("training/course_form.html", form=form)


# Cohorts --------------------------------------------------------------------------------
@training_bp.get("/cohorts")
@permission_required(Permission.TRAINING_MANAGE)
def cohorts() -> Any:
    """Cohorts in the user's area, filtered by region, kind, institution and start date."""
    filters = CohortFilterForm(request.args)
    filters.region_code.choices = with_blank(region_choices_in_scope(current_user))
    filters.institution_id.choices = with_blank(_institution_choices())
    chosen = CohortFilters.from_form(filters) if filters.validate() else CohortFilters()
    pagination = paginate(
        list_cohorts_stmt(current_user, chosen), read_page_request_or_first(request.args)
    )
    figures = cohort_statistics(cohort.id for cohort in pagination.items)
    return render_template(
        "training/cohorts.html", filters=filters, pagination=pagination, figures=figures
    )


@training_bp.route("/cohorts/new", methods=["GET", "POST"])
@permission_required(Permission.TRAINING_MANAGE)
def new_cohort() -> Any:
    """Open a class of a course at an institution."""
    form = CohortForm()
    form.course_id.choices = with_blank(
        [SelectChoice(str(c.id), f"{c.code} · {c.display_name}") for c in list_courses()]
    )
    form.institution_id.choices = with_blank(_institution_choices())
    form.region_code.choices = region_choices_in_scope(current_user)
    if request.method == "GET" and parse_id(request.args.get("institution_id")):
        form.institution_id.data = parse_id(request.args.get("institution_id"))
    if form.validate_on_submit():
        try:
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
        except ValidationFailed as error:
            db.session.rollback()
            show_form_errors(form, error)
        else:
            db.session.commit()
            flash(_("Cohort opened."), "success")
            return redirect(url_for("training.cohort_detail", cohort_id=cohort.id))
    return render_template("training/cohort_form.html", form=form)


def _roster_form(roster: list[Enrollment]) -> RosterForm:
    rows = [
        {
            "enrollment_id": str(enrollment.id),
            "result": enrollment.result or "",
            "completed_on": enrollment.completed_on,
            "certificate_no": enrollment.certificate_no,
            "attendance": enrollment.attendance,
        }
        for enrollment in roster
    ]
    return RosterForm(formdata=None, data={"results": rows})


def _founder_matches(search: FounderSearchForm) -> list[Any] | None:
    """Founders in the user's area matching the search box (None when nothing was asked)."""
    if not search.q.data or not search.validate():
        return None
    stmt = list_founders_stmt(current_user, FounderFilters(q=search.q.data))
    if record_last4_search(current_user, search.q.data, stmt):  # audited and capped (D49)
        db.session.commit()
    return list(db.session.scalars(stmt.limit(FOUNDER_SEARCH_LIMIT)))


def _render_cohort(
    cohort: Cohort,
    *,
    enroll_form: EnrollmentForm | None = None,
    roster_form: RosterForm | None = None,
) -> Any:
    roster = list_roster(cohort.id)
    search = FounderSearchForm(request.args)
    enrolled_ids = {enrollment.founder_id for enrollment in roster}
    return render_template(
        "training/cohort.html",
        cohort=cohort,
        roster={enrollment.id: enrollment for enrollment in roster},
        figures=cohort_statistics([cohort.id])[cohort.id],
        enroll_form=enroll_form or EnrollmentForm(formdata=None),
        roster_form=roster_form or _roster_form(roster),
        search=search,
        matches=_founder_matches(search),
        enrolled_ids=enrolled_ids,
    )


@training_bp.get("/cohorts/<id:cohort_id>")
@permission_required(Permission.TRAINING_MANAGE)
def cohort_detail(cohort_id: int) -> Any:
    """The roster: who is enrolled, enrolling more, and the class's results in one form."""
    return _render_cohort(get_cohort_in_scope(current_user, cohort_id))


@training_bp.post("/cohorts/<id:cohort_id>/enrollments")
@permission_required(Permission.TRAINING_MANAGE)
def enroll(cohort_id: int) -> Any:
    """Enroll one founder; a full cohort or a second enrollment is refused with a message."""
    cohort = get_cohort_in_scope(current_user, cohort_id)
    form = EnrollmentForm()
    if form.validate_on_submit():
        try:
            enrollment = operations.enroll_founder(
                current_user, cohort, form.founder_id.data, as_of=today_in_china()
            )
        except (ValidationFailed, Conflict) as error:
            db.session.rollback()
            show_form_errors(form, error, field_name="founder_id")
        else:
            db.session.commit()
            flash(_("%(name)s enrolled.", name=enrollment.founder.name), "success")
            return redirect(url_for("training.cohort_detail", cohort_id=cohort_id))
    return _render_cohort(get_cohort_in_scope(current_user, cohort_id), enroll_form=form)


def _show_roster_errors(form: RosterForm, error: ValidationFailed) -> None:
    """Put `results-<n>-<field>` errors next to their cells; others are flashed."""
    for key, messages in error.errors.items():
        match = ROSTER_FIELD.fullmatch(key)
        position = int(match.group(1)) if match else -1
        if match and position < len(form.results.entries):
            field = form.results.entries[position].form._fields.get(match.group(2))
            if field is not None and field.type != "HiddenField":
                field.errors = [*field.errors, *messages]
                continue
        for message in messages:
            flash(message, "danger")


def _result_rows(form: RosterForm) -> list[ResultRow]:
    rows = []
    for entry in form.results.entries:
        values = entry.form.data
        rows.append(
            ResultRow(
                enrollment_id=parse_id(values["enrollment_id"]) or 0,
                result=values["result"],
                completed_on=values["completed_on"],
                certificate_no=values["certificate_no"],
                attendance=values["attendance"],
            )
        )
    return rows


@training_bp.post("/cohorts/<id:cohort_id>/results")
@permission_required(Permission.TRAINING_MANAGE)
def save_results(cohort_id: int) -> Any:
    """Save the whole class's results at once: every row is valid, or nothing is saved."""
    cohort = get_cohort_in_scope(current_user, cohort_id)
    form = RosterForm()
    if form.validate_on_submit():
        try:
            changed = operations.record_roster_results(
                current_user, cohort, _result_rows(form), as_of=today_in_china()
            )
        except ValidationFailed as error:
            db.session.rollback()
            _show_roster_errors(form, error)
        else:
            db.session.commit()
            flash(_("Results saved: %(n)s founders changed.", n=changed), "success")
            return redirect(url_for("training.cohort_detail", cohort_id=cohort_id))
    flash(_("Nothing was saved; please correct the marked cells."), "danger")
    cohort = get_cohort_in_scope(current_user, cohort_id)
    return _render_cohort(cohort, roster_form=form)
