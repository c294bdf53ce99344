"""The KPI engine (SPEC §11, §14): every figure of a region as of a date D.

A region's figures cover the region and its cities (a province includes its cities);
records dated after D are left out; an optional period [start, end] applies to each
figure's entry event. Every figure is one SQL aggregate (conditional sums, scalar
subqueries); Python only rounds and shapes the answer.

Definitions where SPEC §11 leaves a choice (docs: KPI definitions):

- Units. Training and opening count the founder's region (the founder is the unit),
  businesses their own region, loans the loan's region, follow-ups the task's region.
- training. An entrepreneurship enrollment (GYB/SYB/IYB/EYB) enrolled on or before D
  counts as `enrolled` when its enrollment date lies in the period. `passed` and `failed`
  are results whose completion date is ≤ D and in the period; a result completed after D
  is not known yet. (So a year's trainees stay what they were once the year is over.)
- opening. c = the founder's first passed entrepreneurship completion ≤ D; founders with
  a business opened on or before c are left out; the period applies to c. Eligible at m
  months: add_months(c, m) ≤ D; opened: one of the founder's businesses (any region) with
  c < opened_on ≤ add_months(c, m), counted among the eligible only.
- jobs. Businesses opened ≤ D (and in the period, by opened_on), their status on D the
  latest observation by then (`reports.status.status_as_of`); jobs = employees of the
  operating ones.
- loans. Loans disbursed ≤ D and in the period (by disbursed_on). The outstanding
  principal and PAR30 are computed as of D from the installments rather than read from
  the sweep's columns, so a past D does not see later payments: a loan is serviced on D
  when disbursed by then and not closed, compensated or ended by then; its outstanding
  principal on D is the amount less the principal allocated from payments made by D;
  days past due on D = D − the due date of its oldest installment due before D and not
  fully paid by D (paid_off_on). For D on the latest sweep's date this is the sweep's
  figure. The on-time rate takes installments with due_on ≤ D (the period applies to
  due_on) of loans disbursed by D, up to the loan's compensation or write-off (the bank
  expects nothing after that): amount due = principal + borrower interest (the
  subsidy is lost only once overdue, so this is what was owed on the due date); paid by
  due_on = the allocations of payments with paid_on ≤ due_on (partial payments count).
  Compensated and recovered amounts are the guarantee fund's compensation and recovery
  entries dated ≤ D for the same loans, so both rates cover the period's disbursements.
  Allocations are rebuilt from live payments, so a payment reversed after D no longer
  counts on D (the one place the figures read a later record).
- followups. Tasks due ≤ D and in the period (by due_on), not cancelled by D; done on
  time = done with done_on ≤ due_on; missed = missed as it stood on D (as the monthly
  snapshot counts it); response rate = tasks done by D / tasks due. `lost` = founders of
  the region flagged lost to follow-up on or before D (a stock: the period is not applied).
- survival. `reports.survival.survival_figures` over the same region set and period.

Each figure is a sum over the member rows of `reports.members`; `compute_breakdown`
groups the same rows by a `reports.dimensions.Dimension`, and `reports.lists` lists them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd
from sqlalchemy import Select, case, func, literal, or_, select, text

from app.core.sql import as_date
from app.extensions import db
from app.regions.models import Region
from app.reports import members as m
from app.reports.dimensions import KEY, Dimension, dimension_key, key_labels
from app.reports.members import Window
from app.reports.survival import YEAR_DAYS, survival_from_counts, survival_from_durations

RATE_PLACES = Decimal("0.0001")
CENT = Decimal("0.01")
GROUPS = ("training", "opening", "survival", "jobs", "loans", "followups")


def region_codes(region_code: str | None) -> list[str]:
    """The region and its cities (a city has none), in code order; None: every region
    (an administrator's or the whole programme's figures)."""
    stmt = select(Region.code).order_by(Region.code)
    if region_code is not None:
        stmt = stmt.where(or_(Region.code == region_code, Region.parent_code == region_code))
    return list(db.session.scalars(stmt))


def rate(numerator: Any, denominator: Any) -> float | None:
    """numerator / denominator rounded half-up to 4 places; None when nothing to divide by."""
    if not denominator:
        return None
    value = (Decimal(numerator or 0) / Decimal(denominator)).quantize(
        RATE_PLACES, rounding=ROUND_HALF_UP
    )
    return float(value)


def compute_kpis(
    region_code: str, as_of: date, start: date | None = None, end: date | None = None
) -> dict[str, Any]:
    """Every SPEC §11 figure of the region (and its cities) as of `as_of`, in the §14 shape."""
    figures = _grouped_figures(region_codes(region_code), Window(as_of, start, end), None)
    return {"region_code": region_code, "as_of": as_of.isoformat(), **figures[None]}


def compute_breakdown(
    region_code: str,
    as_of: date,
    dimension: Dimension,
    start: date | None = None,
    end: date | None = None,
) -> list[dict[str, Any]]:
    """The region's figures grouped by a dimension: one entry per value that has any record
    ({key, label, training, opening, ...}), regions and months in code order, the rest by
    label, the rows without a value last. Groups a value does not
    reach hold zero counts and null rates."""
    figures = _grouped_figures(region_codes(region_code), Window(as_of, start, end), dimension)
    return _breakdown_rows(figures, dimension)


def _breakdown_rows(
    figures: dict[Any, dict[str, Any]], dimension: Dimension
) -> list[dict[str, Any]]:
    """The breakdown's entries in the page's order (see `compute_breakdown`)."""
    labels = key_labels(dimension, figures)
    rows = [{"key": key, "label": labels[key], **values} for key, values in figures.items()]
    by_key = dimension in (Dimension.REGION, Dimension.MONTH)
    return sorted(
        rows,
        key=lambda row: (
            row["key"] is None,
            str(row["key"]) if by_key else str(row["label"]),
            str(row["key"]),
        ),
    )


def compute_kpis_and_region_breakdown(
    region_code: str, as_of: date, start: date | None = None, end: date | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """`compute_kpis` of the region and `compute_breakdown` of it by region, from one pass.

    Every record has exactly one region, so the region's sums are the sums of its rows by
    region, and its Kaplan–Meier counts theirs together: the statistics table and the
    monthly snapshot, which need both, read the province's tables once instead of twice."""
    codes, window = region_codes(region_code), Window(as_of, start, end)
    sums, outcomes = _grouped_sums(codes, window, Dimension.REGION)
    total_sums = {group: {None: _added(by_key.values())} for group, by_key in sums.items()}
    total_outcomes = {None: [row for rows in outcomes.values() for row in rows]}
    total = _figures_from(total_sums, total_outcomes, window, None)[None]
    rows = _breakdown_rows(
        _figures_from(sums, outcomes, window, Dimension.REGION), Dimension.REGION
    )
    return {"region_code": region_code, "as_of": as_of.isoformat(), **total}, rows


