"""A founder's journey: the milestones from registration to a year in business.

The founder page shows these in order with the next one to reach, so staff see at a
glance where each person stands. A milestone whose records arrive with a later feature
(businesses, loans, incubation, follow-ups) is simply not reached until such a record
exists.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l

from app.founders.models import Founder
from app.library.models import LibraryAdoption
from app.training.models import ENTREPRENEURSHIP_KINDS, Enrollment, TrainingResult

MILESTONES = (
    ("registered", _l("Registered")),
    ("trained", _l("Passed entrepreneurship training")),
    ("adopted", _l("Adopted a library project")),
    ("opened", _l("Opened a business")),
    ("loan", _l("Received a guaranteed loan")),
    ("incubated", _l("Entered an incubation base")),
    ("followed_up_12m", _l("12-month follow-up")),
)


@dataclass(frozen=True)
class Milestone:
    """One step of the journey: reached on a date, or not yet."""

    key: str
    label: str
    reached_on: date | None

    @property
    def is_reached(self) -> bool:
        """Whether the founder has got this far."""
        return self.reached_on is not None


@dataclass(frozen=True)
class Journey:
    """The milestones in order, and the first one not reached yet."""

    milestones: tuple[Milestone, ...]

    @property
    def next_milestone(self) -> Milestone | None:
        """What the founder should reach next (None when every milestone is reached)."""
        return next((m for m in self.milestones if not m.is_reached), None)


def first_passed_entrepreneurship_on(enrollments: Iterable[Enrollment]) -> date | None:
    """The completion date of the founder's first passed GYB/SYB/IYB/EYB course."""
    dates = [
        e.completed_on
        for e in enrollments
        if e.result == TrainingResult.PASSED
        and e.completed_on is not None
        and e.cohort.course.kind in ENTREPRENEURSHIP_KINDS
    ]
    return min(dates, default=None)


def build_journey(
    founder: Founder,
    enrollments: Iterable[Enrollment],
    adoptions: Iterable[LibraryAdoption] = (),
    *,
    opened_on: Iterable[date] = (),
    incubated_on: Iterable[date] = (),
    disbursed_on: Iterable[date] = (),
    followed_up_on: Iterable[date] = (),
) -> Journey:
    """The founder's milestones from the records that exist today: `opened_on` are their
    businesses' opening days, `incubated_on` their residencies' first days, `disbursed_on`
    the days their loans were paid out, `followed_up_on` the days a follow-up found one of
    their businesses a year or more after it opened."""
    reached = {
        "registered": founder.registered_on,
        "trained": first_passed_entrepreneurship_on(enrollments),
        "adopted": min((adoption.adopted_on for adoption in adoptions), default=None),
        "opened": min(opened_on, default=None),
        "incubated": min(incubated_on, default=None),
        "loan": min(disbursed_on, default=None),
        "followed_up_12m": min(followed_up_on, default=None),
    }
    return Journey(tuple(Milestone(key, str(label), reached.get(key)) for key, label in MILESTONES))
