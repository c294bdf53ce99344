"""The rules a founder's fields obey, as pure functions shared by the register and the import.

One function checks one founder's values and answers either the cleaned values or the
errors per field, so a form, the API and a 100,000-row spreadsheet all say the same thing
about the same bad value.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _

from app.core import validators
from app.core.forms import id_number_message
from app.founders.models import Education, TargetGroup

NAME_MAX_LENGTH = 50
# Nobody was registered by this programme before the platform's records begin.
EARLIEST_REGISTRATION = date(2000, 1, 1)
TARGET_GROUP_VALUES = frozenset(member.value for member in TargetGroup)
EDUCATION_VALUES = frozenset(member.value for member in Education)
FOUNDER_FIELDS = (
    "name",
    "id_number",
    "phone",
    "region_code",
    "target_group",
    "education",
    "has_reemployment_certificate",
    "registered_on",
)


@dataclass(frozen=True)
class CleanFounder:
    """A founder's values after every rule passed, with the fields derived from the ID."""

    name: str
    id_number: str
    id_number_last4: str
    birth_date: date
    sex: str
    phone: str
    region_code: str
    target_group: str
    education: str | None
    has_reemployment_certificate: bool
    registered_on: date

    def as_row(self) -> dict[str, Any]:
        """Column values for an insert."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def check_name(value: Any) -> tuple[str | None, str | None]:
    """A person's name as written on their ID card: 1 to 50 characters, no control codes."""
    name = value.strip() if isinstance(value, str) else ""
    if not name:
        return None, _("Enter the name as written on the ID card.")
    if len(name) > NAME_MAX_LENGTH:
        return None, _("Use at most %(n)s characters.", n=NAME_MAX_LENGTH)
    if any(ord(char) < 32 for char in name):
        return None, _("Contains a character that is not allowed.")
    return name, None


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def check_founder(
    values: dict[str, Any], *, as_of: date, region_codes: Collection[str]
) -> tuple[CleanFounder | None, dict[str, list[str]]]:
    """Check every field of one founder; answer the clean founder or the errors per field.

    `region_codes` are the regions the acting user may register founders in, so an unknown
    region and a region out of the user's scope read the same (nothing leaks about others).
    """
    errors: dict[str, list[str]] = {}

    name, problem = check_name(values.get("name"))
    if problem:
        errors["name"] = [problem]

    info = None
    raw_id = values.get("id_number")
    if not isinstance(raw_id, str) or not raw_id.strip():
        errors["id_number"] = [_("Enter the 18-character ID number.")]
    else:
        try:
            info = validators.parse_id_number(raw_id, as_of=as_of)
        except validators.InvalidValue as error:
            errors["id_number"] = [id_number_message(error.code)]

    phone = None
    raw_phone = values.get("phone")
    try:
        phone = validators.parse_mobile(raw_phone if isinstance(raw_phone, str) else "")
    except validators.InvalidValue:
        errors["phone"] = [_("Enter an 11-digit mainland mobile number starting with 1.")]

    # Only text can be a code; a list or an object (unhashable) is simply not one.
    region_code = _text_or_none(values.get("region_code"))
    if region_code not in region_codes:
        errors["region_code"] = [_("Unknown region, or a region outside your area.")]

    target_group = _text_or_none(values.get("target_group"))
    if target_group not in TARGET_GROUP_VALUES:
        errors["target_group"] = [_("Choose one of the target groups.")]

    raw_education = values.get("education") or None
    education = _text_or_none(raw_education)
    if raw_education is not None and education not in EDUCATION_VALUES:
        errors["education"] = [_("Choose one of the education levels.")]

    certificate = values.get("has_reemployment_certificate", False)
    if not isinstance(certificate, bool):
        errors["has_reemployment_certificate"] = [_("Expected yes or no.")]

    registered_on = values.get("registered_on") or as_of
    if not isinstance(registered_on, date):
        errors["registered_on"] = [_("Enter a date as YYYY-MM-DD.")]
    elif registered_on > as_of:
        errors["registered_on"] = [_("The registration date cannot be in the future.")]
    elif registered_on < EARLIEST_REGISTRATION:
        errors["registered_on"] = [
            _("The registration date cannot be before %(day)s.", day=EARLIEST_REGISTRATION)
        ]
    elif info is not None and registered_on < info.birth_date:
        errors["registered_on"] = [_("The registration date is before the birth date.")]

    if errors or info is None or name is None or phone is None:
        return None, errors
    return (
        CleanFounder(
            name=name,
            id_number=info.id_number,
            id_number_last4=info.id_number[-4:],
            birth_date=info.birth_date,
            sex=info.sex,
            phone=phone,
            region_code=region_code,
            target_group=target_group,
            education=education,
            has_reemployment_certificate=certificate,
            registered_on=registered_on,
        ),
        {},
    )
