"""Incubation: bases, and the residencies of businesses in their units (SPEC §8).

Rules decided here:

- Centre staff add and edit bases in regions of their area; a base's name is unique in its
  region (409 names the base that has it). Kind is park, idle factory, campus or other;
  units 1 to 10,000; the address at most 200 characters, the operator's name at most 100;
  the operator's phone is optional, digits, spaces and dashes, at most 20 characters with 7
  to 12 digits, and one that starts with 1 is an 11-digit mobile number.
- Editing a base never takes its units below the businesses living there now (422 on
  units); the base row is locked while they are counted.
- A residency starts for a business of the actor's area (422 on business_id otherwise)
  and of the base's region — a province's base hosts the whole province's businesses, a
  city's base that city's (422 on business_id) —, that is not closed (409), on a day
  between the business's opening and today, and not before the business left its
  previous base (422 on starts_on). The unit label is 1 to 20 characters.
- A business lives in one base at a time; a base never holds more businesses than units;
  a unit holds one business at a time (each 409, checked in this order). The base row is
  locked while residents are counted, so two staff cannot both take the last unit; the
  database's partial unique indexes (one open residency per business, per unit) hold
  against races as well.
- Only an open residency ends (409 otherwise), on a day between its start and today,
  graduated, left or closed. A note given at the end is added below the one given at the
  start. Ending as `closed` records the business's closure (an observation on that day,
  nobody employed) unless the business is already closed; only staff who see the
  business may do that (422 on outcome); when the business's history refuses that
  closure, the error is reported on ends_on. Conversely a closure recorded on the
  business ends its open residency (businesses.operations).
- Every creation, change, start and end is audited, under the base's region.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.businesses.models import Business, BusinessStatus
from app.businesses.operations import lock_business, record_observation
from app.core.audit import changed_fields, record_audit, snapshot
from app.core.db import MAX_ID
from app.core.errors import Conflict, PermissionDenied, ValidationFailed
from app.core.permissions import Role, scoped
from app.core.validators import contains_nul
from app.extensions import db
from app.followups import hooks as followup_hooks
from app.incubation.models import BaseKind, IncubationBase, Residency, ResidencyOutcome
from app.regions.queries import region_codes_in, region_codes_in_scope

BASE_FIELDS = (
    "name",
    "region_code",
    "kind",
    "address",
    "units",
    "operator_name",
    "operator_phone",
)
MAX_UNITS = 10_000
MAX_UNIT_LABEL = 20
MAX_NOTE = 1000
PHONE = re.compile(r"[0-9][0-9 -]*")
MIN_PHONE_DIGITS = 7
MAX_PHONE_DIGITS = 12
MAX_PHONE_LENGTH = 20
MOBILE_DIGITS = 11


def _require_staff(actor: Any) -> None:
    if getattr(actor, "role", None) != Role.STAFF:
        raise PermissionDenied(_("Only centre staff manage incubation bases."))


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def _clean_text(value: Any, *, limit: int, required: bool) -> tuple[str, list[str]]:
    """Trimmed text, or why it cannot be used."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        return "", [_("Expected text.")]
    value = value.strip()
    if required and not value:
        return "", [_("This field is required.")]
    if len(value) > limit:
        return "", [_("Use at most %(n)s characters.", n=limit)]
    if contains_nul(value):
        return "", [_("Contains a character that is not allowed.")]
    return value, []


def operator_phone_errors(phone: str) -> list[str]:
    """Why an operator's phone number (already trimmed, maybe empty) cannot be used."""
    if not phone:
        return []
    digits = re.sub(r"[^0-9]", "", phone)
    if len(phone) > MAX_PHONE_LENGTH or not PHONE.fullmatch(phone):
        return [_("Use digits, spaces and dashes only, at most 20 characters.")]
    if digits.startswith("1") and len(digits) != MOBILE_DIGITS:
        return [_("A mobile number has 11 digits.")]
    if not MIN_PHONE_DIGITS <= len(digits) <= MAX_PHONE_DIGITS:
        return [_("Enter a mobile number or a landline with its area code, like 0898-66668888.")]
    return []


