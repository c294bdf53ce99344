"""Bulk import of founders from .xlsx or .csv (SPEC §5), with a report per row.

Every row goes through the same `check_founder` as the registration form, so a bad value
gets the same message in a 100,000-row file as in the form. Duplicates are looked for
inside the file and against the register (set-based, in chunks); good rows are written
with batched Core inserts, each with its audit entry, and the import itself is kept
(`FounderImport`) with its report, so the page can offer the report later.
"""

from __future__ import annotations

import json
import logging
import re
import time as clock
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import Connection, insert, select, text
from sqlalchemy.exc import IntegrityError

from app.core.audit import AuditEntry, record_audit
from app.core.dates import CHINA_TIME
from app.core.db import utcnow
from app.core.errors import Conflict, ValidationFailed
from app.core.spreadsheets import (
    Column,
    StreamedWorkbook,
    Table,
    normalise_value,
    read_table,
    workbook_bytes,
)
from app.core.validators import id_number_check_char
from app.extensions import db
from app.founders.forms import EDUCATION_LABELS, TARGET_GROUP_LABELS
from app.founders.models import (
    Education,
    Founder,
    FounderImport,
    ImportMode,
    TargetGroup,
    mask_id_number,
)
from app.founders.rules import FOUNDER_FIELDS, CleanFounder, check_founder
from app.regions.models import Region
from app.regions.queries import region_codes_in_scope

logger = logging.getLogger(__name__)

MAX_IMPORT_ROWS = 200_000
# Rows per INSERT batch: large enough to be fast, small enough to keep memory and the
# statement size modest on both engines.
INSERT_BATCH = 5_000
# ID numbers per lookup query (well under SQLite's bound-parameter limit).
LOOKUP_CHUNK = 1_000
# The report keeps this many problems; error_count stays exact beyond it.
MAX_STORED_ERRORS = 10_000
FIELD_ORDER = {name: position for position, name in enumerate(FOUNDER_FIELDS)}

IMPORT_COLUMNS: tuple[Column, ...] = (
    Column("name", _l("Name"), ("姓名", "名字", "创业者姓名", "full name"), required=True),
    Column(
        "id_number",
        _l("ID number"),
        ("身份证号", "身份证号码", "公民身份号码", "身份证", "证件号码", "id number", "id no"),
        required=True,
    ),
    Column(
        "phone",
        _l("Mobile phone"),
        ("手机号", "手机号码", "手机", "联系电话", "电话", "mobile phone", "mobile", "phone"),
        required=True,
    ),
    Column(
        "region_code",
        _l("Region"),
        ("地区代码", "行政区划代码", "区划代码", "所属地区", "地区", "region code", "region"),
        required=True,
    ),
    Column(
        "target_group",
        _l("Target group"),
        ("人员类别", "人员类型", "类别", "target group"),
        required=True,
    ),
    Column("education", _l("Education"), ("文化程度", "学历", "education level")),
    Column(
        "has_reemployment_certificate",
        _l("Re-employment certificate"),
        (
            "再就业优惠证",
            "是否持有再就业优惠证",
            "是否持再就业优惠证",
            "持再就业优惠证",
            "reemployment certificate",
            "certificate",
        ),
    ),
    Column(
        "registered_on",
        _l("Registered on"),
        ("登记日期", "登记时间", "registration date", "registered"),
    ),
)
COLUMN_LABELS = {column.field: column.label for column in IMPORT_COLUMNS}

# The template's headers, in the order of its columns.
TEMPLATE_HEADERS = (
    "姓名",
    "身份证号",
    "手机号",
    "所属地区",
    "人员类别",
    "文化程度",
    "再就业优惠证",
    "登记日期",
)

