"""The real-name list behind every KPI number (SPEC §13): the member rows of its figure.

A list is the figure's member statement (reports.members) filtered by the flag the figure
counts and, for a breakdown cell, by the dimension's value, then joined to the founder
(and business, loan or task) for display. The number on the dashboard is the length of
its list by construction.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, case, func, select

from app.businesses.models import Business
from app.core.permissions import Permission, Role, has_permission
from app.extensions import db
from app.followups.forms import STATUS_LABELS
from app.followups.models import FollowupTask, TaskStatus
from app.followups.plan import KIND_LABELS
from app.founders.models import Founder
from app.loans.models import LoanInstallment
from app.regions.models import Region
from app.reports.dimensions import KEY, Dimension, key_labels
from app.reports.kpis import MEMBER_STATEMENTS, keyed, region_codes
from app.reports.members import Window
from app.training.forms import RESULT_LABELS
from app.training.models import Cohort, Course, Enrollment


@dataclass(frozen=True)
class FigureList:
    """Which member rows a figure counts: its family's rows where `flag` > 0 (all when None)."""

    family: str
    flag: str | None
    title: Any


FIGURE_LISTS: dict[str, FigureList] = {
    "training.enrolled": FigureList(
        "training", "enrolled", _l("Entrepreneurship training enrollments")
    ),
    "training.passed": FigureList("training", "passed", _l("Passed entrepreneurship training")),
    "training.failed": FigureList("training", "failed", _l("Failed entrepreneurship training")),
    "opening.eligible_3m": FigureList(
        "opening", "eligible_3m", _l("Trained founders 3 months after training")
    ),
    "opening.opened_3m": FigureList(
        "opening", "opened_3m", _l("Founders who opened a business within 3 months")
    ),
    "opening.eligible_6m": FigureList(
        "opening", "eligible_6m", _l("Trained founders 6 months after training")
    ),
    "opening.opened_6m": FigureList(
        "opening", "opened_6m", _l("Founders who opened a business within 6 months")
    ),
    "survival.businesses": FigureList("survival", None, _l("Businesses opened")),
    "survival.closures": FigureList("survival", "is_closed", _l("Businesses closed")),
    "jobs.operating": FigureList("jobs", "operating", _l("Operating businesses and their jobs")),
    "loans.disbursed": FigureList("loans", None, _l("Loans disbursed")),
    "loans.outstanding": FigureList("loans", "serviced", _l("Loans being repaid")),
    "loans.at_risk": FigureList("loans", "at_risk", _l("Loans more than 30 days past due")),
    "loans.compensated": FigureList("loans", "compensated_fen", _l("Loans compensated")),
    "loans.recovered": FigureList("loans", "recovered_fen", _l("Loans with recoveries")),
    "loans.installments_due": FigureList("installments", None, _l("Installments due")),
    "followups.due": FigureList("followups", None, _l("Follow-ups due")),
    "followups.done_on_time": FigureList(
        "followups", "done_on_time", _l("Follow-ups done on time")
    ),
    "followups.done": FigureList("followups", "done", _l("Follow-ups done")),
    "followups.missed": FigureList("followups", "missed", _l("Follow-ups missed")),
    "followups.lost": FigureList("lost", None, _l("Founders lost to follow-up")),
    "reemployment.trained": FigureList(
        "reemployment", None, _l("Founders who passed a skills course")
    ),
    "reemployment.observed": FigureList(
        "reemployment", "observed", _l("Skills graduates whose employment was followed up")
    ),
    "reemployment.employed": FigureList("reemployment", "employed", _l("Skills graduates in work")),
}

# The list each dashboard number opens: the KPI figure ("group.figure") → FIGURE_LISTS key.
# A rate opens the list of its numerator.
FIGURE_LINKS: dict[str, str] = {
    "training.enrolled": "training.enrolled",
    "training.passed": "training.passed",
    "training.failed": "training.failed",
    "training.pass_rate": "training.passed",
    "opening.eligible_3m": "opening.eligible_3m",
    "opening.opened_3m": "opening.opened_3m",
    "opening.rate_3m": "opening.opened_3m",
    "opening.eligible_6m": "opening.eligible_6m",
    "opening.opened_6m": "opening.opened_6m",
    "opening.rate_6m": "opening.opened_6m",
    "survival.businesses": "survival.businesses",
    "survival.closures": "survival.closures",
    "survival.km_12m": "survival.businesses",
    "survival.naive_12m": "survival.businesses",
    "jobs.operating": "jobs.operating",
    "jobs.jobs": "jobs.operating",
    "jobs.jobs_per_business": "jobs.operating",
    "loans.disbursed_count": "loans.disbursed",
    "loans.disbursed_amount": "loans.disbursed",
    "loans.outstanding_principal": "loans.outstanding",
    "loans.on_time_rate": "loans.installments_due",
    "loans.par30": "loans.at_risk",
    "loans.compensation_rate": "loans.compensated",
    "loans.recovery_rate": "loans.recovered",
    "followups.due": "followups.due",
    "followups.done_on_time": "followups.done_on_time",
    "followups.on_time_rate": "followups.done_on_time",
    "followups.missed": "followups.missed",
    "followups.response_rate": "followups.done",
    "followups.lost": "followups.lost",
    "reemployment.trained": "reemployment.trained",
    "reemployment.observed": "reemployment.observed",
    "reemployment.employed": "reemployment.employed",
    "reemployment.rate": "reemployment.employed",
    "reemployment.response_rate": "reemployment.observed",
}


