"""The statistics table (SPEC §13): the .xlsx opened back with pandas, every figure of every
row compared to the KPI engine's (and once to GET /api/v1/kpis); targets and their
progress, a city without records, the layout, escaping, the caller's language."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from flask_babel import force_locale
from flask_babel import gettext as _
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from app.core.errors import NotFound, ValidationFailed
from app.extensions import db
from app.followups.models import FollowupTask
from app.loans import operations
from app.regions.models import Region
from app.reports.kpis import compute_kpis
from app.reports.statistics import (
    COLUMNS,
    build_statistics_workbook,
    statistics_filename,
    statistics_frame,
    statistics_period,
)
from app.targets.models import RegionTarget
from tests.businesses.factories import make_business, make_observation
from tests.factories import make_founder
from tests.loans.factories import make_loan
from tests.training.factories import get_course, make_cohort, make_enrollment

YEAR = 2026
D = date(2026, 9, 30)
START = date(2026, 1, 1)
PROVINCE, HAIKOU, SANYA, QIONGHAI = "460000", "460100", "460200", "469002"
PRODUCED_AT = datetime(2026, 10, 8, 1, 30, tzinfo=UTC)  # 09:30 in China

# What each column of the table is, written out from SPEC §11, §13 and the targets'
# definition of "actual": column -> (KPI group, figure).
FIGURES: dict[str, tuple[str, str]] = {
    "trainees_actual": ("training", "enrolled"),
    "pass_rate": ("training", "pass_rate"),
    "businesses_opened_actual": ("survival", "businesses"),
    "opening_rate_3m": ("opening", "rate_3m"),
    "opening_rate_6m": ("opening", "rate_6m"),
    "survival_km_12m": ("survival", "km_12m"),
    "survival_naive_12m": ("survival", "naive_12m"),
    "jobs_created_actual": ("jobs", "jobs"),
    "loans_count_actual": ("loans", "disbursed_count"),
    "loans_amount_actual": ("loans", "disbursed_amount"),
    "on_time_rate": ("loans", "on_time_rate"),
    "par30": ("loans", "par30"),
    "compensation_rate": ("loans", "compensation_rate"),
    "response_rate": ("followups", "response_rate"),
}
TARGETED = ("trainees", "businesses_opened", "jobs_created", "loans_count", "loans_amount")
HAIKOU_TARGETS = {
    "trainees": 4,
    "businesses_opened": 8,
    "jobs_created": None,  # no target: no percentage
    "loans_count": 2,
    "loans_amount": Decimal("40000.00"),
}
# The province's own targets: the total row's, deliberately not the sum of its cities'.
PROVINCE_TARGETS = {
    "trainees": 100,
    "businesses_opened": 50,
    "jobs_created": 150,
    "loans_count": 0,  # a target of 0: nothing to divide by, so no percentage
    "loans_amount": Decimal("1000000.00"),
}


# --- data ----------------------------------------------------------------------------


def _enroll(region: str, result: str | None, completed_on: date | None, course: str = "SYB"):
    # Two weeks of class ending on the completion day (a 2025 result was a 2025 class).
    starts_on = completed_on - timedelta(days=11) if completed_on else date(2026, 3, 2)
    cohort = make_cohort(region_code=region, course=get_course(course), starts_on=starts_on)
    founder = make_founder(region_code=region, registered_on=date(2026, 2, 1))
    make_enrollment(cohort, founder, result=result, completed_on=completed_on)
    return founder


def _pay(loan: Any, paid_on: date, amount: str) -> None:
    from app.auth.models import User

    operations.post_repayment(
        db.session.get(User, loan.approved_by_id),
        loan.id,
        {"paid_on": paid_on, "amount": Decimal(amount), "reference": f"R-{loan.id}-{paid_on}"},
        as_of=paid_on,
    )


def _task(
    founder: Any,
    status: str,
    due_on: date,
    sequence: int,
    done_on: date | None = None,
    closed_on: date | None = None,
):
    db.session.add(
        FollowupTask(
            kind="intake_contact",
            subject_type="founder",
            subject_id=founder.id,
            founder_id=founder.id,
            sequence=sequence,
            due_on=due_on,
            status=status,
            region_code=founder.region_code,
            done_on=done_on,
            closed_on=closed_on or done_on,
        )
    )


def _targets(region_code: str, values: dict[str, Any], year: int = YEAR) -> None:
    db.session.add(RegionTarget(year=year, region_code=region_code, **values))


@pytest.fixture
def records(db_session):
    """Haikou and Sanya with training, businesses, loans and follow-ups; a business kept at
    province level; Qionghai with a target and no records; records after D and before the
    year that must not count."""
    # Haikou: 3 passed (one opens within 3 months, one within 6), 1 failed, 1 before the year.
    opener = _enroll(HAIKOU, "passed", date(2026, 3, 13))
    make_business(opener, opened_on=date(2026, 5, 4), employees_at_opening=3)
    late = _enroll(HAIKOU, "passed", date(2026, 3, 13))
    grew = make_business(late, opened_on=date(2026, 8, 1), employees_at_opening=1)
    make_observation(grew, observed_on=date(2026, 9, 1), employees=4)
    make_observation(grew, observed_on=date(2026, 10, 2), employees=9)  # after D
    _enroll(HAIKOU, "passed", date(2026, 3, 13))
    _enroll(HAIKOU, "failed", date(2026, 3, 13))
    _enroll(HAIKOU, "passed", date(2025, 12, 12))  # last year: not in the period
    closed = make_business(make_founder(region_code=HAIKOU), opened_on=date(2026, 2, 1))
    make_observation(closed, status="closed", observed_on=date(2026, 6, 1))
    make_business(make_founder(region_code=HAIKOU), opened_on=date(2025, 6, 1))  # last year
    # Haikou loans: one paid on time once, then late; one disbursed after D.
    loan = make_loan(
        region_code=HAIKOU,
        amount=Decimal("12000.00"),
        term_months=12,
        repayment_method="equal_principal",
        disbursed_on=date(2026, 1, 31),
    )
    _pay(loan, date(2026, 2, 27), "1000.00")
    _pay(loan, date(2026, 4, 10), "1031.63")
    make_loan(region_code=HAIKOU, amount=Decimal("50000.00"), disbursed_on=date(2026, 10, 10))
    haikou_founder = make_founder(region_code=HAIKOU)
    _task(haikou_founder, "done", date(2026, 6, 1), 1, done_on=date(2026, 5, 30))
    _task(haikou_founder, "missed", date(2026, 4, 1), 2, closed_on=date(2026, 5, 2))
    _task(haikou_founder, "open", date(2026, 9, 20), 3)

    # Sanya: one pass and one fail, a business, a loan paid ahead, a follow-up done.
    sanya_founder = _enroll(SANYA, "passed", date(2026, 4, 10), course="GYB")
    _enroll(SANYA, "failed", date(2026, 4, 10), course="IYB")
    make_business(sanya_founder, opened_on=date(2026, 6, 1), employees_at_opening=5)
    sanya_loan = make_loan(
        region_code=SANYA,
        amount=Decimal("6000.00"),
        term_months=6,
        repayment_method="equal_principal",
        disbursed_on=date(2026, 3, 15),
    )
    _pay(sanya_loan, date(2026, 4, 1), "3000.00")
    _task(sanya_founder, "done", date(2026, 7, 1), 1, done_on=date(2026, 7, 1))

    # Kept at the province itself.
    make_business(make_founder(region_code=PROVINCE), opened_on=date(2026, 4, 1))

    _targets(PROVINCE, PROVINCE_TARGETS)
    _targets(HAIKOU, HAIKOU_TARGETS)
    _targets(QIONGHAI, {"trainees": 10})
    _targets(SANYA, {"trainees": 99}, year=YEAR - 1)  # another year's target
    db.session.flush()


# --- reading the file back -------------------------------------------------------------


def _workbook(region_code: str = PROVINCE, *, produced_by: str = "张敏") -> bytes:
    return build_statistics_workbook(
        region_code, YEAR, D, produced_by=produced_by, produced_at=PRODUCED_AT
    )


def _read_back(data: bytes) -> pd.DataFrame:
    """The table sheet as pandas reads it (two header rows below the title), its columns
    renamed to the frame's machine names, indexed by region code (the total as "total")."""
    sheet = pd.read_excel(io.BytesIO(data), sheet_name=0, header=[1, 2], engine="openpyxl")
    sheet.columns = [column.name for column in COLUMNS]
    codes = sheet["region_code"].astype(str).tolist()
    codes[-1] = "total"
    return sheet.set_index(pd.Index(codes))


