"""Bank statement import from real .xlsx and .csv files (SPEC §9, §15): each row posted in
its own savepoint, idempotent by reference, scoped to the officer's area."""

from __future__ import annotations

import io
import logging
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from flask_babel import force_locale
from openpyxl import Workbook
from sqlalchemy import func, select

from app.core.audit import AuditEntry
from app.core.errors import PermissionDenied, ValidationFailed
from app.extensions import db
from app.founders.models import mask_id_number
from app.loans import statements
from app.loans.models import EntrySource, Loan, Repayment
from app.loans.statements import COLUMN_LABELS, import_statement
from tests.factories import make_id_number, make_user
from tests.founders.helpers import with_wrong_check_char
from tests.loans.factories import make_loan

D = Decimal
AS_OF = date(2026, 6, 30)
HEADERS_ZH = ["交易流水号", "贷款编号", "身份证号", "还款日期", "金额"]
HEADERS_EN = ["reference", "loan_id", "id_number", "paid_on", "amount"]


def xlsx_file(headers: list[Any], rows: list[list[Any]], *, title_rows: int = 0) -> bytes:
    """A real workbook made with openpyxl, as the bank's export would bring it."""
    workbook = Workbook()
    sheet = workbook.active
    for _ in range(title_rows):
        sheet.append(["中国银行海口分行 还款流水"])
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_file(headers: list[str], rows: list[list[Any]], encoding: str) -> bytes:
    lines = [",".join(headers)] + [",".join(str(value) for value in row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def run(actor, data: bytes, filename: str = "statement.xlsx"):
    return import_statement(actor, io.BytesIO(data), filename, as_of=AS_OF)


def outcomes(report) -> list[tuple[int, str]]:
    return [(line.row, line.outcome) for line in report.rows]


def repayment_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Repayment))


@pytest.fixture(autouse=True)
def english(db_session):
    """Messages are checked in English (the default interface language is Chinese)."""
    with force_locale("en"):
        yield


@pytest.fixture
def officer(db_session):
    return make_user(role="officer", region_code="460100")


@pytest.fixture
def loans(db_session):
    """Three active Haikou loans of 100,000 over 12 months, disbursed 2026-01-31."""
    return [make_loan() for _ in range(3)]


def mixed_rows(loans: list[Loan]) -> list[list[Any]]:
    """Three good rows (one by ID number) and two bad ones: an unknown loan, an over-payment."""
    first, second, third = loans
    return [
        ["TX-001", first.id, "", date(2026, 2, 20), 8202.38],
        ["TX-002", "", second.founder.id_number, "2026/02/21", "8,202.38"],
        ["TX-003", third.id, "", "2026-02-25", "5000"],
        ["TX-004", 999_999_999, "", "2026-02-25", "100.00"],
        ["TX-005", third.id, "", "2026-02-26", "100000.00"],
    ]


# --- the main cases -------------------------------------------------------------------


def test_good_rows_are_posted_and_bad_rows_reported(officer, loans):
    before = db.session.scalar(select(func.count()).select_from(AuditEntry))
    report = run(officer, xlsx_file(HEADERS_ZH, mixed_rows(loans)))

    assert outcomes(report) == [
        (2, "posted"),
        (3, "posted"),
        (4, "posted"),
        (5, "error"),
        (6, "error"),
    ]
    assert (report.posted, report.already_posted, report.errors) == (3, 0, 2)
    unknown, overpaid = report.rows[3], report.rows[4]
    assert unknown.field == "loan_id"
    assert "No such loan." in unknown.message
    assert overpaid.field == "amount"
    assert "more than the borrower owes" in overpaid.message
    assert "95000.00" in overpaid.message
    assert report.rows[1].loan_id == loans[1].id
    assert report.rows[1].id_number_masked == mask_id_number(loans[1].founder.id_number)
    assert report.rows[0].id_number_masked == mask_id_number(loans[0].founder.id_number)

    # Nothing else changed: three payments, the over-payment fully undone.
    posted = db.session.execute(
        select(Repayment.loan_id, Repayment.reference, Repayment.amount, Repayment.source).order_by(
            Repayment.reference
        )
    ).all()
    assert posted == [
        (loans[0].id, "TX-001", D("8202.38"), EntrySource.IMPORT),
        (loans[1].id, "TX-002", D("8202.38"), EntrySource.IMPORT),
        (loans[2].id, "TX-003", D("5000.00"), EntrySource.IMPORT),
    ]
    db.session.expire_all()
    outstanding = [db.session.get(Loan, loan.id).outstanding_principal for loan in loans]
    assert outstanding == [D("91797.62"), D("91797.62"), D("95000.00")]
    actions = db.session.scalars(
        select(AuditEntry.action).order_by(AuditEntry.id).offset(before)
    ).all()
    assert actions.count("repayment.post") == 3
    assert actions[-1] == "repayment.import"


