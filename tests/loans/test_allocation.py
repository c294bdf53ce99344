"""The pure repayment replay against SPEC §9: allocation order, subsidy loss, status, and
properties that must hold for any set of payments in any order."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from app.loans.allocation import (
    Payment,
    ScheduledInstallment,
    bucket_for,
    days_past_due,
    replay,
)
from app.loans.schedule import build_schedule

D = Decimal


def three_months(subsidy="0.5"):
    """1,200 over 3 months at 12 % a year (1 % a month), equal principal.

    Interest: 12.00, 8.00, 4.00; half subsidised: the borrower owes 406, 404, 402.
    """
    lines = build_schedule(
        principal=D("1200.00"),
        term_months=3,
        annual_rate=D("0.12"),
        subsidy_rate=D(subsidy),
        method="equal_principal",
        disbursed_on=date(2026, 1, 10),
    )
    return [
        ScheduledInstallment(
            n=line.n,
            due_on=line.due_on,
            principal=line.principal,
            interest=line.interest,
            borrower_interest=line.borrower_interest,
        )
        for line in lines
    ]


def pay(entry_id, on, amount):
    return Payment(entry_id=entry_id, paid_on=on, amount=D(amount))


def test_the_schedule_used_here():
    schedule = three_months()
    assert [(s.principal, s.interest, s.borrower_interest) for s in schedule] == [
        (D("400.00"), D("12.00"), D("6.00")),
        (D("400.00"), D("8.00"), D("4.00")),
        (D("400.00"), D("4.00"), D("2.00")),
    ]


def test_oldest_installment_first_interest_before_principal():
    result = replay(
        three_months(),
        [pay(1, date(2026, 2, 1), "500.00")],
        swept_on=None,
        subsidy_requires_on_time=True,
    )
    first, second, third = result.installments
    assert (first.paid_interest, first.paid_principal, first.paid_off_on) == (
        D("6.00"),
        D("400.00"),
        date(2026, 2, 1),
    )
    # 94 left: interest 4 of the second installment, then 90 of its principal.
    assert (second.paid_interest, second.paid_principal, second.paid_off_on) == (
        D("4.00"),
        D("90.00"),
        None,
    )
    assert (third.paid_interest, third.paid_principal) == (D("0.00"), D("0.00"))
    assert [(s.n, s.interest, s.principal) for s in result.shares] == [
        (1, D("6.00"), D("400.00")),
        (2, D("4.00"), D("90.00")),
    ]
    assert result.principal_paid == D("490.00")
    assert [s.status for s in result.installments] == ["paid", "partial", "pending"]


def test_an_unpaid_installment_loses_its_subsidy_once_the_sweep_passes_its_due_day():
    schedule = three_months()
    result = replay(schedule, [], swept_on=date(2026, 2, 11), subsidy_requires_on_time=True)
    first = result.installments[0]
    assert first.subsidy_lost
    assert first.status == "overdue"
    # The next payment pays the full interest (12.00) before principal.
    result = replay(
        schedule,
        [pay(1, date(2026, 2, 12), "412.00")],
        swept_on=date(2026, 2, 11),
        subsidy_requires_on_time=True,
    )
    first = result.installments[0]
    assert (first.paid_interest, first.paid_principal, first.paid_off_on) == (
        D("12.00"),
        D("400.00"),
        date(2026, 2, 12),
    )


def test_on_the_due_day_is_on_time_and_keeps_the_subsidy():
    result = replay(
        three_months(),
        [pay(1, date(2026, 2, 10), "406.00")],
        swept_on=date(2026, 3, 1),
        subsidy_requires_on_time=True,
    )
    first = result.installments[0]
    assert not first.subsidy_lost
    assert first.paid_off_on == date(2026, 2, 10)
    assert first.status == "paid"


def test_a_late_payment_before_the_sweep_still_loses_the_subsidy():
    """The payment's own date shows the due day passed: 406 leaves 6 of interest open."""
    result = replay(
        three_months(),
        [pay(1, date(2026, 2, 11), "406.00")],
        swept_on=date(2026, 2, 10),
        subsidy_requires_on_time=True,
    )
    first = result.installments[0]
    assert first.subsidy_lost
    assert (first.paid_interest, first.paid_principal) == (D("12.00"), D("394.00"))
    assert first.paid_off_on is None


def test_without_the_policy_flag_the_subsidy_stays():
    result = replay(three_months(), [], swept_on=date(2026, 5, 1), subsidy_requires_on_time=False)
    assert not any(state.subsidy_lost for state in result.installments)
    assert [state.status for state in result.installments] == ["overdue"] * 3


