"""JSON API: the KPI figures of a region (SPEC §11, §14).

Staff and officers read the figures of their area (a province's staff any of its cities);
a region outside it is 404, as for any record out of scope. Administrators read any region.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask_babel import gettext as _
from flask_login import current_user

from app.core.api import DATE_SCHEMA, MONEY_SCHEMA, api_endpoint, json_response, read_query_form
from app.core.dates import today_in_china
from app.core.errors import NotFound
from app.core.permissions import Permission, permission_required
from app.reports.forms import KpiQueryForm
from app.reports.kpis import compute_kpis
from app.reports.queries import region_in_scope

reports_api_bp = Blueprint("api_reports", __name__, url_prefix="/api/v1")

_RATE: dict[str, Any] = {"type": "number", "nullable": True, "minimum": 0}
_COUNT: dict[str, Any] = {"type": "integer", "minimum": 0}


def _group(**properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties)}


KPI_SCHEMA: dict[str, Any] = _group(
    region_code={"type": "string"},
    as_of=DATE_SCHEMA,
    training=_group(enrolled=_COUNT, passed=_COUNT, failed=_COUNT, pass_rate=_RATE),
    opening=_group(
        eligible_3m=_COUNT,
        opened_3m=_COUNT,
        rate_3m=_RATE,
        eligible_6m=_COUNT,
        opened_6m=_COUNT,
        rate_6m=_RATE,
    ),
    survival=_group(
        businesses=_COUNT,
        closures=_COUNT,
        km_12m=_RATE,
        km_12m_low=_RATE,
        km_12m_high=_RATE,
        naive_12m=_RATE,
    ),
    jobs=_group(
        operating=_COUNT, jobs=_COUNT, jobs_per_business={"type": "number", "nullable": True}
    ),
    loans=_group(
        disbursed_count=_COUNT,
        disbursed_amount=MONEY_SCHEMA,
        outstanding_principal=MONEY_SCHEMA,
        on_time_rate=_RATE,
        par30=_RATE,
        compensation_rate=_RATE,
        recovery_rate=_RATE,
    ),
    followups=_group(
        due=_COUNT,
        done_on_time=_COUNT,
        on_time_rate=_RATE,
        missed=_COUNT,
        response_rate=_RATE,
        lost=_COUNT,
    ),
)


@reports_api_bp.get("/kpis")
@permission_required(Permission.REPORTS_READ)
@api_endpoint(
    "The SPEC §11 figures of a region (a province includes its cities) as of a date "
    "(today in China when not given), records dated later left out; from and to limit "
    "each figure to entries in that period. Rates have 4 places, null with nothing to "
    "divide by",
    query=KpiQueryForm,
    response=KPI_SCHEMA,
    errors=(404, 422),
    tags=("reports",),
)
def get_kpis() -> Any:
    """Answer GET /kpis for a region in the caller's scope."""
    form = read_query_form(KpiQueryForm)
    region_code = form.region_code.data
    if not region_in_scope(current_user, region_code):
        raise NotFound(_("No such region in your area."))
    as_of = form.as_of.data or today_in_china()
    return json_response(compute_kpis(region_code, as_of, form["from"].data, form.to.data))
