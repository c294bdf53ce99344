"""Pages: the admin's loan policies per region.

The overview lists every province with its cities and says, for each, whether it has a
policy of its own or inherits one (and from where), with the figures that matter. One
region's page edits its policy, prefilled with the values that apply now; a region with a
policy of its own can drop it and inherit again. Admins only (`policies.manage`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.core.db import utcnow
from app.core.errors import Conflict, ValidationFailed
from app.core.forms import show_form_errors
from app.core.permissions import Permission, permission_required
from app.extensions import db
from app.loans import policies
from app.loans.policy_forms import PolicyClearForm, PolicyForm

loan_policies_bp = Blueprint("loan_policies", __name__, url_prefix="/admin/loan-policies")


@loan_policies_bp.context_processor
def policy_formatting() -> dict[str, Any]:
    """How the policy pages show amounts and rates to people."""
    return {"yuan": _yuan, "percent": _percent, "times": _times}


def _yuan(amount: Decimal) -> str:
    """An amount for people, like ¥300,000 (fen only when there are some)."""
    return f"¥{amount:,.0f}" if amount == amount.to_integral_value() else f"¥{amount:,.2f}"


def _percent(rate: Decimal) -> str:
    """0.0345 as "3.45%"."""
    return f"{policies.rate_text(rate * 100)}%"


def _times(leverage: Decimal) -> str:
    """5 as "5×"."""
    return f"{policies.rate_text(leverage)}×"


@loan_policies_bp.get("/")
@permission_required(Permission.POLICIES_MANAGE)
def index() -> Any:
    """Every region's policy: its own, or inherited from its province or the defaults."""
    return render_template("loans/policies/index.html", lines=policies.list_region_policies())


@loan_policies_bp.route("/<region_code>", methods=["GET", "POST"])
@permission_required(Permission.POLICIES_MANAGE)
def edit(region_code: str) -> Any:
    """Set a region's own policy, starting from the values that apply there now."""
    region = policies.get_policy_region(region_code)
    policy = policies.get_effective_policy(region.code)
    form = PolicyForm(data=policy.values())
    if form.validate_on_submit():
        values = {name: form[name].data for name in policies.POLICY_FIELDS}
        try:
            policies.put_policy(current_user, region.code, values, as_of=utcnow())
        except ValidationFailed as error:
            db.session.rollback()
            show_form_errors(form, error)
        else:
            db.session.commit()
            flash(_("Loan policy of %(region)s saved.", region=region.display_name), "success")
            return redirect(url_for("loan_policies.index", _anchor=f"region-{region.code}"))
    return render_template(
        "loans/policies/edit.html",
        region=region,
        policy=policy,
        form=form,
        clear_form=PolicyClearForm(formdata=None),
    )


@loan_policies_bp.post("/<region_code>/clear")
@permission_required(Permission.POLICIES_MANAGE)
def clear(region_code: str) -> Any:
    """Drop a region's own policy: a city inherits its province's, a province the defaults."""
    region = policies.get_policy_region(region_code)
    if PolicyClearForm().validate_on_submit():
        try:
            now = policies.clear_policy(current_user, region.code)
        except Conflict as error:
            db.session.rollback()
            flash(error.message, "danger")
        else:
            db.session.commit()
            if now.is_default:
                flash(
                    _("%(region)s now uses the default policy.", region=region.display_name),
                    "success",
                )
            else:
                flash(
                    _("%(region)s now uses its province's policy.", region=region.display_name),
                    "success",
                )
    return redirect(url_for("loan_policies.edit", region_code=region.code))
