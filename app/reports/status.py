"""Each business's status on a past day, from its observations (for KPIs and snapshots)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import distinct_on

from app.businesses.models import Business, BusinessStatus, Observation
from app.extensions import db


def latest_observations(day: Any, *columns: Any, join: Any = None, where: Any = ()) -> Any:
    """Each business's latest observation by `day` (observed_on, then creation order): a
    subquery of `business_id` and `columns`, one row per observed business.

    PostgreSQL reads it with DISTINCT ON in the order of ix_business_observation_recent
    (one pass over the index, about twice as fast as ranking every observation); SQLite
    ranks with row_number(). `join` (an entity and its on-clause) and `where` narrow the
    observations, e.g. to the businesses of a region."""
    newest_first = (Observation.observed_on.desc(), Observation.id.desc())
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = (
            select(Observation.business_id, *columns)
            .ext(distinct_on(Observation.business_id))
            .order_by(Observation.business_id, *newest_first)
        )
    else:
        stmt = select(
            Observation.business_id,
            *columns,
            func.row_number()
            .over(partition_by=Observation.business_id, order_by=newest_first)
            .label("recency"),
        )
    if join is not None:
        stmt = stmt.join(*join)
    stmt = stmt.where(Observation.observed_on <= day, *where)
    if db.session.get_bind().dialect.name == "postgresql":
        return stmt.subquery("latest")
    ranked = stmt.subquery("ranked")
    return (
        select(*(column for column in ranked.c if column.key != "recency"))
        .where(ranked.c.recency == 1)
        .subquery("latest")
    )


def status_as_of(day: Any) -> Any:
    """Each business's status and head count on `day`: its latest observation by then
    (observed_on, then creation order), else operating with its opening head count."""
    latest = latest_observations(day, Observation.status, Observation.employees)
    return (
        select(
            Business.id.label("business_id"),
            func.coalesce(latest.c.status, BusinessStatus.OPERATING.value).label("status"),
            func.coalesce(latest.c.employees, Business.employees_at_opening).label("employees"),
        )
        .outerjoin(latest, latest.c.business_id == Business.id)
        .subquery("status_as_of")
    )
