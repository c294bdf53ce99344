"""JSON API: the founder register, and the bulk import."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from flask_babel import gettext as _
from flask_login import current_user

from app.core.api import (
    api_endpoint,
    form_errors,
    iso_date,
    json_body,
    json_response,
    read_json_form,
    read_query_form,
    validate_or_raise,
)
from app.core.dates import today_in_china
from app.core.db import mark_request_as_writing
from app.core.errors import PermissionDenied, ValidationFailed
from app.core.pagination import page_envelope, paginate, read_page_request
from app.core.permissions import Permission, Role, permission_required
from app.extensions import db
from app.founders import bulk_import, operations
from app.founders.forms import (
    FounderDetailQueryForm,
    FounderFilterForm,
    FounderForm,
    FounderImportForm,
    FounderUpdateForm,
)
from app.founders.last4_search import record_last4_search
from app.founders.models import Founder
from app.founders.queries import FounderFilters, get_founder_in_scope, list_founders_stmt
from app.founders.rules import FOUNDER_FIELDS
from app.integrity.queries import get_integrity_standing, standings_for
from app.integrity.scoring import IntegrityStanding

founders_api_bp = Blueprint("api_founders", __name__, url_prefix="/api/v1")

FOUNDER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "id_number_masked": {"type": "string"},
        "id_number": {
            "type": "string",
            "description": "Only with include=id_number, for staff and officers in scope; audited.",
        },
        "birth_date": {"type": "string", "format": "date"},
        "sex": {"type": "string", "enum": ["male", "female"]},
        "phone": {"type": "string"},
        "region_code": {"type": "string"},
        "target_group": {"type": "string"},
        "education": {"type": "string", "nullable": True},
        "has_reemployment_certificate": {"type": "boolean"},
        "registered_on": {"type": "string", "format": "date"},
        "integrity": {
            "type": "object",
            "properties": {
                "score": {"type": "integer"},
                "grade": {"type": "string", "enum": ["A", "B", "C", "D"]},
            },
            "required": ["score", "grade"],
        },
    },
    "required": [
        "id",
        "name",
        "id_number_masked",
        "birth_date",
        "sex",
        "region_code",
        "target_group",
        "registered_on",
        "integrity",
    ],
}
# Who may see a full ID number, in scope (SPEC §4): never admins, never founders.
FULL_ID_ROLES = frozenset({Role.STAFF, Role.OFFICER})


def founder_json(
    founder: Founder, *, full_id_number: bool = False, standing: IntegrityStanding | None = None
) -> dict[str, Any]:
    """The API's view of a founder; the full ID number only when asked for explicitly.
    Lists pass each founder's `standing`, read for the whole page in one query."""
    body = {
        "id": founder.id,
        "name": founder.name,
        "id_number_masked": founder.id_number_masked,
        "birth_date": iso_date(founder.birth_date),
        "sex": founder.sex,
        "phone": founder.phone,
        "region_code": founder.region_code,
        "target_group": founder.target_group,
        "education": founder.education,
        "has_reemployment_certificate": founder.has_reemployment_certificate,
        "registered_on": iso_date(founder.registered_on),
        "integrity": (standing or get_integrity_standing(founder.id)).as_json(),
    }
    if full_id_number:
        body["id_number"] = founder.id_number
    return body


def _form_values(form: FounderForm, names: list[str] | tuple[str, ...]) -> dict[str, Any]:
    return {name: form[name].data for name in names}


def _validate_founder(
    form: FounderForm, names: list[str] | tuple[str, ...], *, founder: Founder | None = None
) -> None:
    """422 with every problem at once: the form's and the register's rules'."""
    form.validate()
    errors = operations.founder_input_errors(
        current_user,
        form_errors(form),
        _form_values(form, names),
        as_of=today_in_china(),
        founder=founder,
    )
    if errors:
        raise ValidationFailed(errors)


@founders_api_bp.post("/founders")
@permission_required(Permission.FOUNDERS_WRITE)
@api_endpoint(
    "Register a founder by real name (409 with the existing id if the ID number is known)",
    form=FounderForm,
    response=FOUNDER_SCHEMA,
    status=201,
    errors=(409,),
)
def create_founder() -> Any:
    """Staff register a founder in their region."""
    form = read_json_form(FounderForm)
    _validate_founder(form, FOUNDER_FIELDS)
    founder = operations.register_founder(
        current_user, as_of=today_in_china(), **_form_values(form, FOUNDER_FIELDS)
    )
    db.session.commit()
    return json_response(founder_json(founder), 201)


