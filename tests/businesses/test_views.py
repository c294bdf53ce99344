"""Business pages through the client: the list, recording and correcting a business, its
story and observations, the founder's own page on a phone, and the review queue."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.businesses.models import Business, Observation
from app.core.dates import today_in_china
from app.extensions import db
from app.founders.models import Founder
from tests.businesses.factories import business_body, make_business, make_observation, make_uscc
from tests.factories import make_founder

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}


def committed_id(obj):
    ident = obj.id
    db.session.commit()
    return ident


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def page(response, status=200):
    assert response.status_code == status, response.status_code
    return response.get_data(as_text=True)


def form_data(founder_id, **fields):
    return {key: str(value) for key, value in business_body(founder_id, **fields).items()}


FIELD_TAG = re.compile(r'<(?:input|select|textarea)\b[^>]*\bname="([^"]+)"')


def field_html(html, name):
    """The piece of a rendered form from field `name`'s first input to the next field's,
    where its errors are shown."""
    tags = list(FIELD_TAG.finditer(html))
    start = next(tag.start() for tag in tags if tag[1] == name)
    end = next(
        (tag.start() for tag in tags if tag.start() > start and tag[1] not in (name, "next")),
        len(html),
    )
    return html[start:end]


def own_business_id(user, **fields):
    """A business of the founder signed in as `user`."""
    founder = db.session.get(Founder, user.founder_id)
    return committed_id(make_business(founder, **fields))


# The list -------------------------------------------------------------------------------
def test_staff_list_the_businesses_of_their_area(client, login_as):
    haikou = make_business(name="海口椰子店")
    haikou_id = haikou.id
    make_observation(haikou, source="founder")
    make_observation(make_business(name="海口修车铺"), source="founder")
    make_observation(make_business(name="三亚民宿", region_code="460200"), source="founder")
    db.session.commit()
    login_as("staff", "460100")
    html = page(client.get("/businesses", headers=EN))
    assert "海口椰子店" in html
    assert "海口修车铺" in html
    assert "三亚民宿" not in html
    assert 'data-testid="pending-count">2<' in html
    assert 'data-testid="new-business"' in html
    assert 'name="status"' in html
    assert 'name="opened_from"' in html
    assert f'href="/businesses/{haikou_id}"' in html


def test_the_list_filters(client, login_as):
    closed = make_business(name="关了的店")
    make_observation(closed, status="closed")
    make_business(name="开着的店", industry="retail")
    db.session.commit()
    login_as("staff", "460100")
    html = page(client.get("/businesses?status=closed", headers=EN))
    assert "关了的店" in html
    assert "开着的店" not in html
    html = page(client.get("/businesses?industry=retail&q=开着", headers=EN))
    assert "开着的店" in html
    assert "关了的店" not in html
    html = page(client.get("/businesses?q=nothing", headers=EN))
    assert "No businesses match these filters." in html


def test_bad_filters_show_the_page_with_the_error(client, login_as):
    make_business(name="小店", opened_on=date(2026, 6, 1))
    make_business(name="旧铺", opened_on=date(2026, 3, 1))
    db.session.commit()
    login_as("staff", "460100")
    html = page(
        client.get("/businesses?opened_from=2026-05-01&opened_to=2026-04-01&page=-1", headers=EN)
    )
    assert "The end date is before the start date." in html
    assert "小店" in html  # the refused box is ignored, not the list...
    assert "旧铺" not in html  # ...nor the boxes that were fine


def test_officers_read_without_writing(client, login_as):
    business_id = committed_id(make_business(name="海口店"))
    login_as("officer", "460100")
    html = page(client.get("/businesses", headers=EN))
    assert "海口店" in html
    assert 'data-testid="new-business"' not in html
    assert 'data-testid="pending-count"' not in html
    detail = page(client.get(f"/businesses/{business_id}", headers=EN))
    assert "Record an observation" not in detail
    assert f"/businesses/{business_id}/edit" not in detail
    assert client.get("/businesses/new").status_code == 403
    assert client.get("/businesses/reports").status_code == 403
    assert client.post(f"/businesses/{business_id}/observations", data={}).status_code == 403


def test_founders_use_their_own_pages(client, login_as):
    business_id = committed_id(make_business())
    login_as("founder", "460100")
    assert client.get("/businesses").status_code == 403
    assert client.get(f"/businesses/{business_id}").status_code == 403
    assert client.get("/businesses/new").status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client, db_session):
    for url in ("/businesses", "/businesses/new", "/businesses/reports", "/me/businesses/1"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]


# Recording a business -------------------------------------------------------------------
def test_the_form_is_filled_in_from_the_founders_page(client, login_as):
    founder_id = committed_id(make_founder(region_code="460100", name="李娜"))
    login_as("staff", "460000")
    html = page(client.get(f"/businesses/new?founder_id={founder_id}", headers=EN))
    assert f"For founder 李娜 (number {founder_id})." in html
    assert re.search(rf'name="founder_id"[^>]*value="{founder_id}"', html) or re.search(
        rf'value="{founder_id}"[^>]*name="founder_id"', html
    )
    assert re.search(r'<option selected value="460100">|<option value="460100" selected', html)


@pytest.mark.parametrize("founder_id", ["sanya", "0", "-3", "999999", str(10**30)])
def test_a_founder_out_of_scope_or_absent_is_404(client, login_as, founder_id):
    sanya_id = committed_id(make_founder(region_code="460200", name="三亚人"))
    login_as("staff", "460100")
    founder_id = str(sanya_id) if founder_id == "sanya" else founder_id
    response = client.get(f"/businesses/new?founder_id={founder_id}", headers=EN)
    assert "三亚人" not in page(response, 404)


def test_a_founder_number_that_is_not_a_number_is_ignored(client, login_as):
    login_as("staff", "460100")
    html = page(client.get("/businesses/new?founder_id=abc", headers=EN))
    assert "For founder" not in html


def test_staff_record_a_business_and_see_it(client, login_as):
    founder_id = committed_id(make_founder(region_code="460100"))
    login_as("staff", "460100")
    code = make_uscc()
    response = client.post(
        "/businesses/new", data=form_data(founder_id, name="椰香小吃店", uscc=code), headers=EN
    )
    assert response.status_code == 302
    business = db.session.scalar(select(Business))
    assert response.headers["Location"].endswith(f"/businesses/{business.id}")
    assert (business.founder_id, business.uscc, business.status) == (founder_id, code, "operating")
    html = page(client.get(f"/businesses/{business.id}", headers=EN))
    assert 'data-testid="business-name">椰香小吃店<' in html
    assert "Business 椰香小吃店 recorded." in html
    assert "No observations yet: operating since opening." in html


def test_form_errors_are_next_to_their_fields(client, login_as):
    founder_id = committed_id(make_founder(region_code="460100"))
    login_as("staff", "460100")
    code = make_uscc()
    wrong = code[:17] + ("1" if code[17] != "1" else "2")
    html = page(
        client.post(
            "/businesses/new",
            data=form_data(
                founder_id,
                uscc=wrong,
                employees_at_opening="two",
                opened_on=(today_in_china() + timedelta(days=1)).isoformat(),
            ),
            headers=EN,
        )
    )
    assert "check character is wrong" in field_html(html, "uscc")
    assert "invalid-feedback" in field_html(html, "employees_at_opening")
    assert "The opening day cannot be in the future." in field_html(html, "opened_on")
    assert count(Business) == 0


def test_rule_errors_are_next_to_their_fields(client, login_as):
    sanya_founder_id = committed_id(make_founder(region_code="460200"))
    login_as("staff", "460100")
    html = page(
        client.post(
            "/businesses/new",
            data=form_data(sanya_founder_id, opened_on="1985-01-01"),
            headers=EN,
        )
    )
    assert "Choose a founder in your area." in field_html(html, "founder_id")
    assert count(Business) == 0


def test_a_duplicate_credit_code_is_shown_next_to_the_code(client, login_as):
    code = make_uscc()
    make_business(uscc=code)
    founder_id = committed_id(make_founder(region_code="460100"))
    login_as("staff", "460100")
    html = page(client.post("/businesses/new", data=form_data(founder_id, uscc=code), headers=EN))
    assert f"Another business already has the credit code {code}." in field_html(html, "uscc")
    assert count(Business) == 1


# One business and its observations ------------------------------------------------------
def test_the_business_page_shows_the_history_and_the_form(client, login_as):
    business = make_business(name="海口店", opened_on=date(2026, 3, 1))
    make_observation(business, observed_on=date(2026, 4, 1), monthly_revenue="1234.5")
    make_observation(
        business, observed_on=date(2026, 8, 1), source="founder", status="suspended", employees=1
    )
    business_id = committed_id(business)
    login_as("staff", "460100")
    html = page(client.get(f"/businesses/{business_id}", headers=EN))
    assert html.count('data-testid="observation-row"') == 2
    assert html.index("2026-08-01") < html.index("2026-04-01")
    assert 'data-testid="current-employees">1 employee<' in html
    assert "Record an observation" in html
    assert f'action="/businesses/{business_id}/observations"' in html
    assert "¥1,234.50" in html
    assert "Founder&#39;s own report" in html or "Founder's own report" in html
    assert "Waiting for review" in html
    assert f'href="/businesses/{business_id}/edit"' in html


def test_businesses_of_another_city_are_404(client, login_as):
    sanya_id = committed_id(make_business(region_code="460200"))
    login_as("staff", "460100")
    assert client.get(f"/businesses/{sanya_id}").status_code == 404
    assert client.get(f"/businesses/{sanya_id}/edit").status_code == 404
    assert client.post(f"/businesses/{sanya_id}/observations", data={}).status_code == 404


def test_staff_record_an_observation(client, login_as):
    business_id = committed_id(make_business())
    login_as("staff", "460100")
    response = client.post(
        f"/businesses/{business_id}/observations",
        data={"observed_on": "2026-06-01", "status": "suspended", "employees": "1"},
        headers=EN,
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/businesses/{business_id}")
    business = db.session.get(Business, business_id)
    assert (business.status, business.employees) == ("suspended", 1)
    observation = db.session.scalar(select(Observation))
    assert (observation.source, observation.verified) == ("staff", True)
    html = page(client.get(f"/businesses/{business_id}", headers=EN))
    assert "Observation recorded." in html


def test_an_empty_observation_day_means_today(client, login_as):
    business_id = committed_id(make_business())
    login_as("staff", "460100")
    response = client.post(
        f"/businesses/{business_id}/observations",
        data={"status": "operating", "employees": "4", "observed_on": ""},
    )
    assert response.status_code == 302
    assert db.session.scalar(select(Observation.observed_on)) == today_in_china()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"status": ""}, "status", "This field is required."),
        ({"status": "gone"}, "status", "Choose operating, suspended or closed."),
        (
            {"observed_on": "2026-02-01"},
            "observed_on",
            "The business opened on 2026-03-01; an observation cannot be earlier.",
        ),
        (
            {"status": "closed", "employees": "2"},
            "employees",
            "A closed business employs nobody; enter 0.",
        ),
        (
            {"closed_on": "2026-05-01"},
            "closed_on",
            "Only a closed business has a closing day.",
        ),
        (
            {"monthly_revenue": "1.234"},
            "monthly_revenue",
            'Enter an amount in yuan with at most 2 decimals, like "8000.00".',
        ),
        ({"monthly_revenue": "abc"}, "monthly_revenue", None),
        ({"employees": "many"}, "employees", None),
    ],
)
def test_bad_observations_rerender_with_422(client, login_as, data, field, message):
    business_id = committed_id(make_business(opened_on=date(2026, 3, 1)))
    login_as("staff", "460100")
    body = {"observed_on": "2026-06-01", "status": "operating", "employees": "3"} | data
    html = page(client.post(f"/businesses/{business_id}/observations", data=body, headers=EN), 422)
    piece = field_html(html, field)
    assert "invalid-feedback" in piece
    if message:
        assert message.replace('"', "&#34;") in piece or message in piece
    assert count(Observation) == 0


def test_a_closed_business_is_reopened_by_ticking_the_box(client, login_as):
    business = make_business()
    make_observation(business, status="closed", observed_on=date(2026, 6, 1))
    business_id = committed_id(business)
    login_as("staff", "460100")
    url = f"/businesses/{business_id}/observations"
    body = {"observed_on": "2026-07-01", "status": "operating", "employees": "2"}
    html = page(client.post(url, data=body, headers=EN), 422)
    assert "This business closed on 2026-06-01." in field_html(html, "status")
    response = client.post(url, data=body | {"reopened": "y"}, headers=EN)
    assert response.status_code == 302
    business = db.session.get(Business, business_id)
    assert (business.status, business.closed_on) == ("operating", None)
    assert "reopened" in page(client.get(f"/businesses/{business_id}", headers=EN))


# Correcting a business ------------------------------------------------------------------
def test_staff_correct_a_business(client, login_as):
    business_id = committed_id(make_business(name="旧名", opened_on=date(2026, 3, 1)))
    login_as("staff", "460100")
    url = f"/businesses/{business_id}/edit"
    html = page(client.get(url, headers=EN))
    assert 'value="旧名"' in html
    assert 'name="founder_id"' not in html
    data = {
        "name": "新名",
        "industry": "retail",
        "region_code": "460100",
        "opened_on": "2026-02-01",
        "employees_at_opening": "3",
        "uscc": "",
        "library_project_id": "",
    }
    response = client.post(url, data=data, headers=EN)
    assert response.status_code == 302
    db.session.expire_all()
    business = db.session.get(Business, business_id)
    assert (business.name, business.industry, business.employees) == ("新名", "retail", 3)
    assert business.status_observed_on == date(2026, 2, 1)
    assert "Changes saved." in page(client.get(f"/businesses/{business_id}", headers=EN))


def test_corrections_show_their_errors(client, login_as):
    business = make_business(name="旧名", opened_on=date(2026, 3, 1))
    make_observation(business, observed_on=date(2026, 4, 1))
    code = make_uscc()
    make_business(uscc=code)
    business_id = committed_id(business)
    login_as("staff", "460100")
    data = {
        "name": "旧名",
        "industry": "catering",
        "region_code": "460100",
        "opened_on": "2026-05-01",
        "employees_at_opening": "2",
        "uscc": code,
    }
    html = page(client.post(f"/businesses/{business_id}/edit", data=data, headers=EN))
    assert "The business was observed on 2026-04-01; it cannot have opened later." in field_html(
        html, "opened_on"
    )
    data["opened_on"] = "2026-03-01"
    html = page(client.post(f"/businesses/{business_id}/edit", data=data, headers=EN))
    assert f"Another business already has the credit code {code}." in field_html(html, "uscc")
    db.session.expire_all()
    assert db.session.get(Business, business_id).uscc is None


# The founder's own business -------------------------------------------------------------
def test_the_founders_page_lists_their_businesses_with_a_link(client, login_as):
    user = login_as("founder", "460100")
    business_id = own_business_id(user, name="我的小店")
    committed_id(make_business(name="别人的店"))
    html = page(client.get("/me", headers=EN))
    assert "My businesses" in html
    assert f'href="/me/businesses/{business_id}"' in html
    assert "我的小店" in html
    assert "别人的店" not in html


def test_a_founder_reports_from_their_phone(client, login_as):
    user = login_as("founder", "460100")
    business_id = own_business_id(user, name="我的小店")
    url = f"/me/businesses/{business_id}"
    html = page(client.get(url, headers=EN))
    assert 'data-testid="self-report-form"' in html
    assert 'name="status"' in html
    assert 'name="employees"' in html
    assert 'name="monthly_revenue"' in html
    assert 'name="observed_on"' not in html
    assert "No reports yet." in html
    response = client.post(
        url, data={"status": "suspended", "employees": "1", "monthly_revenue": "800"}, headers=EN
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(url)
    observation = db.session.scalar(select(Observation))
    assert (observation.source, observation.review_state, observation.verified) == (
        "founder",
        "pending",
        False,
    )
    assert observation.observed_on == today_in_china()
    assert observation.recorded_by_id == user.id
    assert str(observation.monthly_revenue) == "800.00"
    html = page(client.get(url, headers=EN))
    assert "Thank you. Your guidance centre will check your report." in html
    assert html.count('data-testid="my-observation"') == 1
    assert "Waiting for review" in html


def test_a_founders_report_without_revenue(client, login_as):
    user = login_as("founder", "460100")
    business_id = own_business_id(user)
    response = client.post(
        f"/me/businesses/{business_id}", data={"status": "operating", "employees": "2"}
    )
    assert response.status_code == 302
    assert db.session.scalar(select(Observation.monthly_revenue)) is None


def test_a_founder_closing_from_the_phone_keeps_nobody_employed(client, login_as):
    """The box still shows the last head count; closing, the founder need not clear it."""
    user = login_as("founder", "460100")
    business_id = own_business_id(user)
    response = client.post(
        f"/me/businesses/{business_id}", data={"status": "closed", "employees": "2"}
    )
    assert response.status_code == 302
    observation = db.session.scalar(select(Observation))
    assert (observation.status, observation.employees) == ("closed", 0)
    assert observation.closed_on == today_in_china()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"employees": "2"}, "status"),
        ({"status": "gone", "employees": "2"}, "status"),
        ({"status": "operating", "employees": "-1"}, "employees"),
        ({"status": "operating", "employees": "lots"}, "employees"),
        ({"status": "operating", "employees": "2", "monthly_revenue": "1.234"}, "monthly_revenue"),
        ({"status": "operating", "employees": "2", "monthly_revenue": "-1"}, "monthly_revenue"),
    ],
)
def test_a_founders_bad_report_shows_the_error(client, login_as, data, field):
    user = login_as("founder", "460100")
    business_id = own_business_id(user)
    html = page(client.post(f"/me/businesses/{business_id}", data=data, headers=EN))
    assert "invalid-feedback" in field_html(html, field)
    assert count(Observation) == 0


def test_a_closed_business_shows_no_form(client, login_as):
    user = login_as("founder", "460100")
    founder = db.session.get(Founder, user.founder_id)
    business = make_business(founder)
    make_observation(business, status="closed", observed_on=date(2026, 6, 1))
    business_id = committed_id(business)
    html = page(client.get(f"/me/businesses/{business_id}", headers=EN))
    assert 'data-testid="self-report-form"' not in html
    assert "This business closed on 2026-06-01." in html
    response = client.post(f"/me/businesses/{business_id}", data={"status": "operating"})
    assert response.status_code == 200
    assert count(Observation) == 1


def test_another_founders_business_is_404(client, login_as):
    other_id = committed_id(make_business())
    login_as("founder", "460100")
    assert client.get(f"/me/businesses/{other_id}").status_code == 404
    response = client.post(f"/me/businesses/{other_id}", data={"status": "operating"})
    assert response.status_code == 404
    assert count(Observation) == 0


def test_staff_do_not_use_the_founders_page(client, login_as):
    business_id = committed_id(make_business())
    login_as("staff", "460100")
    assert client.get(f"/me/businesses/{business_id}").status_code == 403


def test_a_queried_report_shows_the_question(client, login_as):
    user = login_as("founder", "460100")
    founder = db.session.get(Founder, user.founder_id)
    business = make_business(founder)
    make_observation(business, source="founder", review_state="queried", query_note="员工有几人？")
    business_id = committed_id(business)
    html = page(client.get(f"/me/businesses/{business_id}", headers=EN))
    assert "Your guidance centre asks: 员工有几人？" in html
    assert "Queried" in html


# The review queue -----------------------------------------------------------------------
@pytest.fixture
def reports(db_session):
    business = make_business(name="海口店")
    ids = {
        "pending": make_observation(business, source="founder", employees=7).id,
        "queried": make_observation(
            business, source="founder", review_state="queried", query_note="真的吗？"
        ).id,
        "sanya": make_observation(
            make_business(name="三亚店", region_code="460200"), source="founder"
        ).id,
        "business": business.id,
    }
    db.session.commit()
    return ids


def test_the_queue_lists_pending_reports_of_the_area(client, login_as, reports):
    login_as("staff", "460100")
    html = page(client.get("/businesses/reports", headers=EN))
    assert html.count('data-testid="report-row"') == 1
    assert "海口店" in html
    assert "7 employees" in html
    assert "三亚店" not in html
    assert 'data-testid="verify-report"' in html
    assert f'action="/businesses/reports/{reports["pending"]}/query"' in html
    queried = page(client.get("/businesses/reports?state=queried", headers=EN))
    assert "Question: 真的吗？" in queried
    assert f'action="/businesses/reports/{reports["queried"]}/query"' not in queried
    assert (
        page(client.get("/businesses/reports?state=bogus", headers=EN)).count(
            'data-testid="report-row"'
        )
        == 1
    )


def test_verify_redirects_back(client, login_as, reports):
    login_as("staff", "460100")
    url = f"/businesses/reports/{reports['pending']}/verify"
    response = client.post(url, data={"next": "/businesses/reports?state=pending"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/businesses/reports?state=pending")
    observation = db.session.get(Observation, reports["pending"])
    assert (observation.review_state, observation.verified) == ("verified", True)
    again = client.post(url, data={}, headers=EN, follow_redirects=True)
    assert "This report is already verified." in page(again)


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:x"]
)
def test_verify_refuses_to_leave_the_site(client, login_as, reports, target):
    login_as("staff", "460100")
    response = client.post(
        f"/businesses/reports/{reports['pending']}/verify", data={"next": target}
    )
    assert response.status_code == 302
    assert "evil" not in response.headers["Location"]
    assert response.headers["Location"].endswith("/businesses/reports")


def test_query_sends_the_question(client, login_as, reports):
    login_as("staff", "460100")
    url = f"/businesses/reports/{reports['pending']}/query"
    missing = client.post(url, data={"note": ""}, headers=EN, follow_redirects=True)
    assert "This field is required." in page(missing)
    assert db.session.get(Observation, reports["pending"]).review_state == "pending"
    response = client.post(
        url, data={"note": "员工真有7人？", "next": "https://evil.example"}, headers=EN
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/businesses/reports")
    db.session.expire_all()
    observation = db.session.get(Observation, reports["pending"])
    assert (observation.review_state, observation.query_note) == ("queried", "员工真有7人？")
    assert "Question sent to the founder." in page(client.get("/businesses/reports", headers=EN))
    again = client.post(url, data={"note": "?"}, headers=EN, follow_redirects=True)
    assert "Only a report waiting for review can be queried." in page(again)


def test_a_blank_question_is_refused_with_a_message(client, login_as, reports):
    login_as("staff", "460100")
    url = f"/businesses/reports/{reports['pending']}/query"
    response = client.post(url, data={"note": "   "}, headers=EN)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/businesses/reports")
    html = page(client.get("/businesses/reports", headers=EN))
    assert "This field is required." in html
    assert html.count('data-testid="report-row"') == 1
    assert db.session.get(Observation, reports["pending"]).review_state == "pending"


def test_reports_of_another_city_are_404(client, login_as, reports):
    login_as("staff", "460100")
    assert client.post(f"/businesses/reports/{reports['sanya']}/verify").status_code == 404
    response = client.post(f"/businesses/reports/{reports['sanya']}/query", data={"note": "?"})
    assert response.status_code == 404


def test_the_business_page_verifies_founder_reports(client, login_as, reports):
    login_as("staff", "460100")
    business_url = f"/businesses/{reports['business']}"
    html = page(client.get(business_url, headers=EN))
    assert f'action="/businesses/reports/{reports["pending"]}/verify"' in html
    response = client.post(
        f"/businesses/reports/{reports['pending']}/verify", data={"next": business_url}
    )
    assert response.headers["Location"].endswith(business_url)


# Languages ------------------------------------------------------------------------------
@pytest.mark.parametrize(("headers", "lang"), [(EN, "en"), (ZH, "zh-CN")])
def test_staff_pages_render_in_both_languages(client, login_as, reports, headers, lang):
    login_as("staff", "460100")
    business_id = reports["business"]
    for url in (
        "/businesses",
        "/businesses/new",
        f"/businesses/{business_id}",
        f"/businesses/{business_id}/edit",
        "/businesses/reports",
    ):
        html = page(client.get(url, headers=headers))
        assert f'<html lang="{lang}">' in html, url
        assert "海口店" in html or url == "/businesses/new"
    listing = page(client.get("/businesses", headers=headers))
    assert ("行业" if lang == "zh-CN" else "Industry") in listing


@pytest.mark.parametrize(("headers", "lang"), [(EN, "en"), (ZH, "zh-CN")])
def test_founder_pages_render_in_both_languages(client, login_as, headers, lang):
    user = login_as("founder", "460100")
    business_id = own_business_id(user, name="我的小店")
    for url in ("/me", f"/me/businesses/{business_id}"):
        html = page(client.get(url, headers=headers))
        assert f'<html lang="{lang}">' in html
        assert "我的小店" in html


def test_admins_read_without_writing(client, login_as):
    business_id = committed_id(make_business(name="海口店"))
    login_as("admin", "460000")
    assert "海口店" in page(client.get("/businesses", headers=EN))
    detail = page(client.get(f"/businesses/{business_id}", headers=EN))
    assert "Record an observation" not in detail
    assert client.get("/businesses/new").status_code == 403


def test_the_review_buttons_need_the_csrf_token(csrf_client):
    from tests.factories import DEFAULT_PASSWORD, make_user

    username = make_user(role="staff", region_code="460100").username
    observation_id = committed_id(make_observation(make_business(), source="founder"))
    login_page = csrf_client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page)[1]
    csrf_client.post(
        "/login", data={"username": username, "password": DEFAULT_PASSWORD, "csrf_token": token}
    )
    refused = csrf_client.post(f"/businesses/reports/{observation_id}/verify")
    assert refused.status_code == 302
    refused = csrf_client.post(f"/businesses/reports/{observation_id}/query", data={"note": "?"})
    assert refused.status_code == 302
    assert db.session.get(Observation, observation_id).review_state == "pending"
    html = csrf_client.get("/businesses/reports").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)[1]
    done = csrf_client.post(
        f"/businesses/reports/{observation_id}/verify", data={"csrf_token": token}
    )
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(Observation, observation_id).review_state == "verified"
