"""Scope on every founders, training, library, business and incubation route (SPEC §4, §7,
§8): out of scope looks like absent.

A Haikou (460100) user asking for a Sanya (460200) row, or a founder asking for someone
else's record, gets exactly what the permission matrix says for an id no row has (404, or
403 where the role lacks the permission), and the answer names nothing of the row. Lists,
searches, filters, the export and the select boxes never show a Sanya row to Haikou
staff; province (460000) staff see both cities.

The project library follows D29: a project the caller may not see (a draft of someone
else's, a Haikou project asked for from Sanya) answers like an id no row has and changes
nothing; one they see but do not curate is a 403 for every change; lists, the API and the
export hold exactly the projects the caller may see.

Businesses, their observations and incubation bases follow the founder register: a Sanya
user asking for a Haikou business, self-report, base or residency gets the matrix's answer
for an id no row has and changes nothing; a founder reaches their own businesses only;
officers read businesses and write none; the review queue, its count and every list hold
only the caller's area.

Loans, guarantee funds, loan policies and integrity files follow the same rule (SPEC §4,
§9, §10): a Sanya officer asking for a Haikou loan, repayment, fund, policy, integrity file
or correction gets the matrix's answer for an id no row has and changes nothing, with
empty bodies and with real ones; a founder reaches only their own loans and file; the
loan list, the queue, arrears, a fund's loans, the corrections, the API lists and the
subsidy claim hold only the caller's area, and province officers see both cities. Funds
and policies are read by admins everywhere and by officers in their area and their own
province (D33).

Follow-ups follow the same rule (SPEC §4, §11): a Sanya staff member or officer asking for
a Haikou task gets the matrix's answer for an id no row has (pages, API, every POST, empty
bodies and real ones) and changes nothing; an officer reaches only the loan_usage tasks of
their area; a founder self-reports only on their own business; the work queue and
GET /api/v1/followups hold only the caller's tasks whatever the filters. Notifications
are each user's own: anyone else's is a 404 and stays unread.

Targets follow the same rule (SPEC §4, §13): another province's staff and officers asking
for Hainan's targets (pages, API, reads and writes, empty bodies and real ones) get the
matrix's answer for a region no row has and change nothing; a city's staff read their own
city's targets through the API, not another city's or their province's row.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import func, or_, select

from app.core.audit import AuditEntry
from app.extensions import db
from app.founders.models import Founder, FounderImport
from app.incubation.models import Residency
from app.library.models import LibraryAdoption, LibraryProject
from app.training.models import Cohort, Enrollment, Institution
from tests.factories import DEFAULT_PASSWORD, make_founder, make_phone, make_user
from tests.library.factories import make_adoption, make_project, project_body
from tests.test_permissions import (
    EXPECTED,
    EXPECTED_MISSING,
    Redirect,
    _assert_outcome,
    _registered,
    _request,
)
from tests.training.factories import make_cohort, make_enrollment, make_institution

HAIKOU = "460100"
SANYA = "460200"
PROVINCE = "460000"
SHANGHAI_DISTRICT = "310110"
SCOPED_BLUEPRINTS = frozenset({"founders", "training", "api_founders", "api_training"})
LIBRARY_BLUEPRINTS = frozenset({"library", "api_library"})
# Every founders/training rule with an id (EXPECTED_MISSING names every rule with an id).
ID_RULES = sorted(key for key in EXPECTED_MISSING if key[0].split(".")[0] in SCOPED_BLUEPRINTS)
# Every library rule with an id (all of them name a project).
LIBRARY_ID_RULES = sorted(
    key for key in EXPECTED_MISSING if key[0].split(".")[0] in LIBRARY_BLUEPRINTS
)


@dataclass(frozen=True)
class Rows:
    """One region's rows, as plain values (requests end the session that loaded them): a
    founder enrolled in a cohort of an institution, and another staff member's import."""

    founder_id: int
    founder_name: str
    founder_id_number: str
    founder_phone: str
    institution_id: int
    institution_name: str
    cohort_id: int
    cohort_name: str
    enrollment_id: int
    import_id: int

    @property
    def arguments(self) -> dict[str, int]:
        """URL argument name -> the id of this region's row."""
        return {
            "founder_id": self.founder_id,
            "institution_id": self.institution_id,
            "cohort_id": self.cohort_id,
            "enrollment_id": self.enrollment_id,
            "import_id": self.import_id,
        }

    @property
    def secrets(self) -> list[str]:
        """What an answer about another area's rows must never contain."""
        return [
            self.founder_name,
            self.founder_id_number,
            self.founder_phone,
            self.institution_name,
            self.cohort_name,
        ]


def make_rows(region_code: str, label: str) -> Rows:
    """Rows of one region whose names carry `label`, so pages can be searched for them."""
    founder = make_founder(region_code=region_code, name=f"{label}创业者")
    institution = make_institution(region_code=region_code, name=f"{label}培训学校")
    cohort = make_cohort(region_code=region_code, institution=institution, name=f"{label}班")
    enrollment = make_enrollment(cohort, founder)
    owner = make_user(role="staff", region_code=region_code)
    founder_import = FounderImport(
        actor_id=owner.id, filename=f"{label}.xlsx", mode="all_or_nothing", errors=[]
    )
    db.session.add(founder_import)
    db.session.flush()
    return Rows(
        founder_id=founder.id,
        founder_name=founder.name,
        founder_id_number=founder.id_number,
        founder_phone=founder.phone,
        institution_id=institution.id,
        institution_name=institution.name,
        cohort_id=cohort.id,
        cohort_name=cohort.name,
        enrollment_id=enrollment.id,
        import_id=founder_import.id,
    )


def _cases(roles: tuple[str, ...]) -> list[Any]:
    return [
        pytest.param(endpoint, method, role, id=f"{endpoint}-{method}-{role}")
        for endpoint, method in ID_RULES
        for role in roles
    ]


def test_every_scoped_rule_with_an_id_is_checked(app: Flask) -> None:
    with_ids = {
        key
        for key, rule in _registered(app).items()
        if rule.arguments and key[0].split(".")[0] in SCOPED_BLUEPRINTS
    }
    assert with_ids == set(ID_RULES)
    arguments = {name for key in ID_RULES for name in _registered(app)[key].arguments}
    assert arguments <= {"founder_id", "institution_id", "cohort_id", "enrollment_id", "import_id"}
    library_with_ids = {
        key
        for key, rule in _registered(app).items()
        if rule.arguments and key[0].split(".")[0] in LIBRARY_BLUEPRINTS
    }
    assert library_with_ids == set(LIBRARY_ID_RULES)
    for key in LIBRARY_ID_RULES:
        assert set(_registered(app)[key].arguments) == {"project_id"}, key


# Ids outside the caller's scope ----------------------------------------------------------
@pytest.mark.parametrize(("endpoint", "method", "role"), _cases(("staff", "officer", "founder")))
def test_rows_outside_the_callers_scope_look_absent(
    app: Flask,
    client: FlaskClient,
    login_as: Callable[..., Any],
    api_as: Callable[..., Any],
    endpoint: str,
    method: str,
    role: str,
) -> None:
    """Haikou staff and officers ask for Sanya rows; a Haikou founder for a neighbour's."""
    rows = make_rows(HAIKOU if role == "founder" else SANYA, "外区")
    secrets = rows.secrets
    before = _row_fingerprint(rows)
    rule = _registered(app)[(endpoint, method)]
    arguments = {name: rows.arguments[name] for name in rule.arguments}
    path, response, _ = _request(
        app, client, login_as, api_as, endpoint, method, role, arguments, HAIKOU
    )
    body = response.get_data().decode("utf-8", errors="replace")
    _assert_outcome(path, response, EXPECTED_MISSING[(endpoint, method)][role], arguments)
    for secret in secrets:
        assert secret not in body
    assert _row_fingerprint(rows) == before
    assert _id_number_views(rows.founder_id) == 0


# An import report is only ever its sender's, whatever the area (see below).
@pytest.mark.parametrize(
    ("endpoint", "method"), [key for key in ID_RULES if key[0] != "founders.import_report"]
)
@pytest.mark.parametrize("region", [SANYA, PROVINCE])
def test_the_same_rows_are_reachable_in_their_own_area(
    app: Flask,
    client: FlaskClient,
    login_as: Callable[..., Any],
    api_as: Callable[..., Any],
    endpoint: str,
    method: str,
    region: str,
) -> None:
    """The control: Sanya's and the province's staff get the matrix's answer for staff."""
    rows = make_rows(SANYA, "三亚")
    rule = _registered(app)[(endpoint, method)]
    arguments = {name: rows.arguments[name] for name in rule.arguments}
    path, response, _ = _request(
        app, client, login_as, api_as, endpoint, method, "staff", arguments, region
    )
    _assert_outcome(path, response, EXPECTED[(endpoint, method)]["staff"], arguments)


@pytest.mark.parametrize("region", [HAIKOU, SANYA, PROVINCE])
def test_an_import_report_is_only_its_senders(
    client: FlaskClient, login_as: Callable[..., Any], region: str
) -> None:
    rows = make_rows(SANYA, "三亚")
    db.session.commit()
    login_as("staff", region)
    response = client.get(f"/founders/imports/{rows.import_id}/report.xlsx")
    assert response.status_code == 404


def _row_fingerprint(rows: Rows) -> tuple[Any, ...]:
    """The out-of-scope rows' values a refused request must leave alone."""
    db.session.expire_all()
    founder = db.session.get(Founder, rows.founder_id)
    enrollment = db.session.get(Enrollment, rows.enrollment_id)
    seats = db.session.scalar(
        select(func.count(Enrollment.id)).where(Enrollment.cohort_id == rows.cohort_id)
    )
    return (
        founder.name,
        founder.phone,
        founder.region_code,
        founder.updated_at,
        enrollment.result,
        enrollment.attendance,
        seats,
    )


def _id_number_views(founder_id: int) -> int:
    """Audit entries of full ID number views of this founder."""
    stmt = select(func.count(AuditEntry.id)).where(
        AuditEntry.entity_id == str(founder_id),
        AuditEntry.action == "founder.view_id_number",
    )
    return int(db.session.scalar(stmt) or 0)


# Lists, searches, exports and select boxes -------------------------------------------------
@pytest.fixture
def both_cities(db_session: Any) -> tuple[Rows, Rows]:
    """Haikou's and Sanya's rows, committed for the requests to see."""
    rows = make_rows(HAIKOU, "海口"), make_rows(SANYA, "三亚")
    db.session.commit()
    return rows


# region of the staff user -> (sees Haikou, sees Sanya)
VIEWERS = [
    pytest.param(HAIKOU, True, False, id="haikou"),
    pytest.param(SANYA, False, True, id="sanya"),
    pytest.param(PROVINCE, True, True, id="province"),
]
LIST_PAGES = [
    "/founders",
    "/founders?q=三亚",
    f"/founders?region_code={SANYA}",
    "/training/institutions",
    f"/training/institutions?region_code={SANYA}",
    "/training/cohorts",
    f"/training/cohorts?region_code={SANYA}",
    "/training/cohorts/new",  # the institution select box
]


def _mentions(body: str, rows: Rows, path: str) -> bool:
    """Whether a page or answer shows these rows (by the names that the list shows)."""
    if path.startswith("/founders"):
        return rows.founder_name in body
    if "/institutions" in path or path.endswith("/new"):
        return rows.institution_name in body
    return rows.cohort_name in body


def _filtered_to(path: str) -> str | None:
    """The region a listed path filters or searches for, if any."""
    return SANYA if ("三亚" in path or SANYA in path) else None


@pytest.mark.parametrize("path", LIST_PAGES)
@pytest.mark.parametrize(("region", "sees_haikou", "sees_sanya"), VIEWERS)
def test_list_pages_show_only_rows_in_scope(
    client: FlaskClient,
    login_as: Callable[..., Any],
    both_cities: tuple[Rows, Rows],
    path: str,
    region: str,
    sees_haikou: bool,
    sees_sanya: bool,
) -> None:
    haikou, sanya = both_cities
    login_as("staff", region)
    response = client.get(path)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert _mentions(body, sanya, path) is sees_sanya
    if _filtered_to(path) is None:
        assert _mentions(body, haikou, path) is sees_haikou
    if not sees_sanya:
        for secret in sanya.secrets:
            assert secret not in body


def _api_items(api: Any, path: str) -> list[dict[str, Any]]:
    separator = "&" if "?" in path else "?"
    response = api.get(f"{path}{separator}per_page=200")
    assert response.status_code == 200, response.get_data(as_text=True)
    answer = response.get_json()
    assert answer["total"] == len(answer["items"])
    return answer["items"]


API_LISTS = [
    ("/api/v1/founders", "founder"),
    ("/api/v1/founders?q=三亚", "founder"),
    (f"/api/v1/founders?region_code={SANYA}", "founder"),
    ("/api/v1/institutions", "institution"),
    (f"/api/v1/institutions?region_code={SANYA}", "institution"),
    ("/api/v1/cohorts", "cohort"),
    (f"/api/v1/cohorts?region_code={SANYA}", "cohort"),
    ("/api/v1/cohorts?institution_id={sanya_institution}", "cohort"),
]


@pytest.mark.parametrize(("path", "kind"), API_LISTS)
@pytest.mark.parametrize(("region", "sees_haikou", "sees_sanya"), VIEWERS)
def test_api_lists_hold_only_rows_in_scope(
    api_as: Callable[..., Any],
    both_cities: tuple[Rows, Rows],
    path: str,
    kind: str,
    region: str,
    sees_haikou: bool,
    sees_sanya: bool,
) -> None:
    haikou, sanya = both_cities
    api = api_as("staff", region)
    items = _api_items(api, path.format(sanya_institution=sanya.institution_id))
    ids = {item["id"] for item in items}
    assert (getattr(sanya, f"{kind}_id") in ids) is sees_sanya
    if "三亚" not in path and SANYA not in path and "institution_id" not in path:
        assert (getattr(haikou, f"{kind}_id") in ids) is sees_haikou
    allowed = {HAIKOU: {HAIKOU}, SANYA: {SANYA}, PROVINCE: {PROVINCE, HAIKOU, SANYA}}[region]
    assert {item["region_code"] for item in items} <= allowed


def _exported_text(response: Any) -> str:
    workbook = load_workbook(io.BytesIO(response.get_data()), read_only=True)
    try:
        return "\n".join(
            str(value)
            for sheet in workbook.worksheets
            for line in sheet.iter_rows(values_only=True)
            for value in line
            if value is not None
        )
    finally:
        workbook.close()


@pytest.mark.parametrize("query", ["", "?q=三亚", f"?region_code={SANYA}"])
@pytest.mark.parametrize(("region", "sees_haikou", "sees_sanya"), VIEWERS)
def test_the_export_holds_only_founders_in_scope(
    client: FlaskClient,
    login_as: Callable[..., Any],
    both_cities: tuple[Rows, Rows],
    query: str,
    region: str,
    sees_haikou: bool,
    sees_sanya: bool,
) -> None:
    haikou, sanya = both_cities
    login_as("staff", region)
    response = client.get(f"/founders/export.xlsx{query}")
    try:
        assert response.status_code == 200
        text = _exported_text(response)
    finally:
        response.close()
    assert (sanya.founder_name in text) is sees_sanya
    assert sanya.founder_id_number not in text  # masked, whoever exports
    if not query:
        assert (haikou.founder_name in text) is sees_haikou
        assert int(response.headers["X-Row-Count"]) == int(sees_haikou) + int(sees_sanya)


# Writes naming a row of another area in the body -------------------------------------------
def _count(model: Any) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def test_enrolling_a_founder_of_another_city_is_refused(
    api_as: Callable[..., Any], both_cities: tuple[Rows, Rows]
) -> None:
    haikou, sanya = both_cities
    api = api_as("staff", HAIKOU)
    enrollments = _count(Enrollment)
    response = api.post(
        f"/api/v1/cohorts/{haikou.cohort_id}/enrollments", json={"founder_id": sanya.founder_id}
    )
    assert response.status_code == 422, response.get_data(as_text=True)
    assert set(response.get_json()["errors"]) == {"founder_id"}
    assert sanya.founder_name not in response.get_data(as_text=True)
    assert _count(Enrollment) == enrollments


def test_the_enroll_page_refuses_a_founder_of_another_city(
    client: FlaskClient, login_as: Callable[..., Any], both_cities: tuple[Rows, Rows]
) -> None:
    haikou, sanya = both_cities
    login_as("staff", HAIKOU)
    enrollments = _count(Enrollment)
    response = client.post(
        f"/training/cohorts/{haikou.cohort_id}/enrollments",
        data={"founder_id": str(sanya.founder_id)},
    )
    assert response.status_code == 200
    assert sanya.founder_name not in response.get_data(as_text=True)
    assert _count(Enrollment) == enrollments


