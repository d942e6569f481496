"""Test runs leave nothing in the system's temporary folder (the session-cached helpers' bundles
used to stay behind after every run: a few hundred MB a day on a shared disk)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_lasting_tempdir_is_removed_when_the_process_exits() -> None:
    script = ("import sys; sys.path.insert(0, sys.argv[1]); "
              "from conftest import lasting_tempdir; "
              "path = lasting_tempdir('xscreen-lasting-'); "
              "assert lasting_tempdir('xscreen-lasting-') != path; "
              "(path / 'inner').mkdir(); (path / 'inner' / 'model.onnx').write_bytes(b'x'); "
              "print(path)")
    made = subprocess.run([sys.executable, "-c", script, str(TESTS)], capture_output=True,
                          text=True, check=True, timeout=120)
    path = Path(made.stdout.strip().splitlines()[-1])
    assert path.name.startswith("xscreen-lasting-")
    assert not path.exists(), f"{path} outlived the process that made it"


def test_benchmarks_load_once() -> None:
    from conftest import load_benchmark

    assert load_benchmark("probe_clutter") is load_benchmark("probe_clutter")