@dataclass(frozen=True)
class ListColumn:
    """A column of a figure list: its SQL label, header, and how to show the value."""

    name: str
    label: Any
    kind: str = "text"  # text, date, count, money (integer fen), yes_no, code


_FOUNDER = ListColumn("founder_name", _l("Founder"))
_REGION = ListColumn("region_name", _l("Region"))

FAMILY_COLUMNS: dict[str, list[ListColumn]] = {
    "training": [
        _FOUNDER,
        _REGION,
        ListColumn("course_name", _l("Course")),
        ListColumn("cohort_name", _l("Cohort")),
        ListColumn("entry_on", _l("Completed or enrolled on"), "date"),
        ListColumn("result", _l("Result"), "code"),
    ],
    "opening": [
        _FOUNDER,
        _REGION,
        ListColumn("entry_on", _l("First passed training on"), "date"),
        ListColumn("opened_3m", _l("Opened within 3 months"), "yes_no"),
        ListColumn("opened_6m", _l("Opened within 6 months"), "yes_no"),
    ],
    "survival": [
        ListColumn("business_name", _l("Business")),
        _FOUNDER,
        _REGION,
        ListColumn("entry_on", _l("Opened on"), "date"),
        ListColumn("duration_days", _l("Days followed"), "count"),
        ListColumn("is_closed", _l("Closed"), "yes_no"),
    ],
    "jobs": [
        ListColumn("business_name", _l("Business")),
        _FOUNDER,
        _REGION,
        ListColumn("entry_on", _l("Opened on"), "date"),
        ListColumn("jobs", _l("Employees"), "count"),
    ],
    "loans": [
        _FOUNDER,
        _REGION,
        ListColumn("entry_on", _l("Disbursed on"), "date"),
        ListColumn("amount_fen", _l("Amount"), "money"),
        ListColumn("outstanding_fen", _l("Outstanding principal"), "money"),
        ListColumn("days_past_due", _l("Days past due"), "count"),
        ListColumn("compensated_fen", _l("Compensated"), "money"),
        ListColumn("recovered_fen", _l("Recovered"), "money"),
    ],
    "installments": [
        _FOUNDER,
        _REGION,
        ListColumn("installment_n", _l("Installment"), "count"),
        ListColumn("entry_on", _l("Due on"), "date"),
        ListColumn("due_fen", _l("Amount due"), "money"),
        ListColumn("paid_fen", _l("Paid by the due date"), "money"),
    ],
    "followups": [
        _FOUNDER,
        _REGION,
        ListColumn("task_kind", _l("Kind"), "code"),
        ListColumn("entry_on", _l("Due on"), "date"),
        ListColumn("task_status", _l("Status"), "code"),
        ListColumn("done_on", _l("Done on"), "date"),
    ],
    "reemployment": [
        _FOUNDER,
        _REGION,
        ListColumn("entry_on", _l("Passed a skills course on"), "date"),
        ListColumn("observed", _l("Employment followed up"), "yes_no"),
        ListColumn("employed", _l("In work"), "yes_no"),
    ],
    "lost": [
        _FOUNDER,
        _REGION,
        ListColumn("phone", _l("Phone")),
        ListColumn("entry_on", _l("Lost to follow-up since"), "date"),
    ],
}

# The record each row of a family opens: (endpoint, its argument, the row's column).
FAMILY_LINKS: dict[str, tuple[str, str, str]] = {
    "training": ("founders.detail", "founder_id", "founder_id"),
    "opening": ("founders.detail", "founder_id", "founder_id"),
    "survival": ("businesses.detail", "business_id", "business_id"),
    "jobs": ("businesses.detail", "business_id", "business_id"),
    "loans": ("loans.detail", "loan_id", "loan_id"),
    "installments": ("loans.detail", "loan_id", "loan_id"),
    "followups": ("followups.task_page", "task_id", "task_id"),
    "lost": ("founders.detail", "founder_id", "founder_id"),
    "reemployment": ("founders.detail", "founder_id", "founder_id"),
}


# Codes shown as their labels.
CODE_LABELS: dict[str, dict[str, Any]] = {
    "result": RESULT_LABELS,
    "task_kind": KIND_LABELS,
    "task_status": STATUS_LABELS,
}


