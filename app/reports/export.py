"""The real-name list behind a KPI figure as .xlsx, streamed (constant memory)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from flask_babel import gettext as _

from app.core.dates import CHINA_TIME
from app.core.spreadsheets import StreamedWorkbook
from app.extensions import db
from app.reports.dimensions import DIMENSION_LABELS
from app.reports.lists import (
    FAMILY_COLUMNS,
    FIGURE_LISTS,
    ListQuery,
    breakdown_cell_label,
    figure_rows_stmt,
    iter_rows,
)

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FETCH_ROWS = 2_000
MONEY_FORMAT = "#,##0.00"


def export_filename(figure: str, exported_at: datetime) -> str:
    """The download name, e.g. loans.at_risk-20261123-0930.xlsx (China time)."""
    return f"{figure}-{exported_at.astimezone(CHINA_TIME):%Y%m%d-%H%M}.xlsx"


def export_figure_list(query: ListQuery, *, user: Any, exported_at: datetime) -> tuple[Path, int]:
    """Write the figure's list to a temporary .xlsx; answers its path and the row count.

    A second sheet says which figure, region, date, period and breakdown cell the rows
    are, and who exported them when.
    """
    columns = FAMILY_COLUMNS[FIGURE_LISTS[query.figure].family]
    workbook = StreamedWorkbook()
    sheet = workbook.add_sheet(
        str(FIGURE_LISTS[query.figure].title),
        [str(column.label) for column in columns],
        widths=[18] * len(columns),
    )
    info = workbook.add_sheet(_("Export info"), [], widths=(24, 60))
    try:
        count = 0
        stmt = figure_rows_stmt(query).execution_options(yield_per=FETCH_ROWS)
        with db.session.execute(stmt) as result:
            for values in iter_rows(result.mappings(), columns):
                sheet.append(
                    [
                        sheet.formatted(value, MONEY_FORMAT) if column.kind == "money" else value
                        for column, value in zip(columns, values, strict=True)
                    ]
                )
                count += 1
        for label, value in _describe(query, user, exported_at, count):
            info.append([label, value])
        return workbook.save(), count
    except BaseException:
        workbook.discard()
        raise


def _describe(query: ListQuery, user: Any, exported_at: datetime, count: int) -> list[tuple]:
    rows = [
        (_("Figure"), str(FIGURE_LISTS[query.figure].title)),
        (_("Region"), query.region_code or _("All regions")),
        (_("As of"), query.as_of.isoformat()),
        (_("From"), query.start.isoformat() if query.start else ""),
        (_("To"), query.end.isoformat() if query.end else ""),
    ]
    if query.dimension is not None:
        label = breakdown_cell_label(query, count)
        rows.append((str(DIMENSION_LABELS[query.dimension]), label))
    stamp = exported_at.astimezone(CHINA_TIME).strftime("%Y-%m-%d %H:%M:%S (UTC+8)")
    rows += [
        (_("Rows"), count),
        (_("Exported at"), stamp),
        (_("Exported by"), getattr(user, "username", "") or ""),
    ]
    return rows
