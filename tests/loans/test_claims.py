"""The quarterly claim reports (SPEC §9): the interest-subsidy claim and the compensation
claim list, as rows and as .xlsx opened back with openpyxl."""

from __future__ import annotations

import io
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from flask_babel import force_locale
from openpyxl import load_workbook
from sqlalchemy import event, select

from app.core.audit import AuditEntry
from app.core.errors import ValidationFailed
from app.core.spreadsheets import XLSX_MEDIA_TYPE
from app.extensions import db
from app.founders.models import mask_id_number
from app.loans import claims, fund, jobs, operations
from app.loans.claims import (
    Quarter,
    claim_quarter,
    compensation_claim_rows,
    compensation_claim_workbook,
    subsidy_claim_rows,
    subsidy_claim_workbook,
)
from tests.factories import make_user
from tests.loans.factories import make_loan, make_trained_founder

D = Decimal
AS_OF = date(2026, 6, 30)
MADE_AT = datetime(2026, 7, 2, 2, 30, tzinfo=UTC)
# The schedule of make_loan's 100,000 over 12 months at 3.45 %, all interest subsidised
# (subsidy_rate 1): the borrower owes the principal only, while the subsidy is kept.
PRINCIPAL = [D("8202.38"), D("8225.96"), D("8249.61")]
SUBSIDY = [D("287.50"), D("263.92"), D("240.27")]


@pytest.fixture(autouse=True)
def english(db_session):
    """Headers and messages are checked in English (the default interface is Chinese)."""
    with force_locale("en"):
        yield


@pytest.fixture
def count_queries(db_session):
    """A context manager that collects the SELECT statements run inside it."""

    @contextmanager
    def counting():
        db.session.flush()
        selects: list[str] = []

        def count(conn, cursor, statement, parameters, context, executemany):
            if statement.lstrip().upper().startswith("SELECT"):
                selects.append(statement)

        bind = db.session.get_bind()
        event.listen(bind, "before_cursor_execute", count)
        try:
            yield selects
        finally:
            event.remove(bind, "before_cursor_execute", count)

    return counting


@pytest.fixture
def officer(db_session):
    return make_user(role="officer", region_code="460100")


def pay(officer, loan, on, amount, reference):
    return operations.post_repayment(
        officer,
        loan.id,
        {"paid_on": on, "amount": D(amount), "reference": reference},
        as_of=AS_OF,
    )


@pytest.fixture
def paid_loans(officer):
    """Loans paid on time, late, and in another quarter; one in Sanya."""
    on_time = make_loan(founder=make_trained_founder(name='=HYPERLINK("http://x")'))
    pay(officer, on_time, date(2026, 2, 20), PRINCIPAL[0], "A-1")  # #1, due 02-28
    pay(officer, on_time, date(2026, 3, 31), PRINCIPAL[1], "A-2")  # #2, on its due day
    pay(officer, on_time, date(2026, 4, 15), PRINCIPAL[2], "A-3")  # #3, in Q2

    late = make_loan(founder=make_trained_founder(name="李娜"))
    # #1 paid after its due day loses its subsidy: the borrower owes its interest too.
    pay(officer, late, date(2026, 3, 5), PRINCIPAL[0] + SUBSIDY[0], "B-1")
    pay(officer, late, date(2026, 3, 20), PRINCIPAL[1], "B-2")  # #2 on time

    next_quarter = make_loan(disbursed_on=date(2026, 3, 31))  # #1 due 04-30
    pay(officer, next_quarter, date(2026, 4, 20), PRINCIPAL[0], "C-1")

    unpaid = make_loan()  # nothing paid: nothing to claim

    sanya = make_loan(region_code="460200")
    pay(make_user(role="officer", region_code="460200"), sanya, date(2026, 2, 1), "100", "S-1")
    pay(make_user(role="officer", region_code="460200"), sanya, date(2026, 2, 2), "9000", "S-2")
    return {
        "on_time": on_time,
        "late": late,
        "next": next_quarter,
        "unpaid": unpaid,
        "sanya": sanya,
    }


def sheet_values(data: bytes) -> list[list[object]]:
    """The first sheet's cells row by row; Excel dates read back as dates."""
    sheet = load_workbook(io.BytesIO(data)).active
    return [
        [value.date() if isinstance(value, datetime) else value for value in row]
        for row in sheet.iter_rows(values_only=True)
    ]


# --- quarters -------------------------------------------------------------------------


