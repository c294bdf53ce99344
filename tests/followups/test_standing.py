"""Missed marking at due_on + 30 and the lost-to-follow-up flag (SPEC §11)."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.extensions import db
from app.followups import jobs
from app.followups.models import FollowupTask
from app.followups.standing import refresh_lost_flags
from app.founders.models import Founder
from tests.factories import make_founder

pytestmark = pytest.mark.usefixtures("db_session")

_subjects = itertools.count(900_001)


def make_task(founder: Founder, due_on: date, status: str = "open", **fields: Any) -> FollowupTask:
    """A business follow-up of `founder` (its own subject), resolved as `status` says."""
    values: dict[str, Any] = {
        "kind": "business",
        "subject_type": "business",
        "subject_id": next(_subjects),
        "founder_id": founder.id,
        "sequence": 1,
        "due_on": due_on,
        "status": status,
        "region_code": founder.region_code,
    }
    if status == "missed":
        values["closed_on"] = due_on + timedelta(days=31)
    elif status == "done":
        values |= {"done_on": due_on, "closed_on": due_on, "channel": "phone"}
    elif status == "cancelled":
        values["closed_on"] = due_on
    task = FollowupTask(**(values | fields))
    db.session.add(task)
    db.session.flush()
    return task


def lost_on(founder: Founder) -> date | None:
    db.session.expire(founder)
    return founder.lost_to_follow_up_on


def test_an_open_task_is_missed_the_day_after_due_plus_30() -> None:
    founder = make_founder()
    due = date(2026, 5, 4)
    task = make_task(founder, due)
    assert jobs.mark_missed(due + timedelta(days=30)) == {"missed": 0}
    db.session.refresh(task)
    assert (task.status, task.closed_on) == ("open", None)
    assert jobs.mark_missed(due + timedelta(days=31)) == {"missed": 1}
    db.session.refresh(task)
    assert (task.status, task.closed_on) == ("missed", due + timedelta(days=31))
    # A later run (or a catch-up) writes the same day, derived from the data.
    assert jobs.mark_missed(due + timedelta(days=90)) == {"missed": 0}
    db.session.refresh(task)
    assert task.closed_on == due + timedelta(days=31)


def test_done_and_cancelled_tasks_are_never_missed() -> None:
    founder = make_founder()
    done = make_task(founder, date(2026, 1, 5), "done")
    cancelled = make_task(founder, date(2026, 1, 6), "cancelled")
    jobs.mark_missed(date(2026, 6, 1))
    db.session.refresh(done)
    db.session.refresh(cancelled)
    assert (done.status, cancelled.status) == ("done", "cancelled")


def test_two_consecutive_misses_flag_the_founder_lost_since_the_second() -> None:
    founder = make_founder()
    make_task(founder, date(2026, 1, 5), "done")
    make_task(founder, date(2026, 2, 5), "missed")
    assert jobs.refresh_lost(date(2026, 3, 10)) == {"founders_changed": 0}
    assert lost_on(founder) is None
    make_task(founder, date(2026, 4, 5), "missed")
    assert jobs.refresh_lost(date(2026, 5, 10)) == {"founders_changed": 1}
    assert lost_on(founder) == date(2026, 5, 6)  # the second miss's closed_on
    assert jobs.refresh_lost(date(2026, 5, 11)) == {"founders_changed": 0}


def test_a_third_miss_keeps_the_day_the_founder_was_first_lost() -> None:
    founder = make_founder()
    make_task(founder, date(2026, 2, 5), "missed")
    make_task(founder, date(2026, 4, 5), "missed")
    refresh_lost_flags()
    make_task(founder, date(2026, 6, 5), "missed")
    refresh_lost_flags()
    assert lost_on(founder) == date(2026, 5, 6)


def test_a_later_follow_up_done_clears_the_flag() -> None:
    founder = make_founder()
    make_task(founder, date(2026, 2, 5), "missed")
    make_task(founder, date(2026, 4, 5), "missed")
    refresh_lost_flags()
    assert lost_on(founder) == date(2026, 5, 6)
    make_task(founder, date(2026, 7, 5), "done")
    assert refresh_lost_flags() == 1
    assert lost_on(founder) is None


def test_missed_done_missed_is_not_lost() -> None:
    founder = make_founder()
    make_task(founder, date(2026, 2, 5), "missed")
    make_task(founder, date(2026, 3, 5), "done")
    make_task(founder, date(2026, 4, 5), "missed")
    refresh_lost_flags()
    assert lost_on(founder) is None


def test_open_and_cancelled_tasks_do_not_break_a_run_of_misses() -> None:
    founder = make_founder()
    make_task(founder, date(2026, 2, 5), "missed")
    make_task(founder, date(2026, 3, 5), "cancelled")
    make_task(founder, date(2026, 4, 5), "missed")
    make_task(founder, date(2026, 6, 5), "open")
    refresh_lost_flags()
    assert lost_on(founder) == date(2026, 5, 6)


def test_a_missed_task_completed_late_counts_as_reached_again() -> None:
    founder = make_founder()
    make_task(founder, date(2026, 2, 5), "missed")
    latest = make_task(founder, date(2026, 4, 5), "missed")
    refresh_lost_flags()
    assert lost_on(founder) is not None
    latest.status, latest.done_on, latest.closed_on, latest.channel = (
        "done",
        date(2026, 5, 20),
        date(2026, 5, 20),
        "visit",
    )
    db.session.flush()
    refresh_lost_flags([founder.id])
    assert lost_on(founder) is None


def test_refreshing_some_founders_leaves_the_others_alone() -> None:
    mine, other = make_founder(), make_founder()
    for founder in (mine, other):
        make_task(founder, date(2026, 2, 5), "missed")
        make_task(founder, date(2026, 4, 5), "missed")
    assert refresh_lost_flags([mine.id]) == 1
    assert lost_on(mine) == date(2026, 5, 6)
    assert lost_on(other) is None
    assert refresh_lost_flags([]) == 0


def test_the_daily_steps_flag_a_founder_whose_intake_calls_were_both_missed() -> None:
    founder = make_founder(registered_on=date(2026, 3, 2))  # a Monday
    day = date(2026, 3, 2)
    while day <= date(2026, 4, 20):
        jobs.plan_followups(day)
        jobs.mark_missed(day)
        jobs.refresh_lost(day)
        day += timedelta(days=1)
    rows = db.session.execute(
        select(FollowupTask.kind, FollowupTask.status, FollowupTask.closed_on).where(
            FollowupTask.founder_id == founder.id
        )
    ).all()
    assert sorted(rows) == [
        ("intake_contact", "missed", date(2026, 4, 3)),
        ("intake_services", "missed", date(2026, 4, 11)),
    ]
    assert lost_on(founder) == date(2026, 4, 11)
