"""Demo loans in bulk: what the loan operations would leave, written as rows (issue 9).

The operations make about 20 loans a second (each posting locks, replays and audits its
loan), so `demo.loans` makes at most MAX_LOANS through them: the showcase, the demo
officers' queue, compensations, recoveries, write-offs, a reversed duplicate. A large demo
(about 0.2 loans per founder from 10,000 founders on; 200,000 at a million) writes the rest
here, batch by batch, committing each:

- Borrowers: founders who passed entrepreneurship training and run an open business, read
  set-based in founder id ranges, each taken with the probability that gives the wanted
  number (none who already borrowed in the operations part).
- Stories: the operations part's own planner (`LoanPlanner._plan_for`) with the same
  profiles and shares, less the fund's losses (compensation and write-off stay with the
  operations) and the duplicate postings (a reversal of a payment that was live for a few
  days leaves traces only the operations get right). A profile a founder cannot have (they
  trained too recently) becomes an ordinary active loan.
- Each planned step runs on `BulkLoan`, which records what the operation would have stored
  instead of calling it: the decisions (reviewer the city's officer, approver the
  province's), the disbursement with the schedule of `loans.schedule.build_schedule`, and
  the payments, each of the amount `owed_through`/`oldest_left` compute on the
  operations' path (so late installments pay their lost subsidy). The rows then come from
  the domain's pure code: `loans.allocation.replay` over the payments gives the
  installments' paid amounts, paid-off days, subsidy flags and statuses, the allocations,
  the outstanding principal, days past due and closure, with the loan's `swept_on` the
  last sweep of the operations' timeline (month ends, compensation eves) before its last
  posting. The integrity events the replay writes (paid_on_time, paid_late, one per
  installment; loan_closed_clean) are written with the same facts and once-keys.
- Schedule amounts do not depend on the day a loan is paid out (interest is monthly on
  the balance), so `build_schedule` runs once per amount, term, method and terms; each
  loan's due days are `add_months(disbursed_on, k)`, as `build_schedule` computes them.
- Ids are assigned here (the sequences moved past them per batch), rows go through
  `bulk.insert_rows` (COPY on PostgreSQL): on PostgreSQL money and rates are written in
  their stored form (fen, millionths).
- After the last batch: a second deposit into each fund backing bulk loans, on the day the
  fund was set up, enough for leverage to allow them (as `fund_loans` sizes the first);
  one `demo.bulk_loans` audit entry with the counts (instead of one per operation); then
  ANALYZE and the real daily sweep for `as_of` over every loan, so days past due, buckets,
  overdue installments, defaults and the late_over_30 and defaulted events come from
  production code, as the month-end sweeps of the operations part would have left them
  (the sweep's dates derive from the data, not from the day it runs).

`flask loans reconcile` finds no difference on a seed with bulk loans: tests/demo/
test_loan_bulk.py holds that on both engines.
"""

from __future__ import annotations

import bisect
import contextlib
import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from functools import cache
from random import Random
from typing import Any

from sqlalchemy import Table, exists, func, select

from app.auth.models import User
from app.businesses.models import Business, BusinessStatus
from app.core.audit import record_audit
from app.core.dates import add_months
from app.core.db import RATE_UNIT
from app.demo.bulk import insert_rows, move_id_sequence_past
from app.demo.businesses import RegionInfo, moment
from app.demo.loans import (
    CITY_FUND_REGION,
    DAYS_AFTER_TRAINING,
    FUND_LEAD_DAYS,
    FUND_LOSSES,
    HISTORY_DAYS,
    LATEST_DAYS_AGO,
    LOANS_PER_FOUNDER,
    SHARES,
    Candidate,
    DemoLoan,
    LoanPlanner,
    OfficerDesk,
    P,
    Profile,
    Timeline,
    _deposit_amount,
    _working_day,
    analyze_loan_tables,
    loan_count,
)
from app.demo.sampling import Weighted
from app.extensions import db
from app.founders.models import Founder
from app.integrity.models import EventKind, EventSource, IntegrityEvent
from app.integrity.points import current_points
from app.loans import fund
from app.loans.allocation import (
    Payment,
    ScheduledInstallment,
    bucket_for,
    days_past_due,
    replay,
)
from app.loans.jobs import sweep
from app.loans.models import (
    Allocation,
    Bucket,
    EntryKind,
    EntrySource,
    Guarantor,
    Loan,
    LoanInstallment,
    LoanStatus,
    Repayment,
)
from app.loans.policies import get_effective_policy
from app.loans.rules import MAX_AMOUNT_EVER
from app.loans.schedule import build_schedule
from app.loans.servicing import LATE_GRACE_DAYS, timeliness_key
from app.training.models import ENTREPRENEURSHIP_KINDS, Cohort, Course, Enrollment, TrainingResult

