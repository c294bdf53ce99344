"""JSON API: bearer tokens and user accounts."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, g, request
from flask_babel import gettext as _
from flask_login import current_user

from app.auth import operations
from app.auth.forms import TokenRequestForm, UserCreateForm, UserFilterForm
from app.auth.models import User
from app.auth.queries import list_users_stmt
from app.core.api import (
    api_endpoint,
    json_response,
    read_json_form,
    read_query_form,
    validate_or_raise,
)
from app.core.errors import TooManyAttempts
from app.core.pagination import page_envelope, paginate, read_page_request
from app.core.permissions import Permission, permission_required
from app.extensions import db

auth_api_bp = Blueprint("api_auth", __name__, url_prefix="/api/v1")

USER_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "username": {"type": "string"},
        "display_name": {"type": "string"},
        "role": {"type": "string", "enum": ["admin", "staff", "officer", "founder"]},
        "region_code": {"type": "string"},
        "founder_id": {"type": "integer", "nullable": True},
        "email": {"type": "string", "nullable": True},
        "active": {"type": "boolean"},
        "created_at": {"type": "string", "format": "date-time"},
    },
    "required": ["id", "username", "role", "region_code", "active"],
}
TOKEN_SCHEMA = {
    "type": "object",
    "properties": {
        "token": {"type": "string"},
        "expires_at": {"type": "string", "format": "date-time"},
    },
    "required": ["token", "expires_at"],
}


def user_json(user: User) -> dict[str, Any]:
    """The API's view of an account (never the password hash)."""
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "region_code": user.region_code,
        "founder_id": user.founder_id,
        "email": user.email,
        "active": user.active,
        "created_at": user.created_at.isoformat(),
    }


@auth_api_bp.post("/auth/token")
@api_endpoint(
    "Exchange a username and password for a bearer token",
    form=TokenRequestForm,
    response=TOKEN_SCHEMA,
    status=201,
    public=True,
    errors=(401, 403, 429),
)
def create_token() -> Any:
    """A bearer token for a username and password; failures are counted like sign-ins."""
    form = read_json_form(TokenRequestForm)
    validate_or_raise(form)
    result = operations.authenticate(
        form.username.data, form.password.data, ip_address=request.remote_addr
    )
    if result.user is None:
        db.session.commit()  # keep the failure count
        if result.is_locked:
            raise TooManyAttempts(
                _("Too many failed attempts; please wait and try again."),
                retry_after_seconds=result.retry_after_seconds,
            )
        return json_response({"error": _("Unknown username or wrong password.")}, 401)
    if result.user.must_change_password:
        db.session.commit()  # the sign-in itself was good: keep its forgiven counters
        return json_response({"error": operations.must_change_password_message()}, 403)
    raw, token = operations.issue_api_token(result.user)
    db.session.commit()
    return json_response({"token": raw, "expires_at": token.expires_at.isoformat()}, 201)


@auth_api_bp.delete("/auth/token")
@api_endpoint("Revoke the bearer token this request is signed with", status=204)
def revoke_token() -> Any:
    """End the token the request is signed with (a session-only caller has none: 401)."""
    token = g.get("api_token")
    if token is None:
        abort(401)
    operations.revoke_api_token(token)
    db.session.commit()
    return "", 204


@auth_api_bp.post("/users")
@permission_required(Permission.USERS_MANAGE)
@api_endpoint(
    "Create a user account", form=UserCreateForm, response=USER_SCHEMA, status=201, errors=(409,)
)
def create_user() -> Any:
    """An administrator adds an account; the answer never contains the password."""
    form = read_json_form(UserCreateForm)
    validate_or_raise(form)
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
    db.session.commit()
    return json_response(user_json(user), 201)


@auth_api_bp.get("/users")
@permission_required(Permission.USERS_MANAGE)
@api_endpoint("List user accounts", query=UserFilterForm, response=USER_SCHEMA, paginated=True)
def list_users() -> Any:
    """Accounts, filtered and paginated like the users page."""
    filters = read_query_form(UserFilterForm)
    pagination = paginate(
        list_users_stmt(
            q=filters.q.data,
            role=filters.role.data,
            region_code=filters.region_code.data,
            status=filters.status.data,
        ),
        read_page_request(request.args),
    )
    return json_response(page_envelope(pagination, user_json))
