"""Pages: the signed-in user's notifications, newest first, unread highlighted.

Opening a notification's link marks it read and then goes where it leads.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import ngettext
from flask_login import current_user

from app.core.pagination import paginate, read_page_request_or_first
from app.core.permissions import Permission, permission_required
from app.extensions import db
from app.notifications import operations
from app.notifications.messages import render
from app.notifications.queries import count_unread, get_own_notification, list_notifications_stmt

notifications_bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@notifications_bp.get("/")
@permission_required(Permission.NOTIFICATIONS_READ)
def index() -> Any:
    """The list, newest first, with each notification's text and link."""
    pagination = paginate(
        list_notifications_stmt(current_user), read_page_request_or_first(request.args)
    )
    return render_template(
        "notifications/index.html",
        pagination=pagination,
        messages={item.id: render(item) for item in pagination.items},
        unread_count=count_unread(current_user),
    )


@notifications_bp.get("/<id:notification_id>/open")
@permission_required(Permission.NOTIFICATIONS_READ)
def open_link(notification_id: int) -> Any:
    """Mark the notification read and go where it leads (the list when it leads nowhere)."""
    notification = get_own_notification(current_user, notification_id) or abort(404)
    operations.mark_read(current_user, notification)
    db.session.commit()
    return redirect(render(notification).link or url_for("notifications.index"))


@notifications_bp.post("/<id:notification_id>/read")
@permission_required(Permission.NOTIFICATIONS_READ)
def mark_read(notification_id: int) -> Any:
    """Mark one notification read without opening it."""
    notification = get_own_notification(current_user, notification_id) or abort(404)
    operations.mark_read(current_user, notification)
    db.session.commit()
    return redirect(url_for("notifications.index", page=request.args.get("page", type=int)))


@notifications_bp.post("/read-all")
@permission_required(Permission.NOTIFICATIONS_READ)
def mark_all_read() -> Any:
    """Mark every notification of the user read."""
    count = operations.mark_all_read(current_user)
    db.session.commit()
    flash(
        ngettext("%(num)s notification marked read.", "%(num)s notifications marked read.", count),
        "success",
    )
    return redirect(url_for("notifications.index"))
