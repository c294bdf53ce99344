"""Breakdowns of the KPI figures (SPEC §11) and the lists behind them (SPEC §13).

One small programme, built by hand: every dimension splits it as written out below, the
groups of every dimension add up to the region's counts, and each figure's list holds
exactly the records its number counts.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.reports.dimensions import Dimension
from app.reports.kpis import compute_breakdown, compute_kpis, group_breakdown
from app.reports.lists import FIGURE_LINKS, FIGURE_LISTS, ListQuery, count_rows
from tests.businesses.factories import make_business, make_observation
from tests.factories import make_founder
from tests.followups.factories import make_task
from tests.incubation.factories import make_base, make_residency
from tests.library.factories import make_adoption, make_project
from tests.loans.factories import make_loan
from tests.training.factories import get_course, make_cohort, make_enrollment, make_institution

D = date(2026, 6, 30)
HAIKOU, SANYA, PROVINCE = "460100", "460200", "460000"

# Count figures: a breakdown's groups add up to the region's.
COUNTS = {
    "training": ("enrolled", "passed", "failed"),
    "opening": ("eligible_3m", "opened_3m", "eligible_6m", "opened_6m"),
    "survival": ("businesses", "closures"),
    "jobs": ("operating", "jobs"),
    "loans": ("disbursed_count",),
    "followups": ("due", "done_on_time", "missed", "lost"),
}


@pytest.fixture
def programme(db_session):
    """Five founders:

    - ann (Haikou, unemployed): passed SYB at institution I1 on 2026-01-15; opened
      "noodles" (library project P1) on 2026-03-01, incubated from 2026-04-01, 4 staff;
      a loan disbursed 2026-03-10; her business follow-up was done on time.
    - bo (Sanya, graduate): passed GYB at I2 on 2025-11-30; adopted P2 on 2025-12-01;
      never opened; his post-training follow-up was missed.
    - cai (Haikou, unemployed): failed SYB at I1 on 2026-01-15.
    - dan (Sanya, migrant worker): no training; opened "tea" on 2026-02-01, closed
      2026-05-01.
    - eve (Sanya, graduate): lost to follow-up since 2026-06-01.
    """
    i1 = make_institution(region_code=HAIKOU, name="I1")
    i2 = make_institution(region_code=SANYA, name="I2")
    syb = make_cohort(region_code=HAIKOU, institution=i1, name="SYB-1", starts_on=date(2026, 1, 2))
    gyb = make_cohort(
        region_code=SANYA,
        institution=i2,
        course=get_course("GYB"),
        name="GYB-1",
        starts_on=date(2025, 11, 17),
    )
    p1 = make_project(region_code=HAIKOU, title="P1")
    p2 = make_project(region_code=SANYA, title="P2")

    ann = make_founder(region_code=HAIKOU, name="ann", target_group="laid_off")
    make_enrollment(syb, ann, result="passed", completed_on=date(2026, 1, 15))
    noodles = make_business(
        ann,
        name="noodles",
        opened_on=date(2026, 3, 1),
        library_project_id=p1.id,
        employees_at_opening=4,
        employees=4,
    )
    make_residency(make_base(region_code=HAIKOU), noodles, starts_on=date(2026, 4, 1))
    make_loan(founder=ann, region_code=HAIKOU, disbursed_on=date(2026, 3, 10))
    make_task("business", subject=noodles, due_on=date(2026, 6, 1), status="done")

    bo = make_founder(region_code=SANYA, name="bo", target_group="college_graduate")
    make_enrollment(gyb, bo, result="passed", completed_on=date(2025, 11, 30))
    make_adoption(p2, bo, adopted_on=date(2025, 12, 1))
    make_task("post_training", founder=bo, due_on=date(2026, 2, 28), status="missed")

    cai = make_founder(region_code=HAIKOU, name="cai", target_group="laid_off")
    make_enrollment(syb, cai, result="failed", completed_on=date(2026, 1, 15))

    dan = make_founder(region_code=SANYA, name="dan", target_group="migrant_worker")
    tea = make_business(dan, name="tea", opened_on=date(2026, 2, 1))
    make_observation(tea, observed_on=date(2026, 5, 2), status="closed", closed_on=date(2026, 5, 1))

    make_founder(
        region_code=SANYA,
        name="eve",
        target_group="college_graduate",
        lost_to_follow_up_on=date(2026, 6, 1),
    )
    return {"p1": p1.id, "p2": p2.id, "i1": i1.id, "i2": i2.id, "syb": syb.id, "gyb": gyb.id}


def _by(dimension: Dimension, region: str = PROVINCE) -> dict:
    return {row["key"]: row for row in compute_breakdown(region, D, dimension)}


def _counts(row: dict) -> dict:
    return {(group, name): row[group][name] for group, names in COUNTS.items() for name in names}


@pytest.mark.parametrize("dimension", list(Dimension))
def test_every_breakdown_adds_up_to_the_region(programme, dimension):
    total = _counts(compute_kpis(PROVINCE, D))
    groups = [_counts(row) for row in compute_breakdown(PROVINCE, D, dimension)]
    assert {key: sum(group[key] for group in groups) for key in total} == total
    assert total[("training", "enrolled")] == 3  # the data is really there


def test_by_region_is_each_city(programme):
    rows = _by(Dimension.REGION)
    assert set(rows) == {HAIKOU, SANYA}
    assert rows[HAIKOU]["label"] == "海口市"
    assert rows[HAIKOU]["training"] == {"enrolled": 2, "passed": 1, "failed": 1, "pass_rate": 0.5}
    assert rows[SANYA]["training"]["pass_rate"] == 1.0
    # Each city's row is that city's own figures.
    for code in (HAIKOU, SANYA):
        city = compute_kpis(code, D)
        assert {group: rows[code][group] for group in COUNTS} == {
            group: city[group] for group in COUNTS
        }


def test_by_loan_and_by_incubation_split_ann_from_the_rest(programme):
    for dimension in (Dimension.LOAN, Dimension.INCUBATED):
        rows = _by(dimension)
        assert set(rows) == {0, 1}
        with_it, without = rows[1], rows[0]
        assert with_it["training"]["enrolled"] == 1
        assert with_it["opening"] == {
            "eligible_3m": 1,
            "opened_3m": 1,
            "rate_3m": 1.0,
            "eligible_6m": 0,
            "opened_6m": 0,
            "rate_6m": None,
        }
        assert with_it["jobs"] == {"operating": 1, "jobs": 4, "jobs_per_business": 4.0}
        assert without["opening"]["rate_3m"] == 0.0  # bo: eligible at 3 months, not opened
        assert without["survival"]["closures"] == 1  # tea
        assert without["followups"]["missed"] == 1
        assert without["followups"]["lost"] == 1
    assert _by(Dimension.LOAN)[1]["loans"]["disbursed_count"] == 1
    assert _by(Dimension.LOAN)[0]["loans"]["disbursed_count"] == 0


def test_by_library_item_uses_the_business_project_else_the_founders(programme):
    rows = _by(Dimension.LIBRARY_ITEM)
    p1, p2 = programme["p1"], programme["p2"]
    assert set(rows) == {p1, p2, None}
    assert rows[p1]["label"] == "P1"
    # ann: her business's project, for her training too (she adopted nothing).
    assert rows[p1]["training"]["passed"] == 1
    assert rows[p1]["jobs"]["jobs"] == 4
    # bo adopted P2: his training, his opening cohort and his missed follow-up.
    assert rows[p2]["training"]["passed"] == 1
    assert rows[p2]["opening"]["eligible_6m"] == 1
    assert rows[p2]["followups"]["missed"] == 1
    assert rows[None]["label"] == "未使用项目库项目"
    assert rows[None]["survival"]["businesses"] == 1  # tea


def test_by_cohort_institution_and_target_group(programme):
    cohorts = _by(Dimension.COHORT)
    assert set(cohorts) == {programme["syb"], programme["gyb"], None}
    assert cohorts[programme["syb"]]["training"]["enrolled"] == 2
    # ann's business, loan and follow-up belong to her first passed cohort.
    assert cohorts[programme["syb"]]["loans"]["disbursed_count"] == 1
    assert cohorts[None]["survival"]["closures"] == 1  # dan never trained
    institutions = _by(Dimension.INSTITUTION)
    assert institutions[programme["i1"]]["label"] == "I1"
    assert institutions[programme["i2"]]["opening"]["eligible_3m"] == 1
    groups = _by(Dimension.TARGET_GROUP)
    assert set(groups) == {"laid_off", "college_graduate", "migrant_worker"}
    assert groups["college_graduate"]["followups"]["lost"] == 1
    assert groups["laid_off"]["training"]["pass_rate"] == 0.5


def test_by_month_of_entry(programme):
    opening = group_breakdown("opening", PROVINCE, D, Dimension.MONTH)
    assert set(opening) == {"2025-11", "2026-01"}
    assert opening["2026-01"]["opened_3m"] == 1
    assert opening["2025-11"]["eligible_6m"] == 1
    tasks = group_breakdown("followups", PROVINCE, D, Dimension.MONTH)
    assert tasks["2026-06"]["done_on_time"] == 1
    assert tasks["2026-02"]["missed"] == 1


@pytest.mark.parametrize("figure", sorted(FIGURE_LISTS))
def test_each_list_holds_what_its_number_counts(programme, figure):
    group, name = figure.split(".")
    counted = {
        "training": lambda k: k["training"][name],
        "opening": lambda k: k["opening"][name],
        "survival": lambda k: k["survival"][name],
        "jobs": lambda k: k["jobs"][name],
    }
    kpis = compute_kpis(PROVINCE, D)
    expected = {
        "loans.disbursed": kpis["loans"]["disbursed_count"],
        "loans.outstanding": 1,
        "loans.at_risk": 1,  # nothing paid since 03-10: 81 days past due on D
        "loans.compensated": 0,
        "loans.recovered": 0,
        "loans.installments_due": 3,  # ann's #1..#3, due by 06-30
        "followups.due": kpis["followups"]["due"],
        "followups.done_on_time": kpis["followups"]["done_on_time"],
        "followups.done": 1,
        "followups.missed": kpis["followups"]["missed"],
        "followups.lost": kpis["followups"]["lost"],
        "reemployment.trained": 0,
        "reemployment.observed": 0,
        "reemployment.employed": 0,
    }
    number = expected[figure] if figure in expected else counted[group](kpis)
    assert count_rows(ListQuery(figure, PROVINCE, D)) == number


def test_a_breakdown_cell_lists_its_own_records(programme):
    query = ListQuery("training.enrolled", PROVINCE, D, dimension=Dimension.REGION, key=HAIKOU)
    assert count_rows(query) == 2
    lost = ListQuery("followups.lost", PROVINCE, D, dimension=Dimension.LIBRARY_ITEM, key=None)
    assert count_rows(lost) == 1
    assert count_rows(ListQuery("loans.disbursed", SANYA, D)) == 0


def test_every_dashboard_link_names_a_list():
    assert set(FIGURE_LINKS.values()) <= set(FIGURE_LISTS)


def test_amounts_in_fen_add_up_to_the_money_figures(programme):
    from app.extensions import db
    from app.reports.lists import figure_rows_stmt

    rows = db.session.execute(figure_rows_stmt(ListQuery("loans.disbursed", PROVINCE, D))).all()
    total = sum(Decimal(row._mapping["amount_fen"]) / 100 for row in rows)
    assert f"{total:.2f}" == compute_kpis(PROVINCE, D)["loans"]["disbursed_amount"]
