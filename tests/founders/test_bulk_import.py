"""Bulk import of founders from real .xlsx and .csv files (SPEC §5, §15)."""

from __future__ import annotations

import io
from datetime import date, datetime, time
from typing import Any

import pytest
from flask_babel import force_locale
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select, text

from app.core.audit import AuditEntry
from app.core.errors import Conflict, ValidationFailed
from app.core.spreadsheets import cell_text, escape_formula, normalise_header
from app.extensions import db
from app.founders import bulk_import
from app.founders.bulk_import import (
    EXAMPLE_ID_NUMBER,
    import_founders,
    import_report_workbook,
    import_result_json,
    import_template_workbook,
    parse_sheet_bool,
    parse_sheet_date,
)
from app.founders.models import Founder, FounderImport
from tests.factories import make_founder, make_id_number, make_phone, make_user
from tests.founders.helpers import (
    HAIKOU,
    SANYA,
    count_rows,
    id_number_ending_in_x,
    with_wrong_check_char,
)

AS_OF = date(2026, 11, 22)
HEADERS_ZH = [
    "姓名",
    "身份证号",
    "手机号",
    "所属地区",
    "人员类别",
    "文化程度",
    "再就业优惠证",
    "登记日期",
]
HEADERS_EN = [
    "Name",
    "ID number",
    "Mobile phone",
    "Region code",
    "Target group",
    "Education",
    "Re-employment certificate",
    "Registered on",
]


def founder_row(**overrides: Any) -> list[Any]:
    """One valid data row in the template's column order (a Haikou founder)."""
    values = {
        "name": "李娜",
        "id_number": make_id_number(),
        "phone": make_phone(),
        "region_code": HAIKOU,
        "target_group": "下岗失业人员",
        "education": "高中",
        "has_reemployment_certificate": "否",
        "registered_on": date(2026, 1, 5),
    }
    values.update(overrides)
    return list(values.values())


