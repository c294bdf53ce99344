"""The loans API over HTTP: the whole lifecycle, four eyes, idempotent repayments and
reversals, scope, bad input, compensation, recovery, write-off and the guarantee funds
(SPEC §9, §14: money as strings with 2 decimals, 422 naming the field)."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from sqlalchemy import func, select

import app.loans.api as loans_api
from app.core.audit import AuditEntry
from app.extensions import db
from app.loans.jobs import sweep
from app.loans.models import FundEntry, Loan, Repayment
from tests.factories import make_founder
from tests.loans.factories import (
    application_body,
    fund_region,
    guarantor_body,
    make_loan,
    make_trained_founder,
)

EN = {"Accept-Language": "en"}
API = "/api/v1"
D = Decimal


class Clock:
    """The handlers' "today", movable per test (loans are dated by it)."""

    today = date(2026, 7, 1)


@pytest.fixture(autouse=True)
def clock(db_session, monkeypatch):
    fixed = Clock()
    monkeypatch.setattr(loans_api, "today_in_china", lambda: fixed.today)
    return fixed


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def committed_loan_id(**fields):
    loan_id = make_loan(**fields).id
    db.session.commit()
    return loan_id


def defaulted_loan_id(**fields):
    """A loan disbursed 2026-01-31 and never paid: the sweep of 2026-06-30 defaults it."""
    loan_id = make_loan(**fields).id
    sweep(date(2026, 6, 30))
    db.session.commit()
    assert db.session.get(Loan, loan_id).status == "defaulted"
    return loan_id


GUARANTOR = guarantor_body()


def body_of(founder, **fields):
    """An application as JSON: amounts as strings, guarantors as a list of objects."""
    return application_body(founder, amount="100000.00") | fields


# Who may call what ---------------------------------------------------------------------
ENDPOINTS = [
    ("post", f"{API}/loans"),
    ("get", f"{API}/loans"),
    ("get", f"{API}/loans/1"),
    ("post", f"{API}/loans/1/review"),
    ("post", f"{API}/loans/1/approve"),
    ("post", f"{API}/loans/1/disburse"),
    ("post", f"{API}/loans/1/repayments"),
    ("post", f"{API}/repayments/1/reverse"),
    ("post", f"{API}/loans/1/compensate"),
    ("post", f"{API}/loans/1/recoveries"),
    ("post", f"{API}/loans/1/write-off"),
    ("get", f"{API}/funds/460000"),
    ("post", f"{API}/funds/460000/entries"),
]
OFFICER_WRITES = [
    (method, url) for method, url in ENDPOINTS if method == "post" and "/funds/" not in url
]


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_anonymous_callers_get_401(anonymous_api, method, url):
    assert getattr(anonymous_api, method)(url).status_code == 401


@pytest.mark.parametrize("role", ["staff", "admin", "founder"])
@pytest.mark.parametrize(("method", "url"), OFFICER_WRITES)
def test_only_officers_work_on_loans(api_as, role, method, url):
    api = api_as(role, "460000" if role == "admin" else "460100")
    assert api.post(url, json={}).status_code == 403


def test_staff_may_not_apply(api_as):
    body = body_of(make_trained_founder())
    db.session.commit()
    response = api_as("staff").post(f"{API}/loans", json=body)
    assert response.status_code == 403
    assert count(Loan) == 0


@pytest.mark.parametrize("role", ["staff", "founder"])
def test_staff_and_founders_do_not_read_funds(api_as, role):
    assert api_as(role).get(f"{API}/funds/460100").status_code == 403


@pytest.mark.parametrize("role", ["staff", "officer"])
def test_only_admins_move_fund_money(api_as, role):
    api = api_as(role)
    body = {"date": "2026-06-01", "amount": "1000.00", "reference": "DEP-9"}
    assert api.post(f"{API}/funds/460100/entries", json=body).status_code == 403
    assert count(FundEntry) == 0


