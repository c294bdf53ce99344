"""The follow-up plan form: a kind's unit, offsets and repeat interval (admin page)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Optional

from app.core.forms import AppForm, strip
from app.followups.models import PlanUnit
from app.followups.plan import UNIT_LABELS, plan_errors


def unit_choices() -> list[SelectChoice]:
    """Days, working days, months — labelled in the interface language."""
    return [SelectChoice(unit.value, str(label)) for unit, label in UNIT_LABELS.items()]


class PlanForm(AppForm):
    """One kind's schedule; the rules are plan.plan_errors, so one answer names every field."""

    unit = SelectField(_l("Counted in"), choices=unit_choices, validators=[InputRequired()])
    offsets = StringField(
        _l("Offsets"),
        filters=[strip],
        validators=[InputRequired()],
        description=_l('Whole numbers of units after the anchor day, increasing, like "3, 6, 12".'),
    )
    repeat_every = IntegerField(
        _l("Repeat every"),
        validators=[Optional()],
        description=_l(
            "After the last offset, one more follow-up every this many units while the "
            "subject lasts. Leave empty for none."
        ),
        render_kw={"inputmode": "numeric", "min": 1},
    )

    def validate(self, extra_validators: Any = None) -> bool:
        """The fields' shape, then the plan's rules on the values given."""
        is_valid = super().validate(extra_validators=extra_validators)
        unit = self.unit.data if not self.unit.errors else PlanUnit.MONTHS.value
        offsets = self.offsets.data if not self.offsets.errors else "1"
        repeat = self.repeat_every.data if not self.repeat_every.errors else None
        for name, messages in plan_errors(unit, offsets, repeat).items():
            if not self[name].errors:
                self[name].errors = [*self[name].errors, *messages]
                is_valid = False
        return is_valid


class PlanResetForm(AppForm):
    """The "back to SPEC's default" button (a POST with CSRF, nothing else)."""
