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
    ({"overload_seconds": -1}, "--overload-seconds must be 0"),
    ({"max_queue": 0}, "--max-queue must be positive"),
])
def test_bad_arguments_are_refused_with_the_fix(arguments: dict[str, object],
                                                words: str) -> None:
    bench = load_benchmark("bench_durability")
    values = {"uploaders": 2, "seconds": 1, "max_requests": 10, "model": MODEL, **arguments}
    with pytest.raises(ValueError, match=words):
        bench.run_benchmark(**values)


# -- overload ---------------------------------------------------------------------------------

def timed(bench: ModuleType, status: int, seconds: float, retry_after: bool = False) -> Any:
    return bench.Timed(status, retry_after, seconds, 0.0)


def test_open_loop_summary_counts_statuses_and_retry_after() -> None:
    bench = load_benchmark("bench_durability")
    answers = ([timed(bench, 201, 0.1 * i) for i in range(1, 11)]
               + [timed(bench, 503, 0.01, True)] * 3 + [timed(bench, 503, 0.01)]
               + [timed(bench, 500, 0.2), timed(bench, 0, 60)])
    summary = bench.summarise_open_loop(10.0, answers)
    assert summary["sent"] == 16 and summary["status_201"] == 10
    assert summary["status_503"] == 4 and summary["status_503_with_retry_after"] == 3
    assert summary["other_statuses"] == {"500": 1, "0": 1}
    assert summary["p50_ms"] == pytest.approx(550.0) and summary["p99_ms"] == 1000.0
    assert not bench.overload_ok(summary)          # a 500, a lost answer, a bare 503


@pytest.mark.parametrize(("statuses", "ok"), [
    ([(201, False), (503, True)], True),
    ([(201, False)], False),                       # never refused: the queue grew instead
    ([(201, False), (503, False)], False),         # refused without Retry-After
    ([(201, False), (503, True), (429, True)], False),
])
def test_overload_passes_only_on_201_and_503_with_retry_after(
        statuses: list[tuple[int, bool]], ok: bool) -> None:
    bench = load_benchmark("bench_durability")
    answers = [timed(bench, status, 0.1, retry) for status, retry in statuses]
    assert bench.overload_ok(bench.summarise_open_loop(1.0, answers)) is ok


@pytest.mark.slow
def test_twice_the_sustainable_rate_is_refused_with_503_and_bounded(tmp_path: Path) -> None:
    bench = load_benchmark("bench_durability")
    service = bench.Service(tmp_path / "home", MODEL, bench.free_port(), max_queue=4)
    try:
        # at least 4 queues' worth at twice the rate: some must be refused however slow the machine
        results = bench.run_overload(service.url, service.key, clients=4, seconds=3,
                                     min_requests=16)
    finally:
        service.stop()
    assert results["closed_loop"]["rate_per_s"] > 0
    at_1x, at_2x = results["open_loop_1x"], results["open_loop_2x"]
    assert at_2x["sent"] >= 2 * at_1x["sent"] - 2          # twice the offer, on schedule
    assert at_2x["status_503"] > 0 and results["overload_ok"], at_2x
    assert at_2x["status_201"] > 0
    # accepted scans wait behind at most max_queue others: bounded, not growing with the offer
    bound_s = 4 / results["closed_loop"]["rate_per_s"] + 5
    assert at_2x["p99_ms"] < bound_s * 1000, (at_2x, results["closed_loop"])
