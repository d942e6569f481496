"""benchmarks/device_session.sh, the one prepared call a lent GPU machine gets, run here on the
CPU with tiny settings: every stage runs, and what comes back is what the docs say."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
TINY = {"DEVICE": "cpu", "MODEL": "xscreen_tiny", "BATCH": "4", "EPOCHS": "2", "WORKERS": "1",
        "TRAIN_COUNT": "8", "VAL_COUNT": "4", "TEST_COUNT": "4", "BENCH_SIZE": "64",
        "BENCH_BATCHES": "1 2", "BENCH_SECONDS": "0.05", "RESERVE_S": "0", "BUDGET_S": "900"}


def session(tmp_path: Path, **settings: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path / "out"
    env = {**os.environ, **TINY, "OUT": str(out), "WORK": str(tmp_path / "work"),
           "PYTHON": sys.executable, **settings}
    result = subprocess.run(["bash", str(ROOT / "benchmarks" / "device_session.sh")], env=env,
                            capture_output=True, text=True, timeout=600, check=False)
    return result, out


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_every_stage_runs_and_the_results_come_back(tmp_path: Path) -> None:
    result, out = session(tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    log = (out / "session.log").read_text()
    shim = tmp_path / "work" / "pythonpath"
    assert f"xscreen from {shim}/xscreen/__init__.py" in log    # this tree, through the links
    assert (shim / "xscreen" / "training").resolve() == ROOT / "training"
    for stage in ("machine", "imports", "bench", "synth-train", "synth-val", "synth-test",
                  "train", "export", "thresholds", "test"):
        assert f"== {stage}: exit 0" in log, stage
    assert sorted(p.name for p in out.iterdir()) == ["bench_gpu.json", "result.tgz",
                                                     "session.log"]
    bench = json.loads((out / "bench_gpu.json").read_text())
    assert {row["engine"] for row in bench["rows"]} == {"ort-cpu", "torch-fp32", "torch-bf16",
                                                        "torch-fp16"}
    with tarfile.open(out / "result.tgz") as archive:
        names = {Path(name).name: name for name in archive.getnames()}
        assert {"model.onnx", "model.json", "weights.pt", "eval_test.json", "pr_firearm.png",
                "log.csv", "curves.png", "config.yaml"} <= set(names)
        member = archive.extractfile(names["model.json"])
        assert member is not None
        card = json.loads(member.read())
    assert card["training"]["device"] == "cpu" and card["training"]["model"] == "xscreen_tiny"
    assert "--batch 4" in card["training"]["command"]
    assert card["training"]["config"]["val_every"] == 10     # training/recipes/gpu.yaml
    assert card["metrics"]["threshold_selection"]["target_pfa"] == 0.05   # chosen on val
    assert set(card["metrics"]["eval"]["per_class"]) == set(card["classes"])  # scored on test


def test_a_python_without_xscreen_stops_with_a_message(tmp_path: Path) -> None:
    result, out = session(tmp_path, PYTHON="/nonexistent/python3")
    assert result.returncode == 1
    assert "xscreen cannot be imported here" in (out / "session.log").read_text()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_no_time_left_for_training_stops_before_it(tmp_path: Path) -> None:
    result, out = session(tmp_path, SKIP_BENCH="1", TRAIN_COUNT="2", VAL_COUNT="2",
                          TEST_COUNT="2", BUDGET_S="5", MIN_TRAIN_S="30")
    assert result.returncode == 1
    log = (out / "session.log").read_text()
    assert "left for training; stopping" in log and "== train:" not in log
