"""Demo guaranteed microloans (SPEC §9): funded guarantee funds and loans in every state.

Every loan is made through the real loan operations (application, review, approval,
disbursement, repayments, reversals, compensation, recoveries, write-off) and the real
daily sweep, so schedules, allocations, audit entries and integrity events are exactly
what officers' work would leave. Time runs forward: each operation is dated the day it
"happened" (its `as_of`), all of them in date order, with the sweep run at every month end,
on the eve of each compensation and on `as_of`, so days past due, defaults and
late_over_30 events come from the sweep as they do in production. The stage commits at
each month-end sweep, like a job.

What the demo holds (shares of the loans; the default demo has about 100):

- the queue: applications of the last weeks, submitted, reviewed and approved, in Haikou,
  so both demo officers have work: officer.haikou reviews, officer.hainan (the province's
  guarantee centre) approves, and the officer who reviewed a loan cannot approve it;
- a few rejected with a reason, at review or at approval;
- most active with repayments up to `as_of`, most on time, some late (paid_late, a few
  late_over_30) but current again; about a tenth closed, paid to the end or paid off early;
  a duplicate bank posting reversed;
- arrears in each bucket (1-30, 31-60, 61-90), a few defaulted (90+), one of them paying a
  little after its default; one loan compensated by the fund and partly recovered from a
  guarantor; one written off after its compensation and a small recovery (in demos of a
  few dozen loans a compensation that would take the fund near suspension is left out,
  and that loan stays defaulted);
- the showcase founder 林小红: an active loan for her shop, every installment on time.

Borrowers passed entrepreneurship training and hold integrity grade A or B when they apply
(the operations check it). Loans grow with the founders (one per three founders) but at
most MAX_LOANS go through the operations, a dozen postings each. Beyond 6,000 founders the
demo has a fifth as many loans as founders (200,000 at a million): the ones past MAX_LOANS
are written as rows by `demo.loan_bulk`, exactly as the operations would leave them (its
docstring says how), and the sweep runs once more over all of them.

Funds: Hainan's provincial fund (5,000,000 yuan deposited at the start of the demo history,
topped up a year later), Sanya's own city fund (so a city fund shows) and Shanghai's
provincial fund, each sized so leverage allows every demo loan. Shanghai's policy shares
the interest (subsidy 0.5), so borrowers there pay interest and a late installment loses
its subsidy; Hainan's public funds pay all of it (the national default).

Officers: a city officer takes the application, reviews it, disburses it and posts the
repayments; the province officer approves and posts compensations and recoveries. Haikou's
and Hainan's officers are demo logins; the other cities' and Shanghai's are accounts with
a password nobody knows, as founders' accounts are.
"""

from __future__ import annotations

import bisect
import enum
import logging
import secrets
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from functools import partial
from random import Random
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, text, true, update

from app.auth.models import User
from app.auth.passwords import hash_password
from app.businesses.models import Business, BusinessStatus
from app.core.dates import add_months, month_end
from app.core.industries import Industry
from app.core.permissions import Role
from app.core.validators import id_number_check_char
from app.demo.businesses import RegionInfo, between, moment, region_infos
from app.demo.founders import PHONE_PREFIXES, age_on
from app.demo.names import given_name, person_name
from app.demo.sampling import Weighted, pick
from app.extensions import db
from app.founders.models import Founder
from app.loans import fund, operations
from app.loans.jobs import sweep
from app.loans.models import FundEntry, Guarantor, Loan, LoanStatus, RecoverySource, Repayment
from app.loans.policies import get_effective_policy, put_policy
from app.loans.servicing import installments_of
from app.training.models import ENTREPRENEURSHIP_KINDS, Cohort, Course, Enrollment, TrainingResult

ZERO = Decimal("0.00")

# One loan per three founders keeps the default demo (300 founders) at about 100 loans; at
# most MAX_LOANS are made through the operations (a million founders would otherwise mean
# hours of postings). Candidates are sampled from the trained founders, this many per loan.
LOANS_PER_FOUNDER = 1 / 3
MAX_LOANS = 2_000
# Above this many founders the demo is for scale, not for clicking through: the operations
# make only OPERATED_LOANS_AT_SCALE loans (every state and bucket is among them, see
# FULL_VARIETY_LOANS) and the bulk path writes the rest. At a million founders each
# operation works against large tables, and 2,000 of them took most of the seed's time.
SCALE_DEMO_FOUNDERS = 50_000
OPERATED_LOANS_AT_SCALE = 500
CANDIDATES_PER_LOAN = 4
# With fewer loans than this the rare states (compensated, written off, every bucket) are
# only drawn by their shares; from this many on each state has at least one loan.
FULL_VARIETY_LOANS = 30

# Applications reach back two years; funds were set up a month before that.
HISTORY_DAYS = 730
FUND_LEAD_DAYS = 30
# A founder applies two weeks or more after passing the course.
DAYS_AFTER_TRAINING = 14

PROVINCE = "460000"
CITY_FUND_REGION = "460200"  # Sanya keeps a fund of its own
SHARED_INTEREST_PROVINCE = "310000"  # Shanghai: the borrower pays half the interest
SHARED_SUBSIDY_RATE = Decimal("0.5")
# Deposits (yuan): at least these, else enough for leverage to allow every planned loan.
MIN_DEPOSITS = {PROVINCE: 5_000_000, CITY_FUND_REGION: 500_000}
MIN_OTHER_PROVINCE_DEPOSIT = 1_000_000
TOP_UP = {PROVINCE: 1_000_000}  # a year before as_of
DEPOSIT_HEADROOM = Decimal("1.2")
DEPOSIT_STEP = 100_000


class Profile(enum.StrEnum):
    """What becomes of a demo loan."""

    SUBMITTED = "submitted"
    REVIEWED = "reviewed"
    APPROVED = "approved"
    REJECTED = "rejected"
    ACTIVE = "active"
    ACTIVE_LATE = "active_late"
    CLOSED = "closed"
    ARREARS_1_30 = "arrears_1_30"
    ARREARS_31_60 = "arrears_31_60"
    ARREARS_61_90 = "arrears_61_90"
    DEFAULTED = "defaulted"
    COMPENSATED = "compensated"
    WRITTEN_OFF = "written_off"


