"""Pages: integrity files, corrections awaiting a second officer, the points table.

Officers read and keep the files of their area (administrators read every file, and set
the points table); a founder reads their own file on their phone at /integrity/me.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.core.dates import today_in_china
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.core.forms import NO_CHOICE, show_form_errors
from app.core.pagination import paginate, read_page_request_or_first
from app.core.permissions import Permission, has_permission, permission_required
from app.core.security import safe_next_url
from app.extensions import db
from app.founders.models import Founder
from app.integrity import operations
from app.integrity.forms import (
    KIND_EXPLANATIONS,
    KIND_LABELS,
    SOURCE_LABELS,
    STATE_LABELS,
    CorrectionFilterForm,
    CorrectionForm,
    DecisionForm,
    ManualEventForm,
    PointsForm,
    RejectionForm,
)
from app.integrity.models import DEFAULT_POINTS, CorrectionState, EventKind, IntegrityEvent
from app.integrity.points import current_points, set_points
from app.integrity.queries import (
    count_pending_corrections,
    get_correction_in_scope,
    get_founder_for_integrity,
    get_integrity_standing,
    list_corrections_stmt,
    list_events,
    list_pending_corrections,
    user_names,
)

integrity_bp = Blueprint("integrity", __name__, url_prefix="/integrity")

GRADE_STYLES = {"A": "success", "B": "primary", "C": "warning", "D": "danger"}


@integrity_bp.app_context_processor
def integrity_labels() -> dict[str, Any]:
    """Labels of event kinds, sources and correction states, for every template."""
    return {
        "integrity_kind_label": lambda code: KIND_LABELS.get(code, code or ""),
        "integrity_kind_explanation": lambda code: KIND_EXPLANATIONS.get(code, ""),
        "integrity_source_label": lambda code: SOURCE_LABELS.get(code, code or ""),
        "correction_state_label": lambda code: STATE_LABELS.get(code, code or ""),
        "grade_style": lambda grade: GRADE_STYLES.get(grade, "secondary"),
    }


def _event_choice_label(event: IntegrityEvent) -> str:
    label = KIND_LABELS.get(event.kind, event.kind)
    return f"#{event.id} · {event.occurred_on} · {label} ({event.points:+d})"


def _correction_form(events: list[IntegrityEvent], *, submitted: bool = False) -> CorrectionForm:
    form = CorrectionForm() if submitted else CorrectionForm(formdata=None)
    form.corrects_event_id.choices = [
        NO_CHOICE,
        *((str(event.id), _event_choice_label(event)) for event in events),
    ]
    return form


def _render_file(
    founder: Founder,
    *,
    event_form: ManualEventForm | None = None,
    correction_form: CorrectionForm | None = None,
    status: int = 200,
) -> Any:
    events = list_events(founder.id)
    pending = list_pending_corrections(current_user, founder.id)
    names = user_names(
        [event.recorded_by_id for event in events]
        + [correction.proposed_by_id for correction in pending]
    )
    blank_event_form = ManualEventForm(formdata=None, data={"occurred_on": today_in_china()})
    return render_template(
        "integrity/founder.html",
        founder=founder,
        standing=get_integrity_standing(founder.id),
        events=events,
        pending=pending,
        names=names,
        may_write=has_permission(current_user, Permission.INTEGRITY_WRITE),
        event_form=event_form or blank_event_form,
        correction_form=correction_form or _correction_form(events),
    ), status


@integrity_bp.get("/founders/<id:founder_id>")
@permission_required(Permission.INTEGRITY_READ)
def founder_file(founder_id: int) -> Any:
    """A founder's file for officers: standing, events with reasons, pending corrections,
    and the forms to record an event or propose a correction."""
    return _render_file(get_founder_for_integrity(current_user, founder_id))


@integrity_bp.post("/founders/<id:founder_id>/events")
@permission_required(Permission.INTEGRITY_WRITE)
def record_event(founder_id: int) -> Any:
    """An officer records integrity education, false information or fund misuse."""
    founder = get_founder_for_integrity(current_user, founder_id)
    form = ManualEventForm()
    if form.validate_on_submit():
        try:
            event = operations.record_manual_event(
                current_user,
                founder,
                form.kind.data,
                occurred_on=form.occurred_on.data,
                note=form.note.data,
                as_of=today_in_china(),
            )
        except ValidationFailed as error:
            db.session.rollback()
            show_form_errors(form, error)
        else:
            db.session.commit()
            flash(
                _(
                    "%(kind)s recorded (%(points)+d points).",
                    kind=KIND_LABELS[EventKind(event.kind)],
                    points=event.points,
                ),
                "success",
            )
            return redirect(url_for("integrity.founder_file", founder_id=founder.id))
    founder = get_founder_for_integrity(current_user, founder_id)
    return _render_file(founder, event_form=form, status=422)


@integrity_bp.post("/founders/<id:founder_id>/corrections")
@permission_required(Permission.INTEGRITY_WRITE)
def propose_correction(founder_id: int) -> Any:
    """An officer proposes a correction; it counts once a second officer approves it."""
    founder = get_founder_for_integrity(current_user, founder_id)
    form = _correction_form(list_events(founder.id), submitted=True)
    status = 422
    if form.validate_on_submit():
        try:
            operations.propose_correction(
                current_user,
                founder,
                points=form.points.data,
                reason=form.note.data,
                corrects_event_id=form.corrects_event_id.data,
                as_of=today_in_china(),
            )
        except Conflict as error:
            db.session.rollback()
            flash(error.message, "danger")
            status = error.status_code
        except ValidationFailed as error:
            db.session.rollback()
            show_form_errors(form, error)
        else:
            db.session.commit()
            flash(_("Correction proposed. A second officer must approve it."), "success")
            return redirect(url_for("integrity.founder_file", founder_id=founder.id))
    founder = get_founder_for_integrity(current_user, founder_id)
    return _render_file(founder, correction_form=form, status=status)


# Corrections ---------------------------------------------------------------------------
@integrity_bp.get("/corrections")
@permission_required(Permission.INTEGRITY_READ)
def corrections() -> Any:
    """Corrections of the area: waiting for a second officer (oldest first), or decided."""
    filters = CorrectionFilterForm(request.args)
    state = filters.state.data if filters.validate() and filters.state.data else None
    state = state or CorrectionState.PENDING
    pagination = paginate(
        list_corrections_stmt(current_user, state), read_page_request_or_first(request.args)
    )
    items = list(pagination.items)
    names = user_names(user_id for c in items for user_id in (c.proposed_by_id, c.decided_by_id))
    return render_template(
        "integrity/corrections.html",
        state=state,
        pagination=pagination,
        names=names,
        pending_count=count_pending_corrections(current_user),
        may_write=has_permission(current_user, Permission.INTEGRITY_WRITE),
        decision_form=DecisionForm(formdata=None),
        rejection_form=RejectionForm(formdata=None),
    )


def _decide(correction_id: int, *, approve: bool) -> Any:
    correction = get_correction_in_scope(current_user, correction_id)
    form = DecisionForm() if approve else RejectionForm()
    if form.validate_on_submit():
        try:
            operations.decide_correction(
                current_user,
                correction,
                approve=approve,
                note=form.note.data,
                as_of=today_in_china(),
            )
        except (Conflict, PermissionDenied, ValidationFailed) as error:
            db.session.rollback()
            flash(error.message, "warning")
        else:
            db.session.commit()
            flash(
                _("Correction approved; it now counts in the file.")
                if approve
                else _("Correction rejected."),
                "success",
            )
    else:
        for messages in form.errors.values():
            for message in messages:
                flash(message, "danger")
    return redirect(safe_next_url(request.form.get("next")) or url_for("integrity.corrections"))


@integrity_bp.post("/corrections/<id:correction_id>/approve")
@permission_required(Permission.INTEGRITY_WRITE)
def approve_correction(correction_id: int) -> Any:
    """A second officer approves a correction: its event joins the founder's file."""
    return _decide(correction_id, approve=True)


