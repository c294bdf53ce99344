"""Incubation test data: bases and residencies, inserted directly (flushed, not committed)."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from app.businesses.models import Business
from app.extensions import db
from app.incubation.models import IncubationBase, Residency
from tests.businesses.factories import make_business

_sequence = itertools.count(1)


def base_body(**fields: Any) -> dict[str, Any]:
    """A valid JSON body (and form data) for a new Haikou base."""
    values = {
        "name": f"海口创业园{next(_sequence)}",
        "region_code": "460100",
        "kind": "park",
        "address": "海口市龙华区滨海大道 1 号",
        "units": 10,
        "operator_name": "王经理",
        "operator_phone": "0898-66668888",
    }
    return values | fields


def make_base(*, region_code: str = "460100", **fields: Any) -> IncubationBase:
    """A park of 10 units (by default) with a unique name in its region."""
    values = {
        "name": f"孵化基地{next(_sequence)}",
        "region_code": region_code,
        "kind": "park",
        "units": 10,
    }
    base = IncubationBase(**(values | fields))
    db.session.add(base)
    db.session.flush()
    return base


def make_residency(
    base: IncubationBase, business: Business | None = None, **fields: Any
) -> Residency:
    """A business (new, of the base's region, by default) living in a unit of the base
    since 2026-04-01; pass ends_on and outcome for a past resident."""
    business = business or make_business(region_code=base.region_code)
    values = {
        "base_id": base.id,
        "business_id": business.id,
        "unit_label": f"U{next(_sequence)}",
        "starts_on": date(2026, 4, 1),
    }
    residency = Residency(**(values | fields))
    db.session.add(residency)
    db.session.flush()
    return residency