P = Profile
# Shares of the loans; ACTIVE takes the rest.
SHARES: dict[Profile, float] = {
    P.SUBMITTED: 0.04,
    P.REVIEWED: 0.03,
    P.APPROVED: 0.03,
    P.REJECTED: 0.03,
    P.CLOSED: 0.10,
    P.ACTIVE_LATE: 0.12,
    P.ARREARS_1_30: 0.03,
    P.ARREARS_31_60: 0.03,
    P.ARREARS_61_90: 0.02,
    P.DEFAULTED: 0.03,
    P.COMPENSATED: 0.01,
    P.WRITTEN_OFF: 0.01,
}
# Planned in this order: long histories and Haikou's queue first, while founders who
# trained long ago (or live in Haikou) are still free.
PLANNING_ORDER = (
    P.WRITTEN_OFF,
    P.COMPENSATED,
    P.SUBMITTED,
    P.REVIEWED,
    P.APPROVED,
    P.CLOSED,
    P.DEFAULTED,
    P.ARREARS_61_90,
    P.ARREARS_31_60,
    P.ARREARS_1_30,
    P.ACTIVE_LATE,
    P.REJECTED,
    P.ACTIVE,
)
# Applications of these profiles fall between (most, fewest) days before as_of.
WINDOWS: dict[Profile, tuple[int, int]] = {
    P.SUBMITTED: (10, 0),
    P.REVIEWED: (14, 2),
    P.APPROVED: (21, 5),
    P.REJECTED: (HISTORY_DAYS, 20),
    P.ACTIVE: (HISTORY_DAYS, 20),
    P.ACTIVE_LATE: (HISTORY_DAYS, 120),
    P.CLOSED: (HISTORY_DAYS, 200),
}
# Loans that stopped paying: days past due on as_of of the first unpaid installment, and
# how many installments (lowest, highest) come before it, the first of them paid.
STOPPED: dict[Profile, tuple[tuple[int, int], tuple[int, int]]] = {
    P.ARREARS_1_30: ((3, 27), (2, 10)),
    P.ARREARS_31_60: ((34, 57), (2, 10)),
    P.ARREARS_61_90: ((64, 87), (2, 10)),
    P.DEFAULTED: ((100, 250), (2, 8)),
    P.COMPENSATED: ((220, 300), (3, 7)),
    P.WRITTEN_OFF: ((330, 400), (3, 5)),
}
# The latest an application can be and still leave the profile its history (days ago).
LATEST_DAYS_AGO: dict[Profile, int] = {
    **{profile: fewest for profile, (_, fewest) in WINDOWS.items()},
    **{profile: low + 31 * k_low + 20 for profile, ((low, _), (k_low, _)) in STOPPED.items()},
}
HAIKOU_QUEUE = frozenset({P.SUBMITTED, P.REVIEWED, P.APPROVED})
# The fund pays for these; kept to the provincial fund of Hainan, whose loans are many, and
# to the last year, when most of them are out, so its compensation rate stays far below the
# 5 % that would suspend new loans. A compensation that would take the rate above this share
# of the limit is left out (the loan stays defaulted): only tiny demos come near it.
FUND_LOSSES = frozenset({P.COMPENSATED, P.WRITTEN_OFF})
SAFE_SHARE_OF_SUSPENSION = Decimal("0.8")
NOT_INTEREST_ONLY = frozenset(STOPPED)

AMOUNTS = Weighted(
    [
        (30_000, 6), (50_000, 16), (60_000, 6), (80_000, 12), (100_000, 18), (120_000, 6),
        (150_000, 12), (200_000, 10), (250_000, 4), (300_000, 6),
    ]
)  # fmt: skip
SMALL_AMOUNTS = Weighted([(30_000, 3), (40_000, 3), (50_000, 4), (60_000, 2)])
TERMS = Weighted([(12, 25), (24, 40), (36, 35)])
METHODS = Weighted([("equal_installment", 45), ("equal_principal", 30), ("interest_only", 25)])
# Borrowers pay on the due day (the bank debits the account), some a few days before.
EARLY_SHARE = 0.25
LATE_DAYS = (3, 25)
VERY_LATE_DAYS = (33, 50)
VERY_LATE_SHARE = 0.35
CLOSED_WITH_A_LATE_SHARE = 0.2
NATURAL_CLOSE_SHARE = 0.6
PARTIAL_SHARE = {P.ARREARS_1_30: 0.4, P.ARREARS_31_60: 0.3, P.ARREARS_61_90: 0.3}
STOPPED_LATE_SHARE = 0.5
DUPLICATE_SHARE = 0.02
SECOND_GUARANTOR_SHARE = 0.3

PURPOSES: dict[str, tuple[str, ...]] = {
    Industry.CATERING: ("店面装修", "购置厨房设备", "食材进货周转", "扩大店面"),
    Industry.FOOD: ("购置食品加工设备", "原料采购周转", "改造加工车间"),
    Industry.AGRICULTURE: ("购买种苗和化肥", "建设养殖棚舍", "购置农机具", "租赁土地"),
    Industry.RETAIL: ("进货周转", "店面装修", "租赁场地"),
    Industry.ECOMMERCE: ("采购库存商品", "购置直播设备", "租赁仓库"),
    Industry.MANUFACTURING: ("购置生产设备", "原材料采购"),
    Industry.CRAFTS: ("购置工具和原料", "租赁工作室"),
    Industry.REPAIR: ("购置维修设备", "配件进货周转"),
    Industry.TOURISM: ("购置潜水和冲浪装备", "购置旅游接待车辆"),
    Industry.HOMESTAY: ("民宿客房装修", "购置床品和家具"),
    Industry.TRANSPORT: ("购置冷链运输车辆", "购置货运车辆"),
    Industry.DOMESTIC_SERVICES: ("购置清洁设备", "租赁门店"),
    Industry.EDUCATION: ("教室装修", "购置教学设备"),
    Industry.HEALTH: ("购置理疗设备", "门店装修"),
    Industry.TECHNOLOGY: ("购置电脑和服务器", "租赁办公场地"),
}
GENERAL_PURPOSES = (
    "租赁场地", "购置设备", "店面装修", "进货周转", "扩大经营规模", "支付开业前期费用",
)  # fmt: skip
SHOWCASE_PURPOSE = "购置食品加工设备、扩大生产"

REVIEW_NOTES = ("材料齐全，经营场所已实地核查", "经营情况良好，反担保人收入稳定", "同意提交审批")
APPROVAL_NOTES = ("同意发放", "符合政策，同意发放", "")
REVIEW_REJECTIONS = (
    "经营计划可行性不足，还款来源不明确",
    "反担保人收入不稳定，不符合反担保条件",
    "征信报告显示有未结清的逾期贷款",
)
APPROVAL_REJECTIONS = (
    "贷款用途与经营项目不符，请补充材料后重新申请",
    "申请金额超出经营实际需要，建议调低金额后重新申请",
)
REVERSAL_REASON = "银行重复推送同一笔扣款，冲正"
COMPENSATION_NOTE = "合作银行代偿申请已审核，按担保比例代偿"
GUARANTOR_RECOVERY_NOTE = "反担保人代为偿还部分代偿款"
BORROWER_RECOVERY_NOTE = "借款人归还部分代偿款"
WRITE_OFF_REASON = (
    "借款人经营失败已外出务工，本人及反担保人均无可执行财产，经追偿无果，报经审批核销"
)

# Counter-guarantors: relationship -> (sex: male, female, opposite or any; years older
# than the borrower (low, high), or any adult; shares the borrower's surname).
RELATIONSHIPS = Weighted(
    [
        ("配偶", 30), ("父亲", 12), ("母亲", 6), ("哥哥", 6), ("姐姐", 5), ("弟弟", 4),
        ("妹妹", 3), ("叔叔", 3), ("舅舅", 3), ("表哥", 4), ("朋友", 16), ("同事", 8),
    ]
)  # fmt: skip
KIN: dict[str, tuple[str, tuple[int, int] | None, bool]] = {
    "配偶": ("opposite", (-5, 5), False),
    "父亲": ("male", (22, 35), True),
    "母亲": ("female", (20, 33), False),
    "哥哥": ("male", (1, 10), True),
    "姐姐": ("female", (1, 10), True),
    "弟弟": ("male", (-10, -1), True),
    "妹妹": ("female", (-10, -1), True),
    "叔叔": ("male", (8, 25), True),
    "舅舅": ("male", (8, 25), False),
    "表哥": ("male", (1, 10), False),
    "朋友": ("any", None, False),
    "同事": ("any", None, False),
}
GUARANTOR_AGES = (22, 65)
RETIREMENT_AGE = 60
COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛")
HAINAN_EMPLOYERS = (
    "海口市第一中学", "海南省人民医院", "海南电网有限责任公司", "中国移动通信集团海南有限公司",
    "海南大学", "海口市美兰区人民政府", "三亚市人民医院", "海南农垦控股集团有限公司",
    "中国邮政集团有限公司海南省分公司", "海南省农村信用社联合社", "儋州市第二中学",
    "琼海市人民医院", "文昌市农业农村局", "海南航空控股股份有限公司", "海口市龙华区教育局",
    "国家税务总局海口市税务局", "万宁市第一小学", "中国石化海南炼油化工有限公司",
)  # fmt: skip
SHANGHAI_EMPLOYERS = (
    "上海市浦东新区教育局", "复旦大学附属中山医院", "上海地铁第一运营有限公司",
    "中国银行上海市分行", "上海市闵行区人民法院", "上海交通大学", "上海电力股份有限公司",
    "上海市杨浦区中心医院", "上海浦东发展银行", "宝山钢铁股份有限公司", "上海市徐汇区中心小学",
)  # fmt: skip
SELF_EMPLOYED = "个体经营"
SELF_EMPLOYED_SHARE = 0.15


