"""Browser smoke tests: Debian's chromium, driven by Playwright, against a live server.

The server runs the real app with CSRF on, on a database of its own (a temporary SQLite
file, or `<testdb>_browser` beside TEST_DATABASE_URL on PostgreSQL), because the pages
commit for real and must never leave rows in the main test database.

Without chromium on PATH the tests are skipped, unless CI is set or REQUIRE_BROWSER=1,
which make a missing browser a failure. Screenshots go to test-artifacts/ (gitignored).
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask_migrate import upgrade
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Request,
    Response,
    expect,
    sync_playwright,
)
from psycopg import sql
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from app import create_app
from app.auth.operations import create_user
from app.core.dates import today_in_china
from app.extensions import db
from app.loans.lifecycle import STATUS_LABELS
from app.loans.models import InstallmentStatus, LoanStatus
from app.loans.policies import DEFAULT_POLICY
from app.loans.schedule import build_schedule
from app.loans.views import INSTALLMENT_STATUS_LABELS
from config import _normalise_database_url
from tests.businesses.factories import make_business
from tests.factories import make_founder, make_id_number
from tests.library.factories import make_project
from tests.loans.factories import fund_region, make_trained_founder

pytestmark = pytest.mark.browser

ADMIN_USERNAME = "browser.admin"
ADMIN_PASSWORD = "browser smoke test passphrase"
STAFF_USERNAME = "browser.staff"
STAFF_PASSWORD = "browser staff passphrase"
FOUNDER_USERNAME = "browser.founder"
FOUNDER_PASSWORD = "browser founder passphrase"
FOUNDER_BUSINESS = "椰林清补凉小店"  # browser.founder's one business, operating
# Two Haikou loan officers: the four eyes of SPEC §4 (one reviews, the other approves).
OFFICER_A_USERNAME = "browser.officer.a"
OFFICER_A_PASSWORD = "browser officer a passphrase"
OFFICER_B_USERNAME = "browser.officer.b"
OFFICER_B_PASSWORD = "browser officer b passphrase"
APPLICANT_NAME = "吴海燕"  # a trained Haikou founder, without a loan
# Ids of seeded rows the tests open by URL (filled in by the live_server fixture).
SEEDED: dict[str, int] = {}
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"viewport": {"width": 1366, "height": 900}}
PHONE = {  # an iPhone 12/13/14-sized screen
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
}
CJK = re.compile(r"[\u4e00-\u9fff]")


def _browser_required() -> bool:
    ci = os.environ.get("CI", "").strip().lower()
    return ci not in ("", "0", "false", "no") or os.environ.get("REQUIRE_BROWSER") == "1"


@pytest.fixture(scope="module")
def chromium_path() -> str:
    """Debian's chromium; Playwright never downloads a browser of its own here."""
    path = shutil.which("chromium")
    if path is None:
        reason = "chromium is not on PATH (apt-get install chromium)"
        if _browser_required():
            pytest.fail(f"{reason}; CI or REQUIRE_BROWSER=1 requires it", pytrace=False)
        pytest.skip(f"{reason}; set REQUIRE_BROWSER=1 to fail instead")
    return path


@contextmanager
def _own_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, empty database for the live server, removed afterwards."""
    main_url = os.environ.get("TEST_DATABASE_URL")
    if not main_url:
        yield f"sqlite:///{tmp_path_factory.mktemp('browser') / 'browser.db'}"
        return
    main = make_url(_normalise_database_url(main_url))
    name = f"{main.database}_browser"
    # Connect to the main test database only to create and drop the sibling database.
    admin_dsn = main.set(drivername="postgresql").render_as_string(hide_password=False)
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    with psycopg.connect(admin_dsn, autocommit=True) as connection:
        connection.execute(drop)  # left over from an interrupted run
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield main.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as connection:
            connection.execute(drop)


@pytest.fixture(scope="module")
def live_server(chromium_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app (CSRF on) served on a free local port, with one administrator; its base URL."""
    with _own_database(tmp_path_factory) as url:
        app = create_app("testing", SQLALCHEMY_DATABASE_URI=url, WTF_CSRF_ENABLED=True)
        with app.app_context():
            upgrade()
            create_user(
                None,
                username=ADMIN_USERNAME,
                password=ADMIN_PASSWORD,
                role="admin",
                region_code="460000",
            )
            create_user(
                None,
                username=STAFF_USERNAME,
                password=STAFF_PASSWORD,
                role="staff",
                region_code="460100",
            )
            _seed_library_for_a_haikou_founder()
            _seed_a_loan_applicant_and_two_officers()
            db.session.commit()
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}"
        finally:
            server.shutdown()
            thread.join(timeout=10)
            server.server_close()
            with app.app_context():
                db.engine.dispose()