def _expected(
    kpis: dict[str, Any], targets: dict[str, Any] | None, whole: dict[str, Any]
) -> dict[str, Any]:
    """A row as the API's figures and the targets say it should read: the year's figures,
    but 12-month survival over every business opened by D (`whole`, without a period)."""
    row: dict[str, Any] = {
        column: (whole if group == "survival" and column.startswith("survival_") else kpis)[group][
            figure
        ]
        for column, (group, figure) in FIGURES.items()
    }
    row["loans_amount_actual"] = Decimal(row["loans_amount_actual"])
    for field in TARGETED:
        target = (targets or {}).get(field)
        actual = row[f"{field}_actual"]
        row[f"{field}_target"] = target
        row[f"{field}_progress"] = (
            round(float(Decimal(actual) / Decimal(target)), 4) if target else None
        )
    return row


def _assert_row(got: pd.Series, expected: dict[str, Any], where: str) -> None:
    assert set(expected) <= set(got.index)
    for column, value in expected.items():
        if value is None:
            assert pd.isna(got[column]), f"{where} {column}: {got[column]!r}, expected empty"
        else:
            assert got[column] == float(value), f"{where} {column}: {got[column]!r} != {value!r}"


# --- the figures ---------------------------------------------------------------------


def test_every_figure_of_every_row_is_the_kpi_engines(records):
    table = _read_back(_workbook())
    cities = [
        code
        for (code,) in db.session.execute(
            db.select(Region.code).where(Region.parent_code == PROVINCE).order_by(Region.code)
        )
    ]
    targets = {HAIKOU: HAIKOU_TARGETS, QIONGHAI: {"trainees": 10}}

    # The province's own records first, then every city (with or without records), the total.
    assert table.index.tolist() == [PROVINCE, *cities, "total"]
    for code in cities:
        expected = _expected(
            compute_kpis(code, D, START, D), targets.get(code), compute_kpis(code, D)
        )
        _assert_row(table.loc[code], expected, code)
    total = _expected(
        compute_kpis(PROVINCE, D, START, D), PROVINCE_TARGETS, compute_kpis(PROVINCE, D)
    )
    _assert_row(table.loc["total"], total, "total")
    assert str(table.loc["total", "region_code"]) == PROVINCE
    assert table.loc["total", "region_name"] == _("Total")

    # Hand-checked against the records, so the comparison above is not of empty figures.
    haikou = table.loc[HAIKOU]
    assert haikou["trainees_actual"] == 4  # the 2025 pass is outside the period
    assert haikou["pass_rate"] == 0.75
    assert haikou["businesses_opened_actual"] == 3  # the 2025 business is not counted
    assert haikou["jobs_created_actual"] == 3 + 4  # the observation after D not yet known
    assert haikou["loans_count_actual"] == 1
    assert haikou["loans_amount_actual"] == 12000.0
    assert haikou["opening_rate_3m"] == pytest.approx(1 / 3, abs=1e-4)
    assert haikou["opening_rate_6m"] == pytest.approx(2 / 3, abs=1e-4)
    assert haikou["response_rate"] == 0.3333
    assert table.loc["total", "trainees_actual"] == 6
    assert table.loc["total", "businesses_opened_actual"] == 5  # 3 + 1 + the province's own


