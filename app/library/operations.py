"""Library: curating projects, their status, promotion to the province, and adoption.

Rules decided here (D29 in docs/decisions.md):

- A staff user curates the projects of exactly their own region: province staff the
  province-level projects of their province, city staff their city's. The level follows
  from the curator's region. Nobody else changes a project (403 once it is visible; the
  handlers answer 404 before that for a project the user cannot see).
- Status: draft -> published -> retired; published or retired -> draft (revision). Each
  change is its own operation, audited with who and when. Fields may be edited in any
  status by the curator; the audit entry holds the changed fields before and after.
- A province curator promotes a published city project of their province into a new
  province-level draft that points back at it, once per origin (409 the second time).
- A founder adopts a published project of their region's library, for themself; staff
  adopt for a founder of their area. Once per founder and project (409).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.core.audit import changed_fields, record_audit, snapshot
from app.core.db import MAX_ID, utcnow
from app.core.errors import Conflict, PermissionDenied, ValidationFailed
from app.core.permissions import Role, scoped
from app.extensions import db
from app.founders.models import Founder
from app.library.models import LibraryAdoption, LibraryProject, ProjectLevel, ProjectStatus
from app.library.rules import PROJECT_FIELDS, check_project
from app.regions.models import RegionLevel


def _level_of_region(region: Any) -> ProjectLevel:
    return ProjectLevel.PROVINCE if region.level == RegionLevel.PROVINCE else ProjectLevel.CITY


def can_curate(user: Any, project: LibraryProject) -> bool:
    """True when `user` is staff of exactly the project's region (and level)."""
    region = getattr(user, "region", None)
    return (
        getattr(user, "role", None) == Role.STAFF
        and region is not None
        and project.region_code == user.region_code
        and project.level == _level_of_region(region)
    )


def can_promote(user: Any, project: LibraryProject) -> bool:
    """True when `user` is staff of the province a city project belongs to."""
    region = getattr(user, "region", None)
    return (
        getattr(user, "role", None) == Role.STAFF
        and region is not None
        and region.level == RegionLevel.PROVINCE
        and project.level == ProjectLevel.CITY
        and project.region.province_code == user.region_code
    )


def require_curator(actor: Any, project: LibraryProject) -> None:
    """403 unless `actor` curates the project."""
    if not can_curate(actor, project):
        raise PermissionDenied(_("Only the staff of the project's own region may change it."))


# Creating and editing -------------------------------------------------------------------
def project_input_errors(
    form_errors: dict[str, list[str]],
    values: dict[str, Any],
    *,
    project: LibraryProject | None = None,
) -> dict[str, list[str]]:
    """Every problem at once: the form's, then the project rules' on the merged values
    (`values` over the project's current ones when editing). The form's messages win."""
    base = project_values(project) if project is not None else {}
    _clean, errors = check_project(base | values)
    return errors | form_errors


def create_project(actor: Any, values: dict[str, Any]) -> LibraryProject:
    """A curator adds a draft project to their own region's library (level from the region)."""
    region = getattr(actor, "region", None)
    if getattr(actor, "role", None) != Role.STAFF or region is None:
        raise PermissionDenied(_("Only centre staff curate library projects."))
    clean, errors = check_project(values)
    if clean is None:
        raise ValidationFailed(errors)
    project = LibraryProject(
        **clean.as_row(),
        level=_level_of_region(region),
        region_code=actor.region_code,
        status=ProjectStatus.DRAFT,
    )
    db.session.add(project)
    db.session.flush()
    record_audit(actor, "library_project.create", project, None, snapshot(project))
    return project


def project_values(project: LibraryProject) -> dict[str, Any]:
    """The project's editable fields as they are now."""
    return {name: getattr(project, name) for name in PROJECT_FIELDS}


def update_project(actor: Any, project: LibraryProject, changes: dict[str, Any]) -> bool:
    """The curator corrects fields (any status); only the given fields change.

    Every field is checked again together (the minimum against the maximum, say); returns
    whether anything changed. The audit entry holds the changed fields before and after.
    """
    require_curator(actor, project)
    unknown = set(changes) - set(PROJECT_FIELDS)
    if unknown:
        raise ValueError(f"not project fields: {sorted(unknown)}")
    clean, errors = check_project(project_values(project) | changes)
    if clean is None:
        raise ValidationFailed(errors)
    before = snapshot(project)
    for name, value in clean.as_row().items():
        if getattr(project, name) != value:
            setattr(project, name, value)
    db.session.flush()
    after = changed_fields(before, snapshot(project))
    after.pop("updated_at", None)
    if not after:
        return False
    record_audit(
        actor,
        "library_project.update",
        project,
        {key: before.get(key) for key in after},
        after,
    )
    return True


# Status ---------------------------------------------------------------------------------
def _change_status(
    actor: Any,
    project: LibraryProject,
    *,
    action: str,
    allowed_from: tuple[ProjectStatus, ...],
    to: ProjectStatus,
    refused: str,
) -> LibraryProject:
    require_curator(actor, project)
    if project.status not in allowed_from:
        raise Conflict(refused, status=project.status)
    now = utcnow()
    before = {"status": project.status}
    project.status = to
    project.status_changed_at = now
    project.status_changed_by_id = actor.id
    if to == ProjectStatus.PUBLISHED and project.published_at is None:
        project.published_at = now
    db.session.flush()
    record_audit(
        actor,
        f"library_project.{action}",
        project,
        before,
        {"status": to.value, "status_changed_at": now, "published_at": project.published_at},
    )
    return project


