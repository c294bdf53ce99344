"""Training pages through the client: lists, forms, the roster and its one-save results."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from app.core.dates import today_in_china
from app.extensions import db
from app.training.models import Cohort, Course, Enrollment, Institution
from tests.factories import DEFAULT_PASSWORD, make_founder, make_user
from tests.training.factories import get_course, make_cohort, make_enrollment, make_institution

EN = {"Accept-Language": "en"}


def recent_cohort(region_code="460100", **fields):
    starts = today_in_china() - timedelta(days=30)
    values = {"starts_on": starts, "ends_on": starts + timedelta(days=10)}
    return make_cohort(region_code=region_code, **(values | fields))


def ids_committed(*objects):
    ids = [obj.id for obj in objects]
    db.session.commit()
    return ids


PAGES = [
    "/training/institutions",
    "/training/institutions/new",
    "/training/courses",
    "/training/courses/new",
    "/training/cohorts",
    "/training/cohorts/new",
]


@pytest.mark.parametrize("url", PAGES)
def test_staff_pages_render(client, login_as, url):
    login_as("staff", "460100")
    response = client.get(url, headers=EN)
    assert response.status_code == 200
    assert "<form" in response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["officer", "founder", "admin"])
def test_other_roles_are_forbidden(client, login_as, role):
    login_as(role, "460000" if role == "admin" else "460100")
    assert client.get("/training/cohorts").status_code == 403
    assert client.post("/training/institutions/new", data={"name": "x"}).status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client, db_session):
    response = client.get("/training/cohorts")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_create_an_institution(client, login_as):
    login_as("staff", "460100")
    response = client.post(
        "/training/institutions/new",
        data={"name": "海口职业培训学校", "region_code": "460100", "designated": "y"},
        headers=EN,
    )
    assert response.status_code == 302
    named = select(Institution).where(Institution.name == "海口职业培训学校")
    institution = db.session.scalar(named)
    assert institution.designated is True
    assert response.headers["Location"].endswith(f"/training/institutions/{institution.id}")
    page = client.get(response.headers["Location"], headers=EN).get_data(as_text=True)
    assert "海口职业培训学校" in page
    assert "Institution 海口职业培训学校 added." in page


def test_institution_form_shows_field_errors(client, login_as):
    login_as("staff", "460100")
    ids_committed(make_institution(region_code="460100", name="老学校"))
    outside = client.post(
        "/training/institutions/new", data={"name": "三亚学校", "region_code": "460200"}, headers=EN
    )
    assert outside.status_code == 200
    assert "Choose a region in your area." in outside.get_data(as_text=True)
    duplicate = client.post(
        "/training/institutions/new", data={"name": "老学校", "region_code": "460100"}, headers=EN
    )
    assert duplicate.status_code == 200
    assert "already exists in this region" in duplicate.get_data(as_text=True)
    assert db.session.scalar(select(Institution).where(Institution.name == "三亚学校")) is None


def test_create_a_skills_course(client, login_as):
    login_as("staff", "460100")
    response = client.post(
        "/training/courses/new",
        data={"code": "chef-1", "name": "中式烹调", "kind": "skill", "hours": "120"},
        headers=EN,
    )
    assert response.status_code == 302
    course = db.session.scalar(select(Course).where(Course.code == "CHEF-1"))
    assert (course.kind, course.hours) == ("skill", 120)
    listing = client.get("/training/courses", headers=EN).get_data(as_text=True)
    assert "CHEF-1" in listing


def test_open_a_cohort(client, login_as):
    login_as("staff", "460100")
    [institution_id] = ids_committed(make_institution(region_code="460100", name="开班学校"))
    form_page = client.get(f"/training/cohorts/new?institution_id={institution_id}", headers=EN)
    assert f'<option selected value="{institution_id}">' in form_page.get_data(as_text=True)
    response = client.post(
        "/training/cohorts/new",
        data={
            "course_id": str(get_course("GYB").id),
            "institution_id": str(institution_id),
            "region_code": "460100",
            "name": "春季班",
            "starts_on": "2026-04-01",
            "ends_on": "2026-04-03",
            "capacity": "20",
        },
        headers=EN,
    )
    assert response.status_code == 302
    cohort = db.session.scalar(select(Cohort).where(Cohort.name == "春季班"))
    assert response.headers["Location"].endswith(f"/training/cohorts/{cohort.id}")
    assert cohort.course.code == "GYB"
    listing = client.get("/training/cohorts", headers=EN).get_data(as_text=True)
    assert "春季班" in listing
    assert "0/20" in listing


def test_cohort_form_errors_are_shown_by_field(client, login_as):
    login_as("staff", "460100")
    [institution_id] = ids_committed(make_institution(region_code="460100"))
    response = client.post(
        "/training/cohorts/new",
        data={
            "course_id": str(get_course("GYB").id),
            "institution_id": str(institution_id),
            "region_code": "460100",
            "starts_on": "2026-04-03",
            "ends_on": "2026-04-01",
            "capacity": "0",
        },
        headers=EN,
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Number must be between 1 and 1000." in page or "1 and 1000" in page
    assert db.session.scalar(select(Cohort)) is None
    response = client.post(
        "/training/cohorts/new",
        data={
            "course_id": str(get_course("GYB").id),
            "institution_id": str(institution_id),
            "region_code": "460100",
            "starts_on": "2026-04-03",
            "ends_on": "2026-04-01",
            "capacity": "10",
        },
        headers=EN,
    )
    assert "The last day cannot be before the first day." in response.get_data(as_text=True)


def test_enroll_from_the_roster_page(client, login_as):
    login_as("staff", "460100")
    cohort_id, founder_id = ids_committed(
        recent_cohort("460100", capacity=1), make_founder(region_code="460100", name="王小明")
    )
    search = client.get(f"/training/cohorts/{cohort_id}?q=王小", headers=EN)
    page = search.get_data(as_text=True)
    assert search.status_code == 200
    assert "王小明" in page
    assert f'name="founder_id" value="{founder_id}"' in page
    response = client.post(
        f"/training/cohorts/{cohort_id}/enrollments", data={"founder_id": str(founder_id)}
    )
    assert response.status_code == 302
    assert (
        db.session.scalar(select(Enrollment).where(Enrollment.cohort_id == cohort_id)).founder_id
        == founder_id
    )
    roster = client.get(f"/training/cohorts/{cohort_id}", headers=EN).get_data(as_text=True)
    assert f"/founders/{founder_id}" in roster
    assert "This cohort is full." in roster
    [other_id] = ids_committed(make_founder(region_code="460100"))
    full = client.post(
        f"/training/cohorts/{cohort_id}/enrollments",
        data={"founder_id": str(other_id)},
        headers=EN,
    )
    assert full.status_code == 200
    assert "This cohort is full: all 1 seats are taken." in full.get_data(as_text=True)
    on_roster = select(Enrollment).where(Enrollment.cohort_id == cohort_id)
    assert len(list(db.session.scalars(on_roster))) == 1


def test_enrolling_a_founder_of_another_city_is_refused(client, login_as):
    login_as("staff", "460100")
    cohort_id, sanya_founder_id = ids_committed(
        recent_cohort("460100"), make_founder(region_code="460200", name="三亚人")
    )
    search = client.get(f"/training/cohorts/{cohort_id}?q=三亚", headers=EN)
    assert "三亚人" not in search.get_data(as_text=True)
    response = client.post(
        f"/training/cohorts/{cohort_id}/enrollments",
        data={"founder_id": str(sanya_founder_id)},
        headers=EN,
    )
    assert response.status_code == 200
    assert "No founder with this id in your area." in response.get_data(as_text=True)
    assert db.session.scalar(select(Enrollment)) is None


def roster_data(rows):
    data = {}
    for position, row in enumerate(rows):
        for name, value in row.items():
            data[f"results-{position}-{name}"] = "" if value is None else str(value)
    return data


def test_save_the_whole_class_at_once(client, login_as):
    login_as("staff", "460100")
    cohort = recent_cohort("460100")
    enrollments = [make_enrollment(cohort) for _ in range(3)]
    cohort_id, *enrollment_ids = ids_committed(cohort, *enrollments)
    done = (today_in_china() - timedelta(days=20)).isoformat()
    page = client.get(f"/training/cohorts/{cohort_id}", headers=EN).get_data(as_text=True)
    assert 'name="results-2-completed_on"' in page
    response = client.post(
        f"/training/cohorts/{cohort_id}/results",
        data=roster_data(
            [
                {
                    "enrollment_id": enrollment_ids[0],
                    "result": "passed",
                    "completed_on": done,
                    "certificate_no": "HK-1",
                    "attendance": 80,
                },
                {
                    "enrollment_id": enrollment_ids[1],
                    "result": "failed",
                    "completed_on": done,
                    "certificate_no": "",
                    "attendance": 40,
                },
                {
                    "enrollment_id": enrollment_ids[2],
                    "result": "",
                    "completed_on": "",
                    "certificate_no": "",
                    "attendance": "",
                },
            ]
        ),
        headers=EN,
    )
    assert response.status_code == 302
    saved = {e.id: e for e in db.session.scalars(select(Enrollment))}
    assert (saved[enrollment_ids[0]].result, saved[enrollment_ids[0]].certificate_no) == (
        "passed",
        "HK-1",
    )
    assert saved[enrollment_ids[1]].result == "failed"
    assert saved[enrollment_ids[2]].result is None
    after = client.get(response.headers["Location"], headers=EN).get_data(as_text=True)
    assert "Results saved: 2 founders changed." in after
    assert 'data-testid="pass-rate">50.0%' in after


def test_a_bad_row_saves_nothing_and_is_marked(client, login_as):
    login_as("staff", "460100")
    cohort = recent_cohort("460100")
    cohort_id, first_id, second_id = ids_committed(
        cohort, make_enrollment(cohort), make_enrollment(cohort)
    )
    done = (today_in_china() - timedelta(days=20)).isoformat()
    future = (today_in_china() + timedelta(days=1)).isoformat()
    response = client.post(
        f"/training/cohorts/{cohort_id}/results",
        data=roster_data(
            [
                {"enrollment_id": first_id, "result": "passed", "completed_on": done},
                {
                    "enrollment_id": second_id,
                    "result": "failed",
                    "completed_on": future,
                    "certificate_no": "X-1",
                },
            ]
        ),
        headers=EN,
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "The completion date cannot be in the future." in page
    assert "Only a passed result has a certificate number." in page
    assert "Nothing was saved" in page
    assert all(e.result is None for e in db.session.scalars(select(Enrollment)))


def test_institution_page_links_figures_to_the_roster(client, login_as):
    login_as("staff", "460100")
    institution = make_institution(region_code="460100")
    cohort = recent_cohort("460100", institution=institution)
    done = cohort.ends_on
    make_enrollment(cohort, result="passed", completed_on=done, certificate_no="I-1")
    make_enrollment(cohort, result="passed", completed_on=done)
    make_enrollment(cohort, result="failed", completed_on=done)
    institution_id, cohort_id = ids_committed(institution, cohort)
    page = client.get(f"/training/institutions/{institution_id}", headers=EN).get_data(as_text=True)
    assert "66.7%" in page  # pass rate 2 / 3
    assert "50.0%" in page  # certificate rate 1 / 2
    assert f'href="/training/cohorts/{cohort_id}">66.7%' in page
    listing = client.get("/training/institutions", headers=EN).get_data(as_text=True)
    assert "66.7%" in listing


def _list_link(page, testid):
    """The list a figure links to: its path and query, parsed."""
    found = re.search(rf'data-testid="{testid}"><a href="([^"]+)">([^<]+)</a>', page)
    url = urlsplit(found[1].replace("&amp;", "&"))
    return url.path, {key: values[0] for key, values in parse_qs(url.query).items()}, found[2]


def test_institution_page_rates_how_its_trainees_did(client, login_as, rated_institution):
    """See conftest.py: Haikou's founders of institution I."""
    institution_id = rated_institution.rated_id
    db.session.commit()
    login_as("staff", "460100")
    page = client.get(f"/training/institutions/{institution_id}", headers=EN).get_data(as_text=True)
    assert "How its trainees did" in page
    expected = {
        "region_code": "460100",
        "as_of": today_in_china().isoformat(),
        "dimension": "institution",
        "key": str(institution_id),
    }
    assert _list_link(page, "outcome-pass-rate") == (
        "/reports/figures/training.passed",
        expected,
        "80.0%",
    )
    assert _list_link(page, "outcome-opening-3m")[0::2] == (
        "/reports/figures/opening.opened_3m",
        "50.0%",
    )
    assert _list_link(page, "outcome-opening-6m") == (
        "/reports/figures/opening.opened_6m",
        expected,
        "75.0%",
    )
    assert _list_link(page, "outcome-jobs-per-business") == (
        "/reports/figures/jobs.operating",
        expected,
        "3.50",
    )
    assert _list_link(page, "outcome-survival")[0::2] == (
        "/reports/figures/survival.businesses",
        "66.7%",
    )
    assert "3 of 4 trained founders" in page
    path, query, _shown = _list_link(page, "outcome-opening-6m")
    listed = client.get(path, query_string=query, headers=EN)
    assert listed.status_code == 200
    listed_page = listed.get_data(as_text=True)
    assert all(name in listed_page for name in ("林一号", "林二号", "林六号"))
    assert "林四号" not in listed_page  # trained, never opened
    assert "林三亚" not in listed_page  # Sanya's


