"""Pages: loan applications and their queue, one loan from review to its end, arrears,
guarantee funds, and the founder's own loans on a phone.

Officers (`loans.manage`) apply, decide, disburse and service loans of their area;
administrators read every loan (`loans.read`) and move money in and out of the funds; a
founder reads their own loans at /loans/me (another founder's loan is a 404). Each action
calls one operation of `loans.operations` or `loans.fund`, commits once and redirects; a
refused form comes back with the messages next to its fields (422), a refused move (a
wrong state, four eyes, the fund's limits) is flashed above the loan.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import or_, select
from wtforms import Form

from app.businesses.queries import list_businesses_of_founder
from app.core.dates import today_in_china
from app.core.db import MAX_ID
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.core.forms import show_form_errors, with_blank
from app.core.pagination import paginate, paginate_rows, read_page_request_or_first
from app.core.permissions import Permission, has_permission, permission_required
from app.extensions import db
from app.founders.models import Founder, mask_id_number
from app.founders.queries import get_founder_in_scope
from app.integrity.queries import get_integrity_standing, user_names
from app.loans import fund, operations
from app.loans.forms import (
    BUCKET_LABELS,
    METHOD_LABELS,
    RECOVERY_SOURCE_LABELS,
    CompensationForm,
    DecisionForm,
    DisbursementForm,
    FundEntryForm,
    LoanApplicationPageForm,
    LoanFilterForm,
    RecoveryForm,
    RepaymentForm,
    ReversalForm,
    WriteOffForm,
    bucket_choices,
)
from app.loans.lifecycle import STATUS_LABELS, LoanAction, can
from app.loans.models import (
    SERVICED_STATUSES,
    Bucket,
    EntryKind,
    FundEntry,
    FundEntryKind,
    InstallmentStatus,
    Loan,
    LoanStatus,
)
from app.loans.policies import get_effective_policy, may_read_policy, rate_text
from app.loans.queries import (
    QUEUE_STATUSES,
    LoanFilters,
    application_queue_stmt,
    arrears_row,
    count_queue,
    get_loan_in_scope,
    get_repayment_in_scope,
    guarantors_of,
    list_arrears_stmt,
    list_loans_of_founder,
    list_loans_stmt,
    list_repayments,
    next_installment,
    portfolio,
    reversed_payment_ids,
    scoped_loans,
)
from app.regions.models import Region, RegionLevel
from app.regions.queries import get_region, list_regions_stmt, region_choices_in_scope
from app.training.queries import list_enrollments_of_founder

loans_bp = Blueprint("loans", __name__, url_prefix="/loans")

INSTALLMENT_STATUS_LABELS = {
    InstallmentStatus.PENDING: _l("Not yet due"),
    InstallmentStatus.PARTIAL: _l("Partly paid"),
    InstallmentStatus.PAID: _l("Paid"),
    InstallmentStatus.OVERDUE: _l("Overdue"),
}
FUND_ENTRY_LABELS = {
    FundEntryKind.DEPOSIT: _l("Deposit"),
    FundEntryKind.WITHDRAWAL: _l("Withdrawal"),
    FundEntryKind.COMPENSATION: _l("Compensation"),
    FundEntryKind.RECOVERY: _l("Recovery"),
}
ENTRY_KIND_LABELS = {EntryKind.PAYMENT: _l("Payment"), EntryKind.REVERSAL: _l("Reversal")}
# The review screens: the founder's training, businesses and integrity beside the loan.
REVIEW_STATUSES = frozenset(QUEUE_STATUSES)
SERVICED = frozenset(SERVICED_STATUSES)
REVERSIBLE = frozenset({LoanStatus.ACTIVE, LoanStatus.DEFAULTED, LoanStatus.CLOSED})
# Each action form has its own prefix: several share a page (repayment and compensation
# of a defaulted loan, recovery and write-off of a compensated one).
ACTION_FORMS: dict[str, type[Form]] = {
    "review": DecisionForm,
    "approve": DecisionForm,
    "disburse": DisbursementForm,
    "repayment": RepaymentForm,
    "compensate": CompensationForm,
    "recovery": RecoveryForm,
    "write_off": WriteOffForm,
}
DATE_FIELDS = {
    "disburse": "disbursed_on",
    "repayment": "paid_on",
    "compensate": "date",
    "recovery": "date",
    "write_off": "date",
}
GUARANTOR_FIELDS = ("name", "id_number", "relationship", "employer", "phone")
APPLICATION_FIELDS = (
    "founder_id",
    "business_id",
    "amount",
    "term_months",
    "repayment_method",
    "purpose",
)
GUARANTOR_ERROR = re.compile(r"guarantors\[(\d+)\](?:\.(\w+))?")
LEDGER_PER_PAGE = 25


@loans_bp.app_context_processor
def loan_labels() -> dict[str, Any]:
    """Labels of loan statuses, arrears buckets and repayment methods, for every template."""
    return {
        "loan_status_label": lambda code: STATUS_LABELS.get(code, code or ""),
        "loan_bucket_label": lambda code: BUCKET_LABELS.get(code, code or ""),
        "repayment_method_label": lambda code: METHOD_LABELS.get(code, code or ""),
    }


@loans_bp.context_processor
def loan_formatting() -> dict[str, Any]:
    """How the loan pages show money, rates and guarantors' ID numbers."""
    return {
        "money": _money,
        "percent": _percent,
        "mask_id_number": mask_id_number,
        "installment_status_label": lambda code: INSTALLMENT_STATUS_LABELS.get(code, code),
        "fund_entry_label": lambda code: FUND_ENTRY_LABELS.get(code, code),
        "entry_kind_label": lambda code: ENTRY_KIND_LABELS.get(code, code),
        "recovery_source_label": lambda code: RECOVERY_SOURCE_LABELS.get(code, code or ""),
    }


