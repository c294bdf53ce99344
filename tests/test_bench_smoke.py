"""scripts/bench at a tiny size: every measurement runs, answers a time and a peak memory,
and the hand-written SQL gives the app's numbers (the daily job's updates, the KPI counts).

Runs on a database of its own (a temporary SQLite file, or `<testdb>_bench` beside
TEST_DATABASE_URL on PostgreSQL), seeded by the bench itself; the heavy benchmark is not
run here (docs/performance.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.bench import BY_NAME
from tests.concurrency import own_database

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bench_output(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The bench's JSON figures at 60 founders, one run, no warm-up."""
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    with own_database(tmp_path_factory, "bench") as url:
        env = {**os.environ, "APP_ENV": "testing"}
        env.pop("TEST_DATABASE_URL", None)
        completed = subprocess.run(  # noqa: S603 - our own interpreter and module
            [
                sys.executable,
                "-m",
                "scripts.bench",
                "--database-url",
                url,
                "--founders",
                "60",
                "--runs",
                "1",
                "--no-warmup",
                "--import-rows",
                "40",
                "--timeout",
                "300",
                "--json",
                str(out),
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return json.loads(out.read_text())


def test_every_measurement_has_a_time_and_a_peak(bench_output: dict) -> None:
    results = {row["name"]: row for row in bench_output["results"]}
    assert set(results) == set(BY_NAME)
    for name, row in results.items():
        assert row["runs"] == 1, name
        assert 0 < row["median"] == row["min"] == row["max"], name
        assert 0 < row["peak_mb"] < 1024, name


def test_the_hand_written_sql_gives_the_apps_numbers(bench_output: dict) -> None:
    assert bench_output["checks"] == {"daily": [], "kpis_province": [], "kpis_city": []}
    results = {row["name"]: row for row in bench_output["results"]}
    for name in ("daily_covered_app", "kpis_province", "kpis_city"):
        assert results[name]["ratio"] > 0, name
    fingerprint = results["daily_covered_app"]["first"]["fingerprint"]
    # The comparison covers rows the job wrote: loans swept, tasks and events are counted.
    assert int(fingerprint["loans"].split(":")[0]) > 0


def test_the_list_and_import_did_their_work(bench_output: dict) -> None:
    results = {row["name"]: row for row in bench_output["results"]}
    assert results["founder_list"]["last"]["requests"] == 50
    assert results["founder_import"]["last"]["rows"] == 40
    assert 0 < results["founder_export"]["last"]["rows"] <= bench_output["context"]["founders"]
