"""The audit log: who changed what, when, with the values before and after.

Operations call `record_audit` inside their transaction, so an entry exists exactly when
the change it describes was committed.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Select, String, inspect, select
from sqlalchemy.orm import Mapped, mapped_column

from app.core.dates import CHINA_TIME
from app.core.db import Base, UTCDateTime, utcnow
from app.extensions import db

# Never written to the audit log, whatever the model.
ALWAYS_EXCLUDED = frozenset({"password_hash", "token_hash"})


class AuditEntry(Base):
    """One audited change. Entries are only ever added."""

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    actor_username: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    entity_type: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    region_code: Mapped[str | None] = mapped_column(String(6), index=True)
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)

    __table_args__ = (Index("ix_audit_entry_entity", "entity_type", "entity_id"),)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)  # exactly as given: money keeps its 2 places, rates their 4
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    return value


def snapshot(entity: Any, *, exclude: frozenset[str] | set[str] = frozenset()) -> dict[str, Any]:
    """The entity's column values as JSON-ready data, for `before` and `after`."""
    mapper = inspect(entity).mapper
    skipped = ALWAYS_EXCLUDED | set(exclude) | set(getattr(entity, "__audit_exclude__", ()))
    return {
        attr.key: _jsonable(getattr(entity, attr.key))
        for attr in mapper.column_attrs
        if attr.key not in skipped
    }


def _entity_identity(entity: Any) -> tuple[str, str | None]:
    if isinstance(entity, tuple):
        kind, ident = entity
        return str(kind), None if ident is None else str(ident)
    identity = inspect(entity).identity
    ident = None if identity is None else ":".join(str(part) for part in identity)
    return entity.__tablename__, ident


def record_audit(
    actor: Any,
    action: str,
    entity: Any,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    *,
    region_code: str | None = None,
) -> AuditEntry:
    """Add an audit entry for `action` on `entity` (a model instance or a (type, id) pair).

    The entity must already be flushed so it has its id; `actor` may be None for the system.
    """
    if not isinstance(entity, tuple):
        db.session.flush()
    kind, ident = _entity_identity(entity)
    if region_code is None and not isinstance(entity, tuple):
        region_code = getattr(entity, "region_code", None)
    entry = AuditEntry(
        actor_id=getattr(actor, "id", None),
        actor_username=getattr(actor, "username", None),
        action=action,
        entity_type=kind,
        entity_id=ident,
        region_code=region_code,
        before=_jsonable(before) if before is not None else None,
        after=_jsonable(after) if after is not None else None,
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Only the keys whose values differ, so entries show the change, not the whole row."""
    return {key: after.get(key) for key in after if before.get(key) != after.get(key)}


def list_audit_stmt(
    *,
    actor: str | None = None,
    action: str | None = None,
    entity_type: str | None = None,
    entity_id: str | None = None,
    region_code: str | None = None,
    occurred_from: date | None = None,
    occurred_to: date | None = None,
) -> Select:
    """Audit entries matching the audit page's filters, newest first."""
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc())
    if actor:
        stmt = stmt.where(AuditEntry.actor_username == actor.strip().lower())
    if action:
        stmt = stmt.where(AuditEntry.action.startswith(action.strip(), autoescape=True))
    if entity_type:
        stmt = stmt.where(AuditEntry.entity_type == entity_type)
    if entity_id:
        stmt = stmt.where(AuditEntry.entity_id == entity_id.strip())
    if region_code:
        stmt = stmt.where(AuditEntry.region_code == region_code)
    if occurred_from:
        stmt = stmt.where(AuditEntry.occurred_at >= _day_start(occurred_from))
    if occurred_to:
        stmt = stmt.where(AuditEntry.occurred_at < _day_start(occurred_to + timedelta(days=1)))
    return stmt


def list_audit_entity_types() -> list[str]:
    """The entity types that have entries, for the filter's select box."""
    stmt = select(AuditEntry.entity_type).distinct().order_by(AuditEntry.entity_type)
    return list(db.session.scalars(stmt))


def _day_start(day: date) -> datetime:
    # Days are read in China Standard Time, the time zone of every user of the platform.
    return datetime.combine(day, time.min, tzinfo=CHINA_TIME).astimezone(UTC)
