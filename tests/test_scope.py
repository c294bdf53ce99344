"""Scope on every founders, training and library route (SPEC §4, §7): out of scope looks
like absent.

A Haikou (460100) user asking for a Sanya (460200) row, or a founder asking for someone
else's record, gets exactly what the permission matrix says for an id no row has (404, or
403 where the role lacks the permission), and the answer names nothing of the row. Lists,
searches, filters, the export and the select boxes never show a Sanya row to Haikou
staff; province (460000) staff see both cities.

The project library follows D29: a project the caller may not see (a draft of someone
else's, a Haikou project asked for from Sanya) answers like an id no row has and changes
nothing; one they see but do not curate is a 403 for every change; lists, the API and the
export hold exactly the projects the caller may see.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.core.audit import AuditEntry
from app.extensions import db
from app.founders.models import Founder, FounderImport
from app.library.models import LibraryAdoption, LibraryProject
from app.training.models import Cohort, Enrollment, Institution
from tests.factories import make_founder, make_phone, make_user
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
