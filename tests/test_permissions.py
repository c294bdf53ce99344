"""Every endpoint x every method x every role, and the default-deny rules (SPEC §4).

EXPECTED below is the permission matrix written out by hand. It must name every rule the
app registers, no more and no fewer: a new view fails `test_expected_matches_url_map`
until its row is added here, so no endpoint ships without a decision about who may use it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from flask_login import AnonymousUserMixin
from sqlalchemy import select
from werkzeug.routing import Rule

from app.auth.models import User
from app.core.permissions import (
    ROLE_PERMISSIONS,
    Permission,
    Role,
    has_permission,
    scope_clause,
    scoped,
)
from app.extensions import db
from app.followups.models import TaskKind
from app.founders.models import Founder, FounderImport
from app.loans.operations import post_repayment
from tests.businesses.factories import make_business, make_observation
from tests.factories import make_founder, make_user
from tests.followups.factories import make_task
from tests.incubation.factories import make_base, make_residency
from tests.integrity.factories import make_correction
from tests.library.factories import make_project
from tests.loans.factories import make_loan, pass_training
from tests.notifications.factories import make_notification
from tests.training.factories import make_cohort, make_enrollment, make_institution

ROLES = ("anonymous", "admin", "staff", "officer", "founder")
# The region each role signs in from in the matrix; admins belong to a province.
ROLE_REGION = {"admin": "460000", "staff": "460100", "officer": "460100", "founder": "460100"}
STAFF_REGION = ROLE_REGION["staff"]
SKIPPED_ENDPOINTS = frozenset({"static", "bootstrap.static"})
IGNORED_METHODS = frozenset({"HEAD", "OPTIONS"})
# An id no row has; small enough for a PostgreSQL integer column.
MISSING_ID = 999_999_999


@dataclass(frozen=True)
class Redirect:
    """A 302 to `path`; `with_next` means the login page with ?next=<the requested path>.

    `path` may name the rule's URL arguments, as in "/founders/{founder_id}".
    """

    path: str
    with_next: bool = False


TO_LOGIN = Redirect("/login", with_next=True)
TO_DASHBOARD = Redirect("/")
TO_OWN_RECORD = Redirect("/me")
Outcome = int | Redirect


def row(anonymous: Outcome, admin: Outcome, staff: Outcome, officer: Outcome, founder: Outcome):
    """One line of the matrix: what each role gets."""
    return {
        "anonymous": anonymous,
        "admin": admin,
        "staff": staff,
        "officer": officer,
        "founder": founder,
    }


def admin_page() -> dict[str, Outcome]:
    """An administrators' page: the form or list for admins, 403 for the others."""
    return row(TO_LOGIN, 200, 403, 403, 403)


def admin_api(success: int) -> dict[str, Outcome]:
    """An administrators' API call: `success` for admins, 403 for others, 401 without token."""
    return row(401, success, 403, 403, 403)


def staff_page(success: Outcome = 200) -> dict[str, Outcome]:
    """A page of centre staff only (founders.write, training.manage)."""
    return row(TO_LOGIN, 403, success, 403, 403)


def staff_api(success: int) -> dict[str, Outcome]:
    """An API call of centre staff only."""
    return row(401, 403, success, 403, 403)


def founder_reader_page(success: Outcome = 200) -> dict[str, Outcome]:
    """A page for whoever reads the founder register (founders.read): admin, staff, officer."""
    return row(TO_LOGIN, success, success, success, 403)


