"""Pages: loan applications, servicing, arrears and guarantee funds."""

from __future__ import annotations

from flask import Blueprint

loans_bp = Blueprint("loans", __name__, url_prefix="/loans")
