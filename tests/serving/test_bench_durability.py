"""The durability benchmark (issue 21): uploads survive ``kill -9`` of the service, none doubled."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from conftest import load_benchmark

MODEL = Path(__file__).resolve().parents[2] / "models" / "default"


@pytest.mark.slow
def test_kill_in_the_middle_loses_no_201_and_doubles_nothing(tmp_path: Path) -> None:
    bench = load_benchmark("bench_durability")
    home = tmp_path / "home"
    results = bench.run_benchmark(uploaders=2, seconds=8, max_requests=400, model=MODEL,
                                  home=home)
    assert results["restarts"] == 1                     # the kill really happened
    assert results["status_201_new"] > 0
    assert results["lost_201s"] == 0 and results["every_201_found"]
    assert results["duplicates"] == 0
    assert results["unscreened_at_end"] == 0
    # counted apart from the benchmark's own listing: the rows in the service's database
    with sqlite3.connect(home / "xscreen.db") as db:
        rows, keys = db.execute(
            "SELECT COUNT(*), COUNT(DISTINCT idempotency_key) FROM scans").fetchone()
    assert rows == keys == results["scans_found"] == results["distinct_201_scan_ids"]


def outcome(bench: ModuleType, key: str, status: int, scan_id: str | None) -> Any:
    return bench.Outcome(key, status, scan_id, 0.05)


def test_summary_reports_a_lost_201_and_a_duplicate() -> None:
    bench = load_benchmark("bench_durability")
    ledger = bench.Ledger()
    for item in (outcome(bench, "r-1", 201, "a"), outcome(bench, "r-2", 0, None),
                 outcome(bench, "r-2", 201, "b"), outcome(bench, "r-3", 201, "c")):
        ledger.add(item)
    scans = [{"id": "a", "scanner_id": "r-1", "status": "screened"},
             {"id": "b", "scanner_id": "r-2", "status": "screened"},
             {"id": "d", "scanner_id": "r-2", "status": "accepted"}]   # "c" lost, r-2 doubled
    summary = bench.summarise(ledger, scans, restarts=1, restart_s=1.0)
    assert summary["lost_201s"] == 1 and not summary["every_201_found"]
    assert summary["duplicates"] == 1
    assert summary["connection_errors"] == 1 and summary["requests_sent"] == 4
    assert summary["unscreened_at_end"] == 1 and summary["screened_after_break"] == 1


@pytest.mark.parametrize(("arguments", "words"), [
    ({"uploaders": 0}, "--uploaders must be positive"),
    ({"seconds": -1}, "--seconds must be positive"),
    ({"model": Path("/nonexistent")}, "is not a model bundle"),
])
def test_bad_arguments_are_refused_with_the_fix(arguments: dict[str, object],
                                                words: str) -> None:
    bench = load_benchmark("bench_durability")
    values = {"uploaders": 2, "seconds": 1, "max_requests": 10, "model": MODEL, **arguments}
    with pytest.raises(ValueError, match=words):
        bench.run_benchmark(**values)
