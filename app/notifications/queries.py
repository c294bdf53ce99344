"""Reads for the bell, the list and the founder's status-update request at sign-in."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, exists, func, select

from app.extensions import db
from app.followups.models import FollowupTask, TaskKind, TaskStatus
from app.notifications.models import Notification

# The founder is asked for a status update from this many days before a business or
# post-training follow-up is due: a self-report within 30 days of due_on completes it
# (SPEC §11), so an early answer saves the centre a call.
STATUS_REQUEST_LEAD_DAYS = 30
STATUS_REQUEST_KINDS = (TaskKind.BUSINESS.value, TaskKind.POST_TRAINING.value)


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


def list_notifications_stmt(user: Any) -> Select:
    """The user's own notifications, newest first."""
    return (
        select(Notification)
        .where(Notification.user_id == user.id)
        .order_by(Notification.created_on.desc(), Notification.id.desc())
    )


def get_own_notification(user: Any, notification_id: int) -> Notification | None:
    """One of the user's notifications; None for anyone else's (so the caller answers 404)."""
    return db.session.scalar(
        select(Notification).where(
            Notification.id == notification_id, Notification.user_id == user.id
        )
    )


def has_pending_status_request(founder_id: int | None, as_of: date) -> bool:
    """Whether the founder has an open business or post-training follow-up that a report
    today would complete (due within 30 days either side of as_of): the sign-in then asks
    for a status update, every time, until the answer completes the task."""
    if founder_id is None:
        return False
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    FollowupTask.founder_id == founder_id,
                    FollowupTask.status == TaskStatus.OPEN.value,
                    FollowupTask.kind.in_(STATUS_REQUEST_KINDS),
                    # The status page's window: what a report today would complete.
                    FollowupTask.due_on <= as_of + timedelta(days=STATUS_REQUEST_LEAD_DAYS),
                    FollowupTask.due_on >= as_of - timedelta(days=STATUS_REQUEST_LEAD_DAYS),
                )
            )
        )
    )
