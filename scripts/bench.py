"""Performance bench (issue 9): the daily job, the KPI API, the statistics table, the founder
export, list and import, each timed in its own process with a warm-up run and the median of
several, its peak memory, its target, and the ratio to hand-written SQL doing the same work
(checked to give the same numbers). Run it through `scripts/bench`; docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RESULT_PREFIX = "BENCH-RESULT "
MEMORY_TARGET_MB = 1024


@dataclass(frozen=True)
class Measure:
    """A row of the table: what it times, its target in seconds, its SQL twin if any."""

    name: str
    label: str
    target: float | None
    twin: str | None = None  # the hand-written SQL measurement it is compared with
    ratio_target: float = 1.5


MEASURES = (
    Measure("daily_job", "daily job, all 7 steps", 60.0),
    Measure(
        "daily_covered_app", "daily job: sweep + missed + lost (app)", None, "daily_covered_sql"
    ),
    Measure("daily_covered_sql", "daily job: sweep + missed + lost (hand-written SQL)", None),
    Measure("kpis_province", "GET /api/v1/kpis, province", 1.0, "kpis_sql_province"),
    Measure("kpis_sql_province", "KPI counts, province (hand-written SQL)", None),
    Measure("kpis_city", "GET /api/v1/kpis, city", 0.2, "kpis_sql_city"),
    Measure("kpis_sql_city", "KPI counts, city (hand-written SQL)", None),
    Measure("statistics_xlsx", "GET /reports/statistics.xlsx, province", 10.0),
    Measure("founder_export", "GET /founders/export.xlsx (newest ≤100k)", 20.0),
    Measure("founder_list", "GET /founders, 50 filter sets (p95)", 0.1),
    Measure("founder_import", "founders import (.xlsx)", 30.0),
)
BY_NAME = {measure.name: measure for measure in MEASURES}
# A twin is measured whenever the measurement it judges is.
TWINS = {measure.twin: measure.name for measure in MEASURES if measure.twin}


def run_once(name: str, context_file: Path, timeout: float) -> dict[str, Any]:
    """One run of a measurement in a fresh Python process; its answer."""
    completed = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "scripts.bench", "--worker", name, "--context", str(context_file)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if completed.returncode or not lines:
        raise RuntimeError(
            f"{name} failed:\n{completed.stdout[-2000:]}\n{completed.stderr[-4000:]}"
        )
    return json.loads(lines[-1][len(RESULT_PREFIX) :])


def measure(
    name: str, context: dict[str, Any], workdir: Path, runs: int, warmup: bool, timeout: float
) -> dict[str, Any]:
    """Warm-up (discarded) then `runs` runs; the first run also fingerprints what it wrote."""
    answers = []
    for index in range(int(warmup) + runs):
        run_context = {**context, "fingerprint": index == 0}
        context_file = workdir / f"context-{name}.json"
        context_file.write_text(json.dumps(run_context))
        answers.append(run_once(name, context_file, timeout))
        print(f"  {name} run {index + 1}: {answers[-1]['seconds']:.3f} s", flush=True)
    timed = answers[int(warmup) :]
    seconds = [answer["seconds"] for answer in timed]
    return {
        "name": name,
        "median": statistics.median(seconds),
        "min": min(seconds),
        "max": max(seconds),
        "runs": len(seconds),
        "peak_mb": max(answer["peak_mb"] for answer in answers),
        "first": answers[0],
        "last": timed[-1],
    }


def checks(results: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """The equivalence checks: the hand-written SQL gives the app's numbers ([] = passed)."""
    from scripts.benchlib.kpi_sql import differences

    found: dict[str, list[str]] = {}
    if "daily_covered_app" in results and "daily_covered_sql" in results:
        app = results["daily_covered_app"]["first"]["fingerprint"]
        raw = results["daily_covered_sql"]["first"]["fingerprint"]
        found["daily"] = [
            f"{part}: app {app[part]} != sql {raw[part]}"
            for part in app
            if app[part] != raw.get(part)
        ]
    for level in ("province", "city"):
        if f"kpis_{level}" in results and f"kpis_sql_{level}" in results:
            found[f"kpis_{level}"] = differences(
                results[f"kpis_{level}"]["first"]["figures"],
                results[f"kpis_sql_{level}"]["first"]["figures"],
            )
    return found