@dataclass(slots=True)
class Candidate:
    """A founder who passed entrepreneurship training, as loan planning needs them."""

    id: int
    name: str
    id_number: str
    region_code: str
    birth_date: date
    sex: str
    trained_on: date
    # Open businesses: (id, opened_on, industry).
    businesses: list[tuple[int, date, str]] = field(default_factory=list)
    earliest: date = date.min  # the first day they could apply, within the demo history


@dataclass
class _Officers:
    """Who does the loan work of a region."""

    applicant: User  # takes the application, disburses, posts repayments
    reviewer: User
    approver: User  # the province's officer, who also posts compensations and recoveries


def _working_day(day: date) -> date:
    """The day, or the Monday after a weekend: officers and banks work on weekdays."""
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _working_day_before(day: date) -> date:
    """The day, or the Friday before a weekend."""
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def loan_count(founder_count: int) -> int:
    """How many loans the demo makes through the operations for `founder_count` founders
    (before the founders who can borrow limit it)."""
    if founder_count > SCALE_DEMO_FOUNDERS:
        return min(MAX_LOANS, OPERATED_LOANS_AT_SCALE)
    return min(MAX_LOANS, max(1, round(founder_count * LOANS_PER_FOUNDER)))


def profile_counts(total: int) -> dict[Profile, int]:
    """Loans per profile for `total` loans: the shares, at least one each from
    FULL_VARIETY_LOANS on, ACTIVE the rest (and never fewer than a third)."""
    counts = {profile: round(share * total) for profile, share in SHARES.items()}
    if total >= FULL_VARIETY_LOANS:
        counts = {profile: max(1, count) for profile, count in counts.items()}
    others = sum(counts.values())
    floor = total // 3
    while others > total - floor:
        largest = max(counts, key=lambda profile: counts[profile])
        counts[largest] -= 1
        others -= 1
    counts[P.ACTIVE] = total - others
    return counts


class OfficerDesk:
    """The loan officers of every region: the demo logins where they serve, else accounts
    added for the demo with a password nobody knows."""

    def __init__(
        self, rng: Random, regions: dict[str, RegionInfo], demo_officers: Iterable[User]
    ) -> None:
        self.rng = rng
        self.regions = regions
        self.by_region: dict[str, User] = {user.region_code: user for user in demo_officers}
        self.added: list[User] = []
        self._password_hash: str | None = None

    def officer_of(self, region_code: str) -> User:
        """The officer of the region's guarantee centre (added on first use)."""
        officer = self.by_region.get(region_code)
        if officer is None:
            officer = self._add(region_code)
            self.by_region[region_code] = officer
        return officer

    def officers_for(self, region_code: str) -> _Officers:
        """A city's officer applies and reviews, the province's approves."""
        province = self.regions[region_code].province_code
        local = self.officer_of(region_code)
        approver = self.officer_of(province)
        return _Officers(applicant=local, reviewer=local, approver=approver)

    def _add(self, region_code: str) -> User:
        if self._password_hash is None:
            self._password_hash = hash_password(secrets.token_urlsafe(32))
        region = self.regions[region_code]
        male = self.rng.random() < 0.55
        name = person_name(
            self.rng, male=male, birth_year=between(self.rng, 1975, 1995), region_code=region_code
        )
        user = User(
            username=f"officer.{region_code}",
            display_name=f"{name}（{region.short_name}担保中心）",
            password_hash=self._password_hash,
            role=Role.OFFICER.value,
            region_code=region_code,
            active=True,
            session_version=1,
        )
        db.session.add(user)
        self.added.append(user)
        return user


class GuarantorMaker:
    """Counter-guarantors with valid ID numbers, names and employers that fit the borrower."""

    def __init__(self, rng: Random, regions: dict[str, RegionInfo]) -> None:
        self.rng = rng
        self.regions = regions
        self.by_province: dict[str, list[str]] = {}
        for code, info in regions.items():
            if code != info.province_code:
                self.by_province.setdefault(info.province_code, []).append(code)

    def guarantors(
        self, candidate: Candidate, applied_on: date, *, first: str | None = None
    ) -> list[dict[str, str]]:
        """One guarantor, sometimes two (never the borrower, never one twice)."""
        count = 2 if self.rng.random() < SECOND_GUARANTOR_SHARE else 1
        made: list[dict[str, str]] = []
        taken = {candidate.id_number}
        for index in range(count):
            relationship = first if index == 0 and first else RELATIONSHIPS.draw(self.rng)
            if index > 0 and relationship == "配偶":
                relationship = "朋友"
            guarantor = self.guarantor(candidate, applied_on, relationship, taken)
            taken.add(guarantor["id_number"])
            made.append(guarantor)
        return made

    def guarantor(
        self, candidate: Candidate, applied_on: date, relationship: str, taken: set[str]
    ) -> dict[str, str]:
        """A guarantor of the given relationship (a friend when the family one cannot be)."""
        rng = self.rng
        sex_rule, years, same_surname = KIN[relationship]
        borrower_age = age_on(candidate.birth_date, applied_on)
        age = borrower_age + between(rng, *years) if years is not None else between(rng, 25, 55)
        if not GUARANTOR_AGES[0] <= age <= GUARANTOR_AGES[1]:
            relationship, (sex_rule, years, same_surname) = "朋友", KIN["朋友"]
            age = between(rng, 25, 55)
        if sex_rule == "opposite":
            male = candidate.sex == "female"
        elif sex_rule == "any":
            male = rng.random() < 0.55
        else:
            male = sex_rule == "male"
        born = applied_on - timedelta(days=round(age * 365.25) + between(rng, 1, 360))
        surname = _surname(candidate.name) if same_surname else None
        if surname is not None:
            name = surname + given_name(rng, male=male, birth_year=born.year)
        else:
            name = person_name(
                rng, male=male, birth_year=born.year, region_code=candidate.region_code
            )
        id_number = self._id_number(candidate.region_code, born, male=male, taken=taken)
        return {
            "name": name,
            "id_number": id_number,
            "relationship": relationship,
            "employer": self._employer(candidate.region_code, age),
            "phone": f"{pick(rng, PHONE_PREFIXES)}{int(rng.random() * 100_000_000):08d}",
        }

    def _employer(self, region_code: str, age: int) -> str:
        rng = self.rng
        if rng.random() < SELF_EMPLOYED_SHARE:
            return SELF_EMPLOYED
        employers = SHANGHAI_EMPLOYERS if region_code.startswith("31") else HAINAN_EMPLOYERS
        employer = pick(rng, employers)
        return f"退休（{employer}）" if age >= RETIREMENT_AGE else employer

    def _id_number(self, region_code: str, born: date, *, male: bool, taken: set[str]) -> str:
        """A GB 11643 number of the borrower's region (or another of its province)."""
        rng = self.rng
        province = self.regions[region_code].province_code
        neighbours = self.by_province.get(province) or [region_code]
        while True:
            home = region_code if rng.random() < 0.7 else pick(rng, neighbours)
            serial = between(rng, 0, 99) * 10 + pick(
                rng, (1, 3, 5, 7, 9) if male else (0, 2, 4, 6, 8)
            )
            first17 = f"{home}{born:%Y%m%d}{serial:03d}"
            number = first17 + id_number_check_char(first17)
            if number not in taken:
                return number