# (endpoint, method) -> outcome per role. POSTs send an empty form or an empty JSON object,
# which proves access: a page re-renders its form (200), the API answers 422.
EXPECTED: dict[tuple[str, str], dict[str, Outcome]] = {
    # Pages for everyone signed in
    # A founder's starting page is their own record.
    ("main.dashboard", "GET"): row(TO_LOGIN, 200, 200, 200, TO_OWN_RECORD),
    # An invalid language choice goes back to the dashboard, signed in or not.
    ("main.set_language", "POST"): row(
        TO_DASHBOARD, TO_DASHBOARD, TO_DASHBOARD, TO_DASHBOARD, TO_DASHBOARD
    ),
    ("auth.login", "GET"): row(200, TO_DASHBOARD, TO_DASHBOARD, TO_DASHBOARD, TO_DASHBOARD),
    ("auth.login", "POST"): row(200, TO_DASHBOARD, TO_DASHBOARD, TO_DASHBOARD, TO_DASHBOARD),
    ("auth.logout", "POST"): row(
        TO_LOGIN, Redirect("/login"), Redirect("/login"), Redirect("/login"), Redirect("/login")
    ),
    ("auth.change_password", "GET"): row(TO_LOGIN, 200, 200, 200, 200),
    ("auth.change_password", "POST"): row(TO_LOGIN, 200, 200, 200, 200),
    ("regions.index", "GET"): row(TO_LOGIN, 200, 200, 200, 200),
    # Administrators' pages
    ("auth.list_users", "GET"): admin_page(),
    ("auth.create_user", "GET"): admin_page(),
    ("auth.create_user", "POST"): admin_page(),
    ("auth.edit_user", "GET"): admin_page(),
    ("auth.edit_user", "POST"): admin_page(),
    ("auth.reset_password", "GET"): admin_page(),
    ("auth.reset_password", "POST"): admin_page(),
    ("admin.audit_log", "GET"): admin_page(),
    ("regions.new_region", "GET"): admin_page(),
    ("regions.new_region", "POST"): admin_page(),
    # JSON API
    ("api_auth.create_token", "POST"): row(422, 422, 422, 422, 422),
    ("api_auth.revoke_token", "DELETE"): row(401, 204, 204, 204, 204),
    ("api_auth.create_user", "POST"): admin_api(422),
    ("api_auth.list_users", "GET"): admin_api(200),
    ("api_regions.list_all_regions", "GET"): row(401, 200, 200, 200, 200),
    ("api_regions.add_region", "POST"): admin_api(422),
    ("openapi.openapi_document", "GET"): row(200, 200, 200, 200, 200),
    # Founder register pages (SPEC §4, §5). Rules with an id get a founder of the staff's
    # region, or the founder's own record when a founder asks.
    ("founders.index", "GET"): founder_reader_page(),
    ("founders.detail", "GET"): founder_reader_page(),
    ("founders.export", "GET"): founder_reader_page(),  # the .xlsx download
    ("founders.new", "GET"): staff_page(),
    ("founders.new", "POST"): staff_page(),
    ("founders.edit", "GET"): staff_page(),
    # An empty form changes nothing (WTForms keeps the record's values): saved, redirected.
    ("founders.edit", "POST"): staff_page(Redirect("/founders/{founder_id}")),
    ("founders.create_account", "GET"): staff_page(),
    ("founders.create_account", "POST"): staff_page(),
    ("founders.import_founders", "GET"): staff_page(),
    ("founders.import_founders", "POST"): staff_page(),
    ("founders.import_template", "GET"): staff_page(),
    ("founders.import_report", "GET"): staff_page(),  # the user's own import
    # Only staff and officers ever see a full ID number; admins read founders without it.
    ("founders.reveal_id_number", "POST"): row(TO_LOGIN, 403, 200, 200, 403),
    # The founder portal: a founder's own record, nobody else's page.
    ("founders.my_record", "GET"): row(TO_LOGIN, 403, 403, 403, 200),
    # Training pages: centre staff only (SPEC §6).
    ("training.institutions", "GET"): staff_page(),
    ("training.new_institution", "GET"): staff_page(),
    ("training.new_institution", "POST"): staff_page(),
    ("training.institution_detail", "GET"): staff_page(),
    ("training.courses", "GET"): staff_page(),
    ("training.new_course", "GET"): staff_page(),
    ("training.new_course", "POST"): staff_page(),
    ("training.cohorts", "GET"): staff_page(),
    ("training.new_cohort", "GET"): staff_page(),
    ("training.new_cohort", "POST"): staff_page(),
    ("training.cohort_detail", "GET"): staff_page(),
    ("training.enroll", "POST"): staff_page(),
    # An empty roster form records nothing, which is a valid save of no changes.
    ("training.save_results", "POST"): staff_page(Redirect("/training/cohorts/{cohort_id}")),
    # Founders API (SPEC §14): staff write; staff, officers and admins read; a founder
    # reads their own record only.
    ("api_founders.create_founder", "POST"): staff_api(422),
    ("api_founders.list_founders", "GET"): row(401, 200, 200, 200, 403),
    ("api_founders.get_founder", "GET"): row(401, 200, 200, 200, 200),
    # Every field of a PATCH is optional: an empty one is a valid change of nothing.
    ("api_founders.update_founder", "PATCH"): staff_api(200),
    ("api_founders.import_founders", "POST"): staff_api(422),
    # Training API: centre staff only, reads included.
    ("api_training.add_institution", "POST"): staff_api(422),
    ("api_training.list_institutions", "GET"): staff_api(200),
    ("api_training.institution_detail", "GET"): staff_api(200),
    ("api_training.add_course", "POST"): staff_api(422),
    ("api_training.list_courses", "GET"): staff_api(200),
    ("api_training.add_cohort", "POST"): staff_api(422),
    ("api_training.list_cohorts", "GET"): staff_api(200),
    ("api_training.cohort_detail", "GET"): staff_api(200),
    ("api_training.enroll", "POST"): staff_api(422),
    ("api_training.record_result", "POST"): staff_api(422),
    # Project library pages (SPEC §7, D29): everyone signed in browses their own library;
    # staff curate their own region's projects; founders adopt for themselves and staff for
    # a founder of their area. Rules with an id get a published Haikou (city) project,
    # which the Haikou staff curate and every role's user sees.
    ("library.index", "GET"): row(TO_LOGIN, 200, 200, 200, 200),
    ("library.detail", "GET"): row(TO_LOGIN, 200, 200, 200, 200),
    ("library.export", "GET"): row(TO_LOGIN, 200, 200, 200, 200),  # the .xlsx download
    ("library.new", "GET"): staff_page(),
    ("library.new", "POST"): staff_page(),
    ("library.edit", "GET"): staff_page(),
    # The edit form's required fields must be sent (InputRequired): an empty one comes back
    # with the errors, and the project is left alone.
    ("library.edit", "POST"): staff_page(),
    # Status buttons go back to the project, with a message: publishing a published project
    # is refused (a flashed conflict), retiring and revising it succeed.
    ("library.publish", "POST"): staff_page(Redirect("/library/projects/{project_id}")),
    ("library.retire", "POST"): staff_page(Redirect("/library/projects/{project_id}")),
    ("library.revise", "POST"): staff_page(Redirect("/library/projects/{project_id}")),
    # Only the province's staff promote a city project: the city's own staff get 403 too
    # (province staff promoting is in tests/test_scope.py).
    ("library.promote", "POST"): row(TO_LOGIN, 403, 403, 403, 403),
    # Staff must name the founder (the form again, with the error); a founder adopts for
    # themself and goes back to the project.
    ("library.adopt", "POST"): row(
        TO_LOGIN, 403, 200, 403, Redirect("/library/projects/{project_id}")
    ),
    ("library.import_projects", "GET"): staff_page(),
    ("library.import_projects", "POST"): staff_page(),
    ("library.import_report", "POST"): staff_page(),  # the .xlsx of the problems posted
    ("library.import_template", "GET"): staff_page(),
    # Library API: every role reads its own library; staff curate; founders and staff adopt.
    ("api_library.create_project", "POST"): staff_api(422),
    ("api_library.list_projects", "GET"): row(401, 200, 200, 200, 200),
    ("api_library.get_project", "GET"): row(401, 200, 200, 200, 200),
    ("api_library.update_project", "PATCH"): staff_api(200),
    ("api_library.publish_project", "POST"): staff_api(409),  # it is published already
    ("api_library.retire_project", "POST"): staff_api(200),
    ("api_library.revise_project", "POST"): staff_api(200),
    ("api_library.promote_project", "POST"): row(401, 403, 403, 403, 403),  # city staff
    # Staff must name the founder; a founder adopts for themself.
    ("api_library.adopt_project", "POST"): row(401, 403, 422, 403, 201),
    # Business pages (SPEC §4, §8): staff write; staff, officers and admins read; a founder
    # has their own "my business" page instead. Ids name a business of the staff's region,
    # or the founder's own business when a founder asks.
    ("businesses.index", "GET"): founder_reader_page(),
    ("businesses.detail", "GET"): founder_reader_page(),
    ("businesses.new", "GET"): staff_page(),
    ("businesses.new", "POST"): staff_page(),
    ("businesses.edit", "GET"): staff_page(),
    # An empty form changes nothing (WTForms keeps the record's values): saved, redirected.
    ("businesses.edit", "POST"): staff_page(Redirect("/businesses/{business_id}")),
    # An empty observation re-renders the business page with the form's errors.
    ("businesses.add_observation", "POST"): staff_page(422),
    ("businesses.my_business", "GET"): row(TO_LOGIN, 403, 403, 403, 200),
    ("businesses.my_business", "POST"): row(TO_LOGIN, 403, 403, 403, 200),
    ("businesses.reports", "GET"): staff_page(),
    ("businesses.verify_report", "POST"): staff_page(Redirect("/businesses/reports")),
    # An empty question is refused with a message on the queue page.
    ("businesses.query_report", "POST"): staff_page(Redirect("/businesses/reports")),
    # Businesses API: staff write and review; staff, officers and admins read; a founder
    # reads their own businesses and reports on them.
    ("api_businesses.create_business", "POST"): staff_api(422),
    ("api_businesses.list_businesses", "GET"): row(401, 200, 200, 200, 200),
    ("api_businesses.get_business", "GET"): row(401, 200, 200, 200, 200),
    ("api_businesses.update_business", "PATCH"): staff_api(200),
    ("api_businesses.create_observation", "POST"): row(401, 403, 422, 403, 422),
    ("api_businesses.list_reports", "GET"): staff_api(200),
    ("api_businesses.verify_observation", "POST"): staff_api(200),
    ("api_businesses.query_observation", "POST"): staff_api(422),
    # Incubation pages (SPEC §4, §8): centre staff only, reads included. Ids name a base of
    # the staff's region, or an open residency in one. An empty form comes back with its
    # errors: the base form, or the base page with the move-in or move-out form.
    ("incubation.bases", "GET"): staff_page(),
    ("incubation.new_base", "GET"): staff_page(),
    ("incubation.new_base", "POST"): staff_page(),
    ("incubation.base", "GET"): staff_page(),
    ("incubation.edit_base", "GET"): staff_page(),
    ("incubation.edit_base", "POST"): staff_page(),
    ("incubation.start_residency", "POST"): staff_page(),
    ("incubation.end_residency", "POST"): staff_page(),
    ("incubation.occupancy", "GET"): staff_page(),
    # Incubation API: centre staff only, reads included.
    ("api_incubation.create_base", "POST"): staff_api(422),
    ("api_incubation.list_bases", "GET"): staff_api(200),
    ("api_incubation.get_base", "GET"): staff_api(200),
    ("api_incubation.start_residency", "POST"): staff_api(422),
    ("api_incubation.end_residency", "POST"): staff_api(422),
    # Loan policies (SPEC §9): the admin edits; officers read their own area's and province's.
    ("loan_policies.index", "GET"): admin_page(),
    ("loan_policies.edit", "GET"): admin_page(),
    # An empty form keeps the values that apply: saved (the city's row is pinned), redirected.
    ("loan_policies.edit", "POST"): row(TO_LOGIN, Redirect("/admin/loan-policies/"), 403, 403, 403),
    ("loan_policies.clear", "POST"): row(
        TO_LOGIN, Redirect("/admin/loan-policies/{region_code}"), 403, 403, 403
    ),
    ("api_loan_policies.get_policy", "GET"): row(401, 200, 403, 200, 403),
    ("api_loan_policies.put_policy", "PUT"): admin_api(200),  # {} is a valid PUT
    # Loans (SPEC §4, §9): officers act; admins read; founders read their own.
    ("loans.index", "GET"): row(TO_LOGIN, 200, 403, 200, 403),
    ("loans.queue", "GET"): row(TO_LOGIN, 200, 403, 200, 403),
    ("loans.new", "GET"): row(TO_LOGIN, 403, 403, 200, 403),
    ("loans.new", "POST"): row(TO_LOGIN, 403, 403, 422, 403),
    ("loans.detail", "GET"): row(TO_LOGIN, 200, 403, 200, 403),
    ("loans.review", "POST"): row(TO_LOGIN, 403, 403, 422, 403),
    ("loans.approve", "POST"): row(TO_LOGIN, 403, 403, 422, 403),
    ("loans.disburse", "POST"): row(TO_LOGIN, 403, 403, 422, 403),
    ("loans.add_repayment", "POST"): row(TO_LOGIN, 403, 403, 422, 403),
    ("loans.compensate", "POST"): row(TO_LOGIN, 403, 403, 422, 403),
    ("loans.add_recovery", "POST"): row(TO_LOGIN, 403, 403, 422, 403),
    ("loans.write_off", "POST"): row(TO_LOGIN, 403, 403, 422, 403),
    ("loans.reverse_repayment", "POST"): row(TO_LOGIN, 403, 403, 422, 403),
    ("loans.arrears", "GET"): row(TO_LOGIN, 200, 403, 200, 403),
    ("loans.funds", "GET"): row(TO_LOGIN, 200, 403, Redirect("/loans/funds/460000"), 403),
    ("loans.fund_detail", "GET"): row(TO_LOGIN, 200, 403, 200, 403),
    ("loans.add_fund_entry", "POST"): row(TO_LOGIN, 422, 403, 403, 403),
    ("loans.my_loans", "GET"): row(TO_LOGIN, 403, 403, 403, 200),
    ("loans.my_loan", "GET"): row(TO_LOGIN, 403, 403, 403, 200),
    ("api_loans.create_loan", "POST"): row(401, 403, 403, 422, 403),
    ("api_loans.list_loans", "GET"): row(401, 200, 403, 200, 200),
    ("api_loans.get_loan", "GET"): row(401, 200, 403, 200, 200),
    ("api_loans.review_loan", "POST"): row(401, 403, 403, 422, 403),
    ("api_loans.approve_loan", "POST"): row(401, 403, 403, 422, 403),
    ("api_loans.disburse_loan", "POST"): row(401, 403, 403, 422, 403),
    ("api_loans.post_repayment", "POST"): row(401, 403, 403, 422, 403),
    ("api_loans.compensate_loan", "POST"): row(401, 403, 403, 422, 403),
    ("api_loans.record_recovery", "POST"): row(401, 403, 403, 422, 403),
    ("api_loans.write_off_loan", "POST"): row(401, 403, 403, 422, 403),
    ("api_loans.reverse_repayment", "POST"): row(401, 403, 403, 422, 403),
    ("api_loans.get_fund", "GET"): row(401, 200, 403, 200, 403),
    ("api_loans.post_fund_entry", "POST"): admin_api(422),
    # Bank statements and the quarterly claims (SPEC §9).
    ("loan_statements.import_statement", "GET"): row(TO_LOGIN, 403, 403, 200, 403),
    ("loan_statements.import_statement", "POST"): row(TO_LOGIN, 403, 403, 200, 403),
    ("loan_statements.reports", "GET"): row(TO_LOGIN, 200, 403, 200, 403),
    # Without ?year=&quarter= the download answers the reports page with the form's errors.
    ("loan_statements.subsidy_claim", "GET"): row(TO_LOGIN, 400, 403, 400, 403),
    ("loan_statements.compensation_claim", "GET"): row(TO_LOGIN, 400, 403, 400, 403),
    ("api_loan_statements.import_repayments", "POST"): row(401, 403, 403, 422, 403),
    # Integrity files (SPEC §10): officers read and record; founders read their own.
    ("integrity.founder_file", "GET"): row(TO_LOGIN, 200, 403, 200, 403),
    ("integrity.record_event", "POST"): row(TO_LOGIN, 403, 403, 422, 403),
    ("integrity.propose_correction", "POST"): row(TO_LOGIN, 403, 403, 422, 403),
    ("integrity.corrections", "GET"): row(TO_LOGIN, 200, 403, 200, 403),
    ("integrity.approve_correction", "POST"): row(
        TO_LOGIN, 403, 403, Redirect("/integrity/corrections"), 403
    ),
    ("integrity.reject_correction", "POST"): row(
        TO_LOGIN, 403, 403, Redirect("/integrity/corrections"), 403
    ),
    ("integrity.points", "GET"): row(TO_LOGIN, 200, 403, 200, 403),
    ("integrity.update_points", "POST"): row(TO_LOGIN, 422, 403, 403, 403),
    ("integrity.my_file", "GET"): row(TO_LOGIN, 403, 403, 403, 200),
    ("api_integrity.get_file", "GET"): row(401, 200, 403, 200, 200),
    ("api_integrity.create_event", "POST"): row(401, 403, 403, 422, 403),
    ("api_integrity.list_corrections", "GET"): row(401, 200, 403, 200, 403),
    # An empty body is a valid approval.
    ("api_integrity.approve_correction", "POST"): row(401, 403, 403, 200, 403),
    ("api_integrity.reject_correction", "POST"): row(401, 403, 403, 422, 403),
    ("api_integrity.list_points", "GET"): row(401, 200, 403, 200, 403),
    ("api_integrity.update_points", "PUT"): row(401, 422, 403, 403, 403),
    # No query string: region_code is required, so every reader gets 422.
    ("api_reports.get_kpis", "GET"): row(401, 422, 422, 422, 403),
    # Report pages default to the user's own region and today.
    ("reports.figure_list", "GET"): row(TO_LOGIN, 200, 200, 200, 403),
    ("reports.figure_export", "GET"): row(TO_LOGIN, 200, 200, 200, 403),
    ("reports.chart", "GET"): row(TO_LOGIN, 200, 200, 200, 403),
    ("reports.statistics", "GET"): row(TO_LOGIN, 200, 200, 200, 403),
    # Targets (SPEC §13): every reader of reports sees the pages and the API in their area
    # (a city's staff and officers read their province's page); administrators and a
    # province's staff set them, so the matrix's city staff get 403 on the writes. An empty
    # form or body changes nothing: the page goes back to itself, the API answers 200.
    ("targets.index", "GET"): row(TO_LOGIN, 200, 200, 200, 403),
    ("targets.page", "GET"): row(TO_LOGIN, 200, 200, 200, 403),
    ("targets.save", "POST"): row(
        TO_LOGIN, Redirect("/targets/{year}/{province_code}"), 403, 403, 403
    ),
    ("api_targets.get_region_targets", "GET"): row(401, 200, 200, 200, 403),
    ("api_targets.put_region_targets", "PUT"): admin_api(200),
    # Follow-ups (SPEC §4, §11): staff work their area's tasks, officers its loan_usage tasks
    # and decide misuse findings, admins read; founders never see the queue but answer their
    # own follow-ups at /followups/me. Task ids name an open loan_usage task of the staff's
    # region, which staff and officers both work: every empty form comes back with its
    # errors (422), so each POST proves access.
    ("followups.queue", "GET"): row(TO_LOGIN, 200, 200, 200, 403),
    ("followups.task_page", "GET"): row(TO_LOGIN, 200, 200, 200, 403),
    ("followups.complete", "POST"): row(TO_LOGIN, 403, 422, 422, 403),
    ("followups.add_attempt", "POST"): row(TO_LOGIN, 403, 422, 422, 403),
    ("followups.add_service", "POST"): row(TO_LOGIN, 403, 422, 422, 403),
    # An empty assignment is a valid one: to nobody (the task was nobody's already).
    ("followups.assign", "POST"): row(
        TO_LOGIN, 403, Redirect("/followups/{task_id}"), Redirect("/followups/{task_id}"), 403
    ),
    ("followups.decide_misuse", "POST"): row(TO_LOGIN, 403, 403, 422, 403),
    ("followups.my_status", "GET"): row(TO_LOGIN, 403, 403, 403, 200),
    # The founder's own business (see business_id); an empty report is the page again.
    ("followups.report_business", "POST"): row(TO_LOGIN, 403, 403, 403, 422),
    ("followups.report_employment", "POST"): row(TO_LOGIN, 403, 403, 403, 422),
    ("followups_api.list_tasks", "GET"): row(401, 200, 200, 200, 403),
    ("followups_api.get_task", "GET"): row(401, 200, 200, 200, 403),
    ("followups_api.complete", "POST"): row(401, 403, 422, 422, 403),
    ("followups_api.create_attempt", "POST"): row(401, 403, 422, 422, 403),
    ("followups_api.create_service", "POST"): row(401, 403, 422, 422, 403),
    ("followups_api.assign", "POST"): row(401, 403, 200, 200, 403),  # to nobody
    ("followups_api.decide_misuse", "POST"): row(401, 403, 403, 422, 403),
    # The follow-up plan (admin-adjustable, SPEC §11). An empty form comes back with its
    # errors (the unit and offsets are required); resetting a kind that follows the default
    # changes nothing and goes back to the overview.
    ("followup_plan.index", "GET"): admin_page(),
    ("followup_plan.edit", "GET"): admin_page(),
    ("followup_plan.edit", "POST"): row(TO_LOGIN, 422, 403, 403, 403),
    ("followup_plan.reset", "POST"): row(
        TO_LOGIN, Redirect("/admin/followup-plan/"), 403, 403, 403
    ),
    # Scheduled jobs (SPEC §12): administrators list the runs and run a job by hand. An empty
    # form or body names no date (422), so the matrix never runs a job.
    ("jobs.runs", "GET"): admin_page(),
    ("jobs.run", "POST"): row(TO_LOGIN, 422, 403, 403, 403),
    ("jobs_api.runs", "GET"): admin_api(200),
    ("jobs_api.run", "POST"): admin_api(422),
    # Notifications: everyone signed in reads and marks their own. Ids name one of the
    # signed-in user's own notifications (see notification_id); opening it goes where it
    # leads: the work queue, or a founder's status update page.
    ("notifications.index", "GET"): row(TO_LOGIN, 200, 200, 200, 200),
    ("notifications.open_link", "GET"): row(
        TO_LOGIN,
        Redirect("/followups/"),
        Redirect("/followups/"),
        Redirect("/followups/"),
        Redirect("/followups/me"),
    ),
    ("notifications.mark_read", "POST"): row(
        TO_LOGIN,
        Redirect("/notifications/"),
        Redirect("/notifications/"),
        Redirect("/notifications/"),
        Redirect("/notifications/"),
    ),
    ("notifications.mark_all_read", "POST"): row(
        TO_LOGIN,
        Redirect("/notifications/"),
        Redirect("/notifications/"),
        Redirect("/notifications/"),
        Redirect("/notifications/"),
    ),
    ("notifications_api.list_notifications", "GET"): row(401, 200, 200, 200, 200),
    ("notifications_api.mark_read", "POST"): row(401, 200, 200, 200, 200),
    ("notifications_api.mark_all_read", "POST"): row(401, 200, 200, 200, 200),
}

