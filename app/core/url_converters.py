"""URL converters shared by every blueprint."""

from __future__ import annotations

import re
from typing import Any

from werkzeug.routing import IntegerConverter

from app.core.db import MAX_ID

# 1 to 2147483647 written out as a pattern. A value outside it must not match the path at
# all: a converter that matched and then refused the value would let werkzeug answer 405
# (the path "exists" for other methods) instead of 404.
ID_PATTERN = (
    r"[1-9]\d{0,8}|1\d{9}|20\d{8}|21[0-3]\d{7}|214[0-6]\d{6}|2147[0-3]\d{5}"
    r"|21474[0-7]\d{4}|214748[0-2]\d{3}|2147483[0-5]\d{2}|21474836[0-3]\d|214748364[0-7]"
)


class IdConverter(IntegerConverter):
    """`<id:name>`: a row id, 1 to MAX_ID; anything else is a 404, never a database error."""

    regex = ID_PATTERN

    def __init__(self, map: Any, **kwargs: Any) -> None:
        super().__init__(map, min=1, max=MAX_ID)


_ID_TEXT = re.compile(f"(?:{ID_PATTERN})")


def parse_id(text: object) -> int | None:
    """A row id typed into a query string or a hidden field, or None when it is not one
    (ASCII digits only: "²".isdigit() is true, but it is not a number int() reads)."""
    if isinstance(text, str) and _ID_TEXT.fullmatch(text):
        return int(text)
    return None
