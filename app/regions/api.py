"""JSON API: the region tree."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask_login import current_user

from app.core.api import api_endpoint, json_response, read_json_form, validate_or_raise
from app.core.permissions import Permission, permission_required
from app.extensions import db
from app.regions.forms import RegionForm
from app.regions.models import Region
from app.regions.operations import create_region
from app.regions.queries import list_regions

regions_api_bp = Blueprint("api_regions", __name__, url_prefix="/api/v1")

REGION_SCHEMA = {
    "type": "object",
    "properties": {
        "code": {"type": "string"},
        "name": {"type": "string"},
        "name_en": {"type": "string", "nullable": True},
        "level": {"type": "string", "enum": ["province", "city"]},
        "parent_code": {"type": "string", "nullable": True},
    },
    "required": ["code", "name", "level", "parent_code"],
}


def region_json(region: Region) -> dict[str, Any]:
    """The API's view of a region."""
    return {
        "code": region.code,
        "name": region.name,
        "name_en": region.name_en,
        "level": region.level,
        "parent_code": region.parent_code,
    }


@regions_api_bp.get("/regions")
@permission_required(Permission.DASHBOARD_VIEW)
@api_endpoint(
    "All regions, each province followed by its cities",
    response={"type": "array", "items": REGION_SCHEMA},
)
def list_all_regions() -> Any:
    """The whole region tree; small, so not paginated."""
    return json_response([region_json(region) for region in list_regions()])


@regions_api_bp.post("/regions")
@permission_required(Permission.REGIONS_MANAGE)
@api_endpoint(
    "Add a province or a city/county/district",
    form=RegionForm,
    response=REGION_SCHEMA,
    status=201,
    errors=(409,),
)
def add_region() -> Any:
    """An administrator adds a province or a city/county/district."""
    form = read_json_form(RegionForm)
    validate_or_raise(form)
    region = create_region(
        current_user,
        code=form.code.data,
        name=form.name.data,
        level=form.level.data,
        parent_code=form.parent_code.data,
        name_en=form.name_en.data,
    )
    db.session.commit()
    return json_response(region_json(region), 201)
