"""The daily job's loan sweep, missed marking and lost flags as hand-written set-based SQL.

This is what a DBA would write for the same updates, to judge the app's statements
against: fewer statements (overdue and subsidy in one UPDATE, days past due, bucket and
swept_on in another, new integrity events with ON CONFLICT on their once-key), joins
instead of IN (SELECT …). The follow-up planning and reconciliation steps are not
replicated (their plans are data: kinds × sequences × offsets in days, working days or
months), nor are the reminders; the bench compares like with like: these statements
against the app's `sweep`, `mark_missed` and `refresh_lost` only.

`run(connection, dialect, as_of, now)` executes them on an open connection (the caller
rolls back) and returns the rows each statement changed.
"""

# The SQL is assembled from constants and dialect spellings only; values are bound.
# ruff: noqa: S608

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import text

from app.integrity.models import EventKind, EventSource
from app.integrity.points import points_for
from app.loans.servicing import LATE_GRACE_DAYS

MISSED_AFTER_DAYS = 30


def _plus(dialect: str, day: str, days: str) -> str:
    """`day` + `days` (an integer expression) as a date, in the dialect's spelling."""
    if dialect == "sqlite":
        return f"date({day}, ({days}) || ' days')"
    return f"CAST({day} + ({days}) AS DATE)"


def _minus(dialect: str, later: str, earlier: str) -> str:
    """Whole days from `earlier` to `later`."""
    if dialect == "sqlite":
        return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"
    return f"({later} - {earlier})"


def _json(dialect: str, param: str) -> str:
    return param if dialect == "sqlite" else f"CAST({param} AS JSON)"


def _distinct(dialect: str) -> str:
    return "IS NOT" if dialect == "sqlite" else "IS DISTINCT FROM"


