"""Uploads that are tiny on disk but huge as a grid are read within bounded memory."""

from __future__ import annotations

import io
import resource

from openpyxl import Workbook

from app.core.spreadsheets import MAX_COLUMNS, _is_compact_sheet, _read_csv, _read_xlsx


def _peak_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def _workbook_bytes(cells: dict[str, str]) -> bytes:
    workbook = Workbook()
    for reference, value in cells.items():
        workbook.active[reference] = value
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_a_cell_far_to_the_right_does_not_build_a_huge_grid():
    data = _workbook_bytes({"A1": "姓名", "B1": "身份证号", "XFD20000": "x"})
    before = _peak_mb()
    frame = _read_xlsx(data, max_rows=1000)
    assert frame.shape[1] <= MAX_COLUMNS
    assert frame.iloc[0, 0] == "姓名"
    assert _peak_mb() - before < 200  # calamine would have asked for about 10 GB


def test_an_ordinary_sheet_takes_the_fast_reader():
    data = _workbook_bytes({"A1": "姓名", "B1": "手机号", "A2": "王芳", "B2": "13900000000"})
    with io.BytesIO(data) as buffer:
        import zipfile

        with zipfile.ZipFile(buffer) as archive:
            sheet = archive.read("xl/worksheets/sheet1.xml")
    assert _is_compact_sheet(sheet)
    frame = _read_xlsx(data, max_rows=10)
    assert frame.iloc[1, 0] == "王芳"


def test_cells_without_references_are_streamed_not_loaded_whole():
    assert not _is_compact_sheet(b'<row r="1"><c r="A1"/><c t="s"><v>0</v></c></row>')
    assert not _is_compact_sheet(b'<row r="1048576"><c r="AZ1048576"><v>1</v></c></row>')


def test_a_csv_of_endless_commas_is_cut_to_the_columns_an_import_reads():
    line = "," * 50_000
    data = ("姓名,身份证号\n" + "\n".join([line] * 200)).encode()  # 10 MB, under the upload cap
    before = _peak_mb()
    frame = _read_csv(data)
    assert frame.shape == (201, MAX_COLUMNS)
    assert _peak_mb() - before < 100  # padding every line to 50,000 cells took gigabytes


def test_a_workbook_that_unpacks_too_large_is_refused(monkeypatch):
    """The unpacked-size check (security review gap 12): the limit is lowered so that a
    small, valid workbook is over it; it is refused as a file error before it is parsed."""
    import pytest

    from app.core import spreadsheets
    from app.core.errors import ValidationFailed

    data = _workbook_bytes({"A1": "姓名", "B1": "手机号", "A2": "王芳", "B2": "13900000000"})
    assert not _read_xlsx(data, max_rows=10).empty
    monkeypatch.setattr(spreadsheets, "MAX_UNPACKED_BYTES", 1000)
    with pytest.raises(ValidationFailed) as refused:
        _read_xlsx(data, max_rows=10)
    assert "file" in refused.value.errors
