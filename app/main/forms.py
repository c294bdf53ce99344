"""The language switch in the navigation bar."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField
from wtforms.validators import InputRequired


class LanguageForm(FlaskForm):
    """Choose the interface language."""

    locale = SelectField(choices=[("zh_CN", "简体中文"), ("en", "English")], validators=[InputRequired()])
    next = HiddenField()
