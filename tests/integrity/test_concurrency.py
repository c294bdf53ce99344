"""Two officers deciding one correction at once, and two writers racing for one once_key.

Real commits from separate connections, on a database of their own (`tests.concurrency`:
a temporary SQLite file, or `<testdb>_integrity` beside TEST_DATABASE_URL on PostgreSQL).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import date

import pytest
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import func, select

from app.auth.models import User
from app.core.errors import Conflict
from app.extensions import db
from app.integrity.models import IntegrityCorrection, IntegrityEvent
from app.integrity.operations import decide_correction, propose_correction, record_event
from tests.concurrency import migrated_app, run_together
from tests.factories import make_founder, make_user

AS_OF = date(2026, 11, 22)
# Long enough that the other thread is surely waiting on the lock meanwhile.
HOLD_SECONDS = 0.3


@pytest.fixture(scope="module")
def own_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """The app on its own migrated database; everything committed here is real."""
    with migrated_app(tmp_path_factory, "integrity") as app:
        yield app


def test_two_officers_approving_at_once_make_one_event(own_app: Flask) -> None:
    with own_app.app_context():
        founder = make_founder(region_code="460100")
        proposer = make_user(role="officer", region_code="460100")
        deciders = [make_user(role="officer", region_code="460100") for _ in range(2)]
        correction = propose_correction(
            proposer, founder, points=15, reason="违约认定有误", as_of=AS_OF
        )
        db.session.commit()
        founder_id, correction_id = founder.id, correction.id
        waiting = [decider.id for decider in deciders]
        db.session.remove()

    lock = threading.Lock()

    def approve() -> str:
        with lock:
            officer_id = waiting.pop()
        officer = db.session.get(User, officer_id)
        pending = db.session.get(IntegrityCorrection, correction_id)
        decide_correction(officer, pending, approve=True, note="", as_of=AS_OF)
        time.sleep(HOLD_SECONDS)  # hold the row while the other officer tries
        db.session.commit()
        return "approved"

    assert sorted(run_together(own_app, approve)) == ["Conflict", "approved"]
    with own_app.app_context():
        events = list(
            db.session.scalars(
                select(IntegrityEvent).where(
                    IntegrityEvent.founder_id == founder_id, IntegrityEvent.kind == "correction"
                )
            )
        )
        assert len(events) == 1
        decided = db.session.get(IntegrityCorrection, correction_id)
        assert decided.state == "approved"
        assert decided.event_id == events[0].id
        assert decided.decided_by_id in {decider.id for decider in deciders}
        db.session.remove()


def test_two_writers_of_one_once_key_make_one_event(own_app: Flask) -> None:
    with own_app.app_context():
        founder_id = make_founder(region_code="460100").id
        db.session.commit()
        db.session.remove()

    def write() -> str:
        event = record_event(
            founder_id,
            "late_over_30",
            occurred_on=AS_OF,
            source="repayment",
            once_key="late_over_30:installment:race",
        )
        time.sleep(HOLD_SECONDS)  # the first insert stays uncommitted while the twin tries
        db.session.commit()
        return "skipped" if event is None else "written"

    assert sorted(run_together(own_app, write)) == ["skipped", "written"]
    with own_app.app_context():
        count = db.session.scalar(
            select(func.count(IntegrityEvent.id)).where(
                IntegrityEvent.once_key == "late_over_30:installment:race"
            )
        )
        assert count == 1
        db.session.remove()


def test_the_loser_of_a_race_is_told_why(own_app: Flask) -> None:
    """The officer who loses gets a Conflict naming the decision, not a database error."""
    with own_app.app_context():
        founder = make_founder(region_code="460100")
        proposer = make_user(role="officer", region_code="460100")
        first, second = (make_user(role="officer", region_code="460100") for _ in range(2))
        correction = propose_correction(proposer, founder, points=-8, reason="漏记", as_of=AS_OF)
        decide_correction(first, correction, approve=False, note="证据不足", as_of=AS_OF)
        db.session.commit()
        with force_locale("en"), pytest.raises(Conflict, match="already rejected"):
            decide_correction(second, correction, approve=True, note="", as_of=AS_OF)
        db.session.rollback()
        db.session.remove()