def _seed_library_for_a_haikou_founder() -> None:
    """A Haikou founder with an account and an operating business, and projects only some
    of which she may see."""
    founder = make_founder(region_code="460100", name="符小燕")
    make_business(
        founder,
        name=FOUNDER_BUSINESS,
        opened_on=today_in_china() - timedelta(days=200),
        employees_at_opening=2,
    )
    create_user(
        None,
        username=FOUNDER_USERNAME,
        password=FOUNDER_PASSWORD,
        role="founder",
        region_code="460100",
        founder_id=founder.id,
    )
    make_project(region_code="460100", title="海口椰子糖小作坊", industry="food")
    make_project(region_code="460000", title="热带水果电商直播", industry="ecommerce")
    make_project(region_code="460200", title="三亚潜水培训工作室", industry="tourism")
    make_project(region_code="460100", title="草稿：汽车美容店", status="draft")


def _seed_a_loan_applicant_and_two_officers() -> None:
    """A Haikou founder who passed SYB training, Hainan's guarantee fund with money in it,
    and two Haikou loan officers."""
    fund_region("460000")
    SEEDED["applicant_id"] = make_trained_founder(region_code="460100", name=APPLICANT_NAME).id
    for username, password in (
        (OFFICER_A_USERNAME, OFFICER_A_PASSWORD),
        (OFFICER_B_USERNAME, OFFICER_B_PASSWORD),
    ):
        create_user(
            None, username=username, password=password, role="officer", region_code="460100"
        )


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Browser]:
    """One headless chromium for the module."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@contextmanager
def _page(browser: Browser, **options: Any) -> Iterator[Page]:
    """A page in a fresh context (no cookies) that fails the test on any script error,
    console error (CSP violations included) or failed request."""
    context: BrowserContext = browser.new_context(locale="en-US", **options)
    context.set_default_timeout(10_000)
    problems: list[str] = []
    page = context.new_page()
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda message: _console_problem(message, problems))
    page.on("response", lambda response: _response_problem(response, problems))
    page.on("requestfailed", lambda request: _request_problem(request, problems))
    try:
        yield page
    finally:
        context.close()
    assert problems == []


def _console_problem(message: ConsoleMessage, problems: list[str]) -> None:
    # Chromium asks for /favicon.ico on its own; the app has none, which is only cosmetic.
    if message.type == "error" and not message.location["url"].endswith("/favicon.ico"):
        problems.append(f"console: {message.text} ({message.location['url']})")


def _request_problem(request: Request, problems: list[str]) -> None:
    # A page left before its scripts finished loading cancels them (net::ERR_ABORTED):
    # that is the test moving on, not a broken resource.
    if request.failure != "net::ERR_ABORTED":
        problems.append(f"failed: {request.url} ({request.failure})")


def _response_problem(response: Response, problems: list[str]) -> None:
    if response.status >= 400:
        problems.append(f"{response.status} {response.request.method} {response.url}")


def _sign_in(page: Page, username: str, password: str) -> None:
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.locator("form.app-form button[type=submit]").click()


def _screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_sign_in_and_out_on_desktop(browser: Browser, live_server: str) -> None:
    with _page(browser, **DESKTOP) as page:
        page.goto(f"{live_server}/")
        expect(page).to_have_url(re.compile(rf"^{re.escape(live_server)}/login\b"))

        # A wrong password and an unknown user get the same single, generic message.
        for username, password in ((ADMIN_USERNAME, "not the password"), ("nobody", "x" * 12)):
            _sign_in(page, username, password)
            expect(page).to_have_url(re.compile(rf"^{re.escape(live_server)}/login\b"))
            alerts = page.locator("main .alert")
            expect(alerts).to_have_count(1)
            expect(alerts).to_have_text("Unknown username or wrong password.")

        _sign_in(page, ADMIN_USERNAME, ADMIN_PASSWORD)
        expect(page.locator("[data-testid=dashboard-title]")).to_be_visible()
        expect(page).to_have_url(f"{live_server}/")
        expect(page.locator(".navbar-toggler")).to_be_hidden()
        _screenshot(page, "dashboard-desktop.png")

        page.locator("[data-testid=account-menu]").click()
        sign_out = page.get_by_role("button", name="Sign out")
        expect(sign_out).to_be_visible()
        sign_out.click()
        expect(page).to_have_url(f"{live_server}/login")
        expect(page.locator("#username")).to_be_visible()
        expect(page.locator("[data-testid=account-menu]")).to_have_count(0)


def test_phone_navigation_and_language_switch(browser: Browser, live_server: str) -> None:
    with _page(browser, **PHONE) as page:
        page.goto(f"{live_server}/login")
        _sign_in(page, ADMIN_USERNAME, ADMIN_PASSWORD)
        expect(page.locator("[data-testid=dashboard-title]")).to_be_visible()
        _screenshot(page, "dashboard-phone.png")
        # Nothing pushes the page wider than the screen (wide tables scroll in their box).
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

        toggler = page.locator(".navbar-toggler")
        expect(toggler).to_be_visible()
        regions_link = page.locator("#main-nav").get_by_role("link", name="Regions")
        expect(regions_link).to_be_hidden()
        page.wait_for_load_state("load")  # Bootstrap's script runs the menu toggler
        toggler.click()
        expect(regions_link).to_be_visible()
        regions_link.click()
        expect(page).to_have_url(f"{live_server}/regions")
        heading = page.locator("main h1")
        expect(heading).to_have_text("Regions")

        language = page.locator("footer")
        language.get_by_role("button", name="简体中文").click()
        expect(page).to_have_url(re.compile(rf"^{re.escape(live_server)}/regions\b"))
        expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
        expect(heading).not_to_have_text("Regions")
        assert CJK.search(heading.inner_text()), (
            f"heading {heading.inner_text()!r} is not in Chinese: are the catalogs compiled "
            "(pybabel compile -d app/translations)?"
        )

        # Back to English, which is also saved on the account for the other tests.
        language.get_by_role("button", name="English").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(heading).to_have_text("Regions")


def _select_by_text(page: Page, selector: str, text: str) -> None:
    value = page.locator(f"{selector} option", has_text=text).first.get_attribute("value")
    page.locator(selector).select_option(value)


def _fill_date(page: Page, selector: str, day: date) -> None:
    page.locator(selector).fill(day.isoformat())


def test_staff_register_a_founder_run_a_cohort_and_pass_them(
    browser: Browser, live_server: str
) -> None:
    """The intake-to-certificate path a Haikou staff member walks through every week."""
    today = today_in_china()
    id_number = make_id_number(region_prefix="460100", birth_date=date(1992, 3, 8), sex="female")
    with _page(browser, **DESKTOP) as page:
        page.goto(f"{live_server}/login")
        _sign_in(page, STAFF_USERNAME, STAFF_PASSWORD)

        # 1. Register the founder; birth date and sex come from the ID number.
        page.goto(f"{live_server}/founders/new")
        page.locator("#name").fill("黎春梅")
        page.locator("#id_number").fill(id_number)
        page.locator("#phone").fill("13907551234")
        page.locator("#target_group").select_option("returning_migrant")
        page.locator("form.app-form button[type=submit]").click()
        expect(page.locator("[data-testid=founder-name]")).to_have_text("黎春梅")
        expect(page.locator("[data-testid=masked-id-number]")).to_have_text(
            f"{id_number[:6]}***********{id_number[-1]}"
        )
        founder_url = page.url
        founder_id = founder_url.rstrip("/").rsplit("/", 1)[-1]

        # 2. An institution and an SYB cohort that ran over the last three weeks.
        page.goto(f"{live_server}/training/institutions/new")
        page.locator("#name").fill("海口市创业培训中心")
        page.locator("form.app-form button[type=submit]").click()
        page.goto(f"{live_server}/training/cohorts/new")
        _select_by_text(page, "#course_id", "SYB ")
        _select_by_text(page, "#institution_id", "海口市创业培训中心")
        _fill_date(page, "#starts_on", today - timedelta(days=20))
        _fill_date(page, "#ends_on", today - timedelta(days=2))
        page.locator("#capacity").fill("30")
        page.locator("form.app-form button[type=submit]").click()
        expect(page.locator("[data-testid=seats]")).to_contain_text("0")

        # 3. Enroll the founder by id, then pass them with a certificate on the roster.
        page.locator("#founder_id").fill(founder_id)
        page.get_by_role("button", name="Enroll", exact=True).first.click()
        roster = page.locator("[data-testid=roster-form]")
        expect(roster.get_by_role("link", name="黎春梅")).to_be_visible()
        roster.locator("select[name$='-result']").select_option("passed")
        roster.locator("input[name$='-completed_on']").fill((today - timedelta(days=2)).isoformat())
        roster.locator("input[name$='-certificate_no']").fill("SYB-460100-2026-0001")
        roster.locator("input[name$='-attendance']").fill("80")
        roster.get_by_role("button", name="Save results").click()
        expect(page.locator("main .alert-success")).to_be_visible()
        _screenshot(page, "cohort-roster.png")

        # 4. The founder's page now shows the certificate and the reached milestone.
        page.goto(founder_url)
        expect(page.locator("main")).to_contain_text("SYB-460100-2026-0001")
        trained = page.locator("[data-testid=journey] li").nth(1)
        expect(trained).to_have_attribute("data-reached", "yes")
        _screenshot(page, "founder-detail.png")

        # 5. Staff give her a sign-in from her page.
        page.get_by_role("link", name="Create account").click()
        page.locator("#username").fill("li.chunmei")
        page.locator("#password").fill("chunmei first password")
        page.locator("form.app-form button[type=submit]").click()
        expect(page.locator("main .alert-success")).to_be_visible()

    # 6. On her phone she sees her own record: masked ID, the course and her certificate.
    with _page(browser, **PHONE) as phone:
        phone.goto(f"{live_server}/login")
        _sign_in(phone, "li.chunmei", "chunmei first password")
        # Staff chose that password: she must choose her own first (D49).
        expect(phone).to_have_url(f"{live_server}/account/password")
        phone.locator("#current_password").fill("chunmei first password")
        phone.locator("#new_password").fill("chunmei's own password")
        phone.locator("#confirm").fill("chunmei's own password")
        phone.locator("form.app-form button[type=submit]").click()
        expect(phone).to_have_url(f"{live_server}/login")
        _sign_in(phone, "li.chunmei", "chunmei's own password")
        expect(phone.locator("[data-testid=my-record-title]")).to_be_visible()
        expect(phone.locator("[data-testid=masked-id-number]")).to_have_text(
            f"{id_number[:6]}***********{id_number[-1]}"
        )
        expect(phone.locator("[data-testid=my-training]")).to_contain_text("SYB-460100-2026-0001")
        assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        _screenshot(phone, "founder-portal-phone.png")


def test_staff_import_a_spreadsheet_and_see_the_report(
    browser: Browser, live_server: str, tmp_path: Path
) -> None:
    """Upload in "valid rows" mode: the good rows are registered, the bad one is reported."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["姓名", "身份证号", "手机号", "所属地区", "人员类别"])
    for name in ("王小明", "陈丽"):
        sheet.append(
            [name, make_id_number(region_prefix="460100"), "13800001111", "460100", "农民工"]
        )
    valid = make_id_number(region_prefix="460100")
    wrong_check = valid[:17] + ("0" if valid[17] != "0" else "1")
    sheet.append(["错号码", wrong_check, "13800002222", "460100", "laid_off"])
    path = tmp_path / "founders.xlsx"
    workbook.save(path)

    with _page(browser, **DESKTOP) as page:
        page.goto(f"{live_server}/login")
        _sign_in(page, STAFF_USERNAME, STAFF_PASSWORD)
        page.goto(f"{live_server}/founders/import")
        form = page.locator("[data-testid=import-form]")
        form.locator("input[type=file]").set_input_files(str(path))
        form.locator("select[name=mode]").select_option("valid_rows")
        form.get_by_role("button", name="Check and import").click()
        result = page.locator("[data-testid=import-result]")
        expect(result.locator("[data-testid=created]")).to_have_text("2")
        expect(result.locator("[data-testid=problems]")).to_have_text("1")
        expect(result.locator("tbody tr")).to_have_count(1)
        expect(result.locator("tbody tr td").first).to_have_text("4")
        _screenshot(page, "founder-import.png")


