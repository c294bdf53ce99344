"""scripts/backup and scripts/restore, run as an operator would, on databases of their own.

The source is migrated from scratch and seeded through the real operations (founders, two
loans with repayments, fund entries), then committed for real (see tests/concurrency.py):
a temporary SQLite file, or `<testdb>_backup` on PostgreSQL. Each restore goes into a
second fresh database. On PostgreSQL the client tools must be there: no silent skips.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from app.auth.models import User
from app.extensions import db
from app.loans import operations
from app.loans.models import Allocation, FundEntry, FundEntryKind, Loan, Repayment
from app.maintenance import backup as backups
from tests.concurrency import migrated_app, own_database
from tests.factories import make_founder, make_user
from tests.loans.factories import fund_region, make_loan

ROOT = Path(__file__).resolve().parents[1]
ON_POSTGRES = bool(os.environ.get("TEST_DATABASE_URL"))
ENGINE = "postgresql" if ON_POSTGRES else "sqlite"
AS_OF = date(2026, 6, 30)
PAID_ON = date(2026, 3, 2)
SEEDED_REPAYMENTS = 3
WRITER_REGION = "460200"


def run_script(name: str, *args: object, url: str) -> subprocess.CompletedProcess[str]:
    """Run scripts/<name> against the database `url`, as an operator would."""
    env = os.environ | {
        "DATABASE_URL": url,
        # The suite's .venv was installed from the dev requirements (runtime included).
        "REQUIREMENTS": "requirements-dev.txt",
    }
    return subprocess.run(  # noqa: S603 - our own script, our own arguments
        [str(ROOT / "scripts" / name), *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@contextmanager
def session_on(url: str) -> Iterator[Session]:
    """An ORM session on any of the test databases, closed and disposed afterwards."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


def manifest_of(url: str) -> dict[str, Any]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        return backups.make_manifest(engine)
    finally:
        engine.dispose()


def content(manifest: dict[str, Any]) -> dict[str, Any]:
    return {key: manifest[key] for key in backups.CONTENT_KEYS}


def row_counts(url: str) -> dict[str, int]:
    """Rows of every table, counted here through the models' own metadata."""
    with session_on(url) as session:
        names = set(inspect(session.connection()).get_table_names())
        assert {t.name for t in db.metadata.sorted_tables} <= names
        return {
            t.name: session.scalar(select(func.count()).select_from(t))
            for t in db.metadata.sorted_tables
        }


