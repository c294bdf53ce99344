"""Property-based fuzzing of the JSON API from its own OpenAPI document (schemathesis).

The app runs in-process through WSGI. Each operation is called by a user who may use it,
so that fuzzed input reaches the operation instead of stopping at a 403: administrators
for users, regions, money in and out of guarantee funds, loan policies, the integrity
points table and scheduled jobs; Hainan (460000) province staff for promoting a city's
library project to the province and for setting targets; Haikou (460100) loan officers
for loans, repayments, funds' figures, policies' reading, the bank statement import,
integrity files and decisions on fund misuse found by follow-ups; Haikou staff for
everything else (follow-up work and their own notifications included). Jobs run the
scheduler tests' fake registry (quick steps), so a fuzzed run by hand never runs the real
daily job. Every answer must be a non-5xx status the document lists for the operation,
with the documented content type and a body matching the documented schema (SPEC §14:
never 500).

All writes happen inside one connection-level transaction for the whole module, which is
rolled back at the end, so fuzzing leaves no rows behind on SQLite or PostgreSQL.
"""

from __future__ import annotations

import io
import itertools
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from app import create_app
from app.auth.models import User
from app.auth.operations import issue_api_token
from app.businesses.models import Business
from app.core.dates import today_in_china
from app.core.db import utcnow
from app.core.openapi import API_PREFIX
from app.extensions import db
from app.followups.models import FollowupTask
from app.incubation.queries import base_occupancy
from app.integrity.models import IntegrityCorrection, IntegrityEvent
from app.loans import fund, operations, policies
from app.loans.jobs import sweep
from app.loans.models import Loan, LoanPolicy
from app.notifications.models import Notification
from app.scheduler.models import RunTrigger
from app.scheduler.runner import run_job
from tests.businesses.factories import business_body, make_business, make_observation, make_uscc
from tests.factories import DEFAULT_PASSWORD, make_founder, make_id_number, make_phone, make_user
from tests.followups.factories import make_task
from tests.incubation.factories import base_body, make_base, make_residency
from tests.integrity.factories import make_correction, make_event
from tests.isolation import rolled_back_session
from tests.library.factories import make_project, project_body
from tests.loans.factories import (
    application_body,
    fund_region,
    guarantor_body,
    make_loan,
    make_trained_founder,
    officers,
)
from tests.notifications.factories import make_notification
from tests.scheduler import fake_registry
from tests.training.factories import get_course, make_cohort, make_enrollment, make_institution

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
FUZZ_SETTINGS = settings(
    max_examples=30,
    deadline=None,
    # The module's one transaction serves every example on purpose (see the docstring).
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ADMIN_USERNAME = "fuzz.admin"
STAFF_USERNAME = "fuzz.staff"
PROVINCE_STAFF_USERNAME = "fuzz.province.staff"
OFFICER_USERNAME = "fuzz.officer"
REGION = "460100"
PROVINCE = "460000"
TARGET_YEAR = 2026  # the year of the targets (SPEC §13) the cases read and set
# Only these need an administrator; staff may use every other operation, and an
# administrator there would get 403 before any input is read, hiding 5xx bugs.
ADMIN_OPERATIONS = frozenset(
    {
        "GET /users",
        "POST /users",
        "POST /regions",
        # Money in and out of a fund, policies and the points table are the admin's (D33).
        "POST /funds/{region_code}/entries",
        "PUT /loan-policies/{region_code}",
        "PUT /integrity/points/{kind}",
        # Scheduled jobs (SPEC §12).
        "POST /jobs/{name}/run",
        "GET /jobs/runs",
    }
)
# Only the province's staff promote a city project (D29) and set a city's targets (D44);
# the city's staff get 403.
PROVINCE_OPERATIONS = frozenset(
    {"POST /library/projects/{project_id}/promote", "PUT /targets/{year}/{region_code}"}
)
# Loans, repayments, funds' figures, policies and integrity files are the loan officers'
# (SPEC §4); centre staff get 403 there.
OFFICER_OPERATIONS = frozenset(
    {
        "GET /loans",
        "POST /loans",
        "GET /loans/{loan_id}",
        "POST /loans/{loan_id}/review",
        "POST /loans/{loan_id}/approve",
        "POST /loans/{loan_id}/disburse",
        "POST /loans/{loan_id}/repayments",
        "POST /loans/{loan_id}/compensate",
        "POST /loans/{loan_id}/recoveries",
        "POST /loans/{loan_id}/write-off",
        "POST /repayments/{repayment_id}/reverse",
        "POST /imports/repayments",
        "GET /funds/{region_code}",
        "GET /loan-policies/{region_code}",
        "GET /founders/{founder_id}/integrity",
        "POST /founders/{founder_id}/integrity-events",
        "GET /integrity/corrections",
        "POST /integrity/corrections/{correction_id}/approve",
        "POST /integrity/corrections/{correction_id}/reject",
        "GET /integrity/points",
    }
)
# Officers decide on the fund misuse a loan usage follow-up found (INTEGRITY_WRITE); staff
# work every other follow-up operation, and officers see only loan usage tasks anyway.
OFFICER_FOLLOWUP_OPERATIONS = frozenset({"POST /followups/{task_id}/misuse"})
# The documented paths of the loans and integrity features: each operation on them must be
# in OFFICER_OPERATIONS or ADMIN_OPERATIONS (test_every_loan_operation_has_its_caller).
LOAN_PATH = re.compile(r"^/(loans|repayments|funds|loan-policies|imports/repayments)\b|integrity")
PATH_PARAMETER = re.compile(r"{(\w+)}")
_sequence = itertools.count(1)


def fuzz_role(method: str, path: str) -> str:
    """Who calls `method path` in these tests: "admin", "province_staff", "officer" or
    "staff"."""
    operation = f"{method.upper()} {path}"
    if operation in ADMIN_OPERATIONS:
        return "admin"
    if operation in OFFICER_OPERATIONS | OFFICER_FOLLOWUP_OPERATIONS:
        return "officer"
    return "province_staff" if operation in PROVINCE_OPERATIONS else "staff"


def _load_schema() -> Any:
    """The OpenAPI document, as the app serves it.

    Tests are generated at collection time, before the test database exists, so a
    database-less app serves the document here: it is built from the registered routes and
    their forms only. Requests go to the `app` fixture (`call_and_validate(app=...)`).
    `schemathesis.pytest.from_fixture` would avoid the second app, but schemathesis 4.32.5's
    lazy loader reads `request.node._nodeid`, which pytest 9.2 no longer has.
    """
    document_app = create_app("testing", SQLALCHEMY_DATABASE_URI="sqlite://")
    return schemathesis.openapi.from_wsgi(f"{API_PREFIX}/openapi.json", document_app)


schema = _load_schema()


@pytest.fixture(scope="module")
def fuzz_session(app: Flask) -> Iterator[Any]:
    """db.session bound to one connection whose outer transaction is rolled back at the end.

    The module-wide twin of conftest's per-test isolation: the app's commits only release
    savepoints, so each example sees the earlier examples' rows and nothing survives. No
    app context stays pushed, so every request gets its own, as in production.
    """
    yield from rolled_back_session(app)


@pytest.fixture(scope="module", autouse=True)
def fake_jobs(app: Flask) -> Iterator[None]:
    """Jobs run by hand run the scheduler tests' fake registry for the whole module: its
    steps are quick and idempotent (an audit entry per step and date), where the real
    daily job would sweep every loan and plan every follow-up on each fuzzed run. Its jobs
    have the real ones' names, so the document's job filter is the same."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(app.config, "SCHEDULER_REGISTRY", fake_registry.REGISTRY)
        fake_registry.FAILING.clear()
        yield
    fake_registry.FAILING.clear()
    fake_registry.CALLS.clear()


@pytest.fixture(scope="module")
def fuzz_user_ids(app: Flask, fuzz_session: Any) -> dict[str, int]:
    """The administrator, the Haikou and the Hainan staff members and the Haikou loan
    officer whose tokens sign the requests."""
    with app.app_context():
        users = {
            "admin": make_user(role="admin", region_code=PROVINCE, username=ADMIN_USERNAME),
            "staff": make_user(role="staff", region_code=REGION, username=STAFF_USERNAME),
            "province_staff": make_user(
                role="staff", region_code=PROVINCE, username=PROVINCE_STAFF_USERNAME
            ),
            "officer": make_user(role="officer", region_code=REGION, username=OFFICER_USERNAME),
        }
        db.session.commit()
        return {role: user.id for role, user in users.items()}


def _issue_token(app: Flask, user_id: int) -> str:
    with app.app_context():
        raw, _ = issue_api_token(db.session.get(User, user_id))
        db.session.commit()
    return raw


def _bearer(app: Flask, user_id: int) -> dict[str, str]:
    return {"Authorization": f"Bearer {_issue_token(app, user_id)}"}


@pytest.fixture(scope="module")
def fuzz_headers(app: Flask, fuzz_user_ids: dict[str, int]) -> dict[str, dict[str, str]]:
    """One bearer token per role for the run; DELETE /auth/token, which revokes it, is
    fuzzed apart."""
    return {role: _bearer(app, user_id) for role, user_id in fuzz_user_ids.items()}


def _headers_for(case: Any, fuzz_headers: dict[str, dict[str, str]]) -> dict[str, str]:
    return fuzz_headers[fuzz_role(case.method, case.path)]


# Loan operations that act on a loan in one state get a loan in that state, so fuzzed
# bodies reach the operation's rules instead of a 409 for the wrong state.
LOAN_SAMPLES = {
    "POST /loans/{loan_id}/review": "submitted_loan_id",
    "POST /loans/{loan_id}/approve": "reviewed_loan_id",
    "POST /loans/{loan_id}/disburse": "approved_loan_id",
    "POST /loans/{loan_id}/compensate": "defaulted_loan_id",
    "POST /loans/{loan_id}/recoveries": "compensated_loan_id",
    "POST /loans/{loan_id}/write-off": "written_off_candidate_id",
}
# The loans of the samples that go into default: disbursed at the end of January, never
# paid, swept at the end of June (122 days past due, default at 90).
DEFAULTING_DISBURSED_ON = date(2026, 1, 31)
DEFAULT_SWEEP_ON = date(2026, 6, 30)


def _lending() -> None:
    """Make Haikou lend, whatever happened before: the default policy for Haikou and
    Hainan, with suspension off, and a fund with room.

    Fuzzing may have given them a policy that refuses the loans a case needs, moved money
    out of the fund or raised its compensation rate; and the compensations the samples and
    the cases make would otherwise suspend new loans in Haikou (SPEC §9), which every loan
    builder makes through the real operations."""
    admin = _user(ADMIN_USERNAME)
    for code in (PROVINCE, REGION):
        if db.session.get(LoanPolicy, code) is not None:
            policies.clear_policy(admin, code)
        values = {"suspend_compensation_rate": Decimal("1")}
        policies.put_policy(admin, code, values, as_of=utcnow())
    summary = fund.get_fund_summary(REGION)
    if summary.headroom < Decimal("5000000.00"):
        fund_region(summary.region_code, amount="10000000.00")


def _user(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username))
    assert user is not None, username
    return user


def _defaulted_loan(**fields: Any) -> Loan:
    """A Haikou loan in default: disbursed 2026-01-31, never paid, swept on 2026-06-30."""
    loan = make_loan(disbursed_on=DEFAULTING_DISBURSED_ON, **fields)
    sweep(DEFAULT_SWEEP_ON)
    db.session.refresh(loan)
    assert loan.status == "defaulted", loan.status
    return loan


def _compensated_loan(**fields: Any) -> Loan:
    """A defaulted Haikou loan the fund has compensated (the most it covers)."""
    loan = _defaulted_loan(**fields)
    officer = make_user(role="officer", region_code=REGION)
    locked = operations.lock_loan_in_scope(officer, loan.id)
    fund.compensate_loan(
        officer,
        locked,
        {"date": date(2026, 7, 1), "reference": _unique("FUZZ-COMP-")},
        as_of=today_in_china(),
    )
    assert locked.status == "compensated", locked.status
    return locked


def _loan_sample_rows() -> dict[str, Any]:
    """Haikou loans in each state an operation acts on, a payment, a correction waiting
    for a second officer, the region of the funds and policies and a kind of event."""
    _lending()
    reviewer, approver = officers(REGION)
    # Disbursed at the end of October: nothing is overdue on the test clock.
    active = make_loan(disbursed_on=date(2026, 10, 31), reviewer=reviewer, approver=approver)
    payment = operations.post_repayment(
        approver,
        active.id,
        {"paid_on": date(2026, 11, 2), "amount": Decimal("100.00"), "reference": "FUZZ-SAMPLE"},
        as_of=today_in_china(),
    )
    founder = make_trained_founder(region_code=REGION)
    make_event(founder, "integrity_education", source="officer", note="参加诚信教育")
    return {
        "loan_id": active.id,
        "repayment_id": payment.repayment.id,
        "submitted_loan_id": make_loan(status="submitted").id,
        # Reviewed by another officer, so the fuzzing officer may approve it.
        "reviewed_loan_id": make_loan(status="reviewed").id,
        "approved_loan_id": make_loan(status="approved").id,
        "defaulted_loan_id": _defaulted_loan().id,
        "compensated_loan_id": _compensated_loan().id,
        "written_off_candidate_id": _compensated_loan().id,
        "loan_founder_id": founder.id,
        # Proposed by another officer, so the fuzzing officer may decide on it.
        "correction_id": make_correction(founder, reviewer).id,
        "region_code": REGION,
        "kind": "paid_late",
    }


def _pending_misuse_task() -> FollowupTask:
    """A Haikou loan usage follow-up done with the money not used as declared: the finding
    waits for an officer."""
    _lending()
    return make_task(
        "loan_usage",
        region_code=REGION,
        status="done",
        fund_usage_ok=False,
        misuse_state="pending",
    )


def _followup_sample_rows(staff: User) -> dict[str, Any]:
    """Open Haikou follow-ups for the staff's work (a business one, an intake services one
    for the package), a loan usage one whose misuse finding waits for the officer, and a
    notification of the staff member's own; each twice, the `hostile_` ones for the hostile
    cases only, so fuzzing having done the others does not turn those cases into 409s."""
    rows: dict[str, Any] = {}
    for prefix in ("", "hostile_"):
        rows |= {
            f"{prefix}task_id": make_task("business", region_code=REGION).id,
            f"{prefix}intake_task_id": make_task("intake_services", region_code=REGION).id,
            f"{prefix}misuse_task_id": _pending_misuse_task().id,
            f"{prefix}notification_id": make_notification(staff).id,
        }
    return rows | {"job_name": "daily"}


@pytest.fixture(scope="module")
def sample_rows(app: Flask, fuzz_session: Any, fuzz_user_ids: dict[str, int]) -> dict[str, Any]:
    """Haikou rows that path ids (and ids in hostile bodies) name, in the staff's (or, for
    loans and integrity files, the officer's) scope."""
    with app.app_context():
        cohort = make_cohort(region_code=REGION, capacity=1000)
        enrollment = make_enrollment(cohort)
        rows = {
            "founder_id": enrollment.founder_id,
            "institution_id": cohort.institution_id,
            "cohort_id": cohort.id,
            "course_id": cohort.course_id,
            "enrollment_id": enrollment.id,
            # Published and Haikou's: the Haikou staff curate it, the province's promote it.
            "project_id": make_project(region_code=REGION).id,
        }
        # Room for whatever fuzzing moves in; the residency stays open until fuzzing ends it.
        base = make_base(region_code=REGION, units=1000)
        residency = make_residency(base)
        rows |= {
            "base_id": base.id,
            "residency_id": residency.id,
            "business_id": make_business(make_founder(region_code=REGION)).id,
            # A founder's self-report waiting for review, on a business of its own.
            "observation_id": make_observation(
                make_business(make_founder(region_code=REGION)), source="founder"
            ).id,
        }
        rows |= _loan_sample_rows()
        rows |= _followup_sample_rows(_user(STAFF_USERNAME))
        rows["year"] = TARGET_YEAR  # Haikou's targets (`region_code`) of a year
        db.session.commit()
    return rows


# Follow-up operations that need a task of one kind or state get one; the path parameter
# `name` of a job is the sample `job_name`.
TASK_SAMPLES = {
    "POST /followups/{task_id}/services": "intake_task_id",
    "POST /followups/{task_id}/misuse": "misuse_task_id",
}
PARAMETER_ROWS = {"name": "job_name"}


def _path_parameters(path: str, rows: dict[str, Any], method: str = "") -> dict[str, Any]:
    """The sample rows a path names; a loan in the state the operation acts on, a task of
    the kind it works on."""
    operation = f"{method.upper()} {path}"
    samples = {
        "loan_id": LOAN_SAMPLES.get(operation, "loan_id"),
        "task_id": TASK_SAMPLES.get(operation, "task_id"),
    } | PARAMETER_ROWS
    return {name: rows[samples.get(name, name)] for name in PATH_PARAMETER.findall(path)}