def test_a_founder_on_a_phone_browses_the_library_and_adopts_a_project(
    browser: Browser, live_server: str
) -> None:
    """Her library is Haikou's and Hainan's published projects; she adopts one."""
    with _page(browser, **PHONE) as page:
        page.goto(f"{live_server}/login")
        _sign_in(page, FOUNDER_USERNAME, FOUNDER_PASSWORD)
        expect(page.locator("[data-testid=my-record-title]")).to_be_visible()
        page.wait_for_load_state("load")  # Bootstrap's script runs the menu toggler
        page.locator(".navbar-toggler").click()
        page.locator("#main-nav").get_by_role("link", name="Project library").click()
        cards = page.locator("[data-testid=project-card]")
        expect(cards).to_have_count(2)
        titles = cards.locator("[data-testid=project-title]").all_inner_texts()
        assert sorted(titles) == ["海口椰子糖小作坊", "热带水果电商直播"]  # no Sanya, no draft
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        _screenshot(page, "library-phone.png")

        card = cards.filter(has_text="海口椰子糖小作坊")
        card.locator("[data-testid=adopt-button]").click()
        expect(page.locator("main .alert-success")).to_be_visible()
        expect(page.locator("[data-testid=adopted]").first).to_be_visible()

        page.goto(f"{live_server}/me")
        expect(page.locator("[data-testid=my-adoption]")).to_contain_text("海口椰子糖小作坊")
        adopted = page.locator("[data-testid=journey] li").nth(2)
        expect(adopted).to_have_attribute("data-reached", "yes")


