"""Target forms: one region's five figures (the body of PUT /api/v1/targets/...), the
province's page with a row per region, the year picker and the API's as_of.

Forms check the shape of input (whole numbers, plainly written amounts); `targets.rules`
holds the ranges, which the form also applies so one answer names every bad field, and
the operations apply again. Every figure is optional: empty clears a target.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import DateField, FieldList, FormField, HiddenField, IntegerField
from wtforms.validators import NumberRange, Optional, StopValidation, ValidationError

from app.core.forms import AppForm, DateRange, MoneyField, strip
from app.targets.models import FIRST_YEAR, LAST_YEAR, TARGET_FIELDS
from app.targets.rules import (
    MAX_COUNT,
    TARGET_LABELS,
    count_message,
    target_field_errors,
    year_message,
)

TARGET_DATES = DateRange(date(FIRST_YEAR, 1, 1), date(LAST_YEAR, 12, 31))


class CountField(IntegerField):
    """A whole number of 0 or more; anything else gets the figure's own message."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        """Blank is None (no target); text that is not a whole number is refused, naming
        the figure."""
        if not valuelist or valuelist[0] is None or not str(valuelist[0]).strip():
            self.data = None
            return
        raw = str(valuelist[0]).strip()
        if not raw.isascii() or not raw.isdigit():
            self.data = None
            raise ValueError(count_message(self.short_name))
        self.data = int(raw)

    def pre_validate(self, form: Any) -> None:
        """A value that could not be read gets that one message and no other."""
        if self.process_errors:
            raise StopValidation()


class CountRange(NumberRange):
    """0 to MAX_COUNT, said with the figure's name (a NumberRange, so the OpenAPI document
    shows the bounds)."""

    def __init__(self) -> None:
        super().__init__(min=0, max=MAX_COUNT)

    def __call__(self, form: Any, field: Any) -> None:
        if field.data is not None and not 0 <= field.data <= MAX_COUNT:
            raise ValidationError(count_message(field.short_name))


class YearRange(NumberRange):
    """2000 to 2099 (a NumberRange, so the OpenAPI document shows the bounds)."""

    def __init__(self) -> None:
        super().__init__(min=FIRST_YEAR, max=LAST_YEAR)

    def __call__(self, form: Any, field: Any) -> None:
        if field.data is not None and not FIRST_YEAR <= field.data <= LAST_YEAR:
            raise ValidationError(year_message())


def _count(name: str) -> CountField:
    return CountField(
        TARGET_LABELS[name],
        validators=[Optional(), CountRange()],
        render_kw={"inputmode": "numeric"},
    )


def _amount(name: str) -> MoneyField:
    return MoneyField(
        TARGET_LABELS[name],
        places=2,
        validators=[Optional()],
        description=_l('In yuan, like "1500000.00".'),
        render_kw={"inputmode": "decimal"},
    )


def _check_ranges(form: Any, is_valid: bool) -> bool:
    """The figures' limits on each value given (targets.rules' words), after the shape."""
    given = {
        name: form[name].data
        for name in TARGET_FIELDS
        if form[name].data is not None and not form[name].errors
    }
    for name, messages in target_field_errors(given).items():
        form[name].errors = [*form[name].errors, *messages]
        is_valid = False
    return is_valid


class TargetsForm(AppForm):
    """A region's targets for a year (SPEC §13 names). Also the body of
    PUT /api/v1/targets/{year}/{region_code}: counts as whole numbers, the amount as text
    like "1500000.00"; null clears a target, a field left out keeps its value."""

    trainees = _count("trainees")
    businesses_opened = _count("businesses_opened")
    loans_count = _count("loans_count")
    loans_amount = _amount("loans_amount")
    jobs_created = _count("jobs_created")

    def validate(self, extra_validators: Any = None) -> bool:
        """Shape first, then every figure's range, so one answer names every bad field."""
        return _check_ranges(self, super().validate(extra_validators=extra_validators))


class TargetRowForm(AppForm):
    """One region's line on the province's page (no CSRF of its own)."""

    class Meta:
        csrf = False

    region_code = HiddenField(filters=[strip])
    trainees = _count("trainees")
    businesses_opened = _count("businesses_opened")
    loans_count = _count("loans_count")
    loans_amount = _amount("loans_amount")
    jobs_created = _count("jobs_created")

    def validate(self, extra_validators: Any = None) -> bool:
        """Shape first, then every figure's range."""
        return _check_ranges(self, super().validate(extra_validators=extra_validators))

    def given(self) -> dict[str, Any]:
        """The figures the request sent (an empty box is sent: it clears the target)."""
        return {name: self[name].data for name in TARGET_FIELDS if self[name].raw_data}


class SplitForm(AppForm):
    """The province's page: a row per region, saved together."""

    rows = FieldList(FormField(TargetRowForm), min_entries=0, max_entries=500)


class YearForm(AppForm):
    """The year picker of the targets overview (GET, no CSRF)."""

    class Meta:
        csrf = False

    year = IntegerField(
        _l("Year"),
        validators=[Optional(), YearRange()],
        render_kw={"inputmode": "numeric", "min": FIRST_YEAR, "max": LAST_YEAR},
    )


class TargetsQueryForm(AppForm):
    """GET /targets/{year}/{region_code}?as_of=: the date progress is counted to."""

    class Meta:
        csrf = False

    as_of = DateField(
        _l("Progress as of"),
        validators=[Optional(), TARGET_DATES],
        description=_l("Progress up to this day; today in China when not given."),
    )