def publish_project(actor: Any, project: LibraryProject) -> LibraryProject:
    """Put a draft into the library, where founders of the region see it."""
    return _change_status(
        actor,
        project,
        action="publish",
        allowed_from=(ProjectStatus.DRAFT,),
        to=ProjectStatus.PUBLISHED,
        refused=_("Only a draft can be published."),
    )


def retire_project(actor: Any, project: LibraryProject) -> LibraryProject:
    """Take a published project out of the library (its adoptions stay)."""
    return _change_status(
        actor,
        project,
        action="retire",
        allowed_from=(ProjectStatus.PUBLISHED,),
        to=ProjectStatus.RETIRED,
        refused=_("Only a published project can be retired."),
    )


def revise_project(actor: Any, project: LibraryProject) -> LibraryProject:
    """Send a published or retired project back to draft for revision."""
    return _change_status(
        actor,
        project,
        action="revise",
        allowed_from=(ProjectStatus.PUBLISHED, ProjectStatus.RETIRED),
        to=ProjectStatus.DRAFT,
        refused=_("This project is already a draft."),
    )


# Promotion ------------------------------------------------------------------------------
def _promotion_of(project_id: int) -> int | None:
    return db.session.scalar(
        select(LibraryProject.id).where(LibraryProject.promoted_from_id == project_id)
    )


def promote_project(actor: Any, project: LibraryProject) -> LibraryProject:
    """A province curator copies a published city project of their province into a new
    province-level draft that links back to it; once per origin."""
    if not can_promote(actor, project):
        raise PermissionDenied(
            _("Only the staff of the province promote its cities' projects.")
            if project.level == ProjectLevel.CITY
            else _("Only a city project can be promoted to the province.")
        )
    if project.status != ProjectStatus.PUBLISHED:
        raise Conflict(_("Only a published project can be promoted."), status=project.status)

    def duplicate() -> Conflict:
        return Conflict(
            _("This project has already been promoted to the province."),
            id=_promotion_of(project.id),
        )

    if _promotion_of(project.id) is not None:
        raise duplicate()
    promoted = LibraryProject(
        **project_values(project),
        level=ProjectLevel.PROVINCE,
        region_code=actor.region_code,
        status=ProjectStatus.DRAFT,
        promoted_from_id=project.id,
    )
    try:
        with db.session.begin_nested():
            db.session.add(promoted)
    except IntegrityError:  # promoted by someone else since our check
        raise duplicate() from None
    record_audit(actor, "library_project.promote", promoted, None, snapshot(promoted))
    return promoted


# Adoption -------------------------------------------------------------------------------
def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def _is_in_library_of(project: LibraryProject, region: Any) -> bool:
    """A region's library: its own projects and its province's province-level projects."""
    return project.region_code == region.code or (
        project.level == ProjectLevel.PROVINCE and project.region_code == region.province_code
    )


def adopt_project(
    actor: Any, project: LibraryProject, founder_id: int | None, *, as_of: date
) -> LibraryAdoption:
    """Record that a founder takes up a published project of their region's library.

    Founders adopt for themselves (founder_id may be omitted); staff for a founder of their
    area. Once per founder and project: the second time is a 409 naming the adoption.
    """
    if founder_id is None and getattr(actor, "role", None) == Role.FOUNDER:
        founder_id = actor.founder_id
    if founder_id is None:
        raise ValidationFailed.single("founder_id", _("Choose the founder who adopts it."))
    founder = None
    if _is_id(founder_id):
        founder = db.session.scalar(
            scoped(
                select(Founder).where(Founder.id == founder_id),
                actor,
                region_column=Founder.region_code,
                founder_column=Founder.id,
            )
        )
    if founder is None:
        raise ValidationFailed.single("founder_id", _("No founder with this id in your area."))
    if project.status != ProjectStatus.PUBLISHED:
        raise Conflict(_("Only a published project can be adopted."), status=project.status)
    if not _is_in_library_of(project, founder.region):
        raise ValidationFailed.single(
            "founder_id", _("This project is not in the library of the founder's region.")
        )

    def existing() -> int | None:
        return db.session.scalar(
            select(LibraryAdoption.id).where(
                LibraryAdoption.project_id == project.id,
                LibraryAdoption.founder_id == founder.id,
            )
        )

    def duplicate() -> Conflict:
        return Conflict(
            _("%(name)s has already adopted this project.", name=founder.name), id=existing()
        )

    if existing() is not None:
        raise duplicate()
    adoption = LibraryAdoption(
        project_id=project.id, founder_id=founder.id, adopted_on=as_of, adopted_by_id=actor.id
    )
    try:
        with db.session.begin_nested():
            db.session.add(adoption)
    except IntegrityError:  # the same adoption recorded by another request just now
        raise duplicate() from None
    record_audit(
        actor,
        "library_adoption.create",
        adoption,
        None,
        snapshot(adoption),
        region_code=founder.region_code,
    )
    return adoption