@integrity_bp.post("/corrections/<id:correction_id>/reject")
@permission_required(Permission.INTEGRITY_WRITE)
def reject_correction(correction_id: int) -> Any:
    """A second officer rejects a correction, saying why."""
    return _decide(correction_id, approve=False)


# The points table ----------------------------------------------------------------------
def _render_points(
    *, failed_kind: str | None = None, failed_form: PointsForm | None = None, status: int = 200
) -> Any:
    table = current_points()
    forms = {
        kind: PointsForm(formdata=None, data={"points": points}) for kind, points in table.items()
    }
    if failed_kind is not None and failed_form is not None:
        forms[failed_kind] = failed_form
    return render_template(
        "integrity/points.html",
        table=table,
        defaults={kind.value: points for kind, points in DEFAULT_POINTS.items()},
        forms=forms,
        may_adjust=has_permission(current_user, Permission.POLICIES_MANAGE),
    ), status


@integrity_bp.get("/points")
@permission_required(Permission.INTEGRITY_READ, Permission.POLICIES_MANAGE, any_of=True)
def points() -> Any:
    """The points each kind of event gets; the administrator adjusts them here."""
    return _render_points()


@integrity_bp.post("/points/<kind>")
@permission_required(Permission.POLICIES_MANAGE)
def update_points(kind: str) -> Any:
    """The administrator sets the points future events of one kind get."""
    if kind not in {event_kind.value for event_kind in DEFAULT_POINTS}:
        raise NotFound(_("No such kind of integrity event."))
    form = PointsForm()
    if form.validate_on_submit():
        try:
            set_points(current_user, kind, form.points.data)
        except ValidationFailed as error:
            db.session.rollback()
            show_form_errors(form, error)
        else:
            db.session.commit()
            flash(
                _(
                    "%(kind)s: new events get %(points)+d points.",
                    kind=KIND_LABELS[EventKind(kind)],
                    points=form.points.data,
                ),
                "success",
            )
            return redirect(url_for("integrity.points"))
    return _render_points(failed_kind=kind, failed_form=form, status=422)


# The founder's own file ------------------------------------------------------------------
@integrity_bp.get("/me")
@permission_required(Permission.OWN_RECORDS_READ)
def my_file() -> Any:
    """The founder's own integrity file on their phone: score, grade, every event and why."""
    founder = get_founder_for_integrity(current_user, current_user.founder_id or 0)
    return render_template(
        "integrity/me.html",
        founder=founder,
        standing=get_integrity_standing(founder.id),
        events=list_events(founder.id),
    )
