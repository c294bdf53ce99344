"""Reads of accounts for sign-in, pages and the API."""

from __future__ import annotations

from sqlalchemy import Select, or_, select

from app.auth.models import User
from app.extensions import db


def load_user_for_session(session_id: str) -> User | None:
    """Flask-Login's loader: the user of "<id>:<version>" if the version is still current.

    Logout and password changes bump the version, which ends every older session.
    """
    user_id, _, version = (session_id or "").partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.is_active or user.session_version != int(version):
        return None
    return user


def has_any_user() -> bool:
    """Whether any account exists (a fresh install has none)."""
    return db.session.scalar(select(User.id).limit(1)) is not None


def get_user(user_id: int) -> User | None:
    """The account with this id, or None."""
    return db.session.get(User, user_id)


def list_users_stmt(
    *,
    q: str | None = None,
    role: str | None = None,
    region_code: str | None = None,
    status: str | None = None,
) -> Select:
    """Accounts matching the filters of the user list, by username."""
    stmt = select(User).order_by(User.username)
    if q:
        pattern = f"%{q.lower()}%"
        stmt = stmt.where(or_(User.username.like(pattern), User.display_name.ilike(f"%{q}%")))
    if role:
        stmt = stmt.where(User.role == role)
    if region_code:
        stmt = stmt.where(User.region_code == region_code)
    if status == "active":
        stmt = stmt.where(User.active.is_(True))
    elif status == "inactive":
        stmt = stmt.where(User.active.is_(False))
    return stmt
