"""Setting a region's annual targets (SPEC §13, §4).

Rules decided here (D44 in docs/decisions.md):

- Administrators set targets for every region; a province's staff for their province and
  its cities. A city's staff and loan officers only read them.
- Years run from 2000 to 2099. A value of None clears a target; fields left out keep
  theirs. Values follow `targets.rules` (whole numbers and amounts of 0 or more).
- The first values of a region and year make its row (`region_target.create`, the values
  set in `after`); later changes write `region_target.update` with only the changed
  figures before and after, and nothing at all when nothing changed. Setting nothing on a
  region without a row makes no row.
- Writers of one region's targets queue on the region row (as loan policies do), so two
  first settings never both insert the row.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app.core.audit import changed_fields, record_audit
from app.core.errors import NotFound, PermissionDenied, ValidationFailed
from app.core.permissions import Role
from app.extensions import db
from app.regions.models import Region
from app.regions.queries import get_region, region_codes_in_scope
from app.targets.models import TARGET_FIELDS, RegionTarget
from app.targets.queries import get_targets
from app.targets.rules import clean_targets, is_valid_year, target_field_errors, year_message


def is_target_setter(user: Any) -> bool:
    """True for the roles that may set some region's targets: administrators and the staff
    of a province (a city's staff and officers only read)."""
    role = getattr(user, "role", None)
    if role == Role.ADMIN:
        return True
    region = getattr(user, "region", None)
    return role == Role.STAFF and region is not None and region.is_province


def may_set_targets(user: Any, region: Region) -> bool:
    """True when `user` may set `region`'s targets: an administrator anywhere, a province's
    staff in their province and its cities."""
    if getattr(user, "role", None) == Role.ADMIN:
        return True
    return is_target_setter(user) and region.province_code == user.region_code


def get_target_region(user: Any, region_code: str) -> Region:
    """The region, if it exists and lies in the user's scope; NotFound otherwise (an
    unknown region and another area's look the same)."""
    region = get_region(region_code)
    if region is None or region.code not in region_codes_in_scope(user):
        raise NotFound(_("No such region in your area."))
    return region


def require_target_setter(user: Any, region: Region) -> None:
    """PermissionDenied unless `user` may set `region`'s targets."""
    if not may_set_targets(user, region):
        raise PermissionDenied(
            _("Only administrators and the province's staff set targets; a city's staff read them.")
        )


def _check_year(year: Any) -> None:
    if not is_valid_year(year):
        raise ValidationFailed.single("year", year_message())


def _lock_region(region: Region) -> None:
    """Hold the region row until commit so one region's target changes queue (PostgreSQL:
    FOR NO KEY UPDATE, which still lets rows referencing the region be added; SQLite's
    writers hold the database lock from their BEGIN)."""
    db.session.execute(
        select(Region.code).where(Region.code == region.code).with_for_update(key_share=True)
    )


def _apply(actor: Any, year: int, region: Region, clean: Mapping[str, Any]) -> RegionTarget:
    """Write checked values into the region's row for the year, auditing the change."""
    _lock_region(region)
    row = get_targets(year, region.code)
    if row is None:
        row = RegionTarget(year=year, region_code=region.code)
        if all(value is None for value in clean.values()):
            return row  # nothing to record: no row, no audit entry
        for name, value in clean.items():
            setattr(row, name, value)
        row.updated_by_id = getattr(actor, "id", None)
        db.session.add(row)
        record_audit(actor, "region_target.create", row, None, {"year": year, **row.values()})
        return row
    before = row.values()
    changes = changed_fields(before, {**before, **clean})
    if not changes:
        return row
    for name, value in changes.items():
        setattr(row, name, value)
    row.updated_by_id = getattr(actor, "id", None)
    record_audit(
        actor,
        "region_target.update",
        row,
        {"year": year, **{name: before[name] for name in changes}},
        {"year": year, **changes},
    )
    return row


def _checked(values: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(values) - set(TARGET_FIELDS)
    if unknown:
        raise ValueError(f"not target fields: {sorted(unknown)}")
    if errors := target_field_errors(values):
        raise ValidationFailed(errors)
    return clean_targets(values)


def set_targets(actor: Any, year: int, region_code: str, values: Mapping[str, Any]) -> RegionTarget:
    """Set a region's targets for a year: the figures given (None clears one), the others
    kept. Administrators anywhere, a province's staff in their province and its cities.
    Answers the region's row (not added to the session when nothing was ever set)."""
    _check_year(year)
    region = get_target_region(actor, region_code)
    require_target_setter(actor, region)
    return _apply(actor, year, region, _checked(values))


def set_province_targets(
    actor: Any, year: int, province_code: str, rows: Mapping[str, Mapping[str, Any]]
) -> list[RegionTarget]:
    """Set the targets of a province and of any of its cities at once ({region_code:
    values}, as `set_targets` takes them): every row is checked before any is written, and
    a bad one is a ValidationFailed keyed "<region_code>.<field>", so nothing is saved."""
    _check_year(year)
    province = get_target_region(actor, province_code)
    if not province.is_province:
        raise NotFound(_("No such province in your area."))
    require_target_setter(actor, province)
    regions = {province.code: province} | {city.code: city for city in province.children}
    errors: dict[str, list[str]] = {}
    clean_rows: dict[str, dict[str, Any]] = {}
    for region_code, values in rows.items():
        if region_code not in regions:
            errors[f"{region_code}.region_code"] = [_("This region is not in the province.")]
            continue
        try:
            clean_rows[region_code] = _checked(values)
        except ValidationFailed as error:
            for name, messages in error.errors.items():
                errors[f"{region_code}.{name}"] = messages
    if errors:
        raise ValidationFailed(errors)
    # Regions are locked in code order, so two savers of one province never deadlock.
    return [_apply(actor, year, regions[code], clean_rows[code]) for code in sorted(clean_rows)]
