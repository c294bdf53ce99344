"""The targets pages through the client (SPEC §13): the overview, a province's split with
its warnings and progress, saving every line at once, a bad cell saving nothing, who edits
and who reads."""

from __future__ import annotations

from datetime import date
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from app.core.audit import AuditEntry
from app.extensions import db
from app.targets import views as targets_views
from app.targets.models import RegionTarget
from app.targets.queries import get_targets
from tests.businesses.factories import make_business
from tests.factories import DEFAULT_PASSWORD, make_founder, make_user
from tests.targets.factories import make_targets

EN = {"Accept-Language": "en"}
HAINAN, HAIKOU, SANYA = "460000", "460100", "460200"
SHANGHAI = "310000"
PAGE = f"/targets/2026/{HAINAN}"
TODAY = date(2026, 6, 30)


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch):
    """The pages count progress to "today": 30 June 2026 here."""
    monkeypatch.setattr(targets_views, "today_in_china", lambda: TODAY)


class _Inputs(HTMLParser):
    """The named inputs of a page, as a browser would post them."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list) -> None:
        fields = dict(attrs)
        if tag == "input" and fields.get("name"):
            self.values[fields["name"]] = fields.get("value") or ""


def inputs(html: str) -> dict[str, str]:
    parser = _Inputs()
    parser.feed(html)
    return parser.values


def row_prefix(values: dict[str, str], region_code: str) -> str:
    """The input name prefix ("rows-3-") of a region's line."""
    name = next(name for name, value in values.items() if value == region_code)
    return name.removesuffix("region_code")


def page(response, status=200) -> str:
    assert response.status_code == status, (response.status_code, response.location)
    return response.get_data(as_text=True)


def rows() -> int:
    return db.session.scalar(select(func.count()).select_from(RegionTarget))


# Reading ---------------------------------------------------------------------------------
def test_the_page_lists_the_province_and_every_city_as_inputs(client, login_as):
    make_targets(2026, HAINAN, trainees=300)
    make_targets(2026, HAIKOU, trainees=120, loans_amount="600000.00")
    db.session.commit()
    login_as("staff", HAINAN)
    html = page(client.get(PAGE, headers=EN))
    assert html.count('data-testid="target-row"') == 20
    assert 'class="table-responsive"' in html
    values = inputs(html)
    haikou = row_prefix(values, HAIKOU)
    assert values[f"{haikou}trainees"] == "120"
    assert values[f"{haikou}loans_amount"] == "600000.00"
    assert values[f"{haikou}jobs_created"] == ""
    assert values[f"{row_prefix(values, HAINAN)}trainees"] == "300"
    assert "Save targets" in html


@pytest.mark.parametrize(("role", "home"), [("staff", HAIKOU), ("officer", SANYA)])
def test_city_staff_and_officers_read_their_provinces_page(client, login_as, role, home):
    make_targets(2026, HAIKOU, trainees=120, loans_amount="600000.00")
    db.session.commit()
    login_as(role, home)
    html = page(client.get(PAGE, headers=EN))
    assert 'data-testid="targets-form"' not in html
    assert "Save targets" not in html
    assert not any(name.startswith("rows-") for name in inputs(html))
    assert "¥600,000.00" in html
    assert html.count('data-testid="target-row"') == 20


def test_progress_is_shown_beside_the_regions_with_targets(client, login_as):
    make_targets(2026, HAIKOU, businesses_opened=4, trainees=None)
    make_business(make_founder(region_code=HAIKOU), opened_on=date(2026, 2, 1))
    db.session.commit()
    login_as("staff", HAINAN)
    html = page(client.get(PAGE, headers=EN))
    # 1 of 4 by 30 June: 25.0 %, behind the 49.6 % of the year gone.
    start = html.index('data-testid="progress-businesses_opened"')
    note = html[start : html.index("</div>", start)]
    assert "1 / 4" in note
    assert "25.0%" in note
    assert 'data-status="red"' in note
    assert "Behind" in note
    assert "49.6%" in html
    assert 'data-testid="progress-trainees"' not in html  # no target, no progress


def test_a_city_user_sees_progress_only_in_their_own_city(client, login_as):
    make_targets(2026, HAIKOU, trainees=4)
    make_targets(2026, SANYA, trainees=5)
    db.session.commit()
    login_as("staff", SANYA)
    html = page(client.get(PAGE, headers=EN))
    assert html.count('data-testid="progress-trainees"') == 1
    sanya = html.index(f'data-region="{SANYA}"')
    assert html.index('data-testid="progress-trainees"') > sanya


