"""The follow-up job steps: catch-up equals daily runs, a failing step leaves nothing
behind, and planning is a constant number of statements whatever the number of subjects."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, insert, select

from app.businesses.models import Business
from app.core.dates import add_months
from app.extensions import db
from app.followups import jobs, planning
from app.followups.models import FollowupTask, TaskKind
from app.founders.models import Founder
from tests.businesses.factories import make_business
from tests.factories import make_founder
from tests.incubation.factories import make_base, make_residency
from tests.loans.factories import make_loan

pytestmark = pytest.mark.usefixtures("db_session")

FIRST_DAY = date(2026, 6, 4)
GAP = [FIRST_DAY + timedelta(days=n) for n in range(10)]


def run_steps(as_of: date) -> dict[str, dict[str, int]]:
    """The follow-up steps of the daily job, in the registry's order."""
    return {
        "plan": jobs.plan_followups(as_of),
        "reconcile": jobs.reconcile_followups(as_of),
        "missed": jobs.mark_missed(as_of),
        "lost": jobs.refresh_lost(as_of),
    }


def state() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Every task by its identity (ids aside), and every founder's lost flag."""
    task_rows = db.session.execute(
        select(
            FollowupTask.subject_type,
            FollowupTask.subject_id,
            FollowupTask.kind,
            FollowupTask.sequence,
            FollowupTask.due_on,
            FollowupTask.status,
            FollowupTask.closed_on,
            FollowupTask.founder_id,
            FollowupTask.region_code,
        ).order_by(
            FollowupTask.subject_type,
            FollowupTask.subject_id,
            FollowupTask.kind,
            FollowupTask.sequence,
        )
    )
    founder_rows = db.session.execute(
        select(Founder.id, Founder.lost_to_follow_up_on).order_by(Founder.id)
    )
    return [tuple(row) for row in task_rows], [tuple(row) for row in founder_rows]


def _history() -> None:
    """Founders registered every few days, businesses, a loan and a former resident, so
    that tasks are made, missed and flag founders lost during the ten days."""
    for n in range(12):
        make_founder(registered_on=date(2026, 4, 20) + timedelta(days=4 * n))
    make_business(opened_on=date(2026, 2, 27))
    make_business(opened_on=date(2025, 12, 5))
    make_loan(disbursed_on=date(2026, 2, 2))
    make_residency(
        make_base(), starts_on=date(2025, 1, 6), ends_on=date(2025, 12, 8), outcome="graduated"
    )


def test_a_catch_up_over_ten_days_ends_where_ten_daily_runs_do() -> None:
    _history()
    day = date(2026, 4, 20)
    while day < FIRST_DAY:  # the scheduler ran every day until the gap
        run_steps(day)
        day += timedelta(days=1)
    before = state()

    # Ten daily runs, each run twice as a retried day would be.
    daily = db.session.begin_nested()
    for day in GAP:
        run_steps(day)
        run_steps(day)
    after_daily = state()
    daily.rollback()
    assert state() == before

    # The scheduler was down: on restart it runs each missed date in order.
    catch_up = db.session.begin_nested()
    counts = [run_steps(day) for day in GAP]
    after_catch_up = state()
    catch_up.rollback()

    assert after_catch_up == after_daily
    tasks, founders = after_catch_up
    statuses = {row[5] for row in tasks}
    assert {"open", "missed"} <= statuses
    # Founders became lost during the gap.
    assert sum(lost is not None for _id, lost in founders) > sum(
        lost is not None for _id, lost in before[1]
    )
    assert sum(day["missed"]["missed"] for day in counts) > 0


