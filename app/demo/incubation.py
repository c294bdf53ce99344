"""Demo incubation bases (SPEC §8) and their residents.

Five bases in Hainan: a science park and a university campus in Haikou, a park in Sanya, an
old sugar factory in Qionghai and a returnees' park in Danzhou. Young businesses of the
base's region (a few from elsewhere in the province; mostly students and graduates on the
campus) move in soon after opening and stay one to two and a half years before
graduating; some leave early, and a business that closes while resident ends its
residency on its closing day. A unit holds one resident at a time and a few units stay
free, so no base is ever over capacity.

The candidates are sampled while the businesses are written (`ResidentPool`, a fixed-size
sample per region), so this stage reads nothing back however many founders there are.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from random import Random
from typing import Any

from sqlalchemy import func, insert, select

from app.demo.bulk import insert_rows, move_id_sequence_past
from app.demo.businesses import OpenedBusiness, moment
from app.demo.founders import PHONE_PREFIXES
from app.demo.sampling import Weighted, pick, triangular_int
from app.extensions import db
from app.founders.models import TargetGroup
from app.incubation.models import BaseKind, IncubationBase, Residency, ResidencyOutcome
from app.regions.models import Region

# Residencies tried per unit over the three demo years, and candidates kept per province
# for its bases (businesses from regions without a base of their own).
CANDIDATES_PER_UNIT = 3
PROVINCE_CANDIDATES = 60
# Share of a province's other businesses that move to one of its bases.
FROM_ELSEWHERE_SHARE = 0.35
# A base keeps this share of its units free (at least two), for newcomers.
FREE_UNIT_SHARE = 0.1
MIN_FREE_UNITS = 2
# Days from opening to moving in, and how long a resident stays.
MOVE_IN_DAYS = (0, 10, 90)
GRADUATE_DAYS = (300, 540, 900)
LEAVE_DAYS = (60, 150, 330)
LEAVE_SHARE = 0.12
# A business that closes within this many days of moving in never moved in; and bases pick
# promising applicants, so businesses that will close are often turned away.
SHORTEST_STAY_DAYS = 30
TURNED_AWAY_SHARE = 0.6
# A base prefers its own people (the campus: students and graduates) this often.
PREFERRED_SHARE = 0.8
# Bases were set up before the demo years began.
BASE_AGE_DAYS = (1_200, 1_500, 2_500)
ROOMS_PER_FLOOR = 10

NOTES = {
    ResidencyOutcome.GRADUATED: (
        "孵化期满，迁入自有门面",
        "孵化期满毕业",
        "获评优秀入驻企业，顺利毕业",
    ),
    ResidencyOutcome.LEFT: ("因经营调整搬离", "迁往其他市县经营", "场地不合适，主动退出"),
    ResidencyOutcome.CLOSED: ("企业关闭，退出孵化",),
}


@dataclass(frozen=True)
class DemoBase:
    """One demo base; `prefers` are the target groups it was set up for."""

    name: str
    region_code: str
    kind: BaseKind
    address: str
    units: int
    operator_name: str
    prefers: frozenset[str] = frozenset()


DEMO_BASES: tuple[DemoBase, ...] = (
    DemoBase(
        "海口国家高新区创业孵化基地",
        "460100",
        BaseKind.PARK,
        "海口市秀英区药谷一横路8号 创业孵化大楼",
        60,
        "海口国家高新区企业服务中心 符海燕",
    ),
    DemoBase(
        "海南大学大学生创业园",
        "460100",
        BaseKind.CAMPUS,
        "海口市美兰区人民大道58号 海南大学创新创业学院",
        40,
        "海南大学创新创业学院 吴俊杰",
        frozenset({TargetGroup.COLLEGE_GRADUATE.value, TargetGroup.YOUTH_STUDENT.value}),
    ),
    DemoBase(
        "三亚市创业孵化中心",
        "460200",
        BaseKind.PARK,
        "三亚市吉阳区迎宾路168号 创业大厦",
        36,
        "三亚市就业服务中心 黄晓丽",
    ),
    DemoBase(
        "琼海旧糖厂创业空间",
        "469002",
        BaseKind.IDLE_FACTORY,
        "琼海市嘉积镇红星路 原琼海糖厂厂区",
        24,
        "琼海市创业指导中心 卢志强",
    ),
    DemoBase(
        "儋州那大返乡创业园",
        "460400",
        BaseKind.OTHER,
        "儋州市那大镇中兴大街 返乡创业园",
        30,
        "儋州市人力资源和社会保障局 羊春梅",
    ),
)


class ResidentPool:
    """A fixed-size random sample of young businesses per base region, and per province
    for the regions without a base (reservoir sampling: one pass, bounded memory)."""

    def __init__(self, rng: Random, bases: tuple[DemoBase, ...] = DEMO_BASES) -> None:
        self.rng = rng
        # Sample size per base region; other regions share their province's sample.
        self.sizes: dict[str, int] = defaultdict(int)
        for base in bases:
            self.sizes[base.region_code] += base.units * CANDIDATES_PER_UNIT
        self.samples: dict[str, list[OpenedBusiness]] = defaultdict(list)
        self.seen: dict[str, int] = defaultdict(int)

    def offer(self, business: OpenedBusiness) -> None:
        """Consider one business (called for every business opened after registering)."""
        if business.region_code in self.sizes:
            key, size = business.region_code, self.sizes[business.region_code]
        else:
            key, size = business.province_code, PROVINCE_CANDIDATES
        self.seen[key] += 1
        sample = self.samples[key]
        if len(sample) < size:
            sample.append(business)
            return
        slot = int(self.rng.random() * self.seen[key])
        if slot < size:
            sample[slot] = business


@dataclass
class PlannedBase:
    """A base being filled: which demo base, its id and province, and who applies."""

    demo: DemoBase
    id: int
    province_code: str
    candidates: list[tuple[date, OpenedBusiness]] = field(default_factory=list)


def unit_labels(units: int) -> list[str]:
    """Room numbers as the base's signs show them: 101 … 110, 201 …"""
    return [
        f"{index // ROOMS_PER_FLOOR + 1}{index % ROOMS_PER_FLOOR + 1:02d}" for index in range(units)
    ]


