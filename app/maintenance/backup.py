"""Backups of the app's database and their restore, each checked against a manifest.

A backup is one file: an online copy of the SQLite database (the backup API reads one
consistent state while the app goes on writing; a plain copy of a live WAL database can
be torn) or a `pg_dump --format=custom` archive. Beside it, `<file>.manifest.json` holds
its size and SHA-256, the Alembic revision, every table's row count and the money
balances, read as stored (integer fen). A restore checks the file against the manifest
before touching anything, and the restored database against the manifest afterwards.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import sqlite3
import stat
import subprocess
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, column, create_engine, func, inspect, select, table, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import NullPool

from config import BASE_DIR, INSTANCE_DIR, _normalise_database_url

logger = logging.getLogger(__name__)

MANIFEST_FORMAT = 1
MANIFEST_SUFFIX = ".manifest.json"
BACKUP_DIR = BASE_DIR / "backups"
# config.DevelopmentConfig's database when DATABASE_URL is not set.
DEFAULT_SQLITE_FILE = "founderpath.db"
EXTENSIONS = {"sqlite": "sqlite3", "postgresql": "dump"}
# What a restored database must reproduce exactly; the rest describes the file.
CONTENT_KEYS = ("alembic_revision", "tables", "balances_fen")
# Money columns summed as stored: integer fen, never converted through Decimal or float.
SUMMED_COLUMNS = (("loan", "amount"), ("loan", "outstanding_principal"), ("repayment", "amount"))
FUND_BALANCES = "fund_entry.amount_by_region"
BUSY_TIMEOUT_MS = 15000


class BackupError(RuntimeError):
    """A backup or restore that cannot go ahead or did not check out (said to the operator)."""


def database_url_from_environment(environ: Mapping[str, str] | None = None) -> str:
    """The database the app would use: DATABASE_URL, else the development SQLite file."""
    environ = os.environ if environ is None else environ
    url = environ.get("DATABASE_URL")
    if url:
        return _normalise_database_url(url)
    if (environ.get("APP_ENV") or "").strip().lower() == "production":
        raise BackupError("DATABASE_URL is not set, and production has no default database.")
    return f"sqlite:///{INSTANCE_DIR / DEFAULT_SQLITE_FILE}"


def make_manifest(bind: Engine | Connection) -> dict[str, Any]:
    """Row counts of every table and the money balances in fen, for comparing copies."""
    if isinstance(bind, Engine):
        with bind.connect() as connection:
            return make_manifest(connection)
    names = sorted(inspect(bind).get_table_names())
    tables = {
        name: int(bind.scalar(select(func.count()).select_from(table(name))) or 0) for name in names
    }
    balances: dict[str, Any] = {
        f"{table_name}.{column_name}": _sum_fen(bind, table_name, column_name)
        if table_name in tables
        else None
        for table_name, column_name in SUMMED_COLUMNS
    }
    balances[FUND_BALANCES] = _fund_balances(bind) if "fund_entry" in tables else None
    revision = None
    if "alembic_version" in tables:
        versions = bind.scalars(select(column("version_num")).select_from(table("alembic_version")))
        revision = ",".join(sorted(versions)) or None
    return {"alembic_revision": revision, "tables": tables, "balances_fen": balances}


def compare_manifests(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> list[str]:
    """Every difference between two manifests' contents, one line each (none: equal)."""
    differences = []
    if expected.get("alembic_revision") != actual.get("alembic_revision"):
        differences.append(
            f"migration revision: {expected.get('alembic_revision')} in the backup, "
            f"{actual.get('alembic_revision')} restored"
        )
    expected_tables, actual_tables = expected.get("tables", {}), actual.get("tables", {})
    for name in sorted(set(expected_tables) | set(actual_tables)):
        if name not in actual_tables:
            differences.append(f"table {name}: in the backup, missing from the restored database")
        elif name not in expected_tables:
            differences.append(f"table {name}: restored, but not in the backup")
        elif expected_tables[name] != actual_tables[name]:
            differences.append(
                f"table {name}: {expected_tables[name]} rows in the backup, "
                f"{actual_tables[name]} restored"
            )
    expected_balances = _flatten(expected.get("balances_fen", {}))
    actual_balances = _flatten(actual.get("balances_fen", {}))
    for key in sorted(set(expected_balances) | set(actual_balances)):
        if expected_balances.get(key) != actual_balances.get(key):
            differences.append(
                f"balance {key}: {expected_balances.get(key)} fen in the backup, "
                f"{actual_balances.get(key)} fen restored"
            )
    return differences