@dataclass(frozen=True)
class ListQuery:
    """A figure list's selection: region (with its cities), D, period, breakdown cell."""

    figure: str
    region_code: str | None  # None: every region
    as_of: date
    start: date | None = None
    end: date | None = None
    dimension: Dimension | None = None
    key: Any = None


def may_list(user: Any, figure: str) -> bool:
    """Whether the user may read the records behind this figure by name: the lists show
    what the records' own pages would, so loans need loans.read (staff have none) and
    follow-up tasks are for staff and administrators (officers read loan-usage visits
    only, in their queue)."""
    family = FIGURE_LISTS[figure].family
    if family in ("loans", "installments"):
        return has_permission(user, Permission.LOANS_READ)
    if family == "followups":
        return getattr(user, "role", None) != Role.OFFICER and has_permission(
            user, Permission.FOLLOWUPS_READ
        )
    return True


def breakdown_cell_label(query: ListQuery, row_count: int) -> str | None:
    """The name of the list's breakdown cell — only when the list has rows: a cohort,
    institution or project named by an id typed into the address is not shown unless it
    is connected to records the user may read (its number is shown instead)."""
    if query.dimension is None:
        return None
    if row_count == 0 and query.key is not None:
        return f"#{query.key}"
    return key_labels(query.dimension, [query.key])[query.key]


def figure_rows_stmt(query: ListQuery) -> Select:
    """The figure's member rows with their display columns, oldest entry first."""
    figure = FIGURE_LISTS[query.figure]
    window = Window(query.as_of, query.start, query.end)
    members = MEMBER_STATEMENTS[figure.family](region_codes(query.region_code), window)
    rows = keyed(members, window, query.dimension)
    conditions = []
    if figure.flag is not None:
        conditions.append(rows.c[figure.flag] > 0)
    if query.dimension is not None:
        key = rows.c[KEY]
        conditions.append(key.is_(None) if query.key is None else key == query.key)
    unit_id = rows.c[FAMILY_LINKS[figure.family][2]]
    stmt = (
        select(
            rows,
            Founder.name.label("founder_name"),
            Founder.phone.label("phone"),
            Region.name.label("region_name"),
        )
        .join(Founder, Founder.id == rows.c.founder_id)
        .join(Region, Region.code == rows.c.region_code)
        .where(*conditions)
        .order_by(rows.c.entry_on, unit_id)
    )
    return _with_family_columns(stmt, figure.family, rows, window.day)


def _with_family_columns(stmt: Select, family: str, rows: Any, day: Any) -> Select:
    """The family's own display columns, each as it stood on `day` (a result, status or
    completion recorded later is not shown: the list is the figure's as of that day)."""
    if family == "training":
        known = and_(Enrollment.completed_on.is_not(None), Enrollment.completed_on <= day)
        return (
            stmt.add_columns(
                Course.name.label("course_name"),
                Cohort.name.label("cohort_name"),
                case((known, Enrollment.result), else_=None).label("result"),
            )
            .join(Enrollment, Enrollment.id == rows.c.enrollment_id)
            .join(Cohort, Cohort.id == Enrollment.cohort_id)
            .join(Course, Course.id == Cohort.course_id)
        )
    if family in ("survival", "jobs"):
        return stmt.add_columns(Business.name.label("business_name")).join(
            Business, Business.id == rows.c.business_id
        )
    if family == "installments":
        return stmt.add_columns(LoanInstallment.n.label("installment_n")).join(
            LoanInstallment, LoanInstallment.id == rows.c.installment_id
        )
    if family == "followups":
        done = rows.c.done == 1
        status = case(
            (done, TaskStatus.DONE.value),
            (rows.c.missed == 1, TaskStatus.MISSED.value),
            else_=TaskStatus.OPEN.value,
        )
        return stmt.add_columns(
            FollowupTask.kind.label("task_kind"),
            status.label("task_status"),
            case((done, FollowupTask.done_on), else_=None).label("done_on"),
        ).join(FollowupTask, FollowupTask.id == rows.c.task_id)
    return stmt


def count_rows(query: ListQuery) -> int:
    """How many rows the figure's list holds (the figure itself, for counts)."""
    rows = figure_rows_stmt(query).order_by(None).subquery()
    return int(db.session.scalar(select(func.count()).select_from(rows)) or 0)


def cell_value(column: ListColumn, row: Any) -> Any:
    """A row's value for a column as shown on the page and in the spreadsheet."""
    value = row[column.name]
    if value is None:
        return None
    if column.kind == "money":
        return (Decimal(int(value)) / 100).quantize(Decimal("0.01"))
    if column.kind == "count":
        return int(value)
    if column.kind == "yes_no":
        return str(_l("Yes") if value else _l("No"))
    if column.kind == "code":
        return str(CODE_LABELS.get(column.name, {}).get(value, value))
    return value


def iter_rows(rows: Any, columns: list[ListColumn]) -> Iterator[list[Any]]:
    """The rows as lists of cell values, in column order."""
    for row in rows:
        yield [cell_value(column, row) for column in columns]