def _added(partial_sums: Any) -> dict[str, int]:
    added: dict[str, int] = {}
    for sums in partial_sums:
        for name, value in sums.items():
            added[name] = added.get(name, 0) + value
    return added


def _grouped_figures(
    codes: list[str], window: Window, dimension: Dimension | None
) -> dict[Any, dict[str, Any]]:
    sums, outcomes = _grouped_sums(codes, window, dimension)
    return _figures_from(sums, outcomes, window, dimension)


OutcomeCounts = dict[Any, list[tuple[Any, ...]]]


def _grouped_sums(
    codes: list[str], window: Window, dimension: Dimension | None
) -> tuple[dict[str, dict[Any, dict[str, int]]], OutcomeCounts]:
    """What the figures are made of, per dimension value: each group's sums, and the
    businesses counted by (duration, closed, a year old) with their operating and jobs
    sums (`_outcome_counts`)."""
    _without_jit()
    sums = {
        "training": _sums(m.training_members(codes, window), window, dimension),
        "opening": _sums(m.opening_members(codes, window), window, dimension),
        "loans": _sums(m.loan_members(codes, window), window, dimension),
        "installments": _sums(m.installment_members(codes, window), window, dimension),
        "followups": _sums(m.followup_members(codes, window), window, dimension),
        "lost": _sums(m.lost_members(codes, window), window, dimension),
    }
    return sums, _outcome_counts(codes, window, dimension)


