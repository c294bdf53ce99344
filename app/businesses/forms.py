"""Business forms: opening and correcting a business, observations, self-reports, the
review queue and the list filters. The API takes the same forms (SPEC §14 field names);
the rules (dates against the opening, closures, scope) are applied by the operations."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from app.businesses.models import BusinessStatus, ObservationSource, ReviewState
from app.businesses.rules import MAX_EMPLOYEES, MAX_MONTHLY_REVENUE, MAX_NAME, MAX_NOTE
from app.core.db import MAX_ID
from app.core.forms import (
    AppForm,
    DateRange,
    MoneyField,
    NotAnIdNumber,
    Uscc,
    empty_to_none,
    strip,
    with_blank,
)
from app.core.industries import industry_choices

STATUS_LABELS = {
    BusinessStatus.OPERATING: _l("Operating"),
    BusinessStatus.SUSPENDED: _l("Suspended"),
    BusinessStatus.CLOSED: _l("Closed"),
}
SOURCE_LABELS = {
    ObservationSource.STAFF: _l("Centre staff"),
    ObservationSource.FOUNDER: _l("Founder's own report"),
    ObservationSource.FOLLOWUP: _l("Follow-up"),
}
REVIEW_LABELS = {
    ReviewState.PENDING: _l("Waiting for review"),
    ReviewState.VERIFIED: _l("Verified"),
    ReviewState.QUERIED: _l("Queried"),
}
# Wide enough for any real business, far from where date arithmetic breaks.
BUSINESS_DATES = DateRange(date(1980, 1, 1), date(2100, 12, 31))


def status_choices() -> list[SelectChoice]:
    """Status options in SPEC order."""
    return [SelectChoice(status.value, str(label)) for status, label in STATUS_LABELS.items()]


def _id_field(label: object, *, required: bool, description: object = None) -> IntegerField:
    return IntegerField(
        label,
        filters=[empty_to_none],
        validators=[
            InputRequired() if required else Optional(),
            NumberRange(min=1, max=MAX_ID),
        ],
        description=description,
    )


def _head_count(label: object, *, required: bool, description: object = None) -> IntegerField:
    return IntegerField(
        label,
        validators=[
            InputRequired() if required else Optional(),
            NumberRange(min=0, max=MAX_EMPLOYEES),
        ],
        description=description,
        render_kw={"inputmode": "numeric", "min": 0},
    )


class BusinessForm(AppForm):
    """A business as staff record it (SPEC §8). Also the body of POST /businesses."""

    founder_id = _id_field(
        _l("Founder number"), required=True, description=_l("Shown on the founder's page.")
    )
    name = StringField(
        _l("Business name"), filters=[strip], validators=[InputRequired(), Length(max=MAX_NAME)]
    )
    industry = SelectField(
        _l("Industry"), choices=lambda: with_blank(industry_choices()), validators=[InputRequired()]
    )
    region_code = SelectField(_l("Region"), validators=[InputRequired()], validate_choice=False)
    opened_on = DateField(_l("Opened on"), validators=[InputRequired(), BUSINESS_DATES])
    uscc = StringField(
        _l("Unified social credit code"),
        filters=[strip, empty_to_none],
        validators=[Optional(), Length(max=18), Uscc()],
        description=_l("Optional: the 18-character code on the business licence."),
    )
    library_project_id = _id_field(
        _l("Library project number"),
        required=False,
        description=_l("Optional: the number shown on the library project's page."),
    )
    employees_at_opening = _head_count(
        _l("Employees at opening"),
        required=True,
        description=_l("Jobs created, the founder not counted."),
    )


class BusinessUpdateForm(BusinessForm):
    """PATCH /businesses/{id}: every field optional, only the given ones change."""

    founder_id = None  # a business never changes hands
    name = StringField(_l("Business name"), filters=[strip], validators=[Length(max=MAX_NAME)])
    industry = SelectField(
        _l("Industry"), choices=lambda: with_blank(industry_choices()), validators=[Optional()]
    )
    region_code = SelectField(_l("Region"), validators=[Optional()], validate_choice=False)
    opened_on = DateField(_l("Opened on"), validators=[Optional(), BUSINESS_DATES])
    employees_at_opening = _head_count(_l("Employees at opening"), required=False)


class ObservationForm(AppForm):
    """What was seen of a business on a day. Also the body of POST .../observations."""

    observed_on = DateField(
        _l("Observed on"),
        validators=[Optional(), BUSINESS_DATES],
        description=_l("Leave empty for today."),
    )
    status = SelectField(
        _l("Status"), choices=lambda: with_blank(status_choices()), validators=[InputRequired()]
    )
    employees = _head_count(
        _l("Employees"),
        required=False,
        description=_l("People working in the business, the founder not counted."),
    )
    monthly_revenue = MoneyField(
        _l("Monthly revenue (yuan)"),
        places=2,
        validators=[Optional(), NumberRange(min=0, max=MAX_MONTHLY_REVENUE)],
        description=_l("Optional."),
        render_kw={"inputmode": "decimal"},
    )
    closed_on = DateField(
        _l("Closed on"),
        validators=[Optional(), BUSINESS_DATES],
        description=_l("Only for a closure; leave empty for the day of the observation."),
    )
    note = TextAreaField(
        _l("Note"), filters=[strip], validators=[Length(max=MAX_NOTE)], render_kw={"rows": 2}
    )
    reopened = BooleanField(
        _l("The business reopened"),
        description=_l("Staff only: records that a closed business is trading again."),
    )

    def validate_status(self, field: SelectField) -> None:
        """A status is required; the blank "choose" option does not count."""
        if field.data not in {status.value for status in BusinessStatus}:
            raise ValidationError(str(_l("Choose operating, suspended or closed.")))


class SelfReportForm(AppForm):
    """A founder's report from their phone: tap the status, type the head count, submit."""

    status = RadioField(
        _l("How is your business today?"),
        choices=status_choices,
        validators=[InputRequired(_l("Choose how your business is doing."))],
    )
    employees = _head_count(
        _l("Employees"),
        required=False,
        description=_l("People working for you, not counting yourself."),
    )
    monthly_revenue = MoneyField(
        _l("Monthly revenue (yuan, optional)"),
        places=2,
        validators=[Optional(), NumberRange(min=0, max=MAX_MONTHLY_REVENUE)],
        render_kw={"inputmode": "decimal"},
    )


