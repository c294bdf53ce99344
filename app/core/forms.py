"""Shared form pieces: field validators backed by core.validators, and input clean-up.

Forms describe the shape of input for pages and the API alike; rules that need the
database stay in operations.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, Field, Form
from wtforms.fields.choices import SelectChoice
from wtforms.validators import StopValidation, ValidationError

from app.core import validators
from app.core.dates import today_in_china

NO_CHOICE = SelectChoice("", "—")


class AppForm(FlaskForm):
    """Base of every form: also refuses NUL characters, which no text needs and
    PostgreSQL cannot store, so they become a field error instead of a crash."""

    def validate(self, extra_validators: Any = None) -> bool:
        # Checked before the field validators, some of which look values up in the database.
        refused = [field for field in self if _contains_nul(field.data)]
        if not refused:
            return super().validate(extra_validators=extra_validators)
        for field in refused:
            field.errors = [str(_l("Contains a character that is not allowed."))]
        return False


def _contains_nul(data: Any) -> bool:
    values = data if isinstance(data, list) else [data]
    return any(validators.contains_nul(value) for value in values)


def with_blank(choices: list[SelectChoice]) -> list[SelectChoice]:
    """Filter boxes start with an empty "any" choice."""
    return [NO_CHOICE, *choices]


def strip(value: Any) -> Any:
    """Trim surrounding white space from text input."""
    return value.strip() if isinstance(value, str) else value


def empty_to_none(value: Any) -> Any:
    """Treat an empty optional text box as 'not given'."""
    return None if value == "" else value


class IdNumber:
    """A GB 11643 resident ID number with a correct check character."""

    def __init__(self, message: str | None = None) -> None:
        self.message = message

    def __call__(self, form: Form, field: Field) -> None:
        if not field.data:
            return
        try:
            # A birth date after today is impossible (SPEC §15).
            field.data = validators.parse_id_number(field.data, as_of=today_in_china()).id_number
        except validators.InvalidValue as error:
            raise ValidationError(self.message or id_number_message(error.code)) from None


def id_number_message(code: str) -> str:
    """The user-facing message for a rejected ID number (codes from core.validators)."""
    messages = {
        "length": _l("An ID number has 18 characters."),
        "format": _l("An ID number is 17 digits followed by a digit or X."),
        "birth_date": _l("The birth date inside this ID number is not possible."),
        "checksum": _l("This ID number's check character is wrong; please check each digit."),
    }
    return str(messages.get(code, messages["format"]))


class Uscc:
    """A GB 32100 unified social credit code with a correct check character."""

    def __call__(self, form: Form, field: Field) -> None:
        if not field.data:
            return
        try:
            field.data = validators.parse_uscc(field.data)
        except validators.InvalidValue as error:
            message = (
                _l("This credit code's check character is wrong; please check each character.")
                if error.code == "checksum"
                else _l("A unified social credit code has 18 digits or capital letters.")
            )
            raise ValidationError(str(message)) from None


class MobileNumber:
    """An 11-digit mainland China mobile number."""

    def __call__(self, form: Form, field: Field) -> None:
        if not field.data:
            return
        try:
            field.data = validators.parse_mobile(field.data)
        except validators.InvalidValue:
            raise ValidationError(
                str(_l("Enter an 11-digit mainland mobile number starting with 1."))
            ) from None


def show_form_errors(form: Form, error: Any, *, field_name: str | None = None) -> None:
    """Put an operation's per-field errors next to the fields they name.

    An error without fields (a conflict, say) goes next to `field_name`. Errors about
    fields the form does not show are flashed instead, so none is lost.
    """
    from flask import flash

    errors = getattr(error, "errors", None) or {field_name or "": [error.message]}
    for name, messages in errors.items():
        field = form._fields.get(name)
        if field is None:
            for message in messages:
                flash(message, "danger")
            continue
        field.errors = [*field.errors, *messages]


class DateRange:
    """A date between `earliest` and `latest` (WTForms' NumberRange cannot compare dates:
    it calls math.isnan on the value)."""

    def __init__(self, earliest: date, latest: date) -> None:
        self.earliest = earliest
        self.latest = latest

    def __call__(self, form: Form, field: Field) -> None:
        if field.data is not None and not self.earliest <= field.data <= self.latest:
            raise ValidationError(
                str(
                    _l(
                        "Choose a date between %(min)s and %(max)s.",
                        min=self.earliest.isoformat(),
                        max=self.latest.isoformat(),
                    )
                )
            )


class NotAnIdNumber:
    """Search boxes are GET forms: what is typed ends up in the address, in browser history
    and in access logs, where ID numbers must never be (SPEC §4). A whole (or nearly whole)
    ID number is refused with a hint to use its last four characters."""

    _ID_LIKE = re.compile(r"[0-9]{14,17}[0-9Xx]?")
    # The same refusal in the browser, before the GET puts the number in the address bar
    # and the proxy's log: WTForms renders this flag as the input's `pattern` attribute.
    BROWSER_PATTERN = r"(?!\s*[0-9]{14,17}[0-9Xx]?\s*$).*"

    def __init__(self) -> None:
        self.field_flags = {"pattern": self.BROWSER_PATTERN}

    def __call__(self, form: Form, field: Field) -> None:
        if isinstance(field.data, str) and self._ID_LIKE.fullmatch(field.data.strip()):
            raise ValidationError(
                str(
                    _l(
                        "Search by the last 4 characters of the ID number; a whole ID number "
                        "is never put in a web address."
                    )
                )
            )


_PLAIN_AMOUNT = re.compile(r"-?[0-9]+(\.[0-9]+)?")


class MoneyField(DecimalField):
    """An amount in yuan written plainly: ASCII digits with an optional point and sign.

    Python's Decimal also reads "1_000", "1e3", "+5" and other scripts' digits; an amount
    of money typed like that is more likely a slip than meant, so it is refused.
    """

    def process_formdata(self, valuelist: list[Any]) -> None:
        """Refuse anything but a plain amount, then parse like DecimalField and refuse
        what is not a finite number."""
        raw = valuelist[0] if valuelist else None
        if raw is None or not str(raw).strip():
            # Empty is "no amount": Optional() or InputRequired() decide, not a parse error.
            self.data = None
            return
        if not _PLAIN_AMOUNT.fullmatch(str(raw).strip()):
            self.data = None
            raise ValueError(str(_l('Enter an amount in yuan, like "50000.00".')))
        super().process_formdata(valuelist)
        if isinstance(self.data, Decimal) and not self.data.is_finite():
            self.data = None
            raise ValueError(str(_l('Enter an amount in yuan, like "50000.00".')))

    def pre_validate(self, form: Any) -> None:
        """An amount that could not be read gets that one message, not a range error too."""
        if self.process_errors:
            raise StopValidation()
