"""What other features call when a follow-up's subject changes (SPEC §11 "anchor changes").

- `anchor_changed`: an anchor date (registered_on, a passed entrepreneurship result or its
  completed_on, opened_on, disbursed_on, ends_on) or the subject's region was corrected —
  open tasks move to the new dates, tasks now due are planned, and open tasks of a subject
  that no longer qualifies (the training result became "failed") are cancelled. Done,
  missed and cancelled tasks are left as they are.
- `subject_ended`: a business closed or a loan left active/defaulted — its open tasks are
  cancelled, closed on the day it ended.
- `observation_recorded`: a founder's own observation may complete an open follow-up
  (the self-report rule lives in followups.operations).

The daily reconciliation runs the same statements over every subject, so whatever a hook
did not see is put right by the next run. Hooks flush and never commit.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from app.businesses.models import Observation, ObservationSource
from app.extensions import db
from app.followups import planning
from app.followups.models import SubjectType, TaskKind
from app.followups.plan import get_plans
from app.incubation.models import Residency


def anchor_changed(subject_type: SubjectType | str, subject_id: int, *, as_of: date) -> None:
    """Re-plan one subject's open tasks from its anchor as it now is (cancel if gone)."""
    subject = SubjectType(subject_type)
    db.session.flush()
    plans = get_plans()
    for kind in planning.KINDS_OF_SUBJECT[subject]:
        planning.cancel_tasks(kind, as_of, subject_id, plan=plans[kind])
        planning.replan_tasks(kind, plans[kind], subject_id)
        planning.plan_tasks(kind, plans[kind], as_of, subject_id)
    planning.forget_loaded_tasks()


def subject_ended(subject_type: SubjectType | str, subject_id: int, *, ended_on: date) -> None:
    """Cancel one ended subject's open tasks, closed on the day it ended."""
    subject = SubjectType(subject_type)
    db.session.flush()
    for kind in planning.KINDS_OF_SUBJECT[subject]:
        planning.cancel_tasks(kind, ended_on, subject_id)
    if subject is SubjectType.BUSINESS:
        # After-incubation visits are about the business too: they end with it.
        for residency_id in db.session.scalars(
            select(Residency.id).where(Residency.business_id == subject_id)
        ):
            planning.cancel_tasks(TaskKind.INCUBATION_EXIT, ended_on, residency_id)
    planning.forget_loaded_tasks()


def observation_recorded(observation: Observation, actor: Any) -> Any:
    """A founder's own business observation may complete a follow-up (returns the task)."""
    if observation.source != ObservationSource.FOUNDER:
        return None
    # Imported here: followups.operations records observations through businesses, which
    # calls this hook, so a module-level import would be circular.
    from app.followups.operations import complete_by_self_report

    business = observation.business
    return complete_by_self_report(
        founder_id=business.founder_id,
        observed_on=observation.observed_on,
        business_id=business.id,
        observation_id=observation.id,
        actor=actor,
    )
