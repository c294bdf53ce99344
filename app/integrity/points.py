"""The points table: SPEC §10's default points per event kind, as the admin adjusted them.

An event copies its points from this table when it is made, so an adjustment changes
future events only; the events already in a file keep the points they were made with.
Corrections have no entry: their points are proposed case by case.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.core.audit import record_audit
from app.core.errors import PermissionDenied, ValidationFailed
from app.core.permissions import Role
from app.extensions import db
from app.integrity.models import DEFAULT_POINTS, EventKind, IntegrityPoints

MIN_POINTS = -150
MAX_POINTS = 150


def current_points() -> dict[str, int]:
    """Points per event kind (corrections excepted): the defaults, overridden by the
    admin's adjustments, in one query."""
    table = {kind.value: points for kind, points in DEFAULT_POINTS.items()}
    rows = db.session.execute(select(IntegrityPoints.kind, IntegrityPoints.points))
    table.update({kind: points for kind, points in rows if kind in table})
    return table


def points_for(kind: EventKind | str) -> int:
    """The points an event of `kind` made now gets (ValueError for corrections and
    unknown kinds: a correction's points are proposed, not looked up)."""
    kind = EventKind(kind)
    if kind not in DEFAULT_POINTS:
        raise ValueError(f"{kind.value} events have no points in the table")
    adjusted = db.session.scalar(
        select(IntegrityPoints.points).where(IntegrityPoints.kind == kind.value)
    )
    return DEFAULT_POINTS[kind] if adjusted is None else int(adjusted)


def _is_points(value: Any) -> bool:
    return (
        isinstance(value, int) and not isinstance(value, bool) and MIN_POINTS <= value <= MAX_POINTS
    )


def _adjustable_kind(kind: Any) -> EventKind:
    try:
        event_kind = EventKind(kind)
    except ValueError:
        raise ValidationFailed.single("kind", _("No such kind of integrity event.")) from None
    if event_kind not in DEFAULT_POINTS:
        raise ValidationFailed.single(
            "kind",
            _("A correction's points are proposed with each correction; they have no default."),
        )
    return event_kind


def set_points(actor: Any, kind: EventKind | str, points: int) -> IntegrityPoints:
    """The admin sets the points future events of `kind` get (−150..150); audited."""
    if getattr(actor, "role", None) != Role.ADMIN:
        raise PermissionDenied(_("Only administrators adjust integrity points."))
    event_kind = _adjustable_kind(kind)
    if not _is_points(points):
        raise ValidationFailed.single(
            "points",
            _("Points are a whole number from %(min)s to %(max)s.", min=MIN_POINTS, max=MAX_POINTS),
        )
    row = db.session.scalar(
        select(IntegrityPoints).where(IntegrityPoints.kind == event_kind.value).with_for_update()
    )
    was = DEFAULT_POINTS[event_kind] if row is None else row.points
    if row is None:
        row = IntegrityPoints(kind=event_kind.value, points=points, updated_by_id=actor.id)
        try:
            with db.session.begin_nested():
                db.session.add(row)
        except IntegrityError:  # another admin added the row meanwhile: change theirs
            row = db.session.scalars(
                select(IntegrityPoints)
                .where(IntegrityPoints.kind == event_kind.value)
                .with_for_update()
            ).one()
            was = row.points
    row.points = points
    row.updated_by_id = actor.id
    db.session.flush()
    record_audit(
        actor,
        "integrity.points",
        ("integrity_points", event_kind.value),
        {"kind": event_kind.value, "points": was},
        {"kind": event_kind.value, "points": points},
    )
    return row
