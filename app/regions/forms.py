"""The form an administrator uses to add one region."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import Field, Form, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional, Regexp, ValidationError

from app.core.forms import AppForm, empty_to_none, strip
from app.regions.models import RegionLevel
from app.regions.queries import get_region


class KnownRegion:
    """A region code that exists in the region table."""

    def __call__(self, form: Form, field: Field) -> None:
        if not field.data:
            return
        if get_region(str(field.data)) is None:
            raise ValidationError(str(_l("Unknown region.")))


class RegionForm(AppForm):
    """code, name, level, parent_code (cities), name_en."""

    code = StringField(
        _l("Code"),
        filters=[strip],
        validators=[
            InputRequired(),
            Regexp(r"^[1-9][0-9]{5}$", message=_l("A region code is six digits (GB/T 2260).")),
        ],
    )
    name = StringField(
        _l("Name (Chinese)"), filters=[strip], validators=[InputRequired(), Length(max=64)]
    )
    name_en = StringField(
        _l("Name (English)"), filters=[strip, empty_to_none], validators=[Length(max=128)]
    )
    level = SelectField(
        _l("Level"),
        choices=lambda: [
            SelectChoice(RegionLevel.PROVINCE.value, str(_l("Province"))),
            SelectChoice(RegionLevel.CITY.value, str(_l("City / county / district"))),
        ],
        validators=[InputRequired()],
    )
    parent_code = SelectField(
        _l("Province"),
        filters=[empty_to_none],
        validators=[Optional()],
        validate_choice=False,
    )
