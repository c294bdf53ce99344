"""Reads for the jobs page, the API and the CLI: runs, each job's standing, the lease."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, func, select

from app.core.db import utcnow
from app.extensions import db
from app.scheduler.lease import current_lease
from app.scheduler.models import JobRun, RunStatus, SchedulerLease
from app.scheduler.registry import Job, registered_jobs


@dataclass(frozen=True)
class JobOverview:
    """A registered job with its last successful date and its latest run."""

    job: Job
    last_success: date | None
    latest: JobRun | None


@dataclass(frozen=True)
class LeaseState:
    """The lease as the page shows it: who holds it and whether it is alive."""

    lease: SchedulerLease | None
    alive: bool


def list_runs_stmt(job: str | None = None, status: str | None = None) -> Select:
    """Runs newest first (latest start, then latest date), optionally of one job or status."""
    stmt = select(JobRun).order_by(JobRun.started_at.desc(), JobRun.as_of.desc(), JobRun.id.desc())
    if job:
        stmt = stmt.where(JobRun.job == job)
    if status:
        stmt = stmt.where(JobRun.status == status)
    return stmt


def job_overview() -> list[JobOverview]:
    """Every registered job with its last successful date and latest run (a query per job:
    the registry holds a handful)."""
    jobs = list(registered_jobs())
    names = [job.name for job in jobs]
    successes = dict(
        db.session.execute(
            select(JobRun.job, func.max(JobRun.as_of))
            .where(JobRun.job.in_(names), JobRun.status == RunStatus.SUCCEEDED)
            .group_by(JobRun.job)
        ).all()
    )
    latest = {name: db.session.scalar(list_runs_stmt(name).limit(1)) for name in names}
    return [JobOverview(job, successes.get(job.name), latest.get(job.name)) for job in jobs]


def lease_state(now: datetime | None = None) -> LeaseState:
    """The lease row and whether an unexpired lease is held ("no scheduler running")."""
    lease = current_lease()
    now = now or utcnow()
    return LeaseState(lease, lease is not None and lease.expires_at > now)
