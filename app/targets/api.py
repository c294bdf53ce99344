"""JSON API: a region's annual targets and progress (SPEC §13, §14).

GET answers a region's five targets (null where none is set) with the progress of each
as of today in China, or `?as_of=`; staff, officers and administrators read the regions of
their area (others 404). PUT sets them: administrators anywhere, a province's staff in the
province and its cities; a city's staff get 403. Fields left out keep their value, null
clears one. A province's answer to a PUT also names where its cities' targets do not add
up to its own (`split_warnings`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint
from flask_babel import gettext as _
from flask_login import current_user

from app.core.api import (
    DATE_SCHEMA,
    NULLABLE_MONEY_SCHEMA,
    api_endpoint,
    json_body,
    json_response,
    money_str,
    read_json_form,
    read_query_form,
    validate_or_raise,
)
from app.core.dates import today_in_china
from app.core.errors import NotFound
from app.core.permissions import Permission, permission_required
from app.extensions import db
from app.regions.models import Region
from app.targets import operations
from app.targets.forms import TargetsForm, TargetsQueryForm
from app.targets.models import MONEY_FIELDS, TARGET_FIELDS
from app.targets.progress import TargetProgress, target_progress
from app.targets.queries import get_targets, split_mismatches
from app.targets.rules import MAX_COUNT, is_valid_year

api_targets_bp = Blueprint("api_targets", __name__, url_prefix="/api/v1")

_COUNT: dict[str, Any] = {"type": "integer", "minimum": 0, "maximum": MAX_COUNT, "nullable": True}
_ACTUAL_COUNT: dict[str, Any] = {"type": "integer", "minimum": 0}
_MONEY: dict[str, Any] = {"type": "string", "pattern": r"^\d+\.\d{2}$"}
_SHARE: dict[str, Any] = {"type": "number", "minimum": 0}


def _object(**properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties)}


def _figure_schema(name: str) -> dict[str, Any]:
    return NULLABLE_MONEY_SCHEMA if name in MONEY_FIELDS else _COUNT


def _progress_schema(name: str) -> dict[str, Any]:
    return _object(
        target=_figure_schema(name),
        actual=_MONEY if name in MONEY_FIELDS else _ACTUAL_COUNT,
        progress={**_SHARE, "nullable": True},
        status={"type": "string", "enum": ["green", "amber", "red"], "nullable": True},
    )


TARGETS_SCHEMA: dict[str, Any] = _object(
    year={"type": "integer"},
    region_code={"type": "string"},
    **{name: _figure_schema(name) for name in TARGET_FIELDS},
    as_of=DATE_SCHEMA,
    expected={**_SHARE, "maximum": 1},
    progress=_object(**{name: _progress_schema(name) for name in TARGET_FIELDS}),
)
PUT_SCHEMA: dict[str, Any] = {
    **TARGETS_SCHEMA,
    "properties": {
        **TARGETS_SCHEMA["properties"],
        "split_warnings": {
            "type": "object",
            "description": "a province only: each figure whose cities' targets do not add up "
            "to the province's (a figure no city has a target for included)",
            "additionalProperties": _object(
                province={"oneOf": [_ACTUAL_COUNT, _MONEY]},
                cities_sum={"oneOf": [_ACTUAL_COUNT, _MONEY]},
            ),
        },
    },
}


def _value(name: str, value: Any) -> Any:
    return money_str(value) if name in MONEY_FIELDS else value


def _progress_json(line: TargetProgress) -> dict[str, Any]:
    return {
        "target": _value(line.field, line.target),
        "actual": _value(line.field, line.actual),
        "progress": line.progress,
        "status": line.status,
    }


def _answer(year: int, region: Region, as_of: date) -> dict[str, Any]:
    row = get_targets(year, region.code)
    values = row.values() if row is not None else dict.fromkeys(TARGET_FIELDS)
    lines = target_progress(region.code, year, as_of)
    return {
        "year": year,
        "region_code": region.code,
        **{name: _value(name, value) for name, value in values.items()},
        "as_of": as_of.isoformat(),
        "expected": lines[0].expected,
        "progress": {line.field: _progress_json(line) for line in lines},
    }


def _region_in_scope(year: int, region_code: str) -> Region:
    """The region asked for, in the caller's area, for a year targets can have; 404 else."""
    if not is_valid_year(year):
        raise NotFound(_("Targets are set for the years 2000 to 2099."))
    return operations.get_target_region(current_user, region_code)


@api_targets_bp.get("/targets/<int:year>/<region_code>")
@permission_required(Permission.REPORTS_READ)
@api_endpoint(
    "A region's targets for a year (null: none set) and the progress of each, as of today "
    "in China or as_of: actual in the year up to that day / target, to 4 places, and "
    "green, amber or red against the share of the year gone (null without a target). "
    "Staff, officers and administrators, for the regions of their area",
    query=TargetsQueryForm,
    response=TARGETS_SCHEMA,
    errors=(404, 422),
    tags=("targets",),
)
def get_region_targets(year: int, region_code: str) -> Any:
    """Answer a region's targets and progress."""
    region = _region_in_scope(year, region_code)
    as_of = read_query_form(TargetsQueryForm).as_of.data or today_in_china()
    return json_response(_answer(year, region, as_of))


@api_targets_bp.put("/targets/<int:year>/<region_code>")
@permission_required(Permission.TARGETS_MANAGE)
@api_endpoint(
    "Set a region's targets for a year: administrators anywhere, a province's staff in the "
    "province and its cities (a city's staff read only). Fields left out keep their value, "
    "null clears one. Answers as GET does (progress as of today), and for a province also "
    "where its cities' targets do not add up to its own",
    form=TargetsForm,
    response=PUT_SCHEMA,
    errors=(404,),
    tags=("targets",),
)
def put_region_targets(year: int, region_code: str) -> Any:
    """Create or change a region's targets; the change is audited."""
    region = _region_in_scope(year, region_code)
    operations.require_target_setter(current_user, region)
    given = [name for name in TARGET_FIELDS if name in json_body()]
    form = read_json_form(TargetsForm)
    validate_or_raise(form)
    operations.set_targets(current_user, year, region.code, {n: form[n].data for n in given})
    db.session.commit()
    answer = _answer(year, region, today_in_china())
    if region.is_province:
        answer["split_warnings"] = {
            name: {"province": _value(name, target), "cities_sum": _value(name, cities)}
            for name, (target, cities) in split_mismatches(year, region.code).items()
        }
    return json_response(answer)
