"""The follow-up steps of the daily job (SPEC §11, §12): plan, reconcile, mark missed, flag
lost. Each is `step(as_of) -> counts`, a few set-based statements whatever the number of
founders, businesses or loans; it flushes and never commits (the runner commits per step,
so a failing step leaves nothing half-written). Reruns for a date change nothing, and a
catch-up of skipped dates in order ends where daily runs would have.
"""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy import text

from app.extensions import db
from app.followups import planning
from app.followups.models import TaskKind
from app.followups.plan import get_plans
from app.followups.standing import refresh_lost_flags

logger = logging.getLogger(__name__)

# A planning run that adds this many tasks (a first run, a plan change, a large import)
# refreshes the table's planner statistics before the next steps read it.
MANY_NEW_TASKS = 10_000


def plan_followups(as_of: date) -> dict[str, int]:
    """Make the tasks due within 14 days of `as_of` (and not yet missed): one INSERT per kind."""
    plans = get_plans()
    counts = {kind.value: planning.plan_tasks(kind, plans[kind], as_of) for kind in TaskKind}
    db.session.flush()
    if sum(counts.values()) >= MANY_NEW_TASKS:
        _refresh_task_statistics()
    logger.info("follow-up planning for %s: %s", as_of, counts)
    return counts


def _refresh_task_statistics() -> None:
    """On PostgreSQL, ANALYZE followup_task now rather than when autovacuum gets to it.

    Measured at a million founders: right after the first run planned 300,000 tasks, the
    next run's anti-join against followup_task was planned for an empty table (a nested
    loop: 57 s for one kind instead of 0.07 s). ANALYZE samples the table, so it costs well
    under a second whatever its size; SQLite's planner does not need it here.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("ANALYZE followup_task"))


def reconcile_followups(as_of: date) -> dict[str, int]:
    """Cancel open tasks whose subject ended; move open tasks to their anchor's dates."""
    plans = get_plans()
    counts = {"cancelled": 0, "replanned": 0}
    for kind in TaskKind:
        counts["cancelled"] += planning.cancel_tasks(kind, as_of, plan=plans[kind])
        counts["replanned"] += planning.replan_tasks(kind, plans[kind])
    db.session.flush()
    planning.forget_loaded_tasks()
    logger.info("follow-up reconciliation for %s: %s", as_of, counts)
    return counts


def mark_missed(as_of: date) -> dict[str, int]:
    """Open tasks more than 30 days past due become missed."""
    counts = {"missed": planning.mark_missed_tasks(as_of)}
    db.session.flush()
    planning.forget_loaded_tasks()
    logger.info("missed follow-ups for %s: %s", as_of, counts)
    return counts


def refresh_lost(as_of: date) -> dict[str, int]:
    """Recompute every founder's lost-to-follow-up flag from the tasks as they now stand."""
    counts = {"founders_changed": refresh_lost_flags()}
    db.session.flush()
    logger.info("lost-to-follow-up flags for %s: %s", as_of, counts)
    return counts
