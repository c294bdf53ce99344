"""Demo follow-up history (SPEC §11, §12): the daily job replayed over the last weeks,
with centre staff working their queues in between.

The seed runs the real daily job (`scheduler.runner.run_job`) for each of the last
HISTORY_DAYS days (fewer in demos of more than FULL_HISTORY_FOUNDERS founders, see
`history_days`) and for `as_of`, so tasks are planned, missed and flagged, loans swept
and reminders sent exactly as the scheduler would have done; the job_run records show on
the admin's jobs page. Between runs, each province's staff (the demo logins in Hainan,
accounts with a password nobody knows elsewhere) complete most tasks through the real
operations — on the due day or a few days late, with findings that fit the business —
record a failed phone call now and then, and never reach a few founders, who end up lost
to follow-up. One loan-usage check finds the money used otherwise, waiting for an
officer's confirmation. Reminders older than yesterday are marked read, as if the demo
users had looked at them; today's stay unread so the bell shows a count. Then the monthly
job runs for the first of each of the last SNAPSHOT_MONTHS months, so the trend charts have
a year of KPI snapshots.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from datetime import date, timedelta
from decimal import Decimal
from random import Random
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select, update

from app.auth.models import User
from app.auth.passwords import hash_password
from app.businesses.models import Business, Observation
from app.core.dates import add_months
from app.core.db import utcnow
from app.core.errors import DomainError
from app.core.permissions import Role
from app.demo.bulk import refresh_statistics
from app.demo.businesses import region_infos
from app.extensions import db
from app.followups import operations
from app.followups.models import Channel, Employment, FollowupTask, TaskKind, TaskStatus
from app.followups.queries import get_subject
from app.notifications.models import Notification
from app.scheduler.models import RunTrigger
from app.scheduler.runner import run_job

logger = logging.getLogger(__name__)

HISTORY_DAYS = 60
# Large demos replay fewer days: every replayed day is a whole daily job over all founders.
# The history keeps HISTORY_DAYS up to this many founders and shrinks in proportion above
# it, never below MIN_HISTORY_DAYS (a week: enough for open, due, overdue and done tasks).
FULL_HISTORY_FOUNDERS = 50_000
MIN_HISTORY_DAYS = 7
# Tasks worked through the operations on one replayed day (each is a whole completion:
# lock, findings, observation, audit). The oldest due are worked first; in large demos the
# rest wait, as they would at a centre with too few hands, and later become missed.
MAX_WORKED_PER_DAY = 300
# Monthly KPI snapshots written, the latest on the first of as_of's month.
SNAPSHOT_MONTHS = 12
HOLDER = "demo seed"
# Chance that staff work an open task on a given day: on its due day, and later.
WORK_ON_DUE_DAY = 0.45
WORK_LATER = 0.12
# Of the worked tasks, the share where the phone rang out (an attempt; the task stays open).
NOBODY_ANSWERED = 0.12
# Founders nobody reaches: every task of theirs is only ever an unanswered call.
UNREACHABLE_SHARE = 0.05
INTAKE_PACKAGE = ["career_guidance", "lead", "lead", "lead", "training_offer"]


class FollowupDesk:
    """Who works the queue in each province: staff for most tasks, an officer for loan usage."""

    def __init__(self, demo_usernames: Iterable[str]) -> None:
        self.regions = region_infos()
        names = list(demo_usernames)
        self.users: dict[tuple[str, str], User] = {}
        for user in db.session.scalars(select(User).where(User.active.is_(True))):
            if user.role in (Role.STAFF, Role.OFFICER) and user.region_code == self._province(
                user.region_code
            ):
                known = self.users.get((user.role, user.region_code))
                if known is None or user.username in names:
                    self.users[(user.role, user.region_code)] = user
        self._password_hash: str | None = None

    def _province(self, region_code: str) -> str:
        return self.regions[region_code].province_code

    def worker_for(self, task: FollowupTask) -> User:
        """The province's officer for loan usage, its staff for everything else."""
        role = Role.OFFICER if task.kind == TaskKind.LOAN_USAGE else Role.STAFF
        province = self._province(task.region_code)
        user = self.users.get((role.value, province))
        if user is None:
            user = self._add(role, province)
            self.users[(role.value, province)] = user
        return user

    def _add(self, role: Role, province: str) -> User:
        if self._password_hash is None:
            self._password_hash = hash_password(secrets.token_urlsafe(32))
        user = User(
            username=f"{role.value}.{province}",
            display_name=f"{self.regions[province].short_name}",
            password_hash=self._password_hash,
            role=role.value,
            region_code=province,
            active=True,
            session_version=1,
        )
        db.session.add(user)
        db.session.flush()
        return user