# The whole lifecycle -------------------------------------------------------------------
def test_apply_review_approve_disburse_repay_and_reverse(api_as, clock):
    first, second = api_as("officer"), api_as("officer")
    fund_region("460000")
    founder = make_trained_founder()
    founder_id = founder.id
    guarantor = guarantor_body()
    body = body_of(founder, guarantors=[guarantor])
    db.session.commit()

    clock.today = date(2026, 1, 20)
    response = first.post(f"{API}/loans", json=body)
    assert response.status_code == 201, response.get_json()
    loan = response.get_json()
    loan_id = loan["id"]
    assert loan["status"] == "submitted"
    assert (loan["founder_id"], loan["region_code"]) == (founder_id, "460100")
    assert (loan["amount"], loan["term_months"]) == ("100000.00", 12)
    assert (loan["annual_rate"], loan["subsidy_rate"], loan["guarantee_ratio"]) == (
        "0.0345",
        "1",
        "0.8",
    )
    assert loan["applied_on"] == "2026-01-20"
    assert loan["schedule"] == []
    assert loan["repayments"] == []
    assert loan["outstanding_principal"] == "0.00"
    (shown,) = loan["guarantors"]
    assert shown["name"] == guarantor["name"]
    assert shown["relationship"] == guarantor["relationship"]
    assert (
        shown["id_number_masked"]
        == guarantor["id_number"][:6] + "*" * 11 + (guarantor["id_number"][-1])
    )
    assert guarantor["id_number"] not in response.get_data(as_text=True)

    review = {"decision": "approve", "note": "材料齐全"}
    response = first.post(f"{API}/loans/{loan_id}/review", json=review)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "reviewed"
    assert response.get_json()["reviewed_by"] == first.user.id
    assert response.get_json()["reviewed_on"] == "2026-01-20"

    # Four eyes: the reviewer may not approve.
    response = first.post(f"{API}/loans/{loan_id}/approve", json={"decision": "approve"})
    assert response.status_code == 403
    assert db.session.get(Loan, loan_id).status == "reviewed"

    response = second.post(f"{API}/loans/{loan_id}/approve", json={"decision": "approve"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "approved"
    assert response.get_json()["approved_by"] == second.user.id

    clock.today = date(2026, 1, 31)
    response = second.post(
        f"{API}/loans/{loan_id}/disburse",
        json={"disbursed_on": "2026-01-31", "bank_reference": "BOC-20260131-1"},
    )
    assert response.status_code == 200, response.get_json()
    loan = response.get_json()
    assert loan["status"] == "active"
    assert (loan["disbursed_on"], loan["bank_reference"]) == ("2026-01-31", "BOC-20260131-1")
    assert loan["fund_region_code"] == "460000"
    assert loan["outstanding_principal"] == "100000.00"
    assert len(loan["schedule"]) == 12
    # Hand-checked: A = round(100000·r / (1 − (1 + r)^−12)), r = 0.0345 / 12.
    assert loan["schedule"][0] == {
        "n": 1,
        "due_on": "2026-02-28",
        "principal": "8202.38",
        "interest": "287.50",
        "subsidy": "287.50",
        "borrower_interest": "0.00",
        "subsidy_lost": False,
        "amount_due": "8202.38",
        "paid_principal": "0.00",
        "paid_interest": "0.00",
        "paid_off_on": None,
        "status": "pending",
    }
    assert loan["schedule"][-1]["due_on"] == "2027-01-31"
    assert sum(D(line["principal"]) for line in loan["schedule"]) == D("100000.00")

    clock.today = date(2026, 2, 28)
    payment = {"paid_on": "2026-02-28", "amount": "8202.38", "reference": "TX-0228"}
    response = first.post(f"{API}/loans/{loan_id}/repayments", json=payment)
    assert response.status_code == 201, response.get_json()
    posted = response.get_json()
    assert posted == {
        "id": posted["id"],
        "loan_id": loan_id,
        "kind": "payment",
        "paid_on": "2026-02-28",
        "amount": "8202.38",
        "reference": "TX-0228",
        "reverses_id": None,
        "reversed": False,
        "reason": "",
        "source": "api",
        "created_at": posted["created_at"],
    }
    loan = first.get(f"{API}/loans/{loan_id}").get_json()
    assert loan["outstanding_principal"] == "91797.62"
    assert loan["schedule"][0]["status"] == "paid"
    assert loan["schedule"][0]["paid_off_on"] == "2026-02-28"
    assert [entry["id"] for entry in loan["repayments"]] == [posted["id"]]

    # The same reference and amount again: the first posting, 200, nothing new.
    repeat = first.post(f"{API}/loans/{loan_id}/repayments", json=payment | {"amount": "8202.380"})
    assert repeat.status_code == 200, repeat.get_json()
    assert repeat.get_json()["id"] == posted["id"]
    assert count(Repayment) == 1

    # The same reference with another amount is a conflict.
    other = first.post(f"{API}/loans/{loan_id}/repayments", json=payment | {"amount": "100.00"})
    assert other.status_code == 409
    assert "TX-0228" in other.get_json()["error"]
    assert count(Repayment) == 1

    # More than the borrower owes: 422 naming amount, nothing written.
    audits = count(AuditEntry)
    too_much = {"paid_on": "2026-02-28", "amount": "91797.63", "reference": "TX-BIG"}
    response = first.post(f"{API}/loans/{loan_id}/repayments", json=too_much, headers=EN)
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["amount"]
    assert "91797.62" in response.get_json()["errors"]["amount"][0]
    assert count(Repayment) == 1
    assert count(AuditEntry) == audits
    assert first.get(f"{API}/loans/{loan_id}").get_json()["outstanding_principal"] == "91797.62"

    response = second.post(f"{API}/repayments/{posted['id']}/reverse", json={"reason": "退票"})
    assert response.status_code == 201, response.get_json()
    reversal = response.get_json()
    assert (reversal["kind"], reversal["amount"]) == ("reversal", "-8202.38")
    assert (reversal["reverses_id"], reversal["reason"]) == (posted["id"], "退票")
    assert reversal["source"] == "officer"

    loan = first.get(f"{API}/loans/{loan_id}").get_json()
    assert loan["status"] == "active"
    assert loan["outstanding_principal"] == "100000.00"
    assert loan["schedule"][0]["status"] == "pending"
    assert [(entry["kind"], entry["reversed"]) for entry in loan["repayments"]] == [
        ("payment", True),
        ("reversal", False),
    ]
    again = second.post(f"{API}/repayments/{posted['id']}/reverse", json={"reason": "again"})
    assert again.status_code == 409


def test_a_rejection_needs_a_note(api_as):
    loan_id = committed_loan_id(status="submitted")
    officer = api_as("officer")
    response = officer.post(f"{API}/loans/{loan_id}/review", json={"decision": "reject"})
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["note"]
    response = officer.post(
        f"{API}/loans/{loan_id}/review", json={"decision": "reject", "note": "经营计划不完整"}
    )
    assert response.status_code == 200
    assert response.get_json()["status"] == "rejected"
    assert response.get_json()["rejection_reason"] == "经营计划不完整"


def test_moves_out_of_order_are_409(api_as):
    loan_id = committed_loan_id(status="submitted")
    officer = api_as("officer")
    response = officer.post(f"{API}/loans/{loan_id}/approve", json={"decision": "approve"})
    assert response.status_code == 409
    response = officer.post(
        f"{API}/loans/{loan_id}/disburse",
        json={"disbursed_on": "2026-01-31", "bank_reference": "BK-X"},
    )
    assert response.status_code == 409
    payment = {"paid_on": "2026-02-01", "amount": "10.00", "reference": "TX-X"}
    assert officer.post(f"{API}/loans/{loan_id}/repayments", json=payment).status_code == 409


@pytest.mark.parametrize(
    ("decision", "field"), [({}, "decision"), ({"decision": "maybe"}, "decision")]
)
def test_a_decision_must_be_approve_or_reject(api_as, decision, field):
    loan_id = committed_loan_id(status="submitted")
    response = api_as("officer").post(f"{API}/loans/{loan_id}/review", json=decision)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]
    assert db.session.get(Loan, loan_id).status == "submitted"


def test_a_second_live_loan_is_409(api_as):
    founder = make_trained_founder()
    make_loan(founder=founder, status="submitted")
    body = body_of(founder)
    db.session.commit()
    response = api_as("officer").post(f"{API}/loans", json=body)
    assert response.status_code == 409
    assert count(Loan) == 1


# Bad input -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"amount": "-100.00"}, "amount"),
        ({"amount": "0"}, "amount"),
        ({"amount": "1.234"}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"amount": "1e5"}, "amount"),
        ({"amount": 1000.5}, "amount"),
        ({"amount": "400000.00"}, "amount"),  # above the policy's max_amount
        ({"amount": None}, "amount"),
        ({"term_months": "twelve"}, "term_months"),
        ({"term_months": "12"}, "term_months"),
        ({"term_months": 0}, "term_months"),
        ({"term_months": 48}, "term_months"),  # above the policy's 36
        ({"term_months": True}, "term_months"),
        ({"repayment_method": "balloon"}, "repayment_method"),
        ({"repayment_method": 3}, "repayment_method"),
        ({"purpose": ""}, "purpose"),
        ({"purpose": "x" * 501}, "purpose"),
        ({"purpose": "x\x00y"}, "purpose"),
        ({"founder_id": "abc"}, "founder_id"),
        ({"founder_id": 999_999_999}, "founder_id"),
        ({"business_id": 999_999_999}, "business_id"),
        ({"guarantors": "王芳"}, "guarantors"),
        ({"guarantors": {"name": "王芳"}}, "guarantors"),
        (
            {"guarantors": [guarantor_body(id_number="460100199001011234")]},
            "guarantors[0].id_number",
        ),
        ({"guarantors": [guarantor_body(name="")]}, "guarantors[0].name"),
        ({"guarantors": ["王芳"]}, "guarantors[0]"),
        ({"guarantors": [[GUARANTOR]]}, "guarantors[0]"),
        (
            {"guarantors": [{"name": 5, "id_number": 123, "relationship": None}]},
            "guarantors[0].name",
        ),
        ({"guarantors": [GUARANTOR | {"id_number": 123}]}, "guarantors[0].id_number"),
        ({"guarantors": [GUARANTOR | {"name": "王\x00芳"}]}, "guarantors[0].name"),
        (
            {"guarantors": [GUARANTOR | {"id_number": "46010019900101123\x00"}]},
            "guarantors[0].id_number",
        ),
        ({"guarantors": [GUARANTOR | {"phone": 13800000000}]}, "guarantors[0].phone"),
        ({"guarantors": [GUARANTOR | {"relationship": "x" * 51}]}, "guarantors[0].relationship"),
        ({"guarantors": [GUARANTOR, GUARANTOR]}, "guarantors[1].id_number"),
        ({"guarantors": [guarantor_body() for _ in range(6)]}, "guarantors"),
    ],
)
def test_bad_applications_are_422_naming_the_field(api_as, fields, field):
    fund_region("460000")
    body = body_of(make_trained_founder(), **fields)
    db.session.commit()
    response = api_as("officer").post(f"{API}/loans", json=body, headers=EN)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]
    assert count(Loan) == 0