def _figures_from(
    sums: dict[str, dict[Any, dict[str, int]]],
    outcomes: OutcomeCounts,
    window: Window,
    dimension: Dimension | None,
) -> dict[Any, dict[str, Any]]:
    survival, jobs = _outcomes_from(outcomes, window.as_of)
    keys = set(survival).union(*(set(by_key) for by_key in sums.values()), set(jobs))
    if dimension is None:
        keys = {None}
    return {
        key: {
            "training": training_figures(sums["training"].get(key, {})),
            "opening": opening_figures(sums["opening"].get(key, {})),
            "survival": survival.get(key) or _no_survival(window.as_of),
            "jobs": jobs_figures(jobs.get(key, {})),
            "loans": loan_figures(sums["loans"].get(key, {}), sums["installments"].get(key, {})),
            "followups": followup_figures(
                sums["followups"].get(key, {}), sums["lost"].get(key, {})
            ),
        }
        for key in keys
    }


def _without_jit() -> None:
    """PostgreSQL: no JIT compilation for the rest of this transaction (the request's).

    The KPI statements are aggregates over up to a million rows that run in about a second;
    their estimated cost is above jit_above_cost, so PostgreSQL compiles 60 to 140
    expressions per statement, in each parallel worker: at 1M founders that took 0.2 to
    1 s per statement, more than it saved (EXPLAIN ANALYZE, docs/performance.md)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL jit = off"))


def keyed(members: Select, window: Window, dimension: Dimension | None) -> Any:
    """The member statement as a subquery with its dimension value in `group_key`."""
    rows = members.subquery("members")
    key = literal(None) if dimension is None else dimension_key(dimension, rows, window.day)
    return select(rows, key.label(KEY)).subquery("keyed")


def _sums(
    members: Select, window: Window, dimension: Dimension | None
) -> dict[Any, dict[str, int]]:
    """Row count and the sum of every numeric member column, per dimension value."""
    source = keyed(members, window, dimension)
    summed = [
        column
        for column in source.c
        if column.key not in _NOT_SUMMED and not column.key.endswith("_id")
    ]
    stmt = select(
        source.c[KEY],
        func.count().label("rows"),
        *(func.coalesce(func.sum(column), 0).label(column.key) for column in summed),
    ).group_by(source.c[KEY])
    return {
        row[KEY]: {name: int(value or 0) for name, value in row.items() if name != KEY}
        for row in db.session.execute(stmt).mappings()
    }


_NOT_SUMMED = {KEY, "region_code", "entry_on", "opened_on", "duration_days"}


def _business_outcomes(
    codes: list[str], window: Window, dimension: Dimension | None
) -> tuple[dict[Any, dict[str, Any]], dict[Any, dict[str, int]]]:
    """Survival figures and jobs sums per dimension value, from one statement."""
    return _outcomes_from(_outcome_counts(codes, window, dimension), window.as_of)


def _outcome_counts(codes: list[str], window: Window, dimension: Dimension | None) -> OutcomeCounts:
    """The businesses of the survival and jobs figures per dimension value, counted.

    The businesses of the survival and jobs figures are the same rows, and both need each
    business's latest observation by D: one read of the observations serves both. The
    database groups the businesses by (duration, closed, opened a year before D), so Python
    receives a few thousand counted rows rather than one per business; Kaplan–Meier takes
    the counts as weights (`survival_from_counts`)."""
    source = keyed(m.business_outcome_members(codes, window), window, dimension)
    year_before = as_date(window.as_of - timedelta(days=YEAR_DAYS))
    old_enough = case((source.c.opened_on <= year_before, 1), else_=0)
    key = source.c[KEY]
    rows = db.session.execute(
        select(
            key,
            source.c.duration_days,
            source.c.is_closed,
            old_enough,
            func.count(),
            func.coalesce(func.sum(source.c.operating), 0),
            func.coalesce(func.sum(source.c.jobs), 0),
        ).group_by(key, source.c.duration_days, source.c.is_closed, old_enough)
    ).all()
    grouped: OutcomeCounts = {}
    for row in rows:
        grouped.setdefault(row[0], []).append(tuple(row[1:]))
    return grouped


def _outcomes_from(
    grouped: OutcomeCounts, as_of: date
) -> tuple[dict[Any, dict[str, Any]], dict[Any, dict[str, int]]]:
    """Kaplan–Meier figures and jobs sums per dimension value from the counted rows."""
    survival, jobs = {}, {}
    for value, counted in grouped.items():
        if not counted:
            continue
        days, closed, old, count, operating, employed = zip(*counted, strict=True)
        survival[value] = survival_from_counts(days, closed, old, count, as_of)
        jobs[value] = {
            "rows": sum(int(n) for n in count),
            "operating": sum(int(n) for n in operating),
            "jobs": sum(int(n) for n in employed),
        }
    return survival, jobs


def _survival_by_key(
    codes: list[str], window: Window, dimension: Dimension | None
) -> dict[Any, dict[str, Any]]:
    survival = _business_outcomes(codes, window, dimension)[0]
    if dimension is None and None not in survival:
        survival[None] = _no_survival(window.as_of)
    return survival


def survival_breakdown(
    region_code: str | None,
    as_of: date,
    dimension: Dimension | None,
    start: date | None = None,
    end: date | None = None,
) -> dict[Any, dict[str, Any]]:
    """The survival figures alone, by a dimension (None: one entry for the whole region)."""
    return _survival_by_key(region_codes(region_code), Window(as_of, start, end), dimension)


def survival_by_region_and_total(
    region_code: str, as_of: date, start: date | None = None, end: date | None = None
) -> tuple[dict[Any, dict[str, Any]], dict[str, Any]]:
    """`survival_breakdown` by region and for the whole region, from one read."""
    window = Window(as_of, start, end)
    outcomes = _outcome_counts(region_codes(region_code), window, Dimension.REGION)
    by_region = _outcomes_from(outcomes, as_of)[0]
    everything = {None: [row for rows in outcomes.values() for row in rows]}
    total = _outcomes_from(everything, as_of)[0].get(None) or _no_survival(as_of)
    return by_region, total


def empty_figures(as_of: date) -> dict[str, Any]:
    """Every group's figures for a region without a record: zero counts, null rates."""
    return {
        "training": training_figures({}),
        "opening": opening_figures({}),
        "survival": _no_survival(as_of),
        "jobs": jobs_figures({}),
        "loans": loan_figures({}, {}),
        "followups": followup_figures({}, {}),
    }


