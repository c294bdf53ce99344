"""Reads shared by the report pages and API."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from app.core.permissions import scoped
from app.extensions import db
from app.founders.models import Founder
from app.regions.models import Region


def region_in_scope(user: Any, region_code: str) -> bool:
    """Whether the user may read the figures of this region (their area, a province's
    staff any of its cities; administrators everything)."""
    found = db.session.scalar(
        scoped(select(Region.code), user, region_column=Region.code).where(
            Region.code == region_code
        )
    )
    return found is not None


def region_name(region_code: str) -> str:
    """The region's name, or its code when unknown."""
    return db.session.scalar(select(Region.name).where(Region.code == region_code)) or region_code


def default_region_code(user: Any) -> str | None:
    """The region a user's reports open on: their own; for an administrator (who has
    none) the province with the most founders, else the first province."""
    if getattr(user, "region_code", None):
        return user.region_code
    province = func.coalesce(Region.parent_code, Region.code)
    busiest = db.session.scalar(
        select(province)
        .join(Founder, Founder.region_code == Region.code)
        .group_by(province)
        .order_by(func.count().desc(), province)
        .limit(1)
    )
    return busiest or db.session.scalar(
        select(Region.code).where(Region.parent_code.is_(None)).order_by(Region.code).limit(1)
    )
