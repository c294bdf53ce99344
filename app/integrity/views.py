"""Pages: integrity files, corrections awaiting a second officer, the points table."""

from __future__ import annotations

from flask import Blueprint

integrity_bp = Blueprint("integrity", __name__, url_prefix="/integrity")
