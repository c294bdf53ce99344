"""Admin page: job runs (skeleton)."""

from __future__ import annotations

from flask import Blueprint, abort

from app.core.permissions import Permission, permission_required

jobs_bp = Blueprint("jobs", __name__, url_prefix="/admin/jobs")


@jobs_bp.get("/")
@permission_required(Permission.JOBS_RUN)
def runs() -> str:
    """Job runs, newest first."""
    abort(404)
