"""Builders and counters shared by the founder register's tests."""

from __future__ import annotations

import itertools
from datetime import date
from types import SimpleNamespace
from typing import Any

from sqlalchemy import func, select

from app.core.audit import AuditEntry
from app.core.validators import ID_CHECK_CHARS, id_number_check_char
from app.extensions import db
from app.founders.models import Founder
from app.training.models import Cohort, Course, Enrollment, Institution
from tests.factories import make_founder, make_id_number, make_phone

HAINAN = "460000"
HAIKOU = "460100"
SANYA = "460200"
SHANGHAI_YANGPU = "310110"

_certificates = itertools.count(1)
_serials = itertools.count(1)


def founder_values(**overrides: Any) -> dict[str, Any]:
    """Valid values for `register_founder` (a Haikou founder), with `overrides` applied."""
    values: dict[str, Any] = {
        "name": "王芳",
        "id_number": id_number_born(date(1992, 3, 14), sex="female"),
        "phone": make_phone(),
        "region_code": HAIKOU,
        "target_group": "college_graduate",
        "education": "bachelor",
        "has_reemployment_certificate": True,
        "registered_on": date(2026, 3, 2),
    }
    return values | overrides


def founder_json_body(**overrides: Any) -> dict[str, Any]:
    """The same values as a JSON body for POST /api/v1/founders."""
    values = founder_values(**overrides)
    if isinstance(values.get("registered_on"), date):
        values["registered_on"] = values["registered_on"].isoformat()
    return values


def with_wrong_check_char(id_number: str) -> str:
    """The same ID number with a check character that does not match its 17 digits."""
    wrong = next(char for char in ID_CHECK_CHARS if char != id_number[-1])
    return id_number[:17] + wrong


def id_number_born(birth_date: date, *, sex: str = "male", region_prefix: str = HAIKOU) -> str:
    """A valid ID number with exactly this birth date (make_id_number moves the date back
    a day every 500 numbers, so it cannot promise one)."""
    serial = (next(_serials) % 500) * 2 + (1 if sex == "male" else 0)  # odd: male
    first17 = f"{region_prefix}{birth_date:%Y%m%d}{serial:03d}"
    return first17 + id_number_check_char(first17)


def id_number_ending_in_x(birth_date: date | None = None, *, sex: str = "male") -> str:
    """A valid ID number whose check character is X (about one in eleven is)."""
    while True:
        if birth_date is None:
            id_number = make_id_number(sex=sex)
        else:
            id_number = id_number_born(birth_date, sex=sex)
        if id_number.endswith("X"):
            return id_number


def count_rows(model: Any) -> int:
    """How many rows a table holds right now."""
    return db.session.scalar(select(func.count()).select_from(model))


def count_founders_and_audit() -> tuple[int, int]:
    """Founders and audit entries, to show that a refused action wrote nothing."""
    return count_rows(Founder), count_rows(AuditEntry)


def audit_entries(action: str, founder_id: int | None = None) -> list[AuditEntry]:
    """Audit entries of `action` (about one founder, when given), oldest first."""
    stmt = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
    if founder_id is not None:
        stmt = stmt.where(
            AuditEntry.entity_type == "founder", AuditEntry.entity_id == str(founder_id)
        )
    return list(db.session.scalars(stmt))


def course(code: str) -> Course:
    """A course of the catalogue by code (GYB/SYB/IYB/EYB are seeded by the migration);
    any other code makes a skills course."""
    found = db.session.scalar(select(Course).where(Course.code == code))
    if found is None:
        found = Course(code=code, name=f"技能培训 {code}", kind="skill", hours=40)
        db.session.add(found)
        db.session.flush()
    return found


def enroll(
    founder: Founder,
    *,
    course_code: str = "SYB",
    result: str | None = None,
    completed_on: date | None = None,
    region_code: str | None = None,
) -> Enrollment:
    """Put the founder in a new cohort of the course, with a result when given."""
    region_code = region_code or founder.region_code
    institution = Institution(
        name=f"培训学校 {next(_certificates)}", region_code=region_code, designated=True
    )
    db.session.add(institution)
    db.session.flush()
    cohort = Cohort(
        course_id=course(course_code).id,
        institution_id=institution.id,
        region_code=region_code,
        name=f"{course_code} 第1期",
        starts_on=date(2026, 4, 1),
        ends_on=date(2026, 4, 10),
        capacity=30,
    )
    db.session.add(cohort)
    db.session.flush()
    if result is not None and completed_on is None:
        completed_on = date(2026, 4, 10)
    enrollment = Enrollment(
        cohort_id=cohort.id,
        founder_id=founder.id,
        enrolled_on=date(2026, 3, 20),
        result=result,
        completed_on=completed_on,
        certificate_no=f"CERT-{next(_certificates):06d}" if result == "passed" else None,
    )
    db.session.add(enrollment)
    db.session.flush()
    return enrollment


def saved_founder(**fields: Any) -> SimpleNamespace:
    """A committed founder as plain values (its columns and the masked ID number).

    Requests share the test's session and end it, so ORM objects made before a request
    are detached afterwards; plain values stay readable.
    """
    founder = make_founder(**fields)
    db.session.commit()
    values = {column.key: getattr(founder, column.key) for column in Founder.__table__.columns}
    return SimpleNamespace(**values, id_number_masked=founder.id_number_masked)
