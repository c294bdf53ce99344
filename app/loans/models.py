"""Guaranteed microloans: policies, loans, guarantors, schedules, repayments, the fund.

What is stored and why (D33 in docs/decisions.md):

- A loan keeps the terms it was granted on (rate, subsidy share, default days, guarantee
  ratio, the subsidy-on-time flag): a policy change applies to new applications, never to
  a signed contract, and the daily sweep reads the terms from the loan row in one query.
- Installments keep their scheduled amounts and, beside them, what the replay of the
  loan's repayments made of them (paid principal and interest, the day they were fully
  paid, whether the subsidy was lost, their status). `loans.servicing.replay_loan` is the
  only writer of these columns; the daily sweep only moves due installments to overdue.
- Repayment entries are never deleted: a reversal is a second entry (negative amount)
  pointing at the payment it undoes. Allocations are derived from the live payments and
  rebuilt by the replay, so they always add up to the net postings.
- The loan row carries its servicing state (outstanding principal, days past due, bucket,
  the date of the last sweep), so lists, the arrears page and PAR30 read indexed columns.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, Money, Rate, UTCDateTime, in_list, utcnow
from app.founders.models import Founder
from app.regions.models import Region


class LoanStatus(enum.StrEnum):
    """Where a loan stands in its lifecycle (SPEC §9); moves are in loans.lifecycle."""

    SUBMITTED = "submitted"
    REVIEWED = "reviewed"
    APPROVED = "approved"
    REJECTED = "rejected"
    ACTIVE = "active"
    CLOSED = "closed"
    DEFAULTED = "defaulted"
    COMPENSATED = "compensated"
    RECOVERED = "recovered"
    WRITTEN_OFF = "written_off"


# A founder holds at most one loan in these states (SPEC §9 "one live loan").
LIVE_STATUSES = (
    LoanStatus.SUBMITTED,
    LoanStatus.REVIEWED,
    LoanStatus.APPROVED,
    LoanStatus.ACTIVE,
    LoanStatus.DEFAULTED,
    LoanStatus.COMPENSATED,
)
# Loans the bank still carries: they count in the guaranteed outstanding and in PAR30.
SERVICED_STATUSES = (LoanStatus.ACTIVE, LoanStatus.DEFAULTED)


class InstallmentStatus(enum.StrEnum):
    """SPEC §9: pending (not due, nothing paid), partial, paid, overdue."""

    PENDING = "pending"
    PARTIAL = "partial"
    PAID = "paid"
    OVERDUE = "overdue"


class Bucket(enum.StrEnum):
    """Days-past-due buckets of the arrears page (SPEC §9)."""

    CURRENT = "current"
    DAYS_1_30 = "1-30"
    DAYS_31_60 = "31-60"
    DAYS_61_90 = "61-90"
    DAYS_90_PLUS = "90+"


class EntryKind(enum.StrEnum):
    """A repayment entry: a payment received, or the reversal of one."""

    PAYMENT = "payment"
    REVERSAL = "reversal"


class EntrySource(enum.StrEnum):
    """How a payment reached the platform."""

    OFFICER = "officer"
    API = "api"
    IMPORT = "import"


class FundEntryKind(enum.StrEnum):
    """Movements of a guarantee fund's balance."""

    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    COMPENSATION = "compensation"
    RECOVERY = "recovery"


class RecoverySource(enum.StrEnum):
    """Who paid a recovery back to the fund."""

    BORROWER = "borrower"
    GUARANTOR = "guarantor"


