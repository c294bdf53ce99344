"""Integrity records: events in a founder's file and the corrections of wrong ones (SPEC §10).

Rules decided here:

- `record_event` is the one writer of events: loans, repayments and the daily sweep call it
  with the event's facts, officers through `record_manual_event`, approved corrections
  through `decide_correction`. An event's points are copied from the points table when it
  is made (`points.points_for`), unless the caller gives them. An event with a `once_key`
  is made at most once: a second call finds the first and writes nothing (None), and two
  calls racing each other leave one event (the unique key holds; the loser's insert is
  undone in its savepoint).
- Officers record by hand only integrity education, false information and fund misuse
  (422 on kind otherwise), of a founder of their area (404), with a reason (the note) and
  a day between 2000-01-01 and today (422 on occurred_on).
- Events are never edited or deleted. A wrong event, or a wrong score, is answered by a
  correction: an officer proposes points (±1..150, never 0) with a reason, optionally
  naming the event of the same founder it answers (one pending correction per event);
  a second officer approves or rejects it with a note (the proposer gets 403: four eyes;
  a decided correction gets 409). Approval appends a `correction` event made on the day
  of approval, carrying the proposed points and the reason, recorded by the proposer and
  approved by the approver. The correction row is locked while it is decided, so two
  officers deciding at once give one decision.
- Every event, proposal and decision is audited under the founder's region.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.core.audit import changed_fields, record_audit, snapshot
from app.core.db import MAX_ID, utcnow
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.core.permissions import Role, scoped
from app.core.validators import contains_nul
from app.extensions import db
from app.founders.models import Founder
from app.integrity.models import (
    MANUAL_KINDS,
    CorrectionState,
    EventKind,
    EventSource,
    IntegrityCorrection,
    IntegrityEvent,
)
from app.integrity.points import MAX_POINTS, MIN_POINTS, points_for

MAX_NOTE = 1000
MAX_ONCE_KEY = 64  # IntegrityEvent.once_key is String(64)
EARLIEST_EVENT_ON = date(2000, 1, 1)


# Events ---------------------------------------------------------------------------------
def _event_with_key(once_key: str) -> int | None:
    return db.session.scalar(select(IntegrityEvent.id).where(IntegrityEvent.once_key == once_key))


def _audit_event(actor: Any, event: IntegrityEvent, founder: Founder) -> None:
    record_audit(
        actor, "integrity.event", event, None, snapshot(event), region_code=founder.region_code
    )


def _append_event(actor: Any, founder: Founder, event: IntegrityEvent) -> IntegrityEvent:
    """Insert an event without a once_key, and audit it."""
    db.session.add(event)
    db.session.flush()
    _audit_event(actor, event, founder)
    return event


def _append_event_once(
    actor: Any, founder: Founder, event: IntegrityEvent, once_key: str
) -> IntegrityEvent | None:
    """Insert an event unless one with `once_key` exists (None then), and audit it."""
    if _event_with_key(once_key) is not None:
        return None
    event.once_key = once_key
    try:
        # A savepoint, so a concurrent twin's insert failing on the key undoes only this.
        with db.session.begin_nested():
            db.session.add(event)
    except IntegrityError:
        if _event_with_key(once_key) is not None:
            return None
        raise
    _audit_event(actor, event, founder)
    return event


def record_event(
    founder_id: int,
    kind: EventKind | str,
    *,
    occurred_on: date,
    source: EventSource | str,
    note: str = "",
    actor: Any = None,
    loan_id: int | None = None,
    installment_id: int | None = None,
    once_key: str | None = None,
    points: int | None = None,
) -> IntegrityEvent | None:
    """Append an event to a founder's file (the one writer of events; flushes, never commits).

    `points` default to the points table's for `kind` (required for a correction). With a
    `once_key`, an event already made under that key means nothing is written and None is
    returned. `actor` is the user who made it (None for the system: sweeps and jobs).
    Wrong arguments are programming errors (ValueError), not user input.
    """
    kind = EventKind(kind)
    source = EventSource(source)
    if points is None:
        points = points_for(kind)
    if isinstance(points, bool) or not isinstance(points, int):
        raise ValueError(f"points must be an int, not {points!r}")
    if not MIN_POINTS <= points <= MAX_POINTS:
        raise ValueError(f"points must be within {MIN_POINTS}..{MAX_POINTS}, not {points}")
    if not isinstance(occurred_on, date):
        raise ValueError(f"occurred_on must be a date, not {occurred_on!r}")
    if once_key is not None and not 1 <= len(once_key) <= MAX_ONCE_KEY:
        raise ValueError(f"a once_key has 1 to {MAX_ONCE_KEY} characters: {once_key!r}")
    founder = db.session.get(Founder, founder_id)
    if founder is None:
        raise ValueError(f"no founder {founder_id}")
    event = IntegrityEvent(
        founder_id=founder.id,
        kind=kind.value,
        points=points,
        occurred_on=occurred_on,
        source=source.value,
        note=(note or "").strip(),
        loan_id=loan_id,
        installment_id=installment_id,
        recorded_by_id=getattr(actor, "id", None),
    )
    if once_key is None:
        return _append_event(actor, founder, event)
    return _append_event_once(actor, founder, event, once_key)


def _require_officer(actor: Any) -> None:
    if getattr(actor, "role", None) != Role.OFFICER:
        raise PermissionDenied(_("Only loan guarantee officers keep integrity records."))


def _require_in_scope(actor: Any, founder: Founder) -> None:
    stmt = scoped(
        select(Founder.id).where(Founder.id == founder.id), actor, region_column=Founder.region_code
    )
    if db.session.scalar(stmt) is None:
        raise NotFound(_("No such founder in your area."))


def _clean_text(value: Any, *, required: bool, required_message: str) -> tuple[str, list[str]]:
    """Trimmed text, or why it cannot be used."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        return "", [_("Expected text.")]
    value = value.strip()
    if required and not value:
        return "", [required_message]
    if len(value) > MAX_NOTE:
        return "", [_("Use at most %(n)s characters.", n=MAX_NOTE)]
    if contains_nul(value):
        return "", [_("Contains a character that is not allowed.")]
    return value, []


