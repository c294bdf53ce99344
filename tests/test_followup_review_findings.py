"""Review findings on issue 7 (scheduler, follow-ups, reminders): each test reproduced a
defect the independent review found, and now holds its fix."""

from __future__ import annotations

import smtplib
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.businesses import operations as business_operations
from app.core.errors import Conflict
from app.extensions import db
from app.followups import jobs as followup_jobs
from app.followups import operations
from app.followups.models import FollowupTask
from app.followups.standing import refresh_lost_flags
from app.founders.models import Founder
from app.reports.jobs import snapshot_kpis
from app.reports.models import KpiSnapshot
from app.scheduler.models import JobRun
from app.scheduler.runner import catch_up
from tests.businesses.factories import make_business
from tests.factories import make_founder, make_user
from tests.followups.factories import make_task
from tests.incubation.factories import make_base, make_residency
from tests.notifications.factories import FakeSMTP, make_notification


def _tasks(kind: str, subject_id: int) -> list[FollowupTask]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(FollowupTask)
            .where(FollowupTask.kind == kind, FollowupTask.subject_id == subject_id)
            .order_by(FollowupTask.sequence)
        )
    )


def _lost_on(founder: Founder) -> date | None:
    db.session.expire(founder)
    return founder.lost_to_follow_up_on


# 1. An unreachable SMTP server stops every later daily run -------------------------------
def test_smtp_outage_does_not_block_the_next_days_daily_job(app, db_session, monkeypatch):
    """The reminder_emails step raises MailError when the server is down, so the whole
    `daily` run of that date is `failed`; catch_up stops at the first failed date, so while
    the mail server is down no later date ever runs: no loan sweep, no planning, no missed
    marking, no in-app reminders."""
    FakeSMTP.reset()
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    monkeypatch.setitem(app.config, "SMTP_HOST", "mail.example.com")
    monkeypatch.setitem(app.config, "SMTP_PORT", 587)
    FakeSMTP.refuse_connection = True
    try:
        day1 = date(2026, 3, 2)
        day2 = day1 + timedelta(days=1)
        staff = make_user(role="staff", region_code="460100", email="staff@example.com")
        make_notification(staff, created_on=day1)  # an unread reminder waiting to be e-mailed
        db.session.commit()

        catch_up("daily", day1, "host:1:aa")
        catch_up("daily", day2, "host:1:aa")

        runs = {
            run.as_of: run
            for run in db.session.scalars(
                select(JobRun)
                .where(JobRun.job == "daily")
                .execution_options(populate_existing=True)
            )
        }
        # The day after the outage began must still have had its loan sweep, planning,
        # missed marking and in-app reminders.
        assert day2 in runs, "the daily job never ran for the second day"
        assert "missed_marking" in (runs[day2].counts or {})
    finally:
        FakeSMTP.reset()


# 2. An incubation_exit follow-up of a closed business can never be completed --------------
@pytest.mark.parametrize("closed_while_resident", [True, False])
def test_incubation_exit_task_of_a_closed_business_is_completable_or_not_planned(
    db_session, closed_while_resident
):
    """business_status is required on incubation_exit; recording it goes through
    record_observation, which refuses any observation of a closed business (409). So the
    6- and 12-month exit follow-ups of a business that closed (in the base, which ends the
    residency with outcome closed, or after graduating) can only end `missed` — and two
    misses flag the founder lost_to_follow_up."""
    staff = make_user(role="staff", region_code="460100")
    founder = make_founder(registered_on=date(2024, 12, 2))
    business = make_business(founder, opened_on=date(2025, 1, 2))
    base = make_base()
    if closed_while_resident:
        residency = make_residency(base, business, starts_on=date(2025, 2, 3))
        db.session.flush()
        # Closing the business ends the residency (outcome closed) on the closure day.
        business_operations.record_observation(
            staff,
            business,
            {"observed_on": date(2026, 1, 12), "status": "closed", "employees": 0},
            as_of=date(2026, 1, 12),
        )
    else:
        residency = make_residency(
            base,
            business,
            starts_on=date(2025, 2, 3),
            ends_on=date(2026, 1, 12),
            outcome="graduated",
        )
        db.session.flush()
        business_operations.record_observation(
            staff,
            business,
            {"observed_on": date(2026, 3, 2), "status": "closed", "employees": 0},
            as_of=date(2026, 3, 2),
        )
    db.session.refresh(residency)
    assert residency.ends_on == date(2026, 1, 12)

    followup_jobs.plan_followups(date(2026, 7, 6))  # ends_on + 6 months = 2026-07-12
    followup_jobs.reconcile_followups(date(2026, 7, 6))
    open_tasks = [t for t in _tasks("incubation_exit", residency.id) if t.status == "open"]
    for task in open_tasks:
        try:
            operations.complete_task(
                staff,
                task,
                {"done_on": date(2026, 7, 13), "channel": "phone", "business_status": "closed"},
                as_of=date(2026, 7, 13),
            )
        except Conflict as error:
            pytest.fail(f"an open incubation_exit task cannot be completed: {error.message}")
        assert task.status == "done"


