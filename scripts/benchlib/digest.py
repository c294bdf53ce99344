"""What the daily job's covered steps leave behind, reduced to a fingerprint, so the app's
statements and the hand-written SQL can be shown to make the same updates.

Read inside the run's transaction, before it is rolled back. Ids that come from sequences
(new integrity events and audit entries) are not compared — PostgreSQL does not roll
sequences back — but the once-keys and the entities the entries name are.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import text

QUERIES = {
    "loans": """SELECT id, status, days_past_due, bucket, swept_on, defaulted_on
                FROM loan ORDER BY id""",
    "installments": """SELECT id, status, subsidy_lost FROM loan_installment
                       WHERE status = 'overdue' OR subsidy_lost ORDER BY id""",
    "tasks": """SELECT id, status, closed_on FROM followup_task
                WHERE status = 'missed' ORDER BY id""",
    "lost": """SELECT id, lost_to_follow_up_on FROM founder
               WHERE lost_to_follow_up_on IS NOT NULL ORDER BY id""",
    "new_events": """SELECT once_key, founder_id, kind, points, occurred_on, source, note,
                            loan_id, installment_id
                     FROM integrity_event WHERE id > :last_event ORDER BY once_key""",
    "new_audit": """SELECT a.action, a.entity_type, COALESCE(e.once_key, a.entity_id),
                           a.region_code, a.actor_username
                    FROM audit_entry a LEFT JOIN integrity_event e
                      ON a.entity_type = 'integrity_event'
                     AND e.id = CAST(a.entity_id AS INTEGER)
                    WHERE a.id > :last_audit ORDER BY 1, 2, 3""",
}


def marks(connection: Any) -> dict[str, int]:
    """The highest event and audit ids before the run (what is new is compared)."""
    return {
        "last_event": connection.execute(
            text("SELECT COALESCE(MAX(id), 0) FROM integrity_event")
        ).scalar_one(),
        "last_audit": connection.execute(
            text("SELECT COALESCE(MAX(id), 0) FROM audit_entry")
        ).scalar_one(),
    }


def fingerprint(connection: Any, before: dict[str, int]) -> dict[str, str]:
    """{part: "rows:sha1"} of the state the covered steps write."""
    result = {}
    for name, sql in QUERIES.items():
        digest = hashlib.sha1(usedforsecurity=False)
        count = 0
        for row in connection.execute(text(sql), before):
            digest.update(repr(tuple(str(value) for value in row)).encode())
            count += 1
        result[name] = f"{count}:{digest.hexdigest()[:12]}"
    return result
