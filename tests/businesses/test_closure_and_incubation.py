"""A business's closure and its incubation residency stay consistent (D30, D31)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.businesses.operations import record_observation, update_business
from app.core.audit import AuditEntry
from app.core.errors import ValidationFailed
from app.extensions import db
from tests.businesses.factories import make_business
from tests.factories import make_user
from tests.incubation.factories import make_base, make_residency

AS_OF = date(2026, 11, 22)


@pytest.fixture(autouse=True)
def _english(app, db_session):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


@pytest.fixture
def staff(db_session):
    return make_user(role="staff", region_code="460100")


def test_a_closure_ends_the_open_residency_on_the_closing_day(staff):
    business = make_business()
    residency = make_residency(make_base(region_code="460100"), business=business)

    record_observation(
        staff,
        business,
        {"observed_on": date(2026, 9, 10), "status": "closed", "closed_on": date(2026, 9, 1)},
        as_of=AS_OF,
    )

    assert (residency.ends_on, residency.outcome) == (date(2026, 9, 1), "closed")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "residency.end"))
    assert entry.after == {"ends_on": "2026-09-01", "outcome": "closed"}


def test_a_closure_before_the_business_moved_in_is_refused(staff):
    business = make_business()
    make_residency(make_base(region_code="460100"), business=business, starts_on=date(2026, 5, 1))

    with pytest.raises(ValidationFailed) as caught:
        record_observation(
            staff,
            business,
            {"observed_on": date(2026, 9, 10), "status": "closed", "closed_on": date(2026, 4, 1)},
            as_of=AS_OF,
        )

    assert "2026-05-01" in caught.value.errors["closed_on"][0]


def test_a_suspension_leaves_the_business_in_its_unit(staff):
    business = make_business()
    residency = make_residency(make_base(region_code="460100"), business=business)

    record_observation(
        staff,
        business,
        {"observed_on": date(2026, 9, 10), "status": "suspended", "employees": 1},
        as_of=AS_OF,
    )

    assert residency.ends_on is None


def test_the_opening_cannot_move_past_the_first_residency(staff):
    business = make_business()
    make_residency(make_base(region_code="460100"), business=business, starts_on=date(2026, 4, 1))

    with pytest.raises(ValidationFailed) as caught:
        update_business(staff, business, {"opened_on": date(2026, 5, 1)}, as_of=AS_OF)

    assert "2026-04-01" in caught.value.errors["opened_on"][0]
    assert update_business(staff, business, {"opened_on": date(2026, 4, 1)}, as_of=AS_OF)


def test_no_observation_falls_inside_a_closed_time(staff):
    """Closed on 1 June, reopened on 1 September: July belongs to the closure."""
    business = make_business()
    record_observation(
        staff, business, {"observed_on": date(2026, 6, 1), "status": "closed"}, as_of=AS_OF
    )
    record_observation(
        staff,
        business,
        {"observed_on": date(2026, 9, 1), "status": "operating", "employees": 1},
        as_of=AS_OF,
        is_reopening=True,
    )
    with pytest.raises(ValidationFailed) as caught:
        record_observation(
            staff,
            business,
            {"observed_on": date(2026, 7, 1), "status": "operating", "employees": 2},
            as_of=AS_OF,
        )
    assert "2026-06-01" in caught.value.errors["observed_on"][0]
    # Before the closure and after the reopening, history may be filled in.
    for day in (date(2026, 5, 1), date(2026, 9, 1), date(2026, 10, 1)):
        record_observation(
            staff,
            business,
            {"observed_on": day, "status": "operating", "employees": 2},
            as_of=AS_OF,
        )
    assert business.status == "operating"


def test_staff_are_told_how_to_record_a_reopening(staff):
    from app.core.errors import Conflict

    business = make_business()
    record_observation(
        staff, business, {"observed_on": date(2026, 6, 1), "status": "closed"}, as_of=AS_OF
    )
    with pytest.raises(Conflict) as caught:
        record_observation(
            staff,
            business,
            {"observed_on": date(2026, 9, 1), "status": "operating", "employees": 1},
            as_of=AS_OF,
        )
    assert "The business reopened" in caught.value.message
