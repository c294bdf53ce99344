"""Training: institutions, courses, cohorts and each founder's enrollment and result."""

from __future__ import annotations

import enum
from datetime import date, datetime

from flask_babel import get_locale
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, UTCDateTime, utcnow
from app.founders.models import Founder
from app.regions.models import Region


class CourseKind(enum.StrEnum):
    """The SIYB family, plus vocational skills courses."""

    GYB = "GYB"
    SYB = "SYB"
    IYB = "IYB"
    EYB = "EYB"
    SKILL = "skill"


# "Entrepreneurship training" in every rule and figure means these kinds (SPEC §6).
ENTREPRENEURSHIP_KINDS = (CourseKind.GYB, CourseKind.SYB, CourseKind.IYB, CourseKind.EYB)


class TrainingResult(enum.StrEnum):
    """How an enrollment ended."""

    PASSED = "passed"
    FAILED = "failed"
    DROPPED = "dropped"


class Institution(Base):
    """A training provider in a region; designated ones may run subsidised SIYB courses."""

    __tablename__ = "institution"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    designated: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    region: Mapped[Region] = relationship(lazy="joined")

    __table_args__ = (UniqueConstraint("region_code", "name"),)

    def __repr__(self) -> str:
        return f"<Institution {self.id} {self.name}>"


class Course(Base):
    """A course in the catalogue: GYB/SYB/IYB/EYB are seeded, skills courses added by staff."""

    __tablename__ = "course"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str | None] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(8), index=True)
    hours: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        CheckConstraint("kind IN ('GYB', 'SYB', 'IYB', 'EYB', 'skill')", name="kind"),
        CheckConstraint("hours > 0 AND hours <= 2000", name="hours_range"),
    )

    @property
    def display_name(self) -> str:
        """The name in the interface language: Chinese always exists, English if given."""
        locale = get_locale()
        if locale is not None and locale.language == "en" and self.name_en:
            return self.name_en
        return self.name

    @property
    def is_entrepreneurship(self) -> bool:
        """GYB, SYB, IYB and EYB count as entrepreneurship training."""
        return self.kind in ENTREPRENEURSHIP_KINDS

    def __repr__(self) -> str:
        return f"<Course {self.code}>"


class Cohort(Base):
    """One class of a course run by an institution, with a fixed number of seats."""

    __tablename__ = "cohort"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    name: Mapped[str] = mapped_column(String(100), default="")
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    capacity: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    course: Mapped[Course] = relationship(lazy="joined")
    institution: Mapped[Institution] = relationship(lazy="joined")
    region: Mapped[Region] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint("ends_on >= starts_on", name="ends_after_start"),
        CheckConstraint("capacity > 0 AND capacity <= 1000", name="capacity_range"),
        Index("ix_cohort_region_starts", "region_code", "starts_on"),
    )

    def __repr__(self) -> str:
        return f"<Cohort {self.id}>"


class Enrollment(Base):
    """A founder's place in a cohort, their attendance and, once known, their result."""

    __tablename__ = "enrollment"

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohort.id"))
    founder_id: Mapped[int] = mapped_column(ForeignKey("founder.id"), index=True)
    enrolled_on: Mapped[date] = mapped_column(Date)
    attendance: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[str | None] = mapped_column(String(8))
    completed_on: Mapped[date | None] = mapped_column(Date)
    certificate_no: Mapped[str | None] = mapped_column(String(40), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    cohort: Mapped[Cohort] = relationship(lazy="joined")
    founder: Mapped[Founder] = relationship()

    __table_args__ = (
        UniqueConstraint("cohort_id", "founder_id"),
        CheckConstraint(
            "result IS NULL OR result IN ('passed', 'failed', 'dropped')", name="result"
        ),
        CheckConstraint("(result IS NULL) = (completed_on IS NULL)", name="result_has_date"),
        CheckConstraint(
            "certificate_no IS NULL OR result = 'passed'", name="certificate_if_passed"
        ),
        CheckConstraint("attendance >= 0", name="attendance_not_negative"),
        # KPIs and the founder filters look up results by completion date.
        Index("ix_enrollment_result_completed", "result", "completed_on"),
    )

    def __repr__(self) -> str:
        return f"<Enrollment {self.id}>"