def _open_my_business(page: Page, live_server: str) -> None:
    """Sign in as browser.founder and tap her business on "My record"."""
    page.goto(f"{live_server}/login")
    _sign_in(page, FOUNDER_USERNAME, FOUNDER_PASSWORD)
    expect(page.locator("[data-testid=my-record-title]")).to_be_visible()
    card = page.locator("[data-testid=my-business]").filter(has_text=FOUNDER_BUSINESS)
    expect(card).to_have_count(1)
    card.tap()
    expect(page).to_have_url(re.compile(rf"^{re.escape(live_server)}/me/businesses/\d+$"))
    expect(page.locator("[data-testid=my-business-name]")).to_have_text(FOUNDER_BUSINESS)


def test_a_founder_on_a_phone_updates_their_business_status_and_staff_verify_it(
    browser: Browser, live_server: str
) -> None:
    """Her self-report waits in the Haikou queue; once verified it is the business's status."""
    with _page(browser, **PHONE) as page:
        _open_my_business(page, live_server)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

        # Three big status buttons (labels of hidden radios), easy to hit with a thumb.
        for status in ("operating", "suspended", "closed"):
            button = page.locator(f"[data-testid=status-{status}]")
            expect(button).to_be_visible()
            box = button.bounding_box()
            assert box is not None
            assert box["height"] >= 44, f"{status} button: {box}"
        page.locator("[data-testid=status-suspended]").tap()
        expect(page.locator("input[name=status][value=suspended]")).to_be_checked()
        expect(page.locator("input[name=status][value=operating]")).not_to_be_checked()
        page.locator("#employees").fill("4")
        page.locator("#monthly_revenue").fill("15000")
        page.locator("[data-testid=send-report]").tap()

        expect(page.locator("main .alert-success")).to_have_text(
            "Thank you. Your guidance centre will check your report."
        )
        expect(page).to_have_url(re.compile(rf"^{re.escape(live_server)}/me/businesses/\d+$"))
        latest = page.locator("[data-testid=my-observation]").first
        expect(latest.locator("[data-testid=status-badge]")).to_have_text("Suspended")
        expect(latest).to_contain_text("4 employees")
        expect(latest).to_contain_text("¥15,000")
        expect(latest).to_contain_text("Waiting for review")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        _screenshot(page, "my-business-phone.png")

    with _page(browser, **DESKTOP) as page:
        page.goto(f"{live_server}/login")
        _sign_in(page, STAFF_USERNAME, STAFF_PASSWORD)
        page.goto(f"{live_server}/businesses/reports")
        rows = page.locator("[data-testid=report-row]").filter(has_text=FOUNDER_BUSINESS)
        row = rows.filter(has_text="4 employees")
        expect(row).to_have_count(1)
        expect(row.locator("[data-testid=status-badge]")).to_have_text("Suspended")
        _screenshot(page, "report-queue.png")
        row.locator("[data-testid=verify-report]").click()

        expect(page.locator("main .alert-success")).to_have_text("Report verified.")
        expect(page).to_have_url(re.compile(r"/businesses/reports\?state=pending$"))
        expect(rows).to_have_count(0)

        page.locator(".nav-tabs").get_by_role("link", name="Verified").click()
        expect(page).to_have_url(re.compile(r"/businesses/reports\?state=verified$"))
        expect(row).to_have_count(1)
        expect(row).to_contain_text("Verified")
        expect(row.locator("[data-testid=verify-report]")).to_have_count(0)

        row.get_by_role("link", name=FOUNDER_BUSINESS).click()
        expect(page.locator("[data-testid=business-name]")).to_have_text(FOUNDER_BUSINESS)
        now = page.locator("p", has=page.locator("[data-testid=current-employees]"))
        expect(now.locator("[data-testid=status-badge]")).to_have_text("Suspended")
        expect(page.locator("[data-testid=current-employees]")).to_have_text("4 employees")
        history = page.locator("[data-testid=observation-row]").first
        expect(history).to_contain_text("Verified")
        expect(history.get_by_role("button", name="Verify")).to_have_count(0)
        _screenshot(page, "business-detail.png")


