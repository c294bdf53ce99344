"""The crash tests' fixture: every process a test starts is killed when it ends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.resilience.helpers import Processes


@pytest.fixture
def processes() -> Iterator[Processes]:
    """Start processes through this; they are all killed when the test ends."""
    started = Processes()
    try:
        yield started
    finally:
        started.kill_all()
