"""Filters of the audit log page."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectField, StringField
from wtforms.validators import Length, Optional

from app.core.forms import AppForm, DateRange, strip

# Far wider than any audit trail, and far from the calendar's ends where date maths fails.
AUDIT_DATES = DateRange(date(2000, 1, 1), date(2100, 12, 31))


class AuditFilterForm(AppForm):
    """Who, what, which record, where and when (GET, no CSRF)."""

    class Meta:
        csrf = False

    actor = StringField(_l("User"), filters=[strip], validators=[Optional(), Length(max=64)])
    action = StringField(_l("Action"), filters=[strip], validators=[Optional(), Length(max=64)])
    entity_type = SelectField(_l("Record type"), validators=[Optional()], validate_choice=False)
    entity_id = StringField(
        _l("Record id"), filters=[strip], validators=[Optional(), Length(max=64)]
    )
    region_code = SelectField(_l("Region"), validators=[Optional()], validate_choice=False)
    occurred_from = DateField(_l("From"), validators=[Optional(), AUDIT_DATES])
    occurred_to = DateField(_l("To"), validators=[Optional(), AUDIT_DATES])
