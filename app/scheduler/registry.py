"""The one list of scheduled jobs (SPEC §12) and the calendar of the dates each is due.

A job is a named sequence of steps; each step is a function `step(as_of) -> dict[str, int]`
in its feature's `jobs.py` that flushes and never commits (the runner commits after each
step). Steps are named by import path and resolved only when a job runs, so this module
imports no feature code and a step that cannot be imported fails its run, visibly, instead
of stopping the scheduler from starting.

The scheduler reads the list named by SCHEDULER_REGISTRY ("module:ATTRIBUTE"; this
module's JOBS by default); tests point it at a list of quick fake steps.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app

from app.core.dates import add_months

# Every schedule is read on the clock of the platform's users.
SCHEDULER_TIMEZONE = ZoneInfo("Asia/Shanghai")
DEFAULT_REGISTRY = "app.scheduler.registry:JOBS"

StepFunction = Callable[[date], dict[str, Any]]


class Cadence:
    """How often a job is due: every day, or on the first of every month."""

    DAILY = "daily"
    MONTHLY = "monthly"


# APScheduler cron fields per cadence (Asia/Shanghai).
CRON = {
    Cadence.DAILY: {"hour": 1, "minute": 0},
    Cadence.MONTHLY: {"day": 1, "hour": 2, "minute": 0},
}


@dataclass(frozen=True)
class Job:
    """A scheduled job: its steps in order (name, import path or function) and cadence."""

    name: str
    steps: tuple[tuple[str, str | StepFunction], ...]
    cadence: str = Cadence.DAILY

    @property
    def cron(self) -> dict[str, int]:
        """The APScheduler cron fields of the job's schedule."""
        return CRON[self.cadence]

    @property
    def step_names(self) -> list[str]:
        """The steps' names, in the order they run."""
        return [name for name, _target in self.steps]


JOBS: list[Job] = [
    Job(
        "daily",
        (
            ("loan_sweep", "app.loans.jobs:sweep"),
            ("followup_planning", "app.followups.jobs:plan_followups"),
            ("followup_reconcile", "app.followups.jobs:reconcile_followups"),
            ("missed_marking", "app.followups.jobs:mark_missed"),
            ("lost_flags", "app.followups.jobs:refresh_lost"),
            ("reminders", "app.notifications.jobs:send_reminders"),
            # Its own step: an unreachable mail server never undoes the in-app reminders.
            ("reminder_emails", "app.notifications.jobs:email_pending"),
        ),
        Cadence.DAILY,
    ),
    Job("monthly", (("kpi_snapshot", "app.reports.jobs:snapshot_kpis"),), Cadence.MONTHLY),
]


def _import_object(path: str) -> Any:
    """`package.module:attribute` (or `package.module.attribute`) to the object it names."""
    module_name, _sep, attribute = path.partition(":") if ":" in path else path.rpartition(".")
    return getattr(importlib.import_module(module_name), attribute)


def resolve_step(target: str | StepFunction) -> StepFunction:
    """The step function a registry entry names (imported now, at run time)."""
    return _import_object(target) if isinstance(target, str) else target


def registered_jobs() -> Sequence[Job]:
    """The jobs of the running app: the list SCHEDULER_REGISTRY names."""
    path = current_app.config.get("SCHEDULER_REGISTRY") or DEFAULT_REGISTRY
    return _import_object(path)


def find_job(name: str) -> Job | None:
    """The registered job called `name`, or None."""
    return next((job for job in registered_jobs() if job.name == name), None)


def job_names() -> list[str]:
    """The registered jobs' names, in registry order."""
    return [job.name for job in registered_jobs()]


def is_due(job: Job, day: date) -> bool:
    """Daily jobs are due every day, monthly jobs on the first of the month."""
    return job.cadence != Cadence.MONTHLY or day.day == 1


def latest_due(job: Job, today: date) -> date:
    """The last date on or before `today` the job is due."""
    return today if job.cadence != Cadence.MONTHLY else today.replace(day=1)


def dates_due(job: Job, last_success: date | None, today: date) -> list[date]:
    """The dates after `last_success`, up to and including `today`, the job is due, in
    order; with no success ever, only the latest due date (today for a daily job)."""
    if last_success is None:
        return [latest_due(job, today)]
    if job.cadence == Cadence.MONTHLY:
        first = last_success.replace(day=1)
        dates = []
        day = add_months(first, 1)
        while day <= today:
            dates.append(day)
            day = add_months(day, 1)
        return dates
    count = (today - last_success).days
    return [last_success + timedelta(days=n) for n in range(1, count + 1)]
