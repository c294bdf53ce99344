"""The sign-in throttle holds across workers and under parallel guesses (security review
gap 10, decision D4): on a database of its own, with real commits from separate
connections and a second app instance standing in for a second worker."""

from __future__ import annotations

import threading

import pytest

from app import create_app
from app.auth import operations
from app.extensions import db
from tests.concurrency import migrated_app, run_together
from tests.factories import DEFAULT_PASSWORD, make_user

ADDRESS = "203.0.113.7"
WRONG = "a wrong password"


@pytest.fixture(scope="module")
def race_app(tmp_path_factory):
    with migrated_app(tmp_path_factory, "throttle_race") as app:
        with app.app_context():
            make_user(username="target.user")
            db.session.commit()
        yield app


def guess(password: str = WRONG) -> operations.SignInResult:
    result = operations.authenticate("target.user", password, ip_address=ADDRESS)
    db.session.commit()
    return result


def test_parallel_guesses_past_the_allowance_check_one_password(race_app, monkeypatch):
    free = race_app.config["LOGIN_FREE_FAILURES"]
    with race_app.app_context():
        for _ in range(free):
            assert not guess().is_locked
    checks = []
    lock = threading.Lock()
    real = operations.verify_password

    def counting(password_hash, password):
        with lock:
            checks.append(password)
        return real(password_hash, password)

    monkeypatch.setattr(operations, "verify_password", counting)
    outcomes = run_together(race_app, lambda: guess().is_locked, times=8)
    assert len(checks) == 1  # the first past the allowance is checked and locks the key
    assert sorted(outcomes) == [False] + [True] * 7

    # A second app instance (another worker) on the same database sees the lock too,
    # even for the right password.
    other_worker = create_app(
        "testing", SQLALCHEMY_DATABASE_URI=race_app.config["SQLALCHEMY_DATABASE_URI"]
    )
    try:
        with other_worker.app_context():
            assert guess(DEFAULT_PASSWORD).is_locked
            assert (
                operations.authenticate("target.user", DEFAULT_PASSWORD, ip_address=None).user
                is not None
            )  # the username alone is not locked yet
            db.session.rollback()
    finally:
        with other_worker.app_context():
            db.engine.dispose()
