"""Loan operations on the database: applying, four eyes, disbursement, repayments,
reversals, closing, the fund's limits and the integrity events they make."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from app.core.audit import AuditEntry
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.extensions import db
from app.integrity.models import IntegrityEvent
from app.integrity.queries import get_integrity_standing
from app.loans import fund, operations
from app.loans.models import Allocation, LoanInstallment, Repayment
from tests.factories import make_user
from tests.loans.factories import (
    APPLIED_ON,
    application_body,
    fund_region,
    make_loan,
    make_trained_founder,
    officers,
)

D = Decimal


@pytest.fixture(autouse=True)
def funded(db_session):
    fund_region("460000")


def events_of(founder_id):
    return list(
        db.session.scalars(
            select(IntegrityEvent.kind)
            .where(IntegrityEvent.founder_id == founder_id)
            .order_by(IntegrityEvent.id)
        )
    )


def pay(officer, loan, on, amount, reference):
    return operations.post_repayment(
        officer,
        loan.id,
        {"paid_on": on, "amount": D(amount), "reference": reference},
        as_of=date(2027, 6, 30),
    )


def test_an_application_keeps_the_policy_terms():
    reviewer, _ = officers()
    founder = make_trained_founder()
    loan = operations.apply_for_loan(reviewer, application_body(founder), as_of=APPLIED_ON)
    assert loan.status == "submitted"
    assert loan.annual_rate == D("0.0345")
    assert loan.default_days == 90
    assert [g.name for g in loan.guarantors] == ["王芳"]
    assert db.session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "loan.apply")
    )


def test_application_field_errors_name_every_field():
    reviewer, _ = officers()
    founder = make_trained_founder()
    body = application_body(
        founder,
        amount=D("300000.01"),
        term_months=37,
        repayment_method="balloon",
        purpose="",
        guarantors=[{"name": "李", "id_number": "460100199001011234", "relationship": ""}],
    )
    with pytest.raises(ValidationFailed) as caught:
        operations.apply_for_loan(reviewer, body, as_of=APPLIED_ON)
    assert set(caught.value.errors) == {
        "amount",
        "term_months",
        "repayment_method",
        "purpose",
        "guarantors[0].id_number",
        "guarantors[0].relationship",
    }


def test_training_and_integrity_grade_gate_the_application():
    reviewer, _ = officers()
    from tests.factories import make_founder

    untrained = make_founder()
    with force_locale("en"), pytest.raises(ValidationFailed) as caught:
        operations.apply_for_loan(reviewer, application_body(untrained), as_of=APPLIED_ON)
    assert "training" in caught.value.errors["founder_id"][0]
    founder = make_trained_founder()
    from app.integrity.operations import record_event

    record_event(founder.id, "false_information", occurred_on=APPLIED_ON, source="officer")
    assert get_integrity_standing(founder.id).grade == "D"
    with force_locale("en"), pytest.raises(ValidationFailed) as caught:
        operations.apply_for_loan(reviewer, application_body(founder), as_of=APPLIED_ON)
    assert "grade" in caught.value.errors["founder_id"][0]


def test_one_live_loan_per_founder():
    loan = make_loan(status="submitted")
    reviewer, _ = officers()
    with pytest.raises(Conflict):
        operations.apply_for_loan(reviewer, application_body(loan.founder), as_of=APPLIED_ON)


def test_officers_of_another_city_cannot_see_the_founder_or_the_loan():
    loan = make_loan(status="submitted")
    sanya = make_user(role="officer", region_code="460200")
    with pytest.raises(ValidationFailed):
        operations.apply_for_loan(sanya, application_body(loan.founder), as_of=APPLIED_ON)
    with pytest.raises(NotFound):
        operations.review_loan(sanya, loan.id, {"decision": "approve"}, as_of=APPLIED_ON)


def test_four_eyes_the_reviewer_cannot_approve():
    reviewer, approver = officers()
    loan = make_loan(status="reviewed", reviewer=reviewer, approver=approver)
    with pytest.raises(PermissionDenied):
        operations.approve_loan(reviewer, loan.id, {"decision": "approve"}, as_of=APPLIED_ON)
    operations.approve_loan(approver, loan.id, {"decision": "approve"}, as_of=APPLIED_ON)
    assert loan.status == "approved"
    with pytest.raises(Conflict):
        operations.approve_loan(approver, loan.id, {"decision": "approve"}, as_of=APPLIED_ON)


def test_rejection_needs_a_reason():
    reviewer, _ = officers()
    loan = make_loan(status="submitted", reviewer=reviewer)
    with pytest.raises(ValidationFailed) as caught:
        operations.review_loan(reviewer, loan.id, {"decision": "reject"}, as_of=APPLIED_ON)
    assert "note" in caught.value.errors
    operations.review_loan(
        reviewer, loan.id, {"decision": "reject", "note": "经营计划不完整"}, as_of=APPLIED_ON
    )
    assert loan.status == "rejected"
    assert loan.rejection_reason == "经营计划不完整"


def test_disbursement_stores_the_hand_checked_schedule():
    loan = make_loan(disbursed_on=date(2026, 1, 31), repayment_method="equal_installment")
    rows = loan.installments
    assert len(rows) == 12
    # SPEC §9 for 100,000 / 12 months / 3.45 % with the default full subsidy.
    assert (rows[0].due_on, rows[0].principal, rows[0].interest) == (
        date(2026, 2, 28),
        D("8202.38"),
        D("287.50"),
    )
    assert (rows[0].subsidy, rows[0].borrower_interest) == (D("287.50"), D("0.00"))
    assert rows[11].principal == D("8465.59")
    assert sum(row.principal for row in rows) == D("100000.00")
    assert loan.outstanding_principal == D("100000.00")
    assert loan.fund_region_code == "460000"


def test_leverage_refuses_a_disbursement_beyond_the_fund():
    reviewer, approver = officers("460200")
    fund_region("460200", "10000.00")  # Sanya's own fund: 5 × 10,000 = 50,000 of capacity
    with pytest.raises(Conflict) as caught:
        make_loan(region_code="460200", reviewer=reviewer, approver=approver)
    assert "50,000.00" in caught.value.message or "guarantee fund" in caught.value.message


def test_repayments_allocate_close_the_loan_and_make_events():
    loan = make_loan(amount=D("1200.00"), term_months=3, repayment_method="equal_principal")
    officer = make_user(role="officer")
    owed = [row.amount_owed for row in loan.installments]
    first = pay(officer, loan, date(2026, 2, 27), owed[0], "T1")
    assert first.created
    again = pay(officer, loan, date(2026, 2, 27), owed[0], "T1")
    assert not again.created
    assert again.repayment.id == first.repayment.id
    with pytest.raises(Conflict):
        pay(officer, loan, date(2026, 2, 27), "1.00", "T1")
    pay(officer, loan, date(2026, 3, 31), owed[1], "T2")
    pay(officer, loan, date(2026, 4, 30), owed[2], "T3")
    assert loan.status == "closed"
    assert loan.closed_on == date(2026, 4, 30)
    assert loan.outstanding_principal == D("0.00")
    assert events_of(loan.founder_id) == [
        "paid_on_time",
        "paid_on_time",
        "paid_on_time",
        "loan_closed_clean",
    ]
    assert get_integrity_standing(loan.founder_id).score == 113


def test_overpayment_is_refused_and_nothing_is_written():
    loan = make_loan(amount=D("1200.00"), term_months=3, repayment_method="equal_principal")
    officer = make_user(role="officer")
    total = sum(row.amount_owed for row in loan.installments)
    with pytest.raises(ValidationFailed) as caught:
        pay(officer, loan, date(2026, 2, 1), total + D("0.01"), "BIG")
    assert "amount" in caught.value.errors


def test_a_backdated_payment_replays_in_date_order():
    loan = make_loan(amount=D("1200.00"), term_months=3, repayment_method="equal_principal")
    officer = make_user(role="officer")
    pay(officer, loan, date(2026, 3, 20), "300.00", "LATER")
    pay(officer, loan, date(2026, 2, 20), "100.00", "EARLIER")
    allocations = db.session.execute(
        select(Repayment.reference, Allocation.principal, Allocation.interest)
        .join(Repayment, Repayment.id == Allocation.repayment_id)
        .order_by(Repayment.paid_on)
    ).all()
    # The earlier payment pays installment 1 first, whatever the typing order.
    assert allocations[0].reference == "EARLIER"
    assert sum(a.principal + a.interest for a in allocations) == D("400.00")


def test_a_reversal_undoes_a_payment_and_reopens_a_closed_loan():
    loan = make_loan(amount=D("600.00"), term_months=1, repayment_method="equal_principal")
    officer = make_user(role="officer")
    owed = loan.installments[0].amount_owed
    posting = pay(officer, loan, date(2026, 2, 20), owed, "ONLY")
    assert loan.status == "closed"
    operations.reverse_repayment(
        officer, posting.repayment.id, {"reason": "银行退票"}, as_of=date(2026, 3, 1)
    )
    assert loan.status == "active"
    assert loan.outstanding_principal == D("600.00")
    assert db.session.scalar(select(func.count()).select_from(Allocation)) == 0
    with pytest.raises(Conflict):
        operations.reverse_repayment(
            officer, posting.repayment.id, {"reason": "again"}, as_of=date(2026, 3, 1)
        )


def test_the_reviewer_and_approver_are_stored_for_the_audit():
    reviewer, approver = officers()
    loan = make_loan(reviewer=reviewer, approver=approver)
    assert (loan.reviewed_by_id, loan.approved_by_id) == (reviewer.id, approver.id)
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"loan.apply", "loan.review", "loan.approve", "loan.disburse"} <= actions


def test_fund_summary_counts_guaranteed_outstanding():
    make_loan(amount=D("50000.00"))
    summary = fund.get_fund_summary("460100")
    assert summary.region_code == "460000"
    assert summary.balance == D("10000000.00")
    assert summary.guaranteed_outstanding == D("50000.00")
    assert summary.leverage_used == D("0.0050")


def test_installments_are_stored_in_order():
    loan = make_loan()
    numbers = db.session.scalars(
        select(LoanInstallment.n)
        .where(LoanInstallment.loan_id == loan.id)
        .order_by(LoanInstallment.n)
    ).all()
    assert numbers == list(range(1, 13))


def test_a_deposit_is_recorded_once_per_reference():
    admin = make_user(role="admin", region_code="460000")
    values = {"date": date(2026, 3, 1), "amount": D("50000.00"), "reference": "CZ-2026-03"}
    fund.post_fund_entry(admin, "460200", values, as_of=date(2026, 3, 2))
    with pytest.raises(Conflict):
        fund.post_fund_entry(admin, "460200", values, as_of=date(2026, 3, 2))
    assert fund.get_fund_summary("460200").balance == D("50000.00")


def test_one_pending_correction_per_event_is_held_by_the_database():
    """Even a proposal that skipped the check (a race) is refused, as a 409."""
    from app.integrity.models import CorrectionState, IntegrityCorrection
    from app.integrity.operations import propose_correction
    from tests.factories import make_founder
    from tests.integrity.factories import make_event

    founder = make_founder()
    event = make_event(founder, "paid_late")
    first, second = officers()
    propose_correction(
        first,
        founder,
        points=5,
        reason="银行晚记账",
        corrects_event_id=event.id,
        as_of=date(2026, 6, 2),
    )
    db.session.add(
        IntegrityCorrection(
            founder_id=founder.id,
            points=5,
            reason="同上",
            corrects_event_id=event.id,
            state=CorrectionState.PENDING,
            proposed_on=date(2026, 6, 2),
            proposed_by_id=second.id,
        )
    )
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.flush()


def test_servicing_actions_are_audited():
    """Security review gap 6: a reversal, a compensation, a recovery and a write-off each
    leave an audit entry naming the acting officer, the loan and what changed."""
    from app.loans.jobs import sweep
    from app.loans.models import Loan

    officer = make_user(role="officer")
    loan = make_loan(amount=D("600.00"), term_months=1, repayment_method="equal_principal")
    posting = pay(officer, loan, date(2026, 2, 20), loan.installments[0].amount_owed, "ONE")
    operations.reverse_repayment(
        officer, posting.repayment.id, {"reason": "银行退票"}, as_of=date(2026, 3, 1)
    )
    sweep(date(2026, 6, 30))  # unpaid since February: the loan defaults
    db.session.expire_all()
    locked = operations.lock_loan_in_scope(officer, loan.id)
    assert locked.status == "defaulted"
    on = date(2026, 7, 1)
    fund.compensate_loan(officer, locked, {"date": on, "reference": "COMP-1"}, as_of=on)
    fund.record_recovery(
        officer, locked, {"date": on, "amount": D("50.00"), "reference": "REC-1"}, as_of=on
    )
    fund.write_off_loan(officer, locked, {"date": on, "reason": "无力偿还"}, as_of=on)
    servicing = {"repayment.reverse", "loan.compensate", "loan.recover", "loan.write_off"}
    entries = {
        entry.action: entry
        for entry in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        if entry.action in servicing
    }
    assert set(entries) == servicing
    for action, entry in entries.items():
        assert entry.actor_id == officer.id, action
        assert entry.after, action
    reversal = entries["repayment.reverse"]
    assert reversal.entity_type == "repayment"
    assert (reversal.before["id"], reversal.after["reverses_id"]) == (posting.repayment.id,) * 2
    for action in ("loan.compensate", "loan.recover", "loan.write_off"):
        assert entries[action].entity_type == Loan.__tablename__, action
        assert entries[action].entity_id == str(loan.id), action
    changes = {
        action: (entries[action].before["status"], entries[action].after["status"])
        for action in ("loan.compensate", "loan.recover", "loan.write_off")
    }
    assert changes == {
        "loan.compensate": ("defaulted", "compensated"),
        "loan.recover": ("compensated", "compensated"),
        "loan.write_off": ("compensated", "written_off"),
    }
    assert entries["loan.recover"].after["recovered_amount"] == "50.00"
