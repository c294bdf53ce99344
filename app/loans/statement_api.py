"""JSON API: repayments imported from a bank statement (SPEC §9, §14)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask_login import current_user

from app.core.api import api_endpoint, json_response, validate_or_raise
from app.core.dates import today_in_china
from app.core.permissions import Permission, permission_required
from app.extensions import db
from app.loans import statements
from app.loans.statement_forms import StatementUploadForm

loan_statements_api_bp = Blueprint("api_loan_statements", __name__, url_prefix="/api/v1")

STATEMENT_RESULT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "total_rows": {"type": "integer"},
        "posted": {"type": "integer"},
        "already_posted": {"type": "integer"},
        "errors": {"type": "integer", "description": "rows refused"},
        "rows": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "row": {"type": "integer", "description": "the row number in the file"},
                    "reference": {"type": "string"},
                    "loan_id": {"type": "integer", "nullable": True},
                    "id_number_masked": {"type": "string"},
                    "outcome": {"type": "string", "enum": ["posted", "already_posted", "error"]},
                    "field": {
                        "type": "string",
                        "nullable": True,
                        "description": "the column an error is about",
                    },
                    "message": {"type": "string"},
                },
                "required": ["row", "reference", "loan_id", "outcome", "message"],
            },
        },
    },
    "required": ["posted", "already_posted", "errors", "rows"],
}


@loan_statements_api_bp.post("/imports/repayments")
@permission_required(Permission.LOANS_MANAGE)
@api_endpoint(
    "Post the repayments of a bank statement (.xlsx or .csv, multipart `file`); per-row report",
    form=StatementUploadForm,
    response=STATEMENT_RESULT_SCHEMA,
    content_type="multipart/form-data",
    errors=(413,),
)
def import_repayments() -> Any:
    """Each row is posted or refused on its own; rows already posted are reported as such."""
    form = StatementUploadForm(meta={"csrf": False})
    validate_or_raise(form)
    report = statements.import_statement(
        current_user, form.file.data, form.file.data.filename or "", as_of=today_in_china()
    )
    db.session.commit()
    return json_response(report.as_json())