# Rules with an id in the URL, asked for an id no row has (or, later, one outside the
# caller's scope): who may use the rule gets 404; the others are stopped before the lookup.
EXPECTED_MISSING: dict[tuple[str, str], dict[str, Outcome]] = {
    ("auth.edit_user", "GET"): row(TO_LOGIN, 404, 403, 403, 403),
    ("auth.edit_user", "POST"): row(TO_LOGIN, 404, 403, 403, 403),
    ("auth.reset_password", "GET"): row(TO_LOGIN, 404, 403, 403, 403),
    ("auth.reset_password", "POST"): row(TO_LOGIN, 404, 403, 403, 403),
    ("founders.detail", "GET"): row(TO_LOGIN, 404, 404, 404, 403),
    ("founders.edit", "GET"): staff_page(404),
    ("founders.edit", "POST"): staff_page(404),
    ("founders.create_account", "GET"): staff_page(404),
    ("founders.create_account", "POST"): staff_page(404),
    ("founders.import_report", "GET"): staff_page(404),
    # The role is refused before the lookup, so admins and founders learn nothing.
    ("founders.reveal_id_number", "POST"): row(TO_LOGIN, 403, 404, 404, 403),
    ("training.institution_detail", "GET"): staff_page(404),
    ("training.cohort_detail", "GET"): staff_page(404),
    ("training.enroll", "POST"): staff_page(404),
    ("training.save_results", "POST"): staff_page(404),
    ("api_founders.get_founder", "GET"): row(401, 404, 404, 404, 404),
    ("api_founders.update_founder", "PATCH"): staff_api(404),
    ("api_training.institution_detail", "GET"): staff_api(404),
    ("api_training.cohort_detail", "GET"): staff_api(404),
    ("api_training.enroll", "POST"): staff_api(404),
    ("api_training.record_result", "POST"): staff_api(404),
    ("library.detail", "GET"): row(TO_LOGIN, 404, 404, 404, 404),
    ("library.edit", "GET"): staff_page(404),
    ("library.edit", "POST"): staff_page(404),
    ("library.publish", "POST"): staff_page(404),
    ("library.retire", "POST"): staff_page(404),
    ("library.revise", "POST"): staff_page(404),
    ("library.promote", "POST"): staff_page(404),
    ("library.adopt", "POST"): row(TO_LOGIN, 403, 404, 403, 404),
    ("api_library.get_project", "GET"): row(401, 404, 404, 404, 404),
    ("api_library.update_project", "PATCH"): staff_api(404),
    ("api_library.publish_project", "POST"): staff_api(404),
    ("api_library.retire_project", "POST"): staff_api(404),
    ("api_library.revise_project", "POST"): staff_api(404),
    ("api_library.promote_project", "POST"): staff_api(404),
    ("api_library.adopt_project", "POST"): row(401, 403, 404, 403, 404),
    ("businesses.detail", "GET"): row(TO_LOGIN, 404, 404, 404, 403),
    ("businesses.edit", "GET"): staff_page(404),
    ("businesses.edit", "POST"): staff_page(404),
    ("businesses.add_observation", "POST"): staff_page(404),
    ("businesses.my_business", "GET"): row(TO_LOGIN, 403, 403, 403, 404),
    ("businesses.my_business", "POST"): row(TO_LOGIN, 403, 403, 403, 404),
    ("businesses.verify_report", "POST"): staff_page(404),
    ("businesses.query_report", "POST"): staff_page(404),
    ("api_businesses.get_business", "GET"): row(401, 404, 404, 404, 404),
    ("api_businesses.update_business", "PATCH"): staff_api(404),
    ("api_businesses.create_observation", "POST"): row(401, 403, 404, 403, 404),
    ("api_businesses.verify_observation", "POST"): staff_api(404),
    ("api_businesses.query_observation", "POST"): staff_api(404),
    ("incubation.base", "GET"): staff_page(404),
    ("incubation.edit_base", "GET"): staff_page(404),
    ("incubation.edit_base", "POST"): staff_page(404),
    ("incubation.start_residency", "POST"): staff_page(404),
    ("incubation.end_residency", "POST"): staff_page(404),
    ("api_incubation.get_base", "GET"): staff_api(404),
    ("api_incubation.start_residency", "POST"): staff_api(404),
    ("api_incubation.end_residency", "POST"): staff_api(404),
    ("loan_policies.edit", "GET"): row(TO_LOGIN, 404, 403, 403, 403),
    ("loan_policies.edit", "POST"): row(TO_LOGIN, 404, 403, 403, 403),
    ("loan_policies.clear", "POST"): row(TO_LOGIN, 404, 403, 403, 403),
    ("api_loan_policies.get_policy", "GET"): row(401, 404, 403, 404, 403),
    ("api_loan_policies.put_policy", "PUT"): row(401, 404, 403, 403, 403),
    ("loans.detail", "GET"): row(TO_LOGIN, 404, 403, 404, 403),
    ("loans.review", "POST"): row(TO_LOGIN, 403, 403, 404, 403),
    ("loans.approve", "POST"): row(TO_LOGIN, 403, 403, 404, 403),
    ("loans.disburse", "POST"): row(TO_LOGIN, 403, 403, 404, 403),
    ("loans.add_repayment", "POST"): row(TO_LOGIN, 403, 403, 404, 403),
    ("loans.compensate", "POST"): row(TO_LOGIN, 403, 403, 404, 403),
    ("loans.add_recovery", "POST"): row(TO_LOGIN, 403, 403, 404, 403),
    ("loans.write_off", "POST"): row(TO_LOGIN, 403, 403, 404, 403),
    ("loans.reverse_repayment", "POST"): row(TO_LOGIN, 403, 403, 404, 403),
    ("loans.fund_detail", "GET"): row(TO_LOGIN, 404, 403, 404, 403),
    ("loans.add_fund_entry", "POST"): row(TO_LOGIN, 404, 403, 403, 403),
    ("loans.my_loan", "GET"): row(TO_LOGIN, 403, 403, 403, 404),
    ("api_loans.get_loan", "GET"): row(401, 404, 403, 404, 404),
    ("api_loans.review_loan", "POST"): row(401, 403, 403, 404, 403),
    ("api_loans.approve_loan", "POST"): row(401, 403, 403, 404, 403),
    ("api_loans.disburse_loan", "POST"): row(401, 403, 403, 404, 403),
    ("api_loans.post_repayment", "POST"): row(401, 403, 403, 404, 403),
    ("api_loans.compensate_loan", "POST"): row(401, 403, 403, 404, 403),
    ("api_loans.record_recovery", "POST"): row(401, 403, 403, 404, 403),
    ("api_loans.write_off_loan", "POST"): row(401, 403, 403, 404, 403),
    ("api_loans.reverse_repayment", "POST"): row(401, 403, 403, 404, 403),
    ("api_loans.get_fund", "GET"): row(401, 404, 403, 404, 403),
    ("api_loans.post_fund_entry", "POST"): row(401, 404, 403, 403, 403),
    ("integrity.founder_file", "GET"): row(TO_LOGIN, 404, 403, 404, 403),
    ("integrity.record_event", "POST"): row(TO_LOGIN, 403, 403, 404, 403),
    ("integrity.propose_correction", "POST"): row(TO_LOGIN, 403, 403, 404, 403),
    ("integrity.approve_correction", "POST"): row(TO_LOGIN, 403, 403, 404, 403),
    ("integrity.reject_correction", "POST"): row(TO_LOGIN, 403, 403, 404, 403),
    ("integrity.update_points", "POST"): row(TO_LOGIN, 404, 403, 403, 403),
    ("api_integrity.get_file", "GET"): row(401, 404, 403, 404, 404),
    ("api_integrity.create_event", "POST"): row(401, 403, 403, 404, 403),
    ("api_integrity.approve_correction", "POST"): row(401, 403, 403, 404, 403),
    ("api_integrity.reject_correction", "POST"): row(401, 403, 403, 404, 403),
    ("api_integrity.update_points", "PUT"): row(401, 404, 403, 403, 403),
    ("followups.task_page", "GET"): row(TO_LOGIN, 404, 404, 404, 403),
    ("followups.complete", "POST"): row(TO_LOGIN, 403, 404, 404, 403),
    ("followups.add_attempt", "POST"): row(TO_LOGIN, 403, 404, 404, 403),
    ("followups.add_service", "POST"): row(TO_LOGIN, 403, 404, 404, 403),
    ("followups.assign", "POST"): row(TO_LOGIN, 403, 404, 404, 403),
    ("followups.decide_misuse", "POST"): row(TO_LOGIN, 403, 403, 404, 403),
    ("followups.report_business", "POST"): row(TO_LOGIN, 403, 403, 403, 404),
    ("followups_api.get_task", "GET"): row(401, 404, 404, 404, 403),
    ("followups_api.complete", "POST"): row(401, 403, 404, 404, 403),
    ("followups_api.create_attempt", "POST"): row(401, 403, 404, 404, 403),
    ("followups_api.create_service", "POST"): row(401, 403, 404, 404, 403),
    ("followups_api.assign", "POST"): row(401, 403, 404, 404, 403),
    ("followups_api.decide_misuse", "POST"): row(401, 403, 403, 404, 403),
    ("followup_plan.edit", "GET"): row(TO_LOGIN, 404, 403, 403, 403),
    ("followup_plan.edit", "POST"): row(TO_LOGIN, 404, 403, 403, 403),
    ("followup_plan.reset", "POST"): row(TO_LOGIN, 404, 403, 403, 403),
    ("jobs_api.run", "POST"): row(401, 404, 403, 403, 403),
    ("notifications.open_link", "GET"): row(TO_LOGIN, 404, 404, 404, 404),
    ("notifications.mark_read", "POST"): row(TO_LOGIN, 404, 404, 404, 404),
    ("notifications_api.mark_read", "POST"): row(401, 404, 404, 404, 404),
    # Targets: a year no target can have and a region no row has. Officers never set
    # targets, so they are stopped before the lookup; a city's staff may reach the lookup.
    ("reports.figure_list", "GET"): row(TO_LOGIN, 404, 404, 404, 403),
    ("reports.figure_export", "GET"): row(TO_LOGIN, 404, 404, 404, 403),
    ("reports.chart", "GET"): row(TO_LOGIN, 404, 404, 404, 403),
    ("targets.page", "GET"): row(TO_LOGIN, 404, 404, 404, 403),
    ("targets.save", "POST"): row(TO_LOGIN, 404, 404, 403, 403),
    ("api_targets.get_region_targets", "GET"): row(401, 404, 404, 404, 403),
    ("api_targets.put_region_targets", "PUT"): row(401, 404, 404, 403, 403),
}