def _money(amount: Decimal | None) -> str:
    """An amount to the fen, like ¥8,489.88 or −¥1,000.00."""
    if amount is None:
        return "—"
    sign = "−" if amount < 0 else ""
    return f"{sign}¥{abs(amount):,.2f}"


def _percent(rate: Decimal | None) -> str:
    """0.0345 as "3.45%"; "—" when there is nothing to divide by."""
    return "—" if rate is None else f"{rate_text(rate * 100)}%"


def _today() -> date:
    return today_in_china()


def _is_officer() -> bool:
    return has_permission(current_user, Permission.LOANS_MANAGE)


# The list and the queue --------------------------------------------------------------------
@loans_bp.get("/")
@permission_required(Permission.LOANS_READ)
def index() -> Any:
    """Loans of the user's area, newest first; filters; the queue's counts at the top."""
    form = LoanFilterForm(request.args)
    form.region_code.choices = with_blank(region_choices_in_scope(current_user))
    form.validate()
    pagination = paginate(
        list_loans_stmt(current_user, LoanFilters.from_form(form)),
        read_page_request_or_first(request.args),
    )
    return render_template(
        "loans/index.html",
        filters=form,
        pagination=pagination,
        queue_counts=count_queue(current_user),
    )


@loans_bp.get("/queue")
@permission_required(Permission.LOANS_READ)
def queue() -> Any:
    """Applications waiting for an officer, one step per tab, oldest first."""
    status = request.args.get("status")
    if status not in {step.value for step in QUEUE_STATUSES}:
        status = LoanStatus.SUBMITTED.value
    pagination = paginate(
        application_queue_stmt(current_user).where(Loan.status == status),
        read_page_request_or_first(request.args),
    )
    names = user_names(loan.reviewed_by_id for loan in pagination.items)
    return render_template(
        "loans/queue.html",
        status=status,
        pagination=pagination,
        counts=count_queue(current_user),
        names=names,
    )


