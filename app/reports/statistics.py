"""The statistics table of SPEC §13: a region's year as of a cut-off date, as .xlsx.

One row per child region (a province's cities, in code order; the province's own records,
when it keeps any, as a "province level" row before them; a city has just its own row)
and a total row, in the layout staff hand in at the reporting deadlines: a title row, a
two-level header (groups merged over their columns) and the figures. Every figure comes
from the KPI engine: the rows as `compute_breakdown` by region gives them, the total as
`compute_kpis` of the region itself gives it (so a province's rates are over all its
records, never averaged from the rows), both from one pass
(`compute_kpis_and_region_breakdown`). Targets and their progress follow `app.targets.progress`: the
actual of each target figure is the same KPI figure, and the progress is actual / target
rounded like every rate (None without a target, or with a target of 0).

The period of a year is 1 January to the cut-off date (31 December at the latest). Rates
are written as numbers formatted 0.0 %, money as #,##0.00 yuan, and every text cell is
escaped against formula injection (SPEC §4). A second sheet holds the definitions and
when and by whom the file was produced.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pandas as pd
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from app.core.dates import CHINA_TIME
from app.core.errors import NotFound, ValidationFailed
from app.core.spreadsheets import escape_formula, workbook_bytes
from app.extensions import db
from app.regions.models import Region
from app.reports.kpis import (
    compute_kpis_and_region_breakdown,
    empty_figures,
    rate,
    survival_by_region_and_total,
)
from app.targets.models import MONEY_FIELDS
from app.targets.queries import SplitRow, list_split
from app.targets.rules import is_valid_year, target_label, year_message

RATE_FORMAT = "0.0%"
MONEY_FORMAT = "#,##0.00"
COUNT_FORMAT = "#,##0"
ZERO_AMOUNT = Decimal("0.00")
# The title row, the group row and the column row; figures start below them.
HEADER_ROWS = 3

# The KPI figure that is each target's actual, as `app.targets.progress.actuals_of` reads it.
ACTUALS: dict[str, tuple[str, str]] = {
    "trainees": ("training", "enrolled"),
    "businesses_opened": ("survival", "businesses"),
    "jobs_created": ("jobs", "jobs"),
    "loans_count": ("loans", "disbursed_count"),
    "loans_amount": ("loans", "disbursed_amount"),
}
# The KPI rates the table shows beside the targets: frame column -> (group, figure).
RATES: dict[str, tuple[str, str]] = {
    "pass_rate": ("training", "pass_rate"),
    "opening_rate_3m": ("opening", "rate_3m"),
    "opening_rate_6m": ("opening", "rate_6m"),
    "survival_km_12m": ("survival", "km_12m"),
    "survival_naive_12m": ("survival", "naive_12m"),
    "on_time_rate": ("loans", "on_time_rate"),
    "par30": ("loans", "par30"),
    "compensation_rate": ("loans", "compensation_rate"),
    "response_rate": ("followups", "response_rate"),
}


@dataclass(frozen=True)
class StatisticsColumn:
    """One column of the table: its frame name, its group, its header and how it is shown."""

    name: str
    group: Any  # a lazy group header; None for the region columns (over both header rows)
    label: Callable[[], str]
    kind: str  # text, count, money or rate
    width: float = 11


def _target_columns(field: str, group: Any) -> list[StatisticsColumn]:
    kind = "money" if field in MONEY_FIELDS else "count"
    width = 15 if kind == "money" else 11
    return [
        StatisticsColumn(
            f"{field}_target",
            group,
            lambda: _("%(figure)s: target", figure=target_label(field)),
            kind,
            width,
        ),
        StatisticsColumn(
            f"{field}_actual",
            group,
            lambda: _("%(figure)s: actual", figure=target_label(field)),
            kind,
            width,
        ),
        StatisticsColumn(
            f"{field}_progress",
            group,
            lambda: _("%(figure)s: %% of target", figure=target_label(field)),
            "rate",
        ),
    ]


def _rate_column(name: str, group: Any, label: Any) -> StatisticsColumn:
    return StatisticsColumn(name, group, lambda: str(label), "rate")


TRAINING, OPENING, SURVIVAL = _l("Training"), _l("Opening"), _l("Survival")
JOBS, LOANS, FOLLOWUPS = _l("Job creation"), _l("Loans"), _l("Follow-up response")

COLUMNS: tuple[StatisticsColumn, ...] = (
    StatisticsColumn("region_name", None, lambda: _("Region"), "text", 22),
    StatisticsColumn("region_code", None, lambda: _("Region code"), "text", 9),
    *_target_columns("trainees", TRAINING),
    _rate_column("pass_rate", TRAINING, _l("Training pass rate")),
    *_target_columns("businesses_opened", OPENING),
    _rate_column("opening_rate_3m", OPENING, _l("Opening rate at 3 months")),
    _rate_column("opening_rate_6m", OPENING, _l("Opening rate at 6 months")),
    _rate_column("survival_km_12m", SURVIVAL, _l("12-month survival (Kaplan–Meier)")),
    _rate_column("survival_naive_12m", SURVIVAL, _l("12-month survival (naive)")),
    *_target_columns("jobs_created", JOBS),
    *_target_columns("loans_count", LOANS),
    *_target_columns("loans_amount", LOANS),
    _rate_column("on_time_rate", LOANS, _l("On-time repayment rate")),
    _rate_column("par30", LOANS, _l("Portfolio at risk over 30 days (PAR30)")),
    _rate_column("compensation_rate", LOANS, _l("Compensation rate")),
    _rate_column("response_rate", FOLLOWUPS, _l("Follow-up response rate")),
)
FRAME_COLUMNS = (*(column.name for column in COLUMNS), "is_total")
_DTYPES = {
    column.name: {"count": "Int64", "rate": "Float64", "money": "object", "text": "object"}[
        column.kind
    ]
    for column in COLUMNS
} | {"is_total": "bool"}


def statistics_period(year: int, as_of: date) -> tuple[date, date]:
    """The year's period up to the cut-off date: (1 January, min(as_of, 31 December)).

    Raises ValidationFailed for a year targets are not kept for (field `year`) or a
    cut-off date before the year starts (field `as_of`).
    """
    if not is_valid_year(year):
        raise ValidationFailed.single("year", year_message())
    start = date(year, 1, 1)
    if as_of < start:
        raise ValidationFailed.single(
            "as_of", _("The cut-off date cannot be before %(day)s.", day=start.isoformat())
        )
    return start, min(as_of, date(year, 12, 31))


# Survival rates the table measures over all businesses opened by the cut-off date.
SURVIVAL_RATES = ("km_12m", "km_12m_low", "km_12m_high", "naive_12m")


def statistics_frame(region_code: str, year: int, as_of: date) -> pd.DataFrame:
    """The table's figures: one row per child region, then the total row (`is_total`),
    in machine column names (FRAME_COLUMNS); rates as fractions, money as Decimal yuan,
    None (NA) where a rate has nothing to divide by or no target is set."""
    start, end = statistics_period(year, as_of)
    split = list_split(year, region_code)
    if not split or split[0].region.code != region_code:
        raise NotFound(_("Unknown region."))
    own, cities = split[0], split[1:]
    region_total, rows = compute_kpis_and_region_breakdown(region_code, as_of, start, end)
    breakdown = {entry["key"]: entry for entry in rows}
    total = {region_code: region_total}
    # A year's own businesses are all younger than a year: 12-month survival is measured
    # over every business opened by the cut-off date instead (D45).
    survival_by_region, overall = survival_by_region_and_total(region_code, as_of)
    for code, figures in survival_by_region.items():
        # A city with businesses from earlier years but nothing in this one still has them.
        entry = breakdown.setdefault(code, {"key": code, **empty_figures(as_of)})
        entry["survival"] = {
            **entry["survival"],
            **{name: figures[name] for name in SURVIVAL_RATES},
        }
    total[region_code]["survival"] = {
        **total[region_code]["survival"],
        **{name: overall[name] for name in SURVIVAL_RATES},
    }
    rows = []
    if not own.region.is_province:
        rows.append(_row(own, own.region.display_name, breakdown, with_targets=True))
    elif region_code in breakdown or not cities:
        # Records kept at the province itself; its targets are the total's, not this row's.
        label = _("%(region)s, province level", region=own.region.display_name)
        rows.append(_row(own, label, breakdown, with_targets=False))
    for city in cities:
        rows.append(_row(city, city.region.display_name, breakdown, with_targets=True))
    rows.append(_row(own, _("Total"), total, with_targets=True, is_total=True))
    return pd.DataFrame(rows, columns=list(FRAME_COLUMNS)).astype(_DTYPES)


def _row(
    line: SplitRow,
    name: str,
    figures_by_code: dict[str, dict[str, Any]],
    *,
    with_targets: bool,
    is_total: bool = False,
) -> dict[str, Any]:
    """One line of the frame. A region without any record has zero counts and empty rates,
    as the KPI engine gives a group it does not reach."""
    code = line.region.code
    figures = figures_by_code.get(code)
    targets = line.values() if with_targets else {}
    row: dict[str, Any] = {"region_code": code, "region_name": name, "is_total": is_total}
    for field, (group, figure) in ACTUALS.items():
        if field in MONEY_FIELDS:
            actual: Any = Decimal(figures[group][figure]) if figures else ZERO_AMOUNT
        else:
            actual = figures[group][figure] if figures else 0
        target = targets.get(field)
        row[f"{field}_target"] = target
        row[f"{field}_actual"] = actual
        # As app.targets.progress: actual / target to 4 places, none without a target or at 0.
        row[f"{field}_progress"] = rate(actual, target) if target is not None else None
    for column, (group, figure) in RATES.items():
        row[column] = figures[group][figure] if figures else None
    return row


def statistics_filename(region_code: str, year: int, as_of: date) -> str:
    """The download name, e.g. statistics-460000-2026-20261123.xlsx."""
    code = re.sub(r"[^0-9A-Za-z]", "", region_code)
    return f"statistics-{code}-{year}-{as_of:%Y%m%d}.xlsx"


def build_statistics_workbook(
    region_code: str, year: int, as_of: date, *, produced_by: str, produced_at: datetime
) -> bytes:
    """The statistics table of the region's year up to `as_of` as .xlsx bytes: the table
    sheet and a notes sheet (definitions, period, who produced it and when)."""
    frame = statistics_frame(region_code, year, as_of)
    title = _title(region_code, year, as_of)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _sheet_name(_("Statistics"))
    _write_table(sheet, title, frame)
    notes = workbook.create_sheet(_sheet_name(_("Notes")))
    _write_notes(notes, title, year, as_of, produced_by, produced_at)
    return workbook_bytes(workbook)


def _title(region_code: str, year: int, as_of: date) -> str:
    region = db.session.get(Region, region_code)
    name = region.display_name if region is not None else region_code
    return _(
        "%(region)s: statistics table %(year)s, as of %(day)s",
        region=name,
        year=year,
        day=as_of.isoformat(),
    )


def _sheet_name(title: str) -> str:
    # Excel allows 31 characters and none of []:*?/\ in a sheet name.
    return re.sub(r"[\[\]:*?/\\]", " ", title)[:31] or "Sheet"


_THIN = Side(style="thin", color="999999")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_CENTERED = Alignment(horizontal="center", vertical="center", wrap_text=True)
_BOLD = Font(bold=True)
_FORMATS = {"rate": RATE_FORMAT, "money": MONEY_FORMAT, "count": COUNT_FORMAT}


def _write_table(sheet: Any, title: str, frame: pd.DataFrame) -> None:
    last = get_column_letter(len(COLUMNS))
    sheet.append([escape_formula(title)])
    sheet.merge_cells(f"A1:{last}1")
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A1"].alignment = Alignment(horizontal="center")

    # Row 2: the groups, each merged over its columns; the region columns span rows 2-3.
    groups: list[tuple[Any, int, int]] = []  # (group, first column, last column)
    for position, column in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(position)].width = column.width
        if column.group is None:
            sheet.cell(row=2, column=position, value=escape_formula(column.label()))
            sheet.merge_cells(start_row=2, end_row=3, start_column=position, end_column=position)
            continue
        sheet.cell(row=3, column=position, value=escape_formula(column.label()))
        if groups and groups[-1][0] is column.group:
            groups[-1] = (column.group, groups[-1][1], position)
        else:
            groups.append((column.group, position, position))
    for group, first, last_position in groups:
        sheet.cell(row=2, column=first, value=escape_formula(str(group)))
        if last_position > first:
            sheet.merge_cells(start_row=2, end_row=2, start_column=first, end_column=last_position)
    for row in sheet.iter_rows(min_row=2, max_row=HEADER_ROWS, max_col=len(COLUMNS)):
        for cell in row:
            cell.font = _BOLD
            cell.alignment = _CENTERED
            cell.border = _BORDER
    sheet.row_dimensions[3].height = 48

    for record in frame.to_dict("records"):
        sheet.append([escape_formula(_cell_value(record[column.name])) for column in COLUMNS])
        number = sheet.max_row
        for position, column in enumerate(COLUMNS, start=1):
            cell = sheet.cell(row=number, column=position)
            cell.border = _BORDER
            if column.kind in _FORMATS:
                cell.number_format = _FORMATS[column.kind]
            if record["is_total"]:
                cell.font = _BOLD
    sheet.freeze_panes = sheet.cell(row=HEADER_ROWS + 1, column=3)


def _cell_value(value: Any) -> Any:
    """A frame value as openpyxl takes it: NA as an empty cell, numpy scalars as Python."""
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def _definitions() -> list[tuple[str, str]]:
    opening = f"{_('Opening rate at 3 months')} / {_('Opening rate at 6 months')}"
    return [
        (
            _("Total"),
            _(
                "The region with all its cities, computed over all their records "
                "(not added up from the rows)."
            ),
        ),
        (_("Province level"), _("Records kept at the province itself, not at a city.")),
        (
            target_label("trainees"),
            _("Entrepreneurship training (GYB, SYB, IYB, EYB) enrollments of the period."),
        ),
        (
            _("Training pass rate"),
            _("Passed ÷ (passed + failed), results completed in the period."),
        ),
        (target_label("businesses_opened"), _("Businesses opened in the period.")),
        (
            opening,
            _(
                "Founders who opened a business within 3 (6) months of their first passed "
                "entrepreneurship training ÷ founders whose 3 (6) months are over."
            ),
        ),
        (
            _("12-month survival (Kaplan–Meier)"),
            _(
                "Estimated share of businesses still operating a year after opening, over "
                "every business opened by the cut-off date (the year's own are all younger "
                "than a year); businesses not seen closed count until their last observation."
            ),
        ),
        (
            _("12-month survival (naive)"),
            _("Share of businesses opened a year or more before not closed within the year."),
        ),
        (
            target_label("jobs_created"),
            _("Employees of the period's businesses operating on the cut-off date."),
        ),
        (
            target_label("loans_count"),
            _("Guaranteed loans disbursed in the period; amounts in yuan."),
        ),
        (
            _("On-time repayment rate"),
            _("Amount paid by the due date ÷ amount due, installments due in the period."),
        ),
        (
            _("Portfolio at risk over 30 days (PAR30)"),
            _("Outstanding principal more than 30 days past due ÷ outstanding principal."),
        ),
        (
            _("Compensation rate"),
            _("Amount the guarantee fund paid the banks ÷ amount disbursed."),
        ),
        (
            _("Follow-up response rate"),
            _("Follow-ups done ÷ follow-ups due in the period; read every outcome figure with it."),
        ),
        (
            _("Percent of target"),
            _("Actual ÷ the year's target; empty where no target is set."),
        ),
        (_("Empty rate"), _("Nothing to divide by.")),
    ]


def _write_notes(
    sheet: Any, title: str, year: int, as_of: date, produced_by: str, produced_at: datetime
) -> None:
    start, end = statistics_period(year, as_of)
    if produced_at.tzinfo is None:
        produced_at = produced_at.replace(tzinfo=UTC)
    stamp = produced_at.astimezone(CHINA_TIME).strftime("%Y-%m-%d %H:%M (UTC+8)")
    lines: Sequence[Sequence[str]] = [
        [title],
        [_("Produced %(stamp)s by %(user)s.", stamp=stamp, user=produced_by)],
        [
            _(
                "Period %(start)s to %(end)s; records dated after %(day)s are not counted.",
                start=start.isoformat(),
                end=end.isoformat(),
                day=as_of.isoformat(),
            )
        ],
        [],
        *_definitions(),
    ]
    for line in lines:
        sheet.append([escape_formula(str(text)) for text in line])
    sheet["A1"].font = Font(bold=True, size=12)
    for row in sheet.iter_rows(min_row=5, max_col=1):
        row[0].font = _BOLD
    sheet.column_dimensions["A"].width = 34
    sheet.column_dimensions["B"].width = 90
