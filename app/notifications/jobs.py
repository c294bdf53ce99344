"""The daily reminders (SPEC §12, issue 7 item 7): in-app notifications, then e-mail.

`send_reminders(as_of)` is one INSERT … SELECT per kind of reminder, joining the users to
the tasks, installments and loans their reminder is about, with the region scope in SQL —
never a loop over users. Each reminder has a key (design: `followups_due:{as_of}`,
`installments_due:{as_of}`, `arrears:{loan_id}:{since}`, `installment_due:{id}`,
`status_request:{task_id}`) and is made once per (user, key): NOT EXISTS in the insert,
the `user_key` unique constraint behind it, and ON CONFLICT DO NOTHING for a run racing a
hand-started one. Running it twice for a date makes nothing new; the next date makes the
next day's digests and never repeats a per-object reminder.

`email_pending(as_of)` is a separate job step: a failing SMTP server then fails (and rolls
back) only the e-mail step, never the in-app notifications, which stay unsent for the
next run to retry.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from flask import current_app
from flask_babel import force_locale, ngettext
from sqlalchemy import JSON, String, and_, case, cast, exists, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import FunctionElement

from app.auth.models import User
from app.core.db import utcnow
from app.core.permissions import Role
from app.core.sql import as_date, days_between
from app.extensions import db
from app.followups.models import FollowupTask, TaskKind, TaskStatus
from app.founders.models import Founder
from app.loans.models import SERVICED_STATUSES, Loan, LoanInstallment
from app.notifications import mailer
from app.notifications.messages import NotificationKind, render
from app.notifications.models import Notification
from app.regions.models import Region

logger = logging.getLogger(__name__)

# Installments due within this many days of as_of are announced (SPEC §12).
DUE_SOON_DAYS = 7
# Follow-ups a founder answers themselves (SPEC §11 self-reports).
STATUS_REQUEST_KINDS = (TaskKind.BUSINESS.value, TaskKind.POST_TRAINING.value)
# Reminders older than this are not e-mailed any more (e.g. when SMTP is first set up).
EMAIL_WITHIN_DAYS = 7
SERVICED = [status.value for status in SERVICED_STATUSES]
INSERT_COLUMNS = ["user_id", "kind", "key", "params", "created_on", "created_at"]


class json_params(FunctionElement):
    """A JSON object built in SQL from named values (json_object / json_build_object)."""

    type = JSON()
    name = "json_params"
    # The keys live outside the clauses, so statements with different keys must not share
    # a cached compilation.
    inherit_cache = False

    def __init__(self, **values: Any) -> None:
        self.keys = list(values)
        super().__init__(*values.values())


def _json_pairs(element: json_params, compiler: Any, **kw: Any) -> str:
    values = [compiler.process(value, **kw) for value in element.clauses]
    # Keys are identifiers written in this module, never input.
    return ", ".join(f"'{key}', {value}" for key, value in zip(element.keys, values, strict=True))


@compiles(json_params)
def _json_params_postgresql(element: json_params, compiler: Any, **kw: Any) -> str:
    return f"json_build_object({_json_pairs(element, compiler, **kw)})"


@compiles(json_params, "sqlite")
def _json_params_sqlite(element: json_params, compiler: Any, **kw: Any) -> str:
    return f"json_object({_json_pairs(element, compiler, **kw)})"


def _text(value: str) -> Any:
    # Typed in SQL: PostgreSQL cannot infer a bare parameter's type inside json_build_object.
    return cast(literal(value), String)


def send_reminders(as_of: date) -> dict[str, int]:
    """Make the day's in-app reminders; returns how many of each kind were made."""
    now = utcnow()
    counts = {
        "followups_due": _followups_due(as_of, now, Role.STAFF, kinds=None)
        + _followups_due(as_of, now, Role.OFFICER, kinds=[TaskKind.LOAN_USAGE.value]),
        "installments_due": _installments_due(as_of, now),
        "arrears": _arrears(as_of, now),
        "installment_due": _founder_installment_due(as_of, now),
        "status_request": _status_requests(as_of, now),
    }
    db.session.flush()
    logger.info("reminders for %s: %s", as_of, counts)
    return counts