# Builders of a value naming an existing row, given the signed-in user (None when
# anonymous): a row in the matrix users' own region, so that only the permission decides.
def _existing_user_id(user: User | None) -> int:
    return make_user(role="staff", region_code="460200").id


def _existing_founder_id(user: User | None) -> int:
    """A founder of the staff's region; a founder asking gets their own record."""
    if user is not None and user.founder_id is not None:
        return user.founder_id
    return make_founder(region_code=STAFF_REGION).id


def _existing_import_id(user: User | None) -> int:
    """An import of the signed-in user's own (a report is only ever its sender's)."""
    actor = user or make_user(role="staff", region_code=STAFF_REGION)
    founder_import = FounderImport(
        actor_id=actor.id, filename="founders.xlsx", mode="all_or_nothing", errors=[]
    )
    db.session.add(founder_import)
    db.session.flush()
    return founder_import.id


def _existing_business_id(user: User | None) -> int:
    """A business of the staff's region; a founder asking gets their own business."""
    if user is not None and user.founder_id is not None:
        return make_business(db.session.get(Founder, user.founder_id)).id
    return make_business(make_founder(region_code=STAFF_REGION)).id


def _existing_observation_id(user: User | None) -> int:
    """A founder's self-report waiting for review, on a business of the staff's region."""
    business = make_business(make_founder(region_code=STAFF_REGION))
    return make_observation(business, source="founder").id


