"""JSON API: businesses, their observations, and the review of founders' self-reports.

Reading needs `businesses.read` (staff and officers of the area) or `own_records.read` (a
founder, who sees their own businesses only); recording a business and reviewing reports
needs `businesses.write` (staff); observations are recorded by staff of the area and by the
founder on their own business (`own_business.observe`); anyone else's is a 404.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from flask_login import current_user

from app.businesses import operations
from app.businesses.forms import (
    BusinessFilterForm,
    BusinessForm,
    BusinessUpdateForm,
    ObservationForm,
    QueryForm,
    ReportFilterForm,
)
from app.businesses.models import (
    Business,
    BusinessStatus,
    Observation,
    ObservationSource,
    ReviewState,
)
from app.businesses.queries import (
    BusinessFilters,
    get_business_in_scope,
    get_observation_in_scope,
    list_businesses_stmt,
    list_observations,
    list_reports_stmt,
)
from app.businesses.rules import BUSINESS_FIELDS, OBSERVATION_FIELDS
from app.core.api import (
    DATE_SCHEMA,
    NULLABLE_DATE_SCHEMA,
    NULLABLE_MONEY_SCHEMA,
    api_endpoint,
    form_errors,
    iso_date,
    json_body,
    json_response,
    money_str,
    read_json_form,
    read_query_form,
    validate_or_raise,
)
from app.core.dates import today_in_china
from app.core.errors import ValidationFailed
from app.core.industries import INDUSTRY_VALUES
from app.core.pagination import page_envelope, paginate, read_page_request
from app.core.permissions import Permission, permission_required
from app.extensions import db

businesses_api_bp = Blueprint("api_businesses", __name__, url_prefix="/api/v1")

STATUS = {"type": "string", "enum": [status.value for status in BusinessStatus]}
OBSERVATION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "business_id": {"type": "integer"},
        "observed_on": DATE_SCHEMA,
        "status": STATUS,
        "employees": {"type": "integer"},
        "monthly_revenue": NULLABLE_MONEY_SCHEMA,
        "closed_on": NULLABLE_DATE_SCHEMA,
        "note": {"type": "string"},
        "source": {"type": "string", "enum": [source.value for source in ObservationSource]},
        "reopened": {"type": "boolean"},
        "verified": {"type": "boolean"},
        "review_state": {
            "type": "string",
            "enum": [state.value for state in ReviewState],
            "nullable": True,
        },
        "query_note": {"type": "string"},
    },
    "required": [
        "id",
        "business_id",
        "observed_on",
        "status",
        "employees",
        "monthly_revenue",
        "closed_on",
        "note",
        "source",
        "reopened",
        "verified",
        "review_state",
        "query_note",
    ],
}
BUSINESS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "founder_id": {"type": "integer"},
        "name": {"type": "string"},
        "industry": {"type": "string", "enum": list(INDUSTRY_VALUES)},
        "region_code": {"type": "string"},
        "opened_on": DATE_SCHEMA,
        "uscc": {"type": "string", "nullable": True},
        "library_project_id": {"type": "integer", "nullable": True},
        "employees_at_opening": {"type": "integer"},
        "status": STATUS,
        "employees": {"type": "integer"},
        "status_observed_on": DATE_SCHEMA,
        "closed_on": NULLABLE_DATE_SCHEMA,
    },
    "required": [
        "id",
        "founder_id",
        "name",
        "industry",
        "region_code",
        "opened_on",
        "uscc",
        "library_project_id",
        "employees_at_opening",
        "status",
        "employees",
        "status_observed_on",
        "closed_on",
    ],
}
BUSINESS_DETAIL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        **BUSINESS_SCHEMA["properties"],
        "observations": {
            "type": "array",
            "items": OBSERVATION_SCHEMA,
            "description": "The status history, latest first.",
        },
    },
    "required": [*BUSINESS_SCHEMA["required"], "observations"],
}


def business_json(business: Business) -> dict[str, Any]:
    """The API's view of a business in a list: its fields and current status."""
    return {
        "id": business.id,
        "founder_id": business.founder_id,
        "name": business.name,
        "industry": business.industry,
        "region_code": business.region_code,
        "opened_on": iso_date(business.opened_on),
        "uscc": business.uscc,
        "library_project_id": business.library_project_id,
        "employees_at_opening": business.employees_at_opening,
        "status": business.status,
        "employees": business.employees,
        "status_observed_on": iso_date(business.status_observed_on),
        "closed_on": iso_date(business.closed_on),
    }


def business_detail_json(business: Business) -> dict[str, Any]:
    """One business with its whole status history."""
    history = [observation_json(item) for item in list_observations(business.id)]
    return business_json(business) | {"observations": history}


def observation_json(observation: Observation) -> dict[str, Any]:
    """The API's view of one observation."""
    return {
        "id": observation.id,
        "business_id": observation.business_id,
        "observed_on": iso_date(observation.observed_on),
        "status": observation.status,
        "employees": observation.employees,
        "monthly_revenue": money_str(observation.monthly_revenue),
        "closed_on": iso_date(observation.closed_on),
        "note": observation.note,
        "source": observation.source,
        "reopened": observation.is_reopening,
        "verified": observation.verified,
        "review_state": observation.review_state,
        "query_note": observation.query_note,
    }


def _checked_values(
    form: BusinessForm, names: list[str], *, business: Business | None = None
) -> dict[str, Any]:
    """The given fields' values; a 422 with every problem (form and rules) at once."""
    form.validate()
    values = {name: form[name].data for name in names}
    errors = operations.business_input_errors(
        current_user, form_errors(form), values, as_of=today_in_china(), business=business
    )
    if errors:
        raise ValidationFailed(errors)
    return values


