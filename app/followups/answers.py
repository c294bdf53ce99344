"""The follow-ups API's answers: OpenAPI schemas and the builders that fill them (SPEC §14:
dates YYYY-MM-DD, money as strings with 2 decimals)."""

from __future__ import annotations

from typing import Any

from app.core.api import (
    DATE_SCHEMA,
    NULLABLE_DATE_SCHEMA,
    NULLABLE_MONEY_SCHEMA,
    iso_date,
    money_str,
)
from app.followups.models import (
    Channel,
    Employment,
    FollowupAttempt,
    FollowupServiceItem,
    FollowupTask,
    MisuseState,
    ServiceItem,
    SubjectType,
    TaskKind,
    TaskStatus,
)
from app.followups.queries import list_attempts, list_service_items, missing_services

NULLABLE_INTEGER: dict[str, Any] = {"type": "integer", "nullable": True}


def _enum(values: Any, *, nullable: bool = False) -> dict[str, Any]:
    members = [value.value for value in values]
    if nullable:
        return {"type": "string", "enum": [*members, None], "nullable": True}
    return {"type": "string", "enum": members}


TASK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "kind": _enum(TaskKind),
        "subject_type": _enum(SubjectType),
        "subject_id": {"type": "integer"},
        "founder_id": {"type": "integer"},
        "sequence": {"type": "integer", "minimum": 1},
        "due_on": DATE_SCHEMA,
        "status": _enum(TaskStatus),
        "region_code": {"type": "string"},
        "assignee_id": NULLABLE_INTEGER,
        "done_on": NULLABLE_DATE_SCHEMA,
        "closed_on": NULLABLE_DATE_SCHEMA,
        "channel": _enum(Channel, nullable=True),
        "business_status": {"type": "string", "nullable": True},
        "employees": NULLABLE_INTEGER,
        "monthly_revenue": NULLABLE_MONEY_SCHEMA,
        "employment": _enum(Employment, nullable=True),
        "fund_usage_ok": {"type": "boolean", "nullable": True},
        "misuse_state": _enum(MisuseState, nullable=True),
        "note": {"type": "string"},
        "observation_id": NULLABLE_INTEGER,
        "lost_to_follow_up_on": {
            **NULLABLE_DATE_SCHEMA,
            "description": "the founder is lost to follow-up since this day",
        },
    },
}
TASK_SCHEMA["required"] = list(TASK_SCHEMA["properties"])

ATTEMPT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "task_id": {"type": "integer"},
        "attempted_on": DATE_SCHEMA,
        "channel": _enum(Channel),
        "note": {"type": "string"},
        "recorded_by_id": NULLABLE_INTEGER,
    },
}
ATTEMPT_SCHEMA["required"] = list(ATTEMPT_SCHEMA["properties"])

SERVICE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "task_id": {"type": "integer"},
        "item": _enum(ServiceItem),
        "detail": {"type": "string"},
        "provided_on": DATE_SCHEMA,
        "recorded_by_id": NULLABLE_INTEGER,
    },
}
SERVICE_SCHEMA["required"] = list(SERVICE_SCHEMA["properties"])

TASK_DETAIL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        **TASK_SCHEMA["properties"],
        "attempts": {"type": "array", "items": ATTEMPT_SCHEMA},
        "services": {"type": "array", "items": SERVICE_SCHEMA},
        "services_missing": {
            "type": "object",
            "additionalProperties": {"type": "integer"},
            "description": "intake services: item -> how many more the package needs",
        },
    },
}
TASK_DETAIL_SCHEMA["required"] = list(TASK_DETAIL_SCHEMA["properties"])


def task_json(task: FollowupTask, *, lost_since: Any = None) -> dict[str, Any]:
    """One task as the list and the actions answer it."""
    if lost_since is None and task.founder is not None:
        lost_since = task.founder.lost_to_follow_up_on
    return {
        "id": task.id,
        "kind": task.kind,
        "subject_type": task.subject_type,
        "subject_id": task.subject_id,
        "founder_id": task.founder_id,
        "sequence": task.sequence,
        "due_on": iso_date(task.due_on),
        "status": task.status,
        "region_code": task.region_code,
        "assignee_id": task.assignee_id,
        "done_on": iso_date(task.done_on),
        "closed_on": iso_date(task.closed_on),
        "channel": task.channel,
        "business_status": task.business_status,
        "employees": task.employees,
        "monthly_revenue": money_str(task.monthly_revenue),
        "employment": task.employment,
        "fund_usage_ok": task.fund_usage_ok,
        "misuse_state": task.misuse_state,
        "note": task.note or "",
        "observation_id": task.observation_id,
        "lost_to_follow_up_on": iso_date(lost_since),
    }


def row_json(row: Any) -> dict[str, Any]:
    """A queue row (task, founder name, phone, lost since, attempts) as a list item."""
    return task_json(row[0], lost_since=row.lost_since)


def attempt_json(attempt: FollowupAttempt) -> dict[str, Any]:
    """One contact attempt."""
    return {
        "id": attempt.id,
        "task_id": attempt.task_id,
        "attempted_on": iso_date(attempt.attempted_on),
        "channel": attempt.channel,
        "note": attempt.note or "",
        "recorded_by_id": attempt.recorded_by_id,
    }


def service_json(service: FollowupServiceItem) -> dict[str, Any]:
    """One delivered item of the intake package."""
    return {
        "id": service.id,
        "task_id": service.task_id,
        "item": service.item,
        "detail": service.detail or "",
        "provided_on": iso_date(service.provided_on),
        "recorded_by_id": service.recorded_by_id,
    }


def task_detail_json(task: FollowupTask) -> dict[str, Any]:
    """A task with its attempts and, for intake services, the package so far."""
    is_intake = task.kind == TaskKind.INTAKE_SERVICES
    return task_json(task) | {
        "attempts": [attempt_json(attempt) for attempt in list_attempts(task.id)],
        "services": [service_json(item) for item in list_service_items(task.id)]
        if is_intake
        else [],
        "services_missing": missing_services(task.id) if is_intake else {},
    }
