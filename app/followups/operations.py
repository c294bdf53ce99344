"""Follow-up work: completing tasks, contact attempts, the intake service package,
assignment, fund-misuse decisions and founders' self-reports (SPEC §11).

Rules decided here:

- Staff complete and work the tasks of their area (every kind), officers only the
  `loan_usage` tasks of theirs; administrators only read. Done and cancelled tasks take
  no more work (409); a missed task may still be completed late (it becomes done: the
  founder was reached again).
- Completing records what was found on the task and, as observations, where the KPIs read
  them: business status, employees and monthly revenue become a business observation
  (source `followup`, through `businesses.operations.record_observation`, whose history
  rules apply: its field names are mapped to ours, `status` -> `business_status`,
  `observed_on` -> `done_on`); an employment status becomes a founder employment
  observation. `business` and `incubation_exit` tasks require the business status,
  `post_training` the employment status, `loan_usage` whether the money was used as
  declared (false waits as a pending misuse finding for an officer).
- done_on lies between the subject's start (registration, opening, disbursement, end of
  residency) and today; staff channels are phone, visit and other — `self_report` is the
  founder's own path (`complete_by_self_report`).
- The intake package is one career guidance, three leads and one training offer, recorded
  item by item; an item beyond the package is 409; the task is done the moment the package
  is complete (done_on = the latest item's day). Completing it by hand with the package
  incomplete is 422 on `services`, naming what is missing.
- Every change is audited under the task's region; the founder's lost flag is recomputed
  after every completion.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.core.audit import record_audit, snapshot
from app.core.db import MAX_ID, utcnow
from app.core.errors import Conflict, PermissionDenied, ValidationFailed
from app.core.permissions import Role
from app.core.validators import contains_nul
from app.extensions import db
from app.followups.models import (
    Channel,
    Employment,
    EmploymentObservation,
    EmploymentSource,
    FollowupAttempt,
    FollowupServiceItem,
    FollowupTask,
    MisuseState,
    ServiceItem,
    SubjectType,
    TaskKind,
    TaskStatus,
)
from app.followups.queries import (
    SERVICE_PACKAGE,
    find_self_report_task,
    get_subject,
    is_observation_linked,
    is_task_in_scope,
    missing_services,
    service_item_counts,
)
from app.founders.models import Founder

MAX_NOTE = 1000
MAX_DETAIL = 500
STAFF_CHANNELS = (Channel.PHONE, Channel.VISIT, Channel.OTHER)
WORKABLE = (TaskStatus.OPEN, TaskStatus.MISSED)
BUSINESS_FINDINGS = ("business_status", "employees", "monthly_revenue")
# record_observation names its fields after the observation; the task form after SPEC §14.
_OBSERVATION_FIELD_NAMES = {"status": "business_status", "observed_on": "done_on"}


# What a Conflict says when an item of the intake package is recorded a second time.
PACKAGE_FULL = {
    ServiceItem.CAREER_GUIDANCE: _l("The package already has its career guidance."),
    ServiceItem.LEAD: _l("The package already has its three project or job leads."),
    ServiceItem.TRAINING_OFFER: _l("The package already has its training offer."),
}


# Shared checks --------------------------------------------------------------------------
def _require_worker(actor: Any, task: FollowupTask) -> None:
    """Staff work every kind, officers loan_usage only; the task must be in their area."""
    role = getattr(actor, "role", None)
    if role not in (Role.STAFF, Role.OFFICER):
        raise PermissionDenied(_("Only centre staff and officers work follow-ups."))
    if role == Role.OFFICER and task.kind != TaskKind.LOAN_USAGE:
        raise PermissionDenied(_("Officers work the loan usage follow-ups only."))
    if not is_task_in_scope(actor, task.id):
        raise PermissionDenied(_("This follow-up is outside your area."))


def _lock(task: FollowupTask) -> None:
    """Hold the task row until commit and reload it, so two people completing at once
    give one completion."""
    db.session.flush()
    db.session.execute(select(FollowupTask.id).where(FollowupTask.id == task.id).with_for_update())
    db.session.refresh(task)


def _require_workable(task: FollowupTask) -> None:
    if task.status == TaskStatus.DONE:
        raise Conflict(_("This follow-up is already done."))
    if task.status == TaskStatus.CANCELLED:
        raise Conflict(_("This follow-up was cancelled: its subject has ended."))


def earliest_day(task: FollowupTask) -> date | None:
    """The first day work on the task can be dated: the start of its subject."""
    subject = get_subject(task)
    if subject is None:
        return None
    kind = SubjectType(task.subject_type)
    if kind is SubjectType.FOUNDER:
        return subject.registered_on
    if kind is SubjectType.BUSINESS:
        return subject.opened_on
    if kind is SubjectType.LOAN:
        return subject.disbursed_on or subject.applied_on
    return subject.ends_on or subject.starts_on


def _day_errors(value: Any, task: FollowupTask, *, as_of: date, what: str) -> list[str]:
    if not isinstance(value, date):
        return [_("Enter the day.")]
    if value > as_of:
        return [_("The day cannot be in the future.")]
    earliest = earliest_day(task)
    if earliest is not None and value < earliest:
        return [
            _(
                "The %(what)s cannot be before %(day)s, when this follow-up's subject began.",
                what=what,
                day=earliest.isoformat(),
            )
        ]
    return []


def _channel_errors(value: Any) -> list[str]:
    if value == Channel.SELF_REPORT:
        return [_("Self-reports come from the founder; choose phone, visit or other.")]
    if value not in {channel.value for channel in STAFF_CHANNELS}:
        return [_("Choose phone, visit or other.")]
    return []


def _clean_text(value: Any, *, limit: int) -> tuple[str, list[str]]:
    if value is None:
        return "", []
    if not isinstance(value, str):
        return "", [_("Expected text.")]
    value = value.strip()
    if len(value) > limit:
        return "", [_("Use at most %(n)s characters.", n=limit)]
    if contains_nul(value):
        return "", [_("Contains a character that is not allowed.")]
    return value, []


def _refresh_lost_flag(founder_id: int) -> None:
    # Imported here: standing reads every feature's tasks and is written beside this module.
    from app.followups.standing import refresh_lost_flags

    db.session.flush()
    refresh_lost_flags([founder_id])


def _audit(actor: Any, action: str, task: FollowupTask, before: Any, after: Any) -> None:
    record_audit(actor, action, task, before, after, region_code=task.region_code)


def _task_business(task: FollowupTask) -> Any:
    """The business a task's findings are about, if any."""
    subject = get_subject(task)
    if subject is None:
        return None
    kind = SubjectType(task.subject_type)
    if kind is SubjectType.BUSINESS:
        return subject
    if kind is SubjectType.RESIDENCY:
        return subject.business
    if kind is SubjectType.LOAN and subject.business_id is not None:
        from app.businesses.models import Business

        return db.session.get(Business, subject.business_id)
    return None


