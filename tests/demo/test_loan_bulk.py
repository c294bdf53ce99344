"""Demo loans in bulk (issue 9): rows exactly as the loan operations would leave them.

The first tests make their own small seeds (each in its own rolled-back session), so they
run before the module's shared seed opens its long transaction: SQLite has one writer.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from random import Random
from typing import Any

import pytest
from sqlalchemy import func, select

import app.demo.seed as seed_module
from app.auth.models import User
from app.core.dates import month_end, today_in_china
from app.core.db import utcnow
from app.demo import loan_bulk
from app.demo import loans as demo_loans
from app.demo.businesses import region_infos
from app.demo.loan_bulk import (
    Batch,
    BulkBook,
    BulkPlanner,
    bulk_loan_count,
    read_bulk_candidates,
    total_loan_count,
)
from app.demo.loans import (
    FUND_LEAD_DAYS,
    HISTORY_DAYS,
    PROVINCE,
    SHARED_INTEREST_PROVINCE,
    SHARED_SUBSIDY_RATE,
    DemoLoan,
    OfficerDesk,
)
from app.demo.seed import seed_demo_data
from app.extensions import db
from app.founders.models import Founder
from app.integrity.models import IntegrityEvent
from app.loans import fund
from app.loans.jobs import sweep
from app.loans.models import (
    Allocation,
    FundEntry,
    Guarantor,
    Loan,
    LoanInstallment,
    LoanStatus,
    Repayment,
)
from app.loans.policies import put_policy
from app.loans.reconcile import reconcile_loans
from app.loans.schedule import build_schedule
from app.loans.servicing import compute_replay, live_payments
from app.reports.kpis import compute_kpis
from tests.isolation import rolled_back_session

FOUNDERS = 300
OPERATED = 30  # MAX_LOANS for these seeds: most of the ~100 loans are written in bulk


def _skip_later_stages(monkeypatch: pytest.MonkeyPatch, *, loans: bool) -> None:
    """Seed founders, training, businesses (and loans unless told not to) only: the
    follow-up history and the monthly snapshots take most of a small seed's time."""
    for name in ("write_followup_history", "write_targets", "write_kpi_snapshots"):
        monkeypatch.setattr(seed_module, name, lambda *args, **kwargs: {})
    if not loans:
        monkeypatch.setattr(seed_module, "write_loans", lambda *args, **kwargs: {})


# What a seed left, without the ids and clocks that differ between runs ---------------------
def _loan_data() -> dict[str, Any]:
    """Every loan row and its schedule, postings, allocations and integrity events, keyed by
    founder; database ids (which differ between runs on PostgreSQL, whose sequences a
    rollback does not rewind) replaced by what they stand for."""
    users = dict(db.session.execute(select(User.id, User.username)).all())
    loans = list(db.session.scalars(select(Loan)))
    founder_of = {loan.id: loan.founder_id for loan in loans}

    def plain(text: str | None, loan_id: int) -> str | None:
        if text is None:
            return None
        return text.replace(f"{loan_id:07d}", "#").replace(f"loan {loan_id}", "loan #")

    skipped = {"id", "created_at", "updated_at"}
    by_founder: dict[int, dict[str, Any]] = {}
    for loan in loans:
        row = {
            column.key: getattr(loan, column.key)
            for column in Loan.__mapper__.column_attrs
            if column.key not in skipped
        }
        for key in ("applied_by_id", "reviewed_by_id", "approved_by_id"):
            row[key] = users.get(row[key])
        row["bank_reference"] = plain(row["bank_reference"], loan.id)
        by_founder[loan.founder_id] = {
            "loan": row,
            "installments": [],
            "repayments": [],
            "allocations": [],
        }
    number_of = {}
    for row in db.session.scalars(select(LoanInstallment).order_by(LoanInstallment.n)):
        number_of[row.id] = (founder_of[row.loan_id], row.n)
        by_founder[founder_of[row.loan_id]]["installments"].append(
            (
                row.n,
                row.due_on,
                row.principal,
                row.interest,
                row.subsidy,
                row.borrower_interest,
                row.paid_principal,
                row.paid_interest,
                row.paid_off_on,
                row.subsidy_lost,
                row.status,
            )
        )
    payment_of = {}
    for entry in db.session.scalars(select(Repayment)):
        payment_of[entry.id] = (entry.paid_on, entry.amount)
        by_founder[founder_of[entry.loan_id]]["repayments"].append(
            (
                entry.kind,
                entry.paid_on,
                entry.amount,
                plain(entry.reference, entry.loan_id),
                entry.source,
                users.get(entry.recorded_by_id),
            )
        )
    for share in db.session.scalars(select(Allocation)):
        founder_id, n = number_of[share.installment_id]
        by_founder[founder_id]["allocations"].append(
            (payment_of[share.repayment_id], n, share.principal, share.interest)
        )
    events = []
    for event in db.session.scalars(
        select(IntegrityEvent).where(IntegrityEvent.loan_id.is_not(None))
    ):
        n = number_of[event.installment_id][1] if event.installment_id else None
        key = event.once_key or ""
        if event.installment_id:
            key = key.replace(f":{event.installment_id}:", f":n{n}:")
        events.append(
            (
                event.founder_id,
                event.kind,
                event.points,
                event.occurred_on,
                event.source,
                plain(event.note, event.loan_id),
                n,
                key.replace(f":{event.loan_id}:", ":#:"),
                users.get(event.recorded_by_id),
            )
        )
    for data in by_founder.values():
        for key in ("repayments", "allocations"):
            data[key].sort()
    return {"loans": by_founder, "events": sorted(events)}


