"""A region's targets for a year (SPEC §13).

One row per (year, region). Each figure may be left unset (NULL: "no target"), so a
province can set its own figures first and split them to its cities later. The database
holds the rules it can: the year's range, non-negative figures, one row per region and
year.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, Money, UTCDateTime, utcnow
from app.regions.models import Region

# SPEC §13's figures, in the order pages, answers and the statistics table show them.
TARGET_FIELDS = ("trainees", "businesses_opened", "loans_count", "loans_amount", "jobs_created")
COUNT_FIELDS = ("trainees", "businesses_opened", "loans_count", "jobs_created")
MONEY_FIELDS = ("loans_amount",)
FIRST_YEAR, LAST_YEAR = 2000, 2099


class RegionTarget(Base):
    """What a region means to reach in a year; NULL means no target for that figure."""

    __tablename__ = "region_target"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    trainees: Mapped[int | None] = mapped_column(Integer)
    businesses_opened: Mapped[int | None] = mapped_column(Integer)
    loans_count: Mapped[int | None] = mapped_column(Integer)
    loans_amount: Mapped[Decimal | None] = mapped_column(Money)
    jobs_created: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )

    region: Mapped[Region] = relationship(lazy="joined")

    __table_args__ = (
        UniqueConstraint("year", "region_code"),
        CheckConstraint(f"year BETWEEN {FIRST_YEAR} AND {LAST_YEAR}", name="year"),
        *(CheckConstraint(f"{name} >= 0", name=name) for name in TARGET_FIELDS),
    )

    def values(self) -> dict[str, int | Decimal | None]:
        """The five figures, None where no target is set."""
        return {name: getattr(self, name) for name in TARGET_FIELDS}

    def __repr__(self) -> str:
        return f"<RegionTarget {self.year} {self.region_code}>"