def _no_survival(as_of: date) -> dict[str, Any]:
    empty = pd.DataFrame(
        {"business_id": [], "opened_on": [], "is_closed": [], "duration_days": []}
    ).astype({"is_closed": "bool", "duration_days": "int64"})
    return survival_from_durations(empty, as_of)


def training_figures(sums: dict[str, int]) -> dict[str, Any]:
    """Entrepreneurship enrollments entering the period: enrolled, passed, failed, pass rate."""
    passed, failed = sums.get("passed", 0), sums.get("failed", 0)
    return {
        "enrolled": sums.get("enrolled", 0),
        "passed": passed,
        "failed": failed,
        "pass_rate": rate(passed, passed + failed),
    }


def opening_figures(sums: dict[str, int]) -> dict[str, Any]:
    """Opening rates at 3 and 6 months after the first passed entrepreneurship training."""
    figures: dict[str, Any] = {}
    for months in (3, 6):
        eligible, opened = sums.get(f"eligible_{months}m", 0), sums.get(f"opened_{months}m", 0)
        figures[f"eligible_{months}m"] = eligible
        figures[f"opened_{months}m"] = opened
        figures[f"rate_{months}m"] = rate(opened, eligible)
    return figures


def jobs_figures(sums: dict[str, int]) -> dict[str, Any]:
    """Operating businesses on D, their employees, and jobs per operating business."""
    operating, jobs = sums.get("operating", 0), sums.get("jobs", 0)
    return {"operating": operating, "jobs": jobs, "jobs_per_business": rate(jobs, operating)}


def loan_figures(loans: dict[str, int], installments: dict[str, int]) -> dict[str, Any]:
    """Disbursements, outstanding principal, on-time repayment, PAR30, compensation and
    recovery of the loans disbursed by D (and in the period)."""
    disbursed, compensated = loans.get("amount_fen", 0), loans.get("compensated_fen", 0)
    outstanding = loans.get("outstanding_fen", 0)
    return {
        "disbursed_count": loans.get("rows", 0),
        "disbursed_amount": _money(disbursed),
        "outstanding_principal": _money(outstanding),
        "on_time_rate": rate(installments.get("paid_fen", 0), installments.get("due_fen", 0)),
        "par30": rate(loans.get("at_risk_fen", 0), outstanding),
        "compensation_rate": rate(compensated, disbursed),
        "recovery_rate": rate(loans.get("recovered_fen", 0), compensated),
    }


def followup_figures(tasks: dict[str, int], lost: dict[str, int]) -> dict[str, Any]:
    """Follow-up tasks due by D (and in the period): timeliness, misses, response, lost."""
    due = tasks.get("due", 0)
    return {
        "due": due,
        "done_on_time": tasks.get("done_on_time", 0),
        "on_time_rate": rate(tasks.get("done_on_time", 0), due),
        "missed": tasks.get("missed", 0),
        "response_rate": rate(tasks.get("done", 0), due),
        "lost": lost.get("lost", 0),
    }


