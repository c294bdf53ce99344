"""JSON API: loans, repayments and guarantee funds (SPEC §9, §14)."""

from __future__ import annotations

from flask import Blueprint

loans_api_bp = Blueprint("api_loans", __name__, url_prefix="/api/v1")