# Chinese names as Chinese forms print them (SPEC §16), first the one the template shows,
# then other names people write, all accepted in the file besides the code and the
# interface's own labels in both languages.
TARGET_GROUP_NAMES_ZH: dict[str, tuple[str, ...]] = {
    TargetGroup.LAID_OFF: ("下岗失业人员", "下岗失业", "失业人员", "下岗职工", "登记失业人员"),
    TargetGroup.COLLEGE_GRADUATE: ("高校毕业生", "大学毕业生", "大学生"),
    TargetGroup.MIGRANT_WORKER: ("农民工", "外出务工人员"),
    TargetGroup.RETURNING_MIGRANT: ("返乡农民工", "返乡创业农民工", "返乡创业人员"),
    TargetGroup.POVERTY_REGISTERED: ("建档立卡贫困人员", "建档立卡贫困户", "贫困人员", "脱贫人口"),
    TargetGroup.VETERAN: ("退役军人", "退役士兵", "复员退伍军人"),
    TargetGroup.DISABLED: ("残疾人", "残疾人员"),
    TargetGroup.YOUTH_STUDENT: ("青年/学生", "青年学生", "在校学生", "青年", "学生"),
    TargetGroup.OTHER: ("其他", "其它", "其他人员"),
}
EDUCATION_NAMES_ZH: dict[str, tuple[str, ...]] = {
    Education.PRIMARY: ("小学", "小学及以下"),
    Education.JUNIOR_HIGH: ("初中",),
    Education.HIGH_SCHOOL: ("高中", "普通高中"),
    Education.VOCATIONAL: ("中专/技校/职高", "中专", "技校", "职高", "中职", "中等职业教育"),
    Education.COLLEGE: ("大专", "专科", "大学专科", "高职"),
    Education.BACHELOR: ("本科", "大学本科", "学士"),
    Education.MASTER_OR_ABOVE: ("硕士及以上", "研究生", "硕士", "博士", "研究生及以上"),
}
YES_WORDS = frozenset({"是", "有", "持有", "yes", "y", "true", "t", "1", "√", "✓", "✔"})
NO_WORDS = frozenset({"否", "无", "没有", "未持有", "no", "n", "false", "f", "0", "×", "✗"})

# The template's example row. The import skips a row with exactly this name and ID number,
# so an example left in the filled template is never registered as a person.
EXAMPLE_NAME = "张三（示例）"
_EXAMPLE_FIRST17 = "46010019900517001"
EXAMPLE_ID_NUMBER = _EXAMPLE_FIRST17 + id_number_check_char(_EXAMPLE_FIRST17)

_DATE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"  # a time of day after the date is ignored
)
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_EXCEL_SERIAL = re.compile(r"\d{5}")
_EXCEL_EPOCH = date(1899, 12, 30)  # serial 1 is 1900-01-01 (Excel counts 1900-02-29)
# How Excel writes a long number it holds as a number into a CSV: 4.60100199005E+17.
_SCIENTIFIC = re.compile(r"\d(?:\.\d+)?[eE]\+?\d+")
_LEADING_CODE = re.compile(r"(\d{6})(?:\D.*)?")


@dataclass
class _Checked:
    """What the checking stage found: clean founders by row, and every problem."""

    total_rows: int = 0
    clean: dict[int, CleanFounder] = field(default_factory=dict)
    problems: list[dict[str, Any]] = field(default_factory=list)
    bad_rows: set[int] = field(default_factory=set)

    def add(self, row: int, field_name: str, message: str) -> None:
        self.problems.append({"row": row, "field": field_name, "message": str(message)})
        self.bad_rows.add(row)


def import_founders(
    actor: Any,
    source: Any,
    filename: str,
    *,
    mode: ImportMode | str | None = ImportMode.ALL_OR_NOTHING,
    as_of: date,
    timings: dict[str, float] | None = None,
) -> FounderImport:
    """Import founders from an uploaded .xlsx/.csv (a FileStorage, a binary stream or bytes).

    Every row is checked with the registration rules, in the actor's regions; duplicates
    inside the file and against the register are reported per row. `all_or_nothing`
    (the default, also for an empty mode) writes nothing if any row is bad, `valid_rows`
    writes the good rows. The import and
    its report are always kept (flushed, never committed). A file that cannot be used at
    all raises ValidationFailed({"file": [...]}). `timings`, when given, is filled with
    the seconds spent reading, validating and inserting.
    """
    try:
        mode = ImportMode(mode or ImportMode.ALL_OR_NOTHING)
    except ValueError:
        raise ValidationFailed.single("mode", _("Choose how to handle bad rows.")) from None
    started = clock.perf_counter()
    stages = timings if timings is not None else {}

    table = read_table(source, filename, IMPORT_COLUMNS, max_rows=MAX_IMPORT_ROWS)
    stages["read"] = clock.perf_counter() - started

    mark = clock.perf_counter()
    checked = _check_rows(actor, table, as_of=as_of)
    stages["validate"] = clock.perf_counter() - mark

    mark = clock.perf_counter()
    if mode is ImportMode.ALL_OR_NOTHING and checked.problems:
        to_write: list[CleanFounder] = []
    else:
        to_write = [
            founder for row, founder in checked.clean.items() if row not in checked.bad_rows
        ]
    created = _insert_founders(actor, to_write) if to_write else 0

    checked.problems.sort(key=lambda p: (p["row"], FIELD_ORDER.get(p["field"], 99)))
    founder_import = FounderImport(
        actor_id=getattr(actor, "id", None),
        filename=_clean_filename(filename),
        mode=mode.value,
        total_rows=checked.total_rows,
        created_count=created,
        error_count=len(checked.problems),
        errors=checked.problems[:MAX_STORED_ERRORS],
    )
    db.session.add(founder_import)
    db.session.flush()
    record_audit(
        actor,
        "founder_import.create",
        founder_import,
        None,
        {
            "filename": founder_import.filename,
            "mode": founder_import.mode,
            "total_rows": founder_import.total_rows,
            "created_count": created,
            "error_count": founder_import.error_count,
        },
        region_code=getattr(actor, "region_code", None),
    )
    stages["insert"] = clock.perf_counter() - mark
    stages["total"] = clock.perf_counter() - started
    logger.info(
        "Founder import %s: %s rows, %s created, %s problems (read %.1fs, validate %.1fs, "
        "insert %.1fs)",
        founder_import.id,
        checked.total_rows,
        created,
        founder_import.error_count,
        stages["read"],
        stages["validate"],
        stages["insert"],
    )
    return founder_import


