"""Bank statement import: repayments posted from an uploaded .xlsx or .csv (SPEC §9, §15).

Each row names a payment (the bank's transaction reference, the date, the amount) and the
loan, by its id or by the borrower's ID number (then the borrower's active or defaulted
loan). Rules decided here:

- Every row goes through `operations.post_repayment`, the same operation as one posting on
  the loan page, in its own SAVEPOINT: a refused row (unknown loan, over-payment, a date
  before disbursement, a reference already posted with another amount) is undone alone
  and reported; the good rows stay. The caller commits once for the whole file.
- Idempotent: a reference already posted to the loan with the same amount is reported as
  "already posted", so importing the same statement twice posts nothing new. A borrower
  named by ID number whose loan has since closed is matched to the loan that already holds
  the reference, so the repeat is recognised there too.
- Loans outside the officer's area are "no such loan", exactly like a missing one.
- Loans are looked up set-based before posting; postings run in loan order (then by date
  and row), so two imports at once lock loans in the same order and cannot deadlock, and
  a loan's payments are posted oldest first.
- ID numbers never reach a log line or the report in full: the report shows them masked.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.core.audit import record_audit
from app.core.db import MAX_ID
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.forms import id_number_message
from app.core.spreadsheets import Column, Table, file_error, read_table
from app.core.validators import InvalidValue, parse_id_number
from app.extensions import db
from app.founders.bulk_import import parse_sheet_date
from app.founders.models import Founder, mask_id_number
from app.loans import operations
from app.loans.models import SERVICED_STATUSES, EntrySource, Loan, Repayment
from app.loans.queries import scoped_loans
from app.loans.rules import MAX_REFERENCE, clean_amount, clean_text

logger = logging.getLogger(__name__)

# Each row is a full posting (lock, replay, audit): about 10 ms on SQLite and 15–20 ms on
# a local PostgreSQL here, so 2,000 rows stay well inside the 120 s request timeout
# (README). Larger statements are split.
MAX_STATEMENT_ROWS = 2_000
# Far above any real statement of MAX_STATEMENT_ROWS rows (about 150 KB as .xlsx), and
# below the site-wide upload limit, which answers 413 before the file is even read.
MAX_STATEMENT_BYTES = 5 * 1024 * 1024
# Values per IN (...) lookup: well under SQLite's bound-parameter limit.
LOOKUP_CHUNK = 500

OUTCOME_POSTED = "posted"
OUTCOME_ALREADY_POSTED = "already_posted"
OUTCOME_ERROR = "error"

STATEMENT_COLUMNS: tuple[Column, ...] = (
    Column(
        "reference",
        _l("Transaction reference"),
        (
            "交易流水号",
            "流水号",
            "银行流水号",
            "交易流水",
            "交易编号",
            "交易号",
            "凭证号",
            "transaction reference",
            "transaction id",
            "transaction no",
        ),
        required=True,
    ),
    Column(
        "loan_id", _l("Loan id"), ("贷款编号", "贷款id", "贷款号", "loan id", "loan no", "loan")
    ),
    Column(
        "id_number",
        _l("ID number"),
        (
            "身份证号",
            "身份证号码",
            "借款人身份证号",
            "借款人身份证号码",
            "公民身份号码",
            "身份证",
            "证件号码",
            "id number",
            "id no",
        ),
    ),
    Column(
        "paid_on",
        _l("Date paid"),
        (
            "还款日期",
            "交易日期",
            "入账日期",
            "记账日期",
            "到账日期",
            "日期",
            "paid on",
            "payment date",
            "date",
        ),
        required=True,
    ),
    Column(
        "amount",
        _l("Amount"),
        ("金额", "还款金额", "交易金额", "入账金额", "payment amount", "amount paid"),
        required=True,
    ),
)
COLUMN_LABELS = {column.field: column.label for column in STATEMENT_COLUMNS}
# The order a row's problems are reported in.
FIELD_ORDER = {column.field: position for position, column in enumerate(STATEMENT_COLUMNS)}

_SCIENTIFIC = re.compile(r"\d(?:\.\d+)?[eE]\+?\d+")
_LOAN_ID = re.compile(r"\d{1,10}")
# Thousands separators and currency marks people leave in amounts: "¥1,234.50", "1 234.50元".
_AMOUNT_NOISE = re.compile(r"[,，\s]|^[¥￥]|元$|^(?:RMB|CNY)", re.IGNORECASE)


@dataclass(frozen=True)
class StatementRow:
    """One row of the report: what happened to one line of the statement."""

    row: int
    reference: str
    loan_id: int | None
    id_number_masked: str
    outcome: str
    message: str
    field: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The API's shape of the row."""
        return {
            "row": self.row,
            "reference": self.reference,
            "loan_id": self.loan_id,
            "id_number_masked": self.id_number_masked,
            "outcome": self.outcome,
            "field": self.field,
            "message": self.message,
        }


