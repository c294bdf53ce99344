"""The review queue shows, beside each report, the observation just before it."""

from datetime import date

from app.businesses.queries import previous_observations
from tests.businesses.factories import make_business, make_observation


def test_each_report_is_paired_with_the_observation_just_before_it(db_session):
    business = make_business()
    first = make_observation(business, observed_on=date(2026, 4, 1), employees=2)
    same_day = make_observation(business, observed_on=date(2026, 6, 1), employees=3)
    report = make_observation(business, observed_on=date(2026, 6, 1), employees=5, source="founder")
    later = make_observation(business, observed_on=date(2026, 8, 1), employees=6)
    other = make_observation(make_business(), observed_on=date(2026, 6, 1), source="founder")

    previous = previous_observations([report, same_day, first, later, other])

    assert previous[report.id] is same_day  # same day: the earlier-made one
    assert previous[same_day.id] is first
    assert previous[later.id] is report
    assert first.id not in previous
    assert other.id not in previous
    assert previous_observations([]) == {}
