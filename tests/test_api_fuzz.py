"""Property-based fuzzing of the JSON API from its own OpenAPI document (schemathesis).

The app runs in-process through WSGI, signed in with an administrator's bearer token.
Every answer must be a non-5xx status the document lists for the operation, with the
documented content type and a body matching the documented schema (SPEC §14: never 500).

All writes happen inside one connection-level transaction for the whole module, which is
rolled back at the end, so fuzzing leaves no rows behind on SQLite or PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.orm import scoped_session, sessionmaker

from app import create_app
from app.auth.operations import issue_api_token
from app.core.openapi import API_PREFIX
from app.extensions import db
from tests.factories import make_user

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
FUZZ_SETTINGS = settings(
    max_examples=30,
    deadline=None,
    # One transaction serves every example of the module on purpose (see the docstring).
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def fuzz_session(app: Flask) -> Iterator[Any]:
    """db.session bound to one connection whose outer transaction is rolled back at the end.

    Module-scoped twin of conftest's per-test isolation: the app's commits only release
    savepoints, so every example sees the earlier examples' rows and nothing survives.
    """
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
        original = db.session
        db.session = scoped_session(factory)
        try:
            yield db.session
        finally:
            db.session.remove()
            db.session = original
            outer.rollback()
            connection.close()


@pytest.fixture(scope="module")
def fuzz_admin(fuzz_session: Any) -> Any:
    """The administrator whose tokens sign the fuzzed requests."""
    admin = make_user(role="admin", region_code="460000", username="fuzz.admin")
    fuzz_session.commit()
    return admin


@pytest.fixture(scope="module")
def admin_headers(fuzz_session: Any, fuzz_admin: Any) -> dict[str, str]:
    """A bearer token for the whole run (DELETE /auth/token is fuzzed apart, with its own)."""
    raw, _ = issue_api_token(fuzz_admin)
    fuzz_session.commit()
    return {"Authorization": f"Bearer {raw}"}


def _load_schema() -> Any:
    """The OpenAPI document, as the app serves it.

    Tests are generated at collection time, before the test database exists, so a
    database-less app serves the document here: it is built from the registered routes and
    their forms only. Requests then go to the `app` fixture (see `call_and_validate`).
    `schemathesis.pytest.from_fixture` would avoid this, but schemathesis 4.32.5's lazy
    loader reads `request.node._nodeid`, which pytest 9.2 no longer has.
    """
    document_app = create_app("testing", SQLALCHEMY_DATABASE_URI="sqlite://")
    return schemathesis.openapi.from_wsgi(f"{API_PREFIX}/openapi.json", document_app)


schema = _load_schema()


@schema.exclude(method="DELETE", path="/auth/token").parametrize()
@FUZZ_SETTINGS
def test_api_conforms_to_its_document(case: Any, app: Flask, admin_headers: dict[str, str]) -> None:
    case.call_and_validate(app=app, headers=admin_headers, checks=CHECKS)


@schema.include(method="DELETE", path="/auth/token").parametrize()
@FUZZ_SETTINGS
def test_token_revocation_conforms_to_its_document(
    case: Any, app: Flask, fuzz_session: Any, fuzz_admin: Any
) -> None:
    raw, _ = issue_api_token(fuzz_admin)
    fuzz_session.commit()
    response = case.call_and_validate(
        app=app, headers={"Authorization": f"Bearer {raw}"}, checks=CHECKS
    )
    assert response.status_code == 204
