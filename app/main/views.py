"""The dashboard and the language switch."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_login import current_user

from app.auth.operations import set_preferred_locale
from app.core.dates import today_in_china
from app.core.permissions import Permission, has_permission, permission_required
from app.core.security import safe_next_url
from app.extensions import db
from app.main.forms import LanguageForm
from app.main.queries import (
    count_active_users_by_role,
    count_regions_by_level,
    list_recent_audit_entries,
)
from app.regions.queries import region_choices_in_scope
from app.reports.dashboard import build_dashboard
from app.reports.dashboard_charts import CHART_TITLES
from app.reports.forms import DashboardForm
from app.reports.page_figures import year_actuals
from app.reports.queries import default_region_code, region_in_scope
from app.targets.progress import target_progress

main_bp = Blueprint("main", __name__)


@main_bp.get("/")
@permission_required(Permission.DASHBOARD_VIEW)
def dashboard() -> Any:
    """Each role's starting page: a founder's is their own record; staff and officers see
    their area's figures against policy and targets, administrators the same plus the
    accounts and the audit trail."""
    if has_permission(current_user, Permission.OWN_RECORDS_READ):
        return redirect(url_for("founders.my_record"))
    is_admin = has_permission(current_user, Permission.USERS_MANAGE)
    args = request.args.copy()
    if not args.get("region_code"):
        args["region_code"] = default_region_code(current_user) or ""
    form = DashboardForm(args)
    data = progress = None
    is_valid = form.validate()
    if is_valid and not region_in_scope(current_user, form.region_code.data):
        abort(404)
    if is_valid:
        as_of = form.as_of.data or today_in_china()
        data = build_dashboard(
            form.region_code.data,
            as_of,
            form["from"].data,
            form.to.data,
            form.chosen_breakdown,
            locale=str(get_locale()),
        )
        region_code = form.region_code.data
        progress = target_progress(
            region_code, as_of.year, as_of, year_actuals(region_code, as_of.year, as_of)
        )
    return render_template(
        "main/dashboard.html",
        form=form,
        data=data,
        charts=CHART_TITLES,
        progress=progress,
        regions=region_choices_in_scope(current_user),
        users_by_role=count_active_users_by_role() if is_admin else None,
        regions_by_level=count_regions_by_level(),
        recent_audit=list_recent_audit_entries()
        if has_permission(current_user, Permission.AUDIT_READ)
        else None,
    ), (200 if is_valid else 422)


@main_bp.post("/language")
def set_language() -> Any:
    """Remember the chosen language in the session and, when signed in, on the account."""
    form = LanguageForm()
    if form.validate_on_submit():
        session["locale"] = form.locale.data
        if current_user.is_authenticated:
            set_preferred_locale(current_user, form.locale.data)
            db.session.commit()
    return redirect(safe_next_url(form.next.data) or url_for("main.dashboard"))
