"""`flask demo seed`: write the synthetic founders and training, the demo accounts, the
library, then businesses with their observations, the incubation bases and the loans.

Built for a million founders: rows are plain dicts (never one ORM object per row) written
a batch at a time (`bulk.insert_rows`: COPY on PostgreSQL, a batched Core INSERT on
SQLite). Founders stream through in batches of 5,000, each written with its cohorts and
enrollments; founder ids are assigned here, so no RETURNING is needed, and nothing about a
founder is kept once its batch is written except its ID number's digits (to keep them
unique). Businesses are planned from the founders read back in id ranges, the same way.
Like a job, the seed commits per stage (catalogue, each batch, accounts and library, each
business batch, incubation, each month of loan history, each day of follow-up history, each
monthly KPI snapshot and the audit entry), so a large
run never holds one huge transaction. The same seed and `as_of` give the same data. Loans
go through the loan operations one by one (`demo.loans`), so their number is capped.
"""

from __future__ import annotations

import bisect
import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from random import Random
from typing import Any, Protocol

from sqlalchemy import func, insert, select

from app.auth import operations as auth_operations
from app.core.audit import record_audit
from app.core.db import utcnow
from app.core.permissions import Role
from app.demo.bulk import insert_rows, move_id_sequence_past, refresh_statistics
from app.demo.businesses import write_businesses
from app.demo.followups import write_followup_history, write_kpi_snapshots
from app.demo.founders import SHOWCASE_REGION, FounderFactory, registration_dates
from app.demo.incubation import ResidentPool, write_incubation
from app.demo.library import write_library
from app.demo.loans import write_loans
from app.demo.targets import write_targets
from app.demo.training import (
    CourseInfo,
    InstitutionInfo,
    PlannedEnrollment,
    TrainingPlanner,
    institution_pass_rate,
    institution_rows,
    skill_course_rows,
)
from app.extensions import db
from app.founders.models import Founder, TargetGroup
from app.regions.models import Region
from app.training.models import Cohort, Course, Enrollment, Institution, TrainingResult

logger = logging.getLogger(__name__)

SEED = 2026
DEFAULT_FOUNDERS = 300
BATCH_SIZE = 5_000
# The demo founder registered about this long before `as_of`, so their SYB is long done.
SHOWCASE_DAYS_AGO = 400

DEMO_ACCOUNTS = (
    ("admin", Role.ADMIN, "460000", "系统管理员"),
    ("staff.hainan", Role.STAFF, "460000", "王海燕（省创业指导中心）"),
    ("staff.haikou", Role.STAFF, "460100", "李明（海口市创业指导中心）"),
    ("officer.haikou", Role.OFFICER, "460100", "陈志强（海口担保中心）"),
    ("officer.hainan", Role.OFFICER, "460000", "赵建华（海南省担保中心）"),
    ("founder.demo", Role.FOUNDER, SHOWCASE_REGION, "林小红（创业者）"),
)


class ProgressBar(Protocol):
    """What the seed needs of a progress bar (click's has it)."""

    def update(self, n_steps: int) -> None:
        """Advance by `n_steps`."""


# Called with a label and a total; answers a context manager giving a ProgressBar.
ProgressFactory = Callable[[str, int], AbstractContextManager[ProgressBar]]


class _SilentBar:
    """A progress bar for small seeds: nothing worth showing."""

    def update(self, n_steps: int) -> None:
        """Small seeds finish before progress would mean anything."""


@contextlib.contextmanager
def _no_progress(label: str, length: int) -> Iterator[ProgressBar]:
    yield _SilentBar()


class DemoSeedRefused(Exception):
    """The database already holds founders, so demo data would mix with them."""


@dataclass
class DemoLogin:
    """One demo account as printed and saved for the developer."""

    username: str
    role: str
    region_code: str
    password: str


@dataclass
class SeedSummary:
    """What one seed run wrote."""

    counts: dict[str, int] = field(default_factory=dict)
    logins: list[DemoLogin] = field(default_factory=list)
    # Seconds per stage, in the order they ran: where a large seed spends its time.
    seconds: dict[str, float] = field(default_factory=dict)

    @contextlib.contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        """Time one stage of the seed and log it when it ends."""
        started = time.perf_counter()
        yield
        self.seconds[stage] = time.perf_counter() - started
        logger.info("demo seed: %s took %.1f s", stage, self.seconds[stage])


