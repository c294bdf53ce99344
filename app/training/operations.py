"""Training: institutions, courses, cohorts, enrollments and results (SPEC §6).

Rules decided here (see also the module docstrings of queries.py):

- Institutions and cohorts live in regions the actor looks after (`region_codes_in_scope`);
  a cohort's institution must be one the actor sees, in the same province as the cohort's
  region (a Haikou institution may teach a class in Sanya only for province staff).
- The course catalogue is shared by every region; course codes are unique, stored in
  upper case (GYB, SYB, IYB, EYB are seeded; staff add skills courses and variants).
- A founder is enrolled once per cohort, only by staff who see the founder; every
  enrollment holds a seat for good (a dropped founder's seat is not given back), so a
  cohort is full when its enrollments reach its capacity. The cohort row is locked while
  the seats are counted, so two staff cannot both take the last seat.
- Results are passed, failed or dropped with the date the founder finished (not before the
  cohort starts, not after today). A result may be corrected but not removed. Only a passed
  result carries a certificate number, unique nationally; attendance is 0..course hours.
- A whole class is recorded in one call, all or nothing; errors are keyed like the roster
  form's fields, `results-<row>-<field>` (row = position in the submitted list).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.core.audit import changed_fields, record_audit, snapshot
from app.core.db import MAX_ID
from app.core.errors import Conflict, ValidationFailed
from app.core.permissions import scoped
from app.core.validators import contains_nul
from app.extensions import db
from app.followups import hooks as followup_hooks
from app.founders.models import Founder
from app.regions.queries import get_region, region_codes_in_scope
from app.training.models import (
    ENTREPRENEURSHIP_KINDS,
    Cohort,
    Course,
    CourseKind,
    Enrollment,
    Institution,
    TrainingResult,
)

COURSE_CODE = re.compile(r"[A-Z0-9][A-Z0-9._-]{0,19}")
MAX_CAPACITY = 1000
MAX_HOURS = 2000
MAX_CERTIFICATE_LENGTH = 40
# Far wider than any course, and far from the calendar's ends where date maths fails.
EARLIEST_DATE = date(2000, 1, 1)
LATEST_DATE = date(2100, 12, 31)


def _text_error(value: str, max_length: int, message: str) -> list[str]:
    if not value or len(value) > max_length or contains_nul(value):
        return [message]
    return []


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def _date_errors(value: Any, missing: str) -> list[str]:
    if not isinstance(value, date):
        return [missing]
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        return [
            _(
                "Choose a date between %(min)s and %(max)s.",
                min=EARLIEST_DATE.isoformat(),
                max=LATEST_DATE.isoformat(),
            )
        ]
    return []


# Institutions and courses ---------------------------------------------------------------
def _institution_named(region_code: str, name: str) -> int | None:
    stmt = select(Institution.id).where(
        Institution.region_code == region_code, Institution.name == name
    )
    return db.session.scalar(stmt)


def create_institution(
    actor: Any, name: str, region_code: str, designated: bool = False
) -> Institution:
    """Add a training institution in a region the actor looks after; names are unique per region."""
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    if name_errors := _text_error(name, 100, _("Enter a name of at most 100 characters.")):
        errors["name"] = name_errors
    if region_code not in region_codes_in_scope(actor):
        errors["region_code"] = [_("Choose a region in your area.")]
    if errors:
        raise ValidationFailed(errors)

    def duplicate() -> Conflict:
        existing = _institution_named(region_code, name)
        return Conflict(
            _("An institution named %(name)s already exists in this region.", name=name),
            id=existing,
        )

    if _institution_named(region_code, name) is not None:
        raise duplicate()
    institution = Institution(name=name, region_code=region_code, designated=bool(designated))
    try:
        with db.session.begin_nested():
            db.session.add(institution)
    except IntegrityError:  # added by someone else since our check
        raise duplicate() from None
    record_audit(actor, "institution.create", institution, None, snapshot(institution))
    return institution


def create_course(
    actor: Any, code: str, name: str, kind: str, hours: int, name_en: str | None = None
) -> Course:
    """Add a course to the shared catalogue; codes are unique (stored in upper case)."""
    code = (code or "").strip().upper()
    name = (name or "").strip()
    name_en = (name_en or "").strip() or None
    errors: dict[str, list[str]] = {}
    if not COURSE_CODE.fullmatch(code):
        errors["code"] = [
            _("A course code is 1 to 20 letters, digits, dots, dashes or underscores.")
        ]
    if name_errors := _text_error(name, 100, _("Enter a name of at most 100 characters.")):
        errors["name"] = name_errors
    if name_en is not None and (len(name_en) > 100 or contains_nul(name_en)):
        errors["name_en"] = [_("Enter an English name of at most 100 characters.")]
    if kind not in {member.value for member in CourseKind}:
        errors["kind"] = [_("Choose GYB, SYB, IYB, EYB or skill.")]
    if not isinstance(hours, int) or isinstance(hours, bool) or not 1 <= hours <= MAX_HOURS:
        errors["hours"] = [_("Hours are a whole number from 1 to %(max)s.", max=MAX_HOURS)]
    if errors:
        raise ValidationFailed(errors)

    def duplicate() -> Conflict:
        existing = db.session.scalar(select(Course.id).where(Course.code == code))
        return Conflict(_("Course code %(code)s is already used.", code=code), id=existing)

    if db.session.scalar(select(Course.id).where(Course.code == code)) is not None:
        raise duplicate()
    course = Course(code=code, name=name, name_en=name_en, kind=kind, hours=hours)
    try:
        with db.session.begin_nested():
            db.session.add(course)
    except IntegrityError:
        raise duplicate() from None
    record_audit(actor, "course.create", course, None, snapshot(course))
    return course


# Cohorts --------------------------------------------------------------------------------
def _institution_in_scope(actor: Any, institution_id: Any) -> Institution | None:
    if not _is_id(institution_id):
        return None
    stmt = scoped(
        select(Institution).where(Institution.id == institution_id),
        actor,
        region_column=Institution.region_code,
    )
    return db.session.scalar(stmt)


def create_cohort(
    actor: Any,
    *,
    course_id: int,
    institution_id: int,
    region_code: str,
    starts_on: date,
    ends_on: date,
    capacity: int,
    name: str = "",
) -> Cohort:
    """Open a class of a course at an institution, in a region the actor looks after."""
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    course = db.session.get(Course, course_id) if _is_id(course_id) else None
    if course is None:
        errors["course_id"] = [_("Choose a course from the catalogue.")]
    institution = _institution_in_scope(actor, institution_id)
    region = get_region(region_code) if region_code in region_codes_in_scope(actor) else None
    if region is None:
        errors["region_code"] = [_("Choose a region in your area.")]
    if institution is None:
        errors["institution_id"] = [_("Choose an institution in your area.")]
    elif region is not None and institution.region.province_code != region.province_code:
        errors["institution_id"] = [
            _("The institution must be in the same province as the cohort's region.")
        ]
    if starts_errors := _date_errors(starts_on, _("Enter the first day of the course.")):
        errors["starts_on"] = starts_errors
    if ends_errors := _date_errors(ends_on, _("Enter the last day of the course.")):
        errors["ends_on"] = ends_errors
    elif not starts_errors and ends_on < starts_on:
        errors["ends_on"] = [_("The last day cannot be before the first day.")]
    if (
        not isinstance(capacity, int)
        or isinstance(capacity, bool)
        or not 1 <= capacity <= MAX_CAPACITY
    ):
        errors["capacity"] = [_("Seats are a whole number from 1 to %(max)s.", max=MAX_CAPACITY)]
    if len(name) > 100 or contains_nul(name):
        errors["name"] = [_("Enter a name of at most 100 characters.")]
    if errors:
        raise ValidationFailed(errors)
    cohort = Cohort(
        course_id=course_id,
        institution_id=institution_id,
        region_code=region_code,
        name=name,
        starts_on=starts_on,
        ends_on=ends_on,
        capacity=capacity,
    )
    db.session.add(cohort)
    db.session.flush()
    record_audit(actor, "cohort.create", cohort, None, snapshot(cohort))
    return cohort


# Enrollments ----------------------------------------------------------------------------
def enroll_founder(actor: Any, cohort: Cohort, founder_id: int, *, as_of: date) -> Enrollment:
    """Give a founder the actor looks after a seat in the cohort: once each, while seats last."""
    founder = None
    if _is_id(founder_id):
        stmt = scoped(
            select(Founder).where(Founder.id == founder_id),
            actor,
            region_column=Founder.region_code,
        )
        founder = db.session.scalar(stmt)
    if founder is None:
        raise ValidationFailed.single("founder_id", _("No founder with this id in your area."))
    # Lock the cohort row while counting its seats, so concurrent enrollments queue here
    # (PostgreSQL: FOR UPDATE; SQLite's writers hold the database lock from their BEGIN).
    db.session.execute(select(Cohort.id).where(Cohort.id == cohort.id).with_for_update())

    def duplicate() -> Conflict:
        existing = db.session.scalar(
            select(Enrollment.id).where(
                Enrollment.cohort_id == cohort.id, Enrollment.founder_id == founder.id
            )
        )
        return Conflict(
            _("%(name)s is already enrolled in this cohort.", name=founder.name), id=existing
        )

    already = db.session.scalar(
        select(Enrollment.id).where(
            Enrollment.cohort_id == cohort.id, Enrollment.founder_id == founder.id
        )
    )
    if already is not None:
        raise duplicate()
    taken = db.session.scalar(
        select(func.count(Enrollment.id)).where(Enrollment.cohort_id == cohort.id)
    )
    if taken >= cohort.capacity:
        raise Conflict(
            _("This cohort is full: all %(n)s seats are taken.", n=cohort.capacity),
            capacity=cohort.capacity,
        )
    enrollment = Enrollment(
        cohort_id=cohort.id, founder_id=founder.id, enrolled_on=as_of, attendance=0
    )
    try:
        with db.session.begin_nested():
            db.session.add(enrollment)
    except IntegrityError:  # the same founder enrolled by someone else just now
        raise duplicate() from None
    record_audit(
        actor,
        "enrollment.create",
        enrollment,
        None,
        snapshot(enrollment),
        region_code=cohort.region_code,
    )
    return enrollment


# Results --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ResultRow:
    """One line of a roster: an enrollment and what to record for it.

    `result` None means "no result yet" (only attendance may be recorded then);
    `attendance` None leaves the recorded attendance as it is.
    """

    enrollment_id: int
    result: str | None
    completed_on: date | None = None
    certificate_no: str | None = None
    attendance: int | None = None


def _clean_certificate(certificate_no: str | None) -> str | None:
    return (certificate_no or "").strip() or None


def _result_errors(
    enrollment: Enrollment,
    *,
    result: str | None,
    completed_on: date | None,
    certificate_no: str | None,
    attendance: int | None,
    as_of: date,
) -> dict[str, list[str]]:
    """Field errors of one result; `certificate_no` already cleaned."""
    cohort = enrollment.cohort
    errors: dict[str, list[str]] = {}
    if result is None:
        if enrollment.result is not None:
            errors["result"] = [_("A recorded result can be corrected but not removed.")]
        elif completed_on is not None:
            errors["result"] = [_("Choose the result for this completion date.")]
    elif result not in {member.value for member in TrainingResult}:
        errors["result"] = [_("Choose passed, failed or dropped.")]
    if result is not None:
        if not isinstance(completed_on, date):
            errors["completed_on"] = [_("Enter the date the founder finished or left.")]
        elif completed_on < cohort.starts_on:
            errors["completed_on"] = [
                _(
                    "The completion date cannot be before the cohort starts (%(date)s).",
                    date=cohort.starts_on.isoformat(),
                )
            ]
        elif completed_on > as_of:
            errors["completed_on"] = [_("The completion date cannot be in the future.")]
    if certificate_no is not None:
        if result != TrainingResult.PASSED:
            errors["certificate_no"] = [_("Only a passed result has a certificate number.")]
        elif len(certificate_no) > MAX_CERTIFICATE_LENGTH or contains_nul(certificate_no):
            errors["certificate_no"] = [
                _(
                    "A certificate number has at most %(n)s characters.",
                    n=MAX_CERTIFICATE_LENGTH,
                )
            ]
    if attendance is not None and (
        not isinstance(attendance, int)
        or isinstance(attendance, bool)
        or not 0 <= attendance <= cohort.course.hours
    ):
        errors["attendance"] = [
            _("Attendance is from 0 to %(hours)s hours.", hours=cohort.course.hours)
        ]
    return errors


def _certificate_holder(certificate_no: str, excluded_ids: Sequence[int]) -> int | None:
    stmt = select(Enrollment.id).where(Enrollment.certificate_no == certificate_no)
    if excluded_ids:
        stmt = stmt.where(Enrollment.id.not_in(excluded_ids))
    return db.session.scalar(stmt.limit(1))


def _certificate_taken_message(certificate_no: str) -> str:
    return _(
        "Certificate number %(number)s is already recorded for another founder.",
        number=certificate_no,
    )


def _new_values(enrollment: Enrollment, row: ResultRow) -> dict[str, Any]:
    if row.result is None:
        values: dict[str, Any] = {}
    else:
        values = {
            "result": row.result,
            "completed_on": row.completed_on,
            "certificate_no": _clean_certificate(row.certificate_no),
        }
    if row.attendance is not None:
        values["attendance"] = row.attendance
    return {name: value for name, value in values.items() if getattr(enrollment, name) != value}


def _apply_results(changes: list[tuple[Enrollment, dict[str, Any]]]) -> None:
    """Write validated changes; a certificate number taken meanwhile by another request is a
    conflict."""
    try:
        with db.session.begin_nested():
            # Clear moving certificate numbers first, so two rows may swap numbers.
            for enrollment, values in changes:
                if "certificate_no" in values and enrollment.certificate_no is not None:
                    enrollment.certificate_no = None
            db.session.flush()
            for enrollment, values in changes:
                for name, value in values.items():
                    setattr(enrollment, name, value)
            db.session.flush()
    except IntegrityError:
        raise Conflict(
            _("A certificate number was just recorded for another founder; please check.")
        ) from None


def record_result(
    actor: Any,
    enrollment: Enrollment,
    *,
    result: str,
    completed_on: date,
    certificate_no: str | None = None,
    attendance: int | None = None,
    as_of: date,
) -> Enrollment:
    """Record (or correct) how a founder's enrollment ended.

    A certificate number already held by another enrollment is a 409.
    """
    row = ResultRow(enrollment.id, result, completed_on, certificate_no, attendance)
    certificate = _clean_certificate(certificate_no)
    errors = _result_errors(
        enrollment,
        result=result,
        completed_on=completed_on,
        certificate_no=certificate,
        attendance=attendance,
        as_of=as_of,
    )
    if result is None and "result" not in errors:
        errors["result"] = [_("Choose passed, failed or dropped.")]
    if errors:
        raise ValidationFailed(errors)
    if certificate is not None and _certificate_holder(certificate, [enrollment.id]) is not None:
        raise Conflict(_certificate_taken_message(certificate))
    _record_rows(actor, [(enrollment, row)], as_of=as_of)
    return enrollment


def _record_rows(actor: Any, rows: list[tuple[Enrollment, ResultRow]], *, as_of: date) -> int:
    """Apply already validated rows and audit each changed enrollment; returns how many."""
    changes = []
    befores = {}
    for enrollment, row in rows:
        values = _new_values(enrollment, row)
        if values:
            changes.append((enrollment, values))
            befores[enrollment.id] = snapshot(enrollment)
    _apply_results(changes)
    for enrollment, values in changes:
        before = befores[enrollment.id]
        after = changed_fields(before, snapshot(enrollment))
        action = "enrollment.result" if set(values) - {"attendance"} else "enrollment.attendance"
        record_audit(
            actor,
            action,
            enrollment,
            {key: before.get(key) for key in after},
            after,
            region_code=enrollment.cohort.region_code,
        )
    # A result or completion day of entrepreneurship training moves (or removes) the
    # anchor of the founder's post-training follow-ups.
    anchors_moved = {
        enrollment.founder_id
        for enrollment, values in changes
        if {"result", "completed_on"} & set(values)
        and enrollment.cohort.course.kind in ENTREPRENEURSHIP_KINDS
    }
    for founder_id in sorted(anchors_moved):
        followup_hooks.anchor_changed("founder", founder_id, as_of=as_of)
    return len(changes)


def record_roster_results(
    actor: Any, cohort: Cohort, rows: Sequence[ResultRow], *, as_of: date
) -> int:
    """Record the results of a whole class at once: every row is valid, or nothing is written.

    Errors are keyed `results-<n>-<field>`, n being the row's position in `rows` (the
    roster form's own field names). Rows that change nothing are skipped; returns how many
    enrollments changed.
    """
    enrollments = {
        enrollment.id: enrollment
        for enrollment in db.session.scalars(
            select(Enrollment).where(Enrollment.cohort_id == cohort.id)
        )
    }
    errors: dict[str, list[str]] = {}
    accepted: list[tuple[Enrollment, ResultRow]] = []
    certificates: dict[str, int] = {}  # number -> row position, within this roster
    seen_enrollments: set[int] = set()
    for position, row in enumerate(rows):
        key = f"results-{position}-"
        enrollment = enrollments.get(row.enrollment_id)
        if enrollment is None or row.enrollment_id in seen_enrollments:
            errors[f"{key}enrollment_id"] = [_("This founder is not on this cohort's roster.")]
            continue
        seen_enrollments.add(row.enrollment_id)
        result = row.result or None
        certificate = _clean_certificate(row.certificate_no)
        row_errors = _result_errors(
            enrollment,
            result=result,
            completed_on=row.completed_on,
            certificate_no=certificate,
            attendance=row.attendance,
            as_of=as_of,
        )
        if certificate is not None and "certificate_no" not in row_errors:
            if certificate in certificates:
                row_errors["certificate_no"] = [
                    _(
                        "Certificate number %(number)s appears twice in this list.",
                        number=certificate,
                    )
                ]
            certificates.setdefault(certificate, position)
        for name, messages in row_errors.items():
            errors[f"{key}{name}"] = messages
        if not row_errors:
            clean = ResultRow(enrollment.id, result, row.completed_on, certificate, row.attendance)
            accepted.append((enrollment, clean))
    if not errors:
        # Numbers held elsewhere; numbers held by this cohort's rows being changed may move.
        moving = [enrollment.id for enrollment, _row in accepted]
        for certificate, position in certificates.items():
            if _certificate_holder(certificate, moving) is not None:
                errors[f"results-{position}-certificate_no"] = [
                    _certificate_taken_message(certificate)
                ]
    if errors:
        raise ValidationFailed(errors)
    return _record_rows(actor, accepted, as_of=as_of)