def test_a_founder_sending_no_status_sees_the_error_by_the_buttons(
    browser: Browser, live_server: str
) -> None:
    """The page pre-selects the current status, so a real tap cannot clear it; a browser
    that sends no status (cleared here by script) gets the message, and nothing is saved."""
    with _page(browser, **PHONE) as page:
        _open_my_business(page, live_server)
        reports = page.locator("[data-testid=my-observation]")
        expect(page.locator("[data-testid=self-report-form]")).to_be_visible()
        before = reports.count()
        radios = page.locator("input[name=status]")
        radios.evaluate_all("radios => radios.forEach(radio => { radio.checked = false; })")
        page.locator("#employees").fill("3")
        page.locator("[data-testid=send-report]").tap()

        choices = page.locator("[data-testid=self-report-form] fieldset")
        expect(choices.locator(".invalid-feedback")).to_have_text(
            "Choose how your business is doing."
        )
        expect(page.locator("main .alert-success")).to_have_count(0)
        for index in range(3):
            expect(radios.nth(index)).not_to_be_checked()
        expect(reports).to_have_count(before)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        _screenshot(page, "my-business-no-status-phone.png")


def _money(amount: Decimal) -> str:
    """An amount as the loan pages show it: ¥8,333.33."""
    return f"¥{amount:,.2f}"