def test_every_bad_field_is_named_at_once(api_as):
    response = api_as("officer").post(f"{API}/loans", json={"guarantors": "none"}, headers=EN)
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {
        "founder_id",
        "amount",
        "term_months",
        "repayment_method",
        "purpose",
        "guarantors",
    }


def test_an_officer_of_another_city_cannot_apply_for_the_founder(api_as):
    body = body_of(make_trained_founder(region_code="460100"))
    db.session.commit()
    response = api_as("officer", "460200").post(f"{API}/loans", json=body)
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["founder_id"]


def test_a_ten_megabyte_purpose_is_refused(api_as):
    body = body_of(make_trained_founder(), purpose="x" * (10 * 1024 * 1024))
    db.session.commit()
    response = api_as("officer").post(f"{API}/loans", json=body)
    assert response.status_code in (413, 422)
    if response.status_code == 422:
        assert "purpose" in response.get_json()["errors"]
    assert count(Loan) == 0


@pytest.mark.parametrize("body", ["[1, 2]", "not json", '"text"'])
def test_a_body_that_is_not_an_object_is_400(api_as, body):
    response = api_as("officer").post(
        f"{API}/loans", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400


def test_a_disbursement_in_the_future_is_422(api_as, clock):
    loan_id = committed_loan_id(status="approved")
    tomorrow = (clock.today + timedelta(days=1)).isoformat()
    response = api_as("officer").post(
        f"{API}/loans/{loan_id}/disburse",
        json={"disbursed_on": tomorrow, "bank_reference": "BK-1"},
        headers=EN,
    )
    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "disbursed_on": ["The disbursement date cannot be in the future."]
    }
    assert db.session.get(Loan, loan_id).status == "approved"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"disbursed_on": "2026-02-30", "bank_reference": "BK-1"}, "disbursed_on"),
        ({"disbursed_on": 20260131, "bank_reference": "BK-1"}, "disbursed_on"),
        ({"disbursed_on": "2026-01-31"}, "bank_reference"),
        ({"disbursed_on": "2026-01-31", "bank_reference": "x" * 65}, "bank_reference"),
        ({"disbursed_on": "2026-01-01", "bank_reference": "BK-1"}, "disbursed_on"),  # < approval
    ],
)
def test_bad_disbursements_are_422(api_as, body, field):
    loan_id = committed_loan_id(status="approved")
    response = api_as("officer").post(f"{API}/loans/{loan_id}/disburse", json=body)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"amount": "-5.00"}, "amount"),
        ({"amount": "1.234"}, "amount"),
        ({"amount": "lots"}, "amount"),
        ({"amount": 12.5}, "amount"),
        ({"paid_on": "2026-07-02"}, "paid_on"),  # after "today"
        ({"paid_on": "2026-01-30"}, "paid_on"),  # before the disbursement
        ({"reference": ""}, "reference"),
    ],
)
def test_bad_repayments_are_422(api_as, fields, field):
    loan_id = committed_loan_id()
    body = {"paid_on": "2026-02-28", "amount": "100.00", "reference": "TX-1"} | fields
    response = api_as("officer").post(f"{API}/loans/{loan_id}/repayments", json=body)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]
    assert count(Repayment) == 0