@dataclass
class StatementReport:
    """The report of one import, rows in the order of the file."""

    filename: str
    rows: list[StatementRow] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        """How many rows ended with `outcome`."""
        return sum(1 for row in self.rows if row.outcome == outcome)

    @property
    def posted(self) -> int:
        """Payments posted by this import."""
        return self.count(OUTCOME_POSTED)

    @property
    def already_posted(self) -> int:
        """Rows whose payment was already on the loan (same reference, same amount)."""
        return self.count(OUTCOME_ALREADY_POSTED)

    @property
    def errors(self) -> int:
        """Rows refused, each with its message."""
        return self.count(OUTCOME_ERROR)

    def as_json(self) -> dict[str, Any]:
        """The API answer: counts and every row."""
        return {
            "total_rows": len(self.rows),
            "posted": self.posted,
            "already_posted": self.already_posted,
            "errors": self.errors,
            "rows": [row.as_json() for row in self.rows],
        }


@dataclass
class _Line:
    """A statement row as read, then as resolved to a loan."""

    row: int
    reference: str
    loan_id: int | None = None
    id_number: str | None = None  # normalised, only when valid
    id_number_text: str = ""
    paid_on: date | None = None
    amount: Decimal | None = None
    problems: dict[str, list[str]] = field(default_factory=dict)

    def add(self, field_name: str, message: str) -> None:
        self.problems.setdefault(field_name, []).append(str(message))

    @property
    def masked(self) -> str:
        return mask_id_number(self.id_number or self.id_number_text) if self.id_number_text else ""


def import_statement(actor: Any, source: Any, filename: str, *, as_of: date) -> StatementReport:
    """Post the repayments of an uploaded statement (FileStorage, binary stream or bytes).

    Answers the per-row report. A file that cannot be used at all (wrong type, too large,
    unreadable, a missing column, too many rows) raises ValidationFailed({"file": [...]})
    and posts nothing. Flushes, never commits.
    """
    operations.require_officer(actor)
    table = read_table(
        _read_capped(source), filename, STATEMENT_COLUMNS, max_rows=MAX_STATEMENT_ROWS
    )
    if not {"loan_id", "id_number"} & set(table.frame.columns):
        names = _(
            "%(first)s or %(second)s",
            first=COLUMN_LABELS["loan_id"],
            second=COLUMN_LABELS["id_number"],
        )
        raise file_error(
            _("These columns are missing from the header row: %(columns)s.", columns=names)
        )
    lines = _read_lines(table, as_of=as_of)
    _resolve_loans(actor, lines)

    outcomes: dict[int, StatementRow] = {}
    first_row_of: dict[tuple[int, str], int] = {}
    ready = [line for line in lines if not line.problems]
    for line in lines:
        if line.problems:
            outcomes[line.row] = _error_row(line)
    # Loan order: concurrent imports lock loans in the same order; oldest payment first.
    ready.sort(key=lambda line: (line.loan_id or 0, line.paid_on or date.min, line.row))
    for line in ready:
        outcomes[line.row] = _post(actor, line, first_row_of, as_of=as_of)

    report = StatementReport(
        filename=_clean_filename(filename), rows=[outcomes[line.row] for line in lines]
    )
    record_audit(
        actor,
        "repayment.import",
        ("repayment_import", None),
        None,
        {
            "filename": report.filename,
            "total_rows": len(report.rows),
            "posted": report.posted,
            "already_posted": report.already_posted,
            "errors": report.errors,
        },
        region_code=getattr(actor, "region_code", None),
    )
    logger.info(
        "Statement import by user %s: %s rows, %s posted, %s already posted, %s errors",
        getattr(actor, "id", None),
        len(report.rows),
        report.posted,
        report.already_posted,
        report.errors,
    )
    return report


def _read_capped(source: Any) -> bytes:
    """The upload's bytes, refusing a file above MAX_STATEMENT_BYTES without reading it all."""
    if isinstance(source, bytes | bytearray):
        data = bytes(source)
    else:
        stream = getattr(source, "stream", source)  # werkzeug FileStorage or a file object
        if hasattr(stream, "seek"):
            stream.seek(0)
        data = stream.read(MAX_STATEMENT_BYTES + 1)
    if len(data) > MAX_STATEMENT_BYTES:
        raise file_error(
            _(
                "The file is larger than %(size)s MB; split the statement into smaller files.",
                size=MAX_STATEMENT_BYTES // (1024 * 1024),
            )
        )
    return data


