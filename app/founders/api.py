"""JSON API: the founder register, and the bulk import."""

from __future__ import annotations

from flask import Blueprint

founders_api_bp = Blueprint("api_founders", __name__, url_prefix="/api/v1")
