"""JSON API: library projects, their status changes, promotion and adoptions."""

from __future__ import annotations

from flask import Blueprint

library_api_bp = Blueprint("api_library", __name__, url_prefix="/api/v1")
