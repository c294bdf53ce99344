"""Two real `flask scheduler` processes on one database: one leads, one stands by, and the
standby takes over (and catches up) after the leader is killed with SIGKILL.

Runs on its own migrated database: PostgreSQL beside TEST_DATABASE_URL when it is set,
a SQLite file otherwise. The processes run the fake registry with a 3 s lease.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from app.core.db import utcnow
from app.extensions import db
from app.scheduler.lease import current_lease, holder_pid
from app.scheduler.models import JobRun
from tests.concurrency import migrated_app
from tests.scheduler.fake_registry import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 11, 24)
TIMEOUT = 30.0


@pytest.fixture(scope="module")
def sched_app(tmp_path_factory):
    with migrated_app(tmp_path_factory, "sched") as flask_app:
        yield flask_app


def _start(url: str, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "APP_ENV": "development",
        "DATABASE_URL": url,
        "SCHEDULER_LEASE_SECONDS": "3",
        "SCHEDULER_RENEW_SECONDS": "1",
        "SCHEDULER_REGISTRY": REGISTRY,
        "SCHEDULER_TODAY": TODAY.isoformat(),
        "LOG_LEVEL": "INFO",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("TEST_DATABASE_URL", None)
    with log.open("wb") as handle:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "scheduler"],
            cwd=ROOT,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )


def _poll(check: Callable[[], object], what: str, logs: list[Path]) -> object:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    output = "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')}" for log in logs)
    pytest.fail(f"timed out waiting for {what}\n{output}")


def _read(flask_app, query: Callable[[], object]) -> object:
    with flask_app.app_context():
        try:
            return query()
        finally:
            db.session.remove()


def _runs() -> list[tuple[str, date, str, str]]:
    rows = db.session.execute(select(JobRun.job, JobRun.as_of, JobRun.status, JobRun.holder))
    return sorted(tuple(row) for row in rows)


def _lease_holder() -> str | None:
    lease = current_lease()
    return lease.holder if lease is not None and lease.expires_at > utcnow() else None


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen]]:
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def test_one_scheduler_leads_and_the_standby_takes_over(sched_app, processes, tmp_path):
    url = sched_app.config["SQLALCHEMY_DATABASE_URI"]
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    processes.extend(_start(url, log) for log in logs)
    by_pid = {process.pid: process for process in processes}

    # One of them takes the lease and runs today's daily and this month's monthly.
    expected = {("daily", TODAY), ("monthly", date(2026, 11, 1))}

    def led() -> str | None:
        runs = _read(sched_app, _runs)
        done = {(job, as_of) for job, as_of, status, _ in runs if status == "succeeded"}
        return _read(sched_app, _lease_holder) if done == expected else None

    leader = _poll(led, "the first runs", logs)
    leader_pid = holder_pid(leader)
    assert leader_pid in by_pid
    # For a few renewals (longer than the lease), the leader keeps the lease, and every
    # run is the leader's: the standby ran nothing.
    settle = time.monotonic() + 4
    while time.monotonic() < settle:
        assert _read(sched_app, _lease_holder) == leader
        assert {holder for *_, holder in _read(sched_app, _runs)} == {leader}
        time.sleep(0.5)
    assert all(process.poll() is None for process in processes)

    # Kill the leader outright; forget today's daily run.
    os.kill(leader_pid, signal.SIGKILL)
    by_pid[leader_pid].wait(timeout=10)

    def forget() -> None:
        db.session.execute(delete(JobRun).where(JobRun.as_of == TODAY))
        db.session.commit()

    _read(sched_app, forget)
    standby = next(process for process in processes if process.pid != leader_pid)

    def took_over() -> str | None:
        holder = _read(sched_app, _lease_holder)
        if holder is None or holder_pid(holder) != standby.pid:
            return None
        runs = _read(sched_app, _runs)
        return holder if ("daily", TODAY, "succeeded", holder) in runs else None

    new_leader = _poll(took_over, "the standby to take over and catch up", logs)
    runs = _read(sched_app, _runs)
    assert ("monthly", date(2026, 11, 1), "succeeded", leader) in runs  # not rerun
    assert len(runs) == 2

    # A stop signal ends the new leader cleanly and releases the lease at once.
    standby.send_signal(signal.SIGTERM)
    assert standby.wait(timeout=20) == 0
    assert _read(sched_app, _lease_holder) is None
    log = logs[processes.index(standby)].read_text()
    assert "standby: lease held by" in log
    assert f"took the lease ({new_leader})" in log
    assert "daily 2026-11-24 succeeded" in log
    assert "released the lease" in log