def rows(results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The table's rows: figures, target, ratio to the twin, pass/fail."""
    table = []
    for item in MEASURES:
        if item.name not in results:
            continue
        result = results[item.name]
        ratio = None
        if item.twin and item.twin in results:
            ratio = result["median"] / max(results[item.twin]["median"], 1e-9)
        passed = result["peak_mb"] <= MEMORY_TARGET_MB
        if item.target is not None:
            passed = passed and result["median"] <= item.target
        if ratio is not None:
            passed = passed and ratio <= item.ratio_target
        table.append({**result, "measure": item, "ratio": ratio, "passed": passed})
    return table


def markdown(
    table: list[dict[str, Any]], found: dict[str, list[str]], machine: dict[str, Any]
) -> str:
    """The results as a Markdown table with the machine and the checks."""
    lines = [
        f"Database: {machine['engine']}, {machine['founders']:,} founders; "
        f"{machine['runs']} runs after {'a' if machine['warmup'] else 'no'} warm-up; "
        f"machine: {machine['cpus']} CPUs, {machine['memory_gb']} GB RAM, {machine['python']}; "
        f"{machine['date']}.",
        "",
        "| measurement | median s | min s | max s | target | ratio to SQL | peak MB | result |",
        "|---|---:|---:|---:|---|---:|---:|---|",
    ]
    for row in table:
        item = row["measure"]
        target = [f"≤ {item.target:g} s"] if item.target is not None else []
        if item.twin:
            target.append(f"≤ {item.ratio_target:g}× SQL")
        target.append(f"≤ {MEMORY_TARGET_MB} MB")
        ratio = f"{row['ratio']:.2f}×" if row["ratio"] is not None else ""
        lines.append(
            f"| {item.label} | {row['median']:.3f} | {row['min']:.3f} | {row['max']:.3f} | "
            f"{', '.join(target)} | {ratio} | {row['peak_mb']:.0f} | "
            f"{'pass' if row['passed'] else '**miss**'} |"
        )
    lines.append("")
    for name, problems in found.items():
        lines.append(
            f"- check {name}: "
            + ("same numbers as the app" if not problems else "; ".join(problems))
        )
    return "\n".join(lines) + "\n"


def machine_facts(url: str, founders: int, runs: int, warmup: bool) -> dict[str, Any]:
    """What the figures were measured on."""
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return {
        "engine": url.split(":", 1)[0].split("+")[0],
        "founders": founders,
        "runs": runs,
        "warmup": warmup,
        "cpus": os.cpu_count(),
        "memory_gb": round(pages / 2**30),
        "python": f"Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
    }


def main(argv: list[str] | None = None) -> int:
    """Parse the options, prepare the database, run the measurements, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary directory")
    parser.add_argument(
        "--founders", type=int, default=100_000, help="seeded when the database is empty"
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-warmup", action="store_true", help="skip the warm-up run")
    parser.add_argument("--only", help="comma-separated measurements: " + ", ".join(BY_NAME))
    parser.add_argument("--import-rows", type=int, default=100_000)
    parser.add_argument("--markdown", type=Path, help="write the results table to this file")
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    parser.add_argument("--timeout", type=float, default=3_600, help="seconds per run")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--context", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        from scripts.benchlib.measures import run_worker

        result = run_worker(args.worker, json.loads(args.context.read_text()))
        print(RESULT_PREFIX + json.dumps(result, default=str), flush=True)
        return 0

    names = list(BY_NAME) if not args.only else [name.strip() for name in args.only.split(",")]
    unknown = [name for name in names if name not in BY_NAME]
    if unknown:
        parser.error("unknown measurement(s): " + ", ".join(unknown))
    for name in list(names):
        twin = BY_NAME[name].twin
        if twin and twin not in names:
            names.append(twin)
        if name in TWINS and TWINS[name] not in names:
            names.append(TWINS[name])

    from app import create_app
    from config import _normalise_database_url
    from scripts.benchlib.prepare import prepare

    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    url = _normalise_database_url(args.database_url or f"sqlite:///{workdir / 'bench.db'}")
    try:
        app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
        context = prepare(app, args.founders, args.import_rows, workdir)
        with app.app_context():
            from app.extensions import db

            db.engine.dispose()
        context["database_url"] = url
        print(
            f"{context['founders']:,} founders; province {context['province_code']}, "
            f"city {context['city_code']}; KPIs as of {context['as_of']}, "
            f"daily job for {context['daily_as_of']}",
            flush=True,
        )
        results = {}
        for name in [name for name in BY_NAME if name in names]:
            results[name] = measure(
                name, context, workdir, args.runs, not args.no_warmup, args.timeout
            )
        found = checks(results)
        table = rows(results)
        machine = machine_facts(url, context["founders"], args.runs, not args.no_warmup)
        text = markdown(table, found, machine)
        print()
        print(text)
        if args.markdown:
            args.markdown.write_text(text)
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        "machine": machine,
                        "checks": found,
                        "context": context,
                        "results": [
                            {k: v for k, v in row.items() if k != "measure"} for row in table
                        ],
                    },
                    indent=1,
                    default=str,
                )
            )
        return 1 if any(found.values()) else 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
