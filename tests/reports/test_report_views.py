"""The report pages: the dashboard, the lists behind its numbers, their export, the chart
images and the statistics table — scope, bad input, and that the numbers match."""

from __future__ import annotations

import io
from datetime import date

import pandas as pd
import pytest
from sqlalchemy import select

from app.core.audit import AuditEntry
from app.extensions import db
from app.reports.dashboard import indicator_status
from app.reports.kpis import compute_kpis
from tests.businesses.factories import make_business
from tests.factories import make_founder

D = "2026-06-30"
HAIKOU, SANYA, PROVINCE = "460100", "460200", "460000"
REPORT_URLS = (
    "/?region_code={region}",
    "/reports/figures/jobs.operating?region_code={region}",
    "/reports/figures/jobs.operating.xlsx?region_code={region}",
    "/reports/charts/survival.svg?region_code={region}",
    "/reports/statistics.xlsx?region_code={region}&year=2026",
)


@pytest.fixture
def businesses(db_session):
    """Two operating businesses in Haikou (3 and 2 employees), one in Sanya (4)."""
    for region, name, employees in (
        (HAIKOU, '=HYPERLINK("http://x")', 3),
        (HAIKOU, "椰子糖坊", 2),
        (SANYA, "潜水店", 4),
    ):
        founder = make_founder(region_code=region)
        make_business(
            founder,
            name=name,
            opened_on=date(2026, 3, 1),
            employees_at_opening=employees,
            employees=employees,
        )


def test_indicator_colours():
    assert indicator_status(0.9, 0.9) == "green"
    assert indicator_status(0.81, 0.9) == "amber"  # within 10 % of the threshold
    assert indicator_status(0.8099, 0.9) == "red"
    assert indicator_status(3.2, 3) == "green"
    assert indicator_status(None, 0.9) is None


@pytest.mark.parametrize("url", REPORT_URLS)
def test_another_citys_reports_look_absent(client, login_as, businesses, url):
    login_as("staff", HAIKOU)
    for region, status in ((SANYA, 404), (HAIKOU, 200)):
        response = client.get(url.format(region=region))
        response.close()  # an export is sent from an open file
        assert response.status_code == status


@pytest.mark.parametrize("url", REPORT_URLS)
def test_province_staff_read_their_cities(client, login_as, businesses, url):
    login_as("staff", PROVINCE)
    response = client.get(url.format(region=SANYA))
    response.close()
    assert response.status_code == 200


@pytest.mark.parametrize("role", ["staff", "officer"])
def test_the_dashboard_numbers_link_to_their_lists(client, login_as, businesses, role):
    login_as(role, PROVINCE)
    page = client.get(f"/?region_code={PROVINCE}&as_of={D}").get_data(as_text=True)
    assert 'data-testid="indicator"' in page
    assert page.count('data-testid="chart"') == 8
    link = f"/reports/figures/jobs.operating?region_code={PROVINCE}&amp;as_of={D}"
    assert f'href="{link}"' in page
    # The breakdown by city links each city's cell to its own rows.
    cell = f"/reports/figures/jobs.operating?region_code={PROVINCE}&amp;as_of={D}"
    assert f'href="{cell}&amp;dimension=region&amp;key={SANYA}"' in page


def test_a_list_holds_what_its_number_counts_and_exports_it(client, login_as, businesses):
    staff = login_as("staff", PROVINCE)
    kpis = compute_kpis(PROVINCE, date(2026, 6, 30))
    assert kpis["jobs"]["operating"] == 3
    page = client.get(f"/reports/figures/jobs.operating?region_code={PROVINCE}&as_of={D}")
    html = page.get_data(as_text=True)
    assert html.count('data-testid="list-row"') == 3
    assert "潜水店" in html
    haikou_only = client.get(
        f"/reports/figures/jobs.operating?region_code={PROVINCE}&as_of={D}"
        f"&dimension=region&key={HAIKOU}"
    ).get_data(as_text=True)
    assert haikou_only.count('data-testid="list-row"') == 2
    assert "潜水店" not in haikou_only

    response = client.get(f"/reports/figures/jobs.operating.xlsx?region_code={PROVINCE}&as_of={D}")
    content = response.data
    response.close()
    assert response.status_code == 200
    assert response.headers["X-Row-Count"] == "3"
    sheet = pd.read_excel(io.BytesIO(content), sheet_name=0, engine="calamine")
    assert len(sheet) == 3
    assert sheet.iloc[:, -1].sum() == kpis["jobs"]["jobs"]  # employees, the last column
    assert '\'=HYPERLINK("http://x")' in sheet.iloc[:, 0].tolist()  # escaped, not a formula
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "report.export")).one()
    assert entry.actor_id == staff.id
    assert entry.after["row_count"] == 3
    assert entry.after["figure"] == "jobs.operating"


def test_bad_input_names_the_field(client, login_as, businesses):
    login_as("staff", HAIKOU)
    bad_key = client.get("/reports/figures/jobs.operating?dimension=loan&key=maybe")
    assert bad_key.status_code == 422
    assert "不是该分组的有效取值" in bad_key.get_data(as_text=True)
    bad_date = client.get("/?as_of=2026-13-01")
    assert bad_date.status_code == 422
    assert 'data-testid="form-errors"' in bad_date.get_data(as_text=True)
    assert client.get("/reports/figures/no.such_figure").status_code == 404
    assert client.get("/reports/charts/no_such_chart.svg").status_code == 404
    early = client.get(f"/reports/statistics.xlsx?region_code={HAIKOU}&year=2026&as_of=2025-12-31")
    assert early.status_code == 422


def test_a_chart_is_an_svg_image(client, login_as, businesses):
    login_as("officer", HAIKOU)
    response = client.get(f"/reports/charts/survival.svg?region_code={HAIKOU}&as_of={D}")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.get_data(as_text=True).startswith("<svg")
    assert 'xmlns="http://www.w3.org/2000/svg"' in response.get_data(as_text=True)


def test_the_statistics_table_downloads(client, login_as, businesses):
    login_as("staff", PROVINCE)
    response = client.get(f"/reports/statistics.xlsx?region_code={PROVINCE}&year=2026&as_of={D}")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].endswith("statistics-460000-2026-20260630.xlsx")


def test_an_administrators_list_without_a_region_is_every_regions(client, login_as, businesses):
    login_as("admin", PROVINCE)
    everywhere = client.get(f"/reports/figures/jobs.operating?as_of={D}").get_data(as_text=True)
    assert everywhere.count('data-testid="list-row"') == 3


def test_a_city_staffs_list_without_a_region_is_their_citys(client, login_as, businesses):
    login_as("staff", HAIKOU)
    own = client.get(f"/reports/figures/jobs.operating?as_of={D}").get_data(as_text=True)
    assert own.count('data-testid="list-row"') == 2  # a city's staff: their own city
