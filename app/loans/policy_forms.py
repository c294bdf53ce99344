"""Loan policy forms: the admin's policy page, and the body of PUT /api/v1/loan-policies.

The form checks the shape of the input (numbers written plainly, at most 6 decimals in a
rate, whole months and days), then each value given against `loans.policies`' limits, so
one answer names every bad field; `put_policy` applies the same rules again. Every field
is optional in the form: on the API a field left out keeps the value that applies now, and
on the page an emptied field is refused by the operation, naming it.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DecimalField, IntegerField
from wtforms.validators import NumberRange, Optional, Regexp, StopValidation, ValidationError

from app.core.forms import AppForm, MoneyField
from app.loans.policies import (
    DEFAULT_POLICY,
    FIELD_LABELS,
    MAX_DEFAULT_DAYS,
    MAX_TERM_MONTHS,
    MIN_DEFAULT_DAYS,
    MIN_TERM_MONTHS,
    PLAIN_NUMBER,
    POLICY_FIELDS,
    RANGE_MESSAGES,
    RATE_PLACES,
    policy_field_errors,
    rate_text,
)

# What a rate looks like on the wire ("0.0345", "1", "5"); the OpenAPI document shows it.
RATE_PATTERN = rf"^[0-9]+(\.[0-9]{{1,{RATE_PLACES}}})?$"


def _is_blank(valuelist: list[Any]) -> bool:
    """A box sent empty; a field not sent at all keeps its value, as in WTForms."""
    return bool(valuelist) and (valuelist[0] is None or str(valuelist[0]).strip() == "")


class PolicyAmountField(MoneyField):
    """The maximum amount: a plain amount in yuan; an emptied box is "not given", which the
    operation names, rather than "not a valid decimal"."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        """Blank is None; anything else is read as MoneyField reads it."""
        if _is_blank(valuelist):
            self.data = None
            return
        super().process_formdata(valuelist)


class RateField(DecimalField):
    """A rate or ratio written plainly, like "0.0345" or "5".

    Decimal also reads "1e-3", "1_000", "Infinity" and other scripts' digits; a rate typed
    like that is a slip, so it is refused, naming the field. Blank is None (not given).
    """

    def __init__(self, label: Any = None, validators: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("places", None)  # shown as stored: "0.0345", not "0.03"
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        """Refuse anything but a plainly written number, then parse it as a Decimal."""
        if not valuelist:
            return
        if _is_blank(valuelist):
            self.data = None
            return
        raw = str(valuelist[0]).strip()
        if not PLAIN_NUMBER.fullmatch(raw):
            self.data = None
            example = rate_text(DEFAULT_POLICY.get(self.name, DEFAULT_POLICY["annual_rate"]))
            raise ValueError(
                _(
                    '%(field)s must be a number written plainly, like "%(example)s".',
                    field=self.label.text,
                    example=example,
                )
            )
        super().process_formdata([raw])

    def pre_validate(self, form: Any) -> None:
        """A rate that could not be read gets that one message and no other."""
        if self.process_errors:
            raise StopValidation()


class RatePlaces(Regexp):
    """At most 6 decimals, counted on the text as typed. Its pattern is what the OpenAPI
    document shows for a rate (Regexp is what the document reads)."""

    def __init__(self) -> None:
        super().__init__(RATE_PATTERN)

    def __call__(self, form: Any, field: Any) -> None:
        raw = str(field.raw_data[0]).strip() if field.raw_data else ""
        decimals = raw.partition(".")[2]
        if len(decimals) > RATE_PLACES:
            raise ValidationError(
                _("%(field)s has at most %(n)s decimals.", field=field.label.text, n=RATE_PLACES)
            )


def _rate(name: str, description: Any) -> RateField:
    return RateField(
        FIELD_LABELS[name],
        validators=[Optional(), RatePlaces()],
        description=description,
        render_kw={"inputmode": "decimal"},
    )


def _whole_number(name: str, low: int, high: int, description: Any) -> IntegerField:
    return IntegerField(
        FIELD_LABELS[name],
        validators=[Optional(), NumberRange(min=low, max=high, message=RANGE_MESSAGES[name])],
        description=description,
        render_kw={"inputmode": "numeric", "min": low, "max": high},
    )


class PolicyForm(AppForm):
    """A region's loan policy (SPEC §9 field names). Also the body of
    PUT /api/v1/loan-policies/{region_code}: money and rates travel as text."""

    max_amount = PolicyAmountField(
        FIELD_LABELS["max_amount"],
        places=2,
        validators=[Optional()],
        description=_l('The largest loan a founder may be granted, like "300000.00".'),
        render_kw={"inputmode": "decimal"},
    )
    max_term_months = _whole_number(
        "max_term_months",
        MIN_TERM_MONTHS,
        MAX_TERM_MONTHS,
        _l("The longest term a loan may run, in months."),
    )
    annual_rate = _rate("annual_rate", _l('As a decimal: "0.0345" is 3.45 percent a year.'))
    subsidy_rate = _rate(
        "subsidy_rate",
        _l('The share of the interest public funds pay: "1" is all of it, "0.5" half.'),
    )
    require_training = BooleanField(
        FIELD_LABELS["require_training"],
        description=_l("Applicants must have passed entrepreneurship training."),
    )
    default_days = _whole_number(
        "default_days",
        MIN_DEFAULT_DAYS,
        MAX_DEFAULT_DAYS,
        _l("A loan this many days past due is in default."),
    )
    guarantee_ratio = _rate(
        "guarantee_ratio",
        _l('The share of a defaulted loan the guarantee fund pays the bank, like "0.8".'),
    )
    leverage = _rate(
        "leverage",
        _l('Guaranteed loans may reach this multiple of the fund\'s balance, like "5".'),
    )
    suspend_compensation_rate = _rate(
        "suspend_compensation_rate",
        _l('Above this compensation rate the region\'s new loans are refused, like "0.05".'),
    )
    subsidy_requires_on_time = BooleanField(
        FIELD_LABELS["subsidy_requires_on_time"],
        description=_l("An installment that becomes overdue loses its subsidy."),
    )

    def validate(self, extra_validators: Any = None) -> bool:
        """The shape of each field, then the policy's limits on each value given, so that
        one answer names every bad field (`put_policy` applies the same rules again)."""
        is_valid = super().validate(extra_validators=extra_validators)
        given = {
            name: field.data
            for name, field in self._fields.items()
            if name in POLICY_FIELDS and field.data is not None and not field.errors
        }
        for name, messages in policy_field_errors(given).items():
            self[name].errors = [*self[name].errors, *messages]
            is_valid = False
        return is_valid


class PolicyClearForm(AppForm):
    """The "use the province's policy" button (a POST with CSRF, nothing else)."""
