"""Loan pages through the client: the list and the queue, applying, the four-eyes review,
disbursement and the schedule, repayments and reversals, arrears and PAR30, guarantee
funds, compensation to write-off, and the founder's own loans on a phone."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.core.dates import today_in_china
from app.extensions import db
from app.loans import jobs
from app.loans.models import FundEntry, Loan, LoanStatus, Repayment
from tests.factories import make_id_number
from tests.loans.factories import fund_region, make_loan, make_trained_founder, officers

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}
DISBURSED_ON = date(2026, 1, 31)  # first installment due 2026-02-28
SWEEP_ON = date(2026, 4, 5)  # 36 days after the first due date: bucket 31-60


def committed(obj):
    ident = obj.id
    db.session.commit()
    return ident


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def page(response, status=200):
    assert response.status_code == status, (response.status_code, response.location)
    return response.get_data(as_text=True)


def loan_status(loan_id):
    db.session.expire_all()
    return db.session.get(Loan, loan_id).status


FIELD_TAG = re.compile(r'<(?:input|select|textarea)\b[^>]*\bname="([^"]+)"')


def field_html(html, name):
    """The rendered form from field `name` to the next field, where its errors are shown."""
    tags = list(FIELD_TAG.finditer(html))
    start = next(tag.start() for tag in tags if tag[1] == name)
    end = next((tag.start() for tag in tags if tag.start() > start and tag[1] != name), len(html))
    return html[start:end]


def application_form(founder_id, **fields):
    """The application page's fields as a browser posts them: every guarantor row's boxes,
    empty where nothing was typed."""
    blank_rows = {
        f"guarantors-{row}-{name}": ""
        for row in (1, 2)
        for name in ("name", "id_number", "relationship", "employer", "phone")
    }
    data = blank_rows | {
        "founder_id": str(founder_id),
        "amount": "100000.00",
        "term_months": "12",
        "repayment_method": "equal_installment",
        "purpose": "购置设备",
        "guarantors-0-name": "王芳",
        "guarantors-0-id_number": make_id_number(sex="female"),
        "guarantors-0-relationship": "姐姐",
        "guarantors-0-employer": "海口市第一小学",
        "guarantors-0-phone": "13907551234",
    }
    return data | fields


def officer_session(login_as, region="460100"):
    """Sign in as an officer (committed, so the request sees them)."""
    return login_as("officer", region)


# The list and the queue -----------------------------------------------------------------
def test_officers_list_the_loans_of_their_area_with_the_queue_counts(client, login_as):
    haikou = make_loan(status="submitted", founder=make_trained_founder(name="海口甲"))
    make_loan(status="reviewed", founder=make_trained_founder(name="海口乙"))
    make_loan(
        status="submitted",
        region_code="460200",
        founder=make_trained_founder(region_code="460200", name="三亚丙"),
    )
    haikou_id = committed(haikou)
    officer_session(login_as)
    html = page(client.get("/loans/", headers=EN))
    assert "海口甲" in html
    assert "海口乙" in html
    assert "三亚丙" not in html
    assert f'href="/loans/{haikou_id}"' in html
    assert re.search(r'href="/loans/\?status=submitted"[^>]*data-testid="queue-submitted"', html)
    counts = re.findall(
        r'data-testid="queue-(\w+)">\s*<div[^>]*>[^<]*</div>\s*<div[^>]*>(\d+)<', html
    )
    assert dict(counts) == {"submitted": "1", "reviewed": "1", "approved": "0"}
    assert 'data-testid="new-loan"' in html
    html = page(client.get("/loans/?status=reviewed", headers=EN))
    assert "海口乙" in html
    assert "海口甲" not in html


def test_the_list_filters_by_founder_number_and_bucket(client, login_as):
    late = make_loan(disbursed_on=DISBURSED_ON, founder=make_trained_founder(name="逾期户"))
    make_loan(disbursed_on=date(2026, 3, 20), founder=make_trained_founder(name="正常户"))
    jobs.sweep(SWEEP_ON)
    founder_id = late.founder_id
    db.session.commit()
    officer_session(login_as)
    html = page(client.get(f"/loans/?founder_id={founder_id}", headers=EN))
    assert "逾期户" in html
    assert "正常户" not in html
    html = page(client.get("/loans/?bucket=31-60", headers=EN))
    assert "逾期户" in html
    assert "正常户" not in html
    html = page(client.get("/loans/?founder_id=abc&status=nonsense", headers=EN))
    assert "逾期户" in html
    assert "正常户" in html


def test_the_queue_marks_what_the_officer_reviewed(client, login_as):
    reviewer = login_as("officer", "460100")
    _, approver = officers()
    loan = make_loan(status="reviewed", reviewer=reviewer, approver=approver)
    loan_id = committed(loan)
    html = page(client.get("/loans/queue?status=reviewed", headers=EN))
    assert f'href="/loans/{loan_id}"' in html
    assert 'data-testid="needs-second-officer"' in html
    assert "needs a second officer" in html
    html = page(client.get("/loans/queue", headers=EN))  # the first step by default
    assert "Nothing waits here." in html


def test_staff_and_founders_get_403_and_visitors_sign_in(client, login_as, db_session):
    for url in ("/loans/", "/loans/queue", "/loans/arrears", "/loans/new", "/loans/funds"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/login" in response.location
    login_as("staff", "460100")
    for url in ("/loans/", "/loans/queue", "/loans/arrears", "/loans/new", "/loans/funds"):
        assert client.get(url).status_code == 403, url
    assert client.get("/loans/me").status_code == 403


def test_administrators_read_without_acting(client, login_as):
    loan_id = committed(make_loan(status="submitted"))
    login_as("admin", "460000")
    html = page(client.get("/loans/", headers=EN))
    assert f'href="/loans/{loan_id}"' in html
    assert 'data-testid="new-loan"' not in html
    html = page(client.get(f"/loans/{loan_id}", headers=EN))
    assert 'data-testid="review-form"' not in html
    assert client.get("/loans/new").status_code == 403
    assert client.post(f"/loans/{loan_id}/review", data={}).status_code == 403
    assert loan_status(loan_id) == "submitted"


def test_an_officer_of_another_city_gets_404(client, login_as):
    loan = make_loan(status="submitted")  # Haikou, 460100
    active = make_loan(disbursed_on=DISBURSED_ON)
    payment = Repayment(
        loan_id=active.id, paid_on=date(2026, 2, 27), amount=Decimal("100.00"), reference="X1"
    )
    db.session.add(payment)
    db.session.flush()
    payment_id = payment.id
    loan_id, active_id = loan.id, committed(active)
    login_as("officer", "460200")  # Sanya
    assert client.get(f"/loans/{loan_id}").status_code == 404
    body = {"review-decision": "approve", "review-note": ""}
    assert client.post(f"/loans/{loan_id}/review", data=body).status_code == 404
    assert client.post(f"/loans/{active_id}/repayments", data={}).status_code == 404
    assert client.post(f"/loans/repayments/{payment_id}/reverse", data={}).status_code == 404
    assert loan_status(loan_id) == "submitted"
    html = page(client.get("/loans/", headers=EN))
    assert f'href="/loans/{loan_id}"' not in html
    assert f'href="/loans/{active_id}"' not in html


# Applying -------------------------------------------------------------------------------
def test_the_form_shows_the_founders_policy_limits(client, login_as):
    fund_region("460000")
    founder_id = committed(make_trained_founder(name="李娜"))
    officer_session(login_as)
    html = page(client.get(f"/loans/new?founder_id={founder_id}", headers=EN))
    assert f"For founder 李娜 (number {founder_id})." in html
    assert re.search(rf'name="founder_id"[^>]*value="{founder_id}"', html)
    assert 'data-testid="max-amount">¥300,000.00<' in html
    assert 'data-testid="max-term">36 months<' in html
    assert html.count('data-testid="guarantor-row"') == 3
    blank = page(client.get("/loans/new", headers=EN))
    assert 'data-testid="policy-limits"' not in blank


@pytest.mark.parametrize("founder_id", ["sanya", "0", "999999", str(10**30)])
def test_a_founder_out_of_scope_or_absent_is_404(client, login_as, founder_id):
    sanya_id = committed(make_trained_founder(region_code="460200", name="三亚人"))
    officer_session(login_as)
    founder_id = str(sanya_id) if founder_id == "sanya" else founder_id
    assert "三亚人" not in page(client.get(f"/loans/new?founder_id={founder_id}"), 404)


def test_an_application_creates_a_loan_and_goes_to_it(client, login_as):
    fund_region("460000")
    founder_id = committed(make_trained_founder())
    officer = officer_session(login_as)
    response = client.post("/loans/new", data=application_form(founder_id), headers=EN)
    assert response.status_code == 302
    loan = db.session.scalar(select(Loan))
    assert response.location.endswith(f"/loans/{loan.id}")
    assert (loan.founder_id, loan.status, loan.amount) == (
        founder_id,
        "submitted",
        Decimal("100000"),
    )
    assert loan.applied_by_id == officer.id
    assert [g.name for g in loan.guarantors] == ["王芳"]
    html = page(client.get(response.location, headers=EN))
    assert f"Application {loan.id} recorded" in html
    assert 'data-testid="review-form"' in html
    full_id = loan.guarantors[0].id_number
    assert full_id not in html
    assert f"{full_id[:6]}***********{full_id[-1]}" in html


def test_application_errors_are_next_to_their_fields_and_nothing_is_written(client, login_as):
    fund_region("460000")
    founder_id = committed(make_trained_founder())
    officer_session(login_as)
    good_id = make_id_number(sex="female")
    wrong_check = good_id[:17] + ("1" if good_id[17] != "1" else "2")
    form = application_form(
        founder_id,
        amount="400000.00",
        **{
            "guarantors-0-id_number": wrong_check,
            "guarantors-2-name": "没填身份证",
        },
    )
    html = page(client.post("/loans/new", data=form, headers=EN), 422)
    assert "The most this region lends is 300,000.00 yuan." in field_html(html, "amount")
    assert "check character is wrong" in field_html(html, "guarantors-0-id_number")
    assert "This field is required." in field_html(html, "guarantors-2-id_number")
    assert "This field is required." in field_html(html, "guarantors-2-relationship")
    assert "required" not in field_html(html, "guarantors-1-id_number")
    assert count(Loan) == 0
    html = page(
        client.post("/loans/new", data=application_form(founder_id, amount="x"), headers=EN), 422
    )
    assert "invalid-feedback" in field_html(html, "amount")
    assert count(Loan) == 0


def test_a_second_live_loan_is_refused_with_a_message(client, login_as):
    existing = make_loan(status="submitted")
    founder_id, existing_id = existing.founder_id, committed(existing)
    officer_session(login_as)
    html = page(client.post("/loans/new", data=application_form(founder_id), headers=EN), 409)
    assert f"already has loan {existing_id}" in html
    assert count(Loan) == 1


# Four eyes, approval, disbursement -------------------------------------------------------
def test_the_reviewer_cannot_approve_a_second_officer_can(client, login_as):
    loan_id = committed(make_loan(status="submitted"))
    reviewer = login_as("officer", "460100")
    response = client.post(
        f"/loans/{loan_id}/review",
        data={"review-decision": "approve", "review-note": "材料齐全"},
        headers=EN,
    )
    assert response.status_code == 302
    assert response.location.endswith(f"/loans/{loan_id}")
    assert loan_status(loan_id) == "reviewed"
    html = page(client.get(f"/loans/{loan_id}", headers=EN))
    assert "Review recorded." in html
    assert 'data-testid="four-eyes"' in html
    assert 'data-testid="approve-form"' not in html

    response = client.post(
        f"/loans/{loan_id}/approve", data={"approve-decision": "approve"}, headers=EN
    )
    assert response.status_code == 302
    html = page(client.get(response.location, headers=EN))
    assert "You reviewed this loan: a second officer must approve or reject it." in html
    assert loan_status(loan_id) == "reviewed"
    assert db.session.get(Loan, loan_id).reviewed_by_id == reviewer.id

    client.post("/logout")
    login_as("officer", "460100")
    html = page(client.get(f"/loans/{loan_id}", headers=EN))
    assert 'data-testid="approve-form"' in html
    response = client.post(
        f"/loans/{loan_id}/approve", data={"approve-decision": "approve"}, headers=EN
    )
    assert response.status_code == 302
    assert loan_status(loan_id) == "approved"
    assert "Loan approved." in page(client.get(response.location, headers=EN))


def test_review_screens_show_the_founder_beside_the_loan(client, login_as):
    loan_id = committed(make_loan(status="submitted"))
    officer_session(login_as)
    html = page(client.get(f"/loans/{loan_id}", headers=EN))
    assert 'data-testid="founder-panel"' in html
    assert 'data-testid="panel-training"' in html
    assert "Passed" in html
    assert 'data-testid="integrity-grade">B<' in html
    loan = db.session.get(Loan, loan_id)
    assert f'href="/integrity/founders/{loan.founder_id}"' in html


def test_rejecting_needs_a_reason(client, login_as):
    loan_id = committed(make_loan(status="submitted"))
    officer_session(login_as)
    html = page(
        client.post(f"/loans/{loan_id}/review", data={"review-decision": "reject"}, headers=EN),
        422,
    )
    assert "Give the reason for rejecting." in field_html(html, "review-note")
    assert loan_status(loan_id) == "submitted"
    response = client.post(
        f"/loans/{loan_id}/review",
        data={"review-decision": "reject", "review-note": "收入证明不足"},
        headers=EN,
    )
    assert response.status_code == 302
    assert loan_status(loan_id) == "rejected"
    assert "收入证明不足" in page(client.get(f"/loans/{loan_id}", headers=EN))


def test_disbursement_shows_the_schedule(client, login_as):
    loan_id = committed(make_loan(status="approved"))
    officer_session(login_as)
    html = page(client.get(f"/loans/{loan_id}", headers=EN))
    assert f'action="/loans/{loan_id}/disburse"' in html
    today = today_in_china().isoformat()
    response = client.post(
        f"/loans/{loan_id}/disburse",
        data={"disburse-disbursed_on": today, "disburse-bank_reference": "ICBC-9"},
        headers=EN,
    )
    assert response.status_code == 302
    assert loan_status(loan_id) == "active"
    html = page(client.get(response.location, headers=EN))
    assert "Disbursement recorded" in html
    assert html.count('data-testid="installment"') == 12
    assert 'data-testid="schedule-total"' in html
    assert "¥100,000.00" in html
    assert f'action="/loans/{loan_id}/repayments"' in html


def test_a_disbursement_without_a_reference_is_shown_next_to_it(client, login_as):
    loan_id = committed(make_loan(status="approved"))
    officer_session(login_as)
    html = page(
        client.post(
            f"/loans/{loan_id}/disburse",
            data={"disburse-disbursed_on": "2026-01-10", "disburse-bank_reference": ""},
            headers=EN,
        ),
        422,
    )
    assert "invalid-feedback" in field_html(html, "disburse-bank_reference")
    assert loan_status(loan_id) == "approved"


# Repayments -----------------------------------------------------------------------------
def test_a_repayment_posts_and_a_bad_amount_writes_nothing(client, login_as):
    loan_id = committed(make_loan(disbursed_on=DISBURSED_ON))
    officer_session(login_as)
    form = {
        "repayment-paid_on": "2026-02-27",
        "repayment-amount": "8489.88",
        "repayment-reference": "PAY-1",
    }
    response = client.post(f"/loans/{loan_id}/repayments", data=form, headers=EN)
    assert response.status_code == 302
    assert count(Repayment) == 1
    html = page(client.get(response.location, headers=EN))
    assert "Payment of ¥8,489.88 posted." in html
    assert 'data-testid="repayment"' in html
    assert 'data-testid="installment-status">Paid<' in html

    for amount, message in (
        ("12.345", "Use at most 2 decimals."),
        ("5000000.00", "This is more than the borrower owes"),
        ("abc", "Enter an amount in yuan"),
    ):
        bad = form | {"repayment-amount": amount, "repayment-reference": f"PAY-{amount}"}
        html = page(client.post(f"/loans/{loan_id}/repayments", data=bad, headers=EN), 422)
        assert message in field_html(html, "repayment-amount"), amount
    assert count(Repayment) == 1

    again = client.post(f"/loans/{loan_id}/repayments", data=form, headers=EN)
    assert "already posted on 2026-02-27" in page(client.get(again.location, headers=EN))
    assert count(Repayment) == 1


def test_a_payment_is_reversed_with_a_reason(client, login_as):
    loan = make_loan(disbursed_on=DISBURSED_ON)
    loan_id = committed(loan)
    officer_session(login_as)
    client.post(
        f"/loans/{loan_id}/repayments",
        data={
            "repayment-paid_on": "2026-02-27",
            "repayment-amount": "1000.00",
            "repayment-reference": "PAY-R",
        },
    )
    payment_id = db.session.scalar(select(Repayment.id))
    html = page(
        client.post(f"/loans/repayments/{payment_id}/reverse", data={"reason": ""}, headers=EN),
        422,
    )
    assert "invalid-feedback" in field_html(html, "reason")
    assert count(Repayment) == 1
    response = client.post(
        f"/loans/repayments/{payment_id}/reverse", data={"reason": "银行退回"}, headers=EN
    )
    assert response.status_code == 302
    assert response.location.endswith(f"/loans/{loan_id}")
    assert count(Repayment, Repayment.kind == "reversal") == 1
    html = page(client.get(response.location, headers=EN))
    assert "Payment reversed." in html
    assert 'data-testid="reversed"' in html
    assert "银行退回" in html
    assert 'data-testid="reverse-form"' not in html


# Arrears --------------------------------------------------------------------------------
def test_the_arrears_page_shows_par30_and_the_loans_past_due(client, login_as):
    founder = make_trained_founder(name="欠款人", phone="13800138000")
    late = make_loan(disbursed_on=DISBURSED_ON, founder=founder)
    make_loan(disbursed_on=date(2026, 3, 20), founder=make_trained_founder(name="按时人"))
    jobs.sweep(SWEEP_ON)
    late_id = committed(late)
    officer_session(login_as)
    html = page(client.get("/loans/arrears", headers=EN))
    assert 'data-testid="par30-value">50%<' in html
    assert "as of the sweep of 2026-04-05" in html
    assert re.search(r'href="/loans/\?bucket=31-60" data-testid="count-31-60">1<', html)
    assert re.search(r'href="/loans/\?bucket=current" data-testid="count-current">1<', html)
    assert html.count('data-testid="arrears-row"') == 1
    assert f'href="/loans/{late_id}"' in html
    assert 'data-testid="days-past-due">36<' in html
    assert "31–60 days" in html
    assert 'href="tel:13800138000"' in html
    assert "王芳" in html  # the guarantor to call
    assert "2 installments" in html
    assert "按时人" not in html
    assert 'data-testid="arrears-row"' not in page(client.get("/loans/arrears?bucket=61-90"))


def test_arrears_show_the_lost_subsidy_on_the_schedule(client, login_as):
    loan_id = committed(make_loan(disbursed_on=DISBURSED_ON))
    jobs.sweep(SWEEP_ON)
    db.session.commit()
    officer_session(login_as)
    html = page(client.get(f"/loans/{loan_id}", headers=EN))
    assert html.count('data-testid="subsidy-lost"') == 2
    assert html.count('data-testid="installment-status">Overdue<') == 2
    assert "<s" in cell_html(html, "borrower-interest")
    assert "as of the sweep of 2026-04-05" in html


def cell_html(html, testid):
    """The first table cell marked `testid`."""
    start = html.index(f'data-testid="{testid}"')
    return html[start : html.index("</td>", start)]


# Default, compensation, recovery, write-off ---------------------------------------------------
def test_a_defaulted_loan_is_compensated_recovered_and_written_off(client, login_as):
    loan = make_loan(disbursed_on=DISBURSED_ON)
    jobs.sweep(date(2026, 6, 1))  # 93 days past due: defaulted
    loan_id = committed(loan)
    assert loan_status(loan_id) == LoanStatus.DEFAULTED
    officer_session(login_as)
    html = page(client.get(f"/loans/{loan_id}", headers=EN))
    assert 'data-testid="compensation-limit"' in html
    response = client.post(
        f"/loans/{loan_id}/compensate",
        data={"compensate-date": "2026-06-02", "compensate-reference": "FUND-1"},
        headers=EN,
    )
    assert response.status_code == 302
    assert loan_status(loan_id) == "compensated"
    compensated = db.session.get(Loan, loan_id).compensated_amount
    assert compensated > 0
    html = page(client.get(response.location, headers=EN))
    assert 'data-testid="recovery-form"' in html
    guarantor_id = db.session.get(Loan, loan_id).guarantors[0].id
    response = client.post(
        f"/loans/{loan_id}/recoveries",
        data={
            "recovery-date": "2026-06-03",
            "recovery-amount": "1000.00",
            "recovery-reference": "REC-1",
            "recovery-source": "guarantor",
            "recovery-guarantor_id": str(guarantor_id),
        },
        headers=EN,
    )
    assert response.status_code == 302
    assert db.session.get(Loan, loan_id).recovered_amount == Decimal("1000.00")
    too_much = {
        "recovery-date": "2026-06-03",
        "recovery-amount": str(compensated),
        "recovery-reference": "REC-2",
    }
    html = page(client.post(f"/loans/{loan_id}/recoveries", data=too_much, headers=EN), 422)
    assert "still to recover" in field_html(html, "recovery-amount")
    response = client.post(
        f"/loans/{loan_id}/write-off",
        data={"write_off-date": "2026-06-04", "write_off-reason": "借款人失联"},
        headers=EN,
    )
    assert response.status_code == 302
    assert loan_status(loan_id) == "written_off"
    assert "借款人失联" in page(client.get(response.location, headers=EN))


def test_a_refused_move_is_flashed(client, login_as):
    loan_id = committed(make_loan(disbursed_on=DISBURSED_ON))  # active, not defaulted
    officer_session(login_as)
    response = client.post(
        f"/loans/{loan_id}/compensate",
        data={"compensate-date": "2026-02-02", "compensate-reference": "FUND-X"},
        headers=EN,
    )
    assert response.status_code == 302
    html = page(client.get(response.location, headers=EN))
    assert "This loan&#39;s status is “Being repaid”: it cannot be compensated now." in html
    assert count(FundEntry, FundEntry.kind == "compensation") == 0


# Guarantee funds ------------------------------------------------------------------------
def test_officers_go_to_the_fund_that_backs_their_region(client, login_as):
    loan_id = committed(make_loan(disbursed_on=DISBURSED_ON))  # funds Hainan 460000
    officer_session(login_as)
    response = client.get("/loans/funds")
    assert response.status_code == 302
    assert response.location.endswith("/loans/funds/460000")
    html = page(client.get("/loans/funds/460000", headers=EN))
    assert 'data-testid="balance">¥10,000,000.00<' in html
    assert 'data-testid="guaranteed">¥100,000.00<' in html
    assert 'data-testid="capacity">¥50,000,000.00<' in html
    assert 'data-testid="fund-entry"' in html
    assert 'data-testid="fund-entry-form"' not in html
    html = page(client.get("/loans/funds/460000?tab=loans", headers=EN))
    assert f'href="/loans/{loan_id}"' in html
    html = page(client.get("/loans/funds/460100", headers=EN))
    assert 'data-testid="uses-province-fund"' in html
    assert client.post("/loans/funds/460000/entries", data={}).status_code == 403


def test_a_city_fund_is_404_for_another_citys_officer(client, login_as):
    fund_region("460100", "500000.00")
    db.session.commit()
    login_as("officer", "460200")
    assert client.get("/loans/funds/460100").status_code == 404
    assert client.get("/loans/funds/310000").status_code == 404
    assert client.get("/loans/funds/nothing").status_code == 404
    assert client.get("/loans/funds/460000").status_code == 200


def test_administrators_list_funds_and_deposit(client, login_as):
    fund_region("460000", "1000.00")
    db.session.commit()
    login_as("admin", "460000")
    html = page(client.get("/loans/funds", headers=EN))
    assert 'data-region="460000"' in html
    assert 'data-region="310000"' in html
    html = page(client.get("/loans/funds/460000", headers=EN))
    assert 'data-testid="fund-entry-form"' in html
    today = today_in_china().isoformat()
    response = client.post(
        "/loans/funds/460000/entries",
        data={"date": today, "amount": "2000.00", "reference": "拨款-1"},
        headers=EN,
    )
    assert response.status_code == 302
    html = page(client.get(response.location, headers=EN))
    assert "Deposit of ¥2,000.00 recorded." in html
    assert 'data-testid="balance">¥3,000.00<' in html
    overdraw = {"date": today, "amount": "-5000.00", "reference": "取出"}
    html = page(client.post("/loans/funds/460000/entries", data=overdraw, headers=EN), 409)
    assert "it cannot pay out more" in html
    html = page(
        client.post("/loans/funds/460000/entries", data=overdraw | {"amount": "0"}, headers=EN),
        422,
    )
    assert "not zero" in field_html(html, "amount")
    assert count(FundEntry) == 2


# The founder's own loans ------------------------------------------------------------------
def test_a_founder_sees_their_own_loan_on_their_phone(client, login_as):
    founder = make_trained_founder()
    loan = make_loan(disbursed_on=DISBURSED_ON, founder=founder)
    jobs.sweep(SWEEP_ON)
    other = make_loan(disbursed_on=DISBURSED_ON)
    loan_id, other_id, founder_id = loan.id, other.id, founder.id
    db.session.commit()
    login_as("founder", "460100", founder_id=founder_id)
    html = page(client.get("/loans/me", headers=EN))
    assert html.count('data-testid="my-loan"') == 1
    assert f'href="/loans/me/{loan_id}"' in html
    assert "Overdue: ¥16,979.76" in html
    html = page(client.get(f"/loans/me/{loan_id}", headers=EN))
    assert 'data-testid="my-overdue"' in html
    assert "Overdue: ¥16,979.76" in html
    assert 'data-testid="my-next-due"' in html
    assert "due by 2026-04-30" in html  # installment 3, after the two overdue ones
    assert html.count('data-testid="my-installment"') == 12
    assert html.count('data-testid="subsidy-lost"') == 2
    assert 'href="/integrity/me"' in html
    assert client.get(f"/loans/me/{other_id}").status_code == 404
    assert client.get(f"/loans/{loan_id}").status_code == 403
    assert client.get("/loans/").status_code == 403


def test_a_founder_without_loans_is_told_so(client, login_as):
    login_as("founder", "460100")
    assert "You have no loan." in page(client.get("/loans/me", headers=EN))


def test_pages_are_in_chinese(client, login_as):
    loan_id = committed(make_loan(disbursed_on=DISBURSED_ON))
    officer_session(login_as)
    for url in ("/loans/", "/loans/queue", f"/loans/{loan_id}", "/loans/arrears"):
        html = page(client.get(url, headers=ZH))
        assert 'lang="zh-CN"' in html, url


def test_the_decision_buttons_carry_a_working_csrf_token(csrf_client):
    from tests.factories import DEFAULT_PASSWORD, make_user

    username = make_user(role="officer", region_code="460100").username
    loan_id = committed(make_loan(status="submitted"))
    login_page = csrf_client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page)[1]
    csrf_client.post(
        "/login", data={"username": username, "password": DEFAULT_PASSWORD, "csrf_token": token}
    )
    refused = csrf_client.post(f"/loans/{loan_id}/review", data={"review-decision": "approve"})
    assert refused.status_code == 302
    assert loan_status(loan_id) == "submitted"
    html = csrf_client.get(f"/loans/{loan_id}").get_data(as_text=True)
    token = re.search(r'name="review-csrf_token" type="hidden" value="([^"]+)"', html)[1]
    done = csrf_client.post(
        f"/loans/{loan_id}/review",
        data={"review-decision": "approve", "review-csrf_token": token},
    )
    assert done.status_code == 302
    assert loan_status(loan_id) == "reviewed"


def test_the_founder_journey_reaches_the_loan_milestone(client, login_as):
    """A paid-out loan is the journey's "Received a guaranteed loan", dated its payout."""
    from tests.loans.factories import make_loan

    founder_id = make_loan(disbursed_on=date(2026, 1, 31)).founder_id
    db.session.commit()
    login_as("officer", "460100")
    html = client.get(f"/founders/{founder_id}", headers={"Accept-Language": "en"})
    assert "Received a guaranteed loan · 2026-01-31" in html.get_data(as_text=True)
