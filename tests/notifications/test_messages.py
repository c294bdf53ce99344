"""Notification texts, made from kind and params in the reader's language."""

from __future__ import annotations

import pytest
from flask_babel import force_locale, gettext

from app.notifications.messages import fen_to_yuan, link_for, title_and_text

CASES = {
    "followups_due": (
        {"due_today": 2, "overdue": 1},
        "Follow-ups due",
        "Follow-ups due today: 2; overdue: 1.",
    ),
    "installments_due": (
        {"count": 3, "total_fen": 1234550, "until": "2026-03-12"},
        "Installments due within 7 days",
        "3 installments totalling 12345.50 yuan are due by 2026-03-12.",
    ),
    "arrears": (
        {"loan_id": 9, "founder_name": "张伟", "due_on": "2026-02-28", "days_past_due": 5},
        "Loan in arrears",
        "Loan 9 of 张伟 is past due: the installment due on 2026-02-28 is unpaid (5 days).",
    ),
    "installment_due": (
        {"loan_id": 9, "n": 2, "due_on": "2026-03-31", "amount_fen": 870312},
        "Your next installment",
        "Installment 2 of your loan, 8703.12 yuan, is due on 2026-03-31.",
    ),
    "status_request": (
        {"task_id": 4, "due_on": "2026-03-01"},
        "Please tell us how your business is doing",
        "Your follow-up was due on 2026-03-01. A short status update is all we need.",
    ),
}


@pytest.mark.parametrize("kind", list(CASES))
def test_english(app, kind):
    params, title, text = CASES[kind]
    with app.test_request_context(), force_locale("en"):
        assert title_and_text(kind, params) == (title, text)


@pytest.mark.parametrize("kind", list(CASES))
def test_chinese(app, kind):
    params, title, _text = CASES[kind]
    with app.test_request_context(), force_locale("zh_CN"):
        assert gettext(title) != title, "the reminder texts must be translated"
        chinese_title, chinese_text = title_and_text(kind, params)
    assert chinese_title != title
    assert chinese_text


def test_links(app):
    with app.test_request_context():
        assert link_for("followups_due", {}) == "/followups/"
        assert link_for("arrears", {"loan_id": 9}) == "/loans/9"
        assert link_for("installment_due", {"loan_id": 9}) == "/loans/me/9"
        assert link_for("installments_due", {}) == "/loans/"
        assert link_for("arrears", {}) is None
        assert link_for("something_else", {}) is None


def test_odd_params_do_not_break_the_text(app):
    with app.test_request_context(), force_locale("en"):
        title, text = title_and_text("installment_due", {"amount_fen": "x", "n": None})
    assert title == "Your next installment"
    assert "0.00 yuan" in text
    assert fen_to_yuan(None) == "0.00"