def test_quarter_bounds():
    assert (Quarter(2026, 1).starts_on, Quarter(2026, 1).ends_on) == (
        date(2026, 1, 1),
        date(2026, 3, 31),
    )
    assert Quarter(2026, 2).ends_on == date(2026, 6, 30)
    assert Quarter(2026, 3).ends_on == date(2026, 9, 30)
    assert Quarter(2026, 4).ends_on == date(2026, 12, 31)
    assert Quarter.containing(date(2026, 11, 23)) == Quarter(2026, 4)
    assert Quarter(2026, 1).previous() == Quarter(2025, 4)
    assert Quarter(2026, 1).code == "2026Q1"


@pytest.mark.parametrize(
    ("year", "quarter", "field"),
    [(2026, 5, "quarter"), (2026, 0, "quarter"), (1999, 1, "year"), ("2026", 1, "year")],
)
def test_claim_quarter_refuses_bad_input(year, quarter, field):
    with pytest.raises(ValidationFailed) as caught:
        claim_quarter(year, quarter, as_of=AS_OF)
    assert list(caught.value.errors) == [field]


def test_claim_quarter_refuses_a_quarter_not_yet_begun():
    assert claim_quarter(2026, 2, as_of=AS_OF) == Quarter(2026, 2)
    with pytest.raises(ValidationFailed) as caught:
        claim_quarter(2026, 3, as_of=AS_OF)
    assert caught.value.errors == {"quarter": ["2026 Q3 has not begun yet."]}


# --- the interest-subsidy claim -------------------------------------------------------


def test_subsidy_claim_counts_only_installments_paid_on_time_in_the_quarter(officer, paid_loans):
    on_time, late = paid_loans["on_time"], paid_loans["late"]
    rows = subsidy_claim_rows(officer, 2026, 1)

    assert [(row.loan_id, row.installments, row.subsidy) for row in rows] == [
        (on_time.id, 2, D("551.42")),  # 287.50 + 263.92
        (late.id, 1, D("263.92")),  # #1 was late
    ]
    first = rows[0]
    assert first.founder_name == '=HYPERLINK("http://x")'
    assert first.id_number_masked == mask_id_number(on_time.founder.id_number)
    assert (first.region_code, first.region_name) == ("460100", "Haikou")
    assert first.bank_reference == f"BANK-{on_time.id}"
    assert (first.disbursed_on, first.amount) == (date(2026, 1, 31), D("100000.00"))

    second_quarter = subsidy_claim_rows(officer, 2026, 2)
    assert [(row.loan_id, row.installments, row.subsidy) for row in second_quarter] == [
        (on_time.id, 1, D("240.27")),
        (paid_loans["next"].id, 1, D("287.50")),
    ]
    assert subsidy_claim_rows(officer, 2025, 4) == []


def test_subsidy_claim_is_kept_to_the_users_area(paid_loans):
    sanya = paid_loans["sanya"]
    sanya_officer = make_user(role="officer", region_code="460200")
    # 100 then 9,000 on 02-01 and 02-02: #1 paid off on 02-02, before its due day.
    assert [(row.loan_id, row.subsidy) for row in subsidy_claim_rows(sanya_officer, 2026, 1)] == [
        (sanya.id, D("287.50"))
    ]
    admin = make_user(role="admin", region_code="460000")
    province = make_user(role="officer", region_code="460000")
    for user in (admin, province):
        rows = subsidy_claim_rows(user, 2026, 1)
        assert sum(row.subsidy for row in rows) == D("551.42") + D("263.92") + D("287.50")


def test_subsidy_claim_is_one_query(officer, paid_loans, count_queries):
    with count_queries() as queries:
        subsidy_claim_rows(officer, 2026, 1)
    assert len(queries) == 1


