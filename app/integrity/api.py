"""JSON API: founders' integrity files, corrections, the points table (SPEC §10, §14).

Officers read and write the files of their area, administrators read every file and set
the points table, a founder reads only their own file (404 for anyone else's). Centre
staff get 403: they see the score on the founder answer, not the file.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from flask_babel import gettext as _
from flask_login import current_user

from app.core.api import (
    DATE_SCHEMA,
    api_endpoint,
    iso_date,
    json_response,
    read_json_form,
    read_query_form,
    validate_or_raise,
)
from app.core.dates import today_in_china
from app.core.errors import NotFound
from app.core.pagination import page_envelope, paginate, read_page_request
from app.core.permissions import Permission, has_permission, permission_required
from app.extensions import db
from app.founders.models import Founder
from app.integrity import operations
from app.integrity.forms import (
    CorrectionFilterForm,
    DecisionForm,
    IntegrityEventForm,
    PointsForm,
    RejectionForm,
)
from app.integrity.models import (
    DEFAULT_POINTS,
    CorrectionState,
    EventKind,
    EventSource,
    IntegrityCorrection,
    IntegrityEvent,
)
from app.integrity.points import current_points, set_points
from app.integrity.queries import (
    get_correction_in_scope,
    get_founder_for_integrity,
    get_integrity_standing,
    list_corrections_stmt,
    list_events,
    list_pending_corrections,
    user_names,
)

integrity_api_bp = Blueprint("api_integrity", __name__, url_prefix="/api/v1")

DATETIME_SCHEMA: dict[str, Any] = {"type": "string", "format": "date-time"}
NULLABLE_INTEGER: dict[str, Any] = {"type": "integer", "nullable": True}
NULLABLE_STRING: dict[str, Any] = {"type": "string", "nullable": True}
EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "kind": {"type": "string", "enum": [kind.value for kind in EventKind]},
        "points": {"type": "integer"},
        "occurred_on": DATE_SCHEMA,
        "source": {"type": "string", "enum": [source.value for source in EventSource]},
        "note": {"type": "string", "description": "the reason, shown to the founder"},
        "loan_id": NULLABLE_INTEGER,
        "recorded_by": {**NULLABLE_STRING, "description": "null for events the system made"},
        "created_at": DATETIME_SCHEMA,
    },
    "required": [
        "id",
        "kind",
        "points",
        "occurred_on",
        "source",
        "note",
        "loan_id",
        "recorded_by",
        "created_at",
    ],
}
CORRECTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "founder_id": {"type": "integer"},
        "points": {"type": "integer"},
        "reason": {"type": "string"},
        "corrects_event_id": NULLABLE_INTEGER,
        "state": {"type": "string", "enum": [state.value for state in CorrectionState]},
        "proposed_on": DATE_SCHEMA,
        "proposed_by": NULLABLE_STRING,
        "decided_at": {**DATETIME_SCHEMA, "nullable": True},
        "decided_by": NULLABLE_STRING,
        "decision_note": {"type": "string"},
        "event_id": {**NULLABLE_INTEGER, "description": "the correction event, once approved"},
        "created_at": DATETIME_SCHEMA,
    },
    "required": [
        "id",
        "founder_id",
        "points",
        "reason",
        "corrects_event_id",
        "state",
        "proposed_on",
        "proposed_by",
        "decided_at",
        "decided_by",
        "decision_note",
        "event_id",
        "created_at",
    ],
}
FILE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "founder_id": {"type": "integer"},
        "score": {"type": "integer", "minimum": 0, "maximum": 150},
        "grade": {"type": "string", "enum": ["A", "B", "C", "D"]},
        "events": {"type": "array", "items": EVENT_SCHEMA, "description": "newest first"},
        "pending_corrections": {
            "type": "array",
            "items": CORRECTION_SCHEMA,
            "description": "waiting for a second officer; always empty for the founder",
        },
    },
    "required": ["founder_id", "score", "grade", "events", "pending_corrections"],
}
CREATED_SCHEMA: dict[str, Any] = {
    "oneOf": [EVENT_SCHEMA, CORRECTION_SCHEMA],
    "description": "201: the event (manual kinds); 202: the pending correction (kind correction)",
}
POINTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "kind": {"type": "string", "enum": [kind.value for kind in DEFAULT_POINTS]},
        "points": {"type": "integer", "minimum": -150, "maximum": 150},
        "default_points": {"type": "integer", "description": "SPEC §10's default"},
    },
    "required": ["kind", "points", "default_points"],
}


def _iso_datetime(value: Any) -> str | None:
    return value.isoformat() if value else None


def event_json(event: IntegrityEvent, names: dict[int, str]) -> dict[str, Any]:
    """The API's view of an event; `names` gives the recorders' names by user id."""
    return {
        "id": event.id,
        "kind": event.kind,
        "points": event.points,
        "occurred_on": iso_date(event.occurred_on),
        "source": event.source,
        "note": event.note,
        "loan_id": event.loan_id,
        "recorded_by": names.get(event.recorded_by_id) if event.recorded_by_id else None,
        "created_at": _iso_datetime(event.created_at),
    }


def correction_json(correction: IntegrityCorrection, names: dict[int, str]) -> dict[str, Any]:
    """The API's view of a correction; `names` gives the officers' names by user id."""
    return {
        "id": correction.id,
        "founder_id": correction.founder_id,
        "points": correction.points,
        "reason": correction.reason,
        "corrects_event_id": correction.corrects_event_id,
        "state": correction.state,
        "proposed_on": iso_date(correction.proposed_on),
        "proposed_by": names.get(correction.proposed_by_id or 0),
        "decided_at": _iso_datetime(correction.decided_at),
        "decided_by": names.get(correction.decided_by_id or 0),
        "decision_note": correction.decision_note,
        "event_id": correction.event_id,
        "created_at": _iso_datetime(correction.created_at),
    }


def _correction_names(corrections: list[IntegrityCorrection]) -> dict[int, str]:
    return user_names(
        user_id
        for correction in corrections
        for user_id in (correction.proposed_by_id, correction.decided_by_id)
    )


def _one_correction_json(correction: IntegrityCorrection) -> dict[str, Any]:
    return correction_json(correction, _correction_names([correction]))


def file_json(founder: Founder) -> dict[str, Any]:
    """A founder's file: standing, events newest first, pending corrections (officers and
    administrators only)."""
    standing = get_integrity_standing(founder.id)
    events = list_events(founder.id)
    pending = (
        list_pending_corrections(current_user, founder.id)
        if has_permission(current_user, Permission.INTEGRITY_READ)
        else []
    )
    names = user_names(event.recorded_by_id for event in events) | _correction_names(pending)
    return {
        "founder_id": founder.id,
        "score": standing.score,
        "grade": standing.grade,
        "events": [event_json(event, names) for event in events],
        "pending_corrections": [correction_json(c, names) for c in pending],
    }


@integrity_api_bp.get("/founders/<id:founder_id>/integrity")
@permission_required(Permission.INTEGRITY_READ, Permission.OWN_RECORDS_READ, any_of=True)
@api_endpoint(
    "A founder's integrity file: score, grade, every event with its reason (newest first) "
    "and the corrections waiting for a second officer; a founder reads only their own",
    response=FILE_SCHEMA,
    errors=(404,),
)
def get_file(founder_id: int) -> Any:
    """The file of a founder of the caller's area (the founder's own for a founder)."""
    return json_response(file_json(get_founder_for_integrity(current_user, founder_id)))


@integrity_api_bp.post("/founders/<id:founder_id>/integrity-events")
@permission_required(Permission.INTEGRITY_WRITE)
@api_endpoint(
    "Record integrity education, false information or fund misuse (201, the event), or "
    "propose a correction with kind correction (202, the correction, pending until a "
    "second officer approves it)",
    form=IntegrityEventForm,
    response=CREATED_SCHEMA,
    status=201,
    errors=(404, 409),
    extra={
        "responses": {
            "202": {
                "description": "A correction proposed, waiting for a second officer",
                "content": {"application/json": {"schema": CORRECTION_SCHEMA}},
            }
        }
    },
)
def create_event(founder_id: int) -> Any:
    """An officer adds to the file of a founder of their area."""
    founder = get_founder_for_integrity(current_user, founder_id)
    form = read_json_form(IntegrityEventForm)
    validate_or_raise(form)
    if form.kind.data == EventKind.CORRECTION:
        correction = operations.propose_correction(
            current_user,
            founder,
            points=form.points.data,
            reason=form.note.data,
            corrects_event_id=form.corrects_event_id.data,
            as_of=today_in_china(),
        )
        db.session.commit()
        return json_response(_one_correction_json(correction), 202)
    event = operations.record_manual_event(
        current_user,
        founder,
        form.kind.data,
        occurred_on=form.occurred_on.data,
        note=form.note.data,
        as_of=today_in_china(),
    )
    db.session.commit()
    return json_response(event_json(event, user_names([event.recorded_by_id])), 201)


@integrity_api_bp.get("/integrity/corrections")
@permission_required(Permission.INTEGRITY_READ)
@api_endpoint(
    "Corrections of the caller's area by state: pending (the default, oldest first), "
    "approved or rejected (latest decision first)",
    query=CorrectionFilterForm,
    response=CORRECTION_SCHEMA,
    paginated=True,
)
def list_corrections() -> Any:
    """The queue of corrections waiting for a second officer, or the decided ones."""
    form = read_query_form(CorrectionFilterForm)
    state = form.state.data or CorrectionState.PENDING
    pagination = paginate(
        list_corrections_stmt(current_user, state), read_page_request(request.args)
    )
    names = _correction_names(list(pagination.items))
    return json_response(page_envelope(pagination, lambda c: correction_json(c, names)))


@integrity_api_bp.post("/integrity/corrections/<id:correction_id>/approve")
@permission_required(Permission.INTEGRITY_WRITE)
@api_endpoint(
    "Approve a correction: its event joins the file (403 for the officer who proposed it, "
    "409 when already decided)",
    form=DecisionForm,
    response=CORRECTION_SCHEMA,
    errors=(404, 409),
)
def approve_correction(correction_id: int) -> Any:
    """A second officer approves; the answer has the new event's id."""
    return _decide(correction_id, DecisionForm, approve=True)


