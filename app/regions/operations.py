"""Adding and renaming regions, one at a time or from a CSV file."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from app.core.audit import changed_fields, record_audit, snapshot
from app.core.errors import Conflict, ValidationFailed
from app.core.validators import contains_nul
from app.extensions import db
from app.regions.models import Region, RegionLevel
from app.regions.queries import get_region

CODE_PATTERN = re.compile(r"[1-9][0-9]{5}")
CSV_COLUMNS = ("code", "name", "level", "parent_code", "name_en")


def _name_errors(name: str, name_en: str | None) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not name or len(name) > 64 or contains_nul(name):
        errors["name"] = [_("Enter a name of at most 64 characters.")]
    if name_en and (len(name_en) > 128 or contains_nul(name_en)):
        errors["name_en"] = [_("Enter an English name of at most 128 characters.")]
    return errors


def _region_errors(
    code: str, name: str, level: str, parent_code: str | None, name_en: str | None
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not CODE_PATTERN.fullmatch(code or ""):
        errors["code"] = [_("A region code is six digits (GB/T 2260).")]
    errors.update(_name_errors(name, name_en))
    if level not in (RegionLevel.PROVINCE, RegionLevel.CITY):
        errors["level"] = [_("Level must be province or city.")]
        return errors
    if level == RegionLevel.PROVINCE:
        if parent_code:
            errors["parent_code"] = [_("A province has no parent region.")]
        if "code" not in errors and not code.endswith("0000"):
            errors["code"] = [_("A province code ends in 0000.")]
        return errors
    parent = get_region(parent_code)
    if parent is None or parent.level != RegionLevel.PROVINCE:
        errors["parent_code"] = [_("A city needs an existing province as parent.")]
    elif "code" not in errors and (code[:2] != parent.code[:2] or code == parent.code):
        errors["code"] = [_("A city's code starts with its province's first two digits.")]
    return errors


def create_region(
    actor: Any,
    *,
    code: str,
    name: str,
    level: str,
    parent_code: str | None = None,
    name_en: str | None = None,
) -> Region:
    """Add a province or a city; codes are unique and cities hang under a province."""
    code, name = (code or "").strip(), (name or "").strip()
    parent_code = (parent_code or "").strip() or None
    name_en = (name_en or "").strip() or None
    errors = _region_errors(code, name, level, parent_code, name_en)
    if errors:
        raise ValidationFailed(errors)
    if db.session.get(Region, code) is not None:
        raise Conflict(_("Region %(code)s already exists.", code=code), code=code)
    region = Region(code=code, name=name, name_en=name_en, level=level, parent_code=parent_code)
    try:
        with db.session.begin_nested():
            db.session.add(region)
    except IntegrityError:  # added by someone else since our check
        raise Conflict(_("Region %(code)s already exists.", code=code), code=code) from None
    record_audit(actor, "region.create", region, None, snapshot(region), region_code=code)
    return region


@dataclass
class RegionImportResult:
    """What an import did, or why it did nothing."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)


def import_regions_csv(actor: Any, text: str) -> RegionImportResult:
    """Add new regions and rename existing ones from CSV text; any bad row writes nothing.

    Columns: code, name, level, parent_code, name_en (the last two may be empty).
    Provinces are applied before cities so a file may list them in any order.
    """
    result = RegionImportResult()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in ("code", "name", "level") if c not in (reader.fieldnames or [])]
    if missing:
        result.errors.append(
            {"row": 1, "field": ",".join(missing), "message": _("Missing columns.")}
        )
        return result
    rows = [(number, row) for number, row in enumerate(reader, start=2)]
    rows.sort(
        key=lambda item: ((item[1].get("level") or "").strip() != RegionLevel.PROVINCE, item[0])
    )
    with db.session.begin_nested() as savepoint:
        for number, row in rows:
            _apply_csv_row(actor, number, row, result)
        if result.errors:
            savepoint.rollback()
            result.created = result.updated = result.unchanged = 0
    result.errors.sort(key=lambda error: error["row"])
    return result


def _apply_csv_row(actor: Any, number: int, row: dict, result: RegionImportResult) -> None:
    values = {column: (row.get(column) or "").strip() for column in CSV_COLUMNS}
    existing = get_region(values["code"])
    if existing is None:
        try:
            create_region(
                actor,
                code=values["code"],
                name=values["name"],
                level=values["level"],
                parent_code=values["parent_code"] or None,
                name_en=values["name_en"] or None,
            )
        except ValidationFailed as error:
            for field_name, messages in error.errors.items():
                for message in messages:
                    result.errors.append({"row": number, "field": field_name, "message": message})
            return
        result.created += 1
        return
    if existing.level != values["level"] or (existing.parent_code or "") != values["parent_code"]:
        result.errors.append(
            {
                "row": number,
                "field": "level",
                "message": _("An existing region cannot move to another level or parent."),
            }
        )
        return
    name_errors = _name_errors(values["name"] or existing.name, values["name_en"] or None)
    for field_name, messages in name_errors.items():
        for message in messages:
            result.errors.append({"row": number, "field": field_name, "message": message})
    if name_errors:
        return
    before = snapshot(existing)
    existing.name = values["name"] or existing.name
    existing.name_en = values["name_en"] or existing.name_en
    after = snapshot(existing)
    if before == after:
        result.unchanged += 1
        return
    db.session.flush()
    record_audit(actor, "region.update", existing, before, changed_fields(before, after))
    result.updated += 1
