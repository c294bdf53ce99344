"""Fixtures every test module shares.

The schema comes from the real migrations, once per session, on SQLite (a temporary
file) or on PostgreSQL when TEST_DATABASE_URL is set. Each test runs inside a
transaction that is rolled back afterwards, so tests never see each other's rows.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.globals import _cv_app
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from app import create_app
from app.extensions import db
from config import _normalise_database_url
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.isolation import rolled_back_session


def _test_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return _normalise_database_url(url)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


def _reset_postgres_schema(url: str) -> None:
    """Start the PostgreSQL run from an empty schema so migrations build all of it.

    The public schema is dropped, so only databases meant for tests are accepted.
    """
    engine = create_engine(url)
    name = engine.url.database or ""
    if not any(marker in name for marker in ("test", "ci")) and not os.environ.get(
        "ALLOW_TEST_SCHEMA_RESET"
    ):
        engine.dispose()
        raise pytest.UsageError(
            f"TEST_DATABASE_URL names {name!r}; the tests empty its public schema, so use a "
            "database whose name contains 'test' or 'ci' (or set ALLOW_TEST_SCHEMA_RESET=1)."
        )
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The database this test session runs against, migrated to the newest revision."""
    url = _test_database_url(tmp_path_factory)
    if url.startswith("postgresql"):
        _reset_postgres_schema(url)
    migrating_app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    with migrating_app.app_context():
        upgrade()
        db.engine.dispose()
    return url


class FreshContextClient(FlaskClient):
    """A test client whose every request runs in its own application context.

    Tests keep an app context open to use the database directly; Flask would reuse it for
    requests, sharing `g` (and so the signed-in user) between requests and clients. Here
    the test's context steps aside during each request, as it does in production.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        outer = _cv_app.get(None)
        if outer is None:
            return super().open(*args, **kwargs)
        outer.pop()
        try:
            return super().open(*args, **kwargs)
        finally:
            outer.push()


def _make_app(database_url: str, **overrides: Any) -> Flask:
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=database_url, **overrides)
    app.test_client_class = FreshContextClient
    return app


def _serve(flask_app: Flask) -> Iterator[Flask]:
    yield flask_app
    with flask_app.app_context():
        db.engine.dispose()  # close pooled connections before the interpreter exits


@pytest.fixture(scope="session")
def app(database_url: str) -> Iterator[Flask]:
    """The application under test (CSRF off; see csrf_app for the protected variant)."""
    yield from _serve(_make_app(database_url, WTF_CSRF_ENABLED=False))


@pytest.fixture(scope="session")
def csrf_app(database_url: str) -> Iterator[Flask]:
    """The application with CSRF checks on, as in production."""
    yield from _serve(_make_app(database_url, WTF_CSRF_ENABLED=True))


@pytest.fixture
def db_session(app: Flask) -> Iterator[Any]:
    """A session whose every commit is undone when the test ends."""
    with app.app_context():
        yield from rolled_back_session(app)


@pytest.fixture
def client(app: Flask, db_session: Any) -> FlaskClient:
    """A browser-like client of the app, inside the test's transaction."""
    return app.test_client()


@pytest.fixture
def csrf_client(csrf_app: Flask) -> Iterator[FlaskClient]:
    """A client of the CSRF-protected app, inside its own rolled-back transaction."""
    with csrf_app.app_context():
        for _ in rolled_back_session(csrf_app):
            yield csrf_app.test_client()


@pytest.fixture
def login_as(client: FlaskClient) -> Callable[..., Any]:
    """Sign the client in as a new user of `role` in `region` and return that user."""

    def sign_in(role: str, region: str = "460100", **user_fields: Any) -> Any:
        user = make_user(role=role, region_code=region, **user_fields)
        db.session.commit()
        db.session.refresh(user)  # loaded now, so still readable once the request detaches it
        response = client.post(
            "/login", data={"username": user.username, "password": DEFAULT_PASSWORD}
        )
        assert response.status_code == 302, response.get_data(as_text=True)
        return user

    return sign_in


class ApiClient:
    """The test client with a bearer token and JSON bodies."""

    def __init__(self, client: FlaskClient, token: str | None) -> None:
        self.client = client
        self.token = token

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        merged = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return merged | (headers or {})

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.client.get(url, headers=self._headers(kwargs.pop("headers", None)), **kwargs)

    def post(self, url: str, json: Any = None, **kwargs: Any) -> Any:
        headers = self._headers(kwargs.pop("headers", None))
        return self.client.post(url, json=json, headers=headers, **kwargs)

    def patch(self, url: str, json: Any = None, **kwargs: Any) -> Any:
        headers = self._headers(kwargs.pop("headers", None))
        return self.client.patch(url, json=json, headers=headers, **kwargs)

    def put(self, url: str, json: Any = None, **kwargs: Any) -> Any:
        headers = self._headers(kwargs.pop("headers", None))
        return self.client.put(url, json=json, headers=headers, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> Any:
        return self.client.delete(url, headers=self._headers(kwargs.pop("headers", None)), **kwargs)


@pytest.fixture
def api_as(client: FlaskClient) -> Callable[..., ApiClient]:
    """An API client signed in with a fresh bearer token as a new user of `role`."""

    def make_client(role: str, region: str = "460100", **user_fields: Any) -> ApiClient:
        user = make_user(role=role, region_code=region, **user_fields)
        db.session.commit()
        db.session.refresh(user)
        response = client.post(
            "/api/v1/auth/token", json={"username": user.username, "password": DEFAULT_PASSWORD}
        )
        assert response.status_code == 201, response.get_data(as_text=True)
        api = ApiClient(client, response.get_json()["token"])
        api.user = user  # type: ignore[attr-defined]
        return api

    return make_client


@pytest.fixture
def anonymous_api(client: FlaskClient) -> ApiClient:
    """An API client with no token."""
    return ApiClient(client, None)
