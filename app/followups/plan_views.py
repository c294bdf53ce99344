"""Admin page: the follow-up plan (skeleton)."""

from __future__ import annotations

from flask import Blueprint, abort

from app.core.permissions import Permission, permission_required

followup_plan_bp = Blueprint("followup_plan", __name__, url_prefix="/admin/followup-plan")


@followup_plan_bp.get("/")
@permission_required(Permission.SETTINGS_MANAGE)
def index() -> str:
    """The plan per kind."""
    abort(404)
