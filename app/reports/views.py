"""Report pages: the real-name list behind every dashboard number, and its .xlsx export."""

from __future__ import annotations

import io
from typing import Any

from flask import (
    Blueprint,
    abort,
    make_response,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from app.core.dates import today_in_china
from app.core.db import mark_request_as_writing, utcnow
from app.core.errors import ValidationFailed
from app.core.numbers import number_text, percent_text
from app.core.pagination import link_args, paginate_rows, read_page_request_or_first
from app.core.permissions import Permission, Role, has_permission, permission_required
from app.core.spreadsheets import open_binary
from app.extensions import db
from app.reports import operations
from app.reports.dashboard_charts import CHART_TITLES
from app.reports.dimensions import DIMENSION_LABELS, Dimension
from app.reports.export import XLSX_MIMETYPE, export_figure_list, export_filename
from app.reports.forms import FigureListForm, KpiQueryForm, StatisticsForm
from app.reports.lists import (
    FAMILY_COLUMNS,
    FAMILY_LINKS,
    FIGURE_LINKS,
    FIGURE_LISTS,
    ListQuery,
    breakdown_cell_label,
    cell_value,
    figure_rows_stmt,
    may_list,
)
from app.reports.page_figures import chart_svg
from app.reports.queries import default_region_code, region_in_scope, region_name
from app.reports.statistics import build_statistics_workbook, statistics_filename

reports_bp = Blueprint("reports", __name__, url_prefix="/reports")


@reports_bp.app_context_processor
def report_helpers() -> dict[str, Any]:
    """Labels the report templates (the lists and the dashboard) show."""
    return {
        "region_name": region_name,
        "dimension_label": lambda dimension: str(DIMENSION_LABELS[Dimension(dimension)]),
        "figure_url": figure_url,
        "rate_text": rate_text,
    }


def figure_url(
    path: str,
    region_code: str,
    as_of: Any,
    start: Any = None,
    end: Any = None,
    dimension: Any = None,
    key: Any = None,
) -> str | None:
    """The address of the list behind a dashboard number ("group.figure"), or None when
    the figure has no list."""
    figure = FIGURE_LINKS.get(path)
    if figure is None or not may_list(current_user, figure):
        return None
    args: dict[str, Any] = {"figure": figure, "region_code": region_code, "as_of": str(as_of)}
    if start:
        args["from"] = str(start)
    if end:
        args["to"] = str(end)
    if dimension:
        args["dimension"] = str(dimension)
        args["key"] = "" if key is None else str(key)
    return url_for("reports.figure_list", **args)


def rate_text(value: Any, *, percent: bool = True) -> str:
    """A rate as the pages print it: 91.2%, or a plain number (3.13); — without a value."""
    return percent_text(value) if percent else number_text(value)


def _with_default_region(args: Any) -> Any:
    """The query string, with the user's own region when it names none."""
    args = args.copy()
    if not args.get("region_code"):
        args["region_code"] = default_region_code(current_user) or ""
    return args


def _list_query(figure: str) -> tuple[FigureListForm, ListQuery | None]:
    """The form read from the query string and, when valid and in scope, the list it asks
    for; an unknown figure or a region outside the user's area is 404."""
    if figure not in FIGURE_LISTS:
        abort(404)
    if not may_list(current_user, figure):
        abort(403)
    # An administrator's list without a region is the whole programme's (the library's
    # figures count every region for them); everyone else's defaults to their own area.
    everywhere = current_user.role == Role.ADMIN and not request.args.get("region_code")
    form = FigureListForm(request.args if everywhere else _with_default_region(request.args))
    if not form.validate():
        return form, None
    if not everywhere and not region_in_scope(current_user, form.region_code.data):
        abort(404)
    query = ListQuery(
        figure=figure,
        region_code=None if everywhere else form.region_code.data,
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
        row_url=lambda row: row_url(family, row),
        pagination=pagination,
        cell_label=breakdown_cell_label(query, pagination.total),
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


@reports_bp.get("/charts/<name>.svg")
@permission_required(Permission.REPORTS_READ)
def chart(name: str) -> Any:
    """One dashboard chart as an SVG image, for the region, date and period asked."""
    if name not in CHART_TITLES:
        abort(404)
    form = KpiQueryForm(_with_default_region(request.args))
    if not form.validate():
        return {"errors": form.errors}, 422
    if not region_in_scope(current_user, form.region_code.data):
        abort(404)
    as_of = form.as_of.data or today_in_china()
    svg = chart_svg(
        name, form.region_code.data, as_of, form["from"].data, form.to.data, str(get_locale())
    )
    response = make_response(str(svg))
    response.mimetype = "image/svg+xml"
    # The figures move at most once a day; a reload within minutes need not redraw.
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@reports_bp.get("/statistics.xlsx")
@permission_required(Permission.REPORTS_READ)
def statistics() -> Any:
    """The statistics table of a region for a year up to a cut-off date (SPEC §13)."""
    form = StatisticsForm(_with_default_region(request.args))
    if not form.validate():
        return render_template("reports/figure_list.html", form=form, figure=""), 422
    if not region_in_scope(current_user, form.region_code.data):
        abort(404)
    as_of = form.as_of.data or today_in_china()
    year = form.year.data or as_of.year
    try:
        content = build_statistics_workbook(
            form.region_code.data,
            year,
            as_of,
            produced_by=current_user.username,
            produced_at=utcnow(),
        )
    except ValidationFailed as error:
        for name, messages in error.errors.items():
            if name in form:
                form[name].errors = list(messages)
        return render_template("reports/figure_list.html", form=form, figure=""), 422
    return send_file(
        io.BytesIO(content),
        mimetype=XLSX_MIMETYPE,
        as_attachment=True,
        download_name=statistics_filename(form.region_code.data, year, as_of),
    )


def row_url(family: str, row: Any) -> str:
    """The page a list row opens: its loan, business or task when the user may read those
    (staff have no loan pages; officers see only loan-usage visits), else its founder."""
    endpoint, argument, column = FAMILY_LINKS[family]
    opens_record = {
        "loans.detail": has_permission(current_user, Permission.LOANS_READ),
        "followups.task_page": current_user.role != Role.OFFICER
        and has_permission(current_user, Permission.FOLLOWUPS_READ),
    }.get(endpoint, True)
    if not opens_record:
        return url_for("founders.detail", founder_id=row["founder_id"])
    return url_for(endpoint, **{argument: row[column]})


def page_title(figure: str) -> str:
    """The list's title, for the browser tab."""
    return str(FIGURE_LISTS[figure].title) if figure in FIGURE_LISTS else _("Report")