def _occurred_on_errors(occurred_on: Any, *, as_of: date) -> list[str]:
    if not isinstance(occurred_on, date):
        return [_("Enter the day it happened.")]
    if occurred_on > as_of:
        return [_("The day it happened cannot be in the future.")]
    if occurred_on < EARLIEST_EVENT_ON:
        return [
            _("Integrity records start on %(day)s.", day=EARLIEST_EVENT_ON.isoformat()),
        ]
    return []


def record_manual_event(
    actor: Any,
    founder: Founder,
    kind: EventKind | str,
    *,
    occurred_on: date,
    note: str,
    as_of: date,
) -> IntegrityEvent:
    """An officer records integrity education, false information or fund misuse, with
    its reason, in the file of a founder of their area."""
    _require_officer(actor)
    _require_in_scope(actor, founder)
    errors: dict[str, list[str]] = {}
    manual = {manual_kind.value for manual_kind in MANUAL_KINDS}
    if kind not in manual:
        errors["kind"] = [
            _(
                "Officers record integrity education, false information and fund misuse; "
                "loans and repayments make the other events, and corrections need a "
                "second officer's approval."
            )
        ]
    if occurred_errors := _occurred_on_errors(occurred_on, as_of=as_of):
        errors["occurred_on"] = occurred_errors
    clean_note, note_errors = _clean_text(
        note, required=True, required_message=_("Give the reason for this event.")
    )
    if note_errors:
        errors["note"] = note_errors
    if errors:
        raise ValidationFailed(errors)
    event = IntegrityEvent(
        founder_id=founder.id,
        kind=EventKind(kind).value,
        points=points_for(kind),
        occurred_on=occurred_on,
        source=EventSource.OFFICER.value,
        note=clean_note,
        recorded_by_id=actor.id,
    )
    return _append_event(actor, founder, event)


# Corrections ----------------------------------------------------------------------------
def _is_correction_points(value: Any) -> bool:
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and value != 0
        and MIN_POINTS <= value <= MAX_POINTS
    )


def _corrected_event_errors(founder: Founder, event_id: Any) -> list[str]:
    if event_id is None:
        return []
    if isinstance(event_id, bool) or not isinstance(event_id, int) or not 1 <= event_id <= MAX_ID:
        return [_("Choose an event of this founder's file.")]
    owner = db.session.scalar(
        select(IntegrityEvent.founder_id).where(IntegrityEvent.id == event_id)
    )
    if owner != founder.id:
        return [_("Choose an event of this founder's file.")]
    return []


def _pending_correction_of_event(event_id: int) -> IntegrityCorrection | None:
    return db.session.scalar(
        select(IntegrityCorrection).where(
            IntegrityCorrection.corrects_event_id == event_id,
            IntegrityCorrection.state == CorrectionState.PENDING,
        )
    )


