"""Integrity forms: a manual event, a correction, a decision, the points table, filters.

The API takes the same forms (SPEC §14 field names). Rules that need the database, the
officer's scope or today's date (the founder's area, future dates, whose event is
corrected, four eyes) live in `integrity.operations`; the forms describe the input.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import DateField, IntegerField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from app.core.db import MAX_ID
from app.core.forms import AppForm, DateRange, strip, with_blank
from app.integrity.models import MANUAL_KINDS, CorrectionState, EventKind, EventSource
from app.integrity.operations import EARLIEST_EVENT_ON, MAX_NOTE
from app.integrity.points import MAX_POINTS, MIN_POINTS

KIND_LABELS = {
    EventKind.INTEGRITY_EDUCATION: _l("Integrity education"),
    EventKind.PAID_ON_TIME: _l("Installment paid on time"),
    EventKind.PAID_LATE: _l("Installment paid late"),
    EventKind.LATE_OVER_30: _l("Installment over 30 days overdue"),
    EventKind.LOAN_CLOSED_CLEAN: _l("Loan repaid, always on time"),
    EventKind.DEFAULTED: _l("Loan in default"),
    EventKind.COMPENSATED: _l("Guarantee fund paid the bank"),
    EventKind.RECOVERED_IN_FULL: _l("Compensation recovered in full"),
    EventKind.FUND_MISUSE: _l("Loan money misused"),
    EventKind.FALSE_INFORMATION: _l("False information given"),
    EventKind.CORRECTION: _l("Correction"),
}
# What each kind means, in plain words for the founder's own page.
KIND_EXPLANATIONS = {
    EventKind.INTEGRITY_EDUCATION: _l("You attended the borrower integrity session."),
    EventKind.PAID_ON_TIME: _l("You paid an installment in full by its due date."),
    EventKind.PAID_LATE: _l("You paid an installment in full, but 1 to 30 days late."),
    EventKind.LATE_OVER_30: _l("An installment stayed unpaid for more than 30 days."),
    EventKind.LOAN_CLOSED_CLEAN: _l("You repaid a whole loan with every installment on time."),
    EventKind.DEFAULTED: _l("A loan went unpaid for so long that it was declared in default."),
    EventKind.COMPENSATED: _l("The guarantee fund paid the bank what you owed."),
    EventKind.RECOVERED_IN_FULL: _l("Everything the guarantee fund paid for you was paid back."),
    EventKind.FUND_MISUSE: _l("A follow-up found the loan money used for another purpose."),
    EventKind.FALSE_INFORMATION: _l("Information you gave was found to be false."),
    EventKind.CORRECTION: _l("Two officers corrected your record."),
}
SOURCE_LABELS = {
    EventSource.LOAN: _l("Loan"),
    EventSource.REPAYMENT: _l("Repayment"),
    EventSource.FOLLOWUP: _l("Follow-up"),
    EventSource.OFFICER: _l("Officer"),
}
STATE_LABELS = {
    CorrectionState.PENDING: _l("Waiting for a second officer"),
    CorrectionState.APPROVED: _l("Approved"),
    CorrectionState.REJECTED: _l("Rejected"),
}
# Any day the date maths handles; operations refuse the future and days before 2000.
EVENT_DATES = DateRange(EARLIEST_EVENT_ON, date(2100, 12, 31))
NOTE_LENGTH = Length(max=MAX_NOTE)
POINTS_RANGE = NumberRange(min=MIN_POINTS, max=MAX_POINTS)
KIND_MESSAGE = _l(
    "Officers record integrity education, false information and fund misuse; loans and "
    "repayments make the other events, and corrections need a second officer's approval."
)


def manual_kind_choices() -> list[SelectChoice]:
    """The kinds an officer records by hand."""
    return [SelectChoice(kind.value, str(KIND_LABELS[kind])) for kind in MANUAL_KINDS]


def api_kind_choices() -> list[SelectChoice]:
    """The kinds the API takes: the manual ones, and `correction` for a proposal."""
    correction = EventKind.CORRECTION
    return [*manual_kind_choices(), SelectChoice(correction.value, str(KIND_LABELS[correction]))]


def state_choices() -> list[SelectChoice]:
    """The correction states, for the queue's filter."""
    return [SelectChoice(state.value, str(label)) for state, label in STATE_LABELS.items()]


def optional_int(value: Any) -> int | None:
    """An optional whole number from a select box ("" is none)."""
    if value in ("", None):
        return None
    return int(value)


