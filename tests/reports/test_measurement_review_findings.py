"""Defects an independent review of issue 8 found, each pinned by a test that failed
before its fix."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd

from app.reports.kpis import compute_kpis
from app.reports.statistics import statistics_frame
from app.reports.views import rate_text
from tests.businesses.factories import make_business, make_observation
from tests.factories import make_founder
from tests.followups.factories import make_task
from tests.library.factories import make_project
from tests.loans.factories import make_loan
from tests.training.factories import get_course, make_cohort, make_enrollment

HAIKOU, SANYA, PROVINCE = "460100", "460200", "460000"
D = "2026-06-30"


# 1. A breakdown key too large for an id column answered 500 ------------------------------
def test_an_impossible_id_in_the_key_is_a_field_error(client, login_as):
    login_as("staff", HAIKOU)
    for key in ("99999999999999999999", "2147483648", "0", "-3", "１２"):
        for suffix in ("", ".xlsx"):
            response = client.get(
                f"/reports/figures/training.enrolled{suffix}?dimension=library_item&key={key}"
            )
            response.close()
            assert response.status_code == 422, (key, suffix)


# 2. A breakdown cell named any project or institution typed into the address -------------
def test_a_cell_of_records_the_user_cannot_see_is_not_named(client, login_as):
    secret = make_project(region_code="310110", title="上海草稿SECRET", status="draft").id
    login_as("staff", HAIKOU)
    page = client.get(
        f"/reports/figures/training.enrolled?dimension=library_item&key={secret}"
    ).get_data(as_text=True)
    assert "SECRET" not in page
    assert f"#{secret}" in page


# 3 and 4. Lists showed officers every follow-up task and staff every loan ----------------
def test_officers_get_no_follow_up_task_lists_and_staff_no_loan_lists(client, login_as):
    officer = login_as("officer", HAIKOU)
    assert officer is not None
    assert client.get("/reports/figures/followups.due").status_code == 403
    assert client.get("/reports/figures/followups.missed.xlsx").status_code == 403
    assert client.get("/reports/figures/loans.disbursed").status_code == 200
    dashboard = client.get(f"/?as_of={D}").get_data(as_text=True)
    assert 'data-figure="followups.due"' not in dashboard  # shown, not linked
    assert 'data-figure="loans.disbursed_count"' in dashboard


def test_staff_get_no_loan_lists(client, login_as):
    login_as("staff", HAIKOU)
    assert client.get("/reports/figures/loans.disbursed").status_code == 403
    assert client.get("/reports/figures/loans.installments_due.xlsx").status_code == 403
    dashboard = client.get(f"/?as_of={D}").get_data(as_text=True)
    assert 'data-figure="loans.disbursed_count"' not in dashboard
    assert 'data-figure="followups.due"' in dashboard


# 5. The on-time rate kept falling after the fund compensated a loan ----------------------
def test_installments_after_compensation_are_not_due(db_session):
    loan = make_loan(
        region_code=HAIKOU,
        amount=Decimal("12000.00"),
        term_months=12,
        repayment_method="equal_principal",
        disbursed_on=date(2026, 1, 31),
    )
    for paid_on in (date(2026, 2, 27), date(2026, 3, 31)):  # #1 and #2 on time
        _pay(loan, paid_on, "1000.00")
    loan.status = "compensated"
    loan.compensated_on = date(2026, 5, 15)
    db_session.flush()
    # Due by the compensation: #1..#3 (02-28, 03-31, 04-30); two of three paid on time.
    june = compute_kpis(HAIKOU, date(2026, 6, 30))["loans"]["on_time_rate"]
    december = compute_kpis(HAIKOU, date(2026, 12, 31))["loans"]["on_time_rate"]
    assert june == december == 0.6667


def _pay(loan, paid_on: date, amount: str) -> None:
    from app.auth.models import User
    from app.extensions import db
    from app.loans import operations

    operations.post_repayment(
        db.session.get(User, loan.approved_by_id),
        loan.id,
        {"paid_on": paid_on, "amount": Decimal(amount), "reference": f"R-{loan.id}-{paid_on}"},
        as_of=paid_on,
    )


# 6. A finished year's trainees changed when next year's results came in ------------------
def test_a_years_trainees_stay_once_the_year_is_over(db_session):
    cohort = make_cohort(region_code=HAIKOU, course=get_course("SYB"), starts_on=date(2026, 12, 10))
    make_enrollment(cohort, result="passed", completed_on=date(2027, 1, 15))
    year = (date(2026, 1, 1), date(2026, 12, 31))
    at_new_year = compute_kpis(HAIKOU, date(2026, 12, 31), *year)["training"]
    later = compute_kpis(HAIKOU, date(2027, 2, 1), *year)["training"]
    assert at_new_year["enrolled"] == later["enrolled"] == 1
    assert later["passed"] == 0  # its result belongs to 2027
    assert compute_kpis(HAIKOU, date(2027, 2, 1), date(2027, 1, 1))["training"]["passed"] == 1


# 7. The statistics table left out survival of a city quiet all year ----------------------
def test_a_quiet_city_keeps_its_survival_in_the_statistics_table(db_session):
    business = make_business(make_founder(region_code=SANYA), opened_on=date(2024, 3, 1))
    make_observation(business, observed_on=date(2026, 2, 1), status="operating", employees=2)
    frame = statistics_frame(PROVINCE, 2026, date(2026, 6, 30)).set_index("region_code")
    assert frame.loc[SANYA, "survival_km_12m"] == 1.0
    assert frame.loc[SANYA, "trainees_actual"] == 0
    assert not pd.isna(frame[frame["is_total"]]["survival_km_12m"].iloc[0])


# 8. Lists showed a record's later state ---------------------------------------------------
def test_a_list_shows_each_record_as_it_stood_on_the_date(client, login_as):
    founder = make_founder(region_code=HAIKOU, name="王回访")
    task = make_task("post_training", founder=founder, due_on=date(2026, 3, 1), status="done")
    task.done_on = task.closed_on = date(2026, 7, 15)  # done long after it was missed
    login_as("staff", HAIKOU)
    page = client.get(f"/reports/figures/followups.missed?as_of={D}").get_data(as_text=True)
    assert "王回访" in page
    assert "已错过" in page
    assert "2026-07-15" not in page
    assert "已完成" not in page.split('data-testid="list-title"')[1]


# 9. Percentages were printed half-even -----------------------------------------------------
def test_percentages_round_half_up():
    assert rate_text(0.1225) == "12.3%"
    assert rate_text(2.125, percent=False) == "2.13"
    assert rate_text(None) == "—"
