"""Reads of follow-up tasks for the work queues, the task page, the API and the pages of
founders, businesses and loans.

Scope (D38+): administrators read every task; staff the tasks of their region (a province
includes its cities), every kind; officers only the `loan_usage` tasks of their region;
founders never see the queue (their own open tasks come through `list_self_report_tasks`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, and_, case, false, func, select, true

from app.core.errors import NotFound
from app.core.permissions import Role
from app.extensions import db
from app.followups.models import (
    FollowupAttempt,
    FollowupServiceItem,
    FollowupTask,
    MisuseState,
    ServiceItem,
    SubjectType,
    TaskKind,
    TaskStatus,
)
from app.founders.models import Founder

# The intake service package (SPEC §11): one career guidance, three leads, one training offer.
SERVICE_PACKAGE: dict[str, int] = {
    ServiceItem.CAREER_GUIDANCE: 1,
    ServiceItem.LEAD: 3,
    ServiceItem.TRAINING_OFFER: 1,
}
# Self-reports complete a task whose due day lies within this many days of the report.
SELF_REPORT_WINDOW_DAYS = 30
SELF_REPORT_KINDS = (TaskKind.BUSINESS, TaskKind.POST_TRAINING)

BUCKETS = ("today", "week", "overdue", "missed")


# Scope ----------------------------------------------------------------------------------
def task_scope_clause(user: Any) -> ColumnElement[bool]:
    """The WHERE clause keeping task reads inside the user's scope (see module docstring)."""
    role = getattr(user, "role", None)
    if role == Role.ADMIN:
        return true()
    if role == Role.STAFF:
        return user.region_scope(FollowupTask.region_code)
    if role == Role.OFFICER:
        return and_(
            user.region_scope(FollowupTask.region_code),
            FollowupTask.kind == TaskKind.LOAN_USAGE,
        )
    return false()


def scoped_tasks(user: Any) -> Select:
    """Every task the user may read, as a statement to filter further."""
    return select(FollowupTask).where(task_scope_clause(user))


def get_task_in_scope(user: Any, task_id: int) -> FollowupTask:
    """The task, or 404 when it is absent or outside the user's scope."""
    task = db.session.scalar(scoped_tasks(user).where(FollowupTask.id == task_id))
    if task is None:
        raise NotFound(_("No such follow-up in your area."))
    return task


def is_task_in_scope(user: Any, task_id: int) -> bool:
    """True when `user` may read (and so be assigned) the task."""
    stmt = select(FollowupTask.id).where(FollowupTask.id == task_id, task_scope_clause(user))
    return db.session.scalar(stmt) is not None


# Queues ---------------------------------------------------------------------------------
def week_end(as_of: date) -> date:
    """The Sunday ending as_of's week (Monday to Sunday)."""
    return as_of + timedelta(days=6 - as_of.weekday())


def bucket_clause(bucket: str, as_of: date) -> ColumnElement[bool]:
    """Which tasks a queue tab holds on as_of."""
    is_open = FollowupTask.status == TaskStatus.OPEN
    if bucket == "today":
        return and_(is_open, FollowupTask.due_on == as_of)
    if bucket == "week":
        return and_(is_open, FollowupTask.due_on > as_of, FollowupTask.due_on <= week_end(as_of))
    if bucket == "overdue":
        return and_(is_open, FollowupTask.due_on < as_of)
    if bucket == "missed":
        return FollowupTask.status == TaskStatus.MISSED
    raise ValueError(f"unknown bucket {bucket!r}")


@dataclass(frozen=True)
class TaskFilters:
    """What the queue and the API filter by; every field optional.

    `assignee` is "me", "unassigned" or a user id (as text).
    """

    bucket: str | None = None
    kind: str | None = None
    status: str | None = None
    assignee: str | None = None
    due_before: date | None = None
    region_code: str | None = None
    founder_id: int | None = None


def _filtered(stmt: Select, user: Any, filters: TaskFilters) -> Select:
    if filters.kind:
        stmt = stmt.where(FollowupTask.kind == filters.kind)
    if filters.status:
        stmt = stmt.where(FollowupTask.status == filters.status)
    if filters.due_before:
        stmt = stmt.where(FollowupTask.due_on < filters.due_before)
    if filters.region_code:
        stmt = stmt.where(FollowupTask.region_code == filters.region_code)
    if filters.founder_id:
        stmt = stmt.where(FollowupTask.founder_id == filters.founder_id)
    if filters.assignee == "me":
        stmt = stmt.where(FollowupTask.assignee_id == getattr(user, "id", None))
    elif filters.assignee == "unassigned":
        stmt = stmt.where(FollowupTask.assignee_id.is_(None))
    elif filters.assignee and filters.assignee.isascii() and filters.assignee.isdigit():
        stmt = stmt.where(FollowupTask.assignee_id == int(filters.assignee))
    return stmt