def _surname(name: str) -> str | None:
    """The surname of a Han name as the ID card writes it (None for a minority name)."""
    if "·" in name or len(name) < 2:
        return None
    return name[:2] if name[:2] in COMPOUND_SURNAMES else name[0]


@dataclass(order=True)
class _Event:
    day: date
    phase: int
    seq: int
    action: Callable[[], None] = field(compare=False)


LOAN_PHASE = 1
SWEEP_PHASE = 2  # close of business: after the day's postings


class Timeline:
    """Dated actions run in date order; within a day, postings before the sweep."""

    def __init__(self) -> None:
        self.events: list[_Event] = []
        self.sweep_days: set[date] = set()

    def add(self, day: date, action: Callable[[], None]) -> None:
        """Do `action` on `day`, after the actions added before it for that day."""
        self.events.append(_Event(day, LOAN_PHASE, len(self.events), action))

    def add_sweep(self, day: date) -> None:
        """Run the daily sweep (close of business) for `day`."""
        self.sweep_days.add(day)

    def run(self) -> None:
        """Run every action and sweep in order; commit after each month-end sweep."""
        events = list(self.events)
        for day in self.sweep_days:
            events.append(_Event(day, SWEEP_PHASE, len(events), partial(sweep, day)))
        for event in sorted(events):
            event.action()
            if event.phase == SWEEP_PHASE and event.day == month_end(event.day):
                db.session.commit()
                analyze_loan_tables()


LOAN_TABLES = ("loan", "loan_installment", "repayment", "repayment_allocation", "integrity_event")


def analyze_loan_tables() -> None:
    """Refresh the planner's statistics of the tables the loans fill. The seed analyzes
    every table before this stage, when these are empty; PostgreSQL then plans the sweep's
    per-loan subquery as a walk over every installment (measured: 6 s a sweep at 1,100
    loans, where it takes milliseconds once analyzed), and autovacuum comes too late."""
    for table in LOAN_TABLES:
        db.session.execute(text(f"ANALYZE {table}"))


@dataclass
class DemoLoan:
    """A planned loan and what happened to it; its methods are the dated operations."""

    candidate: Candidate
    profile: Profile
    officers: _Officers
    amount: Decimal
    term_months: int
    method: str
    purpose: str
    business_id: int | None
    guarantors: list[dict[str, str]]
    applied_on: date
    loan_id: int | None = None
    last_on: date | None = None
    postings: int = 0
    last_amount: Decimal = ZERO
    last_repayment_id: int | None = None
    repayment_days: dict[int, date] = field(default_factory=dict)

    def _touch(self, day: date) -> None:
        self.last_on = day

    def apply(self) -> None:
        """The officer records the application."""
        loan = operations.apply_for_loan(
            self.officers.applicant,
            {
                "founder_id": self.candidate.id,
                "business_id": self.business_id,
                "amount": self.amount,
                "term_months": self.term_months,
                "repayment_method": self.method,
                "purpose": self.purpose,
                "guarantors": self.guarantors,
            },
            as_of=self.applied_on,
        )
        self.loan_id = loan.id
        self._touch(self.applied_on)

    def review(self, day: date, *, note: str, approve: bool = True) -> None:
        """The first officer's review."""
        decision = {"decision": "approve" if approve else "reject", "note": note}
        operations.review_loan(self.officers.reviewer, self._id, decision, as_of=day)
        self._touch(day)

    def approve(self, day: date, *, note: str, approve: bool = True) -> None:
        """The second officer's decision."""
        decision = {"decision": "approve" if approve else "reject", "note": note}
        operations.approve_loan(self.officers.approver, self._id, decision, as_of=day)
        self._touch(day)

    def disburse(self, day: date) -> None:
        """The bank paid the loan out."""
        values = {"disbursed_on": day, "bank_reference": f"FK{day:%Y%m%d}{self._id:07d}"}
        operations.disburse_loan(self.officers.applicant, self._id, values, as_of=day)
        self._touch(day)

    def pay_through(self, day: date, through: int) -> None:
        """The borrower pays everything owed on installments 1..`through` (if anything)."""
        amount = owed_through(self._id, through, day)
        if amount > 0:
            self._post(day, amount)

    def pay_part(self, day: date, share: float) -> None:
        """The borrower pays a share of the oldest unpaid installment."""
        left = oldest_left(self._id, day)
        amount = (left * Decimal(str(share))).quantize(Decimal("1"), rounding=ROUND_DOWN)
        if 0 < amount < left:
            self._post(day, amount)

    def pay_again(self, day: date) -> None:
        """The bank pushes the same debit twice (reversed a few days later)."""
        if self.last_amount > 0:
            self._post(day, min(self.last_amount, owed_through(self._id, self.term_months, day)))

    def reverse_last(self, day: date) -> None:
        """The officer reverses the duplicate posting."""
        if self.last_repayment_id is None:
            return
        reversal = operations.reverse_repayment(
            self.officers.applicant,
            self.last_repayment_id,
            {"reason": REVERSAL_REASON},
            as_of=day,
        )
        self.repayment_days[reversal.id] = day
        self._touch(day)

    def _post(self, day: date, amount: Decimal) -> None:
        self.postings += 1
        values = {
            "paid_on": day,
            "amount": amount,
            "reference": f"HK{day:%Y%m%d}{self._id:07d}{self.postings:03d}",
        }
        posting = operations.post_repayment(self.officers.applicant, self._id, values, as_of=day)
        self.last_amount = amount
        self.last_repayment_id = posting.repayment.id
        self.repayment_days[posting.repayment.id] = day
        self._touch(day)

    def compensate(self, day: date) -> None:
        """The fund pays the bank its share of the defaulted loan (unless that would come
        near suspending the fund's new loans)."""
        officer = self.officers.approver
        loan = operations.lock_loan_in_scope(officer, self._id)
        summary = fund.get_fund_summary(loan.fund_region_code or loan.region_code)
        compensated = summary.compensated + fund.compensation_limit(loan)
        safe = summary.suspend_compensation_rate * SAFE_SHARE_OF_SUSPENSION
        if summary.disbursed <= 0 or compensated / summary.disbursed > safe:
            return
        values = {"date": day, "reference": f"DC{day:%Y%m%d}{self._id:07d}"}
        fund.compensate_loan(officer, loan, values | {"note": COMPENSATION_NOTE}, as_of=day)
        self._touch(day)

    def recover(self, day: date, *, share: float | None = None, amount: int | None = None) -> None:
        """Money back into the fund: a share of the compensation from the first guarantor,
        or `amount` yuan from the borrower."""
        officer = self.officers.approver
        loan = operations.lock_loan_in_scope(officer, self._id)
        if loan.status != LoanStatus.COMPENSATED:
            return  # the compensation was left out
        values: dict[str, Any] = {"date": day, "reference": f"ZC{day:%Y%m%d}{self._id:07d}"}
        if share is not None:
            wanted = loan.compensated_amount * Decimal(str(share))
            guarantor_id = db.session.scalar(
                select(Guarantor.id).where(Guarantor.loan_id == loan.id).order_by(Guarantor.id)
            )
            values |= {
                "amount": wanted.quantize(Decimal("1E2"), rounding=ROUND_DOWN),
                "source": RecoverySource.GUARANTOR.value,
                "guarantor_id": guarantor_id,
                "note": GUARANTOR_RECOVERY_NOTE,
            }
        else:
            left = loan.compensated_amount - loan.recovered_amount
            values |= {
                "amount": min(Decimal(amount or 0), left - 1),
                "source": RecoverySource.BORROWER.value,
                "note": BORROWER_RECOVERY_NOTE,
            }
        if values["amount"] > 0:
            fund.record_recovery(officer, loan, values, as_of=day)
            self._touch(day)

    def write_off(self, day: date) -> None:
        """Close what cannot be recovered."""
        officer = self.officers.approver
        loan = operations.lock_loan_in_scope(officer, self._id)
        if loan.status != LoanStatus.COMPENSATED:
            return  # the compensation was left out
        fund.write_off_loan(officer, loan, {"date": day, "reason": WRITE_OFF_REASON}, as_of=day)
        self._touch(day)

    @property
    def _id(self) -> int:
        if self.loan_id is None:
            raise RuntimeError("the loan has not been applied for yet")
        return self.loan_id


