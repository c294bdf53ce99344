"""The KPI engine (SPEC §11): each formula on small hand-made data, with the expected
figure written out; the as_of cut-off, the 3- and 6-month eligibility windows, nulls when
nothing is divided, periods, and a province summing its cities' counts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from app.extensions import db
from app.followups.models import FollowupTask
from app.loans import operations
from app.loans.models import FundEntry, FundEntryKind, Loan
from app.reports.kpis import compute_kpis, rate, region_codes
from app.reports.survival import survival_figures
from tests.businesses.factories import make_business, make_observation
from tests.factories import make_founder
from tests.loans.factories import make_loan
from tests.training.factories import get_course, make_cohort, make_course, make_enrollment

D = date(2026, 6, 30)
HAIKOU, SANYA, PROVINCE, QIONGHAI = "460100", "460200", "460000", "469002"
GROUPS = ("training", "opening", "survival", "jobs", "loans", "followups")


def kpis(region: str, as_of: date = D, start: date | None = None, end: date | None = None):
    return compute_kpis(region, as_of, start, end)


# --- rounding --------------------------------------------------------------------------


def test_rates_round_half_up_to_4_places_and_are_null_without_a_denominator():
    assert rate(2, 3) == 0.6667
    assert rate(1, 20000) == 0.0001  # half-up, where half-even would give 0.0
    assert rate(1, 8) == 0.125
    assert rate(0, 5) == 0.0
    assert rate(3, 0) is None
    assert rate(None, None) is None


def test_region_set_is_the_region_and_its_cities(db_session):
    codes = region_codes(PROVINCE)
    assert {PROVINCE, HAIKOU, SANYA} <= set(codes)
    assert "310000" not in codes
    assert region_codes(HAIKOU) == [HAIKOU]


# --- training ------------------------------------------------------------------------


def _enroll(region: str, course_code: str | None, result: str | None, completed_on, **fields):
    course = get_course(course_code) if course_code else make_course(kind="skill")
    cohort = make_cohort(region_code=region, course=course, starts_on=date(2026, 3, 2))
    founder = make_founder(region_code=region)
    return make_enrollment(cohort, founder, result=result, completed_on=completed_on, **fields)


def test_training_counts_pass_rate_cut_off_and_period(db_session):
    done = date(2026, 3, 13)
    _enroll(HAIKOU, "SYB", "passed", done)
    _enroll(HAIKOU, "SYB", "failed", done)
    _enroll(HAIKOU, "SYB", "dropped", done)  # enrolled, neither passed nor failed
    # Completed after D: enrolled (by its enrollment date), the result not known yet.
    _enroll(HAIKOU, "SYB", "passed", date(2026, 7, 3), enrolled_on=date(2026, 6, 22))
    _enroll(HAIKOU, None, "passed", done)  # a skill course: not entrepreneurship
    _enroll(HAIKOU, "SYB", None, None, enrolled_on=date(2026, 7, 1))  # enrolled after D
    _enroll(SANYA, "GYB", "passed", date(2026, 4, 10))
    _enroll(SANYA, "IYB", "failed", date(2026, 4, 10))
    _enroll(SANYA, "EYB", "passed", date(2026, 4, 10))

    assert kpis(HAIKOU)["training"] == {
        "enrolled": 4,
        "passed": 1,
        "failed": 1,
        "pass_rate": 0.5,
    }
    assert kpis(SANYA)["training"] == {
        "enrolled": 3,
        "passed": 2,
        "failed": 1,
        "pass_rate": 0.6667,
    }
    assert kpis(PROVINCE)["training"] == {
        "enrolled": 7,
        "passed": 3,
        "failed": 2,
        "pass_rate": 0.6,
    }
    # The period applies to the completion date (the enrollment date while not completed).
    april_on = kpis(HAIKOU, start=date(2026, 4, 1), end=D)["training"]
    assert april_on == {"enrolled": 1, "passed": 0, "failed": 0, "pass_rate": None}
    # Before the March completions, nothing is known about them.
    assert kpis(HAIKOU, as_of=date(2026, 3, 12))["training"] == {
        "enrolled": 3,
        "passed": 0,
        "failed": 0,
        "pass_rate": None,
    }


# --- opening -------------------------------------------------------------------------


def _passed(region: str, completed_on: date, opened_on: date | None = None):
    founder = make_founder(region_code=region, registered_on=date(2025, 1, 5))
    cohort = make_cohort(region_code=region, starts_on=date(2025, 9, 1))
    make_enrollment(cohort, founder, result="passed", completed_on=completed_on)
    if opened_on is not None:
        make_business(founder, opened_on=opened_on)
    return founder


def test_opening_rates_at_3_and_6_months(db_session):
    _passed(HAIKOU, date(2026, 1, 15), date(2026, 3, 1))  # 3m: opened; 6m: not eligible yet
    _passed(HAIKOU, date(2025, 12, 31), date(2026, 5, 15))  # 3m: not opened; 6m (06-30): opened
    _passed(HAIKOU, date(2025, 11, 30))  # eligible at both, never opened
    # 30 November + 3 months is 28 February: 1 March is outside, within 6 months (30 May).
    _passed(HAIKOU, date(2025, 11, 30), date(2026, 3, 1))
    _passed(HAIKOU, date(2026, 5, 1))  # 3 months not over by D: not eligible
    _passed(HAIKOU, date(2026, 1, 5), date(2026, 7, 1))  # opened after D: not counted
    # Had a business on the completion day: not in the cohort at all.
    _passed(HAIKOU, date(2026, 2, 10), date(2026, 2, 10))
    # Only the first pass counts: a later second pass does not move c.
    twice = _passed(HAIKOU, date(2025, 12, 1))
    make_enrollment(
        make_cohort(region_code=HAIKOU, course=get_course("GYB")),
        twice,
        result="passed",
        completed_on=date(2026, 3, 13),
    )
    # A founder who only failed is not in the cohort.
    failed = make_founder(region_code=HAIKOU)
    make_enrollment(make_cohort(), failed, result="failed", completed_on=date(2026, 1, 9))
    _passed(SANYA, date(2026, 2, 1), date(2026, 6, 1))  # 3m (05-01): not opened in time

    # Eligible at 3m: 01-15, 12-31, 11-30 ×2, 01-05, 12-01 = 6; opened: 01-15 only.
    # Eligible at 6m: 12-31, 11-30 ×2, 12-01 = 4; opened: 12-31 and the 1 March one.
    assert kpis(HAIKOU)["opening"] == {
        "eligible_3m": 6,
        "opened_3m": 1,
        "rate_3m": 0.1667,
        "eligible_6m": 4,
        "opened_6m": 2,
        "rate_6m": 0.5,
    }
    assert kpis(SANYA)["opening"] == {
        "eligible_3m": 1,
        "opened_3m": 0,
        "rate_3m": 0.0,
        "eligible_6m": 0,
        "opened_6m": 0,
        "rate_6m": None,
    }
    assert kpis(PROVINCE)["opening"] == {
        "eligible_3m": 7,
        "opened_3m": 1,
        "rate_3m": 0.1429,
        "eligible_6m": 4,
        "opened_6m": 2,
        "rate_6m": 0.5,
    }
    # The period applies to c: January 2026 on leaves 01-15, 01-05 (and 05-01, 02-10 out).
    assert kpis(HAIKOU, start=date(2026, 1, 1))["opening"] == {
        "eligible_3m": 2,
        "opened_3m": 1,
        "rate_3m": 0.5,
        "eligible_6m": 0,
        "opened_6m": 0,
        "rate_6m": None,
    }
    # A month earlier only the two 11-30 founders have had their 6 months (to 30 May).
    assert kpis(HAIKOU, as_of=date(2026, 5, 31))["opening"]["eligible_6m"] == 2


# --- jobs ----------------------------------------------------------------------------


def test_jobs_count_operating_businesses_by_their_latest_observation(db_session):
    haikou = make_founder(region_code=HAIKOU)
    make_business(haikou, opened_on=date(2026, 1, 10), employees_at_opening=2)
    grew = make_business(haikou, opened_on=date(2026, 2, 1), employees_at_opening=1)
    make_observation(grew, observed_on=date(2026, 5, 1), employees=5)
    make_observation(grew, observed_on=date(2026, 7, 15), employees=9)  # after D
    closed = make_business(haikou, opened_on=date(2026, 2, 1), employees_at_opening=4)
    make_observation(closed, status="closed", observed_on=date(2026, 4, 1))
    paused = make_business(haikou, opened_on=date(2026, 3, 1), employees_at_opening=4)
    make_observation(paused, status="suspended", observed_on=date(2026, 6, 1), employees=0)
    make_observation(paused, observed_on=date(2026, 7, 2), employees=4)  # after D
    make_business(haikou, opened_on=date(2026, 7, 1), employees_at_opening=6)  # after D
    sanya = make_business(
        make_founder(region_code=SANYA), opened_on=date(2026, 3, 1), employees_at_opening=3
    )
    make_observation(sanya, observed_on=date(2026, 6, 1), employees=4)

    assert kpis(HAIKOU)["jobs"] == {"operating": 2, "jobs": 7, "jobs_per_business": 3.5}
    assert kpis(SANYA)["jobs"] == {"operating": 1, "jobs": 4, "jobs_per_business": 4.0}
    assert kpis(PROVINCE)["jobs"] == {"operating": 3, "jobs": 11, "jobs_per_business": 3.6667}
    assert kpis(QIONGHAI)["jobs"] == {"operating": 0, "jobs": 0, "jobs_per_business": None}
    # The period applies to the opening date: only the two February businesses, one closed.
    february = kpis(HAIKOU, start=date(2026, 2, 1), end=date(2026, 2, 28))["jobs"]
    assert february == {"operating": 1, "jobs": 5, "jobs_per_business": 5.0}


# --- loans ---------------------------------------------------------------------------


def _pay(loan: Loan, paid_on: date, amount: str) -> None:
    officer = loan.approved_by_id
    from app.auth.models import User

    operations.post_repayment(
        db.session.get(User, officer),
        loan.id,
        {"paid_on": paid_on, "amount": Decimal(amount), "reference": f"R-{loan.id}-{paid_on}"},
        as_of=paid_on,
    )


def _loan(region: str, amount: str, months: int, disbursed_on: date) -> Loan:
    # The default policy subsidises all interest: the borrower owes principal only.
    return make_loan(
        region_code=region,
        amount=Decimal(amount),
        term_months=months,
        repayment_method="equal_principal",
        disbursed_on=disbursed_on,
    )


def test_loan_figures_on_time_outstanding_and_par30(db_session):
    # Haikou: 12 × 1000 due on the last day of each month from February.
    haikou = _loan(HAIKOU, "12000.00", 12, date(2026, 1, 31))
    _pay(haikou, date(2026, 2, 27), "1000.00")  # #1 on time
    # #2 (due 03-31) paid late: overdue, it lost its subsidy, so it takes its interest too.
    _pay(haikou, date(2026, 4, 10), "1031.63")
    _pay(haikou, date(2026, 4, 30), "500.00")  # half of #3 on its due date
    _pay(haikou, date(2026, 7, 5), "2000.00")  # after D: the rest of #3, #4, half of #5
    # Sanya: 6 × 1000 due on the 15th from April; three paid ahead on 1 April.
    sanya = _loan(SANYA, "6000.00", 6, date(2026, 3, 15))
    _pay(sanya, date(2026, 4, 1), "3000.00")
    _loan(HAIKOU, "50000.00", 12, date(2026, 7, 10))  # disbursed after D

    # Haikou on D: due #1..#5 = 5000, paid by due dates 1000 + 500; outstanding 12000 −
    # 2500 = 9500, oldest unpaid #3 (due 04-30) is 61 days past due: all of it at risk.
    assert kpis(HAIKOU)["loans"] == {
        "disbursed_count": 1,
        "disbursed_amount": "12000.00",
        "outstanding_principal": "9500.00",
        "on_time_rate": 0.3,
        "par30": 1.0,
        "compensation_rate": 0.0,
        "recovery_rate": None,
    }
    assert kpis(SANYA)["loans"] == {
        "disbursed_count": 1,
        "disbursed_amount": "6000.00",
        "outstanding_principal": "3000.00",
        "on_time_rate": 1.0,
        "par30": 0.0,
        "compensation_rate": 0.0,
        "recovery_rate": None,
    }
    assert kpis(PROVINCE)["loans"] == {
        "disbursed_count": 2,
        "disbursed_amount": "18000.00",
        "outstanding_principal": "12500.00",
        "on_time_rate": 0.5625,  # (1500 + 3000) / (5000 + 3000)
        "par30": 0.76,  # 9500 / 12500
        "compensation_rate": 0.0,
        "recovery_rate": None,
    }
    # On 31 May #3 is 31 days past due (> 30): still at risk; on 30 May exactly 30: not.
    assert kpis(HAIKOU, as_of=date(2026, 5, 31))["loans"]["par30"] == 1.0
    assert kpis(HAIKOU, as_of=date(2026, 5, 30))["loans"]["par30"] == 0.0
    # The period applies to the due date for the on-time rate (#2..#3: 500 of 2000)...
    spring = kpis(HAIKOU, start=date(2026, 3, 1), end=date(2026, 4, 30))["loans"]
    assert spring["on_time_rate"] == 0.25
    # ...and to the disbursement date for the rest: nothing disbursed in spring.
    assert spring["disbursed_count"] == 0
    assert spring["disbursed_amount"] == "0.00"
    assert spring["par30"] is None
    # Once every payment is dated by D, the outstanding is what servicing keeps on the loan.
    july = kpis(HAIKOU, as_of=date(2026, 7, 31))["loans"]
    assert july["disbursed_count"] == 2
    assert Decimal(july["outstanding_principal"]) == haikou.outstanding_principal + 50000


def test_compensation_and_recovery_rates(db_session):
    loan = _loan(HAIKOU, "10000.00", 12, date(2026, 1, 31))
    loan.status = "compensated"
    loan.compensated_on = date(2026, 5, 1)
    loan.compensated_amount = Decimal("4000.00")
    region = loan.fund_region_code
    for kind, entry_on, amount in (
        (FundEntryKind.COMPENSATION, date(2026, 5, 1), "-4000.00"),
        (FundEntryKind.RECOVERY, date(2026, 6, 1), "1000.00"),
        (FundEntryKind.RECOVERY, date(2026, 7, 1), "500.00"),  # after D
    ):
        db.session.add(
            FundEntry(
                region_code=region,
                kind=kind,
                entry_on=entry_on,
                amount=Decimal(amount),
                loan_id=loan.id,
                reference=f"{kind}-{entry_on}",
            )
        )
    db.session.flush()

    figures = kpis(HAIKOU)["loans"]
    assert figures["compensation_rate"] == 0.4  # 4000 / 10000
    assert figures["recovery_rate"] == 0.25  # 1000 / 4000
    assert figures["outstanding_principal"] == "0.00"  # compensated: the bank no longer carries it
    assert figures["par30"] is None
    assert kpis(HAIKOU, as_of=date(2026, 4, 30))["loans"]["compensation_rate"] == 0.0
    assert kpis(HAIKOU, as_of=date(2026, 7, 1))["loans"]["recovery_rate"] == 0.375
    assert kpis(PROVINCE)["loans"]["compensation_rate"] == 0.4


# --- follow-ups ----------------------------------------------------------------------


def _task(founder, status: str, due_on: date, sequence: int, **fields) -> None:
    db.session.add(
        FollowupTask(
            kind="intake_contact",
            subject_type="founder",
            subject_id=founder.id,
            founder_id=founder.id,
            sequence=sequence,
            due_on=due_on,
            status=status,
            region_code=founder.region_code,
            **fields,
        )
    )
    db.session.flush()


def test_followup_timeliness_misses_response_and_lost(db_session):
    haikou = make_founder(region_code=HAIKOU, lost_to_follow_up_on=date(2026, 6, 15))
    make_founder(region_code=HAIKOU, lost_to_follow_up_on=date(2026, 7, 1))  # after D
    sanya = make_founder(region_code=SANYA, lost_to_follow_up_on=date(2026, 3, 1))
    _task(
        haikou, "done", date(2026, 6, 1), 1, done_on=date(2026, 5, 30), closed_on=date(2026, 5, 30)
    )
    _task(
        haikou, "done", date(2026, 5, 1), 2, done_on=date(2026, 5, 20), closed_on=date(2026, 5, 20)
    )
    _task(haikou, "missed", date(2026, 4, 1), 3, closed_on=date(2026, 5, 2))
    # Done only after D: on D it was due, not done, and past its 30 days: missed.
    _task(
        haikou, "done", date(2026, 5, 10), 4, done_on=date(2026, 7, 2), closed_on=date(2026, 7, 2)
    )
    _task(haikou, "open", date(2026, 6, 20), 5)
    _task(haikou, "cancelled", date(2026, 3, 1), 6, closed_on=date(2026, 2, 20))  # left out
    _task(haikou, "cancelled", date(2026, 6, 10), 7, closed_on=date(2026, 7, 5))  # due on D
    _task(haikou, "open", date(2026, 7, 10), 8)  # not due by D
    _task(sanya, "done", date(2026, 6, 1), 1, done_on=date(2026, 6, 1), closed_on=date(2026, 6, 1))

    assert kpis(HAIKOU)["followups"] == {
        "due": 6,
        "done_on_time": 1,
        "on_time_rate": 0.1667,
        "missed": 2,
        "response_rate": 0.3333,
        "lost": 1,
    }
    assert kpis(SANYA)["followups"] == {
        "due": 1,
        "done_on_time": 1,
        "on_time_rate": 1.0,
        "missed": 0,
        "response_rate": 1.0,
        "lost": 1,
    }
    assert kpis(PROVINCE)["followups"] == {
        "due": 7,
        "done_on_time": 2,
        "on_time_rate": 0.2857,
        "missed": 2,
        "response_rate": 0.4286,
        "lost": 2,
    }
    may = kpis(HAIKOU, start=date(2026, 5, 1), end=date(2026, 6, 15))["followups"]
    assert may == {
        "due": 4,
        "done_on_time": 1,
        "on_time_rate": 0.25,
        "missed": 1,
        "response_rate": 0.5,
        "lost": 1,
    }
    assert kpis(QIONGHAI)["followups"] == {
        "due": 0,
        "done_on_time": 0,
        "on_time_rate": None,
        "missed": 0,
        "response_rate": None,
        "lost": 0,
    }


# --- the whole answer ----------------------------------------------------------------


def test_answer_shape_and_empty_region_nulls(db_session):
    figures = kpis(QIONGHAI)
    assert list(figures) == ["region_code", "as_of", *GROUPS]
    assert figures["region_code"] == QIONGHAI
    assert figures["as_of"] == "2026-06-30"
    assert figures["training"]["pass_rate"] is None
    assert figures["opening"]["rate_3m"] is None
    assert figures["loans"]["on_time_rate"] is None
    assert figures["loans"]["disbursed_amount"] == "0.00"


def test_survival_group_comes_from_survival_figures(db_session):
    founder = make_founder(region_code=HAIKOU)
    make_business(founder, opened_on=date(2025, 1, 10))
    closed = make_business(founder, opened_on=date(2025, 3, 1))
    make_observation(closed, status="closed", observed_on=date(2025, 9, 1))
    make_business(make_founder(region_code=SANYA), opened_on=date(2025, 2, 1))

    figures = kpis(PROVINCE)["survival"]
    assert set(figures) == {
        "businesses",
        "closures",
        "km_12m",
        "km_12m_low",
        "km_12m_high",
        "naive_12m",
    }
    assert figures == survival_figures(region_codes(PROVINCE), D, None, None)
    assert figures["businesses"] == 3
    assert figures["closures"] == 1
    assert kpis(HAIKOU)["survival"]["businesses"] == 2
