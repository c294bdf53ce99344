"""Reads shared by the report pages and API."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.core.permissions import scoped
from app.extensions import db
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
