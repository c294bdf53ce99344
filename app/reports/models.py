"""Monthly KPI snapshots: the figures of each region as of the first of a month."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, UTCDateTime, utcnow


class KpiSnapshot(Base):
    """A region's figures as of a date; rerunning the month replaces them."""

    __tablename__ = "kpi_snapshot"

    id: Mapped[int] = mapped_column(primary_key=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    as_of: Mapped[date] = mapped_column(Date)
    figures: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("region_code", "as_of", name="region_date"),
        Index("ix_kpi_snapshot_as_of", "as_of"),
    )
