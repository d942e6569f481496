"""Durability under load: concurrent uploaders, ``kill -9`` of the service half-way, restart.

N uploader threads send small distinct PNG scans to ``xscreen serve`` (a subprocess on
127.0.0.1, its own XSCREEN_HOME in a temporary folder) for M seconds, each with its own
Idempotency-Key. At half time the server is killed with SIGKILL and restarted on the same home
and port; an upload whose connection broke (or that got 503) is retried with the same key, as a
real client would. At the end every scan is listed through ``GET /v1/scans`` (cursor pages) and
the run prints: requests sent, 201s (and idempotent replays), connection errors, scans found,
whether every 201's scan id is among them, duplicates (scans sharing a key), scans still
unscreened, and p50/p99 latency of the 201s. Exit status 1 when a 201 was lost or a duplicate
found (issue 21).

Then, on the restarted service, overload (``--overload-seconds``, 0 to skip): the sustainable
rate is measured closed-loop (``--uploaders`` clients, each sending its next scan when the last
is answered, so the queue never holds more than they do); then scans are offered open-loop
(sent on a fixed schedule, never waiting for answers) at that rate and at twice it, each for
``--overload-seconds``. For each it prints sent, 201s, 503s (and how many carried Retry-After),
other statuses and p50/p99 latency of the 201s, timed from each request's scheduled moment (a
late send counts against the service, not for it). Exit status 1 when the 2x phase answered
anything but 201 and 503 with Retry-After, or no 503 at all (the queue then grew unbounded).

    python benchmarks/bench_durability.py [--uploaders 4] [--seconds 60] [--max-requests 5000]
        [--model models/default] [--database-url postgresql+psycopg://...] [--json out.json]
        [--overload-seconds 20] [--max-queue 32]

Loopback only; bounded in time (``--seconds`` plus a retry deadline) and in count.
Each scan's ``scanner_id`` is its Idempotency-Key (the API does not return the key), so two
scans with the same ``scanner_id`` are a duplicate; each key has its own image, so a duplicate
image would show as one too.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import json
import os
import signal
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_serving import Server, free_port, percentiles  # found by path, not a package

REPO = Path(__file__).resolve().parents[1]
RETRYABLE = {502, 503, 504}


def distinct_png(index: int, run: str, size: int = 64) -> bytes:
    """A small PNG (a few KB) unique to ``index``: noise seeded by it, so no two images match and
    the blob store never deduplicates them."""
    rng = np.random.default_rng([index, int(run, 16) % 2**32])
    image = np.full((size, size, 3), 255, np.uint8)
    image[8:size - 8, 8:size - 8] = rng.integers(0, 256, (size - 16, size - 16, 3), np.uint8)
    return cv2.imencode(".png", image)[1].tobytes()


class Service(Server):
    """``xscreen serve`` in a subprocess on a fixed port; can be killed and restarted."""

    def __init__(self, home: Path, model: Path, port: int, database_url: str = "",
                 threads: int = 1, max_queue: int | None = None) -> None:
        env = {"XSCREEN_HOME": str(home), "XSCREEN_ORT_THREADS": str(threads)}
        if database_url:
            env["XSCREEN_DATABASE_URL"] = database_url
        if max_queue:
            env["XSCREEN_MAX_QUEUE"] = str(max_queue)
        try:
            super().__init__(model, home, threads, port=port, env=env, ready_timeout=300)
        except StopIteration:   # no first-start admin key printed: the database has keys
            self.process.kill()
            self.process.wait(timeout=30)
            raise RuntimeError("the database already holds API keys, so the service printed "
                               "no admin key: pass an empty database with --database-url "
                               "(dropdb and createdb it)") from None
        self.restarts = 0

    def kill_and_restart(self) -> float:
        """SIGKILL (no shutdown at all), then start again on the same home and port; seconds
        until ready again."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process = self._start()
        self.restarts += 1
        return time.monotonic() - started


@dataclass
class Outcome:
    """One HTTP attempt: status (0 for a connection error), the scan id, the seconds it took."""

    key: str
    status: int
    scan_id: str | None
    seconds: float
    replayed: bool = False


@dataclass
class Ledger:
    """Every attempt of every uploader, behind a lock."""

    outcomes: list[Outcome] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    issued: int = 0

    def next_index(self, limit: int) -> int | None:
        with self.lock:
            if self.issued >= limit:
                return None
            self.issued += 1
            return self.issued - 1

    def add(self, outcome: Outcome) -> None:
        with self.lock:
            self.outcomes.append(outcome)


