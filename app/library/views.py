"""Pages: browsing the library (cards on phones), curating projects, adoption, outcomes.

Everyone signed in browses their own library (`library.browse`); staff curate their own
region's projects (`library.curate`); founders adopt for themselves and staff for a
founder of their area (`library.adopt`).
"""

from __future__ import annotations

import io
import json
from decimal import Decimal
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.core.api import form_errors
from app.core.dates import today_in_china
from app.core.db import utcnow
from app.core.errors import Conflict, ValidationFailed
from app.core.forms import show_form_errors, with_blank
from app.core.industries import INDUSTRY_LABELS
from app.core.pagination import link_args, paginate, read_page_request_or_first
from app.core.permissions import Permission, Role, has_permission, permission_required
from app.core.spreadsheets import open_binary
from app.extensions import db
from app.library import operations, spreadsheets
from app.library.forms import (
    LEVEL_LABELS,
    STATUS_LABELS,
    AdoptionForm,
    ProjectFilterForm,
    ProjectForm,
    ProjectImportForm,
    ProjectImportReportForm,
    StatusActionForm,
)
from app.library.models import LibraryProject
from app.library.queries import (
    ProjectFilters,
    adopted_project_ids,
    counted_region,
    get_project_in_scope,
    get_promotion_of,
    get_visible_project,
    list_adoptions_of_project,
    list_projects_stmt,
    project_outcomes,
)
from app.library.rules import PROJECT_FIELDS
from app.regions.queries import region_choices_in_scope

library_bp = Blueprint("library", __name__, url_prefix="/library")

CARDS_PER_PAGE = 12


@library_bp.app_context_processor
def library_labels() -> dict[str, Any]:
    """Labels of industries, project levels and statuses, for every template."""
    return {
        "industry_label": lambda code: INDUSTRY_LABELS.get(code, code or ""),
        "project_level_label": lambda code: LEVEL_LABELS.get(code, code or ""),
        "project_status_label": lambda code: STATUS_LABELS.get(code, code or ""),
        "yuan": _yuan,
    }


def _yuan(amount: Decimal | None) -> str:
    """An amount for people: "¥50,000" (cents only when there are some)."""
    if amount is None:
        return ""
    return f"¥{amount:,.0f}" if amount == amount.to_integral_value() else f"¥{amount:,.2f}"


def _is_founder() -> bool:
    return current_user.role == Role.FOUNDER


def _outcome_context(project_ids: list[int]) -> dict[str, Any]:
    """The projects' outcomes as of today and what their numbers link to: the KPI list
    behind each (`reports.figure_list` by library project, in the same region and on the
    same date) for users who read reports; founders get no lists."""
    as_of = today_in_china()
    return {
        "outcomes": project_outcomes(project_ids, current_user, as_of),
        "outcome_as_of": as_of,
        "show_lists": has_permission(current_user, Permission.REPORTS_READ),
        "list_region": counted_region(current_user),
    }


def _filter_form() -> ProjectFilterForm:
    form = ProjectFilterForm(request.args)
    if _is_founder():
        # A founder's library is their region's: nothing to choose, no drafts to filter.
        del form.region_code
        del form.status
    else:
        form.region_code.choices = with_blank(region_choices_in_scope(current_user))
        if not has_permission(current_user, Permission.LIBRARY_CURATE):
            del form.status
    return form


@library_bp.get("/")
@permission_required(Permission.LIBRARY_BROWSE)
def index() -> Any:
    """The library: cards for founders (phones), a table for staff; search, filters, sort."""
    form = _filter_form()
    filters = ProjectFilters.from_form(form) if form.validate() else ProjectFilters()
    pagination = paginate(
        list_projects_stmt(current_user, filters),
        read_page_request_or_first(request.args, default_per_page=CARDS_PER_PAGE),
    )
    ids = [project.id for project in pagination.items]
    return render_template(
        "library/index.html",
        filters=form,
        pagination=pagination,
        adopted=adopted_project_ids(current_user.founder_id, ids),
        as_cards=_is_founder(),
        action_form=StatusActionForm(),
        **_outcome_context(ids),
    )


