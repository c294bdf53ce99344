"""The schedule engine against SPEC §9: hand-checked schedules and Hypothesis properties."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.dates import add_months
from app.loans.schedule import (
    Installment,
    RepaymentMethod,
    build_schedule,
    level_payment,
    monthly_rate,
)

D = Decimal
METHODS = list(RepaymentMethod)


def schedule(method, principal="100000.00", months=12, rate="0.0345", subsidy="0.5", on=None):
    return build_schedule(
        principal=D(principal),
        term_months=months,
        annual_rate=D(rate),
        subsidy_rate=D(subsidy),
        method=method,
        disbursed_on=on or date(2026, 1, 31),
    )


def rows(installments: list[Installment]) -> list[tuple]:
    return [
        (i.n, i.due_on.isoformat(), str(i.principal), str(i.interest), str(i.subsidy),
         str(i.borrower_interest), str(i.balance_after))
        for i in installments
    ]  # fmt: skip


# Schedules worked out by hand (r = 0.0345 / 12 = 0.002875; half of the interest subsidised)
def test_interest_only_by_hand():
    lines = rows(schedule("interest_only"))
    # 100,000 × 0.002875 = 287.50 every month; subsidy 143.75; all principal at the end.
    assert lines[0] == (1, "2026-02-28", "0.00", "287.50", "143.75", "143.75", "100000.00")
    assert lines[1][1] == "2026-03-31"  # counted from 31 January, not from 28 February
    assert all(line[2:6] == ("0.00", "287.50", "143.75", "143.75") for line in lines[:11])
    assert lines[11] == (12, "2027-01-31", "100000.00", "287.50", "143.75", "143.75", "0.00")


def test_equal_principal_by_hand():
    lines = rows(schedule("equal_principal"))
    # 100,000 / 12 = 8,333.333… → 8,333.33; interest on 91,666.67 = 263.541… → 263.54.
    assert lines[0] == (1, "2026-02-28", "8333.33", "287.50", "143.75", "143.75", "91666.67")
    assert lines[1] == (2, "2026-03-31", "8333.33", "263.54", "131.77", "131.77", "83333.34")
    # 75,000.01 × r = 215.625… → 215.63; half of it 107.815 → 107.82 (half-up), borrower 107.81.
    assert lines[3] == (4, "2026-05-31", "8333.33", "215.63", "107.82", "107.81", "66666.68")
    # The last takes the remainder: 100,000 − 11 × 8,333.33 = 8,333.37.
    assert lines[11] == (12, "2027-01-31", "8333.37", "23.96", "11.98", "11.98", "0.00")


def test_equal_installment_by_hand():
    installments = schedule("equal_installment")
    # A = 287.50 / (1 − 1.002875^−12) = 8,489.88 (to the fen).
    assert level_payment(D("100000.00"), 12, monthly_rate(D("0.0345"))) == D("8489.88")
    lines = rows(installments)
    assert lines[0] == (1, "2026-02-28", "8202.38", "287.50", "143.75", "143.75", "91797.62")
    # 91,797.62 × r = 263.918… → 263.92; principal 8,489.88 − 263.92 = 8,225.96.
    assert lines[1] == (2, "2026-03-31", "8225.96", "263.92", "131.96", "131.96", "83571.66")
    # The last principal is what remains; its payment (8,489.93) absorbs the rounding.
    assert lines[11] == (12, "2027-01-31", "8465.59", "24.34", "12.17", "12.17", "0.00")
    assert all(i.principal + i.interest == D("8489.88") for i in installments[:11])


def test_the_level_payment_matches_exact_arithmetic():
    """A cross-check of A with rational arithmetic (no Decimal, no floats)."""
    r = Fraction(345, 10000) / 12
    exact = Fraction(100000) * r / (1 - (1 + r) ** -12)
    rounded = D(exact.numerator) / D(exact.denominator)
    assert level_payment(D("100000.00"), 12, monthly_rate(D("0.0345"))) == rounded.quantize(
        D("0.01"), rounding=ROUND_HALF_UP
    )


def test_full_subsidy_leaves_the_borrower_no_interest():
    for installment in schedule("equal_installment", subsidy="1.0"):
        assert installment.borrower_interest == D("0.00")
        assert installment.subsidy == installment.interest
        assert installment.borrower_due == installment.principal


@pytest.mark.parametrize("method", METHODS)
def test_a_zero_rate_loan_has_no_interest(method):
    installments = schedule(method, principal="1000.00", months=3, rate="0")
    assert [i.interest for i in installments] == [D("0.00")] * 3
    assert sum(i.principal for i in installments) == D("1000.00")
    if method == "interest_only":
        assert [str(i.principal) for i in installments] == ["0.00", "0.00", "1000.00"]
    else:  # 1,000 / 3 = 333.33, the last 333.34
        assert [str(i.principal) for i in installments] == ["333.33", "333.33", "333.34"]


def test_month_end_clamping_in_a_leap_year():
    dates = [i.due_on for i in schedule("equal_principal", months=4, on=date(2027, 11, 30))]
    assert dates == [date(2027, 12, 30), date(2028, 1, 30), date(2028, 2, 29), date(2028, 3, 30)]


@pytest.mark.parametrize(
    "terms",
    [
        {"principal": "0"},
        {"principal": "-5.00"},
        {"principal": "100.001"},
        {"months": 0},
        {"months": 361},
        {"rate": "-0.01"},
        {"rate": "1"},
        {"subsidy": "1.5"},
        {"subsidy": "-0.1"},
    ],
)
def test_impossible_terms_are_refused(terms):
    values = {"principal": "1000.00", "months": 12, "rate": "0.0345", "subsidy": "0.5"} | terms
    with pytest.raises(ValueError, match="must be"):
        schedule("equal_installment", **values)


def test_floats_are_refused():
    with pytest.raises(ValueError, match="principal"):
        build_schedule(
            principal=1000.0,  # type: ignore[arg-type]
            term_months=12,
            annual_rate=D("0.0345"),
            subsidy_rate=D("0.5"),
            method="equal_principal",
            disbursed_on=date(2026, 1, 1),
        )


# Properties over every method, amount, term, rate and subsidy share -----------------------
amounts = st.integers(min_value=1, max_value=300_000_000).map(lambda fen: D(fen) / 100)
real_amounts = st.integers(min_value=100_000, max_value=300_000_000).map(lambda fen: D(fen) / 100)
terms = st.integers(min_value=1, max_value=60)
rates = st.integers(min_value=0, max_value=1500).map(lambda bp: D(bp) / 10000)
subsidies = st.sampled_from([D("0"), D("0.5"), D("1.0"), D("0.3"), D("0.75")])
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))
methods = st.sampled_from(METHODS)


def _build(method, principal, months, rate, subsidy, on):
    return build_schedule(
        principal=principal,
        term_months=months,
        annual_rate=rate,
        subsidy_rate=subsidy,
        method=method,
        disbursed_on=on,
    )


@settings(max_examples=300, deadline=None)
@given(methods, amounts, terms, rates, subsidies, days)
def test_principal_sums_to_the_amount_and_no_balance_goes_negative(
    method, principal, months, rate, subsidy, on
):
    installments = _build(method, principal, months, rate, subsidy, on)
    assert len(installments) == months
    assert sum(i.principal for i in installments) == principal
    balance = principal
    for installment in installments:
        assert installment.principal >= 0
        balance -= installment.principal
        assert installment.balance_after == balance >= 0
    assert installments[-1].balance_after == 0


@settings(max_examples=300, deadline=None)
@given(methods, amounts, terms, rates, subsidies, days)
def test_every_amount_has_two_decimals_and_the_formulas_hold(
    method, principal, months, rate, subsidy, on
):
    installments = _build(method, principal, months, rate, subsidy, on)
    r = rate / 12
    balance = principal
    for installment in installments:
        for amount in (
            installment.principal,
            installment.interest,
            installment.subsidy,
            installment.borrower_interest,
            installment.balance_after,
        ):
            assert amount.as_tuple().exponent == -2
        assert installment.interest == (balance * r).quantize(D("0.01"), ROUND_HALF_UP)
        assert installment.subsidy == (installment.interest * subsidy).quantize(
            D("0.01"), ROUND_HALF_UP
        )
        assert installment.borrower_interest == installment.interest - installment.subsidy
        assert installment.due_on == add_months(on, installment.n)
        balance = installment.balance_after


@settings(max_examples=300, deadline=None)
@given(methods, real_amounts, terms, rates, subsidies, days)
def test_the_method_formulas_hold_and_the_last_installment_absorbs_rounding(
    method, principal, months, rate, subsidy, on
):
    """For real loans (1,000 yuan and up) each method's formula gives every principal but
    the last, which is the remaining balance."""
    installments = _build(method, principal, months, rate, subsidy, on)
    *regular, last = installments
    if method == RepaymentMethod.INTEREST_ONLY:
        assert all(i.principal == 0 for i in regular)
        assert last.principal == principal
    elif method == RepaymentMethod.EQUAL_PRINCIPAL:
        share = (principal / months).quantize(D("0.01"), ROUND_HALF_UP)
        assert all(i.principal == share for i in regular)
        assert last.principal == principal - share * (months - 1)
    else:
        payment = level_payment(principal, months, rate / 12)
        assert all(i.principal + i.interest == payment for i in regular)
        assert abs(last.principal + last.interest - payment) <= D("0.01") * months
    assert last.principal == (regular[-1].balance_after if regular else principal)


@settings(max_examples=100, deadline=None)
@given(methods, amounts, terms, subsidies, days)
def test_zero_rate_loans_carry_no_interest(method, principal, months, subsidy, on):
    installments = _build(method, principal, months, D("0"), subsidy, on)
    assert all(i.interest == i.subsidy == i.borrower_interest == 0 for i in installments)
    assert sum(i.borrower_due for i in installments) == principal
