"""Report forms: the KPI query (region, cut-off date, optional period).

The period's start is called `from` in the query string (SPEC §14), a Python keyword, so
that field is added to the class after its body.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import DateField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from app.core.forms import AppForm, DateRange, strip
from app.extensions import db
from app.regions.models import Region
from app.reports.dimensions import DIMENSION_LABELS, Dimension, parse_key

# The breakdown dimensions, after an empty choice (the figure as a whole).
DIMENSION_CHOICES = [SelectChoice("", "")] + [
    SelectChoice(str(dimension), label) for dimension, label in DIMENSION_LABELS.items()
]
# Reports look at the programme's own years; wider dates are typing mistakes.
REPORT_DATES = DateRange(date(2000, 1, 1), date(2099, 12, 31))


class KpiQueryForm(AppForm):
    """GET /kpis: region_code, as_of (today in China when not given), from?, to?."""

    class Meta:
        csrf = False

    region_code = StringField(
        _l("Region"), filters=[strip], validators=[InputRequired(), Length(min=6, max=6)]
    )
    as_of = DateField(_l("Date"), validators=[Optional(), REPORT_DATES])
    to = DateField(_l("To"), validators=[Optional(), REPORT_DATES])

    def validate_region_code(self, field: Any) -> None:
        """An unknown region is a field error (422), not a missing page."""
        if not db.session.scalar(select(Region.code).where(Region.code == field.data)):
            raise ValidationError(str(_l("Unknown region.")))

    def validate_to(self, field: Any) -> None:
        """The period ends on or after it starts."""
        start = self["from"].data
        if field.data is not None and start is not None and field.data < start:
            raise ValidationError(str(_l("The end date is before the start date.")))


# `from` is a keyword; WTForms' metaclass takes a field added after the class body too.
setattr(KpiQueryForm, "from", DateField(_l("From"), validators=[Optional(), REPORT_DATES]))


class FigureListForm(KpiQueryForm):
    """The list behind a figure: the KPI query plus, for a breakdown cell, its dimension and
    value (`key`, empty for the rows without a value). The region may be left out where the
    caller may read every region (an administrator)."""

    region_code = StringField(
        _l("Region"), filters=[strip], validators=[Optional(), Length(min=6, max=6)]
    )

    dimension = SelectField(
        _l("Breakdown"),
        choices=DIMENSION_CHOICES,
        validators=[Optional()],
    )
    key = StringField(_l("Breakdown value"), filters=[strip], validators=[Length(max=40)])

    def validate_key(self, field: Any) -> None:
        """The value must be one the dimension can have (a number for ids, 0 or 1 for yes/no)."""
        if not self.dimension.data:
            return
        try:
            parse_key(Dimension(self.dimension.data), field.data)
        except ValueError as error:
            raise ValidationError(str(_l("Not a value of this breakdown."))) from error

    @property
    def chosen_dimension(self) -> Dimension | None:
        """The breakdown dimension, or None for the figure as a whole."""
        return Dimension(self.dimension.data) if self.dimension.data else None

    @property
    def chosen_key(self) -> Any:
        """The breakdown value, typed for SQL."""
        dimension = self.chosen_dimension
        return None if dimension is None else parse_key(dimension, self.key.data)


class DashboardForm(KpiQueryForm):
    """The dashboard's choices: region (the user's own by default), date, period and the
    breakdown dimension of its table."""

    by = SelectField(
        _l("Break down by"),
        choices=DIMENSION_CHOICES,
        validators=[Optional()],
    )

    @property
    def chosen_breakdown(self) -> Dimension | None:
        """The table's dimension, or None for the region's default."""
        return Dimension(self.by.data) if self.by.data else None


class StatisticsForm(AppForm):
    """The statistics table: region, year (the cut-off date's when not given) and cut-off
    date (today when not given)."""

    class Meta:
        csrf = False

    region_code = StringField(
        _l("Region"), filters=[strip], validators=[InputRequired(), Length(min=6, max=6)]
    )
    year = IntegerField(_l("Year"), validators=[Optional(), NumberRange(2000, 2099)])
    as_of = DateField(_l("Date"), validators=[Optional(), REPORT_DATES])

    validate_region_code = KpiQueryForm.validate_region_code
