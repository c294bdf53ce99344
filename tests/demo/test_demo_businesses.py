"""Demo businesses, observation histories and incubation (SPEC §8), valid on every rule."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from random import Random
from typing import Any

import pytest
from sqlalchemy import and_, func, or_, select

from app.auth.models import User
from app.businesses.models import Business, Observation
from app.businesses.operations import refresh_current_status
from app.core.dates import CHINA_TIME, add_months, today_in_china
from app.core.industries import INDUSTRY_VALUES
from app.core.validators import is_valid_mobile, parse_uscc
from app.demo.businesses import (
    RECENT_REPORT_DAYS,
    BusinessPlanner,
    FounderFacts,
    OpenedBusiness,
    RegionInfo,
    founder_username,
    organisation_code,
)
from app.demo.incubation import DEMO_BASES, PlannedBase, plan_residencies, usable_units
from app.demo.seed import DEMO_ACCOUNTS, SeedSummary, seed_demo_data
from app.extensions import db
from app.followups.models import FollowupTask
from app.founders.models import Founder
from app.incubation.models import IncubationBase, Residency
from app.library.models import LibraryAdoption, LibraryProject
from app.regions.models import Region
from app.training.models import ENTREPRENEURSHIP_KINDS, Cohort, Course, Enrollment
from tests.isolation import rolled_back_session

FOUNDERS = 300


@dataclass
class Seeded:
    summary: SeedSummary
    as_of: date


@pytest.fixture(scope="module")
def seeded(app) -> Any:
    """One seed run of the default size shared by this module, rolled back at its end."""
    for _session in rolled_back_session(app):
        with app.app_context():
            as_of = today_in_china()
            summary = seed_demo_data(as_of=as_of, founder_count=FOUNDERS)
            yield Seeded(summary, as_of)


def _first_passed() -> dict[int, date]:
    """Founder id -> first passed entrepreneurship course."""
    stmt = (
        select(Enrollment.founder_id, func.min(Enrollment.completed_on))
        .join(Cohort, Cohort.id == Enrollment.cohort_id)
        .join(Course, Course.id == Cohort.course_id)
        .where(Enrollment.result == "passed", Course.kind.in_(ENTREPRENEURSHIP_KINDS))
        .group_by(Enrollment.founder_id)
    )
    return dict(db.session.execute(stmt).all())


def _businesses() -> list[Business]:
    return list(db.session.scalars(select(Business).order_by(Business.id)))


def _observations() -> dict[int, list[Observation]]:
    """Each business's observations in the order that decides the current status."""
    history: dict[int, list[Observation]] = defaultdict(list)
    stmt = select(Observation).order_by(
        Observation.business_id, Observation.observed_on, Observation.id
    )
    for observation in db.session.scalars(stmt):
        history[observation.business_id].append(observation)
    return history


def test_about_half_of_the_trained_founders_own_a_business(seeded):
    trained = _first_passed()
    businesses = _businesses()
    owners = Counter(business.founder_id for business in businesses)
    assert 0.4 < sum(founder in owners for founder in trained) / len(trained) < 0.75
    assert any(count > 1 for count in owners.values())  # a few own two
    opened = defaultdict(list)
    for business in businesses:
        opened[business.founder_id].append(business.opened_on)
    rates = {}
    for months in (3, 6):
        eligible = [
            founder
            for founder, completed in trained.items()
            if add_months(completed, months) <= seeded.as_of
            and not any(day <= completed for day in opened[founder])
        ]
        done = [
            founder
            for founder in eligible
            if any(
                trained[founder] < day <= add_months(trained[founder], months)
                for day in opened[founder]
            )
        ]
        rates[months] = len(done) / len(eligible)
    assert 0.2 < rates[3] < 0.5
    assert 0.4 < rates[6] < 0.7
    assert rates[3] < rates[6]


