"""`flask scheduler`: the one process that runs the scheduled jobs (SPEC §12).

An APScheduler 3 `BlockingScheduler` (Asia/Shanghai; coalesce, one instance of each job at
a time, a generous misfire grace) runs:

- every SCHEDULER_RENEW_SECONDS, the lease: take it when free or expired, renew it when
  held. A scheduler without the lease is a standby and runs nothing; when it gains the
  lease it catches up every job (every date missed since the last successful run, in
  order). A dead holder's lease expires after SCHEDULER_LEASE_SECONDS, so a standby takes
  over within LEASE + RENEW seconds;
- each job on its cron schedule (daily 01:00, monthly on the 1st at 02:00), which renews
  the lease first and runs only if it is held, as a catch-up ending with today, so a date
  that failed earlier is retried before it.

Each run happens in its own app context; the session is removed afterwards. SIGTERM or
SIGINT stops the scheduler once the date being run finishes (a second signal exits at
once), and the lease is released so a standby takes over at its next renewal.

The web application never starts a scheduler: only this command does.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask

from app.core.db import utcnow
from app.extensions import db
from app.scheduler.lease import acquire_or_renew, live_holder, new_holder, release
from app.scheduler.models import RunTrigger
from app.scheduler.registry import SCHEDULER_TIMEZONE, registered_jobs
from app.scheduler.runner import catch_up, scheduler_today

logger = logging.getLogger(__name__)

LEASE_JOB_ID = "lease"
CATCH_UP_JOB_ID = "catch_up"
# A second stop signal later than this after the first forces the exit.
REPEAT_SIGNAL_SECONDS = 1.0


class SchedulerService:
    """The lease, the schedule and the runs of one scheduler process."""

    def __init__(self, app: Flask, *, holder: str | None = None) -> None:
        self.app = app
        self.holder = holder or new_holder()
        config = app.config
        self.lease_seconds = int(config["SCHEDULER_LEASE_SECONDS"])
        self.renew_seconds = int(config["SCHEDULER_RENEW_SECONDS"])
        with app.app_context():
            self.jobs = list(registered_jobs())
        self.leading = False
        self.held_until: datetime | None = None
        self.seen_holder: str | None = None
        self.stopping = threading.Event()
        self._state_lock = threading.Lock()
        self._job_locks = {job.name: threading.Lock() for job in self.jobs}
        self._shutdown_thread: threading.Thread | None = None
        self._stop_requested_at: float | None = None
        self.scheduler = BlockingScheduler(
            timezone=SCHEDULER_TIMEZONE,
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": int(config["SCHEDULER_MISFIRE_GRACE_SECONDS"]),
            },
        )

    # The lease ----------------------------------------------------------------------
    def holds_lease(self) -> bool:
        """True while this process holds an unexpired lease and is not stopping."""
        held_until = self.held_until
        return (
            not self.stopping.is_set()
            and self.leading
            and held_until is not None
            and utcnow() < held_until
        )

    def renew_lease(self) -> bool:
        """Take or renew the lease; on gaining it, catch up every job. True when held."""
        if self.stopping.is_set():
            return False
        with self._state_lock, self.app.app_context():
            try:
                now = utcnow()
                held = acquire_or_renew(self.holder, now, self.lease_seconds)
                other = None if held else live_holder(now)
                db.session.rollback()
            except Exception:
                db.session.rollback()
                # A database hiccup: the lease we hold stays ours until it expires.
                logger.exception("could not renew the lease")
                return self.holds_lease()
            finally:
                db.session.remove()
            if held:
                self.held_until = now + timedelta(seconds=self.lease_seconds)
                if not self.leading:
                    self.leading = True
                    self.seen_holder = self.holder
                    logger.info("took the lease (%s); catching up every job", self.holder)
                    self._schedule_catch_up()
                return True
            if self.leading:
                logger.warning("lost the lease to %s; standing by", other or "nobody")
            self.leading = False
            self.held_until = None
            if other != self.seen_holder or not self.seen_holder:
                self.seen_holder = other
                logger.info("standby: lease held by %s", other or "nobody (expiring)")
            return False

    def _schedule_catch_up(self) -> None:
        self.scheduler.add_job(
            self.catch_up_all,
            id=CATCH_UP_JOB_ID,
            name="catch-up",
            replace_existing=True,
            misfire_grace_time=None,
        )

    # Runs ---------------------------------------------------------------------------
    def catch_up_all(self) -> None:
        """Catch up every registered job, in registry order."""
        for job in self.jobs:
            if not self.holds_lease():
                return
            self._run(job.name, RunTrigger.CATCH_UP)

    def run_scheduled(self, name: str) -> None:
        """The cron tick of job `name`: run it if (right now) this process holds the lease."""
        if not self.renew_lease():
            logger.info("%s: not run here, this scheduler is a standby", name)
            return
        self._run(name, RunTrigger.SCHEDULE)

    def _run(self, name: str, today_trigger: str) -> None:
        with self._job_locks[name], self.app.app_context():
            try:
                catch_up(
                    name,
                    scheduler_today(),
                    self.holder,
                    today_trigger=today_trigger,
                    keep_going=self.holds_lease,
                )
            except Exception:
                db.session.rollback()
                logger.exception("%s: the run could not be recorded", name)
            finally:
                db.session.remove()

    # The process --------------------------------------------------------------------
    def add_jobs(self) -> None:
        """The lease renewal (now, then every SCHEDULER_RENEW_SECONDS) and each job's cron."""
        self.scheduler.add_job(
            self.renew_lease,
            IntervalTrigger(seconds=self.renew_seconds, timezone=SCHEDULER_TIMEZONE),
            id=LEASE_JOB_ID,
            name="lease",
            next_run_time=datetime.now(SCHEDULER_TIMEZONE),
        )
        for job in self.jobs:
            self.scheduler.add_job(
                self.run_scheduled,
                CronTrigger(**job.cron, timezone=SCHEDULER_TIMEZONE),
                args=[job.name],
                id=f"job:{job.name}",
                name=job.name,
            )

    def request_stop(self, signum: int = 0, _frame: Any = None) -> None:
        """Signal handler: stop once the running date finishes; a second signal exits now."""
        now = time.monotonic()
        if self._stop_requested_at is not None:
            # `timeout`, shells and process managers may deliver one stop twice at once.
            if now - self._stop_requested_at > REPEAT_SIGNAL_SECONDS:
                logger.warning("second signal: exiting now; the lease expires by itself")
                os._exit(1)
            return
        self._stop_requested_at = now
        logger.info("signal %s: stopping after the date being run", signum)
        self.stopping.set()
        self._shutdown_thread = threading.Thread(
            target=self.scheduler.shutdown, kwargs={"wait": True}, name="scheduler-shutdown"
        )
        self._shutdown_thread.start()

    def run(self) -> None:
        """Run until stopped by SIGTERM or SIGINT; release the lease on the way out."""
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        self.add_jobs()
        logger.info(
            "scheduler %s starting: jobs %s; lease %ss, renewed every %ss",
            self.holder,
            ", ".join(f"{job.name} ({job.cadence})" for job in self.jobs),
            self.lease_seconds,
            self.renew_seconds,
        )
        try:
            self.scheduler.start()
        finally:
            if self._shutdown_thread is not None:
                self._shutdown_thread.join()  # the running date finishes before we let go
            self.stop_leading()
        logger.info("scheduler %s stopped", self.holder)

    def stop_leading(self) -> None:
        """Release the lease if this process holds it."""
        self.stopping.set()
        with self._state_lock, self.app.app_context():
            try:
                if release(self.holder, utcnow()):
                    logger.info("released the lease")
            except Exception:
                db.session.rollback()
                logger.exception("could not release the lease; it expires by itself")
            finally:
                db.session.remove()
            self.leading = False


def run_scheduler(app: Flask) -> None:
    """`flask scheduler`: run the scheduler in this process until it is stopped."""
    SchedulerService(app).run()
