"""Pages: incubation bases, their residents and occupancy.

Every page needs `incubation.manage` (centre staff); a base outside the user's area is a
404. The base page is where residents move in and out.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.businesses.queries import business_ids_in_scope
from app.core.dates import today_in_china
from app.core.errors import Conflict, ValidationFailed
from app.core.forms import show_form_errors, with_blank
from app.core.pagination import paginate, read_page_request_or_first
from app.core.permissions import Permission, permission_required
from app.extensions import db
from app.incubation import operations
from app.incubation.forms import (
    KIND_LABELS,
    OUTCOME_LABELS,
    BaseFilterForm,
    BaseForm,
    EndResidencyForm,
    ResidencyForm,
)
from app.incubation.models import IncubationBase
from app.incubation.queries import (
    BaseFilters,
    base_occupancy,
    get_base_in_scope,
    get_residency_in_scope,
    list_bases_stmt,
    list_residents,
    list_residents_stmt,
    region_occupancy,
    total_occupancy,
)
from app.regions.queries import region_choices_in_scope

incubation_bp = Blueprint("incubation", __name__, url_prefix="/incubation")

PAST_PER_PAGE = 20


@incubation_bp.app_context_processor
def incubation_labels() -> dict[str, Any]:
    """Labels of base kinds and residency outcomes, for every template."""
    return {
        "base_kind_label": lambda code: KIND_LABELS.get(code, code or ""),
        "outcome_label": lambda code: OUTCOME_LABELS.get(code, code or ""),
    }


def _show_refusal(form: Any, error: ValidationFailed | Conflict) -> None:
    """Field errors go next to their fields; a conflict (full, occupied, duplicate) is
    about the whole action, so it is shown above the page."""
    if isinstance(error, Conflict):
        flash(error.message, "danger")
    else:
        show_form_errors(form, error)


# Bases ----------------------------------------------------------------------------------
@incubation_bp.get("/")
@permission_required(Permission.INCUBATION_MANAGE)
def bases() -> Any:
    """Bases in the user's area with their units, residents and free units."""
    filters = BaseFilterForm(request.args)
    filters.region_code.choices = with_blank(region_choices_in_scope(current_user))
    filters.validate()
    chosen = BaseFilters.from_form(filters)
    pagination = paginate(
        list_bases_stmt(current_user, chosen), read_page_request_or_first(request.args)
    )
    occupancy = base_occupancy(base.id for base in pagination.items)
    return render_template(
        "incubation/bases.html", filters=filters, pagination=pagination, occupancy=occupancy
    )


def _base_form(base: IncubationBase | None = None) -> BaseForm:
    form = BaseForm(obj=base)
    form.region_code.choices = region_choices_in_scope(current_user)
    return form


@incubation_bp.route("/bases/new", methods=["GET", "POST"])
@permission_required(Permission.INCUBATION_MANAGE)
def new_base() -> Any:
    """Add an incubation base in a region of the user's area."""
    form = _base_form()
    if form.validate_on_submit():
        try:
            base = operations.create_base(current_user, _base_values(form))
        except (ValidationFailed, Conflict) as error:
            db.session.rollback()
            _show_refusal(form, error)
        else:
            db.session.commit()
            flash(_("Base %(name)s added.", name=base.name), "success")
            return redirect(url_for("incubation.base", base_id=base.id))
    return render_template("incubation/base_form.html", form=form, base=None)


@incubation_bp.route("/bases/<id:base_id>/edit", methods=["GET", "POST"])
@permission_required(Permission.INCUBATION_MANAGE)
def edit_base(base_id: int) -> Any:
    """Correct a base; its units never drop below its current residents."""
    base = get_base_in_scope(current_user, base_id)
    form = _base_form(base)
    if form.validate_on_submit():
        try:
            operations.update_base(current_user, base, _base_values(form))
        except (ValidationFailed, Conflict) as error:
            db.session.rollback()
            _show_refusal(form, error)
        else:
            db.session.commit()
            flash(_("Changes saved."), "success")
            return redirect(url_for("incubation.base", base_id=base_id))
    return render_template("incubation/base_form.html", form=form, base=base)


def _base_values(form: BaseForm) -> dict[str, Any]:
    return {name: form[name].data for name in operations.BASE_FIELDS}


def _render_base(
    base: IncubationBase,
    *,
    residency_form: ResidencyForm | None = None,
    end_form: EndResidencyForm | None = None,
    ending_id: int | None = None,
) -> Any:
    past = paginate(
        list_residents_stmt(base.id, current=False),
        read_page_request_or_first(request.args, default_per_page=PAST_PER_PAGE),
    )
    residents = list_residents(base.id)
    shown = [r.business_id for r in residents] + [r.business_id for r in past.items]
    return render_template(
        "incubation/base.html",
        base=base,
        occupancy=base_occupancy([base.id])[base.id],
        residents=residents,
        linked_business_ids=business_ids_in_scope(current_user, shown),
        past=past,
        residency_form=residency_form or ResidencyForm(formdata=None),
        end_form=end_form,
        ending_id=ending_id,
        blank_end_form=EndResidencyForm(formdata=None, data={"ends_on": today_in_china()}),
    )


@incubation_bp.get("/bases/<id:base_id>")
@permission_required(Permission.INCUBATION_MANAGE)
def base(base_id: int) -> Any:
    """One base: its details, occupancy, current residents and those who left."""
    return _render_base(get_base_in_scope(current_user, base_id))


@incubation_bp.post("/bases/<id:base_id>/residencies")
@permission_required(Permission.INCUBATION_MANAGE)
def start_residency(base_id: int) -> Any:
    """A business moves into a unit; a full base, an occupied unit or a business living
    elsewhere is refused with a message next to the form."""
    base = get_base_in_scope(current_user, base_id)
    form = ResidencyForm()
    if form.validate_on_submit():
        try:
            residency = operations.start_residency(
                current_user, base, form.data, as_of=today_in_china()
            )
        except (ValidationFailed, Conflict) as error:
            db.session.rollback()
            _show_refusal(form, error)
        else:
            db.session.commit()
            flash(_("%(name)s moved in.", name=residency.business.name), "success")
            return redirect(url_for("incubation.base", base_id=base_id))
    return _render_base(get_base_in_scope(current_user, base_id), residency_form=form)


@incubation_bp.post("/residencies/<id:residency_id>/end")
@permission_required(Permission.INCUBATION_MANAGE)
def end_residency(residency_id: int) -> Any:
    """A business moves out; ending as closed also records the business's closure."""
    residency = get_residency_in_scope(current_user, residency_id)
    base_id = residency.base_id
    form = EndResidencyForm()
    if form.validate_on_submit():
        try:
            operations.end_residency(current_user, residency, form.data, as_of=today_in_china())
        except (ValidationFailed, Conflict) as error:
            db.session.rollback()
            _show_refusal(form, error)
        else:
            db.session.commit()
            flash(_("%(name)s moved out.", name=residency.business.name), "success")
            return redirect(url_for("incubation.base", base_id=base_id))
    base = get_base_in_scope(current_user, base_id)
    return _render_base(base, end_form=form, ending_id=residency_id)


# Occupancy ------------------------------------------------------------------------------
@incubation_bp.get("/occupancy")
@permission_required(Permission.INCUBATION_MANAGE)
def occupancy() -> Any:
    """Occupancy per region of the user's area: bases, units, residents, free units, rate."""
    lines = region_occupancy(current_user)
    return render_template("incubation/occupancy.html", lines=lines, total=total_occupancy(lines))
