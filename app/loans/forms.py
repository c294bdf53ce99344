"""Loan forms: the application, the officers' decisions, disbursement, repayments,
reversals, compensation, recoveries, write-offs, fund entries and the list filters.

Pages and the API take the same forms (SPEC §14 field names). Guarantors arrive as a JSON
list on the API and as the rows of `GuarantorForm` on the page; both are checked by
`loans.rules.clean_guarantors`. Rules that need other rows live in the operations.
"""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import (
    DateField,
    FieldList,
    FormField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from app.core.db import MAX_ID
from app.core.forms import AppForm, DateRange, MoneyField, empty_to_none, strip, with_blank
from app.loans.lifecycle import STATUS_LABELS
from app.loans.models import Bucket, RecoverySource
from app.loans.rules import MAX_AMOUNT_EVER, MAX_NOTE, MAX_PURPOSE, MAX_REFERENCE
from app.loans.schedule import MAX_TERM_MONTHS, RepaymentMethod

METHOD_LABELS = {
    RepaymentMethod.EQUAL_INSTALLMENT: _l("Equal installments (level payment)"),
    RepaymentMethod.EQUAL_PRINCIPAL: _l("Equal principal"),
    RepaymentMethod.INTEREST_ONLY: _l("Interest only, principal at the end"),
}
BUCKET_LABELS = {
    Bucket.CURRENT: _l("Current"),
    Bucket.DAYS_1_30: _l("1–30 days"),
    Bucket.DAYS_31_60: _l("31–60 days"),
    Bucket.DAYS_61_90: _l("61–90 days"),
    Bucket.DAYS_90_PLUS: _l("Over 90 days"),
}
RECOVERY_SOURCE_LABELS = {
    RecoverySource.BORROWER: _l("The borrower"),
    RecoverySource.GUARANTOR: _l("A guarantor"),
}
LOAN_DATES = DateRange(date(2000, 1, 1), date(2100, 12, 31))


def method_choices() -> list[SelectChoice]:
    """Repayment methods, the most common first."""
    return [SelectChoice(method.value, str(label)) for method, label in METHOD_LABELS.items()]


def status_choices() -> list[SelectChoice]:
    """Loan statuses in lifecycle order."""
    return [SelectChoice(status.value, str(label)) for status, label in STATUS_LABELS.items()]


def bucket_choices() -> list[SelectChoice]:
    """Arrears buckets, current first."""
    return [SelectChoice(bucket.value, str(label)) for bucket, label in BUCKET_LABELS.items()]


def recovery_source_choices() -> list[SelectChoice]:
    """Who a recovery came from."""
    return [
        SelectChoice(source.value, str(label)) for source, label in RECOVERY_SOURCE_LABELS.items()
    ]


def _id_field(label: object, *, required: bool, description: object = None) -> IntegerField:
    return IntegerField(
        label,
        filters=[empty_to_none],
        validators=[InputRequired() if required else Optional(), NumberRange(min=1, max=MAX_ID)],
        description=description,
    )


def _amount(label: object, *, required: bool = True, description: object = None) -> MoneyField:
    return MoneyField(
        label,
        places=2,
        validators=[
            InputRequired() if required else Optional(),
            NumberRange(min=0.01, max=MAX_AMOUNT_EVER),
        ],
        description=description,
        render_kw={"inputmode": "decimal"},
    )


def _date(label: object, *, required: bool = True, description: object = None) -> DateField:
    return DateField(
        label,
        validators=[InputRequired() if required else Optional(), LOAN_DATES],
        description=description,
    )


def _reference(label: object, *, required: bool = True) -> StringField:
    return StringField(
        label,
        filters=[strip],
        validators=[InputRequired() if required else Optional(), Length(max=MAX_REFERENCE)],
    )


def _text(label: object, *, required: bool, limit: int = MAX_NOTE) -> TextAreaField:
    return TextAreaField(
        label,
        filters=[strip],
        validators=[InputRequired() if required else Optional(), Length(max=limit)],
        render_kw={"rows": 2},
    )


class GuarantorForm(AppForm):
    """One counter-guarantor row of the application page (no CSRF of its own)."""

    class Meta:
        csrf = False

    name = StringField(_l("Full name"), filters=[strip], validators=[Length(max=50)])
    id_number = StringField(_l("ID number"), filters=[strip], validators=[Length(max=18)])
    relationship = StringField(_l("Relationship"), filters=[strip], validators=[Length(max=50)])
    employer = StringField(_l("Employer"), filters=[strip], validators=[Length(max=100)])
    phone = StringField(_l("Mobile"), filters=[strip], validators=[Length(max=20)])

    def is_blank(self) -> bool:
        """An untouched row is not a guarantor."""
        return not any(self[name].data for name in ("name", "id_number", "relationship"))


class LoanApplicationForm(AppForm):
    """An application (SPEC §9). Also the body of POST /loans, with `guarantors` as a list
    of {name, id_number, relationship, employer, phone?}."""

    founder_id = _id_field(
        _l("Founder number"), required=True, description=_l("Shown on the founder's page.")
    )
    business_id = _id_field(
        _l("Business number"),
        required=False,
        description=_l("Optional: the founder's business the loan is for."),
    )
    amount = _amount(_l("Amount (yuan)"))
    term_months = IntegerField(
        _l("Term (months)"),
        validators=[InputRequired(), NumberRange(min=1, max=MAX_TERM_MONTHS)],
        render_kw={"inputmode": "numeric"},
    )
    repayment_method = SelectField(
        _l("Repayment method"),
        choices=lambda: with_blank(method_choices()),
        validators=[InputRequired()],
    )
    purpose = _text(_l("Purpose"), required=True, limit=MAX_PURPOSE)

    def validate_repayment_method(self, field: SelectField) -> None:
        """The blank "choose" option is not a method."""
        if field.data not in {method.value for method in RepaymentMethod}:
            raise ValidationError(str(_l("Choose a repayment method.")))


class LoanApplicationPageForm(LoanApplicationForm):
    """The application page: the fields above and up to three guarantor rows."""

    guarantors = FieldList(FormField(GuarantorForm), min_entries=3, max_entries=3)


class DecisionForm(AppForm):
    """Review or approval. Also the body of POST /loans/{id}/review and /approve."""

    decision = RadioField(
        _l("Decision"),
        choices=lambda: [
            SelectChoice("approve", str(_l("Approve"))),
            SelectChoice("reject", str(_l("Reject"))),
        ],
        validators=[InputRequired(_l("Choose approve or reject."))],
    )
    note = _text(_l("Note (the reason, when rejecting)"), required=False)


class DisbursementForm(AppForm):
    """The bank paid the loan out. Also the body of POST /loans/{id}/disburse."""

    disbursed_on = _date(_l("Disbursed on"))
    bank_reference = _reference(_l("Bank reference"))


class RepaymentForm(AppForm):
    """A payment received. Also the body of POST /loans/{id}/repayments."""

    paid_on = _date(_l("Paid on"))
    amount = _amount(_l("Amount (yuan)"))
    reference = _reference(_l("Bank transaction reference"))


class ReversalForm(AppForm):
    """Undo a payment. Also the body of POST /repayments/{id}/reverse."""

    reason = _text(_l("Reason"), required=True)


class CompensationForm(AppForm):
    """The fund pays the bank. Also the body of POST /loans/{id}/compensate."""

    date = _date(_l("Date"))
    amount = _amount(
        _l("Amount (yuan)"),
        required=False,
        description=_l("Leave empty for the most the fund covers."),
    )
    reference = _reference(_l("Reference"))
    reason = _text(_l("Note"), required=False)


class RecoveryForm(AppForm):
    """Money recovered for the fund. Also the body of POST /loans/{id}/recoveries."""

    date = _date(_l("Date"))
    amount = _amount(_l("Amount (yuan)"))
    reference = _reference(_l("Reference"))
    source = SelectField(
        _l("Recovered from"),
        choices=recovery_source_choices,
        default=RecoverySource.BORROWER.value,
        validators=[Optional()],
    )
    guarantor_id = _id_field(_l("Guarantor"), required=False)
    reason = _text(_l("Note"), required=False)


class WriteOffForm(AppForm):
    """Close what cannot be recovered. Also the body of POST /loans/{id}/write-off."""

    date = _date(_l("Date"))
    reason = _text(_l("Reason"), required=True)


class FundEntryForm(AppForm):
    """A deposit (+) or withdrawal (−). Also the body of POST /funds/{region_code}/entries."""

    date = _date(_l("Date"))
    amount = MoneyField(
        _l("Amount (yuan)"),
        places=2,
        validators=[InputRequired(), NumberRange(min=-MAX_AMOUNT_EVER, max=MAX_AMOUNT_EVER)],
        description=_l("Positive for a deposit, negative for a withdrawal."),
    )
    reference = _reference(_l("Reference"))
    note = _text(_l("Note"), required=False)

    def validate_amount(self, field: MoneyField) -> None:
        """Zero moves nothing."""
        if field.data is not None and field.data == 0:
            raise ValidationError(str(_l("Enter a deposit or a withdrawal, not zero.")))


class LoanFilterForm(AppForm):
    """Filters of the loan list (GET, no CSRF)."""

    class Meta:
        csrf = False

    status = SelectField(
        _l("Status"), choices=lambda: with_blank(status_choices()), validators=[Optional()]
    )
    region_code = SelectField(_l("Region"), validators=[Optional()], validate_choice=False)
    bucket = SelectField(
        _l("Arrears"), choices=lambda: with_blank(bucket_choices()), validators=[Optional()]
    )
    founder_id = _id_field(_l("Founder number"), required=False)
