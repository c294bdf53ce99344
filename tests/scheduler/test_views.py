"""The admin page /admin/jobs: lease, jobs, runs, and the run form."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.core.db import utcnow
from app.extensions import db
from app.scheduler.lease import acquire_or_renew
from app.scheduler.models import JobRun

EN = {"Accept-Language": "en"}


@pytest.fixture
def pinned(app, monkeypatch):
    monkeypatch.setitem(app.config, "SCHEDULER_TODAY", "2026-11-24")


def test_the_page_warns_when_no_scheduler_runs(client, login_as, fake_jobs, pinned):
    login_as("admin")
    response = client.get("/admin/jobs/", headers=EN)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'data-testid="no-scheduler"' in page
    assert "No scheduler running." in page
    assert page.count('data-testid="job-row"') == 2
    assert 'value="2026-11-24"' in page  # the run form starts at today


def test_the_page_shows_the_lease_runs_counts_and_errors(client, login_as, fake_jobs, pinned):
    acquire_or_renew("box:42:abc", utcnow(), 45)
    fake_jobs.FAILING.add(("middle", None))
    login_as("admin")
    client.post("/admin/jobs/run", data={"job": "daily", "as_of": "2026-11-23"})
    page = client.get("/admin/jobs/").get_data(as_text=True)
    assert 'data-testid="no-scheduler"' not in page
    assert "box:42:abc" in page
    assert page.count('data-testid="run-row"') == 1
    assert 'data-testid="run-error"' in page
    assert "middle: RuntimeError: middle broke" in page


def test_an_expired_lease_is_no_scheduler(client, login_as, fake_jobs):
    acquire_or_renew("box:42:abc", utcnow() - timedelta(minutes=5), 45)
    login_as("admin")
    page = client.get("/admin/jobs/").get_data(as_text=True)
    assert 'data-testid="no-scheduler"' in page
    assert "box:42:abc" in page


def test_the_run_form_runs_the_job_and_flashes(client, login_as, fake_jobs, pinned):
    user = login_as("admin")
    response = client.post(
        "/admin/jobs/run", data={"job": "daily", "as_of": "2026-11-24"}, headers=EN
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"], headers=EN).get_data(as_text=True)
    assert "daily for 2026-11-24 succeeded." in page
    run = db.session.scalar(select(JobRun))
    assert (run.status, run.holder, run.triggered_by_id) == ("succeeded", user.username, user.id)


def test_the_run_form_refuses_future_dates_and_unknown_jobs(client, login_as, fake_jobs, pinned):
    login_as("admin")
    assert (
        client.post("/admin/jobs/run", data={"job": "daily", "as_of": "2026-11-25"}).status_code
        == 422
    )
    assert (
        client.post("/admin/jobs/run", data={"job": "weekly", "as_of": "2026-11-24"}).status_code
        == 422
    )
    assert client.post("/admin/jobs/run", data={"job": "daily", "as_of": "soon"}).status_code == 422
    assert db.session.scalar(select(JobRun)) is None


def test_a_running_date_is_flashed_not_run(client, login_as, fake_jobs, pinned):
    db.session.add(
        JobRun(
            job="daily",
            as_of=utcnow().date(),
            status="running",
            trigger="manual",
            holder="someone",
            started_at=utcnow(),
        )
    )
    db.session.commit()
    login_as("admin")
    as_of = utcnow().date().isoformat()
    response = client.post("/admin/jobs/run", data={"job": "daily", "as_of": as_of})
    assert response.status_code == 302
    assert db.session.scalar(select(JobRun)).attempts == 1


def test_the_filters_narrow_the_runs(client, login_as, fake_jobs, pinned):
    login_as("admin")
    client.post("/admin/jobs/run", data={"job": "daily", "as_of": "2026-11-24"})
    client.post("/admin/jobs/run", data={"job": "monthly", "as_of": "2026-11-01"})
    page = client.get("/admin/jobs/?job=monthly").get_data(as_text=True)
    assert page.count('data-testid="run-row"') == 1
    page = client.get("/admin/jobs/?status=failed").get_data(as_text=True)
    assert page.count('data-testid="run-row"') == 0
    assert client.get("/admin/jobs/?status=bogus&page=x").status_code == 200


@pytest.mark.parametrize("role", ["staff", "officer", "founder"])
def test_other_roles_are_refused(client, login_as, fake_jobs, role):
    login_as(role)
    assert client.get("/admin/jobs/").status_code == 403
    assert (
        client.post("/admin/jobs/run", data={"job": "daily", "as_of": "2026-11-24"}).status_code
        == 403
    )


def test_anonymous_is_sent_to_sign_in(client, fake_jobs):
    response = client.get("/admin/jobs/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