def backup(url: str, dest: str | os.PathLike[str] | None = None) -> tuple[Path, dict[str, Any]]:
    """Back up the database `url` names to `dest` (a file or a directory; default
    backups/), write the manifest beside it and return the file's path and the manifest."""
    parsed = _parse(url)
    engine_name = _engine_name(parsed)
    source = _sqlite_path(parsed) if engine_name == "sqlite" else None
    database = source.stem if source is not None else str(parsed.database or "")
    target = _destination(dest, engine_name, database)
    partial = target.with_name(target.name + ".partial")
    try:
        _create_private(partial)  # it holds personal data: for its owner's eyes only
        if source is not None:
            content = _backup_sqlite(source, partial)
        else:
            content = _backup_postgres(parsed, partial)
        _fsync(partial)
        if target.exists():  # made meanwhile by someone else: never overwrite a backup
            raise BackupError(f"{target} already exists; choose another destination.")
        os.replace(partial, target)
        _fsync(target.parent)
    finally:
        partial.unlink(missing_ok=True)
    size, digest = _size_and_digest(target)
    manifest = {
        "format": MANIFEST_FORMAT,
        "engine": engine_name,
        "database": database,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "file": target.name,
        "bytes": size,
        "sha256": digest,
        **content,
    }
    _write_atomically(manifest_path(target), json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    logger.info("Backed up %s database %s to %s", engine_name, database, target)
    return target, manifest


def restore(file: Path, url: str, *, overwrite: bool = False) -> dict[str, Any]:
    """Restore the backup `file` into the database `url` names, refusing to replace a
    non-empty one unless `overwrite`; returns the manifest the result was checked against."""
    file = Path(file)
    if not file.is_file():
        raise BackupError(f"There is no backup file at {file}.")
    manifest = read_manifest(file)
    parsed = _parse(url)
    engine_name = _engine_name(parsed)
    if manifest.get("engine") != engine_name:
        raise BackupError(
            f"{file} is a backup of a {manifest.get('engine')} database, and DATABASE_URL "
            f"names a {engine_name} database; restore it into the same kind of database."
        )
    _check_file(file, manifest)
    if engine_name == "sqlite":
        _restore_sqlite(file, _sqlite_path(parsed), manifest, overwrite=overwrite)
    else:
        _restore_postgres(file, parsed, manifest, overwrite=overwrite)
    engine = _engine(parsed)
    try:
        if engine_name != "sqlite":
            _refresh_statistics(engine)
        restored = make_manifest(engine)
    except Exception as error:
        raise BackupError(f"Restored, but reading the result back failed: {error}") from None
    finally:
        engine.dispose()
    differences = compare_manifests(manifest, restored)
    if differences:
        raise BackupError(
            "Restored, but the database does not match the backup's manifest; do not put it "
            "in service before finding out why:\n  " + "\n  ".join(differences)
        )
    logger.info("Restored %s into %s database %s", file, engine_name, parsed.database)
    return manifest


def _refresh_statistics(engine: Engine) -> None:
    """pg_restore brings the rows but not the planner's statistics (PostgreSQL 15): until
    autovacuum gets to every table, large tables are planned as empty and the daily job and
    reports pick nested loops (docs/performance.md, "Statistics after bulk loads"). A SQLite
    copy carries its sqlite_stat1 table with it."""
    with engine.connect() as connection:
        connection.execute(text("ANALYZE"))
        connection.commit()


def manifest_path(file: Path) -> Path:
    """Where the manifest of the backup `file` is kept."""
    return file.with_name(file.name + MANIFEST_SUFFIX)


def read_manifest(file: Path) -> dict[str, Any]:
    """The manifest written beside the backup `file`."""
    path = manifest_path(file)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(
            f"No manifest beside the backup: {path} is missing. Restore checks the restored "
            "rows and balances against it, so it needs the manifest made with the backup."
        ) from None
    except (OSError, ValueError) as error:
        raise BackupError(f"The manifest {path} cannot be read: {error}") from None
    missing = [
        key
        for key in ("format", "engine", "bytes", "sha256", *CONTENT_KEYS)
        if not isinstance(manifest, dict) or key not in manifest
    ]
    if missing:
        raise BackupError(f"The manifest {path} lacks {', '.join(missing)}.")
    if manifest["format"] != MANIFEST_FORMAT:
        raise BackupError(f"The manifest {path} has format {manifest['format']!r}, not 1.")
    return manifest


# --- where backups go and what they are of --------------------------------------------------


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError:
        raise BackupError("DATABASE_URL is not a database URL.") from None


def _engine_name(url: URL) -> str:
    name = url.get_backend_name()
    if name not in EXTENSIONS:
        raise BackupError(f"Backups handle SQLite and PostgreSQL databases, not {name}.")
    return name


def _engine(url: URL) -> Engine:
    if url.get_backend_name() == "sqlite":
        return create_engine(URL.create("sqlite", database=str(_sqlite_path(url))))
    return create_engine(url, poolclass=NullPool)


def _sqlite_path(url: URL) -> Path:
    """The file a SQLite URL names; relative paths are under instance/, as Flask-SQLAlchemy
    resolves them for the app."""
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        raise BackupError(f"Backups need a SQLite database file, not {database or 'memory'!r}.")
    path = Path(database)
    return path if path.is_absolute() else INSTANCE_DIR / path


def _destination(dest: str | os.PathLike[str] | None, engine_name: str, database: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", database) or "database"
    default_name = f"{engine_name}-{name}-{stamp}.{EXTENSIONS[engine_name]}"
    if dest is None:
        target = BACKUP_DIR / default_name
    elif Path(dest).is_dir() or str(dest).endswith(("/", os.sep)):
        target = Path(dest) / default_name
    else:
        target = Path(dest)
    target = target.absolute()
    if target.exists() or manifest_path(target).exists():
        raise BackupError(f"{target} already exists; choose another destination.")
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    return target


# --- SQLite ----------------------------------------------------------------------------------


def _backup_sqlite(source: Path, partial: Path) -> dict[str, Any]:
    if not source.is_file():
        raise BackupError(f"There is no SQLite database at {source}.")
    try:
        # mode=rw: never create an empty database where the real one was expected.
        origin = sqlite3.connect(f"{source.as_uri()}?mode=rw", uri=True)
        try:
            origin.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            copy = sqlite3.connect(partial)
            try:
                # All pages in one step, so in one read transaction: one consistent state,
                # and under WAL the app's writers go on meanwhile.
                origin.backup(copy)
            finally:
                copy.close()
        finally:
            origin.close()
    except sqlite3.Error as error:
        raise BackupError(f"Copying {source} failed: {error}") from None
    _check_sqlite_file(partial, what="the backup copy")
    return _sqlite_manifest(partial)


def _restore_sqlite(
    file: Path, target: Path, manifest: Mapping[str, Any], *, overwrite: bool
) -> None:
    tables = _sqlite_table_count(target)
    if tables and not overwrite:
        raise BackupError(
            f"{target} already holds a database ({tables} tables); nothing was changed. "
            "Run restore with --yes to replace it."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.restore-", dir=target.parent)
    os.close(handle)
    staged = Path(name)
    try:
        try:
            backup_file = sqlite3.connect(f"{file.absolute().as_uri()}?mode=ro", uri=True)
            try:
                copy = sqlite3.connect(staged)
                try:
                    backup_file.backup(copy)
                finally:
                    copy.close()
            finally:
                backup_file.close()
        except sqlite3.Error as error:
            raise BackupError(
                f"{file} is not a usable SQLite database ({error}); nothing was changed."
            ) from None
        _check_sqlite_file(staged, what=str(file))
        differences = compare_manifests(manifest, _sqlite_manifest(staged))
        if differences:
            raise BackupError(
                f"{file} does not hold what its manifest says; nothing was changed:\n  "
                + "\n  ".join(differences)
            )
        if target.exists():  # the restored file keeps the replaced one's owner and mode
            status = target.stat()
            os.chmod(staged, stat.S_IMODE(status.st_mode))
            with contextlib.suppress(PermissionError):
                os.chown(staged, status.st_uid, status.st_gid)
        _fsync(staged)
        _swap_into_place(staged, target)
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{staged}{suffix}").unlink(missing_ok=True)


def _swap_into_place(staged: Path, target: Path) -> None:
    """Rename the staged database over the target, once nobody has the target open."""
    if not target.exists():
        leftovers = (Path(f"{target}{suffix}") for suffix in ("-wal", "-shm", "-journal"))
        stale = [str(path) for path in leftovers if path.exists()]
        if stale:
            raise BackupError(
                f"{', '.join(stale)} lie beside {target}, which does not exist; remove them "
                "first. Nothing was changed."
            )
        os.replace(staged, target)
        _fsync(target.parent)
        return
    in_use = BackupError(
        f"{target} is in use (is the app or the scheduler running?); stop them and restore "
        "again. Nothing was changed."
    )
    connection = sqlite3.connect(f"{target.as_uri()}?mode=rw", uri=True, isolation_level=None)
    try:
        connection.execute("PRAGMA busy_timeout=2000")
        # Leaving WAL needs the only connection, and folds the -wal file in: a leftover
        # -wal must never be replayed onto the restored file.
        try:
            mode = connection.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
            connection.execute("BEGIN EXCLUSIVE")
        except sqlite3.OperationalError:
            raise in_use from None
        if str(mode).lower() != "delete":
            raise in_use
        os.replace(staged, target)
        _fsync(target.parent)
        connection.execute("ROLLBACK")
    finally:
        connection.close()


def _sqlite_table_count(path: Path) -> int:
    if not path.exists() or path.stat().st_size == 0:
        return 0
    try:
        connection = sqlite3.connect(f"{path.as_uri()}?mode=rw", uri=True)
        try:
            connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            return int(
                connection.execute(
                    "SELECT count(*) FROM sqlite_master "
                    "WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                ).fetchone()[0]
            )
        finally:
            connection.close()
    except sqlite3.Error as error:
        raise BackupError(f"{path} is not a SQLite database ({error}); refusing.") from None


def _check_sqlite_file(path: Path, *, what: str) -> None:
    """A self-contained file (no -wal beside it) that passes SQLite's integrity check."""
    try:
        connection = sqlite3.connect(path, isolation_level=None)
        try:
            connection.execute("PRAGMA journal_mode=DELETE")
            findings = [row[0] for row in connection.execute("PRAGMA integrity_check")]
        finally:
            connection.close()
    except sqlite3.Error as error:
        raise BackupError(f"{what} is not a usable SQLite database: {error}") from None
    if findings != ["ok"]:
        raise BackupError(f"{what} fails SQLite's integrity check: {'; '.join(findings[:5])}")


def _sqlite_manifest(path: Path) -> dict[str, Any]:
    engine = create_engine(URL.create("sqlite", database=str(path)), poolclass=NullPool)
    try:
        content = make_manifest(engine)
    except Exception as error:
        raise BackupError(f"Reading {path} failed: {error}") from None
    finally:
        engine.dispose()
    # The app's connect hook turns on WAL; the file is to stay self-contained.
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=DELETE")
    finally:
        connection.close()
    return content


# --- PostgreSQL ------------------------------------------------------------------------------


def _backup_postgres(url: URL, partial: Path) -> dict[str, Any]:
    pg_dump = _tool("pg_dump")
    dsn, env = _libpq(url)
    engine = _engine(url)
    try:
        options = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        with engine.connect().execution_options(**options) as connection:
            # pg_dump reads the very snapshot the manifest is counted in, while this
            # transaction stays open; writes going on meanwhile are in neither.
            snapshot = connection.scalar(text("SELECT pg_export_snapshot()"))
            content = make_manifest(connection)
            _run(
                [
                    pg_dump,
                    "--format=custom",
                    f"--file={partial}",
                    f"--snapshot={snapshot}",
                    "--no-password",
                    f"--dbname={dsn}",
                ],
                env,
                failure="pg_dump failed",
            )
    except BackupError:
        raise
    except Exception as error:
        raise BackupError(f"Reading database {url.database} failed: {error}") from None
    finally:
        engine.dispose()
    _run(
        [_tool("pg_restore"), "--list", str(partial)],
        env,
        failure="pg_dump's archive does not read back",
    )
    return content


def _restore_postgres(
    file: Path, url: URL, manifest: Mapping[str, Any], *, overwrite: bool
) -> None:
    pg_restore = _tool("pg_restore")
    dsn, env = _libpq(url)
    _run(
        [pg_restore, "--list", str(file)],
        env,
        failure=f"{file} is not a usable pg_dump archive; nothing was changed",
    )
    engine = _engine(url)
    try:
        with engine.connect() as connection:
            existing = set(inspect(connection).get_table_names())
    except Exception as error:
        raise BackupError(f"Connecting to database {url.database} failed: {error}") from None
    finally:
        engine.dispose()
    if existing and not overwrite:
        raise BackupError(
            f"Database {url.database} already holds {len(existing)} tables; nothing was "
            "changed. Run restore with --yes to replace its contents."
        )
    extra = sorted(existing - set(manifest["tables"]))
    if extra:
        raise BackupError(
            f"Database {url.database} has tables the backup does not ({', '.join(extra)}), "
            "which a restore would leave behind; restore into an empty database. Nothing "
            "was changed."
        )
    _run(
        [
            pg_restore,
            "--clean",
            "--if-exists",
            "--no-owner",
            # All or nothing: a damaged archive rolls back the drops too.
            "--single-transaction",
            "--exit-on-error",
            "--no-password",
            f"--dbname={dsn}",
            str(file),
        ],
        env,
        failure=f"pg_restore of {file} failed; nothing was changed (one transaction)",
    )


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} is not on PATH; install the PostgreSQL client tools, of the server's "
            "major version or newer (Debian: postgresql-client)."
        )
    return path


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection URI for the client tools, its password passed in the environment
    (never on a command line others can read)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    dsn = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return dsn, env


def _run(command: list[str], env: Mapping[str, str], *, failure: str) -> None:
    result = subprocess.run(command, env=dict(env), capture_output=True, text=True, check=False)  # noqa: S603 - fixed tools, arguments are ours
    if result.returncode != 0:
        detail = "\n".join(result.stderr.strip().splitlines()[-8:])
        raise BackupError(f"{failure}:\n{detail}" if detail else failure)
    if result.stderr.strip():
        logger.warning("%s: %s", Path(command[0]).name, result.stderr.strip())


# --- files ----------------------------------------------------------------------------------


def _check_file(file: Path, manifest: Mapping[str, Any]) -> None:
    size, digest = _size_and_digest(file)
    if size != manifest["bytes"] or digest != manifest["sha256"]:
        raise BackupError(
            f"The backup {file} is damaged (truncated or corrupted): it has {size} bytes and "
            f"SHA-256 {digest[:12]}…, its manifest says {manifest['bytes']} bytes and "
            f"{str(manifest['sha256'])[:12]}…. Nothing was changed."
        )


def _create_private(path: Path) -> None:
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    os.chmod(path, 0o600)  # a leftover file may have had another mode


def _size_and_digest(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _write_atomically(path: Path, content: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(content, encoding="utf-8")
    _fsync(partial)
    os.replace(partial, path)
    _fsync(path.parent)


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _sum_fen(bind: Connection, table_name: str, column_name: str) -> int:
    total = bind.scalar(
        select(func.coalesce(func.sum(column(column_name)), 0)).select_from(table(table_name))
    )
    return int(Decimal(total))


def _fund_balances(bind: Connection) -> dict[str, int]:
    region, amount = column("region_code"), column("amount")
    rows = bind.execute(
        select(region, func.sum(amount)).select_from(table("fund_entry")).group_by(region)
    )
    return {str(code): int(Decimal(total)) for code, total in sorted(rows)}


def _flatten(balances: Mapping[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in balances.items():
        if isinstance(value, Mapping):
            flat.update({f"{key}[{inner}]": amount for inner, amount in value.items()})
        else:
            flat[key] = value
    return flat