def _clean_filename(filename: str) -> str:
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(char for char in name if ord(char) >= 32)
    return name[-255:] or "upload"


# --- reading --------------------------------------------------------------------------


def parse_sheet_amount(text: str) -> Decimal | str | None:
    """An amount cell: "1234.50", "1,234.50", "¥1,234.50" or "1234.50元" as a Decimal with
    its own decimals (the rules check them); None when blank; the text when not a number."""
    cleaned = _AMOUNT_NOISE.sub("", text)
    if not cleaned:
        return None if not text.strip() else text
    if not re.fullmatch(r"[+-]?\d+(?:\.\d+)?", cleaned):
        return text
    return Decimal(cleaned)


def _read_lines(table: Table, *, as_of: date) -> list[_Line]:
    """Every data row with its values checked; problems are kept per field."""
    lost_digits_message = _(
        "Excel stored this value as a number and dropped its last digits; format the "
        "column as text and type it again."
    )
    lines = []
    columns = zip(
        table.row_numbers,
        table.column("reference"),
        table.column("loan_id"),
        table.column("id_number"),
        table.column("paid_on"),
        table.column("amount"),
        strict=True,
    )
    for row, reference, loan_id, id_number, paid_on, amount in columns:
        line = _Line(row=row, reference=reference[:100])
        if (row, "reference") in table.lost_digits or _SCIENTIFIC.fullmatch(reference):
            line.add("reference", lost_digits_message)
        else:
            cleaned, problems = clean_text(reference, limit=MAX_REFERENCE, required=True)
            for message in problems:
                line.add("reference", message)
            line.reference = cleaned or line.reference

        if loan_id:
            if _LOAN_ID.fullmatch(loan_id) and 1 <= int(loan_id) <= MAX_ID:
                line.loan_id = int(loan_id)
            else:
                line.add("loan_id", _("Enter the loan id as a whole number, such as 1024."))

        line.id_number_text = id_number
        if id_number:
            if (row, "id_number") in table.lost_digits or _SCIENTIFIC.fullmatch(id_number):
                line.add("id_number", lost_digits_message)
            else:
                try:
                    line.id_number = parse_id_number(id_number, as_of=as_of).id_number
                except InvalidValue as error:
                    line.add("id_number", id_number_message(error.code))
        if not loan_id and not id_number:
            line.add("loan_id", _("Give the loan id or the borrower's ID number."))

        day = parse_sheet_date(paid_on)
        if day is None:
            line.add("paid_on", _("Enter the date the bank received the payment."))
        elif isinstance(day, str):
            line.add("paid_on", _("Enter a date such as 2026-03-31."))
        else:
            line.paid_on = day

        value = parse_sheet_amount(amount)
        if isinstance(value, str):
            line.add("amount", _("Enter an amount such as 1234.50."))
        else:
            cleaned_amount, problems = clean_amount(value)
            for message in problems:
                line.add("amount", message)
            line.amount = cleaned_amount
        lines.append(line)
    return lines


# --- finding the loans ----------------------------------------------------------------


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _resolve_loans(actor: Any, lines: list[_Line]) -> None:
    """Set each good line's loan id, or its problem: set-based, a few queries per 500 rows.

    A loan id must name a loan in the actor's area (else "no such loan"); with an ID
    number beside it, the number must be its borrower's. An ID number alone names the
    borrower's loan that already holds the line's reference, else their active or
    defaulted loan in the area.
    """
    good = [line for line in lines if not line.problems]
    loans = _loans_by_id(actor, sorted({line.loan_id for line in good if line.loan_id}))
    by_number = [line for line in good if line.loan_id is None and line.id_number]
    candidates = _loans_of_borrowers(actor, sorted({line.id_number for line in by_number}))
    held = _references_held(
        [loan_id for found in candidates.values() for loan_id, _status in found],
        sorted({line.reference for line in by_number}),
    )
    serviced = {status.value for status in SERVICED_STATUSES}
    for line in good:
        if line.loan_id is not None:
            borrower = loans.get(line.loan_id)
            if borrower is None:
                line.add("loan_id", _("No such loan."))
            elif line.id_number is not None and line.id_number != borrower:
                line.add(
                    "id_number",
                    _("This is not the ID number of loan %(id)s's borrower.", id=line.loan_id),
                )
            elif not line.id_number_text:
                line.id_number_text = borrower
            continue
        found = candidates.get(line.id_number or "", [])
        holding = [loan_id for loan_id, _status in found if (loan_id, line.reference) in held]
        live = [loan_id for loan_id, status in found if status in serviced]
        if holding:
            line.loan_id = holding[0]
        elif live:
            line.loan_id = live[0]
        else:
            line.add(
                "id_number",
                _("No active or defaulted loan in your area for this ID number."),
            )


