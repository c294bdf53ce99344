"""JSON API: library projects, their status changes, promotion and adoptions.

Reading needs `library.browse` (every role, each seeing its own library); curating needs
`library.curate` (staff, of the project's own region); adopting `library.adopt` (founders
for themselves, staff for a founder of their area).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from flask_login import current_user

from app.core.api import (
    MONEY_SCHEMA,
    api_endpoint,
    form_errors,
    iso_date,
    json_body,
    json_response,
    money_str,
    read_json_form,
    read_query_form,
)
from app.core.dates import today_in_china
from app.core.errors import ValidationFailed
from app.core.industries import INDUSTRY_VALUES
from app.core.pagination import page_envelope, paginate, read_page_request
from app.core.permissions import Permission, permission_required
from app.extensions import db
from app.library import operations
from app.library.forms import (
    AdoptionForm,
    ProjectFilterForm,
    ProjectForm,
    ProjectUpdateForm,
)
from app.library.models import LibraryAdoption, LibraryProject, ProjectLevel, ProjectStatus
from app.library.queries import (
    ProjectFilters,
    ProjectOutcome,
    get_project_in_scope,
    list_projects_stmt,
    project_outcomes,
)
from app.library.rules import PROJECT_FIELDS

library_api_bp = Blueprint("api_library", __name__, url_prefix="/api/v1")

RATE = {"type": "number", "nullable": True, "minimum": 0, "maximum": 1}
OUTCOME_SCHEMA = {
    "type": "object",
    "description": "the KPI figures of the project in the caller's area (every region "
    "for administrators and founders) as of today (D46): adopters; businesses opened "
    "(naming the project, or of a founder who adopted it), the operating ones and their "
    "employees (jobs); survival_12m = Kaplan–Meier 12-month survival of those businesses, "
    "opening_rate_6m = share of the project's trained founders who opened a business "
    "within 6 months; null when there is nothing to estimate from",
    "properties": {
        "adopters": {"type": "integer"},
        "businesses": {"type": "integer"},
        "operating": {"type": "integer"},
        "jobs": {"type": "integer"},
        "survival_12m": RATE,
        "opening_rate_6m": RATE,
    },
    # The two rates are always sent too; the required list stays as first published.
    "required": ["adopters", "businesses", "operating", "jobs"],
}
PROJECT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "title": {"type": "string"},
        "level": {"type": "string", "enum": [level.value for level in ProjectLevel]},
        "region_code": {"type": "string"},
        "industry": {"type": "string", "enum": list(INDUSTRY_VALUES)},
        "investment_min": MONEY_SCHEMA,
        "investment_max": MONEY_SCHEMA,
        "payback_months": {"type": "integer"},
        "jobs_potential": {"type": "integer"},
        "summary": {"type": "string"},
        "status": {"type": "string", "enum": [status.value for status in ProjectStatus]},
        "promoted_from_id": {"type": "integer", "nullable": True},
        "outcome": OUTCOME_SCHEMA,
    },
    "required": [
        "id",
        "title",
        "level",
        "region_code",
        "industry",
        "investment_min",
        "investment_max",
        "payback_months",
        "jobs_potential",
        "summary",
        "status",
        "promoted_from_id",
        "outcome",
    ],
}
PROJECT_DETAIL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        **PROJECT_SCHEMA["properties"],
        "market": {"type": "string"},
        "risks": {"type": "string"},
        "startup_steps": {"type": "string"},
        "licences": {"type": "string"},
        "expert_contact": {"type": "string"},
        "published_at": {"type": "string", "format": "date-time", "nullable": True},
        "status_changed_at": {"type": "string", "format": "date-time", "nullable": True},
    },
    "required": [
        *PROJECT_SCHEMA["required"],
        "market",
        "risks",
        "startup_steps",
        "licences",
        "expert_contact",
    ],
}
ADOPTION_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "project_id": {"type": "integer"},
        "founder_id": {"type": "integer"},
        "adopted_on": {"type": "string", "format": "date"},
    },
    "required": ["id", "project_id", "founder_id", "adopted_on"],
}


def project_json(project: LibraryProject, outcome: ProjectOutcome) -> dict[str, Any]:
    """The API's view of a project in a list."""
    return {
        "id": project.id,
        "title": project.title,
        "level": project.level,
        "region_code": project.region_code,
        "industry": project.industry,
        "investment_min": money_str(project.investment_min),
        "investment_max": money_str(project.investment_max),
        "payback_months": project.payback_months,
        "jobs_potential": project.jobs_potential,
        "summary": project.summary,
        "status": project.status,
        "promoted_from_id": project.promoted_from_id,
        "outcome": outcome.as_json(),
    }


def project_detail_json(project: LibraryProject) -> dict[str, Any]:
    """The API's view of one project: every field and its outcome."""
    outcome = project_outcomes([project.id], current_user)[project.id]
    return project_json(project, outcome) | {
        "market": project.market,
        "risks": project.risks,
        "startup_steps": project.startup_steps,
        "licences": project.licences,
        "expert_contact": project.expert_contact,
        "published_at": project.published_at.isoformat() if project.published_at else None,
        "status_changed_at": (
            project.status_changed_at.isoformat() if project.status_changed_at else None
        ),
    }


def adoption_json(adoption: LibraryAdoption) -> dict[str, Any]:
    """The API's view of an adoption."""
    return {
        "id": adoption.id,
        "project_id": adoption.project_id,
        "founder_id": adoption.founder_id,
        "adopted_on": iso_date(adoption.adopted_on),
    }