def import_result_json(founder_import: FounderImport) -> dict[str, Any]:
    """The API answer for an import: {import_id, created, errors: [{row, field, message}]}.

    Also total_rows and error_count (exact, while `errors` holds at most MAX_STORED_ERRORS).
    """
    return {
        "import_id": founder_import.id,
        "created": founder_import.created_count,
        "total_rows": founder_import.total_rows,
        "error_count": founder_import.error_count,
        "errors": list(founder_import.errors or []),
    }


def _clean_filename(filename: str) -> str:
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(char for char in name if ord(char) >= 32)
    return name[-255:] or "upload"


# --- checking -------------------------------------------------------------------------


def _lookup(
    codes: Iterable[str], names_zh: dict[str, tuple[str, ...]], labels: dict[Any, Any]
) -> dict[str, str]:
    """Normalised text -> code, for codes, Chinese names, and the interface labels."""
    lookup: dict[str, str] = {}
    for locale in ("en", "zh_CN"):
        with force_locale(locale):
            for code, label in labels.items():
                lookup.setdefault(normalise_value(str(label)), str(code))
    for code, names in names_zh.items():
        for name in names:
            lookup.setdefault(normalise_value(name), str(code))
    for code in codes:
        lookup[normalise_value(str(code))] = str(code)
    return lookup


def _region_lookup(region_codes: frozenset[str]) -> dict[str, str]:
    """Region names in scope -> code (names shared by two regions in scope are left out)."""
    counts: dict[str, set[str]] = {}
    if region_codes:
        regions = db.session.execute(select(Region.code, Region.name, Region.name_en)).all()
        for code, name, name_en in regions:
            if code not in region_codes:
                continue
            for text in (name, name_en):
                if text:
                    counts.setdefault(normalise_value(text), set()).add(code)
    return {name: next(iter(codes)) for name, codes in counts.items() if len(codes) == 1}


def _region_value(text: str, names: dict[str, str]) -> str:
    match = _LEADING_CODE.fullmatch(text)
    if match:
        return match.group(1)
    return names.get(normalise_value(text), text)


def parse_sheet_date(text: str) -> date | str | None:
    """A date cell: YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD, YYYY年M月D日, YYYYMMDD or an Excel
    serial number; None when blank, the text itself when it is not a date."""
    if not text:
        return None
    match = _DATE.fullmatch(text) or _COMPACT_DATE.fullmatch(text)
    try:
        if match:
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        if _EXCEL_SERIAL.fullmatch(text):
            return _EXCEL_EPOCH + timedelta(days=int(text))
    except (ValueError, OverflowError):
        return text
    return text


def parse_sheet_bool(text: str) -> bool | str:
    """A yes/no cell: 是/否, yes/no, true/false, 1/0, Y/N (blank is no); else the text."""
    word = normalise_value(text)
    if not word or word in NO_WORDS:
        return False
    if word in YES_WORDS:
        return True
    return text


def _cached(function: Callable[[str], Any]) -> Callable[[str], Any]:
    # Dates, regions and groups repeat across rows: parse each distinct text once.
    cache: dict[str, Any] = {}

    def lookup(text: str) -> Any:
        try:
            return cache[text]
        except KeyError:
            value = cache[text] = function(text)
            return value

    return lookup