def seed_demo_data(
    *,
    as_of: date,
    founder_count: int = DEFAULT_FOUNDERS,
    progress: ProgressFactory | None = None,
    seed: int = SEED,
) -> SeedSummary:
    """Create founders, institutions, courses, cohorts, enrollments, the demo accounts, the
    library, businesses with observations, incubation bases with residents, loans, the
    follow-up history, Hainan's targets and a year of monthly KPI snapshots.

    Commits after each stage. Refuses (DemoSeedRefused) when founders exist already.
    """
    if founder_count < 1:
        raise ValueError("founder_count must be at least 1")
    if db.session.scalar(select(Founder.id).limit(1)) is not None:
        raise DemoSeedRefused(
            "Founders exist already (an earlier demo seed stopped part-way?); "
            "demo data is only created on an empty database."
        )
    now = utcnow()
    region_names = dict(db.session.execute(select(Region.code, Region.name)).all())
    if SHOWCASE_REGION not in region_names:
        raise DemoSeedRefused(f"Region {SHOWCASE_REGION} is missing; run `flask db upgrade`.")
    summary = SeedSummary()
    bar = progress or _no_progress
    usernames = [username for username, *_ in DEMO_ACCOUNTS]
    with summary.timed("founders and training"):
        training_rng = _random_stream(seed, "training")
        courses, courses_added = write_courses()
        institutions, institutions_added = write_institutions(region_names, training_rng, now)
        db.session.commit()
        planner = TrainingPlanner(
            training_rng,
            as_of=as_of,
            founder_count=founder_count,
            courses=courses,
            institutions=institutions,
        )
        counts, showcase_id = write_founders_and_training(
            _random_stream(seed, "founders"),
            planner,
            as_of=as_of,
            founder_count=founder_count,
            region_codes=set(region_names),
            now=now,
            progress=bar,
        )
        refresh_statistics()
    with summary.timed("accounts and library"):
        summary.logins = create_demo_accounts(showcase_id)
        library_counts = write_library(
            _random_stream(seed, "library"), as_of=as_of, showcase_founder_id=showcase_id
        )
        db.session.commit()
    with summary.timed("businesses and observations"):
        residents = ResidentPool(_random_stream(seed, "residents"))
        business_counts = write_businesses(
            _random_stream(seed, "businesses"),
            as_of=as_of,
            now=now,
            founder_count=founder_count,
            showcase_founder_id=showcase_id,
            progress=bar,
            on_business=residents.offer,
        )
        refresh_statistics()
    with summary.timed("incubation"):
        incubation_counts = write_incubation(
            _random_stream(seed, "incubation"), residents, as_of=as_of, now=now
        )
    with summary.timed("loans"):
        loan_counts = write_loans(
            _random_stream(seed, "loans"),
            as_of=as_of,
            now=now,
            founder_count=founder_count,
            showcase_founder_id=showcase_id,
            demo_usernames=usernames,
            progress=progress,
        )
        refresh_statistics()
    with summary.timed("follow-up history"):
        followup_counts = write_followup_history(
            _random_stream(seed, "followups"),
            as_of=as_of,
            demo_usernames=usernames,
            founder_count=founder_count,
            progress=progress,
        )
    with summary.timed("targets and snapshots"):
        target_counts = write_targets(
            _random_stream(seed, "targets"), as_of=as_of, demo_usernames=usernames
        )
        snapshot_counts = write_kpi_snapshots(as_of=as_of)
        refresh_statistics()
    summary.counts = {
        "founders": founder_count,
        "institutions": institutions_added,
        "courses": courses_added,
        "cohorts": planner.cohort_count,
        **counts,
        **library_counts,
        **business_counts,
        **incubation_counts,
        **loan_counts,
        **followup_counts,
        **target_counts,
        **snapshot_counts,
        "accounts": len(summary.logins),
    }
    record_audit(None, "demo.seed", ("demo", None), None, {"as_of": as_of, **summary.counts})
    db.session.commit()
    return summary


def _random_stream(seed: int, purpose: str) -> Random:
    """A reproducible generator per purpose, so founders do not shift when training changes."""
    return Random(f"{seed}-{purpose}")  # noqa: S311 - synthetic data, not cryptography


def write_courses() -> tuple[dict[str, CourseInfo], int]:
    """Add the skills courses missing from the catalogue; answer every course by code."""
    existing = set(db.session.scalars(select(Course.code)))
    missing = [row for row in skill_course_rows() if row["code"] not in existing]
    if missing:
        db.session.execute(insert(Course), missing)
    rows = db.session.execute(
        select(Course.id, Course.code, Course.name, Course.kind, Course.hours)
    )
    courses = {
        row.code: CourseInfo(row.id, row.code, row.name, row.kind, row.hours) for row in rows
    }
    return courses, len(missing)


def write_institutions(
    region_names: dict[str, str], rng: Random, now: datetime
) -> tuple[list[InstitutionInfo], int]:
    """Add the demo institutions that do not exist yet; answer them with their pass rates."""
    wanted = institution_rows(region_names)
    existing = _institutions_by_name()
    missing = [
        row | {"created_at": now}
        for row in wanted
        if (row["region_code"], row["name"]) not in existing
    ]
    if missing:
        db.session.execute(insert(Institution), missing)
        existing = _institutions_by_name()
    institutions = []
    for row in wanted:
        found = existing[row["region_code"], row["name"]]
        institutions.append(
            InstitutionInfo(
                found.id, found.region_code, found.designated, institution_pass_rate(rng)
            )
        )
    return institutions, len(missing)