def _not_sent(key: Any) -> Any:
    sent = aliased(Notification)
    return ~exists(select(sent.id).where(sent.user_id == User.id, sent.key == key))


def _staff_like(role: Role) -> Any:
    return and_(User.role == role.value, User.active.is_(True))


def _in_user_scope(region_column: Any, region_alias: Any) -> Any:
    """The row's region is the user's, or one of the cities of the user's province."""
    return or_(region_column == User.region_code, region_alias.parent_code == User.region_code)


def _insert(rows: Any) -> int:
    """Insert the selected notifications, skipping any a racing run made meanwhile; the
    count comes from RETURNING (drivers report no rowcount for INSERT … SELECT)."""
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = (
        insert(Notification)
        .from_select(INSERT_COLUMNS, rows)
        .on_conflict_do_nothing(index_elements=["user_id", "key"])
        .returning(Notification.id)
    )
    return len(db.session.execute(stmt).all())


def _followups_due(as_of: date, now: Any, role: Role, *, kinds: list[str] | None) -> int:
    """Daily digest: open tasks due today or overdue in the user's area, theirs or nobody's."""
    day = as_date(as_of)
    task_region = aliased(Region)
    key = literal(f"{NotificationKind.FOLLOWUPS_DUE.value}:{as_of.isoformat()}")
    task_filters = [
        FollowupTask.status == TaskStatus.OPEN.value,
        FollowupTask.due_on <= day,
        or_(FollowupTask.assignee_id.is_(None), FollowupTask.assignee_id == User.id),
    ]
    if kinds is not None:
        task_filters.append(FollowupTask.kind.in_(kinds))
    rows = (
        select(
            User.id,
            literal(NotificationKind.FOLLOWUPS_DUE.value),
            key,
            json_params(
                due_today=func.sum(case((FollowupTask.due_on == day, 1), else_=0)),
                overdue=func.sum(case((FollowupTask.due_on < day, 1), else_=0)),
            ),
            day,
            literal(now, Notification.created_at.type),
        )
        .select_from(User)
        .join(FollowupTask, and_(*task_filters))
        .join(task_region, task_region.code == FollowupTask.region_code)
        .where(
            _staff_like(role),
            _in_user_scope(FollowupTask.region_code, task_region),
            _not_sent(key),
        )
        .group_by(User.id)
        .having(func.count(FollowupTask.id) > 0)
    )
    return _insert(rows)


def _amount_left() -> Any:
    """What the borrower still owes on an installment, in fen (SQL for amount_left)."""
    interest_owed = case(
        (LoanInstallment.subsidy_lost.is_(True), LoanInstallment.interest),
        else_=LoanInstallment.borrower_interest,
    )
    return (
        LoanInstallment.principal
        + interest_owed
        - LoanInstallment.paid_principal
        - LoanInstallment.paid_interest
    )


def _due_soon(as_of: date) -> Any:
    return and_(
        LoanInstallment.paid_off_on.is_(None),
        LoanInstallment.due_on >= as_date(as_of),
        LoanInstallment.due_on <= as_date(as_of + timedelta(days=DUE_SOON_DAYS)),
    )


def _installments_due(as_of: date, now: Any) -> int:
    """Officers' daily digest: unpaid installments due within 7 days on their area's loans."""
    loan_region = aliased(Region)
    key = literal(f"{NotificationKind.INSTALLMENTS_DUE.value}:{as_of.isoformat()}")
    until = as_of + timedelta(days=DUE_SOON_DAYS)
    rows = (
        select(
            User.id,
            literal(NotificationKind.INSTALLMENTS_DUE.value),
            key,
            json_params(
                count=func.count(LoanInstallment.id),
                total_fen=func.sum(_amount_left()),
                until=_text(until.isoformat()),
            ),
            as_date(as_of),
            literal(now, Notification.created_at.type),
        )
        .select_from(User)
        .join(Loan, Loan.status.in_(SERVICED))
        .join(loan_region, loan_region.code == Loan.region_code)
        .join(LoanInstallment, LoanInstallment.loan_id == Loan.id)
        .where(
            _staff_like(Role.OFFICER),
            _in_user_scope(Loan.region_code, loan_region),
            _due_soon(as_of),
            _not_sent(key),
        )
        .group_by(User.id)
        .having(func.count(LoanInstallment.id) > 0)
    )
    return _insert(rows)


