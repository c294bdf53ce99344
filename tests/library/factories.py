"""Library test data: projects and adoptions, inserted directly (flushed, not committed)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from app.extensions import db
from app.founders.models import Founder
from app.library.models import LibraryAdoption, LibraryProject
from tests.factories import make_founder

_sequence = itertools.count(1)
# Published projects get distinct, increasing times, so "newest" has a defined order.
_BASE_TIME = datetime(2026, 1, 1, tzinfo=UTC)


def project_body(**fields: Any) -> dict[str, Any]:
    """A valid JSON body (and form data) for a new project."""
    values = {
        "title": "椰子糖小作坊",
        "industry": "food",
        "investment_min": "30000.00",
        "investment_max": "80000.00",
        "payback_months": 18,
        "jobs_potential": 3,
        "summary": "用本地椰子做椰子糖，面向游客和电商。",
        "market": "三亚、海口游客",
        "risks": "原料价格波动",
        "startup_steps": "1. 办理食品生产许可",
        "licences": "食品生产许可证",
        "expert_contact": "王老师 13900000000",
    }
    return values | fields


def make_project(
    *, region_code: str = "460100", status: str = "published", **fields: Any
) -> LibraryProject:
    """A project of `region_code` (level from the region: six-digit codes ending 0000 are
    provinces), published by default."""
    number = next(_sequence)
    level = "province" if region_code.endswith("0000") else "city"
    values: dict[str, Any] = {
        "title": f"项目{number}",
        "level": level,
        "region_code": region_code,
        "industry": "food",
        "investment_min": Decimal("30000.00"),
        "investment_max": Decimal("80000.00"),
        "payback_months": 18,
        "jobs_potential": 3,
        "summary": "一个小生意。",
        "status": status,
    }
    if status != "draft":
        values["published_at"] = _BASE_TIME + timedelta(hours=number)
    project = LibraryProject(**(values | fields))
    db.session.add(project)
    db.session.flush()
    return project


def make_adoption(
    project: LibraryProject, founder: Founder | None = None, **fields: Any
) -> LibraryAdoption:
    """A founder (new, of the project's region, by default) adopted the project."""
    founder = founder or make_founder(region_code=project.region_code)
    values = {"project_id": project.id, "founder_id": founder.id, "adopted_on": date(2026, 5, 1)}
    adoption = LibraryAdoption(**(values | fields))
    db.session.add(adoption)
    db.session.flush()
    return adoption
