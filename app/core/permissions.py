"""Who may do what: roles, permissions, the decorator and scoped queries. Default deny."""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, Protocol, TypeVar

from flask import abort, request
from flask_login import current_user
from sqlalchemy import ColumnElement, Select, false, true

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


class Role(enum.StrEnum):
    """The four kinds of account (SPEC §4)."""

    ADMIN = "admin"
    STAFF = "staff"
    OFFICER = "officer"
    FOUNDER = "founder"


class Permission(enum.StrEnum):
    """Actions a role may take; features check these, never role names."""

    USERS_MANAGE = "users.manage"
    REGIONS_MANAGE = "regions.manage"
    AUDIT_READ = "audit.read"
    SETTINGS_MANAGE = "settings.manage"
    POLICIES_MANAGE = "policies.manage"
    JOBS_RUN = "jobs.run"
    DASHBOARD_VIEW = "dashboard.view"
    FOUNDERS_READ = "founders.read"
    FOUNDERS_WRITE = "founders.write"
    TRAINING_MANAGE = "training.manage"
    LIBRARY_BROWSE = "library.browse"
    LIBRARY_CURATE = "library.curate"
    LIBRARY_ADOPT = "library.adopt"
    BUSINESSES_READ = "businesses.read"
    BUSINESSES_WRITE = "businesses.write"
    INCUBATION_MANAGE = "incubation.manage"
    FOLLOWUPS_READ = "followups.read"
    FOLLOWUPS_MANAGE = "followups.manage"
    NOTIFICATIONS_READ = "notifications.read"
    TARGETS_MANAGE = "targets.manage"
    REPORTS_READ = "reports.read"
    LOANS_READ = "loans.read"
    LOANS_MANAGE = "loans.manage"
    INTEGRITY_READ = "integrity.read"
    INTEGRITY_WRITE = "integrity.write"
    OWN_RECORDS_READ = "own_records.read"
    OWN_BUSINESS_OBSERVE = "own_business.observe"


_READ_EVERYTHING = {
    Permission.FOUNDERS_READ,
    Permission.BUSINESSES_READ,
    Permission.LOANS_READ,
    Permission.INTEGRITY_READ,
    Permission.REPORTS_READ,
    Permission.LIBRARY_BROWSE,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(
        {
            Permission.USERS_MANAGE,
            Permission.REGIONS_MANAGE,
            Permission.AUDIT_READ,
            Permission.SETTINGS_MANAGE,
            Permission.POLICIES_MANAGE,
            Permission.TARGETS_MANAGE,
            Permission.JOBS_RUN,
            Permission.DASHBOARD_VIEW,
            Permission.FOLLOWUPS_READ,
            Permission.NOTIFICATIONS_READ,
            *_READ_EVERYTHING,
        }
    ),
    Role.STAFF: frozenset(
        {
            Permission.DASHBOARD_VIEW,
            Permission.FOUNDERS_READ,
            Permission.FOUNDERS_WRITE,
            Permission.TRAINING_MANAGE,
            Permission.LIBRARY_BROWSE,
            Permission.LIBRARY_CURATE,
            Permission.LIBRARY_ADOPT,
            Permission.BUSINESSES_READ,
            Permission.BUSINESSES_WRITE,
            Permission.INCUBATION_MANAGE,
            Permission.FOLLOWUPS_READ,
            Permission.FOLLOWUPS_MANAGE,
            Permission.NOTIFICATIONS_READ,
            Permission.TARGETS_MANAGE,
            Permission.REPORTS_READ,
        }
    ),
    Role.OFFICER: frozenset(
        {
            Permission.DASHBOARD_VIEW,
            Permission.LOANS_READ,
            Permission.LOANS_MANAGE,
            Permission.INTEGRITY_READ,
            Permission.INTEGRITY_WRITE,
            Permission.FOUNDERS_READ,
            Permission.BUSINESSES_READ,
            Permission.REPORTS_READ,
            Permission.LIBRARY_BROWSE,
            # Officers do the loan_usage follow-ups of their area (and only those).
            Permission.FOLLOWUPS_READ,
            Permission.FOLLOWUPS_MANAGE,
            Permission.NOTIFICATIONS_READ,
        }
    ),
    Role.FOUNDER: frozenset(
        {
            Permission.DASHBOARD_VIEW,
            Permission.OWN_RECORDS_READ,
            Permission.OWN_BUSINESS_OBSERVE,
            Permission.LIBRARY_BROWSE,
            Permission.LIBRARY_ADOPT,
            Permission.NOTIFICATIONS_READ,
        }
    ),
}


class ScopedUser(Protocol):
    """What scoping needs to know about a user; auth.models.User provides it."""

    role: str
    founder_id: int | None

    def region_scope(self, region_column: ColumnElement) -> ColumnElement[bool]: ...


def has_permission(user: Any, permission: Permission) -> bool:
    """True when the user is signed in, active and their role grants `permission`."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if not getattr(user, "is_active", False):
        return False
    try:
        role = Role(user.role)
    except ValueError:
        return False
    return permission in ROLE_PERMISSIONS.get(role, frozenset())


def is_api_request() -> bool:
    """API requests answer in JSON; everything else is a page."""
    return request.path.startswith("/api/")


def permission_required(*permissions: Permission, any_of: bool = False) -> Callable[[F], F]:
    """Let the view run only for a signed-in user holding every named permission (or, with
    `any_of`, at least one: e.g. staff reading any founder or a founder reading their own).

    Anonymous users get 401 on the API and the login page otherwise; others get 403.
    """
    combine = any if any_of else all

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                if is_api_request():
                    abort(401)
                from app.extensions import login_manager

                return login_manager.unauthorized()
            if not combine(has_permission(current_user, p) for p in permissions):
                # A failed access decision is logged (ASVS 7.2.2): who, where, not what.
                logger.warning(
                    "forbidden user=%s role=%s endpoint=%s %s",
                    current_user.id,
                    current_user.role,
                    request.endpoint,
                    request.method,
                )
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_permissions = frozenset(permissions)  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator


def scope_clause(
    user: ScopedUser,
    *,
    region_column: ColumnElement | None = None,
    founder_column: ColumnElement | None = None,
) -> ColumnElement[bool]:
    """The WHERE clause that keeps a user's query inside their scope (SPEC §4).

    Admins see everything; staff and officers see their region (a province includes its
    cities); founders see rows whose founder column is their own founder id. Anything
    else, or a role a table gives no column for, sees nothing.
    """
    try:
        role = Role(user.role)
    except ValueError:
        return false()
    if role is Role.ADMIN:
        return true()
    if role in (Role.STAFF, Role.OFFICER) and region_column is not None:
        return user.region_scope(region_column)
    if role is Role.FOUNDER and founder_column is not None and user.founder_id is not None:
        return founder_column == user.founder_id
    return false()


def scoped(
    stmt: Select,
    user: ScopedUser,
    *,
    region_column: ColumnElement | None = None,
    founder_column: ColumnElement | None = None,
) -> Select:
    """`stmt` restricted to the user's scope, so out-of-scope rows are never loaded."""
    return stmt.where(
        scope_clause(user, region_column=region_column, founder_column=founder_column)
    )
