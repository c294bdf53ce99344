"""Import and export of library projects as real .xlsx files (issue 4, part 6)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask_babel import force_locale
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from app.core.audit import AuditEntry
from app.core.errors import PermissionDenied, ValidationFailed
from app.extensions import db
from app.library.models import LibraryProject
from app.library.spreadsheets import (
    EXAMPLE_TITLE,
    TEMPLATE_HEADERS,
    export_filename,
    export_projects_xlsx,
    import_projects,
    industry_lookup,
    parse_amount,
    project_import_report_workbook,
    project_import_template,
)
from tests.factories import DEFAULT_AS_OF, make_user

HAINAN = "460000"
HAIKOU = "460100"
SANYA = "460200"
EXPORTED_AT = datetime(2026, 11, 22, 7, 30, tzinfo=UTC)  # 15:30 in China
HEADERS_ZH = list(TEMPLATE_HEADERS)
HEADERS_EN = [
    "Title",
    "Industry",
    "investment_min",
    "Investment max",
    "Payback months",
    "Jobs potential",
    "Summary",
    "Market",
    "Risks",
    "Startup steps",
    "Licences",
    "Expert contact",
]


def project_row(**overrides: Any) -> list[Any]:
    """One valid data row in the template's column order."""
    values = {
        "title": "海南粉小吃店",
        "industry": "餐饮",
        "investment_min": 50000,
        "investment_max": "120000.50",
        "payback_months": 12,
        "jobs_potential": 4,
        "summary": "开设海南粉小吃店，早餐和午餐为主，兼做外卖。",
        "market": "社区和学校周边客流稳定。",
        "risks": "同类店铺多。",
        "startup_steps": "1. 选址；2. 办证；3. 开业。",
        "licences": "营业执照、食品经营许可证",
        "expert_contact": "海口市创业指导中心 李明",
    }
    values.update(overrides)
    return list(values.values())


