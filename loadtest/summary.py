"""Read a locust run's CSV files and the server's log; print the figures and the verdict.

Run as `python -m loadtest.summary PREFIX --server-log FILE [--p95 MS] [--rps N]` after
`locust --csv PREFIX`. It prints requests per second, the 95th percentile, failures, the
expected refusals (loadtest/locustfile.py), the "database is locked" errors found in the
server log and in locust's failures, and each endpoint slowest first (where p95 comes
from), then writes the same as markdown to PREFIX_summary.md. The exit status is 0 when
every target is met, 1 otherwise.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

LOCKED = "database is locked"


def main(argv: list[str] | None = None) -> int:
    """Print the summary of one run and exit 0 when it met its targets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prefix", help="the --csv PREFIX locust wrote to")
    parser.add_argument("--server-log", type=Path, required=True)
    parser.add_argument("--p95", type=float, default=300.0, help="target p95 (ms), at most")
    parser.add_argument("--rps", type=float, default=100.0, help="target requests/s, at least")
    parser.add_argument("--label", default="", help="a title for the run (database, users)")
    args = parser.parse_args(argv)

    summary = summarise(args.prefix, args.server_log)
    checks = verdicts(summary, p95=args.p95, rps=args.rps)
    text = render(summary, checks, args.label)
    print(text)
    Path(f"{args.prefix}_summary.md").write_text(text, encoding="utf-8")
    return 0 if all(ok for _name, ok in checks) else 1


def summarise(prefix: str, server_log: Path) -> dict[str, Any]:
    """The aggregate row, every endpoint's row, failures and lock errors of one run."""
    rows = _read_csv(Path(f"{prefix}_stats.csv"))
    endpoints = [row for row in rows if row["Name"] != "Aggregated"]
    total = next(row for row in rows if row["Name"] == "Aggregated")
    failures = _read_csv(Path(f"{prefix}_failures.csv"))
    expected_file = Path(f"{prefix}_expected.json")
    extra = json.loads(expected_file.read_text(encoding="utf-8")) if expected_file.exists() else {}
    cpu_file = Path(prefix).with_name("server_cpu_seconds.txt")
    cpu = float(cpu_file.read_text().strip()) if cpu_file.exists() else None
    log = server_log.read_text(encoding="utf-8", errors="replace") if server_log.exists() else ""
    return {
        "requests": int(total["Request Count"]),
        "failures": int(total["Failure Count"]),
        "rps": float(total["Requests/s"]),
        "median": _number(total["50%"]),
        "p95": _number(total["95%"]),
        "p99": _number(total["99%"]),
        "max": _number(total["Max Response Time"]),
        "endpoints": sorted(endpoints, key=lambda row: -_number(row["95%"])),
        "failure_rows": failures,
        "expected": extra.get("refusals", {}),
        "users": extra.get("users", {}),
        "server_cpu_seconds": cpu,
        "locked_in_log": log.count(LOCKED),
        "locked_in_failures": sum(
            int(row["Occurrences"]) for row in failures if LOCKED in row["Error"]
        ),
        "server_errors_in_log": log.count("Traceback"),
    }


def verdicts(summary: dict[str, Any], *, p95: float, rps: float) -> list[tuple[str, bool]]:
    """Each target with whether the run met it."""
    return [
        (f"p95 ≤ {p95:g} ms", summary["p95"] <= p95),
        (f"≥ {rps:g} requests/s", summary["rps"] >= rps),
        ("zero failures", summary["failures"] == 0),
        (
            "zero 'database is locked'",
            summary["locked_in_log"] == 0 and summary["locked_in_failures"] == 0,
        ),
    ]


def render(summary: dict[str, Any], checks: list[tuple[str, bool]], label: str) -> str:
    """The summary as markdown (it reads as plain text on a terminal too)."""
    lines = [f"## Load test{': ' + label if label else ''}", ""]
    lines += [
        "- users: "
        + (", ".join(f"{name}: {n}" for name, n in summary["users"].items()) or "unknown"),
        f"- requests: {summary['requests']:,}, failures: {summary['failures']:,}",
        f"- throughput: {summary['rps']:.1f} requests/s",
        f"- response time: median {summary['median']:.0f} ms, p95 {summary['p95']:.0f} ms, "
        f"p99 {summary['p99']:.0f} ms, max {summary['max']:.0f} ms",
        _cpu_line(summary),
        "- expected refusals (not failures): "
        + (", ".join(f"{name}: {n}" for name, n in summary["expected"].items()) or "none"),
        f"- 'database is locked': {summary['locked_in_log']} in the server log, "
        f"{summary['locked_in_failures']} in locust's failures",
        f"- tracebacks in the server log: {summary['server_errors_in_log']}",
        "",
        "| target | met |",
        "| --- | --- |",
    ]
    lines += [f"| {name} | {'yes' if ok else 'NO'} |" for name, ok in checks]
    lines += [
        "",
        "| endpoint | requests | failures | median ms | p95 ms | p99 ms | max ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in summary["endpoints"]:
        lines.append(
            f"| {row['Type']} {row['Name']} | {int(row['Request Count']):,} "
            f"| {int(row['Failure Count']):,} | {_number(row['50%']):.0f} "
            f"| {_number(row['95%']):.0f} | {_number(row['99%']):.0f} "
            f"| {_number(row['Max Response Time']):.0f} |"
        )
    if summary["failure_rows"]:
        lines += ["", "| failure | occurrences |", "| --- | ---: |"]
        for row in summary["failure_rows"]:
            error = row["Error"].replace("|", "\\|")[:160]
            lines.append(f"| {row['Method']} {row['Name']}: {error} | {row['Occurrences']} |")
    return "\n".join(lines) + "\n"


def _cpu_line(summary: dict[str, Any]) -> str:
    cpu = summary["server_cpu_seconds"]
    if cpu is None or not summary["requests"]:
        return "- gunicorn workers' CPU: not measured"
    per_request = 1000 * cpu / summary["requests"]
    return (
        f"- gunicorn workers' CPU: {cpu:.0f} s, {per_request:.1f} ms per request "
        f"(so at most about {2000 / per_request:.0f} requests/s on 2 cores given to them alone)"
    )


def _read_csv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _number(value: str) -> float:
    """Locust writes N/A for a percentile of no request."""
    try:
        return float(value)
    except ValueError:
        return 0.0


if __name__ == "__main__":
    sys.exit(main())
