"""Library projects (province or city level) and founders' adoptions of them."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
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

from app.core.db import Base, Money, UTCDateTime, utcnow
from app.core.industries import industry_check
from app.founders.models import Founder
from app.regions.models import Region


class ProjectLevel(enum.StrEnum):
    """Whose library a project is in: the province's (every city sees it) or one city's."""

    PROVINCE = "province"
    CITY = "city"


class ProjectStatus(enum.StrEnum):
    """draft -> published -> retired; a published or retired project may go back to draft."""

    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


class LibraryProject(Base):
    """A vetted small-business project that founders can adopt."""

    __tablename__ = "library_project"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(8))
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    industry: Mapped[str] = mapped_column(String(24))
    investment_min: Mapped[Decimal] = mapped_column(Money)
    investment_max: Mapped[Decimal] = mapped_column(Money)
    payback_months: Mapped[int] = mapped_column(Integer)
    jobs_potential: Mapped[int] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(Text)
    market: Mapped[str] = mapped_column(Text, default="")
    risks: Mapped[str] = mapped_column(Text, default="")
    startup_steps: Mapped[str] = mapped_column(Text, default="")
    licences: Mapped[str] = mapped_column(Text, default="")
    expert_contact: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(10), default=ProjectStatus.DRAFT)
    # A province project promoted from a city project points at its origin (once per origin).
    promoted_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("library_project.id", ondelete="RESTRICT"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_changed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )

    region: Mapped[Region] = relationship(lazy="joined")
    promoted_from: Mapped[LibraryProject | None] = relationship(
        remote_side=[id], foreign_keys=[promoted_from_id]
    )

    __table_args__ = (
        CheckConstraint("level IN ('province', 'city')", name="level"),
        CheckConstraint("status IN ('draft', 'published', 'retired')", name="status"),
        CheckConstraint(industry_check("industry"), name="industry"),
        CheckConstraint(
            "investment_min >= 0 AND investment_min <= investment_max", name="investment_range"
        ),
        CheckConstraint("payback_months BETWEEN 1 AND 240", name="payback_range"),
        CheckConstraint("jobs_potential BETWEEN 0 AND 1000", name="jobs_range"),
        # Browsing filters by region and status, newest first.
        Index("ix_library_project_region_status", "region_code", "status", "published_at"),
        Index("ix_library_project_industry", "industry"),
    )

    def __repr__(self) -> str:
        return f"<LibraryProject {self.id}>"


class LibraryAdoption(Base):
    """A founder chose to pursue a project (once per founder and project)."""

    __tablename__ = "library_adoption"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("library_project.id"))
    founder_id: Mapped[int] = mapped_column(ForeignKey("founder.id"), index=True)
    adopted_on: Mapped[date] = mapped_column(Date)
    adopted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    project: Mapped[LibraryProject] = relationship(lazy="joined")
    founder: Mapped[Founder] = relationship()

    __table_args__ = (UniqueConstraint("project_id", "founder_id"),)

    def __repr__(self) -> str:
        return f"<LibraryAdoption {self.id}>"
