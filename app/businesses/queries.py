"""Reads of businesses and observations for pages, the API and the founder's journey.

Staff and officers see the businesses of their area (by the business's region); a founder
sees their own. Lists use the current-status columns of `business`, never a "latest
observation" subquery.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, func, select, tuple_
from sqlalchemy.orm import aliased, contains_eager

from app.businesses.models import Business, Observation, ObservationSource, ReviewState
from app.core.errors import NotFound
from app.core.permissions import scoped
from app.extensions import db


@dataclass(frozen=True)
class BusinessFilters:
    """What the list and the API filter by; every field optional."""

    q: str | None = None
    region_code: str | None = None
    status: str | None = None
    industry: str | None = None
    founder_id: int | None = None
    library_project_id: int | None = None
    opened_from: date | None = None
    opened_to: date | None = None

    @classmethod
    def from_form(cls, form: Any) -> BusinessFilters:
        """Read the filter form's cleaned values (empty boxes mean "any"). A box the form
        refused is left out, so one bad value does not undo the other filters."""
        return cls(
            **{
                name: form[name].data or None
                for name in cls.__dataclass_fields__
                if name in form._fields and not form[name].errors
            }
        )


def _scoped_businesses(stmt: Select, user: Any) -> Select:
    return scoped(
        stmt, user, region_column=Business.region_code, founder_column=Business.founder_id
    )


def list_businesses_stmt(user: Any, filters: BusinessFilters = BusinessFilters()) -> Select:
    """Businesses in the user's scope matching `filters`, most recently opened first."""
    stmt = _scoped_businesses(select(Business), user)
    if filters.q:
        # A name prefix: an index range, not LIKE '%…%'.
        stmt = stmt.where(Business.name >= filters.q, Business.name < filters.q + "\U0010ffff")
    if filters.region_code:
        stmt = stmt.where(Business.region_code == filters.region_code)
    if filters.status:
        stmt = stmt.where(Business.status == filters.status)
    if filters.industry:
        stmt = stmt.where(Business.industry == filters.industry)
    if filters.founder_id:
        stmt = stmt.where(Business.founder_id == filters.founder_id)
    if filters.library_project_id:
        stmt = stmt.where(Business.library_project_id == filters.library_project_id)
    if filters.opened_from:
        stmt = stmt.where(Business.opened_on >= filters.opened_from)
    if filters.opened_to:
        stmt = stmt.where(Business.opened_on <= filters.opened_to)
    return stmt.order_by(Business.opened_on.desc(), Business.id.desc())


def business_ids_in_scope(user: Any, business_ids: Iterable[int]) -> set[int]:
    """Which of these businesses the user may open (a base hosts other areas' businesses)."""
    ids = sorted(set(business_ids))
    if not ids:
        return set()
    stmt = _scoped_businesses(select(Business.id), user).where(Business.id.in_(ids))
    return set(db.session.scalars(stmt))


def get_business_in_scope(user: Any, business_id: int) -> Business:
    """The business if the user may see it; 404 otherwise (absent and out of scope look alike)."""
    business = db.session.scalar(
        _scoped_businesses(select(Business).where(Business.id == business_id), user)
    )
    if business is None:
        raise NotFound(_("No such business in your area."))
    return business


def list_observations(business_id: int) -> list[Observation]:
    """A business's status history, latest first (the first one is the current status)."""
    stmt = (
        select(Observation)
        .where(Observation.business_id == business_id)
        .order_by(Observation.observed_on.desc(), Observation.id.desc())
    )
    return list(db.session.scalars(stmt))


def list_businesses_of_founder(user: Any, founder_id: int) -> list[Business]:
    """A founder's businesses that `user` may see, most recently opened first (province
    staff may record a Haikou founder's business in Sanya: Haikou's staff do not see it)."""
    stmt = _scoped_businesses(
        select(Business)
        .where(Business.founder_id == founder_id)
        .order_by(Business.opened_on.desc(), Business.id.desc()),
        user,
    )
    return list(db.session.scalars(stmt))


def first_opened_on(founder_id: int) -> date | None:
    """The day the founder's first business opened (the journey's "opened" milestone)."""
    return db.session.scalar(
        select(func.min(Business.opened_on)).where(Business.founder_id == founder_id)
    )


def list_reports_stmt(user: Any, state: str = ReviewState.PENDING) -> Select:
    """Founders' self-reports in the user's area in a review state, oldest first."""
    stmt = (
        select(Observation)
        .join(Business, Business.id == Observation.business_id)
        .where(
            Observation.source == ObservationSource.FOUNDER,
            Observation.review_state == state,
        )
    )
    return (
        _scoped_businesses(stmt, user)
        .options(contains_eager(Observation.business))
        .order_by(Observation.created_at, Observation.id)
    )


def count_pending_reports(user: Any) -> int:
    """How many self-reports wait for the user's review (for the menu badge)."""
    stmt = list_reports_stmt(user).order_by(None).with_only_columns(func.count())
    return db.session.scalar(stmt) or 0


def get_observation_in_scope(user: Any, observation_id: int) -> Observation:
    """An observation of a business the user may see; 404 otherwise."""
    stmt = _scoped_businesses(
        select(Observation)
        .join(Business, Business.id == Observation.business_id)
        .where(Observation.id == observation_id),
        user,
    )
    observation = db.session.scalar(stmt)
    if observation is None:
        raise NotFound(_("No such observation in your area."))
    return observation


def previous_observations(observations: Iterable[Observation]) -> dict[int, Observation]:
    """For each observation, the one of the same business just before it (by observed_on,
    then creation order), so the review queue shows what a report changes. One query."""
    ids = [observation.id for observation in observations]
    if not ids:
        return {}
    current = aliased(Observation)
    earlier = aliased(Observation)
    previous_id = (
        select(earlier.id)
        .where(
            earlier.business_id == current.business_id,
            tuple_(earlier.observed_on, earlier.id) < tuple_(current.observed_on, current.id),
        )
        .order_by(earlier.observed_on.desc(), earlier.id.desc())
        .limit(1)
        .correlate(current)
        .scalar_subquery()
    )
    pairs = db.session.execute(
        select(current.id, previous_id.label("previous_id")).where(current.id.in_(ids))
    ).all()
    wanted = {previous for _current, previous in pairs if previous is not None}
    loaded = {
        item.id: item
        for item in db.session.scalars(select(Observation).where(Observation.id.in_(wanted)))
    }
    return {current_id: loaded[previous] for current_id, previous in pairs if previous is not None}