def test_money_beyond_what_is_owed_is_excess():
    result = replay(
        three_months(),
        [pay(7, date(2026, 2, 1), "1212.50")],
        swept_on=None,
        subsidy_requires_on_time=True,
    )
    assert result.is_fully_paid
    assert result.excess == D("0.50")
    assert result.excess_entry_id == 7


def test_installments_that_owe_nothing_count_as_paid_on_their_due_day():
    lines = build_schedule(
        principal=D("1000.00"),
        term_months=3,
        annual_rate=D("0.0345"),
        subsidy_rate=D("1"),
        method="interest_only",
        disbursed_on=date(2026, 1, 10),
    )
    schedule = [
        ScheduledInstallment(x.n, x.due_on, x.principal, x.interest, x.borrower_interest)
        for x in lines
    ]
    result = replay(schedule, [], swept_on=date(2026, 3, 20), subsidy_requires_on_time=True)
    assert [s.status for s in result.installments] == ["paid", "paid", "pending"]
    assert not any(s.subsidy_lost for s in result.installments)


def test_days_past_due_and_buckets():
    schedule = three_months()
    result = replay(schedule, [], swept_on=date(2026, 3, 15), subsidy_requires_on_time=True)
    # Oldest unpaid due 2026-02-10: 33 days before 2026-03-15.
    assert days_past_due(schedule, result.installments, date(2026, 3, 15)) == 33
    assert days_past_due(schedule, result.installments, date(2026, 2, 10)) == 0
    assert days_past_due(schedule, result.installments, None) == 0
    assert [bucket_for(d) for d in (0, 1, 30, 31, 60, 61, 90, 91)] == [
        "current",
        "1-30",
        "1-30",
        "31-60",
        "31-60",
        "61-90",
        "61-90",
        "90+",
    ]


payments_strategy = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=120),  # days after disbursement
        st.integers(min_value=1, max_value=60_000),  # fen
    ),
    max_size=8,
)


@settings(max_examples=200, deadline=None)
@given(payments_strategy, st.integers(min_value=0, max_value=150), st.booleans(), st.randoms())
def test_the_result_does_not_depend_on_the_order_payments_were_entered(raw, sweep_days, flag, rnd):
    schedule = three_months()
    start = date(2026, 1, 10)
    payments = [
        pay(i + 1, start + timedelta(days=days), D(fen) / 100) for i, (days, fen) in enumerate(raw)
    ]
    swept_on = start + timedelta(days=sweep_days)
    baseline = replay(schedule, payments, swept_on=swept_on, subsidy_requires_on_time=flag)
    shuffled = payments[:]
    rnd.shuffle(shuffled)
    again = replay(schedule, shuffled, swept_on=swept_on, subsidy_requires_on_time=flag)
    assert again.installments == baseline.installments
    assert again.excess == baseline.excess
    # Allocations add up to what was received, less what could not be placed.
    allocated = sum((s.principal + s.interest for s in baseline.shares), D("0"))
    assert allocated + baseline.excess == sum((p.amount for p in payments), D("0"))
    for due, state in zip(schedule, baseline.installments, strict=True):
        assert D("0") <= state.paid_principal <= due.principal
        owed_interest = due.interest if state.subsidy_lost else due.borrower_interest
        assert D("0") <= state.paid_interest <= owed_interest
        assert state.paid_principal.as_tuple().exponent == -2


def test_random_schedules_never_overpay_an_installment():
    rnd = random.Random(20261123)
    for _ in range(50):
        lines = build_schedule(
            principal=D(rnd.randint(100_00, 300_000_00)) / 100,
            term_months=rnd.randint(1, 36),
            annual_rate=D(rnd.choice(["0", "0.0345", "0.0435", "0.06"])),
            subsidy_rate=D(rnd.choice(["0", "0.5", "1"])),
            method=rnd.choice(["interest_only", "equal_principal", "equal_installment"]),
            disbursed_on=date(2025, rnd.randint(1, 12), rnd.randint(1, 28)),
        )
        schedule = [
            ScheduledInstallment(x.n, x.due_on, x.principal, x.interest, x.borrower_interest)
            for x in lines
        ]
        total = sum((s.principal + s.interest for s in schedule), D("0"))
        payments = [
            pay(i, schedule[0].due_on + timedelta(days=rnd.randint(-20, 400)), total / 4)
            for i in range(1, 5)
        ]
        payments = [Payment(p.entry_id, p.paid_on, p.amount.quantize(D("0.01"))) for p in payments]
        result = replay(
            schedule, payments, swept_on=date(2027, 6, 1), subsidy_requires_on_time=True
        )
        for due, state in zip(schedule, result.installments, strict=True):
            assert state.paid_principal <= due.principal
            assert state.paid_interest <= due.interest
        assert result.principal_paid <= sum((s.principal for s in schedule), D("0"))