def balances(url: str) -> dict[str, Any]:
    """The money figures in yuan, read through the Money type."""
    with session_on(url) as session:
        funds = session.execute(
            select(FundEntry.region_code, func.sum(FundEntry.amount))
            .group_by(FundEntry.region_code)
            .order_by(FundEntry.region_code)
        ).all()
        return {
            "loan.amount": session.scalar(select(func.sum(Loan.amount))),
            "loan.outstanding_principal": session.scalar(
                select(func.sum(Loan.outstanding_principal))
            ),
            "repayment.amount": session.scalar(select(func.sum(Repayment.amount))),
            "allocated": sum(
                session.execute(
                    select(func.sum(Allocation.principal), func.sum(Allocation.interest))
                ).one()
            ),
            "funds": dict(funds),
        }


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sqlite_file(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def target_state(url: str) -> tuple[dict[str, Any], str | None]:
    """What a refused restore must leave as it was: the manifest, and a SQLite file's bytes."""
    return manifest_of(url), file_digest(sqlite_file(url)) if not ON_POSTGRES else None


@pytest.fixture(scope="module", autouse=True)
def _client_tools() -> None:
    if ON_POSTGRES:
        missing = [tool for tool in ("pg_dump", "pg_restore") if shutil.which(tool) is None]
        if missing:
            pytest.fail(f"{', '.join(missing)} not on PATH: the backup tests need them here")


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """The app on its own database: three founders, two active loans (one with repayments),
    fund deposits in two regions, all committed."""
    with migrated_app(tmp_path_factory, "backup") as app:
        with app.app_context():
            make_founder()
            make_founder(region_code="460200")
            officer = make_user(role="officer")
            repaid = make_loan(amount=Decimal("60000.00"))
            writes_to = make_loan(amount=Decimal("100000.00"))
            fund_region(WRITER_REGION, "500000.00")
            for number in range(SEEDED_REPAYMENTS):
                operations.post_repayment(
                    officer,
                    repaid.id,
                    {"paid_on": PAID_ON, "amount": Decimal("1234.56"), "reference": f"S-{number}"},
                    as_of=AS_OF,
                )
            db.session.commit()
            app.config["writer"] = (officer.id, writes_to.id)
            db.session.remove()
        yield app


@pytest.fixture(scope="module")
def source_url(source: Flask) -> str:
    return source.config["SQLALCHEMY_DATABASE_URI"]


@pytest.fixture(scope="module")
def quiet_backup(source_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A backup of the source made while nothing writes, into a directory (default name)."""
    folder = tmp_path_factory.mktemp("backups")
    result = run_script("backup", folder, url=source_url)
    assert result.returncode == 0, result.stderr
    (file,) = (path for path in folder.iterdir() if path.suffix != ".json")
    assert f"Backup written to {file}" in result.stdout
    return file


@pytest.fixture
def target_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second, fresh and empty database to restore into."""
    with own_database(tmp_path_factory, "restored") as url:
        yield url


def test_backup_names_the_file_and_writes_its_manifest(quiet_backup: Path, source_url: str) -> None:
    extension = "dump" if ON_POSTGRES else "sqlite3"
    assert re.fullmatch(rf"{ENGINE}-[\w.-]+-\d{{8}}T\d{{6}}Z\.{extension}", quiet_backup.name)
    assert stat.S_IMODE(quiet_backup.stat().st_mode) == 0o600  # it holds personal data
    manifest = json.loads(backups.manifest_path(quiet_backup).read_text(encoding="utf-8"))
    assert manifest["engine"] == ENGINE
    assert manifest["file"] == quiet_backup.name
    assert manifest["bytes"] == quiet_backup.stat().st_size
    assert manifest["sha256"] == file_digest(quiet_backup)
    assert content(manifest) == manifest_of(source_url)
    assert manifest["tables"]["loan"] == 2
    assert manifest["tables"]["repayment"] == SEEDED_REPAYMENTS
    assert manifest["balances_fen"]["loan.amount"] == 16_000_000  # 160,000.00 yuan
    assert manifest["balances_fen"]["repayment.amount"] == SEEDED_REPAYMENTS * 123456
    assert manifest["balances_fen"]["fund_entry.amount_by_region"][WRITER_REGION] == 50_000_000
    if not ON_POSTGRES:  # one self-contained file, ready to copy off the machine
        assert not Path(f"{quiet_backup}-wal").exists()
        with sqlite3.connect(quiet_backup) as connection:
            assert connection.execute("PRAGMA journal_mode").fetchone() == ("delete",)


def test_restore_into_a_fresh_database_reproduces_every_table_and_balance(
    quiet_backup: Path, source_url: str, target_url: str
) -> None:
    result = run_script("restore", quiet_backup, url=target_url)
    assert result.returncode == 0, result.stderr
    assert "match its manifest" in result.stdout

    counts = row_counts(source_url)
    assert row_counts(target_url) == counts
    for name in ("founder", "loan", "loan_installment", "repayment", "repayment_allocation"):
        assert counts[name] > 0, name
    assert counts["fund_entry"] >= 2
    money = balances(source_url)
    assert balances(target_url) == money
    assert money["repayment.amount"] == Decimal("3703.68") == money["allocated"]
    assert money["funds"][WRITER_REGION] == Decimal("500000.00")
    assert manifest_of(target_url) == manifest_of(source_url)
    if ON_POSTGRES:  # pg_restore brings no planner statistics: the restore analyzed
        with session_on(target_url) as session:
            analyzed = session.scalar(
                text("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'repayment'")
            )
        assert analyzed is not None


def test_online_backup_while_the_app_writes_is_one_consistent_state(
    source: Flask, source_url: str, target_url: str, tmp_path: Path
) -> None:
    officer_id, loan_id = source.config["writer"]
    committed: list[int] = []
    failures: list[BaseException] = []
    stop = threading.Event()

    def write() -> None:
        """Each commit: one repayment and one fund deposit sharing the reference W-<n>."""
        with source.app_context():
            try:
                number = 0
                while not stop.is_set():
                    number += 1
                    officer = db.session.get(User, officer_id)
                    values = {
                        "paid_on": PAID_ON,
                        "amount": Decimal("10.00"),
                        "reference": f"W-{number}",
                    }
                    operations.post_repayment(officer, loan_id, values, as_of=AS_OF)
                    db.session.add(
                        FundEntry(
                            region_code=WRITER_REGION,
                            kind=FundEntryKind.DEPOSIT,
                            entry_on=PAID_ON,
                            amount=Decimal("1.00"),
                            reference=f"W-{number}",
                        )
                    )
                    db.session.commit()
                    committed.append(number)
            except BaseException as error:
                failures.append(error)
            finally:
                db.session.remove()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        deadline = time.monotonic() + 60
        while len(committed) < 3 and not failures and time.monotonic() < deadline:
            time.sleep(0.01)
        before = len(committed)
        result = run_script("backup", tmp_path / "online.backup", url=source_url)
        after = len(committed)
    finally:
        stop.set()
        writer.join(timeout=60)
    assert not failures, failures
    assert result.returncode == 0, result.stderr
    manifest = backups.read_manifest(tmp_path / "online.backup")
    in_backup = manifest["tables"]["repayment"] - SEEDED_REPAYMENTS
    # The writer went on committing while the script ran, and the copy is one moment of it:
    # no earlier than the script's start, no later than its end. Where inside that window
    # the snapshot falls is the scheduler's business (SQLite copies in one step, near the end
    # of a short script), so the test does not pin it; what it pins is that the copy holds
    # whole transactions, in commit order, below.
    assert after > before, "the writer must have been committing during the backup"
    assert before <= in_backup <= after, (before, in_backup, after)

    result = run_script("restore", tmp_path / "online.backup", url=target_url)
    assert result.returncode == 0, result.stderr
    with session_on(target_url) as session:
        references = session.scalars(
            select(Repayment.reference).where(Repayment.reference.like("W-%"))
        ).all()
        deposits = session.scalars(
            select(FundEntry.reference).where(FundEntry.reference.like("W-%"))
        ).all()
        # Whole transactions, in commit order: W-1 .. W-n in both tables, nothing torn.
        expected = {f"W-{number}" for number in range(1, in_backup + 1)}
        assert set(references) == expected
        assert set(deposits) == expected
        for loan in session.scalars(select(Loan)):
            principal_paid = session.scalar(
                select(func.coalesce(func.sum(Allocation.principal), 0))
                .join(Repayment, Allocation.repayment_id == Repayment.id)
                .where(Repayment.loan_id == loan.id)
            )
            assert loan.amount - loan.outstanding_principal == principal_paid
    money = balances(target_url)
    assert money["repayment.amount"] == money["allocated"]
    assert money["repayment.amount"] == Decimal("3703.68") + in_backup * Decimal("10.00")
    assert money["funds"][WRITER_REGION] == Decimal("500000.00") + in_backup * Decimal("1.00")
    assert manifest_of(target_url) == content(manifest)


def test_restore_replaces_a_database_that_holds_tables_only_with_yes(
    quiet_backup: Path, target_url: str
) -> None:
    assert run_script("restore", quiet_backup, url=target_url).returncode == 0
    with session_on(target_url) as session:
        fund_entry = FundEntry(
            region_code="460300",
            kind=FundEntryKind.DEPOSIT,
            entry_on=PAID_ON,
            amount=Decimal("7.00"),
            reference="made after the restore",
        )
        session.add(fund_entry)
        session.commit()
    changed = target_state(target_url)

    result = run_script("restore", quiet_backup, url=target_url)
    assert result.returncode == 1
    assert "already holds" in result.stderr
    assert "--yes" in result.stderr
    assert target_state(target_url) == changed

    result = run_script("restore", quiet_backup, "--yes", url=target_url)
    assert result.returncode == 0, result.stderr
    manifest = backups.read_manifest(quiet_backup)
    assert manifest_of(target_url) == content(manifest)
    assert "460300" not in manifest_of(target_url)["balances_fen"]["fund_entry.amount_by_region"]


def rewrite_manifest_for(file: Path, manifest: dict[str, Any]) -> None:
    """Give a damaged file a manifest whose checksum fits it, so the engine has to notice."""
    data = file.read_bytes()
    fitted = manifest | {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    backups.manifest_path(file).write_text(json.dumps(fitted), encoding="utf-8")


def test_a_damaged_backup_fails_clearly_and_leaves_the_target_untouched(
    quiet_backup: Path, target_url: str, tmp_path: Path
) -> None:
    assert run_script("restore", quiet_backup, url=target_url).returncode == 0
    untouched = target_state(target_url)
    manifest = backups.read_manifest(quiet_backup)
    data = quiet_backup.read_bytes()

    truncated = tmp_path / f"truncated{quiet_backup.suffix}"
    truncated.write_bytes(data[: len(data) // 2])
    backups.manifest_path(truncated).write_text(json.dumps(manifest), encoding="utf-8")
    result = run_script("restore", truncated, "--yes", url=target_url)
    assert result.returncode == 1
    assert "is damaged (truncated or corrupted)" in result.stderr
    assert "Nothing was changed" in result.stderr
    assert target_state(target_url) == untouched

    # Cut short, with a manifest fitted to it: the engine itself notices, and the target
    # stays as it was (SQLite: the copy is staged beside it). PostgreSQL loses only the
    # archive's last data block, past its table of contents, so pg_restore has begun
    # (dropped tables, loaded others) when it fails, and all of it rolls back.
    cut = tmp_path / f"cut{quiet_backup.suffix}"
    cut.write_bytes(data[: len(data) - 64] if ON_POSTGRES else data[: len(data) * 9 // 10])
    rewrite_manifest_for(cut, manifest)
    result = run_script("restore", cut, "--yes", url=target_url)
    assert result.returncode == 1
    engine_says = (
        "failed; nothing was changed (one transaction)"
        if ON_POSTGRES
        else "is not a usable SQLite database"
    )
    assert engine_says in result.stderr
    assert "nothing was changed" in result.stderr
    assert target_state(target_url) == untouched

    garbage = tmp_path / f"garbage{quiet_backup.suffix}"
    garbage.write_bytes(os.urandom(len(data)))
    rewrite_manifest_for(garbage, manifest)
    result = run_script("restore", garbage, "--yes", url=target_url)
    assert result.returncode == 1
    assert "not a usable" in result.stderr
    assert target_state(target_url) == untouched

    alone = tmp_path / f"alone{quiet_backup.suffix}"
    alone.write_bytes(data)
    result = run_script("restore", alone, "--yes", url=target_url)
    assert result.returncode == 1
    assert "No manifest beside the backup" in result.stderr
    assert target_state(target_url) == untouched


def test_restore_refuses_a_backup_of_the_other_engine(quiet_backup: Path, tmp_path: Path) -> None:
    other = (
        f"sqlite:///{tmp_path / 'other.db'}"
        if ON_POSTGRES
        else "postgresql+psycopg://postgres@127.0.0.1:5432/never_touched"
    )
    with pytest.raises(backups.BackupError, match=f"backup of a {ENGINE} database"):
        backups.restore(quiet_backup, other, overwrite=True)
    assert not (tmp_path / "other.db").exists()


def test_sqlite_restore_waits_for_the_database_to_be_closed(tmp_path: Path) -> None:
    """Never swap a SQLite file from under an open connection (whose -wal would then be
    replayed onto the restored file): refused while open, done once closed. Runs on both
    test runs: it needs no server."""
    source = tmp_path / "source.db"
    with sqlite3.connect(source) as connection:
        connection.execute("CREATE TABLE fund_entry (region_code TEXT, amount INTEGER)")
        connection.execute("INSERT INTO fund_entry VALUES ('460100', 12345)")
    connection.close()
    file, _ = backups.backup(f"sqlite:///{source}", tmp_path / "copy.sqlite3")
    target = tmp_path / "target.db"
    shutil.copyfile(source, target)
    holder = sqlite3.connect(target, isolation_level=None)
    try:
        holder.execute("PRAGMA journal_mode=WAL")
        holder.execute("INSERT INTO fund_entry VALUES ('460200', 1)")
        with pytest.raises(backups.BackupError, match="is in use"):
            backups.restore(file, f"sqlite:///{target}", overwrite=True)
        assert holder.execute("SELECT count(*) FROM fund_entry").fetchone() == (2,)
    finally:
        holder.close()
    manifest = backups.restore(file, f"sqlite:///{target}", overwrite=True)
    assert manifest["balances_fen"]["fund_entry.amount_by_region"] == {"460100": 12345}
    assert manifest["balances_fen"]["loan.amount"] is None  # no such table here
    with sqlite3.connect(target) as connection:
        assert connection.execute("SELECT * FROM fund_entry").fetchall() == [("460100", 12345)]
    connection.close()
    assert not Path(f"{target}-wal").exists()
