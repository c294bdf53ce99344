"""Pages: the founder register, one founder's story, import, export and the founder portal."""

from __future__ import annotations

import io
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from app.auth.operations import create_user
from app.businesses.queries import first_opened_on, list_businesses_of_founder
from app.core.api import form_errors
from app.core.dates import today_in_china
from app.core.db import mark_request_as_writing, utcnow
from app.core.errors import Conflict, ValidationFailed
from app.core.forms import show_form_errors, with_blank
from app.core.pagination import link_args, read_page_request_or_first
from app.core.permissions import Permission, Role, permission_required
from app.core.spreadsheets import open_binary
from app.extensions import db
from app.followups.queries import first_year_followup_on
from app.founders import bulk_import, operations
from app.founders.export import export_filename, export_founders_xlsx
from app.founders.forms import (
    EDUCATION_LABELS,
    SEX_LABELS,
    TARGET_GROUP_LABELS,
    FounderAccountForm,
    FounderFilterForm,
    FounderForm,
    FounderImportForm,
    FounderUpdateForm,
    IdNumberRevealForm,
)
from app.founders.journey import build_journey
from app.founders.last4_search import record_last4_search
from app.founders.models import Founder
from app.founders.queries import (
    FounderFilters,
    get_account_of_founder,
    get_founder_in_scope,
    get_import_of_user,
    list_founders_stmt,
    page_of_founders,
)
from app.founders.rules import FOUNDER_FIELDS
from app.incubation.queries import first_residency_on, list_residencies_of_founder
from app.integrity.queries import get_integrity_standing
from app.library.queries import list_adoptions_of_founder
from app.regions.queries import region_choices_in_scope
from app.training.queries import list_enrollments_of_founder

founders_bp = Blueprint("founders", __name__)

# Staff and officers of the founder's area may see the full ID number (SPEC §4).
FULL_ID_ROLES = frozenset({Role.STAFF, Role.OFFICER})
# The import page lists this many problems; the downloadable report has them all.
IMPORT_ERRORS_SHOWN = 200


@founders_bp.app_context_processor
def founder_labels() -> dict[str, Any]:
    """Labels for the coded founder fields, in the interface language."""
    return {
        "target_group_label": lambda code: TARGET_GROUP_LABELS.get(code, code or ""),
        "education_label": lambda code: EDUCATION_LABELS.get(code, code or ""),
        "sex_label": lambda code: SEX_LABELS.get(code, code or ""),
    }


def _filter_form() -> FounderFilterForm:
    form = FounderFilterForm(request.args)
    form.region_code.choices = with_blank(region_choices_in_scope(current_user))
    return form


@founders_bp.get("/founders")
@permission_required(Permission.FOUNDERS_READ)
def index() -> Any:
    """The register: scoped, filtered, searched, paginated; ID numbers masked."""
    form = _filter_form()
    filters = FounderFilters.from_form(form) if form.validate() else FounderFilters()
    stmt = list_founders_stmt(current_user, filters)
    if record_last4_search(current_user, filters.q, stmt):
        db.session.commit()
    pagination = page_of_founders(stmt, read_page_request_or_first(request.args))
    return render_template("founders/index.html", filters=form, pagination=pagination)


@founders_bp.route("/founders/new", methods=["GET", "POST"])
@permission_required(Permission.FOUNDERS_WRITE)
def new() -> Any:
    """Register one founder by real name."""
    form = FounderForm()
    form.region_code.choices = with_blank(region_choices_in_scope(current_user))
    if not form.is_submitted() and current_user.region_code:
        form.region_code.data = current_user.region_code
    if form.is_submitted() and _founder_form_is_valid(form, FOUNDER_FIELDS):
        values = {name: form[name].data for name in FOUNDER_FIELDS}
        try:
            founder = operations.register_founder(current_user, as_of=today_in_china(), **values)
        except Conflict as error:
            db.session.rollback()
            show_form_errors(form, error, field_name="id_number")
            return render_template(
                "founders/form.html", form=form, duplicate_id=error.payload.get("id")
            )
        except ValidationFailed as error:
            db.session.rollback()
            show_form_errors(form, error)
        else:
            db.session.commit()
            flash(_("Founder %(name)s registered.", name=founder.name), "success")
            return redirect(url_for("founders.detail", founder_id=founder.id))
    return render_template("founders/form.html", form=form, founder=None)