@schema.exclude(method="DELETE", path="/auth/token").parametrize()
@FUZZ_SETTINGS
def test_api_conforms_to_its_document(
    case: Any, app: Flask, fuzz_headers: dict[str, dict[str, str]]
) -> None:
    case.call_and_validate(app=app, headers=_headers_for(case, fuzz_headers), checks=CHECKS)


@schema.include(path_regex=r"\{").parametrize()
@FUZZ_SETTINGS
def test_api_conforms_on_existing_rows(
    case: Any, app: Flask, fuzz_headers: dict[str, dict[str, str]], sample_rows: dict[str, Any]
) -> None:
    """The same, with every path id naming a row in scope, so fuzzed bodies reach the
    operations instead of stopping at a 404 for a random id."""
    case.path_parameters = _path_parameters(case.path, sample_rows, case.method)
    case.call_and_validate(app=app, headers=_headers_for(case, fuzz_headers), checks=CHECKS)


@schema.include(method="DELETE", path="/auth/token").parametrize()
@FUZZ_SETTINGS
def test_token_revocation_conforms_to_its_document(
    case: Any, app: Flask, fuzz_user_ids: dict[str, int]
) -> None:
    headers = _bearer(app, fuzz_user_ids["admin"])
    response = case.call_and_validate(app=app, headers=headers, checks=CHECKS)
    # The coverage phase also tries other methods on the path (405; OPTIONS answers 200).
    if case.method.upper() == "DELETE":
        assert response.status_code == 204


# Random bodies rarely pass every rule (a known region, an unused username, an existing
# founder), so these hand-made valid requests make sure each success answer is checked
# against its schema too. Builders run in the app, inside the module's transaction, and
# answer the path parameters and the JSON body (or the multipart form of an upload).
Built = tuple[dict[str, int], Any]


@dataclass(frozen=True)
class Success:
    """A valid request of one documented operation and the status it must answer."""

    method: str
    path: str
    status: int
    build: Callable[[], Built] = lambda: ({}, None)
    upload: Callable[[], dict[str, Any]] | None = None
    check: Callable[[Any], None] = lambda answer: None
    # Run in the app after the call, for what the answer itself does not show.
    check_rows: Callable[[Any], None] | None = None
    # The query string, for operations read by their filters.
    query: dict[str, str] | None = None

    @property
    def id(self) -> str:
        """The operation, as "METHOD /path"."""
        return f"{self.method} {self.path}"


def _unique(prefix: str) -> str:
    return f"{prefix}{next(_sequence)}"


def _founder_body() -> dict[str, Any]:
    return {
        "name": "李娜",
        "id_number": make_id_number(sex="female"),
        "phone": make_phone(),
        "region_code": REGION,
        "target_group": "college_graduate",
        "education": "bachelor",
        "has_reemployment_certificate": True,
        "registered_on": "2026-01-05",
    }


def _founder_account() -> Built:
    """A founder account must link to an existing founder of its own region."""
    founder = make_founder(region_code=REGION)
    return {}, {
        "username": _unique("fuzz.founder"),
        "password": DEFAULT_PASSWORD,
        "role": "founder",
        "region_code": REGION,
        "founder_id": founder.id,
    }


def _past_cohort(**fields: Any) -> Any:
    """A cohort that ended before today, so its results may be recorded now."""
    starts_on = today_in_china() - timedelta(days=30)
    return make_cohort(region_code=REGION, starts_on=starts_on, **fields)


def _cohort_body() -> Built:
    starts_on = today_in_china() + timedelta(days=7)
    return {}, {
        "course_id": get_course("SYB").id,
        "institution_id": make_institution(region_code=REGION).id,
        "region_code": REGION,
        "name": "模糊测试班",
        "starts_on": starts_on.isoformat(),
        "ends_on": (starts_on + timedelta(days=11)).isoformat(),
        "capacity": 20,
    }


def _enrollment() -> Built:
    cohort = make_cohort(region_code=REGION)
    return {"cohort_id": cohort.id}, {"founder_id": make_founder(region_code=REGION).id}


def _result() -> Built:
    cohort = _past_cohort()
    enrollment = make_enrollment(cohort)
    return {"enrollment_id": enrollment.id}, {
        "result": "passed",
        "completed_on": cohort.ends_on.isoformat(),
        "certificate_no": _unique("FZ-"),
        "attendance": 40,
    }


IMPORT_HEADERS = ("姓名", "身份证号", "手机号", "所属地区", "人员类别", "文化程度", "再就业优惠证")


