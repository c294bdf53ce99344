"""The OpenAPI 3 document at /api/v1/openapi.json (SPEC §14): valid, complete, form-made."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale

from app.core.industries import INDUSTRY_VALUES
from app.core.openapi import API_PREFIX, form_schema
from app.core.permissions import Role
from app.library.rules import PROJECT_FIELDS

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
CONVERTER = re.compile(r"<(?:[a-z]+(?:\([^)]*\))?:)?(\w+)>")


@pytest.fixture
def document(client: FlaskClient) -> dict[str, Any]:
    response = client.get(f"{API_PREFIX}/openapi.json")
    assert response.status_code == 200
    assert response.is_json
    return response.get_json()


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def _body_schema(
    document: dict[str, Any], path: str, method: str, content_type: str = "application/json"
) -> dict[str, Any]:
    body = document["paths"][path][method]["requestBody"]
    assert body["required"] is True
    assert list(body["content"]) == [content_type], (path, method)
    return _resolve(document, body["content"][content_type]["schema"])


def test_document_is_valid_openapi_3_0(document: dict[str, Any]) -> None:
    """Checked against the official OpenAPI 3.0 JSON Schema (the copy schemathesis ships;
    openapi-spec-validator is not installed)."""
    from schemathesis.specs.openapi.definitions import OPENAPI_30_VALIDATOR

    errors = [
        f"{'/'.join(map(str, error.instance_path))}: {error.message[:300]}"
        for error in OPENAPI_30_VALIDATOR.iter_errors(document)
    ]
    assert not errors, "\n".join(errors)


def _list_types(node: Any, where: str = "#") -> list[str]:
    """Where a schema gives `type` as a list: JSON Schema 2020-12 style, not OpenAPI 3.0."""
    found = []
    if isinstance(node, dict):
        if isinstance(node.get("type"), list):
            found.append(f"{where}: {node['type']}")
        for key, value in node.items():
            found += _list_types(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _list_types(value, f"{where}/{index}")
    return found


def test_nullable_fields_use_openapi_3_0_nullable(document: dict[str, Any]) -> None:
    """OpenAPI 3.0 schemas say `nullable: true`; a list such as ["string", "null"] is 3.1."""
    assert _list_types(document) == []


def test_document_structure(document: dict[str, Any]) -> None:
    assert re.fullmatch(r"3\.0\.\d+", document["openapi"])
    assert document["info"]["title"]
    assert document["info"]["version"]
    assert document["servers"] == [{"url": API_PREFIX}]
    assert document["paths"]
    operation_ids = []
    for path, method, operation in _operations(document):
        assert path.startswith("/"), path
        assert not path.startswith(API_PREFIX), f"{path} repeats the server prefix"
        assert operation["summary"], (path, method)
        assert operation["responses"], (path, method)
        for status, response in operation["responses"].items():
            assert re.fullmatch(r"[1-5]\d\d", status), (path, method, status)
            assert response["description"], (path, method, status)
        operation_ids.append(operation["operationId"])
        declared = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
        assert declared == set(re.findall(r"{(\w+)}", path)), (path, method)
    assert len(operation_ids) == len(set(operation_ids)), "operationIds must be unique"


def test_every_reference_resolves(document: dict[str, Any]) -> None:
    for ref in _refs(document):
        assert _resolve(document, {"$ref": ref}), ref


def test_protected_operations_name_a_defined_security_scheme(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {"type": "http", "scheme": "bearer"}
    for path, method, operation in _operations(document):
        if (path, method) in {("/auth/token", "post"), ("/openapi.json", "get")}:
            assert "security" not in operation, (path, method)
            continue
        assert operation["security"], (path, method)
        for requirement in operation["security"]:
            assert set(requirement) <= set(schemes), (path, method)
        assert "401" in operation["responses"], (path, method)


def test_every_api_rule_and_method_is_documented(app: Flask, document: dict[str, Any]) -> None:
    documented = {(path, method) for path, method, _ in _operations(document)}
    registered = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(f"{API_PREFIX}/"):
            continue
        path = CONVERTER.sub(r"{\1}", rule.rule).removeprefix(API_PREFIX)
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            registered.add((path, method.lower()))
    assert registered, "no /api/v1 rules found"
    assert registered - documented == set(), "API routes missing from the document"
    assert documented - registered == set(), "the document names routes the app lacks"


def test_every_request_body_is_its_forms_schema(app: Flask, document: dict[str, Any]) -> None:
    """Each documented body is exactly what the form that validates it describes."""
    with app.test_request_context(), force_locale("en"):
        for rule in app.url_map.iter_rules():
            endpoint = getattr(app.view_functions[rule.endpoint], "api_endpoint", None)
            if not rule.rule.startswith(f"{API_PREFIX}/") or endpoint is None:
                continue
            path = CONVERTER.sub(r"{\1}", rule.rule).removeprefix(API_PREFIX)
            for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
                operation = document["paths"][path][method.lower()]
                if endpoint.form is None:
                    assert "requestBody" not in operation, (path, method)
                else:
                    expected = form_schema(endpoint.form)
                    body = _body_schema(document, path, method.lower(), endpoint.content_type)
                    assert body == expected, (path, method)


def test_create_user_body_comes_from_the_form(document: dict[str, Any]) -> None:
    schema = _body_schema(document, "/users", "post")
    assert schema["type"] == "object"
    assert {"username", "password", "role", "region_code"} <= set(schema["required"])
    assert "founder_id" not in schema["required"]
    assert "display_name" not in schema["required"]
    properties = schema["properties"]
    assert sorted(properties["role"]["enum"]) == sorted(role.value for role in Role)
    assert properties["username"] == properties["username"] | {
        "type": "string",
        "minLength": 3,
        "maxLength": 64,
    }
    assert properties["password"]["minLength"] == 12  # ASVS 2.1.1 (D49)
    assert properties["founder_id"]["type"] == "integer"
    assert properties["founder_id"]["minimum"] == 1
    assert properties["region_code"]["type"] == "string"
    # The region list is data, not a fixed enum: a new region must not need a new document.
    assert "enum" not in properties["region_code"]


def test_token_and_region_bodies_come_from_their_forms(document: dict[str, Any]) -> None:
    token = _body_schema(document, "/auth/token", "post")
    assert set(token["required"]) == {"username", "password"}
    region = _body_schema(document, "/regions", "post")
    assert set(region["required"]) == {"code", "name", "level"}
    assert region["properties"]["level"]["enum"] == ["province", "city"]
    assert region["properties"]["code"]["pattern"] == r"^[1-9][0-9]{5}$"


def test_responses_document_status_and_errors(document: dict[str, Any]) -> None:
    paths = document["paths"]
    assert set(paths["/users"]["post"]["responses"]) >= {"201", "400", "401", "403", "409", "422"}
    assert set(paths["/auth/token"]["post"]["responses"]) >= {"201", "400", "401", "422", "429"}
    assert "204" in paths["/auth/token"]["delete"]["responses"]
    assert "content" not in paths["/auth/token"]["delete"]["responses"]["204"]
    listing = paths["/users"]["get"]
    query = {p["name"]: p["schema"] for p in listing["parameters"] if p["in"] == "query"}
    assert query["per_page"]["maximum"] == 200
    assert {"page", "q", "role", "region_code", "status"} <= set(query)
    page = listing["responses"]["200"]["content"]["application/json"]["schema"]
    assert {"$ref": "#/components/schemas/Page"} in page["allOf"]
    invalid = paths["/users"]["post"]["responses"]["422"]["content"]["application/json"]
    assert invalid["schema"] == {"$ref": "#/components/schemas/ValidationErrors"}


def test_document_is_public_and_english(client: FlaskClient) -> None:
    response = client.get(
        f"{API_PREFIX}/openapi.json", headers={"Accept-Language": "zh-CN,zh;q=0.9"}
    )
    assert response.status_code == 200
    document = response.get_json()
    summary = document["paths"]["/users"]["post"]["summary"]
    assert summary.isascii(), summary
    assert response.headers["Cache-Control"] == "no-store"


def test_founder_import_takes_a_multipart_file(document: dict[str, Any]) -> None:
    schema = _body_schema(document, "/imports/founders", "post", "multipart/form-data")
    assert schema["required"] == ["file"]
    assert schema["properties"]["file"]["format"] == "binary"
    assert schema["properties"]["mode"]["enum"] == ["all_or_nothing", "valid_rows"]
    answer = document["paths"]["/imports/founders"]["post"]["responses"]
    assert {"200", "413", "422"} <= set(answer)


PROJECT = "/library/projects/{project_id}"
REQUIRED_PROJECT_FIELDS = {
    "title",
    "industry",
    "investment_min",
    "investment_max",
    "payback_months",
    "jobs_potential",
    "summary",
}


def test_library_project_bodies_come_from_their_forms(document: dict[str, Any]) -> None:
    """The level and region of a new project follow from the curator (D29): no body names
    them; a PATCH changes only the fields it names."""
    create = _body_schema(document, "/library/projects", "post")
    assert set(create["properties"]) == set(PROJECT_FIELDS)
    assert set(create["required"]) == REQUIRED_PROJECT_FIELDS
    properties = create["properties"]
    assert properties["industry"]["enum"] == list(INDUSTRY_VALUES)
    assert properties["investment_min"]["type"] == "string"  # money travels as text
    assert (properties["payback_months"]["minimum"], properties["payback_months"]["maximum"]) == (
        1,
        240,
    )
    assert properties["title"]["maxLength"] == 100
    patch = _body_schema(document, PROJECT, "patch")
    assert set(patch["properties"]) == set(PROJECT_FIELDS)
    assert not patch.get("required")
    adoption = _body_schema(document, f"{PROJECT}/adoptions", "post")
    assert set(adoption["properties"]) == {"founder_id"}
    assert not adoption.get("required")  # a founder adopts for themself
    assert adoption["properties"]["founder_id"]["minimum"] == 1


def test_library_operations_document_their_answers(document: dict[str, Any]) -> None:
    paths = document["paths"]
    listing = paths["/library/projects"]["get"]
    query = {p["name"]: p["schema"] for p in listing["parameters"] if p["in"] == "query"}
    assert {"q", "region_code", "industry", "max_investment", "payback", "status", "sort"} <= set(
        query
    )
    assert query["per_page"]["maximum"] == 200
    assert set(query["status"]["enum"]) == {"", "draft", "published", "retired"}
    assert set(query["sort"]["enum"]) == {"", "newest", "investment", "outcome"}
    page = listing["responses"]["200"]["content"]["application/json"]["schema"]
    assert {"$ref": "#/components/schemas/Page"} in page["allOf"]
    assert set(paths["/library/projects"]["post"]["responses"]) >= {"201", "401", "403", "422"}
    assert set(paths[PROJECT]["get"]["responses"]) >= {"200", "401", "403", "404"}
    assert set(paths[PROJECT]["patch"]["responses"]) >= {"200", "403", "404", "422"}
    for action in ("publish", "retire", "revise"):
        operation = paths[f"{PROJECT}/{action}"]["post"]
        assert "requestBody" not in operation, action  # a button, nothing to send
        assert set(operation["responses"]) >= {"200", "401", "403", "404", "409"}, action
    promote = paths[f"{PROJECT}/promote"]["post"]
    assert "requestBody" not in promote
    assert set(promote["responses"]) >= {"201", "403", "404", "409"}
    adopt = paths[f"{PROJECT}/adoptions"]["post"]["responses"]
    assert set(adopt) >= {"201", "403", "404", "409", "422"}
    detail = paths[PROJECT]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert {"level", "region_code", "status", "promoted_from_id", "outcome"} <= set(
        detail["required"]
    )
    assert detail["properties"]["investment_min"]["pattern"] == r"^\d+\.\d{2}$"
    assert detail["properties"]["outcome"]["required"] == [
        "adopters",
        "businesses",
        "operating",
        "jobs",
    ]


BUSINESS = "/businesses/{business_id}"
MONEY_ANSWER = r"^\d+\.\d{2}$"
STATUSES = ["operating", "suspended", "closed"]
REQUIRED_BUSINESS_FIELDS = {
    "founder_id",
    "name",
    "industry",
    "region_code",
    "opened_on",
    "employees_at_opening",
}


def _answer(document: dict[str, Any], path: str, method: str, status: str) -> dict[str, Any]:
    content = document["paths"][path][method]["responses"][status]["content"]
    return _resolve(document, content["application/json"]["schema"])


def _page_items(document: dict[str, Any], path: str) -> dict[str, Any]:
    """The schema of one item of a paginated list."""
    page = _answer(document, path, "get", "200")
    assert {"$ref": "#/components/schemas/Page"} in page["allOf"], path
    (items,) = [part for part in page["allOf"] if "$ref" not in part]
    return items["properties"]["items"]["items"]


def test_business_bodies_come_from_their_forms(document: dict[str, Any]) -> None:
    """SPEC §8, §14: a business names its founder once; a PATCH changes only what it names."""
    create = _body_schema(document, "/businesses", "post")
    assert set(create["required"]) == REQUIRED_BUSINESS_FIELDS
    assert set(create["properties"]) == REQUIRED_BUSINESS_FIELDS | {"uscc", "library_project_id"}
    properties = create["properties"]
    assert properties["industry"]["enum"] == list(INDUSTRY_VALUES)
    assert properties["opened_on"]["format"] == "date"
    assert properties["uscc"]["maxLength"] == 18
    assert properties["name"]["maxLength"] == 100
    for name in ("founder_id", "library_project_id"):
        assert (properties[name]["minimum"], properties[name]["maximum"]) == (1, 2**31 - 1)
    assert (
        properties["employees_at_opening"]["minimum"],
        properties["employees_at_opening"]["maximum"],
    ) == (0, 10_000)
    assert "enum" not in properties["region_code"]  # regions are data
    patch = _body_schema(document, BUSINESS, "patch")
    assert not patch.get("required")
    assert "founder_id" not in patch["properties"]  # a business never changes hands
    assert set(patch["properties"]) == set(create["properties"]) - {"founder_id"}


def test_observation_bodies_come_from_their_forms(document: dict[str, Any]) -> None:
    observation = _body_schema(document, f"{BUSINESS}/observations", "post")
    assert observation["required"] == ["status"]  # observed_on defaults to today
    properties = observation["properties"]
    assert set(properties) == {
        "observed_on",
        "status",
        "employees",
        "monthly_revenue",
        "closed_on",
        "note",
        "reopened",
    }
    assert properties["status"]["enum"] == STATUSES
    assert properties["monthly_revenue"]["type"] == "string"  # money travels as text
    assert properties["closed_on"]["format"] == properties["observed_on"]["format"] == "date"
    assert properties["reopened"]["type"] == "boolean"
    assert properties["note"]["maxLength"] == 1000
    query = _body_schema(document, "/observations/{observation_id}/query", "post")
    assert query["required"] == ["note"]
    verify = document["paths"]["/observations/{observation_id}/verify"]["post"]
    assert "requestBody" not in verify  # a button, nothing to send


def _check_business_answer(schema: dict[str, Any]) -> None:
    properties = schema["properties"]
    assert properties["status"] == {"type": "string", "enum": STATUSES}
    assert properties["closed_on"] == {"type": "string", "format": "date", "nullable": True}
    assert properties["uscc"]["nullable"] is True
    assert properties["library_project_id"]["nullable"] is True
    assert {"id", "status", "employees", "status_observed_on", "closed_on"} <= set(
        schema["required"]
    )


def _check_observation_answer(schema: dict[str, Any]) -> None:
    properties = schema["properties"]
    assert properties["monthly_revenue"] == {
        "type": "string",
        "pattern": MONEY_ANSWER,
        "nullable": True,
    }
    assert re.fullmatch(MONEY_ANSWER, "1234.50")
    assert not re.fullmatch(MONEY_ANSWER, "1234.5")
    assert properties["closed_on"] == {"type": "string", "format": "date", "nullable": True}
    assert properties["status"]["enum"] == STATUSES
    assert properties["source"]["enum"] == ["staff", "founder", "followup"]
    assert properties["review_state"]["nullable"] is True
    assert set(properties["review_state"]["enum"]) >= {"pending", "verified", "queried"}
    assert set(schema["required"]) == set(properties)


def test_business_and_observation_answers_have_their_shapes(document: dict[str, Any]) -> None:
    detail = _answer(document, BUSINESS, "get", "200")
    _check_business_answer(detail)
    assert "observations" in detail["required"]
    _check_observation_answer(detail["properties"]["observations"]["items"])
    for path, method, status in (
        ("/businesses", "post", "201"),
        (BUSINESS, "patch", "200"),
    ):
        assert _answer(document, path, method, status) == detail, (path, method)
    _check_business_answer(_page_items(document, "/businesses"))
    observation = _answer(document, f"{BUSINESS}/observations", "post", "201")
    _check_observation_answer(observation)
    for action in ("verify", "query"):
        answer = _answer(document, f"/observations/{{observation_id}}/{action}", "post", "200")
        assert answer == observation, action
    assert _page_items(document, "/observations/reports") == observation


def test_business_operations_document_their_errors(document: dict[str, Any]) -> None:
    paths = document["paths"]
    assert set(paths["/businesses"]["post"]["responses"]) >= {"201", "401", "403", "409", "422"}
    assert set(paths[BUSINESS]["get"]["responses"]) >= {"200", "401", "403", "404"}
    assert set(paths[BUSINESS]["patch"]["responses"]) >= {"200", "403", "404", "409", "422"}
    observe = paths[f"{BUSINESS}/observations"]["post"]["responses"]
    assert set(observe) >= {"201", "403", "404", "409", "422"}  # 409: a closed business
    for action in ("verify", "query"):
        answers = paths[f"/observations/{{observation_id}}/{action}"]["post"]["responses"]
        assert set(answers) >= {"200", "401", "403", "404", "409"}, action
    listing = paths["/businesses"]["get"]
    query = {p["name"]: p["schema"] for p in listing["parameters"] if p["in"] == "query"}
    assert {"q", "region_code", "status", "industry", "opened_from", "opened_to"} <= set(query)
    assert query["status"]["enum"] == ["", *STATUSES]
    assert query["per_page"]["maximum"] == 200
    reports = paths["/observations/reports"]["get"]
    states = {p["name"]: p["schema"] for p in reports["parameters"] if p["in"] == "query"}
    assert set(states["state"]["enum"]) >= {"pending", "verified", "queried"}


def test_incubation_bodies_and_answers_have_their_shapes(document: dict[str, Any]) -> None:
    base = _body_schema(document, "/incubation/bases", "post")
    assert set(base["required"]) == {"name", "region_code", "kind", "units"}
    assert base["properties"]["kind"]["enum"] == ["park", "idle_factory", "campus", "other"]
    assert (base["properties"]["units"]["minimum"], base["properties"]["units"]["maximum"]) == (
        1,
        10_000,
    )
    move_in = _body_schema(document, "/incubation/bases/{base_id}/residencies", "post")
    assert set(move_in["required"]) == {"business_id", "unit_label", "starts_on"}
    assert move_in["properties"]["business_id"]["maximum"] == 2**31 - 1
    move_out = _body_schema(document, "/residencies/{residency_id}/end", "post")
    assert set(move_out["required"]) == {"ends_on", "outcome"}
    assert move_out["properties"]["outcome"]["enum"] == ["graduated", "left", "closed"]

    detail = _answer(document, "/incubation/bases/{base_id}", "get", "200")
    assert {"units", "occupied", "free", "residents"} <= set(detail["required"])
    for name in ("units", "occupied", "free"):
        assert detail["properties"][name]["type"] == "integer"
    assert _answer(document, "/incubation/bases", "post", "201") == detail
    listed = _page_items(document, "/incubation/bases")
    assert {"occupied", "free"} <= set(listed["required"])
    residency = _answer(document, "/incubation/bases/{base_id}/residencies", "post", "201")
    assert residency["properties"]["ends_on"]["nullable"] is True
    outcome = residency["properties"]["outcome"]
    assert outcome["nullable"] is True
    assert set(outcome["enum"]) - {None} == {"graduated", "left", "closed"}
    assert _answer(document, "/residencies/{residency_id}/end", "post", "200") == residency
    paths = document["paths"]
    for path in ("/incubation/bases/{base_id}/residencies", "/residencies/{residency_id}/end"):
        assert set(paths[path]["post"]["responses"]) >= {"401", "403", "404", "409", "422"}, path