# Applying -------------------------------------------------------------------------------
def _founder_or_none(founder_id: Any) -> Founder | None:
    """A founder of the user's area by a number typed in a form or a link, else None."""
    if not isinstance(founder_id, int) or not 1 <= founder_id <= MAX_ID:
        return None
    try:
        return get_founder_in_scope(current_user, founder_id)
    except NotFound:
        return None


def _is_blank_row(row: Form) -> bool:
    """A guarantor row with nothing typed in any box is not a guarantor."""
    return not any(row[name].data for name in GUARANTOR_FIELDS)


def _show_application_errors(
    form: LoanApplicationPageForm, error: ValidationFailed, rows: list[int]
) -> None:
    """Field errors next to their fields; a guarantor's next to the box of its row (the
    operation numbers the filled rows only)."""
    others: dict[str, list[str]] = {}
    for key, messages in error.errors.items():
        match = GUARANTOR_ERROR.fullmatch(key)
        if match and int(match[1]) < len(rows):
            row = form.guarantors[rows[int(match[1])]].form
            if match[2] in row._fields:
                row[match[2]].errors = [*row[match[2]].errors, *messages]
                continue
        if key.startswith("guarantors"):
            for message in messages:
                flash(message, "danger")
            continue
        others[key] = messages
    if others:
        show_form_errors(form, ValidationFailed(others))


def _applicant(founder: Founder | None) -> dict[str, Any]:
    """What the officer needs beside the form: the region's limits and the founder's standing."""
    if founder is None:
        return {"founder": None}
    return {
        "founder": founder,
        "policy": get_effective_policy(founder.region_code),
        "standing": get_integrity_standing(founder.id),
        "trained": operations.has_passed_training(founder.id),
        "live_loan": operations.live_loan_of(founder.id),
        "fund_summary": fund.get_fund_summary(founder.region_code),
        "businesses": list_businesses_of_founder(current_user, founder.id),
    }


@loans_bp.route("/new", methods=["GET", "POST"])
@permission_required(Permission.LOANS_MANAGE)
def new() -> Any:
    """An officer records a founder's application (from the founder's page: founder filled in)."""
    form = LoanApplicationPageForm()
    status = 200
    if not form.is_submitted():
        founder_id = request.args.get("founder_id", type=int)
        founder = None
        if founder_id is not None:
            # An id beyond any row is as absent as any other (and must not reach the database).
            founder = get_founder_in_scope(
                current_user, founder_id if 1 <= founder_id <= MAX_ID else 0
            )
            form.founder_id.data = founder.id
        return render_template("loans/new.html", form=form, **_applicant(founder))
    if form.validate():
        rows = [index for index, entry in enumerate(form.guarantors) if not _is_blank_row(entry)]
        values = {name: form[name].data for name in APPLICATION_FIELDS}
        values["guarantors"] = [
            {name: form.guarantors[index][name].data for name in GUARANTOR_FIELDS} for index in rows
        ]
        try:
            loan = operations.apply_for_loan(current_user, values, as_of=_today())
        except ValidationFailed as error:
            db.session.rollback()
            _show_application_errors(form, error, rows)
            status = 422
        except Conflict as error:
            db.session.rollback()
            flash(error.message, "danger")
            status = 409
        else:
            db.session.commit()
            flash(_("Application %(id)s recorded; it waits for review.", id=loan.id), "success")
            return redirect(url_for("loans.detail", loan_id=loan.id))
    else:
        status = 422
    applicant = _applicant(_founder_or_none(form.founder_id.data))
    return render_template("loans/new.html", form=form, **applicant), status


# One loan -------------------------------------------------------------------------------
def _blank_forms() -> dict[str, Form]:
    """The action forms as the page first shows them, dated today."""
    today = _today()
    return {
        name: form_class(
            formdata=None,
            prefix=name,
            data={DATE_FIELDS[name]: today} if name in DATE_FIELDS else {},
        )
        for name, form_class in ACTION_FORMS.items()
    }


