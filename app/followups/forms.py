"""Follow-up forms: completing a task, an attempt, a service item, assignment, the misuse
decision, queue filters and the founder's own status update.

The API takes the same forms (SPEC §14 field names). What a kind of task requires, dates
against the subject and today, scope and state live in `followups.operations`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import html_params

from app.businesses.models import BusinessStatus
from app.businesses.rules import MAX_EMPLOYEES, MAX_MONTHLY_REVENUE
from app.core.db import MAX_ID
from app.core.forms import AppForm, DateRange, MoneyField, strip, with_blank
from app.followups.models import (
    Channel,
    Employment,
    MisuseState,
    ServiceItem,
    TaskKind,
    TaskStatus,
)
from app.followups.plan import KIND_LABELS

STATUS_LABELS = {
    TaskStatus.OPEN: _l("To do"),
    TaskStatus.DONE: _l("Done"),
    TaskStatus.MISSED: _l("Missed"),
    TaskStatus.CANCELLED: _l("Cancelled"),
}
CHANNEL_LABELS = {
    Channel.PHONE: _l("Phone"),
    Channel.VISIT: _l("Visit"),
    Channel.SELF_REPORT: _l("Self-report"),
    Channel.OTHER: _l("Other"),
}
EMPLOYMENT_LABELS = {
    Employment.SELF_EMPLOYED: _l("Self-employed"),
    Employment.EMPLOYED: _l("Employed"),
    Employment.UNEMPLOYED: _l("Unemployed"),
}
SERVICE_LABELS = {
    ServiceItem.CAREER_GUIDANCE: _l("Career guidance"),
    ServiceItem.LEAD: _l("Project or job lead"),
    ServiceItem.TRAINING_OFFER: _l("Training offer"),
}
MISUSE_LABELS = {
    MisuseState.PENDING: _l("Misuse found, waiting for an officer"),
    MisuseState.CONFIRMED: _l("Misuse confirmed"),
    MisuseState.DISMISSED: _l("Misuse dismissed"),
}
BUCKET_LABELS = {
    "today": _l("Due today"),
    "week": _l("This week"),
    "overdue": _l("Overdue"),
    "missed": _l("Missed"),
}
BUSINESS_STATUS_LABELS = {
    BusinessStatus.OPERATING: _l("Operating"),
    BusinessStatus.SUSPENDED: _l("Suspended"),
    BusinessStatus.CLOSED: _l("Closed"),
}
WORK_DATES = DateRange(date(2000, 1, 1), date(2100, 12, 31))
NOTE_LENGTH = Length(max=1000)


def _choices(labels: dict[Any, Any], values: Any = None) -> list[SelectChoice]:
    keys = values if values is not None else labels
    return [SelectChoice(key.value, str(labels[key])) for key in keys]


def staff_channel_choices() -> list[SelectChoice]:
    """Phone, visit, other: the channels staff record (self_report is the founder's)."""
    return _choices(CHANNEL_LABELS, (Channel.PHONE, Channel.VISIT, Channel.OTHER))


def kind_choices() -> list[SelectChoice]:
    """Every kind of task."""
    return _choices(KIND_LABELS)


def status_choices() -> list[SelectChoice]:
    """Every task status."""
    return _choices(STATUS_LABELS)


def employment_choices() -> list[SelectChoice]:
    """Self-employed, employed, unemployed."""
    return _choices(EMPLOYMENT_LABELS)


def business_status_choices() -> list[SelectChoice]:
    """Operating, suspended, closed."""
    return _choices(BUSINESS_STATUS_LABELS)


def service_choices() -> list[SelectChoice]:
    """The package's items."""
    return _choices(SERVICE_LABELS)


class YesNoSelect:
    """A select of "—", yes and no for a tri-state answer."""

    def __call__(self, field: Any, **kwargs: Any) -> Markup:
        kwargs.setdefault("id", field.id)
        css = kwargs.pop("class_", "") or kwargs.pop("class", "")
        kwargs["class"] = (css.replace("form-control", "") + " form-select").strip()
        options = [
            ("?", "—", field.data is None),
            ("y", str(_l("Yes")), field.data is True),
            ("n", str(_l("No")), field.data is False),
        ]
        rendered = Markup("").join(
            Markup('<option value="{}"{}>{}</option>').format(
                value, Markup(" selected") if selected else "", label
            )
            for value, label, selected in options
        )
        return Markup("<select {}>{}</select>").format(
            # html_params escapes every name and value it writes.
            Markup(html_params(name=field.name, **kwargs)),  # noqa: S704
            rendered,
        )


class YesNoField(BooleanField):
    """true, false or not given (None). JSON takes true/false; pages a yes/no select."""

    widget = YesNoSelect()
    true_values = ("y", "yes", "true", "on", "1")
    false_values = ("", "n", "no", "false", "off", "0")

    def process_formdata(self, valuelist: list[Any]) -> None:
        """No value is "not given"; "" and no-like words are false."""
        # JSON false arrives as "" (core.api.read_json_form), the select's "no" as "n" and
        # its "—" as "?" (not given).
        if not valuelist:
            self.data = None
        elif valuelist[0] in self.false_values:
            self.data = False
        elif valuelist[0] in self.true_values:
            self.data = True
        else:
            self.data = None

    def process_data(self, value: Any) -> None:
        """Defaults keep None as None (BooleanField would make it False)."""
        self.data = None if value is None else bool(value)


def _head_count() -> IntegerField:
    return IntegerField(
        _l("Employees"),
        validators=[Optional(), NumberRange(min=0, max=MAX_EMPLOYEES)],
        description=_l("People working in the business, the founder not counted."),
        render_kw={"inputmode": "numeric"},
    )


def _revenue() -> MoneyField:
    return MoneyField(
        _l("Monthly revenue (yuan)"),
        places=2,
        validators=[Optional(), NumberRange(min=0, max=MAX_MONTHLY_REVENUE)],
        description=_l("Optional."),
        render_kw={"inputmode": "decimal"},
    )


class _CompletionBase(AppForm):
    done_on = DateField(_l("Done on"), validators=[InputRequired(), WORK_DATES])
    channel = SelectField(
        _l("Channel"),
        choices=lambda: with_blank(staff_channel_choices()),
        validators=[InputRequired()],
        invalid_choice_message=_l("Choose phone, visit or other."),
    )


def _note() -> TextAreaField:
    return TextAreaField(
        _l("Note"), filters=[strip], validators=[Optional(), NOTE_LENGTH], render_kw={"rows": 2}
    )


def _business_status_field() -> SelectField:
    return SelectField(
        _l("Business status"),
        choices=lambda: with_blank(business_status_choices()),
        validators=[Optional()],
        invalid_choice_message=_l("Choose operating, suspended or closed."),
    )


def _employment_field() -> SelectField:
    return SelectField(
        _l("Founder's employment"),
        choices=lambda: with_blank(employment_choices()),
        validators=[Optional()],
        invalid_choice_message=_l("Choose self-employed, employed or unemployed."),
    )


def _fund_usage_field() -> YesNoField:
    return YesNoField(
        _l("Money used as declared?"),
        description=_l("No: an officer confirms or dismisses the finding."),
    )


class ContactCompletionForm(_CompletionBase):
    """Intake contact or intake services: the day, the channel, optionally employment."""

    employment = _employment_field()
    note = _note()


class EmploymentCompletionForm(_CompletionBase):
    """After training: the founder's employment status is required."""

    employment = _employment_field()
    note = _note()


class BusinessCompletionForm(_CompletionBase):
    """Business and after incubation: the business's status, head count and revenue."""

    business_status = _business_status_field()
    employees = _head_count()
    monthly_revenue = _revenue()
    employment = _employment_field()
    note = _note()


class LoanUsageCompletionForm(_CompletionBase):
    """Loan usage: is the money used as declared; the business's status if the loan has one."""

    fund_usage_ok = _fund_usage_field()
    business_status = _business_status_field()
    employees = _head_count()
    monthly_revenue = _revenue()
    note = _note()


class CompletionForm(_CompletionBase):
    """The API body of POST /followups/{id}/complete: every finding, by kind (see
    followups.operations), and `services` for the intake package delivered on done_on."""

    business_status = _business_status_field()
    employees = _head_count()
    monthly_revenue = _revenue()
    employment = _employment_field()
    fund_usage_ok = _fund_usage_field()
    note = _note()
    services = SelectMultipleField(
        _l("Services"),
        choices=service_choices,
        validators=[Optional()],
        description=_l("Intake services only: items delivered on done_on."),
        invalid_choice_message=_l("Choose career guidance, a lead or a training offer."),
    )


COMPLETION_FORMS: dict[str, type[AppForm]] = {
    TaskKind.INTAKE_CONTACT: ContactCompletionForm,
    TaskKind.INTAKE_SERVICES: ContactCompletionForm,
    TaskKind.POST_TRAINING: EmploymentCompletionForm,
    TaskKind.BUSINESS: BusinessCompletionForm,
    TaskKind.LOAN_USAGE: LoanUsageCompletionForm,
    TaskKind.INCUBATION_EXIT: BusinessCompletionForm,
}


def completion_values(form: AppForm) -> dict[str, Any]:
    """The form's fields as the values `complete_task` takes."""
    values = {name: field.data for name, field in form._fields.items() if name != "csrf_token"}
    for name in ("business_status", "employment", "channel"):
        if values.get(name) == "":
            values[name] = None
    return values


class AttemptForm(AppForm):
    """attempted_on, channel, note: a call or visit that reached nobody."""

    attempted_on = DateField(_l("Tried on"), validators=[InputRequired(), WORK_DATES])
    channel = SelectField(
        _l("Channel"),
        choices=lambda: with_blank(staff_channel_choices()),
        validators=[InputRequired()],
        invalid_choice_message=_l("Choose phone, visit or other."),
    )
    note = TextAreaField(
        _l("Note"), filters=[strip], validators=[Optional(), NOTE_LENGTH], render_kw={"rows": 1}
    )


class ServiceItemForm(AppForm):
    """item, detail, provided_on, channel: one item of the intake package."""

    item = SelectField(
        _l("Service"),
        choices=lambda: with_blank(service_choices()),
        validators=[InputRequired()],
        invalid_choice_message=_l("Choose career guidance, a lead or a training offer."),
    )
    detail = StringField(
        _l("Detail"),
        filters=[strip],
        validators=[Optional(), Length(max=500)],
        description=_l("Which lead, which course."),
    )
    provided_on = DateField(_l("Provided on"), validators=[InputRequired(), WORK_DATES])
    channel = SelectField(
        _l("Channel"),
        choices=lambda: with_blank(staff_channel_choices()),
        validators=[InputRequired()],
        invalid_choice_message=_l("Choose phone, visit or other."),
    )


class AssignForm(AppForm):
    """assignee_id: a colleague whose area includes the task; empty (null) for nobody."""

    assignee_id = IntegerField(
        _l("Assign to"),
        validators=[Optional(), NumberRange(min=1, max=MAX_ID)],
        description=_l("A user id; null to unassign."),
    )


def optional_int(value: Any) -> int | None:
    """An optional whole number from a select box ("" is none)."""
    if value in ("", None):
        return None
    return int(value)


class AssignSelectForm(AppForm):
    """The page's assignment box: the colleagues who may take the task."""

    assignee_id = SelectField(
        _l("Assign to"),
        coerce=optional_int,
        validators=[Optional()],
        invalid_choice_message=_l("Choose a colleague whose area includes this follow-up."),
    )


class MisuseDecisionForm(AppForm):
    """decision (confirm or dismiss), note: an officer on a misuse finding."""

    decision = SelectField(
        _l("Officer's decision"),
        choices=lambda: [
            SelectChoice("confirm", str(_l("Confirm misuse"))),
            SelectChoice("dismiss", str(_l("Dismiss"))),
        ],
        validators=[InputRequired()],
        invalid_choice_message=_l("Choose confirm or dismiss."),
    )
    note = TextAreaField(
        _l("Note"),
        filters=[strip],
        validators=[Optional(), NOTE_LENGTH],
        description=_l("On confirmation the founder sees this reason in their integrity file."),
        render_kw={"rows": 2},
    )


class QueueFilterForm(AppForm):
    """The queue's filters (GET, no CSRF)."""

    class Meta:
        csrf = False

    kind = SelectField(
        _l("Kind"), choices=lambda: with_blank(kind_choices()), validators=[Optional()]
    )
    assignee = SelectField(
        _l("Assignee"),
        choices=lambda: [
            SelectChoice("", "—"),
            SelectChoice("me", str(_l("Me"))),
            SelectChoice("unassigned", str(_l("Nobody"))),
        ],
        validators=[Optional()],
    )
    region_code = SelectField(_l("Region"), validators=[Optional()], validate_choice=False)


class TaskFilterForm(AppForm):
    """The API list's filters (query string)."""

    class Meta:
        csrf = False

    status = SelectField(
        _l("Status"), choices=lambda: with_blank(status_choices()), validators=[Optional()]
    )
    kind = SelectField(
        _l("Kind"), choices=lambda: with_blank(kind_choices()), validators=[Optional()]
    )
    due_before = DateField(
        _l("Due before"),
        validators=[Optional(), WORK_DATES],
        description=_l("Tasks due before this day."),
    )
    region_code = StringField(_l("Region"), validators=[Optional(), Length(max=6)])
    assignee = StringField(
        _l("Assignee"),
        validators=[Optional(), Length(max=20)],
        description=_l('"me", "unassigned" or a user id.'),
    )

    def validate_assignee(self, field: StringField) -> None:
        """Only "me", "unassigned" or an id a row can have (ASCII digits, 32-bit)."""
        value = field.data or ""
        if value in ("", "me", "unassigned"):
            return
        if not (value.isascii() and value.isdigit() and 1 <= int(value) <= MAX_ID):
            raise ValidationError(_l('Give "me", "unassigned" or a user id.'))

    founder_id = IntegerField(
        _l("Founder"), validators=[Optional(), NumberRange(min=1, max=MAX_ID)]
    )


class EmploymentReportForm(AppForm):
    """The founder's own word on how they work now."""

    employment = RadioField(
        _l("How do you work now?"),
        choices=employment_choices,
        validators=[InputRequired(_l("Choose how you work now."))],
    )
    note = TextAreaField(
        _l("Anything to add? (optional)"),
        filters=[strip],
        validators=[Optional(), NOTE_LENGTH],
        render_kw={"rows": 2},
    )
