"""Library forms: a project's fields, the browse filters, adoption.

The API takes the same forms (SPEC §14 field names). The project's rules (ranges, the
minimum below the maximum, required text) are `library.rules.check_project`, which the
operations apply; the forms describe the shape of the input.
"""

from __future__ import annotations

import json
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from app.core.db import MAX_ID
from app.core.forms import AppForm, MoneyField, NotAnIdNumber, empty_to_none, strip, with_blank
from app.core.industries import industry_choices
from app.founders.forms import IMPORT_MODE_LABELS
from app.founders.models import ImportMode
from app.library.models import ProjectLevel, ProjectStatus
from app.library.rules import MAX_INVESTMENT, TEXT_LIMITS
from app.regions.forms import KnownRegion

STATUS_LABELS = {
    ProjectStatus.DRAFT: _l("Draft"),
    ProjectStatus.PUBLISHED: _l("Published"),
    ProjectStatus.RETIRED: _l("Retired"),
}
LEVEL_LABELS = {
    ProjectLevel.PROVINCE: _l("Province project"),
    ProjectLevel.CITY: _l("City project"),
}
SORT_LABELS = {
    "newest": _l("Newest"),
    "investment": _l("Lowest investment"),
    "outcome": _l("Most adopted"),
}


def status_choices() -> list[SelectChoice]:
    """The status select box's options."""
    return [SelectChoice(status.value, str(label)) for status, label in STATUS_LABELS.items()]


def sort_choices() -> list[SelectChoice]:
    """The sort select box's options, newest first."""
    return [SelectChoice(value, str(label)) for value, label in SORT_LABELS.items()]


def _text(label: object, name: str, *, required: bool = False, area: bool = True) -> StringField:
    field_cls = TextAreaField if area else StringField
    first = InputRequired() if required else Optional()
    return field_cls(
        label,
        filters=[strip],
        validators=[first, Length(max=TEXT_LIMITS[name])],
        render_kw={"rows": 3} if area else None,
    )


def _money(label: object, *, required: bool = True, description: object = None) -> MoneyField:
    return MoneyField(
        label,
        places=2,
        validators=[
            InputRequired() if required else Optional(),
            NumberRange(min=0, max=MAX_INVESTMENT),
        ],
        description=description,
    )


class ProjectForm(AppForm):
    """title, industry, investment_min, investment_max, payback_months, jobs_potential,
    summary, market, risks, startup_steps, licences, expert_contact."""

    title = _text(_l("Title"), "title", required=True, area=False)
    industry = SelectField(
        _l("Industry"),
        choices=lambda: with_blank(industry_choices()),
        validators=[InputRequired()],
    )
    investment_min = _money(
        _l("Lowest investment (yuan)"), description=_l('For example "50000.00".')
    )
    investment_max = _money(_l("Highest investment (yuan)"))
    payback_months = IntegerField(
        _l("Payback (months)"), validators=[InputRequired(), NumberRange(min=1, max=240)]
    )
    jobs_potential = IntegerField(
        _l("Jobs it can create"), validators=[InputRequired(), NumberRange(min=0, max=1000)]
    )
    summary = _text(_l("Project summary"), "summary", required=True)
    market = _text(_l("Market"), "market")
    risks = _text(_l("Risks"), "risks")
    startup_steps = _text(_l("Start-up steps"), "startup_steps")
    licences = _text(_l("Licences needed"), "licences")
    expert_contact = _text(_l("Contact expert"), "expert_contact", area=False)


class ProjectUpdateForm(ProjectForm):
    """PATCH /library/projects/{id}: every field optional, only the given ones change."""

    title = _text(_l("Title"), "title", area=False)
    industry = SelectField(
        _l("Industry"), choices=lambda: with_blank(industry_choices()), validators=[Optional()]
    )
    investment_min = _money(_l("Lowest investment (yuan)"), required=False)
    investment_max = _money(_l("Highest investment (yuan)"), required=False)
    payback_months = IntegerField(
        _l("Payback (months)"), validators=[Optional(), NumberRange(min=1, max=240)]
    )
    jobs_potential = IntegerField(
        _l("Jobs it can create"), validators=[Optional(), NumberRange(min=0, max=1000)]
    )
    summary = _text(_l("Project summary"), "summary")


class ProjectFilterForm(AppForm):
    """Search, filters and sort of the library (GET, no CSRF)."""

    class Meta:
        csrf = False

    q = StringField(
        _l("Search"),
        filters=[strip],
        validators=[Optional(), Length(max=50), NotAnIdNumber()],
        description=_l("Words in the title or summary."),
    )
    region_code = SelectField(
        _l("Region"), validators=[Optional(), KnownRegion()], validate_choice=False
    )
    industry = SelectField(
        _l("Industry"), choices=lambda: with_blank(industry_choices()), validators=[Optional()]
    )
    max_investment = _money(
        _l("Investment up to (yuan)"),
        required=False,
        description=_l("Projects whose lowest investment is at most this."),
    )
    payback = IntegerField(
        _l("Payback within (months)"), validators=[Optional(), NumberRange(min=1, max=240)]
    )
    status = SelectField(
        _l("Status"), choices=lambda: with_blank(status_choices()), validators=[Optional()]
    )
    sort = SelectField(_l("Sort"), choices=sort_choices, default="newest", validators=[Optional()])


class AdoptionForm(AppForm):
    """{founder_id}: who adopts; a founder may leave it out (they adopt for themself)."""

    founder_id = IntegerField(
        _l("Founder number"),
        filters=[empty_to_none],
        validators=[Optional(), NumberRange(min=1, max=MAX_ID)],
        description=_l("The founder's number, shown on their page."),
    )


class StatusActionForm(AppForm):
    """The publish, retire, revise and promote buttons (a POST with CSRF, nothing else)."""


class ProjectImportForm(AppForm):
    """A spreadsheet of projects prepared offline (.xlsx), and what to do with bad rows."""

    file = FileField(
        _l("Spreadsheet"),
        validators=[
            FileRequired(_l("Choose a file.")),
            FileAllowed(["xlsx", "csv"], _l("Upload an .xlsx or .csv file.")),
        ],
        description=_l("Chinese or English column headers; start from the template."),
    )
    mode = SelectField(
        _l("Mode"),
        choices=lambda: [
            SelectChoice(mode.value, str(label)) for mode, label in IMPORT_MODE_LABELS.items()
        ],
        default=ImportMode.ALL_OR_NOTHING.value,
    )


class ProjectImportReportForm(AppForm):
    """The problems of an import just shown, posted back to download them as .xlsx."""

    errors = HiddenField()

    def problems(self) -> list[dict[str, Any]]:
        """The posted problems, keeping only well-formed {row, field, message} entries."""
        try:
            data = json.loads(self.errors.data or "[]")
        except ValueError:
            return []
        if not isinstance(data, list):
            return []
        return [
            {"row": item["row"], "field": str(item["field"]), "message": str(item["message"])}
            for item in data[:MAX_REPORTED_PROBLEMS]
            if isinstance(item, dict)
            and isinstance(item.get("row"), int)
            and {"field", "message"} <= set(item)
        ]


MAX_REPORTED_PROBLEMS = 10_000