def xlsx_file(headers: list[Any], rows: list[list[Any]], *, title_rows: int = 0) -> bytes:
    """A real workbook made with openpyxl, as an upload would bring it."""
    workbook = Workbook()
    sheet = workbook.active
    for _ in range(title_rows):
        sheet.append(["创业者花名册"])
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_file(headers: list[str], rows: list[list[Any]], encoding: str) -> bytes:
    lines = [",".join(headers)] + [",".join(str(value) for value in row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


@pytest.fixture
def staff(db_session):
    return make_user(role="staff", region_code=HAIKOU)


def run_import(actor, data: bytes, filename: str = "founders.xlsx", **kwargs: Any):
    kwargs.setdefault("as_of", AS_OF)
    return import_founders(actor, io.BytesIO(data), filename, **kwargs)


def problems(founder_import: FounderImport) -> list[tuple[int, str]]:
    return [(error["row"], error["field"]) for error in founder_import.errors]


def file_error_of(excinfo: pytest.ExceptionInfo) -> str:
    assert list(excinfo.value.errors) == ["file"]
    return excinfo.value.errors["file"][0]


# --- good files -----------------------------------------------------------------------


def test_good_file_with_chinese_headers_and_labels(staff):
    with_x = id_number_ending_in_x()
    rows = [
        founder_row(id_number=with_x, has_reemployment_certificate="是"),
        founder_row(
            name="王强",
            phone=13912345678,  # typed as a number in Excel
            target_group="college_graduate",
            education="本科",
            registered_on="2026/03/01",
        ),
        founder_row(name="陈静", region_code="海口市", education="", registered_on=None),
    ]
    result = run_import(staff, xlsx_file(HEADERS_ZH, rows))

    assert (result.created_count, result.error_count, result.total_rows) == (3, 0, 3)
    founders = {f.name: f for f in db.session.scalars(select(Founder))}
    first = founders["李娜"]
    assert first.id_number == with_x
    assert (first.target_group, first.education) == ("laid_off", "high_school")
    assert first.has_reemployment_certificate is True
    assert first.registered_on == date(2026, 1, 5)
    assert first.birth_date == date(int(with_x[6:10]), int(with_x[10:12]), int(with_x[12:14]))
    second = founders["王强"]
    assert second.phone == "13912345678"
    assert (second.target_group, second.education) == ("college_graduate", "bachelor")
    assert second.registered_on == date(2026, 3, 1)
    third = founders["陈静"]
    assert third.region_code == HAIKOU
    assert third.education is None
    assert third.registered_on == AS_OF  # empty: registered today, as in the form


def test_english_headers_with_codes_and_english_labels(staff):
    rows = [
        founder_row(
            target_group="laid_off", education="junior_high", has_reemployment_certificate="yes"
        ),
        founder_row(
            target_group="Laid-off / unemployed",
            education="Bachelor's degree",
            has_reemployment_certificate="N",
            registered_on="2026-02-03",
        ),
    ]
    result = run_import(staff, xlsx_file(HEADERS_EN, rows))
    assert (result.created_count, result.error_count) == (2, 0)
    stored = db.session.execute(
        select(
            Founder.target_group, Founder.education, Founder.has_reemployment_certificate
        ).order_by(Founder.id)
    ).all()
    assert [tuple(row) for row in stored] == [
        ("laid_off", "junior_high", True),
        ("laid_off", "bachelor", False),
    ]


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig", "utf-8"])
def test_csv_in_gbk_and_utf8(staff, encoding):
    rows = [
        founder_row(registered_on="2026-01-05"),
        founder_row(name="赵敏", id_number=id_number_ending_in_x(), registered_on="2026/1/6"),
    ]
    result = run_import(staff, csv_file(HEADERS_ZH, rows, encoding), "名单.csv")
    assert (result.created_count, result.error_count) == (2, 0)
    assert set(db.session.scalars(select(Founder.name))) == {"李娜", "赵敏"}
    assert result.filename == "名单.csv"


def test_title_rows_and_blank_rows_keep_excel_row_numbers(staff):
    rows = [
        founder_row(),
        [None] * 8,  # a blank spacer row (Excel row 5)
        founder_row(phone="1391234567"),  # Excel row 6
    ]
    result = run_import(staff, xlsx_file(HEADERS_ZH, rows, title_rows=2), mode="valid_rows")
    assert result.total_rows == 2
    assert result.created_count == 1
    assert problems(result) == [(6, "phone")]


# --- the 1,000-row file with 5 bad rows ----------------------------------------------

BAD_ROWS = {
    10: ("id_number", lambda row: row.__setitem__(1, with_wrong_check_char(row[1]))),
    200: ("phone", lambda row: row.__setitem__(2, "1391234567")),
    400: ("region_code", lambda row: row.__setitem__(3, "999999")),
    600: ("target_group", lambda row: row.__setitem__(4, "astronaut")),
    800: ("registered_on", lambda row: row.__setitem__(7, date(2027, 1, 1))),
}


def thousand_rows_with_five_bad() -> bytes:
    rows = []
    for index in range(1000):
        row = founder_row()
        if index in BAD_ROWS:
            BAD_ROWS[index][1](row)
        rows.append(row)
    return xlsx_file(HEADERS_ZH, rows)


EXPECTED_PROBLEMS = [(index + 2, field) for index, (field, _) in sorted(BAD_ROWS.items())]


def test_all_or_nothing_writes_nothing_when_a_row_is_bad(staff):
    founders_before = count_rows(Founder)
    with force_locale("en"):
        result = run_import(staff, thousand_rows_with_five_bad())

    assert result.mode == "all_or_nothing"
    assert (result.total_rows, result.created_count, result.error_count) == (1000, 0, 5)
    assert problems(result) == EXPECTED_PROBLEMS
    messages = {error["field"]: error["message"] for error in result.errors}
    assert "check character" in messages["id_number"]
    assert "11-digit" in messages["phone"]
    assert "future" in messages["registered_on"]
    assert count_rows(Founder) == founders_before
    assert db.session.scalar(select(func.count()).where(AuditEntry.action == "founder.import")) == 0
    # The import and its report are kept even though nothing was written.
    assert db.session.get(FounderImport, result.id).error_count == 5


def test_valid_rows_writes_the_good_rows(staff):
    founders_before = count_rows(Founder)
    result = run_import(staff, thousand_rows_with_five_bad(), mode="valid_rows")

    assert (result.total_rows, result.created_count, result.error_count) == (1000, 995, 5)
    assert problems(result) == EXPECTED_PROBLEMS
    assert count_rows(Founder) == founders_before + 995


def test_messages_match_the_registration_rules(staff):
    from app.founders.rules import check_founder

    bad_phone = founder_row(phone="1391234567")
    result = run_import(staff, xlsx_file(HEADERS_ZH, [bad_phone]))
    _clean, errors = check_founder(
        {"phone": "1391234567"}, as_of=AS_OF, region_codes=frozenset({HAIKOU})
    )
    assert result.errors[0]["message"] == errors["phone"][0]


# --- bad files ------------------------------------------------------------------------


def test_missing_column_is_named(staff):
    headers = [h for h in HEADERS_ZH if h not in ("身份证号", "人员类别")]
    rows = [[value for i, value in enumerate(founder_row()) if i not in (1, 4)]]
    with force_locale("en"), pytest.raises(ValidationFailed) as excinfo:
        run_import(staff, xlsx_file(headers, rows))
    message = file_error_of(excinfo)
    assert "ID number" in message
    assert "Target group" in message
    assert "Name" not in message


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (b"PK\x03\x04 not really a zip", "founders.xlsx"),
        (b"just some text", "founders.xlsx"),
        (b"\x00\x01\x02", "founders.xls"),
        (b"name,id_number\n", "founders.txt"),
        (b"", "founders.csv"),
    ],
)
def test_unreadable_or_wrong_files_are_a_file_error(staff, data, filename):
    with pytest.raises(ValidationFailed) as excinfo:
        run_import(staff, data, filename)
    assert file_error_of(excinfo)
    assert count_rows(FounderImport) == 0


