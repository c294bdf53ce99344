"""Training forms: institutions, courses, cohorts, enrollments, results and the class roster.

The API takes the same forms (SPEC §14 field names); rules that need the database or the
actor's scope live in operations.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
)
from wtforms.fields.choices import Choice, SelectChoice
from wtforms.validators import (
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import Select

from app.core.db import MAX_ID
from app.core.forms import AppForm, DateRange, NotAnIdNumber, empty_to_none, strip, with_blank
from app.regions.forms import KnownRegion
from app.training.models import CourseKind, TrainingResult

# Far wider than any course, and far from the calendar's ends where date maths fails.
TRAINING_DATES = DateRange(date(2000, 1, 1), date(2100, 12, 31))

KIND_LABELS = {
    CourseKind.GYB: _l("GYB (Generate Your Business Idea)"),
    CourseKind.SYB: _l("SYB (Start Your Business)"),
    CourseKind.IYB: _l("IYB (Improve Your Business)"),
    CourseKind.EYB: _l("EYB (Expand Your Business)"),
    CourseKind.SKILL: _l("Skills course"),
}
RESULT_LABELS = {
    TrainingResult.PASSED: _l("Passed"),
    TrainingResult.FAILED: _l("Failed"),
    TrainingResult.DROPPED: _l("Dropped out"),
}


def kind_choices() -> list[SelectChoice]:
    """The course kind select box's options."""
    return [SelectChoice(kind.value, str(KIND_LABELS[kind])) for kind in CourseKind]


def result_choices() -> list[SelectChoice]:
    """The result select box's options."""
    return [SelectChoice(result.value, str(RESULT_LABELS[result])) for result in TrainingResult]


class IdChoiceField(IntegerField):
    """A row id chosen from a select box on pages; a whole number in JSON and OpenAPI.

    Set `choices` (SelectChoice values are ids as text) before rendering. Which ids are
    acceptable is the operation's business (scope), so choices are not validated here.
    """

    widget = Select()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.choices: list[SelectChoice] = []
        # The Bootstrap form macros style a field by its type name: render as a select box.
        self.type = "SelectField"

    def iter_choices(self) -> list[Choice]:
        """Options for the Select widget, the current id selected."""
        current = "" if self.data is None else str(self.data)
        return [Choice(c.value, c.label, c.value == current, c.render_kw) for c in self.choices]

    def _iter_choices_normalized(self) -> list[Choice]:
        return self.iter_choices()

    def has_groups(self) -> bool:
        """No option groups."""
        return False


def _id_field(label: Any, *, required: bool = True, **kwargs: Any) -> IdChoiceField:
    first = InputRequired() if required else Optional()
    return IdChoiceField(
        label,
        filters=[empty_to_none],
        validators=[first, NumberRange(min=1, max=MAX_ID)],
        **kwargs,
    )


class InstitutionForm(AppForm):
    """name, region_code, designated."""

    name = StringField(_l("Name"), filters=[strip], validators=[InputRequired(), Length(max=100)])
    region_code = SelectField(
        _l("Region"), validators=[InputRequired(), KnownRegion()], validate_choice=False
    )
    designated = BooleanField(
        _l("Designated training institution"),
        description=_l("Designated by the human resources department to run SIYB courses."),
    )


class CourseForm(AppForm):
    """code, name, kind, hours (and an optional English name)."""

    code = StringField(
        _l("Code"),
        filters=[strip],
        validators=[
            InputRequired(),
            Regexp(
                r"^[A-Za-z0-9][A-Za-z0-9._-]{0,19}$",
                message=_l(
                    "A course code is 1 to 20 letters, digits, dots, dashes or underscores."
                ),
            ),
        ],
    )
    name = StringField(
        _l("Name (Chinese)"), filters=[strip], validators=[InputRequired(), Length(max=100)]
    )
    name_en = StringField(
        _l("Name (English)"), filters=[strip, empty_to_none], validators=[Length(max=100)]
    )
    kind = SelectField(_l("Kind"), choices=kind_choices, validators=[InputRequired()])
    hours = IntegerField(_l("Hours"), validators=[InputRequired(), NumberRange(min=1, max=2000)])


