"""JSON API: founders' integrity files (SPEC §10, §14)."""

from __future__ import annotations

from flask import Blueprint

integrity_api_bp = Blueprint("api_integrity", __name__, url_prefix="/api/v1")