def test_header_only_sheet_is_a_file_error(staff):
    with pytest.raises(ValidationFailed) as excinfo:
        run_import(staff, xlsx_file(HEADERS_ZH, []))
    assert file_error_of(excinfo)


def test_csv_with_a_title_line_and_ragged_rows(staff):
    lines = [
        "创业者花名册",  # a title line with one cell
        ",".join(HEADERS_ZH),
        ",".join(str(v) for v in founder_row()) + ",a note beyond the last column",
        ",".join(str(v) for v in founder_row(phone="139")),
    ]
    data = "\n".join(lines).encode("gbk")
    result = run_import(staff, data, "founders.csv", mode="valid_rows")
    assert result.created_count == 1
    assert problems(result) == [(4, "phone")]


def test_id_number_in_scientific_notation_is_explained(staff):
    rows = [founder_row(id_number="4.60100199005E+17")]
    with force_locale("en"):
        result = run_import(staff, csv_file(HEADERS_ZH, rows, "utf-8"), "founders.csv")
    assert problems(result) == [(2, "id_number")]
    assert "as text" in result.errors[0]["message"]


def test_too_many_rows_is_refused(staff, monkeypatch):
    monkeypatch.setattr(bulk_import, "MAX_IMPORT_ROWS", 3)
    with force_locale("en"), pytest.raises(ValidationFailed) as excinfo:
        run_import(staff, xlsx_file(HEADERS_ZH, [founder_row() for _ in range(4)]))
    assert "at most 3" in file_error_of(excinfo)


def test_unknown_mode_is_refused(staff):
    with pytest.raises(ValidationFailed) as excinfo:
        run_import(staff, xlsx_file(HEADERS_ZH, [founder_row()]), mode="some_rows")
    assert list(excinfo.value.errors) == ["mode"]


