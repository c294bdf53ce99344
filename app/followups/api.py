"""JSON API for follow-ups (SPEC §11, §14): the work queue, a task, completing it,
attempts, the intake package, assignment and officers' misuse decisions.

Staff read and work their area's tasks, officers its loan_usage tasks, administrators read
every task; a task outside the caller's scope is 404.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from flask_login import current_user

from app.core.api import (
    api_endpoint,
    json_response,
    read_json_form,
    read_query_form,
    validate_or_raise,
)
from app.core.dates import today_in_china
from app.core.pagination import page_envelope, paginate_rows, read_page_request
from app.core.permissions import Permission, permission_required
from app.extensions import db
from app.followups import operations
from app.followups.answers import (
    ATTEMPT_SCHEMA,
    SERVICE_SCHEMA,
    TASK_DETAIL_SCHEMA,
    TASK_SCHEMA,
    attempt_json,
    row_json,
    service_json,
    task_detail_json,
    task_json,
)
from app.followups.forms import (
    AssignForm,
    AttemptForm,
    CompletionForm,
    MisuseDecisionForm,
    ServiceItemForm,
    TaskFilterForm,
    completion_values,
)
from app.followups.queries import TaskFilters, get_task_in_scope, queue_stmt

followups_api_bp = Blueprint("followups_api", __name__, url_prefix="/api/v1/followups")


@followups_api_bp.get("")
@permission_required(Permission.FOLLOWUPS_READ)
@api_endpoint(
    "Follow-up tasks of the caller's area (officers: loan_usage only), earliest due first; "
    "filters status, kind, due_before (exclusive), region_code, assignee (me, unassigned "
    "or a user id), founder_id",
    query=TaskFilterForm,
    response=TASK_SCHEMA,
    paginated=True,
)
def list_tasks() -> Any:
    """The queue as JSON."""
    form = read_query_form(TaskFilterForm)
    filters = TaskFilters(
        kind=form.kind.data or None,
        status=form.status.data or None,
        due_before=form.due_before.data,
        region_code=form.region_code.data or None,
        assignee=form.assignee.data or None,
        founder_id=form.founder_id.data,
    )
    stmt = queue_stmt(current_user, filters, as_of=today_in_china())
    pagination = paginate_rows(stmt, read_page_request(request.args))
    return json_response(page_envelope(pagination, row_json))


@followups_api_bp.get("/<id:task_id>")
@permission_required(Permission.FOLLOWUPS_READ)
@api_endpoint(
    "A follow-up task with its contact attempts and, for intake services, the package",
    response=TASK_DETAIL_SCHEMA,
    errors=(404,),
)
def get_task(task_id: int) -> Any:
    """One task in scope."""
    return json_response(task_detail_json(get_task_in_scope(current_user, task_id)))


@followups_api_bp.post("/<id:task_id>/complete")
@permission_required(Permission.FOLLOWUPS_MANAGE)
@api_endpoint(
    "Complete a task with what was found: business_status, employees, monthly_revenue "
    "(business, incubation_exit; loan_usage of a loan with a business), employment "
    "(required after training), fund_usage_ok (required for loan_usage; false waits for an "
    "officer), services (intake services: items delivered on done_on; 422 while the package "
    "is incomplete). A missed task may be completed late; done or cancelled is 409",
    form=CompletionForm,
    response=TASK_SCHEMA,
    errors=(403, 404, 409),
)
def complete(task_id: int) -> Any:
    """Staff (officers: loan usage) complete a task."""
    task = get_task_in_scope(current_user, task_id)
    form = read_json_form(CompletionForm)
    validate_or_raise(form)
    operations.complete_task(current_user, task, completion_values(form), as_of=today_in_china())
    db.session.commit()
    return json_response(task_json(task))


@followups_api_bp.post("/<id:task_id>/attempts")
@permission_required(Permission.FOLLOWUPS_MANAGE)
@api_endpoint(
    "Record a contact attempt that reached nobody; the task stays open",
    form=AttemptForm,
    response=ATTEMPT_SCHEMA,
    status=201,
    errors=(403, 404, 409),
)
def create_attempt(task_id: int) -> Any:
    """An attempt on a task in scope."""
    task = get_task_in_scope(current_user, task_id)
    form = read_json_form(AttemptForm)
    validate_or_raise(form)
    attempt = operations.record_attempt(
        current_user,
        task,
        {
            "attempted_on": form.attempted_on.data,
            "channel": form.channel.data,
            "note": form.note.data,
        },
        as_of=today_in_china(),
    )
    db.session.commit()
    return json_response(attempt_json(attempt), 201)


@followups_api_bp.post("/<id:task_id>/services")
@permission_required(Permission.FOLLOWUPS_MANAGE)
@api_endpoint(
    "Record one item of the intake package (1 career_guidance, 3 lead, 1 training_offer; "
    "409 beyond); the task is done when the package is complete",
    form=ServiceItemForm,
    response=SERVICE_SCHEMA,
    status=201,
    errors=(403, 404, 409),
)
def create_service(task_id: int) -> Any:
    """A service item on an intake services task in scope."""
    task = get_task_in_scope(current_user, task_id)
    form = read_json_form(ServiceItemForm)
    validate_or_raise(form)
    service = operations.record_service_item(
        current_user,
        task,
        {
            "item": form.item.data,
            "detail": form.detail.data,
            "provided_on": form.provided_on.data,
            "channel": form.channel.data,
        },
        as_of=today_in_china(),
    )
    db.session.commit()
    return json_response(service_json(service), 201)


@followups_api_bp.post("/<id:task_id>/assign")
@permission_required(Permission.FOLLOWUPS_MANAGE)
@api_endpoint(
    "Assign the task to a colleague whose area includes it (null: to nobody)",
    form=AssignForm,
    response=TASK_SCHEMA,
    errors=(403, 404, 409),
)
def assign(task_id: int) -> Any:
    """Give a task to someone."""
    task = get_task_in_scope(current_user, task_id)
    form = read_json_form(AssignForm)
    validate_or_raise(form)
    operations.assign_task(current_user, task, form.assignee_id.data)
    db.session.commit()
    return json_response(task_json(task))


@followups_api_bp.post("/<id:task_id>/misuse")
@permission_required(Permission.INTEGRITY_WRITE)
@api_endpoint(
    "An officer confirms (a fund_misuse integrity event, once) or dismisses a loan usage "
    "follow-up's misuse finding; 409 when none is pending",
    form=MisuseDecisionForm,
    response=TASK_SCHEMA,
    errors=(404, 409),
)
def decide_misuse(task_id: int) -> Any:
    """Confirm or dismiss a pending misuse finding."""
    task = get_task_in_scope(current_user, task_id)
    form = read_json_form(MisuseDecisionForm)
    validate_or_raise(form)
    if form.decision.data == "confirm":
        operations.confirm_misuse(current_user, task, form.note.data)
    else:
        operations.dismiss_misuse(current_user, task, form.note.data)
    db.session.commit()
    return json_response(task_json(task))
