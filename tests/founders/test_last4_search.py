"""Searches by the last four characters of an ID number are audited and capped per user
and hour, in the database (security review gap 3, D49)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from app.auth.models import IdSearchAllowance
from app.core.audit import AuditEntry
from app.extensions import db
from tests.factories import make_founder
from tests.training.factories import make_cohort

HAIKOU = "460100"
ENGLISH = {"Accept-Language": "en"}


def searches_audited(user_id):
    return list(
        db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "founder.search_id_last4", AuditEntry.actor_id == user_id)
            .order_by(AuditEntry.id)
        )
    )


def test_last_four_searches_are_audited_and_capped(app, client, login_as, monkeypatch):
    monkeypatch.setitem(app.config, "ID_SEARCH_HOURLY_LIMIT", 3)
    staff = login_as("staff", HAIKOU)
    founder = make_founder(region_code=HAIKOU)
    cohort = make_cohort(region_code=HAIKOU)
    db.session.commit()
    last4, name, phone, cohort_id = founder.id_number[-4:], founder.name, founder.phone, cohort.id
    page = client.get(f"/founders?q={last4}", headers=ENGLISH)
    assert page.status_code == 200
    assert name in page.get_data(as_text=True)
    [entry] = searches_audited(staff.id)
    assert entry.after == {"query": last4, "hit_count": 1, "searches_this_hour": 1}
    export = client.get(f"/founders/export.xlsx?q={last4}")  # counts too
    assert export.status_code == 200
    export.close()
    assert client.get(f"/training/cohorts/{cohort_id}?q={last4}").status_code == 200
    assert len(searches_audited(staff.id)) == 3
    # The fourth in the hour is refused with a message saying why and what to do instead.
    refused = client.get(f"/founders?q={last4}", headers=ENGLISH)
    assert refused.status_code == 429
    text = refused.get_data(as_text=True)
    assert "last 4 characters of an ID number 3 times" in text
    assert name not in text
    assert len(searches_audited(staff.id)) == 3
    # Names and phone numbers are not counted.
    assert client.get("/founders?q=张").status_code == 200
    assert client.get(f"/founders?q={phone}").status_code == 200
    # The count is a row of the database, so every worker sees it.
    row = db.session.get(IdSearchAllowance, staff.id)
    assert row.searches == 3
    # An hour after the first search, the user may search again.
    started = row.window_started_at
    db.session.execute(
        update(IdSearchAllowance)
        .where(IdSearchAllowance.user_id == staff.id)
        .values(window_started_at=started - timedelta(hours=1, seconds=1))
    )
    db.session.commit()
    assert client.get(f"/founders?q={last4}").status_code == 200
    db.session.expire_all()
    assert db.session.get(IdSearchAllowance, staff.id).searches == 1


def test_the_api_search_is_capped_with_retry_after(app, api_as, monkeypatch):
    monkeypatch.setitem(app.config, "ID_SEARCH_HOURLY_LIMIT", 2)
    api = api_as("officer", HAIKOU)
    founder = make_founder(region_code=HAIKOU)
    db.session.commit()
    last4 = founder.id_number[-4:]
    for _ in range(2):
        assert api.get(f"/api/v1/founders?q={last4}").status_code == 200
    refused = api.get(f"/api/v1/founders?q={last4}", headers=ENGLISH)
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert "last 4 characters" in refused.get_json()["error"]
    assert [e.after["hit_count"] for e in searches_audited(api.user.id)] == [1, 1]


def test_each_user_has_their_own_allowance(app, client, login_as, monkeypatch):
    """Administrators, who never see a full number, are capped like everyone."""
    monkeypatch.setitem(app.config, "ID_SEARCH_HOURLY_LIMIT", 1)
    make_founder(region_code=HAIKOU)
    login_as("admin", "460000")
    assert client.get("/founders?q=0000").status_code == 200
    assert client.get("/founders?q=0000").status_code == 429
    client.post("/logout")
    login_as("staff", HAIKOU)
    assert client.get("/founders?q=0000").status_code == 200
