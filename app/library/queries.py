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

Outcomes (D46) are the KPI engine's figures broken down by library project
(`reports.kpis`, `Dimension.LIBRARY_ITEM`) as of a date, today by default, so a
project's numbers are the programme indicators' own and link to the same real-name
lists: businesses opened and closed with their 12-month survival (Kaplan–Meier),
operating businesses and their jobs, and the 6-month opening rate of trained founders.
A business counts under the project it names; a business that names none, and a
founder, count under the project the founder first adopted by then, else the project of
the founder's first business that names one. Adopters are counted here (adoptions by
then). Each figure counts the viewer's area (see `counted_region`). The breakdowns behind
them are memoised for a few minutes (`reports.page_figures`, D51); adopters are live.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select

from app.core.dates import today_in_china
from app.core.errors import NotFound
from app.core.permissions import Role, scoped
from app.extensions import db
from app.founders.models import Founder
from app.library.models import LibraryAdoption, LibraryProject, ProjectLevel, ProjectStatus
from app.regions.models import RegionLevel
from app.regions.queries import get_region
from app.reports.kpis import region_codes
from app.reports.page_figures import library_outcome_breakdowns

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
    """What became of a project, as the KPI engine counts it by library project (D46):
    adopters; businesses opened by the date and those closed, with the 12-month
    Kaplan–Meier survival and its 95 % interval; operating businesses and their jobs;
    trained founders eligible at 6 months and those who opened within 6 months."""

    adopters: int = 0
    businesses: int = 0
    closures: int = 0
    survival_12m: float | None = None
    survival_12m_low: float | None = None
    survival_12m_high: float | None = None
    operating: int = 0
    jobs: int = 0
    jobs_per_business: float | None = None
    eligible_6m: int = 0
    opened_6m: int = 0
    opening_rate_6m: float | None = None

    def as_json(self) -> dict[str, Any]:
        """The API's `outcome` object."""
        return {
            "adopters": self.adopters,
            "businesses": self.businesses,
            "operating": self.operating,
            "jobs": self.jobs,
            "survival_12m": self.survival_12m,
            "opening_rate_6m": self.opening_rate_6m,
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


def counted_region(user: Any) -> str | None:
    """The region whose records a user's outcome figures count (with its cities): staff
    and officers their own (so each figure matches the list it links to); None, every
    region, for admins and founders (founders choose a project on how it went everywhere,
    and get no lists) and without a user."""
    if getattr(user, "role", None) in (Role.STAFF, Role.OFFICER):
        return user.region_code
    return None


def _adopter_counts_in(ids: list[int], region: str | None, as_of: date) -> dict[int, int]:
    stmt = (
        select(LibraryAdoption.project_id, func.count(LibraryAdoption.id))
        .where(LibraryAdoption.project_id.in_(ids), LibraryAdoption.adopted_on <= as_of)
        .group_by(LibraryAdoption.project_id)
    )
    if region is not None:
        stmt = stmt.join(Founder, Founder.id == LibraryAdoption.founder_id).where(
            Founder.region_code.in_(region_codes(region))
        )
    return {project_id: int(count) for project_id, count in db.session.execute(stmt)}


def project_outcomes(
    project_ids: Iterable[int], user: Any = None, as_of: date | None = None
) -> dict[int, ProjectOutcome]:
    """Each project's outcome as of `as_of` (today in China by default), counted within
    `user`'s area (see `counted_region`): every id present, zeros and nulls when nothing
    happened yet."""
    ids = list(project_ids)
    if not ids:
        return {}
    as_of = as_of or today_in_china()
    region = counted_region(user)
    breakdowns = library_outcome_breakdowns(region, as_of)  # memoised for minutes (D51)
    jobs, opening, survival = breakdowns["jobs"], breakdowns["opening"], breakdowns["survival"]
    adopters = _adopter_counts_in(ids, region, as_of)
    outcomes = {}
    for project_id in ids:
        worked = jobs.get(project_id, {})
        opened = opening.get(project_id, {})
        lasted = survival.get(project_id, {})
        outcomes[project_id] = ProjectOutcome(
            adopters=adopters.get(project_id, 0),
            businesses=lasted.get("businesses", 0),
            closures=lasted.get("closures", 0),
            survival_12m=lasted.get("km_12m"),
            survival_12m_low=lasted.get("km_12m_low"),
            survival_12m_high=lasted.get("km_12m_high"),
            operating=worked.get("operating", 0),
            jobs=worked.get("jobs", 0),
            jobs_per_business=worked.get("jobs_per_business"),
            eligible_6m=opened.get("eligible_6m", 0),
            opened_6m=opened.get("opened_6m", 0),
            opening_rate_6m=opened.get("rate_6m"),
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
