"""A hand-made institution whose trainees' outcomes are written out (issue 8, D46)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from tests.businesses.factories import make_business, make_observation
from tests.factories import make_founder
from tests.training.factories import make_cohort, make_course, make_enrollment, make_institution

HAIKOU, SANYA = "460100", "460200"
# Every date below is on or before 2026-06-30, so the figures are the same on any later day.
DONE = date(2025, 3, 14)


@dataclass(frozen=True)
class RatedInstitution:
    """The ids of the institution with records and of one without."""

    rated_id: int
    quiet_id: int


@pytest.fixture
def rated_institution(db_session) -> RatedInstitution:
    """Institution I of Haikou ran SYB class CH1 (2025-03-02 to 03-13, results on
    2025-03-14) and a skills class; institution J of Haikou ran nothing.

    CH1, Haikou founders (named 林一号 for h1, and so on; s1 is 林三亚):
    - h1 passed; opened on 2025-05-01 (within 3 months), operating with 4 on 2026-06-01
      (396 days, censored);
    - h2 passed; opened on 2025-08-01 (within 6, not 3 months), closed on 2026-02-01
      (184 days);
    - h3 failed;
    - h4 passed; never opened;
    - h6 passed; opened on 2025-04-01 (within 3 months), operating with 3 on 2026-06-01
      (426 days, censored).
    CH1, a Sanya founder (a province's staff may enroll anyone of the province):
    - s1 passed; opened on 2025-04-15, closed on 2025-06-15 (61 days).
    The skills class: h7 (Haikou) failed — an enrollment statistic, not entrepreneurship.
    """
    rated = make_institution(region_code=HAIKOU, name="I")
    quiet = make_institution(region_code=HAIKOU, name="J")
    syb = make_cohort(region_code=HAIKOU, institution=rated, starts_on=date(2025, 3, 2))
    skills = make_cohort(
        region_code=HAIKOU,
        institution=rated,
        course=make_course(kind="skill"),
        starts_on=date(2025, 3, 2),
    )

    def trained(name: str, region: str, result: str):
        founder = make_founder(region_code=region, name=name)
        make_enrollment(syb, founder, result=result, completed_on=DONE)
        return founder

    h1 = trained("林一号", HAIKOU, "passed")
    first = make_business(h1, opened_on=date(2025, 5, 1))
    make_observation(first, observed_on=date(2026, 6, 1), employees=4)
    h2 = trained("林二号", HAIKOU, "passed")
    closed = make_business(h2, opened_on=date(2025, 8, 1))
    make_observation(closed, observed_on=date(2026, 2, 1), status="closed")
    trained("林三号", HAIKOU, "failed")
    trained("林四号", HAIKOU, "passed")
    h6 = trained("林六号", HAIKOU, "passed")
    early = make_business(h6, opened_on=date(2025, 4, 1))
    make_observation(early, observed_on=date(2026, 6, 1), employees=3)
    s1 = trained("林三亚", SANYA, "passed")
    short = make_business(s1, opened_on=date(2025, 4, 15))
    make_observation(short, observed_on=date(2025, 6, 15), status="closed")
    make_enrollment(skills, make_founder(region_code=HAIKOU), result="failed", completed_on=DONE)
    return RatedInstitution(rated.id, quiet.id)
