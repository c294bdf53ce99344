"""Review findings on the guaranteed-microloan feature (SPEC §4, §9, §10, §14, §15).

Each test that fails on the reviewed code proves one defect; the passing ones pin down
behaviour that was checked and found right. See the review report for the fixes.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from sqlalchemy import func, select

import app.loans.api as loans_api
from app.core.audit import AuditEntry
from app.core.errors import Conflict, ValidationFailed
from app.extensions import db
from app.integrity.models import IntegrityEvent
from app.loans import fund, operations
from app.loans.jobs import sweep
from app.loans.models import Loan, LoanPolicy
from app.loans.queries import Portfolio
from app.loans.schedule import build_schedule
from tests.factories import make_user
from tests.loans.factories import fund_region, make_loan

D = Decimal
API = "/api/v1"
EN = {"Accept-Language": "en"}


def exact_interest(balance: Decimal, annual_rate: Decimal) -> Decimal:
    """SPEC §9: round half-up to 0.01 of balance × annual_rate / 12, computed exactly."""
    fen = Fraction(balance) * Fraction(annual_rate) / 12 * 100
    whole = int(fen + Fraction(1, 2)) if fen >= 0 else -int(-fen + Fraction(1, 2))
    return (Decimal(whole) / 100).quantize(Decimal("0.01"))


def refreshed(loan: Loan) -> Loan:
    db.session.expire_all()
    return db.session.get(Loan, loan.id)


def set_policy(region_code: str = "460000", **fields) -> None:
    values = {
        "max_amount": D("300000"),
        "max_term_months": 36,
        "annual_rate": D("0.12"),
        "subsidy_rate": D("0.5"),
        "require_training": True,
        "default_days": 90,
        "guarantee_ratio": D("0.8"),
        "leverage": D("5"),
        "suspend_compensation_rate": D("0.05"),
        "subsidy_requires_on_time": True,
    } | fields
    db.session.merge(LoanPolicy(region_code=region_code, **values))
    db.session.flush()


def small_loan(**fields) -> Loan:
    """1,200 over 3 months from 2026-01-10 at 12 %, half subsidised: dues 02-10, 03-10,
    04-10, 400 principal each."""
    set_policy()
    values = {
        "amount": D("1200.00"),
        "term_months": 3,
        "repayment_method": "equal_principal",
        "disbursed_on": date(2026, 1, 10),
    } | fields
    return make_loan(**values)


def pay(loan: Loan, amount: str, paid_on: date, reference: str, *, as_of: date | None = None):
    officer = make_user(role="officer", region_code=loan.region_code)
    return operations.post_repayment(
        officer,
        loan.id,
        {"paid_on": paid_on, "amount": D(amount), "reference": reference},
        as_of=as_of or paid_on,
    )


@pytest.fixture
def funded(db_session):
    fund_region("460000")


# Money: the schedule's interest to the fen -------------------------------------------------
@pytest.mark.parametrize(
    ("principal", "annual_rate"),
    [
        (D("21000.00"), D("0.0385")),  # 3.85 %: 21,000 × 0.0385 / 12 = 67.375 exactly
        (D("153000.00"), D("0.0385")),  # 490.875 exactly
        (D("21000.00"), D("0.0325")),  # 56.875 exactly
        (D("21000.00"), D("0.0475")),  # 83.125 exactly
    ],
)
def test_schedule_interest_is_rounded_half_up_from_the_exact_product(principal, annual_rate):
    """r = annual_rate / 12 is not a finite decimal for 3.85 %, 3.25 %, 4.75 %: the code
    rounds r to 28 digits first, so an exact half fen (67.375) falls to 67.37."""
    lines = build_schedule(
        principal=principal,
        term_months=12,
        annual_rate=annual_rate,
        subsidy_rate=D("0"),
        method="interest_only",
        disbursed_on=date(2026, 1, 31),
    )
    expected = exact_interest(principal, annual_rate)
    assert [line.interest for line in lines] == [expected] * 12


# Fund: suspension ----------------------------------------------------------------------
def test_suspension_compares_the_exact_compensation_rate_not_a_rounded_one(funded):
    """SPEC §9: above suspend_compensation_rate (0.05) new loans are refused. 5,004 of
    100,000 is 5.004 % — above 5 % — but the code compares the rate rounded to 4 places
    (0.0500) and lets new loans through."""
    set_policy(annual_rate=D("0.0345"), subsidy_rate=D("1"))
    loan = make_loan(amount=D("100000.00"))
    loan.compensated_amount = D("5004.00")
    db.session.flush()
    summary = fund.get_fund_summary("460100")
    assert summary.compensated / summary.disbursed > D("0.05")
    assert summary.is_suspended
    with pytest.raises(Conflict):
        fund.check_region_open("460100")


# Servicing: a reversal must not cure a default ------------------------------------------
def test_reversal_on_a_loan_closed_after_default_reopens_it_as_defaulted(funded):
    """D33: a default is not cured by later payments. A defaulted loan paid in full closes;
    reversing that payment must put it back in default (compensation stays possible), not
    make it `active` with its default forgotten."""
    loan = small_loan()
    sweep(date(2026, 5, 11))  # 90 days past 2026-02-10: defaulted
    assert refreshed(loan).status == "defaulted"
    posting = pay(loan, "1224.00", date(2026, 5, 12), "PAYOFF")  # all three, subsidy lost
    assert refreshed(loan).status == "closed"
    officer = make_user(role="officer", region_code="460100")
    operations.reverse_repayment(
        officer, posting.repayment.id, {"reason": "bounced"}, as_of=date(2026, 5, 13)
    )
    loan = refreshed(loan)
    assert loan.status == "defaulted"
    assert loan.defaulted_on == date(2026, 5, 11)


# The sweep: catching up skipped dates ------------------------------------------------------
def test_catch_up_sweep_defaults_a_loan_paid_after_the_skipped_date(funded):
    """SPEC §12: after downtime the scheduler catches up each missed date in order, and
    D33 promises the same rows as if it had run daily. Officers keep posting while the
    scheduler is down; the catch-up sweep for 2026-05-11 must see the loan as it stood
    that day (90 days past due: default), not as it stands after the 05-15 payment."""
    loan = small_loan()
    sweep(date(2026, 5, 5))
    assert refreshed(loan).days_past_due == 84
    # Scheduler down 05-06..05-15; an officer posts installments 1 and 2 on 05-15.
    pay(loan, "820.00", date(2026, 5, 15), "LATE-1-2")
    for day in range(6, 16):
        sweep(date(2026, 5, day))
    loan = refreshed(loan)
    assert loan.defaulted_on == date(2026, 5, 11)
    assert loan.status == "defaulted"


def test_daily_sweep_defaults_the_same_loan_when_it_runs_every_day(funded):
    """The same history with the scheduler running daily: the loan defaults on 05-11 (the
    reference behaviour the catch-up test above compares with)."""
    loan = small_loan()
    for day in range(5, 12):
        sweep(date(2026, 5, day))
    pay(loan, "820.00", date(2026, 5, 15), "LATE-1-2")
    loan = refreshed(loan)
    assert loan.status == "defaulted"
    assert loan.defaulted_on == date(2026, 5, 11)


# Audit of what the sweep changes ------------------------------------------------------------
def test_sweep_default_is_audited_under_the_loans_entity_with_before_and_after(funded):
    """SPEC §4: every change to loans writes an audit entry: who, when, what, before and
    after. The sweep's `loan.default` entry (INSERT … SELECT in jobs._default_loans) has
    no before and no after: the loan's history cannot say what the default changed
    (status active -> defaulted, defaulted_on). (Its entity_type was "Loan" until 5177f50.)"""
    loan = small_loan()
    sweep(date(2026, 5, 11))
    entries = db.session.scalars(
        select(AuditEntry).where(
            AuditEntry.entity_type == "loan",
            AuditEntry.entity_id == str(loan.id),
            AuditEntry.action == "loan.default",
        )
    ).all()
    assert len(entries) == 1
    assert entries[0].before is not None
    assert entries[0].before.get("status") == "active"
    assert entries[0].after is not None
    assert entries[0].after.get("status") == "defaulted"


def test_integrity_events_made_by_the_sweep_are_audited(funded):
    """SPEC §4: every change to integrity records writes an audit entry. Events made by
    repayments, officers and corrections go through record_event and are audited. The
    sweep bulk-inserted late_over_30 and defaulted events without any until 5177f50
    (jobs._audit_events); this test pins that fix."""
    loan = small_loan()
    sweep(date(2026, 5, 11))
    events = db.session.scalars(
        select(IntegrityEvent).where(
            IntegrityEvent.founder_id == loan.founder_id,
            IntegrityEvent.kind.in_(["late_over_30", "defaulted"]),
        )
    ).all()
    assert {event.kind for event in events} == {"late_over_30", "defaulted"}
    audited = set(
        db.session.scalars(
            select(AuditEntry.entity_id).where(AuditEntry.entity_type == "integrity_event")
        )
    )
    assert {str(event.id) for event in events} <= audited


# PAR30 rounding ------------------------------------------------------------------------------
def test_par30_rounds_half_up():
    """SPEC §2/§14: rounding is half-up; PAR30 uses Decimal's default (half-even), so
    1.00 at risk of 20,000.00 (0.00005) shows 0.0000 instead of 0.0001."""
    portfolio = Portfolio({}, D("20000.00"), D("1.00"), None)
    assert portfolio.par30 == D("0.0001")


# Bad input: the bank statement import (SPEC §15: never 500) ------------------------------
def _csv(rows: list[list[str]]) -> bytes:
    lines = ["reference,loan_id,paid_on,amount"] + [",".join(row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def test_statement_import_reports_a_huge_amount_instead_of_crashing(api_as, client):
    """A 31-digit amount cell (a mis-pasted account number) raises decimal.InvalidOperation
    inside rules.clean_amount (quantize beyond 28 digits): the whole import answers 500.
    It must be refused on its row, naming the amount."""
    import io

    loan_id = make_loan().id
    db.session.commit()
    officer = api_as("officer")
    data = _csv(
        [
            ["REF-OK", str(loan_id), "2026-03-01", "10.00"],
            ["REF-HUGE", str(loan_id), "2026-03-01", "1" + "0" * 30],
        ]
    )
    response = officer.post(
        f"{API}/imports/repayments",
        data={"file": (io.BytesIO(data), "statement.csv")},
        content_type="multipart/form-data",
        headers=EN,
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    rows = response.get_json()["rows"]
    assert [row["outcome"] for row in rows] == ["posted", "error"]
    assert rows[1]["field"] == "amount"


def test_clean_amount_refuses_more_digits_than_decimal_can_quantize():
    """The root of the crash above: the shared amount rule itself."""
    from app.loans.rules import clean_amount

    amount, problems = clean_amount("1" + "0" * 30)
    assert amount is None
    assert problems


# Fund: write-off dates ---------------------------------------------------------------------
def _compensated_loan(loan: Loan | None = None, as_of: date = date(2026, 6, 30)) -> Loan:
    loan = loan or make_loan()
    sweep(as_of)
    loan = refreshed(loan)
    officer = make_user(role="officer", region_code="460100")
    fund.compensate_loan(
        officer,
        operations.lock_loan_in_scope(officer, loan.id),
        {"date": as_of, "reference": "COMP-1"},
        as_of=as_of,
    )
    return refreshed(loan)


def test_write_off_cannot_predate_the_compensation(funded):
    """A recovery cannot predate the compensation (422 on `date`); a write-off of the same
    loan dated months before its compensation is accepted, so `ended_on` < `compensated_on`."""
    loan = _compensated_loan()
    officer = make_user(role="officer", region_code="460100")
    with pytest.raises(ValidationFailed) as refused:
        fund.write_off_loan(
            officer,
            operations.lock_loan_in_scope(officer, loan.id),
            {"date": date(2026, 1, 1), "reason": "borrower gone"},
            as_of=date(2026, 7, 1),
        )
    assert "date" in refused.value.errors


# Fund: compensation cap (verified right) ------------------------------------------------------
def test_compensation_cap_is_ratio_times_principal_and_borrower_interest_due(funded):
    """guarantee_ratio × (outstanding principal + borrower interest owed on installments
    already due), half-up to the fen; the subsidy of overdue installments is lost, so the
    borrower owes (and the bank loses) their full interest."""
    loan = make_loan()  # 100,000, 12 months, equal installments, 3.45 %, full subsidy
    sweep(date(2026, 6, 30))
    loan = refreshed(loan)
    due = [row for row in loan.installments if row.due_on < date(2026, 6, 30)]
    assert len(due) == 4
    assert all(row.subsidy_lost for row in due)
    base = loan.outstanding_principal + sum((row.interest for row in due), D("0"))
    expected = (base * D("0.8")).quantize(D("0.01"), rounding=ROUND_HALF_UP)
    assert fund.compensation_limit(loan) == expected
    officer = make_user(role="officer", region_code="460100")
    with pytest.raises(ValidationFailed):
        fund.compensate_loan(
            officer,
            operations.lock_loan_in_scope(officer, loan.id),
            {"date": date(2026, 6, 30), "amount": expected + D("0.01"), "reference": "C"},
            as_of=date(2026, 6, 30),
        )


# Fund: races (real commits on a database of this module's own) -----------------------------
@pytest.fixture(scope="module")
def race_app(tmp_path_factory):
    from tests.concurrency import migrated_app

    with migrated_app(tmp_path_factory, "review_fund") as app:
        yield app


def test_two_withdrawals_at_once_cannot_overdraw_the_fund(race_app):
    """D33: a withdrawal cannot overdraw the fund. The balance is summed without any lock
    on the fund, so on PostgreSQL two admins withdrawing 600 of 1,000 at once both pass
    the check and the fund ends at −200 (SQLite's BEGIN IMMEDIATE hides the race)."""
    import time

    from app.auth.models import User
    from app.loans.models import FundEntry
    from tests.concurrency import run_together

    with race_app.app_context():
        admin = make_user(role="admin", region_code="460000")
        db.session.commit()
        fund.post_fund_entry(
            admin,
            "460000",
            {"date": date(2026, 1, 2), "amount": D("1000.00"), "reference": "DEP"},
            as_of=date(2026, 1, 2),
        )
        db.session.commit()
        admin_id = admin.id
        db.session.remove()
    counter = iter(range(100))

    def withdraw() -> object:
        admin = db.session.get(User, admin_id)
        fund.post_fund_entry(
            admin,
            "460000",
            {"date": date(2026, 1, 3), "amount": D("-600.00"), "reference": f"W{next(counter)}"},
            as_of=date(2026, 1, 3),
        )
        time.sleep(0.3)  # hold the transaction open, as a slow request would
        db.session.commit()
        return "ok"

    outcomes = run_together(race_app, withdraw)
    with race_app.app_context():
        balance = db.session.scalar(
            select(func.sum(FundEntry.amount)).where(FundEntry.region_code == "460000")
        )
        db.session.remove()
    assert sorted(outcomes) == ["Conflict", "ok"], outcomes
    assert balance == D("400.00")


def test_two_disbursements_at_once_cannot_exceed_the_funds_leverage(race_app):
    """SPEC §9: guaranteed outstanding may not exceed leverage × balance. A fund of 30,000
    (capacity 150,000) can back one of two approved 100,000 loans; disbursed at once on
    PostgreSQL, both read an outstanding of 0 and both go out (200,000 guaranteed)."""
    import time

    from app.auth.models import User
    from tests.concurrency import run_together

    with race_app.app_context():
        fund_region("460000", "30000.00")
        loans = [make_loan(status="approved", amount=D("100000.00")) for _ in range(2)]
        officer = make_user(role="officer", region_code="460100")
        db.session.commit()
        waiting = [loan.id for loan in loans]
        officer_id = officer.id
        db.session.remove()

    def disburse() -> object:
        loan_id = waiting.pop()
        operations.disburse_loan(
            db.session.get(User, officer_id),
            loan_id,
            {"disbursed_on": date(2026, 1, 31), "bank_reference": f"BANK-RACE-{loan_id}"},
            as_of=date(2026, 2, 1),
        )
        time.sleep(0.3)
        db.session.commit()
        return "ok"

    outcomes = run_together(race_app, disburse)
    with race_app.app_context():
        summary = fund.get_fund_summary("460100")
        db.session.remove()
    assert sorted(outcomes) == ["Conflict", "ok"], outcomes
    assert summary.guaranteed_outstanding <= summary.capacity


# Access (verified right) ---------------------------------------------------------------------
@pytest.fixture
def api_clock(db_session, monkeypatch):
    monkeypatch.setattr(loans_api, "today_in_china", lambda: date(2026, 7, 1))


def test_founder_reads_only_their_own_loans_and_integrity_file(api_as, api_clock):
    mine, other = make_loan(), make_loan()
    db.session.commit()
    mine_id, mine_founder, other_id, other_founder = (
        mine.id,
        mine.founder_id,
        other.id,
        other.founder_id,
    )
    founder = api_as("founder", founder_id=mine_founder)
    listed = founder.get(f"{API}/loans").get_json()
    assert [item["id"] for item in listed["items"]] == [mine_id]
    assert founder.get(f"{API}/loans/{mine_id}").status_code == 200
    assert founder.get(f"{API}/loans/{other_id}").status_code == 404
    assert founder.get(f"{API}/founders/{mine_founder}/integrity").status_code == 200
    assert founder.get(f"{API}/founders/{other_founder}/integrity").status_code == 404
    assert founder.get(f"{API}/funds/460100").status_code == 403
    assert founder.post(f"{API}/loans/{mine_id}/repayments", json={}).status_code == 403


def test_reviewer_can_never_approve_via_the_api_or_the_page(client, api_clock):
    from tests.factories import DEFAULT_PASSWORD

    reviewer = make_user(role="officer")
    loan = make_loan(status="reviewed", reviewer=reviewer, approver=make_user(role="officer"))
    db.session.commit()
    loan_id, username = loan.id, reviewer.username
    token = client.post(
        f"{API}/auth/token", json={"username": username, "password": DEFAULT_PASSWORD}
    ).get_json()["token"]
    for decision in ("approve", "reject"):
        answer = client.post(
            f"{API}/loans/{loan_id}/approve",
            json={"decision": decision, "note": "x"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 403
    client.post("/login", data={"username": username, "password": DEFAULT_PASSWORD})
    client.post(f"/loans/{loan_id}/approve", data={"approve-decision": "approve"})
    assert db.session.get(Loan, loan_id).status == "reviewed"


def test_officer_of_another_city_gets_404_everywhere(api_as, api_clock):
    loan_id = make_loan().id
    db.session.commit()
    sanya = api_as("officer", region="460200")
    assert sanya.get(f"{API}/loans/{loan_id}").status_code == 404
    for path, body in [
        ("repayments", {"paid_on": "2026-03-01", "amount": "10.00", "reference": "X"}),
        ("compensate", {"date": "2026-06-30", "reference": "X"}),
        ("recoveries", {"date": "2026-06-30", "amount": "1.00", "reference": "X"}),
        ("write-off", {"date": "2026-06-30", "reason": "x"}),
    ]:
        assert sanya.post(f"{API}/loans/{loan_id}/{path}", json=body).status_code == 404


def test_guarantor_id_numbers_never_leave_the_server(api_as, client, login_as, api_clock, caplog):
    import logging

    from tests.loans.factories import application_body, guarantor_body, make_trained_founder

    caplog.set_level(logging.DEBUG)
    founder = make_trained_founder()
    fund_region("460000")
    db.session.commit()
    body = application_body(founder, amount="50000.00", guarantors=[guarantor_body()])
    full = body["guarantors"][0]["id_number"]
    officer = api_as("officer")
    answer = officer.post(f"{API}/loans", json=body)
    assert answer.status_code == 201, answer.get_data(as_text=True)
    loan_id = answer.get_json()["id"]
    assert full not in answer.get_data(as_text=True)
    assert full not in officer.get(f"{API}/loans/{loan_id}").get_data(as_text=True)
    audits = db.session.scalars(select(AuditEntry)).all()
    assert all(full not in str(entry.before) + str(entry.after) for entry in audits)
    login_as("officer")
    assert full not in client.get(f"/loans/{loan_id}").get_data(as_text=True)
    assert full not in caplog.text


# Servicing over the API (verified right, except the schedule after subsidy loss) ------------
def _loan_id_committed(**fields) -> int:
    loan_id = small_loan(**fields).id
    db.session.commit()
    return loan_id


def test_repayment_idempotency_over_payment_and_closed_loan(api_as, api_clock, funded):
    from app.loans.models import Repayment

    loan_id = _loan_id_committed()
    officer = api_as("officer")
    url = f"{API}/loans/{loan_id}/repayments"
    first = officer.post(url, json={"paid_on": "2026-02-10", "amount": "406.00", "reference": "B1"})
    assert first.status_code == 201
    again = officer.post(url, json={"paid_on": "2026-02-10", "amount": "406.00", "reference": "B1"})
    assert again.status_code == 200
    assert again.get_json()["id"] == first.get_json()["id"]
    other = officer.post(url, json={"paid_on": "2026-02-10", "amount": "406.01", "reference": "B1"})
    assert other.status_code == 409
    before = db.session.scalar(select(func.count(Repayment.id)))
    over = officer.post(
        url, json={"paid_on": "2026-02-11", "amount": "900.00", "reference": "B2"}, headers=EN
    )
    assert over.status_code == 422
    assert "amount" in over.get_json()["errors"]
    assert db.session.scalar(select(func.count(Repayment.id))) == before
    # pays off the rest on time (installments 2 and 3 with their subsidy): closed
    rest = officer.post(url, json={"paid_on": "2026-02-11", "amount": "806.00", "reference": "B3"})
    assert rest.status_code == 201, rest.get_data(as_text=True)
    assert db.session.get(Loan, loan_id).status == "closed"
    late = officer.post(url, json={"paid_on": "2026-02-12", "amount": "1.00", "reference": "B4"})
    assert late.status_code == 409
    repeat = officer.post(
        url, json={"paid_on": "2026-02-11", "amount": "806.00", "reference": "B3"}
    )
    assert repeat.status_code == 200


def test_api_schedule_shows_the_lost_subsidy_in_its_named_fields(api_as, api_clock, funded):
    """SPEC §9: an overdue installment loses its subsidy, "the borrower then owes its full
    interest, and the schedule shows the change"; §14 names the schedule's fields
    (interest, subsidy, borrower_interest, ...) and §9 says the borrower owes principal +
    borrower interest. After the loss the answer still says subsidy 6.00 and
    borrower_interest 6.00 on installment 1 (interest 12.00), so a client adding
    principal + borrower_interest gets 406.00 where 412.00 is owed."""
    loan_id = small_loan().id
    sweep(date(2026, 3, 1))
    db.session.commit()
    officer = api_as("officer")
    first = officer.get(f"{API}/loans/{loan_id}").get_json()["schedule"][0]
    assert first["subsidy_lost"] is True
    assert first["amount_due"] == "412.00"
    assert D(first["principal"]) + D(first["borrower_interest"]) == D(first["amount_due"])
    assert first["subsidy"] == "0.00"


# The sweep: twice, skipped dates, once-only events (verified right) ---------------------------
def _state(loan_id: int) -> tuple:
    db.session.expire_all()
    loan = db.session.get(Loan, loan_id)
    events = sorted(
        (event.kind, event.occurred_on, event.installment_id)
        for event in db.session.scalars(
            select(IntegrityEvent).where(IntegrityEvent.loan_id == loan_id)
        )
    )
    rows = [(row.status, row.subsidy_lost) for row in loan.installments]
    return loan.status, loan.days_past_due, loan.bucket, loan.defaulted_on, rows, events


def test_sweep_twice_and_skipped_dates_give_the_daily_rows(funded):
    daily = small_loan().id
    skipping = small_loan().id
    day = date(2026, 2, 1)
    while day <= date(2026, 6, 1):
        sweep(day)
        if day.day == 1:
            sweep(day)  # twice for the same date
        day += timedelta(days=1)
    daily_state = _state(daily)
    assert daily_state[0] == "defaulted"
    assert daily_state[3] == date(2026, 5, 11)
    kinds = [event[0] for event in daily_state[5]]
    assert kinds.count("late_over_30") == 3
    assert kinds.count("defaulted") == 1
    # the second loan's rows match whether its sweeps ran daily or only now and then
    assert _state(skipping)[1:5] == daily_state[1:5]
    assert [e[:2] for e in _state(skipping)[5]] == [e[:2] for e in daily_state[5]]


def test_paid_late_and_late_over_30_are_exclusive_per_installment(funded):
    loan = small_loan()
    pay(loan, "412.00", date(2026, 3, 5), "LATE-23-DAYS")  # installment 1, 23 days late
    for day in (date(2026, 3, 20), date(2026, 4, 1)):
        sweep(day)
    first = refreshed(loan).installments[0]
    kinds = list(
        db.session.scalars(
            select(IntegrityEvent.kind).where(IntegrityEvent.installment_id == first.id)
        )
    )
    assert kinds == ["paid_late"]


# Lifecycle: the review step once more ---------------------------------------------------------
def test_review_endpoint_refuses_a_loan_already_reviewed(api_as, api_clock, funded):
    """The review is the first officer's step on a *submitted* application (the API says
    "409 when the loan is not submitted"). lifecycle allows (reviewed, reject), and
    review_loan does not check the status, so on a reviewed loan anyone — the reviewer
    too, whom approve_loan refuses with 403 — can reject through /review, and the reject
    overwrites reviewed_by/review_note: the record of who reviewed it is lost."""
    officer = api_as("officer")
    loan_id = make_loan(status="submitted").id
    db.session.commit()
    assert (
        officer.post(
            f"{API}/loans/{loan_id}/review", json={"decision": "approve", "note": "ok"}
        ).status_code
        == 200
    )
    second = officer.post(
        f"{API}/loans/{loan_id}/review", json={"decision": "reject", "note": "changed my mind"}
    )
    assert second.status_code == 409
    loan = db.session.get(Loan, loan_id)
    assert loan.status == "reviewed"
    assert loan.review_note == "ok"


def test_approve_endpoint_refuses_a_loan_not_yet_reviewed(api_as, api_clock, funded):
    """The API documents "409 when the loan is not reviewed"; a reject through /approve
    on a submitted application is accepted instead and stamps approved_by/approved_on on
    a loan nobody reviewed."""
    officer = api_as("officer")
    loan_id = make_loan(status="submitted").id
    db.session.commit()
    answer = officer.post(
        f"{API}/loans/{loan_id}/approve", json={"decision": "reject", "note": "no"}
    )
    assert answer.status_code == 409
    assert db.session.get(Loan, loan_id).status == "submitted"


def test_closing_and_reopening_a_loan_are_audited_on_the_loan(funded):
    """SPEC §4: every change to loans writes an audit entry (before and after). A payment
    that closes a loan, and a reversal that reopens it, change the loan's status, closed_on
    and outstanding principal, but only the repayment entry is audited: the loan's own
    history never shows it was closed or reopened."""
    loan = small_loan()
    posting = pay(loan, "1212.00", date(2026, 2, 1), "PAYOFF")  # all three, on time
    assert refreshed(loan).status == "closed"
    officer = make_user(role="officer", region_code="460100")
    operations.reverse_repayment(
        officer, posting.repayment.id, {"reason": "bounced"}, as_of=date(2026, 2, 2)
    )
    assert refreshed(loan).status == "active"
    afters = [
        (entry.after or {}).get("status")
        for entry in db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity_type == "loan", AuditEntry.entity_id == str(loan.id))
            .order_by(AuditEntry.id)
        )
    ]
    assert "closed" in afters
    assert afters[-1] == "active"


def test_sweep_events_carry_their_reason_like_every_other_event(funded):
    """SPEC §10: a founder sees their own file with every event's reason. Events from
    repayments say which loan and installment ("loan 3 installment 1"), compensation which
    loan; the sweep's late_over_30 and defaulted events are inserted with an empty note,
    so the founder's file (and GET /founders/{id}/integrity) gives no reason for the two
    heaviest penalties."""
    loan = small_loan()
    sweep(date(2026, 5, 11))
    notes = {
        event.kind: event.note
        for event in db.session.scalars(
            select(IntegrityEvent).where(IntegrityEvent.loan_id == loan.id)
        )
    }
    assert notes["late_over_30"]
    assert notes["defaulted"]
    assert str(loan.id) in notes["defaulted"]


def test_reversal_reopening_a_loan_while_the_founder_has_a_new_application(api_as, api_clock):
    """A closed loan is not live, so the founder may apply again; a reversal (a bounced
    payment) then reopens the old loan to `active` and the partial unique index
    uq_loan_one_live_per_founder makes the flush fail: IntegrityError, a 500. The reversal
    must be answered (posted, or a 409 naming the other loan), never a crash."""
    from tests.loans.factories import APPLIED_ON, application_body, officers

    set_policy(annual_rate=D("0.0345"), subsidy_rate=D("1"))
    fund_region("460000")
    old = make_loan(amount=D("1200.00"), term_months=3, repayment_method="equal_principal")
    posting = pay(old, "1200.00", date(2026, 2, 1), "PAYOFF", as_of=date(2026, 2, 1))
    assert refreshed(old).status == "closed"
    reviewer, _ = officers()
    operations.apply_for_loan(reviewer, application_body(old.founder), as_of=APPLIED_ON)
    db.session.commit()
    repayment_id = posting.repayment.id
    officer = api_as("officer")
    answer = officer.post(
        f"{API}/repayments/{repayment_id}/reverse", json={"reason": "cheque bounced"}, headers=EN
    )
    assert answer.status_code in (201, 409), answer.status_code


def test_payments_of_a_compensated_loan_cannot_be_posted_or_reversed(funded):
    """After compensation the fund, not the bank, is owed: repayments go through
    recoveries; posting (409) and reversing (409) are refused and nothing changes."""
    loan = make_loan()
    posting = pay(loan, "100.00", date(2026, 2, 20), "EARLY", as_of=date(2026, 2, 20))
    loan = _compensated_loan(loan)
    officer = make_user(role="officer", region_code="460100")
    with pytest.raises(Conflict):
        operations.reverse_repayment(
            officer, posting.repayment.id, {"reason": "x"}, as_of=date(2026, 7, 1)
        )
    with pytest.raises(Conflict):
        pay(loan, "1.00", date(2026, 7, 1), "AFTER")
    assert refreshed(loan).status == "compensated"
