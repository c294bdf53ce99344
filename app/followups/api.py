"""JSON API for follow-ups (skeleton)."""

from __future__ import annotations

from flask import Blueprint

followups_api_bp = Blueprint("followups_api", __name__, url_prefix="/api/v1/followups")