def _review_panel(loan: Loan) -> dict[str, Any]:
    """The founder beside the application: training results, businesses, integrity, loans."""
    founder_id = loan.founder_id
    return {
        "enrollments": list_enrollments_of_founder(founder_id),
        "businesses": list_businesses_of_founder(current_user, founder_id),
        "standing": get_integrity_standing(founder_id),
        "other_loans": [
            other for other in list_loans_of_founder(founder_id) if other.id != loan.id
        ],
    }


def _render_detail(
    loan_id: int,
    *,
    forms: dict[str, Form] | None = None,
    reversal_form: Form | None = None,
    reversing_id: int | None = None,
    status: int = 200,
) -> Any:
    loan = get_loan_in_scope(current_user, loan_id)
    repayments = list_repayments(loan.id)
    action_forms = _blank_forms() | (forms or {})
    names = user_names(
        [loan.applied_by_id, loan.reviewed_by_id, loan.approved_by_id]
        + [entry.recorded_by_id for entry in repayments]
    )
    show_panel = loan.status in REVIEW_STATUSES
    return render_template(
        "loans/detail.html",
        loan=loan,
        repayments=repayments,
        reversed_ids=reversed_payment_ids(loan.id),
        names=names,
        forms=action_forms,
        reversal_form=reversal_form,
        reversing_id=reversing_id,
        blank_reversal_form=ReversalForm(formdata=None),
        may_act=_is_officer(),
        is_reviewer=loan.reviewed_by_id == current_user.id,
        allowed={action.value: can(loan, action) for action in LoanAction},
        takes_payments=loan.status in SERVICED,
        reversible=loan.status in REVERSIBLE,
        compensation_limit=(
            fund.compensation_limit(loan) if can(loan, LoanAction.COMPENSATE) else None
        ),
        show_panel=show_panel,
        fund_region=get_region(loan.fund_region_code) if loan.fund_region_code else None,
        **(_review_panel(loan) if show_panel else {}),
    ), status


@loans_bp.get("/<id:loan_id>")
@permission_required(Permission.LOANS_READ)
def detail(loan_id: int) -> Any:
    """One loan: terms, guarantors, schedule, repayments and the actions its state allows."""
    return _render_detail(loan_id)


def _act(loan_id: int, name: str, perform: Callable[[Any], str]) -> Any:
    """Validate the action's form, perform it, commit and go back to the loan; a refused
    form is shown again with its errors, a refused move is flashed."""
    get_loan_in_scope(current_user, loan_id)  # 404 before anything else
    form = ACTION_FORMS[name](prefix=name)
    if form.validate_on_submit():
        try:
            message = perform(form)
        except ValidationFailed as error:
            db.session.rollback()
            show_form_errors(form, error)
        except (Conflict, PermissionDenied) as error:
            db.session.rollback()
            flash(error.message, "danger")
            return redirect(url_for("loans.detail", loan_id=loan_id))
        else:
            db.session.commit()
            flash(message, "success")
            return redirect(url_for("loans.detail", loan_id=loan_id))
    return _render_detail(loan_id, forms={name: form}, status=422)


def _decision_values(form: Any) -> dict[str, Any]:
    return {"decision": form.decision.data, "note": form.note.data}


@loans_bp.post("/<id:loan_id>/review")
@permission_required(Permission.LOANS_MANAGE)
def review(loan_id: int) -> Any:
    """The first officer passes the application on for approval, or rejects it."""

    def perform(form: Any) -> str:
        loan = operations.review_loan(current_user, loan_id, _decision_values(form), as_of=_today())
        if loan.status == LoanStatus.REJECTED:
            return _("Application rejected.")
        return _("Review recorded. A second officer must now approve or reject the loan.")

    return _act(loan_id, "review", perform)


@loans_bp.post("/<id:loan_id>/approve")
@permission_required(Permission.LOANS_MANAGE)
def approve(loan_id: int) -> Any:
    """A second officer (never the reviewer) approves the loan or rejects it."""

    def perform(form: Any) -> str:
        loan = operations.approve_loan(
            current_user, loan_id, _decision_values(form), as_of=_today()
        )
        if loan.status == LoanStatus.REJECTED:
            return _("Application rejected.")
        return _("Loan approved. Record the disbursement when the bank pays it out.")

    return _act(loan_id, "approve", perform)


