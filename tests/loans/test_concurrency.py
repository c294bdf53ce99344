"""Races on one loan: twenty threads posting one bank reference, two officers approving.

Real commits on a database of this module's own (see tests/concurrency.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.auth.models import User
from app.extensions import db
from app.loans import operations
from app.loans.models import Allocation, Loan, Repayment
from tests.concurrency import migrated_app, run_together
from tests.factories import make_user
from tests.loans.factories import fund_region, make_loan

AS_OF = date(2026, 6, 30)
HOLD_SECONDS = 0.3  # long enough that the other threads are surely waiting meanwhile


@pytest.fixture(scope="module")
def own_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    with migrated_app(tmp_path_factory, "loans") as app:
        yield app


def test_twenty_threads_posting_one_reference_make_one_posting(own_app: Flask) -> None:
    with own_app.app_context():
        fund_region("460000")
        loan = make_loan(amount=Decimal("12000.00"))
        officer = make_user(role="officer")
        db.session.commit()
        loan_id, officer_id = loan.id, officer.id
        db.session.remove()

    def post() -> object:
        officer = db.session.get(User, officer_id)
        posting = operations.post_repayment(
            officer,
            loan_id,
            {"paid_on": date(2026, 2, 27), "amount": Decimal("1000.00"), "reference": "SAME"},
            as_of=AS_OF,
        )
        if posting.created:
            time.sleep(HOLD_SECONDS)  # keep the lock while the others queue behind it
        db.session.commit()
        return (posting.repayment.id, posting.created)

    outcomes = run_together(own_app, post, times=20)
    ids = {outcome[0] for outcome in outcomes}
    assert len(ids) == 1, outcomes
    assert sorted(outcome[1] for outcome in outcomes) == [False] * 19 + [True]
    with own_app.app_context():
        assert db.session.scalar(select(func.count(Repayment.id))) == 1
        principal, interest = db.session.execute(
            select(func.sum(Allocation.principal), func.sum(Allocation.interest))
        ).one()
        assert principal + interest == Decimal("1000.00")
        assert db.session.get(Loan, loan_id).outstanding_principal < Decimal("12000.00")
        db.session.remove()


def test_two_officers_approving_at_once_make_one_transition(own_app: Flask) -> None:
    with own_app.app_context():
        reviewer = make_user(role="officer")
        approvers = [make_user(role="officer") for _ in range(2)]
        loan = make_loan(status="reviewed", reviewer=reviewer, approver=approvers[0])
        db.session.commit()
        loan_id = loan.id
        waiting = [approver.id for approver in approvers]
        db.session.remove()
    lock = threading.Lock()

    def approve() -> object:
        with lock:
            officer_id = waiting.pop()
        officer = db.session.get(User, officer_id)
        operations.approve_loan(officer, loan_id, {"decision": "approve"}, as_of=AS_OF)
        time.sleep(HOLD_SECONDS)
        db.session.commit()
        return "approved"

    assert sorted(run_together(own_app, approve)) == ["Conflict", "approved"]
    with own_app.app_context():
        loan = db.session.get(Loan, loan_id)
        assert loan.status == "approved"
        assert loan.approved_by_id in {approver.id for approver in approvers}
        db.session.remove()