def _loans_by_id(actor: Any, loan_ids: list[int]) -> dict[int, str]:
    """Loan id -> its borrower's ID number, for the loans in the actor's area."""
    found: dict[int, str] = {}
    for chunk in _chunks(loan_ids, LOOKUP_CHUNK):
        stmt = scoped_loans(
            select(Loan.id, Founder.id_number)
            .join(Founder, Founder.id == Loan.founder_id)
            .where(Loan.id.in_(chunk)),
            actor,
        )
        found.update((loan_id, number) for loan_id, number in db.session.execute(stmt))
    return found


def _loans_of_borrowers(actor: Any, id_numbers: list[str]) -> dict[str, list[tuple[int, str]]]:
    """ID number -> [(loan id, status)] of the borrower's loans in the area, newest first."""
    found: dict[str, list[tuple[int, str]]] = {}
    for chunk in _chunks(id_numbers, LOOKUP_CHUNK):
        stmt = scoped_loans(
            select(Founder.id_number, Loan.id, Loan.status)
            .join(Founder, Founder.id == Loan.founder_id)
            .where(Founder.id_number.in_(chunk), Loan.disbursed_on.is_not(None))
            .order_by(Loan.id.desc()),
            actor,
        )
        for number, loan_id, status in db.session.execute(stmt):
            found.setdefault(number, []).append((loan_id, status))
    return found


def _references_held(loan_ids: list[int], references: list[str]) -> set[tuple[int, str]]:
    """(loan id, reference) pairs already posted among these loans and references."""
    held: set[tuple[int, str]] = set()
    if not loan_ids or not references:
        return held
    for loan_chunk in _chunks(loan_ids, LOOKUP_CHUNK):
        for reference_chunk in _chunks(references, LOOKUP_CHUNK):
            stmt = select(Repayment.loan_id, Repayment.reference).where(
                Repayment.loan_id.in_(loan_chunk), Repayment.reference.in_(reference_chunk)
            )
            held.update((loan_id, reference) for loan_id, reference in db.session.execute(stmt))
    return held


# --- posting --------------------------------------------------------------------------


def _post(
    actor: Any, line: _Line, first_row_of: dict[tuple[int, str], int], *, as_of: date
) -> StatementRow:
    """Post one line in its own savepoint; a refusal undoes only this line."""
    assert line.loan_id is not None
    values = {"paid_on": line.paid_on, "amount": line.amount, "reference": line.reference}
    try:
        with db.session.begin_nested():
            posting = operations.post_repayment(
                actor, line.loan_id, values, as_of=as_of, source=EntrySource.IMPORT
            )
    except ValidationFailed as error:
        for field_name, messages in error.errors.items():
            for message in messages:
                line.add(field_name if field_name in FIELD_ORDER else "loan_id", message)
        return _error_row(line)
    except NotFound as error:
        line.add("loan_id", error.message)
        return _error_row(line)
    except Conflict as error:
        # Another amount under a reference already posted, or a loan not being repaid.
        line.add("reference" if "repayment_id" in error.payload else "loan_id", error.message)
        return _error_row(line)
    key = (line.loan_id, line.reference)
    earlier = first_row_of.setdefault(key, line.row)
    if posting.created:
        outcome, message = OUTCOME_POSTED, _("Posted.")
    elif earlier != line.row:
        outcome = OUTCOME_ALREADY_POSTED
        message = _("The same payment as row %(row)s of this file.", row=earlier)
    else:
        outcome = OUTCOME_ALREADY_POSTED
        message = _("Already posted (repayment %(id)s); nothing changed.", id=posting.repayment.id)
    return StatementRow(
        row=line.row,
        reference=line.reference,
        loan_id=line.loan_id,
        id_number_masked=line.masked,
        outcome=outcome,
        message=message,
    )


def _error_row(line: _Line) -> StatementRow:
    """A refused line: every problem, each after the name of its column."""
    ordered = sorted(line.problems.items(), key=lambda item: FIELD_ORDER.get(item[0], 99))
    message = " ".join(
        _("%(column)s: %(message)s", column=COLUMN_LABELS[name], message=text)
        for name, messages in ordered
        for text in messages
    )
    return StatementRow(
        row=line.row,
        reference=line.reference,
        loan_id=line.loan_id,
        id_number_masked=line.masked,
        outcome=OUTCOME_ERROR,
        message=message,
        field=ordered[0][0],
    )
