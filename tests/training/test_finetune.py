"""Fine-tuning: replay mixed into each epoch, classes kept and appended (class layers grown, the
parent's rows copied), held-out images never trained on, frozen parts stay put, and the lineage
(parent, data) in the exported card."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch
from conftest import write_tiny_dataset

from xscreen import CLASSES
from xscreen.cli import main
from xscreen.datasets.coco import categories, load_dataset, write_annotations
from xscreen.datasets.splits import without_holdout
from xscreen.models.card import ModelCard, file_sha256, load_bundle, save_card
from xscreen.models.detector import build_model
from xscreen.training.checkpoint import load_checkpoint
from xscreen.training.config import load_config
from xscreen.training.distributed import World
from xscreen.training.inputs import grow_class_layers, initialise, read_inputs, read_parent
from xscreen.training.trainer import EpochSampler, Trainer, epoch_order

FAST = "warmup_steps: 2\nworkers: 0\nthreads: 1\n"
PARENT_THRESHOLDS = {"firearm": 0.3, "narcotics": 0.4, "gold": 0.6, "counterfeit": 0.7}


@pytest.fixture(autouse=True)
def _one_torch_thread(one_torch_thread: None) -> None:
    """Every test here trains on one thread (conftest's fixture)."""


@pytest.fixture(scope="module")
def parent(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny parent bundle: weights.pt (what --init reads) and its card."""
    root = tmp_path_factory.mktemp("parent") / "bundle"
    root.mkdir()
    torch.manual_seed(3)
    model = build_model("xscreen_tiny")
    torch.save({"model": model.state_dict(), "model_name": "xscreen_tiny", "input_size": 128,
                "classes": list(CLASSES)}, root / "weights.pt")
    (root / "model.onnx").write_bytes(b"stands in for the graph")
    save_card(ModelCard(name="xscreen-tiny", version="parent-1", classes=CLASSES, input_size=128,
                        sha256=file_sha256(root / "model.onnx"), thresholds=PARENT_THRESHOLDS),
              root / "model.json")
    return root


def with_new_class(root: Path, holdout: int = 0) -> Path:
    """A tiny dataset whose categories append ``knife``; every third box becomes a knife and
    the first ``holdout`` images are marked held out."""
    write_tiny_dataset(root, count=8, seed=4)
    coco = json.loads((root / "annotations.json").read_text())
    coco["categories"] = categories((*CLASSES, "knife"))
    for number, annotation in enumerate(coco["annotations"]):
        if number % 3 == 0:
            annotation["category_id"] = 5
    for image in coco["images"][:holdout]:
        image["split"] = "holdout"
    write_annotations(root, coco)
    return root


def test_epoch_order_mixes_every_new_image_with_fresh_replay() -> None:
    first = epoch_order(10, seed=0, epoch=0, replay_size=100, ratio=0.5)
    assert len(first) == 20 and sorted(i for i in first if i < 10) == list(range(10))
    replayed = [i for i in first if i >= 10]
    assert len(replayed) == len(set(replayed)) == 10 and max(replayed) < 110
    assert first == epoch_order(10, seed=0, epoch=0, replay_size=100, ratio=0.5)
    second = [i for i in epoch_order(10, seed=0, epoch=1, replay_size=100, ratio=0.5) if i >= 10]
    assert set(second) != set(replayed)
    assert len(epoch_order(10, 0, 0, replay_size=100, ratio=0.75)) == 40
    # without replay: the plain seeded permutation that runs before replay existed used
    legacy = torch.randperm(10, generator=torch.Generator().manual_seed(0 * 100_003 + 2))
    assert epoch_order(10, seed=0, epoch=2) == legacy.tolist()


def test_ranks_take_equal_disjoint_slices() -> None:
    order = epoch_order(11, seed=1, epoch=0)
    halves = [EpochSampler(order, world=World(rank, 2)).order for rank in (0, 1)]
    assert len(halves[0]) == len(halves[1]) == 5 and not set(halves[0]) & set(halves[1])
    assert EpochSampler(order, start=2, world=World(1, 2)).order == halves[1][2:]


def test_class_layers_grow_with_the_parents_rows(parent: Path) -> None:
    parent_weights = torch.load(parent / "weights.pt")["model"]
    model = build_model("xscreen_tiny", num_classes=5)
    initialise(model, read_parent(parent), (*CLASSES, "knife"))
    for name, value in model.state_dict().items():
        if name.endswith("class_logits.weight"):
            assert value.shape[0] == 5
            assert torch.equal(value[:4], parent_weights[name])
        elif name.endswith("class_logits.bias"):
            assert torch.equal(value[:4], parent_weights[name])
            assert value[4].item() == pytest.approx(-4.595)      # the focal-loss prior
        else:
            assert torch.equal(value, parent_weights[name]), name
    fresh = build_model("xscreen_tiny").state_dict()
    assert grow_class_layers(parent_weights, fresh).keys() == parent_weights.keys()


def test_classes_may_be_appended_never_reordered(parent: Path) -> None:
    from xscreen.errors import UsageError

    with pytest.raises(UsageError, match="never reorder"):
        initialise(build_model("xscreen_tiny"), read_parent(parent),
                   ("narcotics", "firearm", "gold", "counterfeit"))


def test_held_out_images_are_never_trained_on(tmp_path: Path) -> None:
    data = with_new_class(tmp_path / "new", holdout=3)
    config = load_config(None, {"data": str(data), "out": str(tmp_path / "run")})
    given = read_inputs(config, None, (*CLASSES, "knife"))
    train_set, replay_set = given.train_set, given.replay_set
    assert len(train_set.images) == 5 and replay_set is None
    held = {image["file_name"] for image in train_set.coco["images"]} & {
        image["file_name"] for image in load_dataset(data, (*CLASSES, "knife")).coco["images"][:3]}
    assert held == set()
    assert all(int(a["image_id"]) > 3 for a in train_set.coco["annotations"])


def test_finetune_appends_a_class_and_the_card_carries_the_lineage(
        parent: Path, tiny_dataset: Path, tmp_path: Path) -> None:
    data = with_new_class(tmp_path / "new", holdout=2)
    (tmp_path / "c.yaml").write_text(FAST)
    run, bundle = tmp_path / "run", tmp_path / "bundle"
    assert main(["train", "--data", str(data), "--replay", str(tiny_dataset), "--init",
                 str(parent), "--out", str(run), "--model", "xscreen_tiny", "--input-size", "128",
                 "--batch", "4", "--epochs", "1", "--config", str(tmp_path / "c.yaml")]) == 0
    best = load_checkpoint(run / "best.pt")
    assert best["classes"] == [*CLASSES, "knife"]
    assert best["config"]["lr"] == 5e-4 and best["config"]["replay_ratio"] == 0.75
    assert best["config"]["freeze_backbone"] and best["config"]["freeze_norm"]
    assert main(["export", str(run), "--out", str(bundle), "--version", "child-1"]) == 0
    card = load_bundle(bundle).card
    assert card.classes == (*CLASSES, "knife")
    assert card.thresholds == {**PARENT_THRESHOLDS, "knife": 0.5}
    assert card.parent is not None and card.parent["version"] == "parent-1"
    assert card.parent["sha256"] == file_sha256(parent / "model.onnx")
    data_lineage = card.lineage["data"]
    assert (data_lineage["new_images"], data_lineage["holdout_images"]) == (6, 2)
    assert data_lineage["replay"] == str(tiny_dataset) and data_lineage["replay_images"] == 8
    assert data_lineage["replay_ratio"] == 0.75
    assert data_lineage["classes_added"] == ["knife"] and card.gate is None
    assert "--init" in card.training["command"] and "--replay" in card.training["command"]


def test_frozen_backbone_and_norm_stay_as_the_parent_left_them(
        parent: Path, tiny_dataset: Path, tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(FAST + "freeze_backbone: true\nfreeze_norm: true\n")
    config = load_config(tmp_path / "c.yaml", {"data": str(tiny_dataset), "out": str(tmp_path),
                                               "model": "xscreen_tiny", "input_size": 128,
                                               "init": str(parent)})
    model = build_model("xscreen_tiny")
    initialise(model, read_parent(parent))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    trainer = Trainer(config, model, load_dataset(tiny_dataset), None, tmp_path)
    from xscreen.training.data import DetectionDataset, collate

    images, targets = collate([DetectionDataset(load_dataset(tiny_dataset), 128)[i]
                               for i in range(4)])
    for _ in range(3):
        trainer.run_step(images, targets)
    after = model.state_dict()
    assert all(torch.equal(after[k], v) for k, v in before.items()
               if k.startswith("backbone.") or "running_" in k)
    assert not torch.equal(after["heads.0.class_logits.weight"],
                           before["heads.0.class_logits.weight"])


def test_finetune_defaults_give_way_to_explicit_values(parent: Path, tmp_path: Path) -> None:
    tuned = load_config(None, {"init": str(parent)})
    assert (tuned.lr, tuned.warmup_steps, tuned.replay_ratio) == (5e-4, 30, 0.75)
    assert tuned.freeze_backbone and tuned.freeze_norm and tuned.ema_decay == 0.99
    (tmp_path / "c.yaml").write_text("warmup_steps: 5\n")
    chosen = load_config(tmp_path / "c.yaml", {"init": str(parent), "lr": 1e-3})
    assert (chosen.lr, chosen.warmup_steps) == (1e-3, 5)
    plain = load_config(None, {})
    assert (plain.lr, plain.freeze_backbone, plain.replay_ratio) == (2e-3, False, 0.5)


def test_a_dataset_that_renames_a_class_is_not_a_new_class(tiny_dataset: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str],
                                                           parent: Path) -> None:
    data = tmp_path / "renamed"
    shutil.copytree(tiny_dataset, data)
    coco = json.loads((data / "annotations.json").read_text())
    coco["categories"][0]["name"] = "pistol"
    write_annotations(data, coco)
    (tmp_path / "c.yaml").write_text(FAST)
    assert main(["train", "--data", str(data), "--init", str(parent), "--out",
                 str(tmp_path / "run"), "--model", "xscreen_tiny", "--input-size", "128",
                 "--epochs", "1", "--config", str(tmp_path / "c.yaml")]) == 2
    assert "unknown class 'pistol'" in capsys.readouterr().err


def _count_opens(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every file opened from here on (builtins.open, io.open: pathlib and torch.load alike)."""
    import builtins
    import io

    opened: list[str] = []
    real_open = io.open

    def counting_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", counting_open)
    monkeypatch.setattr(io, "open", counting_open)
    return opened


@pytest.mark.parametrize("from_file", [False, True])
def test_the_parent_and_each_annotations_file_are_read_once_with_the_same_results(
        parent: Path, tiny_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        from_file: bool) -> None:
    from xscreen.training import inputs

    data = with_new_class(tmp_path / "new", holdout=2)
    source = parent / "weights.pt" if from_file else parent   # a best.pt, or a bundle
    config = load_config(None, {"data": str(data), "replay": str(tiny_dataset),
                                "val": str(tiny_dataset), "init": str(source),
                                "out": str(tmp_path / "run")})
    opened = _count_opens(monkeypatch)
    first = inputs.read_parent(source)
    given = inputs.read_inputs(config, first)
    torch.manual_seed(0)     # the appended class's fresh rows
    model = build_model("xscreen_tiny", num_classes=len(given.classes))
    inputs.initialise(model, first, given.classes)
    lineage = inputs.run_lineage(config, given, first)
    assert opened.count(str(parent / "weights.pt")) == 1
    assert opened.count(str(data / "annotations.json")) == 1
    assert opened.count(str(tiny_dataset / "annotations.json")) == 2   # replay and val
    monkeypatch.undo()
    # what reading each file on its own makes of them
    classes = (*CLASSES, "knife")
    assert given.classes == classes and given.holdout_images == 2
    for ours, theirs in ((given.train_set, without_holdout(load_dataset(data, classes))),
                         (given.replay_set, load_dataset(tiny_dataset, classes)),
                         (given.val_set, load_dataset(tiny_dataset, classes))):
        assert ours is not None and ours.images == theirs.images
    if from_file:
        assert lineage["parent"]["sha256_checkpoint"] == file_sha256(source)
    else:
        card = json.loads((parent / "model.json").read_text())
        assert lineage["parent"] == {"path": str(parent), "name": card["name"],
                                     "version": card["version"], "sha256": card["sha256"],
                                     "classes": card["classes"],
                                     "thresholds": card["thresholds"]}
    assert lineage["data"]["new_annotations_sha256"] == file_sha256(data / "annotations.json")
    assert (lineage["data"]["new_images"], lineage["data"]["holdout_images"]) == (6, 2)
    assert lineage["data"]["classes_added"] == ["knife"]
    torch.manual_seed(0)
    fresh = build_model("xscreen_tiny", num_classes=5).state_dict()
    parent_weights = torch.load(parent / "weights.pt")["model"]
    for name, value in model.state_dict().items():
        if name.endswith(("class_logits.weight", "class_logits.bias")):
            assert torch.equal(value[:4], parent_weights[name])
            assert torch.equal(value[4:], fresh[name][4:])      # the appended class, fresh
        else:
            assert torch.equal(value, parent_weights[name]), name


def test_xscreen_train_reads_the_parent_and_each_annotations_file_once(
        parent: Path, tiny_dataset: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    data = with_new_class(tmp_path / "new", holdout=2)
    val = tmp_path / "val"
    shutil.copytree(tiny_dataset, val)
    (tmp_path / "c.yaml").write_text(FAST)
    opened = _count_opens(monkeypatch)
    assert main(["train", "--data", str(data), "--replay", str(tiny_dataset), "--val", str(val),
                 "--init", str(parent), "--out", str(tmp_path / "run"), "--model",
                 "xscreen_tiny", "--input-size", "128", "--batch", "4", "--epochs", "1",
                 "--config", str(tmp_path / "c.yaml")]) == 0
    monkeypatch.undo()
    assert opened.count(str(parent / "weights.pt")) == 1
    for folder in (data, tiny_dataset, val):
        assert opened.count(str(folder / "annotations.json")) == 1, folder
    assert load_checkpoint(tmp_path / "run" / "best.pt")["classes"] == [*CLASSES, "knife"]


def test_a_parent_that_is_not_a_checkpoint_is_refused(tmp_path: Path) -> None:
    from xscreen.errors import UsageError
    from xscreen.training.inputs import read_parent

    (tmp_path / "best.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(UsageError, match="cannot be read"):
        read_parent(tmp_path / "best.pt")
    with pytest.raises(UsageError, match="no weights found"):
        read_parent(tmp_path / "missing")