def upload_one(http: httpx.Client, ledger: Ledger, key: str, image: bytes,
               retry_deadline: float) -> None:
    """Send one scan; on a broken connection or a 5xx, retry with the same key until a definite
    answer or ``retry_deadline``."""
    while True:
        started = time.perf_counter()
        try:
            response = http.post("/v1/scans", headers={"Idempotency-Key": key},
                                 data={"scanner_id": key},
                                 files={"image": ("scan.png", image, "image/png")})
        except httpx.TransportError:
            ledger.add(Outcome(key, 0, None, time.perf_counter() - started))
        else:
            body = response.json() if response.status_code == 201 else {}
            ledger.add(Outcome(key, response.status_code, body.get("id"),
                               time.perf_counter() - started,
                               response.headers.get("Idempotent-Replayed") == "true"))
            if response.status_code not in RETRYABLE:
                return
        if time.monotonic() > retry_deadline:
            return
        time.sleep(0.2)


def uploader(url: str, api_key: str, run: str, ledger: Ledger, stop_at: float,
             max_requests: int, retry_deadline: float) -> None:
    with httpx.Client(base_url=url, timeout=60,
                      headers={"Authorization": f"Bearer {api_key}"}) as http:
        while time.monotonic() < stop_at:
            index = ledger.next_index(max_requests)
            if index is None:
                return
            upload_one(http, ledger, f"{run}-{index:06d}", distinct_png(index, run),
                       retry_deadline)


def list_scans(url: str, api_key: str, run: str) -> list[dict[str, Any]]:
    """Every scan of this run (``scanner_id`` starting with the run's id), all cursor pages."""
    scans: list[dict[str, Any]] = []
    cursor: str | None = None
    with httpx.Client(base_url=url, timeout=60,
                      headers={"Authorization": f"Bearer {api_key}"}) as http:
        while True:
            params: dict[str, Any] = {"limit": 500, **({"cursor": cursor} if cursor else {})}
            page = http.get("/v1/scans", params=params)
            page.raise_for_status()
            body = page.json()
            scans += [scan for scan in body["items"]
                      if str(scan.get("scanner_id") or "").startswith(run)]
            cursor = body.get("next_cursor")
            if not cursor:
                return scans


