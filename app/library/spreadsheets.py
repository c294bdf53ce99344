"""Library projects in and out of .xlsx (issue 4, parts 6): experts prepare a batch offline.

The import reads the same way as the founders import (D26): headers in Chinese or English,
every cell as text, each row checked with the same `check_project` as the form, problems
as {row, field, message} with the row number a person sees in Excel, `all_or_nothing` or
`valid_rows`. Projects are small in number (a province curates hundreds, not millions), so
no import table is kept: the answer carries the problems and
`project_import_report_workbook` turns them into the downloadable report. The export
streams the list's own scoped statement into a write-only workbook (D27).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import Select, insert, select

from app.core.audit import AuditEntry, record_audit
from app.core.dates import CHINA_TIME
from app.core.db import utcnow
from app.core.errors import PermissionDenied, ValidationFailed
from app.core.industries import INDUSTRY_LABELS, INDUSTRY_VALUES, Industry
from app.core.permissions import Role
from app.core.spreadsheets import (
    Column,
    StreamedSheet,
    StreamedWorkbook,
    Table,
    normalise_value,
    read_table,
    workbook_bytes,
)
from app.extensions import db
from app.founders.models import ImportMode
from app.library.forms import LEVEL_LABELS, STATUS_LABELS
from app.library.models import LibraryProject, ProjectLevel, ProjectStatus
from app.library.rules import PROJECT_FIELDS, CleanProject, check_project
from app.regions.queries import get_region

logger = logging.getLogger(__name__)

# A batch an expert prepares by hand: far more than any real one, small enough to check
# for duplicates in memory.
MAX_IMPORT_ROWS = 2_000
# Rows per INSERT statement.
INSERT_BATCH = 500
# Rows fetched per round trip by the export.
FETCH_ROWS = 500
FIELD_ORDER = {name: position for position, name in enumerate(PROJECT_FIELDS)}

IMPORT_COLUMNS: tuple[Column, ...] = (
    Column(
        "title",
        _l("Title"),
        ("项目名称", "名称", "项目", "标题", "project name", "project", "name"),
        required=True,
    ),
    Column(
        "industry",
        _l("Industry"),
        ("行业", "所属行业", "行业类别", "行业分类", "industry code", "sector"),
        required=True,
    ),
    Column(
        "investment_min",
        _l("Lowest investment"),
        ("最低投资", "最低投资额", "投资下限", "最少投资", "minimum investment", "min investment"),
        required=True,
    ),
    Column(
        "investment_max",
        _l("Highest investment"),
        ("最高投资", "最高投资额", "投资上限", "最多投资", "maximum investment", "max investment"),
        required=True,
    ),
    Column(
        "payback_months",
        _l("Payback (months)"),
        ("回收期", "投资回收期", "回本周期", "回收期月数", "payback", "payback period"),
        required=True,
    ),
    Column(
        "jobs_potential",
        _l("Jobs potential"),
        ("带动就业", "带动就业人数", "可带动就业", "就业人数", "jobs", "jobs created"),
        required=True,
    ),
    Column(
        "summary",
        _l("Summary"),
        ("项目简介", "简介", "项目介绍", "项目概况", "description"),
        required=True,
    ),
    Column("market", _l("Market"), ("市场分析", "市场前景", "市场", "market analysis")),
    Column("risks", _l("Risks"), ("风险提示", "风险分析", "风险", "risk")),
    Column(
        "startup_steps",
        _l("Startup steps"),
        ("创业步骤", "开办步骤", "实施步骤", "步骤", "steps"),
    ),
    Column(
        "licences",
        _l("Licences"),
        ("所需证照", "证照", "所需许可", "许可证", "licenses", "license", "licence", "permits"),
    ),
    Column(
        "expert_contact",
        _l("Expert contact"),
        ("联系专家", "专家联系方式", "指导专家", "专家", "expert", "contact"),
    ),
)
COLUMN_LABELS = {column.field: column.label for column in IMPORT_COLUMNS}

# The template's headers, in the order of its columns (one per PROJECT_FIELDS entry).
TEMPLATE_HEADERS = (
    "项目名称",
    "行业",
    "最低投资（元）",
    "最高投资（元）",
    "回收期（月）",
    "带动就业",
    "项目简介",
    "市场分析",
    "风险提示",
    "创业步骤",
    "所需证照",
    "联系专家",
)

# Chinese names of the industries, accepted besides the code and the interface's labels in
# both languages; the first is the one the template shows when no translation exists.
INDUSTRY_NAMES_ZH: dict[str, tuple[str, ...]] = {
    Industry.AGRICULTURE: ("农业", "种养殖", "种植业", "养殖业", "农林牧渔"),
    Industry.FOOD: ("食品加工", "农产品加工", "食品"),
    Industry.CATERING: ("餐饮", "餐饮服务", "小吃"),
    Industry.RETAIL: ("零售", "批发零售", "商贸"),
    Industry.ECOMMERCE: ("电子商务", "电商", "网店"),
    Industry.MANUFACTURING: ("制造业", "加工制造", "制造"),
    Industry.CRAFTS: ("手工艺", "手工艺品", "传统工艺"),
    Industry.REPAIR: ("维修服务", "维修", "修理"),
    Industry.TOURISM: ("旅游", "文旅", "旅游服务"),
    Industry.HOMESTAY: ("民宿", "乡村民宿", "住宿"),
    Industry.TRANSPORT: ("交通物流", "物流", "运输", "交通运输"),
    Industry.DOMESTIC_SERVICES: ("家政服务", "家政"),
    Industry.EDUCATION: ("教育培训", "教育", "培训"),
    Industry.HEALTH: ("健康养老", "养老", "医疗健康", "康养"),
    Industry.TECHNOLOGY: ("科技", "信息技术", "科技服务"),
    Industry.OTHER: ("其他", "其它"),
}


# The template's example row: the import skips a row with exactly this title, so an
# example left in the filled template never becomes a project.
EXAMPLE_TITLE = "椰子加工小作坊（示例）"
EXAMPLE_ROW = (
    EXAMPLE_TITLE,
    "食品加工",
    50000,
    120000,
    18,
    3,
    "收购本地椰子，加工椰子水、椰奶、椰子片，供应周边餐饮店和旅游商店。",
    "海南椰子原料充足，游客与本地餐饮对椰子制品需求稳定。",
    "原料价格随季节波动；需符合食品安全要求，产品保质期短。",
    "1. 选址并办理营业执照；2. 申请食品生产许可；3. 购置设备、试产；4. 对接餐饮店和商超。",
    "营业执照、食品生产许可证（或小作坊登记证）",
    "省创业指导中心 0898-00000000",
)

_AMOUNT_NOISE = re.compile(r"[\s,，¥￥元]")
_MONTHS_SUFFIX = re.compile(r"\s*(个月|月|months?)$", re.IGNORECASE)
_JOBS_SUFFIX = re.compile(r"\s*(人|个|名|jobs?|people)$", re.IGNORECASE)
_TEN_THOUSAND = Decimal(10_000)


@dataclass
class ProjectImportResult:
    """What one import did: rows read, the ids of the projects created, every problem."""

    mode: str
    total_rows: int = 0
    created: list[int] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def error_count(self) -> int:
        """How many problems were found."""
        return len(self.errors)

    def to_json(self) -> dict[str, Any]:
        """The API answer: {total_rows, created, created_count, error_count, errors}."""
        return {
            "mode": self.mode,
            "total_rows": self.total_rows,
            "created": list(self.created),
            "created_count": len(self.created),
            "error_count": self.error_count,
            "errors": list(self.errors),
        }


# --- import ---------------------------------------------------------------------------


def import_projects(
    actor: Any,
    source: Any,
    filename: str,
    *,
    mode: ImportMode | str | None = ImportMode.ALL_OR_NOTHING,
    as_of: date,
) -> ProjectImportResult:
    """Import library projects from an uploaded .xlsx/.csv as drafts of the actor's library.

    The actor must be staff; the projects are province-level when the actor's region is a
    province, else city-level, owned by the actor's region. Every row is checked with
    `check_project`; a title repeated in the file or already in the actor's library is a
    problem of its row. `all_or_nothing` (default) writes nothing if any row is bad,
    `valid_rows` writes the good rows. Writes one `library_project.import` audit entry per
    project and one `library_project_import.create` summary; flushes, never commits. A file
    that cannot be used at all raises ValidationFailed({"file": [...]}).
    """
    try:
        mode = ImportMode(mode or ImportMode.ALL_OR_NOTHING)
    except ValueError:
        raise ValidationFailed.single("mode", _("Choose how to handle bad rows.")) from None
    level = curating_level(actor)
    table = read_table(source, filename, IMPORT_COLUMNS, max_rows=MAX_IMPORT_ROWS)

    result = ProjectImportResult(mode=mode.value)
    clean = _check_rows(actor, table, result)
    result.errors.sort(key=lambda p: (p["row"], FIELD_ORDER.get(p["field"], 99)))
    bad_rows = {problem["row"] for problem in result.errors}
    if mode is ImportMode.VALID_ROWS or not result.errors:
        to_write = [project for row, project in clean.items() if row not in bad_rows]
        if to_write:
            result.created = _insert_projects(actor, level, to_write)

    record_audit(
        actor,
        "library_project_import.create",
        ("library_project_import", None),
        None,
        {
            "filename": _clean_filename(filename),
            "mode": mode.value,
            "as_of": as_of,
            "level": level.value,
            "total_rows": result.total_rows,
            "created_count": len(result.created),
            "error_count": result.error_count,
        },
        region_code=actor.region_code,
    )
    logger.info(
        "Library import by %s: %s rows, %s created, %s problems",
        getattr(actor, "username", None),
        result.total_rows,
        len(result.created),
        result.error_count,
    )
    return result


def curating_level(actor: Any) -> ProjectLevel:
    """The level of the library the actor curates: the province's or their city's.

    Raises PermissionDenied for anyone but staff.
    """
    if getattr(actor, "role", None) != Role.STAFF:
        raise PermissionDenied(_("Only guidance centre staff curate library projects."))
    region = getattr(actor, "region", None) or get_region(actor.region_code)
    if region is None:
        raise PermissionDenied(_("Your account has no region; ask an administrator."))
    return ProjectLevel.PROVINCE if region.is_province else ProjectLevel.CITY


def _clean_filename(filename: str) -> str:
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(char for char in name if ord(char) >= 32)
    return name[-255:] or "upload"


def industry_lookup() -> dict[str, str]:
    """Normalised industry text -> code: codes, labels in both languages, Chinese names."""
    lookup: dict[str, str] = {}
    for locale in ("zh_Hans_CN", "en"):
        with force_locale(locale):
            for code, label in INDUSTRY_LABELS.items():
                lookup.setdefault(normalise_value(str(label)), code.value)
    for code, names in INDUSTRY_NAMES_ZH.items():
        for name in names:
            lookup.setdefault(normalise_value(name), str(code))
    for code in INDUSTRY_VALUES:
        lookup[normalise_value(code)] = code
    return lookup


def parse_amount(text: str) -> str:
    """An amount cell as yuan text for `check_project`: "50,000", "¥50000元" and "5万"
    (ten thousands) are understood; anything else is handed on as it is, to be refused."""
    cleaned = _AMOUNT_NOISE.sub("", text)
    if cleaned.endswith("万"):
        try:
            amount = Decimal(cleaned[:-1]) * _TEN_THOUSAND
        except (InvalidOperation, ValueError):
            return text
        return str(amount) if amount.is_finite() else text
    return cleaned


def _check_rows(actor: Any, table: Table, result: ProjectImportResult) -> dict[int, CleanProject]:
    industries = industry_lookup()
    columns = {name: table.column(name) for name in PROJECT_FIELDS}
    first_row_of: dict[str, int] = {}
    clean_rows: dict[int, CleanProject] = {}

    def add(row: int, field_name: str, message: str) -> None:
        result.errors.append({"row": row, "field": field_name, "message": str(message)})

    for position, row in enumerate(table.row_numbers):
        raw = {name: values[position] for name, values in columns.items()}
        if raw["title"] == EXAMPLE_TITLE:
            continue
        result.total_rows += 1
        values = dict(raw)
        values["industry"] = industries.get(normalise_value(raw["industry"]), raw["industry"])
        values["investment_min"] = parse_amount(raw["investment_min"])
        values["investment_max"] = parse_amount(raw["investment_max"])
        values["payback_months"] = _MONTHS_SUFFIX.sub("", raw["payback_months"])
        values["jobs_potential"] = _JOBS_SUFFIX.sub("", raw["jobs_potential"])
        clean, errors = check_project(values)
        if "title" not in errors:
            key = normalise_value(raw["title"])
            first = first_row_of.setdefault(key, row)
            if first != row:
                errors["title"] = [
                    _("This title is already in row %(row)s of this file.", row=first)
                ]
                clean = None
        for field_name, messages in errors.items():
            for message in messages:
                add(row, field_name, message)
        if clean is not None:
            clean_rows[row] = clean

    existing = _existing_titles(actor.region_code)
    for key, row in first_row_of.items():
        if key in existing:
            add(
                row,
                "title",
                _(
                    "Your library has a project with this title already (project %(id)s).",
                    id=existing[key],
                ),
            )
            clean_rows.pop(row, None)
    return clean_rows


def _existing_titles(region_code: str) -> dict[str, int]:
    """Normalised title -> id of the projects the region owns (any level or status)."""
    stmt = (
        select(LibraryProject.title, LibraryProject.id)
        .where(LibraryProject.region_code == region_code)
        .order_by(LibraryProject.id)
    )
    titles: dict[str, int] = {}
    for title, project_id in db.session.execute(stmt):
        titles.setdefault(normalise_value(title), project_id)
    return titles


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _insert_projects(actor: Any, level: ProjectLevel, projects: list[CleanProject]) -> list[int]:
    """Insert the projects as drafts with one audit entry each, in batches; answer the ids."""
    now = utcnow()
    table = LibraryProject.__table__
    created: list[int] = []
    for batch in _chunks(projects, INSERT_BATCH):
        rows = [
            project.as_row()
            | {
                "level": level.value,
                "region_code": actor.region_code,
                "status": ProjectStatus.DRAFT.value,
                "created_at": now,
                "updated_at": now,
            }
            for project in batch
        ]
        ids = list(
            db.session.execute(
                insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
            ).scalars()
        )
        entries = [
            {
                "occurred_at": now,
                "actor_id": getattr(actor, "id", None),
                "actor_username": getattr(actor, "username", None),
                "action": "library_project.import",
                "entity_type": "library_project",
                "entity_id": str(project_id),
                "region_code": row["region_code"],
                "before": None,
                "after": _audit_after(project_id, row),
            }
            for project_id, row in zip(ids, rows, strict=True)
        ]
        db.session.execute(insert(AuditEntry.__table__), entries)
        created += ids
    return created


def _audit_after(project_id: int, row: dict[str, Any]) -> dict[str, Any]:
    """The created row as JSON-ready values (money as text with its 2 decimals)."""
    after: dict[str, Any] = {"id": project_id}
    for key, value in row.items():
        if isinstance(value, Decimal):
            after[key] = str(value)
        elif isinstance(value, datetime | date):
            after[key] = value.isoformat()
        else:
            after[key] = value
    return after


# --- report and template ---------------------------------------------------------------


def project_import_report_workbook(errors: Sequence[dict[str, Any]]) -> bytes:
    """An import's problems as .xlsx (row, column, problem), headers in the user's language."""
    workbook = StreamedWorkbook()
    problems = workbook.add_sheet(
        str(_("Problems")), [_("Row"), _("Column"), _("Problem")], widths=(8, 24, 80)
    )
    for problem in errors:
        label = COLUMN_LABELS.get(problem.get("field"), problem.get("field"))
        problems.append([problem.get("row"), str(label), problem.get("message")])
    summary = workbook.add_sheet(str(_("Summary")), [], widths=(28, 60))
    summary.append([_("Problems"), len(errors)])
    summary.append([_("Rows with problems"), len({problem.get("row") for problem in errors})])
    return workbook.to_bytes()


def _industry_names() -> list[tuple[str, str, str]]:
    """(code, Chinese name, English label) per industry, in SPEC order."""
    names = []
    for code, label in INDUSTRY_LABELS.items():
        with force_locale("en"):
            english = str(label)
        with force_locale("zh_Hans_CN"):
            chinese = str(label)
        if chinese == english:  # no translation yet: the Chinese name the import knows
            chinese = INDUSTRY_NAMES_ZH[code][0]
        names.append((code.value, chinese, english))
    return names


def project_import_template() -> bytes:
    """A blank import file: Chinese headers, one example row (skipped if left in), and a
    sheet of the industries with their codes, Chinese and English names."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "项目"
    sheet.append(list(TEMPLATE_HEADERS))
    bold = Font(bold=True)
    for cell in sheet[1]:
        cell.font = bold
    industries = _industry_names()
    example = list(EXAMPLE_ROW)
    example[1] = next(name for code, name, _en in industries if code == Industry.FOOD)
    sheet.append(example)
    grey = Font(italic=True, color="808080")
    for cell in sheet[2]:
        cell.font = grey
    for letter in "CD":
        sheet[f"{letter}2"].number_format = "0.00"
    widths = (24, 14, 14, 14, 12, 10, 50, 40, 40, 50, 30, 24)
    for letter, width in zip("ABCDEFGHIJKL", widths, strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"

    values = workbook.create_sheet("行业")
    values.append(["代码 / Code", "中文", "English"])
    for cell in values[1]:
        cell.font = bold
    for row in industries:
        values.append(list(row))
    for letter, width in zip("ABC", (20, 16, 28), strict=True):
        values.column_dimensions[letter].width = width

    # A drop-down of the Chinese names (typing a code or an English name still works).
    validation = DataValidation(
        type="list",
        formula1=f"'行业'!$B$2:$B${1 + len(industries)}",
        allow_blank=True,
        showErrorMessage=False,
    )
    sheet.add_data_validation(validation)
    validation.add(f"B2:B{MAX_IMPORT_ROWS + 1}")
    return workbook_bytes(workbook)


# --- export ---------------------------------------------------------------------------

EXPORT_COLUMNS = (
    (_l("Project ID"), 10),
    (_l("Title"), 28),
    (_l("Level"), 8),
    (_l("Region code"), 10),
    (_l("Region"), 14),
    (_l("Industry"), 16),
    (_l("Lowest investment (yuan)"), 14),
    (_l("Highest investment (yuan)"), 14),
    (_l("Payback (months)"), 10),
    (_l("Jobs potential"), 10),
    (_l("Summary"), 50),
    (_l("Market"), 40),
    (_l("Risks"), 40),
    (_l("Startup steps"), 50),
    (_l("Licences"), 30),
    (_l("Expert contact"), 24),
    (_l("Status"), 10),
    (_l("Promoted from project"), 12),
    (_l("Created on"), 12),
    (_l("Published on"), 12),
)
MONEY_FORMAT = "#,##0.00"


def export_filename(exported_at: datetime) -> str:
    """The download name, e.g. library-projects-20261122-1530.xlsx (China time)."""
    return f"library-projects-{exported_at.astimezone(CHINA_TIME):%Y%m%d-%H%M}.xlsx"


def export_projects_xlsx(projects_stmt: Select, *, exported_at: datetime) -> tuple[Path, int]:
    """Write the projects of a statement (already scoped and filtered by the caller, its
    first column the LibraryProject entity) to a temporary .xlsx, in its order.

    Answers the file's path (the caller sends it, then deletes it) and the number of
    projects written. A second sheet records the export time (China time) and the count.
    """
    workbook = StreamedWorkbook()
    sheet = workbook.add_sheet(
        _("Projects"),
        [label for label, _width in EXPORT_COLUMNS],
        widths=[width for _label, width in EXPORT_COLUMNS],
    )
    info = workbook.add_sheet(_("Export info"), [], widths=(24, 60))
    try:
        count = _write_projects(sheet, projects_stmt)
        stamp = exported_at.astimezone(CHINA_TIME).strftime("%Y-%m-%d %H:%M:%S (UTC+8)")
        info.append([_("Exported at"), stamp])
        info.append([_("Projects"), count])
        info.append([_("Note"), _("Amounts are in yuan.")])
        return workbook.save(), count
    except BaseException:
        workbook.discard()
        raise


def _china_date(moment: datetime | None) -> date | None:
    return moment.astimezone(CHINA_TIME).date() if moment is not None else None


def _write_projects(sheet: StreamedSheet, stmt: Select) -> int:
    """Stream the statement's projects into the sheet, codes as labels; answer how many."""
    industries = {code.value: str(label) for code, label in INDUSTRY_LABELS.items()}
    levels = {code.value: str(label) for code, label in LEVEL_LABELS.items()}
    statuses = {code.value: str(label) for code, label in STATUS_LABELS.items()}

    def money(amount: Decimal) -> Any:
        return sheet.formatted(amount, MONEY_FORMAT)

    count = 0
    with db.session.execute(stmt.execution_options(yield_per=FETCH_ROWS)) as result:
        for row in result:
            project: LibraryProject = row[0]
            sheet.append(
                [
                    project.id,
                    project.title,
                    levels.get(project.level, project.level),
                    project.region_code,
                    project.region.display_name if project.region is not None else "",
                    industries.get(project.industry, project.industry),
                    money(project.investment_min),
                    money(project.investment_max),
                    project.payback_months,
                    project.jobs_potential,
                    project.summary,
                    project.market,
                    project.risks,
                    project.startup_steps,
                    project.licences,
                    project.expert_contact,
                    statuses.get(project.status, project.status),
                    project.promoted_from_id,
                    _china_date(project.created_at),
                    _china_date(project.published_at),
                ]
            )
            count += 1
    return count
