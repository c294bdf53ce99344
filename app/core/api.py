"""The JSON API's shared machinery: reading JSON into forms, describing endpoints, errors.

Every feature's api.py uses `api_endpoint` to describe a route (the OpenAPI document is
built from these descriptions) and `read_json_form` to validate the body with the same
WTForms form the HTML page uses.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from flask import jsonify, request
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    FieldList,
    FloatField,
    IntegerField,
    SelectMultipleField,
)

from app.core.db import format_money
from app.core.errors import DomainError, ValidationFailed

F = TypeVar("F", bound=Callable[..., Any])

# Schema pieces the features' answers share (SPEC §14: dates YYYY-MM-DD, money "1234.50").
DATE_SCHEMA: dict[str, Any] = {"type": "string", "format": "date"}
NULLABLE_DATE_SCHEMA: dict[str, Any] = {**DATE_SCHEMA, "nullable": True}
MONEY_SCHEMA: dict[str, Any] = {"type": "string", "pattern": r"^\d+\.\d{2}$"}
NULLABLE_MONEY_SCHEMA: dict[str, Any] = {**MONEY_SCHEMA, "nullable": True}
FormT = TypeVar("FormT", bound=FlaskForm)


class MalformedJSON(DomainError):
    """The body is not a JSON object."""

    status_code = 400


@dataclass(frozen=True)
class Endpoint:
    """What the OpenAPI document says about one API route."""

    summary: str
    form: type[FlaskForm] | None = None
    query: type[FlaskForm] | None = None
    response: dict[str, Any] | None = None
    status: int = 200
    paginated: bool = False
    public: bool = False
    errors: tuple[int, ...] = ()
    tags: tuple[str, ...] = ()
    # multipart/form-data for uploads; everything else takes JSON.
    content_type: str = "application/json"
    extra: dict[str, Any] = field(default_factory=dict)


def api_endpoint(summary: str, **kwargs: Any) -> Callable[[F], F]:
    """Attach an OpenAPI description to an API view function."""

    def decorator(view: F) -> F:
        view.api_endpoint = Endpoint(summary=summary, **kwargs)  # type: ignore[attr-defined]
        return view

    return decorator


def _expected_type(field_obj: Any) -> tuple[tuple[type, ...], str]:
    """Which JSON types a form field accepts, and how to say so to the user."""
    if isinstance(field_obj, BooleanField):
        return (bool,), _("Expected true or false.")
    if isinstance(field_obj, IntegerField):
        return (int,), _("Expected a whole number.")
    if isinstance(field_obj, DecimalField | FloatField):
        return (str, int), _('Expected an amount as a string, like "1234.50".')
    if isinstance(field_obj, FieldList | SelectMultipleField):
        return (list,), _("Expected a list.")
    if isinstance(field_obj, DateField):
        return (str,), _("Expected a date as YYYY-MM-DD.")
    return (str,), _("Expected text.")


def json_body() -> dict[str, Any]:
    """The request body as a JSON object; anything else is a 400."""
    try:
        payload = json.loads(request.get_data(cache=True) or b"null")
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        payload = None
    if not isinstance(payload, dict):
        raise MalformedJSON(_("The request body must be a JSON object."))
    if not _is_encodable(payload):
        # JSON may escape half of a UTF-16 pair ("\ud800"), which no database stores.
        raise MalformedJSON(_("The request body contains text that is not valid Unicode."))
    return payload


def _is_encodable(value: Any) -> bool:
    """True when every string in the decoded JSON (keys too) can be stored as UTF-8."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return True


def read_json_form(form_cls: type[FormT], **form_kwargs: Any) -> FormT:
    """Validate the JSON body with `form_cls`; a 422 names each field that is wrong.

    JSON values are checked against the field's type first (a number is not text, true is
    not a number), then handed to WTForms as form data so pages and API share validators.
    """
    payload = json_body()
    form = form_cls(formdata=None, meta={"csrf": False}, **form_kwargs)
    formdata: MultiDict[str, str] = MultiDict()
    type_errors: dict[str, list[str]] = {}
    for name, field_obj in form._fields.items():
        if name not in payload or payload[name] is None:
            continue
        value = payload[name]
        accepted, message = _expected_type(field_obj)
        if not isinstance(value, accepted) or (isinstance(value, bool) and bool not in accepted):
            type_errors[name] = [message]
            continue
        if isinstance(value, bool):
            formdata.add(name, "y" if value else "")
        elif isinstance(value, list):
            for item in value:
                formdata.add(name, str(item))
        else:
            formdata.add(name, str(value))
    if type_errors:
        raise ValidationFailed(type_errors)
    form = form_cls(formdata=formdata, meta={"csrf": False}, **form_kwargs)
    return form


def validate_or_raise(form: FlaskForm) -> None:
    """Run the form's validators; a 422 (or a page re-render) lists every bad field."""
    if not form.validate():
        raise ValidationFailed(form_errors(form))


def form_errors(form: FlaskForm) -> dict[str, list[str]]:
    """WTForms errors as {field: [messages]}, without the CSRF pseudo-field."""
    return {
        name: [str(message) for message in messages]
        for name, messages in form.errors.items()
        if name != "csrf_token"
    }


def read_query_form(form_cls: type[FormT]) -> FormT:
    """Validate query-string filters with `form_cls` (422 on bad values)."""
    form = form_cls(formdata=request.args, meta={"csrf": False})
    validate_or_raise(form)
    return form


def json_response(body: Any, status: int = 200) -> Any:
    """A JSON answer with the given status."""
    response = jsonify(body)
    response.status_code = status
    return response


def iso_date(value: date | None) -> str | None:
    """Dates in answers are YYYY-MM-DD."""
    return value.isoformat() if value else None


def money_str(value: Decimal | None) -> str | None:
    """Money in answers is a string with two decimals."""
    return None if value is None else format_money(value)
