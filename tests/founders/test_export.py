"""Export of the filtered founder list to .xlsx (SPEC §4, §5)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from flask_babel import force_locale
from openpyxl import load_workbook

from app.core.errors import ValidationFailed
from app.core.spreadsheets import open_binary
from app.founders import export
from app.founders.export import export_filename, export_founders_xlsx
from app.founders.models import mask_id_number
from app.founders.queries import FounderFilters
from tests.factories import make_founder, make_user
from tests.founders.helpers import HAIKOU, SANYA

EXPORTED_AT = datetime(2026, 11, 22, 7, 30, tzinfo=UTC)  # 15:30 in China


@pytest.fixture
def exported(db_session):
    """Run an export and read its workbook back; the temporary file is removed after."""
    paths: list[Path] = []

    def run(user, filters=None):
        with force_locale("en"):
            path, count = export_founders_xlsx(user, filters, exported_at=EXPORTED_AT)
        paths.append(path)
        workbook = load_workbook(path, read_only=False)
        founders, info = workbook.worksheets
        rows = list(founders.iter_rows(values_only=True))
        return count, rows, dict(info.iter_rows(values_only=True)), workbook

    yield run
    for path in paths:
        path.unlink(missing_ok=True)


@pytest.fixture
def register(db_session):
    haikou = [
        make_founder(name="李娜", region_code=HAIKOU, registered_on=date(2026, 3, 1)),
        make_founder(
            name="王强",
            region_code=HAIKOU,
            target_group="college_graduate",
            education=None,
            has_reemployment_certificate=True,
            registered_on=date(2026, 5, 1),
        ),
    ]
    sanya = [make_founder(name="陈静", region_code=SANYA, registered_on=date(2026, 4, 1))]
    return haikou, sanya


def test_export_is_the_scoped_list(exported, register):
    haikou, sanya = register
    staff = make_user(role="staff", region_code=HAIKOU)
    count, rows, info, _ = exported(staff)

    assert count == 2
    header, *data = rows
    assert header[:3] == ("Founder ID", "Name", "ID number (masked)")
    assert [row[0] for row in data] == [haikou[1].id, haikou[0].id]  # newest first
    assert sanya[0].id not in {row[0] for row in data}
    assert info["Founders"] == 2


def test_province_staff_export_every_city(exported, register):
    province = make_user(role="staff", region_code="460000")
    count, rows, _info, _ = exported(province)
    assert count == 3
    assert {row[7] for row in rows[1:]} == {"Haikou", "Sanya"}


def test_export_takes_the_list_filters(exported, register):
    haikou, _sanya = register
    province = make_user(role="staff", region_code="460000")
    filters = FounderFilters(target_group="college_graduate", registered_from=date(2026, 4, 15))
    count, rows, info, _ = exported(province, filters)
    assert count == 1
    assert rows[1][0] == haikou[1].id
    assert info["Target group"] == "College graduate"
    assert info["Registered from"] == "2026-04-15"


def test_rows_hold_labels_and_only_masked_id_numbers(exported, register):
    haikou, _sanya = register
    staff = make_user(role="staff", region_code=HAIKOU)
    _count, rows, _info, workbook = exported(staff)
    second = rows[1]  # 王强, registered last
    assert second == (
        haikou[1].id,
        "王强",
        mask_id_number(haikou[1].id_number),
        "Male",
        datetime.combine(haikou[1].birth_date, datetime.min.time()),
        haikou[1].phone,
        HAIKOU,
        "Haikou",
        "College graduate",
        None,
        "Yes",
        datetime.combine(date(2026, 5, 1), datetime.min.time()),
    )
    assert rows[2][9] == "High school"
    assert rows[2][10] == "No"
    every_cell = {
        str(value)
        for sheet in workbook.worksheets
        for row in sheet.iter_rows(values_only=True)
        for value in row
    }
    for founder in haikou:
        assert not any(founder.id_number in cell for cell in every_cell)


def test_formula_like_names_are_escaped(exported, db_session):
    make_founder(name="=1+1", region_code=HAIKOU)
    make_founder(name="@cmd", region_code=HAIKOU)
    staff = make_user(role="staff", region_code=HAIKOU)
    _count, rows, _info, workbook = exported(staff)
    assert {row[1] for row in rows[1:]} == {"'=1+1", "'@cmd"}
    sheet = workbook.worksheets[0]
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_info_sheet_has_time_count_and_filters(exported, register):
    staff = make_user(role="staff", region_code=HAIKOU)
    _count, _rows, info, _ = exported(staff, FounderFilters(q="李"))
    assert info["Exported at"] == "2026-11-22 15:30:00 (UTC+8)"
    assert info["Exported by"] == staff.username
    assert info["Founders"] == 1
    assert info["Search"] == "李"


def test_empty_export_is_a_valid_workbook(exported, db_session):
    staff = make_user(role="staff", region_code="469002")
    count, rows, info, _ = exported(staff)
    assert count == 0
    assert len(rows) == 1  # the header row only
    assert info["Founders"] == 0


def test_other_roles_see_only_their_scope(exported, register):
    founder_user = make_user(role="founder", region_code=HAIKOU)
    count, rows, _info, _ = exported(founder_user)
    assert count == 1  # a founder's own record and nobody else's
    assert rows[1][0] == founder_user.founder_id


def test_export_file_is_opened_then_unlinked(db_session, register):
    staff = make_user(role="staff", region_code=HAIKOU)
    path, _count = export_founders_xlsx(staff, exported_at=EXPORTED_AT)
    with open_binary(path) as handle:
        assert not path.exists()
        assert handle.read(2) == b"PK"
    assert export_filename(EXPORTED_AT) == "founders-20261122-1530.xlsx"


def test_more_founders_than_a_sheet_holds_is_refused(db_session, register, monkeypatch):
    monkeypatch.setattr(export, "MAX_EXPORT_ROWS", 1)
    staff = make_user(role="staff", region_code=HAIKOU)
    with pytest.raises(ValidationFailed) as excinfo:
        export_founders_xlsx(staff, exported_at=EXPORTED_AT)
    assert list(excinfo.value.errors) == ["filters"]
    path, count = export_founders_xlsx(staff, FounderFilters(q="李"), exported_at=EXPORTED_AT)
    path.unlink()
    assert count == 1


def test_a_failed_export_leaves_no_temporary_files(db_session, register, monkeypatch, tmp_path):
    import tempfile

    created = []
    named_temporary_file = tempfile.NamedTemporaryFile

    def recording(*args, **kwargs):
        handle = named_temporary_file(*args, **kwargs)
        created.append(handle.name)
        return handle

    def broken(id_number):
        raise RuntimeError("database went away")

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(tempfile, "NamedTemporaryFile", recording)
    monkeypatch.setattr(export, "mask_id_number", broken)
    staff = make_user(role="staff", region_code=HAIKOU)
    with pytest.raises(RuntimeError):
        export_founders_xlsx(staff, exported_at=EXPORTED_AT)
    assert created  # the sheets had their temporary files ...
    assert not list(tmp_path.iterdir())  # ... and they are gone
