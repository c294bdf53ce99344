"""Report pages: the real-name list behind every dashboard number, and its .xlsx export."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request, send_file
from flask_babel import gettext as _
from flask_login import current_user

from app.core.dates import today_in_china
from app.core.db import mark_request_as_writing, utcnow
from app.core.pagination import link_args, paginate_rows, read_page_request_or_first
from app.core.permissions import Permission, permission_required
from app.core.spreadsheets import open_binary
from app.extensions import db
from app.reports import operations
from app.reports.dimensions import DIMENSION_LABELS, Dimension, key_labels
from app.reports.export import XLSX_MIMETYPE, export_figure_list, export_filename
from app.reports.forms import FigureListForm
from app.reports.lists import (
    FAMILY_COLUMNS,
    FAMILY_LINKS,
    FIGURE_LISTS,
    ListQuery,
    cell_value,
    figure_rows_stmt,
)
from app.reports.queries import region_in_scope, region_name

reports_bp = Blueprint("reports", __name__, url_prefix="/reports")


@reports_bp.app_context_processor
def report_helpers() -> dict[str, Any]:
    """Labels the report templates (the lists and the dashboard) show."""
    return {
        "region_name": region_name,
        "dimension_label": lambda dimension: str(DIMENSION_LABELS[Dimension(dimension)]),
        "key_label": lambda dimension, key: key_labels(Dimension(dimension), [key])[key],
    }


def _list_query(figure: str) -> tuple[FigureListForm, ListQuery | None]:
    """The form read from the query string and, when valid and in scope, the list it asks
    for; an unknown figure or a region outside the user's area is 404."""
    if figure not in FIGURE_LISTS:
        abort(404)
    form = FigureListForm(request.args)
    if not form.region_code.data:
        form.region_code.data = current_user.region_code
    if not form.validate():
        return form, None
    if not region_in_scope(current_user, form.region_code.data):
        abort(404)
    query = ListQuery(
        figure=figure,
        region_code=form.region_code.data,
        as_of=form.as_of.data or today_in_china(),
        start=form["from"].data,
        end=form.to.data,
        dimension=form.chosen_dimension,
        key=form.chosen_key,
    )
    return form, query


@reports_bp.get("/figures/<figure>")
@permission_required(Permission.REPORTS_READ)
def figure_list(figure: str) -> Any:
    """The records a dashboard number counts, with links to each one."""
    form, query = _list_query(figure)
    if query is None:
        return render_template("reports/figure_list.html", form=form, figure=figure), 422
    family = FIGURE_LISTS[figure].family
    pagination = paginate_rows(figure_rows_stmt(query), read_page_request_or_first(request.args))
    return render_template(
        "reports/figure_list.html",
        form=form,
        figure=figure,
        query=query,
        title=FIGURE_LISTS[figure].title,
        columns=FAMILY_COLUMNS[family],
        link=FAMILY_LINKS[family],
        pagination=pagination,
        cell_value=cell_value,
        export_args=link_args(request.args, drop=("page", "per_page")),
    )


@reports_bp.get("/figures/<figure>.xlsx")
@permission_required(Permission.REPORTS_READ)
def figure_export(figure: str) -> Any:
    """The same list as .xlsx; exports of personal data are audited, so this GET writes."""
    mark_request_as_writing()
    form, query = _list_query(figure)
    if query is None:
        return render_template("reports/figure_list.html", form=form, figure=figure), 422
    exported_at = utcnow()
    path, count = export_figure_list(query, user=current_user, exported_at=exported_at)
    operations.record_list_export(
        current_user, figure=figure, row_count=count, filters=link_args(request.args)
    )
    db.session.commit()
    response = send_file(
        open_binary(path),
        mimetype=XLSX_MIMETYPE,
        as_attachment=True,
        download_name=export_filename(figure, exported_at),
    )
    response.headers["X-Row-Count"] = str(count)
    return response


def page_title(figure: str) -> str:
    """The list's title, for the browser tab."""
    return str(FIGURE_LISTS[figure].title) if figure in FIGURE_LISTS else _("Report")
