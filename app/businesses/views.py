"""Pages: the business list, one business's story, recording and correcting businesses,
the founder's "my business" on a phone, and the staff review queue of self-reports."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.businesses import operations
from app.businesses.forms import (
    REVIEW_LABELS,
    SOURCE_LABELS,
    STATUS_LABELS,
    BusinessFilterForm,
    BusinessForm,
    BusinessUpdateForm,
    ObservationForm,
    QueryForm,
    ReportFilterForm,
    ReviewForm,
    SelfReportForm,
)
from app.businesses.models import Business, BusinessStatus, ReviewState
from app.businesses.queries import (
    BusinessFilters,
    count_pending_reports,
    get_business_in_scope,
    get_observation_in_scope,
    list_businesses_stmt,
    list_observations,
    list_reports_stmt,
    previous_observations,
)
from app.businesses.rules import BUSINESS_FIELDS, OBSERVATION_FIELDS
from app.core.api import form_errors
from app.core.dates import today_in_china
from app.core.db import MAX_ID
from app.core.errors import Conflict, PermissionDenied, ValidationFailed
from app.core.forms import show_form_errors, with_blank
from app.core.pagination import paginate, read_page_request_or_first
from app.core.permissions import Permission, has_permission, permission_required
from app.core.security import safe_next_url
from app.extensions import db
from app.founders.queries import get_founder_in_scope
from app.incubation.queries import list_residencies_of_business
from app.regions.queries import region_choices_in_scope

businesses_bp = Blueprint("businesses", __name__)


@businesses_bp.app_context_processor
def business_labels() -> dict[str, Any]:
    """Labels of business statuses, observation sources and review states."""
    return {
        "business_status_label": lambda code: STATUS_LABELS.get(code, code or ""),
        "observation_source_label": lambda code: SOURCE_LABELS.get(code, code or ""),
        "review_state_label": lambda code: REVIEW_LABELS.get(code, code or ""),
    }


def _filter_form() -> BusinessFilterForm:
    form = BusinessFilterForm(request.args)
    form.region_code.choices = with_blank(region_choices_in_scope(current_user))
    return form


@businesses_bp.get("/businesses")
@permission_required(Permission.BUSINESSES_READ)
def index() -> Any:
    """Businesses of the user's area with their current status; filters and search."""
    form = _filter_form()
    form.validate()
    filters = BusinessFilters.from_form(form)
    pagination = paginate(
        list_businesses_stmt(current_user, filters), read_page_request_or_first(request.args)
    )
    may_review = has_permission(current_user, Permission.BUSINESSES_WRITE)
    return render_template(
        "businesses/index.html",
        filters=form,
        pagination=pagination,
        pending_reports=count_pending_reports(current_user) if may_review else 0,
    )


def _business_form_is_valid(
    form: BusinessForm, names: list[str], *, business: Business | None = None
) -> dict[str, Any] | None:
    """The form's values when the form and the business rules accept them; else None,
    with every problem shown next to its field."""
    form.validate()
    values = {name: form[name].data for name in names}
    errors = operations.business_input_errors(
        current_user, form_errors(form), values, as_of=today_in_china(), business=business
    )
    for name, messages in errors.items():
        if name in form._fields:
            form[name].errors = list(messages)
    return None if errors else values


@businesses_bp.route("/businesses/new", methods=["GET", "POST"])
@permission_required(Permission.BUSINESSES_WRITE)
def new() -> Any:
    """Record a business a founder opened (from the founder's page: founder filled in)."""
    form = BusinessForm()
    form.region_code.choices = with_blank(region_choices_in_scope(current_user))
    founder = None
    if not form.is_submitted():
        founder_id = request.args.get("founder_id", type=int)
        if founder_id is not None:
            # An id beyond any row is as absent as any other (and must not reach the database).
            founder = get_founder_in_scope(
                current_user, founder_id if 1 <= founder_id <= MAX_ID else 0
            )
        if founder is not None:
            form.founder_id.data = founder.id
            form.region_code.data = founder.region_code
    if form.is_submitted() and (values := _business_form_is_valid(form, BUSINESS_FIELDS)):
        try:
            business = operations.create_business(current_user, values, as_of=today_in_china())
        except (Conflict, ValidationFailed) as error:
            db.session.rollback()
            show_form_errors(form, error, field_name="uscc")
        else:
            db.session.commit()
            flash(_("Business %(name)s recorded.", name=business.name), "success")
            return redirect(url_for("businesses.detail", business_id=business.id))
    return render_template("businesses/form.html", form=form, business=None, founder=founder)


@businesses_bp.route("/businesses/<id:business_id>/edit", methods=["GET", "POST"])
@permission_required(Permission.BUSINESSES_WRITE)
def edit(business_id: int) -> Any:
    """Correct a business's fields; every change is audited."""
    business = get_business_in_scope(current_user, business_id)
    form = BusinessUpdateForm(obj=business)
    form.region_code.choices = region_choices_in_scope(current_user)
    names = [name for name in BUSINESS_FIELDS if name != "founder_id"]
    if form.is_submitted() and (values := _business_form_is_valid(form, names, business=business)):
        try:
            operations.update_business(current_user, business, values, as_of=today_in_china())
        except (Conflict, ValidationFailed) as error:
            db.session.rollback()
            show_form_errors(form, error, field_name="uscc")
        else:
            db.session.commit()
            flash(_("Changes saved."), "success")
            return redirect(url_for("businesses.detail", business_id=business.id))
    return render_template("businesses/form.html", form=form, business=business, founder=None)