@businesses_api_bp.post("/businesses")
@permission_required(Permission.BUSINESSES_WRITE)
@api_endpoint(
    "Record a business a founder of the caller's area opened",
    form=BusinessForm,
    response=BUSINESS_DETAIL_SCHEMA,
    status=201,
    errors=(409,),
)
def create_business() -> Any:
    """Staff record a business; the credit code is unique (409 names the holder)."""
    form = read_json_form(BusinessForm)
    values = _checked_values(form, list(BUSINESS_FIELDS))
    business = operations.create_business(current_user, values, as_of=today_in_china())
    db.session.commit()
    return json_response(business_detail_json(business), 201)


@businesses_api_bp.get("/businesses")
@permission_required(Permission.BUSINESSES_READ, Permission.OWN_RECORDS_READ, any_of=True)
@api_endpoint(
    "Businesses in the caller's scope (a founder: their own), filtered, newest opening first",
    query=BusinessFilterForm,
    response=BUSINESS_SCHEMA,
    paginated=True,
)
def list_businesses() -> Any:
    """The scoped business list with each business's current status."""
    filters = BusinessFilters.from_form(read_query_form(BusinessFilterForm))
    pagination = paginate(
        list_businesses_stmt(current_user, filters), read_page_request(request.args)
    )
    return json_response(page_envelope(pagination, business_json))


@businesses_api_bp.get("/businesses/<id:business_id>")
@permission_required(Permission.BUSINESSES_READ, Permission.OWN_RECORDS_READ, any_of=True)
@api_endpoint(
    "One business with its status, employees and observation history",
    response=BUSINESS_DETAIL_SCHEMA,
    errors=(404,),
)
def get_business(business_id: int) -> Any:
    """A business the caller may see."""
    return json_response(business_detail_json(get_business_in_scope(current_user, business_id)))


@businesses_api_bp.patch("/businesses/<id:business_id>")
@permission_required(Permission.BUSINESSES_WRITE)
@api_endpoint(
    "Correct a business's fields (only the given ones change; audited)",
    form=BusinessUpdateForm,
    response=BUSINESS_DETAIL_SCHEMA,
    errors=(404, 409),
)
def update_business(business_id: int) -> Any:
    """Staff correct a business of their area."""
    business = get_business_in_scope(current_user, business_id)
    given = [name for name in BUSINESS_FIELDS if name in json_body() and name != "founder_id"]
    form = read_json_form(BusinessUpdateForm)
    values = _checked_values(form, given, business=business)
    operations.update_business(current_user, business, values, as_of=today_in_china())
    db.session.commit()
    return json_response(business_detail_json(business))


@businesses_api_bp.post("/businesses/<id:business_id>/observations")
@permission_required(Permission.BUSINESSES_WRITE, Permission.OWN_BUSINESS_OBSERVE, any_of=True)
@api_endpoint(
    "Record what was seen of a business (staff of the area; the founder on their own "
    "business, as a self-report waiting for review). observed_on defaults to today; "
    "`reopened` (staff) records that a closed business trades again",
    form=ObservationForm,
    response=OBSERVATION_SCHEMA,
    status=201,
    errors=(403, 404, 409),
)
def create_observation(business_id: int) -> Any:
    """Add an observation; the business's current status follows the latest one."""
    business = get_business_in_scope(current_user, business_id)
    form = read_json_form(ObservationForm)
    validate_or_raise(form)
    as_of = today_in_china()
    values = {name: form[name].data for name in OBSERVATION_FIELDS}
    values["observed_on"] = values["observed_on"] or as_of
    observation = operations.record_observation(
        current_user, business, values, as_of=as_of, is_reopening=bool(form.reopened.data)
    )
    db.session.commit()
    return json_response(observation_json(observation), 201)


@businesses_api_bp.get("/observations/reports")
@permission_required(Permission.BUSINESSES_WRITE)
@api_endpoint(
    "Founders' self-reports in the caller's area by review state (default: pending), oldest first",
    response=OBSERVATION_SCHEMA,
    query=ReportFilterForm,
    paginated=True,
)
def list_reports() -> Any:
    """The review queue."""
    state = read_query_form(ReportFilterForm).state.data or ReviewState.PENDING
    pagination = paginate(list_reports_stmt(current_user, state), read_page_request(request.args))
    return json_response(page_envelope(pagination, observation_json))


@businesses_api_bp.post("/observations/<id:observation_id>/verify")
@permission_required(Permission.BUSINESSES_WRITE)
@api_endpoint(
    "Verify a founder's self-report (staff of the area; 409 if already verified)",
    response=OBSERVATION_SCHEMA,
    errors=(404, 409),
)
def verify_observation(observation_id: int) -> Any:
    """Staff confirm what the founder reported."""
    observation = get_observation_in_scope(current_user, observation_id)
    operations.verify_observation(current_user, observation)
    db.session.commit()
    return json_response(observation_json(observation))


@businesses_api_bp.post("/observations/<id:observation_id>/query")
@permission_required(Permission.BUSINESSES_WRITE)
@api_endpoint(
    "Query a pending self-report with a question the founder sees",
    form=QueryForm,
    response=OBSERVATION_SCHEMA,
    errors=(404, 409),
)
def query_observation(observation_id: int) -> Any:
    """Staff ask the founder about a report."""
    observation = get_observation_in_scope(current_user, observation_id)
    form = read_json_form(QueryForm)
    validate_or_raise(form)
    operations.query_observation(current_user, observation, form.note.data)
    db.session.commit()
    return json_response(observation_json(observation))