def xlsx_bytes(rows: list[tuple[Any, ...]], headers: tuple[str, ...] = IMPORT_HEADERS) -> bytes:
    """A real .xlsx workbook with a header row and `rows`."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(headers))
    for line in rows:
        sheet.append(list(line))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def multipart(form: dict[str, Any]) -> dict[str, Any]:
    """Request arguments sending `form` as multipart/form-data; files are (content, name).

    Encoded here, in memory: the test client would spool a large upload to a temporary
    file that nothing closes after the request (a ResourceWarning, so an error here).
    """
    values = {
        name: FileStorage(io.BytesIO(value[0]), filename=value[1])
        if isinstance(value, tuple)
        else value
        for name, value in form.items()
    }
    boundary, body = encode_multipart(values)
    return {"data": body, "content_type": f'multipart/form-data; boundary="{boundary}"'}


def _import_upload() -> dict[str, Any]:
    row = ("王芳", make_id_number(sex="female"), make_phone(), REGION, "高校毕业生", "本科", "否")
    return {"file": (xlsx_bytes([row]), "founders.xlsx"), "mode": "valid_rows"}


def _one_created(answer: Any) -> None:
    body = answer.json()
    assert (body["created"], body["errors"]) == (1, []), body


def _founder_path() -> Built:
    return {"founder_id": make_founder(region_code=REGION).id}, None


def _project_path(status: str = "published") -> dict[str, int]:
    """A Haikou project, which the fuzzing Haikou staff member curates."""
    return {"project_id": make_project(region_code=REGION, status=status).id}


def _adoption() -> Built:
    return _project_path(), {"founder_id": make_founder(region_code=REGION).id}


def _status_is(status: str) -> Callable[[Any], None]:
    def check(answer: Any) -> None:
        assert answer.json()["status"] == status, answer.json()

    return check


def _promoted(answer: Any) -> None:
    body = answer.json()
    assert (body["level"], body["region_code"], body["status"]) == ("province", PROVINCE, "draft")
    assert body["promoted_from_id"] is not None


def _fields_are(**expected: Any) -> Callable[[Any], None]:
    def check(answer: Any) -> None:
        body = answer.json()
        assert {name: body[name] for name in expected} == expected, body

    return check


def _today() -> str:
    return today_in_china().isoformat()


def _business_path() -> dict[str, int]:
    return {"business_id": make_business(make_founder(region_code=REGION)).id}


def _new_business() -> Built:
    founder_id = make_founder(region_code=REGION).id
    return {}, business_body(founder_id, name=_unique("模糊测试小店"), uscc=make_uscc())


def _new_business_answer(answer: Any) -> None:
    body = answer.json()
    assert (body["status"], body["employees"], body["employees_at_opening"]) == (
        "operating",
        2,
        2,
    ), body
    assert (body["status_observed_on"], body["closed_on"], body["observations"]) == (
        "2026-03-01",
        None,
        [],
    ), body


def _closure() -> Built:
    return _business_path(), {
        "status": "closed",
        "employees": 0,
        "monthly_revenue": "0.00",
        "note": "模糊测试：店已关门",
    }


def _closure_answer(answer: Any) -> None:
    body = answer.json()
    today = _today()
    assert (body["status"], body["observed_on"], body["closed_on"]) == ("closed", today, today)
    assert (body["source"], body["verified"], body["review_state"]) == ("staff", True, None)
    assert body["monthly_revenue"] == "0.00"


def _business_closed(answer: Any) -> None:
    business = db.session.get(Business, answer.json()["business_id"])
    db.session.refresh(business)
    assert (business.status, business.employees) == ("closed", 0)
    assert business.closed_on.isoformat() == _today()


def _report_path() -> Built:
    business = make_business(make_founder(region_code=REGION))
    return {"observation_id": make_observation(business, source="founder").id}, None


def _waiting_report() -> Built:
    _report_path()
    return {}, None


def _pending_founder_reports(answer: Any) -> None:
    items = answer.json()["items"]
    assert items, "the sample self-report waits for review"
    assert {(item["source"], item["review_state"]) for item in items} == {("founder", "pending")}


def _base_path() -> dict[str, int]:
    base = make_base(region_code=REGION, units=3)
    make_residency(base)
    return {"base_id": base.id}


def _move_in() -> Built:
    base = make_base(region_code=REGION, units=2)
    business = make_business(make_founder(region_code=REGION))
    return {"base_id": base.id}, {
        "business_id": business.id,
        "unit_label": "A-101",
        "starts_on": "2026-04-01",
        "note": "模糊测试入驻",
    }


def _base_has_one_resident(answer: Any) -> None:
    occupancy = base_occupancy([answer.json()["base_id"]])[answer.json()["base_id"]]
    assert (occupancy.units, occupancy.occupied, occupancy.free) == (2, 1, 1)


def _move_out() -> Built:
    residency = make_residency(make_base(region_code=REGION))
    return {"residency_id": residency.id}, {
        "ends_on": _today(),
        "outcome": "closed",
        "note": "模糊测试：关门搬离",
    }


def _moved_out_closed(answer: Any) -> None:
    body = answer.json()
    assert (body["outcome"], body["ends_on"]) == ("closed", _today()), body


def _resident_business_closed(answer: Any) -> None:
    business = db.session.get(Business, answer.json()["business_id"])
    db.session.refresh(business)
    assert (business.status, business.closed_on.isoformat()) == ("closed", _today())
    base_id = answer.json()["base_id"]
    assert base_occupancy([base_id])[base_id].occupied == 0


# Loans, funds, policies and integrity files (SPEC §9, §10), as Haikou's loan officer.
def _loan_path(**fields: Any) -> dict[str, int]:
    """A Haikou loan (active unless `status` says otherwise), reviewed and approved by
    two other officers."""
    _lending()
    return {"loan_id": make_loan(**fields).id}


def _listed_loan() -> Built:
    _loan_path()
    return {}, None


def _some_items(answer: Any) -> None:
    assert answer.json()["items"], answer.json()


def _new_application() -> Built:
    _lending()
    founder = make_trained_founder(region_code=REGION)
    body = application_body(founder, amount="100000.00", guarantors=[guarantor_body()])
    return {}, body


def _new_application_answer(answer: Any) -> None:
    body = answer.json()
    assert (body["status"], body["amount"], body["term_months"]) == ("submitted", "100000.00", 12)
    assert len(body["guarantors"]) == 1, body
    assert body["schedule"] == [], body


def _active_loan_answer(answer: Any) -> None:
    body = answer.json()
    assert body["status"] == "active", body
    assert [row["n"] for row in body["schedule"]] == list(range(1, 13))


def _disbursement() -> Built:
    return _loan_path(status="approved"), {
        "disbursed_on": _today(),
        "bank_reference": _unique("FUZZ-BANK-"),
    }


def _first_installment() -> Built:
    """A loan disbursed on 2026-01-31, and its first installment paid the day before it is
    due."""
    parameters = _loan_path(disbursed_on=DEFAULTING_DISBURSED_ON)
    loan = db.session.get(Loan, parameters["loan_id"])
    return parameters, {
        "paid_on": "2026-02-27",
        "amount": str(loan.installments[0].amount_owed),
        "reference": _unique("FUZZ-PAY-"),
    }


def _first_installment_paid(answer: Any) -> None:
    loan = db.session.get(Loan, answer.json()["loan_id"])
    db.session.refresh(loan)
    first = loan.installments[0]
    assert (first.status, first.paid_off_on) == ("paid", date(2026, 2, 27))
    assert loan.installments[1].status == "pending"


def _reversal() -> Built:
    parameters, body = _first_installment()
    officer = make_user(role="officer", region_code=REGION)
    posting = operations.post_repayment(
        officer,
        parameters["loan_id"],
        body | {"paid_on": date(2026, 2, 27), "amount": Decimal(body["amount"])},
        as_of=today_in_china(),
    )
    return {"repayment_id": posting.repayment.id}, {"reason": "银行退回：账户错误"}


def _reversed(answer: Any) -> None:
    body = answer.json()
    assert (body["kind"], body["reason"]) == ("reversal", "银行退回：账户错误"), body
    loan = db.session.get(Loan, body["loan_id"])
    db.session.refresh(loan)
    assert loan.installments[0].paid_off_on is None


def _compensation() -> Built:
    _lending()
    return {"loan_id": _defaulted_loan().id}, {
        "date": _today(),
        "reference": _unique("FUZZ-COMP-"),
        "reason": "逾期 90 天以上，基金代偿",
    }


def _compensated_path() -> dict[str, int]:
    _lending()
    return {"loan_id": _compensated_loan().id}


def _recovery() -> Built:
    return _compensated_path(), {
        "date": _today(),
        "amount": "1000.00",
        "reference": _unique("FUZZ-REC-"),
        "source": "borrower",
    }


def _loan_status_is(status: str) -> Callable[[Any], None]:
    def check(answer: Any) -> None:
        assert answer.json()["loan_status"] == status, answer.json()

    return check


def _write_off() -> Built:
    return _compensated_path(), {"date": _today(), "reason": "借款人失联，担保人无力偿还"}


def _integrity_founder() -> dict[str, int]:
    founder = make_founder(region_code=REGION)
    make_event(founder, "integrity_education", source="officer", note="参加诚信教育")
    return {"founder_id": founder.id}


def _file_answer(answer: Any) -> None:
    body = answer.json()
    assert (body["score"], body["grade"]) == (105, "B"), body
    assert [event["kind"] for event in body["events"]] == ["integrity_education"]


def _proposed_correction() -> Built:
    founder = make_founder(region_code=REGION)
    # Proposed by another officer: the fuzzing officer is the second one.
    proposer = make_user(role="officer", region_code=REGION)
    return {"correction_id": make_correction(founder, proposer).id}, None


def _waiting_correction() -> Built:
    _proposed_correction()
    return {}, None


def _correction_state_is(state: str) -> Callable[[Any], None]:
    def check(answer: Any) -> None:
        body = answer.json()
        assert body["state"] == state, body
        assert (body["event_id"] is not None) is (state == "approved"), body

    return check


def _pending_corrections(answer: Any) -> None:
    items = answer.json()["items"]
    assert items, "a correction waits for a second officer"
    assert {item["state"] for item in items} == {"pending"}


def _correction_waits(answer: Any) -> None:
    correction = db.session.get(IntegrityCorrection, answer.json()["id"])
    assert correction is not None
    assert correction.state == "pending"


def _statement_upload() -> dict[str, Any]:
    """A bank statement with one row: the first installment of a loan, by its id."""
    parameters, body = _first_installment()
    line = f"{body['reference']},{parameters['loan_id']},{body['paid_on']},{body['amount']}"
    csv = f"交易流水号,贷款编号,还款日期,金额\n{line}\n".encode()
    return {"file": (csv, "statement.csv")}


def _one_posted(answer: Any) -> None:
    body = answer.json()
    assert (body["posted"], body["already_posted"], body["errors"]) == (1, 0, 0), body
    assert [row["outcome"] for row in body["rows"]] == ["posted"]


# Follow-ups (SPEC §11): Haikou staff work every kind, the officer decides on misuse.
def _task_path(kind: str = "business") -> dict[str, int]:
    """An open Haikou follow-up of `kind` (its subject made for it), due on 2026-06-01."""
    if kind == "loan_usage":
        _lending()
    return {"task_id": make_task(kind, region_code=REGION).id}


def _listed_task() -> Built:
    _task_path()
    return {}, None


def _haikou_tasks(answer: Any) -> None:
    items = answer.json()["items"]
    assert items, "a Haikou task is open"
    # Haikou's and its districts' tasks: the staff member's area.
    assert all(item["region_code"].startswith(REGION[:4]) for item in items), items


def _task_detail(answer: Any) -> None:
    body = answer.json()
    assert (body["kind"], body["status"], body["attempts"], body["services"]) == (
        "business",
        "open",
        [],
        [],
    ), body


def _business_completion() -> Built:
    return _task_path(), {
        "done_on": _today(),
        "channel": "visit",
        "business_status": "operating",
        "employees": 4,
        "monthly_revenue": "12000.00",
        "employment": "self_employed",
        "note": "模糊测试：上门回访",
    }


def _completed_with_an_observation(answer: Any) -> None:
    body = answer.json()
    assert (body["status"], body["done_on"], body["channel"]) == ("done", _today(), "visit")
    assert (body["business_status"], body["employees"], body["monthly_revenue"]) == (
        "operating",
        4,
        "12000.00",
    ), body
    assert body["observation_id"] is not None, body


def _business_observed(answer: Any) -> None:
    task = db.session.get(FollowupTask, answer.json()["id"])
    business = db.session.get(Business, task.subject_id)
    db.session.refresh(business)
    assert (business.employees, business.status_observed_on.isoformat()) == (4, _today())


def _intake_package_completion() -> Built:
    """The whole intake package delivered in the call that completes the task."""
    return _task_path("intake_services"), {
        "done_on": _today(),
        "channel": "phone",
        "services": ["career_guidance", "lead", "lead", "lead", "training_offer"],
    }


def _attempt() -> Built:
    return _task_path(), {"attempted_on": _today(), "channel": "phone", "note": "无人接听"}


def _service_item() -> Built:
    return _task_path("intake_services"), {
        "item": "lead",
        "detail": "椰子糖加工项目",
        "provided_on": _today(),
        "channel": "phone",
    }


def _assignment() -> Built:
    colleague = make_user(role="staff", region_code=REGION)
    return _task_path(), {"assignee_id": colleague.id}


def _assigned(answer: Any) -> None:
    body = answer.json()
    assert body["assignee_id"] is not None, body
    assert body["status"] == "open", body


def _misuse_confirmation() -> Built:
    return {"task_id": _pending_misuse_task().id}, {
        "decision": "confirm",
        "note": "贷款用于购车，与申报用途不符",
    }


def _misuse_in_the_file(answer: Any) -> None:
    founder_id = answer.json()["founder_id"]
    count = db.session.scalar(
        select(func.count())
        .select_from(IntegrityEvent)
        .where(IntegrityEvent.founder_id == founder_id, IntegrityEvent.kind == "fund_misuse")
    )
    assert count == 1


# Notifications, the staff member's own (any role may read theirs).
def _own_notification() -> dict[str, int]:
    return {"notification_id": make_notification(_user(STAFF_USERNAME)).id}


def _waiting_notification() -> Built:
    _own_notification()
    return {}, None


def _all_marked(answer: Any) -> None:
    assert answer.json()["marked"] >= 1, answer.json()
    user = _user(STAFF_USERNAME)
    unread = db.session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
    )
    assert unread == 0


# Scheduled jobs (SPEC §12), as the administrator, on the fake registry (`fake_jobs`).
def _job_run() -> Built:
    return {"name": "daily"}, {"as_of": "2026-06-30"}


def _run_succeeded(answer: Any) -> None:
    body = answer.json()
    assert (body["job"], body["as_of"], body["status"], body["trigger"], body["error"]) == (
        "daily",
        "2026-06-30",
        "succeeded",
        "manual",
        "",
    ), body
    assert set(body["counts"]) == {"first", "middle", "last"}, body
    assert body["holder"] == ADMIN_USERNAME


def _past_run() -> Built:
    run_job("monthly", date(2026, 6, 1), trigger=RunTrigger.MANUAL, holder="fuzz")
    return {}, None


def _kpis_answered(response: Any) -> None:
    answer = response.json()
    assert (answer["region_code"], answer["as_of"]) == (REGION, "2026-06-30")
    assert set(answer) == {
        "region_code",
        "as_of",
        "training",
        "opening",
        "survival",
        "jobs",
        "loans",
        "followups",
    }


def _targets_set(answer: Any) -> None:
    body = answer.json()
    assert (body["year"], body["region_code"]) == (TARGET_YEAR, PROVINCE), body
    assert (body["trainees"], body["loans_amount"]) == (300, "1500000.00"), body
    assert body["progress"]["trainees"]["target"] == 300, body
    assert isinstance(body["split_warnings"], dict), body


def _runs_listed(answer: Any) -> None:
    items = answer.json()["items"]
    assert any((item["job"], item["as_of"]) == ("monthly", "2026-06-01") for item in items)


SUCCESSES = [
    Success("GET", "/openapi.json", 200),
    Success("GET", "/regions", 200),
    Success(
        "POST",
        "/regions",
        201,
        lambda: (
            {},
            {"code": "469099", "name": "测试县", "level": "city", "parent_code": "460000"},
        ),
    ),
    Success("GET", "/users", 200),
    Success("POST", "/users", 201, _founder_account),
    Success(
        "POST",
        "/auth/token",
        201,
        lambda: ({}, {"username": ADMIN_USERNAME, "password": DEFAULT_PASSWORD}),
    ),
    Success("DELETE", "/auth/token", 204),
    Success("POST", "/founders", 201, lambda: ({}, _founder_body())),
    Success("GET", "/founders", 200),
    Success("GET", "/founders/{founder_id}", 200, _founder_path),
    Success(
        "PATCH",
        "/founders/{founder_id}",
        200,
        lambda: (_founder_path()[0], {"phone": make_phone(), "education": "college"}),
    ),
    Success("POST", "/imports/founders", 200, upload=_import_upload, check=_one_created),
    Success(
        "POST",
        "/institutions",
        201,
        lambda: ({}, {"name": _unique("模糊测试学校"), "region_code": REGION, "designated": True}),
    ),
    Success("GET", "/institutions", 200),
    Success(
        "GET",
        "/institutions/{institution_id}",
        200,
        lambda: ({"institution_id": make_institution(region_code=REGION).id}, None),
    ),
    Success(
        "POST",
        "/courses",
        201,
        lambda: ({}, {"code": _unique("FZ"), "name": "直播带货", "kind": "skill", "hours": 40}),
    ),
    Success("GET", "/courses", 200),
    Success("POST", "/cohorts", 201, _cohort_body),
    Success("GET", "/cohorts", 200),
    Success(
        "GET",
        "/cohorts/{cohort_id}",
        200,
        lambda: ({"cohort_id": make_enrollment(make_cohort(region_code=REGION)).cohort_id}, None),
    ),
    Success("POST", "/cohorts/{cohort_id}/enrollments", 201, _enrollment),
    Success("POST", "/enrollments/{enrollment_id}/result", 200, _result),
    # Project library (D29)
    Success(
        "POST",
        "/library/projects",
        201,
        lambda: ({}, project_body(title=_unique("模糊测试项目"))),
        check=_status_is("draft"),
    ),
    Success("GET", "/library/projects", 200),
    Success("GET", "/library/projects/{project_id}", 200, lambda: (_project_path(), None)),
    Success(
        "PATCH",
        "/library/projects/{project_id}",
        200,
        lambda: (_project_path("draft"), {"title": "改良椰子糖", "investment_max": "90000.00"}),
    ),
    Success(
        "POST",
        "/library/projects/{project_id}/publish",
        200,
        lambda: (_project_path("draft"), None),
        check=_status_is("published"),
    ),
    Success(
        "POST",
        "/library/projects/{project_id}/retire",
        200,
        lambda: (_project_path(), None),
        check=_status_is("retired"),
    ),
    Success(
        "POST",
        "/library/projects/{project_id}/revise",
        200,
        lambda: (_project_path("retired"), None),
        check=_status_is("draft"),
    ),
    # As the province's staff (PROVINCE_OPERATIONS).
    Success(
        "POST",
        "/library/projects/{project_id}/promote",
        201,
        lambda: (_project_path(), None),
        check=_promoted,
    ),
    Success("POST", "/library/projects/{project_id}/adoptions", 201, _adoption),
    # Businesses and observations (SPEC §8)
    Success("POST", "/businesses", 201, _new_business, check=_new_business_answer),
    Success("GET", "/businesses", 200),
    Success(
        "GET",
        "/businesses/{business_id}",
        200,
        lambda: (_business_path(), None),
        check=_fields_are(status="operating", employees=2, observations=[]),
    ),
    Success(
        "PATCH",
        "/businesses/{business_id}",
        200,
        lambda: (_business_path(), {"name": "改名后的小店", "employees_at_opening": 5}),
        # No observation yet: the current head count is the opening one.
        check=_fields_are(name="改名后的小店", employees_at_opening=5, employees=5),
    ),
    Success(
        "POST",
        "/businesses/{business_id}/observations",
        201,
        _closure,
        check=_closure_answer,
        check_rows=_business_closed,
    ),
    Success("GET", "/observations/reports", 200, _waiting_report, check=_pending_founder_reports),
    Success(
        "POST",
        "/observations/{observation_id}/verify",
        200,
        _report_path,
        check=_fields_are(review_state="verified", verified=True, source="founder"),
    ),
    Success(
        "POST",
        "/observations/{observation_id}/query",
        200,
        lambda: (_report_path()[0], {"note": "营业额是否属实？"}),
        check=_fields_are(review_state="queried", verified=False, query_note="营业额是否属实？"),
    ),
    # Incubation (SPEC §8)
    Success(
        "POST",
        "/incubation/bases",
        201,
        lambda: ({}, base_body(units=20)),
        check=_fields_are(units=20, occupied=0, free=20, residents=[]),
    ),
    Success("GET", "/incubation/bases", 200),
    Success(
        "GET",
        "/incubation/bases/{base_id}",
        200,
        lambda: (_base_path(), None),
        check=_fields_are(units=3, occupied=1, free=2),
    ),
    Success(
        "POST",
        "/incubation/bases/{base_id}/residencies",
        201,
        _move_in,
        check=_fields_are(unit_label="A-101", starts_on="2026-04-01", ends_on=None, outcome=None),
        check_rows=_base_has_one_resident,
    ),
    Success(
        "POST",
        "/residencies/{residency_id}/end",
        200,
        _move_out,
        check=_moved_out_closed,
        check_rows=_resident_business_closed,
    ),
    # Loans (SPEC §9), as Haikou's loan officer; fund entries and policies as the admin.
    Success("POST", "/loans", 201, _new_application, check=_new_application_answer),
    Success("GET", "/loans", 200, _listed_loan, check=_some_items),
    Success(
        "GET", "/loans/{loan_id}", 200, lambda: (_loan_path(), None), check=_active_loan_answer
    ),
    Success(
        "POST",
        "/loans/{loan_id}/review",
        200,
        lambda: (_loan_path(status="submitted"), {"decision": "approve", "note": "材料齐全"}),
        check=_status_is("reviewed"),
    ),
    # Reviewed by another officer: the fuzzing officer is the second pair of eyes.
    Success(
        "POST",
        "/loans/{loan_id}/approve",
        200,
        lambda: (_loan_path(status="reviewed"), {"decision": "approve", "note": ""}),
        check=_status_is("approved"),
    ),
    Success("POST", "/loans/{loan_id}/disburse", 200, _disbursement, check=_active_loan_answer),
    Success(
        "POST",
        "/loans/{loan_id}/repayments",
        201,
        _first_installment,
        check=_fields_are(kind="payment", paid_on="2026-02-27"),
        check_rows=_first_installment_paid,
    ),
    Success("POST", "/repayments/{repayment_id}/reverse", 201, _reversal, check_rows=_reversed),
    Success(
        "POST",
        "/loans/{loan_id}/compensate",
        201,
        _compensation,
        check=_loan_status_is("compensated"),
    ),
    Success(
        "POST",
        "/loans/{loan_id}/recoveries",
        201,
        _recovery,
        check=_loan_status_is("compensated"),  # 1,000 of the compensation: more to recover
    ),
    Success(
        "POST",
        "/loans/{loan_id}/write-off",
        200,
        _write_off,
        check=_status_is("written_off"),
    ),
    Success("POST", "/imports/repayments", 200, upload=_statement_upload, check=_one_posted),
    Success(
        "GET",
        "/funds/{region_code}",
        200,
        lambda: ({"region_code": REGION}, None),
        check=_fields_are(requested_region_code=REGION),
    ),
    Success(
        "POST",
        "/funds/{region_code}/entries",
        201,
        lambda: (
            {"region_code": PROVINCE},
            {"date": _today(), "amount": "50000.00", "reference": _unique("FUZZ-DEPOSIT-")},
        ),
        check=_fields_are(amount="50000.00"),
    ),
    Success(
        "GET",
        "/loan-policies/{region_code}",
        200,
        lambda: ({"region_code": REGION}, None),
        check=_fields_are(region_code=REGION),
    ),
    # Qionghai, which no other case lends in.
    Success(
        "PUT",
        "/loan-policies/{region_code}",
        200,
        lambda: ({"region_code": "469002"}, {"max_amount": "200000.00", "annual_rate": "0.0345"}),
        check=_fields_are(source="own", max_amount="200000.00", annual_rate="0.0345"),
    ),
    # Integrity files (SPEC §10)
    Success(
        "GET",
        "/founders/{founder_id}/integrity",
        200,
        lambda: (_integrity_founder(), None),
        check=_file_answer,
    ),
    Success(
        "POST",
        "/founders/{founder_id}/integrity-events",
        201,
        lambda: (
            _integrity_founder(),
            {"kind": "false_information", "occurred_on": _today(), "note": "提供虚假经营材料"},
        ),
        check=_fields_are(kind="false_information", points=-50, source="officer"),
    ),
    Success(
        "POST",
        "/founders/{founder_id}/integrity-events",
        202,
        lambda: (
            _integrity_founder(),
            {"kind": "correction", "points": 15, "note": "还款记录录入错误，银行已出具证明"},
        ),
        check=_fields_are(state="pending", points=15, event_id=None),
        check_rows=_correction_waits,
    ),
    Success(
        "GET",
        "/integrity/corrections",
        200,
        _waiting_correction,
        check=_pending_corrections,
    ),
    Success(
        "POST",
        "/integrity/corrections/{correction_id}/approve",
        200,
        lambda: (_proposed_correction()[0], {"note": "核实无误"}),
        check=_correction_state_is("approved"),
    ),
    Success(
        "POST",
        "/integrity/corrections/{correction_id}/reject",
        200,
        lambda: (_proposed_correction()[0], {"note": "证明材料不足"}),
        check=_correction_state_is("rejected"),
    ),
    Success("GET", "/integrity/points", 200),
    Success(
        "PUT",
        "/integrity/points/{kind}",
        200,
        lambda: ({"kind": "paid_late"}, {"points": -6}),
        check=_fields_are(kind="paid_late", points=-6, default_points=-5),
    ),
    # Follow-ups (SPEC §11)
    Success("GET", "/followups", 200, _listed_task, check=_haikou_tasks),
    Success("GET", "/followups/{task_id}", 200, lambda: (_task_path(), None), check=_task_detail),
    Success(
        "POST",
        "/followups/{task_id}/complete",
        200,
        _business_completion,
        check=_completed_with_an_observation,
        check_rows=_business_observed,
    ),
    Success(
        "POST",
        "/followups/{task_id}/complete",
        200,
        _intake_package_completion,
        check=_fields_are(kind="intake_services", status="done", channel="phone"),
    ),
    Success(
        "POST",
        "/followups/{task_id}/attempts",
        201,
        _attempt,
        check=_fields_are(channel="phone", note="无人接听"),
    ),
    Success(
        "POST",
        "/followups/{task_id}/services",
        201,
        _service_item,
        check=_fields_are(item="lead", detail="椰子糖加工项目"),
    ),
    Success("POST", "/followups/{task_id}/assign", 200, _assignment, check=_assigned),
    # As Haikou's loan officer (OFFICER_FOLLOWUP_OPERATIONS).
    Success(
        "POST",
        "/followups/{task_id}/misuse",
        200,
        _misuse_confirmation,
        check=_fields_are(misuse_state="confirmed", status="done", fund_usage_ok=False),
        check_rows=_misuse_in_the_file,
    ),
    # Notifications
    Success("GET", "/notifications", 200, _waiting_notification, check=_some_items),
    Success(
        "POST",
        "/notifications/{notification_id}/read",
        200,
        lambda: (_own_notification(), None),
        check=_fields_are(read=True, kind="followups_due"),
    ),
    Success("POST", "/notifications/read-all", 200, _waiting_notification, check_rows=_all_marked),
    # Scheduled jobs (SPEC §12), as the administrator.
    Success("POST", "/jobs/{name}/run", 200, _job_run, check=_run_succeeded),
    Success("GET", "/jobs/runs", 200, _past_run, check=_runs_listed),
    # KPIs (SPEC §11, §14), as the city's staff.
    Success(
        "GET",
        "/kpis",
        200,
        query={"region_code": REGION, "as_of": "2026-06-30"},
        check=_kpis_answered,
    ),
    # Targets (SPEC §13): the city's staff read Haikou's; the province's staff set Hainan's.
    Success(
        "GET",
        "/targets/{year}/{region_code}",
        200,
        lambda: ({"year": TARGET_YEAR, "region_code": REGION}, None),
        query={"as_of": "2026-06-30"},
        check=_fields_are(year=TARGET_YEAR, region_code=REGION, as_of="2026-06-30"),
    ),
    Success(
        "PUT",
        "/targets/{year}/{region_code}",
        200,
        lambda: (
            {"year": TARGET_YEAR, "region_code": PROVINCE},
            {"trainees": 300, "loans_amount": "1500000.00", "jobs_created": None},
        ),
        check=_targets_set,
    ),
]


@pytest.mark.parametrize("success", [pytest.param(s, id=s.id) for s in SUCCESSES])
def test_success_answers_match_their_schemas(
    app: Flask, fuzz_user_ids: dict[str, int], success: Success
) -> None:
    headers = _bearer(app, fuzz_user_ids[fuzz_role(success.method, success.path)])
    with app.app_context():
        parameters, body = success.build()
        extra = multipart(success.upload()) if success.upload else {}
        db.session.commit()
    operation = schema[success.path][success.method]
    case_fields: dict[str, Any] = {"path_parameters": parameters} if parameters else {}
    if body is not None:
        case_fields["body"] = body
    if success.query is not None:
        case_fields["query"] = success.query
    case = operation.Case(**case_fields)
    response = case.call_and_validate(app=app, headers=headers, checks=CHECKS, **extra)
    assert response.status_code == success.status, response.text
    success.check(response)
    if success.check_rows is not None:
        with app.app_context():
            success.check_rows(response)


def test_every_loan_operation_has_its_caller() -> None:
    """Loan and integrity operations are called by an officer or an admin, never by the
    centre staff, who would get 403 before any input is read."""
    documented = {
        f"{method.upper()} {path}"
        for path, item in schema.raw_schema["paths"].items()
        for method in item
        if LOAN_PATH.search(path)
    }
    assert documented == OFFICER_OPERATIONS | (ADMIN_OPERATIONS & documented)
    assert not OFFICER_OPERATIONS & ADMIN_OPERATIONS


def test_every_job_operation_is_the_admins_and_misuse_the_officers() -> None:
    """Jobs are run and listed by an administrator (JOBS_RUN), misuse is decided by an
    officer (INTEGRITY_WRITE); staff would get 403 before any input is read."""
    documented = {
        f"{method.upper()} {path}"
        for path, item in schema.raw_schema["paths"].items()
        for method in item
    }
    jobs = {operation for operation in documented if operation.split()[1].startswith("/jobs/")}
    assert jobs
    assert {fuzz_role(*operation.split()) for operation in jobs} == {"admin"}
    followups = {operation for operation in documented if " /followups" in operation}
    roles = {operation: fuzz_role(*operation.split()) for operation in followups}
    assert {op for op, role in roles.items() if role == "officer"} == OFFICER_FOLLOWUP_OPERATIONS
    assert set(roles.values()) == {"staff", "officer"}


def test_every_operation_has_a_success_case() -> None:
    documented = {
        f"{method.upper()} {path}"
        for path, item in schema.raw_schema["paths"].items()
        for method in item
    }
    assert documented == {success.id for success in SUCCESSES}


# Inputs fuzzing has turned up, and the classic hostile ones, kept as fixed cases so every
# run tries them on both engines (SPEC §14, §15): PostgreSQL text cannot hold NUL, no SQL
# offset holds a page number near 2**63, no integer column holds 2**63, no date column
# holds year 0 or 9999. None may crash the server; writes must be refused (4xx), so that
# nothing SQLite would store is a 500 on PostgreSQL. A search may refuse or find nothing.
NUL = "a\x00b"
TEN_MB = "x" * (10 * 1024 * 1024)
HUGE = 2**63
BEYOND_64_BITS = 10**30


@dataclass(frozen=True)
class Row:
    """In a hostile body: the id of one of the sample rows (`sample_rows`)."""

    name: str


@dataclass(frozen=True)
class Hostile:
    """A hostile request. Path ids name sample rows; `upload` is a multipart form whose
    files are (content, filename); `created`, if set, is how many founders an import that
    answers 200 may create, and `posted` how many repayments a statement may post."""

    method: str
    path: str
    query: dict[str, str] | None = None
    body: Any = None
    must_refuse: bool = True
    upload: dict[str, Any] | None = None
    created: int | None = None
    posted: int | None = None


def _resolve(body: Any, rows: dict[str, Any]) -> Any:
    if isinstance(body, Row):
        return rows[body.name]
    if isinstance(body, dict):
        return {key: _resolve(value, rows) for key, value in body.items()}
    if isinstance(body, list):
        return [_resolve(value, rows) for value in body]
    return body


def hostile(case_id: str, *args: Any, **kwargs: Any) -> Any:
    """One hostile case as a pytest parameter."""
    return pytest.param(Hostile(*args, **kwargs), id=case_id)


def _founder_with(**changes: Any) -> dict[str, Any]:
    return {
        "name": "赵六",
        "id_number": make_id_number(),  # valid and unused: only the hostile field is wrong
        "phone": make_phone(),
        "region_code": REGION,
        "target_group": "laid_off",
    } | changes


def _cohort_with(**changes: Any) -> dict[str, Any]:
    return {
        "course_id": Row("course_id"),
        "institution_id": Row("institution_id"),
        "region_code": REGION,
        "starts_on": "2026-04-01",
        "ends_on": "2026-04-12",
        "capacity": 20,
    } | changes


def _result_with(**changes: Any) -> dict[str, Any]:
    return {"result": "failed", "completed_on": "2026-03-13"} | changes


def _project_with(**changes: Any) -> dict[str, Any]:
    return project_body() | changes


def _business_with(**changes: Any) -> dict[str, Any]:
    return business_body(Row("founder_id")) | changes


def _observation_with(**changes: Any) -> dict[str, Any]:
    return {
        "observed_on": "2026-06-01",
        "status": "operating",
        "employees": 3,
        "monthly_revenue": "8000.00",
    } | changes


def _base_with(**changes: Any) -> dict[str, Any]:
    return base_body() | changes


def _residency_with(**changes: Any) -> dict[str, Any]:
    return {
        "business_id": Row("business_id"),
        "unit_label": "B-201",
        "starts_on": "2026-04-01",
    } | changes


def _end_with(**changes: Any) -> dict[str, Any]:
    return {"ends_on": "2026-06-30", "outcome": "graduated"} | changes


def _business_cases() -> list[Any]:
    """Hostile bodies and queries of the business and observation operations.

    Fuzzing before these cases may have closed the sample business or moved its opening
    day, so only values wrong whatever the rows' state are here (rules that depend on the
    state, such as a reopening or a day before the opening, are tested in their features).
    """
    create, one = "/businesses", "/businesses/{business_id}"
    observe = "/businesses/{business_id}/observations"
    query = "/observations/{observation_id}/query"
    cases = [
        ("NUL name", _business_with(name=NUL)),
        ("NUL industry", _business_with(industry=NUL)),
        ("NUL region", _business_with(region_code=NUL)),
        ("NUL uscc", _business_with(uscc="92460100MA5T\x0012345")),
        ("10 MB name", _business_with(name=TEN_MB)),
        ("10 MB uscc", _business_with(uscc=TEN_MB)),
        ("uscc wrong check character", _business_with(uscc="92460100000000000X")),
        ("huge employees", _business_with(employees_at_opening=HUGE)),
        ("employees beyond 64 bits", _business_with(employees_at_opening=BEYOND_64_BITS)),
        ("employees 2**31", _business_with(employees_at_opening=2**31)),
        ("employees -1", _business_with(employees_at_opening=-1)),
        ("employees as text", _business_with(employees_at_opening="2")),
        ("employees true", _business_with(employees_at_opening=True)),
        ("founder id 2**31", _business_with(founder_id=2**31)),
        ("founder id huge", _business_with(founder_id=HUGE)),
        ("founder id beyond 64 bits", _business_with(founder_id=BEYOND_64_BITS)),
        ("founder id as text", _business_with(founder_id="1")),
        ("library project 2**31", _business_with(library_project_id=2**31)),
        ("library project beyond 64 bits", _business_with(library_project_id=BEYOND_64_BITS)),
        ("library project as text", _business_with(library_project_id="abc")),
        ("opened 0000-00-00", _business_with(opened_on="0000-00-00")),
        ("opened 0001-01-01", _business_with(opened_on="0001-01-01")),
        ("opened 9999-12-31", _business_with(opened_on="9999-12-31")),
        ("opened 2026-02-30", _business_with(opened_on="2026-02-30")),
        ("opened in the future", _business_with(opened_on="2100-01-01")),
        ("list name", _business_with(name=["椰香小吃店"])),
        ("list industry", _business_with(industry=["catering"])),
        ("list uscc", _business_with(uscc=[make_uscc()])),
        ("number as name", _business_with(name=12345)),
    ]
    found = [hostile(f"business: {name}", "POST", create, body=body) for name, body in cases]
    found.append(hostile("business: body is a list", "POST", create, body=[business_body(1)]))
    patches = [
        ("NUL name", {"name": NUL}),
        ("10 MB name", {"name": TEN_MB}),
        ("null name", {"name": None}),
        ("blank name", {"name": "   "}),
        ("NUL uscc", {"uscc": "92460100MA5T\x0012345"}),
        ("huge employees", {"employees_at_opening": HUGE}),
        ("employees beyond 64 bits", {"employees_at_opening": BEYOND_64_BITS}),
        ("opened 0000-00-00", {"opened_on": "0000-00-00"}),
        ("opened 9999-12-31", {"opened_on": "9999-12-31"}),
        ("opened 2026-02-30", {"opened_on": "2026-02-30"}),
        ("library project 2**31", {"library_project_id": 2**31}),
        ("library project beyond 64 bits", {"library_project_id": BEYOND_64_BITS}),
        ("list region", {"region_code": [REGION]}),
        ("NUL region", {"region_code": NUL}),
        ("number as name", {"name": 7}),
    ]
    found += [hostile(f"business patch: {name}", "PATCH", one, body=b) for name, b in patches]
    found.append(hostile("business patch: body is a list", "PATCH", one, body=[{"name": "x"}]))
    observations = [
        ("NUL note", _observation_with(note=NUL)),
        ("NUL status", _observation_with(status=NUL)),
        ("10 MB note", _observation_with(note=TEN_MB)),
        ("huge employees", _observation_with(employees=HUGE)),
        ("employees beyond 64 bits", _observation_with(employees=BEYOND_64_BITS)),
        ("employees 2**31", _observation_with(employees=2**31)),
        ("employees -1", _observation_with(employees=-1)),
        ("employees as text", _observation_with(employees="3")),
        ("money 1e309", _observation_with(monthly_revenue="1e309")),
        ("money NaN", _observation_with(monthly_revenue="NaN")),
        ("money Infinity", _observation_with(monthly_revenue="Infinity")),
        ("money -Infinity", _observation_with(monthly_revenue="-Infinity")),
        ("money -1", _observation_with(monthly_revenue="-1")),
        ("money 0.001", _observation_with(monthly_revenue="0.001")),
        ("money over the cap", _observation_with(monthly_revenue="10000000.01")),
        ("money 14 digits", _observation_with(monthly_revenue="99999999999999")),
        ("money a huge JSON number", _observation_with(monthly_revenue=HUGE)),
        ("money beyond 64 bits", _observation_with(monthly_revenue=BEYOND_64_BITS)),
        ("money a JSON float", _observation_with(monthly_revenue=8000.5)),
        ("money a list", _observation_with(monthly_revenue=["8000.00"])),
        ("money NUL", _observation_with(monthly_revenue="80\x0000")),
        ("observed 0000-00-00", _observation_with(observed_on="0000-00-00")),
        ("observed 0001-01-01", _observation_with(observed_on="0001-01-01")),
        ("observed 9999-12-31", _observation_with(observed_on="9999-12-31")),
        ("observed 2026-02-30", _observation_with(observed_on="2026-02-30")),
        ("observed in the future", _observation_with(observed_on="2100-01-01")),
        ("closed_on for an operating status", _observation_with(closed_on="2026-06-01")),
        (
            "closed_on for a suspension",
            _observation_with(status="suspended", closed_on="2026-06-01"),
        ),
        (
            "closed 0000-00-00",
            _observation_with(status="closed", employees=0, closed_on="0000-00-00"),
        ),
        (
            "closed 9999-12-31",
            _observation_with(status="closed", employees=0, closed_on="9999-12-31"),
        ),
        (
            "closed 2026-02-30",
            _observation_with(status="closed", employees=0, closed_on="2026-02-30"),
        ),
        (
            "closed after the observation",
            _observation_with(status="closed", employees=0, closed_on="2026-06-02"),
        ),
        ("closed with employees", _observation_with(status="closed", employees=4)),
        ("unknown status", _observation_with(status="bankrupt")),
        ("list status", _observation_with(status=["operating"])),
        ("number as note", _observation_with(note=5)),
        ("huge reopened flag", _observation_with(reopened=HUGE)),
    ]
    found += [
        hostile(f"observation: {name}", "POST", observe, body=body) for name, body in observations
    ]
    found.append(
        hostile("observation: body is a list", "POST", observe, body=[_observation_with()])
    )
    queries = [
        ("NUL note", {"note": NUL}),
        ("10 MB note", {"note": TEN_MB}),
        ("blank note", {"note": "   "}),
        ("null note", {"note": None}),
        ("list note", {"note": ["为什么？"]}),
    ]
    found += [hostile(f"query: {name}", "POST", query, body=body) for name, body in queries]
    found.append(hostile("query: body is a list", "POST", query, body=[{"note": "x"}]))
    filters = [
        ("per_page=0", {"per_page": "0"}),
        ("per_page=201", {"per_page": "201"}),
        ("page beyond 64 bits", {"page": str(BEYOND_64_BITS)}),
        ("NUL status", {"status": NUL}),
        ("NUL industry", {"industry": NUL}),
        ("opened from 0000-00-00", {"opened_from": "0000-00-00"}),
        ("opened to 9999-12-31", {"opened_to": "9999-12-31"}),
        ("opened to 2026-02-30", {"opened_to": "2026-02-30"}),
        ("to before from", {"opened_from": "2026-05-01", "opened_to": "2026-04-01"}),
        ("huge founder", {"founder_id": str(HUGE)}),
        ("founder beyond 32 bits", {"founder_id": str(2**31)}),
        ("library project beyond 64 bits", {"library_project_id": str(BEYOND_64_BITS)}),
    ]
    found += [hostile(f"businesses: {name}", "GET", create, q) for name, q in filters]
    found += [
        hostile("businesses: NUL search", "GET", create, {"q": NUL}, must_refuse=False),
        hostile("businesses: NUL region", "GET", create, {"region_code": NUL}, must_refuse=False),
        hostile("reports: NUL state", "GET", "/observations/reports", {"state": NUL}),
        hostile("reports: unknown state", "GET", "/observations/reports", {"state": "lost"}),
        hostile("reports: per_page=201", "GET", "/observations/reports", {"per_page": "201"}),
        hostile(
            "reports: page beyond 64 bits",
            "GET",
            "/observations/reports",
            {"page": str(BEYOND_64_BITS)},
        ),
    ]
    return found


def _incubation_cases() -> list[Any]:
    """Hostile bodies and queries of the incubation operations."""
    bases = "/incubation/bases"
    move_in = "/incubation/bases/{base_id}/residencies"
    move_out = "/residencies/{residency_id}/end"
    base_cases = [
        ("NUL name", _base_with(name=NUL)),
        ("NUL address", _base_with(address=NUL)),
        ("NUL operator", _base_with(operator_name=NUL)),
        ("NUL phone", _base_with(operator_phone="0898\x0066668888")),
        ("NUL region", _base_with(region_code=NUL)),
        ("NUL kind", _base_with(kind=NUL)),
        ("10 MB name", _base_with(name=TEN_MB)),
        ("10 MB address", _base_with(address=TEN_MB)),
        ("10 MB phone", _base_with(operator_phone="1" * (10 * 1024 * 1024))),
        ("huge units", _base_with(units=HUGE)),
        ("units beyond 64 bits", _base_with(units=BEYOND_64_BITS)),
        ("units 2**31", _base_with(units=2**31)),
        ("units 0", _base_with(units=0)),
        ("units -1", _base_with(units=-1)),
        ("units as text", _base_with(units="10")),
        ("units a float", _base_with(units=1.5)),
        ("list name", _base_with(name=["基地"])),
        ("list kind", _base_with(kind=["park"])),
        ("number as name", _base_with(name=42)),
        ("unknown region", _base_with(region_code="999999")),
        ("another city", _base_with(region_code="460200")),
    ]
    found = [hostile(f"base: {name}", "POST", bases, body=body) for name, body in base_cases]
    found.append(hostile("base: body is a list", "POST", bases, body=[base_body()]))
    residencies = [
        ("NUL unit", _residency_with(unit_label=NUL)),
        ("NUL note", _residency_with(note=NUL)),
        ("10 MB unit", _residency_with(unit_label=TEN_MB)),
        ("10 MB note", _residency_with(note=TEN_MB)),
        ("blank unit", _residency_with(unit_label="   ")),
        ("business id 2**31", _residency_with(business_id=2**31)),
        ("huge business id", _residency_with(business_id=HUGE)),
        ("business id beyond 64 bits", _residency_with(business_id=BEYOND_64_BITS)),
        ("business id 0", _residency_with(business_id=0)),
        ("business id as text", _residency_with(business_id="1")),
        ("business id list", _residency_with(business_id=[1])),
        ("starts 0000-00-00", _residency_with(starts_on="0000-00-00")),
        ("starts 0001-01-01", _residency_with(starts_on="0001-01-01")),
        ("starts 9999-12-31", _residency_with(starts_on="9999-12-31")),
        ("starts 2026-02-30", _residency_with(starts_on="2026-02-30")),
        ("starts in the future", _residency_with(starts_on="2100-01-01")),
        ("list unit", _residency_with(unit_label=["A-1"])),
        ("number as unit", _residency_with(unit_label=101)),
    ]
    found += [hostile(f"move in: {name}", "POST", move_in, body=body) for name, body in residencies]
    found.append(hostile("move in: body is a list", "POST", move_in, body=[_residency_with()]))
    ends = [
        ("NUL outcome", _end_with(outcome=NUL)),
        ("NUL note", _end_with(note=NUL)),
        ("10 MB note", _end_with(note=TEN_MB)),
        ("unknown outcome", _end_with(outcome="evicted")),
        ("list outcome", _end_with(outcome=["left"])),
        ("ends 0000-00-00", _end_with(ends_on="0000-00-00")),
        ("ends 0001-01-01", _end_with(ends_on="0001-01-01")),
        ("ends 9999-12-31", _end_with(ends_on="9999-12-31")),
        ("ends 2026-02-30", _end_with(ends_on="2026-02-30")),
        ("ends in the future", _end_with(ends_on="2100-01-01")),
        ("ends before the start", _end_with(ends_on="2026-03-31")),
        ("number as note", _end_with(note=9)),
    ]
    found += [hostile(f"move out: {name}", "POST", move_out, body=body) for name, body in ends]
    found.append(hostile("move out: body is a list", "POST", move_out, body=[_end_with()]))
    found += [
        hostile("bases: per_page=0", "GET", bases, {"per_page": "0"}),
        hostile("bases: per_page=201", "GET", bases, {"per_page": "201"}),
        hostile("bases: page beyond 64 bits", "GET", bases, {"page": str(BEYOND_64_BITS)}),
        hostile("bases: NUL kind", "GET", bases, {"kind": NUL}),
        hostile("bases: NUL search", "GET", bases, {"q": NUL}, must_refuse=False),
        hostile("bases: NUL region", "GET", bases, {"region_code": NUL}, must_refuse=False),
        hostile("bases: 10 MB search", "GET", bases, {"q": "x" * 100_000}),
    ]
    return found


def _application_with(**changes: Any) -> dict[str, Any]:
    return {
        "founder_id": Row("loan_founder_id"),
        "amount": "100000.00",
        "term_months": 12,
        "repayment_method": "equal_installment",
        "purpose": "购置设备",
        "guarantors": [{"name": "王芳", "id_number": make_id_number(), "relationship": "姐姐"}],
    } | changes


def _guarantor_with(**changes: Any) -> dict[str, Any]:
    guarantor = {"name": "王芳", "id_number": make_id_number(), "relationship": "姐姐"} | changes
    return _application_with(guarantors=[guarantor])


def _payment_with(**changes: Any) -> dict[str, Any]:
    return {"paid_on": "2026-11-03", "amount": "10.00", "reference": "FUZZ-HOSTILE"} | changes


def _disbursement_with(**changes: Any) -> dict[str, Any]:
    return {"disbursed_on": "2026-11-02", "bank_reference": "FUZZ-BANK"} | changes


def _fund_entry_with(**changes: Any) -> dict[str, Any]:
    return {"date": "2026-11-02", "amount": "100.00", "reference": "FUZZ-FUND"} | changes


def _event_with(**changes: Any) -> dict[str, Any]:
    return {"kind": "integrity_education", "occurred_on": "2026-11-02", "note": "x"} | changes


def _money_cases(make: Callable[..., dict[str, Any]], field: str) -> list[tuple[str, Any]]:
    """Amounts no column holds or no rule accepts, in `field` of `make`'s body."""
    return [
        (f"{field} 1e309", make(**{field: "1e309"})),
        (f"{field} NaN", make(**{field: "NaN"})),
        (f"{field} Infinity", make(**{field: "Infinity"})),
        (f"{field} -1", make(**{field: "-1"})),
        (f"{field} 0.001", make(**{field: "0.001"})),
        (f"{field} 14 digits", make(**{field: "99999999999999"})),
        (f"{field} a huge JSON number", make(**{field: HUGE})),
        (f"{field} beyond 64 bits", make(**{field: BEYOND_64_BITS})),
        (f"{field} a list", make(**{field: ["100.00"]})),
        (f"{field} NUL", make(**{field: "10\x000"})),
    ]