ZERO = Decimal("0.00")
# Up to this many loans the demo is what it always was (one per three founders, all made by
# the operations); beyond, LOANS_AT_SCALE per founder, the part above MAX_LOANS in bulk.
SMALL_DEMO_LOANS = 2_000
LOANS_AT_SCALE = 0.2
# Founder ids read per batch: at a million founders about 2,000 loans a batch.
FOUNDERS_PER_BATCH = 10_000
# The bulk's profiles: the operations' shares without the fund's losses (ACTIVE the rest).
BULK_PROFILES = Weighted(
    [(profile, share) for profile, share in SHARES.items() if profile not in FUND_LOSSES]
    + [(P.ACTIVE, 1 - sum(share for p, share in SHARES.items() if p not in FUND_LOSSES))]
)
# The fund ledger takes at most MAX_AMOUNT_EVER in one entry.
DEPOSIT_TRANCHE = MAX_AMOUNT_EVER
BULK_DEPOSIT_NOTE = "财政追加注入创业担保贷款担保基金（扩大贷款规模）"


def total_loan_count(founder_count: int) -> int:
    """Loans of a demo of `founder_count` founders: one per three up to SMALL_DEMO_LOANS (the
    default demo and its screenshots stay as they are), then LOANS_AT_SCALE per founder."""
    small = max(1, round(founder_count * LOANS_PER_FOUNDER))
    if small <= SMALL_DEMO_LOANS:
        return small
    return max(SMALL_DEMO_LOANS, round(founder_count * LOANS_AT_SCALE))


def bulk_loan_count(founder_count: int) -> int:
    """The loans written here: those beyond what the operations make."""
    return max(0, total_loan_count(founder_count) - loan_count(founder_count))


@contextlib.contextmanager
def _no_progress(label: str, length: int) -> Iterator[Any]:
    class _Silent:
        def update(self, n_steps: int) -> None:
            """Nothing to show."""

    yield _Silent()


# Borrowers --------------------------------------------------------------------------------
def _trained(first: int | None = None, last: int | None = None) -> Any:
    """Founders (of an id range) with the day they first passed entrepreneurship training."""
    stmt = (
        select(
            Enrollment.founder_id.label("founder_id"),
            func.min(Enrollment.completed_on).label("trained_on"),
        )
        .join(Cohort, Cohort.id == Enrollment.cohort_id)
        .join(Course, Course.id == Cohort.course_id)
        .where(
            Enrollment.result == TrainingResult.PASSED,
            Enrollment.completed_on.is_not(None),
            Course.kind.in_(ENTREPRENEURSHIP_KINDS),
        )
        .group_by(Enrollment.founder_id)
    )
    if first is not None and last is not None:
        stmt = stmt.where(Enrollment.founder_id.between(first, last))
    return stmt.subquery()


def _open_business_of(founder_id: Any) -> Any:
    return exists().where(
        Business.founder_id == founder_id, Business.status != BusinessStatus.CLOSED
    )


def _trained_by(as_of: date) -> date:
    """The latest training day that still leaves a founder time for an active loan."""
    return as_of - timedelta(days=LATEST_DAYS_AGO[P.ACTIVE] + DAYS_AFTER_TRAINING)


def count_bulk_candidates(as_of: date) -> int:
    """How many founders could borrow in bulk (one set-based count)."""
    trained = _trained()
    return (
        db.session.scalar(
            select(func.count())
            .select_from(trained)
            .where(
                trained.c.trained_on <= _trained_by(as_of),
                _open_business_of(trained.c.founder_id),
            )
        )
        or 0
    )