# Completing -----------------------------------------------------------------------------
def _findings_errors(task: FollowupTask, values: dict[str, Any]) -> dict[str, list[str]]:
    """What the kind of task requires, and values of the wrong kind."""
    errors: dict[str, list[str]] = {}
    kind = TaskKind(task.kind)
    required = _("This field is required.")
    status = values.get("business_status")
    if kind in (TaskKind.BUSINESS, TaskKind.INCUBATION_EXIT) and not status:
        errors["business_status"] = [required]
    employment = values.get("employment")
    if employment is not None and employment not in {e.value for e in Employment}:
        errors["employment"] = [_("Choose self-employed, employed or unemployed.")]
    elif kind is TaskKind.POST_TRAINING and not employment:
        errors["employment"] = [required]
    fund_usage_ok = values.get("fund_usage_ok")
    if kind is TaskKind.LOAN_USAGE:
        if not isinstance(fund_usage_ok, bool):
            errors["fund_usage_ok"] = [_("Say whether the money is used as declared.")]
    elif fund_usage_ok is not None:
        errors["fund_usage_ok"] = [_("Only loan usage follow-ups check the use of funds.")]
    gives_business = any(values.get(name) not in (None, "") for name in BUSINESS_FINDINGS)
    if gives_business and _task_business(task) is None:
        name = next(n for n in BUSINESS_FINDINGS if values.get(n) not in (None, ""))
        errors.setdefault(name, []).append(_("This follow-up is not about a business."))
    elif gives_business and not status:
        errors.setdefault("business_status", [required])
    return errors