def test_the_province_level_row_holds_the_records_kept_at_the_province(records):
    frame = statistics_frame(PROVINCE, YEAR, D)
    own = frame.iloc[0]
    assert own["region_code"] == PROVINCE
    assert own["region_name"] == _("%(region)s, province level", region="海南省")
    assert own["businesses_opened_actual"] == 1
    assert pd.isna(own["businesses_opened_target"])  # the province's target is the total's
    rows = frame[~frame["is_total"]]
    # Counts of the rows add up to the total (the rates are not averaged: see the total).
    for column in ("trainees_actual", "businesses_opened_actual", "loans_count_actual"):
        assert rows[column].sum() == frame.iloc[-1][column]
    assert rows["loans_amount_actual"].sum() == frame.iloc[-1]["loans_amount_actual"]


def test_the_total_row_matches_get_api_v1_kpis(records, api_as):
    api = api_as("staff", PROVINCE)

    def through_api(region_code: str, period: str = f"&from={START}&to={D}") -> dict[str, Any]:
        response = api.get(f"/api/v1/kpis?region_code={region_code}&as_of={D}{period}")
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    table = _read_back(_workbook())
    for code, targets, where in ((PROVINCE, PROVINCE_TARGETS, "total"), (SANYA, None, SANYA)):
        expected = _expected(through_api(code), targets, through_api(code, period=""))
        _assert_row(table.loc[where], expected, where)