def read_bulk_candidates(first: int, last: int, *, as_of: date) -> list[Candidate]:
    """The founders of ids `first`..`last` who passed entrepreneurship training in time for
    a loan and run an open business, with their open businesses (two statements)."""
    trained = _trained(first, last)
    rows = db.session.execute(
        select(
            Founder.id,
            Founder.name,
            Founder.id_number,
            Founder.region_code,
            Founder.birth_date,
            Founder.sex,
            trained.c.trained_on,
        )
        .join(trained, trained.c.founder_id == Founder.id)
        .where(trained.c.trained_on <= _trained_by(as_of))
        .order_by(Founder.id)
    )
    history_start = as_of - timedelta(days=HISTORY_DAYS)
    candidates: dict[int, Candidate] = {}
    for row in rows:
        candidate = Candidate(*row)
        candidate.earliest = max(
            history_start, candidate.trained_on + timedelta(days=DAYS_AFTER_TRAINING)
        )
        candidates[candidate.id] = candidate
    businesses = db.session.execute(
        select(Business.id, Business.founder_id, Business.opened_on, Business.industry)
        .where(Business.founder_id.between(first, last), Business.status != BusinessStatus.CLOSED)
        .order_by(Business.opened_on, Business.id)
    )
    for business_id, founder_id, opened_on, industry in businesses:
        candidate = candidates.get(founder_id)
        if candidate is not None:
            candidate.businesses.append((business_id, opened_on, industry))
    return [candidate for candidate in candidates.values() if candidate.businesses]


# The loan's terms, schedules and the rows' stored forms -----------------------------------
@dataclass(frozen=True)
class Terms:
    """A region's policy terms, copied onto its loans when they apply."""

    annual_rate: Decimal
    subsidy_rate: Decimal
    subsidy_requires_on_time: bool
    default_days: int
    guarantee_ratio: Decimal
    fund_region_code: str


@dataclass(frozen=True)
class Line:
    """A schedule line's amounts (the same whatever day the loan is paid out)."""

    n: int
    principal: Decimal
    interest: Decimal
    subsidy: Decimal
    borrower_interest: Decimal


@cache
def schedule_amounts(
    amount: Decimal, term_months: int, method: str, annual_rate: Decimal, subsidy_rate: Decimal
) -> tuple[Line, ...]:
    """`build_schedule`'s amounts for these terms (see the module docstring)."""
    return tuple(
        Line(row.n, row.principal, row.interest, row.subsidy, row.borrower_interest)
        for row in build_schedule(
            principal=amount,
            term_months=term_months,
            annual_rate=annual_rate,
            subsidy_rate=subsidy_rate,
            method=method,
            disbursed_on=date(2000, 1, 1),
        )
    )


@cache
def due_days(disbursed_on: date, term_months: int) -> tuple[date, ...]:
    """Installment k is due k calendar months after the disbursement (`build_schedule`)."""
    return tuple(add_months(disbursed_on, k) for k in range(1, term_months + 1))


class Ids:
    """The next free id of a table, assigned here so rows need no RETURNING."""

    def __init__(self, model: Any) -> None:
        self.table: Table = model.__table__
        self.next = 1 + (db.session.scalar(select(func.max(model.id))) or 0)

    def take(self) -> int:
        """The next id."""
        ident = self.next
        self.next += 1
        return ident


