"""Breakdown dimensions of the KPI figures (SPEC §11): what each member row is grouped by.

A dimension is a SQL expression over a member statement's columns (see members.py), so a
breakdown is one GROUP BY over the same rows the figure counts. Where a member row does
not carry the dimension itself, it is looked up through the founder as of D:

- region: the unit's own region (a province's breakdown lists its cities, and the
  province itself for records kept at province level);
- cohort: the enrollment's own cohort for training figures; otherwise the cohort of the
  founder's first passed entrepreneurship training by D (none: not trained);
- institution: the institution that ran that cohort;
- target group: the founder's;
- library item: the business's library project; for a founder (and a business without
  one) the project the founder first adopted by D, else the project of the founder's
  first business opened by D that has one (none: no project);
- loan: whether the founder had a loan disbursed by D;
- incubated: whether the business (for loans without a business, any business of the
  founder) had a residency starting by D;
- month: the calendar month of the figure's entry date (completion, opening,
  disbursement, due date), for the charts' cohorts by month.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, exists, func, select
from sqlalchemy.orm import aliased

from app.businesses.models import Business
from app.core.sql import month_of
from app.extensions import db
from app.founders.forms import TARGET_GROUP_LABELS
from app.founders.models import Founder
from app.incubation.models import Residency
from app.library.models import LibraryAdoption, LibraryProject
from app.loans.models import Loan
from app.regions.models import Region
from app.training.models import Cohort, Course, Enrollment, Institution, TrainingResult

# The largest id a record can have (ids are 32-bit integers, D24).
MAX_ID = 2**31 - 1
# The label column's name in grouped statements.
KEY = "group_key"


class Dimension(enum.StrEnum):
    """What a breakdown groups by."""

    REGION = "region"
    COHORT = "cohort"
    INSTITUTION = "institution"
    TARGET_GROUP = "target_group"
    LIBRARY_ITEM = "library_item"
    LOAN = "loan"
    INCUBATED = "incubated"
    MONTH = "month"


DIMENSION_LABELS = {
    Dimension.REGION: _l("Region"),
    Dimension.COHORT: _l("Cohort"),
    Dimension.INSTITUTION: _l("Training institution"),
    Dimension.TARGET_GROUP: _l("Target group"),
    Dimension.LIBRARY_ITEM: _l("Library project"),
    Dimension.LOAN: _l("With or without a loan"),
    Dimension.INCUBATED: _l("Incubated or not"),
    Dimension.MONTH: _l("Month"),
}


def dimension_key(dimension: Dimension, members: Any, day: Any) -> Any:
    """The dimension's value for each row of the `members` subquery, as of `day`."""
    columns = members.c
    if dimension is Dimension.REGION:
        return columns.region_code
    if dimension is Dimension.MONTH:
        return month_of(columns.entry_on)
    if dimension is Dimension.TARGET_GROUP:
        return (
            select(Founder.target_group).where(Founder.id == columns.founder_id).scalar_subquery()
        )
    if dimension is Dimension.COHORT:
        return _cohort_key(columns, day)
    if dimension is Dimension.INSTITUTION:
        return (
            select(Cohort.institution_id)
            .where(Cohort.id == _cohort_key(columns, day))
            .scalar_subquery()
        )
    if dimension is Dimension.LIBRARY_ITEM:
        return _library_key(columns, day)
    if dimension is Dimension.LOAN:
        return case(
            (
                exists().where(
                    Loan.founder_id == columns.founder_id,
                    Loan.disbursed_on.is_not(None),
                    Loan.disbursed_on <= day,
                ),
                1,
            ),
            else_=0,
        )
    if dimension is Dimension.INCUBATED:
        return _incubated_key(columns, day)
    raise ValueError(f"unknown dimension {dimension!r}")


def _cohort_key(columns: Any, day: Any) -> Any:
    if "cohort_id" in columns:
        return columns.cohort_id
    # Aliases: nested in the institution lookup, plain Cohort would be auto-correlated.
    cohort, course = aliased(Cohort), aliased(Course)
    return (
        select(Enrollment.cohort_id)
        .join(cohort, cohort.id == Enrollment.cohort_id)
        .join(course, course.id == cohort.course_id)
        .where(
            Enrollment.founder_id == columns.founder_id,
            course.kind.in_(_entrepreneurship()),
            Enrollment.result == TrainingResult.PASSED.value,
            Enrollment.completed_on <= day,
        )
        .order_by(Enrollment.completed_on, Enrollment.id)
        .limit(1)
        # Explicit: inside the institution lookup it is nested two levels deep.
        .correlate(columns.founder_id.table)
        .scalar_subquery()
    )


