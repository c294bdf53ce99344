"""The registry: the real job list and the calendar of due dates."""

from __future__ import annotations

from datetime import date

from app.scheduler.registry import JOBS, Cadence, Job, dates_due, latest_due

DAILY = Job("d", (), Cadence.DAILY)
MONTHLY = Job("m", (), Cadence.MONTHLY)


def test_the_real_registry_names_the_steps_of_spec_12():
    jobs = {job.name: job for job in JOBS}
    assert jobs["daily"].step_names == [
        "loan_sweep",
        "followup_planning",
        "followup_reconcile",
        "missed_marking",
        "lost_flags",
        "reminders",
        "reminder_emails",
    ]
    assert jobs["daily"].cron == {"hour": 1, "minute": 0}
    assert jobs["monthly"].step_names == ["kpi_snapshot"]
    assert jobs["monthly"].cron == {"day": 1, "hour": 2, "minute": 0}


def test_daily_dates_are_every_day_after_the_last_success():
    assert dates_due(DAILY, date(2026, 2, 27), date(2026, 3, 2)) == [
        date(2026, 2, 28),
        date(2026, 3, 1),
        date(2026, 3, 2),
    ]
    assert dates_due(DAILY, date(2026, 3, 2), date(2026, 3, 2)) == []
    assert dates_due(DAILY, None, date(2026, 3, 2)) == [date(2026, 3, 2)]


def test_monthly_dates_are_the_firsts_of_the_months():
    assert dates_due(MONTHLY, date(2025, 11, 1), date(2026, 2, 1)) == [
        date(2025, 12, 1),
        date(2026, 1, 1),
        date(2026, 2, 1),
    ]
    assert dates_due(MONTHLY, date(2026, 1, 1), date(2026, 1, 31)) == []
    assert dates_due(MONTHLY, date(2026, 1, 15), date(2026, 2, 3)) == [date(2026, 2, 1)]
    assert dates_due(MONTHLY, None, date(2026, 2, 17)) == [date(2026, 2, 1)]
    assert latest_due(MONTHLY, date(2026, 2, 1)) == date(2026, 2, 1)