def usable_units(units: int) -> int:
    """Units the demo fills; the rest stay free so staff can still take a newcomer in."""
    return units - max(MIN_FREE_UNITS, round(units * FREE_UNIT_SHARE))


def base_rows(
    rng: Random, *, as_of: date, now: datetime, first_id: int, region_codes: set[str]
) -> list[dict[str, Any]]:
    """The demo bases of the regions that exist, as rows with ids from `first_id` on."""
    rows = []
    for base in DEMO_BASES:
        if base.region_code not in region_codes:
            continue
        opened = as_of - timedelta(days=triangular_int(rng, *BASE_AGE_DAYS))
        created_at = moment(opened, rng, now)
        phone = f"{pick(rng, PHONE_PREFIXES)}{int(rng.random() * 100_000_000):08d}"
        rows.append(
            {
                "id": first_id + len(rows),
                "name": base.name,
                "region_code": base.region_code,
                "kind": base.kind.value,
                "address": base.address,
                "units": base.units,
                "operator_name": base.operator_name,
                "operator_phone": phone,
                "created_at": created_at,
                "updated_at": created_at,
            }
        )
    return rows


def _route(rng: Random, pool: ResidentPool, bases: list[PlannedBase], as_of: date) -> None:
    """Send each sampled business to at most one base, with its move-in day."""
    by_region: dict[str, list[PlannedBase]] = defaultdict(list)
    by_province: dict[str, list[PlannedBase]] = defaultdict(list)
    for base in bases:
        by_region[base.demo.region_code].append(base)
        by_province[base.province_code].append(base)
    for key in sorted(pool.samples):
        local = key in by_region
        for business in pool.samples[key]:
            if not local and rng.random() >= FROM_ELSEWHERE_SHARE:
                continue
            base = _choose(rng, by_region[key] if local else by_province[key], business)
            if base is None:
                continue
            starts_on = business.opened_on + timedelta(days=triangular_int(rng, *MOVE_IN_DAYS))
            if starts_on > as_of:
                continue
            closed_on = business.closed_on
            if closed_on is not None and (
                closed_on < starts_on + timedelta(SHORTEST_STAY_DAYS)
                or rng.random() < TURNED_AWAY_SHARE
            ):
                continue
            base.candidates.append((starts_on, business))