def test_warnings_name_each_figure_whose_cities_do_not_add_up(client, login_as):
    make_targets(2026, HAINAN, trainees=300, loans_amount="1000000.00", jobs_created=50)
    make_targets(2026, HAIKOU, trainees=200, loans_amount="600000.00")
    make_targets(2026, SANYA, trainees=90, loans_amount="400000.00")
    db.session.commit()
    login_as("staff", HAINAN)
    html = page(client.get(PAGE, headers=EN))
    assert html.count('data-testid="split-warning"') == 2
    trainees = html[html.index('data-field="trainees"') :]
    trainees = trainees[: trainees.index("</div>")]
    assert "Trainees" in trainees
    assert "290" in trainees
    assert "300" in trainees
    jobs = html[html.index('data-field="jobs_created"') :]
    jobs = jobs[: jobs.index("</div>")]
    assert "no city has a target yet" in jobs
    assert 'data-field="loans_amount"' not in html  # adds up


def test_no_warning_when_the_split_adds_up(client, login_as):
    make_targets(2026, HAINAN, trainees=30)
    make_targets(2026, HAIKOU, trainees=30)
    db.session.commit()
    login_as("officer", HAIKOU)
    assert 'data-testid="split-warning"' not in page(client.get(PAGE, headers=EN))


def test_the_overview_lists_the_provinces_in_the_users_area(client, login_as):
    make_targets(2026, HAINAN, trainees=10)
    db.session.commit()
    login_as("admin", HAINAN)
    html = page(client.get("/targets/?year=2026", headers=EN))
    assert html.count('data-testid="province-row"') == 2
    assert f"/targets/2026/{HAINAN}" in html
    assert f"/targets/2026/{SHANGHAI}" in html
    assert 'data-testid="split-differences"' in html  # Hainan's cities have none yet


def test_the_overview_shows_a_city_user_their_province_and_this_year_by_default(client, login_as):
    login_as("staff", SANYA)
    html = page(client.get("/targets/", headers=EN))
    assert html.count('data-testid="province-row"') == 1
    assert f"/targets/2026/{HAINAN}" in html  # this year (30 June 2026 here)
    assert f"/targets/2026/{SHANGHAI}" not in html


def test_a_bad_year_in_the_picker_falls_back_to_this_year(client, login_as):
    login_as("staff", HAINAN)
    html = page(client.get("/targets/?year=1999", headers=EN))
    assert "The year must be from 2000 to 2099." in html


def test_the_nav_links_to_targets_for_readers_only(client, login_as):
    login_as("officer", HAIKOU)
    assert 'href="/targets/"' in page(client.get("/", headers=EN))


def test_founders_have_no_targets_link(client, login_as):
    login_as("founder", HAIKOU)
    assert 'href="/targets/"' not in page(client.get("/me", headers=EN))


@pytest.mark.parametrize(
    ("role", "home", "path"),
    [
        ("staff", SHANGHAI, PAGE),  # another province
        ("admin", HAINAN, f"/targets/2026/{HAIKOU}"),  # a city is not a province page
        ("admin", HAINAN, "/targets/2026/999999"),
        ("admin", HAINAN, f"/targets/1999/{HAINAN}"),
        ("admin", HAINAN, f"/targets/2100/{HAINAN}"),
    ],
)
def test_pages_outside_the_area_or_the_years_are_404(client, login_as, role, home, path):
    login_as(role, home)
    assert client.get(path).status_code == 404


# Saving ----------------------------------------------------------------------------------
def _form(client) -> dict[str, str]:
    return inputs(page(client.get(PAGE, headers=EN)))


