"""What the scheduler records: one row per job and date, and the lease it holds."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, UTCDateTime, in_list, utcnow


class RunStatus(enum.StrEnum):
    """A run is running until it succeeds or fails; a failed date is retried."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class RunTrigger(enum.StrEnum):
    """Why the run happened."""

    SCHEDULE = "schedule"
    CATCH_UP = "catch_up"
    MANUAL = "manual"


class JobRun(Base):
    """The record of a job for one date; a rerun of the same date updates this row."""

    __tablename__ = "job_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(40))
    as_of: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10))
    trigger: Mapped[str] = mapped_column(String(10))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
    error: Mapped[str] = mapped_column(Text, default="")
    # The scheduler process (host:pid) or the user that ran it.
    holder: Mapped[str] = mapped_column(String(120), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    triggered_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )

    __table_args__ = (
        UniqueConstraint("job", "as_of", name="job_date"),
        CheckConstraint(in_list("status", RunStatus), name="status"),
        CheckConstraint(in_list("trigger", RunTrigger), name="trigger"),
        Index("ix_job_run_started_at", "started_at"),
        Index("ix_job_run_job_status_as_of", "job", "status", "as_of"),
    )

    def __repr__(self) -> str:
        return f"<JobRun {self.job} {self.as_of} {self.status}>"


class SchedulerLease(Base):
    """Whoever holds an unexpired lease is the scheduler; everyone else waits."""

    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(120))
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    renewed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