def _record_business_finding(
    actor: Any, task: FollowupTask, values: dict[str, Any], *, as_of: date
) -> Any:
    """The business part of the findings, as an observation with source followup."""
    from app.businesses import operations as business_operations

    business = _task_business(task)
    observation_values = {
        "observed_on": values["done_on"],
        "status": values["business_status"],
        "employees": values.get("employees"),
        "monthly_revenue": values.get("monthly_revenue"),
        "note": values.get("note") or "",
    }
    try:
        return business_operations.record_observation(
            actor, business, observation_values, as_of=as_of, source="followup"
        )
    except ValidationFailed as error:
        raise ValidationFailed(
            {_OBSERVATION_FIELD_NAMES.get(name, name): msgs for name, msgs in error.errors.items()}
        ) from None
    except PermissionDenied:
        raise ValidationFailed.single(
            "business_status",
            _("Only centre staff record a business's status; leave it empty."),
        ) from None


def _record_employment(
    actor: Any,
    founder_id: int,
    *,
    observed_on: date,
    employment: str,
    source: EmploymentSource,
    task: FollowupTask | None,
    note: str,
) -> EmploymentObservation:
    observation = EmploymentObservation(
        founder_id=founder_id,
        observed_on=observed_on,
        employment=employment,
        source=source,
        task_id=task.id if task is not None else None,
        note=note,
        recorded_by_id=getattr(actor, "id", None),
    )
    db.session.add(observation)
    db.session.flush()
    founder = db.session.get(Founder, founder_id)
    record_audit(
        actor,
        "employment.create",
        observation,
        None,
        snapshot(observation),
        region_code=founder.region_code if founder is not None else None,
    )
    return observation


def _mark_done(task: FollowupTask, *, actor: Any, done_on: date, channel: str) -> None:
    task.status = TaskStatus.DONE
    task.done_on = done_on
    task.closed_on = done_on
    task.channel = channel
    task.completed_by_id = getattr(actor, "id", None)


def complete_task(
    actor: Any, task: FollowupTask, values: dict[str, Any], *, as_of: date
) -> FollowupTask:
    """Staff (or an officer, for loan usage) record what a follow-up found; the task is
    done and the findings become observations. `values`: done_on, channel, note and, by
    kind, business_status, employees, monthly_revenue, employment, fund_usage_ok; for the
    intake package optionally `services`, items delivered on done_on."""
    _require_worker(actor, task)
    _lock(task)
    _require_workable(task)
    errors: dict[str, list[str]] = {}
    if day_errors := _day_errors(values.get("done_on"), task, as_of=as_of, what=_("follow-up")):
        errors["done_on"] = day_errors
    if channel_errors := _channel_errors(values.get("channel")):
        errors["channel"] = channel_errors
    note, note_errors = _clean_text(values.get("note"), limit=MAX_NOTE)
    if note_errors:
        errors["note"] = note_errors
    errors |= {k: v for k, v in _findings_errors(task, values).items() if k not in errors}
    services = values.get("services") or []
    if services and task.kind != TaskKind.INTAKE_SERVICES:
        errors["services"] = [_("Only the intake services follow-up records service items.")]
    if errors:
        raise ValidationFailed(errors)

    before = snapshot(task)
    done_on: date = values["done_on"]
    if task.kind == TaskKind.INTAKE_SERVICES:
        for item in services:
            _add_service_item(actor, task, item=item, detail="", provided_on=done_on)
        missing = missing_services(task.id)
        if missing:
            raise ValidationFailed.single("services", _missing_message(missing))
    observation = None
    if values.get("business_status"):
        observation = _record_business_finding(actor, task, values | {"note": note}, as_of=as_of)
    employment = values.get("employment")
    if employment:
        _record_employment(
            actor,
            task.founder_id,
            observed_on=done_on,
            employment=employment,
            source=EmploymentSource.FOLLOWUP,
            task=task,
            note=note,
        )
    _mark_done(task, actor=actor, done_on=done_on, channel=values["channel"])
    task.note = note
    if observation is not None:
        task.observation_id = observation.id
        task.business_status = observation.status
        task.employees = observation.employees
        task.monthly_revenue = observation.monthly_revenue
    task.employment = employment or None
    if task.kind == TaskKind.LOAN_USAGE:
        task.fund_usage_ok = values["fund_usage_ok"]
        task.misuse_state = None if task.fund_usage_ok else MisuseState.PENDING
    db.session.flush()
    _audit(actor, "followup.complete", task, before, snapshot(task))
    _refresh_lost_flag(task.founder_id)
    return task


