"""JSON API: loans, repayments and guarantee funds (SPEC §9, §14).

Officers (`loans.manage`) apply for founders of their area, review, approve (a second
officer), disburse, post and reverse repayments, and claim compensation, recoveries and
write-offs. Officers and admins read loans of their area (`loans.read`); a founder reads
their own (`own_records.read`). Anything out of scope is a 404, checked before the body.
Fund figures are read by admins and by officers for a region of their area or their own
province (the fund their loans fall back to); only admins move money in or out of a fund.
Rules live in `loans.operations` and `loans.fund`; each handler commits once.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from flask_babel import gettext as _
from flask_login import current_user

from app.core.api import (
    api_endpoint,
    form_errors,
    json_body,
    json_response,
    read_json_form,
    read_query_form,
    validate_or_raise,
)
from app.core.dates import today_in_china
from app.core.errors import NotFound, ValidationFailed
from app.core.pagination import page_envelope, paginate, read_page_request
from app.core.permissions import Permission, permission_required
from app.extensions import db
from app.loans import fund, operations
from app.loans.answers import (
    FUND_ENTRY_SCHEMA,
    FUND_SCHEMA,
    LOAN_DETAIL_SCHEMA,
    LOAN_FUND_ENTRY_SCHEMA,
    LOAN_SCHEMA,
    REPAYMENT_SCHEMA,
    fund_entry_json,
    fund_json,
    loan_detail_json,
    loan_json,
    repayment_json,
)
from app.loans.forms import (
    CompensationForm,
    DecisionForm,
    DisbursementForm,
    FundEntryForm,
    LoanApplicationForm,
    LoanFilterForm,
    RecoveryForm,
    RepaymentForm,
    ReversalForm,
    WriteOffForm,
)
from app.loans.models import EntrySource
from app.loans.policies import may_read_policy
from app.loans.queries import (
    LoanFilters,
    get_loan_in_scope,
    get_repayment_in_scope,
    list_loans_stmt,
)
from app.regions.queries import get_region

loans_api_bp = Blueprint("api_loans", __name__, url_prefix="/api/v1")

APPLICATION_FIELDS = (
    "founder_id",
    "business_id",
    "amount",
    "term_months",
    "repayment_method",
    "purpose",
)


def _values(form: Any, names: tuple[str, ...] | list[str]) -> dict[str, Any]:
    return {name: form[name].data for name in names}


def _fund_region_in_scope(region_code: str) -> str:
    """The region asked for, when the caller may see its fund (the same reach as its loan
    policy: admins everywhere, officers their area and their own province); else 404."""
    region = get_region(region_code)
    if region is None or not may_read_policy(current_user, region):
        raise NotFound(_("No such region in your area."))
    return region.code


# Loans -----------------------------------------------------------------------------------
@loans_api_bp.post("/loans")
@permission_required(Permission.LOANS_MANAGE)
@api_endpoint(
    "Apply for a loan for a founder of the officer's area (status submitted). The body "
    "also takes `guarantors`: a list of {name, id_number, relationship, employer?, phone?}. "
    "409: another live loan, the region suspended or the fund's leverage reached",
    form=LoanApplicationForm,
    response=LOAN_DETAIL_SCHEMA,
    status=201,
    errors=(409,),
)
def create_loan() -> Any:
    """An officer records an application; every field problem comes back at once."""
    body = json_body()
    form = read_json_form(LoanApplicationForm)
    errors = {} if form.validate() else form_errors(form)
    guarantors = body.get("guarantors")
    if guarantors is not None and not isinstance(guarantors, list):
        errors["guarantors"] = [_("Expected a list of guarantors.")]
    if errors:
        raise ValidationFailed(errors)
    values = _values(form, APPLICATION_FIELDS) | {"guarantors": guarantors}
    loan = operations.apply_for_loan(current_user, values, as_of=today_in_china())
    db.session.commit()
    return json_response(loan_detail_json(loan), 201)


@loans_api_bp.get("/loans")
@permission_required(Permission.LOANS_READ, Permission.OWN_RECORDS_READ, any_of=True)
@api_endpoint(
    "Loans in the caller's area (a founder: their own), filtered, newest first",
    query=LoanFilterForm,
    response=LOAN_SCHEMA,
    paginated=True,
)
def list_loans() -> Any:
    """The scoped loan list with each loan's status and arrears as of the last sweep."""
    filters = LoanFilters.from_form(read_query_form(LoanFilterForm))
    pagination = paginate(list_loans_stmt(current_user, filters), read_page_request(request.args))
    return json_response(page_envelope(pagination, loan_json))


