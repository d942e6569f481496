"""Synthesiser throughput: images per second at 1000x700 with 1 and 2 workers.

Goal (issue 2): at least 6 images/s with 2 workers, so that 10,000 training scans take under
half an hour. The 1-worker figure is the baseline that the 2-worker speed-up is read against.

    python benchmarks/bench_synth.py [--count 60] [--size 1000]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

from xscreen.datasets.physics import get_scanner
from xscreen.datasets.scene import SCANNERS, SceneConfig
from xscreen.datasets.synth import write_dataset

GOAL_IMAGES_PER_SECOND = 6.0


def measure(count: int, workers: int, config: SceneConfig) -> float:
    out = Path(tempfile.mkdtemp(prefix="bench-synth-")) / "data"
    try:
        start = time.perf_counter()
        write_dataset(out, count, seed=123, workers=workers, config=config, progress=False)
        return count / (time.perf_counter() - start)
    finally:
        shutil.rmtree(out.parent, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=60)
    parser.add_argument("--size", type=int, default=1000)
    args = parser.parse_args()
    config = SceneConfig(width=args.size, height=int(round(args.size * 0.7)))
    for scanner in SCANNERS:  # warm the spectrum cache so that start-up is not measured
        get_scanner(scanner)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"python {platform.python_version()}")
    print(f"{args.count} scans at {config.width}x{config.height}")
    rates = {}
    for workers in (1, 2):
        rates[workers] = measure(args.count, workers, config)
        print(f"  workers={workers}: {rates[workers]:6.2f} images/s")
    print(f"  speed-up 2 vs 1 worker: {rates[2] / rates[1]:.2f}x")
    verdict = "meets" if rates[2] >= GOAL_IMAGES_PER_SECOND else "MISSES"
    print(f"  goal >= {GOAL_IMAGES_PER_SECOND} images/s with 2 workers: {verdict}; "
          f"10,000 scans would take {10000 / rates[2] / 60:.0f} min")


if __name__ == "__main__":
    main()
