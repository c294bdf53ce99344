"""Businesses and their status observations.

A business's current status and head count are kept on the business row (`status`,
`employees`, `status_observed_on`, `closed_on`): lists, queues and the later KPI jobs
filter on them over hundreds of thousands of businesses, so they must not need a
"latest observation" subquery each time. `businesses.operations.refresh_current_status`
is the only writer of these columns; it recomputes them from the observations (latest
`observed_on`, ties broken by creation order), so they can never drift.
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
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, Money, UTCDateTime, in_list, utcnow
from app.core.industries import industry_check
from app.founders.models import Founder
from app.regions.models import Region


class BusinessStatus(enum.StrEnum):
    """What an observation found (SPEC §8)."""

    OPERATING = "operating"
    SUSPENDED = "suspended"
    CLOSED = "closed"


class ObservationSource(enum.StrEnum):
    """Who made the observation: centre staff, the founder themself, or a follow-up."""

    STAFF = "staff"
    FOUNDER = "founder"
    FOLLOWUP = "followup"


class ReviewState(enum.StrEnum):
    """Where a founder's self-report stands with the centre."""

    PENDING = "pending"
    VERIFIED = "verified"
    QUERIED = "queried"


class Business(Base):
    """A business a founder opened; a founder may own several."""

    __tablename__ = "business"

    id: Mapped[int] = mapped_column(primary_key=True)
    founder_id: Mapped[int] = mapped_column(ForeignKey("founder.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    industry: Mapped[str] = mapped_column(String(24))
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    opened_on: Mapped[date] = mapped_column(Date)
    # Unified social credit code (GB 32100), when the business is registered.
    uscc: Mapped[str | None] = mapped_column(String(18), unique=True)
    library_project_id: Mapped[int | None] = mapped_column(
        ForeignKey("library_project.id"), index=True
    )
    # Jobs created at opening, the founder not counted.
    employees_at_opening: Mapped[int] = mapped_column(Integer)

    # Current state, recomputed from the observations (see the module docstring).
    status: Mapped[str] = mapped_column(String(10), default=BusinessStatus.OPERATING)
    employees: Mapped[int] = mapped_column(Integer)
    status_observed_on: Mapped[date] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    founder: Mapped[Founder] = relationship(lazy="joined")
    region: Mapped[Region] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint(industry_check("industry"), name="industry"),
        CheckConstraint(in_list("status", BusinessStatus), name="status"),
        CheckConstraint("employees_at_opening BETWEEN 0 AND 10000", name="employees_at_opening"),
        CheckConstraint("employees BETWEEN 0 AND 10000", name="employees"),
        CheckConstraint(
            "(status = 'closed') = (closed_on IS NOT NULL)", name="closed_on_when_closed"
        ),
        CheckConstraint("uscc IS NULL OR length(uscc) = 18", name="uscc_length"),
        # The list filters by region and status and sorts by opening date, newest first.
        Index("ix_business_region_opened", "region_code", "opened_on", "id"),
        Index("ix_business_region_status", "region_code", "status"),
        Index("ix_business_opened_on", "opened_on", "id"),
        # The opening rate: a founder's businesses opened before or after a date.
        Index("ix_business_founder_opened", "founder_id", "opened_on"),
        Index("ix_business_name", "name"),
    )

    def __repr__(self) -> str:
        return f"<Business {self.id}>"


class Observation(Base):
    """What someone saw of a business on a day: its status, head count and revenue."""

    __tablename__ = "business_observation"

    id: Mapped[int] = mapped_column(primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("business.id"))
    observed_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10))
    employees: Mapped[int] = mapped_column(Integer)
    monthly_revenue: Mapped[Decimal | None] = mapped_column(Money)
    closed_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(10))
    # Staff record a closed business reopening (or a closure recorded in error) this way.
    is_reopening: Mapped[bool] = mapped_column(Boolean, default=False)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    # Founders' self-reports wait for the centre: pending -> verified, or queried.
    review_state: Mapped[str | None] = mapped_column(String(10))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    query_note: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    business: Mapped[Business] = relationship()

    __table_args__ = (
        CheckConstraint(in_list("status", BusinessStatus), name="status"),
        CheckConstraint(in_list("source", ObservationSource), name="source"),
        CheckConstraint(
            f"review_state IS NULL OR {in_list('review_state', ReviewState)}",
            name="review_state",
        ),
        CheckConstraint("employees BETWEEN 0 AND 10000", name="employees"),
        CheckConstraint("monthly_revenue IS NULL OR monthly_revenue >= 0", name="revenue"),
        CheckConstraint("(status = 'closed') = (closed_on IS NOT NULL)", name="closed_on"),
        CheckConstraint("closed_on IS NULL OR closed_on <= observed_on", name="closed_by_then"),
        # The latest observation of a business: observed_on, then creation order.
        Index("ix_business_observation_latest", "business_id", "observed_on", "id"),
        # The verification queue: self-reports waiting, oldest first.
        Index("ix_business_observation_review", "review_state", "created_at"),
    )

    def __repr__(self) -> str:
        return f"<Observation {self.id}>"


# The KPIs rank each business's observations newest first (its status on a day): in this
# order the ranking reads the index without a sort.
Index(
    "ix_business_observation_recent",
    Observation.business_id,
    Observation.observed_on.desc(),
    Observation.id.desc(),
)