def _missing_message(missing: dict[str, int]) -> str:
    labels = {
        ServiceItem.CAREER_GUIDANCE: _("career guidance"),
        ServiceItem.LEAD: _("project or job leads"),
        ServiceItem.TRAINING_OFFER: _("training offer"),
    }
    parts = ", ".join(f"{count} × {labels[ServiceItem(item)]}" for item, count in missing.items())
    return _("The service package is not complete; still missing: %(items)s.", items=parts)


# Attempts -------------------------------------------------------------------------------
def record_attempt(
    actor: Any, task: FollowupTask, values: dict[str, Any], *, as_of: date
) -> FollowupAttempt:
    """A contact attempt that reached nobody: recorded on the task, which stays open."""
    _require_worker(actor, task)
    _lock(task)
    _require_workable(task)
    errors: dict[str, list[str]] = {}
    attempted_on = values.get("attempted_on")
    if day_errors := _day_errors(attempted_on, task, as_of=as_of, what=_("attempt")):
        errors["attempted_on"] = day_errors
    if channel_errors := _channel_errors(values.get("channel")):
        errors["channel"] = channel_errors
    note, note_errors = _clean_text(values.get("note"), limit=MAX_NOTE)
    if note_errors:
        errors["note"] = note_errors
    if errors:
        raise ValidationFailed(errors)
    attempt = FollowupAttempt(
        task_id=task.id,
        attempted_on=attempted_on,
        channel=values["channel"],
        note=note,
        recorded_by_id=getattr(actor, "id", None),
    )
    db.session.add(attempt)
    db.session.flush()
    record_audit(
        actor, "followup.attempt", attempt, None, snapshot(attempt), region_code=task.region_code
    )
    return attempt


# The intake service package -------------------------------------------------------------
def _add_service_item(
    actor: Any, task: FollowupTask, *, item: str, detail: str, provided_on: date
) -> FollowupServiceItem:
    if item not in SERVICE_PACKAGE:
        raise ValidationFailed.single(
            "services", _("Choose career guidance, a lead or a training offer.")
        )
    if service_item_counts(task.id).get(item, 0) >= SERVICE_PACKAGE[item]:
        raise Conflict(str(PACKAGE_FULL[ServiceItem(item)]))
    service = FollowupServiceItem(
        task_id=task.id,
        item=item,
        detail=detail,
        provided_on=provided_on,
        recorded_by_id=getattr(actor, "id", None),
    )
    db.session.add(service)
    db.session.flush()
    record_audit(
        actor, "followup.service", service, None, snapshot(service), region_code=task.region_code
    )
    return service