def test_businesses_open_after_training_or_before_registering(seeded):
    passed_any = dict(
        db.session.execute(
            select(Enrollment.founder_id, func.min(Enrollment.completed_on))
            .where(Enrollment.result == "passed")
            .group_by(Enrollment.founder_id)
        ).all()
    )
    before_registering = 0
    for business in _businesses():
        founder = business.founder
        assert business.opened_on <= seeded.as_of
        assert business.region_code == founder.region_code
        assert add_months(founder.birth_date, 12 * 18) <= business.opened_on
        if business.opened_on < founder.registered_on:
            before_registering += 1
        else:
            assert passed_any[founder.id] < business.opened_on
    assert before_registering >= 1


def test_the_current_status_is_the_latest_observation(seeded):
    ranked = select(
        Observation.business_id,
        Observation.status,
        Observation.employees,
        Observation.observed_on,
        Observation.closed_on,
        func.row_number()
        .over(
            partition_by=Observation.business_id,
            order_by=(Observation.observed_on.desc(), Observation.id.desc()),
        )
        .label("rank"),
    ).subquery()
    latest = select(ranked).where(ranked.c.rank == 1).subquery()
    stmt = (
        select(func.count())
        .select_from(Business)
        .outerjoin(latest, latest.c.business_id == Business.id)
        .where(
            or_(
                and_(
                    latest.c.business_id.is_not(None),
                    or_(
                        Business.status != latest.c.status,
                        Business.employees != latest.c.employees,
                        Business.status_observed_on != latest.c.observed_on,
                        func.coalesce(Business.closed_on, date.min)
                        != func.coalesce(latest.c.closed_on, date.min),
                    ),
                ),
                and_(
                    latest.c.business_id.is_(None),
                    or_(
                        Business.status != "operating",
                        Business.employees != Business.employees_at_opening,
                        Business.status_observed_on != Business.opened_on,
                        Business.closed_on.is_not(None),
                    ),
                ),
            )
        )
    )
    assert db.session.scalar(stmt) == 0
    # And the operation that keeps them current agrees on a sample of businesses.
    for business in _businesses()[::9]:
        before = (business.status, business.employees, business.status_observed_on)
        refresh_current_status(business)
        assert (business.status, business.employees, business.status_observed_on) == before


def test_observations_lie_between_opening_and_as_of(seeded):
    history = _observations()
    businesses = {business.id: business for business in _businesses()}
    assert 2 <= sum(map(len, history.values())) / len(businesses) <= 6
    assert max(map(len, history.values())) >= 6  # some have years of history
    for business_id, observations in history.items():
        business = businesses[business_id]
        days = [observation.observed_on for observation in observations]
        assert len(set(days)) == len(days)
        assert all(
            later - earlier <= timedelta(days=300) for earlier, later in itertools.pairwise(days)
        )
        for observation in observations:
            assert business.opened_on <= observation.observed_on <= seeded.as_of
            assert (observation.status == "closed") == (observation.closed_on is not None)
            if observation.status == "closed":
                assert business.opened_on <= observation.closed_on <= observation.observed_on
                assert observation.employees == 0
            revenue = observation.monthly_revenue
            assert revenue is None or (
                revenue >= 0 and revenue == revenue.quantize(Decimal("0.01"))
            )
            assert not observation.is_reopening


def test_nothing_follows_a_closure(seeded):
    history = _observations()
    closed = 0
    for business in _businesses():
        statuses = [observation.status for observation in history.get(business.id, [])]
        assert statuses.count("closed") <= 1
        if "closed" in statuses:
            assert statuses[-1] == "closed"
            assert business.status == "closed"
            closed += 1
    assert closed >= 5
    statuses = Counter(observation.status for rows in history.values() for observation in rows)
    assert statuses["suspended"] >= 3
    year_old = [
        business
        for business in _businesses()
        if business.opened_on <= seeded.as_of - timedelta(days=365)
        and business.opened_on >= business.founder.registered_on
    ]
    first_year = [
        business
        for business in year_old
        if business.closed_on and business.closed_on <= business.opened_on + timedelta(days=365)
    ]
    assert 0.05 < len(first_year) / len(year_old) < 0.35