def statements(dialect: str) -> list[tuple[str, str]]:
    """(name, SQL) in the order they run; parameters :day, :now, :late_day, :missed_day."""
    d = dialect
    serviced = "l.status IN ('active', 'defaulted')"
    in_sweep = (
        f"{serviced} AND l.disbursed_on IS NOT NULL AND (l.swept_on IS NULL OR l.swept_on <= :day)"
    )
    late_key = "'installment:' || CAST(i.id AS VARCHAR) || '\\:timeliness'"
    default_key = "'loan:' || CAST(l.id AS VARCHAR) || '\\:defaulted'"
    event_columns = (
        "founder_id, kind, points, occurred_on, source, note, loan_id, installment_id, "
        "once_key, created_at"
    )
    audit_columns = (
        "occurred_at, actor_username, action, entity_type, entity_id, region_code, before, after"
    )
    return [
        (
            "overdue_and_subsidy",
            f"""
            UPDATE loan_installment AS i SET
              status = 'overdue',
              subsidy_lost = CASE WHEN l.subsidy_requires_on_time AND i.subsidy > 0
                                  THEN TRUE ELSE i.subsidy_lost END
            FROM loan AS l
            WHERE l.id = i.loan_id AND {in_sweep}
              AND i.paid_off_on IS NULL AND i.due_on < :day
              AND (i.status <> 'overdue'
                   OR (l.subsidy_requires_on_time AND i.subsidy > 0 AND NOT i.subsidy_lost))
            """,
        ),
        (
            "days_past_due",
            f"""
            UPDATE loan AS l SET
              days_past_due = o.days,
              bucket = CASE WHEN o.days <= 0 THEN 'current' WHEN o.days <= 30 THEN '1-30'
                            WHEN o.days <= 60 THEN '31-60' WHEN o.days <= 90 THEN '61-90'
                            ELSE '90+' END,
              swept_on = :day,
              updated_at = :now
            FROM (
              SELECT l.id, COALESCE({_minus(d, ":day", "MIN(i.due_on)")}, 0) AS days
              FROM loan AS l
              LEFT JOIN loan_installment AS i ON i.loan_id = l.id AND i.due_on < :day
                AND (i.paid_off_on IS NULL OR i.paid_off_on > :day)
              WHERE {in_sweep}
              GROUP BY l.id
            ) AS o
            WHERE o.id = l.id
            """,
        ),
        (
            "default_audit",
            f"""
            INSERT INTO audit_entry ({audit_columns})
            SELECT :now, 'system', 'loan.default', 'loan', CAST(l.id AS VARCHAR), l.region_code,
                   {_json(d, ":before")}, {_json(d, ":after")}
            FROM loan AS l
            WHERE l.status = 'active' AND l.swept_on = :day AND l.days_past_due >= l.default_days
            """,
        ),
        (
            "default",
            f"""
            UPDATE loan AS l SET status = 'defaulted',
              defaulted_on = {_plus(d, ":day", "l.default_days - l.days_past_due")},
              updated_at = :now
            WHERE l.status = 'active' AND l.swept_on = :day AND l.days_past_due >= l.default_days
            """,
        ),
        (
            "late_over_30_events",
            f"""
            INSERT INTO integrity_event ({event_columns})
            SELECT l.founder_id, :late_kind, :late_points,
                   {_plus(d, "i.due_on", str(LATE_GRACE_DAYS + 1))}, :source,
                   'loan ' || CAST(l.id AS VARCHAR) || ' installment ' || CAST(i.n AS VARCHAR),
                   l.id, i.id, {late_key}, :now
            FROM loan_installment AS i JOIN loan AS l ON l.id = i.loan_id
            WHERE {serviced} AND i.due_on <= :late_day
              AND (i.paid_off_on IS NULL
                   OR i.paid_off_on > {_plus(d, "i.due_on", str(LATE_GRACE_DAYS))})
            ON CONFLICT (once_key) DO NOTHING
            """,
        ),
        (
            "defaulted_events",
            f"""
            INSERT INTO integrity_event ({event_columns})
            SELECT l.founder_id, :default_kind, :default_points, l.defaulted_on, :source,
                   'loan ' || CAST(l.id AS VARCHAR), l.id, NULL, {default_key}, :now
            FROM loan AS l
            WHERE l.defaulted_on IS NOT NULL
            ON CONFLICT (once_key) DO NOTHING
            """,
        ),
        (
            "event_audit",
            """
            INSERT INTO audit_entry (occurred_at, actor_username, action, entity_type,
                                     entity_id, region_code)
            SELECT :now, 'system', 'integrity.event', 'integrity_event', CAST(e.id AS VARCHAR),
                   f.region_code
            FROM integrity_event AS e JOIN founder AS f ON f.id = e.founder_id
            WHERE e.id > :last_event_id
            """,
        ),
        (
            "missed",
            f"""
            UPDATE followup_task SET status = 'missed',
              closed_on = {_plus(d, "due_on", str(MISSED_AFTER_DAYS + 1))}, updated_at = :now
            WHERE status = 'open' AND due_on < :missed_day
            """,
        ),
        (
            "lost_flags",
            f"""
            WITH reached AS (
              SELECT founder_id, MAX(done_on) AS reached_on FROM followup_task
              WHERE status = 'done' GROUP BY founder_id
            ), misses AS (
              SELECT t.founder_id, t.closed_on,
                     ROW_NUMBER() OVER (PARTITION BY t.founder_id ORDER BY t.due_on, t.id) AS n
              FROM followup_task AS t LEFT JOIN reached AS r ON r.founder_id = t.founder_id
              WHERE t.status = 'missed' AND (r.reached_on IS NULL OR t.due_on > r.reached_on)
            ), flags AS (
              SELECT f.id,
                     CASE WHEN m.founder_id IS NULL THEN NULL
                          WHEN f.lost_to_follow_up_on < m.closed_on THEN f.lost_to_follow_up_on
                          ELSE m.closed_on END AS since
              FROM founder AS f LEFT JOIN misses AS m ON m.founder_id = f.id AND m.n = 2
              WHERE f.lost_to_follow_up_on IS NOT NULL OR m.founder_id IS NOT NULL
            )
            UPDATE founder SET lost_to_follow_up_on = flags.since, updated_at = :now
            FROM flags
            WHERE founder.id = flags.id
              AND founder.lost_to_follow_up_on {_distinct(d)} flags.since
            """,
        ),
    ]


def run(connection: Any, dialect: str, as_of: date, now: datetime) -> dict[str, int]:
    """Execute the statements for `as_of` on `connection`; rows changed per statement."""
    last_event_id = connection.execute(text("SELECT COALESCE(MAX(id), 0) FROM integrity_event"))
    params = {
        "day": as_of,
        "now": now,
        "late_day": as_of - timedelta(days=LATE_GRACE_DAYS + 1),
        "missed_day": as_of - timedelta(days=MISSED_AFTER_DAYS),
        "before": json.dumps({"status": "active"}),
        "after": json.dumps({"status": "defaulted"}),
        "late_kind": EventKind.LATE_OVER_30.value,
        "late_points": points_for(EventKind.LATE_OVER_30),
        "default_kind": EventKind.DEFAULTED.value,
        "default_points": points_for(EventKind.DEFAULTED),
        "source": EventSource.LOAN.value,
        "last_event_id": last_event_id.scalar_one(),
    }
    counts = {}
    for name, sql in statements(dialect):
        statement = text(sql)
        wanted = {key: value for key, value in params.items() if f":{key}" in sql}
        result = connection.execute(statement, wanted)
        counts[name] = max(result.rowcount or 0, 0)
    return counts