def history_days(founder_count: int) -> int:
    """Days of daily-job history replayed for a demo of `founder_count` founders."""
    if founder_count <= FULL_HISTORY_FOUNDERS:
        return HISTORY_DAYS
    return max(MIN_HISTORY_DAYS, HISTORY_DAYS * FULL_HISTORY_FOUNDERS // founder_count)


def write_followup_history(
    rng: Random,
    *,
    as_of: date,
    demo_usernames: Iterable[str],
    founder_count: int = 0,
    progress: Callable[[str, int], AbstractContextManager[Any]] | None = None,
) -> dict[str, int]:
    """Replay the daily job over the last `history_days` days and today, working the
    queues in between; answer the counts of tasks by status."""
    desk = FollowupDesk(demo_usernames)
    unreachable: set[int] = set()
    misuse_found = False
    days = history_days(founder_count)
    first = as_of - timedelta(days=days)
    day = first
    with (progress or _quiet)("Follow-up history (daily job per day)", days + 1) as bar:
        while day <= as_of:
            run = run_job("daily", day, trigger=RunTrigger.CATCH_UP, holder=HOLDER)
            if run.status != "succeeded":
                logger.warning("demo daily job for %s failed: %s", day, run.error)
            if day == first:
                # The first run planned every task of its window and sent its reminders
                # at once: let the planner see those tables before the next runs.
                refresh_statistics()
            if day < as_of:
                misuse_found = _work_the_queue(rng, day, desk, unreachable, misuse_found)
                db.session.commit()
            day += timedelta(days=1)
            bar.update(1)
    _mark_old_notifications_read(as_of)
    db.session.commit()
    return _task_counts()


def write_kpi_snapshots(*, as_of: date, months: int = SNAPSHOT_MONTHS) -> dict[str, int]:
    """Run the monthly job for the first of each of the last `months` months up to `as_of`,
    oldest first, as the scheduler would have; answer the number of snapshot rows."""
    latest = as_of.replace(day=1)
    rows = 0
    for back in range(months - 1, -1, -1):
        day = add_months(latest, -back)
        run = run_job("monthly", day, trigger=RunTrigger.CATCH_UP, holder=HOLDER)
        if run.status != "succeeded":
            logger.warning("demo monthly job for %s failed: %s", day, run.error)
        rows += int(run.counts.get("kpi_snapshot", {}).get("regions", 0))
    return {"kpi_snapshots": rows}


@contextlib.contextmanager
def _quiet(label: str, length: int) -> Iterator[Any]:
    """No progress bar: small demos replay their history in seconds."""
    yield SimpleNamespace(update=lambda n_steps: None)


def _work_the_queue(
    rng: Random, day: date, desk: FollowupDesk, unreachable: set[int], misuse_found: bool
) -> bool:
    # Plain rows, not task objects: a million-founder demo has hundreds of thousands open,
    # and every completion walks the session's identity map. Only worked tasks are loaded.
    open_tasks = db.session.execute(
        select(FollowupTask.id, FollowupTask.due_on, FollowupTask.founder_id)
        .where(FollowupTask.status == TaskStatus.OPEN, FollowupTask.due_on <= day)
        .order_by(FollowupTask.due_on, FollowupTask.id)
    ).all()
    worked = 0
    # One call a founder a day: two tasks of one business done the same day would give it
    # two observations of that day (a business visit and a loan-usage visit, say).
    called_today: set[int] = set()
    for task_id, due_on, founder_id in open_tasks:
        chance = WORK_ON_DUE_DAY if due_on == day else WORK_LATER
        if founder_id in called_today or rng.random() >= chance:
            continue
        if _observed_on(founder_id, day):
            continue  # the founder reported that day already: the call waits
        if worked == MAX_WORKED_PER_DAY:
            break
        worked += 1
        called_today.add(founder_id)
        task = db.session.get(FollowupTask, task_id)
        if task.founder_id not in unreachable and rng.random() < UNREACHABLE_SHARE:
            unreachable.add(task.founder_id)
        worker = desk.worker_for(task)
        if task.founder_id in unreachable or rng.random() < NOBODY_ANSWERED:
            _attempt(worker, task, day)
            continue
        fund_ok = True
        if task.kind == TaskKind.LOAN_USAGE and not misuse_found:
            fund_ok = False
            misuse_found = True
        _complete(rng, worker, task, day, fund_usage_ok=fund_ok)
    return misuse_found


def _observed_on(founder_id: int, day: date) -> bool:
    """Whether a business of the founder has an observation of `day` (a completed visit
    would add a second one of the same day)."""
    found = db.session.scalar(
        select(Observation.id)
        .join(Business, Business.id == Observation.business_id)
        .where(Business.founder_id == founder_id, Observation.observed_on == day)
        .limit(1)
    )
    return found is not None


def _attempt(worker: User, task: FollowupTask, day: date) -> None:
    try:
        with db.session.begin_nested():
            operations.record_attempt(
                worker,
                task,
                {"attempted_on": day, "channel": Channel.PHONE.value, "note": "电话无人接听"},
                as_of=day,
            )
    except DomainError as error:
        logger.debug("demo attempt on follow-up %s refused: %s", task.id, error)


def _complete(
    rng: Random, worker: User, task: FollowupTask, day: date, *, fund_usage_ok: bool
) -> None:
    values: dict[str, Any] = {
        "done_on": day,
        "channel": Channel.VISIT.value if rng.random() < 0.3 else Channel.PHONE.value,
        "note": "",
    }
    values |= _findings(rng, task, fund_usage_ok=fund_usage_ok)
    try:
        with db.session.begin_nested():
            operations.complete_task(worker, task, values, as_of=day)
    except DomainError as error:
        # A finding the business's history refuses (say, an older observation than its
        # latest): staff would call again; the demo records the call as unanswered.
        logger.debug("demo follow-up %s not completed: %s", task.id, error)
        _attempt(worker, task, day)


def _findings(rng: Random, task: FollowupTask, *, fund_usage_ok: bool) -> dict[str, Any]:
    kind = TaskKind(task.kind)
    if kind is TaskKind.INTAKE_SERVICES:
        return {"services": list(INTAKE_PACKAGE)}
    if kind is TaskKind.POST_TRAINING:
        has_business = db.session.scalar(
            select(Business.id).where(Business.founder_id == task.founder_id).limit(1)
        )
        if has_business:
            return {"employment": Employment.SELF_EMPLOYED.value}
        employed = rng.random() < 0.5
        return {"employment": (Employment.EMPLOYED if employed else Employment.UNEMPLOYED).value}
    if kind is TaskKind.LOAN_USAGE:
        return {"fund_usage_ok": fund_usage_ok}
    if kind in (TaskKind.BUSINESS, TaskKind.INCUBATION_EXIT):
        subject = get_subject(task)
        business = subject if isinstance(subject, Business) else getattr(subject, "business", None)
        if business is None:
            return {}
        employees = max(0, business.employees + rng.choice((-1, 0, 0, 0, 1, 1, 2)))
        revenue = Decimal(rng.randrange(60, 900) * 100)
        return {
            "business_status": business.status,
            "employees": employees,
            "monthly_revenue": revenue,
        }
    return {}


def _mark_old_notifications_read(as_of: date) -> None:
    db.session.execute(
        update(Notification)
        .where(Notification.created_on < as_of - timedelta(days=1), Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )


def _task_counts() -> dict[str, int]:
    counts = dict(
        db.session.execute(
            select(FollowupTask.status, db.func.count()).group_by(FollowupTask.status)
        ).all()
    )
    return {f"follow-ups {status}": counts.get(status.value, 0) for status in TaskStatus}
