"""A scheduler killed with SIGKILL in the middle of the daily job, and the one started
after it (issue 9).

A real `flask scheduler` runs the real jobs (through tests/resilience/crash_registry.py,
which can stop a step after its work is flushed and before the runner commits it) on a
database of the test's own, with SCHEDULER_TODAY pinned and a 3 s lease. It is killed
while it holds the daily job either in its first step, the loan sweep, or in the second,
follow-up planning, once the sweep is committed. Then:

- the killed step left nothing: before the kill its transaction was open, after it the
  step's rows are absent (and the committed sweep's present);
- a second scheduler takes the lease over, sees the `running` daily run as dead (its
  holder lost the lease), reruns it once and runs the monthly job;
- every effect of the jobs exists exactly once: the database equals, table by table and
  row by row, one built the same way where the jobs ran once and were never killed;
  one succeeded run per job and date, the daily one on its second attempt;
- reconciliation finds no difference in any loan.
"""

from __future__ import annotations

import os
import signal
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.core.audit import AuditEntry
from app.extensions import db
from app.followups.models import FollowupTask
from app.founders.models import Founder
from app.integrity.models import IntegrityEvent
from app.loans import operations as loan_operations
from app.loans.models import Loan, LoanInstallment
from app.loans.reconcile import reconcile_loans
from app.notifications.models import Notification
from app.reports.models import KpiSnapshot
from app.scheduler.lease import holder_pid
from app.scheduler.models import JobRun, RunStatus
from app.scheduler.runner import catch_up
from tests.businesses.factories import make_business
from tests.concurrency import migrated_app
from tests.factories import make_founder, make_user
from tests.loans.factories import make_loan
from tests.resilience.crash_registry import REGISTRY
from tests.resilience.helpers import (
    Processes,
    child_env,
    open_transactions,
    poll,
    read,
    table_counts,
)

TODAY = date(2026, 11, 24)
MONTH = TODAY.replace(day=1)


def build_world() -> None:
    """Founders and businesses with follow-ups due around TODAY, loans deep in arrears
    (defaulting), one a month behind, one paid on time, and staff to remind. Built the
    same way on every database, so the ids of what it makes match."""
    make_user(role="staff", region_code="460100")
    make_user(role="staff", region_code="460000")
    officer = make_user(role="officer", region_code="460100")
    make_founder(registered_on=TODAY - timedelta(days=2))
    make_founder(registered_on=TODAY - timedelta(days=20))
    make_founder(region_code="460200", registered_on=TODAY - timedelta(days=5))
    make_business(opened_on=date(2026, 8, 28))
    make_business(opened_on=date(2026, 8, 30), region_code="460200")
    for _ in range(3):
        make_loan(disbursed_on=date(2026, 1, 31))
    make_loan(disbursed_on=date(2026, 8, 15), amount=Decimal("50000.00"))
    on_time = make_loan(disbursed_on=date(2026, 10, 20), amount=Decimal("30000.00"))
    first_due = db.session.scalars(
        select(LoanInstallment)
        .where(LoanInstallment.loan_id == on_time.id)
        .order_by(LoanInstallment.n)
    ).first()
    loan_operations.post_repayment(
        officer,
        on_time.id,
        {
            "paid_on": first_due.due_on,
            "amount": first_due.principal + first_due.borrower_interest,
            "reference": "BANK-ON-TIME-1",
        },
        as_of=first_due.due_on,
    )


def fingerprint() -> dict[str, Any]:
    """Everything the jobs write, without clock timestamps and without the ids of the rows
    the jobs insert (on PostgreSQL a killed transaction still used up sequence values)."""
    integrity_event = IntegrityEvent.__tablename__
    return {
        "tables": table_counts(),
        "tasks": sorted(
            db.session.execute(
                select(
                    FollowupTask.kind,
                    FollowupTask.subject_type,
                    FollowupTask.subject_id,
                    FollowupTask.sequence,
                    FollowupTask.due_on,
                    FollowupTask.status,
                    FollowupTask.closed_on,
                    FollowupTask.region_code,
                )
            ).all()
        ),
        "loans": sorted(
            db.session.execute(
                select(
                    Loan.id,
                    Loan.status,
                    Loan.days_past_due,
                    Loan.bucket,
                    Loan.swept_on,
                    Loan.defaulted_on,
                    Loan.outstanding_principal,
                )
            ).all()
        ),
        "installments": sorted(
            db.session.execute(
                select(LoanInstallment.id, LoanInstallment.status, LoanInstallment.subsidy_lost)
            ).all()
        ),
        "integrity": sorted(
            db.session.execute(
                select(
                    IntegrityEvent.founder_id,
                    IntegrityEvent.kind,
                    IntegrityEvent.points,
                    IntegrityEvent.occurred_on,
                    IntegrityEvent.once_key,
                    IntegrityEvent.loan_id,
                    IntegrityEvent.installment_id,
                )
            ).all()
        ),
        "lost": sorted(db.session.execute(select(Founder.id, Founder.lost_to_follow_up_on)).all()),
        "notifications": sorted(
            (user_id, key, sorted(params.items()), created_on)
            for user_id, key, params, created_on in db.session.execute(
                select(
                    Notification.user_id,
                    Notification.key,
                    Notification.params,
                    Notification.created_on,
                )
            )
        ),
        "kpis": sorted(
            (region, as_of, sorted(figures.items()))
            for region, as_of, figures in db.session.execute(
                select(KpiSnapshot.region_code, KpiSnapshot.as_of, KpiSnapshot.figures)
            )
        ),
        "audit": Counter(
            (action, entity_type, entity_id if entity_type != integrity_event else "")
            for action, entity_type, entity_id in db.session.execute(
                select(AuditEntry.action, AuditEntry.entity_type, AuditEntry.entity_id)
            )
        ),
    }


