"""Helpers of the crash tests: real processes (gunicorn, `flask scheduler`) on a
database of the test's own, killed with SIGKILL in the middle of their work.

Every process is started in a session of its own and, whatever happens, its whole process
group is killed and reaped when the test ends, so no gunicorn worker or scheduler outlives
a test. Waiting is always polling against a generous deadline, never a fixed sleep: the
machine running CI has two cores shared with everything else.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, text

from app.extensions import db

ROOT = Path(__file__).resolve().parents[2]
ON_POSTGRES = bool(os.environ.get("TEST_DATABASE_URL"))
TIMEOUT = 60.0
# Never part of a state comparison: the scheduler's own bookkeeping.
BOOKKEEPING_TABLES = frozenset({"job_run", "scheduler_lease", "alembic_version"})


def child_env(url: str, **extra: str) -> dict[str, str]:
    """The environment of a child process running the app in development mode on `url`."""
    env = {
        **os.environ,
        "APP_ENV": "development",
        "DATABASE_URL": url,
        "SECRET_KEY": "resilience-test-secret-key",
        "LOG_LEVEL": "INFO",
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        **extra,
    }
    env.pop("TEST_DATABASE_URL", None)
    return env


class Processes:
    """The processes a test started; each one leads a process group of its own."""

    def __init__(self) -> None:
        self.started: list[tuple[subprocess.Popen, Path]] = []

    def start(
        self, args: Sequence[str], *, env: dict[str, str], log: Path, **popen: Any
    ) -> subprocess.Popen:
        """Start `args` in a new session, its output in `log`."""
        with log.open("wb") as handle:  # the child keeps its own copy of the descriptor
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                list(args),
                cwd=ROOT,
                env=env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **popen,
            )
        self.started.append((process, log))
        return process

    def logs(self) -> str:
        """Every started process's output so far, for a failure message."""
        return "\n".join(
            f"--- {log.name} (pid {process.pid})\n{log.read_text(errors='replace')[-6000:]}"
            for process, log in self.started
        )

    def kill_all(self) -> None:
        """SIGKILL each process's whole group (a gunicorn master and its workers), reap."""
        for process, _log in self.started:
            with contextlib.suppress(ProcessLookupError):  # the group is gone already
                os.killpg(process.pid, signal.SIGKILL)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:  # pragma: no cover - a zombie we cannot reap
                process.kill()
                process.wait(timeout=30)


def poll(
    check: Callable[[], Any], what: str, *, processes: Processes | None = None, timeout=TIMEOUT
) -> Any:
    """Call `check` until it answers something true, and return that; fail after `timeout`
    seconds with the processes' output."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            output = processes.logs() if processes is not None else ""
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{output}")
        time.sleep(0.1)


def read(app: Flask, query: Callable[[], Any]) -> Any:
    """Run `query` in a fresh session of `app`, closed (rolled back) afterwards, so nothing
    of it stays open against the processes. It runs as a GET request would: on SQLite its
    transaction begins deferred, so it reads beside a process holding the write lock."""
    with app.test_request_context("/", method="GET"):
        try:
            return query()
        finally:
            db.session.rollback()
            db.session.remove()


def table_counts() -> dict[str, int]:
    """Rows in every table of the models (bookkeeping tables left out)."""
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in db.metadata.sorted_tables
        if table.name not in BOOKKEEPING_TABLES
    }


def open_transactions() -> list[str]:
    """What still holds the database half-written: on PostgreSQL, the other sessions of
    this database with an open transaction; on SQLite, a writer's lock (taking the write
    lock must succeed at once) or a damaged file."""
    if db.session.get_bind().dialect.name == "postgresql":
        rows = db.session.execute(
            text(
                "SELECT pid, state, left(query, 60) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND xact_start IS NOT NULL"
            )
        )
        return [f"backend {pid} {state}: {query}" for pid, state, query in rows]
    import sqlite3

    path = db.engine.url.database
    connection = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("ROLLBACK")
        except sqlite3.OperationalError as error:
            return [f"write lock: {error}"]
        check = [row[0] for row in connection.execute("PRAGMA integrity_check")]
        return [] if check == ["ok"] else check
    finally:
        connection.close()


def run_flask(url: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`flask --app wsgi ARGS` against `url`, as an operator would run it."""
    return subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=child_env(url),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
