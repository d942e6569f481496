"""Data-parallel training: the same ``xscreen train`` command under ``torchrun``, two CPU
processes on the gloo backend, ends with the same weights on both ranks."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from xscreen.training.checkpoint import load_checkpoint

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


def test_two_gloo_ranks_end_with_the_same_weights(tiny_dataset: Path, tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("warmup_steps: 2\nworkers: 0\nthreads: 2\n")
    run = tmp_path / "run"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc-per-node", "2", "-m", "xscreen.cli", "train",
               "--data", str(tiny_dataset), "--replay", str(tiny_dataset), "--out", str(run),
               "--model", "xscreen_tiny", "--input-size", "128", "--batch", "2",
               "--epochs", "2", "--config", str(config)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=220, env=env)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    digests = dict(re.findall(r"rank (\d) of 2: weights sha256 ([0-9a-f]{64})", output))
    assert set(digests) == {"0", "1"} and digests["0"] == digests["1"]
    # 8 new + 8 replayed images per epoch, two ranks of batch 2: 4 steps an epoch
    state = load_checkpoint(run / "last.pt")
    assert state["progress"]["step"] == 8
    assert load_checkpoint(run / "best.pt")["ranks"] == 2
    assert output.count("trained 8 steps") == 1          # rank 0 reports for both
