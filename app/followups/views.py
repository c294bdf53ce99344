"""Pages: the work queue, a task with its forms, and the founder's status update.

Staff work their area's tasks (officers its loan usage tasks) from the queue: due today,
this week, overdue and missed, with the founder's phone one tap away. A founder answers
their own open follow-ups at /followups/me, on a phone.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from app.core.dates import today_in_china
from app.core.errors import Conflict, PermissionDenied, ValidationFailed
from app.core.forms import NO_CHOICE, show_form_errors, with_blank
from app.core.pagination import paginate_rows, read_page_request_or_first
from app.core.permissions import Permission, has_permission, permission_required
from app.core.security import safe_next_url
from app.extensions import db
from app.followups import operations
from app.followups.forms import (
    BUCKET_LABELS,
    BUSINESS_STATUS_LABELS,
    CHANNEL_LABELS,
    COMPLETION_FORMS,
    EMPLOYMENT_LABELS,
    KIND_LABELS,
    MISUSE_LABELS,
    SERVICE_LABELS,
    STATUS_LABELS,
    AssignSelectForm,
    AttemptForm,
    EmploymentReportForm,
    MisuseDecisionForm,
    QueueFilterForm,
    ServiceItemForm,
    completion_values,
)
from app.followups.models import FollowupTask, PlanUnit, TaskKind, TaskStatus
from app.followups.queries import (
    BUCKETS,
    SERVICE_PACKAGE,
    TaskFilters,
    bucket_counts,
    get_subject,
    get_task_in_scope,
    is_observation_linked,
    list_assignable_users,
    list_attempts,
    list_pending_misuse_of_loan,
    list_self_report_tasks,
    list_service_items,
    list_tasks_of_founder,
    list_tasks_of_subject,
    missing_services,
    offset_of,
    queue_stmt,
)
from app.regions.queries import region_choices_in_scope

followups_bp = Blueprint("followups", __name__, url_prefix="/followups")


def sequence_label(task: FollowupTask) -> str:
    """How far from its anchor the task is: "3-month", "day 1", "7 working days"."""
    unit, offset = offset_of(task.kind, task.sequence)
    if unit == PlanUnit.MONTHS:
        return _("%(n)s-month", n=offset)
    if unit == PlanUnit.WORKING_DAYS:
        return ngettext("%(num)s working day", "%(num)s working days", offset)
    return _("day %(n)s", n=offset)


def _readable(getter: Any) -> Any:
    """Template helpers read tasks only for users who may read follow-ups."""

    def read(*args: Any) -> list[FollowupTask]:
        if not has_permission(current_user, Permission.FOLLOWUPS_READ):
            return []
        return getter(current_user, *args)

    return read


@followups_bp.app_context_processor
def followup_helpers() -> dict[str, Any]:
    """Labels of follow-up values, and the task lists other features' pages show."""
    return {
        "followup_kind_label": lambda code: KIND_LABELS.get(code, code or ""),
        "followup_status_label": lambda code: STATUS_LABELS.get(code, code or ""),
        "followup_channel_label": lambda code: CHANNEL_LABELS.get(code, code or ""),
        "employment_label": lambda code: EMPLOYMENT_LABELS.get(code, code or ""),
        "service_item_label": lambda code: SERVICE_LABELS.get(code, code or ""),
        "misuse_state_label": lambda code: MISUSE_LABELS.get(code, code or ""),
        "followup_business_status_label": lambda code: BUSINESS_STATUS_LABELS.get(code, code or ""),
        "followup_sequence_label": sequence_label,
        "followup_tasks_of_founder": _readable(list_tasks_of_founder),
        "followup_tasks_of_subject": _readable(list_tasks_of_subject),
        "pending_misuse_of_loan": _readable(list_pending_misuse_of_loan),
    }


# The queue ------------------------------------------------------------------------------
def _queue_filters() -> tuple[QueueFilterForm, TaskFilters]:
    form = QueueFilterForm(request.args)
    form.region_code.choices = with_blank(region_choices_in_scope(current_user))
    if not form.validate():
        return form, TaskFilters()
    region = form.region_code.data
    allowed = {choice.value for choice in form.region_code.choices}
    return form, TaskFilters(
        kind=form.kind.data or None,
        assignee=form.assignee.data or None,
        region_code=region if region and region in allowed else None,
    )


@followups_bp.get("/")
@permission_required(Permission.FOLLOWUPS_READ)
def queue() -> Any:
    """The area's work queue: due today, this week, overdue, missed."""
    bucket = request.args.get("bucket", "today")
    bucket = bucket if bucket in BUCKETS else "today"
    form, filters = _queue_filters()
    as_of = today_in_china()
    stmt = queue_stmt(
        current_user, TaskFilters(**{**filters.__dict__, "bucket": bucket}), as_of=as_of
    )
    return render_template(
        "followups/queue.html",
        bucket=bucket,
        buckets=BUCKET_LABELS,
        counts=bucket_counts(current_user, filters, as_of=as_of),
        filters=form,
        pagination=paginate_rows(stmt, read_page_request_or_first(request.args)),
        may_manage=has_permission(current_user, Permission.FOLLOWUPS_MANAGE),
        assign_form=AssignSelectForm(formdata=None),
    )