def _existing_residency_id(user: User | None) -> int:
    """An open residency of a business in a base of the staff's region."""
    return make_residency(make_base(region_code=STAFF_REGION)).id


def _existing_enrollment_id(user: User | None) -> int:
    return make_enrollment(make_cohort(region_code=STAFF_REGION)).id


def _existing_loan_id(user: User | None) -> int:
    """An active loan of the staff's region; a founder asking gets a loan of their own."""
    if user is not None and user.founder_id is not None:
        founder = pass_training(db.session.get(Founder, user.founder_id))
        return make_loan(founder=founder).id
    return make_loan(region_code=STAFF_REGION).id


def _existing_repayment_id(user: User | None) -> int:
    """A payment on an active loan of the staff's region."""
    loan = make_loan(region_code=STAFF_REGION)
    officer = make_user(role="officer", region_code=STAFF_REGION)
    posting = post_repayment(
        officer,
        loan.id,
        {"paid_on": date(2026, 2, 27), "amount": Decimal("100.00"), "reference": "PERM-1"},
        as_of=date(2026, 3, 1),
    )
    return posting.repayment.id


def _existing_correction_id(user: User | None) -> int:
    """A correction waiting for a second officer, proposed by another officer of the area."""
    return make_correction(
        make_founder(region_code=STAFF_REGION),
        make_user(role="officer", region_code=STAFF_REGION),
    ).id


