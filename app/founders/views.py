"""Pages: the founder register, one founder's story, import, export and the founder portal."""

from __future__ import annotations

from flask import Blueprint

founders_bp = Blueprint("founders", __name__)
