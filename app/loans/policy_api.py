"""JSON API: loan policies per region (SPEC §9, §14).

GET answers the policy that applies in a region (its own, its province's or the defaults,
saying which) to admins and to officers of the region's area or of a city of that
province; anything else is a 404. PUT (admins) sets the region's own policy: fields left
out keep the values that apply now.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask_babel import gettext as _
from flask_login import current_user

from app.core.api import (
    MONEY_SCHEMA,
    api_endpoint,
    json_body,
    json_response,
    read_json_form,
    validate_or_raise,
)
from app.core.db import utcnow
from app.core.errors import ValidationFailed
from app.core.permissions import Permission, permission_required
from app.extensions import db
from app.loans import policies
from app.loans.policy_forms import RATE_PATTERN, PolicyForm

loan_policies_api_bp = Blueprint("api_loan_policies", __name__, url_prefix="/api/v1")

RATE_SCHEMA: dict[str, Any] = {
    "type": "string",
    "pattern": RATE_PATTERN,
    "description": 'a decimal written as text, at most 6 decimals, like "0.0345"',
}
POLICY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "region_code": {"type": "string", "description": "the region asked for"},
        "source": {
            "type": "string",
            "enum": ["own", "province", "default"],
            "description": "the region's own policy, its province's, or the built-in defaults",
        },
        "source_region_code": {
            "type": "string",
            "nullable": True,
            "description": "the region whose policy applies; null for the defaults",
        },
        "max_amount": MONEY_SCHEMA,
        "max_term_months": {"type": "integer"},
        "annual_rate": RATE_SCHEMA,
        "subsidy_rate": RATE_SCHEMA,
        "require_training": {"type": "boolean"},
        "default_days": {"type": "integer"},
        "guarantee_ratio": RATE_SCHEMA,
        "leverage": RATE_SCHEMA,
        "suspend_compensation_rate": RATE_SCHEMA,
        "subsidy_requires_on_time": {"type": "boolean"},
        "updated_at": {
            "type": "string",
            "format": "date-time",
            "nullable": True,
            "description": "when the policy that applies was last changed; null for the defaults",
        },
    },
    "required": [
        "region_code",
        "source",
        "source_region_code",
        *policies.POLICY_FIELDS,
        "updated_at",
    ],
}


@loan_policies_api_bp.get("/loan-policies/<region_code>")
@permission_required(Permission.LOANS_READ)
@api_endpoint(
    "The loan policy that applies in a region: its own, else its province's, else the "
    "defaults (officers: regions of their area and their own province)",
    response=POLICY_SCHEMA,
    errors=(404,),
)
def get_policy(region_code: str) -> Any:
    """Officers and admins read a region's policy and where it comes from."""
    return json_response(policies.get_policy_in_scope(current_user, region_code).as_json())


@loan_policies_api_bp.put("/loan-policies/<region_code>")
@permission_required(Permission.POLICIES_MANAGE)
@api_endpoint(
    "Set a region's own loan policy; fields left out keep the values that apply now "
    "(for a city without its own policy, its province's)",
    form=PolicyForm,
    response=POLICY_SCHEMA,
    errors=(404,),
)
def put_policy(region_code: str) -> Any:
    """Admins set a region's policy; the change is audited."""
    region_code = policies.get_policy_region(region_code).code  # 404 before the body
    given = _given_fields(json_body())
    form = read_json_form(PolicyForm)
    validate_or_raise(form)
    values = {name: form[name].data for name in given}
    policies.put_policy(current_user, region_code, values, as_of=utcnow())
    db.session.commit()
    return json_response(policies.get_effective_policy(region_code).as_json())


def _given_fields(body: dict[str, Any]) -> list[str]:
    """The policy fields the body names. Null or "" is refused rather than read as "left
    out", and a rate sent as a JSON number is refused with the rate's own example (a
    float cannot hold 0.0345 exactly; rates travel as text)."""
    given = [name for name in policies.POLICY_FIELDS if name in body]
    errors = {
        name: [_("This field cannot be empty.")] for name in given if body[name] in (None, "")
    }
    for name in given:
        value = body[name]
        if name in policies.RATE_FIELDS and (
            isinstance(value, bool) or not isinstance(value, str | int | type(None))
        ):
            errors[name] = [_('Expected a rate as a string, like "0.0345".')]
    if errors:
        raise ValidationFailed(errors)
    return given