# One task -------------------------------------------------------------------------------
def _assign_form(task: FollowupTask, *, submitted: bool = False) -> AssignSelectForm:
    form = AssignSelectForm() if submitted else AssignSelectForm(formdata=None)
    form.assignee_id.choices = [
        NO_CHOICE,
        *(
            SelectChoice(str(user.id), user.display_name or user.username)
            for user in list_assignable_users(task)
        ),
    ]
    if not submitted:
        form.assignee_id.data = task.assignee_id
    return form


def _render_task(task: FollowupTask, status: int = 200, **forms: Any) -> Any:
    today = today_in_china()
    completion_cls = COMPLETION_FORMS[TaskKind(task.kind)]
    return render_template(
        "followups/task.html",
        task=task,
        subject=get_subject(task),
        sequence=sequence_label(task),
        attempts=list_attempts(task.id),
        services=list_service_items(task.id),
        services_missing=missing_services(task.id),
        package=SERVICE_PACKAGE,
        is_workable=task.status in (TaskStatus.OPEN, TaskStatus.MISSED),
        may_manage=has_permission(current_user, Permission.FOLLOWUPS_MANAGE),
        may_decide_misuse=has_permission(current_user, Permission.INTEGRITY_WRITE),
        complete_form=forms.get("complete_form")
        or completion_cls(formdata=None, data={"done_on": today}),
        attempt_form=forms.get("attempt_form")
        or AttemptForm(formdata=None, data={"attempted_on": today}),
        service_form=forms.get("service_form")
        or ServiceItemForm(formdata=None, data={"provided_on": today}),
        assign_form=forms.get("assign_form") or _assign_form(task),
        misuse_form=forms.get("misuse_form") or MisuseDecisionForm(formdata=None),
    ), status


@followups_bp.get("/<id:task_id>")
@permission_required(Permission.FOLLOWUPS_READ)
def task_page(task_id: int) -> Any:
    """A task: its subject, attempts, service items and the forms to work it."""
    return _render_task(get_task_in_scope(current_user, task_id))


def _run(task_id: int, form: Any, form_name: str, action: Any, success: str) -> Any:
    """Validate `form`, run `action`, commit and go back to the task; otherwise show the
    task again with the errors (422) or the conflict (409)."""
    task = get_task_in_scope(current_user, task_id)
    status = 422
    if form.validate_on_submit():
        try:
            action(task, form)
        except ValidationFailed as error:
            db.session.rollback()
            show_form_errors(form, error)
        except (Conflict, PermissionDenied) as error:
            db.session.rollback()
            flash(error.message, "warning")
            status = error.status_code
        else:
            db.session.commit()
            flash(success, "success")
            return redirect(
                safe_next_url(request.form.get("next"))
                or url_for("followups.task_page", task_id=task.id)
            )
    task = get_task_in_scope(current_user, task_id)
    return _render_task(task, status, **{form_name: form})


@followups_bp.post("/<id:task_id>/complete")
@permission_required(Permission.FOLLOWUPS_MANAGE)
def complete(task_id: int) -> Any:
    """Record what the follow-up found; the task is done."""
    task = get_task_in_scope(current_user, task_id)
    form = COMPLETION_FORMS[TaskKind(task.kind)]()

    def action(task: FollowupTask, form: Any) -> None:
        operations.complete_task(
            current_user, task, completion_values(form), as_of=today_in_china()
        )

    return _run(task_id, form, "complete_form", action, _("Follow-up completed."))


@followups_bp.post("/<id:task_id>/attempts")
@permission_required(Permission.FOLLOWUPS_MANAGE)
def add_attempt(task_id: int) -> Any:
    """A call or visit that reached nobody; the task stays open."""

    def action(task: FollowupTask, form: AttemptForm) -> None:
        values = {
            "attempted_on": form.attempted_on.data,
            "channel": form.channel.data,
            "note": form.note.data,
        }
        operations.record_attempt(current_user, task, values, as_of=today_in_china())

    return _run(task_id, AttemptForm(), "attempt_form", action, _("Attempt recorded."))


@followups_bp.post("/<id:task_id>/services")
@permission_required(Permission.FOLLOWUPS_MANAGE)
def add_service(task_id: int) -> Any:
    """One item of the intake package delivered."""

    def action(task: FollowupTask, form: ServiceItemForm) -> None:
        values = {
            "item": form.item.data,
            "detail": form.detail.data,
            "provided_on": form.provided_on.data,
            "channel": form.channel.data,
        }
        operations.record_service_item(current_user, task, values, as_of=today_in_china())

    return _run(task_id, ServiceItemForm(), "service_form", action, _("Service recorded."))


