"""Pages: the queue, a task, the founder's status update, and follow-ups on other pages."""

from __future__ import annotations

from datetime import date, timedelta

from flask_babel import force_locale
from sqlalchemy import select

from app.businesses.models import Business
from app.core.dates import today_in_china
from app.extensions import db
from app.followups.models import EmploymentObservation, FollowupTask
from tests.factories import make_founder
from tests.followups.factories import make_task

EN = {"Accept-Language": "en"}
QIONGHAI = "469002"


def committed(*objects):
    ids = [obj.id for obj in objects]
    db.session.commit()
    return ids


def test_queue_tabs_rows_phone_and_lost_badge(client, login_as):
    staff = login_as("staff", QIONGHAI)
    founder = make_founder(region_code=QIONGHAI, lost_to_follow_up_on=date(2026, 10, 2))
    today = today_in_china()
    task = make_task("intake_contact", founder=founder, due_on=today)
    make_task("post_training", founder=founder, due_on=today - timedelta(days=2))
    task_id, founder_phone = task.id, founder.phone
    db.session.commit()
    page = client.get("/followups/", headers=EN).get_data(as_text=True)
    assert f'data-task-id="{task_id}"' in page
    assert f'href="tel:{founder_phone}"' in page
    assert "Lost to follow-up since 2026-10-02" in page
    assert 'data-testid="count-overdue">1<' in page
    overdue = client.get("/followups/?bucket=overdue", headers=EN).get_data(as_text=True)
    assert f'data-task-id="{task_id}"' not in overdue
    filtered = client.get("/followups/?bucket=today&kind=business").get_data(as_text=True)
    assert f'data-task-id="{task_id}"' not in filtered
    assert staff.role == "staff"


def test_province_staff_see_cities_and_city_staff_get_404(client, login_as):
    task = make_task("business", region_code="460200")
    (task_id,) = committed(task)
    login_as("staff", "460000")
    assert client.get(f"/followups/{task_id}").status_code == 200
    client.post("/logout")
    login_as("staff", "460100")
    assert client.get(f"/followups/{task_id}").status_code == 404
    assert client.post(f"/followups/{task_id}/attempts", data={}).status_code == 404


def test_officer_sees_loan_usage_only(client, login_as):
    business_task = make_task("business")
    loan_task = make_task("loan_usage", due_on=date(2026, 3, 1))
    business_id, loan_id = committed(business_task, loan_task)
    login_as("officer")
    assert client.get(f"/followups/{business_id}").status_code == 404
    assert client.get(f"/followups/{loan_id}").status_code == 200


def test_founder_and_anonymous_cannot_see_the_queue(client, login_as):
    assert client.get("/followups/").status_code == 302  # to the login page
    login_as("founder")
    assert client.get("/followups/").status_code == 403


def test_complete_business_task_by_form(client, login_as):
    task = make_task("business", due_on=date(2026, 6, 1))
    (task_id,) = committed(task)
    login_as("staff")
    page = client.get(f"/followups/{task_id}", headers=EN).get_data(as_text=True)
    assert "Business status" in page
    bad = client.post(
        f"/followups/{task_id}/complete",
        data={"done_on": "2026-06-02", "channel": "phone"},
        headers=EN,
    )
    assert bad.status_code == 422
    assert "This field is required." in bad.get_data(as_text=True)
    response = client.post(
        f"/followups/{task_id}/complete",
        data={
            "done_on": "2026-06-02",
            "channel": "visit",
            "business_status": "operating",
            "employees": "3",
        },
    )
    assert response.status_code == 302
    task = db.session.get(FollowupTask, task_id)
    assert (task.status, task.channel, task.employees) == ("done", "visit", 3)
    again = client.post(
        f"/followups/{task_id}/complete",
        data={"done_on": "2026-06-02", "channel": "visit", "business_status": "operating"},
    )
    assert again.status_code == 409


