"""Pages: institutions, courses, cohorts and their rosters."""

from __future__ import annotations

from flask import Blueprint

training_bp = Blueprint("training", __name__)
