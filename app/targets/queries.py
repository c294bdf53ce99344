"""Reads of targets for the pages, the API and the statistics table (SPEC §13)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, and_, case, func, or_, select, type_coerce

from app.core.db import CENT
from app.core.permissions import Role
from app.extensions import db
from app.regions.models import Region, RegionLevel
from app.targets.models import MONEY_FIELDS, TARGET_FIELDS, RegionTarget

TargetValue = int | Decimal


def get_targets(year: int, region_code: str) -> RegionTarget | None:
    """The region's targets for the year, or None when none was ever set."""
    return db.session.scalar(
        select(RegionTarget).where(
            RegionTarget.year == year, RegionTarget.region_code == region_code
        )
    )


@dataclass(frozen=True)
class SplitRow:
    """One line of a province's split: the region and its targets (None: none set)."""

    region: Region
    target: RegionTarget | None

    def value(self, name: str) -> TargetValue | None:
        """The region's target for figure `name`, None when not set."""
        return None if self.target is None else getattr(self.target, name)

    def values(self) -> dict[str, TargetValue | None]:
        """All five figures, None where not set."""
        return {name: self.value(name) for name in TARGET_FIELDS}

    @property
    def has_targets(self) -> bool:
        """True when at least one figure has a target."""
        return any(value is not None for value in self.values().values())


def _in_province(province_code: str) -> Any:
    return or_(Region.code == province_code, Region.parent_code == province_code)


def list_split(year: int, province_code: str) -> list[SplitRow]:
    """The province's row, then one row per city of the province (in code order), each with
    its targets for the year or None; one query. An unknown code gives an empty list."""
    stmt = (
        select(Region, RegionTarget)
        .outerjoin(
            RegionTarget,
            and_(RegionTarget.region_code == Region.code, RegionTarget.year == year),
        )
        .where(_in_province(province_code))
        .order_by(case((Region.level == RegionLevel.PROVINCE, 0), else_=1), Region.code)
    )
    return [SplitRow(region, target) for region, target in db.session.execute(stmt)]


def _sum(name: str) -> Any:
    column = getattr(RegionTarget, name)
    # Money is integer fen underneath: sum the fen, so every engine adds exactly.
    return func.sum(type_coerce(column, BigInteger) if name in MONEY_FIELDS else column)


def _as_value(name: str, raw: Any) -> TargetValue | None:
    if raw is None:
        return None
    if name in MONEY_FIELDS:
        return (Decimal(int(raw)) / 100).quantize(CENT)
    return int(raw)


def split_mismatches(year: int, province_code: str) -> dict[str, tuple[TargetValue, TargetValue]]:
    """{figure: (the province's target, the sum of its cities' targets)} for each figure
    the province has a target for and the cities' targets do not add up to it. A city
    without a target counts as 0; when no city has a target for the figure at all, the
    split is not done and the figure is reported too (a province without cities has
    nothing to split). One GROUP BY query: the province's line and the cities' line."""
    is_province = Region.level == RegionLevel.PROVINCE
    columns = [
        is_province.label("is_province"),
        func.count(Region.code).label("regions"),
    ]
    for name in TARGET_FIELDS:
        column = getattr(RegionTarget, name)
        columns += [_sum(name).label(f"{name}_sum"), func.count(column).label(f"{name}_set")]
    stmt = (
        select(*columns)
        .select_from(Region)
        .outerjoin(
            RegionTarget,
            and_(RegionTarget.region_code == Region.code, RegionTarget.year == year),
        )
        .where(_in_province(province_code))
        .group_by(is_province)
    )
    lines = {bool(line.is_province): line for line in db.session.execute(stmt)}
    province, cities = lines.get(True), lines.get(False)
    if province is None or cities is None:
        return {}
    mismatches: dict[str, tuple[TargetValue, TargetValue]] = {}
    for name in TARGET_FIELDS:
        target = _as_value(name, getattr(province, f"{name}_sum"))
        if target is None:
            continue
        cities_sum = _as_value(name, getattr(cities, f"{name}_sum") or 0)
        assert cities_sum is not None
        if getattr(cities, f"{name}_set") == 0 or cities_sum != target:
            mismatches[name] = (target, cities_sum)
    return mismatches


def list_target_years(region_codes: list[str]) -> list[int]:
    """The years that have targets in any of these regions, newest first."""
    stmt = (
        select(RegionTarget.year)
        .where(RegionTarget.region_code.in_(region_codes))
        .distinct()
        .order_by(RegionTarget.year.desc())
    )
    return list(db.session.scalars(stmt))


def list_target_provinces(user: Any) -> list[Region]:
    """The provinces whose targets pages the user sees: every province for administrators,
    their own province for staff and officers (a city's included: they read its split)."""
    stmt = select(Region).where(Region.level == RegionLevel.PROVINCE).order_by(Region.code)
    role = getattr(user, "role", None)
    if role == Role.ADMIN:
        return list(db.session.scalars(stmt))
    region = getattr(user, "region", None)
    if role not in (Role.STAFF, Role.OFFICER) or region is None:
        return []
    return list(db.session.scalars(stmt.where(Region.code == region.province_code)))


def get_target_province(user: Any, province_code: str) -> Region | None:
    """The province, if the user sees its targets page; None for anything else (a city,
    an unknown code, another province)."""
    return next(
        (province for province in list_target_provinces(user) if province.code == province_code),
        None,
    )
