"""The load test's simulated people (scripts/loadtest runs it; docs in README "Load test").

Three kinds of user, in the ratio staff 4 : founder 1 : officer 1, so a third of them write:

- StaffUser signs in through the real login form (CSRF token and all) and browses what a
  centre's staff look at all day: the dashboard, the founder list with filters and pages,
  founders' pages, businesses, the follow-up queue, the library and the lists behind the
  dashboard's figures.
- FounderUser signs in on the same form and uses the phone pages: their follow-ups, their
  record, their business, and posts its status (the self-report form of
  /me/businesses/<id>, with its CSRF token).
- OfficerUser takes a bearer token from POST /api/v1/auth/token, reads the active loans of
  their city through the API and posts small repayments with unique bank references.

Every answer other than 2xx/3xx is a failure, except the refusals a real officer meets
and that the app is right to give: a loan that stopped taking payments (409: paid off
meanwhile) or a payment more than what is left (422 on `amount`). Those are marked as
expected and the officer moves to another loan.

Settings come from the environment (scripts/loadtest sets them): LOADTEST_ACCOUNTS (the
JSON written by loadtest/prepare.py) and LOADTEST_TASKS_PER_SECOND (each user's pace, 2.4
by default: 50 users offer about 120 requests a second).
"""

# ruff: noqa: S311 - random picks which page a simulated person opens; nothing secret

from __future__ import annotations

import itertools
import json
import os
import random
import re
import time
import uuid
from collections import Counter
from datetime import datetime
from decimal import Decimal
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from locust import FastHttpUser, constant_throughput, events, task
from locust.exception import StopUser

ACCOUNTS: dict[str, Any] = json.loads(
    Path(os.environ.get("LOADTEST_ACCOUNTS", "accounts.json")).read_text(encoding="utf-8")
)
PACE = constant_throughput(float(os.environ.get("LOADTEST_TASKS_PER_SECOND", "2.4")))
# One run's bank references never collide with another's on the same database.
RUN_ID = uuid.uuid4().hex[:8]

CSRF_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*>')
VALUE = re.compile(r'value="([^"]*)"')
FOUNDER_LINK = re.compile(r'href="/founders/(\d+)"')
BUSINESS_LINK = re.compile(r'href="/businesses/(\d+)"')
FIGURE_LINK = re.compile(r'href="(/reports/figures/[^"]+)"')
CHART_SOURCE = re.compile(r'src="(/reports/charts/[^"]+)"')
CHART_MAX_AGE_SECONDS = 300

TARGET_GROUPS = ("laid_off", "college_graduate", "migrant_worker", "returning_migrant", "veteran")
TRAINING = ("not_enrolled", "in_training", "passed", "not_passed")
SURNAMES = ("王", "李", "张", "刘", "陈", "林", "黄", "吴", "符", "何")
FOLLOWUP_KINDS = ("intake_contact", "post_training", "business", "loan_usage")

# Refusals counted as right answers (not failures), and the users started of each kind,
# written out when the test stops.
EXPECTED_REFUSALS: Counter[str] = Counter()
USERS_STARTED: Counter[str] = Counter()
# LOADTEST_STAFF_PAGES=lists: staff skip the two pages that compute KPIs (memoised for five
# minutes per worker, D51: the dashboard with its charts, the library with its outcomes) and open a
# founder list instead, to measure the rest of the app apart from them.
LISTS_ONLY = os.environ.get("LOADTEST_STAFF_PAGES", "all") == "lists"

_staff = itertools.cycle(ACCOUNTS["staff"])
_founders = itertools.cycle(ACCOUNTS["founders"])
_officers = itertools.cycle(ACCOUNTS["officers"])


@events.test_stop.add_listener
def write_expected_refusals(**_kwargs: Any) -> None:
    """Leave the count of expected refusals beside locust's CSV files."""
    target = os.environ.get("LOADTEST_EXPECTED_FILE")
    if target:
        Path(target).write_text(
            json.dumps({"refusals": EXPECTED_REFUSALS, "users": USERS_STARTED}), encoding="utf-8"
        )


def csrf_token(html: str) -> str:
    """The CSRF token of the first form on a page."""
    field = CSRF_INPUT.search(html)
    value = VALUE.search(field.group(0)) if field else None
    if value is None:
        raise StopUser("no CSRF token on the page")
    return value.group(1)


def today_in_china() -> str:
    """The app's "today" (Asia/Shanghai), the only date a payment posted now may carry."""
    return datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()


def unescape(url: str) -> str:
    """A link as written in HTML, back to a URL."""
    return url.replace("&amp;", "&")


