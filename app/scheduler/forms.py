"""Forms of the jobs page and API: run a job for a date, filter the runs."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Optional, ValidationError

from app.core.forms import AppForm, DateRange, with_blank
from app.scheduler.models import RunStatus, RunTrigger
from app.scheduler.registry import Cadence, job_names

STATUS_LABELS = {
    RunStatus.RUNNING: _l("Running"),
    RunStatus.SUCCEEDED: _l("Succeeded"),
    RunStatus.FAILED: _l("Failed with an error"),
}
TRIGGER_LABELS = {
    RunTrigger.SCHEDULE: _l("On schedule"),
    RunTrigger.CATCH_UP: _l("Catch-up"),
    RunTrigger.MANUAL: _l("By hand"),
}
CADENCE_LABELS = {
    Cadence.DAILY: _l("Every day at 01:00"),
    Cadence.MONTHLY: _l("On the 1st of each month at 02:00"),
}
RUN_DATES = DateRange(date(2000, 1, 1), date(2100, 12, 31))


class NotAfterToday:
    """A job runs for today or an earlier date, never a future one (the scheduler's today)."""

    def __call__(self, form: Any, field: Any) -> None:
        from app.scheduler.runner import scheduler_today

        today = scheduler_today()
        if field.data is not None and field.data > today:
            raise ValidationError(
                str(_l("A job runs for today (%(today)s) or an earlier date.", today=today))
            )


def job_choices() -> list[SelectChoice]:
    """The registered jobs."""
    return [SelectChoice(name, name) for name in job_names()]


def status_choices() -> list[SelectChoice]:
    """Run statuses, for the filter."""
    return [SelectChoice(status.value, str(label)) for status, label in STATUS_LABELS.items()]


class RunJobApiForm(AppForm):
    """as_of: the date to run the job for (the job is named in the path)."""

    as_of = DateField(_l("For the date"), validators=[InputRequired(), RUN_DATES, NotAfterToday()])


class RunJobForm(RunJobApiForm):
    """The page's form: which job, for which date."""

    job = SelectField(
        _l("Job"),
        choices=job_choices,
        validators=[InputRequired()],
        invalid_choice_message=_l("Choose one of the registered jobs."),
    )


class RunFilterForm(AppForm):
    """Filters of the runs list: job and status (both optional)."""

    job = SelectField(
        _l("Job"),
        choices=lambda: with_blank(job_choices()),
        validators=[Optional()],
        invalid_choice_message=_l("Choose one of the registered jobs."),
    )
    status = SelectField(
        _l("Status"),
        choices=lambda: with_blank(status_choices()),
        validators=[Optional()],
        invalid_choice_message=_l("Choose running, succeeded or failed."),
    )

    class Meta:
        csrf = False
