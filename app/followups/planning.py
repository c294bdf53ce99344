"""The set-based statements behind follow-up planning (SPEC §11, D38+).

Three statements per kind of task, each written once and run either over every subject
(the daily job) or over one subject (the hooks other features call when they change an
anchor date or end a subject):

- `plan`: one INSERT … SELECT of every lasting subject × every (sequence, offset) of the
  kind's plan — a small UNION ALL of literal rows — keeping the tasks due in the window
  as_of − 30 < due_on ≤ as_of + 14 that do not exist yet. Tasks past their missed deadline
  are never made retroactively; the catch-up runs every skipped date, so none is lost.
- `replan`: open tasks whose subject lasts get due_on = anchor + offset(sequence), and
  the subject's founder and region, where these differ (an anchor date was corrected, the
  plan changed, the business moved region). Done, missed and cancelled tasks keep theirs.
- `cancel`: open tasks whose subject no longer lasts (business closed, loan no longer
  active or defaulted, no passed entrepreneurship training left, residency not ended)
  become cancelled, closed on the day the subject ended (else the fallback day given).

Subjects and anchors: founders (registered_on; post_training: the first passed
entrepreneurship completion), businesses (opened_on, until closed), loans (disbursed_on,
while active or defaulted), residencies (ends_on). A task copies the founder and region
of its subject (a residency's: its business's).

Every value written comes from the data and `as_of`, never from the clock (except the
created/updated timestamps), so reruns write nothing new and a catch-up of each date in
order ends where daily runs would.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    and_,
    case,
    exists,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased

from app.businesses.models import Business, BusinessStatus
from app.core.db import UTCDateTime, utcnow
from app.core.sql import add_days, add_months, add_working_days, as_date
from app.extensions import db
from app.followups.models import (
    SUBJECT_OF_KIND,
    FollowupTask,
    PlanUnit,
    SubjectType,
    TaskKind,
    TaskStatus,
)
from app.followups.plan import KindPlan, longest_shift_days
from app.founders.models import Founder
from app.incubation.models import Residency
from app.loans.models import SERVICED_STATUSES, Loan
from app.training.models import (
    ENTREPRENEURSHIP_KINDS,
    Cohort,
    Course,
    Enrollment,
    TrainingResult,
)

# The planning window around the job's date (SPEC §11/§12, D38+).
PLAN_AHEAD_DAYS = 14
MISSED_AFTER_DAYS = 30

# A task's identity: one per (subject, kind, sequence), held by a unique constraint.
UNIQUE_KEY = ["subject_type", "subject_id", "kind", "sequence"]

SERVICED = [status.value for status in SERVICED_STATUSES]
ENTREPRENEURSHIP = [kind.value for kind in ENTREPRENEURSHIP_KINDS]

KINDS_OF_SUBJECT: dict[SubjectType, list[TaskKind]] = {
    subject: [kind for kind, of in SUBJECT_OF_KIND.items() if of is subject]
    for subject in SubjectType
}


# Subjects ---------------------------------------------------------------------------------
def subjects(kind: TaskKind, subject_id: int | None = None) -> Select:
    """The lasting subjects of `kind` with (subject_id, founder_id, region_code, anchor)."""
    if kind in (TaskKind.INTAKE_CONTACT, TaskKind.INTAKE_SERVICES):
        query = select(
            Founder.id.label("subject_id"),
            Founder.id.label("founder_id"),
            Founder.region_code.label("region_code"),
            Founder.registered_on.label("anchor"),
        )
        return query if subject_id is None else query.where(Founder.id == subject_id)
    if kind is TaskKind.POST_TRAINING:
        query = (
            select(
                Enrollment.founder_id.label("subject_id"),
                Enrollment.founder_id.label("founder_id"),
                Founder.region_code.label("region_code"),
                func.min(Enrollment.completed_on).label("anchor"),
            )
            .join(Cohort, Cohort.id == Enrollment.cohort_id)
            .join(Course, Course.id == Cohort.course_id)
            .join(Founder, Founder.id == Enrollment.founder_id)
            .where(
                Enrollment.result == TrainingResult.PASSED.value,
                Enrollment.completed_on.is_not(None),
                Course.kind.in_(ENTREPRENEURSHIP),
            )
            .group_by(Enrollment.founder_id, Founder.region_code)
        )
        return query if subject_id is None else query.where(Enrollment.founder_id == subject_id)
    if kind is TaskKind.BUSINESS:
        query = select(
            Business.id.label("subject_id"),
            Business.founder_id.label("founder_id"),
            Business.region_code.label("region_code"),
            Business.opened_on.label("anchor"),
        ).where(Business.status != BusinessStatus.CLOSED.value)
        return query if subject_id is None else query.where(Business.id == subject_id)
    if kind is TaskKind.LOAN_USAGE:
        query = select(
            Loan.id.label("subject_id"),
            Loan.founder_id.label("founder_id"),
            Loan.region_code.label("region_code"),
            Loan.disbursed_on.label("anchor"),
        ).where(Loan.status.in_(SERVICED), Loan.disbursed_on.is_not(None))
        return query if subject_id is None else query.where(Loan.id == subject_id)
    if kind is TaskKind.INCUBATION_EXIT:
        query = (
            select(
                Residency.id.label("subject_id"),
                Business.founder_id.label("founder_id"),
                Business.region_code.label("region_code"),
                Residency.ends_on.label("anchor"),
            )
            .join(Business, Business.id == Residency.business_id)
            .where(
                Residency.ends_on.is_not(None),
                # A closed business is what the visit would find: nothing left to ask.
                Business.status != BusinessStatus.CLOSED.value,
            )
        )
        return query if subject_id is None else query.where(Residency.id == subject_id)
    raise ValueError(kind)


def _ended_on(kind: TaskKind) -> Any:
    """The day the task's subject ended, when the data holds one (else NULL)."""
    if kind is TaskKind.BUSINESS:
        return (
            select(Business.closed_on)
            .where(Business.id == FollowupTask.subject_id)
            .scalar_subquery()
        )
    if kind is TaskKind.LOAN_USAGE:
        # Paid off, else handed to the guarantee fund, else recovered or written off.
        return (
            select(func.coalesce(Loan.closed_on, Loan.compensated_on, Loan.ended_on))
            .where(Loan.id == FollowupTask.subject_id)
            .scalar_subquery()
        )
    if kind is TaskKind.INCUBATION_EXIT:
        return (
            select(Business.closed_on)
            .join(Residency, Residency.business_id == Business.id)
            .where(Residency.id == FollowupTask.subject_id)
            .scalar_subquery()
        )
    return literal(None)