def owed_through(loan_id: int, through: int, day: date) -> Decimal:
    """What a payment on `day` must be to settle installments 1..`through`: an installment
    due before `day` and not yet paid has lost its subsidy (as the replay will find)."""
    loan = db.session.get(Loan, loan_id)
    assert loan is not None
    total = ZERO
    for row in installments_of(loan_id):
        if row.n > through:
            break
        if row.paid_off_on is None:
            total += _left_on(row, day, loan.subsidy_requires_on_time)
    return total


def oldest_left(loan_id: int, day: date) -> Decimal:
    """What is left of the oldest installment not fully paid, for a payment on `day`."""
    loan = db.session.get(Loan, loan_id)
    assert loan is not None
    for row in installments_of(loan_id):
        if row.paid_off_on is None:
            return _left_on(row, day, loan.subsidy_requires_on_time)
    return ZERO


def _left_on(row: Any, day: date, subsidy_requires_on_time: bool) -> Decimal:
    lost = row.subsidy_lost or (subsidy_requires_on_time and row.due_on < day)
    interest = row.interest if lost else row.borrower_interest
    return row.principal + interest - row.paid_principal - row.paid_interest


class LoanPlanner:
    """Chooses borrowers and the story of each loan, and puts its operations on the timeline."""

    # What a planned loan is: its methods are what the timeline runs (the bulk path's loans
    # record rows instead of calling the operations).
    loan_class: type[DemoLoan] = DemoLoan

    def __init__(
        self,
        rng: Random,
        *,
        as_of: date,
        regions: dict[str, RegionInfo],
        desk: OfficerDesk,
        queue_region: str | None,
        timeline: Timeline,
    ) -> None:
        self.rng = rng
        self.as_of = as_of
        self.regions = regions
        self.desk = desk
        self.queue_region = queue_region
        self.timeline = timeline
        self.guarantor_maker = GuarantorMaker(rng, regions)
        self.loans: list[DemoLoan] = []
        self._default_days: dict[str, int] = {}
        self._post_default_payment_done = False
        self._duplicates = 0

    # Choosing borrowers ------------------------------------------------------------------
    def plan(
        self, candidates: list[Candidate], counts: dict[Profile, int], showcase_id: int | None
    ) -> None:
        """Plan `counts` loans from `candidates` (each borrows once), the showcase first."""
        pool = sorted(candidates, key=lambda c: (c.earliest, c.id))
        showcase = next((c for c in pool if c.id == showcase_id), None)
        if showcase is not None:
            pool.remove(showcase)
            self._showcase(showcase)
            counts = counts | {P.ACTIVE: max(0, counts[P.ACTIVE] - 1)}
        earliest = [candidate.earliest for candidate in pool]
        for profile in PLANNING_ORDER:
            for _ in range(counts.get(profile, 0)):
                self._plan_one(profile, pool, earliest)

    def _plan_one(self, profile: Profile, pool: list[Candidate], earliest: list[date]) -> None:
        """One loan of `profile` for a founder of the pool who can have its story (none
        when eight tries fail: small demos lack founders who trained long enough ago)."""
        latest = self.as_of - timedelta(days=LATEST_DAYS_AGO[profile])
        eligible = bisect.bisect_right(earliest, latest)
        for index in self._candidate_indices(profile, pool, eligible):
            if self._plan_for(profile, pool[index]) is not None:
                pool.pop(index)
                earliest.pop(index)
                return

    def _candidate_indices(
        self, profile: Profile, pool: list[Candidate], eligible: int
    ) -> list[int]:
        """Random eligible candidates that suit the profile (Haikou's for the queue, Hainan's
        provincial fund for losses), a few at a time."""
        suits = self._suits(profile)
        indices = [index for index in range(eligible) if suits(pool[index])]
        if not indices and profile in HAIKOU_QUEUE:
            indices = list(range(eligible))
        self.rng.shuffle(indices)
        return indices[:8]

    def _suits(self, profile: Profile) -> Callable[[Candidate], bool]:
        if profile in HAIKOU_QUEUE and self.queue_region is not None:
            return lambda c: c.region_code == self.queue_region
        if profile in FUND_LOSSES:
            return lambda c: (
                self.regions[c.region_code].province_code == PROVINCE
                and c.region_code != CITY_FUND_REGION
            )
        return lambda c: True

    # One loan's story --------------------------------------------------------------------
    def _plan_for(self, profile: Profile, candidate: Candidate) -> DemoLoan | None:
        """The loan's operations on the timeline, or None when the founder cannot have this
        story (they trained too recently)."""
        if profile in STOPPED:
            return self._stopped(profile, candidate)
        most, fewest = WINDOWS[profile]
        first = max(candidate.earliest, self.as_of - timedelta(days=most))
        last = self.as_of - timedelta(days=fewest)
        if first > last:
            return None
        if profile == P.CLOSED:
            return self._closed(candidate, first, last)
        applied_on = self._day_between(first, last)
        loan = self._new(profile, candidate, applied_on)
        if profile in HAIKOU_QUEUE or profile == P.REJECTED:
            self._decide(loan, profile)
            return loan
        days = self._decision_days(applied_on)
        disbursed_on = days[2]
        if disbursed_on > self.as_of:
            days = (min(days[0], self.as_of), min(days[1], self.as_of), self.as_of)
            disbursed_on = self.as_of
        loan.term_months = self._open_term(disbursed_on, loan.term_months)
        self._decide_and_disburse(loan, days)
        dues = self._dues(disbursed_on, loan.term_months)
        late: set[int] = set()
        very_late: set[int] = set()
        if profile == P.ACTIVE_LATE:
            cutoff = self.as_of - timedelta(days=55)
            settled = [n for n, due in enumerate(dues, 1) if due <= cutoff]
            if settled:
                late = set(self.rng.sample(settled, min(len(settled), between(self.rng, 1, 3))))
                if self.rng.random() < VERY_LATE_SHARE:
                    very_late = {pick(self.rng, settled)}
        self._pay(loan, dues, late=late, very_late=very_late)
        if profile == P.ACTIVE and self._wants_duplicate(dues):
            self._duplicate(loan, dues)
        return loan

    def _decide(self, loan: DemoLoan, profile: Profile) -> None:
        """The queue (waiting for review, approval or disbursement) and the rejections."""
        rng = self.rng
        if profile == P.SUBMITTED:
            return
        reviewed_on, approved_on, _ = (
            min(day, self.as_of) for day in self._decision_days(loan.applied_on)
        )
        # Rejections alternate: at review, then at approval.
        rejections = sum(1 for planned in self.loans if planned.profile == P.REJECTED)
        rejected_at_review = profile == P.REJECTED and rejections % 2 == 1
        if rejected_at_review:
            note = pick(rng, REVIEW_REJECTIONS)
            self.timeline.add(
                reviewed_on, partial(loan.review, reviewed_on, note=note, approve=False)
            )
            return
        if profile == P.REVIEWED and self._queue_reviews_by_province():
            officers = loan.officers
            loan.officers = _Officers(officers.applicant, officers.approver, officers.reviewer)
        review_note = pick(rng, REVIEW_NOTES)
        self.timeline.add(reviewed_on, partial(loan.review, reviewed_on, note=review_note))
        if profile == P.REVIEWED:
            return
        if profile == P.REJECTED:
            note = pick(rng, APPROVAL_REJECTIONS)
            self.timeline.add(
                approved_on, partial(loan.approve, approved_on, note=note, approve=False)
            )
            return
        approval_note = pick(rng, APPROVAL_NOTES)
        self.timeline.add(approved_on, partial(loan.approve, approved_on, note=approval_note))

    def _queue_reviews_by_province(self) -> bool:
        """The second loan waiting for approval was reviewed by the province's officer, so
        the city's demo officer has one to approve too (the first waits for the province)."""
        reviewed = sum(1 for loan in self.loans if loan.profile == P.REVIEWED)
        return reviewed == 2

    def _closed(self, candidate: Candidate, first: date, last: date) -> DemoLoan | None:
        """Paid to the end of a one-year term, or paid off early."""
        rng = self.rng
        natural_last = self.as_of - timedelta(days=400)
        if first <= natural_last and rng.random() < NATURAL_CLOSE_SHARE:
            applied_on = self._day_between(first, natural_last)
            days = self._decision_days(applied_on)
            loan = self._new(P.CLOSED, candidate, applied_on)
            loan.term_months = 12
            self._decide_and_disburse(loan, days)
            dues = self._dues(days[2], 12)
            late = {pick(rng, range(1, 12))} if rng.random() < CLOSED_WITH_A_LATE_SHARE else set()
            self._pay(loan, dues, late=late)
            return loan
        applied_on = self._day_between(first, last)
        days = self._decision_days(applied_on)
        term = pick(rng, (24, 36))
        cutoff = self.as_of - timedelta(days=25)
        dues = [due for due in self._dues(days[2], term) if due <= cutoff]
        if len(dues) < 3:
            return None
        loan = self._new(P.CLOSED, candidate, applied_on)
        loan.term_months = term
        self._decide_and_disburse(loan, days)
        paid = dues[: between(rng, 3, len(dues))]
        self._pay(loan, paid)
        payoff_on = min(
            self.as_of - timedelta(days=3), paid[-1] + timedelta(days=between(rng, 3, 20))
        )
        self.timeline.add(payoff_on, partial(loan.pay_through, payoff_on, term))
        return loan

    def _stopped(self, profile: Profile, candidate: Candidate) -> DemoLoan | None:
        """A loan whose installment k went unpaid `dpd` days before as_of (and all after)."""
        rng = self.rng
        (low, high), (k_low, k_high) = STOPPED[profile]
        history_start = self.as_of - timedelta(days=HISTORY_DAYS)
        for _attempt in range(20):
            dpd = between(rng, low, high)
            stopped_due = self.as_of - timedelta(days=dpd)
            k = between(rng, k_low, k_high)
            if stopped_due.day > 28:
                continue  # month-end clamping would move it
            disbursed_on = add_months(stopped_due, -k)
            if disbursed_on.weekday() >= 5:
                continue
            applied_on = _working_day_before(disbursed_on - timedelta(days=between(rng, 6, 16)))
            if applied_on < max(candidate.earliest, history_start):
                continue
            reviewed_on = _working_day(applied_on + timedelta(days=between(rng, 1, 3)))
            approved_on = _working_day(reviewed_on + timedelta(days=between(rng, 1, 3)))
            if approved_on > disbursed_on:
                continue
            break
        else:
            return None
        loan = self._new(profile, candidate, applied_on)
        loan.method = pick(rng, ("equal_installment", "equal_principal"))
        if profile in FUND_LOSSES:
            loan.amount = Decimal(SMALL_AMOUNTS.draw(rng))
        loan.term_months = max(loan.term_months, 24 if k > 9 else 12)
        self.timeline.add(
            reviewed_on, partial(loan.review, reviewed_on, note=pick(rng, REVIEW_NOTES))
        )
        self.timeline.add(
            approved_on, partial(loan.approve, approved_on, note=pick(rng, APPROVAL_NOTES))
        )
        self.timeline.add(disbursed_on, partial(loan.disburse, disbursed_on))
        dues = self._dues(disbursed_on, loan.term_months)
        late = set()
        if profile not in PARTIAL_SHARE and k > 2 and rng.random() < STOPPED_LATE_SHARE:
            late = {between(rng, 1, k - 2)}
        self._pay(loan, dues[: k - 1], late=late)
        if rng.random() < PARTIAL_SHARE.get(profile, 0.0):
            self.timeline.add(
                stopped_due, partial(loan.pay_part, stopped_due, rng.uniform(0.3, 0.6))
            )
        default_on = stopped_due + timedelta(days=self._default_days_of(candidate.region_code))
        if profile == P.DEFAULTED and not self._post_default_payment_done:
            paid_on = default_on + timedelta(days=between(rng, 10, 40))
            if paid_on < self.as_of:
                self._post_default_payment_done = True
                self.timeline.add(paid_on, partial(loan.pay_part, paid_on, 0.3))
        if profile == P.COMPENSATED:
            compensated_on = _working_day(default_on + timedelta(days=between(rng, 20, 40)))
            self._compensate(loan, compensated_on)
            recovered_on = _working_day(compensated_on + timedelta(days=between(rng, 60, 120)))
            recovered_on = min(recovered_on, self.as_of - timedelta(days=7))
            self.timeline.add(
                recovered_on, partial(loan.recover, recovered_on, share=rng.uniform(0.3, 0.5))
            )
        if profile == P.WRITTEN_OFF:
            compensated_on = _working_day(default_on + timedelta(days=between(rng, 25, 45)))
            self._compensate(loan, compensated_on)
            recovered_on = _working_day(compensated_on + timedelta(days=between(rng, 60, 90)))
            self.timeline.add(
                recovered_on, partial(loan.recover, recovered_on, amount=between(rng, 3, 8) * 1000)
            )
            written_off_on = _working_day_before(
                min(
                    self.as_of - timedelta(days=14),
                    compensated_on + timedelta(days=between(rng, 150, 240)),
                )
            )
            self.timeline.add(written_off_on, partial(loan.write_off, written_off_on))
        return loan

    def _compensate(self, loan: DemoLoan, day: date) -> None:
        # The sweep of the day before makes the loan `defaulted` (month-end sweeps may not
        # have come round since it crossed default_days).
        self.timeline.add_sweep(day - timedelta(days=1))
        self.timeline.add(day, partial(loan.compensate, day))

    def _showcase(self, candidate: Candidate) -> None:
        """林小红's loan for her shop: applied a few weeks after it opened, 100,000 over two
        years, every installment paid on its due day."""
        rng = self.rng
        business = candidate.businesses[0] if candidate.businesses else None
        opened_on = business[1] if business else candidate.earliest
        applied_on = _working_day(
            max(candidate.earliest, opened_on + timedelta(days=between(rng, 20, 30)))
        )
        if applied_on > self.as_of - timedelta(days=20):
            applied_on = _working_day_before(
                max(candidate.earliest, self.as_of - timedelta(days=60))
            )
        loan = self._new(P.ACTIVE, candidate, applied_on, spouse=True)
        loan.amount = Decimal("100000.00")
        loan.term_months = 24
        loan.method = "equal_installment"
        loan.purpose = SHOWCASE_PURPOSE
        days = self._decision_days(applied_on)
        self._decide_and_disburse(loan, days)
        dues = self._dues(days[2], loan.term_months)
        for n, due in enumerate(dues, 1):
            self.timeline.add(due, partial(loan.pay_through, due, n))

    # Pieces --------------------------------------------------------------------------------
    def _new(
        self, profile: Profile, candidate: Candidate, applied_on: date, *, spouse: bool = False
    ) -> DemoLoan:
        rng = self.rng
        region = self.regions[candidate.region_code]
        business = next((b for b in candidate.businesses if b[1] <= applied_on), None)
        industry = business[2] if business else None
        purposes = PURPOSES.get(industry, GENERAL_PURPOSES) if industry else GENERAL_PURPOSES
        method = METHODS.draw(rng)
        if profile in NOT_INTEREST_ONLY and method == "interest_only":
            method = "equal_installment"
        loan = self.loan_class(
            candidate=candidate,
            profile=profile,
            officers=self.desk.officers_for(region.code),
            amount=Decimal(AMOUNTS.draw(rng)),
            term_months=TERMS.draw(rng),
            method=method,
            purpose=pick(rng, purposes),
            business_id=business[0] if business else None,
            guarantors=self.guarantor_maker.guarantors(
                candidate, applied_on, first="配偶" if spouse else None
            ),
            applied_on=applied_on,
        )
        self.timeline.add(applied_on, loan.apply)
        self.loans.append(loan)
        return loan

    def _decision_days(self, applied_on: date) -> tuple[date, date, date]:
        """Review, approval and disbursement days of an application, on working days."""
        rng = self.rng
        reviewed_on = _working_day(applied_on + timedelta(days=between(rng, 1, 3)))
        approved_on = _working_day(reviewed_on + timedelta(days=between(rng, 1, 4)))
        disbursed_on = _working_day(approved_on + timedelta(days=between(rng, 2, 8)))
        return reviewed_on, approved_on, disbursed_on

    def _decide_and_disburse(self, loan: DemoLoan, days: tuple[date, date, date]) -> None:
        """Review, approval and disbursement of `loan` on `days`."""
        reviewed_on, approved_on, disbursed_on = days
        review_note, approval_note = pick(self.rng, REVIEW_NOTES), pick(self.rng, APPROVAL_NOTES)
        self.timeline.add(reviewed_on, partial(loan.review, reviewed_on, note=review_note))
        self.timeline.add(approved_on, partial(loan.approve, approved_on, note=approval_note))
        self.timeline.add(disbursed_on, partial(loan.disburse, disbursed_on))

    def _open_term(self, disbursed_on: date, term: int) -> int:
        """The drawn term, or a longer one when it would have ended by as_of."""
        for months in (term, 24, 36):
            if months >= term and add_months(disbursed_on, months) > self.as_of + timedelta(
                days=15
            ):
                return months
        return 36

    def _dues(self, disbursed_on: date, term: int) -> list[date]:
        """Due days of the installments due by as_of."""
        dues = []
        for k in range(1, term + 1):
            due = add_months(disbursed_on, k)
            if due > self.as_of:
                break
            dues.append(due)
        return dues

    def _pay(
        self,
        loan: DemoLoan,
        dues: list[date],
        *,
        late: set[int] = frozenset(),
        very_late: set[int] = frozenset(),
    ) -> None:
        """Put the payments of installments 1..len(dues) on the timeline: on the due day or a
        few days before, `late` ones 3-25 days after, `very_late` 33-50 days after; a payment
        that comes after the next due day settles that one too."""
        rng = self.rng
        last: date | None = None
        plan: list[tuple[date, int]] = []
        for n, due in enumerate(dues, 1):
            if n in very_late:
                day = due + timedelta(days=between(rng, *VERY_LATE_DAYS))
            elif n in late:
                day = due + timedelta(days=between(rng, *LATE_DAYS))
            elif rng.random() < EARLY_SHARE:
                day = due - timedelta(days=between(rng, 1, 5))
            else:
                day = due
            day = min(day, self.as_of)
            if last is not None and day < last:
                day = last
            if plan and plan[-1][0] == day:
                plan[-1] = (day, n)
            else:
                plan.append((day, n))
            last = day
        for day, through in plan:
            self.timeline.add(day, partial(loan.pay_through, day, through))

    def _wants_duplicate(self, dues: list[date]) -> bool:
        if len(dues) < 3 or dues[-1] > self.as_of - timedelta(days=10):
            return False
        wanted = self._duplicates == 0 or self.rng.random() < DUPLICATE_SHARE
        return wanted and self._duplicates < 1 + len(self.loans) // 50

    def _duplicate(self, loan: DemoLoan, dues: list[date]) -> None:
        """The bank debits an installment twice; the officer reverses the second a few days on."""
        self._duplicates += 1
        due = dues[between(self.rng, 1, len(dues) - 2)]
        self.timeline.add(due, partial(loan.pay_again, due))
        reversed_on = due + timedelta(days=between(self.rng, 1, 3))
        self.timeline.add(reversed_on, partial(loan.reverse_last, reversed_on))

    def _day_between(self, first: date, last: date) -> date:
        day = first + timedelta(days=between(self.rng, 0, (last - first).days))
        day = _working_day(day)
        return day if day <= last else _working_day_before(last)

    def _default_days_of(self, region_code: str) -> int:
        if region_code not in self._default_days:
            self._default_days[region_code] = get_effective_policy(region_code).default_days
        return self._default_days[region_code]