class LoanPolicy(Base):
    """A region's loan policy; a city without a row uses its province's (SPEC §9)."""

    __tablename__ = "loan_policy"

    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), primary_key=True)
    max_amount: Mapped[Decimal] = mapped_column(Money)
    max_term_months: Mapped[int] = mapped_column(Integer)
    annual_rate: Mapped[Decimal] = mapped_column(Rate)
    subsidy_rate: Mapped[Decimal] = mapped_column(Rate)
    require_training: Mapped[bool] = mapped_column(Boolean)
    default_days: Mapped[int] = mapped_column(Integer)
    guarantee_ratio: Mapped[Decimal] = mapped_column(Rate)
    leverage: Mapped[Decimal] = mapped_column(Rate)
    suspend_compensation_rate: Mapped[Decimal] = mapped_column(Rate)
    subsidy_requires_on_time: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )

    region: Mapped[Region] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint("max_amount > 0", name="max_amount"),
        CheckConstraint("max_term_months BETWEEN 1 AND 360", name="max_term_months"),
        CheckConstraint("annual_rate >= 0 AND annual_rate < 1000000", name="annual_rate"),
        CheckConstraint("subsidy_rate BETWEEN 0 AND 1000000", name="subsidy_rate"),
        CheckConstraint("default_days BETWEEN 1 AND 3650", name="default_days"),
        CheckConstraint("guarantee_ratio BETWEEN 0 AND 1000000", name="guarantee_ratio"),
        CheckConstraint("leverage > 0", name="leverage"),
        CheckConstraint(
            "suspend_compensation_rate BETWEEN 0 AND 1000000", name="suspend_compensation_rate"
        ),
    )


class Loan(Base):
    """A founder's guaranteed microloan, from application to its end."""

    __tablename__ = "loan"

    id: Mapped[int] = mapped_column(primary_key=True)
    founder_id: Mapped[int] = mapped_column(ForeignKey("founder.id"))
    business_id: Mapped[int | None] = mapped_column(ForeignKey("business.id"), index=True)
    # The founder's region when they applied: the scope of officers and of the figures.
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    amount: Mapped[Decimal] = mapped_column(Money)
    term_months: Mapped[int] = mapped_column(Integer)
    repayment_method: Mapped[str] = mapped_column(String(20))
    purpose: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default=LoanStatus.SUBMITTED)

    # Terms of the contract, copied from the policy when the application is made.
    annual_rate: Mapped[Decimal] = mapped_column(Rate)
    subsidy_rate: Mapped[Decimal] = mapped_column(Rate)
    subsidy_requires_on_time: Mapped[bool] = mapped_column(Boolean)
    default_days: Mapped[int] = mapped_column(Integer)
    guarantee_ratio: Mapped[Decimal] = mapped_column(Rate)

    applied_on: Mapped[date] = mapped_column(Date)
    applied_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    reviewed_on: Mapped[date | None] = mapped_column(Date)
    reviewed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    review_note: Mapped[str] = mapped_column(Text, default="")
    approved_on: Mapped[date | None] = mapped_column(Date)
    approved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    approval_note: Mapped[str] = mapped_column(Text, default="")
    rejected_on: Mapped[date | None] = mapped_column(Date)
    rejection_reason: Mapped[str] = mapped_column(Text, default="")

    disbursed_on: Mapped[date | None] = mapped_column(Date)
    bank_reference: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The region whose guarantee fund backs the loan: its city's, else its province's.
    fund_region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"))

    # Servicing state (see the module docstring).
    outstanding_principal: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    days_past_due: Mapped[int] = mapped_column(Integer, default=0)
    bucket: Mapped[str] = mapped_column(String(8), default=Bucket.CURRENT)
    swept_on: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    defaulted_on: Mapped[date | None] = mapped_column(Date)
    compensated_on: Mapped[date | None] = mapped_column(Date)
    compensated_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    recovered_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    ended_on: Mapped[date | None] = mapped_column(Date)  # recovered or written off
    write_off_reason: Mapped[str] = mapped_column(Text, default="")

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    founder: Mapped[Founder] = relationship(lazy="joined")
    region: Mapped[Region] = relationship(lazy="joined", foreign_keys=[region_code])
    installments: Mapped[list[LoanInstallment]] = relationship(
        back_populates="loan", order_by="LoanInstallment.n"
    )
    guarantors: Mapped[list[Guarantor]] = relationship(
        back_populates="loan", order_by="Guarantor.id"
    )

    __table_args__ = (
        CheckConstraint(in_list("status", LoanStatus), name="status"),
        CheckConstraint(in_list("bucket", Bucket), name="bucket"),
        CheckConstraint(
            "repayment_method IN ('interest_only', 'equal_principal', 'equal_installment')",
            name="repayment_method",
        ),
        CheckConstraint("amount > 0", name="amount"),
        CheckConstraint("term_months BETWEEN 1 AND 360", name="term_months"),
        CheckConstraint("outstanding_principal >= 0", name="outstanding_principal"),
        CheckConstraint("outstanding_principal <= amount", name="outstanding_within_amount"),
        CheckConstraint("days_past_due >= 0", name="days_past_due"),
        CheckConstraint("compensated_amount >= 0", name="compensated_amount"),
        CheckConstraint(
            "recovered_amount >= 0 AND recovered_amount <= compensated_amount",
            name="recovered_within_compensated",
        ),
        CheckConstraint(
            "reviewed_by_id IS NULL OR approved_by_id IS NULL OR reviewed_by_id <> approved_by_id",
            name="four_eyes",
        ),
        # One live loan per founder (SPEC §9), held by the database against races too.
        Index(
            "uq_loan_one_live_per_founder",
            "founder_id",
            unique=True,
            sqlite_where=text(
                "status IN ('submitted', 'reviewed', 'approved', 'active', 'defaulted',"
                " 'compensated')"
            ),
            postgresql_where=text(
                "status IN ('submitted', 'reviewed', 'approved', 'active', 'defaulted',"
                " 'compensated')"
            ),
        ),
        Index("ix_loan_founder", "founder_id", "id"),
        # The queue and lists filter by region and status, newest first.
        Index("ix_loan_region_status", "region_code", "status", "id"),
        Index("ix_loan_status_bucket", "status", "bucket"),
        Index("ix_loan_fund_region_status", "fund_region_code", "status"),
    )

    def __repr__(self) -> str:
        return f"<Loan {self.id} {self.status}>"