def wait_screened(url: str, api_key: str, run: str, timeout: float = 30) -> list[dict[str, Any]]:
    """The run's scans once none is left ``accepted`` (or after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        scans = list_scans(url, api_key, run)
        if time.monotonic() > deadline or all(s["status"] != "accepted" for s in scans):
            return scans
        time.sleep(0.5)


def summarise(ledger: Ledger, scans: list[dict[str, Any]], restarts: int,
              restart_s: float) -> dict[str, Any]:
    """The figures: counts, lost 201s, duplicates, latency."""
    created = [o for o in ledger.outcomes if o.status == 201]
    statuses = collections.Counter(o.status for o in ledger.outcomes)
    found_ids = {scan["id"] for scan in scans}
    per_key = collections.Counter(str(scan["scanner_id"]) for scan in scans)
    accepted_ids = {o.scan_id for o in created}
    broken_keys = {o.key for o in ledger.outcomes if o.status == 0}
    screened_after_break = [s for s in scans if s["scanner_id"] in broken_keys
                            and s["status"] != "accepted"]
    fresh = [o.seconds for o in created if not o.replayed]
    return {
        "requests_sent": len(ledger.outcomes),
        "scans_attempted": ledger.issued,
        "status_201_new": len(fresh),
        "status_201_replayed": sum(o.replayed for o in created),
        "connection_errors": statuses.get(0, 0),
        "other_statuses": {str(k): v for k, v in statuses.items() if k not in (0, 201)},
        "restarts": restarts,
        "restart_to_ready_s": round(restart_s, 2),
        "scans_found": len(scans),
        "distinct_201_scan_ids": len(accepted_ids),
        "lost_201s": len(accepted_ids - found_ids),
        "every_201_found": accepted_ids <= found_ids,
        "found_without_201": len(found_ids - accepted_ids),
        "duplicates": sum(count - 1 for count in per_key.values() if count > 1),
        "keys_with_broken_connection": len(broken_keys),
        "screened_after_break": len(screened_after_break),
        "unscreened_at_end": sum(s["status"] == "accepted" for s in scans),
        "failed_scans": sum(s["status"] == "failed" for s in scans),
        **(percentiles(fresh) if fresh else {"p50_ms": None, "p99_ms": None}),
    }


# -- overload: the sustainable rate, then open-loop at 1x and 2x of it --------------------------

@dataclass
class Timed:
    """One open-loop request: its status (0: no answer), whether a 503 carried Retry-After,
    seconds from its scheduled moment to the answer, and how late it was sent."""

    status: int
    retry_after: bool
    seconds: float
    late_s: float


def closed_loop_rate(url: str, api_key: str, run: str, clients: int,
                     seconds: float) -> dict[str, Any]:
    """Scans per second the service completes with ``clients`` senders, each waiting for its
    answer before the next (the queue holds at most ``clients``): the sustainable rate."""
    ledger = Ledger()
    stop_at = time.monotonic() + seconds
    workers = [threading.Thread(target=uploader, args=(url, api_key, run, ledger, stop_at,
                                                       10**9, stop_at)) for _ in range(clients)]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - started
    created = [o.seconds for o in ledger.outcomes if o.status == 201]
    return {"clients": clients, "seconds": round(elapsed, 1), "status_201": len(created),
            "rate_per_s": round(len(created) / elapsed, 2),
            **(percentiles(created) if created else {"p50_ms": None, "p99_ms": None})}


def open_loop(url: str, api_key: str, run: str, rate: float, seconds: float,
              senders: int = 128) -> list[Timed]:
    """Offer ``rate`` scans per second for ``seconds`` on a fixed schedule, each sent by a pool
    thread without waiting for earlier answers; no retries."""
    local = threading.local()
    clients: list[httpx.Client] = []
    count = max(1, int(rate * seconds))
    images = [distinct_png(index, run) for index in range(count)]   # no encoding on schedule
    start = time.monotonic() + 0.2

    def send(index: int, scheduled: float) -> Timed:
        if not hasattr(local, "http"):
            local.http = httpx.Client(base_url=url, timeout=60,
                                      headers={"Authorization": f"Bearer {api_key}"})
            clients.append(local.http)
        late = time.monotonic() - scheduled
        key = f"{run}-{index:06d}"
        try:
            response = local.http.post("/v1/scans", headers={"Idempotency-Key": key},
                                       data={"scanner_id": key},
                                       files={"image": ("scan.png", images[index], "image/png")})
        except httpx.TransportError:
            return Timed(0, False, time.monotonic() - scheduled, late)
        return Timed(response.status_code, "Retry-After" in response.headers,
                     time.monotonic() - scheduled, late)

    try:
        with concurrent.futures.ThreadPoolExecutor(senders) as pool:
            futures = []
            for index in range(count):
                scheduled = start + index / rate
                time.sleep(max(0.0, scheduled - time.monotonic()))
                futures.append(pool.submit(send, index, scheduled))
            return [future.result() for future in futures]
    finally:
        for client in clients:
            client.close()


def summarise_open_loop(rate: float, answers: list[Timed]) -> dict[str, Any]:
    """Counts by status, Retry-After on the 503s, and latency of the 201s."""
    statuses = collections.Counter(a.status for a in answers)
    created = [a.seconds for a in answers if a.status == 201]
    return {
        "offered_rate_per_s": round(rate, 2), "sent": len(answers),
        "status_201": statuses.get(201, 0), "status_503": statuses.get(503, 0),
        "status_503_with_retry_after": sum(a.status == 503 and a.retry_after for a in answers),
        "other_statuses": {str(k): v for k, v in statuses.items() if k not in (201, 503)},
        "late_sends": sum(a.late_s > 0.05 for a in answers),
        **(percentiles(created) if created else {"p50_ms": None, "p99_ms": None}),
    }


def run_overload(url: str, api_key: str, clients: int, seconds: float,
                 min_requests: int = 0) -> dict[str, Any]:
    """The sustainable rate, then open-loop at that rate and at twice it; each open-loop phase
    lasts ``seconds``, or longer where twice the rate would send fewer than ``min_requests`` in
    that time (on a slow or loaded machine a short phase fits in the queue and proves nothing)."""
    run = uuid.uuid4().hex[:12]
    sustainable = closed_loop_rate(url, api_key, run + "c", clients, seconds)
    rate = max(0.5, sustainable["rate_per_s"])
    phase_s = max(seconds, min_requests / (2 * rate))
    at_1x = summarise_open_loop(rate, open_loop(url, api_key, run + "a", rate, phase_s))
    at_2x = summarise_open_loop(2 * rate, open_loop(url, api_key, run + "b", 2 * rate, phase_s))
    return {"seconds_each": round(phase_s, 1), "closed_loop": sustainable, "open_loop_1x": at_1x,
            "open_loop_2x": at_2x, "overload_ok": overload_ok(at_2x)}


def overload_ok(at_2x: dict[str, Any]) -> bool:
    """At twice the sustainable rate the service refused some (the queue is bounded), each
    refusal a 503 with Retry-After, and answered nothing else but 201."""
    return (at_2x["status_503"] > 0 and not at_2x["other_statuses"]
            and at_2x["status_503_with_retry_after"] == at_2x["status_503"])


def run_benchmark(uploaders: int, seconds: float, max_requests: int, model: Path,
                  database_url: str = "", home: Path | None = None,
                  retry_s: float = 60, overload_seconds: float = 0,
                  max_queue: int | None = None) -> dict[str, Any]:
    """Start the service, load it, kill -9 and restart it at half time, and summarise; then,
    with ``overload_seconds``, the overload phases on the restarted service."""
    for name, value in (("--uploaders", uploaders), ("--seconds", seconds),
                        ("--max-requests", max_requests),
                        ("--max-queue", 1 if max_queue is None else max_queue)):
        if value <= 0:
            raise ValueError(f"{name} must be positive, got {value}")
    if overload_seconds < 0:
        raise ValueError(f"--overload-seconds must be 0 (skip) or more, got {overload_seconds}")
    if not (model / "model.onnx").is_file():
        raise ValueError(f"--model {model} is not a model bundle (no model.onnx): pass a bundle "
                         "folder such as models/default")
    run = uuid.uuid4().hex[:12]
    home = home or Path(tempfile.mkdtemp(prefix="xscreen-durability-"))
    service = Service(home, model, free_port(), database_url, max_queue=max_queue)
    ledger = Ledger()
    started = time.monotonic()
    stop_at = started + seconds
    workers = [threading.Thread(target=uploader, args=(service.url, service.key, run, ledger,
                                                       stop_at, max_requests, stop_at + retry_s))
               for _ in range(uploaders)]
    try:
        for worker in workers:
            worker.start()
        time.sleep(max(0.0, started + seconds / 2 - time.monotonic()))
        restart_s = service.kill_and_restart()
        for worker in workers:
            worker.join()
        scans = wait_screened(service.url, service.key, run)
        overload = (run_overload(service.url, service.key, uploaders, overload_seconds,
                                 min_requests=4 * (max_queue or 32))
                    if overload_seconds else None)
    finally:
        service.stop()
    return {"uploaders": uploaders, "seconds": seconds, "model": str(model),
            "database": "postgresql" if database_url else "sqlite", "cpus": os.cpu_count(),
            "load_average": round(os.getloadavg()[0], 2), "max_queue": max_queue or "default",
            **summarise(ledger, scans, service.restarts, restart_s),
            **({"overload": overload} if overload else {})}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploaders", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=60.0, help="upload for this long")
    parser.add_argument("--max-requests", type=int, default=5000, help="at most this many scans")
    parser.add_argument("--model", type=Path, default=REPO / "models" / "default")
    parser.add_argument("--database-url", default="",
                        help="PostgreSQL URL (default: SQLite in the temporary home)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--overload-seconds", type=float, default=20.0,
                        help="each overload phase this long (0: skip them)")
    parser.add_argument("--max-queue", type=int, help="the service's XSCREEN_MAX_QUEUE")
    args = parser.parse_args(argv)
    results = run_benchmark(args.uploaders, args.seconds, args.max_requests, args.model,
                            args.database_url, overload_seconds=args.overload_seconds,
                            max_queue=args.max_queue)
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    ok = results["lost_201s"] == 0 and results["duplicates"] == 0
    print("PASS: no 201 lost, no duplicate" if ok else "FAIL: a 201 was lost or duplicated")
    if "overload" in results:
        bounded = results["overload"]["overload_ok"]
        ok = ok and bounded
        print("PASS: at 2x the sustainable rate, only 201 and 503 with Retry-After" if bounded
              else "FAIL: at 2x the sustainable rate the service did not refuse, or refused "
                   "without Retry-After, or answered another status")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