class SignedInUser(FastHttpUser):
    """A person who signs in through the login form and keeps the session cookie."""

    abstract = True
    wait_time = PACE

    def sign_in(self, username: str, landing: str) -> None:
        """GET the form for its CSRF token, POST it; success is a redirect, after which
        `landing` answers 200 (a refused or expired form redirects too, but leaves the
        session signed out, so `landing` would redirect to /login)."""
        # The production session cookie is Secure; here the server is plain HTTP on
        # loopback (no TLS proxy in front), so the client must send it over http too.
        self.client.cookiejar.set_policy(DefaultCookiePolicy(secure_protocols=("http", "https")))
        page = self.client.get("/login", name="/login")
        form = {
            "username": username,
            "password": ACCOUNTS["password"],
            "csrf_token": csrf_token(page.text),
        }
        with self.client.post(
            "/login", data=form, name="/login [POST]", allow_redirects=False, catch_response=True
        ) as answer:
            if answer.status_code != 302:
                answer.failure(f"sign-in of {username} refused ({answer.status_code})")
                raise StopUser()
        with self.client.get(
            landing, name=landing, allow_redirects=False, catch_response=True
        ) as answer:
            if answer.status_code != 200:
                answer.failure(f"{username} is not signed in ({answer.status_code})")
                raise StopUser()


class StaffUser(SignedInUser):
    """Centre staff browsing the lists and pages of their area."""

    weight = 4

    def on_start(self) -> None:
        USERS_STARTED["staff"] += 1
        self.founder_ids: list[int] = []
        self.business_ids: list[int] = []
        self.figure_urls: list[str] = []
        self.charts_fetched_at = -float("inf")
        self.sign_in(next(_staff), "/founders" if LISTS_ONLY else "/")
        self.dashboard()
        self.founders_list()

    @task(2)
    def dashboard(self) -> None:
        if LISTS_ONLY:
            return self.founders_list()
        page = self.client.get("/", name="/")
        found = {unescape(url) for url in FIGURE_LINK.findall(page.text or "")}
        if found:
            self.figure_urls = sorted(found)
        # The charts are images of the page, cached by the browser for 5 minutes
        # (Cache-Control max-age=300): fetched with the first view, then when stale.
        if time.monotonic() - self.charts_fetched_at > CHART_MAX_AGE_SECONDS:
            self.charts_fetched_at = time.monotonic()
            for url in CHART_SOURCE.findall(page.text or ""):
                self.client.get(unescape(url), name="/reports/charts/[name].svg")

    @task(4)
    def founders_list(self) -> None:
        params: dict[str, Any] = {"page": random.randint(1, 20)}
        choice = random.random()
        if choice < 0.2:
            params["q"] = random.choice(SURNAMES)
        elif choice < 0.4:
            params["target_group"] = random.choice(TARGET_GROUPS)
        elif choice < 0.55:
            params["training_status"] = random.choice(TRAINING)
        elif choice < 0.7:
            params["has_business"] = random.choice(("yes", "no"))
        elif choice < 0.8:
            params["has_loan"] = "yes"
        page = self.client.get("/founders", params=params, name="/founders?filters")
        ids = [int(found) for found in FOUNDER_LINK.findall(page.text or "")]
        if ids:
            self.founder_ids = (self.founder_ids + ids)[-200:]

    @task(4)
    def founder_page(self) -> None:
        if not self.founder_ids:
            return self.founders_list()
        founder_id = random.choice(self.founder_ids)
        self.client.get(f"/founders/{founder_id}", name="/founders/[id]")

    @task(2)
    def businesses_list(self) -> None:
        params = {"page": random.randint(1, 10)}
        if random.random() < 0.3:
            params["status"] = random.choice(("operating", "closed", "suspended"))
        page = self.client.get("/businesses", params=params, name="/businesses?filters")
        ids = [int(found) for found in BUSINESS_LINK.findall(page.text or "")]
        if ids:
            self.business_ids = (self.business_ids + ids)[-200:]

    @task(2)
    def business_page(self) -> None:
        if not self.business_ids:
            return self.businesses_list()
        business_id = random.choice(self.business_ids)
        self.client.get(f"/businesses/{business_id}", name="/businesses/[id]")

    @task(2)
    def followup_queue(self) -> None:
        params: dict[str, Any] = {"page": random.randint(1, 5)}
        if random.random() < 0.5:
            params["kind"] = random.choice(FOLLOWUP_KINDS)
        self.client.get("/followups/", params=params, name="/followups/")

    @task(1)
    def library(self) -> None:
        if LISTS_ONLY:
            return self.founders_list()
        self.client.get("/library/", name="/library/")

    @task(1)
    def figure_list(self) -> None:
        if not self.figure_urls:
            return self.dashboard()
        url = random.choice(self.figure_urls)
        self.client.get(url, name="/reports/figures/[figure]")