def _render_detail(project: LibraryProject, *, adoption_form: AdoptionForm | None = None) -> Any:
    promotion = get_promotion_of(project.id)
    outcomes = _outcome_context([project.id])
    return render_template(
        "library/detail.html",
        project=project,
        outcome=outcomes.pop("outcomes")[project.id],
        **outcomes,
        origin=get_visible_project(current_user, project.promoted_from_id),
        promotion=promotion,
        promotion_visible=get_visible_project(current_user, promotion.id if promotion else None),
        adoptions=list_adoptions_of_project(current_user, project.id),
        has_adopted=bool(adopted_project_ids(current_user.founder_id, [project.id])),
        may_curate=operations.can_curate(current_user, project),
        may_promote=operations.can_promote(current_user, project) and promotion is None,
        may_adopt=has_permission(current_user, Permission.LIBRARY_ADOPT),
        action_form=StatusActionForm(),
        adoption_form=adoption_form or AdoptionForm(formdata=None),
    )


@library_bp.get("/projects/<id:project_id>")
@permission_required(Permission.LIBRARY_BROWSE)
def detail(project_id: int) -> Any:
    """One project: every field, its outcome, origin and promotion links, and actions."""
    return _render_detail(get_project_in_scope(current_user, project_id))


def _form_is_valid(
    form: ProjectForm, *, project: LibraryProject | None = None
) -> dict[str, Any] | None:
    """The form's values when the form and the project rules accept them; else None, with
    every problem shown next to its field."""
    form.validate()
    values = {name: form[name].data for name in PROJECT_FIELDS}
    errors = operations.project_input_errors(form_errors(form), values, project=project)
    for name, messages in errors.items():
        form[name].errors = list(messages)
    return None if errors else values


@library_bp.route("/projects/new", methods=["GET", "POST"])
@permission_required(Permission.LIBRARY_CURATE)
def new() -> Any:
    """A curator adds a draft project to their own region's library."""
    form = ProjectForm()
    if form.is_submitted() and (values := _form_is_valid(form)) is not None:
        try:
            project = operations.create_project(current_user, values)
        except ValidationFailed as error:
            db.session.rollback()
            show_form_errors(form, error)
        else:
            db.session.commit()
            flash(_("Project saved as a draft."), "success")
            return redirect(url_for("library.detail", project_id=project.id))
    return render_template("library/form.html", form=form, project=None)


@library_bp.route("/projects/<id:project_id>/edit", methods=["GET", "POST"])
@permission_required(Permission.LIBRARY_CURATE)
def edit(project_id: int) -> Any:
    """The curator corrects a project in any status; every change is audited."""
    project = get_project_in_scope(current_user, project_id)
    operations.require_curator(current_user, project)
    form = ProjectForm(obj=project)
    if form.is_submitted() and (values := _form_is_valid(form, project=project)) is not None:
        try:
            operations.update_project(current_user, project, values)
        except ValidationFailed as error:
            db.session.rollback()
            show_form_errors(form, error)
        else:
            db.session.commit()
            flash(_("Changes saved."), "success")
            return redirect(url_for("library.detail", project_id=project_id))
    return render_template("library/form.html", form=form, project=project)


def _change_status(project_id: int, change: Any, done: str) -> Any:
    project = get_project_in_scope(current_user, project_id)
    if StatusActionForm().validate_on_submit():
        try:
            change(current_user, project)
        except Conflict as error:
            db.session.rollback()
            flash(error.message, "danger")
        else:
            db.session.commit()
            flash(done, "success")
    return redirect(url_for("library.detail", project_id=project_id))


@library_bp.post("/projects/<id:project_id>/publish")
@permission_required(Permission.LIBRARY_CURATE)
def publish(project_id: int) -> Any:
    """Publish a draft: founders of the region see it from now on."""
    return _change_status(project_id, operations.publish_project, _("Project published."))


@library_bp.post("/projects/<id:project_id>/retire")
@permission_required(Permission.LIBRARY_CURATE)
def retire(project_id: int) -> Any:
    """Retire a published project: it leaves the library; adoptions stay."""
    return _change_status(project_id, operations.retire_project, _("Project retired."))


@library_bp.post("/projects/<id:project_id>/revise")
@permission_required(Permission.LIBRARY_CURATE)
def revise(project_id: int) -> Any:
    """Send a project back to draft for revision."""
    return _change_status(project_id, operations.revise_project, _("Project is a draft again."))