def _status(status: LoanStatus) -> str:
    """A loan status as the English pages name it."""
    return str(STATUS_LABELS[status])


def _installment(status: InstallmentStatus) -> str:
    """An installment status as the English pages name it."""
    return str(INSTALLMENT_STATUS_LABELS[status])


def test_two_officers_take_a_loan_from_application_to_its_first_repayment(
    browser: Browser, live_server: str
) -> None:
    """Officer A applies for a founder and reviews the application; only a second officer
    may approve it (four eyes). Officer B approves, records the disbursement, sees the
    schedule and posts the first installment, which is then paid."""
    today = today_in_china()
    schedule = build_schedule(
        principal=Decimal("100000.00"),
        term_months=12,
        annual_rate=DEFAULT_POLICY["annual_rate"],
        subsidy_rate=DEFAULT_POLICY["subsidy_rate"],
        method="equal_installment",
        disbursed_on=today,
    )
    first = schedule[0]
    guarantor_id_number = make_id_number(region_prefix="460100", sex="female")

    with _page(browser, **DESKTOP) as page:
        page.goto(f"{live_server}/login")
        _sign_in(page, OFFICER_A_USERNAME, OFFICER_A_PASSWORD)
        page.goto(f"{live_server}/loans/new?founder_id={SEEDED['applicant_id']}")
        expect(page.locator("[data-testid=applicant]")).to_contain_text(APPLICANT_NAME)
        form = page.locator("[data-testid=application-form]")
        form.locator("#amount").fill("100000.00")
        form.locator("#term_months").fill("12")
        form.locator("#repayment_method").select_option("equal_installment")
        form.locator("#purpose").fill("购置清补凉设备和冷柜")
        form.locator("#guarantors-0-name").fill("王芳")
        form.locator("#guarantors-0-id_number").fill(guarantor_id_number)
        form.locator("#guarantors-0-relationship").fill("姐姐")
        form.locator("#guarantors-0-employer").fill("海口市第一小学")
        form.locator("[data-testid=submit-application]").click()

        expect(page).to_have_url(re.compile(rf"^{re.escape(live_server)}/loans/\d+$"))
        expect(page.locator("main .alert-success")).to_be_visible()
        expect(page.locator("[data-testid=loan-status]").first).to_have_text(
            _status(LoanStatus.SUBMITTED)
        )
        expect(page.locator("[data-testid=guarantor-id]")).to_have_text(
            f"{guarantor_id_number[:6]}***********{guarantor_id_number[-1]}"
        )
        loan_url = page.url
        page.locator("[data-testid=review-form] button[value=approve]").click()

        expect(page.locator("main .alert-success")).to_contain_text("A second officer must")
        expect(page.locator("[data-testid=loan-status]").first).to_have_text(
            _status(LoanStatus.REVIEWED)
        )
        expect(page.locator("[data-testid=four-eyes]")).to_be_visible()
        expect(page.locator("[data-testid=approve-form]")).to_have_count(0)
        _screenshot(page, "loan-four-eyes.png")

    with _page(browser, **DESKTOP) as page:
        page.goto(f"{live_server}/login")
        _sign_in(page, OFFICER_B_USERNAME, OFFICER_B_PASSWORD)
        page.goto(loan_url)
        page.locator("[data-testid=approve-form] button[value=approve]").click()
        expect(page.locator("[data-testid=loan-status]").first).to_have_text(
            _status(LoanStatus.APPROVED)
        )

        # The disbursement form is dated today already; the bank gives the reference.
        expect(page.locator("#disburse-disbursed_on")).to_have_value(today.isoformat())
        page.locator("#disburse-bank_reference").fill("HNB-2026-000123")
        page.get_by_role("button", name="Record the disbursement").click()

        expect(page.locator("[data-testid=loan-status]").first).to_have_text(
            _status(LoanStatus.ACTIVE)
        )
        rows = page.locator("[data-testid=installment]")
        expect(rows).to_have_count(12)
        expect(rows.first.locator("[data-testid=principal]")).to_have_text(_money(first.principal))
        expect(rows.first.locator("[data-testid=amount-owed]")).to_have_text(
            _money(first.borrower_due)
        )
        expect(rows.first.locator("[data-testid=installment-status]")).to_have_text(
            _installment(InstallmentStatus.PENDING)
        )

        # The first installment, paid today with the bank's transaction reference.
        payment = page.locator("#post-repayment")
        expect(payment.locator("#repayment-paid_on")).to_have_value(today.isoformat())
        payment.locator("#repayment-amount").fill(f"{first.borrower_due:.2f}")
        payment.locator("#repayment-reference").fill("HNB-TX-0001")
        payment.get_by_role("button", name="Post").click()

        expect(page.locator("main .alert-success")).to_contain_text(_money(first.borrower_due))
        expect(rows.first.locator("[data-testid=installment-status]")).to_have_text(
            _installment(InstallmentStatus.PAID)
        )
        expect(rows.first.locator("[data-testid=amount-paid]")).to_contain_text(
            _money(first.borrower_due)
        )
        expect(rows.nth(1).locator("[data-testid=installment-status]")).to_have_text(
            _installment(InstallmentStatus.PENDING)
        )
        expect(page.locator("[data-testid=repayment]")).to_have_count(1)
        expect(page.locator("[data-testid=outstanding]")).to_have_text(
            _money(Decimal("100000.00") - first.principal)
        )
        _screenshot(page, "loan-schedule.png")


