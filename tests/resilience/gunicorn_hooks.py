"""gunicorn settings for the crash test (`-c python:tests.resilience.gunicorn_hooks`).

Test-only: it lets the test catch a statement import in the middle, deterministically,
without any knob in the application. A request carrying the header `X-Resilience-Hold: N`
stops right after its N-th `INSERT INTO repayment` — inside the import's transaction,
inside the savepoint of that row, before the row's allocations are written — writes
"<worker pid> <N>" to the file named by RESILIENCE_PROGRESS, and waits there to be killed.
Every other request runs untouched.
"""

from __future__ import annotations

import os
import re
import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

HOLD_HEADER = "X-RESILIENCE-HOLD"  # gunicorn hands header names over in capitals
HOLD_SECONDS = 90  # longer than any test waits; gunicorn's --timeout ends it after that
_REPAYMENT_INSERT = re.compile(r"\s*INSERT INTO repayment\s*\(", re.IGNORECASE)

# A sync worker serves one request at a time, so a module-level state is the request's.
_state = {"hold_after": 0, "inserted": 0}


def post_worker_init(worker: Any) -> None:
    """Watch every statement this worker's engines run."""
    event.listen(Engine, "after_cursor_execute", _after_cursor_execute)


def pre_request(worker: Any, req: Any) -> None:
    """Read the request's hold header, if any, and start counting afresh."""
    value = next((value for name, value in req.headers if name == HOLD_HEADER), "")
    _state["hold_after"] = int(value) if value.isdigit() else 0
    _state["inserted"] = 0


def _after_cursor_execute(*args: Any) -> None:
    statement = args[2]
    if not _state["hold_after"] or not _REPAYMENT_INSERT.match(statement):
        return
    _state["inserted"] += 1
    if _state["inserted"] != _state["hold_after"]:
        return
    path = os.environ["RESILIENCE_PROGRESS"]
    with open(f"{path}.tmp", "w", encoding="ascii") as handle:
        handle.write(f"{os.getpid()} {_state['inserted']}")
    os.replace(f"{path}.tmp", path)  # the test never reads half a line
    time.sleep(HOLD_SECONDS)
