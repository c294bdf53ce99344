"""POST /api/v1/jobs/{name}/run and GET /api/v1/jobs/runs (administrators)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.core.audit import AuditEntry
from app.core.db import utcnow
from app.extensions import db
from app.scheduler.models import JobRun

URL = "/api/v1/jobs/daily/run"


@pytest.fixture
def pinned(app, monkeypatch):
    monkeypatch.setitem(app.config, "SCHEDULER_TODAY", "2026-11-24")


def test_an_admin_runs_a_job(api_as, fake_jobs, pinned):
    api = api_as("admin")
    response = api.post(URL, json={"as_of": "2026-11-24"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["job"] == "daily"
    assert body["as_of"] == "2026-11-24"
    assert body["status"] == "succeeded"
    assert body["trigger"] == "manual"
    assert body["holder"] == api.user.username
    assert body["counts"]["last"] == {"written": 1}
    assert body["error"] == ""
    assert body["started_at"]
    assert body["finished_at"]
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "job.run"))
    assert audit.actor_id == api.user.id
    run = db.session.scalar(select(JobRun))
    assert run.triggered_by_id == api.user.id


def test_a_failed_run_answers_its_record(api_as, fake_jobs, pinned):
    fake_jobs.FAILING.add(("middle", None))
    response = api_as("admin").post(URL, json={"as_of": "2026-11-20"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "failed"
    assert body["error"].startswith("middle: RuntimeError")
    assert list(body["counts"]) == ["first"]


@pytest.mark.parametrize("role", ["staff", "officer", "founder"])
def test_other_roles_may_not_run_jobs(api_as, fake_jobs, pinned, role):
    api = api_as(role)
    assert api.post(URL, json={"as_of": "2026-11-24"}).status_code == 403
    assert api.get("/api/v1/jobs/runs").status_code == 403


def test_anonymous_is_401(anonymous_api, fake_jobs):
    assert anonymous_api.post(URL, json={"as_of": "2026-11-24"}).status_code == 401
    assert anonymous_api.get("/api/v1/jobs/runs").status_code == 401


@pytest.mark.parametrize(
    "body",
    [{}, {"as_of": None}, {"as_of": "2026-13-01"}, {"as_of": 20261124}, {"as_of": "2026-11-25"}],
)
def test_bad_or_future_dates_are_422_naming_as_of(api_as, fake_jobs, pinned, body):
    response = api_as("admin").post(URL, json=body)
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["as_of"]
    assert db.session.scalar(select(JobRun)) is None


def test_unknown_job_is_404(api_as, fake_jobs, pinned):
    response = api_as("admin").post("/api/v1/jobs/weekly/run", json={"as_of": "2026-11-24"})
    assert response.status_code == 404


def test_malformed_json_is_400(api_as, fake_jobs, pinned):
    response = api_as("admin").post(URL, data="nope", headers={"Content-Type": "application/json"})
    assert response.status_code == 400


def test_a_running_date_is_409(api_as, fake_jobs, pinned):
    db.session.add(
        JobRun(
            job="daily",
            as_of=date(2026, 11, 24),
            status="running",
            trigger="manual",
            holder="someone",
            started_at=utcnow(),
        )
    )
    db.session.commit()
    response = api_as("admin").post(URL, json={"as_of": "2026-11-24"})
    assert response.status_code == 409


def test_runs_are_listed_newest_first_and_filtered(api_as, fake_jobs, pinned):
    api = api_as("admin")
    fake_jobs.FAILING.add(("snapshot", None))
    api.post(URL, json={"as_of": "2026-11-20"})
    api.post(URL, json={"as_of": "2026-11-21"})
    api.post("/api/v1/jobs/monthly/run", json={"as_of": "2026-11-01"})
    body = api.get("/api/v1/jobs/runs").get_json()
    assert body["total"] == 3
    assert [item["as_of"] for item in body["items"]] == ["2026-11-01", "2026-11-21", "2026-11-20"]
    daily = api.get("/api/v1/jobs/runs?job=daily").get_json()
    assert {item["job"] for item in daily["items"]} == {"daily"}
    failed = api.get("/api/v1/jobs/runs?status=failed").get_json()
    assert [item["job"] for item in failed["items"]] == ["monthly"]
    assert api.get("/api/v1/jobs/runs?status=lost").status_code == 422
    assert api.get("/api/v1/jobs/runs?per_page=500").status_code == 422