def test_the_same_file_twice_posts_nothing_new(officer, loans):
    data = xlsx_file(HEADERS_ZH, mixed_rows(loans))
    run(officer, data)
    again = run(officer, data)

    assert (again.posted, again.already_posted, again.errors) == (0, 3, 2)
    assert [line.outcome for line in again.rows[:3]] == ["already_posted"] * 3
    assert "Already posted" in again.rows[0].message
    assert repayment_count() == 3


def test_a_paid_off_loan_named_by_id_number_is_recognised_on_the_second_import(officer):
    loan = make_loan(term_months=1, amount=D("10000.00"))
    rows = [["TX-900", "", loan.founder.id_number, "2026-02-27", "10000.00"]]
    data = xlsx_file(HEADERS_ZH, rows)
    assert run(officer, data).posted == 1
    db.session.expire_all()
    assert db.session.get(Loan, loan.id).status == "closed"

    again = run(officer, data)
    assert outcomes(again) == [(2, "already_posted")]
    assert again.rows[0].loan_id == loan.id


def test_rows_by_id_number(officer, loans):
    stranger = make_id_number()
    rows = [
        ["TX-101", "", loans[0].founder.id_number.lower(), "2026-02-20", "100.00"],
        ["TX-102", "", stranger, "2026-02-20", "100.00"],
        ["TX-103", loans[1].id, loans[0].founder.id_number, "2026-02-20", "100.00"],
        ["TX-104", loans[1].id, loans[1].founder.id_number, "2026-02-20", "100.00"],
        ["TX-105", "", with_wrong_check_char(make_id_number()), "2026-02-20", "100.00"],
    ]
    report = run(officer, xlsx_file(HEADERS_EN, rows))

    assert outcomes(report) == [
        (2, "posted"),
        (3, "error"),
        (4, "error"),
        (5, "posted"),
        (6, "error"),
    ]
    assert report.rows[0].loan_id == loans[0].id
    assert report.rows[1].field == "id_number"
    assert "No active or defaulted loan" in report.rows[1].message
    assert report.rows[2].field == "id_number"
    assert f"loan {loans[1].id}" in report.rows[2].message
    assert report.rows[4].field == "id_number"
    assert "check character" in report.rows[4].message
    # The report shows ID numbers masked, never in full.
    assert report.rows[1].id_number_masked == mask_id_number(stranger)
    assert all(stranger not in str(line) for line in report.rows)


def test_a_loan_of_another_city_is_no_such_loan(officer):
    sanya = make_loan(region_code="460200")
    rows = [
        ["TX-201", sanya.id, "", "2026-02-20", "100.00"],
        ["TX-202", "", sanya.founder.id_number, "2026-02-20", "100.00"],
    ]
    report = run(officer, xlsx_file(HEADERS_ZH, rows))

    assert outcomes(report) == [(2, "error"), (3, "error")]
    assert report.rows[0].message == f"{COLUMN_LABELS['loan_id']}: No such loan."
    assert "No active or defaulted loan in your area" in report.rows[1].message
    assert repayment_count() == 0


