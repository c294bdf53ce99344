"""Running a job for a date, and catching up the dates a scheduler missed.

`run_job` records the run in `job_run` (unique on job and as_of; a rerun of a date updates
its row and counts one more attempt):

1. it claims the row — inserts it, or takes over a finished, failed or stale one — and
   commits, so the run shows as `running` at once (a live run of the same date is a 409);
2. it runs the steps in order and commits after each, together with the counts so far:
   a step is all or nothing;
3. a step that raises is rolled back; the run is recorded `failed` with the error (its
   traceback summary) and the counts of the steps that committed before it, and is
   *returned*, not re-raised: callers read `run.status` (the CLI exits 1, the API answers
   the record, a catch-up stops at that date so the next one retries it, in order).

Every update of the run row after the claim is conditional on the claim still being ours
(holder and attempt), so a run whose date was taken over cannot overwrite the new run.

A `running` row is stale — its process died — when it was started more than
SCHEDULER_STALE_RUN_SECONDS ago, or when a scheduler started it and that scheduler no
longer holds the lease (or is the claimer itself: one scheduler runs a job once at a time).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from app.core.audit import record_audit
from app.core.dates import today_in_china
from app.core.db import utcnow
from app.core.errors import Conflict, NotFound
from app.extensions import db
from app.scheduler.lease import live_holder
from app.scheduler.models import JobRun, RunStatus, RunTrigger
from app.scheduler.registry import Job, dates_due, find_job, latest_due, resolve_step

logger = logging.getLogger(__name__)

# A catch-up runs at most this many dates; the rest run at the next catch-up, in order.
MAX_CATCH_UP_DATES = 366
MAX_ERROR_CHARS = 4000
DEFAULT_STALE_RUN_SECONDS = 3600


class ClaimLost(Conflict):
    """Another process took the run over while it ran (its holder died, as seen from
    the other side); this process's later writes to the run row are dropped."""


def scheduler_today() -> date:
    """The scheduler's "today": the date in China, unless SCHEDULER_TODAY pins it
    (development and tests only; production refuses the setting)."""
    pinned = current_app.config.get("SCHEDULER_TODAY")
    if isinstance(pinned, date):
        return pinned
    if pinned:
        return date.fromisoformat(str(pinned))
    return today_in_china()


def get_job_or_404(name: str) -> Job:
    """The registered job `name`; unknown names are a 404 naming the jobs there are."""
    job = find_job(name)
    if job is None:
        from app.scheduler.registry import job_names

        raise NotFound(
            _("No job called %(name)s. Jobs: %(jobs)s.", name=name, jobs=", ".join(job_names()))
        )
    return job


def _stale_after() -> timedelta:
    seconds = current_app.config.get("SCHEDULER_STALE_RUN_SECONDS") or DEFAULT_STALE_RUN_SECONDS
    return timedelta(seconds=int(seconds))


def _is_stale(row: Any, now: datetime, claimer: str) -> bool:
    if row.started_at is not None and row.started_at < now - _stale_after():
        return True
    if row.trigger == RunTrigger.MANUAL:
        return False
    leader = live_holder(now)
    return leader is None or leader != row.holder or row.holder == claimer


def _insert_ignoring_conflict(values: dict[str, Any]) -> int | None:
    """Insert the run row unless (job, as_of) has one; its id when this call inserted it."""
    table = JobRun.__table__
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(table).values(**values).on_conflict_do_nothing().returning(table.c.id)
    return db.session.scalar(stmt)


def _claim(
    job: Job, as_of: date, trigger: str, holder: str, actor: Any, now: datetime
) -> tuple[int, int]:
    """Make the (job, as_of) row ours and `running`; returns (run id, attempt)."""
    table = JobRun.__table__
    fresh = {
        "status": RunStatus.RUNNING.value,
        "trigger": str(trigger),
        "started_at": now,
        "finished_at": None,
        "counts": {},
        "error": "",
        "holder": holder,
        "triggered_by_id": getattr(actor, "id", None),
    }
    run_id = _insert_ignoring_conflict({"job": job.name, "as_of": as_of, "attempts": 1, **fresh})
    if run_id is not None:
        return run_id, 1
    row = db.session.execute(
        select(table).where(table.c.job == job.name, table.c.as_of == as_of)
    ).one()
    already = Conflict(
        _(
            "%(job)s for %(date)s is already running (%(holder)s).",
            job=job.name,
            date=as_of.isoformat(),
            holder=row.holder,
        )
    )
    if row.status == RunStatus.RUNNING and not _is_stale(row, now, holder):
        raise already
    if row.status == RunStatus.RUNNING:
        logger.warning(
            "%s %s: taking over a stale run of %s (attempt %s)",
            job.name,
            as_of,
            row.holder,
            row.attempts,
        )
    # Only if nobody changed the row since we read it: two claimers cannot both win.
    taken = db.session.execute(
        update(table)
        .where(
            table.c.id == row.id,
            table.c.attempts == row.attempts,
            table.c.status == row.status,
            table.c.holder == row.holder,
        )
        .values(attempts=row.attempts + 1, **fresh)
    ).rowcount
    if taken != 1:
        raise already
    return row.id, row.attempts + 1


def _update_own_run(run_id: int, holder: str, attempt: int, **values: Any) -> bool:
    table = JobRun.__table__
    stmt = (
        update(table)
        .where(table.c.id == run_id, table.c.holder == holder, table.c.attempts == attempt)
        .values(**values)
    )
    return db.session.execute(stmt).rowcount == 1


def _error_text(step: str, error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)[-4:]
    where = "".join(traceback.format_list(frames))
    text = f"{step}: {type(error).__name__}: {error}\n{where}"
    return text[:MAX_ERROR_CHARS]


