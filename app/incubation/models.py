"""Incubation bases and residencies: which business sits in which base, when, and how it left."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
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

from app.businesses.models import Business
from app.core.db import Base, UTCDateTime, in_list, utcnow
from app.regions.models import Region


class BaseKind(enum.StrEnum):
    """What sort of place a base is (SPEC §8)."""

    PARK = "park"
    IDLE_FACTORY = "idle_factory"
    CAMPUS = "campus"
    OTHER = "other"


class ResidencyOutcome(enum.StrEnum):
    """How a residency ended."""

    GRADUATED = "graduated"
    LEFT = "left"
    CLOSED = "closed"


# A residency is open until it has an end date.
OPEN_RESIDENCY = text("ends_on IS NULL")


class IncubationBase(Base):
    """A place that hosts young businesses in a fixed number of units."""

    __tablename__ = "incubation_base"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(200), default="")
    units: Mapped[int] = mapped_column(Integer)
    operator_name: Mapped[str] = mapped_column(String(100), default="")
    operator_phone: Mapped[str] = mapped_column(String(20), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    region: Mapped[Region] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint(in_list("kind", BaseKind), name="kind"),
        CheckConstraint("units BETWEEN 1 AND 10000", name="units"),
        UniqueConstraint("region_code", "name"),
    )

    def __repr__(self) -> str:
        return f"<IncubationBase {self.id}>"


class Residency(Base):
    """A business hosted in a unit of a base from starts_on until ends_on (open while null)."""

    __tablename__ = "residency"

    id: Mapped[int] = mapped_column(primary_key=True)
    base_id: Mapped[int] = mapped_column(ForeignKey("incubation_base.id"))
    business_id: Mapped[int] = mapped_column(ForeignKey("business.id"), index=True)
    unit_label: Mapped[str] = mapped_column(String(20))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    outcome: Mapped[str | None] = mapped_column(String(10))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    base: Mapped[IncubationBase] = relationship(lazy="joined")
    business: Mapped[Business] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint(
            f"outcome IS NULL OR {in_list('outcome', ResidencyOutcome)}", name="outcome"
        ),
        CheckConstraint("(ends_on IS NULL) = (outcome IS NULL)", name="outcome_when_ended"),
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="ends_after_start"),
        # One open residency per business, one open resident per unit: the database holds
        # both rules, so two staff racing for the same business or unit cannot both win.
        Index(
            "uq_residency_open_business",
            "business_id",
            unique=True,
            sqlite_where=OPEN_RESIDENCY,
            postgresql_where=OPEN_RESIDENCY,
        ),
        Index(
            "uq_residency_open_unit",
            "base_id",
            "unit_label",
            unique=True,
            sqlite_where=OPEN_RESIDENCY,
            postgresql_where=OPEN_RESIDENCY,
        ),
        # Occupancy: a base's residents, current first.
        Index("ix_residency_base", "base_id", "ends_on"),
    )

    def __repr__(self) -> str:
        return f"<Residency {self.id}>"