@loans_api_bp.get("/loans/<id:loan_id>")
@permission_required(Permission.LOANS_READ, Permission.OWN_RECORDS_READ, any_of=True)
@api_endpoint(
    "One loan with its guarantors, schedule and repayments",
    response=LOAN_DETAIL_SCHEMA,
    errors=(404,),
)
def get_loan(loan_id: int) -> Any:
    """A loan the caller may see."""
    return json_response(loan_detail_json(get_loan_in_scope(current_user, loan_id)))


@loans_api_bp.post("/loans/<id:loan_id>/review")
@permission_required(Permission.LOANS_MANAGE)
@api_endpoint(
    "The first officer's review: approve (status reviewed) or reject with a note "
    "(409 when the loan is not submitted)",
    form=DecisionForm,
    response=LOAN_DETAIL_SCHEMA,
    errors=(404, 409),
)
def review_loan(loan_id: int) -> Any:
    """An officer of the area reviews an application."""
    get_loan_in_scope(current_user, loan_id)
    form = read_json_form(DecisionForm)
    validate_or_raise(form)
    loan = operations.review_loan(
        current_user, loan_id, _values(form, ("decision", "note")), as_of=today_in_china()
    )
    db.session.commit()
    return json_response(loan_detail_json(loan))


@loans_api_bp.post("/loans/<id:loan_id>/approve")
@permission_required(Permission.LOANS_MANAGE)
@api_endpoint(
    "The second officer's decision: approve (status approved) or reject with a note; "
    "403 for the officer who reviewed it (four eyes), 409 when the loan is not reviewed",
    form=DecisionForm,
    response=LOAN_DETAIL_SCHEMA,
    errors=(404, 409),
)
def approve_loan(loan_id: int) -> Any:
    """A different officer of the area decides on a reviewed application."""
    get_loan_in_scope(current_user, loan_id)
    form = read_json_form(DecisionForm)
    validate_or_raise(form)
    loan = operations.approve_loan(
        current_user, loan_id, _values(form, ("decision", "note")), as_of=today_in_china()
    )
    db.session.commit()
    return json_response(loan_detail_json(loan))


@loans_api_bp.post("/loans/<id:loan_id>/disburse")
@permission_required(Permission.LOANS_MANAGE)
@api_endpoint(
    "The bank paid the loan out (status active, the schedule is made); 409 when it is not "
    "approved, the bank reference is taken, the region suspended or the fund's leverage "
    "reached",
    form=DisbursementForm,
    response=LOAN_DETAIL_SCHEMA,
    errors=(404, 409),
)
def disburse_loan(loan_id: int) -> Any:
    """An officer of the area records the disbursement."""
    get_loan_in_scope(current_user, loan_id)
    form = read_json_form(DisbursementForm)
    validate_or_raise(form)
    loan = operations.disburse_loan(
        current_user,
        loan_id,
        _values(form, ("disbursed_on", "bank_reference")),
        as_of=today_in_china(),
    )
    db.session.commit()
    return json_response(loan_detail_json(loan))


@loans_api_bp.post("/loans/<id:loan_id>/repayments")
@permission_required(Permission.LOANS_MANAGE)
@api_endpoint(
    "Post a payment the bank received (201). Idempotent by reference: the same reference "
    "and amount again answers the first posting with 200; another amount is 409, and so "
    "is a loan that is not active or defaulted. More than the borrower owes is 422",
    form=RepaymentForm,
    response=REPAYMENT_SCHEMA,
    status=201,
    errors=(404, 409),
    extra={
        "responses": {
            "200": {
                "description": "This reference was already posted with this amount",
                "content": {"application/json": {"schema": REPAYMENT_SCHEMA}},
            }
        }
    },
)
def post_repayment(loan_id: int) -> Any:
    """An officer of the area posts a repayment; a repeat answers the first posting."""
    get_loan_in_scope(current_user, loan_id)
    form = read_json_form(RepaymentForm)
    validate_or_raise(form)
    posting = operations.post_repayment(
        current_user,
        loan_id,
        _values(form, ("paid_on", "amount", "reference")),
        as_of=today_in_china(),
        source=EntrySource.API,
    )
    db.session.commit()
    return json_response(repayment_json(posting.repayment), 201 if posting.created else 200)


@loans_api_bp.post("/repayments/<id:repayment_id>/reverse")
@permission_required(Permission.LOANS_MANAGE)
@api_endpoint(
    "Reverse a payment with a reason: a new entry; the loan is replayed without the "
    "payment (409 when already reversed, a reversal, or the loan is past servicing)",
    form=ReversalForm,
    response=REPAYMENT_SCHEMA,
    status=201,
    errors=(404, 409),
)
def reverse_repayment(repayment_id: int) -> Any:
    """An officer of the area undoes a payment."""
    get_repayment_in_scope(current_user, repayment_id)
    form = read_json_form(ReversalForm)
    validate_or_raise(form)
    reversal = operations.reverse_repayment(
        current_user, repayment_id, _values(form, ("reason",)), as_of=today_in_china()
    )
    db.session.commit()
    return json_response(repayment_json(reversal), 201)


