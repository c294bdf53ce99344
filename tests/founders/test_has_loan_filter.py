"""The register's "has had a loan" filter: only loans the bank paid out count."""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from app.extensions import db
from app.founders.export import describe_filters
from app.founders.queries import FounderFilters, list_founders_stmt
from tests.factories import make_user
from tests.loans.factories import make_loan, make_trained_founder

EN = {"Accept-Language": "en"}


@pytest.fixture
def register(db_session):
    borrower = make_loan().founder  # active
    applicant = make_loan(status="submitted").founder  # not paid out
    nobody = make_trained_founder()
    ids = {"borrower": borrower.id, "applicant": applicant.id, "nobody": nobody.id}
    db.session.commit()
    return ids


def ids_of(user, **filters):
    return {f.id for f in db.session.scalars(list_founders_stmt(user, FounderFilters(**filters)))}


def test_only_disbursed_loans_count(register):
    staff = make_user(role="staff", region_code="460100")
    assert register["borrower"] in ids_of(staff, has_loan="yes")
    assert {register["applicant"], register["nobody"]}.isdisjoint(ids_of(staff, has_loan="yes"))
    assert {register["applicant"], register["nobody"]} <= ids_of(staff, has_loan="no")
    assert register["borrower"] not in ids_of(staff, has_loan="no")


def test_the_page_and_the_api_take_the_filter(register, client, login_as, api_as):
    login_as("staff")
    html = client.get("/founders?has_loan=yes", headers=EN).get_data(as_text=True)
    assert 'name="has_loan"' in html
    assert f'href="/founders/{register["borrower"]}"' in html
    assert f'href="/founders/{register["nobody"]}"' not in html
    api = api_as("staff")
    answer = api.get("/api/v1/founders?has_loan=no").get_json()
    found = {item["id"] for item in answer["items"]}
    assert register["nobody"] in found
    assert register["borrower"] not in found


def test_the_export_names_the_filter():
    with force_locale("en"):
        assert describe_filters(FounderFilters(has_loan="yes"), regions={}) == [
            ("Loan", "Has had a loan")
        ]


def test_the_founder_list_reads_every_score_in_one_query(register, api_as):
    """The list answers each founder's integrity from one GROUP BY, not a query each."""
    from sqlalchemy import event

    api = api_as("staff")
    statements = []

    def count(conn, cursor, statement, *args):
        if "integrity_event" in statement:
            statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        answer = api.get("/api/v1/founders?per_page=50").get_json()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert answer["total"] >= 3
    assert all("integrity" in item for item in answer["items"])
    assert len(statements) == 1