def test_subsidy_claim_workbook(officer, paid_loans):
    on_time, late = paid_loans["on_time"], paid_loans["late"]
    period = Quarter(2026, 1)
    rows = subsidy_claim_rows(officer, 2026, 1)
    data = subsidy_claim_workbook(officer, period, rows, generated_at=MADE_AT)
    sheet = load_workbook(io.BytesIO(data)).active
    values = sheet_values(data)

    assert values[0][0] == "Interest-subsidy claim: 460100 Haikou, 2026 Q1"
    assert "2026-01-01 to 2026-03-31" in values[1][0]
    assert "2026-07-02 10:30 (UTC+8)" in values[1][0]
    assert officer.username in values[1][0]
    assert values[2] == [
        "Loan id",
        "Borrower",
        "ID number (masked)",
        "Region code",
        "Region",
        "Bank loan reference",
        "Disbursed on",
        "Loan amount",
        "Installments paid on time",
        "Interest subsidy",
    ]
    assert values[3] == [
        on_time.id,
        '\'=HYPERLINK("http://x")',  # escaped: a spreadsheet shows it, never runs it
        mask_id_number(on_time.founder.id_number),
        "460100",
        "Haikou",
        f"BANK-{on_time.id}",
        date(2026, 1, 31),
        100000,
        2,
        551.42,
    ]
    assert values[4][:2] == [late.id, "李娜"]
    assert values[4][-2:] == [1, 263.92]
    assert values[5] == ["Total (2)", None, None, None, None, None, None, 200000, 3, 815.34]
    assert len(values) == 6
    assert sheet["J4"].number_format == "#,##0.00"
    assert sheet["G4"].number_format == "yyyy-mm-dd"
    # No full ID number anywhere in the file.
    assert on_time.founder.id_number not in str(values)
    assert claims.claim_filename(claims.SUBSIDY_CLAIM, period) == "subsidy-claim-2026Q1.xlsx"


def test_an_empty_quarter_still_has_its_title_and_totals(officer):
    data = subsidy_claim_workbook(officer, Quarter(2025, 4), [], generated_at=MADE_AT)
    values = sheet_values(data)
    assert len(values) == 4
    assert values[3][0] == "Total (0)"
    assert values[3][-1] == 0


# --- the compensation claim list ------------------------------------------------------


@pytest.fixture
def compensated(officer):
    """A loan never repaid, defaulted by the sweep, compensated by the fund on 06-30."""
    loan = make_loan(founder=make_trained_founder(name="+王强"))
    make_loan()  # defaults too, but is not compensated: not on the list
    jobs.sweep(date(2026, 6, 30))
    locked = operations.lock_loan_in_scope(officer, loan.id)
    assert locked.status == "defaulted"
    fund.compensate_loan(
        officer,
        locked,
        {"date": date(2026, 6, 30), "amount": D("80000.00"), "reference": "=COMP-1"},
        as_of=AS_OF,
    )
    return locked


def test_compensation_claim_lists_the_quarters_compensations(officer, compensated):
    rows = compensation_claim_rows(officer, 2026, 2)
    assert len(rows) == 1
    row = rows[0]
    assert row.loan_id == compensated.id
    assert row.founder_name == "+王强"
    assert row.id_number_masked == mask_id_number(compensated.founder.id_number)
    assert (row.region_code, row.region_name) == ("460100", "Haikou")
    assert row.bank_reference == f"BANK-{compensated.id}"
    assert (row.disbursed_on, row.amount) == (date(2026, 1, 31), D("100000.00"))
    # 90 days past due on 05-29: #1 fell due 02-28.
    assert row.defaulted_on == date(2026, 5, 29)
    assert row.outstanding_principal == D("100000.00")
    assert row.guarantee_ratio == D("0.8")
    assert (row.compensated_on, row.compensated_amount) == (date(2026, 6, 30), D("80000.00"))
    assert row.reference == "=COMP-1"

    assert compensation_claim_rows(officer, 2026, 1) == []
    sanya_officer = make_user(role="officer", region_code="460200")
    assert compensation_claim_rows(sanya_officer, 2026, 2) == []


def test_compensation_claim_is_one_query(officer, compensated, count_queries):
    with count_queries() as queries:
        compensation_claim_rows(officer, 2026, 2)
    assert len(queries) == 1


def test_compensation_claim_workbook(officer, compensated):
    period = Quarter(2026, 2)
    rows = compensation_claim_rows(officer, 2026, 2)
    data = compensation_claim_workbook(officer, period, rows, generated_at=MADE_AT)
    values = sheet_values(data)

    assert values[0][0] == "Compensation claim list: 460100 Haikou, 2026 Q2"
    assert values[2][-4:] == [
        "Guarantee ratio",
        "Compensated on",
        "Compensated amount",
        "Reference",
    ]
    assert values[3] == [
        compensated.id,
        "'+王强",
        mask_id_number(compensated.founder.id_number),
        "460100",
        "Haikou",
        f"BANK-{compensated.id}",
        date(2026, 1, 31),
        100000,
        date(2026, 5, 29),
        100000,
        0.8,
        date(2026, 6, 30),
        80000,
        "'=COMP-1",
    ]
    assert values[4] == [
        "Total (1)",
        None,
        None,
        None,
        None,
        None,
        None,
        100000,
        None,
        100000,
        None,
        None,
        80000,
        None,
    ]
    assert claims.claim_filename(claims.COMPENSATION_CLAIM, period) == (
        "compensation-claim-2026Q2.xlsx"
    )


