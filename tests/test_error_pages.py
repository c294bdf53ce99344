"""Crashes and HTTP errors reach people as pages or JSON, never as tracebacks."""

from __future__ import annotations

import pytest
from flask import Flask

from app import create_app
from app.core.errors import Conflict, NotFound
from app.extensions import db


@pytest.fixture
def crashing_app(database_url: str) -> Flask:
    """The app as in production (not TESTING), with two routes that fail unexpectedly."""
    crashing = create_app("testing", SQLALCHEMY_DATABASE_URI=database_url, TESTING=False)

    @crashing.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret internals")

    @crashing.get("/api/v1/boom")
    def api_boom() -> str:
        raise RuntimeError("secret internals")

    @crashing.get("/missing-thing")
    def missing_thing() -> str:
        raise NotFound("No such founder in your region.")

    @crashing.post("/refused-thing")
    def refused_thing() -> str:
        raise Conflict("The cohort is full.")

    yield crashing
    with crashing.app_context():
        db.engine.dispose()


def test_a_crash_shows_the_500_page_without_internals(crashing_app, caplog):
    response = crashing_app.test_client().get("/boom", headers={"Accept-Language": "en"})
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Something went wrong on our side" in page
    assert "secret internals" not in page
    assert "secret internals" in caplog.text  # logged for the operators


def test_a_crash_on_the_api_is_a_json_500(crashing_app):
    response = crashing_app.test_client().get("/api/v1/boom")
    assert response.status_code == 500
    assert response.is_json
    assert "secret internals" not in response.get_data(as_text=True)


def test_unknown_pages_get_the_404_page(client):
    response = client.get("/no/such/page", headers={"Accept-Language": "en"})
    assert response.status_code == 404
    assert "Not found." in response.get_data(as_text=True)


def test_forbidden_pages_get_the_403_page(client, login_as):
    login_as("founder")
    response = client.get("/admin/users", headers={"Accept-Language": "en"})
    assert response.status_code == 403
    assert "You do not have permission to do this." in response.get_data(as_text=True)


def test_domain_errors_on_pages(crashing_app):
    client = crashing_app.test_client()
    missing = client.get("/missing-thing", headers={"Referer": "http://localhost/missing-thing"})
    assert missing.status_code == 404  # an error page, never a redirect loop to itself
    assert "No such founder in your region." in missing.get_data(as_text=True)
    refused = client.post("/refused-thing", headers={"Referer": "http://localhost/regions"})
    assert refused.status_code == 302
    assert refused.headers["Location"] == "/regions"
    tricky = client.post("/refused-thing", headers={"Referer": "http://localhost//evil.example"})
    assert tricky.headers["Location"] == "/"