def test_founders_reports_wait_for_review_or_were_verified(seeded):
    observations = [row for rows in _observations().values() for row in rows]
    states = Counter((observation.source, observation.review_state) for observation in observations)
    assert 8 <= states["founder", "pending"] <= 40
    assert states["founder", "queried"] >= 1
    assert states["founder", "verified"] > states["founder", "pending"]
    assert states["staff", None]
    assert states["followup", None]
    for observation in observations:
        if observation.source != "founder":
            assert observation.review_state is None
            assert observation.verified
            continue
        assert observation.verified == (observation.review_state == "verified")
        assert (observation.review_state == "pending") == (observation.reviewed_at is None)
        assert bool(observation.query_note) == (observation.review_state == "queried")
        if observation.review_state == "pending":
            assert seeded.as_of - observation.observed_on <= timedelta(days=RECENT_REPORT_DAYS)
        if observation.reviewed_at is not None:
            assert observation.created_at <= observation.reviewed_at


def test_self_reports_come_only_from_founders_with_a_founder_account(seeded):
    without_account = (
        select(func.count())
        .select_from(Observation)
        .join(Business, Business.id == Observation.business_id)
        .outerjoin(User, and_(User.founder_id == Business.founder_id, User.role == "founder"))
        .where(Observation.source == "founder", User.id.is_(None))
    )
    assert db.session.scalar(without_account) == 0
    # The report was sent from that account, after it was registered at the centre.
    stmt = (
        select(Observation, User)
        .join(Business, Business.id == Observation.business_id)
        .join(User, User.founder_id == Business.founder_id)
        .where(Observation.source == "founder")
    )
    reports = db.session.execute(stmt).all()
    assert reports
    for observation, account in reports:
        assert observation.recorded_by_id == account.id
        assert account.created_at < observation.created_at
        assert account.last_login_at is not None
        assert account.last_login_at >= observation.created_at


def test_about_three_owners_in_ten_have_a_founder_account(seeded):
    owners = set(db.session.scalars(select(Business.founder_id)))
    accounts = list(db.session.scalars(select(User).where(User.role == "founder")))
    showcase = next(account for account in accounts if account.username == "founder.demo")
    generated = [account for account in accounts if account is not showcase]
    assert seeded.summary.counts["founder_accounts"] == len(generated)
    assert 0.15 < len(generated) / len(owners) < 0.45
    assert len({account.founder_id for account in accounts}) == len(accounts)
    demo_logins = {username for username, *_rest in DEMO_ACCOUNTS}
    hashes = {account.password_hash for account in generated}
    assert len(hashes) == 1  # one hash of a secret nobody knows, made once per seed
    assert showcase.password_hash not in hashes
    for account in generated:
        founder = db.session.get(Founder, account.founder_id)
        assert account.founder_id in owners
        assert account.username == founder_username(founder.id)
        assert account.username not in demo_logins
        assert (account.region_code, account.display_name) == (founder.region_code, founder.name)
        assert account.active
        assert account.session_version == 1
        assert account.password_changed_at is None
        assert founder.registered_on <= account.created_at.astimezone(CHINA_TIME).date()
        assert account.created_at.astimezone(CHINA_TIME).date() <= seeded.as_of


def test_credit_codes_are_valid_and_unique(seeded):
    businesses = _businesses()
    codes = [business.uscc for business in businesses if business.uscc is not None]
    assert 0.45 < len(codes) / len(businesses) < 0.8
    assert len(set(codes)) == len(codes)
    for business in businesses:
        if business.uscc is not None:
            assert parse_uscc(business.uscc) == business.uscc
            assert business.uscc[2:8] == business.region_code


