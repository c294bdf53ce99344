"""The region figures the pages reload are memoised for minutes (D51): the dashboard, its
charts, the targets' progress and the library's outcomes are computed once per key, while
the KPI API and the lists behind the numbers stay live.

The suite runs with Flask-Caching's NullCache (config.TestingConfig); these tests use an
app with the SimpleCache that production uses.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from flask import Flask

from app.extensions import cache, db
from app.reports import dashboard_charts, page_figures
from app.reports.dimensions import Dimension
from app.reports.kpis import compute_kpis
from app.reports.page_figures import dashboard_figures, library_outcome_breakdowns, year_actuals
from tests.businesses.factories import make_business
from tests.conftest import _make_app
from tests.factories import DEFAULT_PASSWORD, make_founder, make_user

HAIKOU = "460100"
EN = {"Accept-Language": "en"}
D = date(2026, 6, 30)


@pytest.fixture(scope="module")
def memo_app(database_url: str) -> Iterator[Flask]:
    app = _make_app(database_url, WTF_CSRF_ENABLED=False, CACHE_TYPE="SimpleCache")
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def memo(memo_app: Flask, db_session: Any) -> Iterator[Flask]:
    """Inside the memoising app, in the test's rolled-back transaction, cache emptied."""
    with memo_app.app_context():
        cache.clear()
        yield memo_app
        cache.clear()


def _operating(figures: dict[str, Any]) -> int:
    return figures["kpis"]["jobs"]["operating"]


def _sign_in(app: Flask, role: str = "staff", region: str = HAIKOU) -> Any:
    user = make_user(role=role, region_code=region)
    db.session.commit()
    client = app.test_client()
    response = client.post("/login", data={"username": user.username, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    return client


def test_dashboard_figures_are_computed_once_per_key_until_they_expire(memo):
    make_business(make_founder(region_code=HAIKOU), opened_on=date(2026, 2, 1))
    first = dashboard_figures(HAIKOU, D, None, None, Dimension.TARGET_GROUP, "en")
    assert _operating(first) == 1

    make_business(make_founder(region_code=HAIKOU), opened_on=date(2026, 2, 1))
    again = dashboard_figures(HAIKOU, D, None, None, Dimension.TARGET_GROUP, "en")

    assert _operating(again) == 1  # the memoised answer
    assert again["computed_at"] == first["computed_at"]
    assert compute_kpis(HAIKOU, D)["jobs"]["operating"] == 2  # the engine itself is live
    # Another day, period or breakdown is another key, computed now.
    assert (
        _operating(dashboard_figures(HAIKOU, D, date(2026, 1, 1), None, Dimension.MONTH, "en")) == 2
    )
    cache.clear()  # what the timeout does
    assert _operating(dashboard_figures(HAIKOU, D, None, None, Dimension.TARGET_GROUP, "en")) == 2


def test_year_actuals_and_library_outcomes_are_memoised(memo, monkeypatch):
    make_business(make_founder(region_code=HAIKOU), opened_on=date(2026, 2, 1))
    assert year_actuals(HAIKOU, 2026, D)["businesses_opened"] == 1
    breakdowns = _counting(monkeypatch, "group_breakdown")
    outcomes = library_outcome_breakdowns(HAIKOU, D)
    make_business(make_founder(region_code=HAIKOU), opened_on=date(2026, 2, 1))

    assert year_actuals(HAIKOU, 2026, D)["businesses_opened"] == 1
    assert library_outcome_breakdowns(HAIKOU, D) == outcomes
    assert len(breakdowns) == 2  # jobs and opening, once: the second answer was kept
    assert library_outcome_breakdowns(None, D) is not None  # everywhere: another key
    assert len(breakdowns) == 4
    cache.clear()
    assert year_actuals(HAIKOU, 2026, D)["businesses_opened"] == 2


def _counting(monkeypatch, name: str, module: Any = page_figures) -> list[tuple]:
    """Record each call of `module.name` (still calling it)."""
    calls: list[tuple] = []
    real = getattr(module, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


def test_dashboard_page_says_when_its_figures_were_computed(memo, monkeypatch):
    clock = iter(
        [datetime(2026, 6, 30, 1, 15, tzinfo=UTC), datetime(2026, 6, 30, 2, 45, tzinfo=UTC)]
    )
    monkeypatch.setattr(page_figures, "utcnow", lambda: next(clock))
    make_business(make_founder(region_code=HAIKOU), opened_on=date(2026, 2, 1))
    client = _sign_in(memo)

    first = client.get(f"/?region_code={HAIKOU}&as_of={D}", headers=EN).get_data(as_text=True)
    make_business(make_founder(region_code=HAIKOU), opened_on=date(2026, 2, 1))
    db.session.commit()
    second = client.get(f"/?region_code={HAIKOU}&as_of={D}", headers=EN).get_data(as_text=True)
    cache.clear()
    third = client.get(f"/?region_code={HAIKOU}&as_of={D}", headers=EN).get_data(as_text=True)

    # 01:15 UTC is 09:15 in China: the page shows the time its figures were computed,
    # the same on a reload within the memo's life, a new one once they are computed again.
    assert "figures computed at 9:15" in first
    assert "figures computed at 9:15" in second
    assert "figures computed at 10:45" in third


def test_kpi_api_stays_live_while_the_dashboard_memoises(memo):
    make_business(make_founder(region_code=HAIKOU), opened_on=date(2026, 2, 1))
    client = _sign_in(memo, role="officer")
    url = f"/api/v1/kpis?region_code={HAIKOU}&as_of={D}"
    token = _token(memo)

    def operating() -> int:
        response = client.get(url, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()["jobs"]["operating"]

    assert operating() == 1
    make_business(make_founder(region_code=HAIKOU), opened_on=date(2026, 2, 1))
    db.session.commit()
    assert operating() == 2


def _token(app: Flask) -> str:
    user = make_user(role="staff", region_code=HAIKOU)
    db.session.commit()
    response = app.test_client().post(
        "/api/v1/auth/token", json={"username": user.username, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 201
    return response.get_json()["token"]


def test_a_chart_is_memoised_per_language(memo, monkeypatch):
    make_business(make_founder(region_code=HAIKOU), opened_on=date(2026, 2, 1))
    client = _sign_in(memo)
    url = f"/reports/charts/survival.svg?region_code={HAIKOU}&as_of={D}"
    drawn = _counting(monkeypatch, "render_chart", dashboard_charts)

    chinese = client.get(url).get_data(as_text=True)
    assert client.post("/language", data={"locale": "en", "next": "/"}).status_code == 302
    english = client.get(url).get_data(as_text=True)
    again = client.get(url).get_data(as_text=True)

    assert "Business survival" in english
    assert "Business survival" not in chinese  # each language its own drawing
    assert again == english
    assert [args[0] for args in drawn] == ["survival", "survival"]  # the reload was kept


def test_the_dashboards_breakdown_labels_follow_the_viewers_language(memo):
    """The breakdown's labels (target groups, "with a loan") are drawn in the language of
    the request that computed them: the memo is per language, as the charts' is."""
    make_business(make_founder(region_code=HAIKOU), opened_on=date(2026, 2, 1))
    client = _sign_in(memo)
    url = f"/?region_code={HAIKOU}&as_of={D}&by=loan"

    chinese = client.get(url).get_data(as_text=True)
    assert client.post("/language", data={"locale": "en", "next": "/"}).status_code == 302
    english = client.get(url).get_data(as_text=True)

    assert "Without a loan" not in chinese
    assert "Without a loan" in english
