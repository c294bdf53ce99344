"""Configuration classes, read from the environment.

`APP_ENV` picks the class (`development` by default, `testing`, `production`).
Development keeps everything in `instance/` so a fresh clone runs with no setup;
production refuses to start without the settings that must never default.
"""

from __future__ import annotations

import os
import secrets
from datetime import date, timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"

# OWASP's password-storage minimum for Argon2id (19 MiB, 2 passes); production refuses less.
ARGON2_MIN_MEMORY_COST_KIB = 19456
ARGON2_MIN_TIME_COST = 2
# A session-signing key shorter than this can be guessed offline from one cookie.
SECRET_KEY_MIN_LENGTH = 32


class ConfigurationError(RuntimeError):
    """Raised when the environment lacks a setting the chosen configuration requires."""


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def _normalise_database_url(url: str) -> str:
    """Point plain `postgresql://` URLs at psycopg 3, the only PostgreSQL driver installed."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class BaseConfig:
    """Settings shared by every environment."""

    ENV_NAME = "base"
    SECRET_KEY: str | None = None
    SQLALCHEMY_DATABASE_URI: str | None = None
    # hide_parameters: a failing statement's message (logged by the 500 handler, kept in a
    # failed job run) must not carry its values: they can be ID numbers (SPEC §4).
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "hide_parameters": True}
    SQLALCHEMY_RECORD_QUERIES = False

    # Sessions: a working day long, never readable from scripts, not sent cross-site.
    PERMANENT_SESSION_LIFETIME = timedelta(hours=_env_int("SESSION_HOURS", 10))
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False

    # CSRF is checked by our own before_request so that bearer-token API calls can skip it.
    WTF_CSRF_CHECK_DEFAULT = False
    WTF_CSRF_TIME_LIMIT = None  # the session lifetime already bounds the token

    MAX_CONTENT_LENGTH = _env_int("MAX_UPLOAD_MB", 20) * 1024 * 1024

    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = {"zh_CN": "简体中文", "en": "English"}

    BOOTSTRAP_SERVE_LOCAL = True
    BOOTSTRAP_BTN_SIZE = "md"

    # Argon2id at the OWASP password-storage recommendation or stronger.
    ARGON2_TIME_COST = _env_int("ARGON2_TIME_COST", 3)
    ARGON2_MEMORY_COST_KIB = _env_int("ARGON2_MEMORY_COST_KIB", 65536)
    ARGON2_PARALLELISM = _env_int("ARGON2_PARALLELISM", 1)

    # Failed sign-ins within an hour before a key locks (the lock doubles each time):
    # per username and address, per username from anywhere, per address for any username.
    LOGIN_FREE_FAILURES = _env_int("LOGIN_FREE_FAILURES", 5)
    LOGIN_USER_FREE_FAILURES = _env_int("LOGIN_USER_FREE_FAILURES", 20)
    LOGIN_LOCK_BASE_SECONDS = _env_int("LOGIN_LOCK_BASE_SECONDS", 30)
    LOGIN_LOCK_MAX_SECONDS = _env_int("LOGIN_LOCK_MAX_SECONDS", 15 * 60)
    LOGIN_IP_FREE_FAILURES = _env_int("LOGIN_IP_FREE_FAILURES", 50)

    # Searches by the last four characters of an ID number, per user and hour (D49): each
    # narrows a founder's number down, so they are audited and capped.
    ID_SEARCH_HOURLY_LIMIT = _env_int("ID_SEARCH_HOURLY_LIMIT", 20)

    # The region figures of the dashboard, its charts, the targets' progress and the
    # library's outcomes, memoised per process (D51); the API, lists and exports stay live.
    # CACHE_TYPE "FileSystemCache" with CACHE_DIR shares them between gunicorn workers.
    CACHE_TYPE = os.environ.get("CACHE_TYPE", "SimpleCache")
    CACHE_DIR = os.environ.get("CACHE_DIR")
    CACHE_DEFAULT_TIMEOUT = _env_int("PAGE_FIGURES_SECONDS", 300)
    CACHE_THRESHOLD = 2000

    API_TOKEN_HOURS = _env_int("API_TOKEN_HOURS", 12)
    # Number of reverse proxies in front of the app whose X-Forwarded-* headers are trusted
    # (0: none). Login throttling counts per client address, so set it behind a proxy.
    PROXY_COUNT = _env_int("PROXY_COUNT", 0)

    HSTS_SECONDS = 0
    LOG_LEVEL = os.environ.get("LOG_LEVEL")
    SMTP_HOST = os.environ.get("SMTP_HOST")
    SMTP_PORT = _env_int("SMTP_PORT", 587)
    SMTP_USER = os.environ.get("SMTP_USER")
    SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD")
    SMTP_SENDER = os.environ.get("SMTP_SENDER")

    # The scheduler process (`flask scheduler`, README "Scheduler and production layout"):
    # it holds a database lease for LEASE seconds and renews it every RENEW seconds, so a
    # standby takes over within LEASE + RENEW seconds of the holder dying.
    SCHEDULER_LEASE_SECONDS = _env_int("SCHEDULER_LEASE_SECONDS", 45)
    SCHEDULER_RENEW_SECONDS = _env_int("SCHEDULER_RENEW_SECONDS", 15)
    # A run started this long ago and still "running" died with its process (a scheduler's
    # run is seen dead sooner: when its scheduler no longer holds the lease).
    SCHEDULER_STALE_RUN_SECONDS = _env_int("SCHEDULER_STALE_RUN_SECONDS", 3600)
    # A scheduled time missed by less than this (the process was down) still runs.
    SCHEDULER_MISFIRE_GRACE_SECONDS = _env_int("SCHEDULER_MISFIRE_GRACE_SECONDS", 6 * 3600)
    # Development and tests only (refused in production): pin the scheduler's "today"
    # (YYYY-MM-DD), and swap the job list for another ("module:ATTRIBUTE").
    SCHEDULER_TODAY = os.environ.get("SCHEDULER_TODAY") or None
    SCHEDULER_REGISTRY = os.environ.get("SCHEDULER_REGISTRY") or None

    @classmethod
    def finalise(cls, config: dict) -> None:
        """Fill or check settings that depend on the environment at start-up."""
        config["SECRET_KEY"] = config.get("SECRET_KEY") or os.environ.get("SECRET_KEY")
        url = os.environ.get("DATABASE_URL")
        if url:
            config["SQLALCHEMY_DATABASE_URI"] = _normalise_database_url(url)
        check_scheduler_settings(config)


class DevelopmentConfig(BaseConfig):
    """A laptop or a single intranet box: SQLite in instance/, a generated secret key."""

    ENV_NAME = "development"

    @classmethod
    def finalise(cls, config: dict) -> None:
        super().finalise(config)
        INSTANCE_DIR.mkdir(exist_ok=True)
        if not config.get("SQLALCHEMY_DATABASE_URI"):
            config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{INSTANCE_DIR / 'founderpath.db'}"
        if not config.get("SECRET_KEY"):
            config["SECRET_KEY"] = _instance_secret_key()


class TestingConfig(BaseConfig):
    """The test suite: fast password hashing, the database named by TEST_DATABASE_URL."""

    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret-key"  # noqa: S105 - a fixed key keeps test sessions reproducible
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST_KIB = 1024
    LOGIN_LOCK_BASE_SECONDS = 30
    # Tests change data and read the figures at once; tests of the memo turn it on.
    CACHE_TYPE = "NullCache"
    CACHE_NO_NULL_WARNING = True

    @classmethod
    def finalise(cls, config: dict) -> None:
        url = os.environ.get("TEST_DATABASE_URL")
        if url and not config.get("SQLALCHEMY_DATABASE_URI"):
            config["SQLALCHEMY_DATABASE_URI"] = _normalise_database_url(url)
        if not config.get("SQLALCHEMY_DATABASE_URI"):
            raise ConfigurationError("TestingConfig needs SQLALCHEMY_DATABASE_URI")


class ProductionConfig(BaseConfig):
    """gunicorn behind a reverse proxy, PostgreSQL, HTTPS."""

    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    # "__Host-": the browser keeps the cookie only if Secure, for "/", with no Domain, so
    # a neighbouring subdomain cannot set or shadow it (ASVS 3.4.4).
    SESSION_COOKIE_NAME = "__Host-session"
    HSTS_SECONDS = 31536000
    PREFERRED_URL_SCHEME = "https"

    @classmethod
    def finalise(cls, config: dict) -> None:
        super().finalise(config)
        missing = [
            name
            for name, value in (
                ("SECRET_KEY", config.get("SECRET_KEY")),
                ("DATABASE_URL", config.get("SQLALCHEMY_DATABASE_URI")),
            )
            if not value
        ]
        if missing:
            raise ConfigurationError(
                "Production configuration needs these environment variables: " + ", ".join(missing)
            )
        if len(config["SECRET_KEY"]) < SECRET_KEY_MIN_LENGTH:
            raise ConfigurationError(
                f"SECRET_KEY must be at least {SECRET_KEY_MIN_LENGTH} characters "
                "(e.g. python -c 'import secrets; print(secrets.token_hex(32))')"
            )
        check_password_hashing(config)
        pinned = [name for name in ("SCHEDULER_TODAY", "SCHEDULER_REGISTRY") if config.get(name)]
        if pinned:
            raise ConfigurationError(
                "These settings are for development and tests, never production: "
                + ", ".join(pinned)
            )


CONFIGS: dict[str, type[BaseConfig]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def check_scheduler_settings(config: dict) -> None:
    """The lease outlives a renewal interval, and a pinned "today" is a real date."""
    lease, renew = config.get("SCHEDULER_LEASE_SECONDS"), config.get("SCHEDULER_RENEW_SECONDS")
    if not (isinstance(renew, int) and isinstance(lease, int) and 0 < renew < lease):
        raise ConfigurationError(
            "SCHEDULER_RENEW_SECONDS must be positive and less than SCHEDULER_LEASE_SECONDS"
        )
    pinned = config.get("SCHEDULER_TODAY")
    if isinstance(pinned, str):
        try:
            date.fromisoformat(pinned)
        except ValueError:
            raise ConfigurationError(
                f"SCHEDULER_TODAY must be a date as YYYY-MM-DD, not {pinned!r}"
            ) from None


def check_password_hashing(config: dict) -> None:
    """Argon2id at least at OWASP's minimum: ARGON2_* from the environment cannot go lower."""
    memory, passes = config.get("ARGON2_MEMORY_COST_KIB"), config.get("ARGON2_TIME_COST")
    if not isinstance(memory, int) or memory < ARGON2_MIN_MEMORY_COST_KIB:
        raise ConfigurationError(
            f"ARGON2_MEMORY_COST_KIB must be at least {ARGON2_MIN_MEMORY_COST_KIB} (19 MiB)"
        )
    if not isinstance(passes, int) or passes < ARGON2_MIN_TIME_COST:
        raise ConfigurationError(f"ARGON2_TIME_COST must be at least {ARGON2_MIN_TIME_COST}")


def write_private_file(path: Path, text: str) -> None:
    """Write a file only its owner can read, never readable by others even for a moment."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


def config_for(name: str | None = None) -> type[BaseConfig]:
    """Return the configuration class named by `name` or by the APP_ENV variable."""
    key = (name or os.environ.get("APP_ENV") or "development").strip().lower()
    try:
        return CONFIGS[key]
    except KeyError:
        raise ConfigurationError(
            f"APP_ENV must be one of {', '.join(CONFIGS)}, not {key!r}"
        ) from None


def _instance_secret_key() -> str:
    """Keep one random development key in instance/ so sessions survive restarts."""
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        write_private_file(path, secrets.token_hex(32))
    return path.read_text(encoding="utf-8").strip()