def test_names_industries_and_library_projects(seeded):
    businesses = _businesses()
    adoptions = dict(
        db.session.execute(select(LibraryAdoption.founder_id, LibraryAdoption.project_id)).all()
    )
    projects = {project.id: project for project in db.session.scalars(select(LibraryProject))}
    for business in businesses:
        assert 4 <= len(business.name) <= 100
        assert business.industry in INDUSTRY_VALUES
        assert 0 <= business.employees_at_opening <= 10_000
        assert business.created_at <= business.updated_at
        if business.library_project_id is not None:
            assert adoptions[business.founder_id] == business.library_project_id
            assert projects[business.library_project_id].industry == business.industry
    named = [business for business in businesses if business.founder_id in adoptions]
    following = sum(business.library_project_id is not None for business in named)
    assert 0.25 < following / len(named) < 0.8
    assert len({business.industry for business in businesses}) >= 10
    heads = sorted(business.employees_at_opening for business in businesses)
    assert heads[len(heads) // 2] <= 5


def _published_on() -> dict[int, date]:
    """Library project id -> the day (in China) it was published."""
    stmt = select(LibraryProject.id, LibraryProject.published_at).where(
        LibraryProject.published_at.is_not(None)
    )
    return {
        project_id: published_at.astimezone(CHINA_TIME).date()
        for project_id, published_at in db.session.execute(stmt)
    }


def test_a_business_names_only_a_project_adopted_and_published_by_its_opening(seeded):
    named = (
        select(func.count()).select_from(Business).where(Business.library_project_id.is_not(None))
    )
    assert db.session.scalar(named) >= 3
    adopted_in_time = (
        select(LibraryAdoption.id)
        .where(
            LibraryAdoption.founder_id == Business.founder_id,
            LibraryAdoption.project_id == Business.library_project_id,
            LibraryAdoption.adopted_on <= Business.opened_on,
        )
        .exists()
    )
    assert db.session.scalar(named.where(~adopted_in_time)) == 0
    published_on = _published_on()
    rows = db.session.execute(
        select(Business.opened_on, Business.library_project_id).where(
            Business.library_project_id.is_not(None)
        )
    ).all()
    for opened_on, project_id in rows:
        assert published_on[project_id] <= opened_on


def test_the_demo_founder_s_shop_follows_the_project_she_adopted_before_opening(seeded):
    account = db.session.scalar(select(User).where(User.username == "founder.demo"))
    business = db.session.scalar(select(Business).where(Business.founder_id == account.founder_id))
    adoption = db.session.scalar(
        select(LibraryAdoption).where(LibraryAdoption.founder_id == account.founder_id)
    )
    assert business.library_project_id == adoption.project_id
    published_on = _published_on()[adoption.project_id]
    founder = db.session.get(Founder, account.founder_id)
    assert published_on <= adoption.adopted_on <= business.opened_on
    assert founder.registered_on <= adoption.adopted_on
    assert business.industry == db.session.get(LibraryProject, adoption.project_id).industry


def test_the_demo_founder_owns_a_growing_verified_business(seeded):
    account = db.session.scalar(select(User).where(User.username == "founder.demo"))
    owned = list(
        db.session.scalars(select(Business).where(Business.founder_id == account.founder_id))
    )
    assert len(owned) == 1
    business = owned[0]
    assert business.status == "operating"
    assert business.library_project_id is not None
    assert business.uscc is not None
    observations = _observations()[business.id]
    assert len(observations) >= 2
    assert all(
        observation.verified and observation.source != "founder" for observation in observations
    )
    assert business.employees > business.employees_at_opening
    founder = db.session.get(Founder, account.founder_id)
    assert founder.registered_on < business.opened_on


def test_five_bases_in_hainan_with_their_operators(seeded):
    bases = list(db.session.scalars(select(IncubationBase)))
    assert len(bases) == 5
    assert {base.kind for base in bases} >= {"park", "campus", "idle_factory"}
    for base in bases:
        assert base.region_code.startswith("46")
        assert 20 <= base.units <= 60
        assert base.operator_name
        assert base.address
        assert is_valid_mobile(base.operator_phone)


def test_no_base_is_ever_over_capacity(seeded):
    units = dict(db.session.execute(select(IncubationBase.id, IncubationBase.units)).all())
    residencies = list(db.session.scalars(select(Residency)))
    assert residencies
    by_base: dict[int, list[Residency]] = defaultdict(list)
    for residency in residencies:
        by_base[residency.base_id].append(residency)
    for base_id, stays in by_base.items():
        for day in {stay.starts_on for stay in stays}:
            present = [
                stay
                for stay in stays
                if stay.starts_on <= day and (stay.ends_on is None or stay.ends_on >= day)
            ]
            assert len(present) <= usable_units(units[base_id]) < units[base_id]
            assert len({stay.unit_label for stay in present}) == len(present)
    open_ones = [residency for residency in residencies if residency.ends_on is None]
    assert open_ones
    assert len({residency.business_id for residency in open_ones}) == len(open_ones)


def test_residencies_fit_their_businesses(seeded):
    parents = dict(db.session.execute(select(Region.code, Region.parent_code)).all())
    residencies = list(db.session.scalars(select(Residency)))
    outcomes = Counter(residency.outcome for residency in residencies)
    assert outcomes[None] > 0
    assert outcomes["graduated"] > 0
    assert len({residency.business_id for residency in residencies}) == len(residencies)
    for residency in residencies:
        business = residency.business
        base = residency.base
        assert parents[business.region_code] == parents[base.region_code]
        assert business.opened_on <= residency.starts_on <= seeded.as_of
        assert business.founder.registered_on <= business.opened_on  # young businesses
        if residency.ends_on is None:
            assert residency.outcome is None
            assert business.status != "closed"
        else:
            assert residency.starts_on <= residency.ends_on <= seeded.as_of
            assert residency.outcome in {"graduated", "left", "closed"}
        if residency.outcome == "closed":
            assert business.closed_on == residency.ends_on


def test_the_summary_counts_what_was_written(seeded):
    counts = seeded.summary.counts
    for key, model in (
        ("businesses", Business),
        ("incubation_bases", IncubationBase),
        ("residencies", Residency),
    ):
        assert counts[key] == db.session.scalar(select(func.count()).select_from(model))
    # The business stage's own observations; the follow-up history adds its findings later.
    found_at_followups = select(FollowupTask.observation_id).where(
        FollowupTask.observation_id.is_not(None)
    )
    written = (
        select(func.count())
        .select_from(Observation)
        .where(Observation.id.not_in(found_at_followups))
    )
    assert counts["observations"] == db.session.scalar(written)
    pending = (
        select(func.count()).select_from(Observation).where(Observation.review_state == "pending")
    )
    assert counts["pending_reports"] == db.session.scalar(pending)


# The generators alone, without a database --------------------------------------------
PROJECT_PUBLISHED_ON = date(2025, 6, 1)


def _plan_batch(seed: int, as_of: date) -> Any:
    regions = {"460100": RegionInfo("460100", "海口", "460000", "海南")}
    planner = BusinessPlanner(
        Random(seed),
        as_of=as_of,
        now=datetime(2026, 11, 22, 12, 0, tzinfo=UTC),
        regions=regions,
        project_industries={7: "catering"},
        project_published_on={7: PROJECT_PUBLISHED_ON},
        first_business_id=1,
        first_observation_id=1,
        first_account_id=10,
        account_password_hash="$argon2id$demo",
        money_as_fen=True,
    )
    for index in range(400):
        registered = as_of - timedelta(days=30 + index * 2)
        adopts = index % 5 == 0
        planner.plan_founder(
            FounderFacts(
                index + 1,
                "460100",
                registered,
                date(1990, 5, 1),
                "陈小明",
                "other",
                trained_on=registered + timedelta(days=40),
                project_id=7 if adopts else None,
                # Some adopt long after their course, some before the project was out.
                adopted_on=registered + timedelta(days=index % 300) if adopts else None,
            ),
            showcase=index == 200,
        )
    return planner.take_batch()


def _plan(seed: int, as_of: date) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    batch = _plan_batch(seed, as_of)
    return batch.businesses, batch.observations


def test_the_business_planner_is_reproducible():
    as_of = date(2026, 11, 22)
    first, second = _plan_batch(11, as_of), _plan_batch(11, as_of)
    assert first == second
    businesses, observations = first.businesses, first.observations
    assert [row["id"] for row in businesses] == list(range(1, len(businesses) + 1))
    assert [row["id"] for row in observations] == list(range(1, len(observations) + 1))
    assert all(isinstance(row["monthly_revenue"], int | None) for row in observations)


def test_the_planner_lets_only_founders_with_an_account_report():
    as_of = date(2026, 11, 22)
    batch = _plan_batch(5, as_of)
    accounts = {row["id"]: row for row in batch.accounts}
    owner_of = {row["id"]: row["founder_id"] for row in batch.businesses}
    assert accounts
    assert [row["id"] for row in batch.accounts] == list(range(10, 10 + len(accounts)))
    assert 0.15 < len(accounts) / len(set(owner_of.values())) < 0.45
    reports = [row for row in batch.observations if row["source"] == "founder"]
    assert reports
    for row in reports:
        account = accounts[row["recorded_by_id"]]
        assert account["founder_id"] == owner_of[row["business_id"]]
        assert account["created_at"] < row["created_at"]
    for account in accounts.values():
        assert account["role"] == "founder"
        assert account["username"] == founder_username(account["founder_id"])
        assert account["founder_id"] in owner_of.values()
        assert account["founder_id"] != 201  # the showcase founder has founder.demo
    assert len({account["founder_id"] for account in accounts.values()}) == len(accounts)


def test_the_planner_names_a_project_only_once_adopted_and_published():
    as_of = date(2026, 11, 22)
    batch = _plan_batch(5, as_of)
    named = [row for row in batch.businesses if row["library_project_id"] is not None]
    assert named
    for row in named:
        founder_index = row["founder_id"] - 1
        registered = as_of - timedelta(days=30 + founder_index * 2)
        adopted_on = registered + timedelta(days=founder_index % 300)
        assert max(adopted_on, PROJECT_PUBLISHED_ON) <= row["opened_on"]
        assert row["industry"] == "catering"
    showcase = [row for row in batch.businesses if row["founder_id"] == 201]
    assert [row["library_project_id"] for row in showcase] == [7]


def test_organisation_codes_carry_the_gb_11714_check_character():
    # Organisation codes inside published credit codes (91330100716105852F, 9144030071526726XG).
    assert organisation_code("71610585") == "716105852"
    assert organisation_code("71526726") == "71526726X"
    assert organisation_code("MA5T1234")[-1] in "0123456789X"


def test_a_crowded_base_never_holds_more_residents_than_its_usable_units():
    demo = DEMO_BASES[3]
    base = PlannedBase(demo, 1, "460000")
    rng = Random(4)
    as_of = date(2026, 11, 22)
    for index in range(600):
        opened = as_of - timedelta(days=rng.randint(0, 1000))
        closed = opened + timedelta(days=rng.randint(40, 400)) if index % 4 == 0 else None
        business = OpenedBusiness(
            index,
            "469002",
            "460000",
            opened,
            closed if closed and closed <= as_of else None,
            "other",
        )
        base.candidates.append((opened + timedelta(days=rng.randint(0, 30)), business))
    base.candidates = [item for item in base.candidates if item[0] <= as_of]
    rows = plan_residencies(rng, base, as_of=as_of, now=datetime(2026, 11, 22, tzinfo=UTC))
    limit = usable_units(demo.units)
    for day in {row["starts_on"] for row in rows}:
        present = [
            row
            for row in rows
            if row["starts_on"] <= day and (row["ends_on"] is None or row["ends_on"] >= day)
        ]
        assert len(present) <= limit
    assert sum(row["ends_on"] is None for row in rows) == limit  # full now, at its limit
