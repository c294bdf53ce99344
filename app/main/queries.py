"""Figures for the dashboard, computed in the database."""

from __future__ import annotations

from sqlalchemy import func, select

from app.auth.models import User
from app.core.audit import AuditEntry
from app.extensions import db
from app.regions.models import Region


def count_active_users_by_role() -> dict[str, int]:
    """Active accounts per role, for the administrator's dashboard."""
    rows = db.session.execute(
        select(User.role, func.count()).where(User.active.is_(True)).group_by(User.role)
    )
    return dict(rows.all())


def count_regions_by_level() -> dict[str, int]:
    """Provinces and cities known to the platform."""
    rows = db.session.execute(select(Region.level, func.count()).group_by(Region.level))
    return dict(rows.all())


def list_recent_audit_entries(limit: int = 8) -> list[AuditEntry]:
    """The latest audited changes."""
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    return list(db.session.scalars(stmt))