class CohortForm(AppForm):
    """course_id, institution_id, region_code, starts_on, ends_on, capacity (and a name)."""

    course_id = _id_field(_l("Course"))
    institution_id = _id_field(_l("Institution"))
    region_code = SelectField(
        _l("Region"), validators=[InputRequired(), KnownRegion()], validate_choice=False
    )
    name = StringField(
        _l("Class name"),
        filters=[strip],
        validators=[Length(max=100)],
        description=_l("Optional, e.g. 2026 spring class 3."),
    )
    starts_on = DateField(_l("First day"), validators=[InputRequired(), TRAINING_DATES])
    ends_on = DateField(_l("Last day"), validators=[InputRequired(), TRAINING_DATES])
    capacity = IntegerField(_l("Seats"), validators=[InputRequired(), NumberRange(min=1, max=1000)])


class EnrollmentForm(AppForm):
    """founder_id."""

    founder_id = IntegerField(
        _l("Founder id"),
        validators=[InputRequired(), NumberRange(min=1, max=MAX_ID)],
        description=_l(
            "The id shown on the founder's page; or search by name, phone or the last 4 "
            "characters of the ID number."
        ),
    )


class ResultForm(AppForm):
    """result, completed_on, certificate_no?, attendance?"""

    result = SelectField(_l("Result"), choices=result_choices, validators=[InputRequired()])
    completed_on = DateField(_l("Completed on"), validators=[InputRequired(), TRAINING_DATES])
    certificate_no = StringField(
        _l("Certificate number"),
        filters=[strip, empty_to_none],
        validators=[Optional(), Length(max=40)],
        description=_l("Only for a passed result."),
    )
    attendance = IntegerField(
        _l("Attendance (hours)"),
        filters=[empty_to_none],
        validators=[Optional(), NumberRange(min=0, max=2000)],
    )


class RosterRowForm(Form):
    """One founder's line in the roster form (a sub-form: the outer form carries CSRF)."""

    enrollment_id = HiddenField(validators=[InputRequired()])
    result = SelectField(
        _l("Result"),
        choices=lambda: with_blank(result_choices()),
        filters=[empty_to_none],
        validators=[Optional()],
    )
    completed_on = DateField(_l("Completed on"), validators=[Optional(), TRAINING_DATES])
    certificate_no = StringField(
        _l("Certificate number"),
        filters=[strip, empty_to_none],
        validators=[Optional(), Length(max=40)],
    )
    attendance = IntegerField(
        _l("Attendance (hours)"),
        filters=[empty_to_none],
        validators=[Optional(), NumberRange(min=0, max=2000)],
    )


class RosterForm(AppForm):
    """The whole class's results, saved at once."""

    results = FieldList(FormField(RosterRowForm), min_entries=0, max_entries=1000)


class InstitutionFilterForm(AppForm):
    """Filters of the institution list (GET, no CSRF)."""

    class Meta:
        csrf = False

    q = StringField(_l("Name"), filters=[strip], validators=[Optional(), Length(max=100)])
    region_code = SelectField(_l("Region"), validators=[Optional()], validate_choice=False)


class CourseFilterForm(AppForm):
    """Filters of the course catalogue (GET, no CSRF)."""

    class Meta:
        csrf = False

    kind = SelectField(
        _l("Kind"), choices=lambda: with_blank(kind_choices()), validators=[Optional()]
    )


class CohortFilterForm(AppForm):
    """Filters of the cohort list (GET, no CSRF)."""

    class Meta:
        csrf = False

    region_code = SelectField(_l("Region"), validators=[Optional()], validate_choice=False)
    kind = SelectField(
        _l("Kind"), choices=lambda: with_blank(kind_choices()), validators=[Optional()]
    )
    institution_id = _id_field(_l("Institution"), required=False)
    starts_from = DateField(_l("Starts from"), validators=[Optional(), TRAINING_DATES])
    starts_to = DateField(_l("Starts until"), validators=[Optional(), TRAINING_DATES])

    def validate_starts_to(self, field: DateField) -> None:
        """An end before the start is a mistake, not an empty list (SPEC §15)."""
        if field.data and self.starts_from.data and field.data < self.starts_from.data:
            raise ValidationError(str(_l("The end date is before the start date.")))


class FounderSearchForm(AppForm):
    """The roster page's founder search: name, last 4 of the ID number, or phone (GET)."""

    class Meta:
        csrf = False

    q = StringField(
        _l("Find a founder"),
        filters=[strip],
        validators=[Optional(), Length(max=50), NotAnIdNumber()],
        render_kw={"placeholder": _l("Name, last 4 of ID number, or phone")},
    )
