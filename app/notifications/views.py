"""Pages: the signed-in user's notifications (skeleton)."""

from __future__ import annotations

from flask import Blueprint, abort

from app.core.permissions import Permission, permission_required

notifications_bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@notifications_bp.get("/")
@permission_required(Permission.NOTIFICATIONS_READ)
def index() -> str:
    """The list, newest first."""
    abort(404)
