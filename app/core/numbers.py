"""Numbers as the pages print them, rounded half-up like every stored figure (Python's
own formatting of floats and Decimals rounds half-even, which would disagree with the
spreadsheets: 0.1225 must read 12.3 %)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

DASH = "—"


def percent_text(share: Any, places: int = 1) -> str:
    """A share (0.4959) as a percentage ("49.6%"); a dash for None."""
    if share is None:
        return DASH
    return f"{_rounded(Decimal(str(share)) * 100, places)}%"


def number_text(value: Any, places: int = 2) -> str:
    """A number with `places` decimals ("3.13"); a dash for None."""
    if value is None:
        return DASH
    return str(_rounded(Decimal(str(value)), places))


def _rounded(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
