"""Benchmark of the founders bulk import (and optionally the export) on a throwaway database.

Builds an .xlsx of N valid, unique Hainan founders, imports it through `import_founders`
as a province staff member, commits, and prints the time to read, validate, insert and
commit, the total, and the peak memory. Run it through `scripts/bench-import`.
"""

from __future__ import annotations

import argparse
import multiprocessing
import queue as queue_module
import random
import resource
import secrets
import shutil
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from openpyxl import Workbook

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏"
    "魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵"
    "万钱严覃武戴莫孔向汤符吉麦冼"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华玉萍红娥玲芬燕彬鑫斌宇浩凯健俊帆帅旭"
    "宁晨辰阳佳琪欣怡梓涵子轩雨婷思源文博一鸣海波国庆建华志强春梅秋菊冬梅晓东小龙"
)
# ID-number prefixes of Hainan (cities, counties and Haikou's districts).
ID_PREFIXES = ("460105", "460106", "460107", "460108", "460202", "460203", "460400", "469002")
GROUPS = (
    "laid_off",
    "下岗失业人员",
    "college_graduate",
    "高校毕业生",
    "农民工",
    "returning_migrant",
    "建档立卡贫困人员",
    "veteran",
    "other",
)
LEVELS = ("初中", "高中", "high_school", "大专", "本科", "vocational", "")
BIRTH_DAYS = 14_600  # 1965-01-01 plus up to 40 years
AS_OF = date(2026, 11, 22)  # registration dates are drawn from 2024-01-01 to 2026-09-26


def id_number_for(index: int, prefix: str) -> str:
    """The index-th unique valid ID number (birth date and serial both come from the index)."""
    from app.core.validators import id_number_check_char

    born = date(1965, 1, 1) + timedelta(days=index % BIRTH_DAYS)
    serial = index // BIRTH_DAYS  # < 1000 for up to 14.6 million rows
    first17 = f"{prefix}{born:%Y%m%d}{serial:03d}"
    return first17 + id_number_check_char(first17)