def test_a_city_has_its_own_row_and_the_total(records):
    table = _read_back(_workbook(HAIKOU))

    assert table.index.tolist() == [HAIKOU, "total"]
    expected = _expected(compute_kpis(HAIKOU, D, START, D), HAIKOU_TARGETS, compute_kpis(HAIKOU, D))
    _assert_row(table.loc[HAIKOU], expected, HAIKOU)
    _assert_row(table.loc["total"], expected, "total")


def test_a_city_without_records_still_has_its_row(records):
    row = _read_back(_workbook()).loc[QIONGHAI]

    for column in (
        "trainees_actual",
        "businesses_opened_actual",
        "jobs_created_actual",
        "loans_count_actual",
        "loans_amount_actual",
    ):
        assert row[column] == 0, column
    for column in ("pass_rate", "opening_rate_3m", "survival_km_12m", "par30", "response_rate"):
        assert pd.isna(row[column]), column
    assert row["trainees_target"] == 10
    assert row["trainees_progress"] == 0.0  # 0 of 10
    assert pd.isna(row["loans_count_target"])
    assert pd.isna(row["loans_count_progress"])


def test_targets_and_percentages(records):
    table = _read_back(_workbook())

    haikou = table.loc[HAIKOU]
    assert haikou["trainees_target"] == 4
    assert haikou["trainees_progress"] == 1.0  # 4 of 4
    assert haikou["businesses_opened_progress"] == 0.375  # 3 of 8
    assert haikou["loans_amount_target"] == 40000.0
    assert haikou["loans_amount_progress"] == 0.3  # 12,000 of 40,000
    assert pd.isna(haikou["jobs_created_target"])
    assert pd.isna(haikou["jobs_created_progress"])
    assert pd.isna(table.loc[SANYA, "trainees_target"])  # its target is for another year
    total = table.loc["total"]
    assert total["trainees_target"] == 100  # the province's own, not its cities' sum
    assert total["trainees_progress"] == 0.06
    assert total["loans_count_target"] == 0
    assert pd.isna(total["loans_count_progress"])  # a target of 0 has no percentage


# --- layout, formats, notes ----------------------------------------------------------


def test_layout_title_two_level_header_and_number_formats(records):
    sheet = load_workbook(io.BytesIO(_workbook())).worksheets[0]
    last = len(COLUMNS)

    title = sheet.cell(row=1, column=1).value
    assert "海南省" in title
    assert str(YEAR) in title
    assert D.isoformat() in title
    merged = {str(cells) for cells in sheet.merged_cells.ranges}
    assert f"A1:{get_column_letter(last)}1" in merged
    assert {"A2:A3", "B2:B3"} <= merged  # region and code over both header rows
    groups = [sheet.cell(row=2, column=position).value for position in range(3, last + 1)]
    assert [group for group in groups if group is not None] == [
        _("Training"),
        _("Opening"),
        _("Survival"),
        _("Job creation"),
        _("Loans"),
        _("Follow-up response"),
    ]
    assert "C2:F2" in merged  # training: trainees target, actual, %, pass rate
    assert sheet.freeze_panes == "C4"

    positions = {column.name: position for position, column in enumerate(COLUMNS, start=1)}
    haikou_row = next(
        row for row in range(4, sheet.max_row + 1) if sheet.cell(row, 2).value == HAIKOU
    )
    assert sheet.cell(haikou_row, positions["pass_rate"]).number_format == "0.0%"
    assert sheet.cell(haikou_row, positions["trainees_progress"]).number_format == "0.0%"
    assert sheet.cell(haikou_row, positions["loans_amount_actual"]).number_format == "#,##0.00"
    assert sheet.cell(haikou_row, positions["loans_amount_target"]).number_format == "#,##0.00"
    assert isinstance(sheet.cell(haikou_row, positions["pass_rate"]).value, float)
    assert sheet.cell(sheet.max_row, 1).value == _("Total")
    assert sheet.cell(sheet.max_row, 1).font.bold


