"""The database lease that makes one scheduler the scheduler.

One row (`scheduler_lease`, name "scheduler") says who holds the lease and until when.
A scheduler takes or renews it with a single conditional UPDATE — "set me as holder where
I hold it already or it has expired" — so two schedulers can never both succeed: on
PostgreSQL the second UPDATE waits for the first and then re-checks the row, on SQLite
writers are serialised. The row is inserted the first time (INSERT … ON CONFLICT DO
NOTHING, so a race between two first schedulers leaves one winner and no error).

Times come from the scheduler's own clock: hosts running schedulers keep NTP time.
"""

from __future__ import annotations

import os
import secrets
import socket
from datetime import datetime, timedelta

from sqlalchemy import case, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from app.extensions import db
from app.scheduler.models import SchedulerLease

LEASE_NAME = "scheduler"
HOLDER_LENGTH = 120


def new_holder() -> str:
    """This process's name as a lease holder: host, process id and a random part (a
    restarted process with a recycled pid is a different holder)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"[-HOLDER_LENGTH:]


def holder_pid(holder: str) -> int | None:
    """The process id inside a holder made by `new_holder`, if it is one."""
    parts = holder.rsplit(":", 2)
    if len(parts) == 3 and parts[1].isdigit():
        return int(parts[1])
    return None


def _insert_ignoring_conflict(values: dict) -> bool:
    """Insert the lease row unless one exists; True when this call inserted it."""
    table = SchedulerLease.__table__
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(table).values(**values).on_conflict_do_nothing().returning(table.c.name)
    # RETURNING, not rowcount: drivers report -1 for an INSERT that returns rows.
    return db.session.execute(stmt).first() is not None


def acquire_or_renew(holder: str, now: datetime, ttl_seconds: float) -> bool:
    """Take the lease when it is free or expired, or renew it when `holder` holds it;
    True when `holder` holds it now (until now + ttl). Commits."""
    table = SchedulerLease.__table__
    expires = now + timedelta(seconds=ttl_seconds)
    stmt = (
        update(table)
        .where(table.c.name == LEASE_NAME)
        .where(or_(table.c.holder == holder, table.c.expires_at < now))
        .values(
            holder=holder,
            renewed_at=now,
            expires_at=expires,
            acquired_at=case((table.c.holder == holder, table.c.acquired_at), else_=now),
        )
    )
    held = db.session.execute(stmt).rowcount == 1
    if not held:
        held = _insert_ignoring_conflict(
            {
                "name": LEASE_NAME,
                "holder": holder,
                "acquired_at": now,
                "renewed_at": now,
                "expires_at": expires,
            }
        )
    db.session.commit()
    return held


def release(holder: str, now: datetime) -> bool:
    """Give the lease up at once (a standby may take it at its next renewal), if `holder`
    holds it; the row keeps the last holder's name. Commits."""
    table = SchedulerLease.__table__
    stmt = (
        update(table)
        .where(table.c.name == LEASE_NAME, table.c.holder == holder)
        .values(expires_at=now - timedelta(seconds=1))
    )
    released = db.session.execute(stmt).rowcount == 1
    db.session.commit()
    return released


def current_lease() -> SchedulerLease | None:
    """The lease row as it is in the database (None before any scheduler ran)."""
    return db.session.scalar(
        select(SchedulerLease)
        .where(SchedulerLease.name == LEASE_NAME)
        .execution_options(populate_existing=True)
    )


def live_holder(now: datetime) -> str | None:
    """Who holds an unexpired lease, if anyone."""
    lease = current_lease()
    if lease is None or lease.expires_at <= now:
        return None
    return lease.holder