def test_admins_see_all_regions_in_the_title(compensated):
    admin = make_user(role="admin", region_code="460000")
    rows = compensation_claim_rows(admin, 2026, 2)
    data = compensation_claim_workbook(admin, Quarter(2026, 2), rows, generated_at=MADE_AT)
    title = load_workbook(io.BytesIO(data)).active["A1"].value
    assert title == "Compensation claim list: All regions, 2026 Q2"


# --- the pages ------------------------------------------------------------------------


def test_reports_page_shows_the_quarter_and_its_downloads(client, login_as, paid_loans):
    login_as("officer")
    response = client.get(
        "/loans/statements/reports?year=2026&quarter=1", headers={"Accept-Language": "en"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "2 loans" in html
    assert "¥815.34" in html
    assert "/loans/statements/reports/subsidy.xlsx?year=2026&amp;quarter=1" in html
    assert "/loans/statements/reports/compensation.xlsx?year=2026&amp;quarter=1" in html

    # Without a quarter, the last full one is shown.
    assert client.get("/loans/statements/reports").status_code == 200


def test_subsidy_download_is_the_workbook_and_is_audited(client, login_as, paid_loans):
    expected_id = paid_loans["on_time"].id
    login_as("officer")
    response = client.get("/loans/statements/reports/subsidy.xlsx?year=2026&quarter=1")
    assert response.status_code == 200
    assert response.mimetype == XLSX_MEDIA_TYPE
    assert "subsidy-claim-2026Q1.xlsx" in response.headers["Content-Disposition"]
    assert response.headers["X-Row-Count"] == "2"
    sheet = load_workbook(io.BytesIO(response.data)).active
    assert sheet["A4"].value == expected_id
    assert sheet["J6"].value == 815.34

    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "loan.claim_export")
    ).one()
    assert entry.after == {"report": "subsidy-claim", "quarter": "2026Q1", "row_count": 2}


def test_compensation_download(client, login_as, compensated):
    login_as("officer")
    response = client.get("/loans/statements/reports/compensation.xlsx?year=2026&quarter=2")
    assert response.status_code == 200
    assert "compensation-claim-2026Q2.xlsx" in response.headers["Content-Disposition"]
    assert response.headers["X-Row-Count"] == "1"
    assert db.session.scalars(
        select(AuditEntry.after).where(AuditEntry.action == "loan.claim_export")
    ).all() == [{"report": "compensation-claim", "quarter": "2026Q2", "row_count": 1}]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "Enter the year"),
        ("?year=2026&quarter=5", "Choose a quarter from 1 to 4."),
        ("?year=abc&quarter=1", "Not a valid integer value."),
        ("?year=1999&quarter=1", "Enter a year between 2000 and 2100."),
        ("?year=2100&quarter=4", "2100 Q4 has not begun yet."),
    ],
)
def test_bad_quarter_is_a_400_with_the_form(client, login_as, query, message):
    login_as("officer")
    for kind in ("subsidy", "compensation"):
        response = client.get(
            f"/loans/statements/reports/{kind}.xlsx{query}", headers={"Accept-Language": "en"}
        )
        assert response.status_code == 400
        assert message in response.get_data(as_text=True)
    assert (
        db.session.scalars(select(AuditEntry).where(AuditEntry.action == "loan.claim_export")).all()
        == []
    )


@pytest.mark.parametrize(
    ("role", "status"), [("admin", 200), ("officer", 200), ("staff", 403), ("founder", 403)]
)
def test_reports_are_for_officers_and_admins(client, login_as, role, status):
    login_as(role, "460000" if role == "admin" else "460100")
    query = "?year=2026&quarter=1"
    assert client.get(f"/loans/statements/reports{query}").status_code == status
    assert client.get(f"/loans/statements/reports/subsidy.xlsx{query}").status_code == status
    assert client.get(f"/loans/statements/reports/compensation.xlsx{query}").status_code == status
