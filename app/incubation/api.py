"""JSON API: incubation bases and residencies.

Every route needs `incubation.manage` (centre staff), reads included; a base or residency
outside the caller's area is a 404.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from flask_login import current_user

from app.core.api import (
    DATE_SCHEMA,
    NULLABLE_DATE_SCHEMA,
    api_endpoint,
    iso_date,
    json_response,
    read_json_form,
    read_query_form,
    validate_or_raise,
)
from app.core.dates import today_in_china
from app.core.pagination import page_envelope, paginate, read_page_request
from app.core.permissions import Permission, permission_required
from app.extensions import db
from app.incubation import operations
from app.incubation.forms import BaseFilterForm, BaseForm, EndResidencyForm, ResidencyForm
from app.incubation.models import BaseKind, IncubationBase, Residency, ResidencyOutcome
from app.incubation.queries import (
    BaseFilters,
    Occupancy,
    base_occupancy,
    get_base_in_scope,
    get_residency_in_scope,
    list_bases_stmt,
    list_residents,
)

incubation_api_bp = Blueprint("api_incubation", __name__, url_prefix="/api/v1")

BASE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "region_code": {"type": "string"},
        "kind": {"type": "string", "enum": [kind.value for kind in BaseKind]},
        "address": {"type": "string"},
        "units": {"type": "integer"},
        "operator_name": {"type": "string"},
        "operator_phone": {"type": "string"},
        "occupied": {"type": "integer", "description": "businesses living there now"},
        "free": {"type": "integer", "description": "units minus occupied"},
    },
    "required": [
        "id",
        "name",
        "region_code",
        "kind",
        "address",
        "units",
        "operator_name",
        "operator_phone",
        "occupied",
        "free",
    ],
}
RESIDENCY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "base_id": {"type": "integer"},
        "business_id": {"type": "integer"},
        "unit_label": {"type": "string"},
        "starts_on": DATE_SCHEMA,
        "ends_on": NULLABLE_DATE_SCHEMA,
        "outcome": {
            "type": "string",
            "nullable": True,
            "enum": [*(outcome.value for outcome in ResidencyOutcome), None],
        },
        "note": {"type": "string"},
    },
    "required": [
        "id",
        "base_id",
        "business_id",
        "unit_label",
        "starts_on",
        "ends_on",
        "outcome",
        "note",
    ],
}
RESIDENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        **RESIDENCY_SCHEMA["properties"],
        "business_name": {"type": "string"},
        "founder_id": {"type": "integer"},
        "founder_name": {"type": "string"},
    },
    "required": [*RESIDENCY_SCHEMA["required"], "business_name", "founder_id", "founder_name"],
}
BASE_DETAIL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        **BASE_SCHEMA["properties"],
        "residents": {"type": "array", "items": RESIDENT_SCHEMA},
    },
    "required": [*BASE_SCHEMA["required"], "residents"],
}


def base_json(base: IncubationBase, occupancy: Occupancy) -> dict[str, Any]:
    """The API's view of a base with its occupancy."""
    return {
        "id": base.id,
        "name": base.name,
        "region_code": base.region_code,
        "kind": base.kind,
        "address": base.address,
        "units": base.units,
        "operator_name": base.operator_name,
        "operator_phone": base.operator_phone,
        "occupied": occupancy.occupied,
        "free": occupancy.free,
    }


def base_detail_json(base: IncubationBase) -> dict[str, Any]:
    """The API's view of one base: its fields, occupancy and current residents."""
    body = base_json(base, base_occupancy([base.id])[base.id])
    body["residents"] = [resident_json(residency) for residency in list_residents(base.id)]
    return body


def residency_json(residency: Residency) -> dict[str, Any]:
    """The API's view of a residency."""
    return {
        "id": residency.id,
        "base_id": residency.base_id,
        "business_id": residency.business_id,
        "unit_label": residency.unit_label,
        "starts_on": iso_date(residency.starts_on),
        "ends_on": iso_date(residency.ends_on),
        "outcome": residency.outcome,
        "note": residency.note,
    }


