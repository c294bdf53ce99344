"""Synthetic training: institutions, skills courses, cohorts and each founder's results.

Cohorts are laid out as founders become ready for a course: a founder joins the earliest
cohort of that course in their region that starts soon and has a free seat, or a new one
opens a week or more later. In a busy region cohorts fill up within days; in a quiet one a
new cohort is announced up to five months ahead so it can gather a class (with the default
300 founders classes stay small all the same: three years of a small register). Institutions
differ in quality, so their pass rates (what SPEC §6 rates them on) differ too.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from random import Random
from typing import Any

from app.core.dates import add_working_days
from app.demo.founders import REGION_WEIGHTS, registration_window
from app.demo.sampling import Weighted, pick
from app.founders.models import TargetGroup
from app.training.models import CourseKind, TrainingResult

# Named institutions of the main cities; `designated` ones run the subsidised SIYB courses,
# the others skills courses. Every other region with founders gets a county centre.
NAMED_INSTITUTIONS: tuple[tuple[str, str, bool], ...] = (
    ("460100", "海口市创业培训中心", True),
    ("460100", "海南职业技术学院继续教育学院", True),
    ("460100", "海口市美兰区就业训练中心", True),
    ("460100", "海口市烹饪职业技能培训学校", False),
    ("460200", "三亚市就业训练中心", True),
    ("460200", "三亚职业技术学院继续教育学院", True),
    ("460200", "三亚市旅游服务技能培训学校", False),
    ("460400", "儋州市创业培训中心", True),
    ("460400", "儋州市职业技术培训学校", False),
    ("469002", "琼海市就业训练中心", True),
    ("469002", "琼海市嘉积职业技能培训学校", False),
    ("469005", "文昌市创业培训中心", True),
    ("469005", "文昌市职业技术学校", False),
    ("469006", "万宁市就业训练中心", True),
    ("469006", "万宁市兴隆职业技能培训学校", False),
    ("310115", "浦东新区创业培训中心", True),
    ("310115", "浦东新区职业技能培训学校", False),
    ("310110", "杨浦区创业指导服务中心", True),
    ("310110", "杨浦区职业技能培训学校", False),
)
COUNTY_CENTRE_SUFFIX = "就业训练中心"

# Skills courses added to the catalogue next to the four SIYB courses of migration 0003.
SKILL_COURSES: tuple[tuple[str, str, str, int], ...] = (
    ("SKILL-ECOM", "电子商务运营", "E-commerce Operations", 40),
    ("SKILL-COOK", "中式烹调", "Chinese Cooking", 120),
    ("SKILL-HOMESTAY", "民宿管理", "Homestay Management", 40),
    ("SKILL-TEA", "茶艺", "Tea Art", 40),
)
SKILL_WEIGHTS = Weighted(
    [("SKILL-ECOM", 40), ("SKILL-COOK", 25), ("SKILL-HOMESTAY", 20), ("SKILL-TEA", 15)]
)
SKILL = "skill"  # placeholder in a path for "one of the skills courses"

# Which courses a founder takes, in order. Most take SYB or GYB; some go on to IYB.
PATHS = Weighted(
    [
        (("SYB",), 42),
        (("GYB",), 17),
        (("GYB", "SYB"), 12),
        (("SYB", "IYB"), 5),
        (("IYB",), 4),
        (("EYB",), 1.5),
        ((SKILL,), 10),
        ((SKILL, "SYB"), 5),
        (("GYB", SKILL), 2),
    ]
)
# Students mostly take the awareness course (GYB) first.
STUDENT_PATHS = Weighted([(("GYB",), 55), (("GYB", "SYB"), 20), (("SYB",), 12), ((SKILL,), 13)])
# Share of founders who enroll; those registered in the last weeks often have not yet.
ENROLL_SHARE = 0.74
# Days from registration to being ready for a first course (mean), and the longest wait.
FIRST_COURSE_MEAN_DAYS = 18
FIRST_COURSE_MAX_DAYS = 120
# Days between finishing one course and being ready for the next, per pair.
NEXT_COURSE_GAP_DAYS = {("GYB", "SYB"): (14, 150), ("SYB", "IYB"): (120, 400)}
DEFAULT_NEXT_GAP_DAYS = (14, 120)

CAPACITIES = (30, 35, 40, 40, 45, 50)
# A new cohort starts at least a week after its first enrollee is ready, and at most this
# many days; quiet regions wait longer so a cohort gathers a class.
MIN_LEAD_DAYS, MAX_LEAD_DAYS = 7, 150
TARGET_CLASS_SIZE = 32
HOURS_PER_DAY = 8

DROP_SHARE = 0.03
# Institutions pass between 83 % and 93 % of their trainees (a few fall short of the 90 %
# target); cohorts vary around that.
INSTITUTION_PASS_RATES = (0.83, 0.93)
COHORT_PASS_SPREAD = 0.02
# Certificates take a few weeks to be issued: some recent graduates wait for theirs.
CERTIFICATE_DELAY_DAYS = 30
CERTIFICATE_PENDING_SHARE = 0.5


@dataclass(frozen=True)
class CourseInfo:
    """The course facts a cohort needs."""

    id: int
    code: str
    name: str
    kind: str
    hours: int

    @property
    def training_days(self) -> int:
        """Working days the course takes at eight class hours a day."""
        return math.ceil(self.hours / HOURS_PER_DAY)

    @property
    def label(self) -> str:
        """How cohort names call the course."""
        return f"{self.name}培训" if self.kind == CourseKind.SKILL else f"{self.code}创业培训"


@dataclass(frozen=True)
class InstitutionInfo:
    """The institution facts a cohort needs, with the quality that sets its pass rate."""

    id: int
    region_code: str
    designated: bool
    pass_rate: float


@dataclass(eq=False, slots=True)
class PlannedCohort:
    """A cohort being filled; `id` is set once it is written."""

    course: CourseInfo
    institution: InstitutionInfo
    name: str
    starts_on: date
    ends_on: date
    capacity: int
    pass_rate: float
    taken: int = 0
    id: int | None = None

    def row(self, now: datetime) -> dict[str, Any]:
        """Column values for the insert."""
        return {
            "course_id": self.course.id,
            "institution_id": self.institution.id,
            "region_code": self.institution.region_code,
            "name": self.name,
            "starts_on": self.starts_on,
            "ends_on": self.ends_on,
            "capacity": self.capacity,
            "created_at": now,
        }


@dataclass(slots=True)
class PlannedEnrollment:
    """A founder's place in a planned cohort, with its outcome as of the seed date."""

    cohort: PlannedCohort
    founder_id: int
    enrolled_on: date
    attendance: int
    result: str | None
    completed_on: date | None
    certificate_no: str | None

    def row(self, now: datetime) -> dict[str, Any]:
        """Column values for the insert (the cohort must be written first)."""
        return {
            "cohort_id": self.cohort.id,
            "founder_id": self.founder_id,
            "enrolled_on": self.enrolled_on,
            "attendance": self.attendance,
            "result": self.result,
            "completed_on": self.completed_on,
            "certificate_no": self.certificate_no,
            "created_at": now,
        }


