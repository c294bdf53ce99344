"""URL converters shared by every blueprint."""

from __future__ import annotations

from typing import Any

from werkzeug.routing import IntegerConverter

from app.core.db import MAX_ID


class IdConverter(IntegerConverter):
    """`<id:name>`: a row id, 1 to MAX_ID; anything bigger is a 404, never a database error."""

    def __init__(self, map: Any, **kwargs: Any) -> None:
        super().__init__(map, min=1, max=MAX_ID)
