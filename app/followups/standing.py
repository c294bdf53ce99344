"""Who is lost to follow-up (SPEC §11): missed at two consecutive follow-ups.

"Consecutive" is counted from the last time the founder was reached (the latest done_on
of any of their tasks): a founder with two missed tasks due after that day is lost, since
the day the second of them was missed — or since an earlier day already on record — until
they are reached again: any task done, including a missed one completed late, moves the
last reach forward. A miss due before a later reach does not count (the founder answered
since). Cancelled and open tasks do not count either way.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, case, func, or_, select, update

from app.extensions import db
from app.followups.models import FollowupTask, TaskStatus
from app.founders.models import Founder


def _lost_since(founder_ids: list[int] | None) -> object:
    """Founders missed at two follow-ups due after they were last reached, with the day
    the second of those was missed."""
    reached = (
        select(FollowupTask.founder_id, func.max(FollowupTask.done_on).label("reached_on"))
        .where(FollowupTask.status == TaskStatus.DONE.value)
        .group_by(FollowupTask.founder_id)
    )
    if founder_ids is not None:
        reached = reached.where(FollowupTask.founder_id.in_(founder_ids))
    last_reached = reached.subquery("reached")
    misses = (
        select(
            FollowupTask.founder_id,
            FollowupTask.closed_on,
            func.row_number()
            .over(
                partition_by=FollowupTask.founder_id,
                order_by=(FollowupTask.due_on, FollowupTask.id),
            )
            .label("position"),
        )
        .outerjoin(last_reached, last_reached.c.founder_id == FollowupTask.founder_id)
        .where(
            FollowupTask.status == TaskStatus.MISSED.value,
            or_(
                last_reached.c.reached_on.is_(None), FollowupTask.due_on > last_reached.c.reached_on
            ),
        )
    )
    if founder_ids is not None:
        misses = misses.where(FollowupTask.founder_id.in_(founder_ids))
    ranked = misses.subquery("misses")
    return (
        select(ranked.c.founder_id, ranked.c.closed_on.label("since"))
        .where(ranked.c.position == 2)
        .subquery("lost")
    )


def refresh_lost_flags(founder_ids: Iterable[int] | None = None) -> int:
    """Recompute founder.lost_to_follow_up_on (None: every founder); returns rows changed."""
    ids = None if founder_ids is None else sorted(set(founder_ids))
    if ids == []:
        return 0
    lost = _lost_since(ids)
    # One UPDATE over the founders flagged now or lost now (the lost founders are ranked
    # once; flagging and clearing as two statements ranked them twice). Already lost since
    # an earlier day: that day stays (a third miss does not move it).
    since = case(
        (lost.c.founder_id.is_(None), None),
        (
            and_(
                Founder.lost_to_follow_up_on.is_not(None),
                Founder.lost_to_follow_up_on < lost.c.since,
            ),
            Founder.lost_to_follow_up_on,
        ),
        else_=lost.c.since,
    )
    flags = (
        select(Founder.id.label("founder_id"), since.label("since"))
        .select_from(Founder)
        .outerjoin(lost, lost.c.founder_id == Founder.id)
        .where(or_(Founder.lost_to_follow_up_on.is_not(None), lost.c.founder_id.is_not(None)))
    )
    if ids is not None:
        flags = flags.where(Founder.id.in_(ids))
    flags = flags.subquery("flags")
    changed = db.session.execute(
        update(Founder)
        .where(
            Founder.id == flags.c.founder_id,
            Founder.lost_to_follow_up_on.is_distinct_from(flags.c.since),
        )
        .values(lost_to_follow_up_on=flags.c.since)
        .execution_options(synchronize_session=False)
    )
    for instance in list(db.session.identity_map.values()):
        if isinstance(instance, Founder):
            db.session.expire(instance, ["lost_to_follow_up_on", "updated_at"])
    return changed.rowcount or 0
