"""JSON API: the signed-in user's notifications (skeleton)."""

from __future__ import annotations

from flask import Blueprint

notifications_api_bp = Blueprint("notifications_api", __name__, url_prefix="/api/v1/notifications")