def test_a_step_failing_half_way_leaves_nothing_and_the_rerun_completes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _history()
    real_plan_tasks = planning.plan_tasks
    made_before_failure: list[int] = []

    def failing(kind: TaskKind, plan: Any, as_of: date, subject_id: int | None = None) -> int:
        if kind is TaskKind.LOAN_USAGE:
            made_before_failure.append(
                db.session.scalar(select(func.count()).select_from(FollowupTask))
            )
            raise RuntimeError("killed")
        return real_plan_tasks(kind, plan, as_of, subject_id)

    monkeypatch.setattr(planning, "plan_tasks", failing)
    # The runner runs a step in its own transaction and rolls it back on failure.
    with pytest.raises(RuntimeError, match="killed"), db.session.begin_nested():
        jobs.plan_followups(GAP[0])
    assert made_before_failure[0] > 0  # earlier kinds had inserted their tasks
    assert db.session.scalar(select(func.count()).select_from(FollowupTask)) == 0

    monkeypatch.setattr(planning, "plan_tasks", real_plan_tasks)
    counts = jobs.plan_followups(GAP[0])
    assert counts["loan_usage"] == 1
    assert sum(counts.values()) > made_before_failure[0]
    assert jobs.plan_followups(GAP[0]) == {kind.value: 0 for kind in TaskKind}


@contextmanager
def counted_statements() -> Iterator[list[str]]:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    engine = db.session.get_bind().engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


BUSINESSES = 10_000


def test_planning_ten_thousand_businesses_is_one_statement_per_kind() -> None:
    as_of = date(2026, 6, 20)
    founder_rows = [
        {
            "name": "测试",
            "id_number": f"4601001990{n:08d}",
            "id_number_last4": f"{n:04d}"[-4:],
            "birth_date": date(1990, 1, 1),
            "sex": "male",
            "phone": f"138{n:08d}",
            "region_code": "460100",
            "target_group": "laid_off",
            "registered_on": date(2020, 1, 6),  # long past: no intake follow-ups due
        }
        for n in range(BUSINESSES)
    ]
    db.session.execute(insert(Founder), founder_rows)
    founder_ids = db.session.scalars(
        select(Founder.id).where(Founder.name == "测试").order_by(Founder.id)
    ).all()
    assert len(founder_ids) == BUSINESSES
    # Opened over ten days three months ago: each has its first follow-up in the window.
    opened = [add_months(as_of, -3) - timedelta(days=n % 10) for n in range(BUSINESSES)]
    db.session.execute(
        insert(Business),
        [
            {
                "founder_id": founder_id,
                "name": f"店{n}",
                "industry": "catering",
                "region_code": "460100",
                "opened_on": opened[n],
                "employees_at_opening": 1,
                "status": "operating",
                "employees": 1,
                "status_observed_on": opened[n],
            }
            for n, founder_id in enumerate(founder_ids)
        ],
    )
    db.session.flush()

    with counted_statements() as statements:
        counts = jobs.plan_followups(as_of)
    assert counts["business"] == BUSINESSES
    assert len(statements) <= 2 * len(TaskKind), statements
    inserts = [sql for sql in statements if sql.lstrip().upper().startswith("INSERT")]
    assert len(inserts) == len(TaskKind)
    # So many new tasks: PostgreSQL's statistics are refreshed for the steps that follow.
    analyzed = [sql for sql in statements if sql.lstrip().upper().startswith("ANALYZE")]
    on_postgres = db.session.get_bind().dialect.name == "postgresql"
    assert BUSINESSES >= jobs.MANY_NEW_TASKS
    assert analyzed == (["ANALYZE followup_task"] if on_postgres else [])
    assert (
        db.session.scalar(
            select(func.count()).select_from(FollowupTask).where(FollowupTask.kind == "business")
        )
        == BUSINESSES
    )

    with counted_statements() as statements:
        assert jobs.reconcile_followups(as_of) == {"cancelled": 0, "replanned": 0}
        assert jobs.mark_missed(as_of + timedelta(days=60)) == {"missed": BUSINESSES}
        jobs.refresh_lost(as_of + timedelta(days=60))
    assert len(statements) <= 2 * len(TaskKind) + 2 + 2 + 2, statements
