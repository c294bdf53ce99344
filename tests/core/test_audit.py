"""The audit log records who changed what, before and after, in JSON-safe form."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from app.core.audit import (
    AuditEntry,
    changed_fields,
    list_audit_stmt,
    record_audit,
    snapshot,
)
from app.core.dates import CHINA_TIME
from app.extensions import db
from app.regions.models import Region
from tests.factories import make_user


def test_record_audit_stores_actor_entity_and_json_values(db_session):
    actor = make_user(role="admin", region_code="460000")
    region = db.session.get(Region, "460200")
    entry = record_audit(
        actor,
        "region.update",
        region,
        {"amount": Decimal("12.30"), "on": date(2026, 1, 31)},
        {"amount": Decimal("45.60"), "on": date(2026, 2, 28)},
    )
    stored = db.session.scalar(select(AuditEntry).where(AuditEntry.id == entry.id))
    assert (stored.actor_id, stored.actor_username) == (actor.id, actor.username)
    assert (stored.entity_type, stored.entity_id) == ("region", "460200")
    assert stored.before == {"amount": "12.30", "on": "2026-01-31"}
    assert stored.after == {"amount": "45.60", "on": "2026-02-28"}
    assert stored.occurred_at.tzinfo is not None


def test_record_audit_accepts_a_type_and_id_pair_and_no_actor(db_session):
    entry = record_audit(None, "job.run", ("job", "daily"), None, {"ok": True})
    assert (entry.entity_type, entry.entity_id, entry.actor_id) == ("job", "daily", None)


def test_snapshot_never_contains_password_hashes(db_session):
    user = make_user()
    values = snapshot(user)
    assert "password_hash" not in values
    assert values["username"] == user.username


def test_changed_fields_keeps_only_differences():
    assert changed_fields({"a": 1, "b": 2}, {"a": 1, "b": 3}) == {"b": 3}


def test_audit_filters(db_session):
    actor = make_user(role="admin", region_code="460000", username="auditor")
    record_audit(actor, "user.update", ("user_account", "5"), None, {}, region_code="460100")
    record_audit(None, "region.create", ("region", "460500"), None, {})
    by_actor = db.session.scalars(list_audit_stmt(actor="AUDITOR")).all()
    assert [e.action for e in by_actor] == ["user.update"]
    assert [e.action for e in db.session.scalars(list_audit_stmt(entity_type="region"))] == [
        "region.create"
    ]
    assert db.session.scalars(list_audit_stmt(action="user.", region_code="460100")).all()
    today_in_china = datetime.now(CHINA_TIME).date()
    assert len(db.session.scalars(list_audit_stmt(occurred_from=today_in_china)).all()) >= 2
    assert (
        db.session.scalars(list_audit_stmt(occurred_to=today_in_china - timedelta(1))).all() == []
    )


def test_decimals_are_kept_exactly_not_as_money(db_session):
    entry = record_audit(
        None, "policy.update", ("loan_policy", "460000"), None, {"annual_rate": Decimal("0.0345")}
    )
    assert entry.after == {"annual_rate": "0.0345"}