def record_service_item(
    actor: Any, task: FollowupTask, values: dict[str, Any], *, as_of: date
) -> FollowupServiceItem:
    """One item of the intake package delivered; the task is done when the package is
    complete (done_on the latest item's day, channel the one given with this item)."""
    _require_worker(actor, task)
    _lock(task)
    if task.kind != TaskKind.INTAKE_SERVICES:
        raise Conflict(_("Only the intake services follow-up records service items."))
    _require_workable(task)
    errors: dict[str, list[str]] = {}
    item = values.get("item")
    if item not in SERVICE_PACKAGE:
        errors["item"] = [_("Choose career guidance, a lead or a training offer.")]
    provided_on = values.get("provided_on")
    if day_errors := _day_errors(provided_on, task, as_of=as_of, what=_("service")):
        errors["provided_on"] = day_errors
    if channel_errors := _channel_errors(values.get("channel")):
        errors["channel"] = channel_errors
    detail, detail_errors = _clean_text(values.get("detail"), limit=MAX_DETAIL)
    if detail_errors:
        errors["detail"] = detail_errors
    if errors:
        raise ValidationFailed(errors)
    service = _add_service_item(actor, task, item=item, detail=detail, provided_on=provided_on)
    if not missing_services(task.id):
        before = snapshot(task)
        latest = db.session.scalar(
            select(FollowupServiceItem.provided_on)
            .where(FollowupServiceItem.task_id == task.id)
            .order_by(FollowupServiceItem.provided_on.desc())
            .limit(1)
        )
        _mark_done(task, actor=actor, done_on=latest or provided_on, channel=values["channel"])
        db.session.flush()
        _audit(actor, "followup.complete", task, before, snapshot(task))
        _refresh_lost_flag(task.founder_id)
    return service


# Assignment -----------------------------------------------------------------------------
def assign_task(actor: Any, task: FollowupTask, assignee_id: int | None) -> FollowupTask:
    """Give the task to a colleague (or to nobody): staff, or an officer for loan usage,
    who has the task in their area."""
    from app.auth.models import User

    _require_worker(actor, task)
    _lock(task)
    if task.status in (TaskStatus.DONE, TaskStatus.CANCELLED):
        _require_workable(task)
    assignee = None
    if assignee_id is not None:
        valid_id = isinstance(assignee_id, int) and 1 <= assignee_id <= MAX_ID
        assignee = db.session.get(User, assignee_id) if valid_id else None
        allowed_roles = (
            (Role.STAFF, Role.OFFICER) if task.kind == TaskKind.LOAN_USAGE else (Role.STAFF,)
        )
        if (
            assignee is None
            or not assignee.active
            or assignee.role not in allowed_roles
            or not is_task_in_scope(assignee, task.id)
        ):
            raise ValidationFailed.single(
                "assignee_id", _("Choose a colleague whose area includes this follow-up.")
            )
    if task.assignee_id == assignee_id:
        return task
    before = {"assignee_id": task.assignee_id}
    task.assignee_id = assignee_id
    db.session.flush()
    _audit(actor, "followup.assign", task, before, {"assignee_id": assignee_id})
    return task


# Fund misuse ----------------------------------------------------------------------------
def _decide_misuse(actor: Any, task: FollowupTask, note: Any, *, confirm: bool) -> None:
    if getattr(actor, "role", None) != Role.OFFICER:
        raise PermissionDenied(_("Only loan guarantee officers decide on fund misuse."))
    if not is_task_in_scope(actor, task.id):
        raise PermissionDenied(_("This follow-up is outside your area."))
    _lock(task)
    if task.misuse_state != MisuseState.PENDING:
        raise Conflict(_("There is no misuse finding waiting on this follow-up."))
    text, errors = _clean_text(note, limit=MAX_NOTE)
    if errors:
        raise ValidationFailed({"note": errors})
    before = {"misuse_state": task.misuse_state}
    if confirm:
        from app.integrity.models import EventKind, EventSource
        from app.integrity.operations import record_event

        event = record_event(
            task.founder_id,
            EventKind.FUND_MISUSE,
            occurred_on=task.done_on or task.due_on,
            source=EventSource.FOLLOWUP,
            note=text or _("A follow-up found the loan money used for another purpose."),
            actor=actor,
            loan_id=task.subject_id,
            once_key=f"fund_misuse:task:{task.id}",
        )
        if event is None:
            raise Conflict(_("This misuse was already recorded in the integrity file."))
    task.misuse_state = MisuseState.CONFIRMED if confirm else MisuseState.DISMISSED
    task.misuse_decided_by_id = actor.id
    task.misuse_decided_at = utcnow()
    db.session.flush()
    _audit(
        actor,
        "followup.misuse_confirm" if confirm else "followup.misuse_dismiss",
        task,
        before,
        {"misuse_state": task.misuse_state, "note": text},
    )