def test_a_reversal_needs_a_reason(api_as):
    loan_id = committed_loan_id()
    officer = api_as("officer")
    payment = {"paid_on": "2026-02-28", "amount": "100.00", "reference": "TX-1"}
    posted = officer.post(f"{API}/loans/{loan_id}/repayments", json=payment).get_json()
    response = officer.post(f"{API}/repayments/{posted['id']}/reverse", json={"reason": " "})
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["reason"]
    assert count(Repayment) == 1


# Scope ---------------------------------------------------------------------------------
def test_founders_read_their_own_loans_only(api_as):
    own = make_trained_founder()
    own_id = own.id
    own_loan = make_loan(founder=own).id
    other_loan = make_loan().id
    db.session.commit()
    founder = api_as("founder", "460100", founder_id=own_id)
    response = founder.get(f"{API}/loans/{own_loan}")
    assert response.status_code == 200
    assert response.get_json()["founder_id"] == own_id
    assert len(response.get_json()["schedule"]) == 12
    assert founder.get(f"{API}/loans/{other_loan}").status_code == 404
    listing = founder.get(f"{API}/loans").get_json()
    assert [item["id"] for item in listing["items"]] == [own_loan]
    assert listing["total"] == 1
    # Asking for someone else's loans by founder number finds nothing.
    other_founder = db.session.get(Loan, other_loan).founder_id
    assert founder.get(f"{API}/loans?founder_id={other_founder}").get_json()["total"] == 0


