"""The founder journey's last milestone: a follow-up that found a business a year or more
after it opened (whatever the plan's offsets), and only a done one."""

from __future__ import annotations

from datetime import date

from app.extensions import db
from app.followups.queries import first_year_followup_on
from tests.businesses.factories import make_business
from tests.factories import make_founder
from tests.followups.factories import make_task

EN = {"Accept-Language": "en"}


def test_only_a_done_follow_up_a_year_after_opening_counts(db_session):
    founder = make_founder()
    business = make_business(founder, opened_on=date(2025, 3, 1))
    make_task("business", subject=business, founder=founder, due_on=date(2025, 9, 1), status="done")
    make_task("business", subject=business, founder=founder, due_on=date(2026, 3, 1))
    assert first_year_followup_on(founder.id) is None
    make_task(
        "business", subject=business, founder=founder, due_on=date(2027, 3, 1), status="missed"
    )
    assert first_year_followup_on(founder.id) is None
    make_task(
        "business",
        subject=business,
        founder=founder,
        due_on=date(2026, 3, 1),
        sequence=9,
        status="done",
        done_on=date(2026, 3, 4),
    )
    assert first_year_followup_on(founder.id) == date(2026, 3, 4)


def test_founder_page_reaches_the_12_month_follow_up(client, login_as):
    login_as("staff", "460100")
    founder = make_founder(registered_on=date(2024, 12, 1))
    business = make_business(founder, opened_on=date(2025, 3, 1))
    make_task(
        "business",
        subject=business,
        founder=founder,
        due_on=date(2026, 3, 1),
        status="done",
        done_on=date(2026, 3, 2),
    )
    db.session.commit()
    html = client.get(f"/founders/{founder.id}", headers=EN).get_data(as_text=True)
    assert "12-month follow-up · 2026-03-02" in html