def _arrears(as_of: date, now: Any) -> int:
    """One reminder per loan and arrears episode to every officer of its area.

    The episode is named by the due date of the oldest installment unpaid on as_of, so a
    loan that is cured and falls behind again is announced again, and never twice for one
    episode. Unpaid "that day" as the sweep counts it, so catch-up runs agree with it.
    """
    day = as_date(as_of)
    unpaid = and_(
        or_(LoanInstallment.paid_off_on.is_(None), LoanInstallment.paid_off_on > day),
        LoanInstallment.due_on < day,
    )
    overdue = (
        select(LoanInstallment.loan_id, func.min(LoanInstallment.due_on).label("since"))
        .where(unpaid)
        .group_by(LoanInstallment.loan_id)
        .subquery()
    )
    loan_region = aliased(Region)
    key = (
        literal(f"{NotificationKind.ARREARS.value}:")
        + cast(Loan.id, String)
        + literal(":")
        + cast(overdue.c.since, String)
    )
    rows = (
        select(
            User.id,
            literal(NotificationKind.ARREARS.value),
            key,
            json_params(
                loan_id=Loan.id,
                founder_name=Founder.name,
                due_on=overdue.c.since,
                days_past_due=days_between(day, overdue.c.since),
            ),
            day,
            literal(now, Notification.created_at.type),
        )
        .select_from(User)
        .join(Loan, Loan.status.in_(SERVICED))
        .join(overdue, overdue.c.loan_id == Loan.id)
        .join(loan_region, loan_region.code == Loan.region_code)
        .join(Founder, Founder.id == Loan.founder_id)
        .where(
            _staff_like(Role.OFFICER),
            _in_user_scope(Loan.region_code, loan_region),
            _not_sent(key),
        )
    )
    return _insert(rows)


def _founder_installment_due(as_of: date, now: Any) -> int:
    """A founder hears of each of their installments once, within 7 days of its due date."""
    key = literal(f"{NotificationKind.INSTALLMENT_DUE.value}:") + cast(LoanInstallment.id, String)
    rows = (
        select(
            User.id,
            literal(NotificationKind.INSTALLMENT_DUE.value),
            key,
            json_params(
                loan_id=Loan.id,
                installment_id=LoanInstallment.id,
                n=LoanInstallment.n,
                due_on=LoanInstallment.due_on,
                amount_fen=_amount_left(),
            ),
            as_date(as_of),
            literal(now, Notification.created_at.type),
        )
        .select_from(User)
        .join(Loan, and_(Loan.founder_id == User.founder_id, Loan.status.in_(SERVICED)))
        .join(LoanInstallment, LoanInstallment.loan_id == Loan.id)
        .where(_staff_like(Role.FOUNDER), _due_soon(as_of), _not_sent(key))
    )
    return _insert(rows)


def _status_requests(as_of: date, now: Any) -> int:
    """A founder is asked once per open business or post-training follow-up that is due."""
    day = as_date(as_of)
    key = literal(f"{NotificationKind.STATUS_REQUEST.value}:") + cast(FollowupTask.id, String)
    rows = (
        select(
            User.id,
            literal(NotificationKind.STATUS_REQUEST.value),
            key,
            json_params(
                task_id=FollowupTask.id, task_kind=FollowupTask.kind, due_on=FollowupTask.due_on
            ),
            day,
            literal(now, Notification.created_at.type),
        )
        .select_from(User)
        .join(
            FollowupTask,
            and_(
                FollowupTask.founder_id == User.founder_id,
                FollowupTask.status == TaskStatus.OPEN.value,
                FollowupTask.kind.in_(STATUS_REQUEST_KINDS),
                FollowupTask.due_on <= day,
            ),
        )
        .where(_staff_like(Role.FOUNDER), _not_sent(key))
    )
    return _insert(rows)


