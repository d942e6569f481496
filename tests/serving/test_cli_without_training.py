"""The CLI on the ``serve`` install alone: commands that need the training packages end with one
line naming the install (no traceback), and ``eval`` of an ONNX bundle needs no torch,
albumentations or onnx. The packages are made unimportable in a subprocess (a meta-path
blocker), not uninstalled."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_fake_bundle, write_tiny_dataset

# runs the CLI with the modules named in argv[1] unimportable, as on a `serve` install
BLOCKED_RUN = """
import importlib.abc, sys
blocked = set(sys.argv[1].split(","))
class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.partition(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, Blocker())
from xscreen.cli import main
sys.exit(main(sys.argv[2:]))
"""
TRAINING = "torch,torchvision,albumentations,onnx,onnxscript"
TRAIN_AND_METRICS = TRAINING + ",faster_coco_eval,matplotlib"


def run_blocked(blocked: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", BLOCKED_RUN, blocked, *args],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("blocked", "args", "module"), [
    (TRAINING, ["train", "--data", "{tmp}/data", "--out", "{tmp}/run"], "torch"),
    (TRAINING, ["export", "{tmp}/run", "--out", "{tmp}/bundle"], ""),
    (TRAIN_AND_METRICS, ["eval", "{bundle}", "{data}"], "faster_coco_eval"),
])
def test_a_missing_training_install_is_one_line(blocked: str, args: list[str], module: str,
                                                tmp_path: Path) -> None:
    data = write_tiny_dataset(tmp_path / "data", count=2)
    bundle = write_fake_bundle(tmp_path / "bundle-in", [[10, 20, 50, 60, 0.9, 0]])
    done = run_blocked(blocked, *[a.format(tmp=tmp_path, bundle=bundle, data=data)
                                  for a in args])
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if line.strip() and "%|" not in line]
    assert len(lines) == 1, done.stderr                     # one line, no traceback
    assert "pip install -e '.[train]'" in lines[0] and module in lines[0]
    assert "Traceback" not in done.stderr


def test_eval_of_an_onnx_bundle_needs_no_torch_albumentations_or_onnx(tmp_path: Path) -> None:
    data = write_tiny_dataset(tmp_path / "data", count=2)
    bundle = write_fake_bundle(tmp_path / "bundle", [[10, 20, 50, 60, 0.9, 0]])
    done = run_blocked(TRAINING, "eval", str(bundle), str(data), "--json",
                       str(tmp_path / "figures.json"))
    assert done.returncode == 0, done.stderr
    assert "mAP50" in done.stdout and (tmp_path / "figures.json").is_file()


def test_a_missing_module_outside_the_extras_still_shows_its_traceback() -> None:
    from xscreen.cli import missing_extra_message

    assert missing_extra_message("eval", ModuleNotFoundError("x", name="numpy_typo")) is None
    line = missing_extra_message("train", ModuleNotFoundError("x", name="torch.nn"))
    assert line is not None and "'torch'" in line and "'.[train]'" in line


def test_synth_needs_no_spekpy(tmp_path: Path) -> None:
    """SpekPy (the `synth` extra, 200 MB) is only for tubes beyond the shipped spectra: the
    service's install synthesises (threat image projection draws threats) without it."""
    done = run_blocked("spekpy", "synth", str(tmp_path / "out"), "--count", "2", "--size", "128",
                       "--workers", "1", "--quiet")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "annotations.json").is_file()


def test_the_gate_times_bundles_without_training_packages(tmp_path: Path) -> None:
    """The gate judges ONNX bundles: it reads its scans without the training loader."""
    data = write_tiny_dataset(tmp_path / "data", count=1)
    bundle = write_fake_bundle(tmp_path / "bundle", [[10, 20, 50, 60, 0.9, 0]])
    code = ("import importlib.abc, sys\n"
            "class B(importlib.abc.MetaPathFinder):\n"
            "    def find_spec(self, name, path, target=None):\n"
            f"        if name.partition('.')[0] in {set(TRAINING.split(','))!r}:\n"
            "            raise ModuleNotFoundError(name, name=name)\n"
            "sys.meta_path.insert(0, B())\n"
            "from xscreen.datasets.coco import load_dataset\n"
            "from xscreen.models.runtime import OnnxDetector\n"
            "from xscreen.training.gate import compare_latency\n"
            f"model = OnnxDetector({str(bundle)!r}, threads=1)\n"
            f"print(compare_latency(model, model, load_dataset({str(data)!r}), 2))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "before" in done.stdout
