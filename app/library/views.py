"""Pages: browsing the library (cards on phones), curating projects, adoption, outcomes."""

from __future__ import annotations

from flask import Blueprint

library_bp = Blueprint("library", __name__, url_prefix="/library")
