"""The measurements, each run in a fresh process (`python -m scripts.bench --worker NAME`).

A measurement answers {"seconds": …, "peak_mb": …} plus what it checks (row counts, the
figures it computed, a fingerprint of what it wrote). Nothing it does outlives it: the daily
job, its hand-written SQL and the import run inside a transaction that is rolled back; the
export's GET keeps its one audit entry (the request writes it before answering).

Web measurements go through the Flask test client signed in as a bench account, so they time
the real request path — routing, the session and permission checks, scoping, the query,
the JSON or .xlsx answer — without a network or a WSGI server in between.
"""

from __future__ import annotations

import contextlib
import random
import re
import statistics
import time
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from scripts.benchlib.memory import peak_mb


def _app(context: dict[str, Any]) -> Any:
    from app import create_app

    return create_app("testing", SQLALCHEMY_DATABASE_URI=context["database_url"])


def _as_in_production() -> Any:
    """Requests run outside any app context of ours: each pushes its own, as in production
    (an outer context would share `g`, and with it the signed-in user, between requests)."""
    return contextlib.nullcontext()


def _signed_in(app: Any, username: str, password: str) -> Any:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    data = {"username": username, "password": password}
    if token:  # CSRF protection is on, as in production
        data["csrf_token"] = token.group(1)
    response = client.post("/login", data=data)
    if response.status_code != 302:
        raise RuntimeError(f"{username} could not sign in ({response.status_code})")
    return client


def _bearer(app: Any, username: str, password: str) -> tuple[Any, dict[str, str]]:
    """A client and the headers of a fresh API token (revoked by `_revoke`)."""
    client = app.test_client()
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    if response.status_code != 201:
        raise RuntimeError(f"{username} got no token ({response.status_code})")
    return client, {"Authorization": f"Bearer {response.get_json()['token']}"}


def _dialect() -> str:
    from app.extensions import db

    return db.session.get_bind().dialect.name


# The daily job -----------------------------------------------------------------------------
COVERED_STEPS = ("loan_sweep", "missed_marking", "lost_flags")


def _daily(context: dict[str, Any], only_covered: bool) -> dict[str, Any]:
    from app.extensions import db
    from app.scheduler.registry import find_job, resolve_step
    from scripts.benchlib import digest

    app = _app(context)
    as_of = date.fromisoformat(context["daily_as_of"])
    with app.app_context():
        job = find_job("daily")
        connection = db.session.connection()
        before = digest.marks(connection)
        steps, counts = {}, {}
        started = time.perf_counter()
        for name, target in job.steps:
            if only_covered and name not in COVERED_STEPS:
                continue
            step_started = time.perf_counter()
            counts[name] = resolve_step(target)(as_of)
            steps[name] = round(time.perf_counter() - step_started, 3)
        elapsed = time.perf_counter() - started
        result = {"seconds": elapsed, "steps": steps, "counts": counts}
        if only_covered and context.get("fingerprint"):
            result["fingerprint"] = digest.fingerprint(db.session.connection(), before)
        db.session.rollback()
    return result


def daily_job(context: dict[str, Any]) -> dict[str, Any]:
    """Every step of the "daily" job for the day after the last sweep, rolled back."""
    return _daily(context, only_covered=False)


def daily_covered_app(context: dict[str, Any]) -> dict[str, Any]:
    """The steps the hand-written SQL replicates (sweep, missed, lost), through the app."""
    return _daily(context, only_covered=True)


def daily_covered_sql(context: dict[str, Any]) -> dict[str, Any]:
    """The same updates as hand-written set-based SQL, rolled back."""
    from app.core.db import utcnow
    from app.extensions import db
    from scripts.benchlib import daily_sql, digest

    app = _app(context)
    as_of = date.fromisoformat(context["daily_as_of"])
    with app.app_context():
        connection = db.session.connection()
        before = digest.marks(connection)
        started = time.perf_counter()
        counts = daily_sql.run(connection, _dialect(), as_of, utcnow())
        elapsed = time.perf_counter() - started
        result = {"seconds": elapsed, "counts": counts}
        if context.get("fingerprint"):
            result["fingerprint"] = digest.fingerprint(connection, before)
        db.session.rollback()
    return result


# KPIs -----------------------------------------------------------------------------------------
def _kpis_api(context: dict[str, Any], level: str) -> dict[str, Any]:
    app = _app(context)
    region = context[f"{level}_code"]
    with _as_in_production():
        client, headers = _bearer(app, context[f"{level}_user"], context["password"])
        # An untimed request for the other region first: imports and SQLAlchemy's statement
        # cache warm, as in a running server, but no answer of this region cached anywhere.
        other = context["city_code" if level == "province" else "province_code"]
        client.get(
            "/api/v1/kpis?" + urlencode({"region_code": other, "as_of": context["as_of"]}),
            headers=headers,
        )
        url = "/api/v1/kpis?" + urlencode({"region_code": region, "as_of": context["as_of"]})
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        body = response.get_json()
        elapsed = time.perf_counter() - started
        client.delete("/api/v1/auth/token", headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url}: {response.status_code}")
    return {"seconds": elapsed, "figures": body}


def _kpis_sql(context: dict[str, Any], level: str) -> dict[str, Any]:
    from app.extensions import db
    from scripts.benchlib import kpi_sql

    app = _app(context)
    with app.app_context():
        connection = db.session.connection()
        started = time.perf_counter()
        figures = kpi_sql.run(
            connection, _dialect(), context[f"{level}_code"], date.fromisoformat(context["as_of"])
        )
        elapsed = time.perf_counter() - started
        db.session.rollback()
    return {"seconds": elapsed, "figures": figures}


def kpis_province(context: dict[str, Any]) -> dict[str, Any]:
    """GET /api/v1/kpis for the province, as its staff."""
    return _kpis_api(context, "province")