def test_wrong_types_are_row_errors(staff):
    rows = [
        founder_row(registered_on="next Tuesday"),
        founder_row(target_group=3),
        founder_row(education=12.5),
        founder_row(has_reemployment_certificate="maybe"),
        founder_row(name=None),
    ]
    result = run_import(staff, xlsx_file(HEADERS_ZH, rows), mode="valid_rows")
    assert problems(result) == [
        (2, "registered_on"),
        (3, "target_group"),
        (4, "education"),
        (5, "has_reemployment_certificate"),
        (6, "name"),
    ]
    assert result.created_count == 0


def test_id_number_stored_as_an_excel_number_is_explained(staff):
    id_number = make_id_number()
    rows = [founder_row(id_number=int(id_number))]  # Excel keeps 15 digits of it
    with force_locale("en"):
        result = run_import(staff, xlsx_file(HEADERS_ZH, rows))
    assert problems(result) == [(2, "id_number")]
    assert "as text" in result.errors[0]["message"]


# --- duplicates -----------------------------------------------------------------------


def test_duplicate_inside_the_file_names_the_first_row(staff):
    repeated = make_id_number()
    rows = [
        founder_row(id_number=repeated),
        founder_row(),
        founder_row(id_number=repeated.lower() if repeated.endswith("X") else repeated),
        founder_row(id_number=f" {repeated} "),
    ]
    with force_locale("en"):
        result = run_import(staff, xlsx_file(HEADERS_ZH, rows), mode="valid_rows")
    assert problems(result) == [(4, "id_number"), (5, "id_number")]
    assert all("row 2" in error["message"] for error in result.errors)
    assert result.created_count == 2
    assert db.session.scalar(select(func.count()).where(Founder.id_number == repeated)) == 1


def test_duplicate_against_the_register_names_the_founder(staff):
    existing = make_founder(region_code=SANYA)  # registered elsewhere: still the same person
    rows = [founder_row(), founder_row(id_number=existing.id_number)]
    with force_locale("en"):
        result = run_import(staff, xlsx_file(HEADERS_ZH, rows), mode="valid_rows")
    assert problems(result) == [(3, "id_number")]
    assert f"founder {existing.id}" in result.errors[0]["message"]
    assert result.created_count == 1


def test_many_rows_against_the_register_are_looked_up_in_chunks(staff, monkeypatch):
    monkeypatch.setattr(bulk_import, "LOOKUP_CHUNK", 2)
    existing = [make_founder() for _ in range(3)]
    rows = [founder_row() for _ in range(2)] + [
        founder_row(id_number=founder.id_number) for founder in existing
    ]
    result = run_import(staff, xlsx_file(HEADERS_ZH, rows), mode="valid_rows")
    assert problems(result) == [(4, "id_number"), (5, "id_number"), (6, "id_number")]
    assert result.created_count == 2


def test_a_number_registered_meanwhile_is_a_conflict_and_writes_nothing(staff, monkeypatch):
    # Another request registers the number between the check and the insert: the check
    # found nothing, the database's unique constraint has the last word.
    taken = make_founder()
    real_lookup = bulk_import._registered_ids
    calls = []

    def lookup_missing_the_first_time(id_numbers):
        calls.append(len(id_numbers))
        return {} if len(calls) == 1 else real_lookup(id_numbers)

    monkeypatch.setattr(bulk_import, "_registered_ids", lookup_missing_the_first_time)
    founders_before, imports_before = count_rows(Founder), count_rows(FounderImport)
    rows = [founder_row(), founder_row(id_number=taken.id_number)]
    with pytest.raises(Conflict):
        run_import(staff, xlsx_file(HEADERS_ZH, rows))
    assert count_rows(Founder) == founders_before
    assert count_rows(FounderImport) == imports_before
    assert db.session.scalar(select(func.count()).where(AuditEntry.action == "founder.import")) == 0


# --- scope ----------------------------------------------------------------------------


