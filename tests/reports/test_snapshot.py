"""The monthly KPI snapshot: each region's KPIs (as compute_kpis answers them) and counts,
provinces summing their cities, records dated after as_of left out, and a rerun for the
same date replacing, not adding."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from app.extensions import db
from app.followups.models import FollowupTask
from app.regions.models import Region
from app.reports.jobs import MONEY_FIGURES, snapshot_kpis
from app.reports.kpis import compute_kpis
from app.reports.models import KpiSnapshot
from tests.businesses.factories import make_business, make_observation
from tests.factories import make_founder
from tests.loans.factories import make_loan

AS_OF = date(2026, 6, 1)


def stored(region_code: str, as_of: date = AS_OF) -> dict:
    return db.session.scalars(
        select(KpiSnapshot.figures).where(
            KpiSnapshot.region_code == region_code, KpiSnapshot.as_of == as_of
        )
    ).one()


def figures(region_code: str, as_of: date = AS_OF) -> dict:
    return stored(region_code, as_of)["counts"]


def snapshot_rows(as_of: date = AS_OF) -> list:
    return db.session.execute(
        select(KpiSnapshot.region_code, KpiSnapshot.figures).where(KpiSnapshot.as_of == as_of)
    ).all()


def add_task(founder, status: str, due_on: date, **fields) -> None:
    done_on = due_on if status == "done" else None
    closed_on = None if status == "open" else due_on
    db.session.add(
        FollowupTask(
            kind="intake_contact",
            subject_type="founder",
            subject_id=founder.id,
            founder_id=founder.id,
            sequence=fields.pop("sequence", 1),
            due_on=due_on,
            status=status,
            region_code=founder.region_code,
            done_on=done_on,
            closed_on=closed_on,
            **fields,
        )
    )
    db.session.flush()


def test_counts_per_city_and_province_sums(db_session):
    haikou = make_founder(region_code="460100", registered_on=date(2026, 1, 5))
    sanya = make_founder(region_code="460200", registered_on=date(2026, 2, 5))
    make_founder(region_code="460200", registered_on=date(2026, 7, 1))  # after as_of
    make_business(haikou, opened_on=date(2026, 3, 1), employees_at_opening=3)
    make_business(sanya, opened_on=date(2026, 4, 1), employees_at_opening=2)
    closed = make_business(sanya, opened_on=date(2026, 5, 1), employees_at_opening=1)
    make_observation(closed, status="closed", observed_on=date(2026, 5, 20))
    # Seen with 6 employees only after the snapshot's day: the snapshot keeps its 3.
    later = make_business(haikou, opened_on=date(2026, 4, 1), employees_at_opening=0)
    make_observation(later, observed_on=date(2026, 5, 1), employees=0)
    make_observation(later, observed_on=date(2026, 7, 1), employees=6)
    make_loan(region_code="460200", amount=Decimal("50000.00"), disbursed_on=date(2026, 2, 10))
    add_task(haikou, "done", date(2026, 1, 6))
    add_task(sanya, "missed", date(2026, 2, 6))
    add_task(sanya, "open", date(2026, 6, 20), sequence=2)  # not due by as_of

    counts = snapshot_kpis(AS_OF)

    haikou_figures = figures("460100")
    sanya_figures = figures("460200")
    province = figures("460000")
    assert haikou_figures["founders_registered"] == 1
    assert sanya_figures["founders_registered"] == 2  # the loan's founder too, not the later one
    assert province["founders_registered"] == 3
    assert sanya_figures["businesses_opened"] == 2
    assert sanya_figures["businesses_operating"] == 1
    assert province["jobs"] == 5  # 3 + 2: the closed one and the later head count left out
    assert province["businesses_operating"] == 3
    assert sanya_figures["loans_disbursed_count"] == 1
    assert sanya_figures["loans_disbursed_amount"] == "50000.00"
    assert province["loans_disbursed_amount"] == "50000.00"
    assert province["followups_due"] == 2
    assert province["followups_done"] == 1
    assert province["followups_missed"] == 1
    assert counts["regions"] >= 3


def test_rerun_replaces_the_same_date(db_session):
    make_founder(region_code="460100", registered_on=date(2026, 1, 5))
    snapshot_kpis(AS_OF)
    first = snapshot_rows()
    snapshot_kpis(AS_OF)
    second = snapshot_rows()
    assert sorted(first, key=lambda row: row.region_code) == sorted(
        second, key=lambda row: row.region_code
    )
    make_founder(region_code="460100", registered_on=date(2026, 5, 5))
    business = make_business(make_founder(region_code="460100"), opened_on=date(2026, 2, 1))
    make_observation(business, observed_on=date(2026, 5, 1), employees=4)
    snapshot_kpis(AS_OF)
    assert figures("460100")["founders_registered"] == 3
    # The KPIs are recomputed too, not kept from the first run.
    assert stored("460100")["kpis"] == compute_kpis("460100", AS_OF)
    assert stored("460100")["kpis"]["jobs"]["jobs"] == 4
    rows = db.session.scalars(
        select(KpiSnapshot).where(KpiSnapshot.as_of == AS_OF, KpiSnapshot.region_code == "460100")
    ).all()
    assert len(rows) == 1


def test_earlier_snapshot_ignores_later_records(db_session):
    make_founder(region_code="460100", registered_on=date(2026, 1, 5))
    make_founder(region_code="460100", registered_on=date(2026, 3, 5))
    snapshot_kpis(date(2026, 2, 1))
    snapshot_kpis(date(2026, 4, 1))
    assert figures("460100", date(2026, 2, 1))["founders_registered"] == 1
    assert figures("460100", date(2026, 4, 1))["founders_registered"] == 2


def test_kpis_are_the_engines_figures_for_the_region_and_date(db_session):
    haikou = make_founder(region_code="460100", registered_on=date(2026, 1, 5))
    sanya = make_founder(region_code="460200", registered_on=date(2026, 1, 5))
    make_business(haikou, opened_on=date(2026, 2, 1), employees_at_opening=3)
    make_business(sanya, opened_on=date(2026, 3, 1), employees_at_opening=2)
    make_loan(region_code="460200", amount=Decimal("30000.00"), disbursed_on=date(2026, 2, 10))
    add_task(haikou, "done", date(2026, 1, 6))
    add_task(sanya, "missed", date(2026, 2, 6))

    snapshot_kpis(AS_OF)

    for code in ("460100", "460200", "460000", "310000"):
        assert stored(code)["kpis"] == compute_kpis(code, AS_OF), code
    province = stored("460000")["kpis"]
    assert province["region_code"] == "460000"
    assert province["as_of"] == "2026-06-01"
    assert province["jobs"]["jobs"] == 5  # the province's KPIs include its cities
    assert province["loans"]["disbursed_amount"] == "30000.00"
    assert province["followups"]["due"] == 2


def test_every_province_and_region_with_founders_has_a_row_with_every_count(db_session):
    make_founder(region_code="460100", registered_on=date(2026, 1, 5))
    # A founder registered after the date still puts the region in the snapshot (as zeros),
    # so its trend starts at 0 rather than with missing months.
    make_founder(region_code="460200", registered_on=date(2026, 9, 1))
    snapshot_kpis(AS_OF)
    provinces = set(db.session.scalars(select(Region.code).where(Region.level == "province")))
    codes = {row.region_code for row in snapshot_rows()}
    assert provinces | {"460100", "460200"} <= codes
    later = figures("460200")
    assert later["founders_registered"] == 0
    assert set(later) == set(figures("460100"))
    for name in MONEY_FIGURES:
        assert later[name] == "0.00"
    assert stored("460200")["kpis"]["training"]["pass_rate"] is None


def test_a_later_run_of_another_date_leaves_earlier_rows(db_session):
    make_founder(region_code="460100", registered_on=date(2026, 1, 5))
    snapshot_kpis(date(2026, 5, 1))
    before = sorted(snapshot_rows(date(2026, 5, 1)), key=lambda row: row.region_code)
    snapshot_kpis(AS_OF)
    snapshot_kpis(AS_OF)
    assert sorted(snapshot_rows(date(2026, 5, 1)), key=lambda row: row.region_code) == before
