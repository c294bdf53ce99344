"""The OpenAPI 3 document, built from the registered /api/v1 routes and their forms.

Nothing is written by hand twice: a route's `api_endpoint` description and the WTForms
form that validates its body are the source of the document, so it cannot drift.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Flask, current_app
from flask_babel import force_locale
from flask_wtf import FlaskForm
from werkzeug.routing import Rule
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    FieldList,
    FileField,
    IntegerField,
    SelectField,
    SelectMultipleField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Regexp

from app.core.api import Endpoint, json_response
from app.core.db import MAX_ID
from app.core.pagination import MAX_PAGE, MAX_PER_PAGE

API_PREFIX = "/api/v1"
MONEY_PATTERN = r"^-?\d{1,13}(\.\d{1,2})?$"

openapi_bp = Blueprint("openapi", __name__)

ERROR_DESCRIPTIONS = {
    400: "Malformed JSON or a body that is not an object",
    401: "No valid bearer token or session",
    403: "The role lacks this action",
    404: "Absent or outside the caller's scope",
    409: "Conflict: duplicate, full, or wrong state",
    413: "Upload too large",
    422: "Invalid input, per field",
    429: "Too many failed attempts; retry later",
}


def _field_schema(field_obj: Any) -> dict[str, Any]:
    if isinstance(field_obj, FileField):
        schema: dict[str, Any] = {"type": "string", "format": "binary"}
    elif isinstance(field_obj, BooleanField):
        schema = {"type": "boolean"}
    elif isinstance(field_obj, IntegerField):
        schema = {"type": "integer"}
    elif isinstance(field_obj, DecimalField):
        schema = {"type": "string", "pattern": MONEY_PATTERN}
    elif isinstance(field_obj, DateField):
        schema = {"type": "string", "format": "date"}
    elif isinstance(field_obj, FieldList | SelectMultipleField):
        schema = {"type": "array", "items": {"type": "string"}}
    else:
        schema = {"type": "string"}
    if isinstance(field_obj, SelectField) and getattr(field_obj, "validate_choice", True):
        schema["enum"] = [value for value, *_ in field_obj.iter_choices() if value != ""]
    if _is_required(field_obj) and schema["type"] == "string":
        schema["minLength"] = 1
    for validator in field_obj.validators:
        if isinstance(validator, Length) and schema["type"] == "string":
            if validator.min and validator.min > 0:
                schema["minLength"] = validator.min
            if validator.max and validator.max > 0:
                schema["maxLength"] = validator.max
        elif isinstance(validator, NumberRange) and schema["type"] == "integer":
            if validator.min is not None:
                schema["minimum"] = validator.min
            if validator.max is not None:
                schema["maximum"] = validator.max
        elif isinstance(validator, Regexp) and schema["type"] == "string":
            schema["pattern"] = validator.regex.pattern
    if field_obj.description:
        schema["description"] = str(field_obj.description)
    elif field_obj.label and field_obj.label.text:
        schema["description"] = str(field_obj.label.text)
    return schema


def _is_required(field_obj: Any) -> bool:
    return any(isinstance(v, InputRequired | DataRequired) for v in field_obj.validators)


def form_schema(form_cls: type[FlaskForm]) -> dict[str, Any]:
    """A JSON Schema object for the body `form_cls` accepts."""
    form = form_cls(formdata=None, meta={"csrf": False})
    properties = {name: _field_schema(f) for name, f in form._fields.items()}
    required = [name for name, f in form._fields.items() if _is_required(f)]
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def _query_parameters(form_cls: type[FlaskForm] | None, paginated: bool) -> list[dict]:
    parameters = []
    if form_cls is not None:
        form = form_cls(formdata=None, meta={"csrf": False})
        for name, field_obj in form._fields.items():
            schema = _field_schema(field_obj)
            if "enum" in schema:
                schema["enum"] = ["", *schema["enum"]]  # an empty filter means "any"
            parameters.append({"name": name, "in": "query", "required": False, "schema": schema})
    if paginated:
        parameters += [
            {
                "name": "page",
                "in": "query",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
            },
            {
                "name": "per_page",
                "in": "query",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
            },
        ]
    return parameters


_CONVERTER = re.compile(r"<(?:(?P<converter>[a-z]+)(?:\([^)]*\))?:)?(?P<name>\w+)>")


def _path_and_parameters(rule: Rule) -> tuple[str, list[dict]]:
    parameters = []

    def replace(match: re.Match) -> str:
        name, converter = match.group("name"), match.group("converter") or "string"
        schema = {"type": "string"}
        if converter == "int":
            schema = {"type": "integer", "minimum": 0}
        elif converter == "id":
            schema = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
        return "{" + name + "}"

    return _CONVERTER.sub(replace, rule.rule), parameters


def _error_statuses(endpoint: Endpoint, rule: Rule, method: str) -> set[int]:
    statuses = set(endpoint.errors)
    if not endpoint.public:
        statuses |= {401, 403}
    if endpoint.form is not None:
        statuses |= {400, 422}
    if endpoint.query is not None or endpoint.paginated:
        statuses.add(422)
    if rule.arguments:
        statuses.add(404)
    return statuses


def _operation(rule: Rule, method: str, endpoint: Endpoint) -> dict[str, Any]:
    path_params = _path_and_parameters(rule)[1]
    operation: dict[str, Any] = {
        "summary": endpoint.summary,
        "operationId": f"{rule.endpoint}.{method.lower()}",
        "tags": list(endpoint.tags) or [rule.endpoint.split(".")[0].removeprefix("api_")],
        "parameters": path_params + _query_parameters(endpoint.query, endpoint.paginated),
        "responses": {},
    }
    if endpoint.form is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {endpoint.content_type: {"schema": form_schema(endpoint.form)}},
        }
    body = endpoint.response or {"type": "object"}
    if endpoint.paginated:
        body = {
            "allOf": [
                {"$ref": "#/components/schemas/Page"},
                {
                    "type": "object",
                    "properties": {"items": {"type": "array", "items": endpoint.response}},
                },
            ]
        }
    if endpoint.status == 204:
        operation["responses"]["204"] = {"description": "Done"}
    else:
        operation["responses"][str(endpoint.status)] = {
            "description": "Success",
            "content": {"application/json": {"schema": body}},
        }
    for status in sorted(_error_statuses(endpoint, rule, method)):
        schema_ref = "ValidationErrors" if status == 422 else "Error"
        operation["responses"][str(status)] = {
            "description": ERROR_DESCRIPTIONS.get(status, "Error"),
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}
            },
        }
    # Further success answers an endpoint describes itself (a 200 replay beside a 201).
    for status, response in endpoint.extra.get("responses", {}).items():
        operation["responses"].setdefault(str(status), response)
    if not endpoint.public:
        operation["security"] = [{"bearerAuth": []}, {"session": []}]
    return operation


def api_rules(app: Flask) -> list[Rule]:
    """Every registered rule under /api/v1."""
    return [rule for rule in app.url_map.iter_rules() if rule.rule.startswith(API_PREFIX)]


def build_openapi(app: Flask) -> dict[str, Any]:
    """The whole document for the app's registered API routes."""
    paths: dict[str, dict[str, Any]] = {}
    with force_locale("en"):
        for rule in sorted(api_rules(app), key=lambda r: r.rule):
            view = app.view_functions[rule.endpoint]
            endpoint: Endpoint | None = getattr(view, "api_endpoint", None)
            if endpoint is None:
                continue
            path = _path_and_parameters(rule)[0].removeprefix(API_PREFIX) or "/"
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                paths.setdefault(path, {})[method.lower()] = _operation(rule, method, endpoint)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "FounderPath API",
            "version": "1",
            "description": "Entrepreneurship guidance, incubation and guaranteed microloans.",
        },
        "servers": [{"url": API_PREFIX}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {"error": {"type": "string"}},
                    "required": ["error"],
                },
                "ValidationErrors": {
                    "type": "object",
                    "properties": {
                        "errors": {
                            "type": "object",
                            "additionalProperties": {"type": "array", "items": {"type": "string"}},
                        }
                    },
                    "required": ["errors"],
                },
                "Page": {
                    "type": "object",
                    "properties": {
                        "items": {"type": "array"},
                        "page": {"type": "integer"},
                        "per_page": {"type": "integer"},
                        "total": {"type": "integer"},
                    },
                    "required": ["items", "page", "per_page", "total"],
                },
            },
        },
    }


@openapi_bp.get(f"{API_PREFIX}/openapi.json")
def openapi_document() -> Any:
    """Serve the OpenAPI document (public: it describes shapes, never data)."""
    return json_response(build_openapi(current_app))


openapi_document.api_endpoint = Endpoint(  # type: ignore[attr-defined]
    summary="This OpenAPI document", public=True, response={"type": "object"}
)
