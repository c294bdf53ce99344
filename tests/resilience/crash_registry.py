"""The real jobs, with a way to stop one step in the middle (SCHEDULER_REGISTRY for the
crash test: "tests.resilience.crash_registry:JOBS").

Every step is the real one (same names, same order, same functions). When the scheduler
runs with RESILIENCE_HOLD_STEP=<step>, that step — after the real function has done and
flushed all its work, before the runner commits it — writes "<pid> <step>" to the file
named by RESILIENCE_PROGRESS and waits there to be killed. Without the variable it is
exactly the real registry.
"""

from __future__ import annotations

import os
import time
from datetime import date
from typing import Any

from app.scheduler.registry import JOBS as REAL_JOBS
from app.scheduler.registry import Job, StepFunction, resolve_step

HOLD_SECONDS = 90  # longer than any test waits


def holding(name: str, target: str | StepFunction) -> StepFunction:
    """The real step `target`, which stops after its work when asked to hold at `name`."""

    def step(as_of: date) -> dict[str, Any]:
        counts = resolve_step(target)(as_of)
        if os.environ.get("RESILIENCE_HOLD_STEP") == name:
            path = os.environ["RESILIENCE_PROGRESS"]
            with open(f"{path}.tmp", "w", encoding="ascii") as handle:
                handle.write(f"{os.getpid()} {name}")
            os.replace(f"{path}.tmp", path)
            time.sleep(HOLD_SECONDS)
        return counts

    step.__name__ = name
    return step


JOBS = [
    Job(job.name, tuple((name, holding(name, target)) for name, target in job.steps), job.cadence)
    for job in REAL_JOBS
]
REGISTRY = "tests.resilience.crash_registry:JOBS"