def test_province_officer_imports_for_their_cities(db_session):
    province_officer = make_user(role="officer", region_code="460000")
    sanya = make_loan(region_code="460200")
    report = run(province_officer, xlsx_file(HEADERS_ZH, [["TX-1", sanya.id, "", "2026-02-20", 1]]))
    assert outcomes(report) == [(2, "posted")]


# --- the file -------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig"])
def test_csv_in_gbk_and_utf8(officer, loans, encoding):
    rows = [
        ["TX-301", loans[0].id, "", "2026-02-20", "8202.38"],
        ["TX-302", "", loans[1].founder.id_number, "2026年2月21日", "￥100.50"],
    ]
    report = run(officer, csv_file(HEADERS_ZH, rows, encoding), "statement.csv")
    assert outcomes(report) == [(2, "posted"), (3, "posted")]
    amounts = db.session.scalars(select(Repayment.amount).order_by(Repayment.reference)).all()
    assert amounts == [D("8202.38"), D("100.50")]


def test_title_rows_keep_excel_row_numbers(officer, loans):
    rows = [["TX-401", loans[0].id, "", "2026-02-20", "100.00"], ["", "", "", "", ""]]
    rows.append(["TX-402", loans[0].id, "", "2026-02-21", "abc"])
    report = run(officer, xlsx_file(HEADERS_ZH, rows, title_rows=2))
    assert outcomes(report) == [(4, "posted"), (6, "error")]


def test_missing_column_is_named_and_nothing_is_posted(officer, loans):
    headers = ["交易流水号", "贷款编号", "还款日期"]
    data = xlsx_file(headers, [["TX-501", loans[0].id, "2026-02-20"]])
    with pytest.raises(ValidationFailed) as caught:
        run(officer, data)
    assert list(caught.value.errors) == ["file"]
    message = caught.value.errors["file"][0]
    assert str(COLUMN_LABELS["amount"]) in message
    assert repayment_count() == 0


def test_a_file_without_loan_or_id_number_column_names_both(officer):
    data = xlsx_file(["交易流水号", "还款日期", "金额"], [["TX-1", "2026-02-20", "1.00"]])
    with pytest.raises(ValidationFailed) as caught:
        run(officer, data)
    message = caught.value.errors["file"][0]
    assert str(COLUMN_LABELS["loan_id"]) in message
    assert str(COLUMN_LABELS["id_number"]) in message


def test_wrong_types_are_row_errors_naming_the_field(officer, loans):
    loan_id = loans[0].id
    rows = [
        ["TX-601", loan_id, "", "2026-02-20", "一百元"],
        ["TX-602", loan_id, "", "2026-02-20", "12.345"],
        ["TX-603", loan_id, "", "2026-02-30", "100.00"],
        ["TX-604", "12x", "", "2026-02-20", "100.00"],
        ["", loan_id, "", "", ""],
        ["TX-606", loan_id, "", "2026-02-20", "-100.00"],
        ["TX-607", loan_id, "", "2027-01-01", "100.00"],
        ["TX-608", loan_id, "", "2026-01-15", "100.00"],
        ["TX-609", "", "", "2026-02-20", "100.00"],
    ]
    report = run(officer, xlsx_file(HEADERS_ZH, rows))

    assert report.errors == len(rows)
    fields = [line.field for line in report.rows]
    assert fields == [
        "amount",
        "amount",
        "paid_on",
        "loan_id",
        "reference",
        "amount",
        "paid_on",
        "paid_on",
        "loan_id",
    ]
    messages = [line.message for line in report.rows]
    assert messages[0] == f"{COLUMN_LABELS['amount']}: Enter an amount such as 1234.50."
    assert messages[1] == f"{COLUMN_LABELS['amount']}: Use at most 2 decimals."
    assert messages[2].startswith(f"{COLUMN_LABELS['paid_on']}: ")
    # Every problem of a row at once: reference, date and amount.
    assert str(COLUMN_LABELS["reference"]) in messages[4]
    assert str(COLUMN_LABELS["paid_on"]) in messages[4]
    assert str(COLUMN_LABELS["amount"]) in messages[4]
    assert "more than zero" in messages[5]
    assert "future" in messages[6]
    assert "paid out on 2026-01-31" in messages[7]
    assert repayment_count() == 0


