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

from app import create_app
from app.auth.models import User
from app.auth.operations import issue_api_token
from app.core.openapi import API_PREFIX
from app.extensions import db
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.isolation import rolled_back_session

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
FUZZ_SETTINGS = settings(
    max_examples=30,
    deadline=None,
    # The module's one transaction serves every example on purpose (see the docstring).
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ADMIN_USERNAME = "fuzz.admin"


def _load_schema() -> Any:
    """The OpenAPI document, as the app serves it.

    Tests are generated at collection time, before the test database exists, so a
    database-less app serves the document here: it is built from the registered routes and
    their forms only. Requests go to the `app` fixture (`call_and_validate(app=...)`).
    `schemathesis.pytest.from_fixture` would avoid the second app, but schemathesis 4.32.5's
    lazy loader reads `request.node._nodeid`, which pytest 9.2 no longer has.
    """
    document_app = create_app("testing", SQLALCHEMY_DATABASE_URI="sqlite://")
    return schemathesis.openapi.from_wsgi(f"{API_PREFIX}/openapi.json", document_app)


schema = _load_schema()


@pytest.fixture(scope="module")
def fuzz_session(app: Flask) -> Iterator[Any]:
    """db.session bound to one connection whose outer transaction is rolled back at the end.

    The module-wide twin of conftest's per-test isolation: the app's commits only release
    savepoints, so each example sees the earlier examples' rows and nothing survives. No
    app context stays pushed, so every request gets its own, as in production.
    """
    yield from rolled_back_session(app)


@pytest.fixture(scope="module")
def fuzz_admin_id(app: Flask, fuzz_session: Any) -> int:
    """The administrator whose tokens sign the fuzzed requests."""
    with app.app_context():
        admin = make_user(role="admin", region_code="460000", username=ADMIN_USERNAME)
        db.session.commit()
        return admin.id


def _issue_token(app: Flask, user_id: int) -> str:
    with app.app_context():
        raw, _ = issue_api_token(db.session.get(User, user_id))
        db.session.commit()
    return raw


@pytest.fixture(scope="module")
def admin_headers(app: Flask, fuzz_admin_id: int) -> dict[str, str]:
    """One bearer token for the run; DELETE /auth/token, which revokes it, is fuzzed apart."""
    return {"Authorization": f"Bearer {_issue_token(app, fuzz_admin_id)}"}


@schema.exclude(method="DELETE", path="/auth/token").parametrize()
@FUZZ_SETTINGS
def test_api_conforms_to_its_document(case: Any, app: Flask, admin_headers: dict[str, str]) -> None:
    case.call_and_validate(app=app, headers=admin_headers, checks=CHECKS)


@schema.include(method="DELETE", path="/auth/token").parametrize()
@FUZZ_SETTINGS
def test_token_revocation_conforms_to_its_document(
    case: Any, app: Flask, fuzz_admin_id: int
) -> None:
    headers = {"Authorization": f"Bearer {_issue_token(app, fuzz_admin_id)}"}
    response = case.call_and_validate(app=app, headers=headers, checks=CHECKS)
    # The coverage phase also tries other methods on the path (405; OPTIONS answers 200).
    if case.method.upper() == "DELETE":
        assert response.status_code == 204


# Random bodies rarely pass every rule (a known region, an unused username), so these
# hand-made valid requests make sure each success answer is checked against its schema too.
SUCCESSES = [
    pytest.param("GET", "/openapi.json", None, 200, id="GET /openapi.json"),
    pytest.param("GET", "/regions", None, 200, id="GET /regions"),
    pytest.param(
        "POST",
        "/regions",
        {"code": "469099", "name": "测试县", "level": "city", "parent_code": "460000"},
        201,
        id="POST /regions",
    ),
    pytest.param("GET", "/users", None, 200, id="GET /users"),
    pytest.param(
        "POST",
        "/users",
        {
            "username": "fuzz.founder",
            "password": DEFAULT_PASSWORD,
            "role": "founder",
            "region_code": "460100",
            "founder_id": 7,
        },
        201,
        id="POST /users",
    ),
    pytest.param(
        "POST",
        "/auth/token",
        {"username": ADMIN_USERNAME, "password": DEFAULT_PASSWORD},
        201,
        id="POST /auth/token",
    ),
    pytest.param("DELETE", "/auth/token", None, 204, id="DELETE /auth/token"),
]


@pytest.mark.parametrize(("method", "path", "body", "status"), SUCCESSES)
def test_success_answers_match_their_schemas(
    app: Flask, fuzz_admin_id: int, method: str, path: str, body: Any, status: int
) -> None:
    headers = {"Authorization": f"Bearer {_issue_token(app, fuzz_admin_id)}"}
    operation = schema[path][method]
    case = operation.Case() if body is None else operation.Case(body=body)
    response = case.call_and_validate(app=app, headers=headers, checks=CHECKS)
    assert response.status_code == status, response.text


def test_every_operation_has_a_success_case() -> None:
    documented = {
        f"{method.upper()} {path}"
        for path, item in schema.raw_schema["paths"].items()
        for method in item
    }
    assert documented == {case.id for case in SUCCESSES}


# Inputs fuzzing has turned up, kept as fixed cases so every run tries them on both engines
# (SPEC §14, §15): PostgreSQL text cannot hold NUL, and no SQL offset holds a page number
# near 2**63. None may crash the server; writes must be refused (4xx), so that nothing
# SQLite would store is a 500 on PostgreSQL. A search may refuse or simply find nothing.
NUL = "a\x00b"
HOSTILE = [
    pytest.param("GET", "/users", {"page": "461168601842738792"}, None, True, id="huge page"),
    pytest.param("GET", "/users", {"page": str(10**30)}, None, True, id="page beyond 64 bits"),
    pytest.param("GET", "/users", {"q": NUL}, None, False, id="NUL in search"),
    pytest.param("GET", "/users", {"region_code": NUL}, None, False, id="NUL in region filter"),
    pytest.param(
        "POST",
        "/auth/token",
        None,
        {"username": NUL, "password": "x"},
        True,
        id="NUL in username",
    ),
    pytest.param(
        "POST",
        "/users",
        None,
        {
            "username": "nul.region",
            "password": DEFAULT_PASSWORD,
            "role": "staff",
            "region_code": NUL,
        },
        True,
        id="NUL in region_code",
    ),
    pytest.param(
        "POST",
        "/regions",
        None,
        {"code": "469098", "name": NUL, "level": "city", "parent_code": "460000"},
        True,
        id="NUL in region name",
    ),
    pytest.param(
        "POST",
        "/users",
        None,
        {
            "username": "big.founder",
            "password": DEFAULT_PASSWORD,
            "role": "founder",
            "region_code": "460100",
            "founder_id": 2**31,
        },
        True,
        id="founder_id beyond 32 bits",
    ),
    pytest.param(
        "POST",
        "/regions",
        None,
        {"code": "46\u0663000", "name": "x", "level": "city", "parent_code": "460000"},
        True,
        id="non-ASCII digits in a region code",
    ),
]


@pytest.mark.parametrize(("method", "path", "query", "body", "must_refuse"), HOSTILE)
def test_hostile_input_is_refused_not_crashed(
    app: Flask,
    admin_headers: dict[str, str],
    method: str,
    path: str,
    query: dict[str, str] | None,
    body: dict[str, Any] | None,
    must_refuse: bool,
) -> None:
    operation = schema[path][method]
    case = operation.Case(query=query) if body is None else operation.Case(body=body)
    response = case.call_and_validate(app=app, headers=admin_headers, checks=CHECKS)
    if must_refuse:
        assert 400 <= response.status_code < 500, response.text


@pytest.mark.parametrize("nesting", [1_000, 200_000])
def test_absurdly_nested_json_is_400(app: Flask, nesting: int) -> None:
    client = app.test_client()
    response = client.post(
        f"{API_PREFIX}/auth/token", data="[" * nesting, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.is_json
