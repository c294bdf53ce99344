"""The counts behind GET /api/v1/kpis as hand-written SQL, to judge the app's statements
against (and to check them: the bench compares every number).

One statement per figure group, as a DBA would write them: the region set is a subquery
on `region`, flags are SUM(CASE …). They compute the counts and sums (training, opening,
jobs, survival's businesses and closures, disbursements, outstanding principal, the
amounts behind the on-time rate, follow-ups and lost founders); the Kaplan–Meier curve and
its band are arithmetic on the durations in Python and are not replicated.
`run(connection, dialect, region_code, as_of)` answers {group: {figure: value}} in the
API's shape, for the figures it covers.
"""

# The SQL is assembled from constants and dialect spellings only; values are bound.
# ruff: noqa: S608

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import text

REGIONS = "(SELECT code FROM region WHERE code = :region OR parent_code = :region)"
ENTREPRENEURSHIP = "('GYB', 'SYB', 'IYB', 'EYB')"


def _add_months(dialect: str, day: str, months: int) -> str:
    """`day` + `months` calendar months, clamped to the month's end."""
    if dialect == "sqlite":
        same_day = (
            f"date({day}, 'start of month', '+{months} months', "
            f"(CAST(strftime('%d', {day}) AS INTEGER) - 1) || ' days')"
        )
        return f"min({same_day}, date({day}, 'start of month', '+{months + 1} months', '-1 day'))"
    return f"CAST({day} + INTERVAL '{months} months' AS DATE)"


def _plus(dialect: str, day: str, days: int) -> str:
    if dialect == "sqlite":
        return f"date({day}, '+{days} days')"
    return f"CAST({day} + {days} AS DATE)"


def statements(dialect: str) -> dict[str, str]:
    """{group: SQL}; parameters :region and :day."""
    d = dialect
    first_pass = f"""
        SELECT e.founder_id, MIN(e.completed_on) AS c
        FROM enrollment e JOIN founder f ON f.id = e.founder_id
        JOIN cohort co ON co.id = e.cohort_id JOIN course cu ON cu.id = co.course_id
        WHERE cu.kind IN {ENTREPRENEURSHIP} AND f.region_code IN {REGIONS}
          AND e.result = 'passed' AND e.completed_on <= :day
        GROUP BY e.founder_id"""

    # A founder's first business opened by D: one opened on or before c excludes the
    # founder; otherwise it is the first opened after c too.
    first_business = """
        SELECT b.founder_id, MIN(b.opened_on) AS opened_on
        FROM business b WHERE b.opened_on <= :day GROUP BY b.founder_id"""

    def opened(months: int) -> str:
        return f"fb.opened_on <= {_add_months(d, 'p.c', months)}"

    # Each business's latest observation by D, of the region's businesses.
    if d == "postgresql":
        latest_status = f"""
            SELECT DISTINCT ON (o.business_id) o.business_id, o.status, o.employees
            FROM business_observation o JOIN business b ON b.id = o.business_id
            WHERE o.observed_on <= :day AND b.region_code IN {REGIONS}
            ORDER BY o.business_id, o.observed_on DESC, o.id DESC"""
    else:
        latest_status = f"""
            SELECT business_id, status, employees FROM (
              SELECT o.business_id, o.status, o.employees,
                     ROW_NUMBER() OVER (PARTITION BY o.business_id
                                        ORDER BY o.observed_on DESC, o.id DESC) AS n
              FROM business_observation o JOIN business b ON b.id = o.business_id
              WHERE o.observed_on <= :day AND b.region_code IN {REGIONS}) AS ranked
            WHERE n = 1"""
    return {
        "training": f"""
            SELECT
              SUM(CASE WHEN e.enrolled_on <= :day THEN 1 ELSE 0 END) AS enrolled,
              SUM(CASE WHEN e.completed_on <= :day AND e.result = 'passed' THEN 1 ELSE 0 END)
                AS passed,
              SUM(CASE WHEN e.completed_on <= :day AND e.result = 'failed' THEN 1 ELSE 0 END)
                AS failed
            FROM enrollment e JOIN founder f ON f.id = e.founder_id
            JOIN cohort co ON co.id = e.cohort_id JOIN course cu ON cu.id = co.course_id
            WHERE cu.kind IN {ENTREPRENEURSHIP} AND f.region_code IN {REGIONS}
              AND e.enrolled_on <= :day""",
        "opening": f"""
            SELECT
              SUM(CASE WHEN {_add_months(d, "p.c", 3)} <= :day THEN 1 ELSE 0 END)
                AS eligible_3m,
              SUM(CASE WHEN {_add_months(d, "p.c", 3)} <= :day AND {opened(3)} THEN 1 ELSE 0 END)
                AS opened_3m,
              SUM(CASE WHEN {_add_months(d, "p.c", 6)} <= :day THEN 1 ELSE 0 END)
                AS eligible_6m,
              SUM(CASE WHEN {_add_months(d, "p.c", 6)} <= :day AND {opened(6)} THEN 1 ELSE 0 END)
                AS opened_6m
            FROM ({first_pass}) AS p
            LEFT JOIN ({first_business}) AS fb ON fb.founder_id = p.founder_id
            WHERE fb.opened_on IS NULL OR fb.opened_on > p.c""",
        # Jobs and survival count the same businesses by their status on D: one pass.
        "businesses": f"""
            SELECT
              SUM(CASE WHEN COALESCE(s.status, 'operating') = 'operating' THEN 1 ELSE 0 END)
                AS operating,
              SUM(CASE WHEN COALESCE(s.status, 'operating') = 'operating'
                       THEN COALESCE(s.employees, b.employees_at_opening) ELSE 0 END) AS jobs,
              COUNT(*) AS businesses,
              SUM(CASE WHEN s.status = 'closed' AND f.id IS NULL THEN 1 ELSE 0 END) AS closures
            FROM business b LEFT JOIN ({latest_status}) AS s ON s.business_id = b.id
            LEFT JOIN founder f ON f.id = b.founder_id AND f.lost_to_follow_up_on <= :day
            WHERE b.region_code IN {REGIONS} AND b.opened_on <= :day""",
        "loans": f"""
            SELECT COUNT(*) AS disbursed_count, SUM(l.amount) AS disbursed_fen,
              SUM(CASE WHEN (l.closed_on IS NULL OR l.closed_on > :day)
                        AND (l.compensated_on IS NULL OR l.compensated_on > :day)
                        AND (l.ended_on IS NULL OR l.ended_on > :day)
                       THEN l.amount - COALESCE(paid.principal, 0) ELSE 0 END)
                AS outstanding_fen
            FROM loan l LEFT JOIN (
              SELECT i.loan_id, SUM(a.principal) AS principal
              FROM repayment_allocation a JOIN repayment r ON r.id = a.repayment_id
              JOIN loan_installment i ON i.id = a.installment_id
              WHERE r.paid_on <= :day GROUP BY i.loan_id) AS paid ON paid.loan_id = l.id
            WHERE l.region_code IN {REGIONS} AND l.disbursed_on <= :day""",
        "installments": f"""
            SELECT SUM(i.principal + i.borrower_interest) AS due_fen,
                   SUM(COALESCE(paid.amount, 0)) AS paid_fen
            FROM loan_installment i JOIN loan l ON l.id = i.loan_id
            LEFT JOIN (
              SELECT a.installment_id, SUM(a.principal + a.interest) AS amount
              FROM repayment_allocation a JOIN repayment r ON r.id = a.repayment_id
              JOIN loan_installment i2 ON i2.id = a.installment_id
              WHERE r.paid_on <= i2.due_on GROUP BY a.installment_id
            ) AS paid ON paid.installment_id = i.id
            WHERE l.region_code IN {REGIONS} AND l.disbursed_on <= :day AND i.due_on <= :day
              AND (l.compensated_on IS NULL OR i.due_on <= l.compensated_on)
              AND (l.ended_on IS NULL OR i.due_on <= l.ended_on)""",
        "followups": f"""
            SELECT COUNT(*) AS due,
              SUM(CASE WHEN t.status = 'done' AND t.done_on <= :day AND t.done_on <= t.due_on
                       THEN 1 ELSE 0 END) AS done_on_time,
              SUM(CASE WHEN {_plus(d, "t.due_on", 31)} <= :day
                        AND ((t.status = 'missed' AND t.closed_on <= :day)
                             OR (t.status = 'done' AND t.done_on > :day))
                       THEN 1 ELSE 0 END) AS missed
            FROM followup_task t
            WHERE t.region_code IN {REGIONS} AND t.due_on <= :day
              AND NOT (t.status = 'cancelled' AND t.closed_on <= :day)""",
        "lost": f"""
            SELECT COUNT(*) AS lost FROM founder f
            WHERE f.region_code IN {REGIONS} AND f.lost_to_follow_up_on <= :day""",
    }


