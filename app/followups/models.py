"""Follow-up tasks, what was found at them, and the plan they are made from.

A task is identified by (subject, kind, sequence) — the subject being the founder,
business, loan or residency whose anchor date the task is counted from — so planning can
run any number of times and make each task once (D38). The outcome of a completed task is
kept on the task itself (what the follow-up found); the same findings also become
observations on the business (`business_observation`, source `followup`) and on the
founder (`founder_employment`), which is where the KPIs read them.
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
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, Money, UTCDateTime, in_list, utcnow
from app.founders.models import Founder
from app.regions.models import Region


class TaskKind(enum.StrEnum):
    """The kinds of follow-up in SPEC §11's plan."""

    INTAKE_CONTACT = "intake_contact"
    INTAKE_SERVICES = "intake_services"
    POST_TRAINING = "post_training"
    BUSINESS = "business"
    LOAN_USAGE = "loan_usage"
    INCUBATION_EXIT = "incubation_exit"


class SubjectType(enum.StrEnum):
    """What a task is about; its anchor date is read from this record."""

    FOUNDER = "founder"
    BUSINESS = "business"
    LOAN = "loan"
    RESIDENCY = "residency"


class TaskStatus(enum.StrEnum):
    """Open until done; `missed` 30 days after due; `cancelled` when the subject ended."""

    OPEN = "open"
    DONE = "done"
    MISSED = "missed"
    CANCELLED = "cancelled"


class Channel(enum.StrEnum):
    """How the founder was reached (or tried)."""

    PHONE = "phone"
    VISIT = "visit"
    SELF_REPORT = "self_report"
    OTHER = "other"


class Employment(enum.StrEnum):
    """The founder's own work situation, as a follow-up or the founder reports it."""

    SELF_EMPLOYED = "self_employed"
    EMPLOYED = "employed"
    UNEMPLOYED = "unemployed"


class MisuseState(enum.StrEnum):
    """A "funds not used as declared" finding waits for an officer's confirmation."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"


class ServiceItem(enum.StrEnum):
    """The intake service package: one career guidance, three leads, one training offer."""

    CAREER_GUIDANCE = "career_guidance"
    LEAD = "lead"
    TRAINING_OFFER = "training_offer"


class PlanUnit(enum.StrEnum):
    """How a plan's offsets count from the anchor date."""

    DAYS = "days"
    WORKING_DAYS = "working_days"
    MONTHS = "months"


# Which subject each kind of task is about.
SUBJECT_OF_KIND: dict[TaskKind, SubjectType] = {
    TaskKind.INTAKE_CONTACT: SubjectType.FOUNDER,
    TaskKind.INTAKE_SERVICES: SubjectType.FOUNDER,
    TaskKind.POST_TRAINING: SubjectType.FOUNDER,
    TaskKind.BUSINESS: SubjectType.BUSINESS,
    TaskKind.LOAN_USAGE: SubjectType.LOAN,
    TaskKind.INCUBATION_EXIT: SubjectType.RESIDENCY,
}