def test_officers_of_another_city_get_404(api_as):
    loan_id = committed_loan_id(region_code="460100")
    sanya = api_as("officer", "460200")
    assert sanya.get(f"{API}/loans/{loan_id}").status_code == 404
    for action, body in (
        ("review", {"decision": "approve"}),
        ("disburse", {"disbursed_on": "2026-01-31", "bank_reference": "BK-9"}),
        ("repayments", {"paid_on": "2026-02-28", "amount": "10.00", "reference": "T"}),
        ("compensate", {"date": "2026-06-30", "reference": "C"}),
        ("recoveries", {"date": "2026-06-30", "amount": "1.00", "reference": "R"}),
        ("write-off", {"date": "2026-06-30", "reason": "x"}),
    ):
        response = sanya.post(f"{API}/loans/{loan_id}/{action}", json=body)
        assert response.status_code == 404, action
    assert sanya.get(f"{API}/loans").get_json()["total"] == 0
    # The province's officers see it.
    assert api_as("officer", "460000").get(f"{API}/loans/{loan_id}").status_code == 200


def test_reversing_another_citys_payment_is_404(api_as):
    loan_id = committed_loan_id()
    posted = api_as("officer").post(
        f"{API}/loans/{loan_id}/repayments",
        json={"paid_on": "2026-02-28", "amount": "100.00", "reference": "TX-1"},
    )
    response = api_as("officer", "460200").post(
        f"{API}/repayments/{posted.get_json()['id']}/reverse", json={"reason": "x"}
    )
    assert response.status_code == 404
    assert count(Repayment) == 1


def test_missing_loans_are_404_before_the_body_is_read(api_as):
    officer = api_as("officer")
    for action in ("review", "approve", "disburse", "repayments", "compensate", "recoveries"):
        assert officer.post(f"{API}/loans/999999999/{action}", json={}).status_code == 404
    assert officer.post(f"{API}/loans/999999999/write-off", json={}).status_code == 404
    assert officer.post(f"{API}/repayments/999999999/reverse", json={}).status_code == 404
    assert officer.get(f"{API}/loans/999999999").status_code == 404


# Lists ---------------------------------------------------------------------------------
def test_the_list_filters_and_pages(api_as):
    active = make_loan().id
    submitted = make_loan(status="submitted").id
    make_loan(region_code="460200")
    db.session.commit()
    officer = api_as("officer", "460000")
    listing = officer.get(f"{API}/loans?per_page=2").get_json()
    assert (listing["page"], listing["per_page"], listing["total"]) == (1, 2, 3)
    assert len(listing["items"]) == 2
    item = listing["items"][0]
    assert "schedule" not in item
    assert {"amount", "status", "bucket", "days_past_due", "swept_on"} <= set(item)
    assert [i["id"] for i in officer.get(f"{API}/loans?status=active").get_json()["items"]] == [
        i["id"] for i in officer.get(f"{API}/loans").get_json()["items"] if i["status"] == "active"
    ]
    haikou = officer.get(f"{API}/loans?region_code=460100").get_json()["items"]
    assert {i["id"] for i in haikou} == {active, submitted}
    assert officer.get(f"{API}/loans?bucket=current&region_code=460100").get_json()["total"] == 1
    founder_id = db.session.get(Loan, submitted).founder_id
    by_founder = officer.get(f"{API}/loans?founder_id={founder_id}").get_json()["items"]
    assert [i["id"] for i in by_founder] == [submitted]
    admin = api_as("admin", "460000")
    assert admin.get(f"{API}/loans").get_json()["total"] == 3


@pytest.mark.parametrize(
    "query", ["status=nope", "bucket=200", "founder_id=abc", "per_page=500", "page=0"]
)
def test_bad_list_filters_are_422(api_as, query):
    response = api_as("officer").get(f"{API}/loans?{query}")
    assert response.status_code == 422
    assert query.split("=")[0] in response.get_json()["errors"]


def test_arrears_figures_carry_the_sweep_date(api_as):
    loan_id = committed_loan_id()
    sweep(date(2026, 3, 15))
    db.session.commit()
    loan = api_as("officer").get(f"{API}/loans/{loan_id}").get_json()
    assert (loan["swept_on"], loan["days_past_due"], loan["bucket"]) == ("2026-03-15", 15, "1-30")
    first = loan["schedule"][0]
    assert (first["status"], first["subsidy_lost"]) == ("overdue", True)
    # The subsidy is lost: the borrower owes the full interest.
    assert first["amount_due"] == "8489.88"


# Compensation, recovery, write-off -------------------------------------------------------
def _owed_interest(loan):
    """Borrower interest due (before the sweep date) and not paid, from the answer."""
    return sum(
        (
            D(line["interest"] if line["subsidy_lost"] else line["borrower_interest"])
            - D(line["paid_interest"])
            for line in loan["schedule"]
            if line["due_on"] < loan["swept_on"] and line["paid_off_on"] is None
        ),
        D("0.00"),
    )


def test_an_active_loan_cannot_be_compensated(api_as):
    loan_id = committed_loan_id()
    response = api_as("officer").post(
        f"{API}/loans/{loan_id}/compensate", json={"date": "2026-06-30", "reference": "COMP-1"}
    )
    assert response.status_code == 409
    assert db.session.get(Loan, loan_id).status == "active"
    assert db.session.scalar(select(func.count()).where(FundEntry.loan_id == loan_id)) == 0