def _checked_values(
    form: ProjectForm, names: list[str], *, project: LibraryProject | None = None
) -> dict[str, Any]:
    """The given fields' values; a 422 with every problem (form and rules) at once."""
    form.validate()
    values = {name: form[name].data for name in names}
    errors = operations.project_input_errors(form_errors(form), values, project=project)
    if errors:
        raise ValidationFailed(errors)
    return values


@library_api_bp.post("/library/projects")
@permission_required(Permission.LIBRARY_CURATE)
@api_endpoint(
    "Add a draft project to the caller's own region's library (level from the region)",
    form=ProjectForm,
    response=PROJECT_DETAIL_SCHEMA,
    status=201,
)
def create_project() -> Any:
    """Staff add a project to their region's library, as a draft."""
    form = read_json_form(ProjectForm)
    project = operations.create_project(current_user, _checked_values(form, list(PROJECT_FIELDS)))
    db.session.commit()
    return json_response(project_detail_json(project), 201)


@library_api_bp.get("/library/projects")
@permission_required(Permission.LIBRARY_BROWSE)
@api_endpoint(
    "Projects of the caller's library, searched, filtered and sorted",
    query=ProjectFilterForm,
    response=PROJECT_SCHEMA,
    paginated=True,
)
def list_projects() -> Any:
    """The projects the caller may see: founders their region's published library."""
    filters = ProjectFilters.from_form(read_query_form(ProjectFilterForm))
    pagination = paginate(
        list_projects_stmt(current_user, filters), read_page_request(request.args)
    )
    outcomes = project_outcomes((project.id for project in pagination.items), current_user)
    return json_response(page_envelope(pagination, lambda p: project_json(p, outcomes[p.id])))


@library_api_bp.get("/library/projects/<id:project_id>")
@permission_required(Permission.LIBRARY_BROWSE)
@api_endpoint(
    "One project with every field and its outcome",
    response=PROJECT_DETAIL_SCHEMA,
    errors=(404,),
)
def get_project(project_id: int) -> Any:
    """A project the caller may see."""
    return json_response(project_detail_json(get_project_in_scope(current_user, project_id)))


@library_api_bp.patch("/library/projects/<id:project_id>")
@permission_required(Permission.LIBRARY_CURATE)
@api_endpoint(
    "Correct a project's fields (its curator; only the given fields change)",
    form=ProjectUpdateForm,
    response=PROJECT_DETAIL_SCHEMA,
    errors=(404,),
)
def update_project(project_id: int) -> Any:
    """The curator edits a project in any status; every change is audited."""
    project = get_project_in_scope(current_user, project_id)
    operations.require_curator(current_user, project)
    given = [name for name in PROJECT_FIELDS if name in json_body()]
    form = read_json_form(ProjectUpdateForm)
    operations.update_project(current_user, project, _checked_values(form, given, project=project))
    db.session.commit()
    return json_response(project_detail_json(project))


@library_api_bp.post("/library/projects/<id:project_id>/publish")
@permission_required(Permission.LIBRARY_CURATE)
@api_endpoint(
    "Publish a draft project (its curator; 409 unless it is a draft)",
    response=PROJECT_DETAIL_SCHEMA,
    errors=(404, 409),
)
def publish_project(project_id: int) -> Any:
    """Put a draft into the library."""
    project = get_project_in_scope(current_user, project_id)
    operations.publish_project(current_user, project)
    db.session.commit()
    return json_response(project_detail_json(project))


@library_api_bp.post("/library/projects/<id:project_id>/retire")
@permission_required(Permission.LIBRARY_CURATE)
@api_endpoint(
    "Retire a published project (its curator; 409 unless it is published)",
    response=PROJECT_DETAIL_SCHEMA,
    errors=(404, 409),
)
def retire_project(project_id: int) -> Any:
    """Take a published project out of the library."""
    project = get_project_in_scope(current_user, project_id)
    operations.retire_project(current_user, project)
    db.session.commit()
    return json_response(project_detail_json(project))


@library_api_bp.post("/library/projects/<id:project_id>/revise")
@permission_required(Permission.LIBRARY_CURATE)
@api_endpoint(
    "Send a published or retired project back to draft (its curator; 409 for a draft)",
    response=PROJECT_DETAIL_SCHEMA,
    errors=(404, 409),
)
def revise_project(project_id: int) -> Any:
    """Back to draft, for revision."""
    project = get_project_in_scope(current_user, project_id)
    operations.revise_project(current_user, project)
    db.session.commit()
    return json_response(project_detail_json(project))


@library_api_bp.post("/library/projects/<id:project_id>/promote")
@permission_required(Permission.LIBRARY_CURATE)
@api_endpoint(
    "Promote a published city project to a new province-level draft (province staff; once)",
    response=PROJECT_DETAIL_SCHEMA,
    status=201,
    errors=(404, 409),
)
def promote_project(project_id: int) -> Any:
    """Province staff copy a good city project of their province into the province library."""
    project = get_project_in_scope(current_user, project_id)
    promoted = operations.promote_project(current_user, project)
    db.session.commit()
    return json_response(project_detail_json(promoted), 201)


@library_api_bp.post("/library/projects/<id:project_id>/adoptions")
@permission_required(Permission.LIBRARY_ADOPT)
@api_endpoint(
    "A founder adopts a published project (founders for themselves, staff for a founder)",
    form=AdoptionForm,
    response=ADOPTION_SCHEMA,
    status=201,
    errors=(404, 409),
)
def adopt_project(project_id: int) -> Any:
    """Record an adoption, once per founder and project."""
    project = get_project_in_scope(current_user, project_id)
    form = read_json_form(AdoptionForm)
    if not form.validate():
        raise ValidationFailed(form_errors(form))
    adoption = operations.adopt_project(
        current_user, project, form.founder_id.data, as_of=today_in_china()
    )
    db.session.commit()
    return json_response(adoption_json(adoption), 201)
