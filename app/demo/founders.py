"""Synthetic founders: who registers, where, when, and with which valid ID number.

Each founder is a plain dict of `founder` column values, so a million of them can be written
with batched inserts. The shares follow what guidance centres in Hainan report: most
founders are college graduates, laid-off workers and (returning) migrant workers; a
minority are registered in Shanghai districts, so the second province has data too.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from random import Random
from typing import Any

from app.core.validators import id_number_check_char
from app.demo.names import person_name
from app.demo.sampling import Weighted, pick, spread_dates, triangular_int
from app.founders.models import Education, TargetGroup

# Registration share per region: Hainan roughly by population (Haikou the largest; Sansha,
# islands with a few thousand residents, none), and six Shanghai districts (about 12 %).
REGION_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("460100", 26.0),  # Haikou
    ("460200", 11.0),  # Sanya
    ("460400", 9.0),  # Danzhou
    ("469001", 1.2),  # Wuzhishan
    ("469002", 5.5),  # Qionghai
    ("469005", 5.5),  # Wenchang
    ("469006", 5.5),  # Wanning
    ("469007", 4.5),  # Dongfang
    ("469021", 2.5),  # Ding'an
    ("469022", 2.2),  # Tunchang
    ("469023", 4.5),  # Chengmai
    ("469024", 4.0),  # Lingao
    ("469025", 1.6),  # Baisha
    ("469026", 2.0),  # Changjiang
    ("469027", 4.0),  # Ledong
    ("469028", 3.2),  # Lingshui
    ("469029", 1.4),  # Baoting
    ("469030", 1.6),  # Qiongzhong
    ("310115", 4.0),  # Pudong
    ("310112", 2.2),  # Minhang
    ("310110", 2.0),  # Yangpu
    ("310113", 1.6),  # Baoshan
    ("310104", 1.2),  # Xuhui
    ("310117", 1.5),  # Songjiang
)
# The demo founder account and its founder record live here.
SHOWCASE_REGION = "460100"

EDUCATION_ORDER = tuple(Education)


@dataclass(frozen=True)
class GroupProfile:
    """How the people of one target group look: their share, age, sex, schooling."""

    weight: float
    # Age in years when they register: lowest, most common, highest.
    ages: tuple[int, int, int]
    male_share: float
    # Weights for primary, junior_high, high_school, vocational, college, bachelor, master+.
    education: tuple[float, ...]
    # Share holding a re-employment certificate (再就业优惠证), issued to the unemployed.
    certificate_share: float


GROUP_PROFILES: dict[TargetGroup, GroupProfile] = {
    TargetGroup.LAID_OFF: GroupProfile(18, (28, 42, 58), 0.48, (3, 25, 30, 20, 14, 7, 1), 0.65),
    TargetGroup.COLLEGE_GRADUATE: GroupProfile(
        22, (21, 23, 32), 0.52, (0, 0, 0, 0, 40, 52, 8), 0.12
    ),
    TargetGroup.MIGRANT_WORKER: GroupProfile(
        14, (19, 32, 55), 0.6, (10, 48, 22, 15, 4, 1, 0), 0.25
    ),
    TargetGroup.RETURNING_MIGRANT: GroupProfile(
        14, (22, 35, 55), 0.58, (8, 42, 25, 17, 6, 2, 0), 0.3
    ),
    TargetGroup.POVERTY_REGISTERED: GroupProfile(
        10, (19, 38, 60), 0.55, (18, 45, 20, 12, 4, 1, 0), 0.3
    ),
    TargetGroup.VETERAN: GroupProfile(5, (21, 28, 50), 0.92, (0, 10, 35, 20, 25, 10, 0), 0.2),
    TargetGroup.DISABLED: GroupProfile(3, (19, 38, 58), 0.58, (12, 33, 25, 15, 10, 5, 0), 0.35),
    TargetGroup.YOUTH_STUDENT: GroupProfile(4, (18, 20, 25), 0.5, (0, 0, 5, 35, 35, 25, 0), 0.03),
    TargetGroup.OTHER: GroupProfile(10, (18, 35, 60), 0.52, (4, 22, 25, 17, 16, 14, 2), 0.2),
}
EDUCATION_UNKNOWN_SHARE = 0.02
MIN_AGE, MAX_AGE = 18, 60

# Mainland mobile prefixes in use (China Mobile, Unicom, Telecom, Broadnet), 13x to 19x.
PHONE_PREFIXES = (
    *(f"13{d}" for d in range(10)),
    "145",
    "147",
    "149",
    *(f"15{d}" for d in (0, 1, 2, 3, 5, 6, 7, 8, 9)),
    "166",
    *(f"17{d}" for d in (3, 5, 6, 7, 8)),
    *(f"18{d}" for d in range(10)),
    *(f"19{d}" for d in (1, 2, 3, 5, 6, 7, 8, 9)),
)

# Registrations over the three years before `as_of`, mostly on working days (guidance
# centres are closed at weekends; a few are registered online), rising year on year.
REGISTRATION_YEARS = 3
WEEKDAY_WEIGHTS = (1.0, 1.0, 1.0, 1.0, 0.95, 0.12, 0.06)


def registration_window(as_of: date) -> tuple[date, date]:
    """The first and last day founders are registered on."""
    return as_of - timedelta(days=365 * REGISTRATION_YEARS - 1), as_of


def registration_dates(rng: Random, as_of: date, count: int) -> list[date]:
    """`count` registration dates in order, spread over the last three years."""
    first, last = registration_window(as_of)
    span = (last - first).days or 1

    def weight(day: date) -> float:
        growth = 0.7 + 0.6 * (day - first).days / span
        return WEEKDAY_WEIGHTS[day.weekday()] * growth

    return spread_dates(rng, first, last, count, weight)


def age_on(birth_date: date, day: date) -> int:
    """Completed years of age on `day`."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


