"""The reminders step: who gets which reminder, once, in scope; digests skipped at zero."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.loans.models import LoanInstallment
from app.notifications.jobs import send_reminders
from app.notifications.models import Notification
from tests.businesses.factories import make_business
from tests.factories import make_founder, make_user
from tests.loans.factories import fund_region, make_loan
from tests.notifications.factories import make_task

AS_OF = date(2026, 3, 5)


@pytest.fixture(autouse=True)
def funded(db_session):
    fund_region("460000")


def notes_of(user, kind=None):
    stmt = select(Notification).where(Notification.user_id == user.id)
    if kind:
        stmt = stmt.where(Notification.kind == kind)
    return list(db.session.scalars(stmt.order_by(Notification.id)))


def total():
    return db.session.scalar(select(func.count()).select_from(Notification))


# Follow-ups due ---------------------------------------------------------------------
def test_staff_digest_counts_due_and_overdue_in_scope():
    haikou = make_user(role="staff", region_code="460100")
    sanya = make_user(role="staff", region_code="460200")
    province = make_user(role="staff", region_code="460000")
    qionghai = make_user(role="staff", region_code="469002")
    inactive = make_user(role="staff", region_code="460100")
    inactive.active = False
    other = make_user(role="staff", region_code="460100")
    make_task(region_code="460100", due_on=AS_OF)
    make_task(region_code="460100", due_on=AS_OF - timedelta(days=3))
    make_task(region_code="460100", due_on=AS_OF + timedelta(days=1))  # not yet due
    make_task(region_code="460100", due_on=AS_OF, status="done")
    make_task(region_code="460100", due_on=AS_OF - timedelta(days=40), status="missed")
    make_task(region_code="460100", due_on=AS_OF, assignee_id=other.id)  # someone else's
    make_task(region_code="460200", due_on=AS_OF, kind="intake_contact")

    counts = send_reminders(AS_OF)

    [mine] = notes_of(haikou)
    assert (mine.kind, mine.key) == ("followups_due", "followups_due:2026-03-05")
    assert mine.params == {"due_today": 1, "overdue": 1}
    assert mine.created_on == AS_OF
    assert [n.params for n in notes_of(sanya)] == [{"due_today": 1, "overdue": 0}]
    # Province staff see their cities' tasks (not the ones assigned to someone else).
    assert [n.params for n in notes_of(province)] == [{"due_today": 2, "overdue": 1}]
    assert [n.params for n in notes_of(other)] == [{"due_today": 2, "overdue": 1}]
    assert notes_of(qionghai) == []  # nothing due: no digest
    assert notes_of(inactive) == []
    assert counts["followups_due"] == 4


def test_officer_digest_counts_only_loan_usage():
    officer = make_user(role="officer", region_code="460100")
    make_task(region_code="460100", due_on=AS_OF, kind="business")
    send_reminders(AS_OF)
    assert notes_of(officer, "followups_due") == []
    make_task(region_code="460100", due_on=AS_OF - timedelta(days=1), kind="loan_usage")
    send_reminders(AS_OF + timedelta(days=1))
    [digest] = notes_of(officer, "followups_due")
    assert digest.key == "followups_due:2026-03-06"
    assert digest.params == {"due_today": 0, "overdue": 1}


def test_digest_is_sent_once_per_day_and_again_the_next_day():
    staff = make_user(role="staff", region_code="460100")
    make_task(region_code="460100", due_on=AS_OF)
    send_reminders(AS_OF)
    before = total()
    again = send_reminders(AS_OF)
    assert total() == before
    assert again["followups_due"] == 0
    send_reminders(AS_OF + timedelta(days=1))
    assert [n.key for n in notes_of(staff)] == [
        "followups_due:2026-03-05",
        "followups_due:2026-03-06",
    ]
    assert notes_of(staff)[1].params == {"due_today": 0, "overdue": 1}


# Installments and arrears ----------------------------------------------------------
def haikou_loan(officer_a, officer_b, **fields):
    """100,000 over 12 months disbursed 2026-01-31: installments due 02-28, 03-31, ..."""
    return make_loan(reviewer=officer_a, approver=officer_b, **fields)


def test_officers_hear_of_installments_due_within_7_days_in_scope():
    haikou_a = make_user(role="officer", region_code="460100")
    haikou_b = make_user(role="officer", region_code="460100")
    sanya_a = make_user(role="officer", region_code="460200")
    sanya_b = make_user(role="officer", region_code="460200")
    province = make_user(role="officer", region_code="460000")
    loan = haikou_loan(haikou_a, haikou_b)
    first = min(loan.installments, key=lambda row: row.n)
    assert first.due_on == date(2026, 2, 28)

    as_of = date(2026, 2, 22)  # 02-28 is 6 days away
    counts = send_reminders(as_of)

    [digest] = notes_of(haikou_a, "installments_due")
    assert digest.key == "installments_due:2026-02-22"
    assert digest.params["count"] == 1
    assert digest.params["until"] == "2026-03-01"
    assert int(digest.params["total_fen"]) == int(first.amount_left * 100)
    assert notes_of(sanya_a, "installments_due") == []  # a Sanya officer: not Haikou loans
    assert notes_of(sanya_b, "installments_due") == []
    assert len(notes_of(province, "installments_due")) == 1
    assert counts["installments_due"] == 3

    # 8 days ahead is not within the week; a paid installment is not announced.
    assert send_reminders(date(2026, 2, 20))["installments_due"] == 0
    first.paid_off_on = date(2026, 2, 21)
    db.session.flush()
    assert send_reminders(date(2026, 2, 23))["installments_due"] == 0


def test_arrears_once_per_episode_for_every_officer_in_scope():
    haikou_a = make_user(role="officer", region_code="460100")
    haikou_b = make_user(role="officer", region_code="460100")
    sanya = make_user(role="officer", region_code="460200")
    province = make_user(role="officer", region_code="460000")
    staff = make_user(role="staff", region_code="460100")
    loan = haikou_loan(haikou_a, haikou_b)
    rows = sorted(loan.installments, key=lambda row: row.n)

    assert send_reminders(date(2026, 2, 28))["arrears"] == 0  # due today is not late
    counts = send_reminders(date(2026, 3, 2))
    assert counts["arrears"] == 3  # two Haikou officers and the province's
    [note] = notes_of(haikou_a, "arrears")
    assert note.key == f"arrears:{loan.id}:2026-02-28"
    assert note.params == {
        "loan_id": loan.id,
        "founder_name": loan.founder.name,
        "due_on": "2026-02-28",
        "days_past_due": 2,
    }
    assert len(notes_of(province, "arrears")) == 1
    assert notes_of(sanya, "arrears") == []
    assert notes_of(staff, "arrears") == []

    # Still behind the next days: the same episode, nothing new.
    assert send_reminders(date(2026, 3, 3))["arrears"] == 0
    # Cured on 03-04; behind again from 04-01 on the second installment: a new episode.
    rows[0].paid_off_on = date(2026, 3, 4)
    db.session.flush()
    assert send_reminders(date(2026, 3, 10))["arrears"] == 0
    assert send_reminders(date(2026, 4, 2))["arrears"] == 3
    assert [n.key for n in notes_of(haikou_a, "arrears")] == [
        f"arrears:{loan.id}:2026-02-28",
        f"arrears:{loan.id}:2026-03-31",
    ]


# Founders ---------------------------------------------------------------------------
def test_founder_hears_of_own_installment_once():
    officer_a = make_user(role="officer", region_code="460100")
    officer_b = make_user(role="officer", region_code="460100")
    loan = haikou_loan(officer_a, officer_b)
    borrower = make_user(role="founder", region_code="460100", founder_id=loan.founder_id)
    bystander = make_user(role="founder", region_code="460100")
    first = next(row for row in loan.installments if row.n == 1)

    send_reminders(date(2026, 2, 21))
    [note] = notes_of(borrower, "installment_due")
    assert note.key == f"installment_due:{first.id}"
    assert note.params["loan_id"] == loan.id
    assert note.params["n"] == 1
    assert note.params["due_on"] == "2026-02-28"
    assert int(note.params["amount_fen"]) == int(first.amount_left * 100)
    assert notes_of(bystander) == []

    # Every day of the week before: still one reminder for that installment.
    for day in range(22, 29):
        send_reminders(date(2026, 2, day))
    assert len(notes_of(borrower, "installment_due")) == 1
    # The next installment (03-31) is announced on its own.
    send_reminders(date(2026, 3, 25))
    assert len(notes_of(borrower, "installment_due")) == 2


def test_founder_status_request_for_due_business_and_post_training_tasks():
    founder = make_founder(region_code="460100")
    user = make_user(role="founder", region_code="460100", founder_id=founder.id)
    business = make_business(founder)
    due = make_task(founder, kind="business", due_on=AS_OF - timedelta(days=2))
    trained = make_task(founder, kind="post_training", due_on=AS_OF)
    make_task(founder, kind="business", due_on=AS_OF + timedelta(days=5))  # not due yet
    make_task(founder, kind="business", due_on=AS_OF - timedelta(days=1), status="done")
    make_task(founder, kind="intake_contact", due_on=AS_OF)  # staff call, not a request
    assert business.founder_id == founder.id

    counts = send_reminders(AS_OF)
    assert counts["status_request"] == 2
    notes = notes_of(user, "status_request")
    assert {n.key for n in notes} == {f"status_request:{due.id}", f"status_request:{trained.id}"}
    by_task = {n.params["task_id"]: n.params for n in notes}
    assert by_task[due.id] == {
        "task_id": due.id,
        "task_kind": "business",
        "due_on": (AS_OF - timedelta(days=2)).isoformat(),
    }
    assert send_reminders(AS_OF + timedelta(days=1))["status_request"] == 0


def test_running_twice_changes_nothing():
    officer_a = make_user(role="officer", region_code="460100")
    officer_b = make_user(role="officer", region_code="460100")
    make_user(role="staff", region_code="460000")
    loan = haikou_loan(officer_a, officer_b)
    make_user(role="founder", region_code="460100", founder_id=loan.founder_id)
    make_task(loan.founder, kind="business", due_on=date(2026, 3, 20))
    make_task(loan.founder, kind="loan_usage", due_on=date(2026, 3, 21))
    as_of = date(2026, 3, 25)  # 02-28 unpaid (arrears), 03-31 due within the week
    first = send_reminders(as_of)
    assert all(first[kind] > 0 for kind in first), first
    snapshot = {(n.user_id, n.key, str(n.params)) for n in db.session.scalars(select(Notification))}
    assert send_reminders(as_of) == dict.fromkeys(first, 0)
    assert {
        (n.user_id, n.key, str(n.params)) for n in db.session.scalars(select(Notification))
    } == snapshot
    assert db.session.scalar(select(func.count()).select_from(LoanInstallment)) > 0