def test_haikou_staff_cannot_import_a_sanya_founder(staff):
    rows = [founder_row(), founder_row(region_code=SANYA), founder_row(region_code="三亚市")]
    result = run_import(staff, xlsx_file(HEADERS_ZH, rows), mode="valid_rows")
    assert problems(result) == [(3, "region_code"), (4, "region_code")]
    assert result.created_count == 1
    assert db.session.scalar(select(func.count()).where(Founder.region_code == SANYA)) == 0


def test_province_staff_import_into_their_cities(db_session):
    province = make_user(role="staff", region_code="460000")
    rows = [founder_row(region_code=SANYA), founder_row(region_code="469002 琼海市")]
    result = run_import(province, xlsx_file(HEADERS_ZH, rows))
    assert (result.created_count, result.error_count) == (2, 0)
    regions = set(db.session.scalars(select(Founder.region_code)))
    assert regions == {SANYA, "469002"}


# --- records --------------------------------------------------------------------------


def test_every_created_founder_is_audited(staff):
    rows = [founder_row(), founder_row(name="周杰")]
    result = run_import(staff, xlsx_file(HEADERS_ZH, rows))
    entries = list(
        db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "founder.import").order_by(AuditEntry.id)
        )
    )
    founders = list(db.session.scalars(select(Founder).order_by(Founder.id)))
    assert [entry.entity_id for entry in entries] == [str(f.id) for f in founders]
    for entry, founder in zip(entries, founders, strict=True):
        assert entry.entity_type == "founder"
        assert entry.actor_id == staff.id
        assert entry.actor_username == staff.username
        assert entry.region_code == founder.region_code
        assert entry.before is None
        assert entry.after["id"] == founder.id
        assert entry.after["name"] == founder.name
        assert entry.after["id_number"] == founder.id_number_masked  # never the full number
        assert entry.after["registered_on"] == founder.registered_on.isoformat()
        audited = {column.key for column in Founder.__table__.columns} - set(
            Founder.__audit_exclude__
        )
        assert set(entry.after) == audited
    summary = db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == "founder_import.create")
    )
    assert summary.entity_type == "founder_import"
    assert summary.entity_id == str(result.id)
    assert summary.after["created_count"] == 2
    # Stored like record_audit stores them (an empty "before" is JSON null on every engine).
    stored_as = dict(
        db.session.execute(
            text("SELECT action, before IS NULL FROM audit_entry WHERE action LIKE 'founder%'")
        ).all()
    )
    assert stored_as["founder.import"] == stored_as["founder_import.create"]


def test_the_import_is_stored_with_its_report(staff):
    rows = [founder_row(), founder_row(phone="123")]
    result = run_import(staff, xlsx_file(HEADERS_ZH, rows), "C:\\Users\\me\\名单.xlsx")
    db.session.expire_all()
    stored = db.session.get(FounderImport, result.id)
    assert stored.actor_id == staff.id
    assert stored.filename == "名单.xlsx"
    assert (stored.mode, stored.total_rows, stored.created_count, stored.error_count) == (
        "all_or_nothing",
        2,
        0,
        1,
    )
    assert stored.errors == [{"row": 3, "field": "phone", "message": stored.errors[0]["message"]}]
    answer = import_result_json(stored)
    assert answer["import_id"] == stored.id
    assert answer["created"] == 0
    assert answer["errors"] == stored.errors


def test_report_workbook_is_readable(staff):
    rows = [founder_row(), founder_row(phone="123"), founder_row(region_code="999999")]
    with force_locale("en"):
        result = run_import(staff, xlsx_file(HEADERS_ZH, rows), mode="valid_rows")
        data = import_report_workbook(result)
    workbook = load_workbook(io.BytesIO(data))
    problems_sheet, summary = workbook.worksheets
    lines = list(problems_sheet.iter_rows(values_only=True))
    assert lines[0] == ("Row", "Column", "Problem")
    assert [line[:2] for line in lines[1:]] == [(3, "Mobile phone"), (4, "Region")]
    facts = dict(summary.iter_rows(values_only=True))
    assert facts["Founders created"] == 1
    assert facts["Problems"] == 2


