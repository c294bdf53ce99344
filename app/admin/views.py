"""Administration pages that belong to no single feature: the audit log."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from wtforms.fields.choices import SelectChoice

from app.admin.forms import AuditFilterForm
from app.core.audit import list_audit_entity_types, list_audit_stmt
from app.core.forms import with_blank
from app.core.pagination import paginate, read_page_request_or_first
from app.core.permissions import Permission, permission_required
from app.regions.queries import region_choices

admin_bp = Blueprint("admin", __name__, url_prefix="/admin")


@admin_bp.get("/audit")
@permission_required(Permission.AUDIT_READ)
def audit_log() -> Any:
    """Every audited change, filterable by user, action, record, region and date."""
    filters = AuditFilterForm(request.args)
    filters.entity_type.choices = with_blank([SelectChoice(t) for t in list_audit_entity_types()])
    filters.region_code.choices = with_blank(region_choices())
    values = filters.data if filters.validate() else {}
    stmt = list_audit_stmt(
        actor=values.get("actor"),
        action=values.get("action"),
        entity_type=values.get("entity_type"),
        entity_id=values.get("entity_id"),
        region_code=values.get("region_code"),
        occurred_from=values.get("occurred_from"),
        occurred_to=values.get("occurred_to"),
    )
    pagination = paginate(stmt, read_page_request_or_first(request.args, default_per_page=50))
    return render_template("admin/audit.html", filters=filters, pagination=pagination)