@founders_api_bp.get("/founders")
@permission_required(Permission.FOUNDERS_READ)
@api_endpoint(
    "Founders in your area, filtered and searched (ID numbers masked)",
    query=FounderFilterForm,
    response=FOUNDER_SCHEMA,
    paginated=True,
)
def list_founders() -> Any:
    """The scoped founder list, newest registration first."""
    filters = FounderFilters.from_form(read_query_form(FounderFilterForm))
    stmt = list_founders_stmt(current_user, filters)
    if record_last4_search(current_user, filters.q, stmt):
        db.session.commit()
    pagination = paginate(stmt, read_page_request(request.args))
    standings = standings_for(founder.id for founder in pagination.items)
    return json_response(
        page_envelope(
            pagination, lambda founder: founder_json(founder, standing=standings[founder.id])
        )
    )


@founders_api_bp.get("/founders/<id:founder_id>")
@permission_required(Permission.FOUNDERS_READ, Permission.OWN_RECORDS_READ, any_of=True)
@api_endpoint(
    "One founder (ID number masked; `include=id_number` adds the full number, audited)",
    query=FounderDetailQueryForm,
    response=FOUNDER_SCHEMA,
    errors=(404,),
)
def get_founder(founder_id: int) -> Any:
    """A founder in scope (a founder may read only their own record).

    The full number is opt-in, so a script reading records does not collect full numbers
    it never asked for; staff and officers of the area get it, audited per answer.
    """
    full = read_query_form(FounderDetailQueryForm).include.data == "id_number"
    if full and current_user.role not in FULL_ID_ROLES:
        raise PermissionDenied(
            _("Only staff and officers of the founder's area see full ID numbers.")
        )
    if full:
        mark_request_as_writing()  # the audit entry of the full-number view
    founder = get_founder_in_scope(current_user, founder_id)
    if full:
        operations.record_id_number_view(current_user, founder)
        db.session.commit()
    return json_response(founder_json(founder, full_id_number=full))


@founders_api_bp.patch("/founders/<id:founder_id>")
@permission_required(Permission.FOUNDERS_WRITE)
@api_endpoint(
    "Correct a founder's fields (only those given change)",
    form=FounderUpdateForm,
    response=FOUNDER_SCHEMA,
    errors=(404, 409),
)
def update_founder(founder_id: int) -> Any:
    """Staff correct a founder in their area; every change is audited."""
    founder = get_founder_in_scope(current_user, founder_id)
    body = json_body()
    given = [name for name in FOUNDER_FIELDS if name in body]
    # Only education may be emptied. An empty registration date would otherwise read as
    # "not given" and quietly become today.
    cleared = [name for name in given if body[name] in (None, "") and name != "education"]
    if cleared:
        raise ValidationFailed({name: [_("This field cannot be empty.")] for name in cleared})
    form = read_json_form(FounderUpdateForm)
    _validate_founder(form, given, founder=founder)
    operations.update_founder(
        current_user, founder, as_of=today_in_china(), **_form_values(form, given)
    )
    db.session.commit()
    return json_response(founder_json(founder))


IMPORT_RESULT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "import_id": {"type": "integer"},
        "created": {"type": "integer"},
        "total_rows": {"type": "integer"},
        "error_count": {"type": "integer"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "row": {"type": "integer"},
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                },
                "required": ["row", "field", "message"],
            },
        },
    },
    "required": ["import_id", "created", "errors"],
}


@founders_api_bp.post("/imports/founders")
@permission_required(Permission.FOUNDERS_WRITE)
@api_endpoint(
    "Import founders from an .xlsx or .csv file (multipart `file`, `mode`); per-row report",
    form=FounderImportForm,
    response=IMPORT_RESULT_SCHEMA,
    content_type="multipart/form-data",
    errors=(413,),
)
def import_founders() -> Any:
    """Bulk registration; `all_or_nothing` (default) writes nothing if any row is bad."""
    form = FounderImportForm(meta={"csrf": False})
    validate_or_raise(form)
    founder_import = bulk_import.import_founders(
        current_user,
        form.file.data,
        form.file.data.filename or "",
        mode=form.mode.data,
        as_of=today_in_china(),
    )
    db.session.commit()
    return json_response(bulk_import.import_result_json(founder_import))
