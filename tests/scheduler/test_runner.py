"""run_job and catch_up: claims, per-step commits, failures, reruns, catch-up order."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.core.audit import AuditEntry
from app.core.db import utcnow
from app.core.errors import Conflict, NotFound
from app.extensions import db
from app.scheduler.lease import acquire_or_renew
from app.scheduler.models import JobRun
from app.scheduler.runner import catch_up, pending_dates, run_job

D = date(2026, 11, 24)


def fake_writes(day):
    stmt = select(AuditEntry.action).where(
        AuditEntry.entity_type == "fake", AuditEntry.entity_id == day.isoformat()
    )
    return sorted(db.session.scalars(stmt))


def runs_of(job="daily"):
    stmt = select(JobRun).where(JobRun.job == job).order_by(JobRun.as_of)
    return list(db.session.scalars(stmt.execution_options(populate_existing=True)))


def test_a_run_is_recorded_with_each_steps_counts(db_session, fake_jobs):
    run = run_job("daily", D, trigger="schedule", holder="host:1:aa")
    assert (run.job, run.as_of, run.status, run.trigger) == ("daily", D, "succeeded", "schedule")
    assert run.counts == {"first": {"written": 1}, "middle": {"written": 1}, "last": {"written": 1}}
    assert run.finished_at >= run.started_at
    assert (run.error, run.attempts, run.holder) == ("", 1, "host:1:aa")
    assert fake_writes(D) == ["fake.first", "fake.last", "fake.middle"]


def test_unknown_job_is_not_found(db_session, fake_jobs):
    with pytest.raises(NotFound):
        run_job("weekly", D, trigger="manual", holder="admin")


def test_a_failing_middle_step_rolls_back_only_itself_and_the_rerun_completes(
    db_session, fake_jobs
):
    fake_jobs.FAILING.add(("middle", D))
    run = run_job("daily", D, trigger="schedule", holder="h")
    assert run.status == "failed"
    assert run.error.startswith("middle: RuntimeError: middle broke on 2026-11-24")
    assert run.counts == {"first": {"written": 1}}  # what committed before the failure
    assert run.finished_at is not None
    # The first step's writes committed; the middle step's write was rolled back.
    assert fake_writes(D) == ["fake.first"]

    fake_jobs.FAILING.clear()
    rerun = run_job("daily", D, trigger="schedule", holder="h")
    assert (rerun.id, rerun.status, rerun.attempts, rerun.error) == (run.id, "succeeded", 2, "")
    # The rerun's end state equals a clean run's.
    clean_day = D + timedelta(days=1)
    run_job("daily", clean_day, trigger="schedule", holder="h")
    assert fake_writes(D) == fake_writes(clean_day)
    assert len(runs_of()) == 2


def test_a_rerun_of_a_succeeded_date_updates_its_row(db_session, fake_jobs):
    first = run_job("daily", D, trigger="schedule", holder="h")
    second = run_job("daily", D, trigger="manual", holder="admin")
    assert second.id == first.id
    assert (second.attempts, second.trigger, second.holder) == (2, "manual", "admin")
    assert second.counts["first"] == {"written": 0}  # idempotent: nothing new the second time
    assert len(runs_of()) == 1
    assert fake_writes(D) == ["fake.first", "fake.last", "fake.middle"]


def _running_row(*, trigger="manual", holder="someone", started_ago=timedelta(0)):
    row = JobRun(
        job="daily",
        as_of=D,
        status="running",
        trigger=trigger,
        holder=holder,
        started_at=utcnow() - started_ago,
    )
    db.session.add(row)
    db.session.commit()
    return row


def test_a_live_running_date_is_a_conflict(db_session, fake_jobs):
    _running_row()
    with pytest.raises(Conflict) as raised:
        run_job("daily", D, trigger="manual", holder="admin")
    assert raised.value.status_code == 409
    assert fake_writes(D) == []


def test_a_run_older_than_the_stale_limit_is_taken_over(db_session, fake_jobs):
    _running_row(started_ago=timedelta(hours=2))
    run = run_job("daily", D, trigger="manual", holder="admin")
    assert (run.status, run.attempts, run.holder) == ("succeeded", 2, "admin")


def test_a_scheduler_run_is_stale_once_its_scheduler_lost_the_lease(db_session, fake_jobs):
    _running_row(trigger="schedule", holder="dead:1:aa")
    acquire_or_renew("dead:1:aa", utcnow(), 60)
    with pytest.raises(Conflict):  # its scheduler still holds the lease: alive
        run_job("daily", D, trigger="catch_up", holder="other:2:bb")
    acquire_or_renew("other:2:bb", utcnow() + timedelta(seconds=61), 60)  # after expiry
    run = run_job("daily", D, trigger="catch_up", holder="other:2:bb")
    assert (run.status, run.attempts, run.holder) == ("succeeded", 2, "other:2:bb")


def test_with_no_run_ever_a_catch_up_runs_only_today(db_session, fake_jobs):
    runs = catch_up("daily", D, "h")
    assert [(run.as_of, run.trigger) for run in runs] == [(D, "catch_up")]
    assert [r.as_of for r in catch_up("monthly", D, "h")] == [date(2026, 11, 1)]


def test_manual_runs_do_not_move_the_schedulers_starting_point(db_session, fake_jobs):
    run_job("daily", D - timedelta(days=20), trigger="manual", holder="admin")
    assert pending_dates(fake_jobs.JOBS[0], D) == [D]


def test_a_ten_day_gap_is_caught_up_as_ten_daily_runs_in_order(db_session, fake_jobs):
    catch_up("daily", D, "h", today_trigger="schedule")
    fake_jobs.CALLS.clear()
    today = D + timedelta(days=10)
    runs = catch_up("daily", today, "h", today_trigger="schedule")
    expected = [D + timedelta(days=n) for n in range(1, 11)]
    assert [run.as_of for run in runs] == expected
    assert all(run.status == "succeeded" for run in runs)
    assert [run.trigger for run in runs] == ["catch_up"] * 9 + ["schedule"]
    # Each date's steps ran in order, dates in order: the same as ten daily runs.
    assert [
        (step, day) for day in expected for step in ("first", "middle", "last")
    ] == fake_jobs.CALLS
    assert catch_up("daily", today, "h") == []  # nothing left


def test_a_failed_date_stops_the_catch_up_and_is_retried_first(db_session, fake_jobs):
    catch_up("daily", D, "h")
    bad = D + timedelta(days=3)
    fake_jobs.FAILING.add(("last", bad))
    today = D + timedelta(days=5)
    runs = catch_up("daily", today, "h")
    assert [(run.as_of, run.status) for run in runs] == [
        (D + timedelta(days=1), "succeeded"),
        (D + timedelta(days=2), "succeeded"),
        (bad, "failed"),
    ]
    fake_jobs.FAILING.clear()
    assert pending_dates(fake_jobs.JOBS[0], today) == [bad, today - timedelta(days=1), today]
    retried = catch_up("daily", today, "h")
    assert [(run.as_of, run.status, run.attempts) for run in retried] == [
        (bad, "succeeded", 2),
        (today - timedelta(days=1), "succeeded", 1),
        (today, "succeeded", 1),
    ]


def test_a_catch_up_stops_when_told_to(db_session, fake_jobs):
    catch_up("daily", D, "h")
    answers = iter([True, True, False])
    runs = catch_up("daily", D + timedelta(days=5), "h", keep_going=lambda: next(answers))
    assert [run.as_of for run in runs] == [D + timedelta(days=1), D + timedelta(days=2)]


def test_a_long_catch_up_is_capped_oldest_first(db_session, fake_jobs, caplog):
    catch_up("daily", D, "h")
    today = D + timedelta(days=10)
    with caplog.at_level("WARNING", logger="app.scheduler.runner"):
        runs = catch_up("daily", today, "h", limit=3)
    assert [run.as_of for run in runs] == [D + timedelta(days=n) for n in (1, 2, 3)]
    assert "10 dates to catch up, running the first 3" in caplog.text
    assert pending_dates(fake_jobs.JOBS[0], today)[0] == D + timedelta(days=4)


def test_monthly_catch_up_runs_each_first_of_the_month(db_session, fake_jobs):
    catch_up("monthly", date(2026, 1, 20), "h")
    runs = catch_up("monthly", date(2026, 4, 15), "h")
    assert [run.as_of for run in runs] == [date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)]
