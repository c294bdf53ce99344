"""The real daily job end to end (SPEC §12): run twice for a date it changes nothing, and a
catch-up over a 10-day gap ends exactly where ten daily runs end.

Two worlds are built the same way on two fresh migrated databases (so their ids match):
one scheduler ran every day, the other was down for ten days and caught up at once. The
fingerprint holds everything the daily job writes — tasks, loans and installments,
integrity events, lost flags, notifications, audit entries — without clock timestamps.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.core.audit import AuditEntry
from app.extensions import db
from app.followups.models import FollowupTask
from app.founders.models import Founder
from app.integrity.models import IntegrityEvent
from app.loans import operations as loan_operations
from app.loans.models import Loan, LoanInstallment
from app.notifications.models import Notification
from app.scheduler.models import JobRun, RunStatus, RunTrigger
from app.scheduler.runner import catch_up, run_job
from tests.businesses.factories import make_business
from tests.concurrency import migrated_app
from tests.factories import make_founder, make_user
from tests.loans.factories import make_loan

FIRST = date(2026, 5, 10)  # the last day both schedulers ran
LAST = FIRST + timedelta(days=10)
HOLDER = "test-scheduler"


@pytest.fixture
def worlds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, Flask]]:
    with (
        migrated_app(tmp_path_factory, "daily_a") as every_day,
        migrated_app(tmp_path_factory, "daily_b") as caught_up,
    ):
        for app in (every_day, caught_up):
            with app.app_context():
                build_world()
                db.session.commit()
                assert run_job("daily", FIRST, trigger=RunTrigger.SCHEDULE, holder=HOLDER).status
                db.session.remove()
        yield every_day, caught_up


def build_world() -> None:
    """Founders registering, businesses due for their 3-month call, a loan falling behind,
    a loan paid on time, staff and officers to remind."""
    make_user(role="staff", region_code="460100")
    make_user(role="staff", region_code="460000")
    make_user(role="officer", region_code="460100")
    make_founder(registered_on=date(2026, 4, 12))  # intake call missed within the gap
    make_founder(registered_on=date(2026, 5, 12))  # registers during the gap
    make_founder(region_code="460200", registered_on=date(2026, 5, 4))
    make_business(opened_on=date(2026, 2, 15))  # 3-month call due 05-15
    make_business(opened_on=date(2026, 2, 28), region_code="460200")
    behind = make_loan(disbursed_on=date(2026, 1, 31))  # nothing paid: arrears grow
    on_time = make_loan(disbursed_on=date(2026, 2, 20), amount=Decimal("30000.00"))
    first_due = db.session.scalars(
        select(LoanInstallment)
        .where(LoanInstallment.loan_id == on_time.id)
        .order_by(LoanInstallment.n)
    ).first()
    assert behind.id != on_time.id
    reviewer = make_user(role="officer", region_code="460100")
    loan_operations.post_repayment(
        reviewer,
        on_time.id,
        {
            "paid_on": first_due.due_on,
            "amount": first_due.principal + first_due.borrower_interest,
            "reference": "BANK-OK-1",
        },
        as_of=first_due.due_on,
    )


def fingerprint() -> dict[str, Any]:
    """What the daily job writes, without ids of runs or clock timestamps."""
    return {
        "tasks": sorted(
            db.session.execute(
                select(
                    FollowupTask.id,
                    FollowupTask.kind,
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
        "audit": Counter(
            action
            for action in db.session.scalars(select(AuditEntry.action))
            if action != "job.run"
        ),
    }


def in_world(app: Flask, work: Any) -> Any:
    with app.app_context():
        try:
            return work()
        finally:
            db.session.remove()


def test_ten_daily_runs_equal_one_catch_up_and_a_rerun_changes_nothing(
    worlds: tuple[Flask, Flask],
) -> None:
    every_day, caught_up = worlds

    def run_each_day() -> None:
        day = FIRST
        while day < LAST:
            day += timedelta(days=1)
            [run] = catch_up("daily", day, HOLDER)
            assert (run.as_of, run.status) == (day, RunStatus.SUCCEEDED)

    def run_the_gap() -> list[date]:
        runs = catch_up("daily", LAST, HOLDER)
        assert all(run.status == RunStatus.SUCCEEDED for run in runs)
        return [run.as_of for run in runs]

    in_world(every_day, run_each_day)
    assert in_world(caught_up, run_the_gap) == [FIRST + timedelta(days=n) for n in range(1, 11)]
    daily = in_world(every_day, fingerprint)
    assert daily == in_world(caught_up, fingerprint)

    # The gap mattered: tasks were planned and missed, arrears grew, reminders went out.
    statuses = Counter(task[5] for task in daily["tasks"])
    assert statuses["open"]
    assert statuses["missed"]
    assert any(loan[2] > 60 for loan in daily["loans"])
    assert any(event[1] == "late_over_30" for event in daily["integrity"])
    assert any(key.startswith("followups_due:") for _user, key, _p, _d in daily["notifications"])

    def rerun_last_day() -> int:
        run = run_job("daily", LAST, trigger=RunTrigger.MANUAL, holder=HOLDER)
        assert run.status == RunStatus.SUCCEEDED
        return db.session.scalar(
            select(JobRun.attempts).where(JobRun.job == "daily", JobRun.as_of == LAST)
        )

    assert in_world(every_day, rerun_last_day) == 2
    assert in_world(every_day, fingerprint) == daily
