"""Notification test data: follow-up tasks inserted directly, notifications, a fake SMTP."""

from __future__ import annotations

import itertools
import smtplib
from datetime import date, timedelta
from typing import Any

from app.core.db import utcnow
from app.extensions import db
from app.followups.models import SUBJECT_OF_KIND, FollowupTask, TaskKind
from app.founders.models import Founder
from app.notifications.models import Notification
from tests.factories import make_founder

_sequence = itertools.count(1)


def make_task(
    founder: Founder | None = None,
    *,
    kind: str = TaskKind.BUSINESS,
    due_on: date,
    status: str = "open",
    region_code: str | None = None,
    assignee_id: int | None = None,
) -> FollowupTask:
    """A follow-up task (flushed), its subject id made up unless the kind is a founder's."""
    founder = founder or make_founder(region_code=region_code or "460100")
    subject_type = SUBJECT_OF_KIND[TaskKind(kind)]
    subject_id = founder.id if subject_type == "founder" else 900000 + next(_sequence)
    values: dict[str, Any] = {}
    if status != "open":
        values["closed_on"] = due_on + timedelta(days=1)
    if status == "done":
        values |= {"done_on": due_on + timedelta(days=1), "channel": "phone"}
    task = FollowupTask(
        kind=str(kind),
        subject_type=str(subject_type),
        subject_id=subject_id,
        founder_id=founder.id,
        sequence=next(_sequence),
        due_on=due_on,
        status=status,
        region_code=region_code or founder.region_code,
        assignee_id=assignee_id,
        **values,
    )
    db.session.add(task)
    db.session.flush()
    return task


def make_notification(user: Any, *, kind: str = "followups_due", **fields: Any) -> Notification:
    """A notification for `user` (flushed)."""
    values: dict[str, Any] = {
        "user_id": user.id,
        "kind": kind,
        "key": f"{kind}:test:{next(_sequence)}",
        "params": {"due_today": 2, "overdue": 1},
        "created_on": date(2026, 3, 5),
        "created_at": utcnow(),
    }
    notification = Notification(**(values | fields))
    db.session.add(notification)
    db.session.flush()
    return notification


class FakeSMTP:
    """Stands in for smtplib.SMTP: records connections and messages; can be told to fail."""

    instances: list[FakeSMTP] = []
    refuse_connection = False
    fail_for: set[str] = set()

    def __init__(self, host: str, port: int, timeout: float | None = None) -> None:
        if FakeSMTP.refuse_connection:
            raise ConnectionRefusedError("connection refused")
        self.host, self.port = host, port
        self.started_tls = False
        self.logged_in: tuple[str, str] | None = None
        self.sent: list[Any] = []
        self.closed = False
        FakeSMTP.instances.append(self)

    def starttls(self, context: Any = None) -> None:
        self.started_tls = True

    def login(self, user: str, password: str) -> None:
        self.logged_in = (user, password)

    def send_message(self, message: Any) -> None:
        if message["To"] in FakeSMTP.fail_for:
            raise smtplib.SMTPRecipientsRefused({message["To"]: (550, b"no such user")})
        self.sent.append(message)

    def quit(self) -> None:
        self.closed = True

    @classmethod
    def reset(cls) -> None:
        cls.instances = []
        cls.refuse_connection = False
        cls.fail_for = set()

    @classmethod
    def messages(cls) -> list[Any]:
        return [message for smtp in cls.instances for message in smtp.sent]
