"""Get a database ready for the bench: schema, demo data when empty, bench accounts, and the
choices every measurement shares (regions, dates, filters, the import file)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

BENCH_PASSWORD = "Bench-figures-2026!"  # noqa: S105 - accounts of a throwaway bench database
PROVINCE_USER = "bench.province"
CITY_USER = "bench.city"
# Haikou's district codes: ID numbers the demo seed never issues (it uses city codes).
IMPORT_ID_PREFIXES = ("460105", "460106", "460107", "460108")
EXPORT_ROWS = 100_000


def prepare(app: Any, founders: int, import_rows: int, workdir: Path) -> dict[str, Any]:
    """Upgrade, seed an empty database with `founders`, add the bench accounts; the context."""
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from app.core.dates import today_in_china
    from app.demo.seed import seed_demo_data
    from app.extensions import db
    from app.founders.models import Founder

    with app.app_context():
        upgrade()
        count = db.session.scalar(select(func.count()).select_from(Founder))
        if not count:
            print(f"seeding {founders:,} founders …", flush=True)
            seed_demo_data(as_of=today_in_china(), founder_count=founders)
            db.session.commit()
            count = db.session.scalar(select(func.count()).select_from(Founder))
        elif count != founders:
            print(f"the database holds {count:,} founders already: used as it is, not reseeded")
        context = _choices(db, count)
        _bench_accounts(db, context)
        db.session.commit()
        context["import_file"] = str(_import_file(workdir, import_rows, context))
        db.session.rollback()
    return context


def _choices(db: Any, count: int) -> dict[str, Any]:
    from sqlalchemy import func, literal_column, select

    from app.core.dates import today_in_china
    from app.founders.forms import TRAINING_STATUS_LABELS
    from app.founders.models import Founder, TargetGroup
    from app.loans.models import Loan
    from app.regions.models import Region

    province_of = func.coalesce(Region.parent_code, Region.code)
    province = db.session.execute(
        select(province_of, func.count(Founder.id))
        .join(Region, Region.code == Founder.region_code)
        .group_by(province_of)
        .order_by(func.count(Founder.id).desc())
        .limit(1)
    ).one()[0]
    cities = db.session.execute(
        select(Founder.region_code, func.count())
        .join(Region, Region.code == Founder.region_code)
        .where(Region.parent_code == province)
        .group_by(Founder.region_code)
        .order_by(func.count().desc())
    ).all()
    as_of = today_in_china()
    last_sweep = db.session.scalar(select(func.max(Loan.swept_on)))
    in_province = Founder.region_code.in_([code for code, _n in cities] + [province])
    export_from = db.session.scalar(
        select(Founder.registered_on)
        .where(in_province)
        .order_by(Founder.registered_on.desc())
        .offset(EXPORT_ROWS - 1)
        .limit(1)
    )
    first_character = func.substr(Founder.name, literal_column("1"), literal_column("1"))
    surnames = db.session.scalars(
        select(first_character)
        .where(in_province)
        .group_by(first_character)
        .order_by(func.count().desc())
        .limit(5)
    ).all()
    return {
        "founders": count,
        "as_of": as_of.isoformat(),
        "daily_as_of": ((last_sweep or as_of) + timedelta(days=1)).isoformat(),
        "province_code": province,
        "city_code": cities[0][0],
        "city_codes": [code for code, _n in cities],
        "province_user": PROVINCE_USER,
        "city_user": CITY_USER,
        "password": BENCH_PASSWORD,
        # Up to EXPORT_ROWS of the newest founders (the export filters by registration day).
        "export_from": export_from.isoformat() if export_from else None,
        "target_groups": [group.value for group in TargetGroup],
        "training_statuses": list(TRAINING_STATUS_LABELS),
        "name_prefixes": list(surnames),
        "registered_from": (as_of - timedelta(days=90)).isoformat(),
    }


def _bench_accounts(db: Any, context: dict[str, Any]) -> None:
    from app.auth import operations
    from app.auth.models import User
    from app.core.permissions import Role

    for username, region in (
        (PROVINCE_USER, context["province_code"]),
        (CITY_USER, context["city_code"]),
    ):
        user = operations.get_user_by_username(username)
        if user is not None and user.region_code != region:
            raise SystemExit(f"{username} exists for region {user.region_code}, not {region}")
        if user is None:
            operations.create_user(
                None,
                username=username,
                password=BENCH_PASSWORD,
                role=Role.STAFF.value,
                region_code=region,
                display_name="bench",
            )
    assert db.session.query(User).filter(User.username.in_([PROVINCE_USER, CITY_USER])).count()


def _import_file(workdir: Path, rows: int, context: dict[str, Any]) -> Path:
    """The .xlsx of `rows` new founders in the province's cities (built once per bench)."""
    from scripts.bench_import import write_file

    path = workdir / f"import-{rows}.xlsx"
    if not path.exists():
        write_file(str(path), rows, context["city_codes"], seed=7, prefixes=IMPORT_ID_PREFIXES)
    return path


def as_date(value: str) -> date:
    """An ISO date of the context."""
    return date.fromisoformat(value)
