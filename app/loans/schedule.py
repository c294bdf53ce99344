"""Repayment schedules (SPEC §9), as pure functions: no database, no clock, no Flask.

For principal P over n months at monthly rate r = annual_rate / 12, every amount is rounded
half-up to the fen at each step, exactly as SPEC §9 writes the formulas:

- installment k is due on disbursed_on + k calendar months, clamped to the month's end
  (counted from the disbursement each time, so 31 January gives 28/29 February, then
  31 March);
- interest_k = round(outstanding principal before k × r);
- `interest_only`: principal 0 until installment n, which carries all of P;
- `equal_principal`: principal round(P / n) for k < n, the last takes the remainder;
- `equal_installment`: payment A = round(P·r / (1 − (1 + r)^−n)) (P / n when r = 0);
  principal_k = A − interest_k for k < n, the last takes the remaining balance;
- subsidy_k = round(interest_k × subsidy_rate); borrower interest = interest − subsidy.

One rule SPEC leaves implicit: an installment's principal never exceeds the principal
still outstanding. It only matters for toy loans of a few fen over many months (round(P/n)
of 0.10 yuan over 20 months is 0.01, and 19 of them would overshoot); for every real
loan the formulas above hold unchanged.

Only amounts are rounded, each once, where SPEC rounds them. Interest is computed as
balance × annual_rate / 12 (the exact product first), so a half fen is never lost to a
monthly rate cut short; the level payment uses r at 40 significant digits.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext

from app.core.dates import add_months

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MONTHS_PER_YEAR = 12
MAX_TERM_MONTHS = 360


class RepaymentMethod(enum.StrEnum):
    """How principal is paid back (SPEC §9)."""

    INTEREST_ONLY = "interest_only"
    EQUAL_PRINCIPAL = "equal_principal"
    EQUAL_INSTALLMENT = "equal_installment"


@dataclass(frozen=True)
class Installment:
    """One line of a schedule. `balance_after` is the principal outstanding once it is paid."""

    n: int
    due_on: date
    principal: Decimal
    interest: Decimal
    subsidy: Decimal
    borrower_interest: Decimal
    balance_after: Decimal

    @property
    def borrower_due(self) -> Decimal:
        """What the borrower owes for this installment: principal and their interest."""
        return self.principal + self.borrower_interest


def to_fen(amount: Decimal) -> Decimal:
    """Round half-up to 0.01, the one rounding of every amount."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def monthly_rate(annual_rate: Decimal) -> Decimal:
    """r = annual_rate / 12 at 40 significant digits, for the level payment's power."""
    with localcontext() as context:
        context.prec = 40
        return annual_rate / MONTHS_PER_YEAR


def monthly_interest(balance: Decimal, annual_rate: Decimal) -> Decimal:
    """round(balance × r): computed as balance × annual_rate / 12, the product first.

    balance × annual_rate is exact, and dividing by 12 either is exact or cannot land on a
    half fen, so a half fen (21,000 × 3.85 % / 12 = 67.375) rounds up as it must; r on its
    own (0.0032083…) would already be cut short and round the half fen down.
    """
    return to_fen(balance * annual_rate / MONTHS_PER_YEAR)


def level_payment(principal: Decimal, term_months: int, rate: Decimal) -> Decimal:
    """A = round(P·r / (1 − (1 + r)^−n)); with r = 0 the limit P / n, rounded."""
    if rate == 0:
        return to_fen(principal / term_months)
    with localcontext() as context:
        context.prec = 40  # (1 + r)^−n loses digits when r is tiny and n large
        factor = 1 - (1 + rate) ** -term_months
        return to_fen(principal * rate / factor)


def split_interest(interest: Decimal, subsidy_rate: Decimal) -> tuple[Decimal, Decimal]:
    """The public subsidy and the borrower's share of one installment's interest."""
    subsidy = to_fen(interest * subsidy_rate)
    return subsidy, interest - subsidy


def _check_terms(
    principal: Decimal, term_months: int, annual_rate: Decimal, subsidy_rate: Decimal
) -> None:
    if not isinstance(principal, Decimal) or principal <= 0 or principal != to_fen(principal):
        raise ValueError("principal must be a positive Decimal with at most 2 decimals")
    if isinstance(term_months, bool) or not 1 <= term_months <= MAX_TERM_MONTHS:
        raise ValueError(f"term_months must be 1..{MAX_TERM_MONTHS}")
    if not isinstance(annual_rate, Decimal) or annual_rate < 0 or annual_rate >= 1:
        raise ValueError("annual_rate must be a Decimal in [0, 1)")
    if not isinstance(subsidy_rate, Decimal) or not 0 <= subsidy_rate <= 1:
        raise ValueError("subsidy_rate must be a Decimal in [0, 1]")


def _scheduled_principal(
    method: RepaymentMethod,
    k: int,
    n: int,
    *,
    principal: Decimal,
    interest: Decimal,
    payment: Decimal,
) -> Decimal:
    """Installment k's principal by the method's formula, before the last-installment rule."""
    if method is RepaymentMethod.INTEREST_ONLY:
        return principal if k == n else ZERO
    if method is RepaymentMethod.EQUAL_PRINCIPAL:
        return to_fen(principal / n)
    return payment - interest


def build_schedule(
    *,
    principal: Decimal,
    term_months: int,
    annual_rate: Decimal,
    subsidy_rate: Decimal,
    method: RepaymentMethod | str,
    disbursed_on: date,
) -> list[Installment]:
    """The whole schedule of a loan disbursed on `disbursed_on` (see the module docstring)."""
    method = RepaymentMethod(method)
    _check_terms(principal, term_months, annual_rate, subsidy_rate)
    principal = to_fen(principal)  # "0.3" and "0.30" are the same loan; amounts carry fen
    rate = monthly_rate(annual_rate)
    payment = level_payment(principal, term_months, rate)
    balance = principal
    installments: list[Installment] = []
    for k in range(1, term_months + 1):
        interest = monthly_interest(balance, annual_rate)
        if k == term_months:
            paid = balance  # the last installment takes whatever remains
        else:
            formula = _scheduled_principal(
                method, k, term_months, principal=principal, interest=interest, payment=payment
            )
            paid = min(max(formula, ZERO), balance)
        balance -= paid
        subsidy, borrower_interest = split_interest(interest, subsidy_rate)
        installments.append(
            Installment(
                n=k,
                due_on=add_months(disbursed_on, k),
                principal=paid,
                interest=interest,
                subsidy=subsidy,
                borrower_interest=borrower_interest,
                balance_after=balance,
            )
        )
    return installments