def resident_json(residency: Residency) -> dict[str, Any]:
    """A residency with the names of its business and founder, for a base's resident list."""
    return residency_json(residency) | {
        "business_name": residency.business.name,
        "founder_id": residency.business.founder_id,
        "founder_name": residency.business.founder.name,
    }


def _form_values(form: Any, names: tuple[str, ...] | list[str]) -> dict[str, Any]:
    return {name: form[name].data for name in names}


@incubation_api_bp.post("/incubation/bases")
@permission_required(Permission.INCUBATION_MANAGE)
@api_endpoint(
    "Add an incubation base in a region of the caller's area (409 when the name is taken)",
    form=BaseForm,
    response=BASE_DETAIL_SCHEMA,
    status=201,
    errors=(409,),
)
def create_base() -> Any:
    """Staff add a base; the answer is the new base with its (empty) occupancy."""
    form = read_json_form(BaseForm)
    validate_or_raise(form)
    base = operations.create_base(current_user, _form_values(form, operations.BASE_FIELDS))
    db.session.commit()
    return json_response(base_detail_json(base), 201)


@incubation_api_bp.get("/incubation/bases")
@permission_required(Permission.INCUBATION_MANAGE)
@api_endpoint(
    "Incubation bases in the caller's area with their occupancy",
    query=BaseFilterForm,
    response=BASE_SCHEMA,
    paginated=True,
)
def list_bases() -> Any:
    """Bases in scope, filtered by name, region and kind, with units, occupied and free."""
    filters = BaseFilters.from_form(read_query_form(BaseFilterForm))
    pagination = paginate(list_bases_stmt(current_user, filters), read_page_request(request.args))
    occupancy = base_occupancy(base.id for base in pagination.items)
    return json_response(page_envelope(pagination, lambda b: base_json(b, occupancy[b.id])))


@incubation_api_bp.get("/incubation/bases/<id:base_id>")
@permission_required(Permission.INCUBATION_MANAGE)
@api_endpoint(
    "One incubation base with its occupancy and current residents",
    response=BASE_DETAIL_SCHEMA,
    errors=(404,),
)
def get_base(base_id: int) -> Any:
    """A base in scope and who lives there now."""
    return json_response(base_detail_json(get_base_in_scope(current_user, base_id)))


@incubation_api_bp.post("/incubation/bases/<id:base_id>/residencies")
@permission_required(Permission.INCUBATION_MANAGE)
@api_endpoint(
    "Move a business into a unit of a base (409 when the base is full, the unit occupied, "
    "the business closed or already living in a base)",
    form=ResidencyForm,
    response=RESIDENCY_SCHEMA,
    status=201,
    errors=(404, 409),
)
def start_residency(base_id: int) -> Any:
    """A business of the caller's area moves into the base."""
    base = get_base_in_scope(current_user, base_id)
    form = read_json_form(ResidencyForm)
    validate_or_raise(form)
    values = _form_values(form, ["business_id", "unit_label", "starts_on", "note"])
    residency = operations.start_residency(current_user, base, values, as_of=today_in_china())
    db.session.commit()
    return json_response(residency_json(residency), 201)


@incubation_api_bp.post("/residencies/<id:residency_id>/end")
@permission_required(Permission.INCUBATION_MANAGE)
@api_endpoint(
    "End a residency: graduated, left or closed (closed also records the business's "
    "closure; 409 when the residency already ended)",
    form=EndResidencyForm,
    response=RESIDENCY_SCHEMA,
    errors=(404, 409),
)
def end_residency(residency_id: int) -> Any:
    """A business moves out of its unit."""
    residency = get_residency_in_scope(current_user, residency_id)
    form = read_json_form(EndResidencyForm)
    validate_or_raise(form)
    values = _form_values(form, ["ends_on", "outcome", "note"])
    operations.end_residency(current_user, residency, values, as_of=today_in_china())
    db.session.commit()
    return json_response(residency_json(residency))
