"""JSON API: run a job by hand (skeleton)."""

from __future__ import annotations

from flask import Blueprint

jobs_api_bp = Blueprint("jobs_api", __name__, url_prefix="/api/v1/jobs")