def institution_rows(region_names: Mapping[str, str]) -> list[dict[str, Any]]:
    """The demo institutions: the named ones, and a county centre wherever founders live
    without one, for the regions that exist."""
    rows = [
        {"region_code": code, "name": name, "designated": designated}
        for code, name, designated in NAMED_INSTITUTIONS
        if code in region_names
    ]
    covered = {row["region_code"] for row in rows}
    for code, _weight in REGION_WEIGHTS:
        if code in region_names and code not in covered:
            rows.append(
                {
                    "region_code": code,
                    "name": region_names[code] + COUNTY_CENTRE_SUFFIX,
                    "designated": True,
                }
            )
    return rows


def skill_course_rows() -> list[dict[str, Any]]:
    """The skills courses the demo adds to the catalogue."""
    return [
        {
            "code": code,
            "name": name,
            "name_en": name_en,
            "kind": CourseKind.SKILL.value,
            "hours": hours,
        }
        for code, name, name_en, hours in SKILL_COURSES
    ]


def institution_pass_rate(rng: Random) -> float:
    """How well an institution teaches: the share of its trainees who pass."""
    return rng.uniform(*INSTITUTION_PASS_RATES)


def _course_shares() -> dict[str, float]:
    """Expected courses per enrolled founder, per course code (skills spread by weight)."""
    shares: dict[str, float] = defaultdict(float)
    for path in PATHS.values:
        for code in path:
            if code == SKILL:
                for skill in SKILL_WEIGHTS.values:
                    shares[skill] += PATHS.share(path) * SKILL_WEIGHTS.share(skill)
            else:
                shares[code] += PATHS.share(path)
    return shares


