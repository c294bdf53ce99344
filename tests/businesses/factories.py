"""Business test data: businesses and observations, inserted directly (flushed, not committed).

`make_observation` keeps the business's current-status columns right through the real
`refresh_current_status`, so tests see what the operations would leave behind.
"""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal
from typing import Any

from app.businesses.models import Business, Observation
from app.businesses.operations import refresh_current_status
from app.core.validators import USCC_ALPHABET, uscc_check_char
from app.extensions import db
from app.founders.models import Founder
from tests.factories import make_founder

_sequence = itertools.count(1)


def make_uscc(region_prefix: str = "460100") -> str:
    """A valid, distinct unified social credit code (check character computed)."""
    number = next(_sequence)
    serial = ""
    for _position in range(9):
        number, digit = divmod(number, len(USCC_ALPHABET))
        serial = USCC_ALPHABET[digit] + serial
    first17 = f"92{region_prefix}{serial}"
    return first17 + uscc_check_char(first17)


def business_body(founder_id: int, **fields: Any) -> dict[str, Any]:
    """A valid JSON body (and form data) for a new business of `founder_id`."""
    values = {
        "founder_id": founder_id,
        "name": "椰香小吃店",
        "industry": "catering",
        "region_code": "460100",
        "opened_on": "2026-03-01",
        "employees_at_opening": 2,
    }
    return values | fields


def make_business(founder: Founder | None = None, **fields: Any) -> Business:
    """A business (of a new Haikou founder by default), operating since 2026-03-01."""
    founder = founder or make_founder(region_code=fields.get("region_code", "460100"))
    opened_on = fields.pop("opened_on", date(2026, 3, 1))
    employees = fields.pop("employees_at_opening", 2)
    values: dict[str, Any] = {
        "founder_id": founder.id,
        "name": f"小店{next(_sequence)}",
        "industry": "catering",
        "region_code": founder.region_code,
        "opened_on": opened_on,
        "employees_at_opening": employees,
        "status": "operating",
        "employees": employees,
        "status_observed_on": opened_on,
    }
    business = Business(**(values | fields))
    db.session.add(business)
    db.session.flush()
    return business


def make_observation(business: Business, **fields: Any) -> Observation:
    """An observation of `business` (operating, 3 employees, on 2026-06-01 by default)."""
    status = fields.get("status", "operating")
    observed_on = fields.get("observed_on", date(2026, 6, 1))
    values: dict[str, Any] = {
        "business_id": business.id,
        "observed_on": observed_on,
        "status": status,
        "employees": 0 if status == "closed" else 3,
        "monthly_revenue": Decimal("12000.00"),
        "closed_on": observed_on if status == "closed" else None,
        "source": "staff",
        "verified": True,
    }
    values |= fields
    if values["source"] == "founder" and "review_state" not in fields:
        values["review_state"] = "pending"
        values["verified"] = False
    observation = Observation(**values)
    db.session.add(observation)
    refresh_current_status(business)
    return observation
