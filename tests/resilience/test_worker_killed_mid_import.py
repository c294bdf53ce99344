"""A gunicorn worker killed with SIGKILL in the middle of a bank statement import (issue 9).

Real gunicorn (a master and two sync workers) serves the app on a database of the test's
own (a SQLite file, or `<testdb>_crash_web` on PostgreSQL) holding twenty active loans. An
officer uploads a 300-row statement through the API; the worker serving it is stopped by
the test's gunicorn hooks right after the 120th repayment row is inserted — inside the
import's one transaction — and killed there. Then:

- the client sees the request fail; the database holds nothing of the file (every table's
  row count and the loans' money are as before) and no transaction or lock of the dead
  worker is left; the master has started a new worker;
- uploading the file again posts each of its 300 rows exactly once, a third upload finds
  them all "already posted", and `flask loans reconcile` finds no difference.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import sys
import threading
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.loans.models import Allocation, Loan, LoanInstallment, Repayment
from tests.concurrency import migrated_app
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.loans.factories import make_loan
from tests.resilience.gunicorn_hooks import HOLD_HEADER
from tests.resilience.helpers import (
    Processes,
    child_env,
    open_transactions,
    poll,
    read,
    run_flask,
    table_counts,
)

LOANS = 20
ROWS_PER_LOAN = 15
ROWS = LOANS * ROWS_PER_LOAN
HOLD_AFTER = 120  # the repayment insert the killed worker stops at
WORKERS = 2
AMOUNT = Decimal("100.00")
FIRST_PAID_ON = date(2026, 2, 2)


@pytest.fixture
def web_app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The app on its own migrated database: an officer and twenty active loans, committed."""
    with migrated_app(tmp_path_factory, "crash_web") as app:
        with app.app_context():
            officer = make_user(role="officer", region_code="460100")
            loans = [make_loan() for _ in range(LOANS)]
            db.session.commit()
            loan_ids = [loan.id for loan in loans]
            app.config["crash"] = {"officer": officer.username, "loans": loan_ids}
            db.session.remove()
        yield app


def statement(loan_ids: list[int]) -> bytes:
    """A .csv bank statement: fifteen 100.00 payments on each loan, every reference new."""
    lines = ["交易流水号,贷款编号,还款日期,金额"]
    for loan_id in loan_ids:
        for n in range(ROWS_PER_LOAN):
            paid_on = FIRST_PAID_ON + timedelta(days=10 * n)
            lines.append(f"CRASH-{loan_id}-{n},{loan_id},{paid_on.isoformat()},{AMOUNT}")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def start_gunicorn(processes: Processes, url: str, tmp_path: Path) -> tuple[Any, int]:
    """gunicorn with two workers on a listening socket the test made (no port race)."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    try:
        master = processes.start(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                str(WORKERS),
                "--bind",
                f"fd://{listener.fileno()}",
                "--timeout",
                "120",
                "--graceful-timeout",
                "5",
                "--config",
                "python:tests.resilience.gunicorn_hooks",
                "wsgi:app",
            ],
            env=child_env(url, RESILIENCE_PROGRESS=str(tmp_path / "progress")),
            log=tmp_path / "gunicorn.log",
            pass_fds=(listener.fileno(),),
        )
    finally:
        listener.close()  # the master keeps its own copy
    return master, port


def children(pid: int) -> set[int]:
    """The live (not zombie) child processes of `pid`, read from /proc."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(entry.name))
    return found


def request(
    port: int, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
        is_json = response.getheader("Content-Type", "").startswith("application/json")
        return response.status, json.loads(data) if is_json and data else data
    finally:
        connection.close()


def upload(port: int, token: str, data: bytes, *, hold_after: int = 0) -> tuple[int, Any]:
    """POST the statement to /api/v1/imports/repayments as multipart `file`."""
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="statement.csv"\r\nContent-Type: text/csv\r\n\r\n'
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": f"multipart/form-data; boundary={boundary}",
    }
    if hold_after:
        headers[HOLD_HEADER] = str(hold_after)
    return request(port, "POST", "/api/v1/imports/repayments", body, headers)


def money() -> dict[str, Any]:
    """The loans' and installments' money, and the file's repayments."""
    return {
        "outstanding": db.session.scalar(select(func.sum(Loan.outstanding_principal))),
        "installments_paid": tuple(
            db.session.execute(
                select(
                    func.sum(LoanInstallment.paid_principal),
                    func.sum(LoanInstallment.paid_interest),
                )
            ).one()
        ),
        "allocated": tuple(
            db.session.execute(
                select(func.sum(Allocation.principal), func.sum(Allocation.interest))
            ).one()
        ),
        "file_repayments": tuple(
            db.session.execute(
                select(func.count(), func.sum(Repayment.amount)).where(
                    Repayment.reference.like("CRASH-%")
                )
            ).one()
        ),
    }


