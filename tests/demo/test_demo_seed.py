"""`flask demo seed --founders N`: realistic founders and training, valid on every rule."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any

import pytest
from click.testing import Result
from sqlalchemy import func, select, text

from app.auth.models import User
from app.businesses.models import Business, Observation
from app.cli import seed_demo_command
from app.core.audit import AuditEntry
from app.core.dates import CHINA_TIME, today_in_china
from app.core.validators import is_valid_mobile, parse_id_number
from app.demo.followups import history_days
from app.demo.founders import MAX_AGE, MIN_AGE, FounderFactory, age_on, registration_window
from app.demo.library import DEMO_PROJECTS, project_rows
from app.demo.names import person_name
from app.demo.targets import MISMATCH_FIELD
from app.extensions import db
from app.founders.models import Education, Founder, TargetGroup
from app.incubation.models import IncubationBase, Residency
from app.library.models import LibraryAdoption, LibraryProject
from app.library.rules import PROJECT_FIELDS, check_project
from app.regions.models import Region
from app.regions.queries import region_codes_in
from app.reports.dimensions import Dimension
from app.reports.jobs import snapshot_kpis
from app.reports.kpis import (
    compute_breakdown,
    compute_kpis,
    compute_kpis_and_region_breakdown,
    survival_breakdown,
    survival_by_region_and_total,
)
from app.reports.models import KpiSnapshot
from app.targets.models import RegionTarget
from app.targets.queries import list_split, split_mismatches
from app.training.models import (
    ENTREPRENEURSHIP_KINDS,
    Cohort,
    Course,
    Enrollment,
    Institution,
    TrainingResult,
)
from app.training.queries import training_status_clause
from tests.isolation import rolled_back_session

FOUNDERS = 120


@dataclass
class Seeded:
    result: Result
    as_of: date
    instance: Path


@pytest.fixture(scope="module")
def seeded(app, tmp_path_factory) -> Any:
    """One seed run shared by this module's tests, rolled back when the module ends."""
    for _session in rolled_back_session(app):
        with app.app_context(), pytest.MonkeyPatch.context() as patch:
            instance = tmp_path_factory.mktemp("instance")
            patch.setattr(app, "instance_path", str(instance))
            as_of = today_in_china()
            result = app.test_cli_runner().invoke(seed_demo_command, ["--founders", str(FOUNDERS)])
            assert result.exit_code == 0, result.output
            yield Seeded(result, as_of, instance)


def _founders() -> list[Founder]:
    return list(db.session.scalars(select(Founder)))


def _enrollment_rows() -> list[Any]:
    stmt = (
        select(
            Enrollment,
            Cohort.starts_on,
            Cohort.ends_on,
            Cohort.capacity,
            Course.hours,
            Founder.registered_on,
        )
        .join(Cohort, Cohort.id == Enrollment.cohort_id)
        .join(Course, Course.id == Cohort.course_id)
        .join(Founder, Founder.id == Enrollment.founder_id)
    )
    return list(db.session.execute(stmt))


def test_the_requested_number_of_founders_with_valid_id_numbers(seeded):
    founders = _founders()
    assert len(founders) == FOUNDERS
    assert len({founder.id_number for founder in founders}) == FOUNDERS
    first_day, last_day = registration_window(seeded.as_of)
    for founder in founders:
        info = parse_id_number(founder.id_number, as_of=seeded.as_of)
        assert (info.birth_date, info.sex) == (founder.birth_date, founder.sex)
        assert info.region_prefix == founder.region_code
        assert founder.id_number_last4 == founder.id_number[-4:]
        assert MIN_AGE <= age_on(founder.birth_date, founder.registered_on) <= MAX_AGE
        assert first_day <= founder.registered_on <= last_day
        assert is_valid_mobile(founder.phone)
        assert 2 <= len(founder.name) <= 20
        assert founder.education is None or founder.education in set(Education)


def test_founders_are_spread_like_a_real_register(seeded):
    founders = _founders()
    assert {founder.target_group for founder in founders} == set(TargetGroup)
    regions = Counter(founder.region_code for founder in founders)
    assert regions.most_common(1)[0][0] == "460100"  # Haikou, the largest city
    assert any(code.startswith("31") for code in regions)  # a minority in Shanghai
    certified = sum(founder.has_reemployment_certificate for founder in founders)
    assert 0.15 < certified / FOUNDERS < 0.45
    sexes = Counter(founder.sex for founder in founders)
    assert sexes["male"] > 30
    assert sexes["female"] > 30


def test_most_founders_train_after_registering(seeded):
    rows = _enrollment_rows()
    enrolled = {row.Enrollment.founder_id for row in rows}
    assert 0.55 < len(enrolled) / FOUNDERS < 0.85
    for row in rows:
        assert row.registered_on <= row.Enrollment.enrolled_on <= seeded.as_of
        assert row.Enrollment.enrolled_on <= row.starts_on
        assert 0 <= row.Enrollment.attendance <= row.hours