def _existing_task_id(user: User | None) -> int:
    """An open loan_usage follow-up of the staff's region: the one kind that staff and
    officers both work, so every role allowed a rule reaches its form. (Officers asking for
    another kind get 404: tests/test_scope.py.)"""
    return make_task(TaskKind.LOAN_USAGE, region_code=STAFF_REGION).id


def _existing_notification_id(user: User | None) -> int:
    """One of the signed-in user's own notifications, since anyone else's is a 404 (tests/
    test_scope.py): a founder's status update request, the others' follow-ups digest."""
    if user is None:
        return make_notification(make_user(role="staff", region_code=STAFF_REGION)).id
    if user.founder_id is not None:
        return make_notification(user, kind="status_request", params={"due_on": "2026-06-01"}).id
    return make_notification(user).id


# URL argument name -> a builder of a value that names an existing row, inside the test's
# transaction. Rules with a new argument need an entry here.
ARGUMENT_FACTORIES: dict[str, Callable[[User | None], Any]] = {
    "user_id": _existing_user_id,
    "founder_id": _existing_founder_id,
    "import_id": _existing_import_id,
    "institution_id": lambda user: make_institution(region_code=STAFF_REGION).id,
    "cohort_id": lambda user: make_cohort(region_code=STAFF_REGION).id,
    "enrollment_id": _existing_enrollment_id,
    # Published, so every role's user sees it; Haikou's, so the Haikou staff curate it.
    "project_id": lambda user: make_project(region_code=STAFF_REGION).id,
    "business_id": _existing_business_id,
    "observation_id": _existing_observation_id,
    "base_id": lambda user: make_base(region_code=STAFF_REGION).id,
    "residency_id": _existing_residency_id,
    "region_code": lambda user: STAFF_REGION,
    "loan_id": _existing_loan_id,
    "repayment_id": _existing_repayment_id,
    "correction_id": _existing_correction_id,
    "kind": lambda user: "paid_late",  # an integrity points kind (but see below)
    "task_id": _existing_task_id,
    "notification_id": _existing_notification_id,
    "name": lambda user: "daily",  # a registered job (an empty body never runs it)
    "year": lambda user: 2026,  # a year targets may have
    "province_code": lambda user: "460000",  # the province of every matrix user
    "figure": lambda user: "training.enrolled",  # a KPI figure with a list
}
# Blueprints whose argument of a shared name means something else: (blueprint, argument
# name) -> the builder used instead of ARGUMENT_FACTORIES' (the same missing value works).
BLUEPRINT_ARGUMENT_FACTORIES: dict[tuple[str, str], Callable[[User | None], Any]] = {
    ("followup_plan", "kind"): lambda user: TaskKind.BUSINESS.value,  # a follow-up kind
    ("reports", "name"): lambda user: "survival",  # a dashboard chart
}
MISSING_ARGUMENTS: dict[str, Any] = {
    "user_id": MISSING_ID,
    "founder_id": MISSING_ID,
    "import_id": MISSING_ID,
    "institution_id": MISSING_ID,
    "cohort_id": MISSING_ID,
    "enrollment_id": MISSING_ID,
    "project_id": MISSING_ID,
    "business_id": MISSING_ID,
    "observation_id": MISSING_ID,
    "base_id": MISSING_ID,
    "residency_id": MISSING_ID,
    "region_code": "999999",
    "loan_id": MISSING_ID,
    "repayment_id": MISSING_ID,
    "correction_id": MISSING_ID,
    "kind": "no_such_kind",
    "task_id": MISSING_ID,
    "notification_id": MISSING_ID,
    "name": "no_such_job",
    "year": 1999,  # before the years targets may have
    "province_code": "999999",
    "figure": "no.such_figure",
}