def confirm_misuse(actor: Any, task: FollowupTask, note: Any = "") -> None:
    """An officer confirms a follow-up's misuse finding: a fund_misuse integrity event
    (source follow-up), made once per task."""
    _decide_misuse(actor, task, note, confirm=True)


def dismiss_misuse(actor: Any, task: FollowupTask, note: Any = "") -> None:
    """An officer dismisses a follow-up's misuse finding; nothing enters the file."""
    _decide_misuse(actor, task, note, confirm=False)


# Self-reports ---------------------------------------------------------------------------
def complete_by_self_report(
    *,
    founder_id: int,
    observed_on: date,
    business_id: int | None,
    observation_id: int | None,
    actor: Any,
) -> FollowupTask | None:
    """A founder's own report completes the open `business` task of that business (else a
    `post_training` task of the founder) due within 30 days of the report, nearest first:
    channel self_report, done on the report's day, the observation linked. None when no
    task is near, or when this observation already completed one."""
    if observation_id is not None and is_observation_linked(observation_id):
        return None
    task = find_self_report_task(
        founder_id=founder_id, business_id=business_id, observed_on=observed_on
    )
    if task is None:
        return None
    _lock(task)
    if task.status != TaskStatus.OPEN:
        return None
    before = snapshot(task)
    _mark_done(task, actor=actor, done_on=observed_on, channel=Channel.SELF_REPORT)
    task.observation_id = observation_id
    if observation_id is not None:
        from app.businesses.models import Observation

        observation = db.session.get(Observation, observation_id)
        if observation is not None:
            task.business_status = observation.status
            task.employees = observation.employees
            task.monthly_revenue = observation.monthly_revenue
    db.session.flush()
    _audit(actor, "followup.self_report", task, before, snapshot(task))
    _refresh_lost_flag(founder_id)
    return task


def record_employment_self_report(
    actor: Any, values: dict[str, Any], *, as_of: date
) -> tuple[EmploymentObservation, FollowupTask | None]:
    """A founder says how they work now; it may complete a post-training follow-up."""
    if getattr(actor, "role", None) != Role.FOUNDER or actor.founder_id is None:
        raise PermissionDenied(_("Only founders report their own work situation."))
    errors: dict[str, list[str]] = {}
    observed_on = values.get("observed_on") or as_of
    if not isinstance(observed_on, date) or observed_on > as_of:
        errors["observed_on"] = [_("The day cannot be in the future.")]
    employment = values.get("employment")
    if employment not in {e.value for e in Employment}:
        errors["employment"] = [_("Choose self-employed, employed or unemployed.")]
    note, note_errors = _clean_text(values.get("note"), limit=MAX_NOTE)
    if note_errors:
        errors["note"] = note_errors
    if errors:
        raise ValidationFailed(errors)
    observation = _record_employment(
        actor,
        actor.founder_id,
        observed_on=observed_on,
        employment=employment,
        source=EmploymentSource.FOUNDER,
        task=None,
        note=note,
    )
    task = complete_by_self_report(
        founder_id=actor.founder_id,
        observed_on=observed_on,
        business_id=None,
        observation_id=None,
        actor=actor,
    )
    if task is not None:
        task.employment = employment
        observation.task_id = task.id
        db.session.flush()
    return observation, task