# The plan in SQL ------------------------------------------------------------------------------
def _steps(plan: KindPlan) -> Any:
    """(sequence, offset) of every task of the plan, as a small UNION ALL of literals."""
    rows = [
        select(
            literal_column(str(int(sequence)), Integer()).label("sequence"),
            literal_column(str(int(offset)), Integer()).label("offset"),
        )
        for sequence, offset in plan.steps()
    ]
    return (rows[0] if len(rows) == 1 else union_all(*rows)).subquery("steps")


def shifted(anchor: Any, offset: Any, unit: PlanUnit | str) -> Any:
    """SQL for `plan.shift`: anchor + offset in the plan's unit."""
    unit = PlanUnit(unit)
    if unit is PlanUnit.DAYS:
        return add_days(anchor, offset)
    if unit is PlanUnit.WORKING_DAYS:
        return add_working_days(anchor, offset)
    return add_months(anchor, offset)


def _due_rows(
    kind: TaskKind,
    plan: KindPlan,
    subject_id: int | None,
    due_window: tuple[date, date] | None = None,
) -> Any:
    """Every task the plan makes for the lasting subjects, with its due day; with
    `due_window` (first, last), only subjects whose anchor can put a task in it.

    The window is a range on the anchor column (founder.registered_on, business.opened_on,
    …), which its index serves: at a million founders the daily planning otherwise shifts
    every founder's registration day to find the few hundred due this fortnight.
    """
    query = subjects(kind, subject_id)
    if due_window is not None:
        first, last = due_window
        longest = max(longest_shift_days(offset, plan.unit) for _n, offset in plan.steps())
        found = query.subquery("lasting")
        query = select(found).where(
            found.c.anchor >= as_date(first - timedelta(days=longest)),
            found.c.anchor <= as_date(last),
        )
    found = query.subquery("subjects")
    steps = _steps(plan)
    return (
        select(
            found.c.subject_id,
            found.c.founder_id,
            found.c.region_code,
            steps.c.sequence,
            shifted(found.c.anchor, steps.c.offset, plan.unit).label("due_on"),
        )
        .select_from(found.join(steps, true()))
        .subquery("due")
    )


