"""Founders: registering, correcting, and the audited view of a full ID number."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.auth.models import User
from app.core.audit import changed_fields, record_audit, snapshot
from app.core.errors import Conflict, ValidationFailed
from app.extensions import db
from app.followups import hooks as followup_hooks
from app.founders.models import Founder
from app.founders.rules import FOUNDER_FIELDS, check_founder
from app.regions.queries import region_codes_in_scope


def _duplicate(id_number: str, existing_id: int | None) -> Conflict:
    return Conflict(
        _("A founder with this ID number is already registered (founder %(id)s).", id=existing_id),
        id=existing_id,
    )


def founder_snapshot(founder: Founder) -> dict[str, Any]:
    """The founder's values for the audit log, with the ID number masked.

    Admins read the audit log and never see full ID numbers (SPEC §4); a corrected number
    still shows in the entry through its last four characters and the birth date.
    """
    values = snapshot(founder)
    values["id_number"] = founder.id_number_masked
    return values


def founder_input_errors(
    actor: Any,
    form_errors: dict[str, list[str]],
    values: dict[str, Any],
    *,
    as_of: date,
    founder: Founder | None = None,
) -> dict[str, list[str]]:
    """Every problem with a submitted founder at once: the form's (shape) and the rules'
    (scope, dates, ...), so a person fixes everything in one go (SPEC §15).

    The form's message wins for a field both complain about. For a correction, `values`
    holds only the changed fields; the rules see them over the founder's current values.
    """
    current = {name: getattr(founder, name) for name in FOUNDER_FIELDS} if founder else {}
    _clean, rule_errors = check_founder(
        current | values, as_of=as_of, region_codes=region_codes_in_scope(actor)
    )
    merged = dict(form_errors)
    for name, messages in rule_errors.items():
        if founder is None or name in values:
            merged.setdefault(name, messages)
    return merged


def find_founder_id_by_id_number(id_number: str) -> int | None:
    """The id of the founder registered with this ID number, if any (any region)."""
    return db.session.scalar(select(Founder.id).where(Founder.id_number == id_number))


def register_founder(actor: Any, *, as_of: date, **values: Any) -> Founder:
    """Register a founder by real name in a region the actor looks after.

    The ID number is unique nationally: a second registration answers 409 with the
    existing founder's id, whichever region holds it, so nobody is counted twice.
    """
    unknown = set(values) - set(FOUNDER_FIELDS)
    if unknown:
        raise TypeError(f"unknown founder fields: {sorted(unknown)}")
    clean, errors = check_founder(values, as_of=as_of, region_codes=region_codes_in_scope(actor))
    if errors:
        raise ValidationFailed(errors)
    existing_id = find_founder_id_by_id_number(clean.id_number)
    if existing_id is not None:
        raise _duplicate(clean.id_number, existing_id)
    founder = Founder(**clean.as_row())
    try:
        with db.session.begin_nested():
            db.session.add(founder)
    except IntegrityError:
        # Registered by someone else between our check and our insert.
        raise _duplicate(clean.id_number, find_founder_id_by_id_number(clean.id_number)) from None
    record_audit(actor, "founder.create", founder, None, founder_snapshot(founder))
    return founder


def update_founder(actor: Any, founder: Founder, *, as_of: date, **changes: Any) -> Founder:
    """Correct a founder's fields; the ID number may be corrected, and stays unique.

    Only the given fields change. The founder stays in (or moves to) a region the actor
    looks after; the derived birth date and sex follow a corrected ID number.
    """
    unknown = set(changes) - set(FOUNDER_FIELDS)
    if unknown:
        raise TypeError(f"unknown founder fields: {sorted(unknown)}")
    current = {name: getattr(founder, name) for name in FOUNDER_FIELDS}
    clean, errors = check_founder(
        current | changes, as_of=as_of, region_codes=region_codes_in_scope(actor)
    )
    if errors:
        raise ValidationFailed(errors)
    if clean.id_number != founder.id_number:
        existing_id = find_founder_id_by_id_number(clean.id_number)
        if existing_id is not None and existing_id != founder.id:
            raise _duplicate(clean.id_number, existing_id)
    before = founder_snapshot(founder)
    for name, value in clean.as_row().items():
        setattr(founder, name, value)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise _duplicate(clean.id_number, find_founder_id_by_id_number(clean.id_number)) from None
    after = founder_snapshot(founder)
    changed = changed_fields(before, after)
    changed.pop("updated_at", None)
    if changed:
        record_audit(
            actor,
            "founder.update",
            founder,
            {key: before.get(key) for key in changed},
            changed,
        )
    if "region_code" in changed:
        _move_account_with_founder(actor, founder)
    if {"registered_on", "region_code"} & set(changed):
        followup_hooks.anchor_changed("founder", founder.id, as_of=as_of)
    return founder


def _move_account_with_founder(actor: Any, founder: Founder) -> None:
    """A founder's account belongs to the founder's region (D2): it moves with them."""
    account = db.session.scalar(select(User).where(User.founder_id == founder.id))
    if account is None or account.region_code == founder.region_code:
        return
    before = {"region_code": account.region_code}
    account.region_code = founder.region_code
    db.session.flush()
    record_audit(actor, "user.update", account, before, {"region_code": founder.region_code})


def record_export(actor: Any, *, row_count: int, filters: dict[str, Any]) -> None:
    """Exports are the largest outflow of personal data: who took how many, with which
    filters, is kept like any change (SPEC §4)."""
    record_audit(
        actor,
        "founder.export",
        ("founder", None),
        None,
        {"row_count": row_count, "filters": filters},
        region_code=getattr(actor, "region_code", None),
    )


def record_id_number_view(actor: Any, founder: Founder) -> None:
    """Every display of a full ID number leaves a trace of who saw whose (SPEC §4)."""
    record_audit(actor, "founder.view_id_number", founder, None, None)
