"""Reads of the project library for pages, the API and the founder's journey.

Who sees what (D29):

- a region's library is its own published projects plus its province's published
  province-level projects; founders see their region's library;
- city staff see their city's library and their own city's drafts and retired projects;
  officers see published projects only (their region's library, and a province officer
  every published project of the province);
- province staff see the province's projects in every status and every published project
  of the province's cities (to promote the good ones);
- admins see every published project. Drafts are never shown to anyone but their curators.

Outcomes are counted in SQL (GROUP BY): adopters, businesses that name the project, the
operating ones and their jobs; 12-month survival joins with the KPI feature.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select

from app.businesses.models import Business, BusinessStatus
from app.core.errors import NotFound
from app.core.permissions import Role, scoped
from app.extensions import db
from app.founders.models import Founder
from app.library.models import LibraryAdoption, LibraryProject, ProjectLevel, ProjectStatus
from app.regions.models import RegionLevel
from app.regions.queries import get_region

SORTS = ("newest", "investment", "outcome")
PUBLISHED = LibraryProject.status == ProjectStatus.PUBLISHED


def _library_of(region_code: str, province_code: str) -> ColumnElement[bool]:
    """Projects belonging to a region's library, whatever their status."""
    return or_(
        LibraryProject.region_code == region_code,
        and_(
            LibraryProject.level == ProjectLevel.PROVINCE,
            LibraryProject.region_code == province_code,
        ),
    )


def visibility_clause(user: Any) -> ColumnElement[bool]:
    """The WHERE clause of the projects `user` may see (see the module docstring)."""
    role = getattr(user, "role", None)
    if role == Role.ADMIN:
        return PUBLISHED
    region = getattr(user, "region", None)
    if region is None:
        return false()
    library = and_(PUBLISHED, _library_of(region.code, region.province_code))
    if role == Role.FOUNDER:
        return library
    if role == Role.OFFICER:
        return or_(library, and_(PUBLISHED, user.region_scope(LibraryProject.region_code)))
    if role == Role.STAFF:
        level = ProjectLevel.PROVINCE if region.level == RegionLevel.PROVINCE else ProjectLevel.CITY
        curated = and_(LibraryProject.region_code == region.code, LibraryProject.level == level)
        if region.level == RegionLevel.PROVINCE:
            return or_(curated, and_(PUBLISHED, user.region_scope(LibraryProject.region_code)))
        return or_(library, curated)
    return false()


@dataclass(frozen=True)
class ProjectFilters:
    """What the browse page and the API filter and sort by; every field optional."""

    q: str | None = None
    region_code: str | None = None
    industry: str | None = None
    max_investment: Decimal | None = None
    payback: int | None = None
    status: str | None = None
    sort: str | None = None

    @classmethod
    def from_form(cls, form: Any) -> ProjectFilters:
        """Read the filter form's cleaned values (empty boxes mean "any")."""
        values = {}
        for name in cls.__dataclass_fields__:
            field = form._fields.get(name)
            data = field.data if field is not None else None
            values[name] = None if data in (None, "") else data
        return cls(**values)


@dataclass(frozen=True)
class ProjectOutcome:
    """What became of a project: adopters, businesses that name it, and the jobs those
    businesses hold now (employees of the operating ones). 12-month survival joins with
    the KPI feature."""

    adopters: int = 0
    businesses: int = 0
    operating: int = 0
    jobs: int = 0

    def as_json(self) -> dict[str, Any]:
        """The API's `outcome` object."""
        return {
            "adopters": self.adopters,
            "businesses": self.businesses,
            "operating": self.operating,
            "jobs": self.jobs,
        }


def _adopter_counts() -> Any:
    return (
        select(
            LibraryAdoption.project_id.label("project_id"),
            func.count(LibraryAdoption.id).label("adopters"),
        )
        .group_by(LibraryAdoption.project_id)
        .subquery()
    )


def _search_clause(q: str) -> ColumnElement[bool]:
    """Title or summary contain `q` (any characters, Chinese included; % and _ literal)."""
    return or_(
        LibraryProject.title.icontains(q, autoescape=True),
        LibraryProject.summary.icontains(q, autoescape=True),
    )


def list_projects_stmt(user: Any, filters: ProjectFilters = ProjectFilters()) -> Select:
    """Projects `user` may see, matching `filters`, in the chosen order (newest first).

    `region_code` selects the library of that region (its own projects and its province's);
    without a `status` filter that means the published ones.
    """
    stmt = select(LibraryProject).where(visibility_clause(user))
    if filters.q:
        stmt = stmt.where(_search_clause(filters.q))
    if filters.region_code:
        region = get_region(filters.region_code)
        if region is None:
            stmt = stmt.where(false())
        else:
            stmt = stmt.where(_library_of(region.code, region.province_code))
            if not filters.status:
                stmt = stmt.where(PUBLISHED)
    if filters.status:
        stmt = stmt.where(LibraryProject.status == filters.status)
    if filters.industry:
        stmt = stmt.where(LibraryProject.industry == filters.industry)
    if filters.max_investment is not None:
        stmt = stmt.where(LibraryProject.investment_min <= filters.max_investment)
    if filters.payback is not None:
        stmt = stmt.where(LibraryProject.payback_months <= filters.payback)
    newest = (LibraryProject.published_at.desc().nulls_last(), LibraryProject.id.desc())
    if filters.sort == "investment":
        return stmt.order_by(LibraryProject.investment_min, *newest)
    if filters.sort == "outcome":
        counts = _adopter_counts()
        return stmt.outerjoin(counts, counts.c.project_id == LibraryProject.id).order_by(
            func.coalesce(counts.c.adopters, 0).desc(), *newest
        )
    return stmt.order_by(*newest)