def _date_cases(make: Callable[..., dict[str, Any]], field: str) -> list[tuple[str, Any]]:
    """Dates no column holds, or that do not exist."""
    return [
        (f"{field} 0000-00-00", make(**{field: "0000-00-00"})),
        (f"{field} 0001-01-01", make(**{field: "0001-01-01"})),
        (f"{field} 9999-12-31", make(**{field: "9999-12-31"})),
        (f"{field} 2026-02-30", make(**{field: "2026-02-30"})),
        (f"{field} NUL", make(**{field: "2026-\x0011-01"})),
        (f"{field} a number", make(**{field: 20261101})),
    ]


def _loan_cases() -> list[Any]:
    """Hostile bodies and queries of the loan, fund, policy and integrity operations.

    Fuzzing before these cases may have moved the sample loans on, so only values wrong
    whatever the loans' state are here (the rules that depend on it are tested in
    tests/loans and tests/integrity)."""
    applications = [
        ("NUL purpose", _application_with(purpose=NUL)),
        ("10 MB purpose", _application_with(purpose=TEN_MB)),
        ("NUL method", _application_with(repayment_method=NUL)),
        ("unknown method", _application_with(repayment_method="balloon")),
        ("term 2**31", _application_with(term_months=2**31)),
        ("term huge", _application_with(term_months=HUGE)),
        ("term 0", _application_with(term_months=0)),
        ("term as text", _application_with(term_months="12")),
        ("founder id huge", _application_with(founder_id=HUGE)),
        ("founder id beyond 64 bits", _application_with(founder_id=BEYOND_64_BITS)),
        ("founder id as text", _application_with(founder_id="1")),
        ("business id beyond 64 bits", _application_with(business_id=BEYOND_64_BITS)),
        ("guarantors not a list", _application_with(guarantors="王芳")),
        ("guarantors a list of text", _application_with(guarantors=["王芳"])),
        ("guarantors a list of lists", _application_with(guarantors=[["王芳"]])),
        ("a thousand guarantors", _application_with(guarantors=[{"name": "x"}] * 1000)),
        ("guarantor NUL name", _guarantor_with(name=NUL)),
        ("guarantor 10 MB name", _guarantor_with(name=TEN_MB)),
        ("guarantor NUL ID number", _guarantor_with(id_number="46010019900101\x00011")),
        ("guarantor wrong check digit", _guarantor_with(id_number="460100199001010010")),
        ("guarantor list ID number", _guarantor_with(id_number=[make_id_number()])),
        ("guarantor number as name", _guarantor_with(name=7)),
        ("guarantor NUL phone", _guarantor_with(phone="1390000\x000000")),
        *_money_cases(_application_with, "amount"),
    ]
    create = "/loans"
    found = [hostile(f"loan: {name}", "POST", create, body=body) for name, body in applications]
    found.append(hostile("loan: body is a list", "POST", create, body=[_application_with()]))
    decisions = [
        ("NUL decision", {"decision": NUL}),
        ("unknown decision", {"decision": "maybe"}),
        ("list decision", {"decision": ["approve"]}),
        ("NUL note", {"decision": "reject", "note": NUL}),
        ("10 MB note", {"decision": "reject", "note": TEN_MB}),
        ("body is a list", [{"decision": "approve"}]),
    ]
    for step in ("review", "approve"):
        path = f"/loans/{{loan_id}}/{step}"
        found += [hostile(f"{step}: {name}", "POST", path, body=body) for name, body in decisions]

    disbursements = [
        ("NUL reference", _disbursement_with(bank_reference=NUL)),
        ("10 MB reference", _disbursement_with(bank_reference=TEN_MB)),
        ("list reference", _disbursement_with(bank_reference=["x"])),
        ("in the future", _disbursement_with(disbursed_on="2100-01-01")),
        *_date_cases(_disbursement_with, "disbursed_on"),
    ]
    path = "/loans/{loan_id}/disburse"
    found += [hostile(f"disburse: {name}", "POST", path, body=b) for name, b in disbursements]
    payments = [
        ("NUL reference", _payment_with(reference=NUL)),
        ("10 MB reference", _payment_with(reference=TEN_MB)),
        ("blank reference", _payment_with(reference="   ")),
        ("in the future", _payment_with(paid_on="2100-01-01")),
        ("more than is owed", _payment_with(amount="99999999.00")),
        ("body is a list", [_payment_with()]),
        *_money_cases(_payment_with, "amount"),
        *_date_cases(_payment_with, "paid_on"),
    ]
    path = "/loans/{loan_id}/repayments"
    found += [hostile(f"repayment: {name}", "POST", path, body=b) for name, b in payments]
    reversals = [
        ("NUL reason", {"reason": NUL}),
        ("10 MB reason", {"reason": TEN_MB}),
        ("blank reason", {"reason": "   "}),
        ("list reason", {"reason": ["x"]}),
        ("body is a list", [{"reason": "x"}]),
    ]
    path = "/repayments/{repayment_id}/reverse"
    found += [hostile(f"reverse: {name}", "POST", path, body=b) for name, b in reversals]

    def compensation(**changes: Any) -> dict[str, Any]:
        return {"date": "2026-11-02", "reference": "FUZZ-COMP-HOSTILE"} | changes

    def recovery(**changes: Any) -> dict[str, Any]:
        return {"date": "2026-11-02", "amount": "10.00", "reference": "FUZZ-REC-H"} | changes

    def write_off(**changes: Any) -> dict[str, Any]:
        return {"date": "2026-11-02", "reason": "无法收回"} | changes

    fund_cases = [
        ("compensate", compensation, [("NUL reference", compensation(reference=NUL))]),
        (
            "recoveries",
            recovery,
            [
                ("NUL source", recovery(source=NUL)),
                ("unknown source", recovery(source="lottery")),
                ("guarantor beyond 64 bits", recovery(guarantor_id=BEYOND_64_BITS)),
                ("guarantor huge", recovery(guarantor_id=HUGE)),
                ("guarantor as text", recovery(guarantor_id="abc")),
                ("NUL reference", recovery(reference=NUL)),
            ],
        ),
        (
            "write-off",
            write_off,
            [("NUL reason", write_off(reason=NUL)), ("10 MB reason", write_off(reason=TEN_MB))],
        ),
    ]
    for step, make, extra in fund_cases:
        path = f"/loans/{{loan_id}}/{step}"
        cases = [*extra, *_date_cases(make, "date"), ("body is a list", [make()])]
        if step != "write-off":
            cases += _money_cases(make, "amount")
        found += [hostile(f"{step}: {name}", "POST", path, body=b) for name, b in cases]

    entries = [
        ("zero", _fund_entry_with(amount="0.00")),
        ("1e309", _fund_entry_with(amount="1e309")),
        ("NaN", _fund_entry_with(amount="NaN")),
        ("-Infinity", _fund_entry_with(amount="-Infinity")),
        ("14 digits", _fund_entry_with(amount="-99999999999999")),
        ("0.001", _fund_entry_with(amount="0.001")),
        ("overdraw", _fund_entry_with(amount="-99999999999.00")),
        ("NUL reference", _fund_entry_with(reference=NUL)),
        ("NUL note", _fund_entry_with(note=NUL)),
        ("10 MB note", _fund_entry_with(note=TEN_MB)),
        *_date_cases(_fund_entry_with, "date"),
    ]
    path = "/funds/{region_code}/entries"
    found += [hostile(f"fund entry: {name}", "POST", path, body=b) for name, b in entries]
    policy_cases = [
        ("rate as a JSON float", {"annual_rate": 0.0345}),
        ("rate NaN", {"annual_rate": "NaN"}),
        ("rate 1e309", {"subsidy_rate": "1e309"}),
        ("rate 7 decimals", {"annual_rate": "0.0345001"}),
        ("rate -1", {"guarantee_ratio": "-1"}),
        ("NUL rate", {"annual_rate": "0.03\x0045"}),
        ("null rate", {"leverage": None}),
        ("max amount -1", {"max_amount": "-1"}),
        ("max amount 1e309", {"max_amount": "1e309"}),
        ("term 2**31", {"max_term_months": 2**31}),
        ("default days huge", {"default_days": HUGE}),
        ("training as text", {"require_training": "yes"}),
        ("list max amount", {"max_amount": ["1.00"]}),
        ("body is a list", [{"max_amount": "1.00"}]),
    ]
    path = "/loan-policies/{region_code}"
    found += [hostile(f"policy: {name}", "PUT", path, body=b) for name, b in policy_cases]

    events = [
        ("NUL kind", _event_with(kind=NUL)),
        ("unknown kind", _event_with(kind="bribery")),
        ("a kind only repayments make", _event_with(kind="paid_on_time")),
        ("NUL note", _event_with(note=NUL)),
        ("10 MB note", _event_with(note=TEN_MB)),
        ("in the future", _event_with(occurred_on="2100-01-01")),
        ("correction of 2**31 points", _event_with(kind="correction", points=2**31)),
        ("correction of huge points", _event_with(kind="correction", points=HUGE)),
        ("correction of 151 points", _event_with(kind="correction", points=151)),
        ("correction of 0 points", _event_with(kind="correction", points=0)),
        ("correction points as text", _event_with(kind="correction", points="10")),
        ("correction without a reason", _event_with(kind="correction", points=10, note="")),
        (
            "correction of an event beyond 64 bits",
            _event_with(kind="correction", points=10, corrects_event_id=BEYOND_64_BITS),
        ),
        ("body is a list", [_event_with()]),
        *_date_cases(_event_with, "occurred_on"),
    ]
    path = "/founders/{founder_id}/integrity-events"
    found += [hostile(f"integrity event: {name}", "POST", path, body=b) for name, b in events]
    for step in ("approve", "reject"):
        path = f"/integrity/corrections/{{correction_id}}/{step}"
        found += [
            hostile(f"{step} correction: NUL note", "POST", path, body={"note": NUL}),
            hostile(f"{step} correction: 10 MB note", "POST", path, body={"note": TEN_MB}),
            hostile(f"{step} correction: list note", "POST", path, body={"note": ["x"]}),
            hostile(f"{step} correction: body is a list", "POST", path, body=[{"note": "x"}]),
        ]
    points = "/integrity/points/{kind}"
    found += [
        hostile("points: huge", "PUT", points, body={"points": HUGE}),
        hostile("points: 151", "PUT", points, body={"points": 151}),
        hostile("points: as text", "PUT", points, body={"points": "-5"}),
        hostile("points: NUL", "PUT", points, body={"points": NUL}),
        hostile("points: null", "PUT", points, body={"points": None}),
        hostile("points: body is a list", "PUT", points, body=[{"points": -5}]),
    ]
    filters = [
        ("per_page=0", {"per_page": "0"}),
        ("per_page=201", {"per_page": "201"}),
        ("page beyond 64 bits", {"page": str(BEYOND_64_BITS)}),
        ("NUL status", {"status": NUL}),
        ("unknown status", {"status": "lost"}),
        ("NUL bucket", {"bucket": NUL}),
        ("huge founder", {"founder_id": str(HUGE)}),
        ("founder beyond 32 bits", {"founder_id": str(2**31)}),
    ]
    found += [hostile(f"loans: {name}", "GET", "/loans", q) for name, q in filters]
    found += [
        hostile("loans: NUL region", "GET", "/loans", {"region_code": NUL}, must_refuse=False),
        hostile("corrections: NUL state", "GET", "/integrity/corrections", {"state": NUL}),
        hostile("corrections: unknown state", "GET", "/integrity/corrections", {"state": "x"}),
        hostile(
            "corrections: page beyond 64 bits",
            "GET",
            "/integrity/corrections",
            {"page": str(BEYOND_64_BITS)},
        ),
    ]
    statements = "/imports/repayments"
    found += [
        hostile(
            "statement: text named .xlsx",
            "POST",
            statements,
            upload=_upload(b"this is not a spreadsheet", "statement.xlsx"),
        ),
        hostile(
            "statement: binary named .csv",
            "POST",
            statements,
            upload=_upload(bytes(range(256)) * 64, "statement.csv"),
        ),
        hostile("statement: empty .csv", "POST", statements, upload=_upload(b"", "s.csv")),
        hostile(
            "statement: workbook named .exe",
            "POST",
            statements,
            upload=_upload(xlsx_bytes([]), "statement.exe"),
        ),
        hostile(
            "statement: missing columns",
            "POST",
            statements,
            upload=_upload("交易流水号,金额\nA-1,10.00\n".encode(), "statement.csv"),
        ),
        hostile("statement: no file", "POST", statements, upload={}),
        hostile("statement: JSON instead of a form", "POST", statements, body={"file": "x"}),
        # Bad rows in a readable file are reported per row and nothing bad is posted.
        hostile(
            "statement: NUL, 10 MB and impossible values in cells",
            "POST",
            statements,
            upload=_upload(
                (
                    "交易流水号,贷款编号,身份证号,还款日期,金额\n"
                    "A\x001,1,,2026-11-02,10.00\n"
                    f"A-2,{BEYOND_64_BITS},,2026-11-02,10.00\n"
                    "A-3,1,,0000-00-00,10.00\n"
                    "A-4,1,,2026-11-02,1e309\n"
                    "A-5,,46010019900101001X,2026-11-02,NaN\n"
                    f"{'x' * 100_000},1,,2026-11-02,10.00\n"
                ).encode(),
                "statement.csv",
            ),
            must_refuse=False,
            posted=0,
        ),
    ]
    return found