class ReviewForm(AppForm):
    """The verify button of the review queue (a POST with CSRF, nothing else)."""


class QueryForm(AppForm):
    """Staff ask the founder about a self-report. Also the body of POST .../query."""

    note = TextAreaField(
        _l("Question for the founder"),
        filters=[strip],
        validators=[InputRequired(), Length(max=MAX_NOTE)],
        render_kw={"rows": 2},
    )


class BusinessFilterForm(AppForm):
    """Filters and search of the business list (GET, no CSRF)."""

    class Meta:
        csrf = False

    q = StringField(
        _l("Search"),
        filters=[strip],
        validators=[Optional(), Length(max=50), NotAnIdNumber()],
        description=_l("The beginning of the business name."),
    )
    region_code = SelectField(_l("Region"), validators=[Optional()], validate_choice=False)
    status = SelectField(
        _l("Status"), choices=lambda: with_blank(status_choices()), validators=[Optional()]
    )
    industry = SelectField(
        _l("Industry"), choices=lambda: with_blank(industry_choices()), validators=[Optional()]
    )
    opened_from = DateField(_l("Opened from"), validators=[Optional(), BUSINESS_DATES])
    opened_to = DateField(_l("Opened to"), validators=[Optional(), BUSINESS_DATES])
    founder_id = _id_field(_l("Founder number"), required=False)
    library_project_id = _id_field(_l("Library project number"), required=False)

    def validate_opened_to(self, field: DateField) -> None:
        """An end before the start is a mistake, not an empty list (SPEC §15)."""
        start = self.opened_from.data
        if field.data and start and field.data < start:
            raise ValidationError(str(_l("The end date is before the start date.")))


def review_state_choices() -> list[SelectChoice]:
    """Review state options, waiting first."""
    return [SelectChoice(state.value, str(label)) for state, label in REVIEW_LABELS.items()]


class ReportFilterForm(AppForm):
    """Which self-reports the review queue shows (GET, no CSRF)."""

    class Meta:
        csrf = False

    state = SelectField(
        _l("Review"),
        choices=review_state_choices,
        default=ReviewState.PENDING.value,
        validators=[Optional()],
    )
