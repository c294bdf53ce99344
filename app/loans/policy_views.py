"""Pages: the admin's loan policies per region."""

from __future__ import annotations

from flask import Blueprint

loan_policies_bp = Blueprint("loan_policies", __name__, url_prefix="/admin/loan-policies")
