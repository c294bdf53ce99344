"""Demo businesses (SPEC §8) and their observation histories.

Founders open businesses after their first passed entrepreneurship course: about two in
three eventually do, most within one to six months (so about a third have opened at three
months and over half at six, the opening rates of SPEC §11). A few open after a skills
course only, about one founder in twenty already ran a business when registering, and a
few open a second one. Each business is observed at the follow-ups SPEC §11 plans (3, 6,
12, 24 and 36 months after opening) and at staff visits and founders' own reports in
between; head counts drift (mostly up a little), revenue fits the industry and season,
some businesses suspend for a while, and about a sixth close in their first year (a few
more later). A closure is one last observation; nothing follows it.

Founders' own reports come only from founders with a founder account: about three owners
in ten registered one at the centre (around their opening) and report from their phones
after that day; the centre hands out their passwords in person, so the demo gives the
accounts one shared hash of a random secret that nobody knows. A business names the
library project its founder adopted only when the founder had adopted it (and it was
published) by the opening day; a founder who picks a project often opens a little later.

The current-status columns of each business are what `refresh_current_status` would
compute from its observations, so the demo data looks exactly like recorded data. Founders
are read back in id ranges and their businesses written a batch at a time (COPY on
PostgreSQL), ids assigned here, so a million founders stay in bounded memory.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from math import exp, log
from random import Random
from typing import Any

from sqlalchemy import func, select

from app.auth.models import User
from app.auth.passwords import hash_password
from app.businesses.models import (
    Business,
    BusinessStatus,
    Observation,
    ObservationSource,
    ReviewState,
)
from app.core.dates import CHINA_TIME, add_months
from app.core.industries import Industry
from app.core.permissions import Role
from app.core.validators import USCC_ALPHABET, uscc_check_char
from app.demo.bulk import insert_rows, move_id_sequence_past
from app.demo.sampling import Weighted, pick, triangular_int
from app.extensions import db
from app.founders.models import Founder
from app.library.models import LibraryAdoption, LibraryProject
from app.regions.models import Region
from app.training.models import ENTREPRENEURSHIP_KINDS, Cohort, Course, Enrollment, TrainingResult

# Column values, looked up once (enum attribute access is slow in the inner loops).
STAFF = ObservationSource.STAFF.value
FOUNDER = ObservationSource.FOUNDER.value
FOLLOWUP = ObservationSource.FOLLOWUP.value
OPERATING = BusinessStatus.OPERATING.value
SUSPENDED = BusinessStatus.SUSPENDED.value
CLOSED = BusinessStatus.CLOSED.value
PENDING = ReviewState.PENDING.value
VERIFIED = ReviewState.VERIFIED.value
QUERIED = ReviewState.QUERIED.value
FOUNDER_ROLE = Role.FOUNDER.value

# Founders read per query; their businesses and observations are written per batch.
BATCH_SIZE = 5_000

# Share of founders who passed entrepreneurship training and open a business some day, and
# of those who passed a skills course only.
OPENING_SHARE = 0.66
SKILL_OPENING_SHARE = 0.3
# Days from passing the course to opening: (shortest, longest) ranges with weights. About
# 55 % open within three months and 85 % within six.
OPENING_DELAYS = Weighted([((1, 30), 15), ((31, 91), 40), ((92, 182), 30), ((183, 540), 15)])
# Founders who ran a business already when they registered, and how long before.
PRE_EXISTING_SHARE = 0.05
PRE_EXISTING_DAYS = (60, 500, 2000)
# Those who had a business rarely open another after training.
PRE_EXISTING_OPENING_FACTOR = 0.25
# Owners who open a second business, and how many days after the first.
SECOND_BUSINESS_SHARE = 0.05
SECOND_BUSINESS_DAYS = (150, 365, 900)
ADULT_YEARS = 18

# Share of businesses that close in their first year, and later (within about three years).
FIRST_YEAR_CLOSURE_SHARE = 0.19
LATER_CLOSURE_SHARE = 0.09
PRE_EXISTING_CLOSURE_SHARE = 0.08
# Days after a closure until someone records it (the next visit, if sooner).
CLOSURE_NOTICED_DAYS = (3, 45)

# Follow-ups come 3, 6, 12, 24 and 36 months after opening (SPEC §11); staff visits or the
# founder's own reports fill the gaps. Each visit falls a few days either side of its date.
VISIT_MONTHS = (3, 6, 9, 12, 16, 20, 24, 28, 32, 36)
FOLLOWUP_MONTHS = frozenset({3, 6, 12, 24, 36})
# The visits' days after the start (a month of 30.44 days is close enough with the jitter).
VISIT_DAYS = tuple((round(months * 30.44), months in FOLLOWUP_MONTHS) for months in VISIT_MONTHS)
VISIT_JITTER_DAYS = 12
VISIT_SKIP_SHARE = 0.1
# Share of business owners with a founder account, registered at the centre this many
# days after their first business opened (or they registered, for one run before).
FOUNDER_ACCOUNT_SHARE = 0.3
ACCOUNT_DAYS = (-30, 7, 150)
# Only founders with an account report themselves, and only after the account's day.
# Who makes an in-between observation of their business; they report more often since the
# portal opened.
FOUNDER_REPORT_SHARE = 0.7
RECENT_FOUNDER_REPORT_SHARE = 0.85
# A follow-up is sometimes answered by the founder's own report instead (channel self_report).
SELF_REPORT_AT_FOLLOWUP_SHARE = 0.3
# Founders' reports of the last weeks are still waiting for the centre; a few were queried.
RECENT_REPORT_DAYS = 75
RECENT_PENDING_SHARE = 0.5
RECENT_QUERIED_SHARE = 0.12
OLD_QUERIED_SHARE = 0.03
# Since the portal opened, most founders with an account also report between visits in
# the last weeks, about once a month (days between their reports).
EXTRA_SELF_REPORT_SHARE = 0.85
EXTRA_SELF_REPORT_DAYS = 60
EXTRA_SELF_REPORT_GAP_DAYS = (20, 30, 45)

SUSPENSION_SHARE = 0.05
SUSPENSION_BEFORE_CLOSURE_SHARE = 0.35
SUSPENSION_BEFORE_CLOSURE_DAYS = 200
REVENUE_UNKNOWN_SHARE = 0.08

# Share of businesses with a unified social credit code, per legal form.
SHOP_USCC_SHARE = 0.52
# A business of a founder who adopted a library project names (and follows) it this often;
# only one opened once the project was adopted and published can. A founder who follows a
# project adopted after the planned opening opens this many days after adopting it.
NAMES_ADOPTED_PROJECT_SHARE = 0.5
PROJECT_PREPARATION_DAYS = (7, 30, 120)

# Monthly revenue range in yuan of a business with nobody employed, per industry.
REVENUE_RANGES: dict[str, tuple[int, int]] = {
    Industry.AGRICULTURE: (5_000, 40_000),
    Industry.FOOD: (8_000, 60_000),
    Industry.CATERING: (12_000, 70_000),
    Industry.RETAIL: (15_000, 90_000),
    Industry.ECOMMERCE: (8_000, 80_000),
    Industry.MANUFACTURING: (30_000, 150_000),
    Industry.CRAFTS: (4_000, 25_000),
    Industry.REPAIR: (8_000, 45_000),
    Industry.TOURISM: (10_000, 80_000),
    Industry.HOMESTAY: (8_000, 60_000),
    Industry.TRANSPORT: (20_000, 120_000),
    Industry.DOMESTIC_SERVICES: (10_000, 50_000),
    Industry.EDUCATION: (8_000, 50_000),
    Industry.HEALTH: (15_000, 70_000),
    Industry.TECHNOLOGY: (10_000, 80_000),
    Industry.OTHER: (5_000, 40_000),
}
REVENUE_PER_EMPLOYEE = 0.12
SHANGHAI_REVENUE_FACTOR = 1.6
# Hainan's tourist season runs from November to March; summer is quiet.
HIGH_SEASON = frozenset({11, 12, 1, 2, 3})
LOW_SEASON = frozenset({6, 7, 8, 9})
SEASONAL_INDUSTRIES = frozenset({Industry.TOURISM, Industry.HOMESTAY})

# What founders open, by weight; regions shift these (see `industry_weights`).
INDUSTRY_WEIGHTS: dict[str, float] = {
    Industry.CATERING: 18,
    Industry.RETAIL: 14,
    Industry.AGRICULTURE: 11,
    Industry.ECOMMERCE: 8,
    Industry.FOOD: 7,
    Industry.REPAIR: 7,
    Industry.TOURISM: 5,
    Industry.HOMESTAY: 4,
    Industry.DOMESTIC_SERVICES: 5,
    Industry.TRANSPORT: 3,
    Industry.EDUCATION: 3,
    Industry.HEALTH: 2,
    Industry.TECHNOLOGY: 3,
    Industry.CRAFTS: 2,
    Industry.MANUFACTURING: 2,
    Industry.OTHER: 4,
}
TOURIST_REGIONS = frozenset({"460200", "469006", "469027", "469028", "469029"})
CITY_REGIONS = frozenset({"460100", "460200", "460400"})
SHANGHAI_FACTORS = {
    Industry.AGRICULTURE: 0.1,
    Industry.HOMESTAY: 0.1,
    Industry.TOURISM: 0.3,
    Industry.TECHNOLOGY: 3,
    Industry.ECOMMERCE: 1.5,
    Industry.DOMESTIC_SERVICES: 1.5,
    Industry.EDUCATION: 1.5,
}
# A skills course points founders at an industry.
SKILL_INDUSTRIES = {
    "SKILL-COOK": ((Industry.CATERING, 0.8), (Industry.FOOD, 0.1)),
    "SKILL-HOMESTAY": ((Industry.HOMESTAY, 0.7), (Industry.TOURISM, 0.1)),
    "SKILL-TEA": ((Industry.CATERING, 0.45), (Industry.AGRICULTURE, 0.3)),
    "SKILL-ECOM": ((Industry.ECOMMERCE, 0.7), (Industry.RETAIL, 0.1)),
}

# Head count at opening (founder not counted): mostly none to a few.
OPENING_HEAD_COUNTS = Weighted(
    [(0, 24), (1, 22), (2, 20), (3, 13), (4, 8), (5, 6), (-1, 5), (-2, 2)]
)
LARGER_INDUSTRIES = frozenset(
    {Industry.MANUFACTURING, Industry.TRANSPORT, Industry.HEALTH, Industry.EDUCATION}
)

# Names: shop nouns per industry (anywhere, and Hainan only), and company name words.
SHOP_NOUNS: dict[str, tuple[str, ...]] = {
    Industry.CATERING: ("小吃店", "快餐店", "餐馆", "烧烤店", "面馆", "早餐店", "饭店"),
    Industry.FOOD: ("食品加工坊", "糕点坊", "腌制品加工坊", "豆制品坊", "烘焙坊"),
    Industry.AGRICULTURE: ("家庭农场", "种植场", "养殖场", "果园", "蔬菜基地", "蜂场"),
    Industry.RETAIL: ("便利店", "生鲜超市", "水果店", "五金店", "服装店", "母婴店", "百货商行"),
    Industry.ECOMMERCE: ("电商工作室", "网店", "电子商务商行", "农产品电商服务部"),
    Industry.MANUFACTURING: ("家具厂", "木业加工厂", "包装制品厂", "服装加工厂", "门窗厂"),
    Industry.CRAFTS: ("手工艺品店", "工艺品工作室", "陶艺工作室", "刺绣工坊"),
    Industry.REPAIR: ("家电维修部", "汽车修理厂", "手机维修店", "电动车维修部", "汽车美容店"),
    Industry.TOURISM: ("旅行服务部", "旅拍工作室", "户外俱乐部", "租车行"),
    Industry.HOMESTAY: ("民宿", "客栈", "度假民宿", "青年旅舍"),
    Industry.TRANSPORT: ("货运部", "物流配送部", "搬家服务部", "冷链配送站"),
    Industry.DOMESTIC_SERVICES: (
        "家政服务部",
        "月嫂服务中心",
        "保洁服务部",
        "洗衣店",
        "宠物美容店",
    ),
    Industry.EDUCATION: ("课外托管中心", "美术培训工作室", "书法培训室", "英语培训中心"),
    Industry.HEALTH: ("长者食堂", "推拿按摩店", "康复理疗馆", "母婴护理中心"),
    Industry.TECHNOLOGY: ("网络工作室", "软件开发工作室", "短视频工作室", "电脑服务部"),
    Industry.OTHER: ("图文广告店", "摄影工作室", "婚庆服务部", "花店", "打印复印店"),
}
HAINAN_SHOP_NOUNS: dict[str, tuple[str, ...]] = {
    Industry.CATERING: ("海南粉店", "清补凉店", "老爸茶店", "海鲜排档", "椰子鸡火锅店", "糖水铺"),
    Industry.FOOD: ("椰子制品加工坊", "海鲜干货店", "黄灯笼辣椒酱坊", "咖啡烘焙坊"),
    Industry.AGRICULTURE: ("文昌鸡养殖场", "火龙果种植园", "芒果园", "槟榔种植园", "胡椒种植场"),
    Industry.CRAFTS: ("椰雕工艺坊", "黎锦工坊", "贝雕工作室"),
    Industry.TOURISM: ("潜水俱乐部", "冲浪俱乐部", "海钓服务部"),
    Industry.HOMESTAY: ("海景民宿", "椰林客栈"),
}
COMPANY_WORDS: dict[str, tuple[str, ...]] = {
    Industry.CATERING: ("餐饮管理",),
    Industry.FOOD: ("食品",),
    Industry.AGRICULTURE: ("农业开发", "生态农业"),
    Industry.RETAIL: ("商贸", "贸易"),
    Industry.ECOMMERCE: ("电子商务", "网络科技"),
    Industry.MANUFACTURING: ("实业", "家具制造"),
    Industry.CRAFTS: ("文化创意",),
    Industry.REPAIR: ("汽车服务", "机电设备"),
    Industry.TOURISM: ("旅游文化", "国际旅行社"),
    Industry.HOMESTAY: ("酒店管理",),
    Industry.TRANSPORT: ("物流", "供应链"),
    Industry.DOMESTIC_SERVICES: ("家政服务",),
    Industry.EDUCATION: ("教育科技", "文化传播"),
    Industry.HEALTH: ("健康管理", "养老服务"),
    Industry.TECHNOLOGY: ("网络科技", "信息技术"),
    Industry.OTHER: ("文化传媒",),
}
COMPANY_SHARE = 0.12
COMPANY_LIKELY_SHARE = 0.4
COMPANY_LIKELY = frozenset(
    {Industry.TECHNOLOGY, Industry.TRANSPORT, Industry.MANUFACTURING, Industry.EDUCATION}
)
COOPERATIVE_SHARE = 0.2
COOPERATIVE_NOUNS = ("种植专业合作社", "养殖专业合作社", "果蔬专业合作社", "农民专业合作社")
HAINAN_BRANDS = (
    "椰香", "椰风", "椰乡", "阿妹", "阿婆", "阿公", "渔家", "海韵", "南海", "老街", "骑楼",
    "鑫源", "兴旺", "福满", "顺发", "好运来", "金椰", "红树林", "阳光", "蓝海", "椰林",
    "黎家", "山兰", "椰岛", "海风", "海湾", "小渔村", "乐家", "佳美", "惠民", "万家",
    "鸿运", "聚福", "椰语", "山海", "岛上", "三角梅", "木棉", "凤凰花", "琼香", "南国",
)  # fmt: skip
SHANGHAI_BRANDS = (
    "弄堂", "石库门", "梧桐", "申城", "浦江", "海派", "阿拉", "金桂", "玉兰", "鑫源",
    "佳美", "惠民", "万家", "乐家", "阳光", "聚福", "顺发", "小巷", "邻里", "禾丰",
)  # fmt: skip
# Name patterns of a shop: place + brand, place + 「surname记」, or the brand alone.
SURNAME_BRAND_SHARE = 0.22
NO_PLACE_SHARE = 0.12
REGION_SUFFIXES = ("黎族苗族自治县", "黎族自治县", "新区", "市", "县", "区", "省")
# A new business's organisation code in its credit code (since 2015) starts with MA.
ORGANISATION_CODE_PREFIX = "MA"
ORGANISATION_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
# Credit code registration authority and kind: market regulation 9; company 1, sole
# proprietor (个体工商户) 2, farmers' cooperative 3.
USCC_KINDS = {"company": "91", "shop": "92", "cooperative": "93"}

NOTES_OPERATING = (
    "生意稳定", "新增外卖平台渠道", "扩大了门面", "新招了一名店员", "回头客增多",
    "开通了抖音团购", "办理了食品经营许可证延续", "申请了创业担保贷款", "准备开分店",
)  # fmt: skip
NOTES_SUSPENDED = (
    "台风过后门店修缮，暂停营业", "淡季暂停营业", "店主生病住院，暂停营业",
    "装修升级，暂停营业", "房东收回门面，正在找新址", "资金周转困难，暂停营业",
)  # fmt: skip
NOTES_CLOSED = (
    "经营不善，已关店", "租约到期未续租，停止经营", "店主外出务工，已转让门面",
    "客流不足，亏损关店", "已办理注销登记", "合伙人退出，停止经营",
)  # fmt: skip
QUERY_NOTES = (
    "本次营业额与上次相差较大，请补充说明。",
    "员工人数变化较大，请提供社保缴纳记录。",
    "请补充门店照片或营业执照副本。",
    "请说明暂停营业的原因和预计恢复时间。",
)
NOTE_SHARE = 0.15
FOLLOWUP_NOTE = "电话回访"


@dataclass(slots=True)
class FounderFacts:
    """What decides a founder's businesses, read back from the founder's records."""

    id: int
    region_code: str
    registered_on: date
    birth_date: date
    name: str
    target_group: str
    # First passed entrepreneurship course, and first passed skills course (with its code).
    trained_on: date | None = None
    skill_on: date | None = None
    skill_code: str | None = None
    # The project the founder adopted from the library, if any.
    project_id: int | None = None
    adopted_on: date | None = None
    # The founder account that exists already (the demo founder's), and its day.
    account_id: int | None = None
    account_on: date | None = None


@dataclass(slots=True)
class _Account:
    """A founder's account: its id, the day it was registered (the founder reports only
    after it), whether the seed adds it, and the founder's latest report."""

    id: int
    day: date
    new: bool
    last_report_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RegionInfo:
    """A region as business names and credit codes use it."""

    code: str
    short_name: str
    province_code: str
    province_short_name: str