def test_headers_are_chinese_by_default_and_english_for_english_users(records):
    sheet = load_workbook(io.BytesIO(_workbook())).worksheets[0]
    # Strings the catalog already has read in Chinese; new ones as the catalog gives them.
    assert sheet.title == _("Statistics")
    assert sheet["A2"].value == "地区"
    assert sheet["B2"].value == "地区代码"
    assert sheet["C2"].value == "培训"
    assert sheet.cell(sheet.max_row, 1).value == "合计"
    headers = [sheet.cell(row=3, column=position).value for position in range(3, 8)]
    assert headers[3] == _("Training pass rate")
    assert sheet["A5"].value == "海口市"

    with force_locale("en"):
        english = load_workbook(io.BytesIO(_workbook())).worksheets
    table, notes = english
    assert table.title == "Statistics"
    assert notes.title == "Notes"
    hainan = db.session.get(Region, PROVINCE).name_en
    assert table["A1"].value == f"{hainan}: statistics table 2026, as of 2026-09-30"
    assert [table["A2"].value, table["B2"].value, table["C2"].value] == [
        "Region",
        "Region code",
        "Training",
    ]
    assert [table.cell(row=3, column=position).value for position in range(3, 7)] == [
        "Trainees: target",
        "Trainees: actual",
        "Trainees: % of target",
        "Training pass rate",
    ]
    assert table.cell(table.max_row, 1).value == "Total"


def test_notes_sheet_has_definitions_and_who_produced_it_when(records):
    notes = load_workbook(io.BytesIO(_workbook(produced_by="zhang.min"))).worksheets[1]
    assert notes.title == _("Notes")
    text = "\n".join(
        " ".join(str(value) for value in row if value is not None)
        for row in notes.iter_rows(values_only=True)
    )
    assert "zhang.min" in text
    assert "2026-10-08 09:30" in text  # produced_at in China time
    assert "2026-01-01" in text
    assert "2026-09-30" in text
    assert _("Follow-up response rate") in text
    assert _("Portfolio at risk over 30 days (PAR30)") in text
    assert notes.max_row >= 15


# --- escaping ------------------------------------------------------------------------


def test_text_starting_with_a_formula_trigger_is_escaped(records):
    db.session.add(
        Region(
            code="469099",
            name='=HYPERLINK("http://evil.example","click")',
            level="city",
            parent_code=PROVINCE,
        )
    )
    db.session.flush()
    make_business(make_founder(region_code="469099"), opened_on=date(2026, 3, 1))

    workbook = load_workbook(io.BytesIO(_workbook(produced_by="@admin")))
    table = workbook.worksheets[0]
    names = [table.cell(row=row, column=1).value for row in range(4, table.max_row + 1)]
    assert '\'=HYPERLINK("http://evil.example","click")' in names
    texts = [
        cell.value
        for sheet in workbook.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if isinstance(cell.value, str)
    ]
    assert not [text for text in texts if text.startswith(("=", "+", "-", "@"))]
    assert any("@admin" in text for text in texts)  # inside a sentence: nothing to escape
    # Still the figures of that region.
    row = _read_back(_workbook()).loc["469099"]
    assert row["businesses_opened_actual"] == 1


# --- input ---------------------------------------------------------------------------


def test_period_is_the_year_up_to_the_cut_off(db_session):
    assert statistics_period(2026, date(2026, 11, 23)) == (date(2026, 1, 1), date(2026, 11, 23))
    assert statistics_period(2025, date(2026, 3, 31)) == (date(2025, 1, 1), date(2025, 12, 31))
    assert statistics_period(2026, date(2026, 1, 1)) == (date(2026, 1, 1), date(2026, 1, 1))


def test_bad_input_names_its_field(db_session):
    with pytest.raises(ValidationFailed) as before_the_year:
        statistics_frame(PROVINCE, 2026, date(2025, 12, 31))
    assert list(before_the_year.value.errors) == ["as_of"]
    with pytest.raises(ValidationFailed) as bad_year:
        _workbook_for_year(1999)
    assert list(bad_year.value.errors) == ["year"]
    with pytest.raises(NotFound):
        statistics_frame("999999", 2026, D)


def _workbook_for_year(year: int) -> bytes:
    return build_statistics_workbook(PROVINCE, year, D, produced_by="x", produced_at=PRODUCED_AT)


def test_filename():
    assert statistics_filename("460000", 2026, date(2026, 11, 23)) == (
        "statistics-460000-2026-20261123.xlsx"
    )
    assert statistics_filename("46/../0", 2026, date(2026, 1, 2)) == (
        "statistics-460-2026-20260102.xlsx"
    )