def _first_difference(left: dict[str, Any], right: dict[str, Any]) -> str:
    for founder_id in sorted(set(left["loans"]) | set(right["loans"])):
        a, b = left["loans"].get(founder_id), right["loans"].get(founder_id)
        if a != b:
            if a is None or b is None:
                return f"founder {founder_id}: only one side has a loan"
            for part in a:
                if a[part] != b[part]:
                    if part == "loan":
                        fields = {
                            k: (a[part][k], b[part][k]) for k in a[part] if a[part][k] != b[part][k]
                        }
                        return f"founder {founder_id} loan: {fields}"
                    pairs = [(x, y) for x, y in zip(a[part], b[part], strict=False) if x != y]
                    return (
                        f"founder {founder_id} {part}: {pairs[:3] or (len(a[part]), len(b[part]))}"
                    )
    extra = set(left["events"]) ^ set(right["events"])
    return f"events differ: {sorted(extra)[:5]}"


# The same stories, made by the operations and written in bulk -----------------------------
@dataclass
class Lending:
    as_of: date
    regions: dict[str, Any]
    desk: OfficerDesk
    candidates: list[Any]
    sweep_days: list[date]


def _lending(as_of: date) -> Lending:
    """Demo officers, funds with room for every loan (Sanya's own), Shanghai's shared
    interest, and the founders who could borrow."""
    users = list(db.session.scalars(select(User).where(User.role.in_(("admin", "officer")))))
    admin = next(user for user in users if user.role == "admin")
    officers = sorted((user for user in users if user.role == "officer"), key=lambda u: u.username)
    regions = region_infos()
    opened_on = as_of - timedelta(days=HISTORY_DAYS + FUND_LEAD_DAYS)
    for code in (PROVINCE, "460200", SHARED_INTEREST_PROVINCE):
        fund.post_fund_entry(
            admin,
            code,
            {"date": opened_on, "amount": Decimal(50_000_000), "reference": f"T{code}"},
            as_of=opened_on,
        )
    put_policy(
        admin,
        SHARED_INTEREST_PROVINCE,
        {"subsidy_rate": SHARED_SUBSIDY_RATE},
        as_of=utcnow() - timedelta(days=HISTORY_DAYS + FUND_LEAD_DAYS),
    )
    first, last = db.session.execute(select(func.min(Founder.id), func.max(Founder.id))).one()
    candidates = read_bulk_candidates(first, last, as_of=as_of)
    days = []
    day = month_end(opened_on)
    while day < as_of:
        days.append(day)
        day = month_end(day + timedelta(days=1))
    days.append(as_of)
    return Lending(as_of, regions, OfficerDesk(Random("desk"), regions, officers), candidates, days)


class _OperationsPlanner(BulkPlanner):
    """The bulk planner's stories, made by the real operations on a timeline with sweeps."""

    loan_class = DemoLoan


