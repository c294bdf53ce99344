"""Test data builders. They use the real operations, so rules and audit apply."""

from __future__ import annotations

import itertools
from typing import Any

from app.auth import operations as auth_operations
from app.auth.models import User

DEFAULT_PASSWORD = "correct horse battery staple"
_sequence = itertools.count(1)


def make_user(
    *,
    role: str = "staff",
    region_code: str = "460100",
    username: str | None = None,
    password: str = DEFAULT_PASSWORD,
    **fields: Any,
) -> User:
    """A new account (flushed, not committed) with a unique username."""
    return auth_operations.create_user(
        None,
        username=username or f"{role}{next(_sequence)}.{region_code}",
        password=password,
        role=role,
        region_code=region_code,
        **fields,
    )