def xlsx_file(headers: list[Any], rows: list[list[Any]]) -> bytes:
    """A real workbook made with openpyxl, as an upload would bring it."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def run_import(actor: Any, data: bytes, **kwargs: Any):
    kwargs.setdefault("as_of", DEFAULT_AS_OF)
    return import_projects(actor, io.BytesIO(data), "projects.xlsx", **kwargs)


def problems(result: Any) -> list[tuple[int, str]]:
    return [(error["row"], error["field"]) for error in result.errors]


def project_count() -> int:
    return db.session.scalar(select(func.count()).select_from(LibraryProject))


def make_project(region_code: str = HAIKOU, **fields: Any) -> LibraryProject:
    values: dict[str, Any] = {
        "title": "已有项目",
        "level": "province" if region_code.endswith("0000") else "city",
        "region_code": region_code,
        "industry": "retail",
        "investment_min": Decimal("1000.00"),
        "investment_max": Decimal("2000.00"),
        "payback_months": 6,
        "jobs_potential": 1,
        "summary": "一个已有的项目。",
        "status": "draft",
    }
    values.update(fields)
    project = LibraryProject(**values)
    db.session.add(project)
    db.session.flush()
    return project


@pytest.fixture
def haikou_staff(db_session):
    return make_user(role="staff", region_code=HAIKOU)


@pytest.fixture
def province_staff(db_session):
    return make_user(role="staff", region_code=HAINAN)


# --- good files -----------------------------------------------------------------------


def test_chinese_headers_create_city_drafts_with_an_audit_entry_each(haikou_staff):
    rows = [
        project_row(),
        project_row(
            title="手机维修店",
            industry="repair",
            investment_min="2万",
            investment_max="50,000",
            payback_months="8个月",
            jobs_potential="2人",
            market="",
        ),
    ]
    result = run_import(haikou_staff, xlsx_file(HEADERS_ZH, rows))

    assert (result.total_rows, len(result.created), result.errors) == (2, 2, [])
    projects = {p.title: p for p in db.session.scalars(select(LibraryProject))}
    noodles, repair = projects["海南粉小吃店"], projects["手机维修店"]
    assert sorted(result.created) == sorted([noodles.id, repair.id])
    assert (noodles.level, noodles.region_code, noodles.status) == ("city", HAIKOU, "draft")
    assert noodles.industry == "catering"
    assert noodles.investment_min == Decimal("50000.00")
    assert noodles.investment_max == Decimal("120000.50")
    assert noodles.licences == "营业执照、食品经营许可证"
    assert noodles.published_at is None
    assert (repair.industry, repair.investment_min, repair.investment_max) == (
        "repair",
        Decimal("20000.00"),
        Decimal("50000.00"),
    )
    assert (repair.payback_months, repair.jobs_potential, repair.market) == (8, 2, "")

    entries = list(
        db.session.scalars(select(AuditEntry).where(AuditEntry.action.like("library_project%")))
    )
    per_project = [e for e in entries if e.action == "library_project.import"]
    assert sorted(int(e.entity_id) for e in per_project) == sorted(result.created)
    first = next(e for e in per_project if int(e.entity_id) == noodles.id)
    assert first.actor_id == haikou_staff.id
    assert first.region_code == HAIKOU
    assert first.after["title"] == "海南粉小吃店"
    assert first.after["investment_max"] == "120000.50"
    (summary,) = [e for e in entries if e.action == "library_project_import.create"]
    assert summary.after["created_count"] == 2
    assert summary.after["error_count"] == 0
    assert summary.after["level"] == "city"


def test_english_headers_and_labels_create_province_projects(province_staff):
    rows = [
        project_row(title="Fruit live streaming", industry="E-commerce"),
        project_row(title="Homestay", industry="homestay"),
        project_row(title="Tea", industry=" Food Processing "),
    ]
    result = run_import(province_staff, xlsx_file(HEADERS_EN, rows))
    assert result.errors == []
    stored = db.session.execute(
        select(LibraryProject.title, LibraryProject.industry, LibraryProject.level)
        .where(LibraryProject.id.in_(result.created))
        .order_by(LibraryProject.id)
    ).all()
    assert [tuple(row) for row in stored] == [
        ("Fruit live streaming", "ecommerce", "province"),
        ("Homestay", "homestay", "province"),
        ("Tea", "food", "province"),
    ]
    assert all(
        region == HAINAN
        for region in db.session.scalars(
            select(LibraryProject.region_code).where(LibraryProject.id.in_(result.created))
        )
    )


# --- bad rows -------------------------------------------------------------------------


def bad_file() -> bytes:
    return xlsx_file(
        HEADERS_ZH,
        [
            project_row(title="好项目一"),
            project_row(title="", industry="航天"),  # row 3: title and industry
            project_row(title="好项目二"),
            project_row(title="回收期太长", payback_months=300, jobs_potential=-1),  # row 5
        ],
    )


def test_all_or_nothing_writes_nothing_when_a_row_is_bad(haikou_staff):
    before = project_count()
    result = run_import(haikou_staff, bad_file())
    assert result.created == []
    assert result.total_rows == 4
    assert problems(result) == [
        (3, "title"),
        (3, "industry"),
        (5, "payback_months"),
        (5, "jobs_potential"),
    ]
    assert project_count() == before
    assert result.to_json()["error_count"] == 4
    summary = db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == "library_project_import.create")
    )
    assert summary.after["created_count"] == 0


def test_valid_rows_writes_the_good_rows_and_reports_the_bad(haikou_staff):
    result = run_import(haikou_staff, bad_file(), mode="valid_rows")
    assert len(result.created) == 2
    assert {row for row, _field in problems(result)} == {3, 5}
    titles = set(
        db.session.scalars(
            select(LibraryProject.title).where(LibraryProject.id.in_(result.created))
        )
    )
    assert titles == {"好项目一", "好项目二"}


def test_money_with_three_decimals_and_min_above_max(haikou_staff):
    rows = [
        project_row(title="三位小数", investment_min="1000.005"),
        project_row(title="最低高于最高", investment_min=90000, investment_max=80000),
        project_row(title="不是金额", investment_max="很多"),
    ]
    with force_locale("en"):
        result = run_import(haikou_staff, xlsx_file(HEADERS_ZH, rows), mode="valid_rows")
    assert result.created == []
    assert problems(result) == [
        (2, "investment_min"),
        (3, "investment_max"),
        (4, "investment_max"),
    ]
    assert "2 decimals" in result.errors[0]["message"]
    assert "below the lowest" in result.errors[1]["message"]


def test_duplicate_titles_in_the_file_and_in_the_library(haikou_staff):
    existing = make_project(HAIKOU, title="老爸茶茶馆")
    make_project(SANYA, title="潜水培训")  # another region's title is no clash
    rows = [
        project_row(title="潜水培训"),
        project_row(title="老爸茶 茶馆"),  # the library's, spaces aside (row 3)
        project_row(title="潜水培训"),  # row 4 repeats row 2
    ]
    with force_locale("en"):
        result = run_import(haikou_staff, xlsx_file(HEADERS_ZH, rows), mode="valid_rows")
    assert problems(result) == [(3, "title"), (4, "title")]
    assert f"project {existing.id}" in result.errors[0]["message"]
    assert "row 2" in result.errors[1]["message"]
    assert len(result.created) == 1


def test_a_missing_column_makes_the_file_unusable(haikou_staff):
    headers = [h for h in HEADERS_ZH if h != "行业"]
    rows = [[v for i, v in enumerate(project_row()) if i != 1]]
    with pytest.raises(ValidationFailed) as excinfo:
        run_import(haikou_staff, xlsx_file(headers, rows))
    assert list(excinfo.value.errors) == ["file"]
    assert project_count() == 0


def test_only_staff_import(db_session):
    officer = make_user(role="officer", region_code=HAIKOU)
    with pytest.raises(PermissionDenied):
        run_import(officer, xlsx_file(HEADERS_ZH, [project_row()]))


def test_an_unknown_mode_is_refused(haikou_staff):
    with pytest.raises(ValidationFailed) as excinfo:
        run_import(haikou_staff, xlsx_file(HEADERS_ZH, [project_row()]), mode="some")
    assert list(excinfo.value.errors) == ["mode"]


# --- template and report ----------------------------------------------------------------


def test_the_filled_template_imports_and_its_example_row_is_skipped(haikou_staff):
    workbook = load_workbook(io.BytesIO(project_import_template()))
    sheet, industries = workbook.worksheets
    assert [cell.value for cell in sheet[1]] == HEADERS_ZH
    assert sheet["A2"].value == EXAMPLE_TITLE
    codes = [row[0] for row in industries.iter_rows(min_row=2, values_only=True)]
    assert "homestay" in codes
    assert len(codes) == 16
    chinese_names = {row[0]: row[1] for row in industries.iter_rows(min_row=2, values_only=True)}
    sheet.append(project_row(title="乡村民宿", industry=chinese_names["homestay"]))
    sheet.append(project_row(title="黎锦手工艺", industry=chinese_names["crafts"]))
    buffer = io.BytesIO()
    workbook.save(buffer)

    result = run_import(haikou_staff, buffer.getvalue())
    assert (result.total_rows, len(result.created), result.errors) == (2, 2, [])
    industries_stored = set(
        db.session.scalars(
            select(LibraryProject.industry).where(LibraryProject.id.in_(result.created))
        )
    )
    assert industries_stored == {"homestay", "crafts"}


def test_the_report_lists_every_problem(haikou_staff):
    with force_locale("en"):
        result = run_import(haikou_staff, bad_file())
        report = load_workbook(io.BytesIO(project_import_report_workbook(result.errors)))
    rows = list(report.worksheets[0].iter_rows(values_only=True))
    assert rows[0] == ("Row", "Column", "Problem")
    assert [(row, column) for row, column, _message in rows[1:]] == [
        (3, "Title"),
        (3, "Industry"),
        (5, "Payback (months)"),
        (5, "Jobs potential"),
    ]


def test_amounts_and_industries_people_write():
    assert parse_amount("5万") == "50000"
    assert parse_amount("1.5 万元") == "15000.0"
    assert parse_amount("¥12,000.50") == "12000.50"
    assert parse_amount("很多万") == "很多万"


def test_industry_names_in_both_languages(app):
    with app.app_context():
        lookup = industry_lookup()
    assert lookup["电商"] == "ecommerce"
    assert lookup["healthandelderlycare"] == "health"
    assert lookup["domestic_services"] == "domestic_services"


# --- export ---------------------------------------------------------------------------


@pytest.fixture
def exported(db_session):
    """Run an export and read its workbook back; the temporary file is removed after."""
    paths: list[Path] = []

    def run(stmt):
        with force_locale("en"):
            path, count = export_projects_xlsx(stmt, exported_at=EXPORTED_AT)
        paths.append(path)
        workbook = load_workbook(path)
        return count, workbook

    yield run
    for path in paths:
        path.unlink(missing_ok=True)


def test_export_writes_only_the_rows_passed_escaped_with_an_info_sheet(exported):
    origin = make_project(HAIKOU, title="=1+1", summary="+SUM(A1)", industry="catering")
    promoted = make_project(
        HAINAN,
        title="推广项目",
        status="published",
        published_at=datetime(2026, 3, 1, 20, 0, tzinfo=UTC),  # 2 March in China
        promoted_from_id=origin.id,
        investment_min=Decimal("12345.60"),
        investment_max=Decimal("20000.00"),
    )
    make_project(SANYA, title="不导出")
    stmt = (
        select(LibraryProject)
        .where(LibraryProject.id.in_([origin.id, promoted.id]))
        .order_by(LibraryProject.id)
    )
    count, workbook = exported(stmt)

    assert count == 2
    projects, info = workbook.worksheets
    rows = list(projects.iter_rows(values_only=True))
    headers = rows[0]
    assert len(rows) == 3
    first = dict(zip(headers, rows[1], strict=True))
    second = dict(zip(headers, rows[2], strict=True))
    assert first["Title"] == "'=1+1"
    assert first["Summary"] == "'+SUM(A1)"
    assert first["Industry"] == "Catering"
    assert (first["Level"], first["Region code"], first["Status"]) == (
        "City project",
        HAIKOU,
        "Draft",
    )
    assert first["Published on"] is None
    assert second["Promoted from project"] == origin.id
    assert second["Lowest investment (yuan)"] == pytest.approx(12345.6)
    assert second["Published on"].date().isoformat() == "2026-03-02"
    assert (second["Level"], second["Status"]) == ("Province project", "Published")
    assert projects.cell(row=3, column=7).number_format == "#,##0.00"
    assert "不导出" not in {row[1] for row in rows}

    details = dict(info.iter_rows(values_only=True))
    assert details["Exported at"] == "2026-11-22 15:30:00 (UTC+8)"
    assert details["Projects"] == 2


def test_export_filename_is_in_china_time():
    assert export_filename(EXPORTED_AT) == "library-projects-20261122-1530.xlsx"