def _institutions_by_name() -> dict[tuple[str, str], Any]:
    stmt = select(Institution.id, Institution.region_code, Institution.name, Institution.designated)
    return {(row.region_code, row.name): row for row in db.session.execute(stmt)}


def write_founders_and_training(
    rng: Random,
    planner: TrainingPlanner,
    *,
    as_of: date,
    founder_count: int,
    region_codes: set[str],
    now: datetime,
    progress: ProgressFactory,
) -> tuple[dict[str, int], int]:
    """Write founders batch by batch, each batch with its cohorts and enrollments.

    Answers the enrollment counts and the id of the showcase founder.
    """
    dates, showcase_index = _registration_plan(rng, as_of, founder_count)
    # Every target group appears at least once, wherever chance alone might miss one.
    picks = rng.sample(range(founder_count), min(founder_count, len(TargetGroup) + 1))
    picks = [index for index in picks if index != showcase_index]
    forced_groups = dict(zip(picks, TargetGroup, strict=False))
    factory = FounderFactory(rng, region_codes=region_codes, now=now)
    first_id = (db.session.scalar(select(func.max(Founder.id))) or 0) + 1
    showcase_id = first_id + showcase_index
    counts = {"enrollments": 0, "passed": 0, "certificates": 0}
    with progress("Founders and training", founder_count) as bar:
        for start in range(0, founder_count, BATCH_SIZE):
            rows = []
            for index in range(start, min(start + BATCH_SIZE, founder_count)):
                if index == showcase_index:
                    row = factory.showcase(dates[index])
                else:
                    row = factory.founder(dates[index], target_group=forced_groups.get(index))
                rows.append(row | {"id": first_id + index})
            enrollments = _write_batch(rows, planner, showcase_id=showcase_id, now=now)
            _count(counts, enrollments)
            db.session.commit()
            bar.update(len(rows))
    return counts, showcase_id


def _write_batch(
    rows: list[dict[str, Any]], planner: TrainingPlanner, *, showcase_id: int, now: datetime
) -> list[PlannedEnrollment]:
    """Write a batch of founders, then the cohorts and enrollments planned for them."""
    _insert_founders(rows)
    enrollments: list[PlannedEnrollment] = []
    for row in rows:
        enrollments += planner.plan_founder(
            row["id"],
            region_code=row["region_code"],
            registered_on=row["registered_on"],
            target_group=row["target_group"],
            showcase=row["id"] == showcase_id,
        )
    _insert_cohorts(planner, now)
    _insert_enrollments(enrollments, now)
    return enrollments


def _registration_plan(rng: Random, as_of: date, founder_count: int) -> tuple[list[date], int]:
    """Registration dates in order, and the index of the demo founder among them."""
    dates = registration_dates(rng, as_of, founder_count)
    target = as_of - timedelta(days=SHOWCASE_DAYS_AGO)
    index = min(bisect.bisect_left(dates, target), founder_count - 1)
    if dates[index] > target:
        # Too few founders to have one that far back: move one there.
        dates[index] = target
        dates.sort()
        index = bisect.bisect_left(dates, target)
    return dates, index


def _insert_founders(rows: list[dict[str, Any]]) -> None:
    """Write founder rows that carry their own ids (no RETURNING needed to learn them)."""
    table = Founder.__table__
    insert_rows(table, rows)
    move_id_sequence_past(table, rows[-1]["id"])


def _insert_cohorts(planner: TrainingPlanner, now: datetime) -> None:
    """Write the cohorts the planner opened and give them their ids."""
    cohorts = planner.take_new_cohorts()
    if not cohorts:
        return
    table = Cohort.__table__
    result = db.session.execute(
        insert(table).returning(table.c.id, sort_by_parameter_order=True),
        [cohort.row(now) for cohort in cohorts],
    )
    for cohort, (cohort_id,) in zip(cohorts, result, strict=True):
        cohort.id = cohort_id


def _insert_enrollments(enrollments: list[PlannedEnrollment], now: datetime) -> None:
    """Write enrollments (their cohorts are written already)."""
    insert_rows(Enrollment.__table__, [enrollment.row(now) for enrollment in enrollments])


def _count(counts: dict[str, int], enrollments: list[PlannedEnrollment]) -> None:
    counts["enrollments"] += len(enrollments)
    counts["passed"] += sum(e.result == TrainingResult.PASSED for e in enrollments)
    counts["certificates"] += sum(e.certificate_no is not None for e in enrollments)


def create_demo_accounts(showcase_founder_id: int) -> list[DemoLogin]:
    """One account per role (two staff, and two officers for the four-eyes loan decisions),
    random passwords; founder.demo is the showcase."""
    logins = []
    for username, role, region_code, display_name in DEMO_ACCOUNTS:
        password = secrets.token_urlsafe(9)
        auth_operations.create_user(
            None,
            username=username,
            password=password,
            role=role,
            region_code=region_code,
            founder_id=showcase_founder_id if role == Role.FOUNDER else None,
            display_name=display_name,
        )
        logins.append(DemoLogin(username, role.value, region_code, password))
    return logins
