"""The language switch in the navigation bar."""

from __future__ import annotations

from wtforms import HiddenField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

from app.core.forms import AppForm


class LanguageForm(AppForm):
    """Choose the interface language."""

    locale = SelectField(
        choices=[SelectChoice("zh_CN", "简体中文"), SelectChoice("en", "English")],
        validators=[InputRequired()],
    )
    next = HiddenField()
