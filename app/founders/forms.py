"""Founder forms: registering, correcting, filtering the list (pages and API share them)."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, DateField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from app.auth.operations import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH
from app.core.forms import (
    AppForm,
    DateRange,
    IdNumber,
    MobileNumber,
    NotAnIdNumber,
    empty_to_none,
    strip,
    with_blank,
)
from app.founders.models import Education, ImportMode, TargetGroup
from app.founders.rules import NAME_MAX_LENGTH

TARGET_GROUP_LABELS = {
    TargetGroup.LAID_OFF: _l("Laid-off / unemployed"),
    TargetGroup.COLLEGE_GRADUATE: _l("College graduate"),
    TargetGroup.MIGRANT_WORKER: _l("Migrant worker"),
    TargetGroup.RETURNING_MIGRANT: _l("Returning migrant worker"),
    TargetGroup.POVERTY_REGISTERED: _l("Poverty-registered"),
    TargetGroup.VETERAN: _l("Veteran"),
    TargetGroup.DISABLED: _l("Person with a disability"),
    TargetGroup.YOUTH_STUDENT: _l("Young person / student"),
    TargetGroup.OTHER: _l("Other"),
}

EDUCATION_LABELS = {
    Education.PRIMARY: _l("Primary school"),
    Education.JUNIOR_HIGH: _l("Junior high school"),
    Education.HIGH_SCHOOL: _l("High school"),
    Education.VOCATIONAL: _l("Vocational school"),
    Education.COLLEGE: _l("College (3-year)"),
    Education.BACHELOR: _l("Bachelor's degree"),
    Education.MASTER_OR_ABOVE: _l("Master's degree or above"),
}

SEX_LABELS = {"male": _l("Male"), "female": _l("Female")}


class TrainingStatus:
    """Values of the list's training filter."""

    NOT_ENROLLED = "not_enrolled"
    IN_TRAINING = "in_training"
    PASSED = "passed"
    NOT_PASSED = "not_passed"


TRAINING_STATUS_LABELS = {
    TrainingStatus.NOT_ENROLLED: _l("Never enrolled"),
    TrainingStatus.IN_TRAINING: _l("In training"),
    TrainingStatus.PASSED: _l("Passed entrepreneurship training"),
    TrainingStatus.NOT_PASSED: _l("Finished without passing"),
}


# Wide enough for any real registration, far from where date arithmetic breaks.
REGISTER_DATES = DateRange(date(2000, 1, 1), date(2100, 12, 31))


def target_group_choices() -> list[SelectChoice]:
    """Target group options in SPEC order."""
    return [SelectChoice(group.value, str(label)) for group, label in TARGET_GROUP_LABELS.items()]


def education_choices() -> list[SelectChoice]:
    """Education options, lowest first."""
    return [SelectChoice(level.value, str(label)) for level, label in EDUCATION_LABELS.items()]


def training_status_choices() -> list[SelectChoice]:
    """Training filter options."""
    return [SelectChoice(value, str(label)) for value, label in TRAINING_STATUS_LABELS.items()]


class FounderForm(AppForm):
    """A founder as staff register them (SPEC §5). Also the body of POST /founders."""

    name = StringField(
        _l("Name"),
        filters=[strip],
        validators=[InputRequired(), Length(max=NAME_MAX_LENGTH)],
        render_kw={"autocomplete": "off"},
    )
    id_number = StringField(
        _l("ID number"),
        filters=[strip],
        validators=[InputRequired(), Length(max=18), IdNumber()],
        render_kw={"autocomplete": "off", "inputmode": "text"},
    )
    phone = StringField(
        _l("Mobile phone"),
        filters=[strip],
        validators=[InputRequired(), Length(max=20), MobileNumber()],
        render_kw={"inputmode": "tel", "autocomplete": "off"},
    )
    region_code = SelectField(_l("Region"), validators=[InputRequired()], validate_choice=False)
    target_group = SelectField(
        _l("Target group"), choices=lambda: with_blank(target_group_choices())
    )
    education = SelectField(
        _l("Education"),
        choices=lambda: with_blank(education_choices()),
        filters=[empty_to_none],
        validators=[Optional()],
    )
    has_reemployment_certificate = BooleanField(
        _l("Holds a re-employment preferential certificate")
    )
    registered_on = DateField(
        _l("Registered on"),
        validators=[Optional(), REGISTER_DATES],
        description=_l("Leave empty for today."),
    )

    def validate_target_group(self, field: SelectField) -> None:
        """A target group is required; the blank "choose" option does not count."""
        if not field.data:
            raise ValidationError(str(_l("Choose one of the target groups.")))


