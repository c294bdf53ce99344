"""Marking notifications read: one, or all of the user's at once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from app.core.db import utcnow
from app.extensions import db
from app.notifications.models import Notification


def mark_read(user: Any, notification: Notification) -> Notification:
    """Mark one of the user's notifications read (already read: unchanged)."""
    if notification.user_id != user.id:
        raise ValueError("a notification is marked read only by its reader")
    if notification.read_at is None:
        notification.read_at = utcnow()
        db.session.flush()
    return notification


def mark_all_read(user: Any) -> int:
    """Mark every unread notification of the user read; returns how many."""
    result = db.session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    db.session.flush()
    return result.rowcount or 0