def kpis_city(context: dict[str, Any]) -> dict[str, Any]:
    """GET /api/v1/kpis for the city, as its staff."""
    return _kpis_api(context, "city")


def kpis_sql_province(context: dict[str, Any]) -> dict[str, Any]:
    """The province's KPI counts as hand-written SQL."""
    return _kpis_sql(context, "province")


def kpis_sql_city(context: dict[str, Any]) -> dict[str, Any]:
    """The city's KPI counts as hand-written SQL."""
    return _kpis_sql(context, "city")


# Downloads ------------------------------------------------------------------------------------
def statistics_xlsx(context: dict[str, Any]) -> dict[str, Any]:
    """GET /reports/statistics.xlsx for the province and the year of the cut-off."""
    app = _app(context)
    as_of = date.fromisoformat(context["as_of"])
    with _as_in_production():
        client = _signed_in(app, context["province_user"], context["password"])
        query = {"region_code": context["province_code"], "year": as_of.year, "as_of": as_of}
        started = time.perf_counter()
        response = client.get("/reports/statistics.xlsx?" + urlencode(query))
        size = len(response.get_data())
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"statistics.xlsx: {response.status_code}")
    return {"seconds": elapsed, "bytes": size}


def founder_export(context: dict[str, Any]) -> dict[str, Any]:
    """GET /founders/export.xlsx of the province's newest founders (up to export_rows)."""
    app = _app(context)
    with _as_in_production():
        client = _signed_in(app, context["province_user"], context["password"])
        query = {"registered_from": context["export_from"]} if context["export_from"] else {}
        started = time.perf_counter()
        response = client.get("/founders/export.xlsx?" + urlencode(query))
        size = sum(len(chunk) for chunk in response.response)
        response.close()
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"export.xlsx: {response.status_code}")
    return {"seconds": elapsed, "rows": int(response.headers["X-Row-Count"]), "bytes": size}


def list_queries(context: dict[str, Any], count: int = 50) -> list[str]:
    """`count` filter combinations of the founder list, the same in every run."""
    rng = random.Random(11)  # noqa: S311 - a fixed choice of filters, not a secret
    options: dict[str, list[Any]] = {
        "region_code": context["city_codes"],
        "target_group": context["target_groups"],
        "training_status": context["training_statuses"],
        "has_business": ["yes", "no"],
        "has_loan": ["yes", "no"],
        "q": context["name_prefixes"] + ["138", "1390"],
        "registered_from": [context["registered_from"]],
        "page": [2, 3, 10],
    }
    queries = [""]  # the first page, unfiltered
    while len(queries) < count:
        chosen = rng.sample(sorted(options), rng.randint(1, 3))
        queries.append(urlencode({name: rng.choice(options[name]) for name in chosen}))
    return queries


def _fresh_id_search_allowance(app: Any, username: str) -> None:
    """Give the bench account a new hour of last-4 ID searches (D49 caps them at 20 an hour
    per user): two of the 50 filter sets are such searches, and a bench of several runs
    within the hour would otherwise be refused (429) part-way."""
    from sqlalchemy import delete, select

    from app.auth.models import IdSearchAllowance, User
    from app.extensions import db

    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == username))
        db.session.execute(delete(IdSearchAllowance).where(IdSearchAllowance.user_id == user_id))
        db.session.commit()


def founder_list(context: dict[str, Any]) -> dict[str, Any]:
    """GET /founders with 50 filter combinations, as the province's staff; p95 and median."""
    app = _app(context)
    _fresh_id_search_allowance(app, context["province_user"])
    times = []
    with _as_in_production():
        client = _signed_in(app, context["province_user"], context["password"])
        for query in list_queries(context):
            started = time.perf_counter()
            response = client.get("/founders?" + query)
            response.get_data()
            times.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise RuntimeError(f"/founders?{query}: {response.status_code}")
    ordered = sorted(times)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    slowest = sorted(zip(times, list_queries(context), strict=True), reverse=True)[:3]
    return {
        "seconds": p95,
        "median_request": statistics.median(times),
        "requests": len(times),
        "slowest": [[round(t, 3), q] for t, q in slowest],
    }


def founder_import(context: dict[str, Any]) -> dict[str, Any]:
    """Import the bench's .xlsx of new founders as the province's staff, rolled back."""
    from sqlalchemy import select

    from app.auth.models import User
    from app.extensions import db
    from app.founders.bulk_import import import_founders

    app = _app(context)
    path = Path(context["import_file"])
    with app.app_context():
        actor = db.session.scalar(select(User).where(User.username == context["province_user"]))
        timings: dict[str, float] = {}
        started = time.perf_counter()
        with path.open("rb") as stream:
            result = import_founders(
                actor,
                stream,
                path.name,
                mode="all_or_nothing",
                as_of=date.fromisoformat(context["as_of"]),
                timings=timings,
            )
        db.session.flush()
        elapsed = time.perf_counter() - started
        created, problems = result.created_count, result.error_count
        db.session.rollback()
    if problems:
        raise RuntimeError(f"the import found {problems} problems")
    return {"seconds": elapsed, "rows": created, "phases": timings}


WORKERS = {
    name: globals()[name]
    for name in (
        "daily_job",
        "daily_covered_app",
        "daily_covered_sql",
        "kpis_province",
        "kpis_sql_province",
        "kpis_city",
        "kpis_sql_city",
        "statistics_xlsx",
        "founder_export",
        "founder_list",
        "founder_import",
    )
}


def run_worker(name: str, context: dict[str, Any]) -> dict[str, Any]:
    """Run one measurement in this (fresh) process and add its peak memory."""
    result = WORKERS[name](context)
    result["peak_mb"] = peak_mb()
    return result
