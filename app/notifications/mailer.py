"""Sending reminder e-mails over SMTP with the standard library (SPEC §12: "e-mail when
SMTP is set").

The connection is opened once per run: STARTTLS on the submission port 587, implicit TLS
on 465, plain SMTP otherwise (a relay on the same host or network, port 25) — but a
password is never sent in clear: with SMTP_USER set, any other port must offer STARTTLS.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from flask import current_app

logger = logging.getLogger(__name__)

SUBMISSION_PORT = 587
IMPLICIT_TLS_PORT = 465
TIMEOUT_SECONDS = 30


class MailError(RuntimeError):
    """The SMTP server could not be reached or refused a message."""


@dataclass(frozen=True)
class SmtpSettings:
    """Where and as whom reminder e-mails are sent."""

    host: str
    port: int
    user: str | None
    password: str | None
    sender: str


def smtp_settings(config: Any = None) -> SmtpSettings | None:
    """The SMTP_* settings, or None when e-mail is not configured (no SMTP_HOST)."""
    config = config if config is not None else current_app.config
    host = (config.get("SMTP_HOST") or "").strip()
    if not host:
        return None
    port = int(config.get("SMTP_PORT") or SUBMISSION_PORT)
    user = config.get("SMTP_USER") or None
    sender = config.get("SMTP_SENDER") or user or f"noreply@{host}"
    return SmtpSettings(host, port, user, config.get("SMTP_PASSWORD") or None, sender)


def is_mail_configured() -> bool:
    """Whether reminders are e-mailed as well as shown in the app."""
    return smtp_settings() is not None


def build_message(settings: SmtpSettings, to: str, subject: str, body: str) -> EmailMessage:
    """A plain-text UTF-8 message (Chinese subjects and bodies are encoded properly)."""
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid()
    message.set_content(body)
    return message


@contextmanager
def smtp_connection(settings: SmtpSettings) -> Iterator[smtplib.SMTP]:
    """An open, authenticated SMTP connection; MailError when it cannot be had."""
    connection: smtplib.SMTP | None = None
    try:
        if settings.port == IMPLICIT_TLS_PORT:
            connection = smtplib.SMTP_SSL(
                settings.host,
                settings.port,
                timeout=TIMEOUT_SECONDS,
                context=ssl.create_default_context(),
            )
        else:
            connection = smtplib.SMTP(settings.host, settings.port, timeout=TIMEOUT_SECONDS)
            # STARTTLS raises SMTPNotSupportedError when the server does not offer it, so
            # a login never goes out unencrypted.
            if settings.port == SUBMISSION_PORT or settings.user:
                connection.starttls(context=ssl.create_default_context())
        if settings.user:
            connection.login(settings.user, settings.password or "")
    except (OSError, smtplib.SMTPException) as error:
        if connection is not None:
            connection.close()
        raise MailError(f"cannot connect to {settings.host}:{settings.port}: {error}") from error
    try:
        yield connection
    finally:
        try:
            connection.quit()
        except (OSError, smtplib.SMTPException):
            logger.warning("SMTP connection to %s did not close cleanly", settings.host)


def send(connection: smtplib.SMTP, message: EmailMessage) -> None:
    """Send one message on an open connection; MailError when the server refuses it."""
    try:
        connection.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        raise MailError(f"sending to {message['To']} failed: {error}") from error