def _completion_with(**changes: Any) -> dict[str, Any]:
    """A business follow-up's findings (the task is due on 2026-06-01, the business opened
    on 2026-03-01)."""
    return {
        "done_on": "2026-06-02",
        "channel": "phone",
        "business_status": "operating",
        "employees": 3,
        "monthly_revenue": "8000.00",
    } | changes


def _attempt_with(**changes: Any) -> dict[str, Any]:
    return {"attempted_on": "2026-06-01", "channel": "phone", "note": "无人接听"} | changes


def _service_with(**changes: Any) -> dict[str, Any]:
    """An item of the intake package (the founder registered on 2026-01-05)."""
    item = {"item": "lead", "detail": "椰子糖加工", "provided_on": "2026-01-12"}
    return item | {"channel": "phone"} | changes


def _misuse_with(**changes: Any) -> dict[str, Any]:
    return {"decision": "dismiss", "note": "核实后用途无误"} | changes


def _text_cases(make: Callable[..., dict[str, Any]], field: str, limit: int) -> list[Any]:
    """Text no column holds or no rule accepts, in `field` of `make`'s body."""
    return [
        (f"NUL {field}", make(**{field: NUL})),
        (f"10 MB {field}", make(**{field: TEN_MB})),
        (f"{field} over {limit} characters", make(**{field: "x" * (limit + 1)})),
        (f"list {field}", make(**{field: ["x"]})),
        (f"number as {field}", make(**{field: 5})),
    ]


