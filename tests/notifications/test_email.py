"""E-mailing reminders: only with SMTP configured, only to users with an address, once;
a failing server leaves them unsent for the next run and never loses the in-app ones."""

from __future__ import annotations

import smtplib
from datetime import date

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from app.extensions import db
from app.notifications.jobs import email_pending
from app.notifications.messages import title_and_text
from app.notifications.models import Notification
from tests.factories import make_user
from tests.notifications.factories import FakeSMTP, make_notification

AS_OF = date(2026, 3, 5)


@pytest.fixture
def smtp(app, db_session, monkeypatch):
    """SMTP configured (port 587), with smtplib.SMTP replaced by a recorder."""
    FakeSMTP.reset()
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    for name, value in {
        "SMTP_HOST": "mail.example.com",
        "SMTP_PORT": 587,
        "SMTP_USER": "reminders",
        "SMTP_PASSWORD": "secret",
        "SMTP_SENDER": "reminders@example.com",
    }.items():
        monkeypatch.setitem(app.config, name, value)
    yield FakeSMTP
    FakeSMTP.reset()


def unsent():
    return db.session.scalar(
        select(func.count()).select_from(Notification).where(Notification.emailed_at.is_(None))
    )


def test_nothing_is_sent_without_smtp(app, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_HOST", None)
    FakeSMTP.reset()
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    user = make_user(role="staff", email="staff@example.com")
    make_notification(user)
    assert email_pending(AS_OF) == {
        "emails_sent": 0,
        "notifications_emailed": 0,
        "emails_failed": 0,
        "smtp_unreachable": 0,
    }
    assert FakeSMTP.instances == []
    assert unsent() == 1


def test_pending_reminders_are_emailed_once_and_marked(smtp):
    staff = make_user(role="staff", email="staff@example.com")
    no_address = make_user(role="staff")
    first = make_notification(staff)
    second = make_notification(
        staff, kind="status_request", params={"task_id": 1, "due_on": "2026-03-01"}
    )
    read = make_notification(staff)
    read.read_at = read.created_at
    old = make_notification(staff, created_on=date(2026, 2, 1))  # more than a week old
    make_notification(no_address)

    counts = email_pending(AS_OF)

    assert counts == {
        "emails_sent": 1,
        "notifications_emailed": 2,
        "emails_failed": 0,
        "smtp_unreachable": 0,
    }
    [connection] = smtp.instances
    assert connection.started_tls  # port 587: STARTTLS
    assert connection.logged_in == ("reminders", "secret")
    assert connection.closed
    [message] = smtp.messages()
    assert message["To"] == "staff@example.com"
    assert message["From"] == "reminders@example.com"
    body = message.get_content()
    for notification in (first, second):
        with force_locale("zh_CN"):
            title, text = title_and_text(notification.kind, notification.params)
        assert title in body
        assert text in body
    db.session.refresh(first)
    db.session.refresh(second)
    assert first.emailed_at is not None
    assert second.emailed_at is not None
    assert read.emailed_at is None
    assert old.emailed_at is None

    # The next run sends nothing again.
    assert email_pending(AS_OF)["emails_sent"] == 0
    assert len(smtp.messages()) == 1


def test_message_is_in_the_readers_language(smtp):
    english = make_user(role="staff", email="en@example.com")
    english.locale = "en"
    make_notification(english, params={"due_today": 3, "overdue": 0})
    email_pending(AS_OF)
    [message] = smtp.messages()
    assert message["Subject"] == "Follow-ups due"
    assert "Follow-ups due today: 3; overdue: 0." in message.get_content()


def test_unreachable_server_is_counted_and_keeps_everything_for_the_next_run(smtp):
    staff = make_user(role="staff", email="staff@example.com")
    make_notification(staff)
    smtp.refuse_connection = True
    # Never a failed step: that would hold back the next days' daily job.
    assert email_pending(AS_OF)["smtp_unreachable"] == 1
    assert unsent() == 1  # the in-app notification is there, still to be e-mailed

    smtp.refuse_connection = False
    assert email_pending(AS_OF)["emails_sent"] == 1
    assert unsent() == 0


def test_a_refused_message_is_retried_and_the_others_stay_sent(smtp):
    good = make_user(role="staff", email="good@example.com")
    bad = make_user(role="staff", email="bad@example.com")
    sent = make_notification(good)
    kept = make_notification(bad)
    smtp.fail_for = {"bad@example.com"}

    counts = email_pending(AS_OF)
    assert counts == {
        "emails_sent": 1,
        "notifications_emailed": 1,
        "emails_failed": 1,
        "smtp_unreachable": 0,
    }
    db.session.refresh(sent)
    db.session.refresh(kept)
    assert sent.emailed_at is not None
    assert kept.emailed_at is None

    # Every message refused: counted, nothing marked, and the step still succeeds.
    assert email_pending(AS_OF)["emails_failed"] == 1
    smtp.fail_for = set()
    assert email_pending(AS_OF) == {
        "emails_sent": 1,
        "notifications_emailed": 1,
        "emails_failed": 0,
        "smtp_unreachable": 0,
    }
    assert [m["To"] for m in smtp.messages()] == ["good@example.com", "bad@example.com"]


def test_plain_smtp_port_skips_starttls(smtp, app, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_PORT", 25)
    monkeypatch.setitem(app.config, "SMTP_USER", None)
    user = make_user(role="founder", email="founder@example.com")
    make_notification(
        user,
        kind="installment_due",
        params={"loan_id": 1, "n": 2, "due_on": "2026-03-10", "amount_fen": 123450},
    )
    email_pending(AS_OF)
    [connection] = smtp.instances
    assert not connection.started_tls
    assert connection.logged_in is None
    assert "1234.50" in smtp.messages()[0].get_content()


def test_local_smtp_sink_receives_the_message(app, db_session, monkeypatch):
    """Against a real SMTP conversation: a tiny standard-library server on localhost."""
    import socket
    import threading

    received: list[bytes] = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]

    def serve() -> None:
        connection, _address = server.accept()
        stream = connection.makefile("rwb")

        def reply(line: str) -> None:
            stream.write(line.encode() + b"\r\n")
            stream.flush()

        reply("220 sink ready")
        data = False
        while line := stream.readline():
            if data:
                if line == b".\r\n":
                    data = False
                    reply("250 queued")
                else:
                    received.append(line)
                continue
            command = line.decode().strip().upper()
            if command.startswith(("EHLO", "HELO")):
                reply("250 sink")
            elif command == "DATA":
                data = True
                reply("354 go ahead")
            elif command == "QUIT":
                reply("221 bye")
                break
            else:
                reply("250 ok")
        connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    for name, value in {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": port,
        "SMTP_USER": None,
        "SMTP_SENDER": "reminders@example.com",
    }.items():
        monkeypatch.setitem(app.config, name, value)
    user = make_user(role="staff", email="sink@example.com")
    make_notification(user)
    assert email_pending(AS_OF)["emails_sent"] == 1
    thread.join(timeout=5)
    server.close()
    text = b"".join(received).decode()
    assert "To: sink@example.com" in text
