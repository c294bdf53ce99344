"""Admin page: the follow-up plan (SPEC §11, "admin-adjustable").

The overview shows each kind's unit, offsets and repeat interval with an "own" or
"default" badge; a kind's page edits its plan, and "reset" drops the admin's plan so
SPEC's default applies again. Both changes are audited. Tasks planned afterwards follow
the new plan; open tasks move to it at the next daily reconciliation. Admins only.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.core.errors import ValidationFailed
from app.core.forms import show_form_errors
from app.core.permissions import Permission, permission_required
from app.extensions import db
from app.followups import plan as plans
from app.followups.models import TaskKind
from app.followups.plan_forms import PlanForm, PlanResetForm

followup_plan_bp = Blueprint("followup_plan", __name__, url_prefix="/admin/followup-plan")


def _kind_or_404(kind: str) -> TaskKind:
    try:
        return TaskKind(kind)
    except ValueError:
        abort(404)


@followup_plan_bp.context_processor
def plan_labels() -> dict[str, Any]:
    """How the plan pages name kinds, anchors and units."""
    return {
        "kind_label": lambda kind: str(plans.KIND_LABELS[TaskKind(kind)]),
        "anchor_label": lambda kind: str(plans.ANCHOR_LABELS[TaskKind(kind)]),
        "unit_label": lambda unit: str(plans.UNIT_LABELS[plans.PlanUnit(unit)]),
    }


@followup_plan_bp.get("/")
@permission_required(Permission.SETTINGS_MANAGE)
def index() -> Any:
    """The plan in force for every kind of follow-up, own or default."""
    in_force = plans.get_plans()
    lines = [(kind, in_force[kind], plans.DEFAULT_PLANS[kind]) for kind in TaskKind]
    return render_template(
        "followups/plan.html", lines=lines, reset_form=PlanResetForm(formdata=None)
    )


@followup_plan_bp.route("/<kind>", methods=["GET", "POST"])
@permission_required(Permission.SETTINGS_MANAGE)
def edit(kind: str) -> Any:
    """Give one kind a plan of its own, starting from the one in force."""
    task_kind = _kind_or_404(kind)
    current = plans.get_plan(task_kind)
    form = PlanForm(data=current.values())
    status = 200
    if form.validate_on_submit():
        try:
            plans.save_plan(
                current_user,
                task_kind,
                unit=form.unit.data,
                offsets=form.offsets.data,
                repeat_every=form.repeat_every.data,
            )
        except ValidationFailed as error:
            db.session.rollback()
            show_form_errors(form, error)
        else:
            db.session.commit()
            flash(_("Plan of %(kind)s saved.", kind=plans.KIND_LABELS[task_kind]), "success")
            return redirect(url_for("followup_plan.index", _anchor=f"kind-{task_kind.value}"))
    if form.errors:
        status = 422
        flash(
            _(
                "Please correct: %(fields)s.",
                fields=", ".join(str(form[name].label.text) for name in form.errors),
            ),
            "danger",
        )
    return (
        render_template(
            "followups/plan_edit.html",
            kind=task_kind,
            plan=current,
            default=plans.DEFAULT_PLANS[task_kind],
            form=form,
            reset_form=PlanResetForm(formdata=None),
        ),
        status,
    )


@followup_plan_bp.post("/<kind>/reset")
@permission_required(Permission.SETTINGS_MANAGE)
def reset(kind: str) -> Any:
    """Drop a kind's own plan: SPEC's default applies again."""
    task_kind = _kind_or_404(kind)
    if PlanResetForm().validate_on_submit():
        if plans.reset_plan(current_user, task_kind):
            db.session.commit()
            flash(
                _("%(kind)s follows the default plan again.", kind=plans.KIND_LABELS[task_kind]),
                "success",
            )
        else:
            flash(
                _("%(kind)s already follows the default plan.", kind=plans.KIND_LABELS[task_kind]),
                "info",
            )
    return redirect(url_for("followup_plan.index", _anchor=f"kind-{task_kind.value}"))
