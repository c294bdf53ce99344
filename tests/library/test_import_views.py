"""The library's import and export pages, through the client."""

from __future__ import annotations

import io
import json

from openpyxl import load_workbook
from sqlalchemy import func, select

from app.extensions import db
from app.library.models import LibraryProject
from tests.library.factories import make_project
from tests.library.test_spreadsheets import HEADERS_ZH, bad_file, project_row, xlsx_file

HAIKOU = "460100"
ENGLISH = {"Accept-Language": "en"}


def _upload(client, data: bytes, mode: str = "all_or_nothing"):
    return client.post(
        "/library/import",
        data={"file": (io.BytesIO(data), "projects.xlsx"), "mode": mode},
        content_type="multipart/form-data",
        headers=ENGLISH,
    )


def test_a_curator_imports_drafts_and_downloads_the_report(client, login_as):
    login_as("staff", HAIKOU)
    response = _upload(client, bad_file(), mode="valid_rows")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'data-testid="created">2<' in page
    drafts = db.session.scalars(select(LibraryProject).where(LibraryProject.status == "draft"))
    assert {project.title for project in drafts} == {"好项目一", "好项目二"}

    problems = [{"row": 3, "field": "title", "message": "This field is required."}]
    report = client.post("/library/import/report.xlsx", data={"errors": json.dumps(problems)})
    assert report.status_code == 200
    sheet = load_workbook(io.BytesIO(report.data)).worksheets[0]
    assert [cell.value for cell in sheet[2]][:1] == [3]


def test_an_all_or_nothing_import_with_a_bad_row_writes_nothing(client, login_as):
    login_as("staff", HAIKOU)
    response = _upload(client, bad_file())
    assert response.status_code == 200
    assert db.session.scalar(select(func.count()).select_from(LibraryProject)) == 0


def test_a_file_that_is_not_a_spreadsheet_is_a_field_error(client, login_as):
    login_as("staff", HAIKOU)
    response = client.post(
        "/library/import",
        data={"file": (io.BytesIO(b"hello"), "projects.txt"), "mode": "all_or_nothing"},
        content_type="multipart/form-data",
        headers=ENGLISH,
    )
    assert response.status_code == 200
    assert ".xlsx" in response.get_data(as_text=True)


def test_founders_cannot_import(client, login_as):
    login_as("founder", HAIKOU)
    assert _upload(client, xlsx_file(HEADERS_ZH, [project_row()])).status_code == 403


def test_the_template_downloads(client, login_as):
    login_as("staff", HAIKOU)
    response = client.get("/library/import/template.xlsx")
    assert response.status_code == 200
    assert load_workbook(io.BytesIO(response.data)).worksheets[0]["A1"].value


def test_the_export_holds_only_what_the_list_shows(client, login_as):
    login_as("staff", "460200")  # Sanya staff: Sanya and Hainan projects, never Haikou's
    make_project(region_code="460200", title="三亚潜水")
    make_project(region_code="460000", title="省级椰子加工")
    make_project(region_code=HAIKOU, title="海口汽车美容")
    db.session.commit()
    response = client.get("/library/export.xlsx")
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(response.data)).worksheets[0].iter_rows(values_only=True))
    response.close()
    titles = {value for row in rows[1:] for value in row if isinstance(value, str)}
    assert {"三亚潜水", "省级椰子加工"} <= titles
    assert "海口汽车美容" not in titles


def test_the_report_escapes_formula_like_text(client, login_as):
    """Security review gap 13: the problems come back from the browser, so anything may be
    in them; text that reads as a formula is written as text."""
    login_as("staff", HAIKOU)
    hostile = '=HYPERLINK("http://evil.example","x")'
    problems = [
        {"row": 3, "field": "+cmd", "message": hostile},
        {"row": 4, "field": "title", "message": "@SUM(A1)"},
    ]
    report = client.post("/library/import/report.xlsx", data={"errors": json.dumps(problems)})
    assert report.status_code == 200
    workbook = load_workbook(io.BytesIO(report.data))
    cells = [cell for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    values = {cell.value for cell in cells}
    assert {"'" + hostile, "'+cmd", "'@SUM(A1)"} <= values
