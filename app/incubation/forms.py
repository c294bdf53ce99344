"""Incubation forms: a base's fields, a residency's start and end, the base list's filters.

The API takes the same forms (SPEC §14 field names). Rules that need the database, the
actor's scope or today's date (regions in scope, unique names, capacity, the business's
dates) live in `incubation.operations`; the forms describe the shape of the input.
"""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional, Regexp

from app.core.db import MAX_ID
from app.core.forms import AppForm, DateRange, NotAnIdNumber, empty_to_none, strip, with_blank
from app.incubation.models import BaseKind, ResidencyOutcome
from app.regions.forms import KnownRegion

KIND_LABELS = {
    BaseKind.PARK: _l("Business park"),
    BaseKind.IDLE_FACTORY: _l("Idle factory"),
    BaseKind.CAMPUS: _l("Campus"),
    BaseKind.OTHER: _l("Other"),
}
OUTCOME_LABELS = {
    ResidencyOutcome.GRADUATED: _l("Graduated"),
    ResidencyOutcome.LEFT: _l("Left"),
    ResidencyOutcome.CLOSED: _l("Closed"),
}
MAX_UNITS = 10_000
MAX_NOTE = 1000
# Businesses are recorded from 1980 on; far from the calendar's ends where date maths fails.
RESIDENCY_DATES = DateRange(date(1980, 1, 1), date(2100, 12, 31))
# The shape of a phone number; operations count its digits (see `operator_phone_errors`).
PHONE_SHAPE = r"^[0-9][0-9 -]*$"


def kind_choices() -> list[SelectChoice]:
    """The base kind select box's options."""
    return [SelectChoice(kind.value, str(label)) for kind, label in KIND_LABELS.items()]


def outcome_choices() -> list[SelectChoice]:
    """The residency outcome select box's options."""
    return [SelectChoice(value.value, str(label)) for value, label in OUTCOME_LABELS.items()]


class BaseForm(AppForm):
    """name, region_code, kind, address, units, operator_name, operator_phone."""

    name = StringField(_l("Name"), filters=[strip], validators=[InputRequired(), Length(max=100)])
    region_code = SelectField(
        _l("Region"), validators=[InputRequired(), KnownRegion()], validate_choice=False
    )
    kind = SelectField(_l("Kind"), choices=kind_choices, validators=[InputRequired()])
    address = StringField(_l("Address"), filters=[strip], validators=[Length(max=200)])
    units = IntegerField(
        _l("Units"),
        validators=[InputRequired(), NumberRange(min=1, max=MAX_UNITS)],
        description=_l("How many businesses the base can host at once."),
    )
    operator_name = StringField(
        _l("Operator contact"), filters=[strip], validators=[Length(max=100)]
    )
    operator_phone = StringField(
        _l("Operator phone"),
        filters=[strip],
        validators=[
            Optional(),
            Length(max=20),
            Regexp(PHONE_SHAPE, message=_l("Use digits, spaces and dashes only.")),
        ],
        description=_l("A mobile number or a landline such as 0898-66668888."),
    )


class ResidencyForm(AppForm):
    """business_id, unit_label, starts_on, note?"""

    business_id = IntegerField(
        _l("Business number"),
        validators=[InputRequired(), NumberRange(min=1, max=MAX_ID)],
        description=_l("The business number shown on the business's page."),
    )
    unit_label = StringField(
        _l("Unit"),
        filters=[strip],
        validators=[InputRequired(), Length(max=20)],
        description=_l("E.g. A-101."),
    )
    starts_on = DateField(_l("Moved in on"), validators=[InputRequired(), RESIDENCY_DATES])
    note = TextAreaField(
        _l("Note"),
        filters=[strip],
        validators=[Optional(), Length(max=MAX_NOTE)],
        render_kw={"rows": 2},
    )


class EndResidencyForm(AppForm):
    """ends_on, outcome, note?"""

    ends_on = DateField(_l("Moved out on"), validators=[InputRequired(), RESIDENCY_DATES])
    outcome = SelectField(_l("Outcome"), choices=outcome_choices, validators=[InputRequired()])
    note = StringField(
        _l("Note"), filters=[strip, empty_to_none], validators=[Optional(), Length(max=MAX_NOTE)]
    )


class BaseFilterForm(AppForm):
    """Filters of the base list (GET, no CSRF)."""

    class Meta:
        csrf = False

    q = StringField(
        _l("Name"), filters=[strip], validators=[Optional(), Length(max=100), NotAnIdNumber()]
    )
    region_code = SelectField(
        _l("Region"), validators=[Optional(), KnownRegion()], validate_choice=False
    )
    kind = SelectField(
        _l("Kind"), choices=lambda: with_blank(kind_choices()), validators=[Optional()]
    )
