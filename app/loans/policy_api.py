"""JSON API: loan policies per region (SPEC §9, §14)."""

from __future__ import annotations

from flask import Blueprint

loan_policies_api_bp = Blueprint("api_loan_policies", __name__, url_prefix="/api/v1")
