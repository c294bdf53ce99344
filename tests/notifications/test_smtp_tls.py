"""An SMTP password never crosses the network in clear (security review gap 22): with
SMTP_USER set, a server on any port but 465 must offer STARTTLS, or nothing is sent."""

from __future__ import annotations

import socket
import threading

import pytest

from app.notifications.mailer import MailError, SmtpSettings, smtp_connection


def plain_smtp_server() -> tuple[int, list[str], threading.Thread]:
    """A server that speaks SMTP without STARTTLS and records every command it hears."""
    heard: list[str] = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def serve() -> None:
        connection, _address = server.accept()
        stream = connection.makefile("rwb")

        def reply(line: str) -> None:
            stream.write(line.encode() + b"\r\n")
            stream.flush()

        reply("220 plain ready")
        while line := stream.readline():
            command = line.decode().strip()
            heard.append(command)
            upper = command.upper()
            if upper.startswith("EHLO"):
                reply("250-plain")
                reply("250 AUTH PLAIN LOGIN")  # offers a login, but no STARTTLS
            elif upper == "QUIT":
                reply("221 bye")
                break
            else:
                reply("250 ok")
        connection.close()
        server.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return server.getsockname()[1], heard, thread


def test_a_login_is_refused_where_the_server_offers_no_starttls():
    port, heard, thread = plain_smtp_server()
    settings = SmtpSettings("127.0.0.1", port, "reminders", "the smtp password", "r@example.com")
    with pytest.raises(MailError), smtp_connection(settings):
        pass
    thread.join(timeout=5)
    assert any(command.upper().startswith("EHLO") for command in heard)
    assert not any(command.upper().startswith("AUTH") for command in heard)
    assert not any("smtp password" in command for command in heard)
