"""Pagination for pages and the API: one way to read page/per_page and to count."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask_babel import gettext as _
from flask_sqlalchemy.pagination import Pagination, SelectPagination
from sqlalchemy import Select

from app.core.errors import ValidationFailed
from app.extensions import db

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 200
# Far beyond any real list, small enough that page * per_page never overflows SQL integers.
MAX_PAGE = 1_000_000


@dataclass(frozen=True)
class PageRequest:
    """Which page of a list the client asked for."""

    page: int = 1
    per_page: int = DEFAULT_PER_PAGE


def read_page_request(
    args: Mapping[str, str], *, default_per_page: int = DEFAULT_PER_PAGE
) -> PageRequest:
    """Read `page` and `per_page` from query arguments, naming the field that is wrong."""
    errors: dict[str, list[str]] = {}
    values = {"page": 1, "per_page": default_per_page}
    for field, lowest, highest in (("page", 1, MAX_PAGE), ("per_page", 1, MAX_PER_PAGE)):
        raw = args.get(field)
        if raw in (None, ""):
            continue
        try:
            number = int(raw)
        except ValueError:
            errors[field] = [_("Must be a whole number.")]
            continue
        if number < lowest or (highest is not None and number > highest):
            errors[field] = [_("Must be between %(low)s and %(high)s.", low=lowest, high=highest)]
            continue
        values[field] = number
    if errors:
        raise ValidationFailed(errors)
    return PageRequest(**values)


def paginate(stmt: Select, page_request: PageRequest) -> Pagination:
    """Run `stmt` for one page, with the total count, never failing on a page past the end."""
    return db.paginate(
        stmt,
        page=page_request.page,
        per_page=page_request.per_page,
        max_per_page=MAX_PER_PAGE,
        error_out=False,
        count=True,
    )


class _RowPagination(SelectPagination):
    """A page of result rows: every selected column, not only the first one's objects."""

    def _query_items(self) -> list[Any]:
        select = self._query_args["select"].limit(self.per_page).offset(self._query_offset)
        return list(self._query_args["session"].execute(select).all())


def paginate_rows(stmt: Select, page_request: PageRequest) -> Pagination:
    """Like `paginate`, for a statement of several columns (an object and its figures):
    each item is a result row."""
    return _RowPagination(
        select=stmt,
        session=db.session(),
        page=page_request.page,
        per_page=page_request.per_page,
        max_per_page=MAX_PER_PAGE,
        error_out=False,
        count=True,
    )


def page_envelope(pagination: Pagination, serialise: Callable[[Any], dict]) -> dict[str, Any]:
    """The API list answer: {items, page, per_page, total}."""
    return {
        "items": [serialise(item) for item in pagination.items],
        "page": pagination.page,
        "per_page": pagination.per_page,
        "total": pagination.total,
    }


def read_page_request_or_first(
    args: Mapping[str, str], *, default_per_page: int = DEFAULT_PER_PAGE
) -> PageRequest:
    """For pages: a hand-edited, invalid page number shows the first page instead of an error."""
    try:
        return read_page_request(args, default_per_page=default_per_page)
    except ValidationFailed:
        return PageRequest(1, default_per_page)


def link_args(args: Mapping[str, str], *, drop: tuple[str, ...] = ()) -> dict[str, str]:
    """A list's query arguments to carry into its links (next page, export, back).

    Names starting with "_" are left out: `url_for` reads `_method`, `_anchor`, `_scheme`
    and `_external` itself, and a hand-typed `?_method=POST` must not break the page.
    A value that looks like a whole ID number is left out too: search boxes refuse one,
    and the page must not carry it into its own links (SPEC §4: never in URLs).
    """
    return {
        key: value
        for key, value in args.items()
        if not key.startswith("_") and key not in drop and not _looks_like_id_number(value)
    }


_ID_LIKE = re.compile(r"\s*[0-9]{14,17}[0-9Xx]?\s*")


def _looks_like_id_number(value: str) -> bool:
    return bool(_ID_LIKE.fullmatch(value))


def current_page_link() -> str:
    """This page's path with the query arguments `link_args` keeps, for "come back here"
    fields such as the language switcher's."""
    from flask import request

    query = urlencode(list(link_args(request.args).items()))
    return f"{request.path}?{query}" if query else request.path