class FounderUser(SignedInUser):
    """A founder on a phone: looks at their pages and says how the business is doing."""

    weight = 1

    def on_start(self) -> None:
        USERS_STARTED["founder (writes)"] += 1
        account = next(_founders)
        self.business_id = account["business_id"]
        self.sign_in(account["username"], "/followups/me")
        self.token = ""
        self.my_business()

    @task(1)
    def my_status(self) -> None:
        self.client.get("/followups/me", name="/followups/me")

    @task(1)
    def my_record(self) -> None:
        self.client.get("/me", name="/me")

    @task(1)
    def my_business(self) -> None:
        page = self.client.get(f"/me/businesses/{self.business_id}", name="/me/businesses/[id]")
        if page.status_code == 200:
            self.token = csrf_token(page.text)

    @task(3)
    def report_status(self) -> None:
        """The self-report form: still operating, a head count, sometimes the revenue."""
        form = {
            "csrf_token": self.token,
            "status": "operating",
            "employees": str(random.randint(1, 12)),
            "monthly_revenue": str(random.randint(5, 80) * 1000) if random.random() < 0.5 else "",
        }
        page = f"/me/businesses/{self.business_id}"
        with self.client.post(
            page,
            data=form,
            name="/me/businesses/[id] [POST]",
            allow_redirects=False,
            catch_response=True,
        ) as answer:
            # Success is the redirect back to the page; 200 is the form again, with errors,
            # and an expired form (CSRF) redirects elsewhere (the dashboard).
            location = answer.headers.get("Location", "") if answer.headers else ""
            if answer.status_code != 302 or not location.endswith(page):
                answer.failure(f"status report not taken ({answer.status_code} {location})")


class OfficerUser(FastHttpUser):
    """A loan officer posting the bank's payments through the API."""

    weight = 1
    wait_time = PACE

    def on_start(self) -> None:
        USERS_STARTED["officer (writes)"] += 1
        username = next(_officers)
        with self.client.post(
            "/api/v1/auth/token",
            json={"username": username, "password": ACCOUNTS["password"]},
            name="/api/v1/auth/token",
            catch_response=True,
        ) as answer:
            if answer.status_code != 201:
                answer.failure(f"no token for {username} ({answer.status_code})")
                raise StopUser()
            token = answer.json()["token"]
        self.headers = {"Authorization": f"Bearer {token}"}
        self.loan_ids: list[int] = []
        self.sequence = itertools.count(1)
        self.officer = username
        self.list_loans()

    @task(1)
    def list_loans(self) -> None:
        page = random.randint(1, 10)
        answer = self.client.get(
            "/api/v1/loans",
            params={"status": "active", "page": page, "per_page": 50},
            headers=self.headers,
            name="/api/v1/loans?status=active",
        )
        if answer.status_code == 200:
            ids = [item["id"] for item in answer.json()["items"]]
            self.loan_ids = list(dict.fromkeys(self.loan_ids + ids))[-300:]

    @task(1)
    def loan_detail(self) -> None:
        if not self.loan_ids:
            return self.list_loans()
        loan_id = random.choice(self.loan_ids)
        self.client.get(f"/api/v1/loans/{loan_id}", headers=self.headers, name="/api/v1/loans/[id]")

    @task(4)
    def post_repayment(self) -> None:
        """A small payment with a reference never used before; a loan that stops taking
        payments (paid off, or this would be more than is left) is dropped."""
        if not self.loan_ids:
            return self.list_loans()
        loan_id = random.choice(self.loan_ids)
        amount = Decimal(random.randint(100, 5000)) / 100
        body = {
            "paid_on": today_in_china(),
            "amount": f"{amount:.2f}",
            "reference": f"LT-{RUN_ID}-{self.officer}-{next(self.sequence)}",
        }
        with self.client.post(
            f"/api/v1/loans/{loan_id}/repayments",
            json=body,
            headers=self.headers,
            name="/api/v1/loans/[id]/repayments",
            catch_response=True,
        ) as answer:
            if answer.status_code == 201:
                return
            if answer.status_code == 409 or (
                answer.status_code == 422 and "amount" in (answer.json().get("errors") or {})
            ):
                answer.success()  # the loan no longer takes this payment: a right refusal
                EXPECTED_REFUSALS[f"repayment {answer.status_code}"] += 1
                self.loan_ids.remove(loan_id)
                return
            answer.failure(f"repayment not posted ({answer.status_code}): {answer.text[:200]}")