@dataclass(frozen=True, slots=True)
class OpenedBusiness:
    """A business as the incubation stage needs it (young businesses become residents)."""

    id: int
    region_code: str
    province_code: str
    opened_on: date
    closed_on: date | None
    target_group: str


@dataclass(slots=True)
class _Visit:
    """A planned observation: its day and who makes it."""

    day: date
    source: str


@dataclass
class _Batch:
    """Rows planned for one batch of founders."""

    accounts: list[dict[str, Any]] = field(default_factory=list)
    businesses: list[dict[str, Any]] = field(default_factory=list)
    observations: list[dict[str, Any]] = field(default_factory=list)


def between(rng: Random, low: int, high: int) -> int:
    """A whole number in [low, high]: `randint` without its overhead, called millions of
    times in a large seed."""
    return low + int(rng.random() * (high - low + 1))


def founder_username(founder_id: int) -> str:
    """The username of a founder's account: 「f000123」, never one of the demo logins."""
    return f"f{founder_id:06d}"


def short_region_name(name: str) -> str:
    """「海口市」→「海口」, 「白沙黎族自治县」→「白沙」: how shop names say where they are."""
    for suffix in REGION_SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def region_infos() -> dict[str, RegionInfo]:
    """Every region with its short name and its province's."""
    rows = db.session.execute(select(Region.code, Region.name, Region.parent_code)).all()
    names = {row.code: row.name for row in rows}
    infos = {}
    for row in rows:
        province = row.parent_code or row.code
        infos[row.code] = RegionInfo(
            row.code,
            short_region_name(row.name),
            province,
            short_region_name(names.get(province, row.name)),
        )
    return infos


