"""JSON API: the signed-in user's notifications (any role; only one's own, 404 otherwise)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from flask_babel import gettext as _
from flask_login import current_user

from app.core.api import DATE_SCHEMA, api_endpoint, iso_date, json_response
from app.core.errors import NotFound
from app.core.pagination import page_envelope, paginate, read_page_request
from app.core.permissions import Permission, permission_required
from app.extensions import db
from app.notifications import operations
from app.notifications.messages import NotificationKind, render
from app.notifications.models import Notification
from app.notifications.queries import get_own_notification, list_notifications_stmt

notifications_api_bp = Blueprint("notifications_api", __name__, url_prefix="/api/v1/notifications")

NOTIFICATION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "kind": {"type": "string", "enum": [kind.value for kind in NotificationKind]},
        "title": {"type": "string", "description": "in the caller's language"},
        "text": {"type": "string", "description": "in the caller's language"},
        "link": {"type": "string", "nullable": True, "description": "the page it is about"},
        "created_on": DATE_SCHEMA,
        "read": {"type": "boolean"},
    },
    "required": ["id", "kind", "title", "text", "link", "created_on", "read"],
}
MARKED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"marked": {"type": "integer", "description": "how many were unread"}},
    "required": ["marked"],
}


def notification_json(notification: Notification) -> dict[str, Any]:
    """The API's view of a notification, worded in the caller's language."""
    message = render(notification)
    return {
        "id": notification.id,
        "kind": notification.kind,
        "title": message.title,
        "text": message.text,
        "link": message.link,
        "created_on": iso_date(notification.created_on),
        "read": notification.read_at is not None,
    }


def _own(notification_id: int) -> Notification:
    notification = get_own_notification(current_user, notification_id)
    if notification is None:
        raise NotFound(_("No such notification."))
    return notification


@notifications_api_bp.get("")
@permission_required(Permission.NOTIFICATIONS_READ)
@api_endpoint(
    "The caller's notifications, newest first", response=NOTIFICATION_SCHEMA, paginated=True
)
def list_notifications() -> Any:
    """One page of the caller's own notifications."""
    pagination = paginate(list_notifications_stmt(current_user), read_page_request(request.args))
    return json_response(page_envelope(pagination, notification_json))


@notifications_api_bp.post("/<id:notification_id>/read")
@permission_required(Permission.NOTIFICATIONS_READ)
@api_endpoint(
    "Mark one of the caller's notifications read (404 for anyone else's)",
    response=NOTIFICATION_SCHEMA,
    errors=(404,),
)
def mark_read(notification_id: int) -> Any:
    """Mark it read; marking a read one again changes nothing."""
    notification = _own(notification_id)
    operations.mark_read(current_user, notification)
    db.session.commit()
    return json_response(notification_json(notification))


@notifications_api_bp.post("/read-all")
@permission_required(Permission.NOTIFICATIONS_READ)
@api_endpoint("Mark all of the caller's notifications read", response=MARKED_SCHEMA)
def mark_all_read() -> Any:
    """Mark every unread notification of the caller read."""
    count = operations.mark_all_read(current_user)
    db.session.commit()
    return json_response({"marked": count})