def _jsonable_counts(counts: Any) -> dict[str, Any]:
    if not isinstance(counts, dict):
        return {"result": str(counts)} if counts is not None else {}
    return {
        str(key): value if isinstance(value, int | float | str | bool) else str(value)
        for key, value in counts.items()
    }


def run_job(
    name: str,
    as_of: date,
    *,
    trigger: str,
    holder: str,
    actor: Any = None,
) -> JobRun:
    """Run job `name` for `as_of` and return its run record (succeeded or failed).

    Raises NotFound for an unknown job and Conflict when the date is running elsewhere.
    Commits: the claim, then each step. A manual run is audited with its actor.
    """
    job = get_job_or_404(name)
    now = utcnow()
    try:
        run_id, attempt = _claim(job, as_of, trigger, holder, actor, now)
    except Conflict:
        db.session.rollback()
        raise
    if trigger == RunTrigger.MANUAL:
        record_audit(
            actor,
            "job.run",
            ("job_run", run_id),
            after={"job": job.name, "as_of": as_of, "attempt": attempt, "holder": holder},
        )
    db.session.commit()
    logger.info("running %s for %s (%s, attempt %s)", job.name, as_of.isoformat(), trigger, attempt)

    counts: dict[str, Any] = {}
    for step_name, target in job.steps:
        try:
            step = resolve_step(target)
            result = _jsonable_counts(step(as_of))
            counts = {**counts, step_name: result}
            if not _update_own_run(run_id, holder, attempt, counts=counts):
                raise ClaimLost(_("The run was taken over by another process."))
            db.session.commit()
        except ClaimLost:
            db.session.rollback()
            logger.warning("%s %s: run taken over by another process; stopping", job.name, as_of)
            raise
        except Exception as error:
            db.session.rollback()
            logger.exception("%s %s failed in step %s", job.name, as_of.isoformat(), step_name)
            _update_own_run(
                run_id,
                holder,
                attempt,
                status=RunStatus.FAILED.value,
                finished_at=utcnow(),
                counts=counts,
                error=_error_text(step_name, error),
            )
            db.session.commit()
            return _load(run_id)
    _update_own_run(
        run_id,
        holder,
        attempt,
        status=RunStatus.SUCCEEDED.value,
        finished_at=utcnow(),
        counts=counts,
        error="",
    )
    db.session.commit()
    run = _load(run_id)
    logger.info("%s %s succeeded: %s", job.name, as_of.isoformat(), counts)
    return run


def _load(run_id: int) -> JobRun:
    return db.session.get(JobRun, run_id, populate_existing=True)


def pending_dates(job: Job, today: date) -> list[date]:
    """The dates a catch-up of `job` runs, in order: every due date up to `today` after
    the scheduler's last successful run that has no successful run (a failed date is
    retried); with no scheduled run ever, the latest due date (today for `daily`)."""
    table = JobRun.__table__
    by_scheduler = table.c.trigger != RunTrigger.MANUAL.value
    mine = (table.c.job == job.name) & (table.c.as_of <= today)
    last_success = db.session.scalar(
        select(func.max(table.c.as_of)).where(
            mine, by_scheduler, table.c.status == RunStatus.SUCCEEDED.value
        )
    )
    if last_success is None:
        first_attempt = db.session.scalar(select(func.min(table.c.as_of)).where(mine, by_scheduler))
        if first_attempt is None:
            candidates = [latest_due(job, today)]
        else:
            candidates = dates_due(job, first_attempt - timedelta(days=1), today)
    else:
        candidates = dates_due(job, last_success, today)
    if not candidates:
        return []
    succeeded = set(
        db.session.scalars(
            select(table.c.as_of).where(
                mine,
                table.c.as_of >= candidates[0],
                table.c.status == RunStatus.SUCCEEDED.value,
            )
        )
    )
    return [day for day in candidates if day not in succeeded]


def catch_up(
    name: str,
    today: date,
    holder: str,
    *,
    today_trigger: str = RunTrigger.CATCH_UP,
    keep_going: Callable[[], bool] | None = None,
    limit: int = MAX_CATCH_UP_DATES,
) -> list[JobRun]:
    """Run every pending date of job `name` up to `today`, in date order (see
    `pending_dates`), at most `limit` of them (the oldest first; the rest run at the next
    catch-up). Stops at the first failed or conflicting date, so dates never run out of
    order, and before each date when `keep_going()` says so (the lease was lost).
    Returns the runs made."""
    job = get_job_or_404(name)
    dates = pending_dates(job, today)
    db.session.commit()  # end the reading transaction (on SQLite it holds the write lock)
    if len(dates) > limit:
        logger.warning(
            "%s: %s dates to catch up, running the first %s (%s to %s); the rest run at the "
            "next catch-up",
            name,
            len(dates),
            limit,
            dates[0],
            dates[limit - 1],
        )
        dates = dates[:limit]
    elif len(dates) > 1:
        logger.info("%s: catching up %s dates, %s to %s", name, len(dates), dates[0], dates[-1])
    runs: list[JobRun] = []
    for day in dates:
        if keep_going is not None and not keep_going():
            logger.info("%s: catch-up stopped before %s", name, day)
            break
        trigger = today_trigger if day == today else RunTrigger.CATCH_UP
        try:
            run = run_job(name, day, trigger=trigger, holder=holder)
        except Conflict as error:
            db.session.rollback()
            logger.warning("%s %s not run: %s", name, day, error.message)
            break
        runs.append(run)
        if run.status != RunStatus.SUCCEEDED:
            logger.error(
                "%s %s failed; later dates wait for it: %s",
                name,
                day,
                (run.error or "").split("\n")[0],
            )
            break
    return runs
