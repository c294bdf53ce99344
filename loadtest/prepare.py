"""Get the load test's database ready: schema, demo data, and the accounts it signs in with.

Run as `python -m loadtest.prepare ACCOUNTS_JSON --seed-founders N` with APP_ENV and
DATABASE_URL set. It upgrades the schema, seeds an empty database with the demo data
(`flask demo seed`'s own function) for N founders (a database that holds founders is used
as it is, never reseeded), then picks the city with the most loans being repaid and
creates, through the same `create_user` as the CLI (so passwords are hashed as in
production):

- staff: half of them province staff (the heaviest lists: the whole province), half
  staff of that city;
- founders: accounts linked to real founders of the province who have an operating
  business and no account yet, each with the id of that business;
- officers of that city, whose scope holds its active loans.

Accounts that exist already (a second run on the same database) are kept as they are.
The JSON it writes is what loadtest/locustfile.py reads: usernames, the shared password,
and each founder account's business.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

# A throwaway load-test database's accounts; long enough for the password rules.
PASSWORD = "Load-test-accounts-2026!"  # noqa: S105


def main(argv: list[str] | None = None) -> int:
    """Create the accounts and write their description to the given JSON file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("accounts_file", type=Path)
    parser.add_argument("--seed-founders", type=int, default=20_000)
    parser.add_argument("--staff", type=int, default=10)
    parser.add_argument("--founders", type=int, default=60)
    parser.add_argument("--officers", type=int, default=10)
    args = parser.parse_args(argv)

    from app import create_app

    app = create_app()
    with app.app_context():
        seed_when_empty(args.seed_founders)
        accounts = prepare_accounts(args.staff, args.founders, args.officers)
    args.accounts_file.write_text(json.dumps(accounts, indent=2), encoding="utf-8")
    print(
        f"accounts: {len(accounts['staff'])} staff, {len(accounts['founders'])} founders, "
        f"{len(accounts['officers'])} officers in {accounts['city']} "
        f"({accounts['active_loans']} active loans there)"
    )
    return 0


def seed_when_empty(founders: int) -> None:
    """Upgrade the schema; seed the demo data when the database has no founder yet."""
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from app.core.dates import today_in_china
    from app.demo.seed import seed_demo_data
    from app.extensions import db
    from app.founders.models import Founder

    upgrade()
    count = db.session.scalar(select(func.count()).select_from(Founder))
    if count:
        print(f"the database holds {count:,} founders already: used as it is, not reseeded")
        return
    print(f"seeding the demo data for {founders:,} founders …", flush=True)
    seed_demo_data(as_of=today_in_china(), founder_count=founders)
    db.session.commit()


def prepare_accounts(staff: int, founders: int, officers: int) -> dict[str, Any]:
    """Create (or find) the accounts and return what the locustfile needs to know."""
    from sqlalchemy import func, select

    from app.core.permissions import Role
    from app.extensions import db
    from app.loans.models import Loan, LoanStatus
    from app.regions.models import Region

    city, active_loans = db.session.execute(
        select(Loan.region_code, func.count())
        .join(Region, Region.code == Loan.region_code)
        .where(Loan.status == LoanStatus.ACTIVE, Region.parent_code.is_not(None))
        .group_by(Loan.region_code)
        .order_by(func.count().desc(), Loan.region_code)
        .limit(1)
    ).one()
    province = db.session.scalar(select(Region.parent_code).where(Region.code == city))
    staff_names = [
        _ensure_user(f"lt.staff.{n}", Role.STAFF, province if n % 2 else city)
        for n in range(1, staff + 1)
    ]
    officer_names = [
        _ensure_user(f"lt.officer.{n}", Role.OFFICER, city) for n in range(1, officers + 1)
    ]
    founder_accounts = _founder_accounts(founders, province, city)
    db.session.commit()
    return {
        "password": PASSWORD,
        "province": province,
        "city": city,
        "active_loans": active_loans,
        "staff": staff_names,
        "officers": officer_names,
        "founders": founder_accounts,
    }


def _ensure_user(username: str, role: str, region_code: str, founder_id: int | None = None) -> str:
    from app.auth.operations import create_user, get_user_by_username

    if get_user_by_username(username) is None:
        create_user(
            None,
            username=username,
            password=PASSWORD,
            role=role,
            region_code=region_code,
            founder_id=founder_id,
            display_name=username,
        )
    return username


def _founder_accounts(count: int, province: str, city: str) -> list[dict[str, Any]]:
    """Founder accounts with one operating business each: the existing ones first, then
    new ones for founders of the city (then the province) who have no account."""
    from sqlalchemy import func, select

    from app.auth.models import User
    from app.businesses.models import Business, BusinessStatus
    from app.core.permissions import Role
    from app.extensions import db
    from app.founders.models import Founder
    from app.regions.models import Region

    operating = (
        select(Business.founder_id, func.min(Business.id).label("business_id"))
        .where(Business.status == BusinessStatus.OPERATING)
        .group_by(Business.founder_id)
        .subquery()
    )
    existing = db.session.execute(
        select(User.username, User.founder_id, operating.c.business_id)
        .join(operating, operating.c.founder_id == User.founder_id)
        .where(User.role == Role.FOUNDER, User.username.like("lt.founder.%"))
        .order_by(User.id)
    ).all()
    accounts = [
        {"username": name, "founder_id": founder_id, "business_id": business_id}
        for name, founder_id, business_id in existing[:count]
    ]
    missing = count - len(accounts)
    if missing > 0:
        has_account = select(User.id).where(User.founder_id == Founder.id).exists()
        candidates = db.session.execute(
            select(Founder.id, Founder.region_code, operating.c.business_id)
            .join(operating, operating.c.founder_id == Founder.id)
            .join(Region, Region.code == Founder.region_code)
            .where(~has_account, (Region.code == city) | (Region.parent_code == province))
            .order_by((Founder.region_code != city), Founder.id)
            .limit(missing)
        ).all()
        taken = db.session.scalar(
            select(func.count()).select_from(User).where(User.username.like("lt.founder.%"))
        )
        for offset, (founder_id, region_code, business_id) in enumerate(candidates, start=1):
            name = _ensure_user(
                f"lt.founder.{taken + offset}", Role.FOUNDER, region_code, founder_id
            )
            accounts.append(
                {"username": name, "founder_id": founder_id, "business_id": business_id}
            )
    if not accounts:
        sys.exit("no founder with an operating business: seed more founders")
    return accounts


if __name__ == "__main__":
    sys.exit(main())
