"""Searches by the last four characters of an ID number: audited and capped per user.

A founder's page shows the mask (region and check character), the birth date and the sex;
about 45 serials remain, and a last-4 search tells which one a founder has. So every such
search is an audit entry, like a view of the full number, and each user may make only
ID_SEARCH_HOURLY_LIMIT of them an hour (D49). The count is an upsert on one row per user,
so it holds across workers and parallel requests.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Select, case, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.auth.models import IdSearchAllowance
from app.core.audit import record_audit
from app.core.db import mark_request_as_writing, utcnow
from app.core.errors import TooManyAttempts
from app.extensions import db
from app.founders.queries import is_last4_query

logger = logging.getLogger(__name__)

WINDOW = timedelta(hours=1)


def record_last4_search(user: Any, q: str | None, stmt: Select) -> bool:
    """Count and audit a last-4 search; over the hourly cap, TooManyAttempts. Any other
    query passes untouched (False). `stmt` is the search itself: its hit count goes in the
    audit entry. The request is marked as writing here (it is a GET that writes), so call
    this before reading for the page; the caller commits when this returns True."""
    if not is_last4_query(q):
        return False
    mark_request_as_writing()
    now = utcnow()
    window_start = now - WINDOW
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    count_stmt = (
        insert(IdSearchAllowance)
        .values(user_id=user.id, window_started_at=now, searches=1)
        .on_conflict_do_update(
            index_elements=[IdSearchAllowance.user_id],
            set_={
                "searches": case(
                    (IdSearchAllowance.window_started_at <= window_start, 1),
                    else_=IdSearchAllowance.searches + 1,
                ),
                "window_started_at": case(
                    (IdSearchAllowance.window_started_at <= window_start, now),
                    else_=IdSearchAllowance.window_started_at,
                ),
            },
        )
        .returning(IdSearchAllowance.searches, IdSearchAllowance.window_started_at)
    )
    searches, started_at = db.session.execute(count_stmt).one()
    limit = current_app.config["ID_SEARCH_HOURLY_LIMIT"]
    if searches > limit:
        wait = max(1, int((started_at + WINDOW - now).total_seconds()))
        logger.warning("last-4 ID search refused user=%s over %s an hour", user.id, limit)
        raise TooManyAttempts(
            _(
                "You have searched by the last 4 characters of an ID number %(n)s times in "
                "the last hour, the most allowed. Search by name or phone number, or try "
                "again in %(minutes)s minutes.",
                n=limit,
                minutes=max(1, (wait + 59) // 60),
            ),
            retry_after_seconds=wait,
        )
    hits = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    record_audit(
        user,
        "founder.search_id_last4",
        ("founder", None),
        None,
        {"query": q.upper(), "hit_count": hits, "searches_this_hour": searches},
        region_code=getattr(user, "region_code", None),
    )
    return True