def sample_argument(endpoint: str, name: str, user: User | None) -> Any:
    """A value of URL argument `name` of `endpoint` naming an existing row."""
    blueprint = endpoint.split(".")[0]
    factory = BLUEPRINT_ARGUMENT_FACTORIES.get((blueprint, name)) or ARGUMENT_FACTORIES[name]
    return factory(user)


def _registered(app: Flask) -> dict[tuple[str, str], Rule]:
    """Every (endpoint, method) the app answers, with its rule."""
    found: dict[tuple[str, str], Rule] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIPPED_ENDPOINTS:
            continue
        for method in sorted((rule.methods or set()) - IGNORED_METHODS):
            assert (rule.endpoint, method) not in found, f"{rule.endpoint} {method} twice"
            found[(rule.endpoint, method)] = rule
    return found


def _cases(table: dict[tuple[str, str], dict[str, Outcome]]) -> list[Any]:
    return [
        pytest.param(endpoint, method, role, id=f"{endpoint}-{method}-{role}")
        for (endpoint, method) in table
        for role in ROLES
    ]


# The matrix itself is complete ---------------------------------------------------------
def test_expected_matches_url_map(app: Flask) -> None:
    registered = set(_registered(app))
    missing = sorted(registered - set(EXPECTED))
    stale = sorted(set(EXPECTED) - registered)
    assert not missing, f"Add these (endpoint, method) rows to EXPECTED: {missing}"
    assert not stale, f"EXPECTED names rules the app no longer has: {stale}"


def test_every_row_names_every_role() -> None:
    for key, outcomes in {**EXPECTED, **EXPECTED_MISSING}.items():
        assert set(outcomes) == set(ROLES), key


def test_rules_with_ids_have_missing_row_cases(app: Flask) -> None:
    with_arguments = {key for key, rule in _registered(app).items() if rule.arguments}
    assert with_arguments == set(EXPECTED_MISSING)
    for key in with_arguments:
        for name in _registered(app)[key].arguments:
            assert name in ARGUMENT_FACTORIES, f"{key}: add a sample value for <{name}>"
            assert name in MISSING_ARGUMENTS, f"{key}: add a missing value for <{name}>"


# The matrix ------------------------------------------------------------------------------
def _request(
    app: Flask,
    client: FlaskClient,
    login_as: Callable[..., Any],
    api_as: Callable[..., Any],
    endpoint: str,
    method: str,
    role: str,
    arguments: dict[str, Any] | None,
    region: str | None = None,
) -> tuple[str, Any, dict[str, Any]]:
    """Send `method` to `endpoint` as `role`; answer the path, the response and the arguments.

    The user signs in from `region` (by default the role's ROLE_REGION). Without
    `arguments`, the rule's ids name existing rows built for the signed-in user.
    """
    region = region or ROLE_REGION.get(role, "")
    rule = _registered(app).get((endpoint, method))
    assert rule is not None, f"{endpoint} {method} is not registered; update EXPECTED"
    is_api = rule.rule.startswith("/api/")
    headers: dict[str, str] = {}
    user = None
    if role != "anonymous":
        if is_api:
            api = api_as(role, region)
            headers["Authorization"] = f"Bearer {api.token}"
            user = api.user
        else:
            user = login_as(role, region)
    if arguments is None:
        arguments = {name: sample_argument(endpoint, name, user) for name in rule.arguments}
    db.session.commit()
    with app.test_request_context():
        path = url_for(endpoint, **arguments)
    kwargs: dict[str, Any] = {"headers": headers}
    if method in {"POST", "PUT", "PATCH"}:
        kwargs["json" if is_api else "data"] = {}
    return path, client.open(path, method=method, **kwargs), arguments


def _assert_outcome(
    path: str, response: Any, expected: Outcome, arguments: dict[str, Any] | None = None
) -> None:
    try:
        _check_outcome(path, response, expected, arguments or {})
    finally:
        response.close()  # as a WSGI server does: closes a streamed download's file


def _check_outcome(path: str, response: Any, expected: Outcome, arguments: dict[str, Any]) -> None:
    # Downloads (.xlsx) are binary; the start of the body only explains a failure.
    body = response.get_data()[:500].decode("utf-8", errors="replace")
    if isinstance(expected, Redirect):
        assert response.status_code == 302, body
        location = urlsplit(response.headers["Location"])
        assert location.path == expected.path.format(**arguments)
        query = parse_qs(location.query)
        if expected.with_next:
            assert query.get("next") == [path]
        else:
            assert "next" not in query
        return
    assert response.status_code == expected, body
    if path.startswith("/api/") and expected != 204:
        assert response.is_json, response.content_type
        if expected == 422:
            assert isinstance(response.get_json()["errors"], dict)
        elif expected >= 400:
            assert isinstance(response.get_json()["error"], str)