class TrainingPlanner:
    """Places founders in cohorts as they register and decides their results as of `as_of`.

    Feed founders in registration order (`plan_founder`); take the cohorts it opened with
    `take_new_cohorts` and write them before the enrollments that point at them.
    """

    def __init__(
        self,
        rng: Random,
        *,
        as_of: date,
        founder_count: int,
        courses: Mapping[str, CourseInfo],
        institutions: list[InstitutionInfo],
    ) -> None:
        self.rng = rng
        self.as_of = as_of
        self.courses = courses
        self.siyb_institutions: dict[str, list[InstitutionInfo]] = defaultdict(list)
        self.skill_institutions: dict[str, list[InstitutionInfo]] = defaultdict(list)
        for institution in institutions:
            if institution.designated:
                self.siyb_institutions[institution.region_code].append(institution)
            else:
                self.skill_institutions[institution.region_code].append(institution)
        self._lead_days = self._lead_days_per_course(founder_count)
        self._open: dict[tuple[str, str], list[PlannedCohort]] = defaultdict(list)
        self._new: list[PlannedCohort] = []
        self._names: dict[tuple[int, str, str], int] = defaultdict(int)
        self._certificates: dict[tuple[str, str, int], int] = defaultdict(int)
        self._today = date.min
        self.cohort_count = 0

    def _lead_days_per_course(self, founder_count: int) -> dict[tuple[str, str], int]:
        """How long a new cohort waits for its class, from the expected enrollments a day."""
        total_weight = sum(weight for _code, weight in REGION_WEIGHTS)
        first, last = registration_window(self.as_of)
        days = (last - first).days + 1
        leads = {}
        for code, share in _course_shares().items():
            for region_code, weight in REGION_WEIGHTS:
                per_day = founder_count * weight / total_weight * ENROLL_SHARE * share / days
                wait = TARGET_CLASS_SIZE / per_day if per_day else MAX_LEAD_DAYS
                leads[code, region_code] = round(min(MAX_LEAD_DAYS, max(MIN_LEAD_DAYS, wait)))
        return leads

    def take_new_cohorts(self) -> list[PlannedCohort]:
        """The cohorts opened since the last call, to be written now."""
        new, self._new = self._new, []
        return new

    def plan_founder(
        self,
        founder_id: int,
        *,
        region_code: str,
        registered_on: date,
        target_group: str,
        showcase: bool = False,
    ) -> list[PlannedEnrollment]:
        """The enrollments of one founder (none for about a quarter of them).

        The showcase founder (the demo founder account's) always takes SYB and passes.
        """
        rng = self.rng
        if registered_on > self._today:
            self._today = registered_on
            self._close_started_cohorts()
        if showcase:
            path: tuple[str, ...] = ("SYB",)
        elif rng.random() >= ENROLL_SHARE:
            return []
        elif target_group == TargetGroup.YOUTH_STUDENT:
            path = STUDENT_PATHS.draw(rng)
        else:
            path = PATHS.draw(rng)
        ready_on = registered_on + timedelta(
            days=min(FIRST_COURSE_MAX_DAYS, int(rng.expovariate(1 / FIRST_COURSE_MEAN_DAYS)))
        )
        enrollments: list[PlannedEnrollment] = []
        previous = None
        for code in path:
            course = self.courses[SKILL_WEIGHTS.draw(rng) if code == SKILL else code]
            if previous is not None:
                if previous.result != TrainingResult.PASSED:
                    break
                low, high = NEXT_COURSE_GAP_DAYS.get(
                    (previous.cohort.course.code, course.code), DEFAULT_NEXT_GAP_DAYS
                )
                ready_on = previous.cohort.ends_on + timedelta(days=rng.randint(low, high))
            if ready_on > self.as_of:
                break
            cohort = self._cohort_for(course, region_code, ready_on)
            previous = self._enroll(founder_id, cohort, ready_on, force_pass=showcase)
            enrollments.append(previous)
        return enrollments

    def _close_started_cohorts(self) -> None:
        """Forget cohorts no later founder can join: started already, or full."""
        for key, cohorts in self._open.items():
            self._open[key] = [
                cohort
                for cohort in cohorts
                if cohort.starts_on >= self._today and cohort.taken < cohort.capacity
            ]

    def _cohort_for(self, course: CourseInfo, region_code: str, ready_on: date) -> PlannedCohort:
        """The earliest cohort with a seat starting soon after `ready_on`, or a new one."""
        lead = self._lead_days.get((course.code, region_code), MAX_LEAD_DAYS)
        latest_start = ready_on + timedelta(days=lead + 7)
        candidates = [
            cohort
            for cohort in self._open[course.code, region_code]
            if cohort.taken < cohort.capacity and ready_on <= cohort.starts_on <= latest_start
        ]
        if candidates:
            return min(candidates, key=lambda cohort: cohort.starts_on)
        cohort = self._open_cohort(course, region_code, ready_on, lead)
        self._open[course.code, region_code].append(cohort)
        return cohort

    def _open_cohort(
        self, course: CourseInfo, region_code: str, ready_on: date, lead: int
    ) -> PlannedCohort:
        """A new cohort starting on a Monday, `lead` days or so after `ready_on`."""
        rng = self.rng
        earliest = max(MIN_LEAD_DAYS, lead * 2 // 3)
        starts_on = ready_on + timedelta(days=rng.randint(earliest, max(earliest, lead)))
        starts_on += timedelta(days=(7 - starts_on.weekday()) % 7)
        ends_on = add_working_days(starts_on, course.training_days - 1)
        if course.kind == CourseKind.SKILL:
            pool = self.skill_institutions.get(region_code) or self.siyb_institutions[region_code]
        else:
            pool = self.siyb_institutions[region_code]
        institution = pick(rng, pool)
        pass_rate = min(0.99, max(0.7, rng.gauss(institution.pass_rate, COHORT_PASS_SPREAD)))
        cohort = PlannedCohort(
            course=course,
            institution=institution,
            name=self._cohort_name(course, institution, starts_on),
            starts_on=starts_on,
            ends_on=ends_on,
            capacity=pick(rng, CAPACITIES),
            pass_rate=pass_rate,
        )
        self._new.append(cohort)
        self.cohort_count += 1
        return cohort

    def _cohort_name(
        self, course: CourseInfo, institution: InstitutionInfo, starts_on: date
    ) -> str:
        """Names as centres write them: 「SYB创业培训2025年3月班」, a second one 「…3月2班」."""
        label = course.label
        key = (institution.id, course.code, f"{starts_on:%Y%m}")
        self._names[key] += 1
        number = self._names[key]
        month = f"{starts_on.year}年{starts_on.month}月"
        return f"{label}{month}班" if number == 1 else f"{label}{month}{number}班"

    def _enroll(
        self, founder_id: int, cohort: PlannedCohort, ready_on: date, *, force_pass: bool
    ) -> PlannedEnrollment:
        """Take a seat in `cohort` and settle the result the founder has by `as_of`."""
        rng = self.rng
        cohort.taken += 1
        # People sign up a few days to a few weeks before the class starts.
        signs_up_on = cohort.starts_on - timedelta(days=rng.randint(2, 30))
        enrolled_on = min(max(ready_on, signs_up_on), self.as_of)
        enrollment = PlannedEnrollment(
            cohort=cohort,
            founder_id=founder_id,
            enrolled_on=enrolled_on,
            attendance=0,
            result=None,
            completed_on=None,
            certificate_no=None,
        )
        hours = cohort.course.hours
        if cohort.ends_on > self.as_of:
            if cohort.starts_on <= self.as_of:
                done = ((self.as_of - cohort.starts_on).days + 1) / (
                    (cohort.ends_on - cohort.starts_on).days + 1
                )
                enrollment.attendance = int(hours * done * rng.uniform(0.85, 1.0))
            return enrollment
        draw = rng.random()
        if force_pass or DROP_SHARE <= draw < DROP_SHARE + cohort.pass_rate:
            enrollment.result = TrainingResult.PASSED.value
            enrollment.attendance = int(hours * rng.uniform(0.9, 1.0))
            enrollment.completed_on = cohort.ends_on
            enrollment.certificate_no = self._certificate(cohort, force=force_pass)
        elif draw < DROP_SHARE:
            enrollment.result = TrainingResult.DROPPED.value
            span = (cohort.ends_on - cohort.starts_on).days
            enrollment.completed_on = cohort.starts_on + timedelta(days=rng.randint(0, span))
            enrollment.attendance = int(hours * rng.uniform(0.05, 0.5))
        else:
            enrollment.result = TrainingResult.FAILED.value
            enrollment.attendance = int(hours * rng.uniform(0.55, 0.9))
            enrollment.completed_on = cohort.ends_on
        return enrollment

    def _certificate(self, cohort: PlannedCohort, *, force: bool) -> str | None:
        """A certificate number (course, region, year, serial), or None while it is pending."""
        recent = (self.as_of - cohort.ends_on).days < CERTIFICATE_DELAY_DAYS
        if recent and not force and self.rng.random() < CERTIFICATE_PENDING_SHARE:
            return None
        key = (cohort.course.code, cohort.institution.region_code, cohort.ends_on.year)
        self._certificates[key] += 1
        code, region_code, year = key
        return f"{code}{region_code}{year}{self._certificates[key]:06d}"
