"""Test isolation: every commit of the app lands in one outer transaction that is rolled back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Flask
from sqlalchemy.orm import scoped_session, sessionmaker

from app.extensions import db


def rolled_back_session(flask_app: Flask) -> Iterator[Any]:
    """Swap db.session for one bound to a connection whose outer transaction is undone.

    The app's commits only release savepoints, so code under test behaves as in
    production while nothing survives the test (or the module, for module-wide use).
    """
    with flask_app.app_context():
        connection = db.engine.connect()
    outer = connection.begin()
    factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
    original = db.session
    db.session = scoped_session(factory)
    try:
        yield db.session
    finally:
        db.session.remove()
        db.session = original
        outer.rollback()
        connection.close()
