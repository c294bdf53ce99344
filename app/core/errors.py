"""Domain errors: what operations raise when a rule says no.

Operations know nothing of HTTP; each error carries the status the API answers with and a
message already in the user's language, so views can flash it and the API can return it.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A business rule refused the action; nothing of it may be committed."""

    status_code = 400

    def __init__(self, message: str, **payload: Any) -> None:
        super().__init__(message)
        self.message = str(message)
        self.payload = payload

    def to_json(self) -> dict[str, Any]:
        """The API body for this error."""
        return {"error": self.message, **self.payload}


class NotFound(DomainError):
    """Absent, or outside the user's scope: both look the same from outside."""

    status_code = 404


class PermissionDenied(DomainError):
    """The user's role does not allow the action."""

    status_code = 403


class Conflict(DomainError):
    """The action clashes with existing state: a duplicate, a full cohort, a wrong status."""

    status_code = 409


class ValidationFailed(DomainError):
    """Input broke a rule, per field: {field: [messages]}."""

    status_code = 422

    def __init__(self, errors: dict[str, list[str]], message: str | None = None) -> None:
        first = next((msgs[0] for msgs in errors.values() if msgs), "")
        super().__init__(message or first)
        self.errors = {field: [str(m) for m in msgs] for field, msgs in errors.items()}

    def to_json(self) -> dict[str, Any]:
        return {"errors": self.errors}

    @classmethod
    def single(cls, field: str, message: str) -> ValidationFailed:
        """One field, one message: the common case."""
        return cls({field: [message]})


class TooManyAttempts(DomainError):
    """Throttled: the client must wait before trying again."""

    status_code = 429

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds
