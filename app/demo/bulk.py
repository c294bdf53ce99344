"""Writing many rows at once: COPY on PostgreSQL, a batched INSERT on SQLite.

A batched Core INSERT reaches PostgreSQL (psycopg 3) as one prepared INSERT per row; at a
million founders plus their training that is most of the run. COPY streams the same rows
in one statement, several times faster, inside the session's own transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import sql
from sqlalchemy import Table, insert, text

from app.extensions import db


def insert_rows(table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys, every value already in its column's form)."""
    if not rows:
        return
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        db.session.execute(insert(table), list(rows))
        return
    columns = list(rows[0])
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    driver_connection = connection.connection.driver_connection
    with driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([row[column] for column in columns])


def move_id_sequence_past(table: Table, last_id: int) -> None:
    """After rows were written with explicit ids, make the next generated id follow them.

    SQLite takes the next id from the largest one; PostgreSQL's sequence must be told.
    """
    if db.session.connection().dialect.name == "postgresql":
        db.session.execute(
            text("SELECT setval(pg_get_serial_sequence(:table, 'id'), :last_id)"),
            {"table": table.name, "last_id": last_id},
        )


def refresh_statistics() -> None:
    """Update the query planner's statistics after a bulk stage, and commit.

    Rows written by COPY are invisible to the planner until autovacuum's ANALYZE gets to
    them; until then PostgreSQL takes a table of a million rows for an empty one and picks
    nested loops (measured: the follow-up replanning of the next stage went from 0.1 s to
    76 s at 50k founders). SQLite's planner likewise uses what ANALYZE leaves in
    sqlite_stat1.
    """
    db.session.commit()
    db.session.execute(text("ANALYZE"))
    db.session.commit()
