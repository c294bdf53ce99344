"""JSON API: run a scheduled job by hand, list the runs (administrators, SPEC §12, §14).

A run by hand runs now, inside the request, and answers the run record: 200 whether the
job succeeded or failed (`status` and `error` say which); 409 while the same job and date
is running elsewhere. It is audited.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
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
from app.core.pagination import page_envelope, paginate, read_page_request
from app.core.permissions import Permission, permission_required
from app.scheduler.forms import RunFilterForm, RunJobApiForm
from app.scheduler.models import JobRun, RunStatus, RunTrigger
from app.scheduler.queries import list_runs_stmt
from app.scheduler.runner import get_job_or_404, run_job

jobs_api_bp = Blueprint("jobs_api", __name__, url_prefix="/api/v1/jobs")

DATETIME_SCHEMA: dict[str, Any] = {"type": "string", "format": "date-time"}
RUN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "job": {"type": "string"},
        "as_of": DATE_SCHEMA,
        "status": {"type": "string", "enum": [status.value for status in RunStatus]},
        "counts": {
            "type": "object",
            "description": "per step that committed, its counts: {step: {name: number}}",
        },
        "started_at": DATETIME_SCHEMA,
        "finished_at": {**DATETIME_SCHEMA, "nullable": True},
        "error": {"type": "string", "description": "the failed step and error; empty"},
        "trigger": {"type": "string", "enum": [trigger.value for trigger in RunTrigger]},
        "holder": {"type": "string", "description": "the scheduler process or the user"},
        "attempts": {"type": "integer"},
    },
    "required": [
        "job",
        "as_of",
        "status",
        "counts",
        "started_at",
        "finished_at",
        "error",
        "trigger",
        "holder",
        "attempts",
    ],
}


def run_json(run: JobRun) -> dict[str, Any]:
    """The API's view of a run record."""
    return {
        "job": run.job,
        "as_of": iso_date(run.as_of),
        "status": run.status,
        "counts": run.counts or {},
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "error": run.error or "",
        "trigger": run.trigger,
        "holder": run.holder,
        "attempts": run.attempts,
    }


@jobs_api_bp.post("/<name>/run")
@permission_required(Permission.JOBS_RUN)
@api_endpoint(
    "Run a scheduled job for a date now (today or earlier; a rerun of a date updates its "
    "record); answers the run record, succeeded or failed (409 while the date is running)",
    form=RunJobApiForm,
    response=RUN_SCHEMA,
    errors=(404, 409),
)
def run(name: str) -> Any:
    """An administrator runs job `name` for `as_of`; audited."""
    get_job_or_404(name)
    form = read_json_form(RunJobApiForm)
    validate_or_raise(form)
    record = run_job(
        name,
        form.as_of.data,
        trigger=RunTrigger.MANUAL,
        holder=current_user.username,
        actor=current_user,
    )
    return json_response(run_json(record))


@jobs_api_bp.get("/runs")
@permission_required(Permission.JOBS_RUN)
@api_endpoint(
    "Job runs, newest first, optionally of one job or status",
    query=RunFilterForm,
    response=RUN_SCHEMA,
    paginated=True,
)
def runs() -> Any:
    """The run records, paginated."""
    form = read_query_form(RunFilterForm)
    pagination = paginate(
        list_runs_stmt(form.job.data or None, form.status.data or None),
        read_page_request(request.args),
    )
    return json_response(page_envelope(pagination, run_json))