def _choice_cases(make: Callable[..., dict[str, Any]], field: str, unknown: str) -> list[Any]:
    """Values outside `field`'s choices."""
    return [
        (f"NUL {field}", make(**{field: NUL})),
        (f"unknown {field}", make(**{field: unknown})),
        (f"list {field}", make(**{field: [unknown]})),
        (f"number as {field}", make(**{field: 1})),
    ]


def _followup_cases() -> list[Any]:
    """Hostile bodies and queries of the follow-up operations, on tasks fuzzing has not
    touched (`_hostile_rows`): an open business task, an open intake services task and a
    loan usage task whose misuse finding waits for the officer."""
    complete = "/followups/{task_id}/complete"
    completions = [
        *_text_cases(_completion_with, "note", 1000),
        *_choice_cases(_completion_with, "channel", "fax"),
        ("channel self_report", _completion_with(channel="self_report")),
        *_choice_cases(_completion_with, "business_status", "bankrupt"),
        *_choice_cases(_completion_with, "employment", "retired"),
        ("employees huge", _completion_with(employees=HUGE)),
        ("employees beyond 64 bits", _completion_with(employees=BEYOND_64_BITS)),
        ("employees 2**31", _completion_with(employees=2**31)),
        ("employees -1", _completion_with(employees=-1)),
        ("employees as text", _completion_with(employees="3")),
        ("employees true", _completion_with(employees=True)),
        ("closed with employees", _completion_with(business_status="closed", employees=4)),
        ("no business status", _completion_with(business_status=None)),
        *_money_cases(_completion_with, "monthly_revenue"),
        ("monthly_revenue over the cap", _completion_with(monthly_revenue="10000000.01")),
        *_date_cases(_completion_with, "done_on"),
        ("done in the future", _completion_with(done_on="2100-01-01")),
        ("done before the business opened", _completion_with(done_on="2026-02-01")),
        ("fund usage on a business task", _completion_with(fund_usage_ok=False)),
        ("fund usage as text", _completion_with(fund_usage_ok="no")),
        ("fund usage NUL", _completion_with(fund_usage_ok=NUL)),
        ("fund usage huge", _completion_with(fund_usage_ok=HUGE)),
        ("services on a business task", _completion_with(services=["lead"])),
        ("unknown service", _completion_with(services=["bribe"])),
        ("NUL service", _completion_with(services=[NUL])),
        ("services not a list", _completion_with(services="lead")),
        ("a thousand services", _completion_with(services=["lead"] * 1000)),
        ("body is a list", [_completion_with()]),
    ]
    found = [hostile(f"complete: {name}", "POST", complete, body=b) for name, b in completions]
    attempts = "/followups/{task_id}/attempts"
    attempt_cases = [
        *_text_cases(_attempt_with, "note", 1000),
        *_choice_cases(_attempt_with, "channel", "fax"),
        ("channel self_report", _attempt_with(channel="self_report")),
        *_date_cases(_attempt_with, "attempted_on"),
        ("tried in the future", _attempt_with(attempted_on="2100-01-01")),
        ("tried before the business opened", _attempt_with(attempted_on="2026-02-01")),
        ("body is a list", [_attempt_with()]),
    ]
    found += [hostile(f"attempt: {name}", "POST", attempts, body=b) for name, b in attempt_cases]
    services = "/followups/{task_id}/services"
    service_cases = [
        *_choice_cases(_service_with, "item", "bribe"),
        *_text_cases(_service_with, "detail", 500),
        *_choice_cases(_service_with, "channel", "fax"),
        ("channel self_report", _service_with(channel="self_report")),
        *_date_cases(_service_with, "provided_on"),
        ("provided in the future", _service_with(provided_on="2100-01-01")),
        ("provided before registration", _service_with(provided_on="2026-01-01")),
        ("body is a list", [_service_with()]),
    ]
    found += [hostile(f"service: {name}", "POST", services, body=b) for name, b in service_cases]
    assign = "/followups/{task_id}/assign"
    assignments = [
        ("huge assignee", HUGE),
        ("assignee beyond 64 bits", BEYOND_64_BITS),
        ("assignee 2**31", 2**31),
        ("no such assignee", 2**31 - 1),
        ("assignee 0", 0),
        ("assignee -1", -1),
        ("assignee as text", "1"),
        ("assignee a float", 1.5),
        ("assignee true", True),
        ("assignee a list", [1]),
        ("NUL assignee", NUL),
    ]
    found += [
        hostile(f"assign: {name}", "POST", assign, body={"assignee_id": value})
        for name, value in assignments
    ]
    found.append(hostile("assign: body is a list", "POST", assign, body=[{"assignee_id": 1}]))
    misuse = "/followups/{task_id}/misuse"
    decisions = [
        *_choice_cases(_misuse_with, "decision", "maybe"),
        *_text_cases(_misuse_with, "note", 1000),
        ("no decision", {"note": "x"}),
        ("body is a list", [_misuse_with()]),
    ]
    found += [hostile(f"misuse: {name}", "POST", misuse, body=b) for name, b in decisions]
    queue = "/followups"
    filters = [
        ("per_page=0", {"per_page": "0"}),
        ("per_page=201", {"per_page": "201"}),
        ("page beyond 64 bits", {"page": str(BEYOND_64_BITS)}),
        ("NUL status", {"status": NUL}),
        ("unknown status", {"status": "later"}),
        ("NUL kind", {"kind": NUL}),
        ("unknown kind", {"kind": "visit"}),
        ("due before 0000-00-00", {"due_before": "0000-00-00"}),
        ("due before 9999-12-31", {"due_before": "9999-12-31"}),
        ("due before 2026-02-30", {"due_before": "2026-02-30"}),
        ("NUL due before", {"due_before": "2026-\x0006-01"}),
        ("huge founder", {"founder_id": str(HUGE)}),
        ("founder beyond 32 bits", {"founder_id": str(2**31)}),
        ("founder as text", {"founder_id": "abc"}),
        ("10 MB region", {"region_code": "4" * 100_000}),
        # "me", "unassigned" or a user id an id column holds, in ASCII digits.
        ("assignee of 21 characters", {"assignee": "1" * 21}),
        ("NUL assignee", {"assignee": NUL}),
        ("unknown assignee word", {"assignee": "everyone"}),
        ("assignee 0", {"assignee": "0"}),
        ("assignee 2**31", {"assignee": str(2**31)}),
        ("assignee 2**63", {"assignee": str(HUGE)}),
        ("assignee beyond 64 bits", {"assignee": "9" * 20}),
        ("assignee a superscript digit", {"assignee": "\u00b2"}),
        ("assignee in Arabic-Indic digits", {"assignee": "\u0661\u0662"}),
        ("assignee negative", {"assignee": "-1"}),
    ]
    found += [hostile(f"followups: {name}", "GET", queue, q) for name, q in filters]
    # A region filter may find nothing rather than refuse, but never crash.
    found.append(
        hostile("followups: NUL region", "GET", queue, {"region_code": NUL}, must_refuse=False)
    )
    return found


def _notification_and_job_cases() -> list[Any]:
    """Hostile queries of the notification list, and bodies and queries of the jobs."""
    notifications = "/notifications"
    found = [
        hostile("notifications: per_page=0", "GET", notifications, {"per_page": "0"}),
        hostile("notifications: per_page=201", "GET", notifications, {"per_page": "201"}),
        hostile(
            "notifications: page beyond 64 bits",
            "GET",
            notifications,
            {"page": str(BEYOND_64_BITS)},
        ),
    ]
    run = "/jobs/{name}/run"

    def run_with(**changes: Any) -> dict[str, Any]:
        return {"as_of": "2026-06-30"} | changes

    runs = [
        *_date_cases(run_with, "as_of"),
        ("as_of in the future", run_with(as_of="2100-01-01")),
        ("as_of before 2000", run_with(as_of="1999-12-31")),
        ("as_of a list", run_with(as_of=["2026-06-30"])),
        ("as_of null", run_with(as_of=None)),
        ("no as_of", {}),
        ("body is a list", [run_with()]),
    ]
    found += [hostile(f"job run: {name}", "POST", run, body=b) for name, b in runs]
    listed = "/jobs/runs"
    filters = [
        ("NUL job", {"job": NUL}),
        ("unknown job", {"job": "weekly"}),
        ("NUL status", {"status": NUL}),
        ("unknown status", {"status": "lost"}),
        ("per_page=0", {"per_page": "0"}),
        ("per_page=201", {"per_page": "201"}),
        ("page beyond 64 bits", {"page": str(BEYOND_64_BITS)}),
    ]
    found += [hostile(f"job runs: {name}", "GET", listed, q) for name, q in filters]
    return found


def _target_cases() -> list[Any]:
    """Hostile bodies of PUT /targets (Haikou's, by Hainan's staff) and queries of GET."""
    path = "/targets/{year}/{region_code}"
    bodies = [
        ("negative count", {"trainees": -1}),
        ("count as text", {"loans_count": "3"}),
        ("count as a float", {"businesses_opened": 2.5}),
        ("count true", {"jobs_created": True}),
        ("count 2**31", {"trainees": 2**31}),
        ("count huge", {"trainees": HUGE}),
        ("count beyond 64 bits", {"jobs_created": BEYOND_64_BITS}),
        ("count a list", {"trainees": [1]}),
        ("amount 3 decimals", {"loans_amount": "12.345"}),
        ("amount negative", {"loans_amount": "-0.01"}),
        ("amount as a float", {"loans_amount": 12.5}),
        ("amount 1e309", {"loans_amount": "1e309"}),
        ("amount NaN", {"loans_amount": "NaN"}),
        ("amount NUL", {"loans_amount": "1\x002"}),
        ("amount 10 MB", {"loans_amount": "9" * (10 * 1024 * 1024)}),
        ("amount beyond the limit", {"loans_amount": "100000000000.01"}),
        ("body is a list", [{"trainees": 1}]),
    ]
    found = [hostile(f"targets: {name}", "PUT", path, body=b) for name, b in bodies]
    queries = [
        ("NUL as_of", {"as_of": NUL}),
        ("impossible as_of", {"as_of": "2026-02-30"}),
        ("as_of year 0", {"as_of": "0000-01-01"}),
        ("as_of year 9999", {"as_of": "9999-12-31"}),
    ]
    found += [hostile(f"targets: {name}", "GET", path, q) for name, q in queries]
    return found


def _zip_that_is_not_a_workbook() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "not a workbook")
    return buffer.getvalue()


def _upload(content: bytes, filename: str = "founders.xlsx", **fields: Any) -> dict[str, Any]:
    return {"file": (content, filename), **fields}