# The loans ---------------------------------------------------------------------------------
@dataclass
class BulkLoan(DemoLoan):
    """A planned loan whose steps record what the operations would store."""

    book: Any = None
    status: str = LoanStatus.SUBMITTED
    terms: Terms | None = None
    reviewed_on: date | None = None
    reviewed_by_id: int | None = None
    review_note: str = ""
    approved_on: date | None = None
    approved_by_id: int | None = None
    approval_note: str = ""
    rejected_on: date | None = None
    rejection_reason: str = ""
    disbursed_on: date | None = None
    lines: tuple[Line, ...] = ()
    dues: tuple[date, ...] = ()
    payments: list[tuple[date, Decimal, str]] = field(default_factory=list)
    # What the payments so far left on each installment, as owed_through reads it.
    _paid: list[Decimal] = field(default_factory=list)
    _done: list[bool] = field(default_factory=list)

    def apply(self) -> None:
        """The application, on the region's terms."""
        self.loan_id = self.book.loan_ids.take()
        self.terms = self.book.terms_of(self.candidate.region_code)
        self._touch(self.applied_on)

    def review(self, day: date, *, note: str, approve: bool = True) -> None:
        """As `operations.review_loan`."""
        self.reviewed_on, self.reviewed_by_id, self.review_note = (
            day,
            self.officers.reviewer.id,
            note,
        )
        self.status = LoanStatus.REVIEWED if approve else LoanStatus.REJECTED
        if not approve:
            self.rejected_on, self.rejection_reason = day, note
        self._touch(day)

    def approve(self, day: date, *, note: str, approve: bool = True) -> None:
        """As `operations.approve_loan`."""
        self.approved_on, self.approved_by_id, self.approval_note = (
            day,
            self.officers.approver.id,
            note,
        )
        self.status = LoanStatus.APPROVED if approve else LoanStatus.REJECTED
        if not approve:
            self.rejected_on, self.rejection_reason = day, note
        self._touch(day)

    def disburse(self, day: date) -> None:
        """As `operations.disburse_loan`: the schedule; installments owing nothing are paid."""
        terms = self.terms
        assert terms is not None
        self.status = LoanStatus.ACTIVE
        self.disbursed_on = day
        self.lines = schedule_amounts(
            self.amount, self.term_months, self.method, terms.annual_rate, terms.subsidy_rate
        )
        self.dues = due_days(day, self.term_months)
        self._paid = [ZERO] * len(self.lines)
        self._done = [line.principal + line.borrower_interest == ZERO for line in self.lines]
        self._touch(day)

    def _left(self, index: int, day: date) -> Decimal:
        """What is left of an installment for a payment on `day` (`loans._left_on`)."""
        line = self.lines[index]
        lost = self.terms.subsidy_requires_on_time and self.dues[index] < day  # type: ignore[union-attr]
        interest = line.interest if lost else line.borrower_interest
        return line.principal + interest - self._paid[index]

    def pay_through(self, day: date, through: int) -> None:
        """As DemoLoan.pay_through: everything owed on installments 1..`through`."""
        amount = sum(
            (self._left(i, day) for i in range(min(through, len(self.lines))) if not self._done[i]),
            ZERO,
        )
        if amount > 0:
            self._post(day, amount)

    def pay_part(self, day: date, share: float) -> None:
        """As DemoLoan.pay_part: a share of the oldest unpaid installment."""
        index = next((i for i, done in enumerate(self._done) if not done), None)
        left = ZERO if index is None else self._left(index, day)
        amount = (left * Decimal(str(share))).quantize(Decimal("1"), rounding=ROUND_DOWN)
        if 0 < amount < left:
            self._post(day, amount)

    def _post(self, day: date, amount: Decimal) -> None:
        self.postings += 1
        reference = f"HK{day:%Y%m%d}{self._id:07d}{self.postings:03d}"
        self.payments.append((day, amount, reference))
        remaining = amount
        for i, done in enumerate(self._done):
            if remaining == ZERO:
                break
            if done:
                continue
            take = min(remaining, self._left(i, day))
            self._paid[i] += take
            remaining -= take
            self._done[i] = self._left(i, day) == ZERO
        self._touch(day)

    def pay_again(self, day: date) -> None:  # pragma: no cover - planned only by operations
        raise NotImplementedError("duplicate postings are made by the operations part")

    def reverse_last(self, day: date) -> None:  # pragma: no cover
        raise NotImplementedError("reversals are made by the operations part")

    def compensate(self, day: date) -> None:  # pragma: no cover
        raise NotImplementedError("compensations are made by the operations part")

    def recover(self, day: date, **_: Any) -> None:  # pragma: no cover
        raise NotImplementedError("recoveries are made by the operations part")

    def write_off(self, day: date) -> None:  # pragma: no cover
        raise NotImplementedError("write-offs are made by the operations part")


