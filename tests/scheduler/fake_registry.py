"""A registry of quick, idempotent fake steps for the scheduler's tests.

Each step writes one audit entry (action `fake.<step>`, entity id the date) unless it is
there already, and reports {"written": 0 or 1}. A step fails, after writing, for the
(step, date) pairs in FAILING, or for every date when the date is None.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.core.audit import AuditEntry
from app.extensions import db
from app.scheduler.registry import Cadence, Job

FAILING: set[tuple[str, date | None]] = set()
CALLS: list[tuple[str, date]] = []


def _step(name: str):
    def run(as_of: date) -> dict[str, int]:
        CALLS.append((name, as_of))
        exists = db.session.scalar(
            select(AuditEntry.id).where(
                AuditEntry.action == f"fake.{name}", AuditEntry.entity_id == as_of.isoformat()
            )
        )
        written = 0
        if exists is None:
            db.session.add(
                AuditEntry(action=f"fake.{name}", entity_type="fake", entity_id=as_of.isoformat())
            )
            db.session.flush()
            written = 1
        if (name, as_of) in FAILING or (name, None) in FAILING:
            raise RuntimeError(f"{name} broke on {as_of}")
        return {"written": written}

    run.__name__ = name
    return run


JOBS = [
    Job("daily", (("first", _step("first")), ("middle", _step("middle")), ("last", _step("last")))),
    Job("monthly", (("snapshot", _step("snapshot")),), Cadence.MONTHLY),
]
REGISTRY = "tests.scheduler.fake_registry:JOBS"
