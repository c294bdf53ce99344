"""The monthly KPI snapshot (SPEC §12): each region's figures as of a date, for trend charts.

A region's row holds `{"kpis": ..., "counts": ...}`. "kpis" is `reports.kpis.compute_kpis`
for the region and date, as GET /api/v1/kpis answers it (SPEC §14; a province's include its
cities). "counts" are counts and sums that need no modelling choices: founders registered,
entrepreneurship passes, businesses opened and operating (their latest observation by then)
with their jobs, loans disbursed and outstanding, follow-ups due, done and missed as they
stood that day, founders lost to follow-up (the current flag, dated by then: a cleared flag
leaves no history). Each count is one GROUP BY over its table (records dated after `as_of`
are left out); a province's counts are its own plus its cities'; every row has every count
(0 when there is nothing). Regions snapshotted: the provinces, every region with a founder,
and any other region with something to count by then. A rerun for the same date replaces
that date's rows, so the step is safe to run twice.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, delete, func, insert, or_, select

from app.businesses.models import Business, BusinessStatus
from app.core.sql import add_days, as_date
from app.extensions import db
from app.followups.models import FollowupTask, TaskStatus
from app.followups.planning import MISSED_AFTER_DAYS
from app.founders.models import Founder
from app.loans.models import SERVICED_STATUSES, Loan
from app.regions.models import Region, RegionLevel
from app.reports.kpis import GROUPS, compute_kpis, compute_kpis_and_region_breakdown
from app.reports.models import KpiSnapshot
from app.reports.status import status_as_of
from app.training.models import ENTREPRENEURSHIP_KINDS, Cohort, Course, Enrollment, TrainingResult

logger = logging.getLogger(__name__)

# Figures kept as money (strings with 2 decimals in the JSON); the rest are counts.
MONEY_FIGURES = ("loans_disbursed_amount", "loans_outstanding_principal")


def snapshot_kpis(as_of: date) -> dict[str, int]:
    """Store every region's KPIs and counts as of `as_of`; returns counts for the job record."""
    per_region: dict[str, dict[str, Any]] = defaultdict(dict)
    names: list[str] = []
    for figure, stmt in _figure_queries(as_of):
        names.append(figure)
        for region_code, value in db.session.execute(stmt):
            per_region[region_code][figure] = value
    counts = _with_provinces(per_region)
    codes = _regions_to_snapshot(counts)
    kpis = _kpis_of(codes, as_of)
    rows = [
        {
            "region_code": code,
            "as_of": as_of,
            "figures": {
                "kpis": kpis[code],
                "counts": _as_json(dict.fromkeys(names, 0) | counts.get(code, {})),
            },
        }
        for code in codes
    ]
    db.session.execute(delete(KpiSnapshot).where(KpiSnapshot.as_of == as_of))
    if rows:
        db.session.execute(insert(KpiSnapshot), rows)
    db.session.flush()
    logger.info("KPI snapshot for %s: %s regions", as_of, len(rows))
    return {"regions": len(rows)}


def _kpis_of(codes: list[str], as_of: date) -> dict[str, dict[str, Any]]:
    """`compute_kpis(code, as_of)` of every code; a province and its cities from one pass
    over the province's records (`compute_kpis_and_region_breakdown`; a call per city
    re-read the province's tables 20 times over: 28–40 s a snapshot at a million
    founders)."""
    wanted = set(codes)
    provinces = db.session.scalars(
        select(Region.code).where(
            Region.code.in_(wanted), Region.level == RegionLevel.PROVINCE.value
        )
    )
    figures: dict[str, dict[str, Any]] = {}
    for province in sorted(provinces):
        figures[province], rows = compute_kpis_and_region_breakdown(province, as_of)
        for row in rows:
            city = row["key"]
            if city in wanted and city not in figures:
                groups = {group: row[group] for group in GROUPS}
                figures[city] = {"region_code": city, "as_of": as_of.isoformat(), **groups}
    for code in wanted - set(figures):  # cities without a record, regions without a province
        figures[code] = compute_kpis(code, as_of)
    return figures


def _regions_to_snapshot(counts: dict[str, dict[str, Any]]) -> list[str]:
    """Provinces, regions with any founder, and regions with any count; in code order."""
    with_founders = select(Founder.region_code).distinct()
    provinces = select(Region.code).where(Region.level == RegionLevel.PROVINCE.value)
    codes = set(db.session.scalars(with_founders.union(provinces))) | set(counts)
    return sorted(codes)