class BulkPlanner(LoanPlanner):
    """The operations part's planner, one candidate at a time, for BulkLoans."""

    loan_class = BulkLoan

    def __init__(
        self,
        rng: Random,
        *,
        as_of: date,
        regions: dict[str, RegionInfo],
        desk: OfficerDesk,
        book: BulkBook,
    ) -> None:
        super().__init__(
            rng, as_of=as_of, regions=regions, desk=desk, queue_region=None, timeline=Timeline()
        )
        self.book = book
        # The one loan paying after its default is the operations part's.
        self._post_default_payment_done = True

    def plan_candidate(self, candidate: Candidate) -> BulkLoan | None:
        """A loan of a drawn profile for `candidate`, or an active one when they cannot
        have that story; None when not even that fits."""
        profile = BULK_PROFILES.draw(self.rng)
        loan = self._plan_for(profile, candidate)
        if loan is None and profile != P.ACTIVE:
            loan = self._plan_for(P.ACTIVE, candidate)
        return loan  # type: ignore[return-value]

    def run_batch(self) -> list[BulkLoan]:
        """Run the planned steps in date order; answer the batch's loans and start anew."""
        self.timeline.run()  # no sweeps on it: nothing commits
        loans, self.loans, self.timeline = self.loans, [], Timeline()
        return loans  # type: ignore[return-value]

    def _new(
        self, profile: Profile, candidate: Candidate, applied_on: date, *, spouse: bool = False
    ) -> DemoLoan:
        loan = super()._new(profile, candidate, applied_on, spouse=spouse)
        loan.book = self.book  # type: ignore[attr-defined]
        if loan.officers.applicant.id is None or loan.officers.approver.id is None:
            db.session.flush()  # an officer account added for a region new to the demo
        return loan

    def _wants_duplicate(self, dues: list[date]) -> bool:
        return False

    def _queue_reviews_by_province(self) -> bool:
        return False


# Rows ---------------------------------------------------------------------------------------
@dataclass
class Batch:
    """Rows of a batch of loans, by table."""

    loans: list[dict[str, Any]] = field(default_factory=list)
    guarantors: list[dict[str, Any]] = field(default_factory=list)
    installments: list[dict[str, Any]] = field(default_factory=list)
    repayments: list[dict[str, Any]] = field(default_factory=list)
    allocations: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


