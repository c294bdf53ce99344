"""Library rules: curating, status changes, promotion and adoption, with their audit entries."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.core.audit import AuditEntry
from app.core.errors import Conflict, PermissionDenied, ValidationFailed
from app.extensions import db
from app.library.models import LibraryAdoption, LibraryProject
from app.library.operations import (
    adopt_project,
    can_curate,
    can_promote,
    create_project,
    promote_project,
    publish_project,
    retire_project,
    revise_project,
    update_project,
)
from tests.factories import DEFAULT_AS_OF, make_founder, make_user
from tests.library.factories import make_adoption, make_project, project_body

AS_OF = DEFAULT_AS_OF


@pytest.fixture
def haikou_staff(db_session):
    return make_user(role="staff", region_code="460100")


@pytest.fixture
def sanya_staff(db_session):
    return make_user(role="staff", region_code="460200")


@pytest.fixture
def hainan_staff(db_session):
    return make_user(role="staff", region_code="460000")


def audit_entries(action):
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


# Creating -------------------------------------------------------------------------------
def test_city_staff_create_a_city_draft_of_their_city(haikou_staff):
    project = create_project(haikou_staff, project_body(title=" 椰子糖 "))
    assert (project.level, project.region_code, project.status) == ("city", "460100", "draft")
    assert project.title == "椰子糖"
    assert project.investment_min == Decimal("30000.00")
    assert project.published_at is None
    [entry] = audit_entries("library_project.create")
    assert entry.entity_id == str(project.id)
    assert entry.actor_id == haikou_staff.id
    assert entry.region_code == "460100"
    assert entry.after["title"] == "椰子糖"


def test_province_staff_create_province_projects(hainan_staff):
    project = create_project(hainan_staff, project_body())
    assert (project.level, project.region_code) == ("province", "460000")


@pytest.mark.parametrize("role", ["officer", "founder", "admin"])
def test_only_staff_create_projects(db_session, role):
    user = make_user(role=role, region_code="460000" if role == "admin" else "460100")
    with pytest.raises(PermissionDenied):
        create_project(user, project_body())
    assert count(LibraryProject) == 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "长" * 101}, "title"),
        ({"industry": "mining"}, "industry"),
        ({"investment_min": "-1.00"}, "investment_min"),
        ({"investment_min": "1.234"}, "investment_min"),
        ({"investment_max": "100.00", "investment_min": "200.00"}, "investment_max"),
        ({"payback_months": 0}, "payback_months"),
        ({"jobs_potential": 1001}, "jobs_potential"),
        ({"summary": "   "}, "summary"),
    ],
)
def test_bad_fields_are_named_and_nothing_is_written(haikou_staff, fields, field):
    with pytest.raises(ValidationFailed) as caught:
        create_project(haikou_staff, project_body(**fields))
    assert field in caught.value.errors
    assert count(LibraryProject) == 0
    assert audit_entries("library_project.create") == []


# Editing --------------------------------------------------------------------------------
def test_the_curator_edits_in_any_status_audited_with_changed_fields(haikou_staff):
    project = make_project(region_code="460100", status="retired")
    old_title = project.title
    changed = update_project(
        haikou_staff, project, {"title": "新标题", "investment_max": "90000.00"}
    )
    assert changed is True
    assert project.title == "新标题"
    assert project.investment_max == Decimal("90000.00")
    [entry] = audit_entries("library_project.update")
    assert entry.before == {"title": old_title, "investment_max": "80000.00"}
    assert entry.after == {"title": "新标题", "investment_max": "90000.00"}


def test_editing_nothing_writes_no_audit_entry(haikou_staff):
    project = make_project(region_code="460100")
    assert update_project(haikou_staff, project, {"title": project.title}) is False
    assert audit_entries("library_project.update") == []


def test_edits_are_checked_against_the_stored_fields(haikou_staff):
    project = make_project(region_code="460100")  # 30000 .. 80000
    with pytest.raises(ValidationFailed) as caught:
        update_project(haikou_staff, project, {"investment_min": "90000.00"})
    assert "investment_max" in caught.value.errors
    db.session.refresh(project)
    assert project.investment_min == Decimal("30000.00")


@pytest.mark.parametrize(
    ("user_region", "project_region"),
    [
        ("460200", "460100"),  # Sanya staff, a Haikou project
        ("460100", "460000"),  # Haikou staff, the province's project
        ("460000", "460100"),  # province staff, a Haikou project
    ],
)
def test_nobody_edits_another_regions_projects(db_session, user_region, project_region):
    user = make_user(role="staff", region_code=user_region)
    project = make_project(region_code=project_region)
    assert can_curate(user, project) is False
    with pytest.raises(PermissionDenied):
        update_project(user, project, {"title": "改"})
    with pytest.raises(PermissionDenied):
        publish_project(user, make_project(region_code=project_region, status="draft"))
    assert audit_entries("library_project.update") == []


# Status ---------------------------------------------------------------------------------
def test_status_cycle_is_audited_with_who_and_when(haikou_staff):
    project = make_project(region_code="460100", status="draft")
    publish_project(haikou_staff, project)
    assert project.status == "published"
    assert project.status_changed_by_id == haikou_staff.id
    first_published = project.published_at
    assert first_published is not None
    retire_project(haikou_staff, project)
    assert project.status == "retired"
    revise_project(haikou_staff, project)
    assert project.status == "draft"
    publish_project(haikou_staff, project)
    assert project.published_at == first_published  # the first publication is kept
    actions = [
        entry.action
        for entry in db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity_type == "library_project")
            .order_by(AuditEntry.id)
        )
    ]
    assert actions == [
        "library_project.publish",
        "library_project.retire",
        "library_project.revise",
        "library_project.publish",
    ]
    [retire] = audit_entries("library_project.retire")
    assert retire.before == {"status": "published"}
    assert retire.after["status"] == "retired"
    assert retire.actor_id == haikou_staff.id


@pytest.mark.parametrize(
    ("status", "change"),
    [
        ("published", publish_project),
        ("retired", publish_project),
        ("draft", retire_project),
        ("retired", retire_project),
        ("draft", revise_project),
    ],
)
def test_wrong_status_is_a_conflict(haikou_staff, status, change):
    project = make_project(region_code="460100", status=status)
    with pytest.raises(Conflict):
        change(haikou_staff, project)
    assert project.status == status
    entries = select(func.count(AuditEntry.id)).where(AuditEntry.entity_type == "library_project")
    assert db.session.scalar(entries) == 0


def test_published_projects_go_back_to_draft(haikou_staff):
    project = make_project(region_code="460100")
    revise_project(haikou_staff, project)
    assert project.status == "draft"


# Promotion ------------------------------------------------------------------------------
def test_province_staff_promote_a_city_project_once(hainan_staff):
    origin = make_project(region_code="460100", title="椰子糖", market="游客")
    assert can_promote(hainan_staff, origin)
    promoted = promote_project(hainan_staff, origin)
    assert (promoted.level, promoted.region_code, promoted.status) == (
        "province",
        "460000",
        "draft",
    )
    assert promoted.promoted_from_id == origin.id
    assert (promoted.title, promoted.market) == ("椰子糖", "游客")
    [entry] = audit_entries("library_project.promote")
    assert entry.entity_id == str(promoted.id)
    assert entry.after["promoted_from_id"] == origin.id
    with pytest.raises(Conflict) as caught:
        promote_project(hainan_staff, origin)
    assert caught.value.payload["id"] == promoted.id
    assert count(LibraryProject) == 2


def test_only_the_projects_province_promotes(db_session, haikou_staff):
    origin = make_project(region_code="460100")
    shanghai = make_user(role="staff", region_code="310000")
    for user in (haikou_staff, shanghai):
        with pytest.raises(PermissionDenied):
            promote_project(user, origin)
    assert count(LibraryProject) == 1


def test_province_projects_and_unpublished_projects_are_not_promoted(hainan_staff):
    with pytest.raises(PermissionDenied):
        promote_project(hainan_staff, make_project(region_code="460000"))
    with pytest.raises(Conflict):
        promote_project(hainan_staff, make_project(region_code="460100", status="retired"))
    assert count(LibraryProject) == 2


# Adoption -------------------------------------------------------------------------------
def test_a_founder_adopts_for_themself(db_session):
    user = make_user(role="founder", region_code="460100")
    project = make_project(region_code="460000")  # the province's project is in Haikou's library
    adoption = adopt_project(user, project, None, as_of=AS_OF)
    assert (adoption.founder_id, adoption.project_id, adoption.adopted_on) == (
        user.founder_id,
        project.id,
        AS_OF,
    )
    assert adoption.adopted_by_id == user.id
    [entry] = audit_entries("library_adoption.create")
    assert entry.region_code == "460100"
    assert entry.actor_id == user.id


def test_a_founder_adopts_only_for_themself(db_session):
    user = make_user(role="founder", region_code="460100")
    other = make_founder(region_code="460100")
    project = make_project(region_code="460100")
    with pytest.raises(ValidationFailed) as caught:
        adopt_project(user, project, other.id, as_of=AS_OF)
    assert "founder_id" in caught.value.errors
    assert adopt_project(user, project, user.founder_id, as_of=AS_OF).founder_id == user.founder_id


def test_staff_adopt_for_a_founder_of_their_area(haikou_staff):
    founder = make_founder(region_code="460100")
    project = make_project(region_code="460100")
    adoption = adopt_project(haikou_staff, project, founder.id, as_of=AS_OF)
    assert adoption.founder_id == founder.id
    with pytest.raises(ValidationFailed):
        adopt_project(haikou_staff, project, make_founder(region_code="460200").id, as_of=AS_OF)
    with pytest.raises(ValidationFailed):
        adopt_project(haikou_staff, project, None, as_of=AS_OF)


def test_adopting_twice_is_a_conflict(haikou_staff):
    founder = make_founder(region_code="460100")
    project = make_project(region_code="460100")
    first = adopt_project(haikou_staff, project, founder.id, as_of=AS_OF)
    with pytest.raises(Conflict) as caught:
        adopt_project(haikou_staff, project, founder.id, as_of=AS_OF)
    assert caught.value.payload["id"] == first.id
    assert count(LibraryAdoption) == 1
    assert len(audit_entries("library_adoption.create")) == 1


@pytest.mark.parametrize("status", ["draft", "retired"])
def test_only_published_projects_are_adopted(haikou_staff, status):
    project = make_project(region_code="460100", status=status)
    with pytest.raises(Conflict):
        adopt_project(haikou_staff, project, make_founder(region_code="460100").id, as_of=AS_OF)
    assert count(LibraryAdoption) == 0


def test_the_project_must_be_in_the_founders_library(hainan_staff):
    sanya_founder = make_founder(region_code="460200")
    haikou_project = make_project(region_code="460100")
    with pytest.raises(ValidationFailed) as caught:
        adopt_project(hainan_staff, haikou_project, sanya_founder.id, as_of=AS_OF)
    assert "founder_id" in caught.value.errors
    assert count(LibraryAdoption) == 0
    # The province's project is in every city's library.
    province_project = make_project(region_code="460000")
    assert adopt_project(hainan_staff, province_project, sanya_founder.id, as_of=AS_OF)


def test_adoptions_count_per_founder_and_project(haikou_staff):
    project = make_project(region_code="460100")
    make_adoption(project)
    adopt_project(haikou_staff, project, make_founder(region_code="460100").id, as_of=AS_OF)
    assert count(LibraryAdoption) == 2