def test_saving_writes_every_line_in_one_commit(client, login_as, monkeypatch):
    make_targets(2026, SANYA, trainees=80, jobs_created=5)
    db.session.commit()
    staff = login_as("staff", HAINAN)
    values = _form(client)
    hainan, haikou, sanya = (row_prefix(values, code) for code in (HAINAN, HAIKOU, SANYA))
    values |= {
        f"{hainan}trainees": "300",
        f"{hainan}loans_amount": "1000000.5",
        f"{haikou}trainees": "220",
        f"{sanya}jobs_created": "",  # emptied: no target any more
    }
    commits = SimpleNamespace(count=0)
    real_commit = db.session.commit

    def counting_commit():
        commits.count += 1
        real_commit()

    monkeypatch.setattr(db.session, "commit", counting_commit)
    response = client.post(PAGE, data=values, headers=EN)
    monkeypatch.undo()
    assert response.status_code == 302
    assert response.location.endswith(PAGE)
    assert commits.count == 1
    assert get_targets(2026, HAINAN).trainees == 300
    assert str(get_targets(2026, HAINAN).loans_amount) == "1000000.50"
    assert get_targets(2026, HAIKOU).trainees == 220
    assert get_targets(2026, SANYA).values() == {
        "trainees": 80,
        "businesses_opened": None,
        "loans_count": None,
        "loans_amount": None,
        "jobs_created": None,
    }
    assert rows() == 3  # cities left empty get no row
    actions = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.actor_id == staff.id)
    ).all()
    assert sorted(actions) == [
        "region_target.create",
        "region_target.create",
        "region_target.update",
    ]
    html = page(client.get(PAGE, headers=EN))
    assert "Targets of Hainan for 2026 saved." in html
    assert 'data-testid="split-warning"' in html  # 220 ≠ 300


def test_a_bad_cell_saves_nothing_and_names_its_line_and_figure(client, login_as):
    make_targets(2026, HAIKOU, trainees=5)
    db.session.commit()
    login_as("admin", HAINAN)
    values = _form(client)
    hainan, haikou, sanya = (row_prefix(values, code) for code in (HAINAN, HAIKOU, SANYA))
    values |= {
        f"{hainan}trainees": "300",
        f"{haikou}trainees": "6",
        f"{sanya}loans_count": "-3",
        f"{sanya}loans_amount": "12.345",
        f"{haikou}jobs_created": "lots",
    }
    html = page(client.post(PAGE, data=values, headers=EN), 422)
    assert "Sanya, Number of guaranteed loans:" in html
    assert "Sanya, Amount of guaranteed loans:" in html
    assert "Haikou, Jobs created:" in html
    assert "has at most 2 decimals" in html
    assert html.count("is-invalid") == 3
    # What was typed stays in the boxes.
    again = inputs(html)
    assert again[f"{hainan}trainees"] == "300"
    assert again[f"{sanya}loans_amount"] == "12.345"
    db.session.expire_all()
    assert get_targets(2026, HAINAN) is None
    assert get_targets(2026, HAIKOU).trainees == 5


def test_an_empty_post_changes_nothing(client, login_as):
    make_targets(2026, HAIKOU, trainees=5)
    db.session.commit()
    login_as("admin", HAINAN)
    response = client.post(PAGE, data={})
    assert response.status_code == 302
    assert get_targets(2026, HAIKOU).trainees == 5


def test_a_line_of_another_province_is_refused(client, login_as):
    login_as("admin", HAINAN)
    values = _form(client)
    haikou = row_prefix(values, HAIKOU)
    values[f"{haikou}region_code"] = "310110"
    values[f"{haikou}trainees"] = "5"
    html = page(client.post(PAGE, data=values, headers=EN), 422)
    assert "This region is not in the province." in html
    assert rows() == 0


@pytest.mark.parametrize(("role", "home"), [("staff", HAIKOU), ("officer", HAINAN)])
def test_city_staff_and_officers_may_not_save(client, login_as, role, home):
    login_as(role, home)
    response = client.post(PAGE, data={"rows-0-region_code": HAIKOU, "rows-0-trainees": "5"})
    assert response.status_code == 403
    assert rows() == 0


def test_another_provinces_staff_may_not_save(client, login_as):
    login_as("staff", SHANGHAI)
    response = client.post(PAGE, data={"rows-0-region_code": HAIKOU, "rows-0-trainees": "5"})
    assert response.status_code == 404
    assert rows() == 0


def test_the_form_needs_its_csrf_token(csrf_client):
    make_user(role="staff", region_code=HAINAN, username="csrf.targets")
    db.session.commit()
    login = inputs(csrf_client.get("/login").get_data(as_text=True))
    csrf_client.post(
        "/login",
        data={
            "username": "csrf.targets",
            "password": DEFAULT_PASSWORD,
            "csrf_token": login["csrf_token"],
        },
    )
    values = inputs(csrf_client.get(PAGE).get_data(as_text=True))
    haikou = row_prefix(values, HAIKOU)
    values[f"{haikou}trainees"] = "5"
    token = values.pop("csrf_token")
    refused = csrf_client.post(PAGE, data=values)
    assert refused.status_code == 302  # back, with "the form had expired"
    assert rows() == 0
    accepted = csrf_client.post(PAGE, data=values | {"csrf_token": token})
    assert accepted.status_code == 302
    assert get_targets(2026, HAIKOU).trainees == 5