def _founder_form_is_valid(
    form: FounderForm, names: list[str] | tuple[str, ...], *, founder: Founder | None = None
) -> bool:
    """Check the form and the register's rules together, so every problem shows at once."""
    form.validate()
    errors = operations.founder_input_errors(
        current_user,
        form_errors(form),
        {name: form[name].data for name in names},
        as_of=today_in_china(),
        founder=founder,
    )
    for name, messages in errors.items():
        field = form._fields.get(name)
        if field is not None:
            field.errors = list(messages)
    return not errors


def _founder_story(founder: Founder) -> dict[str, Any]:
    """Everything the founder page and the founder's own page show besides the profile."""
    enrollments = list_enrollments_of_founder(founder.id)
    adoptions = list_adoptions_of_founder(founder.id)
    businesses = list_businesses_of_founder(current_user, founder.id)
    residencies = list_residencies_of_founder(current_user, founder.id)
    # The milestones are the founder's, whichever region their businesses are in.
    opened_on, incubated_on = first_opened_on(founder.id), first_residency_on(founder.id)
    disbursed_on = founder.borrower_since  # the first loan paid out (D52)
    followed_up_on = first_year_followup_on(founder.id)
    journey = build_journey(
        founder,
        enrollments,
        adoptions,
        opened_on=[opened_on] if opened_on else [],
        incubated_on=[incubated_on] if incubated_on else [],
        disbursed_on=[disbursed_on] if disbursed_on else [],
        followed_up_on=[followed_up_on] if followed_up_on else [],
    )
    return {
        "journey": journey,
        "enrollments": enrollments,
        "adoptions": adoptions,
        "businesses": businesses,
        "residencies": residencies,
    }


def _render_detail(founder: Founder, *, full_id_number: str | None = None) -> Any:
    return render_template(
        "founders/detail.html",
        founder=founder,
        **_founder_story(founder),
        integrity=get_integrity_standing(founder.id),
        account=get_account_of_founder(founder.id),
        full_id_number=full_id_number,
        may_see_full_id=current_user.role in FULL_ID_ROLES,
        reveal_form=IdNumberRevealForm(),
    )


@founders_bp.get("/founders/<id:founder_id>")
@permission_required(Permission.FOUNDERS_READ)
def detail(founder_id: int) -> Any:
    """The founder's whole story on one page: journey, trainings and later outcomes."""
    return _render_detail(get_founder_in_scope(current_user, founder_id))


@founders_bp.post("/founders/<id:founder_id>/id-number")
@permission_required(Permission.FOUNDERS_READ)
def reveal_id_number(founder_id: int) -> Any:
    """Show the full ID number once, to staff and officers in scope; each view is audited."""
    if current_user.role not in FULL_ID_ROLES:
        abort(403)
    founder = get_founder_in_scope(current_user, founder_id)
    if not IdNumberRevealForm().validate_on_submit():
        return redirect(url_for("founders.detail", founder_id=founder.id))
    operations.record_id_number_view(current_user, founder)
    db.session.commit()
    return _render_detail(founder, full_id_number=founder.id_number)


@founders_bp.route("/founders/<id:founder_id>/edit", methods=["GET", "POST"])
@permission_required(Permission.FOUNDERS_WRITE)
def edit(founder_id: int) -> Any:
    """Correct a founder's record; every change is audited.

    The ID number box starts empty (the full number is shown only through the audited
    reveal): left empty, the number stays; typed in, it replaces the old one.
    """
    founder = get_founder_in_scope(current_user, founder_id)
    form = FounderUpdateForm(obj=founder)
    form.region_code.choices = region_choices_in_scope(current_user)
    if not form.is_submitted():
        form.id_number.data = ""
    form.id_number.description = _(
        "Now %(masked)s. Leave empty to keep it.", masked=founder.id_number_masked
    )
    if form.is_submitted():
        changes = {name: form[name].data for name in FOUNDER_FIELDS}
        if not changes["id_number"]:
            del changes["id_number"]
        if changes["registered_on"] is None:
            del changes["registered_on"]
    if form.is_submitted() and _founder_form_is_valid(form, list(changes), founder=founder):
        try:
            operations.update_founder(current_user, founder, as_of=today_in_china(), **changes)
        except (Conflict, ValidationFailed) as error:
            db.session.rollback()
            show_form_errors(form, error, field_name="id_number")
        else:
            db.session.commit()
            flash(_("Changes saved."), "success")
            return redirect(url_for("founders.detail", founder_id=founder_id))
    return render_template("founders/form.html", form=form, founder=founder)


