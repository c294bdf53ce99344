"""`flask jobs run`, `flask jobs list` and the `flask scheduler` command's registration."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.cli import list_jobs_command, run_job_command
from app.core.audit import AuditEntry
from app.extensions import db
from app.scheduler.models import JobRun


def test_jobs_run_prints_the_record(app, db_session, fake_jobs):
    result = app.test_cli_runner().invoke(run_job_command, ["daily", "--date", "2026-11-20"])
    assert result.exit_code == 0, result.output
    assert "daily for 2026-11-20: succeeded (attempt 1, manual by cli:" in result.output
    assert "middle: written 1" in result.output
    run = db.session.scalar(select(JobRun).where(JobRun.as_of == date(2026, 11, 20)))
    assert (run.status, run.trigger) == ("succeeded", "manual")
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "job.run"))
    assert audit.after["job"] == "daily"
    assert audit.after["as_of"] == "2026-11-20"


def test_jobs_run_defaults_to_the_schedulers_today(app, db_session, fake_jobs, monkeypatch):
    monkeypatch.setitem(app.config, "SCHEDULER_TODAY", "2026-03-01")
    result = app.test_cli_runner().invoke(run_job_command, ["monthly"])
    assert result.exit_code == 0, result.output
    assert "monthly for 2026-03-01: succeeded" in result.output


def test_a_failed_run_exits_1_with_the_error(app, db_session, fake_jobs):
    fake_jobs.FAILING.add(("middle", None))
    result = app.test_cli_runner().invoke(run_job_command, ["daily", "--date", "2026-11-20"])
    assert result.exit_code == 1
    assert "failed" in result.output
    assert "middle: RuntimeError: middle broke" in result.output


def test_an_unknown_job_lists_the_jobs(app, db_session, fake_jobs):
    result = app.test_cli_runner().invoke(run_job_command, ["weekly"])
    assert result.exit_code == 1
    assert "No job called 'weekly'. Jobs: daily, monthly." in result.output


def test_a_future_date_is_refused(app, db_session, fake_jobs, monkeypatch):
    monkeypatch.setitem(app.config, "SCHEDULER_TODAY", "2026-03-01")
    result = app.test_cli_runner().invoke(run_job_command, ["daily", "--date", "2026-03-02"])
    assert result.exit_code == 1
    assert "in the future" in result.output
    assert db.session.scalar(select(JobRun)) is None


def test_jobs_list_shows_each_job(app, db_session, fake_jobs):
    app.test_cli_runner().invoke(run_job_command, ["daily", "--date", "2026-11-20"])
    result = app.test_cli_runner().invoke(list_jobs_command)
    assert result.exit_code == 0, result.output
    assert "daily" in result.output
    assert "last success 2026-11-20" in result.output
    assert "monthly" in result.output


def test_the_commands_are_registered(app):
    assert {"jobs", "scheduler", "loans"} <= set(app.cli.commands)