class FounderUpdateForm(FounderForm):
    """PATCH /founders/{id}: every field optional, only the given ones change."""

    name = StringField(_l("Name"), filters=[strip], validators=[Length(max=NAME_MAX_LENGTH)])
    id_number = StringField(
        _l("ID number"), filters=[strip], validators=[Length(max=18), IdNumber()]
    )
    phone = StringField(
        _l("Mobile phone"), filters=[strip], validators=[Length(max=20), MobileNumber()]
    )
    region_code = SelectField(_l("Region"), validators=[Optional()], validate_choice=False)
    target_group = SelectField(
        _l("Target group"),
        choices=lambda: with_blank(target_group_choices()),
        validators=[Optional()],
    )

    def validate_target_group(self, field: SelectField) -> None:
        """Optional here: absent means unchanged."""


class FounderFilterForm(AppForm):
    """Filters and search of the founder list and its export (GET, no CSRF)."""

    class Meta:
        csrf = False

    q = StringField(
        _l("Search"),
        filters=[strip],
        validators=[Optional(), Length(max=50), NotAnIdNumber()],
        description=_l("Name (beginning), mobile number, or the last 4 characters of the ID."),
    )
    region_code = SelectField(_l("Region"), validators=[Optional()], validate_choice=False)
    target_group = SelectField(
        _l("Target group"),
        choices=lambda: with_blank(target_group_choices()),
        validators=[Optional()],
    )
    training_status = SelectField(
        _l("Training"),
        choices=lambda: with_blank(training_status_choices()),
        validators=[Optional()],
    )
    has_business = SelectField(
        _l("Business"),
        choices=lambda: with_blank(
            [
                SelectChoice("yes", str(_l("Has a business"))),
                SelectChoice("no", str(_l("No business yet"))),
            ]
        ),
        validators=[Optional()],
    )
    has_loan = SelectField(
        _l("Loan"),
        choices=lambda: with_blank(
            [
                SelectChoice("yes", str(_l("Has had a loan"))),
                SelectChoice("no", str(_l("No loan yet"))),
            ]
        ),
        validators=[Optional()],
    )
    registered_from = DateField(_l("Registered from"), validators=[Optional(), REGISTER_DATES])
    registered_to = DateField(_l("Registered to"), validators=[Optional(), REGISTER_DATES])

    def validate_registered_to(self, field: DateField) -> None:
        """An end before the start is a mistake, not an empty list (SPEC §15)."""
        start = self.registered_from.data
        if field.data and start and field.data < start:
            raise ValidationError(str(_l("The end date is before the start date.")))


class FounderAccountForm(AppForm):
    """Staff give a founder their own sign-in, from the founder's page."""

    username = StringField(
        _l("Username"),
        filters=[strip],
        validators=[InputRequired(), Length(min=3, max=64)],
        render_kw={"autocomplete": "off"},
    )
    password = PasswordField(
        _l("Initial password"),
        validators=[InputRequired(), Length(min=PASSWORD_MIN_LENGTH, max=PASSWORD_MAX_LENGTH)],
        render_kw={"autocomplete": "new-password"},
        description=_l(
            "Give it to the founder in person; they must change it when they first sign in."
        ),
    )


class IdNumberRevealForm(AppForm):
    """The button that shows a full ID number (a POST, so each view is deliberate and audited)."""


IMPORT_MODE_LABELS = {
    ImportMode.ALL_OR_NOTHING: _l("All or nothing: import only if every row is right"),
    ImportMode.VALID_ROWS: _l("Valid rows: import the good rows, report the others"),
}


class FounderImportForm(AppForm):
    """A spreadsheet of founders (.xlsx or .csv) and what to do with bad rows.

    Also the multipart body of POST /api/v1/imports/founders (`file`, `mode`).
    """

    file = FileField(
        _l("Spreadsheet"),
        validators=[
            FileRequired(_l("Choose a file.")),
            FileAllowed(["xlsx", "csv"], _l("Upload an .xlsx or .csv file.")),
        ],
        description=_l("Chinese or English column headers; start from the template."),
    )
    mode = SelectField(
        _l("Mode"),
        choices=lambda: [
            SelectChoice(mode.value, str(label)) for mode, label in IMPORT_MODE_LABELS.items()
        ],
        default=ImportMode.ALL_OR_NOTHING.value,
    )


class FounderDetailQueryForm(AppForm):
    """GET /founders/{id}?include=id_number: ask for the full ID number (audited)."""

    class Meta:
        csrf = False

    include = SelectField(
        _l("Include"),
        choices=[SelectChoice("", "—"), SelectChoice("id_number", "id_number")],
        validators=[Optional()],
        description=_l(
            "id_number: also answer the full ID number (staff and officers of the founder's "
            "area only; every such answer is audited)."
        ),
    )