def _sampled(column: ColumnElement, step: int, showcase_id: int | None) -> ColumnElement[bool]:
    """Every `step`-th founder (by id), and the showcase founder."""
    if step <= 1:
        return true()
    return or_(column % step == 0, column == (showcase_id or 0))


def read_candidates(
    *, as_of: date, founder_count: int, wanted: int, showcase_id: int | None
) -> list[Candidate]:
    """Founders who passed entrepreneurship training (a sample when there are many), with
    their open businesses and the first day each could apply within the demo history."""
    step = max(1, founder_count // max(1, wanted * CANDIDATES_PER_LOAN))
    trained = (
        select(
            Enrollment.founder_id.label("founder_id"),
            func.min(Enrollment.completed_on).label("trained_on"),
        )
        .join(Cohort, Cohort.id == Enrollment.cohort_id)
        .join(Course, Course.id == Cohort.course_id)
        .where(
            Enrollment.result == TrainingResult.PASSED,
            Enrollment.completed_on.is_not(None),
            Course.kind.in_(ENTREPRENEURSHIP_KINDS),
            _sampled(Enrollment.founder_id, step, showcase_id),
        )
        .group_by(Enrollment.founder_id)
        .subquery()
    )
    rows = db.session.execute(
        select(
            Founder.id,
            Founder.name,
            Founder.id_number,
            Founder.region_code,
            Founder.birth_date,
            Founder.sex,
            trained.c.trained_on,
        )
        .join(trained, trained.c.founder_id == Founder.id)
        .order_by(Founder.id)
    )
    history_start = as_of - timedelta(days=HISTORY_DAYS)
    candidates = {}
    for row in rows:
        candidate = Candidate(*row)
        candidate.earliest = max(
            history_start, candidate.trained_on + timedelta(days=DAYS_AFTER_TRAINING)
        )
        candidates[candidate.id] = candidate
    businesses = db.session.execute(
        select(Business.id, Business.founder_id, Business.opened_on, Business.industry)
        .where(
            Business.status != BusinessStatus.CLOSED,
            _sampled(Business.founder_id, step, showcase_id),
        )
        .order_by(Business.opened_on, Business.id)
    )
    for business_id, founder_id, opened_on, industry in businesses:
        candidate = candidates.get(founder_id)
        if candidate is not None:
            candidate.businesses.append((business_id, opened_on, industry))
    return list(candidates.values())


def _deposit_amount(total: Decimal, leverage: Decimal, minimum: int) -> Decimal:
    """Enough for leverage to allow `total` of principal (with headroom), in round sums."""
    needed = total / leverage * DEPOSIT_HEADROOM
    steps = int(needed // DEPOSIT_STEP) + 1
    return Decimal(max(minimum, steps * DEPOSIT_STEP))


def fund_loans(
    admin: User, loans: list[DemoLoan], regions: dict[str, RegionInfo], *, as_of: date
) -> list[FundEntry]:
    """Deposit into Hainan's fund, Sanya's own fund and each other province's with loans,
    at the start of the demo history (Hainan topped up a year before as_of)."""
    opened_on = _working_day(as_of - timedelta(days=HISTORY_DAYS + FUND_LEAD_DAYS))
    totals: dict[str, Decimal] = {}
    for loan in loans:
        code = loan.candidate.region_code
        backer = code if code == CITY_FUND_REGION else regions[code].province_code
        totals[backer] = totals.get(backer, ZERO) + loan.amount
    for code in (PROVINCE, CITY_FUND_REGION):
        if code in regions:
            totals.setdefault(code, ZERO)
    entries = []
    for code in sorted(totals):
        leverage = get_effective_policy(code).leverage
        minimum = MIN_DEPOSITS.get(code, MIN_OTHER_PROVINCE_DEPOSIT)
        amount = _deposit_amount(totals[code], leverage, minimum)
        level = "市" if code == CITY_FUND_REGION else "省"
        entries.append(
            fund.post_fund_entry(
                admin,
                code,
                {
                    "date": opened_on,
                    "amount": amount,
                    "reference": f"CZ{opened_on:%Y%m%d}{code}",
                    "note": f"{level}级财政注入创业担保贷款担保基金",
                },
                as_of=opened_on,
            )
        )
        if code in TOP_UP:
            top_up_on = _working_day(as_of - timedelta(days=365))
            entries.append(
                fund.post_fund_entry(
                    admin,
                    code,
                    {
                        "date": top_up_on,
                        "amount": Decimal(TOP_UP[code]),
                        "reference": f"CZ{top_up_on:%Y%m%d}{code}",
                        "note": "财政追加担保基金",
                    },
                    as_of=top_up_on,
                )
            )
    return entries


def write_loans(
    rng: Random,
    *,
    as_of: date,
    now: datetime,
    founder_count: int,
    showcase_founder_id: int | None,
    demo_usernames: Iterable[str],
    progress: Callable[[str, int], AbstractContextManager[Any]] | None = None,
) -> dict[str, int]:
    """Fund the guarantee funds and make the demo loans through the loan operations, in
    date order with the daily sweep; commit at each month end. Beyond what the operations
    make (MAX_LOANS), write the rest as rows (`demo.loan_bulk`, with a progress bar from
    `progress`) and sweep everything once more. Answer the counts.

    Needs founders with training, businesses and the demo accounts (an admin, officers).
    """
    users = list(db.session.scalars(select(User).where(User.username.in_(list(demo_usernames)))))
    admin = next(user for user in users if user.role == Role.ADMIN)
    demo_officers = sorted(
        (user for user in users if user.role == Role.OFFICER), key=lambda user: user.username
    )
    regions = region_infos()
    desk = OfficerDesk(rng, regions, demo_officers)
    city_officers = [
        user
        for user in demo_officers
        if regions[user.region_code].province_code != user.region_code
    ]
    timeline = Timeline()
    planner = LoanPlanner(
        rng,
        as_of=as_of,
        regions=regions,
        desk=desk,
        queue_region=city_officers[0].region_code if city_officers else None,
        timeline=timeline,
    )
    wanted = loan_count(founder_count)
    candidates = read_candidates(
        as_of=as_of, founder_count=founder_count, wanted=wanted, showcase_id=showcase_founder_id
    )
    wanted = min(wanted, len(candidates))
    planner.plan(candidates, profile_counts(wanted), showcase_founder_id)
    if SHARED_INTEREST_PROVINCE in regions:
        history_start = as_of - timedelta(days=HISTORY_DAYS + FUND_LEAD_DAYS)
        put_policy(
            admin,
            SHARED_INTEREST_PROVINCE,
            {"subsidy_rate": SHARED_SUBSIDY_RATE},
            as_of=moment(history_start, rng, now),
        )
    entries = fund_loans(admin, planner.loans, regions, as_of=as_of)
    db.session.flush()
    # Close of business at every month end of the history, and today.
    day = month_end(as_of - timedelta(days=HISTORY_DAYS + FUND_LEAD_DAYS))
    while day < as_of:
        timeline.add_sweep(day)
        day = month_end(day + timedelta(days=1))
    timeline.add_sweep(as_of)
    # A log line per sweep is worth having from the scheduler, not from the seed's dozens.
    sweep_logger = logging.getLogger(sweep.__module__)
    level = sweep_logger.level
    sweep_logger.setLevel(logging.WARNING)
    try:
        timeline.run()
    finally:
        sweep_logger.setLevel(level)
    _date_the_rows(rng, planner.loans, entries, desk, as_of=as_of, now=now)
    db.session.commit()
    loan_ids = [loan.loan_id for loan in planner.loans if loan.loan_id is not None]
    counts = {
        "loans": len(loan_ids),
        "repayments": sum(len(loan.repayment_days) for loan in planner.loans),
        "guarantors": db.session.scalar(
            select(func.count()).select_from(Guarantor).where(Guarantor.loan_id.in_(loan_ids))
        )
        or 0,
        "fund_entries": 0,
        "loan_officer_accounts": len(desk.added),
        "bulk_loans": 0,
    }
    # Imported here: the bulk path builds on this module's planner and loans.
    from app.demo.loan_bulk import bulk_loan_count, write_bulk_loans
    from app.loans.borrowers import refresh_borrowers

    wanted_in_bulk = bulk_loan_count(founder_count)
    if wanted_in_bulk > 0:
        added_before = len(desk.added)
        bulk = write_bulk_loans(
            rng,
            as_of=as_of,
            now=now,
            wanted=wanted_in_bulk,
            admin=admin,
            regions=regions,
            desk=desk,
            sweep_days=sorted(timeline.sweep_days),
            taken_founder_ids={loan.candidate.id for loan in planner.loans},
            progress=progress,
        )
        for key in ("loans", "repayments", "guarantors"):
            counts[key] += bulk[key]
        counts["bulk_loans"] = bulk["loans"]
        refresh_borrowers()  # the rows were written without the disbursement operation
        counts["loan_officer_accounts"] = len(desk.added)
        _date_the_officers(rng, desk.added[added_before:], as_of=as_of, now=now)
        db.session.commit()
    counts["fund_entries"] = db.session.scalar(select(func.count()).select_from(FundEntry)) or 0
    return counts


def _date_the_officers(rng: Random, users: list[User], *, as_of: date, now: datetime) -> None:
    """Officer accounts added for the bulk loans date from the start of the history too."""
    history_start = as_of - timedelta(days=HISTORY_DAYS + FUND_LEAD_DAYS)
    rows = [{"id": user.id, "created_at": moment(history_start, rng, now)} for user in users]
    if rows:
        db.session.execute(update(User), rows)


def _date_the_rows(
    rng: Random,
    loans: list[DemoLoan],
    entries: list[FundEntry],
    desk: OfficerDesk,
    *,
    as_of: date,
    now: datetime,
) -> None:
    """Record times as if each row was typed in on its day (the operations stamp `now`)."""
    history_start = as_of - timedelta(days=HISTORY_DAYS + FUND_LEAD_DAYS)
    loan_rows = [
        {
            "id": loan.loan_id,
            "created_at": moment(loan.applied_on, rng, now),
            "updated_at": moment(loan.last_on or loan.applied_on, rng, now),
        }
        for loan in loans
        if loan.loan_id is not None
    ]
    repayment_rows = [
        {"id": repayment_id, "created_at": moment(day, rng, now)}
        for loan in loans
        for repayment_id, day in loan.repayment_days.items()
    ]
    entry_rows = [
        {"id": entry.id, "created_at": moment(entry.entry_on, rng, now)} for entry in entries
    ]
    user_rows = [
        {"id": user.id, "created_at": moment(history_start, rng, now)} for user in desk.added
    ]
    for model, rows in (
        (Loan, loan_rows),
        (Repayment, repayment_rows),
        (FundEntry, entry_rows),
        (User, user_rows),
    ):
        if rows:
            db.session.execute(update(model), rows)
