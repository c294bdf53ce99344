"""Reads of loans for pages, the API and the founder's own view.

Officers (and admins) see the loans of their area by the loan's region; a founder sees
their own. The arrears figures read the servicing columns the daily sweep keeps on each
loan and installment, so they carry the sweep's date and reading never changes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import aliased, selectinload

from app.core.errors import NotFound
from app.core.permissions import scoped
from app.extensions import db
from app.loans.models import (
    SERVICED_STATUSES,
    Bucket,
    EntryKind,
    Guarantor,
    InstallmentStatus,
    Loan,
    LoanInstallment,
    LoanStatus,
    Repayment,
)

ZERO = Decimal("0.00")
SERVICED = [status.value for status in SERVICED_STATUSES]
QUEUE_STATUSES = (LoanStatus.SUBMITTED, LoanStatus.REVIEWED, LoanStatus.APPROVED)


@dataclass(frozen=True)
class LoanFilters:
    """What the list and the API filter by; every field optional."""

    status: str | None = None
    region_code: str | None = None
    bucket: str | None = None
    founder_id: int | None = None

    @classmethod
    def from_form(cls, form: Any) -> LoanFilters:
        """The filter form's cleaned values; a refused box is left out."""
        return cls(
            **{
                name: form[name].data or None
                for name in cls.__dataclass_fields__
                if name in form._fields and not form[name].errors
            }
        )


def scoped_loans(stmt: Select, user: Any) -> Select:
    """`stmt` over loans kept to the user's area (officers, admins) or own loans (founders)."""
    return scoped(stmt, user, region_column=Loan.region_code, founder_column=Loan.founder_id)


def list_loans_stmt(user: Any, filters: LoanFilters = LoanFilters()) -> Select:
    """Loans in scope matching `filters`, newest first."""
    stmt = scoped_loans(select(Loan), user)
    if filters.status:
        stmt = stmt.where(Loan.status == filters.status)
    if filters.region_code:
        stmt = stmt.where(Loan.region_code == filters.region_code)
    if filters.bucket:
        stmt = stmt.where(Loan.bucket == filters.bucket, Loan.status.in_(SERVICED))
    if filters.founder_id:
        stmt = stmt.where(Loan.founder_id == filters.founder_id)
    return stmt.order_by(Loan.id.desc())


def application_queue_stmt(user: Any) -> Select:
    """Applications waiting for an officer: submitted, reviewed, approved; oldest first."""
    return scoped_loans(
        select(Loan).where(Loan.status.in_([s.value for s in QUEUE_STATUSES])), user
    ).order_by(Loan.applied_on, Loan.id)


def count_queue(user: Any) -> dict[str, int]:
    """How many applications wait at each step."""
    rows = db.session.execute(
        scoped_loans(
            select(Loan.status, func.count()).where(
                Loan.status.in_([s.value for s in QUEUE_STATUSES])
            ),
            user,
        ).group_by(Loan.status)
    ).all()
    return dict(rows)


def get_loan_in_scope(user: Any, loan_id: int) -> Loan:
    """The loan, or 404 when it is absent or outside the user's scope."""
    loan = db.session.scalar(
        scoped_loans(
            select(Loan)
            .where(Loan.id == loan_id)
            .options(selectinload(Loan.installments), selectinload(Loan.guarantors)),
            user,
        )
    )
    if loan is None:
        raise NotFound(_("No such loan."))
    return loan


def list_repayments(loan_id: int) -> list[Repayment]:
    """The loan's entries, payments and reversals, in date order."""
    return list(
        db.session.scalars(
            select(Repayment)
            .where(Repayment.loan_id == loan_id)
            .order_by(Repayment.paid_on, Repayment.id)
        )
    )


def reversed_payment_ids(loan_id: int) -> set[int]:
    """Ids of the loan's payments that a reversal undoes."""
    return set(
        db.session.scalars(
            select(Repayment.reverses_id).where(
                Repayment.loan_id == loan_id, Repayment.kind == EntryKind.REVERSAL
            )
        )
    )


def get_repayment_in_scope(user: Any, repayment_id: int) -> Repayment:
    """A repayment entry of a loan in scope, or 404."""
    entry = db.session.scalar(
        scoped_loans(
            select(Repayment).join(Loan, Loan.id == Repayment.loan_id),
            user,
        ).where(Repayment.id == repayment_id)
    )
    if entry is None:
        raise NotFound(_("No such repayment."))
    return entry


def list_loans_of_founder(founder_id: int) -> list[Loan]:
    """A founder's loans, newest first (their own page and the officer's side panel)."""
    return list(
        db.session.scalars(
            select(Loan).where(Loan.founder_id == founder_id).order_by(Loan.id.desc())
        )
    )