@integrity_api_bp.post("/integrity/corrections/<id:correction_id>/reject")
@permission_required(Permission.INTEGRITY_WRITE)
@api_endpoint(
    "Reject a correction, saying why (403 for the officer who proposed it, 409 when "
    "already decided)",
    form=RejectionForm,
    response=CORRECTION_SCHEMA,
    errors=(404, 409),
)
def reject_correction(correction_id: int) -> Any:
    """A second officer rejects; nothing joins the file."""
    return _decide(correction_id, RejectionForm, approve=False)


def _decide(
    correction_id: int, form_cls: type[DecisionForm | RejectionForm], *, approve: bool
) -> Any:
    correction = get_correction_in_scope(current_user, correction_id)
    form = read_json_form(form_cls)
    validate_or_raise(form)
    operations.decide_correction(
        current_user, correction, approve=approve, note=form.note.data, as_of=today_in_china()
    )
    db.session.commit()
    return json_response(_one_correction_json(correction))


def points_json(kind: str, points: int) -> dict[str, Any]:
    """One line of the points table."""
    return {"kind": kind, "points": points, "default_points": DEFAULT_POINTS[EventKind(kind)]}


@integrity_api_bp.get("/integrity/points")
@permission_required(Permission.INTEGRITY_READ, Permission.POLICIES_MANAGE, any_of=True)
@api_endpoint(
    "The points each kind of event gets when it is made (corrections excepted)",
    response={"type": "array", "items": POINTS_SCHEMA},
)
def list_points() -> Any:
    """The points table as it is now, with SPEC's defaults beside it."""
    return json_response([points_json(kind, points) for kind, points in current_points().items()])


@integrity_api_bp.put("/integrity/points/<kind>")
@permission_required(Permission.POLICIES_MANAGE)
@api_endpoint(
    "Set the points future events of a kind get (-150..150); events already made keep "
    "theirs (422 for correction, whose points are proposed case by case)",
    form=PointsForm,
    response=POINTS_SCHEMA,
    errors=(404,),
)
def update_points(kind: str) -> Any:
    """The administrator adjusts one kind's points; audited."""
    if kind not in {event_kind.value for event_kind in EventKind}:
        raise NotFound(_("No such kind of integrity event."))
    form = read_json_form(PointsForm)
    validate_or_raise(form)
    row = set_points(current_user, kind, form.points.data)
    db.session.commit()
    return json_response(points_json(row.kind, row.points))