class Guarantor(Base):
    """A counter-guarantor of a loan (SPEC §9), identified by a checked ID number."""

    __tablename__ = "loan_guarantor"

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loan.id"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    id_number: Mapped[str] = mapped_column(String(18))
    relationship_to_founder: Mapped[str] = mapped_column("relationship", String(50))
    employer: Mapped[str] = mapped_column(String(100), default="")
    phone: Mapped[str] = mapped_column(String(11), default="")

    loan: Mapped[Loan] = relationship(back_populates="guarantors")

    __table_args__ = (
        CheckConstraint("length(id_number) = 18", name="id_number_length"),
        UniqueConstraint("loan_id", "id_number", name="uq_loan_guarantor_loan_id_id_number"),
    )


class LoanInstallment(Base):
    """One installment of a disbursed loan's schedule and what has been paid on it."""

    __tablename__ = "loan_installment"

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loan.id"))
    n: Mapped[int] = mapped_column(Integer)
    due_on: Mapped[date] = mapped_column(Date)
    principal: Mapped[Decimal] = mapped_column(Money)
    interest: Mapped[Decimal] = mapped_column(Money)
    subsidy: Mapped[Decimal] = mapped_column(Money)
    borrower_interest: Mapped[Decimal] = mapped_column(Money)
    # Written by the replay of the loan's payments (and `overdue`/`subsidy_lost` by the sweep).
    paid_principal: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    paid_interest: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    paid_off_on: Mapped[date | None] = mapped_column(Date)
    subsidy_lost: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(8), default=InstallmentStatus.PENDING)

    loan: Mapped[Loan] = relationship(back_populates="installments")

    __table_args__ = (
        UniqueConstraint("loan_id", "n", name="uq_loan_installment_loan_id_n"),
        CheckConstraint(in_list("status", InstallmentStatus), name="status"),
        CheckConstraint("principal >= 0 AND interest >= 0", name="amounts"),
        CheckConstraint("subsidy + borrower_interest = interest", name="interest_split"),
        CheckConstraint("paid_principal BETWEEN 0 AND principal", name="paid_principal"),
        CheckConstraint("paid_interest BETWEEN 0 AND interest", name="paid_interest"),
        # The sweep and the reminders look for unpaid installments by due date.
        Index("ix_loan_installment_due", "due_on", "paid_off_on"),
    )

    @property
    def interest_owed(self) -> Decimal:
        """The borrower's interest: the full interest once the subsidy is lost."""
        return self.interest if self.subsidy_lost else self.borrower_interest

    @property
    def amount_owed(self) -> Decimal:
        """Principal and the borrower's interest."""
        return self.principal + self.interest_owed

    @property
    def amount_paid(self) -> Decimal:
        """What the borrower has paid on it."""
        return self.paid_principal + self.paid_interest

    @property
    def amount_left(self) -> Decimal:
        """What the borrower still owes on it."""
        return self.amount_owed - self.amount_paid


