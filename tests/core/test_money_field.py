"""Amounts of money are typed plainly: ASCII digits, an optional point and sign."""

from __future__ import annotations

from decimal import Decimal

import pytest
from werkzeug.datastructures import MultiDict

from app.core.forms import AppForm, MoneyField


class AmountForm(AppForm):
    class Meta:
        csrf = False

    amount = MoneyField("Amount", places=2)


@pytest.mark.parametrize("typed", ["1_000", "٣", "1e3", "+5", "1,000", "0x10", "NaN", "5元"])
def test_amounts_not_written_plainly_are_refused(app, typed):
    with app.test_request_context():
        form = AmountForm(formdata=MultiDict({"amount": typed}))
        assert not form.validate()
        assert form.amount.data is None
        assert form.errors["amount"]


@pytest.mark.parametrize(
    ("typed", "amount"), [("8000", "8000.00"), ("8000.5", "8000.50"), (" 12.34 ", "12.34")]
)
def test_plain_amounts_are_read_exactly(app, typed, amount):
    with app.test_request_context():
        form = AmountForm(formdata=MultiDict({"amount": typed}))
        assert form.validate()
        assert form.amount.data == Decimal(amount)


def test_an_unreadable_amount_gets_one_message(app):
    from wtforms.validators import NumberRange

    class Ranged(AppForm):
        class Meta:
            csrf = False

        amount = MoneyField("Amount", places=2, validators=[NumberRange(min=0, max=100)])

    with app.test_request_context():
        form = Ranged(formdata=MultiDict({"amount": "1,234.50"}))
        assert not form.validate()
        assert len(form.errors["amount"]) == 1


def test_an_empty_optional_amount_is_no_amount(app):
    """An empty box on a page is "no amount", not "Not a valid decimal value"."""
    from werkzeug.datastructures import MultiDict
    from wtforms.validators import Optional

    from app.core.forms import AppForm, MoneyField

    class Form(AppForm):
        class Meta:
            csrf = False

        amount = MoneyField("Amount", places=2, validators=[Optional()])

    with app.test_request_context():
        for empty in ("", "  "):
            form = Form(formdata=MultiDict({"amount": empty}))
            assert form.validate(), form.errors
            assert form.amount.data is None