@loans_bp.post("/<id:loan_id>/disburse")
@permission_required(Permission.LOANS_MANAGE)
def disburse(loan_id: int) -> Any:
    """The bank paid the loan out: the schedule is made."""

    def perform(form: Any) -> str:
        values = {
            "disbursed_on": form.disbursed_on.data,
            "bank_reference": form.bank_reference.data,
        }
        operations.disburse_loan(current_user, loan_id, values, as_of=_today())
        return _("Disbursement recorded; the repayment schedule is below.")

    return _act(loan_id, "disburse", perform)


@loans_bp.post("/<id:loan_id>/repayments")
@permission_required(Permission.LOANS_MANAGE)
def add_repayment(loan_id: int) -> Any:
    """Post a payment the bank received; the same reference twice posts it once."""

    def perform(form: Any) -> str:
        values = {
            "paid_on": form.paid_on.data,
            "amount": form.amount.data,
            "reference": form.reference.data,
        }
        posting = operations.post_repayment(current_user, loan_id, values, as_of=_today())
        if not posting.created:
            return _(
                "Reference %(ref)s was already posted on %(day)s; nothing changed.",
                ref=posting.repayment.reference,
                day=posting.repayment.paid_on.isoformat(),
            )
        return _("Payment of %(amount)s posted.", amount=_money(posting.repayment.amount))

    return _act(loan_id, "repayment", perform)


@loans_bp.post("/repayments/<id:repayment_id>/reverse")
@permission_required(Permission.LOANS_MANAGE)
def reverse_repayment(repayment_id: int) -> Any:
    """Undo a payment with a reason; the loan is replayed without it."""
    loan_id = get_repayment_in_scope(current_user, repayment_id).loan_id
    form = ReversalForm()
    if form.validate_on_submit():
        try:
            operations.reverse_repayment(
                current_user, repayment_id, {"reason": form.reason.data}, as_of=_today()
            )
        except ValidationFailed as error:
            db.session.rollback()
            show_form_errors(form, error)
        except (Conflict, PermissionDenied) as error:
            db.session.rollback()
            flash(error.message, "danger")
            return redirect(url_for("loans.detail", loan_id=loan_id))
        else:
            db.session.commit()
            flash(_("Payment reversed."), "success")
            return redirect(url_for("loans.detail", loan_id=loan_id))
    return _render_detail(loan_id, reversal_form=form, reversing_id=repayment_id, status=422)


def _fund_values(form: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: form[name].data for name in names}


@loans_bp.post("/<id:loan_id>/compensate")
@permission_required(Permission.LOANS_MANAGE)
def compensate(loan_id: int) -> Any:
    """The guarantee fund pays the bank its share of a defaulted loan."""

    def perform(form: Any) -> str:
        loan = operations.lock_loan_in_scope(current_user, loan_id)
        values = _fund_values(form, ("date", "amount", "reference", "reason"))
        entry = fund.compensate_loan(current_user, loan, values, as_of=_today())
        return _("Compensation of %(amount)s recorded.", amount=_money(-entry.amount))

    return _act(loan_id, "compensate", perform)


@loans_bp.post("/<id:loan_id>/recoveries")
@permission_required(Permission.LOANS_MANAGE)
def add_recovery(loan_id: int) -> Any:
    """Money recovered from the borrower or a guarantor goes back into the fund."""

    def perform(form: Any) -> str:
        loan = operations.lock_loan_in_scope(current_user, loan_id)
        values = _fund_values(
            form, ("date", "amount", "reference", "source", "guarantor_id", "reason")
        )
        entry = fund.record_recovery(current_user, loan, values, as_of=_today())
        return _("Recovery of %(amount)s recorded.", amount=_money(entry.amount))

    return _act(loan_id, "recovery", perform)