def _attempt_counts() -> Any:
    return (
        select(FollowupAttempt.task_id, func.count().label("attempts"))
        .group_by(FollowupAttempt.task_id)
        .subquery()
    )


def queue_stmt(user: Any, filters: TaskFilters, *, as_of: date) -> Select:
    """Rows (task, founder name, founder phone, lost since, attempts) for a queue tab or the
    API list, in scope and filtered; earliest due first."""
    attempts = _attempt_counts()
    stmt = (
        select(
            FollowupTask,
            Founder.name.label("founder_name"),
            Founder.phone.label("founder_phone"),
            Founder.lost_to_follow_up_on.label("lost_since"),
            func.coalesce(attempts.c.attempts, 0).label("attempts"),
        )
        .join(Founder, Founder.id == FollowupTask.founder_id)
        .outerjoin(attempts, attempts.c.task_id == FollowupTask.id)
        .where(task_scope_clause(user))
    )
    stmt = _filtered(stmt, user, filters)
    if filters.bucket:
        stmt = stmt.where(bucket_clause(filters.bucket, as_of))
    return stmt.order_by(FollowupTask.due_on, FollowupTask.id)


def bucket_counts(user: Any, filters: TaskFilters, *, as_of: date) -> dict[str, int]:
    """How many tasks each queue tab holds under the other filters, in one query."""
    columns = [
        func.coalesce(func.sum(case((bucket_clause(bucket, as_of), 1), else_=0)), 0).label(bucket)
        for bucket in BUCKETS
    ]
    stmt = select(*columns).select_from(FollowupTask).where(task_scope_clause(user))
    stmt = _filtered(stmt, user, filters).where(
        FollowupTask.status.in_([TaskStatus.OPEN, TaskStatus.MISSED])
    )
    row = db.session.execute(stmt).one()
    return {bucket: int(getattr(row, bucket) or 0) for bucket in BUCKETS}


def list_tasks_of_subject(user: Any, subject_type: str, subject_id: int) -> list[FollowupTask]:
    """The tasks about one business, loan or residency the user may read, in due order."""
    stmt = scoped_tasks(user).where(
        FollowupTask.subject_type == subject_type, FollowupTask.subject_id == subject_id
    )
    return list(db.session.scalars(stmt.order_by(FollowupTask.due_on, FollowupTask.id)))


def list_tasks_of_founder(user: Any, founder_id: int) -> list[FollowupTask]:
    """Every task of a founder (about them, their businesses and loans) the user may read."""
    stmt = scoped_tasks(user).where(FollowupTask.founder_id == founder_id)
    return list(db.session.scalars(stmt.order_by(FollowupTask.due_on, FollowupTask.id)))


def list_pending_misuse_of_loan(user: Any, loan_id: int) -> list[FollowupTask]:
    """The loan's follow-ups that found the money misused and wait for an officer."""
    stmt = scoped_tasks(user).where(
        FollowupTask.subject_type == SubjectType.LOAN,
        FollowupTask.subject_id == loan_id,
        FollowupTask.misuse_state == MisuseState.PENDING,
    )
    return list(db.session.scalars(stmt.order_by(FollowupTask.done_on, FollowupTask.id)))


# One task -------------------------------------------------------------------------------
def list_attempts(task_id: int) -> list[FollowupAttempt]:
    """The task's contact attempts that reached nobody, in date order."""
    stmt = (
        select(FollowupAttempt)
        .where(FollowupAttempt.task_id == task_id)
        .order_by(FollowupAttempt.attempted_on, FollowupAttempt.id)
    )
    return list(db.session.scalars(stmt))


def list_service_items(task_id: int) -> list[FollowupServiceItem]:
    """The intake service items delivered so far, in date order."""
    stmt = (
        select(FollowupServiceItem)
        .where(FollowupServiceItem.task_id == task_id)
        .order_by(FollowupServiceItem.provided_on, FollowupServiceItem.id)
    )
    return list(db.session.scalars(stmt))


def service_item_counts(task_id: int) -> dict[str, int]:
    """How many of each package item the task has."""
    rows = db.session.execute(
        select(FollowupServiceItem.item, func.count())
        .where(FollowupServiceItem.task_id == task_id)
        .group_by(FollowupServiceItem.item)
    ).all()
    counts = dict.fromkeys(SERVICE_PACKAGE, 0)
    counts.update({item: int(count) for item, count in rows})
    return counts


def missing_services(task_id: int) -> dict[str, int]:
    """What the package still lacks: item -> how many more (empty when complete)."""
    counts = service_item_counts(task_id)
    return {
        item: wanted - counts.get(item, 0)
        for item, wanted in SERVICE_PACKAGE.items()
        if counts.get(item, 0) < wanted
    }


