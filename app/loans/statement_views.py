"""Pages: the bank statement import (officers) and the quarterly claim reports (officers,
admins)."""

from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, flash, render_template, request, send_file
from flask_babel import gettext as _
from flask_login import current_user

from app.core.dates import today_in_china
from app.core.db import mark_request_as_writing, utcnow
from app.core.errors import ValidationFailed
from app.core.forms import show_form_errors
from app.core.permissions import Permission, permission_required
from app.core.spreadsheets import XLSX_MEDIA_TYPE
from app.extensions import db
from app.loans import claims, statements
from app.loans.statement_forms import QuarterForm, StatementUploadForm

loan_statements_bp = Blueprint("loan_statements", __name__, url_prefix="/loans/statements")


@loan_statements_bp.route("/", methods=["GET", "POST"])
@permission_required(Permission.LOANS_MANAGE)
def import_statement() -> Any:
    """Upload a bank statement; its repayments are posted and each row is reported."""
    form = StatementUploadForm()
    report = None
    if form.validate_on_submit():
        try:
            report = statements.import_statement(
                current_user,
                form.file.data,
                form.file.data.filename or "",
                as_of=today_in_china(),
            )
        except ValidationFailed as error:
            db.session.rollback()
            show_form_errors(form, error, field_name="file")
        else:
            db.session.commit()
            flash(
                _(
                    "%(posted)s repayments posted, %(already)s already posted, %(errors)s "
                    "rows refused.",
                    posted=report.posted,
                    already=report.already_posted,
                    errors=report.errors,
                ),
                "success" if report.errors == 0 else "warning",
            )
    return render_template(
        "loans/statements/import.html",
        form=form,
        report=report,
        column_labels=statements.COLUMN_LABELS,
        max_rows=statements.MAX_STATEMENT_ROWS,
    )


def _quarter_form(*, default: bool) -> tuple[QuarterForm, claims.Quarter | None]:
    """The quarter asked for in the query string, checked; with `default`, an empty query
    string asks for the last full quarter."""
    if default and "year" not in request.args and "quarter" not in request.args:
        last = claims.Quarter.containing(today_in_china()).previous()
        return QuarterForm(formdata=None, year=last.year, quarter=str(last.quarter)), last
    form = QuarterForm(request.args)
    if not form.validate():
        return form, None
    try:
        period = claims.claim_quarter(
            form.year.data, int(form.quarter.data), as_of=today_in_china()
        )
    except ValidationFailed as error:
        show_form_errors(form, error)
        return form, None
    return form, period


def _reports_page(form: QuarterForm, period: claims.Quarter | None, status: int = 200) -> Any:
    summary = None
    if period is not None:
        subsidy = claims.subsidy_claim_rows(current_user, period.year, period.quarter)
        compensation = claims.compensation_claim_rows(current_user, period.year, period.quarter)
        summary = {
            "subsidy_loans": len(subsidy),
            "subsidy_total": sum((row.subsidy for row in subsidy), claims.ZERO),
            "compensations": len(compensation),
            "compensation_total": sum(
                (row.compensated_amount for row in compensation), claims.ZERO
            ),
        }
    return render_template(
        "loans/statements/reports.html",
        form=form,
        period=period,
        summary=summary,
        area=claims.scope_name(current_user),
    ), status


@loan_statements_bp.get("/reports")
@permission_required(Permission.LOANS_READ)
def reports() -> Any:
    """Pick a quarter: what its two claims hold, and their downloads."""
    form, period = _quarter_form(default=True)
    return _reports_page(form, period, 200 if period is not None else 400)


def _send_claim(kind: str) -> Any:
    """One claim of the quarter as .xlsx; the download is audited, so this GET writes."""
    mark_request_as_writing()
    form, period = _quarter_form(default=False)
    if period is None:
        return _reports_page(form, None, 400)
    if kind == claims.SUBSIDY_CLAIM:
        rows: list[Any] = claims.subsidy_claim_rows(current_user, period.year, period.quarter)
        write = claims.subsidy_claim_workbook
    else:
        rows = claims.compensation_claim_rows(current_user, period.year, period.quarter)
        write = claims.compensation_claim_workbook
    data = write(current_user, period, rows, generated_at=utcnow())
    claims.record_claim_export(current_user, kind, period, row_count=len(rows))
    db.session.commit()
    response = send_file(
        io.BytesIO(data),
        mimetype=XLSX_MEDIA_TYPE,
        as_attachment=True,
        download_name=claims.claim_filename(kind, period),
    )
    response.headers["X-Row-Count"] = str(len(rows))
    return response


@loan_statements_bp.get("/reports/subsidy.xlsx")
@permission_required(Permission.LOANS_READ)
def subsidy_claim() -> Any:
    """The quarter's interest-subsidy claim (?year=&quarter=)."""
    return _send_claim(claims.SUBSIDY_CLAIM)


@loan_statements_bp.get("/reports/compensation.xlsx")
@permission_required(Permission.LOANS_READ)
def compensation_claim() -> Any:
    """The quarter's compensation claim list (?year=&quarter=)."""
    return _send_claim(claims.COMPENSATION_CLAIM)
