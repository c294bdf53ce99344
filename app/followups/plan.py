"""The follow-up plan: for each kind of task, how far from its anchor date each one falls.

SPEC §11's table is the default; an admin may give a kind a plan of its own (a
`followup_plan` row), and "reset" drops it again. A plan is a unit (days, working days or
months), increasing offsets, and optionally `repeat_every`: after the last offset, one more
task every that many units while the subject lasts (loan_usage: 1, then 4, 7, 10 ...).

Task `sequence` n (from 1) is due at anchor + offset(n). Plan changes reach the tasks
planned afterwards and the open tasks at the next reconciliation (D38+ in decisions).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.core.audit import record_audit
from app.core.dates import add_months, add_working_days
from app.core.errors import ValidationFailed
from app.extensions import db
from app.followups.models import FollowupPlan, PlanUnit, TaskKind

# Repeating plans stop generating sequences here (60 quarterly loan visits = 15 years).
MAX_SEQUENCES = 60
# Limits on what an admin may set: enough for any real schedule, small enough for SQL.
MAX_OFFSETS = 12
MAX_OFFSET = {PlanUnit.DAYS: 3660, PlanUnit.WORKING_DAYS: 2600, PlanUnit.MONTHS: 120}
MAX_REPEAT = {PlanUnit.DAYS: 3660, PlanUnit.WORKING_DAYS: 2600, PlanUnit.MONTHS: 120}

_OFFSETS_TEXT = re.compile(r"^\s*\d+(\s*,\s*\d+)*\s*$")

KIND_LABELS = {
    TaskKind.INTAKE_CONTACT: _l("Intake contact"),
    TaskKind.INTAKE_SERVICES: _l("Intake services"),
    TaskKind.POST_TRAINING: _l("After training"),
    TaskKind.BUSINESS: _l("Business follow-up"),
    TaskKind.LOAN_USAGE: _l("Loan usage"),
    TaskKind.INCUBATION_EXIT: _l("After incubation"),
}

ANCHOR_LABELS = {
    TaskKind.INTAKE_CONTACT: _l("registration day"),
    TaskKind.INTAKE_SERVICES: _l("registration day"),
    TaskKind.POST_TRAINING: _l("first passed entrepreneurship training"),
    TaskKind.BUSINESS: _l("opening day"),
    TaskKind.LOAN_USAGE: _l("disbursement day"),
    TaskKind.INCUBATION_EXIT: _l("move-out day"),
}

UNIT_LABELS = {
    PlanUnit.DAYS: _l("days"),
    PlanUnit.WORKING_DAYS: _l("working days (Mon–Fri)"),
    PlanUnit.MONTHS: _l("months"),
}


@dataclass(frozen=True)
class KindPlan:
    """One kind's schedule: task n is due at anchor + offset(n) units."""

    unit: PlanUnit
    offsets: tuple[int, ...]
    repeat_every: int | None = None
    is_default: bool = True

    def offset(self, sequence: int) -> int | None:
        """The offset of task `sequence` (from 1); None past the plan's end."""
        if sequence < 1 or sequence > self.last_sequence:
            return None
        if sequence <= len(self.offsets):
            return self.offsets[sequence - 1]
        assert self.repeat_every is not None
        return self.offsets[-1] + (sequence - len(self.offsets)) * self.repeat_every

    @property
    def last_sequence(self) -> int:
        """How many tasks the plan makes at most for one subject."""
        return MAX_SEQUENCES if self.repeat_every else len(self.offsets)

    def steps(self) -> list[tuple[int, int]]:
        """Every (sequence, offset) pair, for the planning statements."""
        return [(n, self.offset(n) or 0) for n in range(1, self.last_sequence + 1)]

    def due_on(self, anchor: date, sequence: int) -> date | None:
        """The due day of task `sequence` counted from `anchor` (what the SQL computes)."""
        offset = self.offset(sequence)
        if offset is None:
            return None
        return shift(anchor, offset, self.unit)

    @property
    def offsets_text(self) -> str:
        """The offsets as the form shows them: "3, 6, 12"."""
        return ", ".join(str(offset) for offset in self.offsets)

    def values(self) -> dict[str, Any]:
        """The plan as the form and the audit log read it."""
        return {
            "unit": self.unit.value,
            "offsets": self.offsets_text,
            "repeat_every": self.repeat_every,
        }


def shift(anchor: date, offset: int, unit: PlanUnit | str) -> date:
    """`anchor` + `offset` in `unit` (Python twin of the SQL in followups.planning)."""
    unit = PlanUnit(unit)
    if unit is PlanUnit.DAYS:
        return anchor + timedelta(days=offset)
    if unit is PlanUnit.WORKING_DAYS:
        return add_working_days(anchor, offset)
    return add_months(anchor, offset)