def test_compensation_is_capped_at_the_guarantee_ratio_of_what_is_owed(api_as):
    loan_id = defaulted_loan_id()
    officer = api_as("officer")
    loan = officer.get(f"{API}/loans/{loan_id}").get_json()
    assert loan["status"] == "defaulted"
    assert loan["defaulted_on"] == "2026-05-29"  # due 2026-02-28 + 90 days
    owed = D(loan["outstanding_principal"]) + _owed_interest(loan)
    limit = (owed * D("0.8")).quantize(D("0.01"), rounding=ROUND_HALF_UP)
    # Four installments due before the sweep, each with its full interest (subsidy lost).
    assert owed == D("100000.00") + D("287.50") + D("263.92") + D("240.27") + D("216.55")
    assert limit == D("80806.59")

    over = {"date": "2026-06-30", "amount": f"{limit + D('0.01')}", "reference": "COMP-1"}
    response = officer.post(f"{API}/loans/{loan_id}/compensate", json=over, headers=EN)
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["amount"]
    assert db.session.get(Loan, loan_id).status == "defaulted"

    early = {"date": "2026-05-01", "reference": "COMP-1"}
    response = officer.post(f"{API}/loans/{loan_id}/compensate", json=early)
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["date"]

    response = officer.post(
        f"{API}/loans/{loan_id}/compensate",
        json={"date": "2026-06-30", "reference": "COMP-1", "reason": "银行代偿申请"},
    )
    assert response.status_code == 201, response.get_json()
    entry = response.get_json()
    assert entry == {
        "id": entry["id"],
        "region_code": "460000",
        "kind": "compensation",
        "entry_on": "2026-06-30",
        "amount": f"-{limit}",
        "reference": "COMP-1",
        "note": "银行代偿申请",
        "loan_id": loan_id,
        "recovery_source": None,
        "guarantor_id": None,
        "loan_status": "compensated",
    }
    loan = officer.get(f"{API}/loans/{loan_id}").get_json()
    assert (loan["compensated_amount"], loan["compensated_on"]) == (f"{limit}", "2026-06-30")
    fund = officer.get(f"{API}/funds/460000").get_json()
    assert fund["balance"] == f"{D('10000000.00') - limit}"
    assert fund["compensated"] == f"{limit}"
    # Once compensated, no second claim.
    again = officer.post(
        f"{API}/loans/{loan_id}/compensate", json={"date": "2026-06-30", "reference": "COMP-2"}
    )
    assert again.status_code == 409


def test_recoveries_up_to_what_was_compensated(api_as):
    loan_id = defaulted_loan_id()
    officer = api_as("officer")
    officer.post(
        f"{API}/loans/{loan_id}/compensate",
        json={"date": "2026-06-30", "amount": "50000.00", "reference": "COMP-1"},
    )
    guarantor_id = officer.get(f"{API}/loans/{loan_id}").get_json()["guarantors"][0]["id"]

    beyond = {"date": "2026-07-01", "amount": "50000.01", "reference": "REC-1"}
    response = officer.post(f"{API}/loans/{loan_id}/recoveries", json=beyond, headers=EN)
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["amount"]

    response = officer.post(
        f"{API}/loans/{loan_id}/recoveries",
        json={"date": "2026-07-01", "amount": "20000.00", "reference": "REC-1"},
    )
    assert response.status_code == 201, response.get_json()
    first = response.get_json()
    assert (first["kind"], first["amount"], first["recovery_source"]) == (
        "recovery",
        "20000.00",
        "borrower",
    )
    assert first["loan_status"] == "compensated"

    reused = {"date": "2026-07-01", "amount": "1.00", "reference": "REC-1"}
    assert officer.post(f"{API}/loans/{loan_id}/recoveries", json=reused).status_code == 409
    stranger = {
        "date": "2026-07-01",
        "amount": "1.00",
        "reference": "REC-2",
        "source": "guarantor",
        "guarantor_id": 999_999,
    }
    response = officer.post(f"{API}/loans/{loan_id}/recoveries", json=stranger)
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["guarantor_id"]
    bad_source = {"date": "2026-07-01", "amount": "1.00", "reference": "REC-2", "source": "bank"}
    response = officer.post(f"{API}/loans/{loan_id}/recoveries", json=bad_source)
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["source"]

    response = officer.post(
        f"{API}/loans/{loan_id}/recoveries",
        json={
            "date": "2026-07-01",
            "amount": "30000.00",
            "reference": "REC-2",
            "source": "guarantor",
            "guarantor_id": guarantor_id,
        },
    )
    assert response.status_code == 201, response.get_json()
    last = response.get_json()
    assert (last["recovery_source"], last["guarantor_id"]) == ("guarantor", guarantor_id)
    assert last["loan_status"] == "recovered"
    loan = officer.get(f"{API}/loans/{loan_id}").get_json()
    assert (loan["status"], loan["recovered_amount"], loan["ended_on"]) == (
        "recovered",
        "50000.00",
        "2026-07-01",
    )
    fund = officer.get(f"{API}/funds/460100").get_json()
    assert fund["balance"] == "10000000.00"
    assert (fund["compensated"], fund["recovered"]) == ("50000.00", "50000.00")