def _check_rows(actor: Any, table: Table, *, as_of: date) -> _Checked:
    region_codes = region_codes_in_scope(actor)
    region_names = _region_lookup(region_codes)
    groups = _lookup(TargetGroup, TARGET_GROUP_NAMES_ZH, TARGET_GROUP_LABELS)
    levels = _lookup(Education, EDUCATION_NAMES_ZH, EDUCATION_LABELS)
    region_of = _cached(lambda text: _region_value(text, region_names))
    group_of = _cached(lambda text: groups.get(normalise_value(text), text))
    level_of = _cached(lambda text: levels.get(normalise_value(text), text) if text else None)
    date_of = _cached(parse_sheet_date)
    bool_of = _cached(parse_sheet_bool)
    lost_digits_message = _(
        "Excel stored this ID number as a number and dropped its last digits; format the "
        "column as text and type the number again."
    )

    checked = _Checked()
    columns = zip(
        table.row_numbers,
        table.column("name"),
        table.column("id_number"),
        table.column("phone"),
        table.column("region_code"),
        table.column("target_group"),
        table.column("education"),
        table.column("has_reemployment_certificate"),
        table.column("registered_on"),
        strict=True,
    )
    first_row_of: dict[str, int] = {}
    for row, name, id_number, phone, region, group, level, certificate, registered in columns:
        if name == EXAMPLE_NAME and id_number.upper() == EXAMPLE_ID_NUMBER:
            continue
        checked.total_rows += 1
        values = {
            "name": name,
            "id_number": id_number,
            "phone": phone,
            "region_code": region_of(region),
            "target_group": group_of(group),
            "education": level_of(level),
            "has_reemployment_certificate": bool_of(certificate),
            "registered_on": date_of(registered),
        }
        clean, errors = check_founder(values, as_of=as_of, region_codes=region_codes)
        if (row, "id_number") in table.lost_digits or _SCIENTIFIC.fullmatch(id_number):
            errors["id_number"] = [lost_digits_message]
            clean = None
        elif "id_number" not in errors:
            normalised = id_number.strip().upper()
            first = first_row_of.setdefault(normalised, row)
            if first != row:
                errors["id_number"] = [
                    _("This ID number is already in row %(row)s of this file.", row=first)
                ]
                clean = None
        for field_name, messages in errors.items():
            for message in messages:
                checked.add(row, field_name, message)
        if clean is not None:
            checked.clean[row] = clean

    existing = _registered_ids(list(first_row_of))
    for normalised, existing_id in existing.items():
        row = first_row_of[normalised]
        checked.add(
            row,
            "id_number",
            _(
                "A founder with this ID number is already registered (founder %(id)s).",
                id=existing_id,
            ),
        )
        checked.clean.pop(row, None)
    # Later rows with the same number already carry the "already in row N" problem.
    return checked


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _registered_ids(id_numbers: list[str]) -> dict[str, int]:
    """ID number -> founder id for the numbers already in the register (any region)."""
    found: dict[str, int] = {}
    for chunk in _chunks(id_numbers, LOOKUP_CHUNK):
        stmt = select(Founder.id_number, Founder.id).where(Founder.id_number.in_(chunk))
        found.update((id_number, founder_id) for id_number, founder_id in db.session.execute(stmt))
    return found


# --- writing --------------------------------------------------------------------------


def _insert_founders(actor: Any, founders: list[CleanFounder]) -> int:
    """Insert the founders and one audit entry each, in batches; answer how many."""
    now = utcnow()
    stamp = now.isoformat()
    actor_id = getattr(actor, "id", None)
    actor_username = getattr(actor, "username", None)
    connection = db.session.connection()
    try:
        with db.session.begin_nested():
            # Asked for inside the savepoint, so that the SAVEPOINT is actually emitted:
            # statements on a connection taken before it would not be undone with it.
            connection = db.session.connection()
            for batch in _chunks(founders, INSERT_BATCH):
                rows = [founder.as_row() for founder in batch]
                for row in rows:
                    row["created_at"] = now
                    row["updated_at"] = now
                ids = _insert_founder_rows(connection, rows)
                entries = [
                    {
                        "occurred_at": now,
                        "actor_id": actor_id,
                        "actor_username": actor_username,
                        "action": "founder.import",
                        "entity_type": "founder",
                        "entity_id": str(ids[row["id_number"]]),
                        "region_code": row["region_code"],
                        "before": None,
                        "after": _audit_after(ids[row["id_number"]], row, stamp),
                    }
                    for row in rows
                ]
                _insert_audit_rows(connection, entries)
    except (IntegrityError, *_dbapi_integrity_errors(connection)):
        # Someone registered one of these ID numbers after the file was checked.
        raise Conflict(
            _(
                "Another registration added one of these ID numbers while the file was "
                "being imported; nothing was imported. Please import the file again."
            )
        ) from None
    return len(founders)