class FollowupTask(Base):
    """One planned contact: due on a day, done, missed or cancelled, and what it found."""

    __tablename__ = "followup_task"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    subject_type: Mapped[str] = mapped_column(String(10))
    subject_id: Mapped[int] = mapped_column(Integer)
    founder_id: Mapped[int] = mapped_column(ForeignKey("founder.id"))
    sequence: Mapped[int] = mapped_column(Integer)
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default=TaskStatus.OPEN)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    # The day the status last left `open`: done_on, due_on + 31 (missed), or the day the
    # subject ended (cancelled). Derived from data, so reruns write the same value.
    closed_on: Mapped[date | None] = mapped_column(Date)

    # What the follow-up found (SPEC §11 "Completing a task records ...").
    done_on: Mapped[date | None] = mapped_column(Date)
    channel: Mapped[str | None] = mapped_column(String(12))
    business_status: Mapped[str | None] = mapped_column(String(10))
    employees: Mapped[int | None] = mapped_column(Integer)
    monthly_revenue: Mapped[Decimal | None] = mapped_column(Money)
    employment: Mapped[str | None] = mapped_column(String(14))
    fund_usage_ok: Mapped[bool | None] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(Text, default="")
    completed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    observation_id: Mapped[int | None] = mapped_column(
        ForeignKey("business_observation.id", ondelete="SET NULL")
    )
    # fund_usage_ok = false waits here until an officer confirms (fund_misuse) or dismisses.
    misuse_state: Mapped[str | None] = mapped_column(String(10))
    misuse_decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    misuse_decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    founder: Mapped[Founder] = relationship(lazy="joined")
    region: Mapped[Region] = relationship(lazy="joined")

    __table_args__ = (
        UniqueConstraint("subject_type", "subject_id", "kind", "sequence", name="subject_task"),
        CheckConstraint(in_list("kind", TaskKind), name="kind"),
        CheckConstraint(in_list("subject_type", SubjectType), name="subject_type"),
        CheckConstraint(in_list("status", TaskStatus), name="status"),
        CheckConstraint(f"channel IS NULL OR {in_list('channel', Channel)}", name="channel"),
        CheckConstraint(
            f"employment IS NULL OR {in_list('employment', Employment)}", name="employment"
        ),
        CheckConstraint(
            f"misuse_state IS NULL OR {in_list('misuse_state', MisuseState)}",
            name="misuse_state",
        ),
        CheckConstraint("sequence >= 1", name="sequence_positive"),
        CheckConstraint("(status = 'done') = (done_on IS NOT NULL)", name="done_on"),
        CheckConstraint("(status = 'open') = (closed_on IS NULL)", name="closed_on"),
        CheckConstraint("employees IS NULL OR employees BETWEEN 0 AND 10000", name="employees"),
        # Work queues: a region's tasks by status and due date; a founder's tasks in order.
        Index("ix_followup_task_region_status_due", "region_code", "status", "due_on"),
        Index("ix_followup_task_status_due", "status", "due_on"),
        Index("ix_followup_task_founder_due", "founder_id", "due_on"),
        Index("ix_followup_task_assignee_status_due", "assignee_id", "status", "due_on"),
        Index("ix_followup_task_kind_status_due", "kind", "status", "due_on"),
        Index("ix_followup_task_misuse", "misuse_state"),
    )

    def __repr__(self) -> str:
        return f"<FollowupTask {self.id} {self.kind}#{self.sequence}>"


class FollowupAttempt(Base):
    """A contact attempt that reached nobody: the task stays open."""

    __tablename__ = "followup_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("followup_task.id", ondelete="CASCADE"))
    attempted_on: Mapped[date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(12))
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint(in_list("channel", Channel), name="channel"),
        Index("ix_followup_attempt_task", "task_id", "attempted_on"),
    )


class FollowupServiceItem(Base):
    """One item of the intake service package, recorded as it is delivered."""

    __tablename__ = "followup_service_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("followup_task.id", ondelete="CASCADE"))
    item: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text, default="")
    provided_on: Mapped[date] = mapped_column(Date)
    recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint(in_list("item", ServiceItem), name="item"),
        Index("ix_followup_service_item_task", "task_id", "item"),
    )


class FollowupPlan(Base):
    """The admin's version of one kind's schedule; a kind without a row uses SPEC's."""

    __tablename__ = "followup_plan"

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    unit: Mapped[str] = mapped_column(String(12))
    # Offsets from the anchor, comma-separated and increasing, e.g. "3,6,12,24,36".
    offsets: Mapped[str] = mapped_column(String(200))
    # After the last offset, one more task every this many units while the subject lasts.
    repeat_every: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        CheckConstraint(in_list("kind", TaskKind), name="kind"),
        CheckConstraint(in_list("unit", PlanUnit), name="unit"),
        CheckConstraint("repeat_every IS NULL OR repeat_every >= 1", name="repeat_every"),
    )


class EmploymentSource(enum.StrEnum):
    """Who said what the founder's work situation is."""

    STAFF = "staff"
    FOUNDER = "founder"
    FOLLOWUP = "followup"


class EmploymentObservation(Base):
    """The founder's employment status on a day (SPEC §11 "employment status")."""

    __tablename__ = "founder_employment"

    id: Mapped[int] = mapped_column(primary_key=True)
    founder_id: Mapped[int] = mapped_column(ForeignKey("founder.id"))
    observed_on: Mapped[date] = mapped_column(Date)
    employment: Mapped[str] = mapped_column(String(14))
    source: Mapped[str] = mapped_column(String(10))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("followup_task.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint(in_list("employment", Employment), name="employment"),
        CheckConstraint(in_list("source", EmploymentSource), name="source"),
        Index("ix_founder_employment_latest", "founder_id", "observed_on", "id"),
    )