def _figure_queries(as_of: date) -> Iterable[tuple[str, Select]]:
    day = as_date(as_of)
    yield (
        "founders_registered",
        select(Founder.region_code, func.count())
        .where(Founder.registered_on <= day)
        .group_by(Founder.region_code),
    )
    yield (
        "entrepreneurship_passed",
        select(Founder.region_code, func.count(func.distinct(Enrollment.founder_id)))
        .join(Founder, Founder.id == Enrollment.founder_id)
        .join(Cohort, Cohort.id == Enrollment.cohort_id)
        .join(Course, Course.id == Cohort.course_id)
        .where(
            Enrollment.result == TrainingResult.PASSED,
            Enrollment.completed_on <= day,
            Course.kind.in_([kind.value for kind in ENTREPRENEURSHIP_KINDS]),
        )
        .group_by(Founder.region_code),
    )
    yield (
        "businesses_opened",
        select(Business.region_code, func.count())
        .where(Business.opened_on <= day)
        .group_by(Business.region_code),
    )
    status = status_as_of(day)
    operating = (Business.opened_on <= day, status.c.status == BusinessStatus.OPERATING.value)
    yield (
        "businesses_operating",
        select(Business.region_code, func.count())
        .join(status, status.c.business_id == Business.id)
        .where(*operating)
        .group_by(Business.region_code),
    )
    yield (
        "jobs",
        select(Business.region_code, func.coalesce(func.sum(status.c.employees), 0))
        .join(status, status.c.business_id == Business.id)
        .where(*operating)
        .group_by(Business.region_code),
    )
    disbursed = (Loan.disbursed_on.is_not(None), Loan.disbursed_on <= day)
    yield (
        "loans_disbursed_count",
        select(Loan.region_code, func.count()).where(*disbursed).group_by(Loan.region_code),
    )
    yield (
        "loans_disbursed_amount",
        select(Loan.region_code, func.sum(Loan.amount))
        .where(*disbursed)
        .group_by(Loan.region_code),
    )
    yield (
        "loans_outstanding_principal",
        select(Loan.region_code, func.sum(Loan.outstanding_principal))
        .where(*disbursed, Loan.status.in_([status.value for status in SERVICED_STATUSES]))
        .group_by(Loan.region_code),
    )
    # Each task as it stood on the day: done by then, missed by then (a later late
    # completion does not undo that), cancelled only if cancelled by then.
    due = FollowupTask.due_on <= day
    done_by_then = and_(FollowupTask.status == TaskStatus.DONE, FollowupTask.done_on <= day)
    missed_by_then = and_(
        add_days(FollowupTask.due_on, MISSED_AFTER_DAYS + 1) <= day,
        or_(
            and_(FollowupTask.status == TaskStatus.MISSED, FollowupTask.closed_on <= day),
            and_(FollowupTask.status == TaskStatus.DONE, FollowupTask.done_on > day),
        ),
    )
    cancelled_by_then = and_(
        FollowupTask.status == TaskStatus.CANCELLED, FollowupTask.closed_on <= day
    )
    for figure, condition in (
        ("followups_due", ~cancelled_by_then),
        ("followups_done", done_by_then),
        ("followups_missed", missed_by_then),
    ):
        yield (
            figure,
            select(FollowupTask.region_code, func.count())
            .where(due, condition)
            .group_by(FollowupTask.region_code),
        )
    yield (
        "founders_lost",
        select(Founder.region_code, func.count())
        .where(Founder.lost_to_follow_up_on.is_not(None), Founder.lost_to_follow_up_on <= day)
        .group_by(Founder.region_code),
    )


def _with_provinces(per_region: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each city's own figures, and each province's own plus its cities'."""
    parents = dict(db.session.execute(select(Region.code, Region.parent_code)).all())
    rows: dict[str, dict[str, Any]] = defaultdict(dict)
    for region_code, figures in per_region.items():
        targets = [region_code]
        if parents.get(region_code):
            targets.append(parents[region_code])
        for target in targets:
            for figure, value in figures.items():
                rows[target][figure] = rows[target].get(figure, 0) + (value or 0)
    return rows


def _as_json(figures: dict[str, Any]) -> dict[str, Any]:
    """Counts as integers, money as strings with 2 decimals (never floats in JSON)."""
    out: dict[str, Any] = {}
    for figure, value in sorted(figures.items()):
        if figure in MONEY_FIGURES:
            out[figure] = f"{Decimal(value):.2f}"
        else:
            out[figure] = int(value)
    return out