def runs() -> list[tuple[str, date, str, int, str]]:
    rows = db.session.execute(
        select(JobRun.job, JobRun.as_of, JobRun.status, JobRun.attempts, JobRun.holder)
    )
    return sorted(tuple(row) for row in rows)


@pytest.fixture(scope="module")
def never_killed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The world after the daily and monthly jobs ran once for TODAY, undisturbed."""
    with migrated_app(tmp_path_factory, "crash_reference") as app, app.app_context():
        build_world()
        db.session.commit()
        for job in ("daily", "monthly"):
            [run] = catch_up(job, TODAY, "reference")
            assert run.status == RunStatus.SUCCEEDED, run.error
        result = fingerprint()
        db.session.remove()
    # The jobs had work to do, so "exactly once" means something.
    assert Counter(loan[1] for loan in result["loans"])["defaulted"] == 3
    assert {event[1] for event in result["integrity"]} >= {"late_over_30", "defaulted"}
    assert result["tasks"]
    assert result["notifications"]
    assert result["kpis"]
    assert sum(n for (action, *_), n in result["audit"].items() if action == "loan.default") == 3
    return result


@pytest.fixture
def crash_app(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[Flask]:
    suffix = f"crash_sched_{request.node.callspec.id}"
    with migrated_app(tmp_path_factory, suffix) as app:
        with app.app_context():
            build_world()
            db.session.commit()
            db.session.remove()
        yield app


def start_scheduler(processes: Processes, url: str, log: Path, **extra: str) -> Any:
    env = child_env(
        url,
        SCHEDULER_LEASE_SECONDS="3",
        SCHEDULER_RENEW_SECONDS="1",
        SCHEDULER_REGISTRY=REGISTRY,
        SCHEDULER_TODAY=TODAY.isoformat(),
        **extra,
    )
    return processes.start(
        [sys.executable, "-m", "flask", "--app", "wsgi", "scheduler"], env=env, log=log
    )


def what_the_sweep_wrote() -> tuple[int, int, int]:
    """Loans swept for TODAY, integrity events, `loan.default` audit entries."""
    return (
        db.session.scalar(select(func.count()).where(Loan.swept_on == TODAY)),
        db.session.scalar(select(func.count()).select_from(IntegrityEvent)),
        db.session.scalar(select(func.count()).where(AuditEntry.action == "loan.default")),
    )


def tasks() -> int:
    return db.session.scalar(select(func.count()).select_from(FollowupTask))


@pytest.mark.parametrize("killed_in", ["loan_sweep", "followup_planning"])
def test_a_scheduler_killed_mid_job_is_replaced_and_every_effect_exists_once(
    killed_in: str,
    crash_app: Flask,
    never_killed: dict[str, Any],
    processes: Processes,
    tmp_path: Path,
) -> None:
    url = crash_app.config["SQLALCHEMY_DATABASE_URI"]
    expected_sweep = (
        sum(1 for loan in never_killed["loans"] if loan[4] == TODAY),
        len(never_killed["integrity"]),
        sum(n for (action, *_), n in never_killed["audit"].items() if action == "loan.default"),
    )
    unswept = read(crash_app, what_the_sweep_wrote)
    assert unswept[0] == unswept[2] == 0
    assert unswept[1] < expected_sweep[1]

    # The first scheduler stops inside the step, its work flushed, not committed.
    progress = tmp_path / "progress"
    first = start_scheduler(
        processes,
        url,
        tmp_path / "first.log",
        RESILIENCE_HOLD_STEP=killed_in,
        RESILIENCE_PROGRESS=str(progress),
    )
    poll(progress.exists, f"the first scheduler to hold in {killed_in}", processes=processes)
    pid, step = progress.read_text().split()
    assert (int(pid), step) == (first.pid, killed_in)
    assert read(crash_app, open_transactions)  # the step's transaction is open
    [(job, as_of, status, attempts, dead_holder)] = read(crash_app, runs)
    assert (job, as_of, status, attempts, holder_pid(dead_holder)) == (
        "daily",
        TODAY,
        "running",
        1,
        first.pid,
    )
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)

    # Nothing of the killed step is there; what committed before it is.
    poll(
        lambda: not read(crash_app, open_transactions),
        "the killed scheduler's transaction to end",
        processes=processes,
    )
    swept = read(crash_app, what_the_sweep_wrote)
    assert swept == (unswept if killed_in == "loan_sweep" else expected_sweep)
    assert read(crash_app, tasks) == 0
    assert read(crash_app, runs)[0][2] == "running"  # the dead run, as it was left

    # A new scheduler takes over, reruns the dead daily run once, runs the monthly job.
    second = start_scheduler(processes, url, tmp_path / "second.log")

    def finished() -> list[tuple[str, date, str, int, str]] | None:
        done = read(crash_app, runs)
        return done if {row[2] for row in done} == {"succeeded"} and len(done) == 2 else None

    done = poll(finished, "the second scheduler to finish both jobs", processes=processes)
    assert [(job, as_of, status, attempts) for job, as_of, status, attempts, _ in done] == [
        ("daily", TODAY, "succeeded", 2),
        ("monthly", MONTH, "succeeded", 1),
    ]
    assert {holder_pid(holder) for *_, holder in done} == {second.pid}

    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=30) == 0
    log = (tmp_path / "second.log").read_text()
    assert f"daily {TODAY.isoformat()}: taking over a stale run of {dead_holder}" in log

    # Every effect once: the same database as where the jobs were never interrupted.
    assert read(crash_app, fingerprint) == never_killed
    assert read(crash_app, lambda: reconcile_loans(as_of=TODAY).differences) == []
    assert read(crash_app, open_transactions) == []