def propose_correction(
    actor: Any,
    founder: Founder,
    *,
    points: int,
    reason: str,
    corrects_event_id: int | None = None,
    as_of: date,
) -> IntegrityCorrection:
    """An officer proposes a correction of a founder's file; it counts once a second
    officer approves it."""
    _require_officer(actor)
    _require_in_scope(actor, founder)
    errors: dict[str, list[str]] = {}
    if not _is_correction_points(points):
        errors["points"] = [
            _(
                "A correction is a whole number of points from %(min)s to %(max)s, not 0.",
                min=MIN_POINTS,
                max=MAX_POINTS,
            )
        ]
    clean_reason, reason_errors = _clean_text(
        reason, required=True, required_message=_("Give the reason for this correction.")
    )
    if reason_errors:
        errors["note"] = reason_errors
    if event_errors := _corrected_event_errors(founder, corrects_event_id):
        errors["corrects_event_id"] = event_errors
    if errors:
        raise ValidationFailed(errors)
    if corrects_event_id is not None:
        pending = _pending_correction_of_event(corrects_event_id)
        if pending is not None:
            raise Conflict(
                _(
                    "A correction of this event is already waiting for a second officer "
                    "(number %(id)s).",
                    id=pending.id,
                ),
                id=pending.id,
            )
    correction = IntegrityCorrection(
        founder_id=founder.id,
        points=points,
        reason=clean_reason,
        corrects_event_id=corrects_event_id,
        state=CorrectionState.PENDING,
        proposed_on=as_of,
        proposed_by_id=actor.id,
    )
    try:
        with db.session.begin_nested():
            db.session.add(correction)
            db.session.flush()
    except IntegrityError:
        # Another officer proposed a correction of the same event at the same moment (the
        # partial unique index on pending corrections of an event).
        raise Conflict(
            _("A correction of this event is already waiting for a second officer.")
        ) from None
    record_audit(
        actor,
        "integrity.correction.propose",
        correction,
        None,
        snapshot(correction),
        region_code=founder.region_code,
    )
    return correction


def _lock_correction(correction: IntegrityCorrection) -> None:
    """Hold the correction row until commit and reload it, so two officers deciding at
    once cannot both find it pending (PostgreSQL: FOR UPDATE; SQLite's writers hold the
    database lock from their BEGIN)."""
    db.session.flush()
    db.session.execute(
        select(IntegrityCorrection.id)
        .where(IntegrityCorrection.id == correction.id)
        .with_for_update()
    )
    db.session.refresh(correction)


def decide_correction(
    actor: Any,
    correction: IntegrityCorrection,
    *,
    approve: bool,
    note: str,
    as_of: date,
) -> IntegrityCorrection:
    """A second officer approves (the correction event is appended) or rejects (the note
    says why) a pending correction."""
    _require_officer(actor)
    founder = correction.founder
    _require_in_scope(actor, founder)
    if correction.proposed_by_id == actor.id:
        raise PermissionDenied(
            _(
                "A second officer must approve or reject a correction; you proposed this "
                "one yourself."
            )
        )
    clean_note, note_errors = _clean_text(
        note,
        required=not approve,
        required_message=_("Say why the correction is rejected."),
    )
    if note_errors:
        raise ValidationFailed({"note": note_errors})
    _lock_correction(correction)
    if correction.state != CorrectionState.PENDING:
        message = (
            _("This correction was already approved.")
            if correction.state == CorrectionState.APPROVED
            else _("This correction was already rejected.")
        )
        raise Conflict(message, state=correction.state)
    before = snapshot(correction)
    if approve:
        event = IntegrityEvent(
            founder_id=founder.id,
            kind=EventKind.CORRECTION.value,
            points=correction.points,
            occurred_on=as_of,
            source=EventSource.OFFICER.value,
            note=correction.reason,
            recorded_by_id=correction.proposed_by_id,
            approved_by_id=actor.id,
        )
        correction.event_id = _append_event(actor, founder, event).id
    correction.state = CorrectionState.APPROVED if approve else CorrectionState.REJECTED
    correction.decided_at = utcnow()
    correction.decided_by_id = actor.id
    correction.decision_note = clean_note
    db.session.flush()
    after = changed_fields(before, snapshot(correction))
    record_audit(
        actor,
        "integrity.correction.approve" if approve else "integrity.correction.reject",
        correction,
        {key: before.get(key) for key in after},
        after,
        region_code=founder.region_code,
    )
    return correction
