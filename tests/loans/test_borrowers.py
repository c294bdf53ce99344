"""`founder.borrower_since` (D52): set by the disbursement, the earliest day kept, refreshed
in bulk, filled by migration 0011, checked by the reconciliation, and what the register's
"has a loan" filter reads."""

from __future__ import annotations

import importlib.util
from datetime import date
from pathlib import Path

from sqlalchemy import text

from app.extensions import db
from app.founders.queries import FounderFilters, list_founders_stmt
from app.loans.borrowers import mark_borrower, refresh_borrowers
from app.loans.reconcile import reconcile_loans
from tests.factories import make_user
from tests.loans.factories import make_loan, make_trained_founder

MIGRATION = Path(__file__).parents[2] / "migrations/versions/0011_founder_borrower_since.py"


def _reload(founder):
    db.session.expire(founder)
    return founder.borrower_since


def test_disbursement_makes_the_founder_a_borrower_since_that_day(db_session):
    applicant = make_loan(status="approved").founder
    assert _reload(applicant) is None
    borrower = make_loan(disbursed_on=date(2026, 1, 31)).founder
    assert _reload(borrower) == date(2026, 1, 31)


def test_the_earliest_disbursement_day_stays(db_session):
    founder = make_loan(disbursed_on=date(2026, 1, 31)).founder
    mark_borrower(founder.id, date(2026, 3, 1))  # a later loan
    assert _reload(founder) == date(2026, 1, 31)
    mark_borrower(founder.id, date(2026, 1, 20))  # an earlier one
    assert _reload(founder) == date(2026, 1, 20)


def test_refresh_and_the_migrations_backfill_set_it_from_the_loans(db_session):
    borrower = make_loan(disbursed_on=date(2026, 1, 31)).founder
    applicant = make_loan(status="submitted").founder
    db.session.execute(text("UPDATE founder SET borrower_since = NULL"))
    assert refresh_borrowers() == 1
    assert (_reload(borrower), _reload(applicant)) == (date(2026, 1, 31), None)

    db.session.execute(text("UPDATE founder SET borrower_since = NULL"))
    spec = importlib.util.spec_from_file_location("migration_0011", MIGRATION)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    db.session.execute(text(migration.BACKFILL))
    assert (_reload(borrower), _reload(applicant)) == (date(2026, 1, 31), None)
    assert refresh_borrowers() == 0


def test_reconciliation_reports_a_wrong_borrower_day(db_session):
    loan = make_loan(disbursed_on=date(2026, 1, 31))
    as_of = date(2026, 2, 1)
    assert reconcile_loans(as_of=as_of).differences == []

    db.session.execute(
        text("UPDATE founder SET borrower_since = NULL WHERE id = :id"), {"id": loan.founder_id}
    )
    differences = reconcile_loans(as_of=as_of).differences
    assert [(d.loan_id, d.check, d.expected, d.found) for d in differences] == [
        (loan.id, "borrower_since", date(2026, 1, 31), None)
    ]


def test_the_has_loan_filter_lists_the_borrowers_in_register_order(db_session):
    borrowers = {make_loan().founder.id for _ in range(3)}
    make_loan(status="submitted")  # applied, never paid out
    make_trained_founder()
    db.session.commit()
    staff = make_user(role="staff", region_code="460100")

    def listed(**filters):
        stmt = list_founders_stmt(staff, FounderFilters(**filters))
        return [founder.id for founder in db.session.scalars(stmt)]

    everyone = listed()
    assert listed(has_loan="yes") == [i for i in everyone if i in borrowers]
    assert listed(has_loan="no") == [i for i in everyone if i not in borrowers]
    assert listed(has_loan="yes", region_code="460100") == listed(has_loan="yes")
