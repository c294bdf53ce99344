"""Pages: annual targets per province and its cities (SPEC §13).

The overview lists the provinces the user sees for a year. A province's page is a table:
the province's line, then one per city, each with the five targets and, for the regions
of the user's area that have targets, the year's progress up to today. Administrators and
the province's staff edit every line in one form, saved in one transaction (any bad cell:
the page again, naming the line and the figure, nothing saved); a city's staff and loan
officers of the province read it. Above the table, a warning for each figure whose
cities' targets do not add up to the province's.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.core.dates import today_in_china
from app.core.errors import NotFound, ValidationFailed
from app.core.numbers import percent_text
from app.core.permissions import Permission, permission_required
from app.extensions import db
from app.regions.models import Region
from app.regions.queries import region_codes_in_scope
from app.targets import operations
from app.targets.forms import SplitForm, TargetRowForm, YearForm
from app.targets.models import MONEY_FIELDS, TARGET_FIELDS
from app.targets.progress import expected_share, split_progress
from app.targets.queries import (
    SplitRow,
    get_target_province,
    list_split,
    list_target_provinces,
    list_target_years,
    split_mismatches,
)
from app.targets.rules import is_valid_year, target_label

targets_bp = Blueprint("targets", __name__, url_prefix="/targets")

# A status's Bootstrap colour and words (the colour is never the only cue).
STATUS_LABELS = {
    "green": ("success", _l("On track")),
    "amber": ("warning", _l("Slightly behind")),
    "red": ("danger", _l("Behind")),
}


@targets_bp.context_processor
def target_formatting() -> dict[str, Any]:
    """How the targets pages name and show figures."""
    return {
        "target_fields": TARGET_FIELDS,
        "target_label": target_label,
        "figure": _figure,
        "percent": _percent,
        "status_badge": _status_badge,
    }


def _figure(name: str, value: int | Decimal | None) -> str:
    """A target or actual for people: 1,200 or ¥1,500,000.00; a dash for none."""
    if value is None:
        return "—"
    return f"¥{value:,.2f}" if name in MONEY_FIELDS else f"{value:,}"


def _percent(share: float | None) -> str:
    """0.4959 as "49.6%"."""
    return percent_text(share)


def _status_badge(status: str | None) -> tuple[str, str] | None:
    """The Bootstrap colour and the words of a progress status."""
    if status is None:
        return None
    colour, words = STATUS_LABELS[status]
    return colour, str(words)


def _province_or_404(year: int, province_code: str) -> Region:
    province = get_target_province(current_user, province_code)
    if province is None or not is_valid_year(year):
        raise NotFound(_("No such province in your area."))
    return province


@targets_bp.get("/")
@permission_required(Permission.REPORTS_READ)
def index() -> Any:
    """The provinces the user sees, for a year (this year unless picked), and the years
    that have targets."""
    form = YearForm(request.args)
    year = form.year.data if form.validate() and form.year.data else today_in_china().year
    if not form.year.raw_data:
        form.year.data = year
    lines, codes = [], []
    for province in list_target_provinces(current_user):
        rows = list_split(year, province.code)
        codes += [row.region.code for row in rows]
        lines.append(
            {
                "province": province,
                "regions": len(rows),
                "with_targets": sum(row.has_targets for row in rows),
                "mismatches": len(split_mismatches(year, province.code)),
            }
        )
    years = sorted({year, *list_target_years(codes)}, reverse=True)
    return render_template("targets/index.html", form=form, year=year, years=years, lines=lines)


@targets_bp.get("/<int:year>/<province_code>")
@permission_required(Permission.REPORTS_READ)
def page(year: int, province_code: str) -> Any:
    """A province's targets for the year, split to its cities, with progress."""
    province = _province_or_404(year, province_code)
    rows = list_split(year, province.code)
    form = SplitForm(formdata=None, data={"rows": [_row_data(row) for row in rows]})
    return _render(year, province, rows, form)