def organisation_code(body: str) -> str:
    """GB 11714: the eight-character body and its check character."""
    total = sum(
        (int(char) if char.isdigit() else ord(char) - 55) * weight
        for char, weight in zip(body, ORGANISATION_CODE_WEIGHTS, strict=True)
    )
    check = 11 - total % 11
    return body + ("X" if check == 10 else "0" if check == 11 else str(check))


def moment(day: date, rng: Random, now: datetime) -> datetime:
    """A working-hours moment of a China day, in UTC (never after `now`)."""
    minutes = int(rng.random() * 480)
    local = datetime.combine(day, time(9 + minutes // 60, minutes % 60), CHINA_TIME)
    return min(local.astimezone(UTC), now)


def industry_weights(region_code: str) -> Weighted[str]:
    """What founders of a region open: tourism by the southern beaches, farms in the
    counties, technology and services in Shanghai."""
    weights = dict(INDUSTRY_WEIGHTS)
    if region_code.startswith("31"):
        for industry, factor in SHANGHAI_FACTORS.items():
            weights[industry] *= factor
    else:
        if region_code in TOURIST_REGIONS:
            weights[Industry.TOURISM] *= 3
            weights[Industry.HOMESTAY] *= 2.5
        if region_code not in CITY_REGIONS:
            weights[Industry.AGRICULTURE] *= 2
            weights[Industry.TECHNOLOGY] *= 0.3
    return Weighted(weights.items())


class BusinessPlanner:
    """Plans each founder's businesses and observation histories as plain rows.

    Feed founders in id order (`plan_founder`); take the rows of a batch with `take_batch`.
    `on_business` hears of every business opened after registration (for incubation).
    """

    def __init__(
        self,
        rng: Random,
        *,
        as_of: date,
        now: datetime,
        regions: dict[str, RegionInfo],
        project_industries: dict[int, str],
        project_published_on: dict[int, date],
        first_business_id: int,
        first_observation_id: int,
        first_account_id: int,
        account_password_hash: str,
        money_as_fen: bool,
        on_business: Callable[[OpenedBusiness], None] | None = None,
    ) -> None:
        self.rng = rng
        self.as_of = as_of
        self.now = now
        self.regions = regions
        self.project_industries = project_industries
        self.project_published_on = project_published_on
        self.next_business_id = first_business_id
        self.next_observation_id = first_observation_id
        self.next_account_id = first_account_id
        self.account_password_hash = account_password_hash
        self.money_as_fen = money_as_fen
        self.on_business = on_business
        self._industries: dict[str, Weighted[str]] = {}
        self._issued_codes: set[str] = set()
        self._batch = _Batch()
        self.counts: dict[str, int] = defaultdict(int)
        # The account of the founder being planned, and whether they will register one.
        self.account: _Account | None = None
        self._wants_account = False

    def take_batch(self) -> _Batch:
        """The rows planned since the last call."""
        batch, self._batch = self._batch, _Batch()
        return batch

    # Who opens what, when --------------------------------------------------------------
    def plan_founder(self, founder: FounderFacts, *, showcase: bool = False) -> None:
        """Plan the founder's businesses (none for about half of them), and the founder
        account of about three owners in ten."""
        self.account = None
        if founder.account_id is not None:
            self.account = _Account(founder.account_id, founder.account_on or self.as_of, False)
        self._wants_account = not showcase and self.rng.random() < FOUNDER_ACCOUNT_SHARE
        if showcase:
            self._showcase_business(founder)
        else:
            self._plan_businesses(founder)
        account = self.account
        if account is not None and account.new:
            self._batch.accounts.append(self._account_row(founder, account))
            self.counts["founder_accounts"] += 1

    def _plan_businesses(self, founder: FounderFacts) -> None:
        """A business run before registering, one opened after training, a second one."""
        rng = self.rng
        pre_existing = rng.random() < PRE_EXISTING_SHARE and self._pre_existing(founder)
        start, share = founder.trained_on, OPENING_SHARE
        if start is None:
            start, share = founder.skill_on, SKILL_OPENING_SHARE
        if pre_existing:
            share *= PRE_EXISTING_OPENING_FACTOR
        if start is None or rng.random() >= share:
            return
        low, high = OPENING_DELAYS.draw(rng)
        opened_on = start + timedelta(days=between(rng, low, high))
        ready_on = self._project_ready_on(founder)
        follows = False
        if ready_on is not None and rng.random() < NAMES_ADOPTED_PROJECT_SHARE:
            if ready_on <= opened_on:
                follows = True
            else:  # the founder picked the project first, then prepared and opened
                moved = ready_on + timedelta(days=triangular_int(rng, *PROJECT_PREPARATION_DAYS))
                if moved <= self.as_of:
                    opened_on, follows = moved, True
        if opened_on > self.as_of:
            return
        self._business(founder, opened_on, tracked_from=opened_on, follows=follows)
        # A few open a second business; the first founder who can does, wherever chance
        # alone might leave a small seed without one.
        forced = (
            not self.counts["second_businesses"]
            and opened_on + timedelta(days=SECOND_BUSINESS_DAYS[1]) <= self.as_of
        )
        if forced or rng.random() < SECOND_BUSINESS_SHARE:
            second = opened_on + timedelta(days=triangular_int(rng, *SECOND_BUSINESS_DAYS))
            if forced:
                second = min(second, self.as_of)
            if second <= self.as_of:
                self.counts["second_businesses"] += 1
                follows_second = (
                    not follows
                    and ready_on is not None
                    and ready_on <= second
                    and rng.random() < NAMES_ADOPTED_PROJECT_SHARE
                )
                self._business(founder, second, tracked_from=second, follows=follows_second)

    def _project_ready_on(self, founder: FounderFacts) -> date | None:
        """The first day a business could follow the founder's adopted project: adopted
        and published by then (None when the founder adopted none)."""
        project = founder.project_id
        if project not in self.project_industries or founder.adopted_on is None:
            return None
        published_on = self.project_published_on.get(project)
        if published_on is None:
            return None
        return max(founder.adopted_on, published_on)

    def _open_account(self, founder: FounderFacts, tracked_from: date) -> None:
        """Register the founder's account at the centre, around their first business."""
        if self.account is not None or not self._wants_account:
            return
        day = tracked_from + timedelta(days=triangular_int(self.rng, *ACCOUNT_DAYS))
        day = min(max(day, founder.registered_on), self.as_of)
        self.account = _Account(self.next_account_id, day, True)
        self.next_account_id += 1

    def _account_row(self, founder: FounderFacts, account: _Account) -> dict[str, Any]:
        """A `user_account` row for the founder: signs in as f000123 once the centre hands
        out a password (the shared hash is of a secret nobody knows)."""
        return {
            "id": account.id,
            "username": founder_username(founder.id),
            "display_name": founder.name[:100],
            "password_hash": self.account_password_hash,
            "role": FOUNDER_ROLE,
            "region_code": founder.region_code,
            "founder_id": founder.id,
            "active": True,
            "locale": None,
            "session_version": 1,
            "created_at": moment(account.day, self.rng, self.now),
            "password_changed_at": None,
            "last_login_at": account.last_report_at,
        }

    def _pre_existing(self, founder: FounderFacts) -> bool:
        """A business the founder ran before registering, tracked from registration."""
        rng = self.rng
        adult_on = add_months(founder.birth_date, 12 * ADULT_YEARS)
        latest_days = (founder.registered_on - adult_on).days
        days = min(triangular_int(rng, *PRE_EXISTING_DAYS), latest_days)
        if days < PRE_EXISTING_DAYS[0]:
            return False
        opened_on = founder.registered_on - timedelta(days=days)
        self._business(founder, opened_on, tracked_from=founder.registered_on)
        return True

    def _showcase_business(self, founder: FounderFacts) -> None:
        """The demo founder's shop: opened a month after her course (and after she adopted
        its project), growing, every observation verified, so the portal shows a clean
        history she can add to."""
        trained_on = founder.trained_on or founder.registered_on + timedelta(days=60)
        opened_on = max(
            trained_on + timedelta(days=1),
            min(trained_on + timedelta(days=35), self.as_of - timedelta(days=120)),
        )
        ready_on = self._project_ready_on(founder)
        if ready_on is not None:
            opened_on = max(opened_on, ready_on + timedelta(days=7))
        opened_on = min(opened_on, self.as_of)
        follows = ready_on is not None and ready_on <= opened_on
        self._business(founder, opened_on, tracked_from=opened_on, showcase=True, follows=follows)

    # One business --------------------------------------------------------------------
    def _business(
        self,
        founder: FounderFacts,
        opened_on: date,
        *,
        tracked_from: date,
        showcase: bool = False,
        follows: bool = False,
    ) -> None:
        """Plan one business with its history and record its current status; `follows`
        says it names the founder's adopted project."""
        rng = self.rng
        self._open_account(founder, tracked_from)
        region = self.regions[founder.region_code]
        industry, project_id = self._industry(founder, follows=follows)
        form = self._legal_form(industry)
        name = self._name(founder, region, industry, form, showcase=showcase)
        employees = 2 if showcase else self._opening_head_count(industry, form)
        business_id = self.next_business_id
        self.next_business_id += 1
        history = _History(self, business_id, industry, region, employees, showcase=showcase)
        observations = history.plan(opened_on, tracked_from)
        # Staff record a business within two weeks, and always before its first observation.
        recorded_on = min(self.as_of, tracked_from + timedelta(days=between(rng, 0, 14)))
        created_at = moment(recorded_on, rng, self.now)
        if observations:
            created_at = min(created_at, observations[0]["created_at"])
        latest = observations[-1] if observations else None
        row = {
            "id": business_id,
            "founder_id": founder.id,
            "name": name,
            "industry": str(industry),
            "region_code": region.code,
            "opened_on": opened_on,
            "uscc": self._uscc(region, form, force=showcase),
            "library_project_id": project_id,
            "employees_at_opening": employees,
            "status": latest["status"] if latest else OPERATING,
            "employees": latest["employees"] if latest else employees,
            "status_observed_on": latest["observed_on"] if latest else opened_on,
            "closed_on": latest["closed_on"] if latest else None,
            "created_at": created_at,
            "updated_at": max(created_at, latest["created_at"]) if latest else created_at,
        }
        self._batch.businesses.append(row)
        self._batch.observations += observations
        self.counts["businesses"] += 1
        self.counts["observations"] += len(observations)
        if row["closed_on"] is not None:
            self.counts["closed_businesses"] += 1
        if self.on_business is not None and tracked_from == opened_on and not showcase:
            self.on_business(
                OpenedBusiness(
                    business_id,
                    region.code,
                    region.province_code,
                    opened_on,
                    row["closed_on"],
                    founder.target_group,
                )
            )

    def _industry(self, founder: FounderFacts, *, follows: bool) -> tuple[str, int | None]:
        """The adopted project's industry when the business follows it; else a skills
        course's, or what the region's founders usually open."""
        rng = self.rng
        project = founder.project_id
        if follows and project is not None:
            return self.project_industries[project], project
        if founder.skill_code in SKILL_INDUSTRIES:
            draw = rng.random()
            for industry, share in SKILL_INDUSTRIES[founder.skill_code]:
                if draw < share:
                    return industry, None
                draw -= share
        weights = self._industries.get(founder.region_code)
        if weights is None:
            weights = self._industries[founder.region_code] = industry_weights(founder.region_code)
        return weights.draw(rng), None

    def _legal_form(self, industry: str) -> str:
        """A sole proprietor's shop mostly; some companies, some farmers' cooperatives."""
        draw = self.rng.random()
        if industry == Industry.AGRICULTURE and draw < COOPERATIVE_SHARE:
            return "cooperative"
        company_share = COMPANY_LIKELY_SHARE if industry in COMPANY_LIKELY else COMPANY_SHARE
        return "company" if self.rng.random() < company_share else "shop"

    def _name(
        self,
        founder: FounderFacts,
        region: RegionInfo,
        industry: str,
        form: str,
        *,
        showcase: bool,
    ) -> str:
        """A name as the licence writes it: 「海口椰香小吃店」「海南鑫源网络科技有限公司」."""
        rng = self.rng
        hainan = region.province_code.startswith("46")
        brands = HAINAN_BRANDS if hainan else SHANGHAI_BRANDS
        if showcase:
            return f"{region.short_name}小红{SHOP_NOUNS[industry][0]}"
        if form == "company":
            words = pick(rng, COMPANY_WORDS[industry])
            return f"{region.province_short_name}{pick(rng, brands)}{words}有限公司"
        if form == "cooperative":
            return f"{region.short_name}{pick(rng, brands)}{pick(rng, COOPERATIVE_NOUNS)}"
        nouns = SHOP_NOUNS[industry]
        local = HAINAN_SHOP_NOUNS.get(industry, ()) if hainan else ()
        noun = pick(rng, nouns + local + local)
        draw = rng.random()
        surname = founder.name[0]
        if draw < SURNAME_BRAND_SHARE and "·" not in founder.name:
            return f"{region.short_name}{surname}记{noun}"
        if draw < SURNAME_BRAND_SHARE + NO_PLACE_SHARE:
            return f"{pick(rng, brands)}{noun}"
        return f"{region.short_name}{pick(rng, brands)}{noun}"

    def _opening_head_count(self, industry: str, form: str) -> int:
        """Jobs at opening: none to five mostly, more for companies and larger trades."""
        rng = self.rng
        count = OPENING_HEAD_COUNTS.draw(rng)
        if count == -1:
            count = between(rng, 6, 12)
        elif count == -2:
            count = between(rng, 13, 40)
        if industry in LARGER_INDUSTRIES or form == "company":
            count += triangular_int(rng, 0, 1, 4)
        return count

    def _uscc(self, region: RegionInfo, form: str, *, force: bool) -> str | None:
        """A unified social credit code (GB 32100) for registered businesses; unique."""
        rng = self.rng
        if form == "shop" and not force and rng.random() >= SHOP_USCC_SHARE:
            return None
        while True:
            body = ORGANISATION_CODE_PREFIX + "".join(
                USCC_ALPHABET[int(rng.random() * len(USCC_ALPHABET))] for _ in range(6)
            )
            first17 = USCC_KINDS[form] + region.code + organisation_code(body)
            code = first17 + uscc_check_char(first17)
            if code not in self._issued_codes:
                self._issued_codes.add(code)
                return code

    # Money as the writer wants it ------------------------------------------------------
    def money(self, fen: int | None) -> Decimal | int | None:
        """Yuan as Decimal for a Core INSERT (the Money type converts it), or integer fen
        for COPY, which writes the stored form directly."""
        if fen is None:
            return None
        return fen if self.money_as_fen else Decimal(fen) / 100


class _History:
    """The observations of one business, from its first visit up to `as_of`."""

    def __init__(
        self,
        planner: BusinessPlanner,
        business_id: int,
        industry: str,
        region: RegionInfo,
        employees: int,
        *,
        showcase: bool,
    ) -> None:
        self.planner = planner
        self.rng = planner.rng
        self.as_of = planner.as_of
        self.business_id = business_id
        self.industry = industry
        self.hainan = region.province_code.startswith("46")
        self.employees = employees
        self.showcase = showcase
        # Founders report themselves only from the day after their account was registered.
        account = planner.account
        self.account = None if showcase else account
        low, high = REVENUE_RANGES[industry]
        base = exp(self.rng.uniform(log(low), log(high)))
        self.revenue = base * (1.0 if self.hainan else SHANGHAI_REVENUE_FACTOR)
        self.rows: list[dict[str, Any]] = []

    def plan(self, opened_on: date, tracked_from: date) -> list[dict[str, Any]]:
        """Visits in order; the first one on or after the closure records it, and ends it."""
        closes_on = None if self.showcase else self._closure_day(opened_on, tracked_from)
        last_seen = None
        for visit in self._visits(tracked_from):
            if closes_on is not None and visit.day >= closes_on:
                noticed = closes_on + timedelta(days=between(self.rng, *CLOSURE_NOTICED_DAYS))
                seen = min(noticed, visit.day)
                if seen <= self.as_of:
                    self._closure(seen, closes_on, visit.source)
                return self.rows
            if visit.day > self.as_of:
                break
            suspended = self._suspends(visit.day, closes_on)
            self._observe(visit, suspended=suspended)
            last_seen = visit.day
        if closes_on is not None and closes_on > (last_seen or tracked_from):
            noticed = closes_on + timedelta(days=between(self.rng, *CLOSURE_NOTICED_DAYS))
            if noticed <= self.as_of:
                self._closure(noticed, closes_on, FOLLOWUP)
                return self.rows
        self._extra_self_report(last_seen or tracked_from, closes_on)
        return self.rows

    def _extra_self_report(self, last_seen: date, closes_on: date | None) -> None:
        """Most founders with an account report between visits, about monthly in the last
        weeks: recent reports, often pending."""
        rng = self.rng
        if self.account is None or rng.random() >= EXTRA_SELF_REPORT_SHARE:
            return
        first = max(
            last_seen + timedelta(days=14),
            self.as_of - timedelta(EXTRA_SELF_REPORT_DAYS),
            self.account.day + timedelta(days=1),
        )
        if first > self.as_of or (closes_on is not None and closes_on <= self.as_of):
            return
        day = first + timedelta(days=between(rng, 0, (self.as_of - first).days))
        while day <= self.as_of:
            self._observe(_Visit(day, FOUNDER), suspended=self._suspends(day, closes_on))
            day += timedelta(days=triangular_int(rng, *EXTRA_SELF_REPORT_GAP_DAYS))

    def _closure_day(self, opened_on: date, tracked_from: date) -> date | None:
        """The day the business closes, if it does within about three years."""
        rng = self.rng
        draw = rng.random()
        if tracked_from > opened_on:  # ran for years before registration: steadier
            if draw < PRE_EXISTING_CLOSURE_SHARE:
                return tracked_from + timedelta(days=between(rng, 60, 1000))
            return None
        if draw < FIRST_YEAR_CLOSURE_SHARE:
            return opened_on + timedelta(days=triangular_int(rng, 40, 200, 365))
        if draw < FIRST_YEAR_CLOSURE_SHARE + LATER_CLOSURE_SHARE:
            return opened_on + timedelta(days=between(rng, 366, 1100))
        return None

    def _visits(self, start: date) -> Iterator[_Visit]:
        """Follow-ups at 3, 6, 12, 24, 36 months, staff visits or self-reports between.
        A visit is skipped now and then, never two in a row (no business goes unseen for
        most of a year)."""
        rng = self.rng
        previous = start
        skipped = False
        for days, followup in VISIT_DAYS:
            day = start + timedelta(days=days + between(rng, -VISIT_JITTER_DAYS, VISIT_JITTER_DAYS))
            if day <= previous:
                continue
            if day > self.as_of:
                yield _Visit(day, FOLLOWUP)
                return
            if not self.showcase and not skipped and rng.random() < VISIT_SKIP_SHARE:
                skipped = True
                continue
            previous, skipped = day, False
            yield _Visit(day, self._source(day, followup=followup))

    def _source(self, day: date, *, followup: bool) -> str:
        """Who observed: the follow-up, the founder's own report, or a staff visit."""
        draw = self.rng.random()
        if self.account is None or day <= self.account.day:
            return FOLLOWUP if followup else STAFF
        if followup:
            if draw < SELF_REPORT_AT_FOLLOWUP_SHARE:
                return FOUNDER
            return FOLLOWUP
        recent = (self.as_of - day).days <= RECENT_REPORT_DAYS * 2
        share = RECENT_FOUNDER_REPORT_SHARE if recent else FOUNDER_REPORT_SHARE
        return FOUNDER if draw < share else STAFF

    def _suspends(self, day: date, closes_on: date | None) -> bool:
        """Suspended at this visit? More likely shortly before closing, and off season."""
        if self.showcase:
            return False
        share = SUSPENSION_SHARE
        if closes_on is not None and (closes_on - day).days < SUSPENSION_BEFORE_CLOSURE_DAYS:
            share = SUSPENSION_BEFORE_CLOSURE_SHARE
        elif self.industry in SEASONAL_INDUSTRIES and day.month in LOW_SEASON:
            share *= 2
        return self.rng.random() < share

    def _observe(self, visit: _Visit, *, suspended: bool) -> None:
        """An operating or suspended observation; head count and revenue move on."""
        rng = self.rng
        if suspended:
            employees = int(self.employees * rng.uniform(0, 0.6))
            revenue = 0
            if rng.random() < 0.4:  # some sales still: stock sold off, a stall kept open
                revenue = int(self._revenue_fen(visit.day, employees) * rng.uniform(0, 0.2))
                revenue = revenue // 10_000 * 10_000
            note = pick(rng, NOTES_SUSPENDED)
            status = SUSPENDED
        else:
            self._drift()
            employees = self.employees
            revenue = self._revenue_fen(visit.day, employees)
            if not self.showcase and rng.random() < REVENUE_UNKNOWN_SHARE:
                revenue = None
            note = pick(rng, NOTES_OPERATING) if rng.random() < NOTE_SHARE else ""
            status = OPERATING
        if visit.source == FOLLOWUP and not note:
            note = FOLLOWUP_NOTE
        self._add(visit.day, status, employees, revenue, None, note, visit.source)

    def _closure(self, seen: date, closed_on: date, source: str) -> None:
        """The last observation: closed, nobody employed, closed a little before."""
        note = pick(self.rng, NOTES_CLOSED)
        self._add(seen, CLOSED, 0, None, closed_on, note, source)

    def _drift(self) -> None:
        """Head count at an operating visit: mostly the same or one more, sometimes less."""
        rng = self.rng
        draw = rng.random()
        if self.showcase:  # her shop grows steadily: one more hand at each later visit
            self.employees += 1 if self.rows else 0
        elif draw < 0.25:
            self.employees += 1
        elif draw < 0.32:
            self.employees += between(rng, 2, 3)
        elif draw < 0.42 and self.employees > 0:
            self.employees -= 1
        self.employees = min(self.employees, 10_000)
        self.revenue *= max(1.0 if self.showcase else 0.7, rng.gauss(1.03, 0.08))

    def _revenue_fen(self, day: date, employees: int) -> int:
        """Monthly revenue in fen: the business's level, its staff, the season, chance."""
        rng = self.rng
        amount = self.revenue * (1 + REVENUE_PER_EMPLOYEE * employees) * rng.uniform(0.85, 1.15)
        if self.hainan and self.industry in SEASONAL_INDUSTRIES:
            if day.month in HIGH_SEASON:
                amount *= 1.35
            elif day.month in LOW_SEASON:
                amount *= 0.7
        elif self.industry == Industry.AGRICULTURE:
            amount *= rng.uniform(0.5, 1.5)
        draw = rng.random()
        if draw < 0.05:  # straight from the books, to the fen
            return int(amount * 100)
        if draw < 0.25:
            return round(amount) * 100
        return round(amount / 100) * 10_000

    def _add(
        self,
        day: date,
        status: str,
        employees: int,
        revenue_fen: int | None,
        closed_on: date | None,
        note: str,
        source: str,
    ) -> None:
        """Append one observation row, with its review state when the founder made it."""
        planner = self.planner
        rng = self.rng
        created_at = moment(day, rng, planner.now)
        row = {
            "id": planner.next_observation_id,
            "business_id": self.business_id,
            "observed_on": day,
            "status": status,
            "employees": employees,
            "monthly_revenue": planner.money(revenue_fen),
            "closed_on": closed_on,
            "note": note,
            "source": source,
            "is_reopening": False,
            "verified": True,
            "review_state": None,
            "reviewed_at": None,
            "reviewed_by_id": None,
            "query_note": "",
            "recorded_by_id": None,
            "created_at": created_at,
        }
        planner.next_observation_id += 1
        if source == FOUNDER:
            account = self.account
            if account is None:  # only founders with an account report themselves
                raise ValueError(f"a self-report of business {self.business_id} without account")
            row["recorded_by_id"] = account.id
            if account.last_report_at is None or account.last_report_at < created_at:
                account.last_report_at = created_at
            self._review(row, created_at)
        self.rows.append(row)

    def _review(self, row: dict[str, Any], created_at: datetime) -> None:
        """Older self-reports were verified (a few queried); recent ones often wait."""
        planner = self.planner
        rng = self.rng
        draw = rng.random()
        recent = (self.as_of - row["observed_on"]).days <= RECENT_REPORT_DAYS
        reviewed_at = min(
            planner.now, created_at + timedelta(days=between(rng, 1, 12), hours=between(rng, 0, 6))
        )
        queried_share = OLD_QUERIED_SHARE
        if recent:
            queried_share = RECENT_PENDING_SHARE + RECENT_QUERIED_SHARE
        if recent and draw < RECENT_PENDING_SHARE:
            row |= {"verified": False, "review_state": PENDING}
            planner.counts["pending_reports"] += 1
        elif draw < queried_share:
            row |= {
                "verified": False,
                "review_state": QUERIED,
                "reviewed_at": reviewed_at,
                "query_note": pick(rng, QUERY_NOTES),
            }
        else:
            row |= {"review_state": VERIFIED, "reviewed_at": reviewed_at}


# Reading founders back, writing businesses ----------------------------------------------
def _founder_batches(batch_size: int) -> Iterator[list[FounderFacts]]:
    """Founders in id order with their first passed courses, adoption and account, a batch
    per four queries."""
    last_id = 0
    while True:
        stmt = (
            select(
                Founder.id,
                Founder.region_code,
                Founder.registered_on,
                Founder.birth_date,
                Founder.name,
                Founder.target_group,
            )
            .where(Founder.id > last_id)
            .order_by(Founder.id)
            .limit(batch_size)
        )
        founders = {row.id: FounderFacts(*row) for row in db.session.execute(stmt)}
        if not founders:
            return
        first, last = min(founders), max(founders)
        _add_training(founders, first, last)
        _add_adoptions(founders, first, last)
        _add_accounts(founders, first, last)
        yield list(founders.values())
        last_id = last


def _add_training(founders: dict[int, FounderFacts], first: int, last: int) -> None:
    """Each founder's first passed entrepreneurship course, and first skills course."""
    stmt = (
        select(Enrollment.founder_id, Enrollment.completed_on, Course.code, Course.kind)
        .join(Cohort, Cohort.id == Enrollment.cohort_id)
        .join(Course, Course.id == Cohort.course_id)
        .where(
            Enrollment.founder_id.between(first, last),
            Enrollment.result == TrainingResult.PASSED,
        )
        .order_by(Enrollment.founder_id, Enrollment.completed_on, Enrollment.id)
    )
    entrepreneurship = {str(kind) for kind in ENTREPRENEURSHIP_KINDS}
    for founder_id, completed_on, code, kind in db.session.execute(stmt):
        founder = founders.get(founder_id)
        if founder is None or completed_on is None:
            continue
        if kind in entrepreneurship:
            if founder.trained_on is None:
                founder.trained_on = completed_on
        elif founder.skill_on is None:
            founder.skill_on, founder.skill_code = completed_on, code


def _add_adoptions(founders: dict[int, FounderFacts], first: int, last: int) -> None:
    """Each founder's earliest adopted library project."""
    stmt = (
        select(LibraryAdoption.founder_id, LibraryAdoption.project_id, LibraryAdoption.adopted_on)
        .where(LibraryAdoption.founder_id.between(first, last))
        .order_by(LibraryAdoption.founder_id, LibraryAdoption.adopted_on, LibraryAdoption.id)
    )
    for founder_id, project_id, adopted_on in db.session.execute(stmt):
        founder = founders.get(founder_id)
        if founder is not None and founder.project_id is None:
            founder.project_id, founder.adopted_on = project_id, adopted_on


def _add_accounts(founders: dict[int, FounderFacts], first: int, last: int) -> None:
    """The founder accounts that exist already (the demo founder's), with their day."""
    stmt = select(User.founder_id, User.id, User.created_at).where(
        User.founder_id.between(first, last)
    )
    for founder_id, account_id, created_at in db.session.execute(stmt):
        founder = founders.get(founder_id)
        if founder is not None:
            founder.account_id = account_id
            founder.account_on = created_at.astimezone(CHINA_TIME).date()


def _published_on() -> dict[int, date]:
    """Each published (or retired) library project's publication day in China."""
    stmt = select(LibraryProject.id, LibraryProject.published_at).where(
        LibraryProject.published_at.is_not(None)
    )
    return {
        project_id: published_at.astimezone(CHINA_TIME).date()
        for project_id, published_at in db.session.execute(stmt)
    }


def write_businesses(
    rng: Random,
    *,
    as_of: date,
    now: datetime,
    founder_count: int,
    showcase_founder_id: int | None,
    progress: Callable[[str, int], AbstractContextManager[Any]],
    on_business: Callable[[OpenedBusiness], None] | None = None,
) -> dict[str, int]:
    """Plan and write every founder's businesses and observations (and the accounts of the
    founders who report themselves), committing per batch like the founders stage; answer
    the counts. Needs founders, training and the library.

    The founders' accounts share one password hash of a random secret, made once per run:
    hashing a password per founder would take days at a million founders, and nobody is to
    know these passwords until staff set one (the centre hands them out in person).
    """
    table, observations, accounts = Business.__table__, Observation.__table__, User.__table__
    planner = BusinessPlanner(
        rng,
        as_of=as_of,
        now=now,
        regions=region_infos(),
        project_industries=dict(
            db.session.execute(select(LibraryProject.id, LibraryProject.industry)).all()
        ),
        project_published_on=_published_on(),
        first_business_id=1 + (db.session.scalar(select(func.max(Business.id))) or 0),
        first_observation_id=1 + (db.session.scalar(select(func.max(Observation.id))) or 0),
        first_account_id=1 + (db.session.scalar(select(func.max(User.id))) or 0),
        account_password_hash=hash_password(secrets.token_urlsafe(32)),
        money_as_fen=db.session.connection().dialect.name == "postgresql",
        on_business=on_business,
    )
    with progress("Businesses and observations", founder_count) as bar:
        for founders in _founder_batches(BATCH_SIZE):
            for founder in founders:
                planner.plan_founder(founder, showcase=founder.id == showcase_founder_id)
            batch = planner.take_batch()
            insert_rows(accounts, batch.accounts)
            if batch.accounts:
                move_id_sequence_past(accounts, batch.accounts[-1]["id"])
            insert_rows(table, batch.businesses)
            insert_rows(observations, batch.observations)
            if batch.businesses:
                move_id_sequence_past(table, batch.businesses[-1]["id"])
            if batch.observations:
                move_id_sequence_past(observations, batch.observations[-1]["id"])
            db.session.commit()
            bar.update(len(founders))
    return {
        "businesses": planner.counts["businesses"],
        "observations": planner.counts["observations"],
        "closed_businesses": planner.counts["closed_businesses"],
        "pending_reports": planner.counts["pending_reports"],
        "founder_accounts": planner.counts["founder_accounts"],
    }