def test_a_roster_cannot_record_results_of_another_citys_enrollment(
    client: FlaskClient, login_as: Callable[..., Any], both_cities: tuple[Rows, Rows]
) -> None:
    haikou, sanya = both_cities
    login_as("staff", HAIKOU)
    response = client.post(
        f"/training/cohorts/{haikou.cohort_id}/results",
        data={
            "results-0-enrollment_id": str(sanya.enrollment_id),
            "results-0-result": "passed",
            "results-0-completed_on": "2026-03-13",
            "results-0-certificate_no": "SY-0001",
            "results-0-attendance": "10",
        },
    )
    assert response.status_code == 200
    db.session.expire_all()
    enrollment = db.session.get(Enrollment, sanya.enrollment_id)
    assert (enrollment.result, enrollment.certificate_no, enrollment.attendance) == (None, None, 0)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/institutions", {"name": "越界学校", "region_code": SANYA}, "region_code"),
        (
            "/api/v1/cohorts",
            {
                "course_id": None,  # filled in: SYB
                "institution_id": None,  # filled in: Sanya's institution
                "region_code": HAIKOU,
                "starts_on": "2026-04-01",
                "ends_on": "2026-04-12",
                "capacity": 20,
            },
            "institution_id",
        ),
        (
            "/api/v1/cohorts",
            {
                "course_id": None,
                "institution_id": None,  # filled in: Haikou's institution
                "region_code": SANYA,
                "starts_on": "2026-04-01",
                "ends_on": "2026-04-12",
                "capacity": 20,
            },
            "region_code",
        ),
        (
            "/api/v1/founders",
            {
                "name": "越界者",
                "id_number": None,  # filled in: a fresh valid number
                "phone": None,
                "region_code": SANYA,
                "target_group": "laid_off",
            },
            "region_code",
        ),
    ],
    ids=["institution in Sanya", "cohort at a Sanya institution", "cohort in Sanya", "founder"],
)
def test_creating_rows_in_another_city_is_refused(
    api_as: Callable[..., Any],
    both_cities: tuple[Rows, Rows],
    path: str,
    body: dict[str, Any],
    field: str,
) -> None:
    from tests.factories import make_id_number
    from tests.training.factories import get_course

    haikou, sanya = both_cities
    filled = dict(body)
    if "course_id" in filled:
        filled["course_id"] = get_course("SYB").id
        owner = sanya if field == "institution_id" else haikou
        filled["institution_id"] = owner.institution_id
    if "id_number" in filled:
        filled["id_number"] = make_id_number(region_prefix=SANYA)
        filled["phone"] = make_phone()
    counts = (_count(Institution), _count(Cohort), _count(Founder))
    api = api_as("staff", HAIKOU)
    response = api.post(path, json=filled)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert field in response.get_json()["errors"]
    assert (_count(Institution), _count(Cohort), _count(Founder)) == counts


def test_a_founder_cannot_be_moved_out_of_the_staffs_area(
    api_as: Callable[..., Any], both_cities: tuple[Rows, Rows]
) -> None:
    haikou, _ = both_cities
    api = api_as("staff", HAIKOU)
    response = api.patch(f"/api/v1/founders/{haikou.founder_id}", json={"region_code": SANYA})
    assert response.status_code == 422, response.get_data(as_text=True)
    assert "region_code" in response.get_json()["errors"]
    db.session.expire_all()
    assert db.session.get(Founder, haikou.founder_id).region_code == HAIKOU


# A founder's own record ----------------------------------------------------------------------
def test_a_founder_reads_only_their_own_record_without_the_full_id_number(
    api_as: Callable[..., Any], both_cities: tuple[Rows, Rows]
) -> None:
    haikou, _ = both_cities
    api = api_as("founder", HAIKOU)
    own = api.get(f"/api/v1/founders/{api.user.founder_id}")
    assert own.status_code == 200
    assert own.get_json()["id"] == api.user.founder_id
    assert "id_number" not in own.get_json()
    assert api.get(f"/api/v1/founders/{haikou.founder_id}").status_code == 404


def test_the_founder_portal_shows_only_the_founders_own_record(
    client: FlaskClient, login_as: Callable[..., Any], both_cities: tuple[Rows, Rows]
) -> None:
    haikou, _ = both_cities
    user = login_as("founder", HAIKOU)
    response = client.get("/me")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    own = db.session.get(Founder, user.founder_id)
    assert own.name in body
    assert own.id_number not in body
    for secret in haikou.secrets:
        assert secret not in body


# Project library (D29) ------------------------------------------------------------------------
@dataclass(frozen=True)
class ProjectRow:
    """One project, as plain values; its title and summary name it in pages and files."""

    project_id: int
    title: str
    summary: str

    @property
    def secrets(self) -> list[str]:
        """What an answer about a project the caller may not see must never contain."""
        return [self.title, self.summary]


def make_project_row(region_code: str, status: str, label: str) -> ProjectRow:
    project = make_project(
        region_code=region_code,
        status=status,
        title=f"{label}·椰林小铺",
        summary=f"{label}的内部介绍，只有看得见的人能读到。",
    )
    return ProjectRow(project.id, project.title, project.summary)


def _project_fingerprint(project_id: int) -> tuple[Any, ...]:
    """Everything a refused request must leave alone: the project, its adoptions, its
    promotion and the library's audit trail."""
    db.session.expire_all()
    project = db.session.get(LibraryProject, project_id)
    adoptions = db.session.scalar(
        select(func.count(LibraryAdoption.id)).where(LibraryAdoption.project_id == project_id)
    )
    promotions = db.session.scalar(
        select(func.count(LibraryProject.id)).where(LibraryProject.promoted_from_id == project_id)
    )
    audit = db.session.scalar(
        select(func.count(AuditEntry.id)).where(AuditEntry.action.like("library_%"))
    )
    return (
        project.title,
        project.status,
        project.investment_min,
        project.updated_at,
        project.published_at,
        project.status_changed_at,
        adoptions,
        promotions,
        audit,
    )


# (role, caller's region, project's region, project's status): the caller may not see it.
HIDDEN_PROJECTS = [
    pytest.param("founder", SANYA, HAIKOU, "published", id="sanya-founder-haikou-project"),
    pytest.param("founder", HAIKOU, HAIKOU, "draft", id="founder-own-city-draft"),
    pytest.param("founder", HAIKOU, HAIKOU, "retired", id="founder-own-city-retired"),
    pytest.param("founder", HAIKOU, PROVINCE, "draft", id="founder-province-draft"),
    pytest.param("staff", HAIKOU, SANYA, "published", id="haikou-staff-sanya-project"),
    pytest.param("staff", HAIKOU, SANYA, "draft", id="haikou-staff-sanya-draft"),
    pytest.param("staff", SANYA, HAIKOU, "published", id="sanya-staff-haikou-project"),
    pytest.param("staff", HAIKOU, PROVINCE, "draft", id="city-staff-province-draft"),
    pytest.param("staff", PROVINCE, HAIKOU, "draft", id="province-staff-city-draft"),
    pytest.param("staff", PROVINCE, HAIKOU, "retired", id="province-staff-city-retired"),
    pytest.param("staff", PROVINCE, SHANGHAI_DISTRICT, "published", id="other-province"),
    pytest.param("officer", HAIKOU, HAIKOU, "draft", id="officer-draft"),
    pytest.param("officer", HAIKOU, SANYA, "published", id="haikou-officer-sanya-project"),
    pytest.param("officer", PROVINCE, SANYA, "draft", id="province-officer-city-draft"),
    pytest.param("admin", PROVINCE, HAIKOU, "draft", id="admin-draft"),
]


@pytest.mark.parametrize(("endpoint", "method"), LIBRARY_ID_RULES)
@pytest.mark.parametrize(("role", "region", "project_region", "status"), HIDDEN_PROJECTS)
def test_projects_the_caller_may_not_see_look_absent(
    app: Flask,
    client: FlaskClient,
    login_as: Callable[..., Any],
    api_as: Callable[..., Any],
    endpoint: str,
    method: str,
    role: str,
    region: str,
    project_region: str,
    status: str,
) -> None:
    """Every library rule with an id answers as for an id no row has, and changes nothing."""
    project = make_project_row(project_region, status, "看不见")
    before = _project_fingerprint(project.project_id)
    arguments = {"project_id": project.project_id}
    path, response, _ = _request(
        app, client, login_as, api_as, endpoint, method, role, arguments, region
    )
    body = response.get_data().decode("utf-8", errors="replace")
    _assert_outcome(path, response, EXPECTED_MISSING[(endpoint, method)][role], arguments)
    for secret in project.secrets:
        assert secret not in body
    assert _project_fingerprint(project.project_id) == before


# A founder of the caller's own area, for adoption bodies (None: the caller is a founder).
WRITE_CALLERS = [
    pytest.param("staff", HAIKOU, SANYA, "published", id="haikou-staff-sanya-project"),
    pytest.param("staff", PROVINCE, HAIKOU, "draft", id="province-staff-city-draft"),
    pytest.param("founder", SANYA, HAIKOU, "published", id="sanya-founder-haikou-project"),
    pytest.param("founder", HAIKOU, HAIKOU, "draft", id="founder-draft"),
]


@pytest.mark.parametrize(("role", "region", "project_region", "status"), WRITE_CALLERS)
def test_real_changes_to_hidden_projects_change_nothing_through_the_api(
    api_as: Callable[..., Any], role: str, region: str, project_region: str, status: str
) -> None:
    """Not only empty bodies: a real edit, status change, promotion or adoption is refused."""
    project = make_project_row(project_region, status, "看不见")
    own_founder_id = make_founder(region_code=region).id
    db.session.commit()
    before = _project_fingerprint(project.project_id)
    api = api_as(role, region)
    base = f"/api/v1/library/projects/{project.project_id}"
    founder_id = api.user.founder_id if role == "founder" else own_founder_id
    calls = [
        ("patch", base, {"title": "改过的标题", "investment_min": "1.00"}, "update_project"),
        ("post", f"{base}/publish", None, "publish_project"),
        ("post", f"{base}/retire", None, "retire_project"),
        ("post", f"{base}/revise", None, "revise_project"),
        ("post", f"{base}/promote", None, "promote_project"),
        ("post", f"{base}/adoptions", {"founder_id": founder_id}, "adopt_project"),
    ]
    for verb, path, body, name in calls:
        response = getattr(api, verb)(path, json=body)
        expected = EXPECTED_MISSING[(f"api_library.{name}", verb.upper())][role]
        assert response.status_code == expected, (path, response.get_data(as_text=True))
        for secret in project.secrets:
            assert secret not in response.get_data(as_text=True)
    assert _project_fingerprint(project.project_id) == before


@pytest.mark.parametrize(("role", "region", "project_region", "status"), WRITE_CALLERS)
def test_real_changes_to_hidden_projects_change_nothing_through_the_pages(
    client: FlaskClient,
    login_as: Callable[..., Any],
    role: str,
    region: str,
    project_region: str,
    status: str,
) -> None:
    project = make_project_row(project_region, status, "看不见")
    own_founder_id = make_founder(region_code=region).id
    db.session.commit()
    before = _project_fingerprint(project.project_id)
    user = login_as(role, region)
    base = f"/library/projects/{project.project_id}"
    founder_id = user.founder_id if role == "founder" else own_founder_id
    calls = [
        ("edit", project_body(title="改过的标题", investment_min="1.00")),
        ("publish", {}),
        ("retire", {}),
        ("revise", {}),
        ("promote", {}),
        ("adopt", {"founder_id": str(founder_id)}),
    ]
    for action, data in calls:
        response = client.post(f"{base}/{action}", data=data)
        expected = EXPECTED_MISSING[(f"library.{action}", "POST")][role]
        assert response.status_code == expected, action
        for secret in project.secrets:
            assert secret not in response.get_data(as_text=True)
    assert _project_fingerprint(project.project_id) == before


@pytest.mark.parametrize(("endpoint", "method"), LIBRARY_ID_RULES)
def test_the_same_projects_are_reachable_by_their_own_curators(
    app: Flask,
    client: FlaskClient,
    login_as: Callable[..., Any],
    api_as: Callable[..., Any],
    endpoint: str,
    method: str,
) -> None:
    """The control: Sanya's staff get the matrix's answer for staff on a Sanya project."""
    project = make_project_row(SANYA, "published", "三亚")
    arguments = {"project_id": project.project_id}
    path, response, _ = _request(
        app, client, login_as, api_as, endpoint, method, "staff", arguments, SANYA
    )
    _assert_outcome(path, response, EXPECTED[(endpoint, method)]["staff"], arguments)


TO_PROJECT = Redirect("/library/projects/{project_id}")
# (caller's region, project's region, project's status, endpoint, method, staff's answer):
# a project the staff see but do not curate is a 403 for every change (D29).
CURATING = [
    # Haikou staff read a Hainan province project, and change nothing of it.
    (HAIKOU, PROVINCE, "published", "api_library.get_project", "GET", 200),
    (HAIKOU, PROVINCE, "published", "api_library.update_project", "PATCH", 403),
    (HAIKOU, PROVINCE, "published", "api_library.publish_project", "POST", 403),
    (HAIKOU, PROVINCE, "published", "api_library.retire_project", "POST", 403),
    (HAIKOU, PROVINCE, "published", "api_library.revise_project", "POST", 403),
    (HAIKOU, PROVINCE, "published", "api_library.promote_project", "POST", 403),
    (HAIKOU, PROVINCE, "published", "library.detail", "GET", 200),
    (HAIKOU, PROVINCE, "published", "library.edit", "GET", 403),
    (HAIKOU, PROVINCE, "published", "library.edit", "POST", 403),
    (HAIKOU, PROVINCE, "published", "library.publish", "POST", 403),
    (HAIKOU, PROVINCE, "published", "library.retire", "POST", 403),
    (HAIKOU, PROVINCE, "published", "library.revise", "POST", 403),
    (HAIKOU, PROVINCE, "published", "library.promote", "POST", 403),
    # Hainan staff read a published Haikou project; they may only promote it.
    (PROVINCE, HAIKOU, "published", "api_library.get_project", "GET", 200),
    (PROVINCE, HAIKOU, "published", "api_library.update_project", "PATCH", 403),
    (PROVINCE, HAIKOU, "published", "api_library.publish_project", "POST", 403),
    (PROVINCE, HAIKOU, "published", "api_library.retire_project", "POST", 403),
    (PROVINCE, HAIKOU, "published", "api_library.revise_project", "POST", 403),
    (PROVINCE, HAIKOU, "published", "api_library.promote_project", "POST", 201),
    (PROVINCE, HAIKOU, "published", "library.detail", "GET", 200),
    (PROVINCE, HAIKOU, "published", "library.edit", "GET", 403),
    (PROVINCE, HAIKOU, "published", "library.edit", "POST", 403),
    (PROVINCE, HAIKOU, "published", "library.publish", "POST", 403),
    (PROVINCE, HAIKOU, "published", "library.retire", "POST", 403),
    (PROVINCE, HAIKOU, "published", "library.revise", "POST", 403),
    # Hainan staff curate the province's own projects, drafts included; those are no city
    # projects to promote.
    (PROVINCE, PROVINCE, "draft", "api_library.get_project", "GET", 200),
    (PROVINCE, PROVINCE, "draft", "api_library.update_project", "PATCH", 200),
    (PROVINCE, PROVINCE, "draft", "api_library.publish_project", "POST", 200),
    (PROVINCE, PROVINCE, "draft", "api_library.promote_project", "POST", 403),
    (PROVINCE, PROVINCE, "draft", "library.edit", "GET", 200),
    (PROVINCE, PROVINCE, "draft", "library.publish", "POST", TO_PROJECT),
    # Haikou staff curate their own drafts.
    (HAIKOU, HAIKOU, "draft", "api_library.get_project", "GET", 200),
    (HAIKOU, HAIKOU, "draft", "api_library.publish_project", "POST", 200),
    (HAIKOU, HAIKOU, "draft", "library.edit", "GET", 200),
    (HAIKOU, HAIKOU, "retired", "api_library.revise_project", "POST", 200),
]


@pytest.mark.parametrize(
    ("region", "project_region", "status", "endpoint", "method", "expected"),
    [pytest.param(*case, id="-".join(map(str, case[:5]))) for case in CURATING],
)
def test_staff_curate_exactly_their_own_regions_projects(
    app: Flask,
    client: FlaskClient,
    login_as: Callable[..., Any],
    api_as: Callable[..., Any],
    region: str,
    project_region: str,
    status: str,
    endpoint: str,
    method: str,
    expected: Any,
) -> None:
    project = make_project_row(project_region, status, "策展")
    before = _project_fingerprint(project.project_id)
    arguments = {"project_id": project.project_id}
    path, response, _ = _request(
        app, client, login_as, api_as, endpoint, method, "staff", arguments, region
    )
    _assert_outcome(path, response, expected, arguments)
    if expected == 403:
        assert _project_fingerprint(project.project_id) == before


