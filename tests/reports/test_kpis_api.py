"""GET /api/v1/kpis: the SPEC §14 shape, who may read it, scope (404), bad input (422)."""

from __future__ import annotations

from datetime import date

import pytest

from app.core.dates import today_in_china
from app.reports.kpis import compute_kpis
from tests.businesses.factories import make_business, make_observation
from tests.factories import make_founder

URL = "/api/v1/kpis"
SHAPE = {
    "training": {"enrolled", "passed", "failed", "pass_rate"},
    "opening": {"eligible_3m", "opened_3m", "rate_3m", "eligible_6m", "opened_6m", "rate_6m"},
    "survival": {"businesses", "closures", "km_12m", "km_12m_low", "km_12m_high", "naive_12m"},
    "jobs": {"operating", "jobs", "jobs_per_business"},
    "loans": {
        "disbursed_count",
        "disbursed_amount",
        "outstanding_principal",
        "on_time_rate",
        "par30",
        "compensation_rate",
        "recovery_rate",
    },
    "followups": {"due", "done_on_time", "on_time_rate", "missed", "response_rate", "lost"},
}


def test_answer_has_exactly_the_spec_shape(api_as):
    founder = make_founder(region_code="460100")
    business = make_business(founder, opened_on=date(2026, 2, 1), employees_at_opening=2)
    make_observation(business, observed_on=date(2026, 5, 1), employees=3)
    api = api_as("staff", "460100")

    response = api.get(f"{URL}?region_code=460100&as_of=2026-06-30")

    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"region_code", "as_of", *SHAPE}
    for group, keys in SHAPE.items():
        assert set(body[group]) == keys, group
    assert body["region_code"] == "460100"
    assert body["as_of"] == "2026-06-30"
    assert body["jobs"] == {"operating": 1, "jobs": 3, "jobs_per_business": 3.0}
    assert body["loans"]["disbursed_amount"] == "0.00"
    assert body["loans"]["on_time_rate"] is None
    assert body == compute_kpis("460100", date(2026, 6, 30))


def test_period_and_default_as_of(api_as):
    make_business(make_founder(region_code="460100"), opened_on=date(2026, 2, 1))
    api = api_as("officer", "460100")

    body = api.get(f"{URL}?region_code=460100&from=2026-03-01&to=2026-03-31").get_json()

    assert body["as_of"] == today_in_china().isoformat()
    assert body["jobs"]["operating"] == 0  # opened before the period
    assert api.get(f"{URL}?region_code=460100&from=2026-02-01").get_json()["jobs"] == {
        "operating": 1,
        "jobs": 2,
        "jobs_per_business": 2.0,
    }


@pytest.mark.parametrize(
    ("role", "region", "asked", "status"),
    [
        ("staff", "460100", "460100", 200),
        ("officer", "460100", "460100", 200),
        ("staff", "460000", "460200", 200),  # province staff: any of its cities
        ("staff", "460000", "460000", 200),
        ("admin", "460000", "310000", 200),
        ("staff", "460100", "460200", 404),  # another city
        ("officer", "460100", "460000", 404),  # a city's officer asking for the province
        ("staff", "460000", "310110", 404),  # another province's district
        ("founder", "460100", "460100", 403),
    ],
)
def test_who_may_read_which_region(api_as, role, region, asked, status):
    api = api_as(role, region)
    response = api.get(f"{URL}?region_code={asked}&as_of=2026-06-30")
    assert response.status_code == status, response.get_data(as_text=True)


def test_anonymous_is_401(anonymous_api):
    assert anonymous_api.get(f"{URL}?region_code=460100").status_code == 401


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "region_code"),
        ("region_code=999999", "region_code"),
        ("region_code=46", "region_code"),
        ("region_code=460100&as_of=2026-02-30", "as_of"),
        ("region_code=460100&as_of=yesterday", "as_of"),
        ("region_code=460100&as_of=0001-01-01", "as_of"),
        ("region_code=460100&from=2026-13-01", "from"),
        ("region_code=460100&to=x", "to"),
        ("region_code=460100&from=2026-05-01&to=2026-04-30", "to"),
    ],
)
def test_bad_input_is_422_naming_the_field(api_as, query, field):
    api = api_as("staff", "460000")
    response = api.get(f"{URL}?{query}")
    assert response.status_code == 422, response.get_data(as_text=True)
    assert field in response.get_json()["errors"]


def test_a_one_day_period_is_fine(api_as):
    api = api_as("staff", "460100")
    response = api.get(f"{URL}?region_code=460100&from=2026-05-01&to=2026-05-01&as_of=2026-06-30")
    assert response.status_code == 200