def longest_shift_days(offset: int, unit: PlanUnit | str) -> int:
    """At most how many calendar days `shift(anchor, offset, unit)` lies after any anchor:
    lets planning read only the subjects whose anchor can put a task in its window."""
    unit = PlanUnit(unit)
    if unit is PlanUnit.DAYS:
        return offset
    if unit is PlanUnit.WORKING_DAYS:
        # Whole weeks are 7 days; the rest crosses at most one weekend.
        return (offset // 5) * 7 + offset % 5 + 2
    return offset * 31


# SPEC §11's table.
DEFAULT_PLANS: dict[TaskKind, KindPlan] = {
    TaskKind.INTAKE_CONTACT: KindPlan(PlanUnit.DAYS, (1,)),
    TaskKind.INTAKE_SERVICES: KindPlan(PlanUnit.WORKING_DAYS, (7,)),
    TaskKind.POST_TRAINING: KindPlan(PlanUnit.MONTHS, (3, 6, 12)),
    TaskKind.BUSINESS: KindPlan(PlanUnit.MONTHS, (3, 6, 12, 24, 36)),
    TaskKind.LOAN_USAGE: KindPlan(PlanUnit.MONTHS, (1,), repeat_every=3),
    TaskKind.INCUBATION_EXIT: KindPlan(PlanUnit.MONTHS, (6, 12)),
}


def _from_row(row: FollowupPlan) -> KindPlan:
    return KindPlan(
        PlanUnit(row.unit),
        parse_offsets(row.offsets),
        row.repeat_every,
        is_default=False,
    )


def get_plans() -> dict[TaskKind, KindPlan]:
    """Every kind's plan in force: the admin's where set, SPEC's otherwise (one query)."""
    plans = dict(DEFAULT_PLANS)
    for row in db.session.scalars(select(FollowupPlan)):
        plans[TaskKind(row.kind)] = _from_row(row)
    return plans


def get_plan(kind: TaskKind | str) -> KindPlan:
    """One kind's plan in force."""
    row = db.session.get(FollowupPlan, TaskKind(kind).value)
    return _from_row(row) if row is not None else DEFAULT_PLANS[TaskKind(kind)]


def parse_offsets(text: str) -> tuple[int, ...]:
    """ "3, 6,12" as (3, 6, 12); ValueError when it is not a list of whole numbers."""
    if not isinstance(text, str) or not _OFFSETS_TEXT.fullmatch(text):
        raise ValueError(text)
    return tuple(int(part) for part in text.split(","))


def plan_errors(unit: Any, offsets: Any, repeat_every: Any) -> dict[str, list[str]]:
    """What is wrong with a plan, by field (form and operation share these rules)."""
    errors: dict[str, list[str]] = {}
    if unit not in {member.value for member in PlanUnit}:
        errors["unit"] = [_("Choose days, working days or months.")]
        unit_limit = max(MAX_OFFSET.values())
        repeat_limit = max(MAX_REPEAT.values())
    else:
        unit_limit = MAX_OFFSET[PlanUnit(unit)]
        repeat_limit = MAX_REPEAT[PlanUnit(unit)]
    try:
        numbers = parse_offsets(offsets)
    except ValueError:
        errors["offsets"] = [_('Write whole numbers separated by commas, like "3, 6, 12".')]
    else:
        if len(numbers) > MAX_OFFSETS:
            errors["offsets"] = [_("At most %(n)s offsets.", n=MAX_OFFSETS)]
        elif numbers[0] < 1:
            errors["offsets"] = [_("Offsets start at 1 or more: a follow-up comes after the day.")]
        elif any(later <= earlier for earlier, later in pairwise(numbers)):
            errors["offsets"] = [_("Each offset must be larger than the one before.")]
        elif numbers[-1] > unit_limit:
            errors["offsets"] = [_("Offsets go up to %(n)s.", n=unit_limit)]
    if repeat_every is not None and (
        isinstance(repeat_every, bool)
        or not isinstance(repeat_every, int)
        or not 1 <= repeat_every <= repeat_limit
    ):
        errors["repeat_every"] = [
            _("Repeat every 1 to %(n)s units, or leave it empty.", n=repeat_limit)
        ]
    return errors


def save_plan(
    actor: Any, kind: TaskKind | str, *, unit: str, offsets: str, repeat_every: int | None
) -> KindPlan:
    """Give a kind a plan of its own (audited); tasks planned afterwards follow it."""
    kind = TaskKind(kind)
    errors = plan_errors(unit, offsets, repeat_every)
    if errors:
        raise ValidationFailed(errors)
    before = get_plan(kind)
    row = db.session.get(FollowupPlan, kind.value)
    if row is None:
        row = FollowupPlan(kind=kind.value)
        db.session.add(row)
    row.unit = PlanUnit(unit).value
    row.offsets = ",".join(str(offset) for offset in parse_offsets(offsets))
    row.repeat_every = repeat_every
    db.session.flush()
    after = _from_row(row)
    record_audit(
        actor,
        "followup_plan.update",
        ("followup_plan", kind.value),
        before.values(),
        after.values(),
    )
    return after


def reset_plan(actor: Any, kind: TaskKind | str) -> bool:
    """Drop a kind's own plan so SPEC's default applies again; False if it had none."""
    kind = TaskKind(kind)
    row = db.session.get(FollowupPlan, kind.value)
    if row is None:
        return False
    before = _from_row(row).values()
    db.session.delete(row)
    db.session.flush()
    record_audit(
        actor,
        "followup_plan.reset",
        ("followup_plan", kind.value),
        before,
        DEFAULT_PLANS[kind].values(),
    )
    return True