# 3. A founder reporting that the business closed cancels the follow-up it answers --------
def test_founder_closure_report_completes_the_business_task_not_cancels_it(db_session):
    """record_observation runs subject_ended (cancel the business's open tasks) before
    observation_recorded (self-report), so the founder's own report — the answer to the
    status request — cancels the business follow-up instead of completing it, and then
    completes an unrelated post_training task with the business observation instead."""
    founder = make_founder(registered_on=date(2025, 10, 1))
    user = make_user(role="founder", region_code=founder.region_code, founder_id=founder.id)
    business = make_business(founder, opened_on=date(2026, 1, 5))
    followup_jobs.plan_followups(date(2026, 4, 1))  # business seq 1 due 2026-04-05
    [business_task] = _tasks("business", business.id)
    training_task = make_task("post_training", founder=founder, due_on=date(2026, 4, 10))

    business_operations.record_observation(
        user,
        business,
        {"observed_on": date(2026, 4, 6), "status": "closed", "employees": 0},
        as_of=date(2026, 4, 6),
    )

    db.session.refresh(business_task)
    db.session.refresh(training_task)
    assert (business_task.status, business_task.channel) == ("done", "self_report")
    assert training_task.status == "open"


# 4. Completing an older missed follow-up late does not clear the lost flag ---------------
def test_completing_an_older_missed_task_late_clears_the_lost_flag(db_session):
    """Design: "a missed task may still be completed late, which counts as reached again".
    standing ranks resolved tasks by due_on, so reaching the founder on an older missed
    task leaves the two later misses on top and the founder stays lost although staff
    just spoke to them."""
    staff = make_user(role="staff", region_code="460100")
    founder = make_founder(registered_on=date(2025, 12, 1))
    oldest = make_task("intake_contact", founder=founder, due_on=date(2026, 1, 5), status="missed")
    make_task("business", founder=founder, due_on=date(2026, 2, 5), status="missed")
    make_task("business", founder=founder, due_on=date(2026, 3, 5), status="missed")
    refresh_lost_flags([founder.id])
    assert _lost_on(founder) is not None

    operations.complete_task(
        staff, oldest, {"done_on": date(2026, 5, 20), "channel": "phone"}, as_of=date(2026, 5, 20)
    )

    assert oldest.status == "done"
    assert _lost_on(founder) is None, "the founder was reached on 2026-05-20 but is still lost"


# 5. The API's assignee filter answers 500 --------------------------------------------------
@pytest.mark.parametrize("assignee", ["²", "99999999999999999999"])
def test_assignee_filter_never_500(api_as, assignee):
    """TaskFilters uses str.isdigit() then int(): '²'.isdigit() is True but int('²')
    raises ValueError; a 20-digit id overflows SQLite's INTEGER (OverflowError)."""
    api = api_as("staff", "460100")
    response = api.get(f"/api/v1/followups?assignee={assignee}")
    assert response.status_code in (200, 422), response.status_code


# 6. The KPI snapshot of a past date counts what happened after it -------------------------
def test_kpi_snapshot_ignores_follow_ups_done_after_its_date(db_session):
    """SPEC §11: figures as of D use records dated <= D. followups_done counts by the
    task's current status, so a catch-up (or rerun) of an earlier month counts follow-ups
    done later, and the same date's snapshot changes from run to run."""
    founder = make_founder(region_code="469002")
    make_task(
        "intake_contact",
        founder=founder,
        due_on=date(2026, 2, 10),
        status="done",
        done_on=date(2026, 3, 15),
        closed_on=date(2026, 3, 15),
    )
    snapshot_kpis(date(2026, 3, 1))
    row = db.session.scalar(
        select(KpiSnapshot).where(
            KpiSnapshot.region_code == "469002", KpiSnapshot.as_of == date(2026, 3, 1)
        )
    )
    figures: dict[str, Any] = row.figures["counts"]
    assert figures.get("followups_due") == 1
    assert figures.get("followups_done", 0) == 0, "done on 2026-03-15, after the snapshot date"


# 7. A shortened plan leaves orphaned open tasks that later count as missed ---------------
def test_shortened_plan_does_not_leave_orphan_open_tasks(db_session):
    """replan_tasks only touches sequences the current plan still has; cancel_tasks only
    looks at whether the subject lasts. After an admin shortens the business plan from
    3, 6, 12, 24, 36 to 3, 6, 12 months, the open 24-month task stays open at its old date,
    is marked missed 30 days later and counts towards lost_to_follow_up — for a follow-up
    the plan no longer has."""
    from app.followups.plan import save_plan

    admin = make_user(role="admin", region_code="460000")
    business = make_business(opened_on=date(2024, 6, 3))
    followup_jobs.plan_followups(date(2026, 6, 1))  # 24-month task due 2026-06-03
    [task] = [t for t in _tasks("business", business.id) if t.status == "open"]
    assert task.sequence == 4

    save_plan(admin, "business", unit="months", offsets="3, 6, 12", repeat_every=None)
    followup_jobs.reconcile_followups(date(2026, 6, 2))
    followup_jobs.mark_missed(date(2026, 7, 10))

    db.session.refresh(task)
    assert task.status in ("open", "cancelled")
    assert task.status != "missed", "a follow-up no longer in the plan was marked missed"
