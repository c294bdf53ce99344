"""Each business's status on a past day, from its observations (for KPIs and snapshots)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from app.businesses.models import Business, BusinessStatus, Observation


def status_as_of(day: Any) -> Any:
    """Each business's status and head count on `day`: its latest observation by then
    (observed_on, then creation order), else operating with its opening head count."""
    ranked = (
        select(
            Observation.business_id,
            Observation.status,
            Observation.employees,
            func.row_number()
            .over(
                partition_by=Observation.business_id,
                order_by=(Observation.observed_on.desc(), Observation.id.desc()),
            )
            .label("position"),
        )
        .where(Observation.observed_on <= day)
        .subquery("ranked")
    )
    latest = select(ranked).where(ranked.c.position == 1).subquery("latest")
    return (
        select(
            Business.id.label("business_id"),
            func.coalesce(latest.c.status, BusinessStatus.OPERATING.value).label("status"),
            func.coalesce(latest.c.employees, Business.employees_at_opening).label("employees"),
        )
        .outerjoin(latest, latest.c.business_id == Business.id)
        .subquery("status_as_of")
    )