CSV_HEADER = "姓名,身份证号,手机号,所属地区,人员类别\n"
HOSTILE = [
    hostile("huge page", "GET", "/users", {"page": "461168601842738792"}),
    hostile("page beyond 64 bits", "GET", "/users", {"page": str(BEYOND_64_BITS)}),
    hostile("NUL in search", "GET", "/users", {"q": NUL}, must_refuse=False),
    hostile("NUL in region filter", "GET", "/users", {"region_code": NUL}, must_refuse=False),
    hostile("NUL in username", "POST", "/auth/token", body={"username": NUL, "password": "x"}),
    hostile(
        "NUL in region_code",
        "POST",
        "/users",
        body={
            "username": "nul.region",
            "password": DEFAULT_PASSWORD,
            "role": "staff",
            "region_code": NUL,
        },
    ),
    hostile(
        "NUL in region name",
        "POST",
        "/regions",
        body={"code": "469098", "name": NUL, "level": "city", "parent_code": "460000"},
    ),
    hostile(
        "founder_id beyond 32 bits",
        "POST",
        "/users",
        body={
            "username": "big.founder",
            "password": DEFAULT_PASSWORD,
            "role": "founder",
            "region_code": REGION,
            "founder_id": 2**31,
        },
    ),
    hostile(
        "non-ASCII digits in a region code",
        "POST",
        "/regions",
        body={"code": "46\u0663000", "name": "x", "level": "city", "parent_code": "460000"},
    ),
    # Founders
    hostile("founder: NUL name", "POST", "/founders", body=_founder_with(name=NUL)),
    hostile("founder: 10 MB name", "POST", "/founders", body=_founder_with(name=TEN_MB)),
    hostile("founder: 10 MB phone", "POST", "/founders", body=_founder_with(phone=TEN_MB)),
    hostile(
        "founder: NUL in ID number",
        "POST",
        "/founders",
        body=_founder_with(id_number="46010019900101001\x00"),
    ),
    hostile(
        "founder: list ID number",
        "POST",
        "/founders",
        body=_founder_with(id_number=["460100199001010011"]),
    ),
    hostile("founder: list phone", "POST", "/founders", body=_founder_with(phone=["1"])),
    hostile("founder: NUL region", "POST", "/founders", body=_founder_with(region_code=NUL)),
    hostile(
        "founder: list target group",
        "POST",
        "/founders",
        body=_founder_with(target_group=["laid_off"]),
    ),
    hostile(
        "founder: huge certificate flag",
        "POST",
        "/founders",
        body=_founder_with(has_reemployment_certificate=HUGE),
    ),
    hostile(
        "founder: date 0000-00-00",
        "POST",
        "/founders",
        body=_founder_with(registered_on="0000-00-00"),
    ),
    hostile(
        "founder: date 9999-12-31",
        "POST",
        "/founders",
        body=_founder_with(registered_on="9999-12-31"),
    ),
    hostile("patch: NUL name", "PATCH", "/founders/{founder_id}", body={"name": NUL}),
    hostile(
        "patch: 10 MB education", "PATCH", "/founders/{founder_id}", body={"education": TEN_MB}
    ),
    hostile(
        "patch: NUL ID number",
        "PATCH",
        "/founders/{founder_id}",
        body={"id_number": "46010019900101001\x00"},
    ),
    hostile(
        "patch: list region", "PATCH", "/founders/{founder_id}", body={"region_code": [REGION]}
    ),
    hostile(
        "patch: date 0000-00-00",
        "PATCH",
        "/founders/{founder_id}",
        body={"registered_on": "0000-00-00"},
    ),
    hostile(
        "patch: date 9999-12-31",
        "PATCH",
        "/founders/{founder_id}",
        body={"registered_on": "9999-12-31"},
    ),
    hostile("patch: body is a list", "PATCH", "/founders/{founder_id}", body=[{"name": "x"}]),
    hostile("founders: per_page=0", "GET", "/founders", {"per_page": "0"}),
    hostile("founders: per_page=201", "GET", "/founders", {"per_page": "201"}),
    hostile("founders: page beyond 64 bits", "GET", "/founders", {"page": str(BEYOND_64_BITS)}),
    hostile("founders: NUL search", "GET", "/founders", {"q": NUL}, must_refuse=False),
    hostile("founders: NUL region", "GET", "/founders", {"region_code": NUL}, must_refuse=False),
    hostile("founders: NUL training status", "GET", "/founders", {"training_status": NUL}),
    hostile("founders: from 0000-00-00", "GET", "/founders", {"registered_from": "0000-00-00"}),
    hostile("founders: to 9999-12-31", "GET", "/founders", {"registered_to": "9999-12-31"}),
    # Training
    hostile(
        "institution: NUL name",
        "POST",
        "/institutions",
        body={"name": NUL, "region_code": REGION},
    ),
    hostile(
        "institution: 10 MB name",
        "POST",
        "/institutions",
        body={"name": TEN_MB, "region_code": REGION},
    ),
    hostile(
        "institution: list name",
        "POST",
        "/institutions",
        body={"name": ["学校"], "region_code": REGION},
    ),
    hostile(
        "institution: NUL region",
        "POST",
        "/institutions",
        body={"name": "学校", "region_code": NUL},
    ),
    hostile(
        "institution: huge flag",
        "POST",
        "/institutions",
        body={"name": "学校", "region_code": REGION, "designated": HUGE},
    ),
    hostile("institutions: per_page=0", "GET", "/institutions", {"per_page": "0"}),
    hostile("institutions: per_page=201", "GET", "/institutions", {"per_page": "201"}),
    hostile("institutions: NUL search", "GET", "/institutions", {"q": NUL}, must_refuse=False),
    hostile(
        "course: NUL code",
        "POST",
        "/courses",
        body={"code": NUL, "name": "课程", "kind": "skill", "hours": 40},
    ),
    hostile(
        "course: 10 MB name",
        "POST",
        "/courses",
        body={"code": "FZBIG", "name": TEN_MB, "kind": "skill", "hours": 40},
    ),
    hostile(
        "course: huge hours",
        "POST",
        "/courses",
        body={"code": "FZH1", "name": "课程", "kind": "skill", "hours": HUGE},
    ),
    hostile(
        "course: hours beyond 64 bits",
        "POST",
        "/courses",
        body={"code": "FZH2", "name": "课程", "kind": "skill", "hours": BEYOND_64_BITS},
    ),
    hostile(
        "course: hours as text",
        "POST",
        "/courses",
        body={"code": "FZH3", "name": "课程", "kind": "skill", "hours": "40"},
    ),
    hostile(
        "course: list kind",
        "POST",
        "/courses",
        body={"code": "FZK", "name": "课程", "kind": ["skill"], "hours": 40},
    ),
    hostile("courses: NUL kind", "GET", "/courses", {"kind": NUL}),
    hostile("courses: per_page=201", "GET", "/courses", {"per_page": "201"}),
    hostile("cohort: huge course id", "POST", "/cohorts", body=_cohort_with(course_id=HUGE)),
    hostile(
        "cohort: institution id beyond 64 bits",
        "POST",
        "/cohorts",
        body=_cohort_with(institution_id=BEYOND_64_BITS),
    ),
    hostile(
        "cohort: starts 0000-00-00", "POST", "/cohorts", body=_cohort_with(starts_on="0000-00-00")
    ),
    hostile("cohort: ends 9999-12-31", "POST", "/cohorts", body=_cohort_with(ends_on="9999-12-31")),
    hostile("cohort: capacity 2**31", "POST", "/cohorts", body=_cohort_with(capacity=2**31)),
    hostile("cohort: NUL name", "POST", "/cohorts", body=_cohort_with(name=NUL)),
    hostile("cohort: 10 MB name", "POST", "/cohorts", body=_cohort_with(name=TEN_MB)),
    hostile("cohort: list region", "POST", "/cohorts", body=_cohort_with(region_code=[REGION])),
    hostile("cohorts: per_page=0", "GET", "/cohorts", {"per_page": "0"}),
    hostile("cohorts: per_page=201", "GET", "/cohorts", {"per_page": "201"}),
    hostile("cohorts: huge institution", "GET", "/cohorts", {"institution_id": str(HUGE)}),
    hostile("cohorts: from 0000-00-00", "GET", "/cohorts", {"starts_from": "0000-00-00"}),
    hostile("cohorts: to 9999-12-31", "GET", "/cohorts", {"starts_to": "9999-12-31"}),
    hostile("cohorts: NUL kind", "GET", "/cohorts", {"kind": NUL}),
    hostile(
        "enroll: huge founder id",
        "POST",
        "/cohorts/{cohort_id}/enrollments",
        body={"founder_id": HUGE},
    ),
    hostile(
        "enroll: founder id beyond 64 bits",
        "POST",
        "/cohorts/{cohort_id}/enrollments",
        body={"founder_id": BEYOND_64_BITS},
    ),
    hostile(
        "enroll: founder id as text",
        "POST",
        "/cohorts/{cohort_id}/enrollments",
        body={"founder_id": "1"},
    ),
    hostile(
        "enroll: founder id list",
        "POST",
        "/cohorts/{cohort_id}/enrollments",
        body={"founder_id": [1]},
    ),
    hostile(
        "enroll: NUL founder id",
        "POST",
        "/cohorts/{cohort_id}/enrollments",
        body={"founder_id": NUL},
    ),
    hostile(
        "result: completed 0000-00-00",
        "POST",
        "/enrollments/{enrollment_id}/result",
        body=_result_with(completed_on="0000-00-00"),
    ),
    hostile(
        "result: completed 9999-12-31",
        "POST",
        "/enrollments/{enrollment_id}/result",
        body=_result_with(completed_on="9999-12-31"),
    ),
    hostile(
        "result: NUL certificate",
        "POST",
        "/enrollments/{enrollment_id}/result",
        body=_result_with(result="passed", certificate_no=NUL),
    ),
    hostile(
        "result: 10 MB certificate",
        "POST",
        "/enrollments/{enrollment_id}/result",
        body=_result_with(result="passed", certificate_no=TEN_MB),
    ),
    hostile(
        "result: list result",
        "POST",
        "/enrollments/{enrollment_id}/result",
        body=_result_with(result=["passed"]),
    ),
    hostile(
        "result: huge attendance",
        "POST",
        "/enrollments/{enrollment_id}/result",
        body=_result_with(attendance=HUGE),
    ),
    # Project library
    hostile("project: NUL title", "POST", "/library/projects", body=_project_with(title=NUL)),
    hostile("project: NUL summary", "POST", "/library/projects", body=_project_with(summary=NUL)),
    hostile(
        "project: NUL contact", "POST", "/library/projects", body=_project_with(expert_contact=NUL)
    ),
    hostile("project: NUL industry", "POST", "/library/projects", body=_project_with(industry=NUL)),
    hostile("project: 10 MB title", "POST", "/library/projects", body=_project_with(title=TEN_MB)),
    hostile(
        "project: 10 MB summary", "POST", "/library/projects", body=_project_with(summary=TEN_MB)
    ),
    hostile("project: 10 MB risks", "POST", "/library/projects", body=_project_with(risks=TEN_MB)),
    hostile(
        "project: money 1e309",
        "POST",
        "/library/projects",
        body=_project_with(investment_max="1e309"),
    ),
    hostile(
        "project: money NaN", "POST", "/library/projects", body=_project_with(investment_min="NaN")
    ),
    hostile(
        "project: money Infinity",
        "POST",
        "/library/projects",
        body=_project_with(investment_max="Infinity"),
    ),
    hostile(
        "project: money -1", "POST", "/library/projects", body=_project_with(investment_min="-1")
    ),
    hostile(
        "project: money 0.001",
        "POST",
        "/library/projects",
        body=_project_with(investment_min="0.001"),
    ),
    hostile(
        "project: money over the cap",
        "POST",
        "/library/projects",
        body=_project_with(investment_max="10000000.01"),
    ),
    hostile(
        "project: money a huge JSON number",
        "POST",
        "/library/projects",
        body=_project_with(investment_max=HUGE),
    ),
    hostile(
        "project: money beyond 64 bits",
        "POST",
        "/library/projects",
        body=_project_with(investment_max=BEYOND_64_BITS),
    ),
    hostile(
        "project: money a list",
        "POST",
        "/library/projects",
        body=_project_with(investment_min=["30000.00"]),
    ),
    hostile(
        "project: lowest above highest",
        "POST",
        "/library/projects",
        body=_project_with(investment_min="90000.00", investment_max="80000.00"),
    ),
    hostile(
        "project: huge payback",
        "POST",
        "/library/projects",
        body=_project_with(payback_months=HUGE),
    ),
    hostile(
        "project: payback beyond 64 bits",
        "POST",
        "/library/projects",
        body=_project_with(payback_months=BEYOND_64_BITS),
    ),
    hostile(
        "project: jobs 2**31", "POST", "/library/projects", body=_project_with(jobs_potential=2**31)
    ),
    hostile(
        "project: payback as text",
        "POST",
        "/library/projects",
        body=_project_with(payback_months="abc"),
    ),
    hostile(
        "project: list title", "POST", "/library/projects", body=_project_with(title=["椰子糖"])
    ),
    hostile(
        "project: list industry", "POST", "/library/projects", body=_project_with(industry=["food"])
    ),
    hostile(
        "project: list summary", "POST", "/library/projects", body=_project_with(summary=["x"])
    ),
    hostile("project: body is a list", "POST", "/library/projects", body=[project_body()]),
    hostile(
        "project patch: NUL title", "PATCH", "/library/projects/{project_id}", body={"title": NUL}
    ),
    hostile(
        "project patch: 10 MB summary",
        "PATCH",
        "/library/projects/{project_id}",
        body={"summary": TEN_MB},
    ),
    hostile(
        "project patch: money 1e309",
        "PATCH",
        "/library/projects/{project_id}",
        body={"investment_max": "1e309"},
    ),
    hostile(
        "project patch: money NaN",
        "PATCH",
        "/library/projects/{project_id}",
        body={"investment_min": "NaN"},
    ),
    hostile(
        "project patch: money -1",
        "PATCH",
        "/library/projects/{project_id}",
        body={"investment_min": "-1"},
    ),
    hostile(
        "project patch: money 0.001",
        "PATCH",
        "/library/projects/{project_id}",
        body={"investment_min": "0.001"},
    ),
    hostile(
        "project patch: lowest above the stored highest",
        "PATCH",
        "/library/projects/{project_id}",
        body={"investment_min": "9000000.00"},
    ),
    hostile(
        "project patch: huge jobs",
        "PATCH",
        "/library/projects/{project_id}",
        body={"jobs_potential": HUGE},
    ),
    hostile(
        "project patch: list title",
        "PATCH",
        "/library/projects/{project_id}",
        body={"title": ["x"]},
    ),
    hostile(
        "project patch: null title", "PATCH", "/library/projects/{project_id}", body={"title": None}
    ),
    hostile(
        "project patch: null money",
        "PATCH",
        "/library/projects/{project_id}",
        body={"investment_min": None},
    ),
    hostile(
        "project patch: body is a list",
        "PATCH",
        "/library/projects/{project_id}",
        body=[{"title": "x"}],
    ),
    hostile("projects: per_page=0", "GET", "/library/projects", {"per_page": "0"}),
    hostile("projects: per_page=201", "GET", "/library/projects", {"per_page": "201"}),
    hostile(
        "projects: page beyond 64 bits", "GET", "/library/projects", {"page": str(BEYOND_64_BITS)}
    ),
    hostile("projects: max_investment abc", "GET", "/library/projects", {"max_investment": "abc"}),
    hostile("projects: max_investment NaN", "GET", "/library/projects", {"max_investment": "NaN"}),
    hostile(
        "projects: max_investment 1e309", "GET", "/library/projects", {"max_investment": "1e309"}
    ),
    hostile(
        "projects: max_investment Infinity",
        "GET",
        "/library/projects",
        {"max_investment": "Infinity"},
    ),
    hostile("projects: max_investment -1", "GET", "/library/projects", {"max_investment": "-1"}),
    hostile(
        "projects: max_investment 0.001",
        "GET",
        "/library/projects",
        {"max_investment": "0.001"},
        must_refuse=False,
    ),
    hostile("projects: huge payback", "GET", "/library/projects", {"payback": str(HUGE)}),
    hostile("projects: NUL search", "GET", "/library/projects", {"q": NUL}, must_refuse=False),
    hostile(
        "projects: NUL region", "GET", "/library/projects", {"region_code": NUL}, must_refuse=False
    ),
    hostile("projects: NUL status", "GET", "/library/projects", {"status": NUL}),
    hostile("projects: unknown status", "GET", "/library/projects", {"status": "deleted"}),
    hostile("projects: NUL industry", "GET", "/library/projects", {"industry": NUL}),
    hostile("projects: NUL sort", "GET", "/library/projects", {"sort": NUL}),
    hostile(
        "adopt: huge founder id",
        "POST",
        "/library/projects/{project_id}/adoptions",
        body={"founder_id": HUGE},
    ),
    hostile(
        "adopt: founder id beyond 64 bits",
        "POST",
        "/library/projects/{project_id}/adoptions",
        body={"founder_id": BEYOND_64_BITS},
    ),
    hostile(
        "adopt: founder id 0",
        "POST",
        "/library/projects/{project_id}/adoptions",
        body={"founder_id": 0},
    ),
    hostile(
        "adopt: founder id -1",
        "POST",
        "/library/projects/{project_id}/adoptions",
        body={"founder_id": -1},
    ),
    hostile(
        "adopt: founder id as text",
        "POST",
        "/library/projects/{project_id}/adoptions",
        body={"founder_id": "abc"},
    ),
    hostile(
        "adopt: founder id list",
        "POST",
        "/library/projects/{project_id}/adoptions",
        body={"founder_id": [1]},
    ),
    hostile(
        "adopt: NUL founder id",
        "POST",
        "/library/projects/{project_id}/adoptions",
        body={"founder_id": NUL},
    ),
    hostile(
        "adopt: founder id true",
        "POST",
        "/library/projects/{project_id}/adoptions",
        body={"founder_id": True},
    ),
    hostile(
        "adopt: body is a list",
        "POST",
        "/library/projects/{project_id}/adoptions",
        body=[{"founder_id": 1}],
    ),
    # Businesses, observations and incubation (SPEC §8)
    *_business_cases(),
    *_incubation_cases(),
    # Loans, funds, policies and integrity files (SPEC §9, §10)
    *_loan_cases(),
    # Follow-ups, notifications and scheduled jobs (SPEC §11, §12)
    *_followup_cases(),
    *_notification_and_job_cases(),
    *_target_cases(),
    # The import: files that are no spreadsheet at all are refused as a whole.
    hostile(
        "import: text named .xlsx",
        "POST",
        "/imports/founders",
        upload=_upload(b"this is not a spreadsheet"),
    ),
    hostile(
        "import: binary named .csv",
        "POST",
        "/imports/founders",
        upload=_upload(bytes(range(256)) * 64, "founders.csv"),
    ),
    hostile(
        "import: zip that is no workbook",
        "POST",
        "/imports/founders",
        upload=_upload(_zip_that_is_not_a_workbook()),
    ),
    hostile("import: empty .xlsx", "POST", "/imports/founders", upload=_upload(b"")),
    hostile("import: empty .csv", "POST", "/imports/founders", upload=_upload(b"", "a.csv")),
    hostile(
        "import: workbook named .exe",
        "POST",
        "/imports/founders",
        upload=_upload(xlsx_bytes([]), "founders.exe"),
    ),
    hostile(
        "import: headers without rows",
        "POST",
        "/imports/founders",
        upload=_upload(xlsx_bytes([])),
    ),
    hostile(
        "import: unknown mode",
        "POST",
        "/imports/founders",
        upload=_upload(xlsx_bytes([]), mode="everything"),
    ),
    hostile(
        "import: NUL mode",
        "POST",
        "/imports/founders",
        upload=_upload(xlsx_bytes([]), mode=NUL),
    ),
    hostile("import: no file", "POST", "/imports/founders", upload={"mode": "valid_rows"}),
    hostile("import: JSON instead of a form", "POST", "/imports/founders", body={"file": "x"}),
    # Bad rows in a readable file are reported per row (200) and nothing bad is written.
    hostile(
        "import: NUL in cells",
        "POST",
        "/imports/founders",
        upload=_upload(
            f"{CSV_HEADER}王\x00五,46010019900101001\x00,1390000\x000000,{REGION},laid_off\n".encode(),
            "founders.csv",
            mode="valid_rows",
        ),
        must_refuse=False,
        created=0,
    ),
    hostile(
        "import: 10 MB cell",
        "POST",
        "/imports/founders",
        upload=_upload(
            f"{CSV_HEADER}{TEN_MB},460100199001010011,13900000000,{REGION},laid_off\n".encode(),
            "founders.csv",
            mode="valid_rows",
        ),
        must_refuse=False,
        created=0,
    ),
    hostile(
        "import: 0000-00-00 and 9999-12-31",
        "POST",
        "/imports/founders",
        upload=_upload(
            xlsx_bytes(
                [
                    (
                        "甲",
                        make_id_number(),
                        make_phone(),
                        REGION,
                        "laid_off",
                        "",
                        "",
                        "0000-00-00",
                    ),
                    (
                        "乙",
                        make_id_number(),
                        make_phone(),
                        REGION,
                        "laid_off",
                        "",
                        "",
                        "9999-12-31",
                    ),
                ],
                headers=(*IMPORT_HEADERS, "登记日期"),
            ),
            mode="valid_rows",
        ),
        must_refuse=False,
        created=0,
    ),
]


