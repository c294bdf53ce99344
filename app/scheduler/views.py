"""Admin page /admin/jobs: the scheduler's lease, the registered jobs, the runs with their
counts and errors, and a form to run a job for a date by hand."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.core.errors import Conflict, NotFound
from app.core.pagination import paginate, read_page_request_or_first
from app.core.permissions import Permission, permission_required
from app.scheduler.forms import (
    CADENCE_LABELS,
    STATUS_LABELS,
    TRIGGER_LABELS,
    RunFilterForm,
    RunJobForm,
)
from app.scheduler.models import RunStatus, RunTrigger
from app.scheduler.queries import job_overview, lease_state, list_runs_stmt
from app.scheduler.runner import run_job, scheduler_today

jobs_bp = Blueprint("jobs", __name__, url_prefix="/admin/jobs")

STATUS_STYLES = {
    RunStatus.RUNNING: "info",
    RunStatus.SUCCEEDED: "success",
    RunStatus.FAILED: "danger",
}


def _render(run_form: RunJobForm | None = None, status: int = 200) -> Any:
    filters = RunFilterForm(request.args)
    valid = filters.validate()
    job = filters.job.data if valid else None
    run_status = filters.status.data if valid else None
    pagination = paginate(
        list_runs_stmt(job or None, run_status or None), read_page_request_or_first(request.args)
    )
    return render_template(
        "scheduler/runs.html",
        lease=lease_state(),
        overview=job_overview(),
        pagination=pagination,
        filters=filters,
        run_form=run_form or RunJobForm(formdata=None, data={"as_of": scheduler_today()}),
        status_label=lambda code: STATUS_LABELS.get(code, code),
        status_style=lambda code: STATUS_STYLES.get(code, "secondary"),
        trigger_label=lambda code: TRIGGER_LABELS.get(code, code),
        cadence_label=lambda code: CADENCE_LABELS.get(code, code),
    ), status


@jobs_bp.get("/")
@permission_required(Permission.JOBS_RUN)
def runs() -> Any:
    """The lease, the jobs and their runs, newest first."""
    return _render()


@jobs_bp.post("/run")
@permission_required(Permission.JOBS_RUN)
def run() -> Any:
    """Run a job for a date now; the outcome is flashed (audited like the API's run)."""
    form = RunJobForm()
    if not form.validate_on_submit():
        return _render(form, 422)
    try:
        record = run_job(
            form.job.data,
            form.as_of.data,
            trigger=RunTrigger.MANUAL,
            holder=current_user.username,
            actor=current_user,
        )
    except (Conflict, NotFound) as error:
        flash(error.message, "warning")
        return redirect(url_for("jobs.runs"))
    if record.status == RunStatus.SUCCEEDED:
        flash(
            _("%(job)s for %(date)s succeeded.", job=record.job, date=record.as_of.isoformat()),
            "success",
        )
    else:
        first_line = (record.error or "").split("\n")[0]
        flash(
            _(
                "%(job)s for %(date)s failed: %(error)s",
                job=record.job,
                date=record.as_of.isoformat(),
                error=first_line,
            ),
            "danger",
        )
    return redirect(url_for("jobs.runs", job=record.job))