def write_file(
    path: str,
    rows: int,
    region_codes: list[str],
    seed: int,
    prefixes: tuple[str, ...] = ID_PREFIXES,
) -> None:
    """Write the benchmark's .xlsx: Chinese headers, real Excel dates, text identifiers
    (ID numbers start with one of `prefixes`)."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("创业者")
    sheet.append(
        [
            "姓名",
            "身份证号",
            "手机号",
            "所属地区",
            "人员类别",
            "文化程度",
            "再就业优惠证",
            "登记日期",
        ]
    )
    for index in range(rows):
        given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
        sheet.append(
            [
                rng.choice(SURNAMES) + given,
                id_number_for(index, rng.choice(prefixes)),
                f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}",
                rng.choice(region_codes),
                rng.choice(GROUPS),
                rng.choice(LEVELS),
                rng.choice(("是", "否", "否")),
                date(2024, 1, 1) + timedelta(days=rng.randrange(1000)),
            ]
        )
    workbook.save(path)


def peak_mb() -> float:
    """Peak resident memory of this process so far, in MB.

    Linux's VmHWM belongs to this process alone; getrusage's ru_maxrss (the fallback)
    carries over the parent's figure into a spawned child.
    """
    status = Path("/proc/self/status")
    lines = status.read_text().splitlines() if status.exists() else []
    for line in lines:
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_export(database_url: str, username: str, queue: multiprocessing.Queue) -> None:
    """In a fresh process: export every founder the user sees; report time, rows, memory."""
    from app import create_app
    from app.auth.models import User
    from app.extensions import db
    from app.founders.export import export_founders_xlsx

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=database_url)
    with app.app_context():
        user = db.session.query(User).filter_by(username=username).one()
        before = peak_mb()
        started = time.perf_counter()
        path, count = export_founders_xlsx(user, exported_at=datetime.now(UTC))
        elapsed = time.perf_counter() - started
        size = path.stat().st_size
        path.unlink()
        queue.put((elapsed, count, size, before, peak_mb()))


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, build the file and the database, import, and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--database-url",
        help="a database to use (PostgreSQL: postgresql://postgres@127.0.0.1/bench_test); "
        "default: a SQLite file in a temporary directory",
    )
    parser.add_argument(
        "--mode", default="all_or_nothing", choices=("all_or_nothing", "valid_rows")
    )
    parser.add_argument("--export", action="store_true", help="also time the export of all rows")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the imported rows (and the temporary SQLite database and file)",
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    from flask_migrate import upgrade
    from sqlalchemy import delete, make_url, select

    from app import create_app
    from app.auth import operations as auth_operations
    from app.auth.models import User
    from app.core.audit import AuditEntry
    from app.extensions import db
    from app.founders.bulk_import import import_founders
    from app.founders.models import Founder, FounderImport
    from app.regions.models import Region
    from config import _normalise_database_url

    workdir = Path(tempfile.mkdtemp(prefix="bench-import-"))
    url = _normalise_database_url(args.database_url or f"sqlite:///{workdir / 'bench.db'}")
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade()
        codes = list(db.session.scalars(select(Region.code).where(Region.parent_code == "460000")))
        db.session.rollback()

    xlsx = workdir / "founders.xlsx"
    started = time.perf_counter()
    spawn = multiprocessing.get_context("spawn")
    writer = spawn.Process(target=write_file, args=(str(xlsx), args.rows, codes, args.seed))
    writer.start()
    writer.join()
    if writer.exitcode:
        return writer.exitcode
    print(
        f"file: {xlsx} ({xlsx.stat().st_size / 1e6:.1f} MB, {args.rows:,} rows), "
        f"built in {time.perf_counter() - started:.1f} s"
    )
    print(f"database: {make_url(url).render_as_string(hide_password=True)}")

    username = f"bench.{int(time.time())}"
    with app.app_context():
        actor = auth_operations.create_user(
            None,
            username=username,
            password=secrets.token_urlsafe(16),
            role="staff",
            region_code="460000",
        )
        db.session.commit()
        baseline = peak_mb()
        timings: dict[str, float] = {}
        with xlsx.open("rb") as stream:
            result = import_founders(
                actor,
                stream,
                xlsx.name,
                mode=args.mode,
                as_of=AS_OF,
                timings=timings,
            )
        commit_started = time.perf_counter()
        db.session.commit()
        timings["commit"] = time.perf_counter() - commit_started
        peak = peak_mb()
        total = timings["total"] + timings["commit"]
        print(
            f"created {result.created_count:,} of {result.total_rows:,} rows, "
            f"{result.error_count:,} problems"
        )
        print(f"read      {timings['read']:6.2f} s")
        print(f"validate  {timings['validate']:6.2f} s")
        print(f"insert    {timings['insert']:6.2f} s  (founders + audit entries, flushed)")
        print(f"commit    {timings['commit']:6.2f} s")
        print(f"total     {total:6.2f} s  (target < 30 s)")
        print(f"peak memory {peak:.0f} MB (before the import {baseline:.0f} MB)")

    if args.export:
        queue = spawn.Queue()
        exporter = spawn.Process(target=run_export, args=(url, username, queue))
        exporter.start()
        try:
            elapsed, count, size, before, after = queue.get(timeout=1_800)
        except queue_module.Empty:
            print("the export did not finish (see its error above)")
            return 1
        finally:
            exporter.join(timeout=60)
        print(
            f"export    {elapsed:6.2f} s  ({count:,} rows, {size / 1e6:.1f} MB; "
            f"peak memory {after:.0f} MB, {before:.0f} MB before the export)"
        )

    if args.database_url and not args.keep:
        with app.app_context():
            actor = db.session.scalar(select(User).where(User.username == username))
            ids = [
                int(value)
                for value in db.session.scalars(
                    select(AuditEntry.entity_id).where(
                        AuditEntry.actor_id == actor.id, AuditEntry.action == "founder.import"
                    )
                )
            ]
            db.session.execute(
                delete(AuditEntry).where(
                    (AuditEntry.actor_id == actor.id)
                    | (
                        (AuditEntry.entity_type == "user_account")
                        & (AuditEntry.entity_id == str(actor.id))
                    )
                )
            )
            db.session.execute(delete(FounderImport).where(FounderImport.actor_id == actor.id))
            for start in range(0, len(ids), 5_000):
                chunk = ids[start : start + 5_000]
                db.session.execute(delete(Founder).where(Founder.id.in_(chunk)))
            db.session.delete(actor)
            db.session.commit()
            print("removed the imported rows and the benchmark account")
    with app.app_context():
        db.engine.dispose()
    if args.keep and not args.database_url:
        print(f"kept {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