def _dbapi_integrity_errors(connection: Connection) -> tuple[type[Exception], ...]:
    # COPY runs on the driver's connection, so its errors are the driver's own.
    dbapi = connection.dialect.dbapi
    return (dbapi.IntegrityError,) if dbapi is not None else ()


def _insert_founder_rows(connection: Connection, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert one batch of founders; answer ID number -> new founder id.

    PostgreSQL: ids taken from the table's sequence, rows sent with COPY (the fastest
    way in; an INSERT per row, even pipelined, is several times slower). Other engines
    (SQLite): a Core executemany, then the new ids read back by the unique ID number.
    Not RETURNING: SQLAlchemy would build multi-row statements that psycopg re-parses
    in Python, or, to keep the rows' order, insert one row per statement on SQLite.
    """
    table = Founder.__table__
    if connection.dialect.name == "postgresql":
        new_ids = connection.execute(
            text(
                "SELECT nextval(pg_get_serial_sequence('founder', 'id'))"
                " FROM generate_series(1, :n)"
            ),
            {"n": len(rows)},
        ).scalars()
        for row, founder_id in zip(rows, new_ids, strict=True):
            row["id"] = founder_id
        _copy_rows(connection, table, rows)
        return {row["id_number"]: row["id"] for row in rows}
    connection.execute(insert(table), rows)
    return _registered_ids([row["id_number"] for row in rows])


def _insert_audit_rows(connection: Connection, entries: list[dict[str, Any]]) -> None:
    table = AuditEntry.__table__
    if connection.dialect.name == "postgresql":
        for entry in entries:
            # As the JSON column type writes them: None becomes JSON null, like record_audit.
            entry["before"] = json.dumps(entry["before"])
            entry["after"] = json.dumps(entry["after"])
        _copy_rows(connection, table, entries)
    else:
        connection.execute(insert(table), entries)


def _copy_rows(connection: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL COPY ... FROM STDIN of `rows` (dicts with the same keys) into `table`."""
    names = list(rows[0])
    quote = connection.dialect.identifier_preparer.quote
    columns = ", ".join(quote(name) for name in names)
    statement = f"COPY {quote(table.name)} ({columns}) FROM STDIN"  # our own identifiers
    driver_connection = connection.connection.driver_connection
    with driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([row[name] for name in names])


def _audit_after(founder_id: int, row: dict[str, Any], stamp: str) -> dict[str, Any]:
    """The same values as a registered founder's audit entry (operations.founder_snapshot):
    every column, the ID number masked (the audit log never holds a full one)."""
    return {
        "id": founder_id,
        "name": row["name"],
        "id_number": mask_id_number(row["id_number"]),
        "birth_date": row["birth_date"].isoformat(),
        "sex": row["sex"],
        "phone": row["phone"],
        "region_code": row["region_code"],
        "target_group": row["target_group"],
        "education": row["education"],
        "has_reemployment_certificate": row["has_reemployment_certificate"],
        "registered_on": row["registered_on"].isoformat(),
        "created_at": stamp,
        "updated_at": stamp,
    }


# --- workbooks ------------------------------------------------------------------------


