"""Export of the filtered founder list to .xlsx (SPEC §5), streamed row by row.

The export takes the list's own statement (same filters, same scope), selects only the
columns it writes, and streams them from the database into openpyxl's write-only mode,
so memory stays flat at any size. ID numbers leave the system masked, never in full.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select

from app.core.dates import CHINA_TIME
from app.core.errors import ValidationFailed
from app.core.spreadsheets import StreamedSheet, StreamedWorkbook
from app.extensions import db
from app.founders.forms import (
    EDUCATION_LABELS,
    SEX_LABELS,
    TARGET_GROUP_LABELS,
    TRAINING_STATUS_LABELS,
)
from app.founders.models import Founder, mask_id_number
from app.founders.queries import FounderFilters, list_founders_stmt
from app.regions.models import Region

# Rows fetched from the database per round trip (a server-side cursor on PostgreSQL).
FETCH_ROWS = 2_000
# An Excel sheet holds 1,048,576 rows, one of them the header.
MAX_EXPORT_ROWS = 1_048_575

EXPORT_COLUMNS = (
    (_l("Founder ID"), 10),
    (_l("Name"), 14),
    (_l("ID number (masked)"), 22),
    (_l("Sex"), 6),
    (_l("Birth date"), 12),
    (_l("Mobile phone"), 14),
    (_l("Region code"), 10),
    (_l("Region"), 16),
    (_l("Target group"), 22),
    (_l("Education"), 18),
    (_l("Re-employment certificate"), 12),
    (_l("Registered on"), 12),
)


def export_filename(exported_at: datetime) -> str:
    """The download name, e.g. founders-20261122-1530.xlsx (China time)."""
    return f"founders-{exported_at.astimezone(CHINA_TIME):%Y%m%d-%H%M}.xlsx"


def export_founders_xlsx(
    user: Any, filters: FounderFilters | None = None, *, exported_at: datetime
) -> tuple[Path, int]:
    """Write the founders the user sees in the list, with its filters, to a temporary .xlsx.

    Answers the file's path (the caller sends it, then deletes it) and the number of
    founders written. A second sheet records when, by whom and with which filters. More
    founders than a sheet can hold raise ValidationFailed({"filters": [...]}).
    """
    filters = filters or FounderFilters()
    stmt = list_founders_stmt(user, filters).with_only_columns(
        Founder.id,
        Founder.name,
        Founder.id_number,
        Founder.sex,
        Founder.birth_date,
        Founder.phone,
        Founder.region_code,
        Founder.target_group,
        Founder.education,
        Founder.has_reemployment_certificate,
        Founder.registered_on,
        maintain_column_froms=True,
    )
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    if total > MAX_EXPORT_ROWS:
        raise ValidationFailed.single(
            "filters",
            _(
                "%(count)s founders match; a spreadsheet holds at most %(limit)s. "
                "Narrow the filters (a region, a target group or registration dates).",
                count=f"{total:,}",
                limit=f"{MAX_EXPORT_ROWS:,}",
            ),
        )
    regions = _region_names()
    workbook = StreamedWorkbook()
    sheet = workbook.add_sheet(
        _("Founders"),
        [label for label, _width in EXPORT_COLUMNS],
        widths=[width for _label, width in EXPORT_COLUMNS],
    )
    info = workbook.add_sheet(_("Export info"), [], widths=(24, 60))
    try:
        count = _write_founders(sheet, stmt, regions)
        stamp = exported_at.astimezone(CHINA_TIME).strftime("%Y-%m-%d %H:%M:%S (UTC+8)")
        info.append([_("Exported at"), stamp])
        info.append([_("Exported by"), getattr(user, "username", "") or ""])
        info.append([_("Founders"), count])
        info.append([_("Filters"), ""])
        for label, value in describe_filters(filters, regions):
            info.append([label, value])
        note = _("ID numbers are masked; the full number is shown only on a founder's page.")
        info.append([_("Note"), note])
        return workbook.save(), count
    except BaseException:
        workbook.discard()
        raise


def _write_founders(sheet: StreamedSheet, stmt: Select, regions: dict[str, str]) -> int:
    """Stream the statement's rows into the sheet, codes as labels; answer how many."""
    groups = {str(code): str(label) for code, label in TARGET_GROUP_LABELS.items()}
    levels = {str(code): str(label) for code, label in EDUCATION_LABELS.items()}
    sexes = {code: str(label) for code, label in SEX_LABELS.items()}
    yes, no = _("Yes"), _("No")
    count = 0
    # Closed however the loop ends: on PostgreSQL it is a server-side cursor.
    with db.session.execute(stmt.execution_options(yield_per=FETCH_ROWS)) as result:
        for row in result:
            sheet.append(
                [
                    row.id,
                    row.name,
                    mask_id_number(row.id_number),
                    sexes.get(row.sex, row.sex),
                    row.birth_date,
                    row.phone,
                    row.region_code,
                    regions.get(row.region_code, ""),
                    groups.get(row.target_group, row.target_group),
                    levels.get(row.education, row.education) if row.education else "",
                    yes if row.has_reemployment_certificate else no,
                    row.registered_on,
                ]
            )
            count += 1
    return count


def describe_filters(
    filters: FounderFilters, regions: dict[str, str] | None = None
) -> list[tuple[str, str]]:
    """The filters as (label, value) lines for people; "all founders in your area" if none."""
    regions = regions if regions is not None else _region_names()
    lines: list[tuple[str, str]] = []
    if filters.q:
        lines.append((_("Search"), filters.q))
    if filters.region_code:
        name = regions.get(filters.region_code, "")
        lines.append((_("Region"), f"{filters.region_code} {name}".strip()))
    if filters.target_group:
        label = TARGET_GROUP_LABELS.get(filters.target_group, filters.target_group)
        lines.append((_("Target group"), str(label)))
    if filters.training_status:
        label = TRAINING_STATUS_LABELS.get(filters.training_status, filters.training_status)
        lines.append((_("Training"), str(label)))
    if filters.has_business:
        owns = filters.has_business == "yes"
        lines.append((_("Business"), _("Has a business") if owns else _("No business yet")))
    if filters.has_loan:
        borrowed = filters.has_loan == "yes"
        lines.append((_("Loan"), _("Has had a loan") if borrowed else _("No loan yet")))
    if filters.registered_from:
        lines.append((_("Registered from"), filters.registered_from.isoformat()))
    if filters.registered_to:
        lines.append((_("Registered to"), filters.registered_to.isoformat()))
    if not lines:
        lines.append(("", _("None: every founder in your area")))
    return lines


def _region_names() -> dict[str, str]:
    """Region code -> name in the interface language (a few hundred rows at most)."""
    return {region.code: region.display_name for region in db.session.scalars(select(Region))}
