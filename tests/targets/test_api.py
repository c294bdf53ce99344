"""GET and PUT /api/v1/targets/{year}/{region_code} (SPEC §13, §14): the answer's shape,
who may read and set, scope (404), bad input (422 naming the field), money as strings."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from app.core.audit import AuditEntry
from app.extensions import db
from app.targets import api as targets_api
from app.targets.models import RegionTarget
from app.targets.queries import get_targets
from tests.businesses.factories import make_business
from tests.factories import make_founder
from tests.targets.factories import make_targets

HAINAN, HAIKOU, SANYA = "460000", "460100", "460200"
SHANGHAI, YANGPU = "310000", "310110"
URL = "/api/v1/targets"
FIELDS = ("trainees", "businesses_opened", "loans_count", "loans_amount", "jobs_created")
TODAY = date(2026, 6, 30)


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch):
    """Progress without ?as_of= counts to "today": 30 June 2026 here."""
    monkeypatch.setattr(targets_api, "today_in_china", lambda: TODAY)


NO_PROGRESS = {
    name: {
        "target": None,
        "actual": "0.00" if name == "loans_amount" else 0,
        "progress": None,
        "status": None,
    }
    for name in FIELDS
}


def _rows() -> int:
    return db.session.scalar(select(func.count()).select_from(RegionTarget))


# GET ------------------------------------------------------------------------------------
def test_get_answers_the_targets_and_their_progress(api_as):
    make_targets(2026, HAIKOU, businesses_opened=4, loans_amount="250000.50", jobs_created=0)
    make_business(make_founder(region_code=HAIKOU), opened_on=date(2026, 2, 1))
    api = api_as("staff", HAIKOU)

    response = api.get(f"{URL}/2026/{HAIKOU}?as_of=2026-06-30")

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {
        "year": 2026,
        "region_code": HAIKOU,
        "trainees": None,
        "businesses_opened": 4,
        "loans_count": None,
        "loans_amount": "250000.50",
        "jobs_created": 0,
        "as_of": "2026-06-30",
        "expected": 0.4959,
        "progress": {
            "trainees": {"target": None, "actual": 0, "progress": None, "status": None},
            # 1 / 4 = 0.25, below 0.8 × 0.4959.
            "businesses_opened": {"target": 4, "actual": 1, "progress": 0.25, "status": "red"},
            "loans_count": {"target": None, "actual": 0, "progress": None, "status": None},
            "loans_amount": {
                "target": "250000.50",
                "actual": "0.00",
                "progress": 0.0,
                "status": "red",
            },
            # A target of 0 is met: no progress to divide, green.
            "jobs_created": {"target": 0, "actual": 2, "progress": None, "status": "green"},
        },
    }


def test_get_without_targets_answers_nulls(api_as):
    body = api_as("officer", HAIKOU).get(f"{URL}/2027/{HAIKOU}").get_json()
    assert {name: body[name] for name in FIELDS} == dict.fromkeys(FIELDS)
    assert body["as_of"] == "2026-06-30"  # today, when not given
    assert body["expected"] == 0.0  # 2027 has not started
    assert body["progress"] == NO_PROGRESS


@pytest.mark.parametrize(
    ("role", "home", "region"),
    [
        ("staff", HAIKOU, HAIKOU),
        ("staff", HAINAN, HAINAN),
        ("staff", HAINAN, SANYA),
        ("officer", HAIKOU, HAIKOU),
        ("admin", HAINAN, YANGPU),
    ],
)
def test_readers_within_their_area(api_as, role, home, region):
    assert api_as(role, home).get(f"{URL}/2026/{region}").status_code == 200


@pytest.mark.parametrize(
    ("role", "home", "path"),
    [
        ("staff", SANYA, f"2026/{HAIKOU}"),  # another city
        ("staff", HAIKOU, f"2026/{HAINAN}"),  # a city's staff: not their province's row
        ("staff", SHANGHAI, f"2026/{HAIKOU}"),  # another province
        ("officer", YANGPU, f"2026/{HAINAN}"),
        ("staff", HAIKOU, "2026/999999"),
        ("admin", HAINAN, "2026/999999"),
        ("admin", HAINAN, "2026/46010"),
        ("admin", HAINAN, f"1999/{HAIKOU}"),
        ("admin", HAINAN, f"2100/{HAIKOU}"),
        ("admin", HAINAN, f"{2**63}/{HAIKOU}"),
    ],
)
def test_get_outside_the_area_or_the_years_is_404(api_as, role, home, path):
    make_targets(2026, HAIKOU, trainees=10)
    response = api_as(role, home).get(f"{URL}/{path}")
    assert response.status_code == 404
    assert "error" in response.get_json()


def test_founders_may_not_read_targets_and_anonymous_gets_401(api_as, anonymous_api):
    assert api_as("founder", HAIKOU).get(f"{URL}/2026/{HAIKOU}").status_code == 403
    assert anonymous_api.get(f"{URL}/2026/{HAIKOU}").status_code == 401


@pytest.mark.parametrize("as_of", ["2026-02-30", "yesterday", "1999-12-31", "2100-01-01"])
def test_a_bad_as_of_is_422(api_as, as_of):
    response = api_as("staff", HAIKOU).get(f"{URL}/2026/{HAIKOU}?as_of={as_of}")
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["as_of"]


# PUT ------------------------------------------------------------------------------------
def test_province_staff_set_a_citys_targets(api_as):
    api = api_as("staff", HAINAN)
    body = {"trainees": 120, "loans_count": 30, "loans_amount": "1500000.5"}

    response = api.put(f"{URL}/2026/{HAIKOU}", json=body)

    assert response.status_code == 200, response.get_data(as_text=True)
    answer = response.get_json()
    assert {name: answer[name] for name in FIELDS} == {
        "trainees": 120,
        "businesses_opened": None,
        "loans_count": 30,
        "loans_amount": "1500000.50",
        "jobs_created": None,
    }
    assert answer["as_of"] == "2026-06-30"
    assert answer["progress"]["loans_amount"] == {
        "target": "1500000.50",
        "actual": "0.00",
        "progress": 0.0,
        "status": "red",
    }
    assert "split_warnings" not in answer  # a city's answer
    row = get_targets(2026, HAIKOU)
    assert row.loans_amount == Decimal("1500000.50")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "region_target.create"))
    assert entry.actor_id == api.user.id
    assert entry.region_code == HAIKOU


def test_fields_left_out_keep_their_value_and_null_clears_one(api_as):
    make_targets(2026, SANYA, trainees=50, businesses_opened=8, loans_amount="10.00")
    api = api_as("admin", HAINAN)

    answer = api.put(f"{URL}/2026/{SANYA}", json={"businesses_opened": None, "jobs_created": 7})

    assert answer.status_code == 200
    assert {name: answer.get_json()[name] for name in FIELDS} == {
        "trainees": 50,
        "businesses_opened": None,
        "loans_count": None,
        "loans_amount": "10.00",
        "jobs_created": 7,
    }


def test_an_amount_may_be_a_whole_number(api_as):
    answer = api_as("admin", HAINAN).put(f"{URL}/2026/{HAIKOU}", json={"loans_amount": 2000000})
    assert answer.get_json()["loans_amount"] == "2000000.00"


def test_an_empty_put_changes_nothing(api_as):
    make_targets(2026, HAIKOU, trainees=5)
    answer = api_as("staff", HAINAN).put(f"{URL}/2026/{HAIKOU}", json={})
    assert answer.status_code == 200
    assert answer.get_json()["trainees"] == 5
    count = select(func.count()).select_from(AuditEntry).where(AuditEntry.action.like("region%"))
    assert db.session.scalar(count) == 0


def test_a_provinces_answer_names_where_its_cities_do_not_add_up(api_as):
    make_targets(2026, HAIKOU, trainees=200, loans_amount="600000.00")
    make_targets(2026, SANYA, trainees=90, loans_amount="400000.00")
    api = api_as("staff", HAINAN)

    answer = api.put(
        f"{URL}/2026/{HAINAN}",
        json={"trainees": 300, "loans_amount": "1000000.00", "jobs_created": 50},
    ).get_json()

    assert answer["split_warnings"] == {
        "trainees": {"province": 300, "cities_sum": 290},
        "jobs_created": {"province": 50, "cities_sum": 0},  # no city has one yet
    }
    answer = api.put(f"{URL}/2026/{HAINAN}", json={"trainees": 290, "jobs_created": None})
    assert answer.get_json()["split_warnings"] == {}


@pytest.mark.parametrize(("role", "home"), [("staff", HAIKOU), ("officer", HAINAN)])
def test_city_staff_and_officers_may_not_put(api_as, role, home):
    make_targets(2026, HAIKOU, trainees=5)
    response = api_as(role, home).put(f"{URL}/2026/{HAIKOU}", json={"trainees": 6})
    assert response.status_code == 403
    assert "error" in response.get_json()
    assert get_targets(2026, HAIKOU).trainees == 5


def test_city_staff_get_403_even_with_a_bad_body(api_as):
    response = api_as("staff", HAIKOU).put(f"{URL}/2026/{HAIKOU}", json={"trainees": -1})
    assert response.status_code == 403


def test_founders_and_anonymous_may_not_put(api_as, anonymous_api):
    assert api_as("founder", HAIKOU).put(f"{URL}/2026/{HAIKOU}", json={}).status_code == 403
    assert anonymous_api.put(f"{URL}/2026/{HAIKOU}", json={}).status_code == 401


@pytest.mark.parametrize(
    ("home", "path"),
    [
        (SHANGHAI, f"2026/{HAIKOU}"),
        (HAINAN, f"2026/{YANGPU}"),
        (HAINAN, "2026/999999"),
        (HAINAN, f"1999/{HAIKOU}"),
    ],
)
def test_put_outside_the_area_or_the_years_is_404(api_as, home, path):
    response = api_as("staff", home).put(f"{URL}/{path}", json={"trainees": 1})
    assert response.status_code == 404
    assert _rows() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"trainees": -1}, "trainees"),
        ({"businesses_opened": 1.5}, "businesses_opened"),
        ({"loans_count": "3"}, "loans_count"),
        ({"jobs_created": True}, "jobs_created"),
        ({"jobs_created": 10_000_001}, "jobs_created"),
        ({"trainees": 2**63}, "trainees"),
        ({"loans_amount": "12.345"}, "loans_amount"),
        ({"loans_amount": "-1.00"}, "loans_amount"),
        ({"loans_amount": 12.5}, "loans_amount"),
        ({"loans_amount": "abc"}, "loans_amount"),
        ({"loans_amount": "1e5"}, "loans_amount"),
        ({"loans_amount": "NaN"}, "loans_amount"),
        ({"loans_amount": "100000000000.01"}, "loans_amount"),
        ({"loans_amount": ["1.00"]}, "loans_amount"),
    ],
)
def test_bad_values_are_422_naming_the_field(api_as, body, field):
    response = api_as("admin", HAINAN).put(f"{URL}/2026/{HAIKOU}", json=body)
    assert response.status_code == 422, response.get_data(as_text=True)
    errors = response.get_json()["errors"]
    assert list(errors) == [field]
    assert all(isinstance(message, str) and message for message in errors[field])
    assert _rows() == 0


def test_every_bad_field_is_named_at_once(api_as):
    body = {"trainees": -1, "loans_count": -2, "loans_amount": "0.001", "jobs_created": 3}
    response = api_as("admin", HAINAN).put(f"{URL}/2026/{HAIKOU}", json=body)
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"trainees", "loans_count", "loans_amount"}
    assert _rows() == 0


def test_messages_name_the_figure_in_english(api_as):
    api = api_as("admin", HAINAN)
    response = api.put(
        f"{URL}/2026/{HAIKOU}",
        json={"trainees": -1, "loans_amount": "1.001"},
        headers={"Accept-Language": "en"},
    )
    assert response.get_json()["errors"] == {
        "trainees": ["Trainees must be a whole number from 0 to 10,000,000."],
        "loans_amount": ["Amount of guaranteed loans has at most 2 decimals."],
    }


@pytest.mark.parametrize("data", ["[1]", "not json", "", "null", '"x"'])
def test_malformed_json_is_400(api_as, data):
    api = api_as("admin", HAINAN)
    response = api.client.put(
        f"{URL}/2026/{HAIKOU}",
        data=data,
        content_type="application/json",
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert response.status_code == 400


def test_one_commit_per_put(api_as, monkeypatch):
    api = api_as("admin", HAINAN)
    commits = SimpleNamespace(count=0)
    real_commit = db.session.commit

    def counting_commit():
        commits.count += 1
        real_commit()

    monkeypatch.setattr(db.session, "commit", counting_commit)
    assert api.put(f"{URL}/2026/{HAINAN}", json={"trainees": 3}).status_code == 200
    assert commits.count == 1


def test_openapi_documents_both_operations(client, db_session):
    document = client.get("/api/v1/openapi.json").get_json()
    item = document["paths"]["/targets/{year}/{region_code}"]
    assert set(item) == {"get", "put"}
    body = item["put"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["properties"]) == set(FIELDS)
    assert body["properties"]["trainees"]["minimum"] == 0
    assert (
        "split_warnings"
        in item["put"]["responses"]["200"]["content"]["application/json"]["schema"]["properties"]
    )