def _choose(rng: Random, bases: list[PlannedBase], business: OpenedBusiness) -> PlannedBase | None:
    """The base a business applies to: one made for its founder's group, most likely; else
    a general one by size (a specialised one takes a few others)."""
    preferred = [base for base in bases if business.target_group in base.demo.prefers]
    if preferred and rng.random() < PREFERRED_SHARE:
        return pick(rng, preferred)
    general = [base for base in bases if not base.demo.prefers]
    if general:
        return Weighted((base, base.demo.units) for base in general).draw(rng)
    if bases and rng.random() < 1 - PREFERRED_SHARE:
        return pick(rng, bases)
    return None


def plan_residencies(
    rng: Random, base: PlannedBase, *, as_of: date, now: datetime
) -> list[dict[str, Any]]:
    """Move candidates in, in order, while a unit is free; settle how each stay ends."""
    labels = unit_labels(base.demo.units)[: usable_units(base.demo.units)]
    free_from = dict.fromkeys(labels, date.min)
    rows = []
    for starts_on, business in sorted(base.candidates, key=lambda item: (item[0], item[1].id)):
        free = [label for label in labels if free_from[label] <= starts_on]
        if not free:
            continue
        label = pick(rng, free)
        planned_end, planned_outcome = _stay(rng, starts_on, business.closed_on)
        ended = planned_end <= as_of  # else still resident
        ends_on = planned_end if ended else None
        outcome = planned_outcome if ended else None
        free_from[label] = date.max if ends_on is None else ends_on + timedelta(days=1)
        rows.append(
            {
                "base_id": base.id,
                "business_id": business.id,
                "unit_label": label,
                "starts_on": starts_on,
                "ends_on": ends_on,
                "outcome": outcome,
                "note": pick(rng, NOTES[ResidencyOutcome(outcome)]) if outcome else "",
                "created_at": moment(starts_on, rng, now),
            }
        )
    return rows


def _stay(rng: Random, starts_on: date, closed_on: date | None) -> tuple[date, str]:
    """When and how a stay ends: graduation mostly, leaving early sometimes, or the
    business's closure (the residency ends on its closing day)."""
    if rng.random() < LEAVE_SHARE:
        ends_on = starts_on + timedelta(days=triangular_int(rng, *LEAVE_DAYS))
        outcome = ResidencyOutcome.LEFT
    else:
        ends_on = starts_on + timedelta(days=triangular_int(rng, *GRADUATE_DAYS))
        outcome = ResidencyOutcome.GRADUATED
    if closed_on is not None and starts_on <= closed_on <= ends_on:
        return closed_on, ResidencyOutcome.CLOSED.value
    return ends_on, outcome.value


def write_incubation(
    rng: Random, pool: ResidentPool, *, as_of: date, now: datetime
) -> dict[str, int]:
    """Add the demo bases and their residencies; answer the counts. Bases that exist
    already mean someone set incubation up by hand: then nothing is added. Flushes only."""
    if db.session.scalar(select(IncubationBase.id).limit(1)) is not None:
        return {"incubation_bases": 0, "residencies": 0}
    parents = dict(db.session.execute(select(Region.code, Region.parent_code)).all())
    first_id = 1 + (db.session.scalar(select(func.max(IncubationBase.id))) or 0)
    rows = base_rows(rng, as_of=as_of, now=now, first_id=first_id, region_codes=set(parents))
    if not rows:
        return {"incubation_bases": 0, "residencies": 0}
    table = IncubationBase.__table__
    db.session.execute(insert(table), rows)
    move_id_sequence_past(table, rows[-1]["id"])
    demos = {base.name: base for base in DEMO_BASES}
    bases = [
        PlannedBase(
            demos[row["name"]], row["id"], parents[row["region_code"]] or row["region_code"]
        )
        for row in rows
    ]
    _route(rng, pool, bases, as_of)
    residencies = [
        row for base in bases for row in plan_residencies(rng, base, as_of=as_of, now=now)
    ]
    insert_rows(Residency.__table__, residencies)
    return {"incubation_bases": len(rows), "residencies": len(residencies)}
