"""Trend series from the monthly KPI snapshots: one SELECT, the months up to a date in
order, KPI and count paths, money as floats, None for what a row lacks; and the demo's
monthly replay leaving a year of points."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import event, func, select

from app.core.dates import add_months
from app.demo.followups import write_kpi_snapshots
from app.extensions import db
from app.reports.jobs import snapshot_kpis
from app.reports.kpis import compute_kpis
from app.reports.models import KpiSnapshot
from app.reports.trends import snapshot_series
from app.scheduler.models import JobRun
from tests.businesses.factories import make_business, make_observation
from tests.factories import make_founder

HAIKOU, SANYA = "460100", "460200"


def add_snapshot(region_code: str, as_of: date, figures: dict) -> None:
    db.session.add(KpiSnapshot(region_code=region_code, as_of=as_of, figures=figures))
    db.session.flush()


def figures(par30: float | None, amount: str, jobs: int) -> dict:
    return {
        "kpis": {
            "loans": {"par30": par30, "disbursed_amount": amount},
            "jobs": {"jobs_per_business": None},
        },
        "counts": {"jobs": jobs, "loans_outstanding_principal": amount},
    }


def test_series_in_date_order_with_money_as_floats_and_gaps(db_session):
    add_snapshot(HAIKOU, date(2026, 3, 1), figures(0.05, "1234.50", 7))
    add_snapshot(HAIKOU, date(2026, 1, 1), figures(None, "0.00", 3))
    add_snapshot(HAIKOU, date(2026, 2, 1), {"kpis": {"loans": {}}, "counts": {}})
    add_snapshot(SANYA, date(2026, 2, 1), figures(0.9, "9.00", 9))  # another region

    paths = [
        "loans.par30",
        "loans.disbursed_amount",
        "jobs.jobs_per_business",
        "counts.jobs",
        "counts.loans_outstanding_principal",
        "opening.rate_3m",
    ]
    dates, series = snapshot_series(HAIKOU, paths, until=date(2026, 3, 31))

    assert dates == [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
    assert series == {
        "loans.par30": [None, None, 0.05],
        "loans.disbursed_amount": [0.0, None, 1234.5],
        "jobs.jobs_per_business": [None, None, None],
        "counts.jobs": [3.0, None, 7.0],
        "counts.loans_outstanding_principal": [0.0, None, 1234.5],
        "opening.rate_3m": [None, None, None],
    }
    assert all(isinstance(value, float) for value in series["counts.jobs"] if value is not None)


def test_the_months_up_to_until_and_no_later(db_session):
    for month in range(14):
        add_snapshot(HAIKOU, add_months(date(2025, 5, 1), month), figures(None, "0.00", month))
    # 2025-05-01 … 2026-06-01 stored; 12 months up to 2026-05-20 are 2025-06-01 … 2026-05-01.
    dates, series = snapshot_series(HAIKOU, ["counts.jobs"], until=date(2026, 5, 20))
    assert dates[0] == date(2025, 6, 1)
    assert dates[-1] == date(2026, 5, 1)
    assert len(dates) == 12
    assert series["counts.jobs"] == [float(month) for month in range(1, 13)]
    dates, _ = snapshot_series(HAIKOU, ["counts.jobs"], until=date(2026, 5, 1), months=3)
    assert dates == [date(2026, 3, 1), date(2026, 4, 1), date(2026, 5, 1)]
    assert snapshot_series(SANYA, ["counts.jobs"], until=date(2026, 5, 1)) == (
        [],
        {"counts.jobs": []},
    )


def test_one_select(db_session):
    for month in range(1, 7):
        add_snapshot(HAIKOU, date(2026, month, 1), figures(0.1, "1.00", month))
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = db.session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        snapshot_series(HAIKOU, ["loans.par30", "counts.jobs"], until=date(2026, 6, 30))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1, statements


def test_rows_from_before_the_kpis_were_stored_still_give_their_counts(db_session):
    add_snapshot(HAIKOU, date(2026, 1, 1), {"jobs": 4, "loans_disbursed_amount": "50.00"})
    _, series = snapshot_series(
        HAIKOU, ["counts.jobs", "counts.loans_disbursed_amount", "jobs.jobs"], date(2026, 1, 1)
    )
    assert series == {
        "counts.jobs": [4.0],
        "counts.loans_disbursed_amount": [50.0],
        "jobs.jobs": [None],
    }


@pytest.mark.parametrize("path", ["par30", "loans.", ".par30", "loans.par30.extra", ""])
def test_a_path_is_group_dot_figure(db_session, path):
    with pytest.raises(ValueError, match=r"group\.figure"):
        snapshot_series(HAIKOU, [path], date(2026, 1, 1))


def test_snapshots_of_the_job_read_back_as_the_engines_figures(db_session):
    founder = make_founder(region_code=HAIKOU, registered_on=date(2025, 12, 1))
    business = make_business(founder, opened_on=date(2026, 1, 10), employees_at_opening=2)
    make_observation(business, observed_on=date(2026, 3, 5), employees=5)
    for month in (1, 2, 3, 4):
        snapshot_kpis(date(2026, month, 1))

    dates, series = snapshot_series(
        HAIKOU, ["jobs.jobs", "counts.founders_registered"], until=date(2026, 4, 1)
    )

    assert dates == [date(2026, month, 1) for month in (1, 2, 3, 4)]
    assert series["jobs.jobs"] == [
        float(compute_kpis(HAIKOU, day)["jobs"]["jobs"]) for day in dates
    ]
    assert series["jobs.jobs"] == [0.0, 2.0, 2.0, 5.0]
    assert series["counts.founders_registered"] == [1.0, 1.0, 1.0, 1.0]


def test_the_demo_replays_the_monthly_job_for_a_year(db_session):
    make_founder(region_code=HAIKOU, registered_on=date(2025, 6, 1))
    as_of = date(2026, 11, 23)

    counts = write_kpi_snapshots(as_of=as_of)

    runs = db.session.scalars(
        select(JobRun).where(JobRun.job == "monthly").order_by(JobRun.as_of)
    ).all()
    assert [run.as_of for run in runs] == [add_months(date(2025, 12, 1), n) for n in range(12)]
    assert {run.status for run in runs} == {"succeeded"}
    dates, series = snapshot_series(HAIKOU, ["counts.founders_registered"], until=as_of)
    assert len(dates) == 12
    assert series["counts.founders_registered"] == [1.0] * 12
    assert counts["kpi_snapshots"] == db.session.scalar(select(func.count(KpiSnapshot.id)))
