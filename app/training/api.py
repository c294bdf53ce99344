"""JSON API: institutions, courses, cohorts, enrollments and results."""

from __future__ import annotations

from flask import Blueprint

training_api_bp = Blueprint("api_training", __name__, url_prefix="/api/v1")
