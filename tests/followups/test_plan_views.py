"""The admin's follow-up plan page: list, edit with validation, reset; audited; admins only."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from app.core.audit import AuditEntry
from app.extensions import db
from app.followups import jobs
from app.followups.models import FollowupPlan, FollowupTask
from tests.businesses.factories import make_business

URL = "/admin/followup-plan/"


def audit_entries(action: str) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        )
    )


def test_the_admin_sees_every_kind_with_its_default_plan(client: Any, login_as: Any) -> None:
    login_as("admin")
    with force_locale("en"):
        response = client.get(URL, headers={"Accept-Language": "en"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.count('data-testid="plan-row"') == 6
    assert "3, 6, 12, 24, 36" in page
    assert 'href="/admin/followup-plan/loan_usage"' in page


@pytest.mark.parametrize("role", ["staff", "officer", "founder"])
def test_only_admins_reach_the_plan(client: Any, login_as: Any, role: str) -> None:
    login_as(role)
    assert client.get(URL).status_code == 403
    assert client.get(URL + "business").status_code == 403
    assert client.post(URL + "business", data={"unit": "months"}).status_code == 403
    assert client.post(URL + "business/reset").status_code == 403
    assert db.session.get(FollowupPlan, "business") is None


def test_signed_out_visitors_are_sent_to_sign_in(client: Any, db_session: Any) -> None:
    assert client.get(URL).status_code in (302, 401)


def test_an_unknown_kind_is_not_found(client: Any, login_as: Any) -> None:
    login_as("admin")
    assert client.get(URL + "lunch").status_code == 404
    assert client.post(URL + "lunch/reset").status_code == 404


def test_the_admin_changes_a_plan_and_planning_follows_it(client: Any, login_as: Any) -> None:
    admin = login_as("admin")
    page = client.get(URL + "business")
    assert page.status_code == 200
    assert 'value="3, 6, 12, 24, 36"' in page.get_data(as_text=True)
    response = client.post(
        URL + "business", data={"unit": "months", "offsets": " 2, 4,8 ", "repeat_every": "12"}
    )
    assert response.status_code == 302
    row = db.session.get(FollowupPlan, "business")
    assert (row.unit, row.offsets, row.repeat_every) == ("months", "2,4,8", 12)
    (entry,) = audit_entries("followup_plan.update")
    assert (entry.entity_type, entry.entity_id, entry.actor_id) == (
        "followup_plan",
        "business",
        admin.id,
    )
    assert entry.before == {"unit": "months", "offsets": "3, 6, 12, 24, 36", "repeat_every": None}
    assert entry.after == {"unit": "months", "offsets": "2, 4, 8", "repeat_every": 12}

    business = make_business(opened_on=date(2026, 4, 10))
    jobs.plan_followups(date(2026, 6, 5))
    due = db.session.scalars(
        select(FollowupTask.due_on).where(FollowupTask.subject_id == business.id)
    ).all()
    assert due == [date(2026, 6, 10)]
    listing = client.get(URL).get_data(as_text=True)
    assert "2, 4, 8" in listing
    assert 'data-testid="plan-source"' in listing


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"unit": "months", "offsets": "6, 3"}, "offsets", "larger than the one before"),
        ({"unit": "months", "offsets": "0, 3"}, "offsets", "start at 1"),
        ({"unit": "months", "offsets": "3; 6"}, "offsets", "separated by commas"),
        ({"unit": "months", "offsets": ""}, "offsets", "This field is required"),
        ({"unit": "weeks", "offsets": "3"}, "unit", "Not a valid choice"),
        ({"unit": "days", "offsets": "3", "repeat_every": "0"}, "repeat_every", "Repeat every"),
        ({"unit": "days", "offsets": "3", "repeat_every": "x"}, "repeat_every", "integer"),
        ({"unit": "months", "offsets": "3, 600"}, "offsets", "go up to 120"),
    ],
)
def test_a_bad_plan_is_refused_naming_the_field(
    client: Any, login_as: Any, data: dict[str, str], field: str, message: str
) -> None:
    login_as("admin")
    with force_locale("en"):
        response = client.post(URL + "business", data=data, headers={"Accept-Language": "en"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert f'id="{field}"' in page
    assert "is-invalid" in page
    assert db.session.get(FollowupPlan, "business") is None
    assert audit_entries("followup_plan.update") == []


def test_reset_brings_back_the_default_and_is_audited(client: Any, login_as: Any) -> None:
    login_as("admin")
    client.post(URL + "loan_usage", data={"unit": "months", "offsets": "2", "repeat_every": "6"})
    assert db.session.get(FollowupPlan, "loan_usage") is not None
    assert "reset-form" in client.get(URL + "loan_usage").get_data(as_text=True)
    response = client.post(URL + "loan_usage/reset")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(FollowupPlan, "loan_usage") is None
    (entry,) = audit_entries("followup_plan.reset")
    assert entry.before == {"unit": "months", "offsets": "2", "repeat_every": 6}
    assert entry.after == {"unit": "months", "offsets": "1", "repeat_every": 3}
    # Resetting a default plan changes nothing and writes no entry.
    assert client.post(URL + "loan_usage/reset").status_code == 302
    assert len(audit_entries("followup_plan.reset")) == 1