def test_template_is_readable_and_importable_after_filling(staff):
    data = import_template_workbook(staff)
    workbook = load_workbook(io.BytesIO(data))
    sheet, values = workbook.worksheets
    assert [cell.value for cell in sheet[1]] == HEADERS_ZH
    assert sheet["B2"].value == EXAMPLE_ID_NUMBER
    listed = list(values.iter_rows(min_row=2, values_only=True))
    assert (
        "人员类别",
        "下岗失业人员",
        "下岗失业人员",
        "Laid-off / unemployed",
        "laid_off",
    ) in listed
    assert any(row[0] == "文化程度" and row[4] == "master_or_above" for row in listed)
    assert {row[1] for row in listed if row[0] == "所属地区"} == {HAIKOU}

    # A person fills it in, leaving the example row where it is.
    sheet.append(founder_row(target_group="高校毕业生", education="大专"))
    sheet.append(founder_row(name="孙丽", has_reemployment_certificate="是"))
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = run_import(staff, buffer.getvalue(), "template.xlsx")
    assert (result.total_rows, result.created_count, result.error_count) == (2, 2, 0)
    assert (
        db.session.scalar(select(func.count()).where(Founder.id_number == EXAMPLE_ID_NUMBER)) == 0
    )


# --- the spreadsheet helpers ----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        ("  李娜 ", "李娜"),
        (13912345678, "13912345678"),
        (13912345678.0, "13912345678"),
        (1.5, "1.5"),
        (True, "true"),
        (datetime.combine(date(2026, 1, 5), time.min), "2026-01-05"),  # Excel: naive
        (datetime.combine(date(2026, 1, 5), time(10, 30)), "2026-01-05 10:30:00"),
        (date(2026, 1, 5), "2026-01-05"),
        (float("nan"), ""),
    ],
)
def test_cell_text(value, text):
    assert cell_text(value) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", None),
        ("2026-01-05", date(2026, 1, 5)),
        ("2026/1/5", date(2026, 1, 5)),
        ("2026.01.05", date(2026, 1, 5)),
        ("2026年1月5日", date(2026, 1, 5)),
        ("20260105", date(2026, 1, 5)),
        ("2026-01-05 00:00:00", date(2026, 1, 5)),
        ("46027", date(2026, 1, 5)),  # an Excel serial number
        ("2026-02-30", "2026-02-30"),
        ("soon", "soon"),
    ],
)
def test_parse_sheet_date(text, expected):
    assert parse_sheet_date(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("是", True),
        ("Y", True),
        ("TRUE", True),
        ("1", True),
        ("否", False),
        ("n", False),
        ("", False),
        ("0", False),
        ("perhaps", "perhaps"),
    ],
)
def test_parse_sheet_bool(text, expected):
    assert parse_sheet_bool(text) == expected


def test_header_aliases_are_normalised():
    assert normalise_header("身份证号码（必填）*") == "身份证号码"
    assert normalise_header(" ID_Number ") == normalise_header("id number") == "idnumber"


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        ("=1+1", "'=1+1"),
        ("+86 139", "'+86 139"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("李娜", "李娜"),
        ("a=b", "a=b"),
        ("bell\x07", "bell"),
        (-5, -5),
        (None, None),
    ],
)
def test_escape_formula(value, escaped):
    assert escape_formula(value) == escaped


def test_the_report_escapes_the_file_name(staff):
    """Security review gap 13: the report's summary holds the uploaded file's name, which
    the uploader chose; a name that reads as a formula is written as text."""
    founder_import = run_import(
        staff,
        xlsx_file(HEADERS_ZH, [founder_row()]),
        filename="=cmd|'calc'!A0.xlsx",
        mode="valid_rows",
    )
    workbook = load_workbook(io.BytesIO(bulk_import.import_report_workbook(founder_import)))
    cells = [cell for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    names = [cell.value for cell in cells if "calc" in str(cell.value or "")]
    assert names == ["'=cmd|'calc'!A0.xlsx"]