def _china_time(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(CHINA_TIME).strftime("%Y-%m-%d %H:%M:%S (UTC+8)")


def import_report_workbook(founder_import: FounderImport) -> bytes:
    """The import's report as .xlsx: one row per problem (row, column, message) and a
    summary sheet, headers in the user's language."""
    workbook = StreamedWorkbook()
    problems = workbook.add_sheet(
        str(_("Problems")),
        [_("Row"), _("Column"), _("Problem")],
        widths=(8, 24, 80),
    )
    for problem in founder_import.errors or []:
        label = COLUMN_LABELS.get(problem.get("field"), problem.get("field"))
        problems.append([problem.get("row"), str(label), problem.get("message")])

    summary = workbook.add_sheet(str(_("Summary")), [], widths=(28, 60))
    mode_labels = {
        ImportMode.ALL_OR_NOTHING.value: _("All or nothing"),
        ImportMode.VALID_ROWS.value: _("Import the valid rows"),
    }
    summary.append([_("File"), founder_import.filename])
    summary.append([_("Imported at"), _china_time(founder_import.created_at)])
    summary.append([_("Mode"), str(mode_labels.get(founder_import.mode, founder_import.mode))])
    summary.append([_("Rows read"), founder_import.total_rows])
    summary.append([_("Founders created"), founder_import.created_count])
    summary.append([_("Problems"), founder_import.error_count])
    listed = len(founder_import.errors or [])
    if founder_import.error_count > listed:
        summary.append(
            [
                _("Note"),
                _(
                    "Only the first %(listed)s problems are listed.",
                    listed=f"{listed:,}",
                ),
            ]
        )
    return workbook.to_bytes()


def import_template_workbook(user: Any | None = None) -> bytes:
    """A blank import file: Chinese headers, one example row (skipped if left in), text
    columns for ID and phone numbers, and a sheet of the allowed values in both languages.

    With a user, the region list is limited to the regions that user may import into.
    """
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "创业者"
    sheet.append(list(TEMPLATE_HEADERS))
    bold = Font(bold=True)
    for cell in sheet[1]:
        cell.font = bold
    sheet.append(
        [
            EXAMPLE_NAME,
            EXAMPLE_ID_NUMBER,
            "13800138000",
            "460100",
            TARGET_GROUP_NAMES_ZH[TargetGroup.LAID_OFF][0],
            EDUCATION_NAMES_ZH[Education.HIGH_SCHOOL][0],
            "否",
            date(2026, 1, 5),
        ]
    )
    grey = Font(italic=True, color="808080")
    for cell in sheet[2]:
        cell.font = grey
    sheet["H2"].number_format = "yyyy-mm-dd"
    for letter, width in zip("ABCDEFGH", (14, 22, 15, 12, 18, 16, 14, 13), strict=True):
        sheet.column_dimensions[letter].width = width
    # Text format for the identifier columns, so Excel keeps every digit and the X.
    for letter in "BCD":
        sheet.column_dimensions[letter].number_format = "@"
    sheet.freeze_panes = "A2"

    values = workbook.create_sheet("可选值")
    values.append(["栏目 / Column", "填写值 / Value", "中文", "English", "代码 / Code"])
    for cell in values[1]:
        cell.font = bold
    group_rows = _choice_rows("人员类别", TARGET_GROUP_NAMES_ZH, TARGET_GROUP_LABELS)
    level_rows = _choice_rows("文化程度", EDUCATION_NAMES_ZH, EDUCATION_LABELS)
    for row in group_rows + level_rows:
        values.append(row)
    values.append(["再就业优惠证", "是", "是", "Yes", "true"])
    values.append(["再就业优惠证", "否", "否", "No", "false"])
    for code, name, name_en in _template_regions(user):
        values.append(["所属地区", code, name, name_en or "", code])
    for letter, width in zip("ABCDE", (16, 18, 18, 28, 20), strict=True):
        values.column_dimensions[letter].width = width

    # Drop-down lists on the first sheet, from the values sheet (typing a code still works).
    first_group, last_group = 2, 1 + len(group_rows)
    first_level, last_level = last_group + 1, last_group + len(level_rows)
    for column, first, last in (("E", first_group, last_group), ("F", first_level, last_level)):
        validation = DataValidation(
            type="list",
            formula1=f"'可选值'!$B${first}:$B${last}",
            allow_blank=True,
            showErrorMessage=False,
        )
        sheet.add_data_validation(validation)
        validation.add(f"{column}2:{column}{MAX_IMPORT_ROWS + 1}")
    certificate = DataValidation(
        type="list", formula1='"是,否"', allow_blank=True, showErrorMessage=False
    )
    sheet.add_data_validation(certificate)
    certificate.add(f"G2:G{MAX_IMPORT_ROWS + 1}")
    return workbook_bytes(workbook)


def _choice_rows(
    column: str, names_zh: dict[str, tuple[str, ...]], labels: dict[Any, Any]
) -> list[list[str]]:
    rows = []
    for code, names in names_zh.items():
        with force_locale("en"):
            english = str(labels[code])
        rows.append([column, names[0], names[0], english, str(code)])
    return rows


def _template_regions(user: Any | None) -> list[tuple[str, str, str | None]]:
    stmt = select(Region.code, Region.name, Region.name_en).order_by(Region.code)
    rows = [tuple(row) for row in db.session.execute(stmt)]
    if user is None:
        return rows
    allowed = region_codes_in_scope(user)
    return [row for row in rows if row[0] in allowed]
