"""Reads of integrity files: standings for answers, pages and loan checks; events; corrections.

A standing is 100 plus the sum of the founder's event points, kept in 0..150, summed in
SQL. Officers read the files of their area, administrators every file, a founder only
their own; centre staff see the score on the founder page but not the file.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, func, select

from app.auth.models import User
from app.core.errors import NotFound, PermissionDenied
from app.core.permissions import Permission, has_permission, scoped
from app.extensions import db
from app.founders.models import Founder
from app.integrity.models import CorrectionState, IntegrityCorrection, IntegrityEvent
from app.integrity.scoring import IntegrityStanding, standing_from_points


def get_integrity_standing(founder_id: int) -> IntegrityStanding:
    """The founder's score and grade: 100 plus their events' points, in 0..150 (SPEC §10)."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(IntegrityEvent.points), 0)).where(
            IntegrityEvent.founder_id == founder_id
        )
    )
    return standing_from_points(int(total or 0))


def standings_for(founder_ids: Iterable[int]) -> dict[int, IntegrityStanding]:
    """Each given founder's standing (one GROUP BY query, whatever the count); founders
    without events stand at 100."""
    ids = sorted(set(founder_ids))
    if not ids:
        return {}
    stmt = (
        select(IntegrityEvent.founder_id, func.sum(IntegrityEvent.points))
        .where(IntegrityEvent.founder_id.in_(ids))
        .group_by(IntegrityEvent.founder_id)
    )
    totals = {founder_id: int(total or 0) for founder_id, total in db.session.execute(stmt)}
    return {founder_id: standing_from_points(totals.get(founder_id, 0)) for founder_id in ids}


def list_events(founder_id: int) -> list[IntegrityEvent]:
    """The founder's file, newest first."""
    stmt = (
        select(IntegrityEvent)
        .where(IntegrityEvent.founder_id == founder_id)
        .order_by(
            IntegrityEvent.occurred_on.desc(),
            IntegrityEvent.created_at.desc(),
            IntegrityEvent.id.desc(),
        )
    )
    return list(db.session.scalars(stmt))


def user_names(user_ids: Iterable[int | None]) -> dict[int, str]:
    """Display names (or usernames) of the given users, for "recorded by" columns."""
    ids = sorted({user_id for user_id in user_ids if user_id is not None})
    if not ids:
        return {}
    stmt = select(User.id, User.display_name, User.username).where(User.id.in_(ids))
    return {row.id: row.display_name or row.username for row in db.session.execute(stmt)}


def may_read_integrity(user: Any) -> bool:
    """Officers and administrators read files; founders their own; staff none."""
    return has_permission(user, Permission.INTEGRITY_READ) or has_permission(
        user, Permission.OWN_RECORDS_READ
    )


def get_founder_for_integrity(user: Any, founder_id: int) -> Founder:
    """The founder whose file `user` may read: officers their area, admins anyone, a
    founder themself (404 for anyone else: absent and out of scope look alike)."""
    if not may_read_integrity(user):
        raise PermissionDenied(_("Integrity records are kept by loan guarantee officers."))
    stmt = scoped(
        select(Founder).where(Founder.id == founder_id),
        user,
        region_column=Founder.region_code,
        founder_column=Founder.id,
    )
    founder = db.session.scalar(stmt)
    if founder is None:
        raise NotFound(_("No such founder in your area."))
    return founder


def _corrections_in_scope(user: Any) -> Select:
    if not has_permission(user, Permission.INTEGRITY_READ):
        # Founders see their events, not the proposals about them.
        raise PermissionDenied(_("Integrity records are kept by loan guarantee officers."))
    return scoped(
        select(IntegrityCorrection).join(Founder, Founder.id == IntegrityCorrection.founder_id),
        user,
        region_column=Founder.region_code,
    )


def list_corrections_stmt(user: Any, state: str = CorrectionState.PENDING) -> Select:
    """Corrections of the user's area in `state`: pending ones oldest first (a queue),
    decided ones latest decision first."""
    stmt = _corrections_in_scope(user).where(IntegrityCorrection.state == state)
    if state == CorrectionState.PENDING:
        return stmt.order_by(IntegrityCorrection.created_at, IntegrityCorrection.id)
    return stmt.order_by(IntegrityCorrection.decided_at.desc(), IntegrityCorrection.id.desc())


def list_pending_corrections(user: Any, founder_id: int | None = None) -> list[IntegrityCorrection]:
    """Corrections of the user's area waiting for a second officer, oldest first
    (of one founder when `founder_id` is given)."""
    stmt = list_corrections_stmt(user, CorrectionState.PENDING)
    if founder_id is not None:
        stmt = stmt.where(IntegrityCorrection.founder_id == founder_id)
    return list(db.session.scalars(stmt))


def count_pending_corrections(user: Any) -> int:
    """How many corrections of the user's area wait for a second officer."""
    stmt = _corrections_in_scope(user).where(IntegrityCorrection.state == CorrectionState.PENDING)
    return int(db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


def get_correction_in_scope(user: Any, correction_id: int) -> IntegrityCorrection:
    """The correction if its founder is in the user's area; 404 otherwise."""
    stmt = _corrections_in_scope(user).where(IntegrityCorrection.id == correction_id)
    correction = db.session.scalar(stmt)
    if correction is None:
        raise NotFound(_("No such correction in your area."))
    return correction