# Compensation, recovery, write-off -------------------------------------------------------
@loans_api_bp.post("/loans/<id:loan_id>/compensate")
@permission_required(Permission.LOANS_MANAGE)
@api_endpoint(
    "The guarantee fund pays the bank for a defaulted loan (status compensated): at most "
    "guarantee_ratio * (outstanding principal + borrower interest due), the most when "
    "amount is left out; 409 when the loan is not defaulted or the fund holds too little",
    form=CompensationForm,
    response=LOAN_FUND_ENTRY_SCHEMA,
    status=201,
    errors=(404, 409),
)
def compensate_loan(loan_id: int) -> Any:
    """An officer of the area claims compensation from the fund."""
    loan = operations.lock_loan_in_scope(current_user, loan_id)
    form = read_json_form(CompensationForm)
    validate_or_raise(form)
    values = _values(form, ("date", "amount", "reference", "reason"))
    entry = fund.compensate_loan(current_user, loan, values, as_of=today_in_china())
    db.session.commit()
    return json_response(fund_entry_json(entry) | {"loan_status": loan.status}, 201)


@loans_api_bp.post("/loans/<id:loan_id>/recoveries")
@permission_required(Permission.LOANS_MANAGE)
@api_endpoint(
    "Money recovered from the borrower or a guarantor goes back into the fund; never more "
    "than is still to recover (422), the last one makes the loan recovered; 409 when the "
    "loan is not compensated or the reference was used for it",
    form=RecoveryForm,
    response=LOAN_FUND_ENTRY_SCHEMA,
    status=201,
    errors=(404, 409),
)
def record_recovery(loan_id: int) -> Any:
    """An officer of the area records a recovery."""
    loan = operations.lock_loan_in_scope(current_user, loan_id)
    form = read_json_form(RecoveryForm)
    validate_or_raise(form)
    values = _values(form, ("date", "amount", "reference", "source", "guarantor_id", "reason"))
    entry = fund.record_recovery(current_user, loan, values, as_of=today_in_china())
    db.session.commit()
    return json_response(fund_entry_json(entry) | {"loan_status": loan.status}, 201)


@loans_api_bp.post("/loans/<id:loan_id>/write-off")
@permission_required(Permission.LOANS_MANAGE)
@api_endpoint(
    "Write off what cannot be recovered of a compensated loan, with a reason (status "
    "written_off; 409 when the loan is not compensated)",
    form=WriteOffForm,
    response=LOAN_DETAIL_SCHEMA,
    errors=(404, 409),
)
def write_off_loan(loan_id: int) -> Any:
    """An officer of the area closes a compensated loan."""
    loan = operations.lock_loan_in_scope(current_user, loan_id)
    form = read_json_form(WriteOffForm)
    validate_or_raise(form)
    fund.write_off_loan(
        current_user, loan, _values(form, ("date", "reason")), as_of=today_in_china()
    )
    db.session.commit()
    return json_response(loan_detail_json(loan))


# Funds -----------------------------------------------------------------------------------
@loans_api_bp.get("/funds/<region_code>")
@permission_required(Permission.LOANS_READ)
@api_endpoint(
    "The guarantee fund that backs loans of a region (a city without its own fund: its "
    "province's): balance, leverage and losses (officers: regions of their area and their "
    "own province)",
    response=FUND_SCHEMA,
    errors=(404,),
)
def get_fund(region_code: str) -> Any:
    """Admins and officers read a fund's figures."""
    region_code = _fund_region_in_scope(region_code)
    return json_response(fund_json(fund.get_fund_summary(region_code), region_code))


@loans_api_bp.post("/funds/<region_code>/entries")
@permission_required(Permission.POLICIES_MANAGE)
@api_endpoint(
    "Deposit into (+) or withdraw from (-) a region's guarantee fund; a region's first "
    "entry gives it a fund of its own (409 when a withdrawal would overdraw it)",
    form=FundEntryForm,
    response=FUND_ENTRY_SCHEMA,
    status=201,
    errors=(404, 409),
)
def post_fund_entry(region_code: str) -> Any:
    """An administrator moves money in or out of a fund (audited)."""
    region_code = _fund_region_in_scope(region_code)
    form = read_json_form(FundEntryForm)
    validate_or_raise(form)
    values = _values(form, ("date", "amount", "reference", "note"))
    entry = fund.post_fund_entry(current_user, region_code, values, as_of=today_in_china())
    db.session.commit()
    return json_response(fund_entry_json(entry), 201)