def get_subject(task: FollowupTask) -> Any:
    """The founder, business, loan or residency the task is about (None if gone)."""
    from app.businesses.models import Business
    from app.incubation.models import Residency
    from app.loans.models import Loan

    model = {
        SubjectType.FOUNDER: Founder,
        SubjectType.BUSINESS: Business,
        SubjectType.LOAN: Loan,
        SubjectType.RESIDENCY: Residency,
    }[SubjectType(task.subject_type)]
    return db.session.get(model, task.subject_id)


def offset_of(kind: str, sequence: int) -> tuple[str, int]:
    """(unit, offset) of a task's sequence under the current plan of its kind."""
    from app.followups.plan import get_plan

    plan = get_plan(kind)
    offset = plan.offset(sequence)
    return plan.unit, offset if offset is not None else sequence


def list_assignable_users(task: FollowupTask) -> list[Any]:
    """Active staff (and, for loan_usage, officers) who have the task in their scope."""
    from app.auth.models import User
    from app.regions.models import Region

    roles = [Role.STAFF, Role.OFFICER] if task.kind == TaskKind.LOAN_USAGE else [Role.STAFF]
    region = db.session.get(Region, task.region_code)
    codes = [task.region_code] + ([region.parent_code] if region and region.parent_code else [])
    stmt = (
        select(User)
        .where(User.role.in_(roles), User.region_code.in_(codes), User.active.is_(True))
        .order_by(User.username)
    )
    return list(db.session.scalars(stmt))


# The founder's own --------------------------------------------------------------------
def list_self_report_tasks(founder_id: int, *, as_of: date) -> list[FollowupTask]:
    """The founder's open business and post-training tasks a report today would complete
    (due within 30 days either side of as_of), earliest due first."""
    window = timedelta(days=SELF_REPORT_WINDOW_DAYS)
    stmt = select(FollowupTask).where(
        FollowupTask.founder_id == founder_id,
        FollowupTask.status == TaskStatus.OPEN,
        FollowupTask.kind.in_([kind.value for kind in SELF_REPORT_KINDS]),
        FollowupTask.due_on >= as_of - window,
        FollowupTask.due_on <= as_of + window,
    )
    return list(db.session.scalars(stmt.order_by(FollowupTask.due_on, FollowupTask.id)))


def find_self_report_task(
    *, founder_id: int, business_id: int | None, observed_on: date
) -> FollowupTask | None:
    """The open task a founder's report of `observed_on` completes: the business's own
    `business` task, else a `post_training` task of the founder; nearest due first."""
    window = timedelta(days=SELF_REPORT_WINDOW_DAYS)
    near = and_(
        FollowupTask.status == TaskStatus.OPEN,
        FollowupTask.due_on >= observed_on - window,
        FollowupTask.due_on <= observed_on + window,
    )
    candidates: list[FollowupTask] = []
    if business_id is not None:
        candidates = list(
            db.session.scalars(
                select(FollowupTask).where(
                    near,
                    FollowupTask.kind == TaskKind.BUSINESS,
                    FollowupTask.subject_type == SubjectType.BUSINESS,
                    FollowupTask.subject_id == business_id,
                    FollowupTask.founder_id == founder_id,
                )
            )
        )
    if not candidates:
        candidates = list(
            db.session.scalars(
                select(FollowupTask).where(
                    near,
                    FollowupTask.kind == TaskKind.POST_TRAINING,
                    FollowupTask.founder_id == founder_id,
                )
            )
        )
    if not candidates:
        return None
    return min(candidates, key=lambda task: (abs((task.due_on - observed_on).days), task.id))


def is_observation_linked(observation_id: int) -> bool:
    """True when some task was already completed by this observation."""
    stmt = select(FollowupTask.id).where(FollowupTask.observation_id == observation_id)
    return db.session.scalar(stmt.limit(1)) is not None


def first_year_followup_on(founder_id: int) -> date | None:
    """The day a follow-up first found one of the founder's businesses a year or more after
    it opened: the journey's "12-month follow-up" milestone (whatever the plan's offsets)."""
    from app.businesses.models import Business
    from app.core.sql import add_months

    return db.session.scalar(
        select(func.min(FollowupTask.done_on))
        .join(
            Business,
            and_(
                FollowupTask.subject_type == SubjectType.BUSINESS,
                FollowupTask.subject_id == Business.id,
            ),
        )
        .where(
            FollowupTask.founder_id == founder_id,
            FollowupTask.kind == TaskKind.BUSINESS,
            FollowupTask.status == TaskStatus.DONE,
            FollowupTask.due_on >= add_months(Business.opened_on, 12),
        )
    )
