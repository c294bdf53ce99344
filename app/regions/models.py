"""Regions: provinces and their cities, counties and districts (GB/T 2260 codes)."""

from __future__ import annotations

import enum

from flask_babel import get_locale
from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base


class RegionLevel(enum.StrEnum):
    """The two levels of the tree (SPEC §3)."""

    PROVINCE = "province"
    CITY = "city"


class Region(Base):
    """A province (no parent) or a city/county/district (parent is its province)."""

    __tablename__ = "region"

    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str | None] = mapped_column(String(128))
    level: Mapped[str] = mapped_column(String(16))
    parent_code: Mapped[str | None] = mapped_column(
        ForeignKey("region.code", ondelete="RESTRICT"), index=True
    )

    parent: Mapped[Region | None] = relationship(remote_side=[code], back_populates="children")
    children: Mapped[list[Region]] = relationship(back_populates="parent", order_by="Region.code")

    __table_args__ = (
        CheckConstraint("level IN ('province', 'city')", name="level"),
        CheckConstraint(
            "(level = 'province' AND parent_code IS NULL)"
            " OR (level = 'city' AND parent_code IS NOT NULL)",
            name="parent_matches_level",
        ),
        CheckConstraint("length(code) = 6", name="code_length"),
    )

    @property
    def is_province(self) -> bool:
        """Provinces scope their whole tree."""
        return self.level == RegionLevel.PROVINCE

    @property
    def province_code(self) -> str:
        """The province this region belongs to (itself for a province)."""
        return self.code if self.is_province else (self.parent_code or self.code)

    @property
    def display_name(self) -> str:
        """The name in the interface language: Chinese always exists, English if given."""
        locale = get_locale()
        if locale is not None and locale.language == "en" and self.name_en:
            return self.name_en
        return self.name

    def __repr__(self) -> str:
        return f"<Region {self.code} {self.name}>"