def _money(fen: int) -> str:
    return f"{(Decimal(int(fen or 0)) / 100).quantize(CENT):.2f}"


def reemployment_figures(sums: dict[str, int]) -> dict[str, Any]:
    """Re-employment after skills training (SPEC §1): founders with a passed skills course,
    those whose employment was observed since, and those then working; the rate is over
    the observed ones, shown with the response rate (observed / trained) behind it."""
    trained, observed = sums.get("trained", 0), sums.get("observed", 0)
    return {
        "trained": trained,
        "observed": observed,
        "employed": sums.get("employed", 0),
        "rate": rate(sums.get("employed", 0), observed),
        "response_rate": rate(observed, trained),
    }


def compute_reemployment(
    region_code: str, as_of: date, start: date | None = None, end: date | None = None
) -> dict[str, Any]:
    """The region's re-employment figures as of `as_of` (see `reemployment_figures`)."""
    window = Window(as_of, start, end)
    sums = _sums(m.reemployment_members(region_codes(region_code), window), window, None)
    return reemployment_figures(sums.get(None, {}))


# How a group's member sums become its figures, for one-group breakdowns (charts).
_SHAPES: dict[str, tuple[str, Callable[[dict[str, int]], dict[str, Any]]]] = {
    "training": ("training", training_figures),
    "opening": ("opening", opening_figures),
    "jobs": ("jobs", jobs_figures),
    "followups": ("followups", lambda sums: followup_figures(sums, {})),
    "reemployment": ("reemployment", reemployment_figures),
}


def group_breakdown(
    group: str,
    region_code: str | None,
    as_of: date,
    dimension: Dimension,
    start: date | None = None,
    end: date | None = None,
) -> dict[Any, dict[str, Any]]:
    """One figure group by a dimension ({key: figures}), cheaper than a full breakdown;
    `group` is training, opening, jobs, followups or reemployment. Follow-up rows also
    carry `done` (all done tasks) for timeliness charts."""
    family, shape = _SHAPES[group]
    window = Window(as_of, start, end)
    sums = _sums(MEMBER_STATEMENTS[family](region_codes(region_code), window), window, dimension)
    result = {}
    for key, values in sums.items():
        figures = shape(values)
        if group == "followups":
            figures = {**figures, "done": values.get("done", 0)}
        result[key] = figures
    return result


# Days-past-due buckets of the portfolio chart: (bucket, lowest, highest days).
BUCKET_BOUNDS = (("current", 0, 0), ("1-30", 1, 30), ("31-60", 31, 60), ("61-90", 61, 90))


def portfolio_by_bucket(
    region_code: str, as_of: date, start: date | None = None, end: date | None = None
) -> list[dict[str, Any]]:
    """Loans being repaid on D by days past due (current, 1-30, 31-60, 61-90, 90+): how
    many and their outstanding principal (a money string)."""
    window = Window(as_of, start, end)
    rows = m.loan_members(region_codes(region_code), window).subquery("loans")
    bucket = case(
        *((rows.c.days_past_due <= high, name) for name, _low, high in BUCKET_BOUNDS),
        else_="90+",
    )
    found = {
        name: (count, outstanding)
        for name, count, outstanding in db.session.execute(
            select(bucket, func.count(), func.coalesce(func.sum(rows.c.outstanding_fen), 0))
            .where(rows.c.serviced == 1)
            .group_by(bucket)
        )
    }
    names = [name for name, _low, _high in BUCKET_BOUNDS] + ["90+"]
    return [
        {
            "bucket": name,
            "loans": int(found.get(name, (0, 0))[0]),
            "outstanding": _money(found.get(name, (0, 0))[1]),
        }
        for name in names
    ]


# The member statement of each drill-down family (see reports.lists).
MEMBER_STATEMENTS: dict[str, Callable[[list[str], Window], Select]] = {
    "training": m.training_members,
    "opening": m.opening_members,
    "survival": m.survival_members,
    "jobs": m.business_members,
    "loans": m.loan_members,
    "installments": m.installment_members,
    "followups": m.followup_members,
    "lost": m.lost_members,
    "reemployment": m.reemployment_members,
}
