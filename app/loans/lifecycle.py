"""The loan state machine of SPEC §9, in one table.

Every status change of a loan goes through `move`, which looks the (status, action) pair
up in TRANSITIONS and refuses anything else with a 409 naming the current status. No
other code assigns `Loan.status`.
"""

from __future__ import annotations

import enum

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.core.errors import Conflict
from app.loans.models import Loan, LoanStatus


class LoanAction(enum.StrEnum):
    """What can happen to a loan."""

    REVIEW = "review"  # first officer: the application is sound
    APPROVE = "approve"  # a different officer: grant it
    REJECT_IN_REVIEW = "reject_in_review"  # the first officer turns it down, with a reason
    REJECT_IN_APPROVAL = "reject_in_approval"  # the second officer turns it down
    DISBURSE = "disburse"  # the bank paid it out; the schedule is made
    CLOSE = "close"  # everything paid
    REOPEN = "reopen"  # a reversal un-pays a closed loan
    REOPEN_DEFAULTED = "reopen_defaulted"  # ... that had defaulted: a default stays
    DEFAULT = "default"  # days past due reached default_days (daily sweep)
    COMPENSATE = "compensate"  # the fund paid the bank
    RECOVER = "recover"  # everything compensated came back to the fund
    WRITE_OFF = "write_off"  # what is left cannot be recovered


S = LoanStatus
A = LoanAction

TRANSITIONS: dict[tuple[LoanStatus, LoanAction], LoanStatus] = {
    (S.SUBMITTED, A.REVIEW): S.REVIEWED,
    (S.SUBMITTED, A.REJECT_IN_REVIEW): S.REJECTED,
    (S.REVIEWED, A.APPROVE): S.APPROVED,
    (S.REVIEWED, A.REJECT_IN_APPROVAL): S.REJECTED,
    (S.APPROVED, A.DISBURSE): S.ACTIVE,
    (S.ACTIVE, A.CLOSE): S.CLOSED,
    (S.ACTIVE, A.DEFAULT): S.DEFAULTED,
    (S.CLOSED, A.REOPEN): S.ACTIVE,
    # A reversal never cures a default: the loan goes back to where it was.
    (S.CLOSED, A.REOPEN_DEFAULTED): S.DEFAULTED,
    # A defaulted borrower who pays everything before any compensation closes the loan.
    (S.DEFAULTED, A.CLOSE): S.CLOSED,
    (S.DEFAULTED, A.COMPENSATE): S.COMPENSATED,
    (S.COMPENSATED, A.RECOVER): S.RECOVERED,
    (S.COMPENSATED, A.WRITE_OFF): S.WRITTEN_OFF,
}

STATUS_LABELS = {
    S.SUBMITTED: _l("Submitted"),
    S.REVIEWED: _l("Reviewed"),
    S.APPROVED: _l("Approved"),
    S.REJECTED: _l("Rejected"),
    S.ACTIVE: _l("Being repaid"),
    S.CLOSED: _l("Paid off"),
    S.DEFAULTED: _l("Defaulted"),
    S.COMPENSATED: _l("Compensated"),
    S.RECOVERED: _l("Recovered"),
    S.WRITTEN_OFF: _l("Written off"),
}


def status_label(status: LoanStatus | str) -> str:
    """The status as people read it, in the interface language."""
    return str(STATUS_LABELS[LoanStatus(status)])


def can(loan: Loan, action: LoanAction) -> bool:
    """Whether `action` is allowed from the loan's current status (for showing buttons)."""
    return (LoanStatus(loan.status), action) in TRANSITIONS


def next_status(status: LoanStatus | str, action: LoanAction) -> LoanStatus:
    """The status `action` leads to from `status`; 409 when the table has no such move."""
    target = TRANSITIONS.get((LoanStatus(status), action))
    if target is None:
        raise Conflict(
            _(
                "This loan's status is “%(status)s”: it cannot be %(action)s now.",
                status=status_label(status),
                action=ACTION_PAST_TENSE[action],
            ),
            status=str(status),
        )
    return target


def move(loan: Loan, action: LoanAction) -> tuple[str, str]:
    """Apply `action` to the loan's status; returns (before, after) for the audit entry."""
    before = loan.status
    loan.status = next_status(before, action)
    return before, loan.status


ACTION_PAST_TENSE = {
    A.REVIEW: _l("reviewed"),
    A.APPROVE: _l("approved"),
    A.REJECT_IN_REVIEW: _l("rejected"),
    A.REJECT_IN_APPROVAL: _l("rejected"),
    A.DISBURSE: _l("disbursed"),
    A.CLOSE: _l("paid off"),
    A.REOPEN: _l("reopened by a reversal"),
    A.REOPEN_DEFAULTED: _l("reopened by a reversal"),
    A.DEFAULT: _l("marked defaulted"),
    A.COMPENSATE: _l("compensated"),
    A.RECOVER: _l("marked recovered"),
    A.WRITE_OFF: _l("written off"),
}
