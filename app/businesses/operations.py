"""Businesses: opening one, correcting it, recording what was observed, and reviewing
founders' self-reports (SPEC §8).

Rules decided here (D30 in docs/decisions.md):

- Staff open a business for a founder of their area, in a region of their area within the
  founder's province. A founder may own several businesses. The credit code is optional,
  GB 32100 checked and unique (409 names the business that has it). The library project,
  when named, is one the actor sees that is not a draft.
- The current status is the latest observation (observed_on, then creation order); with no
  observation yet a business is operating with its opening head count.
- Observations lie between opened_on and today. Founders observe their own businesses
  (unverified, waiting in the staff queue); staff and follow-ups observe businesses of
  their area (verified as they are recorded). A closure cannot predate what was last seen
  of the business; a closed business takes no observation except a staff `reopening`,
  dated on or after the closure observation. No other observation may fall in a time the
  business was closed (from a closure's closed_on until its reopening).
- The row of the business is locked while an observation is checked and written, so two
  observations racing cannot both pass the "is it closed?" check.
- Staff verify a pending self-report, or query it with a note the founder sees.
- A closure ends the business's open incubation residency on the closing day (outcome
  `closed`; not before the residency began), and the opening day never moves past the
  first residency's start.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.businesses.models import (
    Business,
    BusinessStatus,
    Observation,
    ObservationSource,
    ReviewState,
)
from app.businesses.rules import (
    BUSINESS_FIELDS,
    MAX_NOTE,
    check_business_fields,
    check_observation_fields,
    clean_text,
    clean_uscc,
)
from app.core.audit import changed_fields, record_audit, snapshot
from app.core.db import MAX_ID, utcnow
from app.core.errors import Conflict, PermissionDenied, ValidationFailed
from app.core.permissions import Role, scoped
from app.extensions import db
from app.followups import hooks as followup_hooks
from app.founders.models import Founder
from app.incubation.models import Residency, ResidencyOutcome
from app.library.models import LibraryProject, ProjectStatus
from app.library.queries import visibility_clause
from app.regions.queries import get_region, region_codes_in_scope

# Admins manage accounts and settings; recording businesses is the centre staff's work.
STAFF_ROLES = frozenset({Role.STAFF})


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def _founder_in_scope(actor: Any, founder_id: Any) -> Founder | None:
    if not _is_id(founder_id):
        return None
    stmt = scoped(
        select(Founder).where(Founder.id == founder_id),
        actor,
        region_column=Founder.region_code,
        founder_column=Founder.id,
    )
    return db.session.scalar(stmt)


def _library_project_errors(actor: Any, project_id: Any) -> list[str]:
    if project_id is None:
        return []
    project = None
    if _is_id(project_id):
        project = db.session.scalar(
            select(LibraryProject).where(
                LibraryProject.id == project_id,
                LibraryProject.status != ProjectStatus.DRAFT,
                visibility_clause(actor),
            )
        )
    if project is None:
        return [_("Choose a published project of your library.")]
    return []


def _uscc_owner(uscc: str) -> int | None:
    return db.session.scalar(select(Business.id).where(Business.uscc == uscc))


def business_input_errors(
    actor: Any,
    form_errors: dict[str, list[str]],
    values: dict[str, Any],
    *,
    as_of: date,
    business: Business | None = None,
) -> dict[str, list[str]]:
    """Every problem at once: the form's, then the business rules' on the merged values
    (`values` over the business's current ones when editing). The form's messages win."""
    merged = (business_values(business) if business is not None else {}) | values
    errors = _business_errors(actor, merged, as_of=as_of, business=business)
    return {name: msgs for name, msgs in errors.items() if name in values} | form_errors


def _business_errors(
    actor: Any, values: dict[str, Any], *, as_of: date, business: Business | None
) -> dict[str, list[str]]:
    errors = check_business_fields(values, as_of=as_of)
    founder = business.founder if business is not None else None
    if business is None:
        founder = _founder_in_scope(actor, values.get("founder_id"))
        if founder is None:
            errors["founder_id"] = [_("Choose a founder in your area.")]
    region = (
        get_region(values.get("region_code"))
        if values.get("region_code") in region_codes_in_scope(actor)
        else None
    )
    if region is None:
        errors["region_code"] = [_("Choose a region in your area.")]
    elif founder is not None and region.province_code != founder.region.province_code:
        errors["region_code"] = [_("The business must be in the founder's province.")]
    opened_on = values.get("opened_on")
    if (
        founder is not None
        and isinstance(opened_on, date)
        and "opened_on" not in errors
        and opened_on < founder.birth_date
    ):
        errors["opened_on"] = [_("The opening day cannot be before the founder was born.")]
    if business is not None and isinstance(opened_on, date) and "opened_on" not in errors:
        first_seen = _earliest_observation_on(business.id)
        first_residency = _first_residency_on(business.id)
        if first_seen is not None and opened_on > first_seen:
            errors["opened_on"] = [
                _(
                    "The business was observed on %(day)s; it cannot have opened later.",
                    day=first_seen.isoformat(),
                )
            ]
        elif first_residency is not None and opened_on > first_residency:
            errors["opened_on"] = [
                _(
                    "The business moved into an incubation base on %(day)s; it cannot have "
                    "opened later.",
                    day=first_residency.isoformat(),
                )
            ]
    project_id = values.get("library_project_id")
    # A project named before stays acceptable even if it has left the actor's library since.
    unchanged = business is not None and project_id == business.library_project_id
    if not unchanged and (library_errors := _library_project_errors(actor, project_id)):
        errors["library_project_id"] = library_errors
    return errors


def business_values(business: Business) -> dict[str, Any]:
    """The business's editable fields as they are now."""
    return {name: getattr(business, name) for name in BUSINESS_FIELDS}


def _duplicate_uscc(uscc: str) -> Conflict:
    return Conflict(
        _("Another business already has the credit code %(code)s.", code=uscc),
        id=_uscc_owner(uscc),
    )


def create_business(actor: Any, values: dict[str, Any], *, as_of: date) -> Business:
    """Staff record a business a founder of their area opened."""
    if getattr(actor, "role", None) not in STAFF_ROLES:
        raise PermissionDenied(_("Only centre staff record businesses."))
    unknown = set(values) - set(BUSINESS_FIELDS)
    if unknown:
        raise ValueError(f"not business fields: {sorted(unknown)}")
    values = {name: values.get(name) for name in BUSINESS_FIELDS}
    errors = _business_errors(actor, values, as_of=as_of, business=None)
    if errors:
        raise ValidationFailed(errors)
    uscc, _errors = clean_uscc(values["uscc"])
    if uscc is not None and _uscc_owner(uscc) is not None:
        raise _duplicate_uscc(uscc)
    name, _errors = clean_text(values["name"], limit=100, required=True)
    business = Business(
        founder_id=values["founder_id"],
        name=name,
        industry=values["industry"],
        region_code=values["region_code"],
        opened_on=values["opened_on"],
        uscc=uscc,
        library_project_id=values["library_project_id"],
        employees_at_opening=values["employees_at_opening"],
        status=BusinessStatus.OPERATING,
        employees=values["employees_at_opening"],
        status_observed_on=values["opened_on"],
    )
    try:
        with db.session.begin_nested():
            db.session.add(business)
    except IntegrityError:  # the same code added by someone else since our check
        raise _duplicate_uscc(uscc or "") from None
    record_audit(actor, "business.create", business, None, snapshot(business))
    return business


def update_business(
    actor: Any, business: Business, changes: dict[str, Any], *, as_of: date
) -> bool:
    """Staff correct a business's fields; only the given ones change, every change is
    audited. The opening day cannot move past the first observation."""
    if getattr(actor, "role", None) not in STAFF_ROLES:
        raise PermissionDenied(_("Only centre staff correct businesses."))
    changes = dict(changes)
    changes.pop("founder_id", None)  # a business never changes hands here
    unknown = set(changes) - set(BUSINESS_FIELDS)
    if unknown:
        raise ValueError(f"not business fields: {sorted(unknown)}")
    lock_business(business)
    errors = business_input_errors(actor, {}, changes, as_of=as_of, business=business)
    if errors:
        raise ValidationFailed(errors)
    if "uscc" in changes:
        changes["uscc"], _errors = clean_uscc(changes["uscc"])
        owner = _uscc_owner(changes["uscc"]) if changes["uscc"] else None
        if owner is not None and owner != business.id:
            raise _duplicate_uscc(changes["uscc"])
    if "name" in changes:
        changes["name"], _errors = clean_text(changes["name"], limit=100, required=True)
    before = snapshot(business)
    for name, value in changes.items():
        if getattr(business, name) != value:
            setattr(business, name, value)
    try:
        with db.session.begin_nested():
            refresh_current_status(business)
    except IntegrityError:
        raise _duplicate_uscc(changes.get("uscc") or "") from None
    after = changed_fields(before, snapshot(business))
    after.pop("updated_at", None)
    if not after:
        return False
    record_audit(actor, "business.update", business, {key: before.get(key) for key in after}, after)
    if {"opened_on", "region_code"} & set(after):
        followup_hooks.anchor_changed("business", business.id, as_of=as_of)
    return True


def lock_business(business: Business) -> None:
    """Hold the business row until commit (PostgreSQL: FOR UPDATE; SQLite writers hold the
    database lock from their BEGIN) and reload it, so checks see the latest state.

    The lock is taken on the bare row: the business's joined relationships would put it
    on the nullable side of an outer join, which PostgreSQL refuses to lock.
    """
    db.session.flush()
    db.session.execute(select(Business.id).where(Business.id == business.id).with_for_update())
    db.session.refresh(business)


def _earliest_observation_on(business_id: int) -> date | None:
    # A closure's closing day may precede the day it was seen: the business was open then too.
    return db.session.scalar(
        select(func.min(func.coalesce(Observation.closed_on, Observation.observed_on))).where(
            Observation.business_id == business_id
        )
    )


def _first_residency_on(business_id: int) -> date | None:
    return db.session.scalar(
        select(func.min(Residency.starts_on)).where(Residency.business_id == business_id)
    )


def _open_residency(business_id: int) -> Residency | None:
    return db.session.scalar(
        select(Residency).where(Residency.business_id == business_id, Residency.ends_on.is_(None))
    )


def _end_residency_on_closure(actor: Any, business: Business, closed_on: date) -> None:
    """A business that closes leaves its incubation unit the day it closed, so the base
    never counts a closed business among its residents."""
    residency = _open_residency(business.id)
    if residency is None:
        return
    if closed_on < residency.starts_on:
        raise ValidationFailed.single(
            "closed_on",
            _(
                "The business moved into an incubation base on %(day)s; it cannot have "
                "closed earlier.",
                day=residency.starts_on.isoformat(),
            ),
        )
    before = {"ends_on": None, "outcome": None}
    residency.ends_on = closed_on
    residency.outcome = ResidencyOutcome.CLOSED
    db.session.flush()
    record_audit(
        actor,
        "residency.end",
        residency,
        before,
        {"ends_on": closed_on, "outcome": residency.outcome},
        region_code=residency.base.region_code,
    )


def latest_observation(business_id: int) -> Observation | None:
    """The observation that says how the business stands: latest day, then latest made."""
    return db.session.scalar(
        select(Observation)
        .where(Observation.business_id == business_id)
        .order_by(Observation.observed_on.desc(), Observation.id.desc())
        .limit(1)
    )


def refresh_current_status(business: Business) -> None:
    """Recompute the business's current status columns from its observations (the only
    writer of them): the latest observation, or operating with the opening head count."""
    db.session.flush()
    latest = latest_observation(business.id)
    if latest is None:
        business.status = BusinessStatus.OPERATING
        business.employees = business.employees_at_opening
        business.status_observed_on = business.opened_on
        business.closed_on = None
    else:
        business.status = latest.status
        business.employees = latest.employees
        business.status_observed_on = latest.observed_on
        business.closed_on = latest.closed_on
    db.session.flush()


def _source_of(actor: Any, source: str | None) -> ObservationSource:
    role = getattr(actor, "role", None)
    if role == Role.FOUNDER:
        return ObservationSource.FOUNDER
    if role in STAFF_ROLES:
        return ObservationSource(source) if source else ObservationSource.STAFF
    # Officers do the loan-usage follow-ups; what they find of the business is recorded.
    if role == Role.OFFICER and source == ObservationSource.FOLLOWUP:
        return ObservationSource.FOLLOWUP
    raise PermissionDenied(_("Only centre staff and the founder record observations."))


def record_observation(
    actor: Any,
    business: Business,
    values: dict[str, Any],
    *,
    as_of: date,
    is_reopening: bool = False,
    source: str | None = None,
) -> Observation:
    """Add what was seen of a business on a day and update its current status.

    `business` must already be in the actor's scope (a founder's own, staff's area).
    `source` lets the follow-up feature say `followup`; pages and the API leave it out.
    """
    origin = _source_of(actor, source)
    if origin is ObservationSource.FOUNDER and business.founder_id != actor.founder_id:
        raise PermissionDenied(_("Founders record observations of their own businesses only."))
    if is_reopening and origin is ObservationSource.FOUNDER:
        raise PermissionDenied(_("Only centre staff record that a closed business reopened."))
    lock_business(business)
    clean, errors = check_observation_fields(values, opened_on=business.opened_on, as_of=as_of)
    if clean is None:
        raise ValidationFailed(errors)
    _check_history(
        business, clean, is_reopening=is_reopening, by_staff=origin is not ObservationSource.FOUNDER
    )

    founder_report = origin is ObservationSource.FOUNDER
    observation = Observation(
        business_id=business.id,
        observed_on=clean.observed_on,
        status=clean.status,
        employees=clean.employees,
        monthly_revenue=clean.monthly_revenue,
        closed_on=clean.closed_on,
        note=clean.note,
        source=origin,
        is_reopening=is_reopening,
        verified=not founder_report,
        review_state=ReviewState.PENDING if founder_report else None,
        recorded_by_id=getattr(actor, "id", None),
    )
    db.session.add(observation)
    if clean.status == BusinessStatus.CLOSED:
        _end_residency_on_closure(actor, business, clean.closed_on)
    refresh_current_status(business)
    record_audit(
        actor,
        "observation.create",
        observation,
        None,
        snapshot(observation),
        region_code=business.region_code,
    )
    # A founder's report completes its follow-up first; a closure then cancels the rest.
    followup_hooks.observation_recorded(observation, actor)
    if business.status == BusinessStatus.CLOSED and business.closed_on is not None:
        followup_hooks.subject_ended("business", business.id, ended_on=business.closed_on)
    return observation


def _closed_periods(business_id: int) -> list[tuple[date, date]]:
    """The times a business was closed and later reopened: [closed_on, reopening day)."""
    history = db.session.execute(
        select(Observation.status, Observation.closed_on, Observation.observed_on)
        .where(
            Observation.business_id == business_id,
            (Observation.status == BusinessStatus.CLOSED) | Observation.is_reopening,
        )
        .order_by(Observation.observed_on, Observation.id)
    ).all()
    periods: list[tuple[date, date]] = []
    closed_from: date | None = None
    for status, closed_on, observed_on in history:
        if status == BusinessStatus.CLOSED:
            closed_from = closed_on
        elif closed_from is not None:
            periods.append((closed_from, observed_on))
            closed_from = None
    return periods


def _check_history(business: Business, clean: Any, *, is_reopening: bool, by_staff: bool) -> None:
    """The rules that depend on what was observed before (see the module docstring)."""
    is_closed = business.status == BusinessStatus.CLOSED
    if is_reopening:
        if not is_closed:
            raise Conflict(_("Only a closed business can be recorded as reopened."))
        if clean.status == BusinessStatus.CLOSED:
            raise ValidationFailed.single(
                "status", _("A reopening finds the business operating or suspended.")
            )
        if clean.observed_on < business.status_observed_on:
            raise ValidationFailed.single(
                "observed_on",
                _(
                    "The closure was recorded on %(day)s; the reopening cannot be earlier.",
                    day=business.status_observed_on.isoformat(),
                ),
            )
        return
    if is_closed:
        day = business.closed_on.isoformat() if business.closed_on else ""
        if by_staff:
            raise Conflict(
                _(
                    'This business closed on %(day)s. If it trades again, tick "The business '
                    'reopened".',
                    day=day,
                )
            )
        raise Conflict(
            _(
                "This business closed on %(day)s. Only centre staff can record that it reopened.",
                day=day,
            )
        )
    if clean.status != BusinessStatus.CLOSED:
        for closed_from, reopened_on in _closed_periods(business.id):
            if closed_from <= clean.observed_on < reopened_on:
                raise ValidationFailed.single(
                    "observed_on",
                    _(
                        "The business was closed from %(start)s until it reopened on "
                        "%(end)s; an observation cannot fall in that time.",
                        start=closed_from.isoformat(),
                        end=reopened_on.isoformat(),
                    ),
                )
    if clean.status == BusinessStatus.CLOSED and clean.closed_on < business.status_observed_on:
        raise ValidationFailed.single(
            "closed_on" if clean.closed_on != clean.observed_on else "observed_on",
            _(
                "The business was last seen %(status)s on %(day)s; it cannot have closed earlier.",
                status=_status_word(business.status),
                day=business.status_observed_on.isoformat(),
            ),
        )


def _status_word(status: str) -> str:
    return {
        BusinessStatus.OPERATING: _("operating"),
        BusinessStatus.SUSPENDED: _("suspended"),
        BusinessStatus.CLOSED: _("closed"),
    }.get(status, status)


# Reviewing founders' self-reports -------------------------------------------------------
def _require_reviewer(actor: Any, observation: Observation) -> None:
    if getattr(actor, "role", None) not in STAFF_ROLES:
        raise PermissionDenied(_("Only centre staff review self-reports."))
    # Hold the report until commit and reload it, so a verify and a query racing each other
    # cannot both pass the state check.
    db.session.flush()
    db.session.execute(
        select(Observation.id).where(Observation.id == observation.id).with_for_update()
    )
    db.session.refresh(observation)
    if observation.source != ObservationSource.FOUNDER:
        raise Conflict(_("Only founders' own reports need review."))


def verify_observation(actor: Any, observation: Observation) -> None:
    """Staff confirm a founder's self-report (also one they queried before)."""
    _require_reviewer(actor, observation)
    if observation.review_state == ReviewState.VERIFIED:
        raise Conflict(_("This report is already verified."))
    before = {"review_state": observation.review_state, "verified": observation.verified}
    observation.verified = True
    observation.review_state = ReviewState.VERIFIED
    observation.reviewed_at = utcnow()
    observation.reviewed_by_id = actor.id
    db.session.flush()
    record_audit(
        actor,
        "observation.verify",
        observation,
        before,
        {"review_state": observation.review_state, "verified": True},
        region_code=observation.business.region_code,
    )


def query_observation(actor: Any, observation: Observation, note: Any) -> None:
    """Staff ask the founder about a pending self-report; the founder sees the question."""
    _require_reviewer(actor, observation)
    if observation.review_state != ReviewState.PENDING:
        raise Conflict(_("Only a report waiting for review can be queried."))
    text, errors = clean_text(note, limit=MAX_NOTE, required=True)
    if errors:
        raise ValidationFailed({"note": errors})
    before = {"review_state": observation.review_state}
    observation.review_state = ReviewState.QUERIED
    observation.query_note = text
    observation.reviewed_at = utcnow()
    observation.reviewed_by_id = actor.id
    db.session.flush()
    record_audit(
        actor,
        "observation.query",
        observation,
        before,
        {"review_state": observation.review_state, "query_note": text},
        region_code=observation.business.region_code,
    )