@targets_bp.post("/<int:year>/<province_code>")
@permission_required(Permission.TARGETS_MANAGE)
def save(year: int, province_code: str) -> Any:
    """Save every line of the province's page at once; a bad cell saves nothing."""
    province = _province_or_404(year, province_code)
    operations.require_target_setter(current_user, province)
    form = SplitForm()
    if form.validate_on_submit():
        values = {entry.form.region_code.data: entry.form.given() for entry in form.rows}
        try:
            operations.set_province_targets(current_user, year, province.code, values)
        except ValidationFailed as error:
            db.session.rollback()
            _cell_errors(form, error)
        else:
            db.session.commit()
            flash(
                _(
                    "Targets of %(province)s for %(year)s saved.",
                    province=province.display_name,
                    year=year,
                ),
                "success",
            )
            return redirect(url_for("targets.page", year=year, province_code=province.code))
    rows = list_split(year, province.code)
    _flash_errors(form, {row.region.code: row.region for row in rows})
    return _render(year, province, rows, form, status=422)


def _row_data(row: SplitRow) -> dict[str, Any]:
    return {"region_code": row.region.code, **row.values()}


def _entries(form: SplitForm, rows: list[SplitRow]) -> dict[str, TargetRowForm]:
    """Each region's line of the form; a region the request did not send (a city added
    meanwhile) gets a line with its saved values."""
    entries = {entry.form.region_code.data: entry.form for entry in form.rows}
    for row in rows:
        if row.region.code not in entries:
            entries[row.region.code] = form.rows.append_entry(_row_data(row)).form
    return entries


def _cell_errors(form: SplitForm, error: ValidationFailed) -> None:
    """Put the operation's "<region_code>.<field>" errors next to their cells."""
    entries = {entry.form.region_code.data: entry.form for entry in form.rows}
    for key, messages in error.errors.items():
        region_code, _dot, name = key.partition(".")
        entry = entries.get(region_code)
        if entry is not None and name in TARGET_FIELDS:
            entry[name].errors = [*entry[name].errors, *messages]
        else:
            form.form_errors.extend(messages)


def _flash_errors(form: SplitForm, regions: dict[str, Region]) -> None:
    """One message per bad cell, naming the line and the figure."""
    for message in form.form_errors:
        flash(message, "danger")
    for name, messages in form.errors.items():
        if name == "csrf_token":
            flash(_("The form had expired. Please try again."), "warning")
        elif name != "rows":
            for message in messages:
                flash(str(message), "danger")
    for entry in form.rows:
        region = regions.get(entry.form.region_code.data or "")
        place = region.display_name if region is not None else entry.form.region_code.data
        for name in TARGET_FIELDS:
            for message in entry.form[name].errors:
                flash(
                    _(
                        "%(region)s, %(field)s: %(message)s",
                        region=place,
                        field=target_label(name),
                        message=message,
                    ),
                    "danger",
                )


def _render(
    year: int, province: Region, rows: list[SplitRow], form: SplitForm, status: int = 200
) -> Any:
    today = today_in_china()
    progress = {
        code: {line.field: line for line in lines}
        for code, lines in split_progress(
            year, province.code, today, region_codes_in_scope(current_user)
        ).items()
    }
    mismatches = split_mismatches(year, province.code)
    cities_without = {
        name
        for name in mismatches
        if all(row.value(name) is None for row in rows if not row.region.is_province)
    }
    return (
        render_template(
            "targets/page.html",
            year=year,
            province=province,
            rows=rows,
            form=form,
            entries=_entries(form, rows),
            may_edit=operations.may_set_targets(current_user, province),
            headers=[_("Region"), *(target_label(name) for name in TARGET_FIELDS)],
            progress=progress,
            as_of=today,
            expected=float(expected_share(year, today)),
            mismatches=mismatches,
            cities_without=cities_without,
        ),
        status,
    )