class BulkBook:
    """Turns finished BulkLoans into rows, with ids, terms and stored forms."""

    def __init__(
        self, rng: Random, *, now: datetime, sweep_days: Sequence[date], stored_form: bool
    ) -> None:
        self.rng = rng
        self.now = now
        self.sweep_days = list(sweep_days)
        self.stored_form = stored_form  # PostgreSQL's COPY takes fen and millionths
        self.loan_ids = Ids(Loan)
        self.guarantor_ids = Ids(Guarantor)
        self.installment_ids = Ids(LoanInstallment)
        self.repayment_ids = Ids(Repayment)
        self.allocation_ids = Ids(Allocation)
        self.event_ids = Ids(IntegrityEvent)
        self.points = current_points()
        self._terms: dict[str, Terms] = {}
        self.principal_by_fund: dict[str, Decimal] = {}
        self.counts = {"loans": 0, "repayments": 0, "guarantors": 0, "installments": 0}

    def terms_of(self, region_code: str) -> Terms:
        """The region's policy terms and the fund that backs its loans."""
        if region_code not in self._terms:
            policy = get_effective_policy(region_code)
            self._terms[region_code] = Terms(
                annual_rate=policy.annual_rate,
                subsidy_rate=policy.subsidy_rate,
                subsidy_requires_on_time=policy.subsidy_requires_on_time,
                default_days=policy.default_days,
                guarantee_ratio=policy.guarantee_ratio,
                fund_region_code=fund.fund_region_for(region_code),
            )
        return self._terms[region_code]

    def money(self, amount: Decimal) -> Any:
        """Yuan as the insert takes them."""
        return int(amount * 100) if self.stored_form else amount

    def rate(self, value: Decimal) -> Any:
        """A rate as the insert takes it."""
        return int(value / RATE_UNIT) if self.stored_form else value

    def swept_before(self, disbursed_on: date, day: date) -> date | None:
        """The last sweep of the operations' timeline before `day` that saw the loan."""
        index = bisect.bisect_left(self.sweep_days, day) - 1
        if index >= 0 and self.sweep_days[index] >= disbursed_on:
            return self.sweep_days[index]
        return None

    def add(self, batch: Batch, loan: BulkLoan) -> None:
        """The rows of one finished loan."""
        terms = loan.terms
        assert terms is not None
        assert loan.loan_id is not None
        loan_id = loan.loan_id
        money = self.money
        row: dict[str, Any] = {
            "id": loan_id,
            "founder_id": loan.candidate.id,
            "business_id": loan.business_id,
            "region_code": loan.candidate.region_code,
            "amount": money(loan.amount),
            "term_months": loan.term_months,
            "repayment_method": loan.method,
            "purpose": loan.purpose,
            "status": loan.status,
            "annual_rate": self.rate(terms.annual_rate),
            "subsidy_rate": self.rate(terms.subsidy_rate),
            "subsidy_requires_on_time": terms.subsidy_requires_on_time,
            "default_days": terms.default_days,
            "guarantee_ratio": self.rate(terms.guarantee_ratio),
            "applied_on": loan.applied_on,
            "applied_by_id": loan.officers.applicant.id,
            "reviewed_on": loan.reviewed_on,
            "reviewed_by_id": loan.reviewed_by_id,
            "review_note": loan.review_note,
            "approved_on": loan.approved_on,
            "approved_by_id": loan.approved_by_id,
            "approval_note": loan.approval_note,
            "rejected_on": loan.rejected_on,
            "rejection_reason": loan.rejection_reason,
            "disbursed_on": None,
            "bank_reference": None,
            "fund_region_code": None,
            "outstanding_principal": money(ZERO),
            "days_past_due": 0,
            "bucket": Bucket.CURRENT.value,
            "swept_on": None,
            "closed_on": None,
            "defaulted_on": None,
            "compensated_on": None,
            "compensated_amount": money(ZERO),
            "recovered_amount": money(ZERO),
            "ended_on": None,
            "write_off_reason": "",
            "created_at": moment(loan.applied_on, self.rng, self.now),
            "updated_at": moment(loan.last_on or loan.applied_on, self.rng, self.now),
        }
        if loan.disbursed_on is not None:
            self._add_servicing(batch, loan, row)
        batch.loans.append(row)
        for guarantor in loan.guarantors:
            batch.guarantors.append(
                {
                    "id": self.guarantor_ids.take(),
                    "loan_id": loan_id,
                    "name": guarantor["name"],
                    "id_number": guarantor["id_number"],
                    "relationship": guarantor["relationship"],
                    "employer": guarantor["employer"],
                    "phone": guarantor["phone"],
                }
            )
        self.counts["loans"] += 1
        self.counts["guarantors"] += len(loan.guarantors)
        if loan.disbursed_on is not None:
            code = terms.fund_region_code
            self.principal_by_fund[code] = self.principal_by_fund.get(code, ZERO) + loan.amount

    def _add_servicing(self, batch: Batch, loan: BulkLoan, row: dict[str, Any]) -> None:
        """Schedule, payments, allocations and the replay's state and events."""
        terms, disbursed_on, loan_id = loan.terms, loan.disbursed_on, loan.loan_id
        assert terms is not None
        assert disbursed_on is not None
        assert loan_id is not None
        money = self.money
        schedule = [
            ScheduledInstallment(line.n, due, line.principal, line.interest, line.borrower_interest)
            for line, due in zip(loan.lines, loan.dues, strict=True)
        ]
        payments = [
            Payment(self.repayment_ids.take(), day, amount) for day, amount, _ in loan.payments
        ]
        last_day = payments[-1].paid_on if payments else disbursed_on
        swept_on = self.swept_before(disbursed_on, last_day)
        result = replay(
            schedule,
            payments,
            swept_on=swept_on,
            subsidy_requires_on_time=terms.subsidy_requires_on_time,
        )
        if result.excess or sum(s.paid_off_on is not None for s in result.installments) != sum(
            loan._done
        ):
            raise RuntimeError(f"bulk loan {loan_id}: the payments do not replay as planned")
        installment_ids = [self.installment_ids.take() for _ in schedule]
        founder_id, officer_id = loan.candidate.id, loan.officers.applicant.id
        for due, line, state, installment_id in zip(
            schedule, loan.lines, result.installments, installment_ids, strict=True
        ):
            batch.installments.append(
                {
                    "id": installment_id,
                    "loan_id": loan_id,
                    "n": due.n,
                    "due_on": due.due_on,
                    "principal": money(line.principal),
                    "interest": money(line.interest),
                    "subsidy": money(line.subsidy),
                    "borrower_interest": money(line.borrower_interest),
                    "paid_principal": money(state.paid_principal),
                    "paid_interest": money(state.paid_interest),
                    "paid_off_on": state.paid_off_on,
                    "subsidy_lost": state.subsidy_lost,
                    "status": state.status,
                }
            )
            # servicing._record_timeliness: once per installment that owed something.
            if state.paid_off_on is None or line.principal + line.borrower_interest == ZERO:
                continue
            days_late = (state.paid_off_on - due.due_on).days
            if days_late > LATE_GRACE_DAYS:
                continue  # the sweep's late_over_30
            kind = EventKind.PAID_ON_TIME if days_late <= 0 else EventKind.PAID_LATE
            batch.events.append(
                self._event(
                    founder_id,
                    kind,
                    state.paid_off_on,
                    note=f"loan {loan_id} installment {due.n}",
                    loan_id=loan_id,
                    installment_id=installment_id,
                    once_key=timeliness_key(installment_id),
                    recorded_by_id=officer_id,
                )
            )
        for payment, (_, _, reference) in zip(payments, loan.payments, strict=True):
            batch.repayments.append(
                {
                    "id": payment.entry_id,
                    "loan_id": loan_id,
                    "kind": EntryKind.PAYMENT.value,
                    "paid_on": payment.paid_on,
                    "amount": money(payment.amount),
                    "reference": reference,
                    "reverses_id": None,
                    "reason": "",
                    "source": EntrySource.OFFICER.value,
                    "recorded_by_id": officer_id,
                    "created_at": moment(payment.paid_on, self.rng, self.now),
                }
            )
        for share in result.shares:
            batch.allocations.append(
                {
                    "id": self.allocation_ids.take(),
                    "repayment_id": share.entry_id,
                    "installment_id": installment_ids[share.n - 1],
                    "principal": money(share.principal),
                    "interest": money(share.interest),
                }
            )
        row |= {
            "disbursed_on": disbursed_on,
            "bank_reference": f"FK{disbursed_on:%Y%m%d}{loan_id:07d}",
            "fund_region_code": terms.fund_region_code,
            "outstanding_principal": money(loan.amount - result.principal_paid),
            "swept_on": swept_on,
        }
        if result.is_fully_paid:
            # servicing._close_or_reopen
            closed_on = max(payment.paid_on for payment in payments)
            row |= {"status": LoanStatus.CLOSED.value, "closed_on": closed_on}
            if all(
                state.paid_off_on <= due.due_on  # type: ignore[operator]
                for due, line, state in zip(schedule, loan.lines, result.installments, strict=True)
                if line.principal + line.borrower_interest > ZERO
            ):
                batch.events.append(
                    self._event(
                        founder_id,
                        EventKind.LOAN_CLOSED_CLEAN,
                        closed_on,
                        note=f"loan {loan_id}",
                        loan_id=loan_id,
                        installment_id=None,
                        once_key=f"loan:{loan_id}:closed_clean",
                        recorded_by_id=officer_id,
                    )
                )
        else:
            dpd = days_past_due(schedule, result.installments, swept_on)
            row |= {"days_past_due": dpd, "bucket": bucket_for(dpd)}
        self.counts["repayments"] += len(payments)
        self.counts["installments"] += len(schedule)

    def _event(
        self,
        founder_id: int,
        kind: EventKind,
        occurred_on: date,
        *,
        note: str,
        loan_id: int,
        installment_id: int | None,
        once_key: str,
        recorded_by_id: int | None,
    ) -> dict[str, Any]:
        return {
            "id": self.event_ids.take(),
            "founder_id": founder_id,
            "kind": kind.value,
            "points": self.points[kind.value],
            "occurred_on": occurred_on,
            "source": EventSource.REPAYMENT.value,
            "note": note,
            "loan_id": loan_id,
            "installment_id": installment_id,
            "once_key": once_key,
            "recorded_by_id": recorded_by_id,
            "approved_by_id": None,
            "created_at": self.now,
        }

    def write(self, batch: Batch) -> None:
        """Insert a batch's rows, parents first, and move the id sequences past them."""
        for ids, rows in (
            (self.loan_ids, batch.loans),
            (self.guarantor_ids, batch.guarantors),
            (self.installment_ids, batch.installments),
            (self.repayment_ids, batch.repayments),
            (self.allocation_ids, batch.allocations),
            (self.event_ids, batch.events),
        ):
            if rows:
                insert_rows(ids.table, rows)
                move_id_sequence_past(ids.table, max(row["id"] for row in rows))