def test_cohorts_are_never_over_capacity(seeded):
    stmt = (
        select(Cohort.capacity, func.count(Enrollment.id))
        .join(Enrollment, Enrollment.cohort_id == Cohort.id)
        .group_by(Cohort.id, Cohort.capacity)
    )
    sizes = db.session.execute(stmt).all()
    assert sizes
    for capacity, taken in sizes:
        assert 30 <= capacity <= 50
        assert taken <= capacity
    kinds = Counter(db.session.scalars(select(Course.kind).join(Cohort)))
    assert kinds["SYB"] + kinds["GYB"] > sum(kinds.values()) / 2


def test_results_fall_within_the_cohort_and_never_after_as_of(seeded):
    rows = _enrollment_rows()
    results = Counter(row.Enrollment.result for row in rows)
    for row in rows:
        enrollment = row.Enrollment
        if row.ends_on > seeded.as_of:
            assert enrollment.result is None
            assert enrollment.completed_on is None
        else:
            assert enrollment.result in set(TrainingResult)
            assert row.starts_on <= enrollment.completed_on <= row.ends_on
            assert enrollment.completed_on <= seeded.as_of
    finished = sum(n for result, n in results.items() if result is not None)
    assert 0.75 < results[TrainingResult.PASSED] / finished < 0.97


def test_certificates_only_for_passed_and_unique(seeded):
    rows = db.session.execute(select(Enrollment.result, Enrollment.certificate_no)).all()
    numbers = [number for result, number in rows if number is not None]
    assert numbers
    assert len(numbers) == len(set(numbers))
    assert all(result == TrainingResult.PASSED for result, number in rows if number is not None)


def test_institutions_and_skills_courses_are_added(seeded):
    institutions = db.session.execute(select(Institution.region_code, Institution.designated)).all()
    haikou = [designated for region_code, designated in institutions if region_code == "460100"]
    assert len(haikou) >= 2
    assert any(haikou)
    assert not all(haikou)
    codes = set(db.session.scalars(select(Course.code)))
    assert {"GYB", "SYB", "IYB", "EYB", "SKILL-ECOM", "SKILL-COOK"} <= codes


def test_the_demo_founder_account_is_a_haikou_founder_who_passed(seeded):
    account = db.session.scalar(select(User).where(User.username == "founder.demo"))
    founder = db.session.get(Founder, account.founder_id)
    assert founder.region_code == account.region_code == "460100"
    passed = db.session.scalar(
        select(func.count())
        .select_from(Founder)
        .where(Founder.id == founder.id, training_status_clause("passed", Founder.id))
    )
    assert passed == 1
    kinds = db.session.scalars(
        select(Course.kind)
        .join(Cohort, Cohort.course_id == Course.id)
        .join(Enrollment, Enrollment.cohort_id == Cohort.id)
        .where(Enrollment.founder_id == founder.id, Enrollment.result == TrainingResult.PASSED)
    )
    assert set(kinds) & set(ENTREPRENEURSHIP_KINDS)


def test_one_audit_entry_for_the_run_and_logins_saved(seeded):
    entries = list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "demo.seed")))
    assert len(entries) == 1
    assert entries[0].after["founders"] == FOUNDERS
    assert entries[0].after["enrollments"] == db.session.scalar(
        select(func.count()).select_from(Enrollment)
    )
    assert entries[0].after["library_projects"] == db.session.scalar(
        select(func.count()).select_from(LibraryProject)
    )
    assert entries[0].after["library_adoptions"] == db.session.scalar(
        select(func.count()).select_from(LibraryAdoption)
    )
    assert entries[0].after["businesses"] == db.session.scalar(
        select(func.count()).select_from(Business)
    )
    assert "library_projects" in seeded.result.output
    assert "businesses" in seeded.result.output
    saved = (seeded.instance / "demo-logins.txt").read_text(encoding="utf-8")
    assert saved.count("password:") == 6


def test_the_run_reports_the_seconds_each_stage_took(seeded):
    line = next(
        line for line in seeded.result.output.splitlines() if line.startswith("Seconds per stage")
    )
    for stage in (
        "founders and training",
        "businesses and observations",
        "loans",
        "follow-up history",
        "targets and snapshots",
    ):
        assert f"{stage} " in line
    assert "(total " in line