def test_a_reference_reused_with_another_amount_is_refused(officer, loans):
    rows = [
        ["TX-701", loans[0].id, "", "2026-02-20", "100.00"],
        ["TX-701", loans[0].id, "", "2026-02-20", "100.00"],
        ["TX-701", loans[0].id, "", "2026-02-20", "200.00"],
    ]
    report = run(officer, xlsx_file(HEADERS_ZH, rows))
    assert outcomes(report) == [(2, "posted"), (3, "already_posted"), (4, "error")]
    assert "row 2 of this file" in report.rows[1].message
    assert report.rows[2].field == "reference"
    assert "already posted to this loan for 100.00" in report.rows[2].message


def test_a_long_reference_typed_as_a_number_is_explained(officer, loans):
    rows = [[2026022012345678901, loans[0].id, "", "2026-02-20", "100.00"]]
    report = run(officer, xlsx_file(HEADERS_ZH, rows))
    assert report.rows[0].field == "reference"
    assert "dropped its last digits" in report.rows[0].message


def test_too_many_rows_or_too_large_a_file_is_refused(officer, loans, monkeypatch):
    rows = [[f"TX-{n}", loans[0].id, "", "2026-02-20", "1.00"] for n in range(4)]
    data = xlsx_file(HEADERS_ZH, rows)
    monkeypatch.setattr(statements, "MAX_STATEMENT_ROWS", 3)
    with pytest.raises(ValidationFailed) as caught:
        run(officer, data)
    assert "at most 3" in caught.value.errors["file"][0]

    monkeypatch.setattr(statements, "MAX_STATEMENT_BYTES", len(data) - 1)
    with pytest.raises(ValidationFailed) as caught:
        run(officer, data)
    assert "larger than" in caught.value.errors["file"][0]
    assert repayment_count() == 0


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (b"", "statement.xlsx"),
        (b"\x00\xff" * 500, "statement.csv"),
        (b"PK\x03\x04 not really a zip", "statement.xlsx"),
        ("交易流水号,贷款编号,还款日期,金额\r\n".encode("gbk"), "statement.csv"),
        (b"reference,loan_id,paid_on,amount\r\n", "statement.txt"),
    ],
)
def test_unusable_files_are_a_file_error(officer, data, filename):
    with pytest.raises(ValidationFailed) as caught:
        run(officer, data, filename)
    assert list(caught.value.errors) == ["file"]


def test_control_characters_are_row_errors_not_crashes(officer, loans):
    rows = [
        ["TX\x00-1", loans[0].id, "", "2026-02-20", "1.00"],
        ["TX-2", f"{loans[0].id}\x00", "", "2026-02-20\x00", "1.00\x00"],
        ["TX-3", "", "4601\x00", "2026-02-20", "1.00"],
    ]
    report = run(officer, csv_file(HEADERS_ZH, rows, "utf-8"), "statement.csv")
    assert [line.field for line in report.rows] == ["reference", "loan_id", "id_number"]
    assert report.errors == 3


def test_only_officers_import(loans):
    staff = make_user(role="staff", region_code="460100")
    with pytest.raises(PermissionDenied):
        run(staff, xlsx_file(HEADERS_ZH, [["TX-1", loans[0].id, "", "2026-02-20", "1"]]))


def test_id_numbers_never_reach_the_log(officer, loans, caplog):
    rows = [["TX-801", "", loans[0].founder.id_number, "2026-02-20", "1.00"]]
    rows.append(["TX-802", "", make_id_number(), "2026-02-20", "1.00"])
    with caplog.at_level(logging.DEBUG):
        run(officer, xlsx_file(HEADERS_ZH, rows))
    assert "Statement import" in caplog.text
    assert loans[0].founder.id_number not in caplog.text
    assert rows[1][2] not in caplog.text


# --- the page and the API -------------------------------------------------------------


