"""Reads for the bell and the list."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.notifications.models import Notification


def count_unread(user: Any) -> int:
    """How many of the user's notifications are unread: the number on the bell."""
    if user is None or not getattr(user, "is_authenticated", False):
        return 0
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        )
        or 0
    )