def test_the_planner_knows_the_bulk_written_tables(seeded):
    """ANALYZE ran after the bulk stages: without it PostgreSQL plans the next stage's
    statements as if the founder table were empty."""
    if db.session.get_bind().dialect.name == "postgresql":
        estimated = db.session.scalar(
            text("SELECT reltuples FROM pg_class WHERE relname = 'founder'")
        )
        assert estimated == FOUNDERS
    else:
        counted = db.session.scalar(
            # A full index's first figure is the table's rows (a partial index's: its own).
            text(
                "SELECT stat FROM sqlite_stat1"
                " WHERE tbl = 'founder' AND idx = 'ix_founder_registered_on'"
            )
        )
        assert int(counted.split()[0]) == FOUNDERS


@pytest.mark.parametrize(
    ("founders", "days"),
    [(300, 60), (50_000, 60), (100_000, 30), (500_000, 7), (1_000_000, 7)],
)
def test_large_demos_replay_a_shorter_follow_up_history(founders, days):
    assert history_days(founders) == days


def _projects() -> list[LibraryProject]:
    return list(db.session.scalars(select(LibraryProject).order_by(LibraryProject.id)))


def test_library_projects_span_levels_industries_and_statuses(seeded):
    projects = _projects()
    assert len(projects) >= 30
    levels = Counter(project.level for project in projects)
    assert levels["province"] >= 5
    assert levels["city"] >= 15
    assert len({project.industry for project in projects}) >= 10
    statuses = Counter(project.status for project in projects)
    assert statuses["published"] > len(projects) * 0.8
    assert statuses["draft"] >= 2
    assert statuses["retired"] == 1
    regions = {project.region_code for project in projects}
    assert {"460000", "460100", "460200", "469002", "469005", "460400"} <= regions
    assert any(code.startswith("31") for code in regions)
    for project in projects:
        clean, errors = check_project({name: getattr(project, name) for name in PROJECT_FIELDS})
        assert errors == {}, (project.title, errors)
        assert clean.as_row() == {name: getattr(project, name) for name in PROJECT_FIELDS}
        is_province = project.region.level == "province"
        assert project.level == ("province" if is_province else "city")
        if project.status == "draft":
            assert project.published_at is None
        else:
            assert project.created_at <= project.published_at <= project.status_changed_at
            assert project.published_at.astimezone(CHINA_TIME).date() <= seeded.as_of


def test_one_province_project_was_promoted_from_a_city_project(seeded):
    promoted = [project for project in _projects() if project.promoted_from_id is not None]
    assert len(promoted) == 1
    copy = promoted[0]
    origin = db.session.get(LibraryProject, copy.promoted_from_id)
    assert (copy.level, origin.level) == ("province", "city")
    assert origin.region.parent_code == copy.region_code
    assert origin.status == "published"
    assert copy.created_at > origin.published_at


def test_adoptions_are_of_published_projects_the_founder_can_see(seeded):
    parents = dict(db.session.execute(select(Region.code, Region.parent_code)).all())
    rows = db.session.execute(
        select(
            LibraryAdoption.adopted_on,
            LibraryProject.status,
            LibraryProject.region_code.label("project_region"),
            LibraryProject.published_at,
            Founder.region_code.label("founder_region"),
            Founder.registered_on,
        )
        .join(LibraryProject, LibraryProject.id == LibraryAdoption.project_id)
        .join(Founder, Founder.id == LibraryAdoption.founder_id)
    ).all()
    assert 0.1 < len(rows) / FOUNDERS < 0.35
    for row in rows:
        assert row.status == "published"
        assert row.project_region in (row.founder_region, parents[row.founder_region])
        assert row.registered_on <= row.adopted_on <= seeded.as_of
        assert row.published_at.astimezone(CHINA_TIME).date() <= row.adopted_on
    account = db.session.scalar(select(User).where(User.username == "founder.demo"))
    adopted = select(LibraryAdoption.id).where(LibraryAdoption.founder_id == account.founder_id)
    assert db.session.scalar(adopted) is not None


def test_hainan_and_each_of_its_cities_have_targets_for_this_year_and_last(seeded):
    hainan = region_codes_in("460000")
    for year in (seeded.as_of.year - 1, seeded.as_of.year):
        rows = list_split(year, "460000")
        assert {row.region.code for row in rows} == set(hainan)
        assert all(row.has_targets for row in rows), year
        province = rows[0]
        assert province.region.code == "460000"
        assert all(value is not None and value > 0 for value in province.values().values())
    # Only the demo province sets targets.
    elsewhere = select(RegionTarget).where(RegionTarget.region_code.not_in(hainan))
    assert db.session.scalar(elsewhere) is None


def test_this_year_s_split_differs_in_exactly_one_figure(seeded):
    mismatches = split_mismatches(seeded.as_of.year, "460000")
    assert list(mismatches) == [MISMATCH_FIELD]
    province, cities = mismatches[MISMATCH_FIELD]
    assert cities > province
    # Last year's split was finished: it adds up.
    assert split_mismatches(seeded.as_of.year - 1, "460000") == {}