def test_out_of_scope_pages_are_404(client, login_as):
    login_as("staff", "460100")
    sanya = recent_cohort("460200")
    enrollment = make_enrollment(sanya)
    cohort_id, institution_id, founder_id = ids_committed(
        sanya, sanya.institution, enrollment.founder
    )
    assert client.get(f"/training/cohorts/{cohort_id}").status_code == 404
    assert client.get(f"/training/institutions/{institution_id}").status_code == 404
    enroll = client.post(
        f"/training/cohorts/{cohort_id}/enrollments", data={"founder_id": str(founder_id)}
    )
    assert enroll.status_code == 404
    results = client.post(f"/training/cohorts/{cohort_id}/results", data={})
    assert results.status_code == 404
    assert client.get("/training/cohorts/2147483647").status_code == 404


def test_cohort_list_filters(client, login_as):
    login_as("staff", "460000")
    ids_committed(recent_cohort("460100", name="海口班"), recent_cohort("460200", name="三亚班"))
    page = client.get("/training/cohorts?region_code=460200", headers=EN).get_data(as_text=True)
    assert "三亚班" in page
    assert "海口班" not in page
    bad = client.get("/training/cohorts?starts_from=nonsense", headers=EN)
    assert bad.status_code == 200


def test_roster_forms_carry_the_csrf_token(csrf_client):
    username = make_user(role="staff", region_code="460100").username
    cohort = recent_cohort("460100")
    cohort_id, enrollment_id = ids_committed(cohort, make_enrollment(cohort))
    login_page = csrf_client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page).group(1)
    signed_in = csrf_client.post(
        "/login",
        data={"username": username, "password": DEFAULT_PASSWORD, "csrf_token": token},
    )
    assert signed_in.status_code == 302
    page = csrf_client.get(f"/training/cohorts/{cohort_id}").get_data(as_text=True)
    roster = page[page.index('data-testid="roster-form"') :]
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', roster).group(1)
    done = (today_in_china() - timedelta(days=20)).isoformat()
    rows = {
        "results-0-enrollment_id": str(enrollment_id),
        "results-0-result": "dropped",
        "results-0-completed_on": done,
    }
    refused = csrf_client.post(f"/training/cohorts/{cohort_id}/results", data=rows)
    assert refused.status_code == 302
    assert db.session.get(Enrollment, enrollment_id).result is None
    saved = csrf_client.post(
        f"/training/cohorts/{cohort_id}/results", data=rows | {"csrf_token": token}
    )
    assert saved.status_code == 302
    assert saved.headers["Location"].endswith(f"/training/cohorts/{cohort_id}")
    db.session.expire_all()
    assert db.session.get(Enrollment, enrollment_id).result == "dropped"