# The stage ----------------------------------------------------------------------------------
def write_bulk_loans(
    rng: Random,
    *,
    as_of: date,
    now: datetime,
    wanted: int,
    admin: User,
    regions: dict[str, RegionInfo],
    desk: OfficerDesk,
    sweep_days: Sequence[date],
    taken_founder_ids: set[int],
    progress: Callable[[str, int], AbstractContextManager[Any]] | None = None,
) -> dict[str, int]:
    """Write about `wanted` loans as rows, batch by batch (committing each), fund them, then
    sweep every loan for `as_of`. Answer the counts (see the module docstring)."""
    book = BulkBook(
        rng,
        now=now,
        sweep_days=sweep_days,
        stored_form=db.session.connection().dialect.name == "postgresql",
    )
    planner = BulkPlanner(rng, as_of=as_of, regions=regions, desk=desk, book=book)
    available = max(1, count_bulk_candidates(as_of) - len(taken_founder_ids))
    chance = min(1.0, wanted / available)
    first, last = db.session.execute(select(func.min(Founder.id), func.max(Founder.id))).one()
    planned = 0
    bar_of = progress or _no_progress
    with bar_of("Loans", wanted) as bar, _collecting_per_batch() as collect:
        for start in range(first or 1, (last or 0) + 1, FOUNDERS_PER_BATCH):
            if planned >= wanted:
                break
            for candidate in read_bulk_candidates(
                start, start + FOUNDERS_PER_BATCH - 1, as_of=as_of
            ):
                if planned >= wanted:
                    break
                if candidate.id in taken_founder_ids or rng.random() >= chance:
                    continue
                if planner.plan_candidate(candidate) is not None:
                    planned += 1
            batch = Batch()
            for loan in planner.run_batch():
                book.add(batch, loan)
            book.write(batch)
            db.session.commit()
            bar.update(len(batch.loans))
            collect()
    _fund_bulk_loans(rng, admin, book.principal_by_fund, as_of=as_of, now=now)
    record_audit(admin, "demo.bulk_loans", ("demo", None), None, {"as_of": as_of, **book.counts})
    analyze_loan_tables()  # the planner must see the rows COPY wrote before the sweep
    swept = _sweep(as_of)
    db.session.commit()
    return {**book.counts, "defaulted_by_sweep": swept.get("defaulted", 0)}