def test_attempt_and_assign_to_me(client, login_as):
    task = make_task("intake_contact", due_on=date(2026, 1, 6))
    (task_id,) = committed(task)
    staff = login_as("staff")
    response = client.post(
        f"/followups/{task_id}/attempts",
        data={"attempted_on": "2026-01-06", "channel": "phone", "note": "关机"},
    )
    assert response.status_code == 302
    response = client.post(
        f"/followups/{task_id}/assign", data={"assignee_id": str(staff.id), "next": "/followups/"}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/followups/")
    task = db.session.get(FollowupTask, task_id)
    assert (task.status, task.assignee_id) == ("open", staff.id)
    page = client.get(f"/followups/{task_id}").get_data(as_text=True)
    assert 'data-testid="attempt-row"' in page


def test_misuse_confirmed_by_officer_page(client, login_as):
    task = make_task(
        "loan_usage",
        status="done",
        due_on=date(2026, 3, 1),
        fund_usage_ok=False,
        misuse_state="pending",
    )
    loan_id = task.subject_id
    (task_id,) = committed(task)
    login_as("staff")
    assert (
        client.post(f"/followups/{task_id}/misuse", data={"decision": "confirm"}).status_code == 403
    )
    client.post("/logout")
    login_as("officer")
    loan_page = client.get(f"/loans/{loan_id}").get_data(as_text=True)
    assert 'data-testid="pending-misuse"' in loan_page
    response = client.post(
        f"/followups/{task_id}/misuse", data={"decision": "confirm", "note": "挪用"}
    )
    assert response.status_code == 302
    assert db.session.get(FollowupTask, task_id).misuse_state == "confirmed"
    again = client.post(f"/followups/{task_id}/misuse", data={"decision": "confirm"})
    assert again.status_code == 409


def test_founder_page_shows_lost_badge_and_tasks(client, login_as):
    founder = make_founder(lost_to_follow_up_on=date(2026, 9, 1))
    task = make_task("intake_contact", founder=founder, due_on=date(2026, 1, 6))
    founder_id, task_id = committed(founder, task)
    login_as("staff")
    with force_locale("en"):
        page = client.get(f"/founders/{founder_id}", headers=EN).get_data(as_text=True)
    assert "Lost to follow-up since 2026-09-01" in page
    assert f"/followups/{task_id}" in page


def test_business_page_lists_its_tasks(client, login_as):
    task = make_task("business")
    business_id, task_id = task.subject_id, task.id
    db.session.commit()
    login_as("staff")
    page = client.get(f"/businesses/{business_id}").get_data(as_text=True)
    assert f"/followups/{task_id}" in page


def test_founder_status_page_business_report(client, login_as):
    today = today_in_china()
    founder = make_founder()
    task = make_task("business", founder=founder, due_on=today - timedelta(days=3))
    business_id, task_id, founder_id = task.subject_id, task.id, founder.id
    other = make_task("business", due_on=today)  # someone else's
    other_business = other.subject_id
    db.session.commit()
    login_as("founder", founder_id=founder_id)
    page = client.get("/followups/me").get_data(as_text=True)
    assert 'data-testid="business-report"' in page
    assert f"/followups/me/businesses/{business_id}" in page
    assert f"/followups/me/businesses/{other_business}" not in page
    assert client.post(f"/followups/me/businesses/{other_business}", data={}).status_code == 404
    bad = client.post(
        f"/followups/me/businesses/{business_id}", data={f"b{business_id}-employees": "2"}
    )
    assert bad.status_code == 422
    response = client.post(
        f"/followups/me/businesses/{business_id}",
        data={f"b{business_id}-status": "operating", f"b{business_id}-employees": "2"},
    )
    assert response.status_code == 302
    task = db.session.get(FollowupTask, task_id)
    assert (task.status, task.channel, task.done_on) == ("done", "self_report", today)
    assert db.session.get(Business, business_id).employees == 2
    assert 'data-testid="nothing-due"' in client.get("/followups/me").get_data(as_text=True)


def test_founder_status_page_employment_report(client, login_as):
    today = today_in_china()
    founder = make_founder()
    task = make_task("post_training", founder=founder, due_on=today + timedelta(days=10))
    task_id, founder_id = task.id, founder.id
    db.session.commit()
    login_as("founder", founder_id=founder_id)
    assert 'data-testid="employment-report"' in client.get("/followups/me").get_data(as_text=True)
    assert (
        client.post("/followups/me/employment", data={"employment": "retired"}).status_code == 422
    )
    response = client.post("/followups/me/employment", data={"employment": "self_employed"})
    assert response.status_code == 302
    task = db.session.get(FollowupTask, task_id)
    assert (task.status, task.channel, task.employment) == ("done", "self_report", "self_employed")
    assert (
        db.session.scalar(
            select(EmploymentObservation.source).where(
                EmploymentObservation.founder_id == founder_id
            )
        )
        == "founder"
    )


def test_staff_cannot_open_the_founder_status_page(client, login_as):
    login_as("staff")
    assert client.get("/followups/me").status_code == 403
    assert client.post("/followups/me/employment", data={}).status_code == 403