class Repayment(Base):
    """A payment received from the borrower's bank, or the reversal of one."""

    __tablename__ = "repayment"

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loan.id"))
    kind: Mapped[str] = mapped_column(String(10), default=EntryKind.PAYMENT)
    paid_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money)
    # The bank's transaction id: a payment's idempotency key within its loan.
    reference: Mapped[str | None] = mapped_column(String(64))
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("repayment.id"), unique=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(8), default=EntrySource.OFFICER)
    recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    loan: Mapped[Loan] = relationship()
    reversal: Mapped[Repayment | None] = relationship(
        foreign_keys=[reverses_id], remote_side=[id], uselist=False, viewonly=True
    )

    __table_args__ = (
        CheckConstraint(in_list("kind", EntryKind), name="kind"),
        CheckConstraint(in_list("source", EntrySource), name="source"),
        CheckConstraint(
            "(kind = 'payment' AND amount > 0 AND reference IS NOT NULL AND reverses_id IS NULL)"
            " OR (kind = 'reversal' AND amount < 0 AND reverses_id IS NOT NULL)",
            name="entry_shape",
        ),
        # Idempotency of payments (SPEC §9): one payment per (loan, bank reference).
        UniqueConstraint("loan_id", "reference", name="uq_repayment_loan_id_reference"),
        Index("ix_repayment_loan_paid_on", "loan_id", "paid_on", "id"),
    )


class Allocation(Base):
    """The part of a payment that went to one installment (rebuilt by each replay)."""

    __tablename__ = "repayment_allocation"

    id: Mapped[int] = mapped_column(primary_key=True)
    repayment_id: Mapped[int] = mapped_column(ForeignKey("repayment.id"), index=True)
    installment_id: Mapped[int] = mapped_column(ForeignKey("loan_installment.id"), index=True)
    principal: Mapped[Decimal] = mapped_column(Money)
    interest: Mapped[Decimal] = mapped_column(Money)

    __table_args__ = (
        CheckConstraint("principal >= 0 AND interest >= 0", name="amounts"),
        CheckConstraint("principal + interest > 0", name="not_empty"),
    )


class FundEntry(Base):
    """A movement of a region's guarantee fund: + raises the balance, − lowers it."""

    __tablename__ = "fund_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    kind: Mapped[str] = mapped_column(String(12))
    entry_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money)
    reference: Mapped[str] = mapped_column(String(64), default="")
    loan_id: Mapped[int | None] = mapped_column(ForeignKey("loan.id"), index=True)
    recovery_source: Mapped[str | None] = mapped_column(String(10))
    guarantor_id: Mapped[int | None] = mapped_column(ForeignKey("loan_guarantor.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint(in_list("kind", FundEntryKind), name="kind"),
        CheckConstraint(
            "(kind IN ('deposit', 'recovery') AND amount > 0)"
            " OR (kind IN ('withdrawal', 'compensation') AND amount < 0)",
            name="sign",
        ),
        CheckConstraint(
            "(kind IN ('compensation', 'recovery')) = (loan_id IS NOT NULL)", name="loan"
        ),
        CheckConstraint(
            "recovery_source IS NULL OR recovery_source IN ('borrower', 'guarantor')",
            name="recovery_source",
        ),
        Index("ix_fund_entry_region_on", "region_code", "entry_on", "id"),
        # A deposit or withdrawal is recorded once per reference: a double submit is 409.
        Index(
            "uq_fund_entry_region_reference",
            "region_code",
            "reference",
            unique=True,
            sqlite_where=text("kind IN ('deposit', 'withdrawal')"),
            postgresql_where=text("kind IN ('deposit', 'withdrawal')"),
        ),
    )
