"""The scheduler's tests run the fake registry: quick steps that write audit entries."""

from __future__ import annotations

import pytest

from tests.scheduler import fake_registry


@pytest.fixture
def fake_jobs(app, monkeypatch):
    """Point the app at the fake registry, with no failing steps."""
    monkeypatch.setitem(app.config, "SCHEDULER_REGISTRY", fake_registry.REGISTRY)
    fake_registry.FAILING.clear()
    fake_registry.CALLS.clear()
    yield fake_registry
    fake_registry.FAILING.clear()
    fake_registry.CALLS.clear()