def _hostile_rows(rows: dict[str, Any]) -> dict[str, Any]:
    """The sample rows with the follow-ups and notification kept for the hostile cases in
    place of the ones fuzzing has worked on."""
    kept = ("task_id", "intake_task_id", "misuse_task_id", "notification_id")
    return rows | {name: rows[f"hostile_{name}"] for name in kept}


@pytest.mark.parametrize("case_data", HOSTILE)
def test_hostile_input_is_refused_not_crashed(
    app: Flask,
    fuzz_headers: dict[str, dict[str, str]],
    sample_rows: dict[str, Any],
    case_data: Hostile,
) -> None:
    operation = schema[case_data.path][case_data.method]
    rows = _hostile_rows(sample_rows)
    case_fields: dict[str, Any] = {}
    if parameters := _path_parameters(case_data.path, rows, case_data.method):
        case_fields["path_parameters"] = parameters
    if case_data.query is not None:
        case_fields["query"] = case_data.query
    if case_data.body is not None:
        case_fields["body"] = _resolve(case_data.body, rows)
    extra = multipart(case_data.upload) if case_data.upload is not None else {}
    case = operation.Case(**case_fields)
    headers = fuzz_headers[fuzz_role(case_data.method, case_data.path)]
    response = case.call_and_validate(app=app, headers=headers, checks=CHECKS, **extra)
    if case_data.must_refuse:
        assert 400 <= response.status_code < 500, response.text[:1000]
    if case_data.created is not None and response.status_code == 200:
        assert response.json()["created"] == case_data.created, response.text[:1000]
    if case_data.posted is not None and response.status_code == 200:
        assert response.json()["posted"] == case_data.posted, response.text[:1000]


# The unchanged bodies the business and incubation cases above start from: each is accepted,
# so each hostile case is refused for its one hostile value, not for something else.
VALID_STARTS = [
    pytest.param("POST", "/businesses", _business_with(uscc=make_uscc()), 201, id="business"),
    pytest.param("PATCH", "/businesses/{business_id}", {"name": "新店名"}, 200, id="patch"),
    pytest.param(
        "POST", "/businesses/{business_id}/observations", _observation_with(), 201, id="observe"
    ),
    pytest.param("POST", "/observations/{observation_id}/query", {"note": "？"}, 200, id="query"),
    pytest.param("POST", "/incubation/bases", _base_with(), 201, id="base"),
    pytest.param(
        "POST", "/incubation/bases/{base_id}/residencies", _residency_with(), 201, id="move-in"
    ),
    pytest.param("POST", "/residencies/{residency_id}/end", _end_with(), 200, id="move-out"),
]


@pytest.mark.parametrize(("method", "path", "body", "status"), VALID_STARTS)
def test_the_hostile_cases_start_from_valid_bodies(
    app: Flask,
    fuzz_headers: dict[str, dict[str, str]],
    method: str,
    path: str,
    body: dict[str, Any],
    status: int,
) -> None:
    with app.app_context():  # rows of their own: the sample rows stay as they are
        base = make_base(region_code=REGION)
        rows = {
            "founder_id": make_founder(region_code=REGION).id,
            "business_id": make_business(make_founder(region_code=REGION)).id,
            "observation_id": make_observation(make_business(), source="founder").id,
            "base_id": base.id,
            "residency_id": make_residency(base).id,
        }
        db.session.commit()
    case = schema[path][method].Case(
        path_parameters=_path_parameters(path, rows), body=_resolve(body, rows)
    )
    response = case.call_and_validate(app=app, headers=fuzz_headers["staff"], checks=CHECKS)
    assert response.status_code == status, response.text[:1000]


# The same for the loan and integrity cases: each unchanged body is accepted on fresh rows.
LOAN_VALID_STARTS = [
    pytest.param("POST", "/loans", _application_with(), 201, id="application"),
    pytest.param("POST", "/loans", _guarantor_with(phone="13907551234"), 201, id="guarantor"),
    pytest.param("POST", "/loans/{loan_id}/disburse", _disbursement_with(), 200, id="disburse"),
    pytest.param("POST", "/loans/{loan_id}/repayments", _payment_with(), 201, id="repayment"),
    pytest.param("POST", "/founders/{founder_id}/integrity-events", _event_with(), 201, id="event"),
    pytest.param("POST", "/funds/{region_code}/entries", _fund_entry_with(), 201, id="deposit"),
    pytest.param("PUT", "/integrity/points/{kind}", {"points": -5}, 200, id="points"),
]


@pytest.mark.parametrize(("method", "path", "body", "status"), LOAN_VALID_STARTS)
def test_the_hostile_loan_cases_start_from_valid_bodies(
    app: Flask,
    fuzz_headers: dict[str, dict[str, str]],
    fuzz_user_ids: dict[str, int],
    method: str,
    path: str,
    body: dict[str, Any],
    status: int,
) -> None:
    with app.app_context():  # rows of their own: the sample rows stay as they are
        _lending()
        loan_status = "approved" if path.endswith("/disburse") else "active"
        rows = {
            "loan_founder_id": make_trained_founder(region_code=REGION).id,
            "loan_id": make_loan(status=loan_status, disbursed_on=date(2026, 10, 31)).id,
            "founder_id": make_founder(region_code=REGION).id,
            "region_code": REGION,
            "kind": "paid_late",
        }
        db.session.commit()
    case = schema[path][method].Case(
        path_parameters=_path_parameters(path, rows), body=_resolve(body, rows)
    )
    headers = fuzz_headers[fuzz_role(method, path)]
    response = case.call_and_validate(app=app, headers=headers, checks=CHECKS)
    assert response.status_code == status, response.text[:1000]


# The same for the follow-up and job cases: each unchanged body is accepted on fresh rows.
FOLLOWUP_VALID_STARTS = [
    pytest.param("POST", "/followups/{task_id}/complete", _completion_with(), 200, id="complete"),
    pytest.param("POST", "/followups/{task_id}/attempts", _attempt_with(), 201, id="attempt"),
    pytest.param("POST", "/followups/{task_id}/services", _service_with(), 201, id="service"),
    pytest.param(
        "POST", "/followups/{task_id}/assign", {"assignee_id": Row("staff_id")}, 200, id="assign"
    ),
    pytest.param("POST", "/followups/{task_id}/misuse", _misuse_with(), 200, id="misuse"),
    pytest.param("POST", "/jobs/{name}/run", {"as_of": "2026-06-30"}, 200, id="job run"),
]


@pytest.mark.parametrize(("method", "path", "body", "status"), FOLLOWUP_VALID_STARTS)
def test_the_hostile_followup_cases_start_from_valid_bodies(
    app: Flask,
    fuzz_headers: dict[str, dict[str, str]],
    method: str,
    path: str,
    body: dict[str, Any],
    status: int,
) -> None:
    with app.app_context():  # rows of their own: the sample rows stay as they are
        rows = {
            "task_id": make_task("business", region_code=REGION).id,
            "intake_task_id": make_task("intake_services", region_code=REGION).id,
            "misuse_task_id": _pending_misuse_task().id,
            "staff_id": make_user(role="staff", region_code=REGION).id,
            "job_name": "daily",
        }
        db.session.commit()
    case = schema[path][method].Case(
        path_parameters=_path_parameters(path, rows, method), body=_resolve(body, rows)
    )
    headers = fuzz_headers[fuzz_role(method, path)]
    response = case.call_and_validate(app=app, headers=headers, checks=CHECKS)
    assert response.status_code == status, response.text[:1000]


@given(content=st.binary(max_size=4096), name=st.sampled_from(["f.xlsx", "f.csv"]))
@FUZZ_SETTINGS
def test_random_files_never_crash_the_import(
    app: Flask, fuzz_headers: dict[str, dict[str, str]], content: bytes, name: str
) -> None:
    """Bytes of any kind, named as a spreadsheet, reach the parser: a 4xx, never a 5xx."""
    operation = schema["/imports/founders"]["POST"]
    upload = multipart({"file": (content, name), "mode": "valid_rows"})
    response = operation.Case().call_and_validate(
        app=app, headers=fuzz_headers["staff"], checks=CHECKS, **upload
    )
    assert response.status_code < 500


def test_an_upload_over_the_size_cap_is_413(
    app: Flask, fuzz_headers: dict[str, dict[str, str]]
) -> None:
    too_big = b"a" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    upload = multipart({"file": (too_big, "founders.csv"), "mode": "valid_rows"})
    response = (
        schema["/imports/founders"]["POST"]
        .Case()
        .call_and_validate(app=app, headers=fuzz_headers["staff"], checks=CHECKS, **upload)
    )
    assert response.status_code == 413
    assert response.json()["error"]


@pytest.mark.parametrize(
    "path",
    [
        "/founders/0",
        "/founders/-1",
        f"/founders/{2**31}",
        f"/founders/{HUGE}",
        f"/founders/{BEYOND_64_BITS}",
        "/founders/1e3",
        "/founders/%00",
        "/institutions/0",
        f"/institutions/{HUGE}",
        f"/cohorts/{BEYOND_64_BITS}",
        "/cohorts/abc",
        "/library/projects/0",
        "/library/projects/-1",
        f"/library/projects/{2**31}",
        f"/library/projects/{HUGE}",
        f"/library/projects/{BEYOND_64_BITS}",
        "/library/projects/abc",
        "/library/projects/%00",
        "/businesses/0",
        "/businesses/-1",
        f"/businesses/{2**31}",
        f"/businesses/{HUGE}",
        f"/businesses/{BEYOND_64_BITS}",
        "/businesses/abc",
        "/businesses/%00",
        "/incubation/bases/0",
        f"/incubation/bases/{2**31}",
        f"/incubation/bases/{HUGE}",
        f"/incubation/bases/{BEYOND_64_BITS}",
        "/incubation/bases/1e3",
        "/incubation/bases/%00",
    ],
)
def test_impossible_ids_in_paths_are_not_found(
    app: Flask, fuzz_headers: dict[str, dict[str, str]], path: str
) -> None:
    response = app.test_client().get(f"{API_PREFIX}{path}", headers=fuzz_headers["staff"])
    assert response.status_code == 404
    assert response.is_json


@pytest.mark.parametrize(
    "path",
    [
        "/loans/0",
        "/loans/-1",
        f"/loans/{2**31}",
        f"/loans/{HUGE}",
        f"/loans/{BEYOND_64_BITS}",
        "/loans/1e3",
        "/loans/abc",
        "/loans/%00",
        f"/founders/{HUGE}/integrity",
        f"/founders/{BEYOND_64_BITS}/integrity",
        "/founders/0/integrity",
        "/funds/999999",
        "/funds/%00",
        "/funds/abc",
        f"/funds/{'4' * 10_000}",
        "/loan-policies/999999",
        "/loan-policies/%00",
        f"/loan-policies/{BEYOND_64_BITS}",
    ],
)
def test_impossible_ids_in_loan_paths_are_not_found(
    app: Flask, fuzz_headers: dict[str, dict[str, str]], path: str
) -> None:
    response = app.test_client().get(f"{API_PREFIX}{path}", headers=fuzz_headers["officer"])
    assert response.status_code == 404
    assert response.is_json


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", f"/loans/{HUGE}/repayments"),
        ("POST", f"/loans/{BEYOND_64_BITS}/review"),
        ("POST", "/loans/%00/approve"),
        ("POST", f"/repayments/{HUGE}/reverse"),
        ("POST", f"/repayments/{BEYOND_64_BITS}/reverse"),
        ("POST", f"/integrity/corrections/{HUGE}/approve"),
        ("POST", f"/integrity/corrections/{BEYOND_64_BITS}/reject"),
        ("POST", f"/founders/{HUGE}/integrity-events"),
    ],
)
def test_impossible_ids_in_loan_writes_are_not_found(
    app: Flask, fuzz_headers: dict[str, dict[str, str]], method: str, path: str
) -> None:
    response = app.test_client().open(
        f"{API_PREFIX}{path}", method=method, json={}, headers=fuzz_headers["officer"]
    )
    assert response.status_code == 404
    assert response.is_json


@pytest.mark.parametrize(
    ("method", "path", "role"),
    [
        ("GET", "/followups/0", "staff"),
        ("GET", "/followups/-1", "staff"),
        ("GET", f"/followups/{2**31}", "staff"),
        ("GET", f"/followups/{HUGE}", "staff"),
        ("GET", f"/followups/{BEYOND_64_BITS}", "staff"),
        ("GET", "/followups/1e3", "staff"),
        ("GET", "/followups/abc", "staff"),
        ("GET", "/followups/%00", "staff"),
        ("POST", f"/followups/{HUGE}/complete", "staff"),
        ("POST", f"/followups/{BEYOND_64_BITS}/attempts", "staff"),
        ("POST", f"/followups/{2**31}/services", "staff"),
        ("POST", "/followups/%00/assign", "staff"),
        ("POST", f"/followups/{HUGE}/misuse", "officer"),
        ("POST", f"/followups/{BEYOND_64_BITS}/misuse", "officer"),
        ("POST", f"/notifications/{HUGE}/read", "staff"),
        ("POST", f"/notifications/{BEYOND_64_BITS}/read", "staff"),
        ("POST", "/notifications/0/read", "staff"),
        ("POST", "/notifications/%00/read", "staff"),
        ("POST", "/jobs/%00/run", "admin"),
        ("POST", "/jobs/weekly/run", "admin"),
        ("POST", f"/jobs/{'x' * 10_000}/run", "admin"),
        ("POST", "/jobs/app.scheduler.registry:JOBS/run", "admin"),
    ],
)
def test_impossible_ids_in_followup_notification_and_job_paths_are_not_found(
    app: Flask, fuzz_headers: dict[str, dict[str, str]], method: str, path: str, role: str
) -> None:
    body = {"as_of": "2026-06-30"} if path.startswith("/jobs/") else {}
    response = app.test_client().open(
        f"{API_PREFIX}{path}", method=method, json=body, headers=fuzz_headers[role]
    )
    assert response.status_code == 404
    assert response.is_json


@pytest.mark.parametrize("method", ["GET", "PUT"])
@pytest.mark.parametrize(
    "path",
    [
        "/targets/1999/460100",
        "/targets/2100/460100",
        f"/targets/{HUGE}/460100",
        f"/targets/{BEYOND_64_BITS}/460100",
        "/targets/-1/460100",
        "/targets/2026.5/460100",
        "/targets/2026/999999",
        "/targets/2026/%00",
        f"/targets/2026/{'4' * 10_000}",
        "/targets/2026/310110",  # another province's district
    ],
)
def test_impossible_targets_paths_are_not_found(
    app: Flask, fuzz_headers: dict[str, dict[str, str]], method: str, path: str
) -> None:
    response = app.test_client().open(
        f"{API_PREFIX}{path}",
        method=method,
        json={"trainees": 1},
        headers=fuzz_headers["province_staff"],
    )
    assert response.status_code == 404
    assert response.is_json


def test_another_users_notification_is_not_found(
    app: Flask, fuzz_headers: dict[str, dict[str, str]], sample_rows: dict[str, Any]
) -> None:
    """The staff member's notification, read by the officer: 404, and it stays unread."""
    with app.app_context():
        notification_id = make_notification(_user(STAFF_USERNAME)).id
        db.session.commit()
    response = app.test_client().post(
        f"{API_PREFIX}/notifications/{notification_id}/read", headers=fuzz_headers["officer"]
    )
    assert response.status_code == 404
    with app.app_context():
        assert db.session.get(Notification, notification_id).read_at is None


@pytest.mark.parametrize("nesting", [1_000, 200_000])
def test_absurdly_nested_json_is_400(app: Flask, nesting: int) -> None:
    client = app.test_client()
    response = client.post(
        f"{API_PREFIX}/auth/token", data="[" * nesting, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.is_json