@loans_bp.post("/<id:loan_id>/write-off")
@permission_required(Permission.LOANS_MANAGE)
def write_off(loan_id: int) -> Any:
    """Close what cannot be recovered of a compensated loan, with a reason."""

    def perform(form: Any) -> str:
        loan = operations.lock_loan_in_scope(current_user, loan_id)
        fund.write_off_loan(
            current_user, loan, _fund_values(form, ("date", "reason")), as_of=_today()
        )
        return _("Loan written off.")

    return _act(loan_id, "write_off", perform)


# Arrears --------------------------------------------------------------------------------
@loans_bp.get("/arrears")
@permission_required(Permission.LOANS_READ)
def arrears() -> Any:
    """Loans by arrears bucket with PAR30 as of the last sweep, and the loans past due with
    the people to call."""
    filters = LoanFilterForm(request.args)
    for name in ("status", "region_code", "founder_id"):
        del filters[name]
    filters.bucket.choices = with_blank(
        [choice for choice in bucket_choices() if choice.value != Bucket.CURRENT]
    )
    bucket = filters.bucket.data if filters.validate() and filters.bucket.data else None
    pagination = paginate_rows(
        list_arrears_stmt(current_user, bucket), read_page_request_or_first(request.args)
    )
    rows = [arrears_row(row) for row in pagination.items]
    return render_template(
        "loans/arrears.html",
        filters=filters,
        bucket=bucket,
        pagination=pagination,
        rows=rows,
        guarantors=guarantors_of([row.loan.id for row in rows]),
        portfolio=portfolio(current_user),
        buckets=list(Bucket),
    )


# Guarantee funds ------------------------------------------------------------------------
def _fund_region_in_scope(region_code: str) -> Region:
    """A region whose fund the user may read: admins every one, officers their area's and
    their province's (the fund their city falls back to); 404 otherwise."""
    region = get_region(region_code)
    if region is None or not may_read_policy(current_user, region):
        raise NotFound(_("No such region in your area."))
    return region


@loans_bp.get("/funds")
@permission_required(Permission.LOANS_READ)
def funds() -> Any:
    """Officers go to the fund backing their region's loans; administrators see every
    province's fund and every city that keeps its own."""
    if not has_permission(current_user, Permission.POLICIES_MANAGE):
        code = fund.fund_region_for(current_user.region_code)
        return redirect(url_for("loans.fund_detail", region_code=code))
    with_fund = select(FundEntry.region_code)
    stmt = list_regions_stmt().where(
        or_(Region.level == RegionLevel.PROVINCE, Region.code.in_(with_fund))
    )
    pagination = paginate(stmt, read_page_request_or_first(request.args))
    summaries = {region.code: fund.get_fund_summary(region.code) for region in pagination.items}
    return render_template("loans/funds.html", pagination=pagination, summaries=summaries)


def _render_fund(
    region: Region, *, entry_form: FundEntryForm | None = None, status: int = 200
) -> Any:
    summary = fund.get_fund_summary(region.code)
    tab = "loans" if request.args.get("tab") == "loans" else "ledger"
    kind = request.args.get("kind")
    if kind not in {member.value for member in FundEntryKind}:
        kind = None
    page_request = read_page_request_or_first(request.args, default_per_page=LEDGER_PER_PAGE)
    if tab == "loans":
        # The loans this fund backs, as far as the user's area goes.
        stmt = list_loans_stmt(current_user).where(Loan.fund_region_code == summary.region_code)
    else:
        # The fund's ledger, newest first.
        stmt = select(FundEntry).where(FundEntry.region_code == summary.region_code)
        if kind:
            stmt = stmt.where(FundEntry.kind == kind)
        stmt = stmt.order_by(FundEntry.entry_on.desc(), FundEntry.id.desc())
    pagination = paginate(stmt, page_request)
    names = (
        user_names(entry.recorded_by_id for entry in pagination.items) if tab == "ledger" else {}
    )
    # A province's fund backs the loans of all its cities: an officer of one city sees every
    # movement (the balance adds up), but nothing written about another city's loan.
    ledger_loan_ids = {entry.loan_id for entry in pagination.items if tab == "ledger"} - {None}
    loans_in_scope = (
        set(
            db.session.scalars(
                scoped_loans(select(Loan.id).where(Loan.id.in_(ledger_loan_ids)), current_user)
            )
        )
        if ledger_loan_ids
        else set()
    )
    may_move_money = has_permission(current_user, Permission.POLICIES_MANAGE)
    return render_template(
        "loans/fund.html",
        region=region,
        fund_region=get_region(summary.region_code),
        summary=summary,
        tab=tab,
        kind=kind,
        pagination=pagination,
        names=names,
        loans_in_scope=loans_in_scope,
        may_move_money=may_move_money,
        entry_form=entry_form or FundEntryForm(formdata=None, data={"date": _today()}),
    ), status