def _render_detail(business: Business, observation_form: ObservationForm | None = None) -> Any:
    return render_template(
        "businesses/detail.html",
        business=business,
        observations=list_observations(business.id),
        residencies=list_residencies_of_business(business.id),
        observation_form=observation_form or ObservationForm(formdata=None),
        review_form=ReviewForm(),
        may_write=has_permission(current_user, Permission.BUSINESSES_WRITE),
    )


@businesses_bp.get("/businesses/<id:business_id>")
@permission_required(Permission.BUSINESSES_READ)
def detail(business_id: int) -> Any:
    """One business: its fields, current status and whole status history."""
    return _render_detail(get_business_in_scope(current_user, business_id))


def _observation_values(form: ObservationForm, as_of: Any) -> dict[str, Any]:
    values = {name: form[name].data for name in OBSERVATION_FIELDS}
    values["observed_on"] = values["observed_on"] or as_of
    return values


@businesses_bp.post("/businesses/<id:business_id>/observations")
@permission_required(Permission.BUSINESSES_WRITE)
def add_observation(business_id: int) -> Any:
    """Staff record what they saw (a visit, a call); the current status follows."""
    business = get_business_in_scope(current_user, business_id)
    form = ObservationForm()
    if form.validate_on_submit():
        as_of = today_in_china()
        try:
            operations.record_observation(
                current_user,
                business,
                _observation_values(form, as_of),
                as_of=as_of,
                is_reopening=bool(form.reopened.data),
            )
        except (Conflict, ValidationFailed, PermissionDenied) as error:
            db.session.rollback()
            show_form_errors(form, error, field_name="status")
        else:
            db.session.commit()
            flash(_("Observation recorded."), "success")
            return redirect(url_for("businesses.detail", business_id=business.id))
    return _render_detail(business, form), 422


# The founder's own business, on a phone -------------------------------------------------
@businesses_bp.route("/me/businesses/<id:business_id>", methods=["GET", "POST"])
@permission_required(Permission.OWN_BUSINESS_OBSERVE)
def my_business(business_id: int) -> Any:
    """The founder's business: tap the status, type the head count, submit."""
    business = get_business_in_scope(current_user, business_id)
    form = SelfReportForm()
    if form.validate_on_submit():
        as_of = today_in_china()
        closing = form.status.data == BusinessStatus.CLOSED
        values = {
            "observed_on": as_of,
            "status": form.status.data,
            # Closing, nobody works there any more, whatever the box still says.
            "employees": 0 if closing else form.employees.data,
            "monthly_revenue": form.monthly_revenue.data,
        }
        try:
            operations.record_observation(current_user, business, values, as_of=as_of)
        except (Conflict, ValidationFailed) as error:
            db.session.rollback()
            show_form_errors(form, error, field_name="status")
        else:
            db.session.commit()
            flash(_("Thank you. Your guidance centre will check your report."), "success")
            return redirect(url_for("businesses.my_business", business_id=business.id))
    elif not form.is_submitted():
        form.status.data = business.status if business.status != "closed" else None
        form.employees.data = business.employees
    return render_template(
        "businesses/mine.html",
        business=business,
        form=form,
        observations=list_observations(business.id)[:10],
    )


# The review queue ----------------------------------------------------------------------
@businesses_bp.get("/businesses/reports")
@permission_required(Permission.BUSINESSES_WRITE)
def reports() -> Any:
    """Founders' self-reports of the area, waiting for review first (oldest first)."""
    form = ReportFilterForm(request.args)
    state = form.state.data if form.validate() and form.state.data else ReviewState.PENDING
    pagination = paginate(
        list_reports_stmt(current_user, state), read_page_request_or_first(request.args)
    )
    return render_template(
        "businesses/reports.html",
        filters=form,
        state=state,
        pagination=pagination,
        previous=previous_observations(pagination.items),
        review_form=ReviewForm(),
        query_form=QueryForm(formdata=None),
    )


@businesses_bp.post("/businesses/reports/<id:observation_id>/verify")
@permission_required(Permission.BUSINESSES_WRITE)
def verify_report(observation_id: int) -> Any:
    """Confirm a founder's report."""
    observation = get_observation_in_scope(current_user, observation_id)
    if ReviewForm().validate_on_submit():
        try:
            operations.verify_observation(current_user, observation)
        except Conflict as error:
            db.session.rollback()
            flash(error.message, "warning")
        else:
            db.session.commit()
            flash(_("Report verified."), "success")
    return redirect(safe_next_url(request.form.get("next")) or url_for("businesses.reports"))


@businesses_bp.post("/businesses/reports/<id:observation_id>/query")
@permission_required(Permission.BUSINESSES_WRITE)
def query_report(observation_id: int) -> Any:
    """Ask the founder about a report; they see the question on their business page."""
    observation = get_observation_in_scope(current_user, observation_id)
    form = QueryForm()
    if form.validate_on_submit():
        try:
            operations.query_observation(current_user, observation, form.note.data)
        except (Conflict, ValidationFailed) as error:  # e.g. a question of only spaces
            db.session.rollback()
            flash(error.message, "warning")
        else:
            db.session.commit()
            flash(_("Question sent to the founder."), "success")
    else:
        for messages in form_errors(form).values():
            for message in messages:
                flash(message, "danger")
    return redirect(url_for("businesses.reports"))