@library_bp.post("/projects/<id:project_id>/promote")
@permission_required(Permission.LIBRARY_CURATE)
def promote(project_id: int) -> Any:
    """Province staff copy a good city project into the province library (as a draft)."""
    project = get_project_in_scope(current_user, project_id)
    if not StatusActionForm().validate_on_submit():
        return redirect(url_for("library.detail", project_id=project_id))
    try:
        promoted = operations.promote_project(current_user, project)
    except Conflict as error:
        db.session.rollback()
        flash(error.message, "danger")
        return redirect(url_for("library.detail", project_id=project_id))
    db.session.commit()
    flash(_("Promoted to a province project (a draft to review and publish)."), "success")
    return redirect(url_for("library.detail", project_id=promoted.id))


@library_bp.post("/projects/<id:project_id>/adopt")
@permission_required(Permission.LIBRARY_ADOPT)
def adopt(project_id: int) -> Any:
    """A founder adopts the project for themself; staff for a founder of their area."""
    project = get_project_in_scope(current_user, project_id)
    form = AdoptionForm()
    if form.validate_on_submit():
        try:
            adoption = operations.adopt_project(
                current_user, project, form.founder_id.data, as_of=today_in_china()
            )
        except (ValidationFailed, Conflict) as error:
            db.session.rollback()
            show_form_errors(form, error, field_name="founder_id")
        else:
            db.session.commit()
            if _is_founder():
                flash(
                    _("You adopted this project. Your guidance centre will be in touch."), "success"
                )
            else:
                flash(
                    _("Adopted for %(name)s.", name=adoption.founder.name),
                    "success",
                )
            return redirect(url_for("library.detail", project_id=project_id))
    return _render_detail(get_project_in_scope(current_user, project_id), adoption_form=form)


# Import and export ------------------------------------------------------------------
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@library_bp.route("/import", methods=["GET", "POST"])
@permission_required(Permission.LIBRARY_CURATE)
def import_projects() -> Any:
    """Upload projects prepared offline; they arrive as drafts of the curator's region."""
    form = ProjectImportForm()
    result = None
    if form.validate_on_submit():
        try:
            result = spreadsheets.import_projects(
                current_user,
                form.file.data,
                form.file.data.filename or "",
                mode=form.mode.data,
                as_of=today_in_china(),
            )
        except ValidationFailed as error:
            db.session.rollback()
            show_form_errors(form, error, field_name="file")
        else:
            db.session.commit()
            flash(
                _(
                    "%(created)s of %(total)s projects imported as drafts; %(errors)s problems.",
                    created=len(result.created),
                    total=result.total_rows,
                    errors=result.error_count,
                ),
                "success" if not result.error_count else "warning",
            )
    return render_template(
        "library/import.html",
        form=form,
        result=result,
        report_form=ProjectImportReportForm(
            errors=json.dumps(result.errors, ensure_ascii=False) if result else ""
        ),
    )


@library_bp.post("/import/report.xlsx")
@permission_required(Permission.LIBRARY_CURATE)
def import_report() -> Any:
    """The problems just shown, as a spreadsheet (sent back by the page, nothing stored)."""
    form = ProjectImportReportForm()
    problems = form.problems() if form.validate_on_submit() else []
    return send_file(
        io.BytesIO(spreadsheets.project_import_report_workbook(problems)),
        mimetype=XLSX_MIMETYPE,
        as_attachment=True,
        download_name="library-import-report.xlsx",
    )


@library_bp.get("/import/template.xlsx")
@permission_required(Permission.LIBRARY_CURATE)
def import_template() -> Any:
    """The spreadsheet template with the expected headers and the industry list."""
    return send_file(
        io.BytesIO(spreadsheets.project_import_template()),
        mimetype=XLSX_MIMETYPE,
        as_attachment=True,
        download_name="library-projects-template.xlsx",
    )


@library_bp.get("/export.xlsx")
@permission_required(Permission.LIBRARY_BROWSE)
def export() -> Any:
    """The projects the list shows, with its filters and sort, as .xlsx."""
    form = _filter_form()
    if not form.validate():
        flash(_("Correct the filters before exporting."), "danger")
        return redirect(url_for("library.index", **link_args(request.args)))
    exported_at = utcnow()
    path, _count = spreadsheets.export_projects_xlsx(
        list_projects_stmt(current_user, ProjectFilters.from_form(form)), exported_at=exported_at
    )
    return send_file(
        open_binary(path),
        mimetype=XLSX_MIMETYPE,
        as_attachment=True,
        download_name=spreadsheets.export_filename(exported_at),
    )