def _by_operations(lending: Lending) -> None:
    planner = _OperationsPlanner(
        Random("stories"),
        as_of=lending.as_of,
        regions=lending.regions,
        desk=lending.desk,
        book=None,
    )
    for candidate in lending.candidates:
        planner.plan_candidate(candidate)
    for day in lending.sweep_days:
        planner.timeline.add_sweep(day)
    planner.timeline.run()
    db.session.commit()


def _in_bulk(lending: Lending) -> None:
    book = BulkBook(
        Random("rows"),
        now=utcnow(),
        sweep_days=lending.sweep_days,
        stored_form=db.session.get_bind().dialect.name == "postgresql",
    )
    planner = BulkPlanner(
        Random("stories"),
        as_of=lending.as_of,
        regions=lending.regions,
        desk=lending.desk,
        book=book,
    )
    for candidate in lending.candidates:
        planner.plan_candidate(candidate)
    batch = Batch()
    for loan in planner.run_batch():
        book.add(batch, loan)
    book.write(batch)
    sweep(lending.as_of)
    db.session.commit()


def _stories(app: Any, monkeypatch: pytest.MonkeyPatch, as_of: date, make: Any) -> dict[str, Any]:
    for _session in rolled_back_session(app):
        with app.app_context():
            seed_demo_data(as_of=as_of, founder_count=FOUNDERS)
            lending = _lending(as_of)
            assert len(lending.candidates) >= 40
            make(lending)
            return _loan_data()
    raise AssertionError("no session")


def test_bulk_rows_are_what_the_operations_leave_for_the_same_stories(app, monkeypatch):
    _skip_later_stages(monkeypatch, loans=False)
    as_of = today_in_china()
    operated = _stories(app, monkeypatch, as_of, _by_operations)
    written = _stories(app, monkeypatch, as_of, _in_bulk)
    assert len(operated["loans"]) >= 40
    statuses = Counter(data["loan"]["status"] for data in operated["loans"].values())
    assert {"active", "closed", "submitted", "rejected"} <= set(statuses)
    assert any(data["loan"]["status"] == "defaulted" for data in operated["loans"].values())
    kinds = Counter(event[1] for event in operated["events"])
    assert {"paid_on_time", "paid_late", "late_over_30", "loan_closed_clean"} <= set(kinds)
    assert sum(len(data["repayments"]) for data in operated["loans"].values()) > 200
    assert written == operated, _first_difference(operated, written)


def _seeded_loans(app: Any, as_of: date) -> dict[str, Any]:
    for _session in rolled_back_session(app):
        with app.app_context():
            seed_demo_data(as_of=as_of, founder_count=FOUNDERS)
            return _loan_data()
    raise AssertionError("no session")


def test_the_same_seed_and_day_give_the_same_loans(app, monkeypatch):
    _skip_later_stages(monkeypatch, loans=True)
    monkeypatch.setattr(demo_loans, "MAX_LOANS", 10)
    as_of = today_in_china()
    first = _seeded_loans(app, as_of)
    assert len(first["loans"]) > 50
    assert first == _seeded_loans(app, as_of), "a second run differs"


# Counting, without a database ---------------------------------------------------------------
def test_small_demos_keep_their_loans_and_large_ones_grow_to_a_fifth_of_the_founders():
    assert total_loan_count(300) == 100
    assert total_loan_count(6_000) == 2_000
    assert bulk_loan_count(300) == bulk_loan_count(6_000) == 0
    assert bulk_loan_count(10_000) == 0
    assert total_loan_count(100_000) == 20_000
    assert total_loan_count(1_000_000) == 200_000
    assert bulk_loan_count(50_000) == 10_000 - demo_loans.MAX_LOANS
    assert bulk_loan_count(1_000_000) == 200_000 - demo_loans.OPERATED_LOANS_AT_SCALE


# One full seed with most loans in bulk, shared by the tests below ------------------------
@dataclass
class Seeded:
    as_of: date
    counts: dict[str, int]


@pytest.fixture(scope="module")
def seeded(app) -> Iterator[Seeded]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(demo_loans, "MAX_LOANS", OPERATED)
        # Small tranches, so this small seed deposits in several as a large one does.
        monkeypatch.setattr(loan_bulk, "DEPOSIT_TRANCHE", Decimal(500_000))
        for _session in rolled_back_session(app):
            with app.app_context():
                as_of = today_in_china()
                summary = seed_demo_data(as_of=as_of, founder_count=FOUNDERS)
                yield Seeded(as_of, summary.counts)


