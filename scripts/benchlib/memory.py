"""Peak memory of the current process."""

from __future__ import annotations

import resource
from pathlib import Path


def peak_mb() -> float:
    """Peak resident memory of this process so far, in MB.

    Linux's VmHWM belongs to this process alone; getrusage's ru_maxrss (the fallback)
    carries the parent's figure over into a child started by fork and exec.
    """
    status = Path("/proc/self/status")
    lines = status.read_text().splitlines() if status.exists() else []
    for line in lines:
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
