"""The integrity file: append-only events per founder, the points table, corrections.

Events are never edited or deleted (SPEC §10): a wrong event is answered by a `correction`
event, which a second officer must approve before it counts. An event's points are copied
from the points table when it is made, so adjusting the table changes future events only.
Events that must happen once (an installment's timeliness, a loan's default, ...) carry a
`once_key`, unique in the table: the daily sweep and the repayment replay may try to make
them again, and the database keeps the first.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, UTCDateTime, in_list, utcnow
from app.founders.models import Founder


class EventKind(enum.StrEnum):
    """The kinds of SPEC §10."""

    INTEGRITY_EDUCATION = "integrity_education"
    PAID_ON_TIME = "paid_on_time"
    PAID_LATE = "paid_late"
    LATE_OVER_30 = "late_over_30"
    LOAN_CLOSED_CLEAN = "loan_closed_clean"
    DEFAULTED = "defaulted"
    COMPENSATED = "compensated"
    RECOVERED_IN_FULL = "recovered_in_full"
    FUND_MISUSE = "fund_misuse"
    FALSE_INFORMATION = "false_information"
    CORRECTION = "correction"


class EventSource(enum.StrEnum):
    """What made the event (SPEC §10)."""

    LOAN = "loan"
    REPAYMENT = "repayment"
    FOLLOWUP = "followup"
    OFFICER = "officer"


# SPEC §10 default points; the admin may adjust them (IntegrityPoints rows override).
DEFAULT_POINTS: dict[EventKind, int] = {
    EventKind.INTEGRITY_EDUCATION: 5,
    EventKind.PAID_ON_TIME: 1,
    EventKind.PAID_LATE: -5,
    EventKind.LATE_OVER_30: -15,
    EventKind.LOAN_CLOSED_CLEAN: 10,
    EventKind.DEFAULTED: -40,
    EventKind.COMPENSATED: -20,
    EventKind.RECOVERED_IN_FULL: 20,
    EventKind.FUND_MISUSE: -30,
    EventKind.FALSE_INFORMATION: -50,
}
# Kinds an officer records by hand; corrections go through approval instead.
MANUAL_KINDS = (
    EventKind.INTEGRITY_EDUCATION,
    EventKind.FALSE_INFORMATION,
    EventKind.FUND_MISUSE,
)


class CorrectionState(enum.StrEnum):
    """A proposed correction waits for a second officer."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class IntegrityEvent(Base):
    """One event of a founder's integrity file."""

    __tablename__ = "integrity_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    founder_id: Mapped[int] = mapped_column(ForeignKey("founder.id"))
    kind: Mapped[str] = mapped_column(String(24))
    points: Mapped[int] = mapped_column(Integer)
    occurred_on: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(10))
    note: Mapped[str] = mapped_column(Text, default="")
    loan_id: Mapped[int | None] = mapped_column(ForeignKey("loan.id"), index=True)
    installment_id: Mapped[int | None] = mapped_column(ForeignKey("loan_installment.id"))
    once_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    approved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    founder: Mapped[Founder] = relationship()

    __table_args__ = (
        CheckConstraint(in_list("kind", EventKind), name="kind"),
        CheckConstraint(in_list("source", EventSource), name="source"),
        CheckConstraint("points BETWEEN -150 AND 150", name="points"),
        Index("ix_integrity_event_founder", "founder_id", "occurred_on", "id"),
    )


class IntegrityPoints(Base):
    """The admin's points for one event kind, overriding SPEC's default."""

    __tablename__ = "integrity_points"

    kind: Mapped[str] = mapped_column(String(24), primary_key=True)
    points: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )

    __table_args__ = (
        CheckConstraint(in_list("kind", EventKind), name="kind"),
        CheckConstraint("kind <> 'correction'", name="not_correction"),
        CheckConstraint("points BETWEEN -150 AND 150", name="points"),
    )


class IntegrityCorrection(Base):
    """A correction proposed by one officer, counted once a second officer approves it."""

    __tablename__ = "integrity_correction"

    id: Mapped[int] = mapped_column(primary_key=True)
    founder_id: Mapped[int] = mapped_column(ForeignKey("founder.id"), index=True)
    points: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    # The event this answers, when it answers one.
    corrects_event_id: Mapped[int | None] = mapped_column(ForeignKey("integrity_event.id"))
    state: Mapped[str] = mapped_column(String(10), default=CorrectionState.PENDING)
    proposed_on: Mapped[date] = mapped_column(Date)
    proposed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    decision_note: Mapped[str] = mapped_column(Text, default="")
    event_id: Mapped[int | None] = mapped_column(ForeignKey("integrity_event.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    founder: Mapped[Founder] = relationship()

    __table_args__ = (
        CheckConstraint(in_list("state", CorrectionState), name="state"),
        CheckConstraint("points <> 0 AND points BETWEEN -150 AND 150", name="points"),
        CheckConstraint(
            "decided_by_id IS NULL OR proposed_by_id IS NULL OR decided_by_id <> proposed_by_id",
            name="four_eyes",
        ),
        Index("ix_integrity_correction_state", "state", "created_at"),
        # One correction of an event waits for a second officer at a time.
        Index(
            "uq_integrity_correction_pending_event",
            "corrects_event_id",
            unique=True,
            sqlite_where=text("state = 'pending' AND corrects_event_id IS NOT NULL"),
            postgresql_where=text("state = 'pending' AND corrects_event_id IS NOT NULL"),
        ),
    )