@loans_bp.get("/funds/<region_code>")
@permission_required(Permission.LOANS_READ)
def fund_detail(region_code: str) -> Any:
    """A guarantee fund: balance, guaranteed outstanding, leverage, compensation rate and
    its ledger; the administrator's deposit and withdrawal form."""
    return _render_fund(_fund_region_in_scope(region_code))


@loans_bp.post("/funds/<region_code>/entries")
@permission_required(Permission.POLICIES_MANAGE)
def add_fund_entry(region_code: str) -> Any:
    """The administrator deposits money into a fund (+) or withdraws it (−)."""
    region = _fund_region_in_scope(region_code)
    form = FundEntryForm()
    status = 422
    if form.validate_on_submit():
        values = _fund_values(form, ("date", "amount", "reference", "note"))
        try:
            entry = fund.post_fund_entry(current_user, region.code, values, as_of=_today())
        except ValidationFailed as error:
            db.session.rollback()
            show_form_errors(form, error)
        except (Conflict, PermissionDenied) as error:
            db.session.rollback()
            flash(error.message, "danger")
            status = error.status_code
        else:
            db.session.commit()
            flash(
                _("Deposit of %(amount)s recorded.", amount=_money(entry.amount))
                if entry.amount > 0
                else _("Withdrawal of %(amount)s recorded.", amount=_money(-entry.amount)),
                "success",
            )
            return redirect(url_for("loans.fund_detail", region_code=region.code))
    return _render_fund(region, entry_form=form, status=status)


# The founder's own loans, on a phone -------------------------------------------------------
def _repayment_state(loan: Loan) -> dict[str, Any]:
    """What is overdue, and the next installment coming due after it."""
    overdue = [row for row in loan.installments if row.status == InstallmentStatus.OVERDUE]
    upcoming = None
    if loan.status in SERVICED:
        upcoming = (
            next_installment(loan)
            if not overdue
            else next(
                (
                    row
                    for row in loan.installments
                    if row.paid_off_on is None and row.status != InstallmentStatus.OVERDUE
                ),
                None,
            )
        )
    return {
        "next_due": upcoming,
        "overdue_count": len(overdue),
        "overdue_amount": sum((row.amount_left for row in overdue), Decimal("0.00")),
    }


@loans_bp.get("/me")
@permission_required(Permission.OWN_RECORDS_READ)
def my_loans() -> Any:
    """The founder's loans: what is due next and what is overdue on each."""
    pagination = paginate(list_loans_stmt(current_user), read_page_request_or_first(request.args))
    return render_template(
        "loans/mine.html",
        pagination=pagination,
        states={loan.id: _repayment_state(loan) for loan in pagination.items},
    )


@loans_bp.get("/me/<id:loan_id>")
@permission_required(Permission.OWN_RECORDS_READ)
def my_loan(loan_id: int) -> Any:
    """One of the founder's loans: next payment, arrears, schedule and payment history."""
    loan = get_loan_in_scope(current_user, loan_id)
    return render_template(
        "loans/my_loan.html",
        loan=loan,
        repayments=list_repayments(loan.id),
        reversed_ids=reversed_payment_ids(loan.id),
        **_repayment_state(loan),
    )
