"""Configuration from the environment, and the SQLite connection settings."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from app import create_app
from app.core.db import mark_request_as_writing
from app.extensions import db
from config import ConfigurationError, ProductionConfig, _normalise_database_url, config_for


def test_production_refuses_to_start_without_secret_key_and_database(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(ConfigurationError) as caught:
        create_app("production")
    assert "SECRET_KEY" in str(caught.value)
    assert "DATABASE_URL" in str(caught.value)
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    with pytest.raises(ConfigurationError, match="DATABASE_URL"):
        create_app("production")


def test_production_settings(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db.internal/founderpath")
    app = create_app("production")
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["HSTS_SECONDS"] > 0
    assert ProductionConfig.PERMANENT_SESSION_LIFETIME.total_seconds() <= 12 * 3600


def test_hsts_is_sent_in_production(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    response = create_app("production").test_client().get("/login")
    assert "max-age=" in response.headers["Strict-Transport-Security"]


def test_development_defaults_to_sqlite_in_instance(monkeypatch, tmp_path):
    import config

    instance = tmp_path / "instance"
    monkeypatch.setattr(config, "INSTANCE_DIR", instance)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    app = create_app("development")
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance / 'founderpath.db'}"
    key_file = instance / "secret_key"
    assert app.config["SECRET_KEY"] == key_file.read_text(encoding="utf-8")
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert create_app("development").config["SECRET_KEY"] == app.config["SECRET_KEY"]


def test_unknown_environment_is_refused():
    with pytest.raises(ConfigurationError):
        config_for("staging")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_database_urls_use_psycopg3(given, expected):
    assert _normalise_database_url(given) == expected


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(app, db_session):
    if db.engine.dialect.name != "sqlite":
        assert db.engine.dialect.driver == "psycopg"
        return
    connection = db.session.connection()
    assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert connection.execute(text("PRAGMA busy_timeout")).scalar() >= 5000


def test_sqlite_transactions_take_the_write_lock_up_front(tmp_path):
    """A second writer waits for the first instead of failing mid-transaction."""
    import sqlite3

    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{tmp_path / 'lock.db'}")
    with engine.begin() as setup:
        setup.execute(text("CREATE TABLE t (x INTEGER)"))
    with engine.connect() as first:
        first.begin()
        first.execute(text("SELECT count(*) FROM t")).scalar()
        # BEGIN IMMEDIATE already holds the reserved lock: another writer cannot start.
        other = sqlite3.connect(tmp_path / "lock.db", timeout=0.1, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.close()
        first.rollback()
    engine.dispose()


def test_read_only_requests_do_not_hold_the_sqlite_write_lock(tmp_path):
    """Page views begin deferred, so a writer elsewhere is never kept waiting by them."""
    import sqlite3

    from flask_migrate import upgrade

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'r.db'}")
    with app.app_context():
        upgrade()
    for method, declared, expect_locked in (
        ("GET", False, False),
        ("POST", False, True),
        ("GET", True, True),
    ):
        with app.test_request_context("/regions", method=method):
            db.session.execute(text("SELECT count(*) FROM region")).scalar()
            if declared:  # after a first read, as when the signed-in user was loaded
                mark_request_as_writing()
                db.session.execute(text("SELECT count(*) FROM region")).scalar()
            other = sqlite3.connect(tmp_path / "r.db", timeout=0.1, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
                locked = False
            except sqlite3.OperationalError:
                locked = True
            finally:
                other.close()
            db.session.rollback()
        assert locked is expect_locked, method
    with app.app_context():
        db.engine.dispose()


# Security review (docs/security.md, gaps 9, 11, 19, 21) ---------------------------------
def _production(monkeypatch, **env):
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return create_app("production")


def test_password_hashing_meets_owasp_minimum(monkeypatch):
    from config import BaseConfig

    # Argon2id: OWASP's minimum is 19 MiB and 2 passes; ours is well above it.
    assert BaseConfig.ARGON2_MEMORY_COST_KIB >= 64 * 1024
    assert BaseConfig.ARGON2_TIME_COST >= 3
    assert BaseConfig.ARGON2_PARALLELISM >= 1
    app = _production(monkeypatch)
    assert app.config["ARGON2_MEMORY_COST_KIB"] >= 19456
    assert app.config["ARGON2_TIME_COST"] >= 2
    # Weaker settings from the environment are refused at start-up.
    monkeypatch.setattr(ProductionConfig, "ARGON2_MEMORY_COST_KIB", 1024)
    with pytest.raises(ConfigurationError, match="ARGON2_MEMORY_COST_KIB"):
        create_app("production")
    monkeypatch.setattr(ProductionConfig, "ARGON2_MEMORY_COST_KIB", 19456)
    monkeypatch.setattr(ProductionConfig, "ARGON2_TIME_COST", 1)
    with pytest.raises(ConfigurationError, match="ARGON2_TIME_COST"):
        create_app("production")


def test_uploads_are_capped_at_20_mib():
    from config import BaseConfig

    assert BaseConfig.MAX_CONTENT_LENGTH == 20 * 1024 * 1024
    assert ProductionConfig.MAX_CONTENT_LENGTH <= 20 * 1024 * 1024


def test_production_refuses_a_short_secret_key(monkeypatch):
    with pytest.raises(ConfigurationError, match="at least 32"):
        _production(monkeypatch, SECRET_KEY="short but not empty")
    assert _production(monkeypatch, SECRET_KEY="k" * 32).config["SECRET_KEY"] == "k" * 32


def test_production_session_cookie_is_host_prefixed(monkeypatch):
    app = _production(monkeypatch)
    assert app.config["SESSION_COOKIE_NAME"] == "__Host-session"
    # "__Host-" cookies are kept only when Secure, for "/", without a Domain.
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_DOMAIN"] in (None, False)
    with app.test_request_context("/"):
        from flask import session

        session["x"] = 1
        response = app.make_response("ok")
        app.session_interface.save_session(app, session, response)
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=")
    assert "Secure" in cookie
    assert "Path=/;" in cookie or cookie.endswith("Path=/")
    assert "Domain" not in cookie
