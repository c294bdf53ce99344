"""Who is lost to follow-up (SPEC §11): missed at the two latest resolved follow-ups.

A founder's resolved tasks are those done or missed, latest due first (then latest
made). When the two latest are both missed, the founder is lost since the later one's
closed_on — or since an earlier day already on record — until a later follow-up (or a
missed one completed late) is done. Cancelled and open tasks do not count either way.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, case, func, select, update

from app.extensions import db
from app.followups.models import FollowupTask, TaskStatus
from app.founders.models import Founder

RESOLVED = [TaskStatus.DONE.value, TaskStatus.MISSED.value]


def _lost_since(founder_ids: list[int] | None) -> object:
    """Founders whose two latest resolved tasks were both missed, with the later closed_on."""
    ranked = select(
        FollowupTask.founder_id,
        FollowupTask.status,
        FollowupTask.closed_on,
        func.row_number()
        .over(
            partition_by=FollowupTask.founder_id,
            order_by=(FollowupTask.due_on.desc(), FollowupTask.id.desc()),
        )
        .label("position"),
    ).where(FollowupTask.status.in_(RESOLVED))
    if founder_ids is not None:
        ranked = ranked.where(FollowupTask.founder_id.in_(founder_ids))
    latest = ranked.subquery("ranked")
    missed = case((latest.c.status == TaskStatus.MISSED.value, 1), else_=0)
    return (
        select(
            latest.c.founder_id,
            func.max(case((latest.c.position == 1, latest.c.closed_on))).label("since"),
        )
        .where(latest.c.position <= 2)
        .group_by(latest.c.founder_id)
        .having(func.sum(missed) == 2)
        .subquery("lost")
    )


def refresh_lost_flags(founder_ids: Iterable[int] | None = None) -> int:
    """Recompute founder.lost_to_follow_up_on (None: every founder); returns rows changed."""
    ids = None if founder_ids is None else sorted(set(founder_ids))
    if ids == []:
        return 0
    lost = _lost_since(ids)
    # Already lost since an earlier day: that day stays (a third miss does not move it).
    since = case(
        (
            and_(
                Founder.lost_to_follow_up_on.is_not(None),
                Founder.lost_to_follow_up_on < lost.c.since,
            ),
            Founder.lost_to_follow_up_on,
        ),
        else_=lost.c.since,
    )
    flagged = db.session.execute(
        update(Founder)
        .where(
            Founder.id == lost.c.founder_id, Founder.lost_to_follow_up_on.is_distinct_from(since)
        )
        .values(lost_to_follow_up_on=since)
        .execution_options(synchronize_session=False)
    )
    clearing = [
        Founder.lost_to_follow_up_on.is_not(None),
        Founder.id.not_in(select(lost.c.founder_id)),
    ]
    if ids is not None:
        clearing.append(Founder.id.in_(ids))
    cleared = db.session.execute(
        update(Founder)
        .where(*clearing)
        .values(lost_to_follow_up_on=None)
        .execution_options(synchronize_session=False)
    )
    for instance in list(db.session.identity_map.values()):
        if isinstance(instance, Founder):
            db.session.expire(instance, ["lost_to_follow_up_on", "updated_at"])
    return (flagged.rowcount or 0) + (cleared.rowcount or 0)