# The three statements -------------------------------------------------------------------
def plan_tasks(kind: TaskKind, plan: KindPlan, as_of: date, subject_id: int | None = None) -> int:
    """Insert the tasks of `kind` due in the window around `as_of` that do not exist yet."""
    first_due = as_of - timedelta(days=MISSED_AFTER_DAYS - 1)
    last_due = as_of + timedelta(days=PLAN_AHEAD_DAYS)
    due = _due_rows(kind, plan, subject_id, (first_due, last_due))
    subject_type = SUBJECT_OF_KIND[kind].value
    existing = aliased(FollowupTask)
    now = literal(utcnow(), UTCDateTime())
    rows = select(
        literal(kind.value),
        literal(subject_type),
        due.c.subject_id,
        due.c.founder_id,
        due.c.sequence,
        due.c.due_on,
        literal(TaskStatus.OPEN.value),
        due.c.region_code,
        literal(""),
        now,
        now,
    ).where(
        due.c.due_on > as_date(as_of - timedelta(days=MISSED_AFTER_DAYS)),
        due.c.due_on <= as_date(as_of + timedelta(days=PLAN_AHEAD_DAYS)),
        ~exists().where(
            existing.subject_type == subject_type,
            existing.subject_id == due.c.subject_id,
            existing.kind == kind.value,
            existing.sequence == due.c.sequence,
        ),
    )
    columns = [
        "kind",
        "subject_type",
        "subject_id",
        "founder_id",
        "sequence",
        "due_on",
        "status",
        "region_code",
        "note",
        "created_at",
        "updated_at",
    ]
    statement = _insert_or_skip().from_select(columns, rows)
    # An INSERT's row count is read only when asked for (SQLAlchemy 2.0.28+).
    result = db.session.execute(statement.execution_options(preserve_rowcount=True))
    return max(result.rowcount or 0, 0)


def _insert_or_skip() -> Any:
    """INSERT that skips a task another transaction made meanwhile (the unique key)."""
    dialect = db.session.get_bind().dialect.name
    table = FollowupTask.__table__
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=UNIQUE_KEY)
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=UNIQUE_KEY)
    return insert(table)


def replan_tasks(kind: TaskKind, plan: KindPlan, subject_id: int | None = None) -> int:
    """Open tasks follow their subject's anchor, founder and region as they are now."""
    due = _due_rows(kind, plan, subject_id)
    conditions = [
        FollowupTask.kind == kind.value,
        FollowupTask.status == TaskStatus.OPEN.value,
        FollowupTask.subject_id == due.c.subject_id,
        FollowupTask.sequence == due.c.sequence,
        or_(
            FollowupTask.due_on != due.c.due_on,
            FollowupTask.founder_id != due.c.founder_id,
            FollowupTask.region_code != due.c.region_code,
        ),
    ]
    if subject_id is not None:
        conditions.append(FollowupTask.subject_id == subject_id)
    result = db.session.execute(
        update(FollowupTask)
        .where(*conditions)
        .values(
            due_on=due.c.due_on,
            founder_id=due.c.founder_id,
            region_code=due.c.region_code,
            # A task moving to another region leaves its assignee, who may not see it.
            assignee_id=case(
                (FollowupTask.region_code != due.c.region_code, None),
                else_=FollowupTask.assignee_id,
            ),
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def cancel_tasks(
    kind: TaskKind, fallback_on: date, subject_id: int | None = None, plan: KindPlan | None = None
) -> int:
    """Open tasks whose subject ended become cancelled, closed the day it ended; with
    `plan`, so do open tasks of sequences a shortened plan no longer has."""
    lasting = subjects(kind, subject_id).subquery("lasting")
    # NOT EXISTS, not NOT IN: PostgreSQL can only hash a NOT IN list that fits in work_mem;
    # with a million founders it probes the whole list for every task (minutes, not ms).
    # Subject ids are never NULL, so the two mean the same here.
    gone = ~exists().where(lasting.c.subject_id == FollowupTask.subject_id)
    if plan is not None:
        gone = or_(gone, FollowupTask.sequence > plan.last_sequence)
    conditions = [
        FollowupTask.kind == kind.value,
        FollowupTask.status == TaskStatus.OPEN.value,
        gone,
    ]
    if subject_id is not None:
        conditions.append(FollowupTask.subject_id == subject_id)
    result = db.session.execute(
        update(FollowupTask)
        .where(and_(*conditions))
        .values(
            status=TaskStatus.CANCELLED.value,
            closed_on=func.coalesce(_ended_on(kind), as_date(fallback_on)),
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def mark_missed_tasks(as_of: date) -> int:
    """Open tasks 30 days past due on `as_of` become missed, closed on due_on + 31."""
    result = db.session.execute(
        update(FollowupTask)
        .where(
            FollowupTask.status == TaskStatus.OPEN.value,
            FollowupTask.due_on < as_date(as_of - timedelta(days=MISSED_AFTER_DAYS)),
        )
        .values(
            status=TaskStatus.MISSED.value,
            closed_on=add_days(FollowupTask.due_on, MISSED_AFTER_DAYS + 1),
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def forget_loaded_tasks() -> None:
    """Bulk statements bypass the session: tasks it holds are read again when next used."""
    for instance in list(db.session.identity_map.values()):
        if isinstance(instance, FollowupTask):
            db.session.expire(instance)
