"""What a notification says: its title, text and link, made from its kind and params.

Notifications store only a kind and the figures (params), never sentences, so each reader
sees them in their own language, whenever and wherever they read them (page, API, e-mail).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.routing import BuildError

from app.core.db import format_money


class NotificationKind(enum.StrEnum):
    """The reminders the daily job sends (design: keys per kind)."""

    FOLLOWUPS_DUE = "followups_due"
    INSTALLMENTS_DUE = "installments_due"
    ARREARS = "arrears"
    INSTALLMENT_DUE = "installment_due"
    STATUS_REQUEST = "status_request"


@dataclass(frozen=True)
class Message:
    """A notification as a reader sees it."""

    title: str
    text: str
    link: str | None


def fen_to_yuan(fen: Any) -> str:
    """Money kept in params as integer fen, shown as yuan with 2 decimals."""
    try:
        return format_money(Decimal(int(fen or 0)) / 100)
    except (TypeError, ValueError):
        return format_money(Decimal(0))


def _int(params: dict[str, Any], name: str) -> int:
    try:
        return int(params.get(name) or 0)
    except (TypeError, ValueError):
        return 0


def _text(params: dict[str, Any], name: str) -> str:
    value = params.get(name)
    return "" if value is None else str(value)


def title_and_text(kind: str, params: dict[str, Any]) -> tuple[str, str]:
    """The title and sentence of a notification, in the current locale."""
    params = params or {}
    if kind == NotificationKind.FOLLOWUPS_DUE:
        return _("Follow-ups due"), _(
            "Follow-ups due today: %(due_today)s; overdue: %(overdue)s.",
            due_today=_int(params, "due_today"),
            overdue=_int(params, "overdue"),
        )
    if kind == NotificationKind.INSTALLMENTS_DUE:
        return _("Installments due within 7 days"), ngettext(
            "%(num)s installment totalling %(total)s yuan is due by %(until)s.",
            "%(num)s installments totalling %(total)s yuan are due by %(until)s.",
            _int(params, "count"),
            total=fen_to_yuan(params.get("total_fen")),
            until=_text(params, "until"),
        )
    if kind == NotificationKind.ARREARS:
        return _("Loan in arrears"), _(
            "Loan %(loan_id)s of %(founder)s is past due: the installment due on "
            "%(due_on)s is unpaid (%(days)s days).",
            loan_id=_int(params, "loan_id"),
            founder=_text(params, "founder_name"),
            due_on=_text(params, "due_on"),
            days=_int(params, "days_past_due"),
        )
    if kind == NotificationKind.INSTALLMENT_DUE:
        return _("Your next installment"), _(
            "Installment %(n)s of your loan, %(amount)s yuan, is due on %(due_on)s.",
            n=_int(params, "n"),
            amount=fen_to_yuan(params.get("amount_fen")),
            due_on=_text(params, "due_on"),
        )
    if kind == NotificationKind.STATUS_REQUEST:
        return _("Please tell us how your business is doing"), _(
            "Your follow-up was due on %(due_on)s. A short status update is all we need.",
            due_on=_text(params, "due_on"),
        )
    return _("Notification"), ""


def _endpoint(kind: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """Where a notification leads: an endpoint and its arguments."""
    if kind == NotificationKind.FOLLOWUPS_DUE:
        return "followups.queue", {}
    if kind == NotificationKind.INSTALLMENTS_DUE:
        return "loans.index", {}
    if kind == NotificationKind.ARREARS and _int(params, "loan_id"):
        return "loans.detail", {"loan_id": _int(params, "loan_id")}
    if kind == NotificationKind.INSTALLMENT_DUE and _int(params, "loan_id"):
        return "loans.my_loan", {"loan_id": _int(params, "loan_id")}
    if kind == NotificationKind.STATUS_REQUEST:
        return "followups.my_status", {}
    return None


def link_for(kind: str, params: dict[str, Any], *, external: bool = False) -> str | None:
    """The URL a notification leads to, or None (no such page, or no server name known
    when building an absolute link outside a request)."""
    target = _endpoint(kind, params or {})
    if target is None:
        return None
    endpoint, values = target
    try:
        return url_for(endpoint, _external=external, **values)
    except (BuildError, RuntimeError):
        return None


def render(notification: Any, *, external: bool = False) -> Message:
    """A notification's title, text and link in the current locale."""
    title, text = title_and_text(notification.kind, notification.params or {})
    return Message(
        title, text, link_for(notification.kind, notification.params or {}, external=external)
    )
