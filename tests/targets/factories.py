"""Targets test data: a region's row for a year, inserted directly (flushed, not committed)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from app.extensions import db
from app.targets.models import RegionTarget


def make_targets(year: int, region_code: str, **values: Any) -> RegionTarget:
    """A region's targets for `year`: the figures given, the others not set."""
    if isinstance(values.get("loans_amount"), str):
        values["loans_amount"] = Decimal(values["loans_amount"])
    row = RegionTarget(year=year, region_code=region_code, **values)
    db.session.add(row)
    db.session.flush()
    return row
