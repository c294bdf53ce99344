"""Accounts, API tokens and the failed-login counters."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ColumnElement,
    ForeignKey,
    Integer,
    String,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, UTCDateTime, utcnow
from app.core.permissions import Permission, Role, has_permission
from app.regions.models import Region, RegionLevel

ROLE_VALUES = tuple(role.value for role in Role)


class User(Base):
    """A person who signs in: staff, officer, founder or admin, tied to one region."""

    __tablename__ = "user_account"
    __audit_exclude__ = ("session_version", "last_login_at")

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), index=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    # A founder account is the founder's own way in: at most one account per founder.
    founder_id: Mapped[int | None] = mapped_column(
        ForeignKey("founder.id", ondelete="RESTRICT"), unique=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(8))
    # Where reminders are e-mailed when SMTP is configured; optional.
    email: Mapped[str | None] = mapped_column(String(254))
    # Bumped by logout and password change: every session carrying an older value ends.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when someone else chose the password (an account made for the user, a reset):
    # the user must replace it before doing anything else (ASVS 2.5; D49).
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    region: Mapped[Region] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint("role IN ('admin', 'staff', 'officer', 'founder')", name="role"),
        CheckConstraint("role = 'founder' OR founder_id IS NULL", name="founder_only_for_founders"),
        CheckConstraint("session_version >= 1", name="session_version_positive"),
    )

    # Flask-Login protocol -------------------------------------------------------------
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return bool(self.active)

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """Session identity includes the version, so bumping it signs every session out."""
        return f"{self.id}:{self.session_version}"

    # Access ---------------------------------------------------------------------------
    def can(self, permission: Permission) -> bool:
        """Whether this user's role grants `permission`."""
        return has_permission(self, permission)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    def region_scope(self, region_column: ColumnElement) -> ColumnElement[bool]:
        """Rows whose region is this user's region, or lies inside this user's province."""
        if self.region is not None and self.region.level == RegionLevel.PROVINCE:
            return or_(
                region_column == self.region_code,
                region_column.in_(
                    select(Region.code).where(Region.parent_code == self.region_code)
                ),
            )
        return region_column == self.region_code

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


class ApiToken(Base):
    """A bearer token for the JSON API. Only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined")

    def is_usable(self, now: datetime) -> bool:
        """Not revoked, not expired, and its user still active."""
        return self.revoked_at is None and self.expires_at > now and self.user.is_active


class LoginThrottle(Base):
    """Failed sign-in attempts per key ("user:<name>" or "ip:<address>"), shared by workers."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class IdSearchAllowance(Base):
    """A user's searches by the last four characters of an ID number in the current hour.

    Such a search tells which of a handful of candidate numbers a founder has, so each is
    audited and capped per user (D49); counted here, so the cap holds across workers.
    """

    __tablename__ = "id_search_allowance"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    searches: Mapped[int] = mapped_column(Integer, default=0)
