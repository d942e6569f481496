"""The screening service under load, against the bare ONNX Runtime session, in one run.

For concurrency 1, 8 and 32: images per second and p50/p99 latency of ``POST /v1/scans`` (decode,
store durably, batch, infer, risk, record) through real HTTP to ``xscreen serve`` in its own
process; and the bare session on the same images with the same ORT threads (decode + letterbox +
``session.run``, one image at a time in one thread: what a caller without the service gets).
Also the server's resident memory with the model loaded, and its time from start to ready.

Goals (issue 4): at concurrency 8 the service keeps >= 85% of the bare session's images/s;
RSS < 700 MB; ready < 3 s.

    python benchmarks/bench_serving.py [--bundle DIR | --arch xscreen_s --input-size 640]
        [--threads 2] [--requests 48] [--rounds 3] [--width 1024 --height 768] [--json out.json]

Bare and HTTP are measured alternately, ``--rounds`` times, and the best round of each is
reported (with every round's figure): on a shared machine other work only slows a round down.
The server's CPU milliseconds per request are printed too, a figure that other load barely moves.

Without ``--bundle`` the named architecture is exported with random weights (torch needed for
that step only; the server never imports it).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np


def make_bundle(arch: str, input_size: int, folder: Path) -> Path:
    """Export ``arch`` (random weights) into a bundle: the benchmark measures speed only."""
    import torch

    from xscreen import CLASSES
    from xscreen.models.card import ModelCard, file_sha256, save_card
    from xscreen.models.detector import build_model
    from xscreen.training.export import export_onnx

    torch.manual_seed(0)
    folder.mkdir(parents=True, exist_ok=True)
    export_onnx(build_model(arch).eval(), folder / "model.onnx", input_size)
    save_card(ModelCard(name=arch, version="bench", classes=CLASSES, input_size=input_size,
                        sha256=file_sha256(folder / "model.onnx")), folder / "model.json")
    return folder


def make_images(count: int, width: int, height: int) -> list[bytes]:
    """PNG scans: white with dark and coloured blocks (a parcel's worth of structure)."""
    rng = np.random.default_rng(0)
    images = []
    for _ in range(count):
        image = np.full((height, width, 3), 255, np.uint8)
        for _ in range(12):
            x, y = int(rng.integers(0, width - 120)), int(rng.integers(0, height - 120))
            w, h = int(rng.integers(20, 120)), int(rng.integers(20, 120))
            image[y:y + h, x:x + w] = rng.integers(0, 220, 3, dtype=np.uint8)
        images.append(cv2.imencode(".png", image)[1].tobytes())
    return images


def percentiles(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {"p50_ms": round(statistics.median(ordered) * 1000, 1),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1)}


def bare_session(bundle: Path, images: list[bytes], threads: int,
                 requests: int) -> dict[str, float]:
    """Decode + detect one image at a time on a bare ORT session."""
    from xscreen.models.runtime import OnnxDetector
    from xscreen.serving.decode import decode_image

    detector = OnnxDetector(bundle, threads=threads)
    detector.detect(decode_image(images[0]).rgb)  # warm-up
    latencies = []
    started = time.perf_counter()
    for index in range(requests):
        t0 = time.perf_counter()
        detector.detect(decode_image(images[index % len(images)]).rgb)
        latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - started
    return {"images_per_s": round(requests / elapsed, 2), **percentiles(latencies)}


def free_port() -> int:
    """A free TCP port on the loopback address."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """``xscreen serve`` in a subprocess on 127.0.0.1; measures time to ready."""

    def __init__(self, bundle: Path, home: Path, threads: int, port: int | None = None,
                 env: dict[str, str] | None = None, ready_timeout: float = 60) -> None:
        port = port or free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.command = [sys.executable, "-m", "xscreen.cli", "serve", "--port", str(port),
                        "--home", str(home), "--model", str(bundle), "--threads", str(threads)]
        self.env = {**os.environ, **(env or {})}
        self.ready_timeout = ready_timeout
        self.lines: list[str] = []
        started = time.perf_counter()
        self.process = self._start()
        self.ready_s = time.perf_counter() - started
        marker = next(i for i, line in enumerate(self.lines) if "admin API key" in line)
        self.key = self.lines[marker + 1].strip()

    def _start(self) -> subprocess.Popen[str]:
        """Start the process and wait until ``/readyz`` answers 200."""
        process = subprocess.Popen(self.command, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, env=self.env)
        threading.Thread(target=self._read, args=(process,), daemon=True).start()
        deadline = time.monotonic() + self.ready_timeout
        while True:
            try:
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return process
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("server did not start:\n" + "".join(self.lines))
            time.sleep(0.02)

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if '"logger": "xscreen.access"' not in line:
                self.lines.append(line)

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        kb = next(int(line.split()[1]) for line in status.splitlines()
                  if line.startswith("VmRSS"))
        return round(kb / 1024, 1)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)


def http_load(server: Server, images: list[bytes], concurrency: int,
              requests: int) -> dict[str, float]:
    """``requests`` uploads from ``concurrency`` clients; images/s and latency percentiles."""
    latencies: list[float] = []
    failures: list[int] = []
    counter = iter(range(requests))
    lock = threading.Lock()

    def client() -> None:
        with httpx.Client(base_url=server.url, timeout=120,
                          headers={"Authorization": f"Bearer {server.key}"}) as http:
            while True:
                with lock:
                    index = next(counter, None)
                if index is None:
                    return
                t0 = time.perf_counter()
                response = http.post("/v1/scans", files={
                    "image": ("scan.png", images[index % len(images)], "image/png")})
                latencies.append(time.perf_counter() - t0)
                if response.status_code != 201:
                    failures.append(response.status_code)

    workers = [threading.Thread(target=client) for _ in range(concurrency)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    return {"images_per_s": round(requests / elapsed, 2), **percentiles(latencies),
            "failures": len(failures)}


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The round with the most images per second: other work on a shared machine only ever
    slows a round down, so the best round is the closest to what the code itself can do."""
    chosen = dict(max(runs, key=lambda run: run["images_per_s"]))
    chosen["rounds_images_per_s"] = [run["images_per_s"] for run in runs]
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, help="model bundle (default: export --arch)")
    parser.add_argument("--arch", default="xscreen_s")
    parser.add_argument("--input-size", type=int, default=640)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--requests", type=int, default=48, help="per concurrency level")
    parser.add_argument("--rounds", type=int, default=3,
                        help="bare and HTTP measured alternately this many times; best kept")
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--height", type=int, default=768)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="xscreen-bench-"))
    bundle = args.bundle or make_bundle(args.arch, args.input_size, work / "bundle")
    images = make_images(8, args.width, args.height)
    results: dict[str, Any] = {"model": str(bundle), "threads": args.threads,
                               "image": f"{args.width}x{args.height}", "cpus": os.cpu_count(),
                               "rounds": args.rounds, "load_before": os.getloadavg()[0]}
    server = Server(bundle, work / "home", args.threads)
    results["ready_s"] = round(server.ready_s, 2)
    runs: dict[str, list[dict[str, Any]]] = {}
    try:
        http_load(server, images, 2, 8)                       # warm-up
        results["rss_mb_model_loaded"] = server.rss_mb()
        for _ in range(args.rounds):
            runs.setdefault("bare", []).append(
                bare_session(bundle, images, args.threads, args.requests))
            for concurrency in args.concurrency:
                cpu_before = process_cpu_s(server.process.pid)
                run = http_load(server, images, concurrency, args.requests)
                run["server_cpu_ms_per_request"] = round(
                    (process_cpu_s(server.process.pid) - cpu_before) / args.requests * 1000, 1)
                runs.setdefault(f"http_c{concurrency}", []).append(run)
        results["rss_mb_after_load"] = server.rss_mb()
    finally:
        server.stop()
    results.update({name: best(measured) for name, measured in runs.items()})
    bare = results["bare"]["images_per_s"]
    for concurrency in args.concurrency:
        entry = results[f"http_c{concurrency}"]
        entry["share_of_bare"] = round(entry["images_per_s"] / bare, 3)
    results["load_after"] = os.getloadavg()[0]
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