def test_the_dashboard_draws_its_charts_and_a_number_opens_its_list(
    browser: Browser, live_server: str
) -> None:
    with _page(browser, **PHONE) as page:
        page.goto(f"{live_server}/login")
        _sign_in(page, STAFF_USERNAME, STAFF_PASSWORD)
        expect(page.locator("[data-testid=dashboard-title]")).to_be_visible()
        expect(page.locator("[data-testid=indicator]")).to_have_count(6)

        # Every chart is an SVG the server drew; each one loads and has a size.
        charts = page.locator("img[data-testid=chart]")
        expect(charts).to_have_count(8)
        for index in range(8):
            chart = charts.nth(index)
            chart.scroll_into_view_if_needed()
            expect(chart).to_be_visible()
            page.wait_for_function(
                "image => image.complete && image.naturalWidth > 0", arg=chart.element_handle()
            )
            box = chart.bounding_box()
            assert box is not None
            assert 300 < box["width"] <= 390  # fits the phone's width
        _screenshot(page, "dashboard-phone.png")

        # The businesses-opened number opens the real-name list behind it, as long as it says
        # (other tests may have changed the business's status, never its opening).
        number = page.locator("[data-testid=all-figures] [data-figure='survival.businesses']")
        count = int(number.inner_text())
        assert count >= 1
        number.click()
        expect(page.locator("[data-testid=list-title]")).to_be_visible()
        rows = page.locator("[data-testid=list-row]")
        expect(rows).to_have_count(count)
        expect(page.locator("[data-testid=list-row]", has_text=FOUNDER_BUSINESS)).to_have_count(1)
        expect(page.locator("[data-testid=total]")).to_contain_text(str(count))

        with page.expect_download() as download:
            page.locator("[data-testid=export]").click()
        assert download.value.suggested_filename.startswith("survival.businesses-")
        assert download.value.suggested_filename.endswith(".xlsx")