# E-mail -------------------------------------------------------------------------------
def email_pending(as_of: date) -> dict[str, int]:
    """E-mail each user with an address their unread, not yet e-mailed reminders of the
    last week, one message per user, and mark them e-mailed.

    Nothing happens when SMTP is not configured. A mail server that cannot be reached, or
    refuses messages, never fails the step: a failed step would hold back the next days'
    daily job (catch-up runs dates in order), and with it the loan sweep and planning. The
    failures are logged and counted (`smtp_unreachable`, `emails_failed`); what was not
    sent stays unmarked, so the next run sends it, and what was sent is not sent again —
    unless the process dies after sending and before the step commits its marks: then the
    rerun sends it again (at least once, never lost; docs/architecture.md).
    """
    counts = {
        "emails_sent": 0,
        "notifications_emailed": 0,
        "emails_failed": 0,
        "smtp_unreachable": 0,
    }
    settings = mailer.smtp_settings()
    if settings is None:
        return counts
    by_user = _pending_by_user(as_of)
    if not by_user:
        return counts
    try:
        with mailer.smtp_connection(settings) as connection:
            for user, notifications in by_user:
                _send_one(connection, settings, user, notifications, counts)
    except mailer.MailError as error:
        logger.warning("reminder e-mails for %s: SMTP unreachable: %s", as_of, error)
        counts["smtp_unreachable"] = 1
    db.session.flush()
    logger.info("reminder e-mails for %s: %s", as_of, counts)
    return counts


def _send_one(
    connection: Any,
    settings: mailer.SmtpSettings,
    user: User,
    notifications: list[Notification],
    counts: dict[str, int],
) -> None:
    """Send one user's message; mark its reminders e-mailed only once it went out."""
    try:
        mailer.send(connection, _compose(settings, user, notifications))
    except mailer.MailError as error:
        logger.warning("reminder e-mail to user %s failed: %s", user.id, error)
        counts["emails_failed"] += 1
        return
    _mark_emailed([notification.id for notification in notifications])
    counts["emails_sent"] += 1
    counts["notifications_emailed"] += len(notifications)


def _pending_by_user(as_of: date) -> list[tuple[User, list[Notification]]]:
    rows = db.session.execute(
        select(User, Notification)
        .join(Notification, Notification.user_id == User.id)
        .where(
            User.active.is_(True),
            User.email.is_not(None),
            User.email != "",
            Notification.emailed_at.is_(None),
            Notification.read_at.is_(None),
            Notification.created_on <= as_of,
            Notification.created_on > as_of - timedelta(days=EMAIL_WITHIN_DAYS),
        )
        .order_by(User.id, Notification.id)
    ).all()
    grouped: dict[int, tuple[User, list[Notification]]] = {}
    for user, notification in rows:
        grouped.setdefault(user.id, (user, []))[1].append(notification)
    return list(grouped.values())


def _compose(settings: mailer.SmtpSettings, user: User, notifications: list[Notification]) -> Any:
    """One e-mail with all of a user's pending reminders, in the user's language."""
    default_locale = next(iter(current_app.config["LANGUAGES"]))
    with force_locale(user.locale or default_locale):
        lines: list[str] = []
        for notification in notifications:
            message = render(notification, external=True)
            lines.append(message.title)
            lines.append(message.text)
            if message.link:
                lines.append(message.link)
            lines.append("")
        if len(notifications) == 1:
            subject = render(notifications[0]).title
        else:
            subject = ngettext("%(num)s new reminder", "%(num)s new reminders", len(notifications))
    return mailer.build_message(settings, user.email or "", subject, "\n".join(lines))


def _mark_emailed(notification_ids: list[int]) -> None:
    db.session.execute(
        update(Notification)
        .where(Notification.id.in_(notification_ids))
        .values(emailed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
