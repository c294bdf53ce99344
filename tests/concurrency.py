"""Helpers for tests that race real transactions against each other.

Races need real commits from separate connections, which the rolled-back test transaction
cannot give, so such tests run on a database of their own (a temporary SQLite file, or
`<testdb>_<suffix>` beside TEST_DATABASE_URL on PostgreSQL), migrated from scratch and
dropped afterwards. Each thread pushes its own app context, so it has its own session.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
import pytest
from flask import Flask
from flask_migrate import upgrade
from psycopg import sql
from sqlalchemy.engine import make_url

from app import create_app
from app.extensions import db
from config import _normalise_database_url


@contextmanager
def own_database(tmp_path_factory: pytest.TempPathFactory, suffix: str) -> Iterator[str]:
    """A fresh, empty database for one test module, removed afterwards."""
    main_url = os.environ.get("TEST_DATABASE_URL")
    if not main_url:
        yield f"sqlite:///{tmp_path_factory.mktemp(suffix) / 'concurrency.db'}"
        return
    main = make_url(_normalise_database_url(main_url))
    name = f"{main.database}_{suffix}"
    admin_dsn = main.set(drivername="postgresql").render_as_string(hide_password=False)
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    with psycopg.connect(admin_dsn, autocommit=True) as connection:
        connection.execute(drop)  # left over from an interrupted run
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield main.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as connection:
            connection.execute(drop)


@contextmanager
def migrated_app(tmp_path_factory: pytest.TempPathFactory, suffix: str) -> Iterator[Flask]:
    """The app on its own migrated database; everything committed there is real."""
    with own_database(tmp_path_factory, suffix) as url:
        app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
        with app.app_context():
            upgrade()
        try:
            yield app
        finally:
            with app.app_context():
                db.engine.dispose()


def run_together(app: Flask, work: Callable[[], object], times: int = 2) -> list[object]:
    """Run `work` in `times` threads released together, each in its own app context;
    returns what each returned, or the name of the exception it raised."""
    barrier = threading.Barrier(times)
    outcomes: list[object] = []
    lock = threading.Lock()

    def run() -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=30)  # before any query: SQLite's writers lock at BEGIN
                outcome = work()
            except Exception as error:
                db.session.rollback()
                outcome = type(error).__name__
            finally:
                db.session.remove()
            with lock:
                outcomes.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes
