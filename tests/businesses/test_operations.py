"""Business rules: opening and correcting businesses, observations and their history,
closures and reopenings, who observes, and the review of founders' self-reports."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.businesses import operations
from app.businesses.models import Business, Observation
from app.businesses.operations import (
    create_business,
    query_observation,
    record_observation,
    update_business,
    verify_observation,
)
from app.core.audit import AuditEntry
from app.core.errors import Conflict, PermissionDenied, ValidationFailed
from app.extensions import db
from tests.businesses.factories import make_business, make_observation, make_uscc
from tests.factories import make_founder, make_user
from tests.library.factories import make_project

AS_OF = date(2026, 11, 22)


@pytest.fixture(autouse=True)
def _english(app, db_session):
    """Messages come in the request's language: English here, to compare them."""
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


@pytest.fixture
def staff(db_session):
    return make_user(role="staff", region_code="460100")


@pytest.fixture
def founder(db_session):
    return make_founder(region_code="460100")


def business_values(founder_id, **fields):
    values = {
        "founder_id": founder_id,
        "name": "椰香小吃店",
        "industry": "catering",
        "region_code": "460100",
        "opened_on": date(2026, 3, 1),
        "employees_at_opening": 2,
    }
    return values | fields


def seen(observed_on, status="operating", employees=3, **fields):
    """The values of an observation, as pages and the API hand them to the operation."""
    return {"observed_on": observed_on, "status": status, "employees": employees} | fields


def audit_entries(action):
    stmt = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
    return list(db.session.scalars(stmt))


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def founder_account(founder):
    return make_user(role="founder", region_code=founder.region_code, founder_id=founder.id)


def errors_of(caught):
    return caught.value.errors


# Creating -------------------------------------------------------------------------------
def test_staff_record_a_business_operating_since_it_opened(staff, founder):
    code = make_uscc()
    business = create_business(
        staff, business_values(founder.id, name="  椰香小吃店 ", uscc=code.lower()), as_of=AS_OF
    )
    assert business.id is not None
    assert business.name == "椰香小吃店"
    assert business.uscc == code
    assert (business.status, business.employees) == ("operating", 2)
    assert business.status_observed_on == date(2026, 3, 1)
    assert business.closed_on is None
    assert business.library_project_id is None
    [entry] = audit_entries("business.create")
    assert entry.entity_type == "business"
    assert entry.entity_id == str(business.id)
    assert entry.actor_id == staff.id
    assert entry.region_code == "460100"
    assert entry.before is None
    assert entry.after["name"] == "椰香小吃店"
    assert entry.after["founder_id"] == founder.id
    assert entry.after["opened_on"] == "2026-03-01"


def test_a_founder_may_own_several_businesses(staff, founder):
    first = create_business(staff, business_values(founder.id, name="一店"), as_of=AS_OF)
    second = create_business(
        staff,
        business_values(founder.id, name="二店", opened_on=date(2026, 7, 1)),
        as_of=AS_OF,
    )
    assert first.id != second.id
    assert (first.founder_id, second.founder_id) == (founder.id, founder.id)
    assert count(Business) == 2


def test_province_staff_record_businesses_anywhere_in_the_province(db_session):
    hainan_staff = make_user(role="staff", region_code="460000")
    sanya_founder = make_founder(region_code="460200")
    business = create_business(
        hainan_staff,
        business_values(sanya_founder.id, region_code="460100"),
        as_of=AS_OF,
    )
    assert (business.founder_id, business.region_code) == (sanya_founder.id, "460100")


@pytest.mark.parametrize("role", ["officer", "founder", "admin"])
def test_only_staff_record_businesses(db_session, founder, role):
    user = make_user(role=role, region_code="460000" if role == "admin" else "460100")
    with pytest.raises(PermissionDenied):
        create_business(user, business_values(founder.id), as_of=AS_OF)
    assert count(Business) == 0


def test_a_founder_out_of_scope_is_refused(staff):
    sanya_founder = make_founder(region_code="460200")
    with pytest.raises(ValidationFailed) as caught:
        create_business(staff, business_values(sanya_founder.id), as_of=AS_OF)
    assert errors_of(caught) == {"founder_id": ["Choose a founder in your area."]}
    assert caught.value.status_code == 422
    assert count(Business) == 0
    assert audit_entries("business.create") == []


@pytest.mark.parametrize("founder_id", [None, 0, -1, 10**30, "1", True, 999_999])
def test_a_missing_or_unknown_founder_is_refused(staff, founder_id):
    with pytest.raises(ValidationFailed) as caught:
        create_business(staff, business_values(founder_id), as_of=AS_OF)
    assert "founder_id" in errors_of(caught)


@pytest.mark.parametrize(
    ("staff_region", "region_code"),
    [
        ("460100", "460200"),  # Haikou staff, a Sanya business
        ("460100", "460000"),  # Haikou staff, the province itself
        ("460000", "310110"),  # Hainan staff, a Shanghai district
        ("460100", "999999"),  # no such region
        ("460100", None),
    ],
)
def test_a_region_outside_the_scope_is_refused(db_session, founder, staff_region, region_code):
    user = make_user(role="staff", region_code=staff_region)
    with pytest.raises(ValidationFailed) as caught:
        create_business(user, business_values(founder.id, region_code=region_code), as_of=AS_OF)
    assert errors_of(caught) == {"region_code": ["Choose a region in your area."]}
    assert count(Business) == 0


def test_the_business_is_in_the_founders_province(staff, founder, monkeypatch):
    # Staff scopes never cross provinces, so widen this one to reach the province rule.
    monkeypatch.setattr(
        operations, "region_codes_in_scope", lambda user: frozenset({"460100", "310110"})
    )
    with pytest.raises(ValidationFailed) as caught:
        create_business(staff, business_values(founder.id, region_code="310110"), as_of=AS_OF)
    assert errors_of(caught) == {"region_code": ["The business must be in the founder's province."]}


@pytest.mark.parametrize(
    ("opened_on", "message"),
    [
        (date(2026, 11, 23), "The opening day cannot be in the future."),
        (date(1979, 12, 31), "Choose a day from 1980-01-01 on."),
        (date(1985, 6, 1), "The opening day cannot be before the founder was born."),
        (None, "Enter the day the business opened."),
    ],
)
def test_impossible_opening_days_are_refused(staff, founder, opened_on, message):
    assert founder.birth_date.year == 1990
    with pytest.raises(ValidationFailed) as caught:
        create_business(staff, business_values(founder.id, opened_on=opened_on), as_of=AS_OF)
    assert errors_of(caught) == {"opened_on": [message]}


def test_the_opening_may_be_today(staff, founder):
    business = create_business(staff, business_values(founder.id, opened_on=AS_OF), as_of=AS_OF)
    assert business.status_observed_on == AS_OF


def test_a_credit_code_with_a_bad_check_character_is_refused(staff, founder):
    code = make_uscc()
    wrong = code[:17] + ("1" if code[17] != "1" else "2")
    with pytest.raises(ValidationFailed) as caught:
        create_business(staff, business_values(founder.id, uscc=wrong), as_of=AS_OF)
    assert list(errors_of(caught)) == ["uscc"]
    assert count(Business) == 0


def test_a_credit_code_already_used_is_a_conflict_naming_the_holder(staff, founder):
    code = make_uscc()
    holder = make_business(uscc=code)
    with pytest.raises(Conflict) as caught:
        create_business(staff, business_values(founder.id, uscc=code.lower()), as_of=AS_OF)
    assert caught.value.status_code == 409
    assert caught.value.payload == {"id": holder.id}
    assert caught.value.to_json()["id"] == holder.id
    assert code in caught.value.message
    assert count(Business) == 1
    assert audit_entries("business.create") == []


def test_all_problems_are_reported_at_once(staff, founder):
    with pytest.raises(ValidationFailed) as caught:
        create_business(
            staff,
            business_values(
                founder.id,
                name="",
                industry="mining",
                opened_on=date(2030, 1, 1),
                employees_at_opening=-1,
                region_code="460200",
            ),
            as_of=AS_OF,
        )
    assert set(errors_of(caught)) == {
        "name",
        "industry",
        "opened_on",
        "employees_at_opening",
        "region_code",
    }


def test_unknown_fields_are_a_programming_error(staff, founder):
    with pytest.raises(ValueError, match="status"):
        create_business(staff, business_values(founder.id, status="closed"), as_of=AS_OF)


# The library project a business came from -----------------------------------------------
def test_a_published_project_of_the_library_may_be_named(staff, founder):
    city = make_project(region_code="460100")
    province = make_project(region_code="460000")
    first = create_business(
        staff, business_values(founder.id, library_project_id=city.id), as_of=AS_OF
    )
    second = create_business(
        staff, business_values(founder.id, library_project_id=province.id), as_of=AS_OF
    )
    assert (first.library_project_id, second.library_project_id) == (city.id, province.id)


@pytest.mark.parametrize(
    ("region_code", "status"),
    [
        ("460100", "draft"),  # the staff's own draft: not a project anyone adopts yet
        ("460000", "draft"),
        ("460200", "published"),  # another city's library
        ("310000", "published"),  # another province's
    ],
)
def test_drafts_and_projects_out_of_sight_are_refused(staff, founder, region_code, status):
    project = make_project(region_code=region_code, status=status)
    with pytest.raises(ValidationFailed) as caught:
        create_business(
            staff, business_values(founder.id, library_project_id=project.id), as_of=AS_OF
        )
    assert errors_of(caught) == {
        "library_project_id": ["Choose a published project of your library."]
    }


@pytest.mark.parametrize("project_id", [999_999, 0, "1", 10**30])
def test_unknown_projects_are_refused(staff, founder, project_id):
    with pytest.raises(ValidationFailed) as caught:
        create_business(
            staff, business_values(founder.id, library_project_id=project_id), as_of=AS_OF
        )
    assert list(errors_of(caught)) == ["library_project_id"]


# Correcting -----------------------------------------------------------------------------
def test_corrections_change_and_audit_only_the_changed_fields(staff):
    business = make_business(name="旧名", industry="catering")
    changed = update_business(
        staff,
        business,
        {"name": "新名", "industry": "retail", "employees_at_opening": 2},
        as_of=AS_OF,
    )
    assert changed is True
    assert (business.name, business.industry) == ("新名", "retail")
    [entry] = audit_entries("business.update")
    assert entry.before == {"name": "旧名", "industry": "catering"}
    assert entry.after == {"name": "新名", "industry": "retail"}
    assert entry.actor_id == staff.id


def test_a_correction_that_changes_nothing_returns_false(staff):
    business = make_business(name="小店")
    assert update_business(staff, business, {"name": " 小店 "}, as_of=AS_OF) is False
    assert update_business(staff, business, {}, as_of=AS_OF) is False
    assert audit_entries("business.update") == []


def test_the_founder_of_a_business_never_changes(staff):
    business = make_business()
    owner = business.founder_id
    other = make_founder(region_code="460100")
    assert update_business(staff, business, {"founder_id": other.id}, as_of=AS_OF) is False
    assert business.founder_id == owner
    assert audit_entries("business.update") == []


def test_moving_the_opening_without_observations_moves_the_current_status(staff):
    business = make_business(opened_on=date(2026, 3, 1), employees_at_opening=2)
    update_business(
        staff,
        business,
        {"opened_on": date(2026, 2, 1), "employees_at_opening": 4},
        as_of=AS_OF,
    )
    assert business.opened_on == date(2026, 2, 1)
    assert business.status_observed_on == date(2026, 2, 1)
    assert business.employees == 4
    [entry] = audit_entries("business.update")
    assert entry.before == {
        "opened_on": "2026-03-01",
        "employees_at_opening": 2,
        "employees": 2,
        "status_observed_on": "2026-03-01",
    }
    assert entry.after == {
        "opened_on": "2026-02-01",
        "employees_at_opening": 4,
        "employees": 4,
        "status_observed_on": "2026-02-01",
    }


def test_the_opening_cannot_move_after_the_first_observation(staff):
    business = make_business(opened_on=date(2026, 3, 1))
    make_observation(business, observed_on=date(2026, 4, 1))
    make_observation(business, observed_on=date(2026, 6, 1))
    with pytest.raises(ValidationFailed) as caught:
        update_business(staff, business, {"opened_on": date(2026, 4, 2)}, as_of=AS_OF)
    assert errors_of(caught) == {
        "opened_on": ["The business was observed on 2026-04-01; it cannot have opened later."]
    }
    db.session.refresh(business)
    assert business.opened_on == date(2026, 3, 1)
    # On the day of the first observation, or earlier, is fine; the status stays observed.
    assert update_business(staff, business, {"opened_on": date(2026, 4, 1)}, as_of=AS_OF)
    assert business.status_observed_on == date(2026, 6, 1)


def test_the_opening_cannot_move_after_a_recorded_closing_day(staff):
    business = make_business(opened_on=date(2026, 3, 1))
    # Seen closed on June 1st; it had closed on April 1st.
    make_observation(
        business, observed_on=date(2026, 6, 1), status="closed", closed_on=date(2026, 4, 1)
    )
    with pytest.raises(ValidationFailed) as caught:
        update_business(staff, business, {"opened_on": date(2026, 5, 1)}, as_of=AS_OF)
    assert errors_of(caught) == {
        "opened_on": ["The business was observed on 2026-04-01; it cannot have opened later."]
    }
    db.session.refresh(business)
    assert business.opened_on == date(2026, 3, 1)


def test_corrections_follow_the_creation_rules(staff):
    business = make_business()
    code = make_uscc()
    make_business(uscc=code)
    with pytest.raises(ValidationFailed) as caught:
        update_business(
            staff,
            business,
            {"name": "", "region_code": "460200", "opened_on": date(2030, 1, 1)},
            as_of=AS_OF,
        )
    assert set(errors_of(caught)) == {"name", "region_code", "opened_on"}
    with pytest.raises(Conflict):
        update_business(staff, business, {"uscc": code}, as_of=AS_OF)
    assert business.uscc is None


def test_a_business_keeps_its_own_credit_code(staff):
    code = make_uscc()
    business = make_business(uscc=code)
    assert update_business(staff, business, {"uscc": code.lower()}, as_of=AS_OF) is False
    assert update_business(staff, business, {"uscc": None}, as_of=AS_OF) is True
    assert business.uscc is None


def test_a_project_named_before_stays_acceptable(staff):
    project = make_project(region_code="460200")  # not in Haikou's library
    business = make_business(library_project_id=project.id)
    assert update_business(staff, business, {"name": "改名"}, as_of=AS_OF) is True
    changes = {"library_project_id": project.id}
    assert update_business(staff, business, changes, as_of=AS_OF) is False


@pytest.mark.parametrize("role", ["founder", "officer"])
def test_founders_and_officers_do_not_correct_businesses(db_session, role):
    business = make_business(name="原名")
    if role == "founder":
        user = founder_account(business.founder)  # even the owner
    else:
        user = make_user(role=role, region_code="460100")
    with pytest.raises(PermissionDenied):
        update_business(user, business, {"name": "改名"}, as_of=AS_OF)
    assert business.name == "原名"
    assert audit_entries("business.update") == []


# Observations: the field and date rules -------------------------------------------------
def test_staff_observations_update_the_current_status(staff):
    business = make_business()
    observation = record_observation(
        staff,
        business,
        seen(date(2026, 6, 1), "suspended", 1, monthly_revenue="800.5", note=" 装修 "),
        as_of=AS_OF,
    )
    assert (observation.status, observation.employees) == ("suspended", 1)
    assert observation.monthly_revenue == Decimal("800.50")
    assert observation.note == "装修"
    assert observation.recorded_by_id == staff.id
    assert (business.status, business.employees) == ("suspended", 1)
    assert business.status_observed_on == date(2026, 6, 1)
    [entry] = audit_entries("observation.create")
    assert entry.entity_type == "business_observation"
    assert entry.entity_id == str(observation.id)
    assert entry.region_code == business.region_code
    assert entry.after["status"] == "suspended"


@pytest.mark.parametrize(
    ("values", "field"),
    [
        (seen(date(2026, 2, 28)), "observed_on"),  # before the opening
        (seen(date(2026, 11, 23)), "observed_on"),  # after today
        (seen(date(2026, 6, 1), "closed", 0, closed_on=date(2026, 2, 28)), "closed_on"),
        (seen(date(2026, 6, 1), "closed", 0, closed_on=date(2026, 6, 2)), "closed_on"),
        (seen(date(2026, 6, 1), "operating", 3, closed_on=date(2026, 6, 1)), "closed_on"),
        (seen(date(2026, 6, 1), "suspended", 0, closed_on=date(2026, 5, 1)), "closed_on"),
        (seen(date(2026, 6, 1), "closed", 2), "employees"),
        (seen(date(2026, 6, 1), "operating", None), "employees"),
        (seen(date(2026, 6, 1), "operating", 10_001), "employees"),
        (seen(date(2026, 6, 1), "gone"), "status"),
        (seen(date(2026, 6, 1), monthly_revenue="-1"), "monthly_revenue"),
        (seen(date(2026, 6, 1), monthly_revenue="1.234"), "monthly_revenue"),
        (seen(date(2026, 6, 1), note="x" * 1001), "note"),
    ],
)
def test_bad_observations_are_refused_naming_the_field(staff, values, field):
    business = make_business(opened_on=date(2026, 3, 1))
    with pytest.raises(ValidationFailed) as caught:
        record_observation(staff, business, values, as_of=AS_OF)
    assert field in errors_of(caught)
    assert caught.value.status_code == 422
    assert count(Observation) == 0
    assert business.status == "operating"


def test_observations_on_the_opening_day_and_today_are_fine(staff):
    business = make_business(opened_on=date(2026, 3, 1))
    record_observation(staff, business, seen(date(2026, 3, 1)), as_of=AS_OF)
    record_observation(staff, business, seen(AS_OF, employees=5), as_of=AS_OF)
    assert (business.status_observed_on, business.employees) == (AS_OF, 5)


def test_a_closure_without_a_head_count_employs_nobody_and_closes_that_day(staff):
    business = make_business()
    observation = record_observation(
        staff, business, {"observed_on": date(2026, 7, 1), "status": "closed"}, as_of=AS_OF
    )
    assert observation.employees == 0
    assert observation.closed_on == date(2026, 7, 1)
    assert (business.status, business.employees, business.closed_on) == (
        "closed",
        0,
        date(2026, 7, 1),
    )


def test_a_closure_may_be_dated_before_it_was_seen(staff):
    business = make_business()
    record_observation(
        staff,
        business,
        seen(date(2026, 7, 1), "closed", 0, closed_on=date(2026, 6, 15)),
        as_of=AS_OF,
    )
    assert business.closed_on == date(2026, 6, 15)
    assert business.status_observed_on == date(2026, 7, 1)


# The current status is the latest observation -------------------------------------------
def test_without_observations_a_business_operates_with_its_opening_head_count(staff, founder):
    business = create_business(
        staff, business_values(founder.id, employees_at_opening=4), as_of=AS_OF
    )
    assert (business.status, business.employees) == ("operating", 4)
    assert (business.status_observed_on, business.closed_on) == (date(2026, 3, 1), None)
    business.status, business.employees = "suspended", 0  # drifted somehow
    operations.refresh_current_status(business)
    assert (business.status, business.employees) == ("operating", 4)
    assert business.status_observed_on == date(2026, 3, 1)


def test_the_current_status_is_the_latest_observation(staff):
    business = make_business(opened_on=date(2026, 3, 1), employees_at_opening=2)
    assert (business.status, business.employees) == ("operating", 2)
    assert business.status_observed_on == date(2026, 3, 1)
    record_observation(staff, business, seen(date(2026, 5, 1), "suspended", 1), as_of=AS_OF)
    record_observation(staff, business, seen(date(2026, 8, 1), "operating", 6), as_of=AS_OF)
    assert (business.status, business.employees) == ("operating", 6)
    assert business.status_observed_on == date(2026, 8, 1)


def test_a_backdated_observation_does_not_change_the_current_status(staff):
    business = make_business()
    record_observation(staff, business, seen(date(2026, 8, 1), "operating", 6), as_of=AS_OF)
    record_observation(staff, business, seen(date(2026, 5, 1), "suspended", 1), as_of=AS_OF)
    assert (business.status, business.employees) == ("operating", 6)
    assert business.status_observed_on == date(2026, 8, 1)
    assert count(Observation) == 2


def test_on_the_same_day_the_later_observation_wins(staff):
    business = make_business()
    record_observation(staff, business, seen(date(2026, 8, 1), "operating", 6), as_of=AS_OF)
    record_observation(staff, business, seen(date(2026, 8, 1), "suspended", 2), as_of=AS_OF)
    assert (business.status, business.employees) == ("suspended", 2)
    record_observation(staff, business, seen(date(2026, 8, 1), "operating", 4), as_of=AS_OF)
    assert (business.status, business.employees) == ("operating", 4)


# Closures and reopenings ----------------------------------------------------------------
def test_a_closure_cannot_predate_the_last_observation(staff):
    business = make_business()
    record_observation(staff, business, seen(date(2026, 8, 1)), as_of=AS_OF)
    with pytest.raises(ValidationFailed) as caught:
        record_observation(
            staff,
            business,
            seen(date(2026, 9, 1), "closed", 0, closed_on=date(2026, 7, 1)),
            as_of=AS_OF,
        )
    assert errors_of(caught) == {
        "closed_on": [
            "The business was last seen operating on 2026-08-01; it cannot have closed earlier."
        ]
    }
    with pytest.raises(ValidationFailed) as caught:
        record_observation(staff, business, seen(date(2026, 7, 1), "closed", 0), as_of=AS_OF)
    assert list(errors_of(caught)) == ["observed_on"]
    assert business.status == "operating"
    # Closing on the day it was last seen operating is possible.
    record_observation(staff, business, seen(date(2026, 8, 1), "closed", 0), as_of=AS_OF)
    assert business.status == "closed"


def test_a_closure_cannot_predate_the_opening_status(staff):
    """Without observations the business was 'seen' operating on its opening day."""
    business = make_business(opened_on=date(2026, 3, 1))
    record_observation(staff, business, seen(date(2026, 3, 1), "closed", 0), as_of=AS_OF)
    assert business.closed_on == date(2026, 3, 1)


@pytest.fixture
def closed_business(staff):
    business = make_business()
    record_observation(staff, business, seen(date(2026, 6, 1), "closed", 0), as_of=AS_OF)
    assert business.status == "closed"
    return business


@pytest.mark.parametrize(
    "values",
    [
        seen(date(2026, 7, 1)),
        seen(date(2026, 5, 1)),  # backdated, before the closure
        seen(date(2026, 7, 1), "closed", 0),
        seen(date(2026, 7, 1), "suspended", 0),
    ],
)
def test_a_closed_business_takes_no_observation(staff, closed_business, values):
    with pytest.raises(Conflict) as caught:
        record_observation(staff, closed_business, values, as_of=AS_OF)
    assert caught.value.status_code == 409
    assert "closed on 2026-06-01" in caught.value.message
    assert count(Observation) == 1
    assert closed_business.status == "closed"


def test_staff_record_a_reopening(staff, closed_business):
    reopening = record_observation(
        staff,
        closed_business,
        seen(date(2026, 7, 1), "operating", 2),
        as_of=AS_OF,
        is_reopening=True,
    )
    assert reopening.is_reopening is True
    assert (closed_business.status, closed_business.employees) == ("operating", 2)
    assert closed_business.closed_on is None
    assert closed_business.status_observed_on == date(2026, 7, 1)
    # Trading again, it takes ordinary observations.
    record_observation(staff, closed_business, seen(date(2026, 8, 1), "suspended", 1), as_of=AS_OF)
    assert closed_business.status == "suspended"


def test_a_reopening_on_the_day_of_the_closure_observation_is_fine(staff, closed_business):
    record_observation(
        staff,
        closed_business,
        seen(date(2026, 6, 1), "suspended", 0),
        as_of=AS_OF,
        is_reopening=True,
    )
    assert closed_business.status == "suspended"
    assert closed_business.closed_on is None


def test_a_reopening_finds_the_business_open(staff, closed_business):
    with pytest.raises(ValidationFailed) as caught:
        record_observation(
            staff,
            closed_business,
            seen(date(2026, 7, 1), "closed", 0),
            as_of=AS_OF,
            is_reopening=True,
        )
    assert errors_of(caught) == {
        "status": ["A reopening finds the business operating or suspended."]
    }
    assert closed_business.status == "closed"


def test_a_reopening_cannot_predate_the_closure(staff, closed_business):
    with pytest.raises(ValidationFailed) as caught:
        record_observation(
            staff, closed_business, seen(date(2026, 5, 31)), as_of=AS_OF, is_reopening=True
        )
    assert errors_of(caught) == {
        "observed_on": ["The closure was recorded on 2026-06-01; the reopening cannot be earlier."]
    }
    assert count(Observation) == 1


def test_only_a_closed_business_reopens(staff):
    business = make_business()
    with pytest.raises(Conflict) as caught:
        record_observation(staff, business, seen(date(2026, 7, 1)), as_of=AS_OF, is_reopening=True)
    assert caught.value.status_code == 409
    assert count(Observation) == 0


def test_founders_do_not_record_reopenings(closed_business):
    account = founder_account(closed_business.founder)
    with pytest.raises(PermissionDenied):
        record_observation(
            account, closed_business, seen(date(2026, 7, 1)), as_of=AS_OF, is_reopening=True
        )
    with pytest.raises(Conflict):
        record_observation(account, closed_business, seen(date(2026, 7, 1)), as_of=AS_OF)
    assert closed_business.status == "closed"


# Who observes ---------------------------------------------------------------------------
def test_staff_observations_are_verified_as_they_are_made(staff):
    observation = record_observation(staff, make_business(), seen(date(2026, 6, 1)), as_of=AS_OF)
    assert (observation.source, observation.verified, observation.review_state) == (
        "staff",
        True,
        None,
    )


def test_follow_ups_are_recorded_as_such(staff):
    observation = record_observation(
        staff, make_business(), seen(date(2026, 6, 1)), as_of=AS_OF, source="followup"
    )
    assert (observation.source, observation.verified, observation.review_state) == (
        "followup",
        True,
        None,
    )


def test_a_founders_own_report_waits_for_review_but_counts(db_session):
    business = make_business()
    account = founder_account(business.founder)
    observation = record_observation(
        account, business, seen(date(2026, 6, 1), employees=4), as_of=AS_OF
    )
    assert (observation.source, observation.verified, observation.review_state) == (
        "founder",
        False,
        "pending",
    )
    assert observation.recorded_by_id == account.id
    assert business.employees == 4
    # A founder's report says "founder", whatever source is asked for.
    other = record_observation(
        account, business, seen(date(2026, 7, 1)), as_of=AS_OF, source="staff"
    )
    assert other.source == "founder"


def test_a_founder_observes_only_their_own_business(db_session):
    business = make_business()
    stranger = make_user(role="founder", region_code="460100")
    with pytest.raises(PermissionDenied):
        record_observation(stranger, business, seen(date(2026, 6, 1)), as_of=AS_OF)
    assert count(Observation) == 0


@pytest.mark.parametrize("role", ["officer", "admin"])
def test_officers_and_admins_do_not_observe(db_session, role):
    user = make_user(role=role, region_code="460000" if role == "admin" else "460100")
    with pytest.raises(PermissionDenied):
        record_observation(user, make_business(), seen(date(2026, 6, 1)), as_of=AS_OF)


# Reviewing self-reports -----------------------------------------------------------------
@pytest.fixture
def report(db_session):
    business = make_business()
    return make_observation(business, source="founder")


def test_staff_verify_a_pending_report(staff, report):
    verify_observation(staff, report)
    assert (report.review_state, report.verified) == ("verified", True)
    assert report.reviewed_by_id == staff.id
    assert report.reviewed_at is not None
    [entry] = audit_entries("observation.verify")
    assert entry.entity_id == str(report.id)
    assert entry.before == {"review_state": "pending", "verified": False}
    assert entry.after == {"review_state": "verified", "verified": True}
    assert entry.region_code == "460100"
    with pytest.raises(Conflict) as caught:
        verify_observation(staff, report)
    assert caught.value.status_code == 409
    assert len(audit_entries("observation.verify")) == 1


def test_staff_observations_need_no_review(staff):
    observation = make_observation(make_business(), source="staff")
    with pytest.raises(Conflict):
        verify_observation(staff, observation)
    with pytest.raises(Conflict):
        query_observation(staff, observation, "为什么？")


@pytest.mark.parametrize("note", [None, "", "   ", 5])
def test_a_query_needs_a_note(staff, report, note):
    with pytest.raises(ValidationFailed) as caught:
        query_observation(staff, report, note)
    assert list(errors_of(caught)) == ["note"]
    assert report.review_state == "pending"


def test_staff_query_a_pending_report(staff, report):
    query_observation(staff, report, "  员工真的有10人吗？ ")
    assert report.review_state == "queried"
    assert report.query_note == "员工真的有10人吗？"
    assert report.verified is False
    assert report.reviewed_by_id == staff.id
    [entry] = audit_entries("observation.query")
    assert entry.before == {"review_state": "pending"}
    assert entry.after == {"review_state": "queried", "query_note": "员工真的有10人吗？"}
    with pytest.raises(Conflict):
        query_observation(staff, report, "再问一次")
    assert report.query_note == "员工真的有10人吗？"
    # A queried report can still be verified once answered.
    verify_observation(staff, report)
    assert (report.review_state, report.verified) == ("verified", True)
    with pytest.raises(Conflict):
        query_observation(staff, report, "再问一次")


@pytest.mark.parametrize("role", ["founder", "officer", "admin"])
def test_only_staff_review(db_session, report, role):
    if role == "founder":
        user = founder_account(report.business.founder)
    else:
        user = make_user(role=role, region_code="460000" if role == "admin" else "460100")
    with pytest.raises(PermissionDenied):
        verify_observation(user, report)
    with pytest.raises(PermissionDenied):
        query_observation(user, report, "?")
    assert report.review_state == "pending"
