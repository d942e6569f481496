"""benchmarks/bench_gpu.py: the shipped bundle's throughput rows, run small on the CPU here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import load_benchmark

BUNDLE = Path(__file__).parents[2] / "models" / "default"


def test_rows_for_every_engine_and_batch(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         one_torch_thread: None) -> None:
    out = tmp_path / "gpu.json"
    assert load_benchmark("bench_gpu").main([
        "--bundle", str(BUNDLE), "--device", "cpu", "--size", "64", "--batches", "1", "3",
        "--precisions", "fp32", "bf16", "--seconds", "0.05", "--cpu-batches", "2",
        "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    rows = [(r["engine"], r["batch"]) for r in figures["rows"]]
    assert rows == [("ort-cpu", 2), ("torch-fp32", 1), ("torch-fp32", 3), ("torch-bf16", 1),
                    ("torch-bf16", 3)]
    assert all(r["images_per_s"] > 0 and r["median_ms"] > 0 for r in figures["rows"])
    assert figures["best"]["images_per_s"] == max(r["images_per_s"] for r in figures["rows"])
    printed = capsys.readouterr().out
    assert "ort-cuda: not run" in printed or "ort-cuda " in printed
    assert "not the goal's setting" in printed      # 64 on a CPU is no GPU figure


@pytest.mark.parametrize(("args", "message"), [
    (["--bundle", "/nonexistent"], "does not exist"),
    (["--bundle", str(BUNDLE), "--device", "cpu", "--size", "100"], "multiple of 32"),
])
def test_bad_input_exits_2(args: list[str], message: str,
                           capsys: pytest.CaptureFixture[str]) -> None:
    assert load_benchmark("bench_gpu").main(args) == 2
    assert message in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_cuda_without_a_gpu_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert load_benchmark("bench_gpu").main(["--bundle", str(BUNDLE), "--device", "cuda"]) == 2
    assert "sees no CUDA GPU" in capsys.readouterr().err
