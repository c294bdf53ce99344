"""Reads of the region tree for pages, forms and the API."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import case, select
from wtforms.fields.choices import SelectChoice

from app.extensions import db
from app.regions.models import Region, RegionLevel

REGION_CODE = re.compile(r"[0-9]{6}")


def get_region(code: str | None) -> Region | None:
    """The region with this code, or None (also for anything that is not six digits)."""
    if not isinstance(code, str) or not REGION_CODE.fullmatch(code):
        return None
    return db.session.get(Region, code)


def list_regions_stmt(*, level: str | None = None, parent_code: str | None = None):
    """Regions ordered as a tree: each province followed by its cities."""
    province_of = case(
        (Region.level == RegionLevel.PROVINCE, Region.code), else_=Region.parent_code
    )
    stmt = select(Region).order_by(
        province_of, case((Region.level == RegionLevel.PROVINCE, 0), else_=1), Region.code
    )
    if level:
        stmt = stmt.where(Region.level == level)
    if parent_code:
        stmt = stmt.where(Region.parent_code == parent_code)
    return stmt


def list_regions(*, level: str | None = None, parent_code: str | None = None) -> list[Region]:
    """All regions (optionally one level or one province's children), in tree order."""
    return list(db.session.scalars(list_regions_stmt(level=level, parent_code=parent_code)))


def region_choices() -> list[SelectChoice]:
    """Options for region select boxes, cities indented under their province."""
    return [
        SelectChoice(
            region.code,
            f"{region.code} {region.display_name}"
            if region.is_province
            else f"\u3000{region.code} {region.display_name}",
        )
        for region in list_regions()
    ]


def region_codes_in(code: str) -> list[str]:
    """The region's own code and, for a province, the codes of its cities."""
    stmt = select(Region.code).where((Region.code == code) | (Region.parent_code == code))
    return list(db.session.scalars(stmt))


def region_codes_in_scope(user: Any) -> frozenset[str]:
    """The regions a user may register or move records into: their region and, for a
    province, its cities. Admins may use every region; founders none."""
    role = getattr(user, "role", None)
    if role == "admin":
        return frozenset(db.session.scalars(select(Region.code)))
    if role in ("staff", "officer"):
        return frozenset(region_codes_in(user.region_code))
    return frozenset()


def region_choices_in_scope(user: Any) -> list[SelectChoice]:
    """Options for a region box limited to the user's scope, in tree order."""
    allowed = region_codes_in_scope(user)
    return [choice for choice in region_choices() if choice.value in allowed]