@founders_bp.route("/founders/<id:founder_id>/account", methods=["GET", "POST"])
@permission_required(Permission.FOUNDERS_WRITE)
def create_account(founder_id: int) -> Any:
    """Give a founder their own sign-in, tied to their record and region."""
    founder = get_founder_in_scope(current_user, founder_id)
    if get_account_of_founder(founder.id) is not None:
        flash(_("This founder already has an account."), "info")
        return redirect(url_for("founders.detail", founder_id=founder.id))
    form = FounderAccountForm()
    if form.validate_on_submit():
        try:
            create_user(
                current_user,
                username=form.username.data,
                password=form.password.data,
                role=Role.FOUNDER,
                region_code=founder.region_code,
                founder_id=founder.id,
                display_name=founder.name,
            )
        except (Conflict, ValidationFailed) as error:
            db.session.rollback()
            show_form_errors(form, error, field_name="username")
        else:
            db.session.commit()
            flash(_("Account created. The founder can now sign in."), "success")
            return redirect(url_for("founders.detail", founder_id=founder.id))
    return render_template("founders/account.html", form=form, founder=founder)


@founders_bp.get("/me")
@permission_required(Permission.OWN_RECORDS_READ)
def my_record() -> Any:
    """The founder's own record on their phone: profile (masked ID), trainings, certificates."""
    founder = get_founder_in_scope(current_user, current_user.founder_id or 0)
    return render_template(
        "founders/me.html",
        founder=founder,
        **_founder_story(founder),
        integrity=get_integrity_standing(founder.id),
    )


# Import and export ------------------------------------------------------------------
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@founders_bp.route("/founders/import", methods=["GET", "POST"])
@permission_required(Permission.FOUNDERS_WRITE)
def import_founders() -> Any:
    """Upload a spreadsheet of founders; the per-row report is shown and kept for download."""
    form = FounderImportForm()
    founder_import = None
    if form.validate_on_submit():
        try:
            founder_import = bulk_import.import_founders(
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
                    "%(created)s of %(total)s founders imported; %(errors)s problems reported.",
                    created=founder_import.created_count,
                    total=founder_import.total_rows,
                    errors=founder_import.error_count,
                ),
                "success" if founder_import.error_count == 0 else "warning",
            )
    return render_template(
        "founders/import.html",
        form=form,
        founder_import=founder_import,
        shown_errors=(founder_import.errors or [])[:IMPORT_ERRORS_SHOWN] if founder_import else [],
        column_labels=bulk_import.COLUMN_LABELS,
    )


@founders_bp.get("/founders/import/template.xlsx")
@permission_required(Permission.FOUNDERS_WRITE)
def import_template() -> Any:
    """The spreadsheet template with the expected headers and the allowed values."""
    return send_file(
        io.BytesIO(bulk_import.import_template_workbook(current_user)),
        mimetype=XLSX_MIMETYPE,
        as_attachment=True,
        download_name="founders-template.xlsx",
    )


@founders_bp.get("/founders/imports/<id:import_id>/report.xlsx")
@permission_required(Permission.FOUNDERS_WRITE)
def import_report(import_id: int) -> Any:
    """The full per-row report of one of the user's own imports (404 for anyone else's)."""
    founder_import = get_import_of_user(current_user, import_id)
    return send_file(
        io.BytesIO(bulk_import.import_report_workbook(founder_import)),
        mimetype=XLSX_MIMETYPE,
        as_attachment=True,
        download_name=f"founder-import-{founder_import.id}-report.xlsx",
    )


@founders_bp.get("/founders/export.xlsx")
@permission_required(Permission.FOUNDERS_READ)
def export() -> Any:
    """The filtered list as .xlsx, streamed from a temporary file; ID numbers masked.

    The export is audited (who, filters, row count), so this GET writes.
    """
    mark_request_as_writing()
    form = _filter_form()
    if not form.validate():
        flash(_("Correct the filters before exporting."), "danger")
        return redirect(url_for("founders.index", **link_args(request.args)))
    exported_at = utcnow()
    filters = FounderFilters.from_form(form)
    record_last4_search(current_user, filters.q, list_founders_stmt(current_user, filters))
    try:
        path, count = export_founders_xlsx(current_user, filters, exported_at=exported_at)
    except ValidationFailed as error:  # more rows than one sheet holds
        for messages in error.errors.values():
            for message in messages:
                flash(message, "danger")
        return redirect(url_for("founders.index", **link_args(request.args)))
    operations.record_export(
        current_user, row_count=count, filters=link_args(request.args, drop=("page",))
    )
    db.session.commit()
    response = send_file(
        open_binary(path),
        mimetype=XLSX_MIMETYPE,
        as_attachment=True,
        download_name=export_filename(exported_at),
    )
    response.headers["X-Row-Count"] = str(count)
    return response