def _money(fen: Any) -> str:
    return f"{Decimal(int(fen or 0)) / 100:.2f}"


def _rate(numerator: Any, denominator: Any) -> float | None:
    if not denominator:
        return None
    return float(
        (Decimal(int(numerator or 0)) / Decimal(int(denominator))).quantize(
            Decimal("0.0001"), rounding=ROUND_HALF_UP
        )
    )


def run(connection: Any, dialect: str, region_code: str, as_of: date) -> dict[str, Any]:
    """The covered KPI figures of the region as of `as_of`, in the API's shape."""
    if dialect == "postgresql":
        # As the app does (reports.kpis._without_jit): compiling these aggregates costs
        # more than it saves.
        connection.execute(text("SET LOCAL jit = off"))
    sums = {
        group: {key: int(value or 0) for key, value in row.items()}
        for group, sql in statements(dialect).items()
        for row in [
            connection.execute(text(sql), {"region": region_code, "day": as_of}).mappings().one()
        ]
    }
    loans, installments = sums["loans"], sums["installments"]
    return {
        "training": sums["training"],
        "opening": sums["opening"],
        "jobs": {key: sums["businesses"][key] for key in ("operating", "jobs")},
        "survival": {key: sums["businesses"][key] for key in ("businesses", "closures")},
        "loans": {
            "disbursed_count": loans["disbursed_count"],
            "disbursed_amount": _money(loans["disbursed_fen"]),
            "outstanding_principal": _money(loans["outstanding_fen"]),
            "on_time_rate": _rate(installments["paid_fen"], installments["due_fen"]),
        },
        "followups": {**sums["followups"], "lost": sums["lost"]["lost"]},
    }


def differences(app_figures: dict[str, Any], raw: dict[str, Any]) -> list[str]:
    """Every covered figure where the API and the raw SQL disagree ("group.figure: a != b")."""
    found = []
    for group, figures in raw.items():
        for name, value in figures.items():
            theirs = app_figures.get(group, {}).get(name)
            if theirs != value:
                found.append(f"{group}.{name}: app {theirs!r} != sql {value!r}")
    return found
