"""Reads of incubation bases and residencies for pages, the API and the founder's page.

A base belongs to its region: staff see the bases of their area (a province's staff every
base of the province). A residency is seen through its base. Occupancy is counted in SQL
(open residencies, GROUP BY base or region); only the rates are divided here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload

from app.businesses.models import Business
from app.core.errors import NotFound
from app.core.permissions import scoped
from app.extensions import db
from app.incubation.models import IncubationBase, Residency
from app.regions.models import Region
from app.training.queries import rate


@dataclass(frozen=True)
class BaseFilters:
    """What the base list and the API filter by; every field optional."""

    q: str | None = None
    region_code: str | None = None
    kind: str | None = None

    @classmethod
    def from_form(cls, form: Any) -> BaseFilters:
        """Read the filter form's cleaned values (empty boxes mean "any"). A box the form
        refused is left out, so one bad value does not undo the other filters."""
        return cls(
            **{
                name: None if form[name].errors else form[name].data or None
                for name in cls.__dataclass_fields__
            }
        )


@dataclass(frozen=True)
class Occupancy:
    """How full a base, or a region's bases, are now."""

    units: int = 0
    occupied: int = 0
    bases: int = 1

    @property
    def free(self) -> int:
        """Units without a resident (never negative, even if units were cut by hand)."""
        return max(self.units - self.occupied, 0)

    @property
    def rate(self) -> float | None:
        """Occupied over units, to 4 places; None without units."""
        return rate(self.occupied, self.units)


@dataclass(frozen=True)
class RegionOccupancy:
    """One line of the occupancy table: a region and its bases' figures."""

    region: Region
    occupancy: Occupancy


def _open_counts() -> Any:
    """Open residencies per base, as a subquery (base_id, occupied)."""
    return (
        select(Residency.base_id, func.count(Residency.id).label("occupied"))
        .where(Residency.ends_on.is_(None))
        .group_by(Residency.base_id)
        .subquery()
    )


def list_bases_stmt(user: Any, filters: BaseFilters = BaseFilters()) -> Select:
    """Bases in the user's scope matching `filters`, by region then name."""
    stmt = scoped(select(IncubationBase), user, region_column=IncubationBase.region_code)
    if filters.q:
        stmt = stmt.where(IncubationBase.name.contains(filters.q, autoescape=True))
    if filters.region_code:
        stmt = stmt.where(IncubationBase.region_code == filters.region_code)
    if filters.kind:
        stmt = stmt.where(IncubationBase.kind == filters.kind)
    return stmt.order_by(IncubationBase.region_code, IncubationBase.name, IncubationBase.id)


def base_occupancy(base_ids: Iterable[int]) -> dict[int, Occupancy]:
    """Units and current residents of each given base (one query, whatever the count)."""
    ids = sorted(set(base_ids))
    if not ids:
        return {}
    counts = _open_counts()
    stmt = (
        select(
            IncubationBase.id,
            IncubationBase.units,
            func.coalesce(counts.c.occupied, 0).label("occupied"),
        )
        .outerjoin(counts, counts.c.base_id == IncubationBase.id)
        .where(IncubationBase.id.in_(ids))
    )
    return {
        row.id: Occupancy(units=int(row.units), occupied=int(row.occupied))
        for row in db.session.execute(stmt)
    }


def get_base_in_scope(user: Any, base_id: int) -> IncubationBase:
    """The base if the user may see it; 404 otherwise (absent and out of scope look alike)."""
    stmt = scoped(
        select(IncubationBase).where(IncubationBase.id == base_id),
        user,
        region_column=IncubationBase.region_code,
    )
    base = db.session.scalar(stmt)
    if base is None:
        raise NotFound(_("No such incubation base in your area."))
    return base


def get_residency_in_scope(user: Any, residency_id: int) -> Residency:
    """The residency if the user may see its base; 404 otherwise."""
    stmt = scoped(
        select(Residency)
        .join(IncubationBase, IncubationBase.id == Residency.base_id)
        .where(Residency.id == residency_id),
        user,
        region_column=IncubationBase.region_code,
    )
    residency = db.session.scalar(stmt)
    if residency is None:
        raise NotFound(_("No such residency in your area."))
    return residency


def _with_business_and_founder(stmt: Select) -> Select:
    return stmt.options(joinedload(Residency.business).joinedload(Business.founder))


def list_residents_stmt(base_id: int, *, current: bool = True) -> Select:
    """A base's residents: current ones by unit, or past ones latest moved out first."""
    stmt = _with_business_and_founder(select(Residency).where(Residency.base_id == base_id))
    if current:
        return stmt.where(Residency.ends_on.is_(None)).order_by(Residency.unit_label, Residency.id)
    return stmt.where(Residency.ends_on.is_not(None)).order_by(
        Residency.ends_on.desc(), Residency.id.desc()
    )


def list_residents(base_id: int, *, current: bool = True) -> list[Residency]:
    """A base's residents with their businesses and founders (see `list_residents_stmt`)."""
    return list(db.session.scalars(list_residents_stmt(base_id, current=current)))


def list_residencies_of_business(business_id: int) -> list[Residency]:
    """A business's residencies with their bases, latest first."""
    stmt = (
        select(Residency)
        .where(Residency.business_id == business_id)
        .order_by(Residency.starts_on.desc(), Residency.id.desc())
    )
    return list(db.session.scalars(stmt))


def list_residencies_of_founder(user: Any, founder_id: int) -> list[Residency]:
    """The residencies of the founder's businesses that `user` may see, latest first."""
    stmt = scoped(
        select(Residency)
        .join(Business, Business.id == Residency.business_id)
        .where(Business.founder_id == founder_id)
        .order_by(Residency.starts_on.desc(), Residency.id.desc()),
        user,
        region_column=Business.region_code,
        founder_column=Business.founder_id,
    )
    return list(db.session.scalars(stmt))


def first_residency_on(founder_id: int) -> date | None:
    """The day the founder's first business entered a base (the journey's milestone)."""
    return db.session.scalar(
        select(func.min(Residency.starts_on))
        .join(Business, Business.id == Residency.business_id)
        .where(Business.founder_id == founder_id)
    )


def region_occupancy(user: Any) -> list[RegionOccupancy]:
    """Per region of the user's area: bases, units, current residents (regions without a
    base included, with zeros), in region code order."""
    counts = _open_counts()
    stmt = (
        select(
            Region,
            func.count(IncubationBase.id).label("bases"),
            func.coalesce(func.sum(IncubationBase.units), 0).label("units"),
            func.coalesce(func.sum(counts.c.occupied), 0).label("occupied"),
        )
        .outerjoin(IncubationBase, IncubationBase.region_code == Region.code)
        .outerjoin(counts, counts.c.base_id == IncubationBase.id)
        .group_by(Region.code)
        .order_by(Region.code)
    )
    stmt = scoped(stmt, user, region_column=Region.code)
    return [
        RegionOccupancy(
            region=row.Region,
            occupancy=Occupancy(
                units=int(row.units), occupied=int(row.occupied), bases=int(row.bases)
            ),
        )
        for row in db.session.execute(stmt)
    ]


def total_occupancy(lines: Iterable[RegionOccupancy]) -> Occupancy:
    """The occupancy table's total line (sums of figures already counted in SQL)."""
    lines = list(lines)
    return Occupancy(
        units=sum(line.occupancy.units for line in lines),
        occupied=sum(line.occupancy.occupied for line in lines),
        bases=sum(line.occupancy.bases for line in lines),
    )