class FounderFactory:
    """Draws founder rows with valid, unique ID numbers for the given regions."""

    def __init__(self, rng: Random, *, region_codes: Collection[str], now: datetime) -> None:
        self.rng = rng
        self.now = now
        self.regions = Weighted(
            (code, weight) for code, weight in REGION_WEIGHTS if code in region_codes
        )
        self.groups = Weighted((group, profile.weight) for group, profile in GROUP_PROFILES.items())
        self.education = {
            group: Weighted(zip(EDUCATION_ORDER, profile.education, strict=True))
            for group, profile in GROUP_PROFILES.items()
        }
        # First 17 characters of every ID number drawn so far, as integers (compact).
        self._issued: set[int] = set()

    def founder(
        self, registered_on: date, *, target_group: TargetGroup | None = None
    ) -> dict[str, Any]:
        """One founder registered on `registered_on` (of `target_group` when given)."""
        rng = self.rng
        group = target_group or self.groups.draw(rng)
        profile = GROUP_PROFILES[group]
        region_code = self.regions.draw(rng)
        male = rng.random() < profile.male_share
        birth_date = self.birth_date(registered_on, profile.ages)
        education = (
            None if rng.random() < EDUCATION_UNKNOWN_SHARE else self.education[group].draw(rng)
        )
        return self.row(
            name=person_name(rng, male=male, birth_year=birth_date.year, region_code=region_code),
            id_number=self.id_number(region_code, birth_date, male=male),
            phone=self.phone(),
            region_code=region_code,
            target_group=group,
            education=education,
            has_reemployment_certificate=rng.random() < profile.certificate_share,
            registered_on=registered_on,
        )

    def showcase(self, registered_on: date) -> dict[str, Any]:
        """The founder behind the demo founder account: 林小红 of Haikou, back from the city."""
        birth_date = self.birth_date(registered_on, (31, 32, 33))
        return self.row(
            name="林小红",
            id_number=self.id_number(SHOWCASE_REGION, birth_date, male=False),
            phone=self.phone(),
            region_code=SHOWCASE_REGION,
            target_group=TargetGroup.RETURNING_MIGRANT,
            education=Education.HIGH_SCHOOL,
            has_reemployment_certificate=True,
            registered_on=registered_on,
        )

    def row(self, **values: Any) -> dict[str, Any]:
        """Complete the drawn values with what the ID number implies and the timestamps."""
        id_number = values["id_number"]
        values["target_group"] = str(values["target_group"])
        if values["education"] is not None:
            values["education"] = str(values["education"])
        return values | {
            "id_number_last4": id_number[-4:],
            "birth_date": date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14])),
            "sex": "male" if int(id_number[16]) % 2 else "female",
            "created_at": self.now,
            "updated_at": self.now,
        }

    def birth_date(self, registered_on: date, ages: tuple[int, int, int]) -> date:
        """A birth date making the founder `ages` old (and 18 to 60) when registered."""
        low, mode, high = ages
        while True:
            years = triangular_int(self.rng, low, mode, high)
            born = registered_on - timedelta(
                days=round(years * 365.25) + int(self.rng.random() * 365)
            )
            if MIN_AGE <= age_on(born, registered_on) <= MAX_AGE:
                return born

    def id_number(self, region_code: str, birth_date: date, *, male: bool) -> str:
        """A GB 11643 number: region, birth date, a serial whose last digit is odd for men,
        and the check character. Never the same number twice in one run."""
        stem = f"{region_code}{birth_date:%Y%m%d}"
        while True:
            serial = int(self.rng.random() * 100) * 10 + pick(
                self.rng, (1, 3, 5, 7, 9) if male else (0, 2, 4, 6, 8)
            )
            first17 = f"{stem}{serial:03d}"
            key = int(first17)
            if key not in self._issued:
                self._issued.add(key)
                return first17 + id_number_check_char(first17)

    def phone(self) -> str:
        """A mainland mobile number; numbers repeat rarely, as they do in life."""
        return f"{pick(self.rng, PHONE_PREFIXES)}{int(self.rng.random() * 100_000_000):08d}"