def get_project_in_scope(user: Any, project_id: int) -> LibraryProject:
    """The project if the user may see it; 404 otherwise (absent and hidden look alike)."""
    project = get_visible_project(user, project_id)
    if project is None:
        raise NotFound(_("No such project in your library."))
    return project


def get_visible_project(user: Any, project_id: int | None) -> LibraryProject | None:
    """The project if the user may see it, else None (for links between projects)."""
    if project_id is None:
        return None
    stmt = select(LibraryProject).where(LibraryProject.id == project_id, visibility_clause(user))
    return db.session.scalar(stmt)


def get_promotion_of(project_id: int) -> LibraryProject | None:
    """The province project promoted from this city project, if any."""
    return db.session.scalar(
        select(LibraryProject).where(LibraryProject.promoted_from_id == project_id)
    )


def _counted_by(user: Any) -> Any | None:
    """Whose records a user's outcome figures count: staff and officers their area's (so
    each figure matches the list it links to), admins everyone's; founders see every
    founder's (they choose a project on how it went everywhere, and get no lists)."""
    if user is None or getattr(user, "role", None) in (None, Role.FOUNDER):
        return None
    return user


def project_outcomes(project_ids: Iterable[int], user: Any = None) -> dict[int, ProjectOutcome]:
    """Each project's outcome (every id present, zero when nothing happened yet), counted
    within `user`'s area (see `_counted_by`)."""
    ids = list(project_ids)
    outcomes = {project_id: ProjectOutcome() for project_id in ids}
    if not ids:
        return outcomes
    counter = _counted_by(user)
    adopter_stmt = (
        select(LibraryAdoption.project_id, func.count(LibraryAdoption.id))
        .where(LibraryAdoption.project_id.in_(ids))
        .group_by(LibraryAdoption.project_id)
    )
    if counter is not None:
        adopter_stmt = scoped(
            adopter_stmt.join(Founder, Founder.id == LibraryAdoption.founder_id),
            counter,
            region_column=Founder.region_code,
        )
    adopters = dict(db.session.execute(adopter_stmt).all())
    is_operating = Business.status == BusinessStatus.OPERATING
    business_stmt = (
        select(
            Business.library_project_id,
            func.count(Business.id),
            func.count(Business.id).filter(is_operating),
            func.coalesce(func.sum(Business.employees).filter(is_operating), 0),
        )
        .where(Business.library_project_id.in_(ids))
        .group_by(Business.library_project_id)
    )
    if counter is not None:
        business_stmt = scoped(business_stmt, counter, region_column=Business.region_code)
    counted = {row[0]: row[1:] for row in db.session.execute(business_stmt)}
    for project_id in ids:
        businesses, operating, jobs = counted.get(project_id, (0, 0, 0))
        outcomes[project_id] = ProjectOutcome(
            adopters=adopters.get(project_id, 0),
            businesses=businesses,
            operating=operating,
            jobs=int(jobs),
        )
    return outcomes


def adopted_project_ids(founder_id: int | None, project_ids: Iterable[int]) -> set[int]:
    """Which of these projects the founder has adopted (for the cards' "adopted" mark)."""
    ids = list(project_ids)
    if founder_id is None or not ids:
        return set()
    stmt = select(LibraryAdoption.project_id).where(
        LibraryAdoption.founder_id == founder_id, LibraryAdoption.project_id.in_(ids)
    )
    return set(db.session.scalars(stmt))


def list_adoptions_of_founder(founder_id: int) -> list[LibraryAdoption]:
    """A founder's adoptions with their projects, most recent first."""
    stmt = (
        select(LibraryAdoption)
        .where(LibraryAdoption.founder_id == founder_id)
        .order_by(LibraryAdoption.adopted_on.desc(), LibraryAdoption.id.desc())
    )
    return list(db.session.scalars(stmt))


def list_adoptions_of_project(user: Any, project_id: int, *, limit: int = 50) -> list[Any]:
    """The project's adopters that `user` may see (founders: only themself), newest first."""
    stmt = scoped(
        select(LibraryAdoption)
        .join(Founder, Founder.id == LibraryAdoption.founder_id)
        .where(LibraryAdoption.project_id == project_id),
        user,
        region_column=Founder.region_code,
        founder_column=Founder.id,
    )
    stmt = stmt.order_by(LibraryAdoption.adopted_on.desc(), LibraryAdoption.id.desc())
    return list(db.session.scalars(stmt.limit(limit)))