@pytest.mark.parametrize(("endpoint", "method", "role"), _cases(EXPECTED))
def test_permission_matrix(
    app: Flask,
    client: FlaskClient,
    login_as: Callable[..., Any],
    api_as: Callable[..., Any],
    endpoint: str,
    method: str,
    role: str,
) -> None:
    path, response, arguments = _request(
        app, client, login_as, api_as, endpoint, method, role, None
    )
    _assert_outcome(path, response, EXPECTED[(endpoint, method)][role], arguments)


@pytest.mark.parametrize(("endpoint", "method", "role"), _cases(EXPECTED_MISSING))
def test_missing_rows_are_not_found(
    app: Flask,
    client: FlaskClient,
    login_as: Callable[..., Any],
    api_as: Callable[..., Any],
    endpoint: str,
    method: str,
    role: str,
) -> None:
    rule = _registered(app)[(endpoint, method)]
    arguments = {name: MISSING_ARGUMENTS[name] for name in rule.arguments}
    path, response, _ = _request(app, client, login_as, api_as, endpoint, method, role, arguments)
    _assert_outcome(path, response, EXPECTED_MISSING[(endpoint, method)][role], arguments)


def test_anonymous_api_call_asks_for_a_bearer_token(anonymous_api: Any) -> None:
    response = anonymous_api.get("/api/v1/users")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_unknown_bearer_token_is_401_even_on_public_endpoints(client: FlaskClient) -> None:
    response = client.get(
        "/api/v1/openapi.json", headers={"Authorization": "Bearer not-a-real-token"}
    )
    assert response.status_code == 401


def test_revoked_token_no_longer_signs_in(api_as: Callable[..., Any]) -> None:
    api = api_as("admin", "460000")
    assert api.delete("/api/v1/auth/token").status_code == 204
    assert api.get("/api/v1/users").status_code == 401


# Default deny ----------------------------------------------------------------------------
@pytest.mark.parametrize("permission", list(Permission))
def test_anonymous_and_unknown_roles_hold_no_permission(permission: Permission) -> None:
    anonymous = AnonymousUserMixin()
    unknown = SimpleNamespace(is_authenticated=True, role="superuser", founder_id=None)
    no_role = SimpleNamespace(is_authenticated=True, role=None, founder_id=None)
    assert not has_permission(anonymous, permission)
    assert not has_permission(None, permission)
    assert not has_permission(unknown, permission)
    assert not has_permission(no_role, permission)


def test_every_role_has_a_permission_set() -> None:
    assert set(ROLE_PERMISSIONS) == set(Role)
    assert Permission.USERS_MANAGE in ROLE_PERMISSIONS[Role.ADMIN]
    for role in (Role.STAFF, Role.OFFICER, Role.FOUNDER):
        assert Permission.USERS_MANAGE not in ROLE_PERMISSIONS[role]


def test_library_permissions_follow_d29() -> None:
    """Everyone browses their library; staff curate; founders and staff adopt."""
    holders = {
        permission: {role for role in Role if permission in ROLE_PERMISSIONS[role]}
        for permission in (
            Permission.LIBRARY_BROWSE,
            Permission.LIBRARY_CURATE,
            Permission.LIBRARY_ADOPT,
        )
    }
    assert holders == {
        Permission.LIBRARY_BROWSE: set(Role),
        Permission.LIBRARY_CURATE: {Role.STAFF},
        Permission.LIBRARY_ADOPT: {Role.STAFF, Role.FOUNDER},
    }


@pytest.fixture
def users_by_region(db_session: Any) -> dict[str, int]:
    """One user in each of a few regions (the users table stands in for a scoped table)."""
    return {
        code: make_user(role="staff", region_code=code).id
        for code in ("460000", "460100", "460200", "310000", "310110")
    }


def _visible(user: Any, ids: dict[str, int], **columns: Any) -> set[str]:
    """Region codes of the sample users that `user` may see in a scoped query."""
    by_id = {user_id: code for code, user_id in ids.items()}
    stmt = scoped(select(User.id).where(User.id.in_(by_id)), user, **columns)
    return {by_id[user_id] for user_id in db.session.scalars(stmt)}


def test_unknown_role_scope_yields_no_rows(users_by_region: dict[str, int]) -> None:
    unknown = SimpleNamespace(role="superuser", founder_id=None)
    assert _visible(unknown, users_by_region, region_column=User.region_code) == set()
    ids = list(users_by_region.values())
    clause = scope_clause(unknown, region_column=User.region_code)
    assert list(db.session.scalars(select(User.id).where(User.id.in_(ids), clause))) == []


def test_admin_sees_everything(users_by_region: dict[str, int]) -> None:
    admin = make_user(role="admin", region_code="460000")
    assert _visible(admin, users_by_region, region_column=User.region_code) == set(users_by_region)
    assert _visible(admin, users_by_region) == set(users_by_region)


@pytest.mark.parametrize("role", ["staff", "officer"])
def test_province_staff_see_their_whole_province(
    users_by_region: dict[str, int], role: str
) -> None:
    province_user = make_user(role=role, region_code="460000")
    visible = _visible(province_user, users_by_region, region_column=User.region_code)
    assert visible == {"460000", "460100", "460200"}


@pytest.mark.parametrize("role", ["staff", "officer"])
def test_city_staff_see_only_their_city(users_by_region: dict[str, int], role: str) -> None:
    city_user = make_user(role=role, region_code="460100")
    assert _visible(city_user, users_by_region, region_column=User.region_code) == {"460100"}


def test_staff_see_nothing_in_a_table_without_a_region_column(
    users_by_region: dict[str, int],
) -> None:
    staff = make_user(role="staff", region_code="460000")
    assert _visible(staff, users_by_region) == set()
    assert _visible(staff, users_by_region, founder_column=User.founder_id) == set()


def test_founder_without_founder_id_sees_nothing(users_by_region: dict[str, int]) -> None:
    # Operations never create such an account; the scope still fails closed if one exists.
    founder = SimpleNamespace(role="founder", founder_id=None)
    columns = {"region_column": User.region_code, "founder_column": User.founder_id}
    assert _visible(founder, users_by_region, **columns) == set()
    # Rows whose founder column is NULL are not "their own" either.
    stmt = scoped(select(User.id), founder, founder_column=User.founder_id)
    assert list(db.session.scalars(stmt)) == []


def test_founder_sees_only_their_own_rows(db_session: Any) -> None:
    own = make_user(role="founder", region_code="460100")
    other = make_user(role="founder", region_code="460100")
    ids = {"own": own.id, "other": other.id}
    assert _visible(own, ids, founder_column=User.founder_id) == {"own"}
    # Region columns never widen a founder's scope.
    assert _visible(own, ids, region_column=User.region_code) == set()
