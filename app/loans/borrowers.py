"""`founder.borrower_since` (D52): the day the bank paid out a founder's first loan.

D33's "has had a loan" is a fact about the loans; it is kept on the founder too so the
register's filter walks an index of borrowers (a million founders, 200,000 loans: probing
each founder's loans on the walk took 0.2–2 s a page). The disbursement sets it; writers of
loans in bulk (the demo) refresh it in one statement; `flask loans reconcile` checks it.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Subquery, func, or_, select, update

from app.extensions import db
from app.founders.models import Founder
from app.loans.models import Loan


def first_disbursements() -> Subquery:
    """(founder_id, first_paid_out_on) of every founder with a paid-out loan."""
    return (
        select(
            Loan.founder_id.label("founder_id"),
            func.min(Loan.disbursed_on).label("first_paid_out_on"),
        )
        .where(Loan.disbursed_on.is_not(None))
        .group_by(Loan.founder_id)
        .subquery("first_disbursements")
    )


def mark_borrower(founder_id: int, disbursed_on: date) -> None:
    """A loan of the founder was paid out on `disbursed_on`: the earliest such day stays.
    One conditional UPDATE, so two disbursements at once keep the earlier day."""
    db.session.execute(
        update(Founder)
        .where(
            Founder.id == founder_id,
            or_(Founder.borrower_since.is_(None), Founder.borrower_since > disbursed_on),
        )
        .values(borrower_since=disbursed_on)
        .execution_options(synchronize_session="fetch")
    )


def refresh_borrowers() -> int:
    """Set every founder's `borrower_since` from the loans (after a bulk write of loans);
    returns the number of founders changed."""
    first = first_disbursements()
    result = db.session.execute(
        update(Founder)
        .where(
            Founder.id == first.c.founder_id,
            Founder.borrower_since.is_distinct_from(first.c.first_paid_out_on),
        )
        .values(borrower_since=first.c.first_paid_out_on)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount
