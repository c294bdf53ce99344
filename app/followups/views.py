"""Pages: work queues, a task with its forms, the founder's status update (skeleton)."""

from __future__ import annotations

from flask import Blueprint, abort

from app.core.permissions import Permission, permission_required

followups_bp = Blueprint("followups", __name__, url_prefix="/followups")


@followups_bp.get("/")
@permission_required(Permission.FOLLOWUPS_READ)
def queue() -> str:
    """The region's work queue."""
    abort(404)
