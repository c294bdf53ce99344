"""Integrity test data: events and corrections, inserted directly (flushed, not committed)."""

from __future__ import annotations

from datetime import date
from typing import Any

from app.extensions import db
from app.founders.models import Founder
from app.integrity.models import (
    DEFAULT_POINTS,
    CorrectionState,
    EventKind,
    IntegrityCorrection,
    IntegrityEvent,
)


def make_event(
    founder: Founder,
    kind: str = EventKind.PAID_ON_TIME,
    *,
    points: int | None = None,
    occurred_on: date = date(2026, 6, 1),
    source: str = "repayment",
    **fields: Any,
) -> IntegrityEvent:
    """An event in the founder's file with SPEC's default points for its kind."""
    if points is None:
        points = DEFAULT_POINTS[EventKind(kind)]
    event = IntegrityEvent(
        founder_id=founder.id,
        kind=str(kind),
        points=points,
        occurred_on=occurred_on,
        source=source,
        note=fields.pop("note", ""),
        **fields,
    )
    db.session.add(event)
    db.session.flush()
    return event


def make_correction(
    founder: Founder,
    proposer: Any,
    *,
    points: int = 10,
    reason: str = "还款记录录入错误，银行已出具证明",
    **fields: Any,
) -> IntegrityCorrection:
    """A correction of the founder's file proposed by `proposer`, waiting for approval."""
    values: dict[str, Any] = {
        "founder_id": founder.id,
        "points": points,
        "reason": reason,
        "state": CorrectionState.PENDING,
        "proposed_on": date(2026, 11, 1),
        "proposed_by_id": proposer.id,
    }
    correction = IntegrityCorrection(**(values | fields))
    db.session.add(correction)
    db.session.flush()
    return correction