def test_a_worker_killed_mid_import_leaves_nothing_and_the_file_posts_once_after(
    web_app: Flask, processes: Processes, tmp_path: Path
) -> None:
    url = web_app.config["SQLALCHEMY_DATABASE_URI"]
    data = statement(web_app.config["crash"]["loans"])
    master, port = start_gunicorn(processes, url, tmp_path)

    def serving() -> set[int] | None:
        workers = children(master.pid)
        if master.poll() is not None or len(workers) != WORKERS:
            return None
        try:
            status, _body = request(port, "GET", "/login")
        except OSError:
            return None
        return workers if status == 200 else None

    workers = poll(serving, "gunicorn to serve", processes=processes)
    status, body = request(
        port,
        "POST",
        "/api/v1/auth/token",
        json.dumps(
            {"username": web_app.config["crash"]["officer"], "password": DEFAULT_PASSWORD}
        ).encode(),
        {"Content-Type": "application/json"},
    )
    assert status == 201, body
    token = body["token"]
    before = read(web_app, lambda: (table_counts(), money()))
    assert before[1]["file_repayments"] == (0, None)
    assert before[1]["allocated"] == (None, None)

    # The upload, in a thread: its worker stops after the 120th repayment insert.
    outcome: dict[str, Any] = {}

    def send() -> None:
        try:
            outcome["response"] = upload(port, token, data, hold_after=HOLD_AFTER)
        except Exception as error:  # what the client sees when the worker dies
            outcome["error"] = error

    client = threading.Thread(target=send)
    client.start()
    progress = tmp_path / "progress"
    poll(progress.exists, "the import to reach its 120th row", processes=processes)
    pid, inserted = map(int, progress.read_text().split())
    assert pid in workers
    assert inserted == HOLD_AFTER
    # The import's transaction is open and writing (on SQLite it holds the write lock).
    assert read(web_app, open_transactions)
    os.kill(pid, signal.SIGKILL)

    client.join(timeout=60)
    assert not client.is_alive()
    assert "response" not in outcome, outcome
    assert isinstance(outcome["error"], ConnectionError), repr(outcome["error"])

    # Nothing of the file, nothing left open: the dead worker's transaction is gone.
    poll(
        lambda: not read(web_app, open_transactions),
        "the dead worker's transaction to end",
        processes=processes,
    )
    assert read(web_app, lambda: (table_counts(), money())) == before

    # The master replaces the worker.
    def replaced() -> set[int] | None:
        now = children(master.pid)
        return now if len(now) == WORKERS and pid not in now else None

    assert master.poll() is None
    poll(replaced, "the master to start a new worker", processes=processes)
    assert f"Worker (pid:{pid}) was sent SIGKILL!" in (tmp_path / "gunicorn.log").read_text()

    # The same file again: every row posted exactly once.
    status, report = upload(port, token, data)
    assert status == 200, report
    assert (report["total_rows"], report["posted"], report["errors"]) == (ROWS, ROWS, 0)
    after = read(web_app, lambda: (table_counts(), money()))
    assert after[1]["file_repayments"] == (ROWS, ROWS * AMOUNT)
    assert after[0]["repayment"] == before[0]["repayment"] + ROWS
    assert after[0]["audit_entry"] > before[0]["audit_entry"] + ROWS  # a post each, an import
    assert sum(after[1]["allocated"]) == ROWS * AMOUNT  # nothing was allocated before
    assert after[1]["outstanding"] < before[1]["outstanding"]

    # And a third time: all "already posted", nothing new.
    status, report = upload(port, token, data)
    assert status == 200, report
    assert (report["posted"], report["already_posted"], report["errors"]) == (0, ROWS, 0)
    again = read(web_app, lambda: (table_counts(), money()))
    assert again[1] == after[1]
    assert again[0] == after[0] | {"audit_entry": after[0]["audit_entry"] + 1}  # the import's

    def duplicated_references() -> int:
        repeated = (
            select(Repayment.reference)
            .group_by(Repayment.loan_id, Repayment.reference)
            .having(func.count() > 1)
        )
        return db.session.scalar(select(func.count()).select_from(repeated.subquery()))

    assert read(web_app, duplicated_references) == 0
    assert read(web_app, open_transactions) == []

    result = run_flask(url, "loans", "reconcile")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No differences: every loan reconciles." in result.stdout
