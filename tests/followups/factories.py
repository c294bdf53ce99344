"""Follow-up test data: tasks inserted directly (flushed, not committed), whatever the plan.

`make_task` builds the subject the kind needs (a founder, a business, an active loan, an
ended residency) unless one is given, and picks the next free sequence of that subject
and kind, so tasks planned by hooks elsewhere never collide with it.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.followups.models import SUBJECT_OF_KIND, FollowupTask, SubjectType, TaskKind
from app.founders.models import Founder
from tests.businesses.factories import make_business
from tests.factories import make_founder


def _subject_for(kind: TaskKind, founder: Founder | None, region_code: str) -> Any:
    subject_type = SUBJECT_OF_KIND[kind]
    if subject_type is SubjectType.FOUNDER:
        return founder or make_founder(region_code=region_code)
    if subject_type is SubjectType.BUSINESS:
        return make_business(founder or make_founder(region_code=region_code))
    if subject_type is SubjectType.LOAN:
        from tests.loans.factories import make_loan, pass_training

        if founder is not None:
            pass_training(founder)
        return make_loan(founder=founder, region_code=region_code)
    from tests.incubation.factories import make_base, make_residency

    business = make_business(founder or make_founder(region_code=region_code))
    return make_residency(
        make_base(region_code=region_code),
        business,
        ends_on=date(2026, 5, 1),
        outcome="graduated",
    )


def _founder_of(subject: Any) -> Founder:
    if isinstance(subject, Founder):
        return subject
    if hasattr(subject, "founder"):
        return subject.founder
    return subject.business.founder  # a residency


def _region_of(subject: Any) -> str:
    if hasattr(subject, "region_code"):
        return subject.region_code
    return subject.business.region_code  # a residency


def make_task(
    kind: str = "business",
    *,
    subject: Any = None,
    founder: Founder | None = None,
    region_code: str = "460100",
    due_on: date = date(2026, 6, 1),
    status: str = "open",
    sequence: int | None = None,
    **fields: Any,
) -> FollowupTask:
    """A task of `kind` about `subject` (made when not given), due on `due_on`.

    A missed task gets closed_on = due_on + 31; a done one done_on = closed_on = due_on
    and channel phone (unless given); a cancelled one closed_on = due_on.
    """
    task_kind = TaskKind(kind)
    subject = subject if subject is not None else _subject_for(task_kind, founder, region_code)
    subject_type = SUBJECT_OF_KIND[task_kind]
    if sequence is None:
        taken = db.session.scalar(
            select(func.max(FollowupTask.sequence)).where(
                FollowupTask.subject_type == subject_type,
                FollowupTask.subject_id == subject.id,
                FollowupTask.kind == task_kind,
            )
        )
        sequence = (taken or 0) + 1
    values: dict[str, Any] = {
        "kind": task_kind.value,
        "subject_type": subject_type.value,
        "subject_id": subject.id,
        "founder_id": _founder_of(subject).id,
        "sequence": sequence,
        "due_on": due_on,
        "status": status,
        "region_code": _region_of(subject),
    }
    if status == "missed":
        values["closed_on"] = due_on + timedelta(days=31)
    elif status == "done":
        values |= {"done_on": due_on, "closed_on": due_on, "channel": "phone"}
    elif status == "cancelled":
        values["closed_on"] = due_on
    task = FollowupTask(**(values | fields))
    db.session.add(task)
    db.session.flush()
    return task