def test_most_loans_are_written_in_bulk(seeded):
    counts = seeded.counts
    loans = db.session.scalar(select(func.count()).select_from(Loan))
    assert counts["loans"] == loans
    assert counts["bulk_loans"] >= loans / 2
    assert counts["loans"] - counts["bulk_loans"] <= OPERATED
    assert counts["guarantors"] == db.session.scalar(select(func.count()).select_from(Guarantor))
    assert counts["repayments"] == db.session.scalar(select(func.count()).select_from(Repayment))
    borrowers = list(db.session.scalars(select(Loan.founder_id)))
    assert len(borrowers) == len(set(borrowers))


def test_reconcile_finds_no_difference(seeded):
    result = reconcile_loans(as_of=seeded.as_of)
    checked = {summary.check: summary.loans_checked for summary in result.summaries}
    assert checked["schedule"] == seeded.counts["loans"]
    assert result.is_clean, result.differences[:5]


def test_schedules_are_the_schedule_functions(seeded):
    disbursed = list(db.session.scalars(select(Loan).where(Loan.disbursed_on.is_not(None))))
    assert len(disbursed) > 40
    for loan in disbursed:
        expected = [
            (
                line.n,
                line.due_on,
                line.principal,
                line.interest,
                line.subsidy,
                line.borrower_interest,
            )
            for line in build_schedule(
                principal=loan.amount,
                term_months=loan.term_months,
                annual_rate=loan.annual_rate,
                subsidy_rate=loan.subsidy_rate,
                method=loan.repayment_method,
                disbursed_on=loan.disbursed_on,
            )
        ]
        stored = [
            (row.n, row.due_on, row.principal, row.interest, row.subsidy, row.borrower_interest)
            for row in loan.installments
        ]
        assert stored == expected, loan.id


def test_balances_are_the_sums_of_the_postings(seeded):
    allocated: dict[int, list[Allocation]] = defaultdict(list)
    for share in db.session.scalars(select(Allocation)):
        allocated[share.installment_id].append(share)
    for loan in db.session.scalars(select(Loan).where(Loan.disbursed_on.is_not(None))):
        installments, result = compute_replay(loan)
        assert result.excess == 0
        paid = sum((p.amount for p in live_payments(loan.id)), Decimal(0))
        shares = [share for row in installments for share in allocated[row.id]]
        assert sum((s.principal + s.interest for s in shares), Decimal(0)) == paid
        principal = sum((row.paid_principal for row in installments), Decimal(0))
        assert loan.outstanding_principal == loan.amount - principal
        for row, state in zip(installments, result.installments, strict=True):
            assert row.paid_principal == sum((s.principal for s in allocated[row.id]), Decimal(0))
            assert row.paid_interest == sum((s.interest for s in allocated[row.id]), Decimal(0))
            assert (row.paid_off_on, row.status) == (state.paid_off_on, state.status)
        assert (loan.status == LoanStatus.CLOSED) == result.is_fully_paid


def test_every_serviced_loan_was_swept_and_funds_allow_them(seeded):
    serviced = list(
        db.session.scalars(select(Loan).where(Loan.status.in_(("active", "defaulted"))))
    )
    assert all(loan.swept_on == seeded.as_of for loan in serviced)
    buckets = Counter(loan.bucket for loan in serviced)
    assert buckets["current"] > len(serviced) / 2
    assert sum(buckets[b] for b in ("1-30", "31-60", "61-90", "90+")) >= 3
    deposits = db.session.scalars(select(FundEntry.reference).where(FundEntry.kind == "deposit"))
    matches = [re.fullmatch(r"(CZ\d{14})B\d+", reference) for reference in deposits]
    tranches = Counter(match.group(1) for match in matches if match)
    assert max(tranches.values()) >= 2  # the bulk's own deposits, in tranches
    for code in {loan.fund_region_code for loan in serviced}:
        summary = fund.get_fund_summary(code)
        assert summary.guaranteed_outstanding <= summary.capacity
        assert not summary.is_suspended


def test_kpis_come_out_in_plausible_ranges(seeded):
    figures = compute_kpis(PROVINCE, seeded.as_of)["loans"]
    assert figures["disbursed_count"] > 40
    assert 0.85 <= figures["on_time_rate"] <= 1
    assert 0 < figures["par30"] < 0.3
    assert figures["compensation_rate"] < 0.05
