"""The work queue: tabs, filters and scope."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.core.errors import NotFound
from app.extensions import db
from app.followups.queries import (
    TaskFilters,
    bucket_counts,
    get_task_in_scope,
    queue_stmt,
    week_end,
)
from tests.factories import make_founder, make_user
from tests.followups.factories import make_task

# A Wednesday: its week runs to Sunday 2026-11-22.
AS_OF = date(2026, 11, 18)
QIONGHAI = "469002"  # a city no other test file plans tasks in


def ids(user, filters=None, as_of=AS_OF):
    filters = filters or TaskFilters()
    return [row[0].id for row in db.session.execute(queue_stmt(user, filters, as_of=as_of))]


@pytest.fixture
def tasks(db_session):
    founder = make_founder(region_code=QIONGHAI)
    return {
        "today": make_task("intake_contact", founder=founder, due_on=AS_OF),
        "week": make_task("business", founder=founder, due_on=AS_OF + timedelta(days=4)),
        "later": make_task("business", founder=founder, due_on=AS_OF + timedelta(days=5)),
        "overdue": make_task("post_training", founder=founder, due_on=AS_OF - timedelta(days=3)),
        "missed": make_task(
            "post_training", founder=founder, status="missed", due_on=date(2026, 9, 1)
        ),
        "done": make_task("intake_services", founder=founder, status="done", due_on=AS_OF),
    }


def test_week_ends_on_sunday():
    assert week_end(AS_OF) == date(2026, 11, 22)
    assert week_end(date(2026, 11, 22)) == date(2026, 11, 22)


def test_buckets(tasks):
    staff = make_user(role="staff", region_code=QIONGHAI)
    for bucket in ("today", "week", "overdue", "missed"):
        assert ids(staff, TaskFilters(bucket=bucket)) == [tasks[bucket].id]
    assert bucket_counts(staff, TaskFilters(), as_of=AS_OF) == {
        "today": 1,
        "week": 1,
        "overdue": 1,
        "missed": 1,
    }


def test_filters(tasks):
    staff = make_user(role="staff", region_code=QIONGHAI)
    assert ids(staff, TaskFilters(kind="business")) == [tasks["week"].id, tasks["later"].id]
    assert ids(staff, TaskFilters(status="done")) == [tasks["done"].id]
    assert ids(staff, TaskFilters(due_before=AS_OF)) == [tasks["missed"].id, tasks["overdue"].id]
    tasks["later"].assignee_id = staff.id
    db.session.flush()
    assert ids(staff, TaskFilters(assignee="me")) == [tasks["later"].id]
    assert ids(staff, TaskFilters(assignee=str(staff.id))) == [tasks["later"].id]
    assert tasks["later"].id not in ids(staff, TaskFilters(assignee="unassigned"))
    assert ids(staff, TaskFilters(region_code="460100", kind="business")) == []


def test_queue_rows_carry_founder_phone_lost_and_attempts(tasks):
    staff = make_user(role="staff", region_code=QIONGHAI)
    founder = tasks["today"].founder
    founder.lost_to_follow_up_on = date(2026, 10, 2)
    db.session.flush()
    row = db.session.execute(queue_stmt(staff, TaskFilters(bucket="today"), as_of=AS_OF)).one()
    assert (row.founder_name, row.founder_phone, row.lost_since, row.attempts) == (
        founder.name,
        founder.phone,
        date(2026, 10, 2),
        0,
    )


def test_scope(tasks):
    province = make_user(role="staff", region_code="460000")
    assert set(ids(province)) >= {task.id for task in tasks.values()}
    haikou = make_user(role="staff", region_code="460100")
    assert not set(ids(haikou)) & {task.id for task in tasks.values()}
    with pytest.raises(NotFound):
        get_task_in_scope(haikou, tasks["today"].id)
    admin = make_user(role="admin", region_code="460000")
    assert get_task_in_scope(admin, tasks["today"].id) is tasks["today"]
    founder_user = make_user(
        role="founder", region_code=QIONGHAI, founder_id=tasks["today"].founder_id
    )
    assert ids(founder_user) == []


def test_officer_sees_only_loan_usage(tasks):
    loan_task = make_task("loan_usage", region_code=QIONGHAI, due_on=AS_OF)
    officer = make_user(role="officer", region_code=QIONGHAI)
    assert loan_task.id in ids(officer)
    assert all(
        row[0].kind == "loan_usage"
        for row in db.session.execute(queue_stmt(officer, TaskFilters(), as_of=AS_OF))
    )
    with pytest.raises(NotFound):
        get_task_in_scope(officer, tasks["today"].id)
