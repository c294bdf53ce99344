"""Report actions that leave a trace: exports of real-name lists (SPEC §4)."""

from __future__ import annotations

from typing import Any

from app.core.audit import record_audit


def record_list_export(actor: Any, *, figure: str, row_count: int, filters: dict[str, Any]) -> None:
    """A KPI list export takes personal data out of the platform: who, which figure, how
    many rows, with which selection, is kept like any change."""
    record_audit(
        actor,
        "report.export",
        ("report", None),
        None,
        {"figure": figure, "row_count": row_count, "filters": filters},
        region_code=filters.get("region_code") or getattr(actor, "region_code", None),
    )
