"""The dashboard and the language switch."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, session, url_for
from flask_login import current_user

from app.auth.operations import set_preferred_locale
from app.core.permissions import Permission, has_permission, permission_required
from app.core.security import safe_next_url
from app.extensions import db
from app.main.forms import LanguageForm
from app.main.queries import (
    count_active_users_by_role,
    count_regions_by_level,
    list_recent_audit_entries,
)

main_bp = Blueprint("main", __name__)


@main_bp.get("/")
@permission_required(Permission.DASHBOARD_VIEW)
def dashboard() -> Any:
    """Each role's starting page; a founder's is their own record."""
    if has_permission(current_user, Permission.OWN_RECORDS_READ):
        return redirect(url_for("founders.my_record"))
    is_admin = has_permission(current_user, Permission.USERS_MANAGE)
    return render_template(
        "main/dashboard.html",
        users_by_role=count_active_users_by_role() if is_admin else None,
        regions_by_level=count_regions_by_level(),
        recent_audit=list_recent_audit_entries()
        if has_permission(current_user, Permission.AUDIT_READ)
        else None,
    )


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