def guarantors_of(loan_ids: list[int]) -> dict[int, list[Guarantor]]:
    """Guarantors per loan, one query (the arrears page shows their contacts)."""
    found: dict[int, list[Guarantor]] = {loan_id: [] for loan_id in loan_ids}
    if not loan_ids:
        return found
    for guarantor in db.session.scalars(
        select(Guarantor).where(Guarantor.loan_id.in_(loan_ids)).order_by(Guarantor.id)
    ):
        found[guarantor.loan_id].append(guarantor)
    return found


def _left_on_installment() -> Any:
    """SQL for what the borrower still owes on an installment."""
    interest_owed = case(
        (LoanInstallment.subsidy_lost.is_(True), LoanInstallment.interest),
        else_=LoanInstallment.borrower_interest,
    )
    return (
        LoanInstallment.principal
        + interest_owed
        - LoanInstallment.paid_principal
        - LoanInstallment.paid_interest
    )


def overdue_amounts_stmt() -> Any:
    """Per loan: overdue installments and what is owed on them (a subquery)."""
    return (
        select(
            LoanInstallment.loan_id.label("loan_id"),
            func.count().label("overdue_installments"),
            func.sum(_left_on_installment()).label("overdue_fen"),
        )
        .where(LoanInstallment.status == InstallmentStatus.OVERDUE)
        .group_by(LoanInstallment.loan_id)
        .subquery()
    )


@dataclass(frozen=True)
class ArrearsRow:
    """A loan in arrears, as the arrears page shows it."""

    loan: Loan
    overdue_installments: int
    overdue_amount: Decimal


def list_arrears_stmt(user: Any, bucket: str | None = None) -> Select:
    """Active and defaulted loans past due, the most days past due first."""
    overdue = overdue_amounts_stmt()
    stmt = scoped_loans(
        select(Loan, overdue.c.overdue_installments, overdue.c.overdue_fen)
        .join(overdue, overdue.c.loan_id == Loan.id, isouter=True)
        .where(Loan.status.in_(SERVICED), Loan.days_past_due > 0),
        user,
    )
    if bucket:
        stmt = stmt.where(Loan.bucket == bucket)
    return stmt.order_by(Loan.days_past_due.desc(), Loan.id)


def arrears_row(row: Any) -> ArrearsRow:
    """One result row of `list_arrears_stmt` as an ArrearsRow (overdue_fen is integer fen)."""
    loan, count, fen = row
    return ArrearsRow(
        loan=loan,
        overdue_installments=int(count or 0),
        overdue_amount=(Decimal(int(fen or 0)) / 100).quantize(Decimal("0.01")),
    )


@dataclass(frozen=True)
class Portfolio:
    """Loans by bucket and PAR30 (SPEC §11) for the arrears page."""

    by_bucket: dict[str, tuple[int, Decimal]]
    outstanding: Decimal
    at_risk_30: Decimal
    swept_on: Any

    @property
    def par30(self) -> Decimal | None:
        """Outstanding principal of loans > 30 days past due / all serviced outstanding."""
        if self.outstanding <= 0:
            return None
        return (self.at_risk_30 / self.outstanding).quantize(
            Decimal("0.0001"), rounding=ROUND_HALF_UP
        )


def portfolio(user: Any) -> Portfolio:
    """Counts and outstanding principal per bucket, and PAR30, over serviced loans in
    scope: one GROUP BY."""
    rows = db.session.execute(
        scoped_loans(
            select(
                Loan.bucket,
                func.count(),
                func.sum(Loan.outstanding_principal),
                func.sum(case((Loan.days_past_due > 30, Loan.outstanding_principal), else_=None)),
                func.max(Loan.swept_on),
            ).where(Loan.status.in_(SERVICED)),
            user,
        ).group_by(Loan.bucket)
    ).all()
    by_bucket = {bucket.value: (0, ZERO) for bucket in Bucket}
    outstanding = at_risk = ZERO
    swept_on = None
    for bucket, count, total, risky, last_sweep in rows:
        by_bucket[bucket] = (count, total or ZERO)
        outstanding += total or ZERO
        at_risk += risky or ZERO
        if last_sweep is not None and (swept_on is None or last_sweep > swept_on):
            swept_on = last_sweep
    return Portfolio(by_bucket, outstanding, at_risk, swept_on)


def next_installment(loan: Loan) -> LoanInstallment | None:
    """The oldest installment not yet paid: what the borrower pays next."""
    return db.session.scalar(
        select(LoanInstallment)
        .where(LoanInstallment.loan_id == loan.id, LoanInstallment.paid_off_on.is_(None))
        .order_by(LoanInstallment.n)
        .limit(1)
    )


def reversal_alias() -> Any:
    """An alias of repayment for joining a payment to its reversal."""
    return aliased(Repayment)
