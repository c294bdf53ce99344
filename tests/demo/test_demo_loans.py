"""Demo loans (SPEC §9): every state, valid on every rule, made by the real operations."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from app.auth.models import User
from app.core.audit import AuditEntry
from app.core.dates import CHINA_TIME, today_in_china
from app.core.validators import parse_id_number
from app.demo.loans import (
    FULL_VARIETY_LOANS,
    MAX_LOANS,
    OPERATED_LOANS_AT_SCALE,
    PROVINCE,
    Profile,
    loan_count,
    profile_counts,
    read_candidates,
)
from app.demo.seed import SeedSummary, seed_demo_data
from app.extensions import db
from app.founders.models import Founder
from app.integrity.models import IntegrityEvent
from app.integrity.queries import get_integrity_standing
from app.loans import fund
from app.loans.models import (
    Allocation,
    FundEntry,
    Guarantor,
    Loan,
    LoanInstallment,
    LoanStatus,
    Repayment,
)
from app.loans.servicing import compute_replay, live_payments
from app.training.queries import training_status_clause
from tests.isolation import rolled_back_session

# The default demo: about 100 loans, so every state has loans and the fund's compensation
# rate stays far from suspension whatever day the test runs.
FOUNDERS = 300
SERVICED = (LoanStatus.ACTIVE, LoanStatus.DEFAULTED)


@dataclass
class Seeded:
    summary: SeedSummary
    as_of: date


@pytest.fixture(scope="module")
def seeded(app) -> Any:
    """One seed run shared by this module, rolled back at its end."""
    for _session in rolled_back_session(app):
        with app.app_context():
            as_of = today_in_china()
            summary = seed_demo_data(as_of=as_of, founder_count=FOUNDERS)
            yield Seeded(summary, as_of)


def _loans(*statuses: str) -> list[Loan]:
    stmt = select(Loan).order_by(Loan.id)
    if statuses:
        stmt = stmt.where(Loan.status.in_(statuses))
    return list(db.session.scalars(stmt))


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def test_about_a_hundred_loans_in_every_status(seeded):
    statuses = Counter(loan.status for loan in _loans())
    assert 90 <= sum(statuses.values()) <= 100
    assert set(statuses) == set(LoanStatus) - {LoanStatus.RECOVERED}
    assert 8 <= statuses["submitted"] + statuses["reviewed"] + statuses["approved"] <= 12
    assert 2 <= statuses["rejected"] <= 4
    assert 8 <= statuses["closed"] <= 12
    assert 2 <= statuses["defaulted"] <= 4
    assert statuses["compensated"] == statuses["written_off"] == 1
    assert statuses["active"] > sum(statuses.values()) / 2
    methods = Counter((loan.repayment_method, loan.term_months) for loan in _loans())
    assert {method for method, _ in methods} == {
        "interest_only",
        "equal_principal",
        "equal_installment",
    }
    assert {term for _, term in methods} == {12, 24, 36}
    for loan in _loans():
        assert Decimal("30000") <= loan.amount <= Decimal("300000")
        assert loan.amount % 1000 == 0
        assert loan.purpose


def test_arrears_in_every_bucket_as_of_today(seeded):
    serviced = _loans(*SERVICED)
    buckets = Counter(loan.bucket for loan in serviced)
    assert all(buckets[bucket] >= 1 for bucket in ("1-30", "31-60", "61-90", "90+"))
    assert buckets["current"] > len(serviced) / 2
    for loan in serviced:
        assert loan.swept_on == seeded.as_of
        assert (loan.status == "defaulted") == (loan.days_past_due >= loan.default_days)
        if loan.status == "defaulted":
            assert loan.bucket == "90+"
            assert loan.defaulted_on is not None
    on_time = [loan for loan in _loans("active") if loan.bucket == "current"]
    assert all(loan.days_past_due == 0 for loan in on_time)


def test_the_queue_waits_for_the_two_demo_officers(seeded):
    haikou, hainan = _user("officer.haikou"), _user("officer.hainan")
    queue = _loans("submitted", "reviewed", "approved")
    assert {loan.region_code for loan in queue} == {haikou.region_code}
    assert all(loan.applied_by_id == haikou.id for loan in queue)
    reviewers = Counter(loan.reviewed_by_id for loan in _loans("reviewed"))
    assert reviewers[haikou.id] >= 1
    assert reviewers[hainan.id] >= 1  # so officer.haikou has one to approve too
    for loan in _loans("approved"):
        assert (loan.reviewed_by_id, loan.approved_by_id) == (haikou.id, hainan.id)
    for loan in _loans("submitted"):
        assert loan.reviewed_by_id is None
        assert (seeded.as_of - loan.applied_on).days <= 10


def test_every_decision_had_four_eyes_and_every_rejection_a_reason(seeded):
    for loan in _loans():
        if loan.approved_by_id is not None:
            assert loan.reviewed_by_id not in (None, loan.approved_by_id)
    rejected = _loans("rejected")
    assert {loan.approved_by_id is None for loan in rejected} == {True, False}
    for loan in rejected:
        assert loan.rejection_reason
        assert loan.rejected_on is not None
        assert loan.disbursed_on is None


def test_dates_follow_the_lifecycle_and_never_pass_as_of(seeded):
    for loan in _loans():
        steps = [loan.applied_on, loan.reviewed_on, loan.approved_on, loan.disbursed_on]
        known = [day for day in steps if day is not None]
        assert known == sorted(known), loan.id
        assert (seeded.as_of - loan.applied_on).days <= 731
        for day in (*known, loan.closed_on, loan.defaulted_on, loan.compensated_on, loan.ended_on):
            assert day is None or day <= seeded.as_of
        if loan.closed_on is not None:
            assert loan.disbursed_on < loan.closed_on
    disbursed = {loan.id: loan.disbursed_on for loan in _loans()}
    for repayment in db.session.scalars(select(Repayment)):
        assert disbursed[repayment.loan_id] <= repayment.paid_on <= seeded.as_of
        # Recorded on the day it was paid, as an officer would have.
        assert repayment.created_at.astimezone(CHINA_TIME).date() == repayment.paid_on
    for entry in db.session.scalars(select(FundEntry)):
        assert entry.entry_on <= seeded.as_of


def test_borrowers_passed_training_and_borrow_once(seeded):
    founder_ids = [loan.founder_id for loan in _loans()]
    assert len(founder_ids) == len(set(founder_ids))
    trained = db.session.scalar(
        select(func.count())
        .select_from(Founder)
        .where(Founder.id.in_(founder_ids), training_status_clause("passed", Founder.id))
    )
    assert trained == len(founder_ids)
    audited = Counter(
        db.session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("loan.%")))
    )
    assert audited["loan.apply"] == len(founder_ids)
    assert audited["loan.disburse"] == sum(1 for loan in _loans() if loan.disbursed_on)


def test_guarantors_have_valid_id_numbers_names_and_employers(seeded):
    borrowers = {loan.id: loan.founder.id_number for loan in _loans()}
    by_loan = defaultdict(list)
    for guarantor in db.session.scalars(select(Guarantor)):
        info = parse_id_number(guarantor.id_number)
        assert info.id_number == guarantor.id_number
        assert guarantor.id_number != borrowers[guarantor.loan_id]
        assert 2 <= len(guarantor.name) <= 12
        assert guarantor.relationship_to_founder
        assert guarantor.employer
        by_loan[guarantor.loan_id].append(guarantor)
    assert set(by_loan) == set(borrowers)
    assert any(len(guarantors) == 2 for guarantors in by_loan.values())
    relationships = Counter(g.relationship_to_founder for gs in by_loan.values() for g in gs)
    assert {"配偶", "朋友"} <= set(relationships)


def test_schedules_add_up_to_the_amounts(seeded):
    installments = defaultdict(list)
    for row in db.session.scalars(select(LoanInstallment).order_by(LoanInstallment.n)):
        installments[row.loan_id].append(row)
    for loan in _loans():
        rows = installments[loan.id]
        if loan.disbursed_on is None:
            assert rows == []
            continue
        assert [row.n for row in rows] == list(range(1, loan.term_months + 1))
        assert sum(row.principal for row in rows) == loan.amount
        assert all(row.subsidy + row.borrower_interest == row.interest for row in rows)
        assert loan.outstanding_principal == loan.amount - sum(row.paid_principal for row in rows)


def test_allocations_add_up_to_the_live_postings_and_replay_to_the_stored_state(seeded):
    for loan in _loans():
        if loan.disbursed_on is None:
            continue
        payments = live_payments(loan.id)
        allocations = list(
            db.session.scalars(
                select(Allocation)
                .join(Repayment, Repayment.id == Allocation.repayment_id)
                .where(Repayment.loan_id == loan.id)
            )
        )
        allocated = sum((share.principal + share.interest for share in allocations), Decimal(0))
        assert allocated == sum((payment.amount for payment in payments), Decimal(0))
        installments, result = compute_replay(loan)
        assert result.excess == 0
        for row, state in zip(installments, result.installments, strict=True):
            assert (
                row.paid_principal
                == state.paid_principal
                == sum(
                    (share.principal for share in allocations if share.installment_id == row.id),
                    Decimal(0),
                )
            )
            assert row.paid_interest == state.paid_interest
            assert row.paid_off_on == state.paid_off_on
            assert row.status == state.status
        if loan.status == "closed":
            assert result.is_fully_paid


def test_a_duplicate_posting_was_reversed(seeded):
    reversals = list(db.session.scalars(select(Repayment).where(Repayment.kind == "reversal")))
    assert reversals
    for reversal in reversals:
        assert reversal.reason
        original = db.session.get(Repayment, reversal.reverses_id)
        assert original.amount == -reversal.amount


def test_the_funds_are_funded_within_leverage(seeded):
    province = fund.get_fund_summary(PROVINCE)
    assert province.balance >= Decimal("5000000")
    deposits = db.session.scalars(
        select(FundEntry.amount).where(
            FundEntry.region_code == PROVINCE, FundEntry.kind == "deposit"
        )
    )
    assert sum(deposits) >= Decimal("5000000")
    city = fund.get_fund_summary("460200")
    assert city.has_own_fund
    assert city.region_code == "460200"
    sanya_loans = [loan for loan in _loans() if loan.region_code == "460200" and loan.disbursed_on]
    assert sanya_loans
    assert {loan.fund_region_code for loan in sanya_loans} == {"460200"}
    codes = {loan.fund_region_code for loan in _loans() if loan.fund_region_code}
    assert {PROVINCE, "460200"} <= codes
    for code in codes:
        summary = fund.get_fund_summary(code)
        assert summary.balance > 0
        assert summary.guaranteed_outstanding <= summary.capacity
        assert not summary.is_suspended


def test_one_loan_compensated_and_partly_recovered_from_a_guarantor(seeded):
    (loan,) = _loans("compensated")
    assert loan.fund_region_code == PROVINCE
    assert 0 < loan.recovered_amount < loan.compensated_amount
    entries = list(db.session.scalars(select(FundEntry).where(FundEntry.loan_id == loan.id)))
    kinds = Counter(entry.kind for entry in entries)
    assert kinds == {"compensation": 1, "recovery": 1}
    compensation = next(entry for entry in entries if entry.kind == "compensation")
    assert compensation.amount == -loan.compensated_amount
    assert compensation.entry_on >= loan.defaulted_on
    recovery = next(entry for entry in entries if entry.kind == "recovery")
    assert recovery.recovery_source == "guarantor"
    assert db.session.get(Guarantor, recovery.guarantor_id).loan_id == loan.id
    assert recovery.amount == loan.recovered_amount
    kinds = {
        event.kind
        for event in db.session.scalars(
            select(IntegrityEvent).where(IntegrityEvent.loan_id == loan.id)
        )
    }
    assert {"defaulted", "compensated"} <= kinds


def test_one_loan_written_off_after_its_compensation(seeded):
    (loan,) = _loans("written_off")
    assert loan.write_off_reason
    assert loan.compensated_on < loan.ended_on <= seeded.as_of
    assert loan.recovered_amount < loan.compensated_amount


def test_the_repayments_leave_integrity_events(seeded):
    kinds = Counter(db.session.scalars(select(IntegrityEvent.kind)))
    for kind in ("paid_on_time", "paid_late", "late_over_30", "loan_closed_clean", "defaulted"):
        assert kinds[kind] >= 1, kind
    assert kinds["paid_on_time"] > 10 * kinds["paid_late"]
    defaulted = {loan.id for loan in _loans() if loan.defaulted_on is not None}
    events = set(
        db.session.scalars(select(IntegrityEvent.loan_id).where(IntegrityEvent.kind == "defaulted"))
    )
    assert events == defaulted


def test_the_showcase_founder_repays_on_time(seeded):
    account = _user("founder.demo")
    (loan,) = list(db.session.scalars(select(Loan).where(Loan.founder_id == account.founder_id)))
    assert loan.status == "active"
    assert loan.business_id is not None
    assert loan.bucket == "current"
    due = [row for row in loan.installments if row.due_on <= seeded.as_of]
    assert len(due) >= 3
    assert all(row.paid_off_on is not None and row.paid_off_on <= row.due_on for row in due)
    kinds = Counter(
        db.session.scalars(
            select(IntegrityEvent.kind).where(IntegrityEvent.founder_id == account.founder_id)
        )
    )
    assert kinds == {"paid_on_time": len(due)}
    assert get_integrity_standing(account.founder_id).grade in ("A", "B")
    guarantors = [guarantor.relationship_to_founder for guarantor in loan.guarantors]
    assert guarantors[0] == "配偶"


def test_the_summary_counts_what_was_written(seeded):
    counts = seeded.summary.counts
    assert counts["loans"] == db.session.scalar(select(func.count()).select_from(Loan))
    assert counts["repayments"] == db.session.scalar(select(func.count()).select_from(Repayment))
    assert counts["guarantors"] == db.session.scalar(select(func.count()).select_from(Guarantor))
    assert counts["fund_entries"] == db.session.scalar(select(func.count()).select_from(FundEntry))
    assert counts["accounts"] == 6
    officers = db.session.scalars(select(User).where(User.role == "officer"))
    assert sum(1 for _ in officers) == 2 + counts["loan_officer_accounts"]


def test_large_demos_plan_from_a_sample_of_the_trained_founders(seeded):
    showcase_id = _user("founder.demo").founder_id
    everyone = read_candidates(
        as_of=seeded.as_of, founder_count=FOUNDERS, wanted=100, showcase_id=showcase_id
    )
    # As if there were a hundred times more founders: every 75th (by id) is read.
    sample = read_candidates(
        as_of=seeded.as_of, founder_count=FOUNDERS * 100, wanted=100, showcase_id=showcase_id
    )
    assert showcase_id in {candidate.id for candidate in sample}
    assert {candidate.id for candidate in sample} == {
        candidate.id
        for candidate in everyone
        if candidate.id % 75 == 0 or candidate.id == showcase_id
    }
    assert all(candidate.earliest > candidate.trained_on for candidate in everyone)


# Planning alone, without a database --------------------------------------------------------
def test_loans_grow_with_the_founders_up_to_the_cap():
    assert loan_count(300) == 100
    assert loan_count(1) == 1
    assert loan_count(3_000) == 1_000
    assert loan_count(50_000) == MAX_LOANS
    # Scale demos make a few hundred through the operations, the rest in bulk.
    assert loan_count(50_001) == loan_count(1_000_000) == OPERATED_LOANS_AT_SCALE


@pytest.mark.parametrize("total", [1, 5, 13, FULL_VARIETY_LOANS, 100, MAX_LOANS])
def test_profile_counts_add_up(total):
    counts = profile_counts(total)
    assert sum(counts.values()) == total
    assert all(count >= 0 for count in counts.values())
    assert counts[Profile.ACTIVE] >= total // 3
    if total >= FULL_VARIETY_LOANS:
        assert all(count >= 1 for count in counts.values())