def upload(data: bytes, name: str = "statement.xlsx") -> dict[str, Any]:
    return {"file": (io.BytesIO(data), name)}


def test_page_upload_shows_the_report(client, login_as, loans):
    data = xlsx_file(HEADERS_ZH, mixed_rows(loans))
    number = loans[1].founder.id_number
    login_as("officer")  # ends the session: the loans are read before
    response = client.get("/loans/statements/")
    assert response.status_code == 200

    response = client.post(
        "/loans/statements/", data=upload(data), content_type="multipart/form-data"
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'data-testid="statement-report"' in html
    assert html.count('data-outcome="posted"') == 3
    assert html.count('data-outcome="error"') == 2
    assert mask_id_number(number) in html
    assert number not in html
    assert repayment_count() == 3


def test_page_upload_of_a_bad_file_shows_the_error(client, login_as):
    login_as("officer")
    response = client.post(
        "/loans/statements/",
        data=upload(b"not a workbook"),
        content_type="multipart/form-data",
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 200
    assert "could not be read" in response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["staff", "admin", "founder"])
def test_page_is_for_officers_only(client, login_as, role):
    login_as(role, "460000" if role == "admin" else "460100")
    assert client.get("/loans/statements/").status_code == 403
    response = client.post(
        "/loans/statements/",
        data=upload(xlsx_file(HEADERS_ZH, [])),
        content_type="multipart/form-data",
    )
    assert response.status_code == 403


def test_api_answers_the_report(api_as, loans):
    data = xlsx_file(HEADERS_EN, mixed_rows(loans))
    second_id, second_number = loans[1].id, loans[1].founder.id_number
    api = api_as("officer")  # ends the session: the loans are read before
    headers = {"Authorization": f"Bearer {api.token}", "Accept-Language": "en"}
    response = api.client.post(
        "/api/v1/imports/repayments",
        data=upload(data),
        content_type="multipart/form-data",
        headers=headers,
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["total_rows"], body["posted"], body["already_posted"], body["errors"]) == (
        5,
        3,
        0,
        2,
    )
    assert body["rows"][1] == {
        "row": 3,
        "reference": "TX-002",
        "loan_id": second_id,
        "id_number_masked": mask_id_number(second_number),
        "outcome": "posted",
        "field": None,
        "message": "Posted.",
    }
    assert body["rows"][3] == {
        "row": 5,
        "reference": "TX-004",
        "loan_id": 999_999_999,
        "id_number_masked": "",
        "outcome": "error",
        "field": "loan_id",
        "message": "Loan id: No such loan.",
    }
    assert second_number not in response.get_data(as_text=True)

    again = api.client.post(
        "/api/v1/imports/repayments",
        data=upload(data),
        content_type="multipart/form-data",
        headers=headers,
    ).get_json()
    assert (again["posted"], again["already_posted"], again["errors"]) == (0, 3, 2)


def test_api_refuses_a_missing_or_unusable_file(api_as):
    api = api_as("officer")
    headers = {"Authorization": f"Bearer {api.token}", "Accept-Language": "en"}
    response = api.client.post(
        "/api/v1/imports/repayments", data={}, content_type="multipart/form-data", headers=headers
    )
    assert response.status_code == 422
    assert "file" in response.get_json()["errors"]
    response = api.client.post(
        "/api/v1/imports/repayments",
        data=upload(xlsx_file(["交易流水号", "金额"], [["TX", "1"]])),
        content_type="multipart/form-data",
        headers=headers,
    )
    assert response.status_code == 422
    assert str(COLUMN_LABELS["paid_on"]) in response.get_json()["errors"]["file"][0]


@pytest.mark.parametrize("role", ["staff", "admin", "founder"])
def test_api_is_for_officers_only(api_as, role):
    api = api_as(role, "460000" if role == "admin" else "460100")
    response = api.client.post(
        "/api/v1/imports/repayments",
        data=upload(xlsx_file(HEADERS_ZH, [])),
        content_type="multipart/form-data",
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert response.status_code == 403
