"""Sign-in and account pages, and the administrators' user pages."""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.routing import BuildError

from app.auth import operations
from app.auth.forms import (
    ChangePasswordForm,
    LoginForm,
    PasswordResetForm,
    UserCreateForm,
    UserEditForm,
    UserFilterForm,
)
from app.auth.queries import get_user, list_users_stmt
from app.core.api import json_response
from app.core.dates import today_in_china
from app.core.errors import Conflict, ValidationFailed
from app.core.forms import show_form_errors, with_blank
from app.core.pagination import paginate, read_page_request_or_first
from app.core.permissions import Permission, Role, is_api_request, permission_required
from app.core.security import safe_next_url
from app.extensions import db
from app.notifications.queries import has_pending_status_request
from app.regions.queries import region_choices

logger = logging.getLogger(__name__)

auth_bp = Blueprint("auth", __name__)

# What a user who must replace their password may still reach (besides static files).
PASSWORD_CHANGE_ENDPOINTS = frozenset({"auth.change_password", "auth.logout", "main.set_language"})


@auth_bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Sign in with username and password."""
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        result = operations.authenticate(
            form.username.data, form.password.data, ip_address=request.remote_addr
        )
        if result.user is not None and not result.user.locale and session.get("locale"):
            operations.set_preferred_locale(result.user, session["locale"])
        db.session.commit()  # the attempt is counted whatever the outcome
        if result.is_locked:
            minutes = max(1, (result.retry_after_seconds + 59) // 60)
            flash(_("Too many failed attempts. Try again in %(n)s minutes.", n=minutes), "danger")
        elif result.user is None:
            flash(_("Unknown username or wrong password."), "danger")
        else:
            _start_fresh_session(result.user)
            if result.user.must_change_password:
                flash(_("Your password was set by someone else: choose your own."), "warning")
                return redirect(url_for("auth.change_password"))
            status_url = _status_request_url(result.user)
            if status_url:
                flash(_("Please tell us how your business is doing"), "info")
                return redirect(status_url)
            return redirect(safe_next_url(request.args.get("next")) or url_for("main.dashboard"))
    return render_template("auth/login.html", form=form)


def _status_request_url(user: Any) -> str | None:
    """Where a founder who owes a status update goes after signing in (at every sign-in
    until the answer completes the follow-up), or None."""
    if user.role != Role.FOUNDER or not has_pending_status_request(
        user.founder_id, today_in_china()
    ):
        return None
    try:
        return url_for("followups.my_status")
    except BuildError:  # the status page is not there (yet): the usual landing page
        return None


# When the session began (Unix time). Sessions end this long after sign-in however busy they
# are, so a shared office computer does not stay signed in overnight.
SIGNED_IN_AT = "signed_in_at"


def end_expired_session() -> None:
    """Before each request: sign out a browser session older than its working-day lifetime."""
    if g.get("api_token") is not None or not current_user.is_authenticated:
        return
    lifetime = current_app.config["PERMANENT_SESSION_LIFETIME"].total_seconds()
    started = session.get(SIGNED_IN_AT)
    if isinstance(started, int | float) and time.time() - started <= lifetime:
        return
    _end_session()
    flash(_("Your session has ended. Please sign in again."), "info")


def insist_on_password_change() -> Any:
    """Before each request: a user whose password someone else set (a new account, a
    reset) must change it first; pages lead to the change-password page, the API is 403."""
    if not current_user.is_authenticated or not current_user.must_change_password:
        return None
    endpoint = request.endpoint or ""
    if is_api_request():
        logger.warning(
            "forbidden user=%s path=%s password change required", current_user.id, request.path
        )
        return json_response({"error": operations.must_change_password_message()}, 403)
    if endpoint in PASSWORD_CHANGE_ENDPOINTS or endpoint.endswith("static"):
        return None
    flash(_("Your password was set by someone else: choose your own."), "warning")
    return redirect(url_for("auth.change_password"))


def _start_fresh_session(user: Any) -> None:
    """A new session for the signed-in user, keeping the language chosen before sign-in."""
    chosen_locale = session.get("locale")
    session.clear()
    login_user(user)
    session.permanent = True
    session[SIGNED_IN_AT] = int(time.time())
    if chosen_locale:
        session["locale"] = chosen_locale


def _end_session() -> None:
    """Sign out of this browser, keeping its language for the login page."""
    chosen_locale = session.get("locale") or getattr(current_user, "locale", None)
    logout_user()
    session.clear()
    if chosen_locale:
        session["locale"] = chosen_locale


@auth_bp.post("/logout")
@login_required
def logout() -> Any:
    """Sign out of this and every other session of the user."""
    operations.sign_out_everywhere(current_user._get_current_object())
    db.session.commit()
    _end_session()
    flash(_("You have signed out on every device."), "info")
    return redirect(url_for("auth.login"))


@auth_bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> Any:
    """Change one's own password; every session then has to sign in again."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            operations.change_own_password(
                current_user._get_current_object(),
                form.current_password.data,
                form.new_password.data,
                ip_address=request.remote_addr,
            )
        except ValidationFailed as error:
            db.session.commit()  # a wrong current password stays counted (throttle)
            show_form_errors(form, error)
        else:
            db.session.commit()
            _end_session()
            flash(_("Password changed. Please sign in with the new password."), "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/change_password.html", form=form)