def test_a_write_off_needs_a_reason(api_as):
    loan_id = defaulted_loan_id()
    officer = api_as("officer")
    officer.post(
        f"{API}/loans/{loan_id}/compensate",
        json={"date": "2026-06-30", "amount": "50000.00", "reference": "COMP-1"},
    )
    response = officer.post(f"{API}/loans/{loan_id}/write-off", json={"date": "2026-07-01"})
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["reason"]
    assert db.session.get(Loan, loan_id).status == "compensated"
    response = officer.post(
        f"{API}/loans/{loan_id}/write-off", json={"date": "2026-07-01", "reason": "借款人失联"}
    )
    assert response.status_code == 200, response.get_json()
    loan = response.get_json()
    assert (loan["status"], loan["write_off_reason"], loan["ended_on"]) == (
        "written_off",
        "借款人失联",
        "2026-07-01",
    )
    assert len(loan["schedule"]) == 12
    after = officer.post(
        f"{API}/loans/{loan_id}/recoveries",
        json={"date": "2026-07-01", "amount": "1.00", "reference": "REC-1"},
    )
    assert after.status_code == 409


def test_an_active_loan_cannot_be_written_off(api_as):
    loan_id = committed_loan_id()
    response = api_as("officer").post(
        f"{API}/loans/{loan_id}/write-off", json={"date": "2026-07-01", "reason": "x"}
    )
    assert response.status_code == 409


# Funds ---------------------------------------------------------------------------------
def test_fund_figures(api_as):
    committed_loan_id()
    officer = api_as("officer")
    response = officer.get(f"{API}/funds/460100")
    assert response.status_code == 200
    assert response.get_json() == {
        "region_code": "460000",
        "requested_region_code": "460100",
        "has_own_fund": False,
        "balance": "10000000.00",
        "guaranteed_outstanding": "100000.00",
        "leverage": "5",
        "capacity": "50000000.00",
        "leverage_used": "0.0100",
        "headroom": "49900000.00",
        "compensated": "0.00",
        "recovered": "0.00",
        "disbursed": "100000.00",
        "compensation_rate": "0.0000",
        "suspend_compensation_rate": "0.05",
        "suspended": False,
    }
    province = officer.get(f"{API}/funds/460000").get_json()
    assert (province["region_code"], province["has_own_fund"]) == ("460000", True)


def test_an_empty_fund_has_no_ratios(api_as):
    fund = api_as("admin", "460000").get(f"{API}/funds/310000").get_json()
    assert (fund["balance"], fund["leverage_used"], fund["compensation_rate"]) == (
        "0.00",
        None,
        None,
    )


@pytest.mark.parametrize("code", ["460200", "460000x", "999999", "abc", "%00"])
def test_funds_out_of_reach_are_404(api_as, code):
    assert api_as("officer").get(f"{API}/funds/{code}").status_code == 404


def test_admins_read_every_fund(api_as):
    assert api_as("admin", "460000").get(f"{API}/funds/460200").status_code == 200
    assert api_as("admin", "460000").get(f"{API}/funds/999999").status_code == 404


def test_admins_deposit_and_withdraw(api_as):
    admin = api_as("admin", "460000")
    deposit = {"date": "2026-06-01", "amount": "500000.00", "reference": "DEP-1", "note": "市财政"}
    response = admin.post(f"{API}/funds/460100/entries", json=deposit)
    assert response.status_code == 201, response.get_json()
    entry = response.get_json()
    assert entry == {
        "id": entry["id"],
        "region_code": "460100",
        "kind": "deposit",
        "entry_on": "2026-06-01",
        "amount": "500000.00",
        "reference": "DEP-1",
        "note": "市财政",
        "loan_id": None,
        "recovery_source": None,
        "guarantor_id": None,
    }
    fund = admin.get(f"{API}/funds/460100").get_json()
    assert (fund["region_code"], fund["has_own_fund"], fund["balance"]) == (
        "460100",
        True,
        "500000.00",
    )
    overdraw = {"date": "2026-06-02", "amount": "-500000.01", "reference": "WD-1"}
    assert admin.post(f"{API}/funds/460100/entries", json=overdraw).status_code == 409
    withdrawal = {"date": "2026-06-02", "amount": "-100000.00", "reference": "WD-1"}
    response = admin.post(f"{API}/funds/460100/entries", json=withdrawal)
    assert response.status_code == 201
    assert (response.get_json()["kind"], response.get_json()["amount"]) == (
        "withdrawal",
        "-100000.00",
    )
    assert admin.get(f"{API}/funds/460100").get_json()["balance"] == "400000.00"
    assert count(AuditEntry) >= 2


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "1.234"}, "amount"),
        ({"amount": "ten"}, "amount"),
        ({"amount": 10.5}, "amount"),
        ({"date": "2026-07-02"}, "date"),  # after "today"
        ({"date": "01/06/2026"}, "date"),
        ({"reference": ""}, "reference"),
    ],
)
def test_bad_fund_entries_are_422(api_as, fields, field):
    body = {"date": "2026-06-01", "amount": "1000.00", "reference": "DEP-1"} | fields
    response = api_as("admin", "460000").post(f"{API}/funds/460100/entries", json=body)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]
    assert count(FundEntry) == 0