# Bases ----------------------------------------------------------------------------------
def _clean_base(actor: Any, values: dict[str, Any]) -> tuple[dict[str, Any], dict]:
    """The base's values cleaned, and every field's problem at once."""
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    for name, limit, required in (
        ("name", 100, True),
        ("address", 200, False),
        ("operator_name", 100, False),
        ("operator_phone", MAX_PHONE_LENGTH, False),
    ):
        clean[name], field_errors = _clean_text(values.get(name), limit=limit, required=required)
        if field_errors:
            errors[name] = field_errors
    if "operator_phone" not in errors and (
        phone_errors := operator_phone_errors(clean["operator_phone"])
    ):
        errors["operator_phone"] = phone_errors
    clean["region_code"] = values.get("region_code")
    if clean["region_code"] not in region_codes_in_scope(actor):
        errors["region_code"] = [_("Choose a region in your area.")]
    clean["kind"] = values.get("kind")
    if clean["kind"] not in {kind.value for kind in BaseKind}:
        errors["kind"] = [_("Choose a business park, an idle factory, a campus or other.")]
    clean["units"] = values.get("units")
    if not _is_units(clean["units"]):
        errors["units"] = [_("Units are a whole number from 1 to %(max)s.", max=f"{MAX_UNITS:,}")]
    return clean, errors


def _is_units(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_UNITS


def _base_named(region_code: str, name: str) -> int | None:
    return db.session.scalar(
        select(IncubationBase.id).where(
            IncubationBase.region_code == region_code, IncubationBase.name == name
        )
    )


def _duplicate_name(region_code: str, name: str) -> Conflict:
    return Conflict(
        _("A base named %(name)s already exists in this region.", name=name),
        id=_base_named(region_code, name),
    )


def create_base(actor: Any, values: dict[str, Any]) -> IncubationBase:
    """Staff add an incubation base in a region of their area."""
    _require_staff(actor)
    clean, errors = _clean_base(actor, values)
    if errors:
        raise ValidationFailed(errors)
    if _base_named(clean["region_code"], clean["name"]) is not None:
        raise _duplicate_name(clean["region_code"], clean["name"])
    base = IncubationBase(**clean)
    try:
        with db.session.begin_nested():
            db.session.add(base)
    except IntegrityError:  # the same name added by someone else since our check
        raise _duplicate_name(clean["region_code"], clean["name"]) from None
    record_audit(actor, "incubation_base.create", base, None, snapshot(base))
    return base


def base_values(base: IncubationBase) -> dict[str, Any]:
    """The base's editable fields as they are now."""
    return {name: getattr(base, name) for name in BASE_FIELDS}


def _lock_base(base_id: int) -> None:
    """Hold the base row until commit, so residents are counted against a stable base
    (PostgreSQL: FOR UPDATE; SQLite's writers hold the database lock from their BEGIN)."""
    db.session.execute(
        select(IncubationBase.id).where(IncubationBase.id == base_id).with_for_update()
    )


def count_open_residents(base_id: int) -> int:
    """How many businesses live in the base now."""
    stmt = select(func.count(Residency.id)).where(
        Residency.base_id == base_id, Residency.ends_on.is_(None)
    )
    return int(db.session.scalar(stmt) or 0)


def update_base(actor: Any, base: IncubationBase, changes: dict[str, Any]) -> bool:
    """Staff correct a base of their area; only the given fields change, and the units
    never drop below the businesses living there. Returns whether anything changed."""
    _require_staff(actor)
    unknown = set(changes) - set(BASE_FIELDS)
    if unknown:
        raise ValueError(f"not base fields: {sorted(unknown)}")
    _lock_base(base.id)
    clean, errors = _clean_base(actor, base_values(base) | changes)
    if "units" not in errors:
        residents = count_open_residents(base.id)
        if clean["units"] < residents:
            errors["units"] = [
                _(
                    "%(n)s businesses live in this base now; units cannot be fewer.",
                    n=residents,
                )
            ]
    if errors:
        raise ValidationFailed(errors)
    owner = _base_named(clean["region_code"], clean["name"])
    if owner is not None and owner != base.id:
        raise _duplicate_name(clean["region_code"], clean["name"])
    before = snapshot(base)
    try:
        with db.session.begin_nested():
            for name, value in clean.items():
                if getattr(base, name) != value:
                    setattr(base, name, value)
    except IntegrityError:
        raise _duplicate_name(clean["region_code"], clean["name"]) from None
    after = changed_fields(before, snapshot(base))
    after.pop("updated_at", None)
    if not after:
        return False
    record_audit(
        actor, "incubation_base.update", base, {key: before.get(key) for key in after}, after
    )
    return True


# Residencies ----------------------------------------------------------------------------
def _business_in_scope(actor: Any, business_id: Any) -> Business | None:
    if not _is_id(business_id):
        return None
    stmt = scoped(
        select(Business).where(Business.id == business_id),
        actor,
        region_column=Business.region_code,
        founder_column=Business.founder_id,
    )
    return db.session.scalar(stmt)


def _last_moved_out_on(business_id: int) -> date | None:
    return db.session.scalar(
        select(func.max(Residency.ends_on)).where(Residency.business_id == business_id)
    )


def _starts_on_errors(starts_on: Any, business: Business | None, *, as_of: date) -> list[str]:
    if not isinstance(starts_on, date):
        return [_("Enter the day the business moved in.")]
    if starts_on > as_of:
        return [_("The day the business moved in cannot be in the future.")]
    if business is None:
        return []
    if starts_on < business.opened_on:
        return [
            _(
                "The business opened on %(day)s; it cannot have moved in earlier.",
                day=business.opened_on.isoformat(),
            )
        ]
    moved_out = _last_moved_out_on(business.id)
    if moved_out is not None and starts_on < moved_out:
        return [
            _(
                "The business left its previous base on %(day)s; it cannot have moved in earlier.",
                day=moved_out.isoformat(),
            )
        ]
    return []


def _residency_errors(
    actor: Any, values: dict[str, Any], *, as_of: date
) -> tuple[Business | None, dict[str, Any], dict[str, list[str]]]:
    """The business, the cleaned values and every field's problem."""
    errors: dict[str, list[str]] = {}
    business = _business_in_scope(actor, values.get("business_id"))
    if business is None:
        errors["business_id"] = [_("Choose a business in your area.")]
    clean: dict[str, Any] = {"starts_on": values.get("starts_on")}
    clean["unit_label"], unit_errors = _clean_text(
        values.get("unit_label"), limit=MAX_UNIT_LABEL, required=True
    )
    if unit_errors:
        errors["unit_label"] = unit_errors
    if starts_errors := _starts_on_errors(clean["starts_on"], business, as_of=as_of):
        errors["starts_on"] = starts_errors
    clean["note"], note_errors = _clean_text(values.get("note"), limit=MAX_NOTE, required=False)
    if note_errors:
        errors["note"] = note_errors
    return business, clean, errors


def _open_residency_of(business_id: int) -> Residency | None:
    return db.session.scalar(
        select(Residency).where(Residency.business_id == business_id, Residency.ends_on.is_(None))
    )


def _overlapping(starts_on: date) -> Any:
    """Residencies that are still running on or after `starts_on`: open ones, and past
    ones that ended after it (a backdated start must not double-book history)."""
    return Residency.ends_on.is_(None) | (Residency.ends_on > starts_on)


def _unit_holder(base_id: int, unit_label: str, starts_on: date) -> Residency | None:
    return db.session.scalar(
        select(Residency)
        .where(
            Residency.base_id == base_id,
            Residency.unit_label == unit_label,
            _overlapping(starts_on),
        )
        .order_by(Residency.starts_on.desc())
        .limit(1)
    )


def _residents_from(base_id: int, starts_on: date) -> int:
    """Residents of the base on or after `starts_on`; today's count for a start today. For
    a backdated start it may count two past residents of one unit twice: it errs on the
    side of never overfilling a base in its history."""
    stmt = select(func.count(Residency.id)).where(
        Residency.base_id == base_id, _overlapping(starts_on)
    )
    return int(db.session.scalar(stmt) or 0)


def _already_resident(residency: Residency) -> Conflict:
    return Conflict(
        _(
            "This business already lives in %(base)s (unit %(unit)s) since %(day)s; end that "
            "residency first.",
            base=residency.base.name,
            unit=residency.unit_label,
            day=residency.starts_on.isoformat(),
        ),
        id=residency.id,
    )


def _unit_taken(residency: Residency) -> Conflict:
    return Conflict(
        _(
            "Unit %(unit)s is occupied by %(business)s.",
            unit=residency.unit_label,
            business=residency.business.name,
        ),
        id=residency.id,
    )


def _occupancy_conflict(
    base: IncubationBase, business: Business, unit_label: str, starts_on: date
) -> None:
    """Raise the first conflict of the new resident with the base's residents from
    `starts_on` on."""
    living = _open_residency_of(business.id)
    if living is not None:
        raise _already_resident(living)
    residents = _residents_from(base.id, starts_on)
    if residents >= base.units:
        raise Conflict(
            _(
                "The base is full (%(used)s of %(units)s units used).",
                used=residents,
                units=base.units,
            ),
            units=base.units,
            occupied=residents,
        )
    holder = _unit_holder(base.id, unit_label, starts_on)
    if holder is not None:
        raise _unit_taken(holder)


def start_residency(
    actor: Any, base: IncubationBase, values: dict[str, Any], *, as_of: date
) -> Residency:
    """A business of the actor's area moves into a unit of the base (in the actor's area)."""
    _require_staff(actor)
    business, clean, errors = _residency_errors(actor, values, as_of=as_of)
    if errors:
        raise ValidationFailed(errors)
    # Held until commit: a closure recorded meanwhile waits, then finds this residency.
    lock_business(business)
    if business.region_code not in region_codes_in(base.region_code):
        raise ValidationFailed.single(
            "business_id",
            _(
                "This base hosts businesses of %(region)s only.",
                region=base.region.display_name,
            ),
        )
    if business.status == BusinessStatus.CLOSED:
        raise Conflict(
            _(
                "This business closed on %(day)s; a closed business cannot move into a base.",
                day=business.closed_on.isoformat() if business.closed_on else "",
            )
        )
    _lock_base(base.id)
    db.session.refresh(base)
    _occupancy_conflict(base, business, clean["unit_label"], clean["starts_on"])
    residency = Residency(base_id=base.id, business_id=business.id, **clean)
    try:
        with db.session.begin_nested():
            db.session.add(residency)
    except IntegrityError:  # the business or the unit taken by someone else just now
        _occupancy_conflict(base, business, clean["unit_label"], clean["starts_on"])
        raise Conflict(_("The base changed meanwhile; please try again.")) from None
    record_audit(
        actor, "residency.start", residency, None, snapshot(residency), region_code=base.region_code
    )
    return residency


def _end_errors(residency: Residency, values: dict[str, Any], *, as_of: date) -> dict:
    errors: dict[str, list[str]] = {}
    ends_on = values.get("ends_on")
    if not isinstance(ends_on, date):
        errors["ends_on"] = [_("Enter the day the business moved out.")]
    elif ends_on > as_of:
        errors["ends_on"] = [_("The day the business moved out cannot be in the future.")]
    elif ends_on < residency.starts_on:
        errors["ends_on"] = [
            _(
                "The business moved in on %(day)s; it cannot have moved out earlier.",
                day=residency.starts_on.isoformat(),
            )
        ]
    if values.get("outcome") not in {outcome.value for outcome in ResidencyOutcome}:
        errors["outcome"] = [_("Choose graduated, left or closed.")]
    _note, note_errors = _clean_text(values.get("note"), limit=MAX_NOTE, required=False)
    if note_errors:
        errors["note"] = note_errors
    return errors


def _record_closure(actor: Any, residency: Residency, ends_on: date, *, as_of: date) -> None:
    """The business closed in the base: its status history says so from `ends_on`."""
    business = residency.business
    if business.status == BusinessStatus.CLOSED:
        return
    if _business_in_scope(actor, business.id) is None:
        raise ValidationFailed.single(
            "outcome",
            _("Only the staff of the business's own area can record that it closed."),
        )
    note = _("Closed while in incubation base %(base)s.", base=residency.base.name)
    try:
        record_observation(
            actor,
            business,
            {
                "observed_on": ends_on,
                "status": BusinessStatus.CLOSED.value,
                "closed_on": ends_on,
                "employees": 0,
                "note": note,
            },
            as_of=as_of,
        )
    except ValidationFailed as error:
        messages = [message for field in error.errors.values() for message in field]
        raise ValidationFailed({"ends_on": messages}) from None


def end_residency(
    actor: Any, residency: Residency, values: dict[str, Any], *, as_of: date
) -> Residency:
    """The business moves out of its unit: graduated, left, or closed down."""
    _require_staff(actor)
    # Hold the residency row until commit and reload it, so two staff ending it at once
    # cannot both pass the "is it open?" check (only the row itself: PostgreSQL refuses
    # FOR UPDATE on the outer-joined base and business a refresh would bring along).
    db.session.flush()
    db.session.execute(select(Residency.id).where(Residency.id == residency.id).with_for_update())
    db.session.refresh(residency)
    if residency.ends_on is not None:
        raise Conflict(
            _("This residency already ended on %(day)s.", day=residency.ends_on.isoformat())
        )
    errors = _end_errors(residency, values, as_of=as_of)
    if errors:
        raise ValidationFailed(errors)
    ends_on, outcome = values["ends_on"], values["outcome"]
    before = snapshot(residency)
    note, _errors = _clean_text(values.get("note"), limit=MAX_NOTE, required=False)
    # A savepoint: when the business refuses the closure, the residency is left as it was.
    with db.session.begin_nested():
        residency.ends_on = ends_on
        residency.outcome = outcome
        if note:
            residency.note = f"{residency.note}\n{note}" if residency.note else note
        db.session.flush()
        if outcome == ResidencyOutcome.CLOSED:
            # After the residency has ended, so the closure finds no open residency to end.
            _record_closure(actor, residency, ends_on, as_of=as_of)
    after = changed_fields(before, snapshot(residency))
    record_audit(
        actor,
        "residency.end",
        residency,
        {key: before.get(key) for key in after},
        after,
        region_code=residency.base.region_code,
    )
    followup_hooks.anchor_changed("residency", residency.id, as_of=as_of)
    return residency