@contextlib.contextmanager
def _collecting_per_batch() -> Iterator[Callable[[], None]]:
    """Python's cycle collector off while a batch is built, run once after it: a batch
    allocates millions of objects that hold no cycles, and the collector's passes over
    them cost more than the work itself."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield gc.collect
    finally:
        if was_enabled:
            gc.enable()


def _fund_bulk_loans(
    rng: Random,
    admin: User,
    principal_by_fund: dict[str, Decimal],
    *,
    as_of: date,
    now: datetime,
) -> None:
    """More deposits into each fund, dated the day the funds were set up, enough for
    leverage to allow the bulk loans it backs (as `demo.loans.fund_loans` sizes the first),
    in tranches the fund ledger accepts (one entry is at most MAX_AMOUNT_EVER)."""
    opened_on = _working_day(as_of - timedelta(days=HISTORY_DAYS + FUND_LEAD_DAYS))
    for code in sorted(principal_by_fund):
        leverage = get_effective_policy(code).leverage
        left = _deposit_amount(principal_by_fund[code], leverage, 0)
        level = "市" if code == CITY_FUND_REGION else "省"
        tranche = 0
        while left > 0:
            tranche += 1
            amount = min(left, DEPOSIT_TRANCHE)
            left -= amount
            entry = fund.post_fund_entry(
                admin,
                code,
                {
                    "date": opened_on,
                    "amount": amount,
                    "reference": f"CZ{opened_on:%Y%m%d}{code}B{tranche}",
                    "note": level + "级" + BULK_DEPOSIT_NOTE,
                },
                as_of=opened_on,
            )
            entry.created_at = moment(opened_on, rng, now)


def _sweep(as_of: date) -> dict[str, int]:
    """The real daily sweep for `as_of`, over every loan (one log line, as the scheduler's)."""
    return sweep(as_of)
