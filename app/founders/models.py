"""Founders: one row per person, identified by their resident ID number."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, UTCDateTime, in_list, utcnow
from app.regions.models import Region


class TargetGroup(enum.StrEnum):
    """Who the programme serves (SPEC §5)."""

    LAID_OFF = "laid_off"
    COLLEGE_GRADUATE = "college_graduate"
    MIGRANT_WORKER = "migrant_worker"
    RETURNING_MIGRANT = "returning_migrant"
    POVERTY_REGISTERED = "poverty_registered"
    VETERAN = "veteran"
    DISABLED = "disabled"
    YOUTH_STUDENT = "youth_student"
    OTHER = "other"


class Education(enum.StrEnum):
    """Highest education completed (SPEC §5)."""

    PRIMARY = "primary"
    JUNIOR_HIGH = "junior_high"
    HIGH_SCHOOL = "high_school"
    VOCATIONAL = "vocational"
    COLLEGE = "college"
    BACHELOR = "bachelor"
    MASTER_OR_ABOVE = "master_or_above"


class Sex(enum.StrEnum):
    """Derived from the ID number's 17th digit (odd: male)."""

    MALE = "male"
    FEMALE = "female"


class Founder(Base):
    """A person registered by real name; every later record (training, business, loan,
    follow-up) points back here, so one id links intake to every outcome."""

    __tablename__ = "founder"
    # The last four characters would complete a masked number in the audit log; the
    # lost-to-follow-up flag is derived by the follow-up job, not a change anyone makes.
    # borrower_since follows the loans (set when the bank pays one out), like the flag.
    __audit_exclude__ = ("id_number_last4", "lost_to_follow_up_on", "borrower_since")

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    id_number: Mapped[str] = mapped_column(String(18), unique=True)
    # The last four characters, kept apart so "search by the last 4 of the ID" uses an index.
    id_number_last4: Mapped[str] = mapped_column(String(4), index=True)
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(6))
    phone: Mapped[str] = mapped_column(String(11), index=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    target_group: Mapped[str] = mapped_column(String(24))
    education: Mapped[str | None] = mapped_column(String(20))
    has_reemployment_certificate: Mapped[bool] = mapped_column(Boolean, default=False)
    registered_on: Mapped[date] = mapped_column(Date)
    # Set by the follow-up job when two consecutive follow-ups were missed (SPEC §11);
    # cleared when the founder is reached again. The day the second one was missed.
    lost_to_follow_up_on: Mapped[date | None] = mapped_column(Date)
    # The day the bank paid out the founder's first loan (D33's "has had a loan"), set by
    # `loans.operations.disburse_loan`; `flask loans reconcile` checks it against the loans.
    # Kept here so the register's "has a loan" filter walks an index of borrowers instead
    # of probing the loans of every founder it passes (D52).
    borrower_since: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Who registered whom is in the audit log; a column here would make founder and
    # user_account point at each other (a founder account points at its founder).

    region: Mapped[Region] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint(in_list("target_group", TargetGroup), name="target_group"),
        CheckConstraint(
            f"education IS NULL OR {in_list('education', Education)}", name="education"
        ),
        CheckConstraint(in_list("sex", Sex), name="sex"),
        CheckConstraint("length(id_number) = 18", name="id_number_length"),
        # The list pages filter by region and sort by registration date, newest first.
        Index("ix_founder_region_registered", "region_code", "registered_on", "id"),
        Index("ix_founder_registered_on", "registered_on", "id"),
        Index("ix_founder_name", "name"),
        Index("ix_founder_target_group", "target_group", "region_code"),
        Index("ix_founder_lost", "lost_to_follow_up_on"),
        # "Has a loan", newest first, in the whole scope or one region (D52).
        Index(
            "ix_founder_borrowers",
            "registered_on",
            "id",
            sqlite_where=text("borrower_since IS NOT NULL"),
            postgresql_where=text("borrower_since IS NOT NULL"),
        ),
        Index(
            "ix_founder_region_borrowers",
            "region_code",
            "registered_on",
            "id",
            sqlite_where=text("borrower_since IS NOT NULL"),
            postgresql_where=text("borrower_since IS NOT NULL"),
        ),
    )

    @property
    def id_number_masked(self) -> str:
        """The ID number as lists and founders see it (SPEC §4)."""
        return mask_id_number(self.id_number)

    def __repr__(self) -> str:
        return f"<Founder {self.id}>"


def mask_id_number(id_number: str) -> str:
    """Keep the region prefix and the check character only.

    The birth date and sex are shown beside the mask, and they are the middle of the
    number; showing the serial too (the usual "last four") would let anyone rebuild the
    whole number from a list. What stays hidden — the three serial digits — leaves about
    fifty candidates even with birth date, sex and check character known.
    """
    if len(id_number) != 18:
        return "*" * len(id_number)
    return f"{id_number[:6]}{'*' * 11}{id_number[-1]}"


class ImportMode(enum.StrEnum):
    """What a bulk import does when some rows are bad (SPEC §5)."""

    ALL_OR_NOTHING = "all_or_nothing"
    VALID_ROWS = "valid_rows"


class FounderImport(Base):
    """One bulk import: who sent which file, what was created and the per-row report.

    Kept so the report can be downloaded again from any web process, and as a record.
    """

    __tablename__ = "founder_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    filename: Mapped[str] = mapped_column(String(255))
    mode: Mapped[str] = mapped_column(String(16))
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    created_count: Mapped[int] = mapped_column(Integer, default=0)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    # [{"row": 7, "field": "id_number", "message": "..."}, ...] in row order.
    errors: Mapped[list] = mapped_column(JSON, default=list)

    __table_args__ = (CheckConstraint("mode IN ('all_or_nothing', 'valid_rows')", name="mode"),)