def _entrepreneurship() -> list[str]:
    from app.reports.members import ENTREPRENEURSHIP

    return ENTREPRENEURSHIP


def _library_key(columns: Any, day: Any) -> Any:
    first_adoption = (
        select(LibraryAdoption.project_id)
        .where(LibraryAdoption.founder_id == columns.founder_id, LibraryAdoption.adopted_on <= day)
        .order_by(LibraryAdoption.adopted_on, LibraryAdoption.id)
        .limit(1)
        .scalar_subquery()
    )
    first_business = (
        select(Business.library_project_id)
        .where(
            Business.founder_id == columns.founder_id,
            Business.library_project_id.is_not(None),
            Business.opened_on <= day,
        )
        .order_by(Business.opened_on, Business.id)
        .limit(1)
        .scalar_subquery()
    )
    of_founder = func.coalesce(first_adoption, first_business)
    if "business_id" not in columns:
        return of_founder
    of_business = (
        select(Business.library_project_id)
        .where(Business.id == columns.business_id)
        .scalar_subquery()
    )
    return case((of_business.is_not(None), of_business), else_=of_founder)


def _incubated_key(columns: Any, day: Any) -> Any:
    by_founder = exists().where(
        Residency.business_id == Business.id,
        Business.founder_id == columns.founder_id,
        Residency.starts_on <= day,
    )
    if "business_id" not in columns:
        return case((by_founder, 1), else_=0)
    by_business = exists().where(
        Residency.business_id == columns.business_id, Residency.starts_on <= day
    )
    return case(
        (columns.business_id.is_not(None), case((by_business, 1), else_=0)),
        else_=case((by_founder, 1), else_=0),
    )


def key_labels(dimension: Dimension, keys: Iterable[Any]) -> dict[Any, str]:
    """A display label for each key of a breakdown (None: the row has no such value)."""
    keys = list(keys)
    present = [key for key in keys if key is not None]
    labels: dict[Any, str] = {}
    if dimension is Dimension.REGION:
        labels = dict(
            db.session.execute(
                select(Region.code, Region.name).where(Region.code.in_(present))
            ).all()
        )
    elif dimension is Dimension.COHORT:
        rows = db.session.execute(
            select(Cohort.id, Cohort.name, Course.name, Cohort.starts_on)
            .join(Course, Course.id == Cohort.course_id)
            .where(Cohort.id.in_(present))
        )
        labels = {
            cohort_id: name or f"{course} {starts_on:%Y-%m-%d}"
            for cohort_id, name, course, starts_on in rows
        }
    elif dimension is Dimension.INSTITUTION:
        labels = dict(
            db.session.execute(
                select(Institution.id, Institution.name).where(Institution.id.in_(present))
            ).all()
        )
    elif dimension is Dimension.LIBRARY_ITEM:
        labels = dict(
            db.session.execute(
                select(LibraryProject.id, LibraryProject.title).where(
                    LibraryProject.id.in_(present)
                )
            ).all()
        )
    elif dimension is Dimension.TARGET_GROUP:
        labels = {key: str(TARGET_GROUP_LABELS.get(key, key)) for key in present}
    elif dimension is Dimension.LOAN:
        labels = {1: _("With a loan"), 0: _("Without a loan")}
    elif dimension is Dimension.INCUBATED:
        labels = {1: _("Incubated"), 0: _("Not incubated")}
    else:
        labels = {key: str(key) for key in present}
    none_label = {
        Dimension.COHORT: _("Not trained"),
        Dimension.INSTITUTION: _("Not trained"),
        Dimension.LIBRARY_ITEM: _("No library project"),
    }.get(dimension, _("Not recorded"))
    return {key: (none_label if key is None else labels.get(key, str(key))) for key in keys}


def parse_key(dimension: Dimension, text: str | None) -> Any:
    """A key from a query string ('' for None), typed as the dimension's SQL value; raises
    ValueError when it cannot be one."""
    if text is None or text == "":
        return None
    if dimension in (Dimension.COHORT, Dimension.INSTITUTION, Dimension.LIBRARY_ITEM):
        # A record id: ASCII digits within a 32-bit key, or no such record can exist.
        if not (text.isascii() and text.isdigit()) or not 0 < int(text) <= MAX_ID:
            raise ValueError(text)
        return int(text)
    if dimension in (Dimension.LOAN, Dimension.INCUBATED):
        if text not in ("0", "1"):
            raise ValueError(text)
        return int(text)
    return text