def test_the_targets_were_set_by_the_administrator_and_audited(seeded):
    rows = db.session.scalar(select(func.count()).select_from(RegionTarget))
    entries = list(
        db.session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "region_target"))
    )
    assert len(entries) == rows == 2 * len(region_codes_in("460000"))
    assert {(entry.action, entry.actor_username) for entry in entries} == {
        ("region_target.create", "admin")
    }
    seed_entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "demo.seed"))
    assert seed_entry.after["targets"] == rows


SEEDED_MODELS = (
    Founder,
    Cohort,
    Enrollment,
    Institution,
    User,
    AuditEntry,
    LibraryProject,
    LibraryAdoption,
    Business,
    Observation,
    IncubationBase,
    Residency,
    RegionTarget,
)


def test_a_snapshot_holds_each_regions_own_kpis(seeded):
    """The snapshot reads a province's cities from one breakdown by region: each row must
    be what `compute_kpis` answers for that region alone, on data with every kind of
    record."""
    nested = db.session.begin_nested()
    try:
        snapshot_kpis(seeded.as_of)
        rows = db.session.execute(
            select(KpiSnapshot.region_code, KpiSnapshot.figures).where(
                KpiSnapshot.as_of == seeded.as_of
            )
        ).all()
        cities = [code for code, _figures in rows if not code.endswith("0000")]
        assert len(cities) >= 3
        for code, figures in rows:
            assert figures["kpis"] == compute_kpis(code, seeded.as_of), code
    finally:
        nested.rollback()


@pytest.mark.parametrize("region", ["460000", "460100", "310000"])
def test_one_pass_gives_the_region_and_its_rows_as_two_passes_do(seeded, region):
    """The statistics table and the snapshot take a region's KPIs and its breakdown by
    region from one pass: the same figures as `compute_kpis` and `compute_breakdown`."""
    day, start = seeded.as_of, seeded.as_of.replace(month=1, day=1)
    for period in ((None, None), (start, day)):
        total, rows = compute_kpis_and_region_breakdown(region, day, *period)
        assert total == compute_kpis(region, day, *period)
        assert rows == compute_breakdown(region, day, Dimension.REGION, *period)
    by_region, overall = survival_by_region_and_total(region, day)
    assert by_region == survival_breakdown(region, day, Dimension.REGION)
    assert overall == survival_breakdown(region, day, None)[None]


def test_a_second_run_creates_nothing(seeded, app):
    counts = [db.session.scalar(select(func.count()).select_from(model)) for model in SEEDED_MODELS]
    again = app.test_cli_runner().invoke(seed_demo_command, ["--founders", str(FOUNDERS)])
    assert again.exit_code == 0
    assert "not created" in again.output
    assert counts == [
        db.session.scalar(select(func.count()).select_from(model)) for model in SEEDED_MODELS
    ]


# The generators alone, without a database --------------------------------------------
def test_the_founder_factory_is_reproducible_and_draws_valid_unique_numbers():
    as_of = date(2026, 11, 22)
    runs = []
    for _ in range(2):
        factory = FounderFactory(Random(7), region_codes={"460100", "310110"}, now=None)
        runs.append([factory.founder(as_of - timedelta(days=i % 900)) for i in range(5000)])
    first, second = runs
    assert first == second
    assert len({row["id_number"] for row in first}) == len(first)
    for row in first:
        info = parse_id_number(row["id_number"], as_of=as_of)
        assert (info.birth_date, info.sex) == (row["birth_date"], row["sex"])
        assert row["region_code"] in {"460100", "310110"}
        assert is_valid_mobile(row["phone"])


def test_the_library_rows_are_reproducible_and_in_order():
    as_of = date(2026, 11, 22)
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    runs = [
        project_rows(Random(5), as_of=as_of, now=now, first_id=10, curators={"460000": 1})
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    rows = {row["id"]: row for row in runs[0]}
    assert len(rows) == len(DEMO_PROJECTS)
    for row in rows.values():
        assert row["created_at"] <= now
        if row["promoted_from_id"] is not None:
            origin = rows[row["promoted_from_id"]]
            assert origin["published_at"] < row["created_at"]
        if row["region_code"] == "460000" and row["published_at"] is not None:
            assert row["status_changed_by_id"] == 1


def test_names_are_chinese_names_with_a_few_minority_names():
    rng = Random(3)
    names = [
        person_name(rng, male=i % 2 == 0, birth_year=1960 + i % 45, region_code="460100")
        for i in range(4000)
    ]
    assert all(2 <= len(name) <= 12 for name in names)
    assert any("·" in name for name in names)
    assert sum(name.startswith(("陈", "王", "林", "符", "吴")) for name in names) > 1000