@pytest.mark.parametrize(("region", "level"), [(HAIKOU, "city"), (PROVINCE, "province")])
def test_a_new_project_belongs_to_its_curators_region(
    api_as: Callable[..., Any], region: str, level: str
) -> None:
    """The body cannot place a project elsewhere: level and region come from the account."""
    api = api_as("staff", region)
    body = project_body(region_code=SANYA, level="city" if level == "province" else "province")
    response = api.post("/api/v1/library/projects", json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    created = response.get_json()
    assert (created["region_code"], created["level"], created["status"]) == (region, level, "draft")
    # A new draft is its curators' alone.
    path = f"/api/v1/library/projects/{created['id']}"
    assert api_as("staff", SANYA).get(path).status_code == 404
    assert api_as("founder", region if region != PROVINCE else HAIKOU).get(path).status_code == 404


def test_promotion_is_for_the_provinces_staff_and_happens_once(
    api_as: Callable[..., Any],
) -> None:
    origin = make_project_row(HAIKOU, "published", "推广")
    db.session.commit()
    path = f"/api/v1/library/projects/{origin.project_id}/promote"
    assert api_as("staff", HAIKOU).post(path).status_code == 403
    assert api_as("staff", SANYA).post(path).status_code == 404
    assert api_as("staff", "310000").post(path).status_code == 404
    assert api_as("officer", PROVINCE).post(path).status_code == 403
    province = api_as("staff", PROVINCE)
    first = province.post(path)
    assert first.status_code == 201, first.get_data(as_text=True)
    promoted = first.get_json()
    assert (promoted["level"], promoted["region_code"], promoted["status"]) == (
        "province",
        PROVINCE,
        "draft",
    )
    assert promoted["promoted_from_id"] == origin.project_id
    again = province.post(path)
    assert again.status_code == 409, again.get_data(as_text=True)
    # The copy is a province draft: only the province's curators see it until published.
    copy = f"/api/v1/library/projects/{promoted['id']}"
    assert api_as("founder", HAIKOU).get(copy).status_code == 404
    assert api_as("staff", HAIKOU).get(copy).status_code == 404
    assert province.get(copy).status_code == 200
    assert _project_fingerprint(origin.project_id)[6:8] == (0, 1)


# Lists, the API and the export hold only the projects the caller may see ----------------------
LIBRARY_PROJECTS = {
    "hk_pub": (HAIKOU, "published", "海口上架"),
    "hk_draft": (HAIKOU, "draft", "海口草稿"),
    "hk_retired": (HAIKOU, "retired", "海口下架"),
    "sy_pub": (SANYA, "published", "三亚上架"),
    "sy_draft": (SANYA, "draft", "三亚草稿"),
    "prov_pub": (PROVINCE, "published", "海南省上架"),
    "prov_draft": (PROVINCE, "draft", "海南省草稿"),
    "sh_pub": (SHANGHAI_DISTRICT, "published", "杨浦上架"),
}
DRAFTS = {"hk_draft", "sy_draft", "prov_draft"}


@pytest.fixture
def library_rows(db_session: Any) -> dict[str, ProjectRow]:
    """One project of each kind, committed; a Sanya founder adopted Sanya's, so sorting by
    outcome has a count to join."""
    rows = {
        key: make_project_row(region, status, label)
        for key, (region, status, label) in LIBRARY_PROJECTS.items()
    }
    make_adoption(db.session.get(LibraryProject, rows["sy_pub"].project_id))
    db.session.commit()
    return rows


# (role, region, the projects they see)
LIBRARY_VIEWERS = [
    pytest.param("founder", HAIKOU, {"hk_pub", "prov_pub"}, id="haikou-founder"),
    pytest.param("founder", SANYA, {"sy_pub", "prov_pub"}, id="sanya-founder"),
    pytest.param("staff", HAIKOU, {"hk_pub", "hk_draft", "hk_retired", "prov_pub"}, id="haikou"),
    pytest.param("staff", SANYA, {"sy_pub", "sy_draft", "prov_pub"}, id="sanya"),
    pytest.param("staff", PROVINCE, {"prov_pub", "prov_draft", "hk_pub", "sy_pub"}, id="province"),
    pytest.param("officer", HAIKOU, {"hk_pub", "prov_pub"}, id="haikou-officer"),
    pytest.param("officer", PROVINCE, {"prov_pub", "hk_pub", "sy_pub"}, id="province-officer"),
    pytest.param("admin", PROVINCE, {"hk_pub", "sy_pub", "prov_pub", "sh_pub"}, id="admin"),
]
# Query -> whether the answer is the whole visible library (else: a part of it).
LIBRARY_QUERIES = [
    pytest.param("", True, id="all"),
    pytest.param("?q=椰林", True, id="search"),
    pytest.param("?sort=outcome", True, id="by-outcome"),
    pytest.param("?sort=investment&max_investment=50000.00", True, id="by-investment"),
    pytest.param(f"?region_code={HAIKOU}", False, id="haikou-library"),
    pytest.param(f"?region_code={SANYA}", False, id="sanya-library"),
    pytest.param("?status=draft", False, id="drafts"),
]


def _shown(text: str, rows: dict[str, ProjectRow]) -> set[str]:
    return {key for key, row in rows.items() if row.title in text}


def _check_shown(shown: set[str], visible: set[str], whole: bool, text: str, rows: Any) -> None:
    assert shown <= visible
    if whole:
        assert shown == visible
    for key in set(rows) - visible:
        for secret in rows[key].secrets:
            assert secret not in text


@pytest.mark.parametrize(("query", "whole"), LIBRARY_QUERIES)
@pytest.mark.parametrize(("role", "region", "visible"), LIBRARY_VIEWERS)
def test_the_library_page_shows_only_visible_projects(
    client: FlaskClient,
    login_as: Callable[..., Any],
    library_rows: dict[str, ProjectRow],
    query: str,
    whole: bool,
    role: str,
    region: str,
    visible: set[str],
) -> None:
    login_as(role, region)
    response = client.get(f"/library/{query}")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    _check_shown(_shown(body, library_rows), visible, whole, body, library_rows)


@pytest.mark.parametrize(("query", "whole"), LIBRARY_QUERIES)
@pytest.mark.parametrize(("role", "region", "visible"), LIBRARY_VIEWERS)
def test_the_library_export_holds_only_visible_projects(
    client: FlaskClient,
    login_as: Callable[..., Any],
    library_rows: dict[str, ProjectRow],
    query: str,
    whole: bool,
    role: str,
    region: str,
    visible: set[str],
) -> None:
    login_as(role, region)
    response = client.get(f"/library/export.xlsx{query}")
    try:
        assert response.status_code == 200
        text = _exported_text(response)
    finally:
        response.close()
    _check_shown(_shown(text, library_rows), visible, whole, text, library_rows)


@pytest.mark.parametrize(("query", "whole"), LIBRARY_QUERIES)
@pytest.mark.parametrize(("role", "region", "visible"), LIBRARY_VIEWERS)
def test_the_library_api_holds_only_visible_projects(
    api_as: Callable[..., Any],
    library_rows: dict[str, ProjectRow],
    query: str,
    whole: bool,
    role: str,
    region: str,
    visible: set[str],
) -> None:
    api = api_as(role, region)
    items = _api_items(api, f"/api/v1/library/projects{query}")
    by_id = {row.project_id: key for key, row in library_rows.items()}
    shown = {by_id[item["id"]] for item in items}
    assert len(shown) == len(items), "a project the test did not make, or one listed twice"
    if query == "?status=draft":
        # Any caller may ask for drafts; it only narrows what they already see.
        assert shown == visible & DRAFTS
    _check_shown(shown, visible, whole, str(items), library_rows)


# Detail pages name nothing the caller may not see ----------------------------------------------
def test_a_promoted_projects_origin_is_not_linked_for_those_who_cannot_see_it(
    client: FlaskClient, login_as: Callable[..., Any]
) -> None:
    origin = make_project_row(HAIKOU, "published", "海口原创")
    copy_id = make_project(
        region_code=PROVINCE, title="省级推广版·椰林小铺", promoted_from_id=origin.project_id
    ).id
    db.session.commit()
    login_as("founder", SANYA)
    response = client.get(f"/library/projects/{copy_id}")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "省级推广版" in body
    assert f'/library/projects/{origin.project_id}"' not in body
    assert origin.title not in body
    # The origin itself answers 404 to the Sanya founder.
    assert client.get(f"/library/projects/{origin.project_id}").status_code == 404


@pytest.mark.parametrize(
    ("role", "region", "sees"),
    [
        pytest.param("staff", HAIKOU, {"海口采纳人"}, id="haikou-staff"),
        pytest.param("staff", SANYA, {"三亚采纳人"}, id="sanya-staff"),
        pytest.param("staff", PROVINCE, {"海口采纳人", "三亚采纳人"}, id="province-staff"),
        pytest.param("founder", HAIKOU, set(), id="another-haikou-founder"),
    ],
)
def test_a_projects_adopters_are_shown_only_within_the_callers_area(
    client: FlaskClient, login_as: Callable[..., Any], role: str, region: str, sees: set[str]
) -> None:
    project = make_project(region_code=PROVINCE)
    for name, founder_region in (("海口采纳人", HAIKOU), ("三亚采纳人", SANYA)):
        make_adoption(project, make_founder(region_code=founder_region, name=name))
    project_id = project.id
    db.session.commit()
    login_as(role, region)
    response = client.get(f"/library/projects/{project_id}")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert {name for name in ("海口采纳人", "三亚采纳人") if name in body} == sees


# Adoption for a founder outside the caller's area ---------------------------------------------
ADOPTION_REFUSALS = [
    # (caller's role and region, the project's region, the founder's region): 422 founder_id
    pytest.param("staff", HAIKOU, HAIKOU, SANYA, id="haikou-staff-for-a-sanya-founder"),
    pytest.param("staff", HAIKOU, PROVINCE, SANYA, id="province-project-for-a-sanya-founder"),
    # Province staff may name a Sanya founder, but a Haikou project is not in their library.
    pytest.param("staff", PROVINCE, HAIKOU, SANYA, id="haikou-project-for-a-sanya-founder"),
    pytest.param("founder", HAIKOU, HAIKOU, HAIKOU, id="founder-for-another-founder"),
]


@pytest.mark.parametrize(("role", "region", "project_region", "founder_region"), ADOPTION_REFUSALS)
def test_adopting_for_a_founder_outside_the_callers_area_is_refused(
    api_as: Callable[..., Any],
    role: str,
    region: str,
    project_region: str,
    founder_region: str,
) -> None:
    project = make_project_row(project_region, "published", "采纳")
    founder_id = make_founder(region_code=founder_region, name="别处的创业者").id
    db.session.commit()
    before = _project_fingerprint(project.project_id)
    api = api_as(role, region)
    response = api.post(
        f"/api/v1/library/projects/{project.project_id}/adoptions",
        json={"founder_id": founder_id},
    )
    assert response.status_code == 422, response.get_data(as_text=True)
    assert set(response.get_json()["errors"]) == {"founder_id"}
    assert "别处的创业者" not in response.get_data(as_text=True)
    assert _project_fingerprint(project.project_id) == before


@pytest.mark.parametrize(("role", "region", "project_region", "founder_region"), ADOPTION_REFUSALS)
def test_the_adopt_page_refuses_a_founder_outside_the_callers_area(
    client: FlaskClient,
    login_as: Callable[..., Any],
    role: str,
    region: str,
    project_region: str,
    founder_region: str,
) -> None:
    project = make_project_row(project_region, "published", "采纳")
    founder_id = make_founder(region_code=founder_region, name="别处的创业者").id
    db.session.commit()
    before = _project_fingerprint(project.project_id)
    login_as(role, region)
    response = client.post(
        f"/library/projects/{project.project_id}/adopt", data={"founder_id": str(founder_id)}
    )
    assert response.status_code == 200
    assert "别处的创业者" not in response.get_data(as_text=True)
    assert _project_fingerprint(project.project_id) == before


def test_province_staff_adopt_a_province_project_for_a_sanya_founder(
    api_as: Callable[..., Any],
) -> None:
    """The control: a founder of the caller's area, a project in the founder's library."""
    project = make_project_row(PROVINCE, "published", "采纳")
    founder_id = make_founder(region_code=SANYA).id
    db.session.commit()
    response = api_as("staff", PROVINCE).post(
        f"/api/v1/library/projects/{project.project_id}/adoptions",
        json={"founder_id": founder_id},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["founder_id"] == founder_id


# Businesses, observations and incubation (SPEC §4, §8) -------------------------------------
BUSINESS_BLUEPRINTS = frozenset({"businesses", "api_businesses", "incubation", "api_incubation"})
# Every business and incubation rule with an id.
BUSINESS_ID_RULES = sorted(
    key for key in EXPECTED_MISSING if key[0].split(".")[0] in BUSINESS_BLUEPRINTS
)


@dataclass(frozen=True)
class BusinessRows:
    """One founder's business with a self-report waiting for review, living in a base of
    its region, as plain values."""

    founder_id: int
    founder_name: str
    founder_id_number: str
    founder_phone: str
    business_id: int
    business_name: str
    observation_id: int
    report_note: str
    base_id: int
    base_name: str
    residency_id: int

    @property
    def arguments(self) -> dict[str, int]:
        """URL argument name -> the id of this founder's row."""
        return {
            "business_id": self.business_id,
            "observation_id": self.observation_id,
            "base_id": self.base_id,
            "residency_id": self.residency_id,
        }

    @property
    def secrets(self) -> list[str]:
        """What an answer about these rows must never contain for someone out of scope."""
        return [
            self.founder_name,
            self.founder_id_number,
            self.founder_phone,
            self.business_name,
            self.report_note,
            self.base_name,
        ]


def make_business_rows(region_code: str, label: str) -> BusinessRows:
    """A business of `region_code` whose names carry `label`, its founder's pending
    self-report and its open residency in a base of the same region."""
    from tests.businesses.factories import make_business, make_observation
    from tests.incubation.factories import make_base, make_residency

    founder = make_founder(region_code=region_code, name=f"{label}店主")
    business = make_business(founder, name=f"{label}椰子鸡")
    report = make_observation(business, source="founder", note=f"{label}的自报说明")
    base = make_base(region_code=region_code, name=f"{label}孵化园")
    residency = make_residency(base, business)
    return BusinessRows(
        founder_id=founder.id,
        founder_name=founder.name,
        founder_id_number=founder.id_number,
        founder_phone=founder.phone,
        business_id=business.id,
        business_name=business.name,
        observation_id=report.id,
        report_note=report.note,
        base_id=base.id,
        base_name=base.name,
        residency_id=residency.id,
    )


def _business_fingerprint(rows: BusinessRows) -> tuple[Any, ...]:
    """Everything a refused request must leave alone: the business, its observations and
    their review, the base, its residencies, and the audit trail."""
    from app.businesses.models import Business, Observation
    from app.incubation.models import IncubationBase, Residency

    db.session.expire_all()
    business = db.session.get(Business, rows.business_id)
    report = db.session.get(Observation, rows.observation_id)
    base = db.session.get(IncubationBase, rows.base_id)
    residency = db.session.get(Residency, rows.residency_id)
    observations = db.session.scalar(
        select(func.count(Observation.id)).where(Observation.business_id == rows.business_id)
    )
    residents = db.session.scalar(
        select(func.count(Residency.id)).where(Residency.base_id == rows.base_id)
    )
    return (
        business.name,
        business.status,
        business.employees,
        business.updated_at,
        observations,
        report.review_state,
        report.verified,
        report.query_note,
        base.name,
        base.units,
        base.updated_at,
        residency.ends_on,
        residency.outcome,
        residents,
        db.session.scalar(
            select(func.count(AuditEntry.id)).where(
                AuditEntry.action.like("business.%")
                | AuditEntry.action.like("observation.%")
                | AuditEntry.action.like("incubation_base.%")
                | AuditEntry.action.like("residency.%")
            )
        ),
    )


def test_every_business_and_incubation_rule_with_an_id_is_checked(app: Flask) -> None:
    with_ids = {
        key
        for key, rule in _registered(app).items()
        if rule.arguments and key[0].split(".")[0] in BUSINESS_BLUEPRINTS
    }
    assert with_ids == set(BUSINESS_ID_RULES)
    arguments = {name for key in BUSINESS_ID_RULES for name in _registered(app)[key].arguments}
    assert arguments == {"business_id", "observation_id", "base_id", "residency_id"}


def _business_cases(roles: tuple[str, ...]) -> list[Any]:
    return [
        pytest.param(endpoint, method, role, id=f"{endpoint}-{method}-{role}")
        for endpoint, method in BUSINESS_ID_RULES
        for role in roles
    ]


@pytest.mark.parametrize(
    ("endpoint", "method", "role"), _business_cases(("staff", "officer", "founder"))
)
def test_businesses_and_bases_outside_the_callers_scope_look_absent(
    app: Flask,
    client: FlaskClient,
    login_as: Callable[..., Any],
    api_as: Callable[..., Any],
    endpoint: str,
    method: str,
    role: str,
) -> None:
    """Sanya staff and officers ask for Haikou rows; a Haikou founder for a neighbour's."""
    rows = make_business_rows(HAIKOU, "外区")
    region = HAIKOU if role == "founder" else SANYA
    before = _business_fingerprint(rows)
    rule = _registered(app)[(endpoint, method)]
    arguments = {name: rows.arguments[name] for name in rule.arguments}
    path, response, _ = _request(
        app, client, login_as, api_as, endpoint, method, role, arguments, region
    )
    body = response.get_data().decode("utf-8", errors="replace")
    _assert_outcome(path, response, EXPECTED_MISSING[(endpoint, method)][role], arguments)
    for secret in rows.secrets:
        assert secret not in body
    assert _business_fingerprint(rows) == before


@pytest.mark.parametrize(("endpoint", "method"), BUSINESS_ID_RULES)
@pytest.mark.parametrize("region", [HAIKOU, PROVINCE])
def test_the_same_businesses_and_bases_are_reachable_in_their_own_area(
    app: Flask,
    client: FlaskClient,
    login_as: Callable[..., Any],
    api_as: Callable[..., Any],
    endpoint: str,
    method: str,
    region: str,
) -> None:
    """The control: Haikou's and Hainan's staff get the matrix's answer for staff."""
    rows = make_business_rows(HAIKOU, "海口")
    rule = _registered(app)[(endpoint, method)]
    arguments = {name: rows.arguments[name] for name in rule.arguments}
    path, response, _ = _request(
        app, client, login_as, api_as, endpoint, method, "staff", arguments, region
    )
    _assert_outcome(path, response, EXPECTED[(endpoint, method)]["staff"], arguments)


def _valid_observation() -> dict[str, Any]:
    return {"status": "suspended", "employees": 1, "monthly_revenue": "100.00", "note": "越权"}


@pytest.mark.parametrize("region", [SANYA, PROVINCE])
def test_real_changes_to_another_citys_business_and_base(
    api_as: Callable[..., Any], region: str
) -> None:
    """Valid bodies, not only empty ones: Sanya's staff change nothing of Haikou's rows
    (404); the province's staff may (the control)."""
    rows = make_business_rows(HAIKOU, "海口")
    newcomer = make_business_rows(HAIKOU, "新来")
    db.session.commit()
    before = _business_fingerprint(rows)
    api = api_as("staff", region)
    calls = [
        ("patch", f"/api/v1/businesses/{rows.business_id}", {"name": "改名"}, 200),
        (
            "post",
            f"/api/v1/businesses/{rows.business_id}/observations",
            _valid_observation(),
            201,
        ),
        ("post", f"/api/v1/observations/{rows.observation_id}/query", {"note": "？"}, 200),
        ("post", f"/api/v1/observations/{rows.observation_id}/verify", None, 200),
        (
            "post",
            f"/api/v1/incubation/bases/{rows.base_id}/residencies",
            {"business_id": newcomer.business_id, "unit_label": "Z-9", "starts_on": "2026-04-01"},
            409,  # the newcomer already lives in its own base
        ),
        (
            "post",
            f"/api/v1/residencies/{rows.residency_id}/end",
            {"ends_on": "2026-06-30", "outcome": "graduated"},
            200,
        ),
    ]
    for verb, path, body, allowed in calls:
        response = getattr(api, verb)(path, json=body)
        expected = allowed if region == PROVINCE else 404
        assert response.status_code == expected, (path, response.get_data(as_text=True))
        if region != PROVINCE:
            for secret in rows.secrets:
                assert secret not in response.get_data(as_text=True)
    if region != PROVINCE:
        assert _business_fingerprint(rows) == before
    else:
        assert _business_fingerprint(rows) != before


def test_real_changes_through_the_pages_of_another_city_change_nothing(
    client: FlaskClient, login_as: Callable[..., Any]
) -> None:
    rows = make_business_rows(HAIKOU, "海口")
    newcomer = make_business_rows(SANYA, "三亚")
    db.session.commit()
    before = _business_fingerprint(rows)
    login_as("staff", SANYA)
    calls = [
        (f"/businesses/{rows.business_id}/edit", {"name": "改名", "industry": "retail"}),
        (f"/businesses/{rows.business_id}/observations", {"status": "suspended"}),
        (f"/businesses/reports/{rows.observation_id}/verify", {}),
        (f"/businesses/reports/{rows.observation_id}/query", {"note": "？"}),
        (f"/incubation/bases/{rows.base_id}/edit", {"name": "改名", "units": "5"}),
        (
            f"/incubation/bases/{rows.base_id}/residencies",
            {
                "business_id": str(newcomer.business_id),
                "unit_label": "Z-9",
                "starts_on": "2026-04-01",
            },
        ),
        (
            f"/incubation/residencies/{rows.residency_id}/end",
            {"ends_on": "2026-06-30", "outcome": "closed"},
        ),
    ]
    for path, data in calls:
        response = client.post(path, data=data)
        assert response.status_code == 404, path
        for secret in rows.secrets:
            assert secret not in response.get_data(as_text=True)
    assert _business_fingerprint(rows) == before


# Founders see and report on their own businesses only ----------------------------------------
def test_a_founder_reaches_only_their_own_businesses(
    client: FlaskClient, api_as: Callable[..., Any]
) -> None:
    from tests.businesses.factories import make_business

    neighbour = make_business_rows(HAIKOU, "邻居")
    db.session.commit()
    before = _business_fingerprint(neighbour)
    api = api_as("founder", HAIKOU)
    own = make_business(db.session.get(Founder, api.user.founder_id), name="我自己的店")
    own_id = own.id
    db.session.commit()

    other = f"/api/v1/businesses/{neighbour.business_id}"
    assert api.get(other).status_code == 404
    response = api.post(f"{other}/observations", json=_valid_observation())
    assert response.status_code == 404, response.get_data(as_text=True)
    items = _api_items(api, "/api/v1/businesses")
    assert [item["id"] for item in items] == [own_id]
    # Filters cannot widen it: naming the neighbour or the region changes nothing.
    for query in (f"?founder_id={neighbour.founder_id}", f"?region_code={HAIKOU}", "?q=邻居"):
        assert neighbour.business_id not in {
            item["id"] for item in _api_items(api, f"/api/v1/businesses{query}")
        }
    assert api.get(f"/api/v1/businesses/{own_id}").status_code == 200
    # The same on the founder's phone page, with the token's account signed in.
    token_user = api.user
    client.post("/login", data={"username": token_user.username, "password": DEFAULT_PASSWORD})
    page = f"/me/businesses/{neighbour.business_id}"
    assert client.get(page).status_code == 404
    response = client.post(page, data={"status": "suspended", "employees": "1"})
    assert response.status_code == 404
    for secret in neighbour.secrets:
        assert secret not in response.get_data(as_text=True)
    assert client.get(f"/me/businesses/{own_id}").status_code == 200
    assert _business_fingerprint(neighbour) == before


def test_an_officer_reads_businesses_but_writes_nothing(
    client: FlaskClient, login_as: Callable[..., Any], api_as: Callable[..., Any]
) -> None:
    rows = make_business_rows(HAIKOU, "海口")
    founder_id = make_founder(region_code=HAIKOU).id
    db.session.commit()
    before = _business_fingerprint(rows)
    businesses = _count_businesses()
    api = api_as("officer", HAIKOU)
    answer = api.get(f"/api/v1/businesses/{rows.business_id}")
    assert answer.status_code == 200
    assert answer.get_json()["name"] == rows.business_name
    assert rows.business_id in {item["id"] for item in _api_items(api, "/api/v1/businesses")}
    writes = [
        ("post", "/api/v1/businesses", {"founder_id": founder_id, "name": "x"}),
        ("patch", f"/api/v1/businesses/{rows.business_id}", {"name": "改名"}),
        ("post", f"/api/v1/businesses/{rows.business_id}/observations", _valid_observation()),
        ("post", f"/api/v1/observations/{rows.observation_id}/verify", None),
        ("post", f"/api/v1/observations/{rows.observation_id}/query", {"note": "？"}),
        ("get", "/api/v1/observations/reports", None),
        ("get", f"/api/v1/incubation/bases/{rows.base_id}", None),
        ("post", f"/api/v1/residencies/{rows.residency_id}/end", {"outcome": "left"}),
    ]
    for verb, path, body in writes:
        kwargs = {} if verb == "get" else {"json": body}
        response = getattr(api, verb)(path, **kwargs)
        assert response.status_code == 403, (verb, path, response.get_data(as_text=True))
    login_as("officer", HAIKOU)
    page = client.get(f"/businesses/{rows.business_id}")
    assert page.status_code == 200
    assert rows.business_name in page.get_data(as_text=True)
    for path, data in (
        (f"/businesses/{rows.business_id}/observations", {"status": "suspended"}),
        (f"/businesses/{rows.business_id}/edit", {"name": "改名"}),
        (f"/businesses/reports/{rows.observation_id}/verify", {}),
    ):
        assert client.post(path, data=data).status_code == 403, path
    assert _business_fingerprint(rows) == before
    assert _count_businesses() == businesses


def _count_businesses() -> int:
    from app.businesses.models import Business

    return _count(Business)


# Lists, the review queue and its counts ---------------------------------------------------------
@pytest.fixture
def business_cities(db_session: Any) -> tuple[BusinessRows, BusinessRows]:
    """Haikou's and Sanya's businesses, reports and bases, committed for the requests."""
    rows = make_business_rows(HAIKOU, "海口"), make_business_rows(SANYA, "三亚")
    db.session.commit()
    return rows


BUSINESS_PAGES = [
    ("/businesses", "business_name"),
    (f"/businesses?region_code={SANYA}", "business_name"),
    ("/businesses?q=三亚", "business_name"),
    ("/businesses/reports", "business_name"),
    ("/incubation/", "base_name"),
    (f"/incubation/?region_code={SANYA}", "base_name"),
    ("/incubation/occupancy", None),
]


@pytest.mark.parametrize(("path", "field"), BUSINESS_PAGES)
@pytest.mark.parametrize(("region", "sees_haikou", "sees_sanya"), VIEWERS)
def test_business_and_incubation_pages_show_only_rows_in_scope(
    client: FlaskClient,
    login_as: Callable[..., Any],
    business_cities: tuple[BusinessRows, BusinessRows],
    path: str,
    field: str | None,
    region: str,
    sees_haikou: bool,
    sees_sanya: bool,
) -> None:
    haikou, sanya = business_cities
    login_as("staff", region)
    response = client.get(path)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    if field is not None:
        assert (getattr(sanya, field) in body) is sees_sanya
        if _filtered_to(path) is None:
            assert (getattr(haikou, field) in body) is sees_haikou
    else:  # the occupancy table names regions, one line each
        assert ("三亚市" in body) is sees_sanya
        assert ("海口市" in body) is sees_haikou
    if not sees_sanya:
        for secret in sanya.secrets:
            assert secret not in body


BUSINESS_API_LISTS = [
    ("/api/v1/businesses", "business_id"),
    (f"/api/v1/businesses?region_code={SANYA}", "business_id"),
    ("/api/v1/businesses?q=三亚", "business_id"),
    ("/api/v1/businesses?founder_id={sanya_founder}", "business_id"),
    ("/api/v1/observations/reports", "observation_id"),
    ("/api/v1/incubation/bases", "base_id"),
    (f"/api/v1/incubation/bases?region_code={SANYA}", "base_id"),
]


@pytest.mark.parametrize(("path", "field"), BUSINESS_API_LISTS)
@pytest.mark.parametrize(("region", "sees_haikou", "sees_sanya"), VIEWERS)
def test_business_and_incubation_api_lists_hold_only_rows_in_scope(
    api_as: Callable[..., Any],
    business_cities: tuple[BusinessRows, BusinessRows],
    path: str,
    field: str,
    region: str,
    sees_haikou: bool,
    sees_sanya: bool,
) -> None:
    haikou, sanya = business_cities
    api = api_as("staff", region)
    items = _api_items(api, path.format(sanya_founder=sanya.founder_id))
    ids = {item["id"] for item in items}
    assert (getattr(sanya, field) in ids) is sees_sanya
    if "三亚" not in path and SANYA not in path and "founder_id" not in path:
        assert (getattr(haikou, field) in ids) is sees_haikou
    allowed = {HAIKOU: {HAIKOU}, SANYA: {SANYA}, PROVINCE: {PROVINCE, HAIKOU, SANYA}}[region]
    assert {item["region_code"] for item in items if "region_code" in item} <= allowed
    if not sees_sanya:
        for secret in sanya.secrets:
            assert secret not in str(items)


@pytest.mark.parametrize(("region", "sees_haikou", "sees_sanya"), VIEWERS)
@pytest.mark.parametrize("state", ["pending", "queried", "verified"])
def test_the_review_queue_and_its_count_hold_only_the_areas_reports(
    client: FlaskClient,
    login_as: Callable[..., Any],
    api_as: Callable[..., Any],
    business_cities: tuple[BusinessRows, BusinessRows],
    state: str,
    region: str,
    sees_haikou: bool,
    sees_sanya: bool,
) -> None:
    """Every tab of the queue, the API's total and the badge on the business list."""
    from app.businesses.models import Observation

    haikou, sanya = business_cities
    for rows in (haikou, sanya):  # each city's report is in the state asked for
        report = db.session.get(Observation, rows.observation_id)
        report.review_state = state
        report.verified = state == "verified"
    db.session.commit()
    expected = int(sees_haikou) + int(sees_sanya)
    api = api_as("staff", region)
    items = _api_items(api, f"/api/v1/observations/reports?state={state}")
    ids = {item["id"] for item in items}
    assert ids == {
        rows.observation_id for rows, seen in ((haikou, sees_haikou), (sanya, sees_sanya)) if seen
    }
    login_as("staff", region)
    page = client.get(f"/businesses/reports?state={state}").get_data(as_text=True)
    assert page.count('data-testid="report-row"') == expected
    assert (sanya.business_name in page) is sees_sanya
    listing = client.get("/businesses").get_data(as_text=True)
    badge = listing.split('data-testid="pending-count">', 1)[1].split("<", 1)[0]
    assert int(badge) == (expected if state == "pending" else 0)


# Writes naming a row of another area in the body -------------------------------------------------
def test_writes_naming_another_citys_rows_in_the_body_are_refused(
    api_as: Callable[..., Any], business_cities: tuple[BusinessRows, BusinessRows]
) -> None:
    from app.incubation.models import IncubationBase, Residency
    from tests.businesses.factories import business_body
    from tests.incubation.factories import base_body

    haikou, sanya = business_cities
    api = api_as("staff", HAIKOU)
    counts = (_count_businesses(), _count(IncubationBase), _count(Residency))
    refusals = [
        ("/api/v1/businesses", business_body(sanya.founder_id), "founder_id"),
        ("/api/v1/businesses", business_body(haikou.founder_id, region_code=SANYA), "region_code"),
        ("/api/v1/incubation/bases", base_body(region_code=SANYA), "region_code"),
        (
            f"/api/v1/incubation/bases/{haikou.base_id}/residencies",
            {"business_id": sanya.business_id, "unit_label": "Z-1", "starts_on": "2026-04-01"},
            "business_id",
        ),
    ]
    for path, body, field in refusals:
        response = api.post(path, json=body)
        assert response.status_code == 422, (path, response.get_data(as_text=True))
        assert field in response.get_json()["errors"], path
        for secret in sanya.secrets:
            assert secret not in response.get_data(as_text=True)
    moved = api.patch(f"/api/v1/businesses/{haikou.business_id}", json={"region_code": SANYA})
    assert moved.status_code == 422, moved.get_data(as_text=True)
    assert "region_code" in moved.get_json()["errors"]
    assert (_count_businesses(), _count(IncubationBase), _count(Residency)) == counts


def test_a_base_hosts_only_businesses_of_its_own_region(api_as: Callable[..., Any]) -> None:
    """Province staff cannot move a Sanya business into a Haikou base, so Haikou's staff
    never see another city's business through their base (D31)."""
    from tests.businesses.factories import make_business
    from tests.incubation.factories import make_base

    base_id = make_base(region_code=HAIKOU, name="海口孵化园").id
    founder = make_founder(region_code=SANYA, name="三亚老板")
    business_id = make_business(founder, name="三亚椰子鸡").id
    db.session.commit()
    moved_in = api_as("staff", PROVINCE).post(
        f"/api/v1/incubation/bases/{base_id}/residencies",
        json={"business_id": business_id, "unit_label": "A-1", "starts_on": "2026-04-01"},
    )
    assert moved_in.status_code == 422, moved_in.get_data(as_text=True)
    assert "business_id" in moved_in.get_json()["errors"]
    assert _count(Residency) == 0


def test_a_city_cannot_close_another_citys_business_through_its_base(
    api_as: Callable[..., Any],
) -> None:
    """A Haikou business moved to Sanya while living in a Haikou base: Haikou's staff may
    end the residency, but not record a closure of a business outside their area."""
    from app.businesses.models import Business, Observation
    from tests.businesses.factories import make_business
    from tests.incubation.factories import make_base, make_residency

    base = make_base(region_code=HAIKOU, name="海口孵化园")
    business = make_business(make_founder(region_code=HAIKOU), name="椰子鸡")
    residency_id = make_residency(base, business=business, starts_on=date(2026, 4, 1)).id
    business_id = business.id
    business.region_code = SANYA  # moved since (province staff may do this)
    db.session.commit()
    ended = api_as("staff", HAIKOU).post(
        f"/api/v1/residencies/{residency_id}/end",
        json={"ends_on": "2026-06-01", "outcome": "closed"},
    )
    assert ended.status_code == 422, ended.get_data(as_text=True)
    assert "outcome" in ended.get_json()["errors"]
    db.session.expire_all()
    closures = db.session.scalar(
        select(func.count(Observation.id)).where(Observation.business_id == business_id)
    )
    assert (db.session.get(Business, business_id).status, closures) == ("operating", 0)
    assert db.session.get(Residency, residency_id).ends_on is None


# Loans, guarantee funds, loan policies and integrity files (SPEC §4, §9, §10) ---------------
LOAN_BLUEPRINTS = frozenset(
    {
        "loans",
        "api_loans",
        "loan_policies",
        "api_loan_policies",
        "integrity",
        "api_integrity",
        "loan_statements",
        "api_loan_statements",
    }
)
# Every loan, fund, policy and integrity rule with an id.
LOAN_ID_RULES = sorted(key for key in EXPECTED_MISSING if key[0].split(".")[0] in LOAN_BLUEPRINTS)
REPAID_ON = date(2026, 2, 27)  # the first installment (due 2026-02-28), paid on time
SWEPT_ON = date(2026, 4, 15)  # the second installment (due 2026-03-31) is 15 days overdue
LOAN_AUDIT = ("loan%", "repayment.%", "fund.%", "integrity.%")


@dataclass(frozen=True)
class LoanRows:
    """One city's loan rows, as plain values: a borrower's active loan (disbursed on
    2026-01-31, its first installment paid on time) with a named guarantor, another
    founder's application waiting for review, the borrower's integrity file with an
    officer's event and a correction waiting for a second officer, and the city's own
    guarantee fund (the loans themselves are backed by the province's)."""

    region_code: str
    founder_id: int
    founder_name: str
    founder_id_number: str
    founder_phone: str
    loan_id: int
    purpose: str
    guarantor_name: str
    repayment_id: int
    application_id: int
    applicant_name: str
    event_note: str
    correction_id: int
    correction_reason: str

    @property
    def arguments(self) -> dict[str, Any]:
        """URL argument name -> this city's row (a kind names no row of any city)."""
        return {
            "loan_id": self.loan_id,
            "repayment_id": self.repayment_id,
            "founder_id": self.founder_id,
            "correction_id": self.correction_id,
            "region_code": self.region_code,
            "kind": "paid_late",
        }

    @property
    def secrets(self) -> list[str]:
        """What an answer about these rows must never contain for someone out of scope."""
        return [
            self.founder_name,
            self.founder_id_number,
            self.founder_phone,
            self.purpose,
            self.guarantor_name,
            self.applicant_name,
            self.event_note,
            self.correction_reason,
        ]


def make_loan_rows(region_code: str, label: str) -> LoanRows:
    """Loan rows of `region_code` whose names carry `label` (flushed, not committed)."""
    from app.loans.operations import post_repayment
    from tests.integrity.factories import make_correction, make_event
    from tests.loans.factories import (
        fund_region,
        guarantor_body,
        make_loan,
        make_trained_founder,
        officers,
    )

    reviewer, approver = officers(region_code)
    founder = make_trained_founder(region_code=region_code, name=f"{label}借款人")
    loan = make_loan(
        founder=founder,
        region_code=region_code,
        reviewer=reviewer,
        approver=approver,
        purpose=f"{label}的贷款用途：购置冷柜",
        guarantors=[guarantor_body(name=f"{label}担保人")],
    )
    first = loan.installments[0]
    posting = post_repayment(
        approver,
        loan.id,
        {"paid_on": REPAID_ON, "amount": first.amount_owed, "reference": f"SCOPE-{loan.id}-1"},
        as_of=REPAID_ON,
    )
    applicant = make_trained_founder(region_code=region_code, name=f"{label}申请人")
    application = make_loan(
        founder=applicant,
        region_code=region_code,
        status="submitted",
        reviewer=reviewer,
        approver=approver,
    )
    event = make_event(
        founder,
        "integrity_education",
        source="officer",
        note=f"{label}参加了借款人诚信教育",
        recorded_by_id=reviewer.id,
    )
    correction = make_correction(
        founder, reviewer, reason=f"{label}的更正理由：银行已出具证明", points=5
    )
    fund_region(region_code, amount="500000.00")  # the city's own fund
    return LoanRows(
        region_code=region_code,
        founder_id=founder.id,
        founder_name=founder.name,
        founder_id_number=founder.id_number,
        founder_phone=founder.phone,
        loan_id=loan.id,
        purpose=loan.purpose,
        guarantor_name=f"{label}担保人",
        repayment_id=posting.repayment.id,
        application_id=application.id,
        applicant_name=applicant.name,
        event_note=event.note,
        correction_id=correction.id,
        correction_reason=correction.reason,
    )


def _count_where(model: Any, *conditions: Any) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0)


def _loan_fingerprint(rows: LoanRows) -> tuple[Any, ...]:
    """Everything a refused request must leave alone: both loans, their payments, the
    funds, the borrower's file and correction, the policies, the points table and the
    audit trail of loans, repayments, funds and integrity."""
    from app.integrity.models import IntegrityCorrection, IntegrityEvent, IntegrityPoints
    from app.loans.models import FundEntry, Loan, LoanInstallment, LoanPolicy, Repayment

    db.session.expire_all()
    loan = db.session.get(Loan, rows.loan_id)
    application = db.session.get(Loan, rows.application_id)
    correction = db.session.get(IntegrityCorrection, rows.correction_id)
    paid = db.session.execute(
        select(
            func.sum(LoanInstallment.paid_principal), func.sum(LoanInstallment.paid_interest)
        ).where(LoanInstallment.loan_id == rows.loan_id)
    ).one()
    audit = select(func.count(AuditEntry.id)).where(
        or_(*(AuditEntry.action.like(pattern) for pattern in LOAN_AUDIT))
    )
    return (
        loan.status,
        loan.outstanding_principal,
        loan.compensated_amount,
        loan.recovered_amount,
        loan.updated_at,
        tuple(paid),
        application.status,
        application.reviewed_by_id,
        application.updated_at,
        _count_where(Repayment, Repayment.loan_id.in_([rows.loan_id, rows.application_id])),
        _count(FundEntry),
        _count_where(IntegrityEvent, IntegrityEvent.founder_id == rows.founder_id),
        correction.state,
        correction.decided_by_id,
        correction.event_id,
        _count_where(IntegrityCorrection, IntegrityCorrection.founder_id == rows.founder_id),
        _count(LoanPolicy),
        _count(IntegrityPoints),
        db.session.scalar(audit),
    )


def test_every_loan_and_integrity_rule_with_an_id_is_checked(app: Flask) -> None:
    registered = _registered(app)
    with_ids = {
        key
        for key, rule in registered.items()
        if rule.arguments and key[0].split(".")[0] in LOAN_BLUEPRINTS
    }
    assert with_ids == set(LOAN_ID_RULES)
    arguments = {name for key in LOAN_ID_RULES for name in registered[key].arguments}
    assert arguments == {
        "loan_id",
        "repayment_id",
        "founder_id",
        "correction_id",
        "region_code",
        "kind",
    }
    # A new loan or integrity blueprint joins LOAN_BLUEPRINTS, or it goes unchecked.
    features = {
        key[0].split(".")[0]
        for key in registered
        if "loan" in key[0].split(".")[0] or "integrity" in key[0].split(".")[0]
    }
    assert features <= LOAN_BLUEPRINTS


def _loan_cases(roles: tuple[str, ...]) -> list[Any]:
    return [
        pytest.param(endpoint, method, role, id=f"{endpoint}-{method}-{role}")
        for endpoint, method in LOAN_ID_RULES
        for role in roles
    ]


@pytest.mark.parametrize(
    ("endpoint", "method", "role"), _loan_cases(("staff", "officer", "founder"))
)
def test_loans_and_integrity_files_outside_the_callers_scope_look_absent(
    app: Flask,
    client: FlaskClient,
    login_as: Callable[..., Any],
    api_as: Callable[..., Any],
    endpoint: str,
    method: str,
    role: str,
) -> None:
    """Sanya staff and officers ask for Haikou's loan, repayment, fund, policy, file and
    correction; a Haikou founder for a neighbour's loan and file."""
    rows = make_loan_rows(HAIKOU, "外区")
    region = HAIKOU if role == "founder" else SANYA
    before = _loan_fingerprint(rows)
    rule = _registered(app)[(endpoint, method)]
    arguments = {name: rows.arguments[name] for name in rule.arguments}
    path, response, _ = _request(
        app, client, login_as, api_as, endpoint, method, role, arguments, region
    )
    body = response.get_data().decode("utf-8", errors="replace")
    _assert_outcome(path, response, EXPECTED_MISSING[(endpoint, method)][role], arguments)
    for secret in rows.secrets:
        assert secret not in body
    assert _loan_fingerprint(rows) == before


@pytest.mark.parametrize(("endpoint", "method"), LOAN_ID_RULES)
@pytest.mark.parametrize("region", [HAIKOU, PROVINCE])
def test_the_same_loans_and_files_are_reachable_in_their_own_area(
    app: Flask,
    client: FlaskClient,
    login_as: Callable[..., Any],
    api_as: Callable[..., Any],
    endpoint: str,
    method: str,
    region: str,
) -> None:
    """The control: Haikou's and Hainan's officers get the matrix's answer for officers."""
    rows = make_loan_rows(HAIKOU, "海口")
    rule = _registered(app)[(endpoint, method)]
    arguments = {name: rows.arguments[name] for name in rule.arguments}
    path, response, _ = _request(
        app, client, login_as, api_as, endpoint, method, "officer", arguments, region
    )
    _assert_outcome(path, response, EXPECTED[(endpoint, method)]["officer"], arguments)


@pytest.mark.parametrize("region", [SANYA, PROVINCE])
def test_real_changes_to_another_citys_loans_and_files_through_the_api(
    api_as: Callable[..., Any], region: str
) -> None:
    """Valid bodies, not only empty ones: Sanya's officers change nothing of Haikou's loans,
    payments and files (404); the province's officers may (the control)."""
    rows = make_loan_rows(HAIKOU, "海口")
    db.session.commit()
    before = _loan_fingerprint(rows)
    api = api_as("officer", region)
    calls = [
        (
            f"/api/v1/loans/{rows.application_id}/review",
            {"decision": "approve", "note": "材料齐全"},
            200,
        ),
        (
            f"/api/v1/loans/{rows.loan_id}/repayments",
            {"paid_on": "2026-03-30", "amount": "100.00", "reference": "SCOPE-REAL-1"},
            201,
        ),
        (f"/api/v1/repayments/{rows.repayment_id}/reverse", {"reason": "银行退回"}, 201),
        # Not defaulted, not compensated: the province's officers get the state's 409.
        (
            f"/api/v1/loans/{rows.loan_id}/compensate",
            {"date": "2026-11-01", "reference": "COMP-1"},
            409,
        ),
        (
            f"/api/v1/loans/{rows.loan_id}/recoveries",
            {"date": "2026-11-01", "amount": "100.00", "reference": "REC-1", "source": "borrower"},
            409,
        ),
        (
            f"/api/v1/loans/{rows.loan_id}/write-off",
            {"date": "2026-11-01", "reason": "无法收回"},
            409,
        ),
        (
            f"/api/v1/founders/{rows.founder_id}/integrity-events",
            {"kind": "false_information", "occurred_on": "2026-11-01", "note": "提供虚假材料"},
            201,
        ),
        (
            f"/api/v1/founders/{rows.founder_id}/integrity-events",
            {"kind": "correction", "points": -10, "note": "越权更正"},
            202,
        ),
        (f"/api/v1/integrity/corrections/{rows.correction_id}/reject", {"note": "证明不足"}, 200),
        (f"/api/v1/integrity/corrections/{rows.correction_id}/approve", {}, 409),
    ]
    for path, body, allowed in calls:
        response = api.post(path, json=body)
        expected = allowed if region == PROVINCE else 404
        assert response.status_code == expected, (path, response.get_data(as_text=True))
        if region != PROVINCE:
            for secret in rows.secrets:
                assert secret not in response.get_data(as_text=True)
    for path in (
        f"/api/v1/loans/{rows.loan_id}",
        f"/api/v1/founders/{rows.founder_id}/integrity",
        f"/api/v1/funds/{HAIKOU}",
        f"/api/v1/loan-policies/{HAIKOU}",
    ):
        response = api.get(path)
        assert response.status_code == (200 if region == PROVINCE else 404), path
    if region != PROVINCE:
        assert _loan_fingerprint(rows) == before
    else:
        assert _loan_fingerprint(rows) != before


def test_real_changes_through_the_loan_and_integrity_pages_of_another_city_change_nothing(
    client: FlaskClient, login_as: Callable[..., Any]
) -> None:
    rows = make_loan_rows(HAIKOU, "海口")
    db.session.commit()
    before = _loan_fingerprint(rows)
    login_as("officer", SANYA)
    calls = [
        (f"/loans/{rows.application_id}/review", {"review-decision": "approve"}),
        (f"/loans/{rows.application_id}/approve", {"approve-decision": "approve"}),
        (
            f"/loans/{rows.loan_id}/repayments",
            {
                "repayment-paid_on": "2026-03-30",
                "repayment-amount": "100.00",
                "repayment-reference": "SCOPE-PAGE-1",
            },
        ),
        (f"/loans/repayments/{rows.repayment_id}/reverse", {"reason": "银行退回"}),
        (
            f"/loans/{rows.loan_id}/compensate",
            {"compensate-date": "2026-11-01", "compensate-reference": "COMP-1"},
        ),
        (
            f"/loans/{rows.loan_id}/write-off",
            {"write_off-date": "2026-11-01", "write_off-reason": "无法收回"},
        ),
        (
            f"/integrity/founders/{rows.founder_id}/events",
            {"kind": "fund_misuse", "occurred_on": "2026-11-01", "note": "挪用贷款"},
        ),
        (
            f"/integrity/founders/{rows.founder_id}/corrections",
            {"points": "10", "note": "越权更正"},
        ),
        (f"/integrity/corrections/{rows.correction_id}/approve", {}),
        (f"/integrity/corrections/{rows.correction_id}/reject", {"note": "证明不足"}),
    ]
    for path, data in calls:
        response = client.post(path, data=data)
        assert response.status_code == 404, path
        for secret in rows.secrets:
            assert secret not in response.get_data(as_text=True)
    for path in (
        f"/loans/{rows.loan_id}",
        f"/loans/funds/{HAIKOU}",
        f"/loans/funds/{HAIKOU}?tab=loans",
        f"/integrity/founders/{rows.founder_id}",
    ):
        assert client.get(path).status_code == 404, path
    assert _loan_fingerprint(rows) == before


def test_applying_for_a_founder_of_another_city_is_refused(
    client: FlaskClient, login_as: Callable[..., Any], api_as: Callable[..., Any]
) -> None:
    from app.loans.models import Loan
    from tests.loans.factories import application_body, make_trained_founder

    founder = make_trained_founder(region_code=HAIKOU, name="海口的创业者")
    body = application_body(founder) | {"amount": "100000.00"}
    founder_id, name = founder.id, founder.name
    db.session.commit()
    loans = _count(Loan)
    response = api_as("officer", SANYA).post("/api/v1/loans", json=body)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert "founder_id" in response.get_json()["errors"]
    assert name not in response.get_data(as_text=True)
    login_as("officer", SANYA)
    assert client.get(f"/loans/new?founder_id={founder_id}").status_code == 404
    page = client.post(
        "/loans/new",
        data={
            "founder_id": str(founder_id),
            "amount": "100000.00",
            "term_months": "12",
            "repayment_method": "equal_installment",
            "purpose": "购置设备",
        },
    )
    assert page.status_code == 422
    assert name not in page.get_data(as_text=True)
    assert _count(Loan) == loans


def test_a_statement_naming_another_citys_loan_posts_nothing(
    api_as: Callable[..., Any],
) -> None:
    """Rows naming a Haikou loan, by its id or its borrower's ID number, are "no such
    loan" to a Sanya officer: reported as errors, nothing posted."""
    rows = make_loan_rows(HAIKOU, "海口")
    db.session.commit()
    before = _loan_fingerprint(rows)
    lines = [
        "交易流水号,贷款编号,身份证号,还款日期,金额",
        f"SY-1,{rows.loan_id},,2026-03-30,100.00",
        f"SY-2,,{rows.founder_id_number},2026-03-30,100.00",
    ]
    api = api_as("officer", SANYA)
    response = api.post(
        "/api/v1/imports/repayments",
        data={"file": (io.BytesIO("\n".join(lines).encode()), "statement.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    report = response.get_json()
    assert (report["posted"], report["already_posted"], report["errors"]) == (0, 0, 2)
    assert {row["outcome"] for row in report["rows"]} == {"error"}
    body = response.get_data(as_text=True)
    for secret in rows.secrets:
        assert secret not in body
    assert _loan_fingerprint(rows)[:-1] == before[:-1]  # the import itself is audited


# Funds and policies: admins every region; officers their area and their own province ----------
FUND_READERS = [
    pytest.param("officer", SANYA, HAIKOU, 404, id="sanya-officer-haikou-fund"),
    pytest.param("officer", HAIKOU, SANYA, 404, id="haikou-officer-sanya-fund"),
    pytest.param("officer", SANYA, SANYA, 200, id="sanya-officer-own-fund"),
    pytest.param("officer", SANYA, PROVINCE, 200, id="sanya-officer-own-province"),
    pytest.param("officer", PROVINCE, HAIKOU, 200, id="province-officer-haikou"),
    pytest.param("officer", PROVINCE, SANYA, 200, id="province-officer-sanya"),
    pytest.param("officer", "310000", PROVINCE, 404, id="shanghai-officer-hainan"),
    pytest.param("officer", SHANGHAI_DISTRICT, HAIKOU, 404, id="yangpu-officer-haikou"),
    pytest.param("officer", HAIKOU, "310000", 404, id="haikou-officer-shanghai"),
    pytest.param("admin", PROVINCE, HAIKOU, 200, id="admin-haikou"),
    pytest.param("admin", PROVINCE, SHANGHAI_DISTRICT, 200, id="admin-yangpu"),
]


@pytest.mark.parametrize(("role", "region", "fund_region", "expected"), FUND_READERS)
def test_funds_and_policies_are_read_only_within_reach(
    client: FlaskClient,
    login_as: Callable[..., Any],
    api_as: Callable[..., Any],
    role: str,
    region: str,
    fund_region: str,
    expected: int,
) -> None:
    rows = make_loan_rows(HAIKOU, "海口")
    db.session.commit()
    api = api_as(role, region)
    for path in (f"/api/v1/funds/{fund_region}", f"/api/v1/loan-policies/{fund_region}"):
        response = api.get(path)
        assert response.status_code == expected, (path, response.get_data(as_text=True))
        if expected == 200:  # a city without a fund of its own answers its province's
            answer = response.get_json()
            assert answer.get("requested_region_code", answer["region_code"]) == fund_region
    login_as(role, region)
    for path in (f"/loans/funds/{fund_region}", f"/loans/funds/{fund_region}?tab=loans"):
        response = client.get(path)
        assert response.status_code == expected, path
        body = response.get_data(as_text=True)
        if region not in (HAIKOU, PROVINCE):
            for secret in rows.secrets:
                assert secret not in body


@pytest.mark.parametrize(("region", "fund"), [(HAIKOU, HAIKOU), (SANYA, PROVINCE)])
def test_an_officer_goes_to_the_fund_backing_their_city(
    client: FlaskClient, login_as: Callable[..., Any], region: str, fund: str
) -> None:
    """Haikou keeps a fund of its own; Sanya's loans fall back to the province's."""
    from tests.loans.factories import fund_region

    fund_region(PROVINCE)
    fund_region(HAIKOU, amount="500000.00")
    db.session.commit()
    login_as("officer", region)
    response = client.get("/loans/funds")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/loans/funds/{fund}")


# Founders see their own loans and file only ------------------------------------------------
def test_a_founder_reaches_only_their_own_loans_and_integrity_file(
    client: FlaskClient, api_as: Callable[..., Any]
) -> None:
    from tests.loans.factories import make_loan, pass_training

    neighbour = make_loan_rows(HAIKOU, "邻居")
    db.session.commit()
    api = api_as("founder", HAIKOU)
    founder = pass_training(db.session.get(Founder, api.user.founder_id))
    own_id = make_loan(founder=founder, purpose="我自己的贷款").id
    db.session.commit()
    before = _loan_fingerprint(neighbour)

    for path in (
        f"/api/v1/loans/{neighbour.loan_id}",
        f"/api/v1/loans/{neighbour.application_id}",
        f"/api/v1/founders/{neighbour.founder_id}/integrity",
    ):
        response = api.get(path)
        assert response.status_code == 404, path
        for secret in neighbour.secrets:
            assert secret not in response.get_data(as_text=True)
    assert [item["id"] for item in _api_items(api, "/api/v1/loans")] == [own_id]
    # Filters cannot widen it: naming the neighbour, the region or a status changes nothing.
    for query in (
        f"?founder_id={neighbour.founder_id}",
        f"?region_code={HAIKOU}",
        "?status=submitted",
        "?bucket=current",
    ):
        items = _api_items(api, f"/api/v1/loans{query}")
        assert {item["id"] for item in items} <= {own_id}, query
    own = api.get(f"/api/v1/loans/{own_id}")
    assert own.status_code == 200
    assert own.get_json()["purpose"] == "我自己的贷款"
    own_file = api.get(f"/api/v1/founders/{api.user.founder_id}/integrity")
    assert own_file.status_code == 200
    assert own_file.get_json()["pending_corrections"] == []
    # The same on the founder's phone pages.
    client.post("/login", data={"username": api.user.username, "password": DEFAULT_PASSWORD})
    for path in (
        f"/loans/me/{neighbour.loan_id}",
        f"/loans/me/{neighbour.application_id}",
    ):
        assert client.get(path).status_code == 404, path
    for path in (f"/loans/{neighbour.loan_id}", f"/integrity/founders/{neighbour.founder_id}"):
        assert client.get(path).status_code == 403, path
    for path in ("/loans/me", f"/loans/me/{own_id}", "/integrity/me"):
        response = client.get(path)
        assert response.status_code == 200, path
        for secret in neighbour.secrets:
            assert secret not in response.get_data(as_text=True)
    assert _loan_fingerprint(neighbour) == before


# Lists, the queue, arrears, corrections and the claims hold only the area's loans -------------
@pytest.fixture
def loan_cities(db_session: Any) -> tuple[LoanRows, LoanRows]:
    """Haikou's and Sanya's loan rows, swept so each loan is 15 days past due, committed."""
    from app.loans.jobs import sweep

    rows = make_loan_rows(HAIKOU, "海口"), make_loan_rows(SANYA, "三亚")
    sweep(SWEPT_ON)
    db.session.commit()
    return rows


# (role, region, sees Haikou, sees Sanya)
LOAN_VIEWERS = [
    pytest.param("officer", HAIKOU, True, False, id="haikou-officer"),
    pytest.param("officer", SANYA, False, True, id="sanya-officer"),
    pytest.param("officer", PROVINCE, True, True, id="province-officer"),
    pytest.param("admin", PROVINCE, True, True, id="admin"),
]
LOAN_PAGES = [
    ("/loans/", "founder_name"),
    ("/loans/", "applicant_name"),
    (f"/loans/?region_code={SANYA}", "founder_name"),
    ("/loans/?status=submitted", "applicant_name"),
    ("/loans/queue", "applicant_name"),
    ("/loans/arrears", "founder_name"),
    ("/loans/arrears?bucket=1-30", "founder_name"),
    (f"/loans/funds/{PROVINCE}?tab=loans", "founder_name"),
    ("/integrity/corrections", "founder_name"),
]


@pytest.mark.parametrize(("path", "field"), LOAN_PAGES)
@pytest.mark.parametrize(("role", "region", "sees_haikou", "sees_sanya"), LOAN_VIEWERS)
def test_loan_and_integrity_pages_show_only_rows_in_scope(
    client: FlaskClient,
    login_as: Callable[..., Any],
    loan_cities: tuple[LoanRows, LoanRows],
    path: str,
    field: str,
    role: str,
    region: str,
    sees_haikou: bool,
    sees_sanya: bool,
) -> None:
    haikou, sanya = loan_cities
    login_as(role, region)
    response = client.get(path)
    assert response.status_code == 200, path
    body = response.get_data(as_text=True)
    assert (getattr(sanya, field) in body) is sees_sanya
    if _filtered_to(path) is None:
        assert (getattr(haikou, field) in body) is sees_haikou
    if not sees_sanya:
        for secret in sanya.secrets:
            assert secret not in body


@pytest.mark.parametrize(("role", "region", "sees_haikou", "sees_sanya"), LOAN_VIEWERS)
def test_the_queue_count_holds_only_the_areas_applications(
    client: FlaskClient,
    login_as: Callable[..., Any],
    loan_cities: tuple[LoanRows, LoanRows],
    role: str,
    region: str,
    sees_haikou: bool,
    sees_sanya: bool,
) -> None:
    login_as(role, region)
    body = client.get("/loans/queue").get_data(as_text=True)
    shown = sum(rows.applicant_name in body for rows in loan_cities)
    assert shown == int(sees_haikou) + int(sees_sanya)


LOAN_API_LISTS = [
    ("/api/v1/loans", {"loan_id", "application_id"}),
    (f"/api/v1/loans?region_code={SANYA}", {"loan_id", "application_id"}),
    ("/api/v1/loans?founder_id={sanya_founder}", {"loan_id"}),
    ("/api/v1/loans?status=submitted", {"application_id"}),
    ("/api/v1/loans?status=active", {"loan_id"}),
    ("/api/v1/loans?bucket=1-30", {"loan_id"}),
    ("/api/v1/integrity/corrections", {"correction_id"}),
]


@pytest.mark.parametrize(("path", "fields"), LOAN_API_LISTS)
@pytest.mark.parametrize(("role", "region", "sees_haikou", "sees_sanya"), LOAN_VIEWERS)
def test_loan_and_correction_api_lists_hold_only_rows_in_scope(
    api_as: Callable[..., Any],
    loan_cities: tuple[LoanRows, LoanRows],
    path: str,
    fields: set[str],
    role: str,
    region: str,
    sees_haikou: bool,
    sees_sanya: bool,
) -> None:
    haikou, sanya = loan_cities
    api = api_as(role, region)
    items = _api_items(api, path.format(sanya_founder=sanya.founder_id))
    ids = {item["id"] for item in items}
    expected: set[int] = set()
    if sees_sanya:
        expected |= {getattr(sanya, name) for name in fields}
    if sees_haikou and SANYA not in path and "founder_id" not in path:
        expected |= {getattr(haikou, name) for name in fields}
    assert ids == expected
    allowed = {HAIKOU: {HAIKOU}, SANYA: {SANYA}, PROVINCE: {PROVINCE, HAIKOU, SANYA}}[region]
    assert {item["region_code"] for item in items if "region_code" in item} <= allowed
    if not sees_sanya:
        for secret in sanya.secrets:
            assert secret not in str(items)


@pytest.mark.parametrize(("role", "region", "sees_haikou", "sees_sanya"), LOAN_VIEWERS)
def test_the_subsidy_claim_holds_only_the_areas_loans(
    client: FlaskClient,
    login_as: Callable[..., Any],
    loan_cities: tuple[LoanRows, LoanRows],
    role: str,
    region: str,
    sees_haikou: bool,
    sees_sanya: bool,
) -> None:
    """Each city's first installment was paid on time in 2026 Q1: one claim line each."""
    haikou, sanya = loan_cities
    login_as(role, region)
    response = client.get("/loans/statements/reports/subsidy.xlsx?year=2026&quarter=1")
    try:
        assert response.status_code == 200
        text = _exported_text(response)
    finally:
        response.close()
    assert (haikou.founder_name in text) is sees_haikou
    assert (sanya.founder_name in text) is sees_sanya
    assert sanya.founder_id_number not in text  # masked, whoever claims
    assert int(response.headers["X-Row-Count"]) == int(sees_haikou) + int(sees_sanya)


def test_a_shared_funds_ledger_names_nothing_of_another_citys_loans(
    client: FlaskClient, login_as: Callable[..., Any]
) -> None:
    """Haikou's officers read Hainan's fund, which backs Sanya's loans too: the ledger shows
    every movement (its balance must add up) but nothing a Sanya officer wrote about a
    Sanya loan, nor a link to it."""
    from app.loans import fund, operations
    from app.loans.jobs import sweep

    sanya = make_loan_rows(SANYA, "三亚")
    sweep(date(2026, 7, 31))  # the second installment is 122 days past due: default
    officer = make_user(role="officer", region_code=SANYA)
    loan = operations.lock_loan_in_scope(officer, sanya.loan_id)
    assert loan.status == "defaulted"
    fund.compensate_loan(
        officer,
        loan,
        {
            "date": date(2026, 8, 3),
            "reference": "SY-COMP-0001",
            "reason": f"{sanya.founder_name}失联，{sanya.founder_phone}停机",
        },
        as_of=date(2026, 8, 3),
    )
    db.session.commit()
    for region, sees in ((HAIKOU, False), (SANYA, True), (PROVINCE, True)):
        client.post("/logout")
        login_as("officer", region)
        for query in ("", "?kind=compensation"):
            response = client.get(f"/loans/funds/{PROVINCE}{query}")
            assert response.status_code == 200
            body = response.get_data(as_text=True)
            assert body.count('data-testid="fund-entry"') >= 1, query
            for secret in (sanya.founder_name, sanya.founder_phone, "SY-COMP-0001"):
                assert (secret in body) is sees, (region, query, secret)
            assert (f'href="/loans/{sanya.loan_id}"' in body) is sees, (region, query)


def test_bodies_naming_another_founders_or_loans_rows_are_refused(
    api_as: Callable[..., Any],
) -> None:
    """A Haikou officer's own loan and file, with ids of Sanya's rows in the body: a
    business of another founder, an event of another file, a guarantor of another loan."""
    from app.integrity.models import IntegrityCorrection
    from app.loans import fund, operations
    from app.loans.jobs import sweep
    from app.loans.models import FundEntry, Guarantor, Loan
    from tests.businesses.factories import make_business
    from tests.integrity.factories import make_event
    from tests.loans.factories import application_body, make_trained_founder

    haikou = make_loan_rows(HAIKOU, "海口")
    sanya = make_loan_rows(SANYA, "三亚")
    sanya_business = make_business(db.session.get(Founder, sanya.founder_id), name="三亚椰子鸡")
    sanya_event = make_event(db.session.get(Founder, sanya.founder_id), note="三亚的事件")
    sanya_guarantor = db.session.scalar(
        select(Guarantor.id).where(Guarantor.loan_id == sanya.loan_id)
    )
    applicant = make_trained_founder(region_code=HAIKOU)
    body = application_body(applicant) | {"amount": "100000.00"}
    sweep(date(2026, 7, 31))  # both loans default
    officer = make_user(role="officer", region_code=HAIKOU)
    loan = operations.lock_loan_in_scope(officer, haikou.loan_id)
    fund.compensate_loan(
        officer, loan, {"date": date(2026, 8, 3), "reference": "HK-COMP-1"}, as_of=date(2026, 8, 3)
    )
    business_id, event_id = sanya_business.id, sanya_event.id
    db.session.commit()
    counts = (_count(Loan), _count(FundEntry), _count(IntegrityCorrection))
    api = api_as("officer", HAIKOU)
    refusals = [
        ("/api/v1/loans", body | {"business_id": business_id}, "business_id"),
        (
            f"/api/v1/founders/{haikou.founder_id}/integrity-events",
            {"kind": "correction", "points": 5, "note": "更正", "corrects_event_id": event_id},
            "corrects_event_id",
        ),
        (
            f"/api/v1/loans/{haikou.loan_id}/recoveries",
            {
                "date": "2026-09-01",
                "amount": "100.00",
                "reference": "HK-REC-1",
                "source": "guarantor",
                "guarantor_id": sanya_guarantor,
            },
            "guarantor_id",
        ),
    ]
    for path, json, field in refusals:
        response = api.post(path, json=json)
        assert response.status_code == 422, (path, response.get_data(as_text=True))
        assert field in response.get_json()["errors"], path
        for secret in [*sanya.secrets, "三亚椰子鸡", "三亚的事件"]:
            assert secret not in response.get_data(as_text=True)
    assert (_count(Loan), _count(FundEntry), _count(IntegrityCorrection)) == counts


@pytest.mark.parametrize(("region", "sees_haikou", "sees_sanya"), VIEWERS)
def test_the_compensation_claim_holds_only_the_areas_compensations(
    client: FlaskClient,
    login_as: Callable[..., Any],
    region: str,
    sees_haikou: bool,
    sees_sanya: bool,
) -> None:
    """Both cities' loans default and are compensated from Hainan's fund in 2026 Q3."""
    from app.loans import fund, operations
    from app.loans.jobs import sweep

    rows = make_loan_rows(HAIKOU, "海口"), make_loan_rows(SANYA, "三亚")
    sweep(date(2026, 7, 31))
    for city in rows:
        officer = make_user(role="officer", region_code=city.region_code)
        loan = operations.lock_loan_in_scope(officer, city.loan_id)
        values = {"date": date(2026, 8, 3), "reference": f"COMP-{city.loan_id}"}
        fund.compensate_loan(officer, loan, values, as_of=date(2026, 8, 3))
    db.session.commit()
    haikou, sanya = rows
    login_as("officer", region)
    response = client.get("/loans/statements/reports/compensation.xlsx?year=2026&quarter=3")
    try:
        assert response.status_code == 200
        text = _exported_text(response)
    finally:
        response.close()
    assert (haikou.founder_name in text) is sees_haikou
    assert (sanya.founder_name in text) is sees_sanya
    assert int(response.headers["X-Row-Count"]) == int(sees_haikou) + int(sees_sanya)
    page = client.get("/loans/statements/reports?year=2026&quarter=3").get_data(as_text=True)
    for city, seen in ((haikou, sees_haikou), (sanya, sees_sanya)):
        if not seen:
            for secret in city.secrets:
                assert secret not in page


# Follow-ups and notifications (SPEC §4, §11) -----------------------------------------------
FOLLOWUP_BLUEPRINTS = frozenset({"followups", "followups_api"})
NOTIFICATION_BLUEPRINTS = frozenset({"notifications", "notifications_api"})
# Every follow-up rule with an id: a task's, or the founder's own business on /followups/me.
FOLLOWUP_ID_RULES = sorted(
    key for key in EXPECTED_MISSING if key[0].split(".")[0] in FOLLOWUP_BLUEPRINTS
)
SELF_REPORT_RULE = ("followups.report_business", "POST")
TASK_ID_RULES = [key for key in FOLLOWUP_ID_RULES if key != SELF_REPORT_RULE]
NOTIFICATION_ID_RULES = sorted(
    key for key in EXPECTED_MISSING if key[0].split(".")[0] in NOTIFICATION_BLUEPRINTS
)
WORKED_ON = "2026-06-15"  # after every subject's start, before today
FOLLOWUP_AUDIT = ("followup.%", "business.%", "observation.%", "integrity.%")


@dataclass(frozen=True)
class FollowupRows:
    """One city's follow-ups, as plain values: a borrower with a business, whose tasks are
    a business follow-up (with a contact attempt that reached nobody), an open loan usage
    follow-up, an intake services follow-up and a done loan usage follow-up whose misuse
    finding waits for an officer; and a second founder with an after-training follow-up
    only, whom officers never see."""

    region_code: str
    founder_id: int
    founder_name: str
    founder_id_number: str
    founder_phone: str
    business_id: int
    business_name: str
    attempt_note: str
    business_task_id: int
    loan_task_id: int
    intake_task_id: int
    misuse_task_id: int
    other_founder_id: int
    other_founder_name: str
    training_task_id: int

    @property
    def arguments(self) -> dict[str, int]:
        """URL argument name -> this city's row: the open loan usage task, which staff and
        officers of the city both work, and the borrower's business."""
        return {"task_id": self.loan_task_id, "business_id": self.business_id}

    @property
    def task_ids(self) -> list[int]:
        return [
            self.business_task_id,
            self.loan_task_id,
            self.intake_task_id,
            self.misuse_task_id,
            self.training_task_id,
        ]

    @property
    def secrets(self) -> list[str]:
        """What an answer about these rows must never contain for someone out of scope."""
        return [
            self.founder_name,
            self.founder_id_number,
            self.founder_phone,
            self.business_name,
            self.attempt_note,
            self.other_founder_name,
        ]


def make_followup_rows(region_code: str, label: str) -> FollowupRows:
    """Follow-ups of `region_code` whose names carry `label` (flushed, not committed)."""
    from app.followups.models import FollowupAttempt
    from app.loans.models import Loan
    from tests.businesses.factories import make_business
    from tests.followups.factories import make_task

    founder = make_founder(region_code=region_code, name=f"{label}回访对象")
    business = make_business(founder, name=f"{label}椰子饭")
    business_task = make_task("business", subject=business)
    attempt = FollowupAttempt(
        task_id=business_task.id,
        attempted_on=date(2026, 6, 2),
        channel="phone",
        note=f"{label}的电话无人接听",
    )
    db.session.add(attempt)
    loan_task = make_task("loan_usage", founder=founder, region_code=region_code)
    loan = db.session.get(Loan, loan_task.subject_id)
    misuse_task = make_task(
        "loan_usage", subject=loan, status="done", fund_usage_ok=False, misuse_state="pending"
    )
    intake_task = make_task("intake_services", founder=founder)
    other = make_founder(region_code=region_code, name=f"{label}结业学员")
    training_task = make_task("post_training", founder=other)
    db.session.flush()
    return FollowupRows(
        region_code=region_code,
        founder_id=founder.id,
        founder_name=founder.name,
        founder_id_number=founder.id_number,
        founder_phone=founder.phone,
        business_id=business.id,
        business_name=business.name,
        attempt_note=attempt.note,
        business_task_id=business_task.id,
        loan_task_id=loan_task.id,
        intake_task_id=intake_task.id,
        misuse_task_id=misuse_task.id,
        other_founder_id=other.id,
        other_founder_name=other.name,
        training_task_id=training_task.id,
    )


def _followup_fingerprint(rows: FollowupRows) -> tuple[Any, ...]:
    """Everything a refused request must leave alone: the tasks and what they found, their
    attempts and service items, the business's observations, the founders' employment
    records, integrity files and lost flags, and the audit trail."""
    from app.businesses.models import Observation
    from app.followups.models import (
        EmploymentObservation,
        FollowupAttempt,
        FollowupServiceItem,
        FollowupTask,
    )
    from app.integrity.models import IntegrityEvent

    db.session.expire_all()
    founders = [rows.founder_id, rows.other_founder_id]
    task_ids = select(FollowupTask.id).where(FollowupTask.founder_id.in_(founders))
    tasks = db.session.execute(
        select(
            FollowupTask.id,
            FollowupTask.status,
            FollowupTask.done_on,
            FollowupTask.channel,
            FollowupTask.assignee_id,
            FollowupTask.business_status,
            FollowupTask.employment,
            FollowupTask.fund_usage_ok,
            FollowupTask.misuse_state,
            FollowupTask.note,
            FollowupTask.updated_at,
        )
        .where(FollowupTask.founder_id.in_(founders))
        .order_by(FollowupTask.id)
    ).all()
    audit = select(func.count(AuditEntry.id)).where(
        or_(*(AuditEntry.action.like(pattern) for pattern in FOLLOWUP_AUDIT))
    )
    return (
        tuple(tuple(task) for task in tasks),
        _count_where(FollowupAttempt, FollowupAttempt.task_id.in_(task_ids)),
        _count_where(FollowupServiceItem, FollowupServiceItem.task_id.in_(task_ids)),
        _count_where(Observation, Observation.business_id == rows.business_id),
        _count_where(EmploymentObservation, EmploymentObservation.founder_id.in_(founders)),
        _count_where(IntegrityEvent, IntegrityEvent.founder_id.in_(founders)),
        tuple(
            db.session.scalars(
                select(Founder.lost_to_follow_up_on)
                .where(Founder.id.in_(founders))
                .order_by(Founder.id)
            )
        ),
        db.session.scalar(audit),
    )


def test_every_followup_and_notification_rule_with_an_id_is_checked(app: Flask) -> None:
    registered = _registered(app)
    with_ids = {
        key
        for key, rule in registered.items()
        if rule.arguments and key[0].split(".")[0] in FOLLOWUP_BLUEPRINTS
    }
    assert with_ids == set(FOLLOWUP_ID_RULES)
    for key in TASK_ID_RULES:
        assert set(registered[key].arguments) == {"task_id"}, key
    assert set(registered[SELF_REPORT_RULE].arguments) == {"business_id"}
    notification_ids = {
        key
        for key, rule in registered.items()
        if rule.arguments and key[0].split(".")[0] in NOTIFICATION_BLUEPRINTS
    }
    assert notification_ids == set(NOTIFICATION_ID_RULES)
    for key in NOTIFICATION_ID_RULES:
        assert set(registered[key].arguments) == {"notification_id"}, key
    # A new follow-up or notification blueprint joins the sets above, or it goes unchecked;
    # the plan page and the jobs are the administrators' and name no scoped row.
    features = {
        key[0].split(".")[0]
        for key in registered
        if "followup" in key[0] or "notification" in key[0]
    }
    assert features == FOLLOWUP_BLUEPRINTS | NOTIFICATION_BLUEPRINTS | {"followup_plan"}


def _followup_cases(roles: tuple[str, ...]) -> list[Any]:
    return [
        pytest.param(endpoint, method, role, id=f"{endpoint}-{method}-{role}")
        for endpoint, method in FOLLOWUP_ID_RULES
        for role in roles
    ]


@pytest.mark.parametrize(
    ("endpoint", "method", "role"), _followup_cases(("staff", "officer", "founder"))
)
def test_followups_outside_the_callers_scope_look_absent(
    app: Flask,
    client: FlaskClient,
    login_as: Callable[..., Any],
    api_as: Callable[..., Any],
    endpoint: str,
    method: str,
    role: str,
) -> None:
    """Sanya staff and officers ask for Haikou's loan usage follow-up (which Haikou's staff
    and officers both work); a Haikou founder for a neighbour's business."""
    rows = make_followup_rows(HAIKOU, "外区")
    region = HAIKOU if role == "founder" else SANYA
    before = _followup_fingerprint(rows)
    rule = _registered(app)[(endpoint, method)]
    arguments = {name: rows.arguments[name] for name in rule.arguments}
    path, response, _ = _request(
        app, client, login_as, api_as, endpoint, method, role, arguments, region
    )
    body = response.get_data().decode("utf-8", errors="replace")
    _assert_outcome(path, response, EXPECTED_MISSING[(endpoint, method)][role], arguments)
    for secret in rows.secrets:
        assert secret not in body
    assert _followup_fingerprint(rows) == before


@pytest.mark.parametrize(("endpoint", "method"), TASK_ID_RULES)
@pytest.mark.parametrize("role", ["staff", "officer"])
@pytest.mark.parametrize("region", [HAIKOU, PROVINCE])
def test_the_same_followups_are_reachable_in_their_own_area(
    app: Flask,
    client: FlaskClient,
    login_as: Callable[..., Any],
    api_as: Callable[..., Any],
    endpoint: str,
    method: str,
    role: str,
    region: str,
) -> None:
    """The control: Haikou's and Hainan's staff and officers get the matrix's answer."""
    rows = make_followup_rows(HAIKOU, "海口")
    arguments = {"task_id": rows.loan_task_id}
    path, response, _ = _request(
        app, client, login_as, api_as, endpoint, method, role, arguments, region
    )
    _assert_outcome(path, response, EXPECTED[(endpoint, method)][role], arguments)


OTHER_KINDS = ["intake_contact", "intake_services", "post_training", "business", "incubation_exit"]


@pytest.mark.parametrize(("endpoint", "method"), TASK_ID_RULES)
@pytest.mark.parametrize("kind", OTHER_KINDS)
def test_officers_reach_no_other_kind_of_followup_in_their_own_area(
    app: Flask,
    client: FlaskClient,
    login_as: Callable[..., Any],
    api_as: Callable[..., Any],
    endpoint: str,
    method: str,
    kind: str,
) -> None:
    """A Haikou officer asking for a Haikou follow-up of any kind but loan usage gets the
    matrix's answer for an id no row has, and the task is left alone."""
    from app.followups.models import FollowupTask
    from tests.followups.factories import make_task

    task = make_task(kind, region_code=HAIKOU)
    task_id, founder_id = task.id, task.founder_id
    founder = db.session.get(Founder, founder_id)
    secrets = [founder.name, founder.phone, founder.id_number]

    def fingerprint() -> tuple[Any, ...]:
        db.session.expire_all()
        row = db.session.get(FollowupTask, task_id)
        audit = select(func.count(AuditEntry.id)).where(AuditEntry.action.like("followup.%"))
        return (row.status, row.assignee_id, row.updated_at, db.session.scalar(audit))

    before = fingerprint()
    arguments = {"task_id": task_id}
    path, response, _ = _request(
        app, client, login_as, api_as, endpoint, method, "officer", arguments, HAIKOU
    )
    body = response.get_data().decode("utf-8", errors="replace")
    _assert_outcome(path, response, EXPECTED_MISSING[(endpoint, method)]["officer"], arguments)
    for secret in secrets:
        assert secret not in body
    assert fingerprint() == before


def _completion(kind: str) -> dict[str, Any]:
    """A valid completion body for a task of `kind`."""
    body: dict[str, Any] = {"done_on": WORKED_ON, "channel": "phone", "note": "越区回访"}
    if kind in ("business", "incubation_exit"):
        body |= {"business_status": "operating", "employees": 3}
    if kind == "post_training":
        body["employment"] = "self_employed"
    if kind == "loan_usage":
        body["fund_usage_ok"] = False
    return body


@pytest.mark.parametrize("region", [SANYA, PROVINCE])
def test_real_followup_work_on_another_citys_tasks_through_the_api(
    api_as: Callable[..., Any], region: str
) -> None:
    """Valid bodies, not only empty ones: Sanya's staff work none of Haikou's follow-ups
    (404, nothing changes); the province's staff may (the control)."""
    rows = make_followup_rows(HAIKOU, "海口")
    db.session.commit()
    before = _followup_fingerprint(rows)
    api = api_as("staff", region)
    calls = [
        (f"/api/v1/followups/{rows.business_task_id}/complete", _completion("business"), 200),
        (f"/api/v1/followups/{rows.training_task_id}/complete", _completion("post_training"), 200),
        (f"/api/v1/followups/{rows.loan_task_id}/complete", _completion("loan_usage"), 200),
        (
            f"/api/v1/followups/{rows.loan_task_id}/attempts",
            {"attempted_on": WORKED_ON, "channel": "visit", "note": "上门未遇"},
            409,  # done a moment ago by the call above
        ),
        (
            f"/api/v1/followups/{rows.intake_task_id}/attempts",
            {"attempted_on": WORKED_ON, "channel": "visit", "note": "上门未遇"},
            201,
        ),
        (
            f"/api/v1/followups/{rows.intake_task_id}/services",
            {
                "item": "lead",
                "detail": "椰子加工项目",
                "provided_on": WORKED_ON,
                "channel": "phone",
            },
            201,
        ),
        # "Assign to me".
        (
            f"/api/v1/followups/{rows.intake_task_id}/assign",
            {"assignee_id": api.user.id},
            200,
        ),
    ]
    for path, body, allowed in calls:
        response = api.post(path, json=body)
        expected = allowed if region == PROVINCE else 404
        assert response.status_code == expected, (path, response.get_data(as_text=True))
        if region != PROVINCE:
            for secret in rows.secrets:
                assert secret not in response.get_data(as_text=True)
    for task_id in rows.task_ids:
        response = api.get(f"/api/v1/followups/{task_id}")
        assert response.status_code == (200 if region == PROVINCE else 404), task_id
    if region != PROVINCE:
        assert _followup_fingerprint(rows) == before
    else:
        assert _followup_fingerprint(rows) != before


def test_real_followup_work_through_the_pages_of_another_city_changes_nothing(
    client: FlaskClient, login_as: Callable[..., Any]
) -> None:
    rows = make_followup_rows(HAIKOU, "海口")
    db.session.commit()
    before = _followup_fingerprint(rows)
    staff = login_as("staff", SANYA)
    complete = {"done_on": WORKED_ON, "channel": "phone", "business_status": "operating"}
    calls = [
        (f"/followups/{rows.business_task_id}/complete", complete | {"employees": "3"}),
        (
            f"/followups/{rows.training_task_id}/complete",
            {"done_on": WORKED_ON, "channel": "phone", "employment": "employed"},
        ),
        (
            f"/followups/{rows.loan_task_id}/attempts",
            {"attempted_on": WORKED_ON, "channel": "phone", "note": "无人接听"},
        ),
        (
            f"/followups/{rows.intake_task_id}/services",
            {"item": "career_guidance", "provided_on": WORKED_ON, "channel": "visit"},
        ),
        (f"/followups/{rows.intake_task_id}/assign", {"assignee_id": str(staff.id)}),
    ]
    for path, data in calls:
        response = client.post(path, data=data)
        assert response.status_code == 404, path
        for secret in rows.secrets:
            assert secret not in response.get_data(as_text=True)
    for task_id in rows.task_ids:
        assert client.get(f"/followups/{task_id}").status_code == 404, task_id
    assert _followup_fingerprint(rows) == before


@pytest.mark.parametrize("region", [SANYA, PROVINCE])
def test_misuse_findings_are_decided_only_by_the_areas_officers(
    client: FlaskClient, login_as: Callable[..., Any], api_as: Callable[..., Any], region: str
) -> None:
    """Sanya's officers neither confirm nor dismiss Haikou's misuse finding, through the API
    or the page (404, no integrity event); the province's officers confirm it (control)."""
    rows = make_followup_rows(HAIKOU, "海口")
    db.session.commit()
    before = _followup_fingerprint(rows)
    api = api_as("officer", region)
    path = f"/api/v1/followups/{rows.misuse_task_id}/misuse"
    if region == PROVINCE:
        response = api.post(path, json={"decision": "confirm", "note": "资金用于购车"})
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.get_json()["misuse_state"] == "confirmed"
        assert _followup_fingerprint(rows) != before
        return
    for decision in ("confirm", "dismiss"):
        response = api.post(path, json={"decision": decision, "note": "越区决定"})
        assert response.status_code == 404, response.get_data(as_text=True)
        for secret in rows.secrets:
            assert secret not in response.get_data(as_text=True)
    login_as("officer", region)
    for decision in ("confirm", "dismiss"):
        page = f"/followups/{rows.misuse_task_id}/misuse"
        response = client.post(page, data={"decision": decision})
        assert response.status_code == 404
    assert _followup_fingerprint(rows) == before


def test_officers_work_only_loan_usage_followups_with_real_bodies(
    api_as: Callable[..., Any],
) -> None:
    """A Haikou officer's valid work on the city's other follow-ups is a 404 and changes
    nothing; the loan usage follow-up of the same founder is theirs (the control)."""
    rows = make_followup_rows(HAIKOU, "海口")
    db.session.commit()
    before = _followup_fingerprint(rows)
    api = api_as("officer", HAIKOU)
    calls = [
        (f"/api/v1/followups/{rows.business_task_id}/complete", _completion("business")),
        (f"/api/v1/followups/{rows.training_task_id}/complete", _completion("post_training")),
        (
            f"/api/v1/followups/{rows.intake_task_id}/services",
            {"item": "lead", "provided_on": WORKED_ON, "channel": "phone"},
        ),
        (
            f"/api/v1/followups/{rows.business_task_id}/attempts",
            {"attempted_on": WORKED_ON, "channel": "phone"},
        ),
        (f"/api/v1/followups/{rows.business_task_id}/assign", {"assignee_id": api.user.id}),
    ]
    for path, body in calls:
        response = api.post(path, json=body)
        assert response.status_code == 404, (path, response.get_data(as_text=True))
        assert rows.attempt_note not in response.get_data(as_text=True)
    for task_id in (rows.business_task_id, rows.intake_task_id, rows.training_task_id):
        assert api.get(f"/api/v1/followups/{task_id}").status_code == 404
    assert _followup_fingerprint(rows) == before
    response = api.post(
        f"/api/v1/followups/{rows.loan_task_id}/complete", json=_completion("loan_usage")
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["misuse_state"] == "pending"


def test_a_founder_reports_only_on_their_own_business(
    client: FlaskClient, login_as: Callable[..., Any]
) -> None:
    """/followups/me/businesses/<id> with a neighbour's business is a 404 that records no
    observation and completes none of the neighbour's follow-ups; the founder's own business
    takes the same report (the control), and their page shows only their own follow-ups."""
    from app.businesses.models import Business, Observation
    from app.core.dates import today_in_china
    from app.followups.models import FollowupTask
    from tests.businesses.factories import make_business
    from tests.followups.factories import make_task

    today = today_in_china()
    neighbour = make_followup_rows(HAIKOU, "邻居")
    # Due today: a report now would complete it, were it the caller's.
    make_task("business", subject=db.session.get(Business, neighbour.business_id), due_on=today)
    db.session.commit()
    before = _followup_fingerprint(neighbour)
    founder = login_as("founder", HAIKOU)
    own = make_business(db.session.get(Founder, founder.founder_id), name="我自己的椰子店")
    own_task = make_task("business", subject=own, due_on=today)
    own_id, own_task_id = own.id, own_task.id
    db.session.commit()

    def report(business_id: int) -> Any:
        prefix = f"b{business_id}"
        return client.post(
            f"/followups/me/businesses/{business_id}",
            data={f"{prefix}-status": "suspended", f"{prefix}-employees": "1"},
        )

    response = report(neighbour.business_id)
    assert response.status_code == 404
    for secret in neighbour.secrets:
        assert secret not in response.get_data(as_text=True)
    page = client.get("/followups/me")
    assert page.status_code == 200
    for secret in neighbour.secrets:
        assert secret not in page.get_data(as_text=True)
    assert _followup_fingerprint(neighbour) == before

    response = report(own_id)
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/followups/me"
    assert _count_where(Observation, Observation.business_id == own_id) == 1
    db.session.expire_all()
    assert db.session.get(FollowupTask, own_task_id).channel == "self_report"
    # The neighbour's rows are as they were (the audit trail now holds the own report).
    assert _followup_fingerprint(neighbour)[:-1] == before[:-1]


# The work queue and the API list hold only the caller's follow-ups -------------------------
@pytest.fixture
def followup_cities(db_session: Any) -> tuple[FollowupRows, FollowupRows]:
    """Haikou's and Sanya's follow-ups, committed."""
    rows = make_followup_rows(HAIKOU, "海口"), make_followup_rows(SANYA, "三亚")
    db.session.commit()
    return rows


# (role, region, the regions whose tasks they see, loan usage only)
FOLLOWUP_VIEWERS = [
    pytest.param("staff", HAIKOU, {HAIKOU}, False, id="haikou-staff"),
    pytest.param("staff", SANYA, {SANYA}, False, id="sanya-staff"),
    pytest.param("staff", PROVINCE, {PROVINCE, HAIKOU, SANYA}, False, id="province-staff"),
    pytest.param("officer", HAIKOU, {HAIKOU}, True, id="haikou-officer"),
    pytest.param("officer", PROVINCE, {PROVINCE, HAIKOU, SANYA}, True, id="province-officer"),
    pytest.param("admin", PROVINCE, {PROVINCE, HAIKOU, SANYA}, False, id="admin"),
]
# Query -> which tasks it asks for, beside the caller's scope.
FOLLOWUP_QUERIES: list[tuple[str, Callable[[Any, FollowupRows], bool]]] = [
    ("", lambda task, sanya: True),
    (f"?region_code={SANYA}", lambda task, sanya: task.region_code == SANYA),
    (f"?region_code={HAIKOU}", lambda task, sanya: task.region_code == HAIKOU),
    ("?kind=business", lambda task, sanya: task.kind == "business"),
    ("?kind=loan_usage", lambda task, sanya: task.kind == "loan_usage"),
    ("?status=open", lambda task, sanya: task.status == "open"),
    ("?status=done", lambda task, sanya: task.status == "done"),
    ("?due_before=2026-06-02", lambda task, sanya: task.due_on < date(2026, 6, 2)),
    ("?founder_id={sanya_founder}", lambda task, sanya: task.founder_id == sanya.founder_id),
    (
        "?founder_id={sanya_other}",
        lambda task, sanya: task.founder_id == sanya.other_founder_id,
    ),
]


@pytest.mark.parametrize(("query", "asks_for"), FOLLOWUP_QUERIES)
@pytest.mark.parametrize(("role", "region", "regions", "loan_usage_only"), FOLLOWUP_VIEWERS)
def test_the_followups_api_list_holds_only_tasks_in_scope(
    api_as: Callable[..., Any],
    followup_cities: tuple[FollowupRows, FollowupRows],
    query: str,
    asks_for: Callable[[Any, FollowupRows], bool],
    role: str,
    region: str,
    regions: set[str],
    loan_usage_only: bool,
) -> None:
    """Staff see every kind of their area's tasks (a province: its cities'), officers only
    the loan usage ones, admins all; no filter widens that."""
    from app.followups.models import FollowupTask

    sanya = followup_cities[1]
    api = api_as(role, region)
    path = "/api/v1/followups" + query.format(
        sanya_founder=sanya.founder_id, sanya_other=sanya.other_founder_id
    )
    items = _api_items(api, path)
    every_task = db.session.scalars(select(FollowupTask)).all()
    in_scope = [
        task
        for task in every_task
        if task.region_code in regions and (task.kind == "loan_usage" or not loan_usage_only)
    ]
    assert {item["id"] for item in items} == {task.id for task in in_scope if asks_for(task, sanya)}
    assert {item["region_code"] for item in items} <= regions
    if loan_usage_only:
        assert {item["kind"] for item in items} <= {"loan_usage"}
    if SANYA not in regions:
        for secret in sanya.secrets:
            assert secret not in str(items)
    # The sample covers the case: the unfiltered list is never empty.
    if not query:
        assert items


@pytest.mark.parametrize(("role", "region", "regions", "loan_usage_only"), FOLLOWUP_VIEWERS)
@pytest.mark.parametrize("bucket", ["overdue", "missed"])
def test_the_work_queue_shows_only_tasks_in_scope(
    client: FlaskClient,
    login_as: Callable[..., Any],
    followup_cities: tuple[FollowupRows, FollowupRows],
    role: str,
    region: str,
    regions: set[str],
    loan_usage_only: bool,
    bucket: str,
) -> None:
    """Every sample task is overdue (due in June, open), so the overdue tab lists the
    caller's: the borrower of each city in scope, the trainee only for staff and admins.
    The missed tab holds none, and neither names anyone out of scope."""
    login_as(role, region)
    response = client.get(f"/followups/?bucket={bucket}")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    for city in followup_cities:
        seen = city.region_code in regions and bucket == "overdue"
        assert (city.founder_name in body) is seen, (city.region_code, bucket)
        assert (city.other_founder_name in body) is (seen and not loan_usage_only)
        if city.region_code not in regions:
            for secret in city.secrets:
                assert secret not in body


# Notifications: each user's own --------------------------------------------------------------
def _others_notification(role: str, region: str, label: str) -> tuple[int, int, str]:
    """A notification of another user of the same role and region naming a founder: its
    id, its reader's id and the name only its reader may see."""
    from tests.notifications.factories import make_notification

    owner = make_user(role=role, region_code=region)
    name = f"{label}借款人"
    notification = make_notification(
        owner,
        kind="arrears",
        params={"loan_id": 1, "founder_name": name, "due_on": "2026-06-30", "days_past_due": 9},
    )
    return notification.id, owner.id, name


def _read_at(notification_id: int) -> Any:
    from app.notifications.models import Notification

    db.session.expire_all()
    return db.session.get(Notification, notification_id).read_at


@pytest.mark.parametrize(("endpoint", "method"), NOTIFICATION_ID_RULES)
@pytest.mark.parametrize("role", ["admin", "staff", "officer", "founder"])
def test_another_users_notification_looks_absent(
    app: Flask,
    client: FlaskClient,
    login_as: Callable[..., Any],
    api_as: Callable[..., Any],
    endpoint: str,
    method: str,
    role: str,
) -> None:
    """A colleague's notification (same role, same area) can be neither opened nor marked:
    the answer for an id no row has, and it stays unread."""
    region = PROVINCE if role == "admin" else HAIKOU
    notification_id, _owner, name = _others_notification(role, region, "同事")
    arguments = {"notification_id": notification_id}
    path, response, _ = _request(
        app, client, login_as, api_as, endpoint, method, role, arguments, region
    )
    body = response.get_data().decode("utf-8", errors="replace")
    _assert_outcome(path, response, EXPECTED_MISSING[(endpoint, method)][role], arguments)
    assert name not in body
    assert _read_at(notification_id) is None


@pytest.mark.parametrize("role", ["admin", "staff", "officer", "founder"])
def test_notification_lists_and_mark_all_read_hold_only_ones_own(
    client: FlaskClient, login_as: Callable[..., Any], api_as: Callable[..., Any], role: str
) -> None:
    from tests.notifications.factories import make_notification

    region = PROVINCE if role == "admin" else HAIKOU
    others_id, _owner, name = _others_notification(role, region, "同事")
    db.session.commit()
    api = api_as(role, region)
    own_id = make_notification(api.user).id
    db.session.commit()

    items = _api_items(api, "/api/v1/notifications")
    assert [item["id"] for item in items] == [own_id]
    assert name not in str(items)
    assert api.post("/api/v1/notifications/read-all").get_json() == {"marked": 1}
    assert _read_at(others_id) is None
    assert _read_at(own_id) is not None

    client.post("/login", data={"username": api.user.username, "password": DEFAULT_PASSWORD})
    page = client.get("/notifications/")
    assert page.status_code == 200
    assert name not in page.get_data(as_text=True)
    assert client.post("/notifications/read-all").status_code == 302
    assert _read_at(others_id) is None


# Targets (SPEC §4, §13) -----------------------------------------------------------------------
TARGET_BLUEPRINTS = frozenset({"targets", "api_targets"})
TARGET_ID_RULES = sorted(
    key for key in EXPECTED_MISSING if key[0].split(".")[0] in TARGET_BLUEPRINTS
)
SHANGHAI = "310000"


def _hainan_targets() -> dict[str, Any]:
    """Hainan's and Haikou's 2026 targets; the URL arguments that name them."""
    from tests.targets.factories import make_targets

    make_targets(2026, PROVINCE, trainees=300, loans_amount="1000000.00")
    make_targets(2026, HAIKOU, trainees=120)
    db.session.commit()
    return {"year": 2026, "region_code": HAIKOU, "province_code": PROVINCE}


def _target_fingerprint() -> tuple:
    from app.targets.models import RegionTarget

    rows = db.session.execute(
        select(
            RegionTarget.year,
            RegionTarget.region_code,
            RegionTarget.trainees,
            RegionTarget.businesses_opened,
            RegionTarget.loans_count,
            RegionTarget.loans_amount,
            RegionTarget.jobs_created,
        ).order_by(RegionTarget.year, RegionTarget.region_code)
    ).all()
    audit = select(func.count()).where(AuditEntry.action.like("region_target.%"))
    return tuple(rows), db.session.scalar(audit)


def test_every_targets_rule_with_an_id_is_checked(app: Flask) -> None:
    registered = _registered(app)
    with_ids = {
        key
        for key, rule in registered.items()
        if rule.arguments and key[0].split(".")[0] in TARGET_BLUEPRINTS
    }
    assert with_ids == set(TARGET_ID_RULES)
    arguments = {name for key in TARGET_ID_RULES for name in registered[key].arguments}
    assert arguments == {"year", "region_code", "province_code"}
    features = {key[0].split(".")[0] for key in registered if "target" in key[0]}
    assert features == TARGET_BLUEPRINTS


@pytest.mark.parametrize(("endpoint", "method"), TARGET_ID_RULES)
@pytest.mark.parametrize("role", ["staff", "officer"])
def test_another_provinces_targets_look_absent(
    app: Flask,
    client: FlaskClient,
    login_as: Callable[..., Any],
    api_as: Callable[..., Any],
    endpoint: str,
    method: str,
    role: str,
) -> None:
    """Shanghai's province staff and officers ask for Hainan's and Haikou's targets."""
    names = _hainan_targets()
    before = _target_fingerprint()
    rule = _registered(app)[(endpoint, method)]
    arguments = {name: names[name] for name in rule.arguments}
    path, response, _ = _request(
        app, client, login_as, api_as, endpoint, method, role, arguments, SHANGHAI
    )
    _assert_outcome(path, response, EXPECTED_MISSING[(endpoint, method)][role], arguments)
    assert _target_fingerprint() == before


def test_another_provinces_staff_change_no_target_with_real_bodies(
    client: FlaskClient, login_as: Callable[..., Any], api_as: Callable[..., Any]
) -> None:
    _hainan_targets()
    before = _target_fingerprint()
    api = api_as("staff", SHANGHAI)
    for region in (HAIKOU, PROVINCE):
        assert api.get(f"/api/v1/targets/2026/{region}").status_code == 404
        response = api.put(f"/api/v1/targets/2026/{region}", json={"trainees": 1})
        assert response.status_code == 404
        assert response.is_json
    login_as("staff", SHANGHAI)
    assert client.get(f"/targets/2026/{PROVINCE}").status_code == 404
    response = client.post(
        f"/targets/2026/{PROVINCE}",
        data={"rows-0-region_code": HAIKOU, "rows-0-trainees": "1", "rows-1-region_code": PROVINCE},
    )
    assert response.status_code == 404
    overview = client.get("/targets/?year=2026").get_data(as_text=True)
    assert f"/targets/2026/{PROVINCE}" not in overview
    assert _target_fingerprint() == before


@pytest.mark.parametrize(
    ("region", "asks_for", "expected"),
    [
        pytest.param(HAIKOU, HAIKOU, 200, id="haikou-own-city"),
        pytest.param(SANYA, HAIKOU, 404, id="sanya-haikou"),
        pytest.param(HAIKOU, PROVINCE, 404, id="haikou-province-row"),
        pytest.param(PROVINCE, HAIKOU, 200, id="province-haikou"),
        pytest.param(SHANGHAI_DISTRICT, HAIKOU, 404, id="yangpu-haikou"),
    ],
)
def test_the_targets_api_reads_only_the_callers_area(
    api_as: Callable[..., Any], region: str, asks_for: str, expected: int
) -> None:
    _hainan_targets()
    response = api_as("staff", region).get(f"/api/v1/targets/2026/{asks_for}")
    assert response.status_code == expected
    if expected == 200:
        assert response.get_json()["trainees"] == 120
