"""How long each business lasted, as of a date, for the survival figures (SPEC §11).

One set-based query: the status columns on the business row are today's, so a report as
of an earlier day reads the observations up to that day instead. A business opened by D
closed (an event) when its latest observation by D says closed; its duration is then
closed_on − opened_on. Otherwise it is censored at its last operating or suspended
observation by D (else at opening). A business whose founder is lost to follow-up by D is
censored the same way even if a closure was recorded: SPEC §11 never counts it as closed.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import aliased

from app.businesses.models import Business, BusinessStatus, Observation
from app.core.sql import days_between
from app.extensions import db
from app.founders.models import Founder
from app.regions.models import Region
from app.reports.status import latest_observations

DURATION_COLUMNS = ["business_id", "opened_on", "is_closed", "is_founder_lost", "duration_days"]


def business_durations_query(
    region_codes: list[str],
    as_of: date,
    start: date | None = None,
    end: date | None = None,
    with_status: bool = False,
) -> Select:
    """The statement behind `list_business_durations` (one row per business).

    `with_status` adds `operating` (1 when the status on D is operating: the latest
    observation by D, else operating since opening, as `reports.status.status_as_of`) and
    `jobs` (its head count then, when operating), so the KPIs read each business's
    observations once for both survival and jobs."""
    # A province code brings in its cities; a caller passing the cities as well is harmless.
    # Read as a list first: a literal IN list gives the planner the row count of the region
    # (a subquery on region made it guess a few hundred businesses, and plan for that).
    codes = list(
        db.session.scalars(
            select(Region.code).where(
                or_(Region.code.in_(region_codes), Region.parent_code.in_(region_codes))
            )
        )
    )
    in_regions = Business.region_code.in_(codes)
    scope = [in_regions, Business.opened_on <= as_of]
    if start is not None:
        scope.append(Business.opened_on >= start)
    if end is not None:
        scope.append(Business.opened_on <= end)

    # Each business's latest observation by D (reports.status.latest_observations).
    seen = latest_observations(
        as_of,
        Observation.status,
        Observation.observed_on,
        Observation.closed_on,
        Observation.employees,
        join=(Business, Business.id == Observation.business_id),
        where=scope,
    )
    # Founders lost by D, joined on the condition so the database reads only them (index
    # ix_founder_lost) rather than every founder of the businesses.
    lost = aliased(Founder)
    founder_lost = lost.id.is_not(None)
    closed = and_(seen.c.status == BusinessStatus.CLOSED, ~founder_lost)
    # The last day seen alive: the latest observation's day when it is not a closure (it
    # is then the latest non-closed one); after a closure (kept open only for a lost
    # founder), the latest non-closed observation before it, looked up for those few.
    alive_before_closure = (
        select(func.max(Observation.observed_on))
        .where(
            Observation.business_id == Business.id,
            Observation.status != BusinessStatus.CLOSED,
            Observation.observed_on <= as_of,
        )
        .scalar_subquery()
    )
    last_alive_on = case(
        (seen.c.status.is_(None), None),
        (seen.c.status != BusinessStatus.CLOSED, seen.c.observed_on),
        else_=alive_before_closure,
    )
    censored_on = func.coalesce(last_alive_on, Business.opened_on)
    columns = [
        Business.id.label("business_id"),
        Business.opened_on,
        case((closed, 1), else_=0).label("is_closed"),
        case((founder_lost, 1), else_=0).label("is_founder_lost"),
        case(
            (closed, days_between(seen.c.closed_on, Business.opened_on)),
            else_=days_between(censored_on, Business.opened_on),
        ).label("duration_days"),
    ]
    if with_status:
        operating = (
            func.coalesce(seen.c.status, BusinessStatus.OPERATING.value)
            == BusinessStatus.OPERATING.value
        )
        employees = func.coalesce(seen.c.employees, Business.employees_at_opening)
        columns += [
            case((operating, 1), else_=0).label("operating"),
            case((operating, employees), else_=0).label("jobs"),
        ]
    return (
        select(*columns)
        .outerjoin(
            lost,
            and_(
                lost.id == Business.founder_id,
                lost.lost_to_follow_up_on.is_not(None),
                lost.lost_to_follow_up_on <= as_of,
            ),
        )
        .outerjoin(seen, seen.c.business_id == Business.id)
        .where(*scope)
        .order_by(Business.id)
    )


def list_business_durations(
    region_codes: list[str], as_of: date, start: date | None = None, end: date | None = None
) -> pd.DataFrame:
    """Each business's duration in days and whether it ended in a closure, as of `as_of`.

    Businesses opened ≤ as_of in the regions (a province includes its cities), with
    opened_on in [start, end] when given; records dated after as_of are ignored.
    """
    rows = db.session.execute(business_durations_query(region_codes, as_of, start, end)).all()
    frame = pd.DataFrame(rows, columns=DURATION_COLUMNS)
    return frame.astype(
        {
            "business_id": "int64",
            "is_closed": "bool",
            "is_founder_lost": "bool",
            "duration_days": "int64",
        }
    )
