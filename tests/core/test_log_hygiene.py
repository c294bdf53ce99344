"""ID numbers never reach the logs (SPEC §4): a failing SQL statement's message, which the
500 handler logs and a failed job run keeps, does not carry the statement's values."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.extensions import db

ID_NUMBER = "46010519900307123X"


def test_a_failing_statement_does_not_show_its_values(db_session):
    with pytest.raises(DBAPIError) as failure, db.session.begin_nested():
        db.session.execute(
            text("SELECT id FROM no_such_table WHERE id_number = :id_number"),
            {"id_number": ID_NUMBER},
        )
    assert ID_NUMBER not in str(failure.value)
    assert "hidden due to hide_parameters" in str(failure.value)