# Administration of users ------------------------------------------------------------
@auth_bp.get("/admin/users")
@permission_required(Permission.USERS_MANAGE)
def list_users() -> Any:
    """All accounts, filterable by text, role, region and status."""
    filters = UserFilterForm(request.args)
    filters.region_code.choices = with_blank(region_choices())
    values = filters.data if filters.validate() else {}
    pagination = paginate(
        list_users_stmt(
            q=values.get("q"),
            role=values.get("role"),
            region_code=values.get("region_code"),
            status=values.get("status"),
        ),
        read_page_request_or_first(request.args),
    )
    return render_template("auth/users.html", filters=filters, pagination=pagination)


@auth_bp.route("/admin/users/new", methods=["GET", "POST"])
@permission_required(Permission.USERS_MANAGE)
def create_user() -> Any:
    """Add an account."""
    form = UserCreateForm()
    form.region_code.choices = region_choices()
    if form.validate_on_submit():
        try:
            user = operations.create_user(
                current_user,
                username=form.username.data,
                password=form.password.data,
                role=form.role.data,
                region_code=form.region_code.data,
                founder_id=form.founder_id.data,
                display_name=form.display_name.data or "",
                email=form.email.data,
            )
        except (ValidationFailed, Conflict) as error:
            db.session.rollback()
            show_form_errors(form, error, field_name="username")
        else:
            db.session.commit()
            flash(_("Account %(name)s created.", name=user.username), "success")
            return redirect(url_for("auth.list_users"))
    return render_template("auth/user_form.html", form=form, user=None)


@auth_bp.route("/admin/users/<id:user_id>/edit", methods=["GET", "POST"])
@permission_required(Permission.USERS_MANAGE)
def edit_user(user_id: int) -> Any:
    """Change an account's name, role, region, founder link or status."""
    user = get_user(user_id) or abort(404)
    form = UserEditForm(obj=user)
    form.region_code.choices = region_choices()
    if form.validate_on_submit():
        try:
            operations.update_user(
                current_user,
                user,
                display_name=form.display_name.data or "",
                role=form.role.data,
                region_code=form.region_code.data,
                founder_id=form.founder_id.data,
                active=form.active.data,
                email=form.email.data,
            )
        except ValidationFailed as error:
            db.session.rollback()
            show_form_errors(form, error)
        else:
            db.session.commit()
            flash(_("Account %(name)s saved.", name=user.username), "success")
            return redirect(url_for("auth.list_users"))
    return render_template("auth/user_form.html", form=form, user=user)


@auth_bp.route("/admin/users/<id:user_id>/password", methods=["GET", "POST"])
@permission_required(Permission.USERS_MANAGE)
def reset_password(user_id: int) -> Any:
    """Set a new password for someone who lost theirs."""
    user = get_user(user_id) or abort(404)
    form = PasswordResetForm()
    if form.validate_on_submit():
        try:
            operations.reset_password(current_user, user, form.password.data)
        except ValidationFailed as error:
            db.session.rollback()
            show_form_errors(form, error)
        else:
            db.session.commit()
            flash(
                _("New password set for %(name)s; their sessions have ended.", name=user.username),
                "success",
            )
            return redirect(url_for("auth.list_users"))
    return render_template("auth/reset_password.html", form=form, user=user)