@followups_bp.post("/<id:task_id>/assign")
@permission_required(Permission.FOLLOWUPS_MANAGE)
def assign(task_id: int) -> Any:
    """Give the task to a colleague (the queue's "assign to me" posts here too)."""
    task = get_task_in_scope(current_user, task_id)
    form = _assign_form(task, submitted=True)

    def action(task: FollowupTask, form: AssignSelectForm) -> None:
        operations.assign_task(current_user, task, form.assignee_id.data)

    return _run(task_id, form, "assign_form", action, _("Assignment saved."))


@followups_bp.post("/<id:task_id>/misuse")
@permission_required(Permission.INTEGRITY_WRITE)
def decide_misuse(task_id: int) -> Any:
    """An officer confirms or dismisses a misuse finding."""

    def action(task: FollowupTask, form: MisuseDecisionForm) -> None:
        if form.decision.data == "confirm":
            operations.confirm_misuse(current_user, task, form.note.data)
        else:
            operations.dismiss_misuse(current_user, task, form.note.data)

    return _run(task_id, MisuseDecisionForm(), "misuse_form", action, _("Decision recorded."))


# The founder's status update -------------------------------------------------------------
def _business_forms(tasks: list[FollowupTask]) -> dict[int, Any]:
    from app.businesses.forms import SelfReportForm

    forms = {}
    for task in tasks:
        if task.kind == TaskKind.BUSINESS and task.subject_id not in forms:
            business = get_subject(task)
            form = SelfReportForm(formdata=None, prefix=f"b{task.subject_id}")
            if business is not None:
                form.status.data = business.status if business.status != "closed" else None
                form.employees.data = business.employees
            forms[task.subject_id] = form
    return forms


def _render_status(status: int = 200, **overrides: Any) -> Any:
    tasks = list_self_report_tasks(current_user.founder_id or 0, as_of=today_in_china())
    business_forms = _business_forms(tasks) | overrides.get("business_forms", {})
    return render_template(
        "followups/me.html",
        tasks=tasks,
        subjects={task.id: get_subject(task) for task in tasks},
        business_forms=business_forms,
        employment_form=overrides.get("employment_form") or EmploymentReportForm(formdata=None),
        shows_employment=any(task.kind == TaskKind.POST_TRAINING for task in tasks),
    ), status


@followups_bp.get("/me")
@permission_required(Permission.OWN_BUSINESS_OBSERVE)
def my_status() -> Any:
    """The founder's open follow-ups they can answer themselves, on a phone."""
    return _render_status()


@followups_bp.post("/me/businesses/<id:business_id>")
@permission_required(Permission.OWN_BUSINESS_OBSERVE)
def report_business(business_id: int) -> Any:
    """The founder reports how their business is doing; a near follow-up is done."""
    from app.businesses import operations as business_operations
    from app.businesses.forms import SelfReportForm
    from app.businesses.queries import get_business_in_scope

    business = get_business_in_scope(current_user, business_id)
    form = SelfReportForm(prefix=f"b{business.id}")
    if form.validate_on_submit():
        as_of = today_in_china()
        closing = form.status.data == "closed"
        values = {
            "observed_on": as_of,
            "status": form.status.data,
            "employees": 0 if closing else form.employees.data,
            "monthly_revenue": form.monthly_revenue.data,
        }
        try:
            observation = business_operations.record_observation(
                current_user, business, values, as_of=as_of
            )
            # The businesses feature may already have completed the task from its own hook.
            if not is_observation_linked(observation.id):
                operations.complete_by_self_report(
                    founder_id=business.founder_id,
                    observed_on=observation.observed_on,
                    business_id=business.id,
                    observation_id=observation.id,
                    actor=current_user,
                )
        except (Conflict, ValidationFailed) as error:
            db.session.rollback()
            show_form_errors(form, error, field_name="status")
        else:
            db.session.commit()
            flash(_("Thank you. Your guidance centre will check your report."), "success")
            return redirect(url_for("followups.my_status"))
    return _render_status(422, business_forms={business_id: form})


@followups_bp.post("/me/employment")
@permission_required(Permission.OWN_BUSINESS_OBSERVE)
def report_employment() -> Any:
    """The founder says how they work now; a near after-training follow-up is done."""
    form = EmploymentReportForm()
    if form.validate_on_submit():
        try:
            operations.record_employment_self_report(
                current_user,
                {"employment": form.employment.data, "note": form.note.data},
                as_of=today_in_china(),
            )
        except ValidationFailed as error:
            db.session.rollback()
            show_form_errors(form, error)
        else:
            db.session.commit()
            flash(_("Thank you for letting us know."), "success")
            return redirect(url_for("followups.my_status"))
    return _render_status(422, employment_form=form)