def test_fund_entries_for_unknown_regions_are_404(api_as):
    body = {"date": "2026-06-01", "amount": "1000.00", "reference": "DEP-1"}
    admin = api_as("admin", "460000")
    assert admin.post(f"{API}/funds/999999/entries", json=body).status_code == 404
    assert admin.post(f"{API}/funds/x%00/entries", json=body).status_code == 404


def test_a_fund_without_headroom_refuses_the_application(api_as):
    fund_region("460000", "10000.00")  # capacity 50,000
    body = body_of(make_trained_founder())
    db.session.commit()
    response = api_as("officer").post(f"{API}/loans", json=body)
    assert response.status_code == 409
    assert count(Loan) == 0


def test_guarantor_numbers_never_leave_the_server(api_as):
    founder = make_trained_founder()
    founder_id = founder.id
    guarantor = guarantor_body()
    loan_id = make_loan(founder=founder, guarantors=[guarantor]).id
    db.session.commit()
    for api in (api_as("officer"), api_as("founder", "460100", founder_id=founder_id)):
        listing = json.dumps(api.get(f"{API}/loans").get_json())
        detail = api.get(f"{API}/loans/{loan_id}").get_data(as_text=True)
        assert guarantor["id_number"][6:17] not in listing + detail
        assert "*" * 11 in detail


def test_a_founder_not_trained_is_refused(api_as):
    fund_region("460000")
    body = body_of(make_founder(region_code="460100"))
    db.session.commit()
    response = api_as("officer").post(f"{API}/loans", json=body, headers=EN)
    assert response.status_code == 422
    assert "training" in response.get_json()["errors"]["founder_id"][0]


# The answers are what the OpenAPI document says ----------------------------------------
TYPES = {"string": str, "integer": int, "boolean": bool, "array": list, "object": dict}


def conforms(value, schema, where="$"):
    """The ways `value` breaks `schema` (the OpenAPI 3.0 subset these answers use)."""
    if value is None:
        return [] if schema.get("nullable") else [f"{where}: null"]
    kind = TYPES[schema["type"]]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        return [f"{where}: {value!r} is not {schema['type']}"]
    problems = []
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where}: {value!r} not in {schema['enum']}")
    if "pattern" in schema and not re.search(schema["pattern"], value):
        problems.append(f"{where}: {value!r} does not match {schema['pattern']}")
    if schema.get("format") == "date":
        date.fromisoformat(value)
    if kind is list:
        for index, item in enumerate(value):
            problems += conforms(item, schema["items"], f"{where}[{index}]")
    if kind is dict:
        if set(value) != set(schema["properties"]) or set(schema["required"]) != set(value):
            problems.append(f"{where}: keys {sorted(value)} != {sorted(schema['properties'])}")
        for name, item in value.items():
            if name in schema["properties"]:
                problems += conforms(item, schema["properties"][name], f"{where}.{name}")
    return problems


def documented(client, path, method, status):
    document = client.get(f"{API}/openapi.json").get_json()
    content = document["paths"][path][method]["responses"][status]["content"]
    schema = content["application/json"]["schema"]
    if "allOf" in schema:  # a page: the item schema
        (items,) = [part for part in schema["allOf"] if "$ref" not in part]
        return items["properties"]["items"]["items"]
    return schema


def test_answers_match_the_document(api_as, client):
    loan_id = defaulted_loan_id()
    officer = api_as("officer")
    officer.post(
        f"{API}/loans/{loan_id}/repayments",
        json={"paid_on": "2026-06-30", "amount": "100.00", "reference": "TX-1"},
    )
    payment = officer.post(
        f"{API}/loans/{loan_id}/repayments",
        json={"paid_on": "2026-06-30", "amount": "100.00", "reference": "TX-1"},
    )
    assert payment.status_code == 200
    reversal = officer.post(
        f"{API}/repayments/{payment.get_json()['id']}/reverse", json={"reason": "退票"}
    )
    compensation = officer.post(
        f"{API}/loans/{loan_id}/compensate", json={"date": "2026-06-30", "reference": "C-1"}
    )
    loan_path = "/loans/{loan_id}"
    answers = [
        (payment.get_json(), f"{loan_path}/repayments", "post", "200"),
        (reversal.get_json(), "/repayments/{repayment_id}/reverse", "post", "201"),
        (compensation.get_json(), f"{loan_path}/compensate", "post", "201"),
        (officer.get(f"{API}/loans/{loan_id}").get_json(), loan_path, "get", "200"),
        (officer.get(f"{API}/loans").get_json()["items"][0], "/loans", "get", "200"),
        (officer.get(f"{API}/funds/460100").get_json(), "/funds/{region_code}", "get", "200"),
    ]
    for answer, path, method, status in answers:
        assert conforms(answer, documented(client, path, method, status)) == [], path
    detail = answers[3][0]
    assert detail["repayments"]
    assert detail["schedule"]
    assert detail["guarantors"]
