"""The register page at a million founders: a total counted only a few pages ahead (the
"has a loan" filter's index of borrowers is tested in tests/loans/test_borrowers.py)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from app.extensions import db
from app.founders import queries
from tests.factories import make_founder

EN = {"Accept-Language": "en"}


def total_text(html: str) -> str:
    return re.search(r'data-testid="total">([^<]*)<', html).group(1).strip()


@pytest.fixture
def seven_founders(db_session):
    start = date(2026, 1, 1)
    for day in range(7):
        make_founder(region_code="460100", registered_on=start + timedelta(days=day))
    db.session.commit()


def test_the_total_is_exact_within_the_look_ahead(seven_founders, client, login_as):
    login_as("staff", "460100")
    html = client.get("/founders?per_page=2", headers=EN).get_data(as_text=True)
    assert total_text(html) == "7 in total"


def test_beyond_the_look_ahead_the_page_says_more_than(
    seven_founders, client, login_as, monkeypatch
):
    monkeypatch.setattr(queries, "COUNT_AHEAD_PAGES", 1)
    login_as("staff", "460100")
    first = client.get("/founders?per_page=2", headers=EN).get_data(as_text=True)
    assert total_text(first) == "More than 4 in total"
    assert "page=3" not in first  # the pager links only the pages it counted
    # Counted from the start: page 3 of 2 knows rows 1..6 and that one more follows.
    third = client.get("/founders?per_page=2&page=3", headers=EN).get_data(as_text=True)
    assert total_text(third) == "7 in total"
    assert "page=4" in third
