"""Forms of the bank statement import and the quarterly claim reports (pages and API)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import IntegerField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, InputRequired, NumberRange

from app.core.forms import AppForm

# Claims are filed for quarters of the platform's life; anything outside is a typing slip.
FIRST_CLAIM_YEAR, LAST_CLAIM_YEAR = 2000, 2100


class StatementUploadForm(AppForm):
    """A bank statement (.xlsx or .csv) of repayments to post.

    Also the multipart body of POST /api/v1/imports/repayments (`file`).
    """

    file = FileField(
        _l("Bank statement"),
        validators=[
            FileRequired(_l("Choose a file.")),
            FileAllowed(["xlsx", "csv"], _l("Upload an .xlsx or .csv file.")),
        ],
        description=_l(
            "One repayment per row: the transaction reference, the loan id or the "
            "borrower's ID number, the date paid and the amount."
        ),
    )


class QuarterForm(AppForm):
    """The quarter of a claim report (GET, no CSRF)."""

    class Meta:
        csrf = False

    year = IntegerField(
        _l("Year"),
        validators=[
            InputRequired(_l("Enter the year, such as 2026.")),
            NumberRange(
                min=FIRST_CLAIM_YEAR,
                max=LAST_CLAIM_YEAR,
                message=_l("Enter a year between %(min)s and %(max)s."),
            ),
        ],
    )
    quarter = SelectField(
        _l("Quarter"),
        choices=lambda: [
            SelectChoice("1", str(_l("Q1 (January–March)"))),
            SelectChoice("2", str(_l("Q2 (April–June)"))),
            SelectChoice("3", str(_l("Q3 (July–September)"))),
            SelectChoice("4", str(_l("Q4 (October–December)"))),
        ],
        validators=[
            InputRequired(_l("Choose a quarter.")),
            AnyOf(["1", "2", "3", "4"], message=_l("Choose a quarter from 1 to 4.")),
        ],
        # AnyOf says what is wrong in words; the built-in check would only say "not valid".
        validate_choice=False,
    )