class NonZero:
    """A correction of 0 points corrects nothing."""

    def __call__(self, form: Any, field: Any) -> None:
        if field.data == 0:
            raise ValidationError(str(_l("A correction cannot be 0 points.")))


class ManualEventForm(AppForm):
    """kind (manual kinds), occurred_on, note (the reason)."""

    kind = SelectField(
        _l("Event"),
        choices=manual_kind_choices,
        validators=[InputRequired()],
        invalid_choice_message=KIND_MESSAGE,
    )
    occurred_on = DateField(_l("Happened on"), validators=[InputRequired(), EVENT_DATES])
    note = TextAreaField(
        _l("Reason"),
        filters=[strip],
        validators=[InputRequired(), NOTE_LENGTH],
        description=_l("The founder sees this reason in their integrity file."),
        render_kw={"rows": 2},
    )


class CorrectionForm(AppForm):
    """points, note (the reason), corrects_event_id? — a proposal for a second officer."""

    points = IntegerField(
        _l("Points"),
        validators=[InputRequired(), POINTS_RANGE, NonZero()],
        description=_l("Positive to add, negative to take away; from -150 to 150."),
    )
    note = TextAreaField(
        _l("Reason"),
        filters=[strip],
        validators=[InputRequired(), NOTE_LENGTH],
        description=_l("The founder sees this reason in their integrity file."),
        render_kw={"rows": 2},
    )
    corrects_event_id = SelectField(
        _l("Corrects event"),
        coerce=optional_int,
        validators=[Optional()],
        invalid_choice_message=_l("Choose an event of this founder's file."),
    )


class IntegrityEventForm(AppForm):
    """The API body of POST /founders/{id}/integrity-events.

    A manual kind takes occurred_on and note; `correction` takes points, note (the reason)
    and corrects_event_id?, and makes a pending correction instead of an event.
    """

    kind = SelectField(
        _l("Event"),
        choices=api_kind_choices,
        validators=[InputRequired()],
        invalid_choice_message=KIND_MESSAGE,
        description=_l(
            "integrity_education, false_information or fund_misuse (answer 201: the event), "
            "or correction (answer 202: a correction waiting for a second officer)."
        ),
    )
    occurred_on = DateField(
        _l("Happened on"),
        validators=[Optional(), EVENT_DATES],
        description=_l("The day it happened; required for every kind but correction."),
    )
    note = TextAreaField(
        _l("Reason"),
        filters=[strip],
        validators=[InputRequired(), NOTE_LENGTH],
        description=_l("The reason, shown to the founder with the event."),
    )
    points = IntegerField(
        _l("Points"),
        validators=[Optional(), POINTS_RANGE, NonZero()],
        description=_l("Correction only, required there: -150 to 150, not 0."),
    )
    corrects_event_id = IntegerField(
        _l("Corrects event"),
        validators=[Optional(), NumberRange(min=1, max=MAX_ID)],
        description=_l("Correction only, optional: the id of the event it answers."),
    )

    def validate(self, extra_validators: Any = None) -> bool:
        """Also require what the chosen kind needs (occurred_on, or points)."""
        valid = super().validate(extra_validators=extra_validators)
        if self.kind.errors:
            return False
        required = _l("This field is required.")
        is_correction = self.kind.data == EventKind.CORRECTION
        if is_correction and self.points.data is None and not self.points.errors:
            self.points.errors = [*self.points.errors, str(required)]
            valid = False
        if not is_correction and self.occurred_on.data is None and not self.occurred_on.errors:
            self.occurred_on.errors = [*self.occurred_on.errors, str(required)]
            valid = False
        return valid


class DecisionForm(AppForm):
    """note? — an approval may say something."""

    note = TextAreaField(
        _l("Note"), filters=[strip], validators=[Optional(), NOTE_LENGTH], render_kw={"rows": 1}
    )


class RejectionForm(AppForm):
    """note — a rejection says why."""

    note = TextAreaField(
        _l("Why rejected"),
        filters=[strip],
        validators=[InputRequired(), NOTE_LENGTH],
        render_kw={"rows": 1},
    )


class PointsForm(AppForm):
    """points — what future events of one kind get."""

    points = IntegerField(_l("Points"), validators=[InputRequired(), POINTS_RANGE])


class CorrectionFilterForm(AppForm):
    """Which corrections to list (GET, no CSRF); pending when not given."""

    class Meta:
        csrf = False

    state = SelectField(
        _l("State"), choices=lambda: with_blank(state_choices()), validators=[Optional()]
    )
