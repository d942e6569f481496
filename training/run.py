"""Start a training run, or resume it when its folder already holds ``last.pt``.

Fine-tuning (``init``) keeps the parent's class list and appends any class the data adds after
it (CONTRACT "Names"): the class layer of each head grows, the parent's rows copied, the new rows
starting at the focal-loss prior. Images the import marked ``holdout`` are never trained on. The
run records its lineage (parent, data) for the card ``xscreen export`` writes.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import sys
from collections.abc import Collection
from pathlib import Path
from typing import Any

import torch

from xscreen import CLASSES
from xscreen.datasets.coco import Dataset, load_dataset
from xscreen.datasets.splits import holdout_ids, without_holdout
from xscreen.errors import DatasetError, OutputExistsError, UsageError
from xscreen.models.card import CARD_FILE, file_sha256
from xscreen.models.detector import Detector, build_model, list_models
from xscreen.training.checkpoint import load_checkpoint
from xscreen.training.config import TrainConfig, config_from_dict, save_config
from xscreen.training.distributed import close_world, init_world, resolve_device
from xscreen.training.trainer import Progress, Trainer, seed_everything

GROWABLE = ("class_logits.weight", "class_logits.bias")
"""Parameters whose first dimension is the class count: grown when classes are appended."""

RESUMABLE_OVERRIDES = ("epochs", "minutes", "checkpoint_minutes", "workers", "threads",
                       "device")
RUN_FILES = {"config.yaml", "last.pt", "best.pt", "log.csv", "curves.png",
             "image-cache"}  # decoded scans while a run goes on (training.data.ImageCache)


def prepare_run_folder(out: Path) -> bool:
    """Create ``out`` if needed; True when it holds ``last.pt`` to resume from.

    A folder with files other than a run's own is refused, so a typo never overwrites data.
    """
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"{out} exists and is not a folder; choose a new run folder")
    out.mkdir(parents=True, exist_ok=True)
    foreign = [p.name for p in out.iterdir() if p.name not in RUN_FILES
               and not p.name.startswith(".")]
    if foreign:
        raise OutputExistsError(f"{out} holds files that are not a training run's "
                                f"({', '.join(sorted(foreign)[:3])}); choose a new run folder")
    return (out / "last.pt").is_file()


def resumed_config(saved: dict[str, object], requested: TrainConfig,
                   given: Collection[str]) -> TrainConfig:
    """The saved configuration, changed only where the command line gave one of the options a
    resumed run may change (epochs, minutes, threads, ...)."""
    config = config_from_dict(saved)
    changes = {key: getattr(requested, key) for key in RESUMABLE_OVERRIDES if key in given}
    return dataclasses.replace(config, **changes)


def build_detector(config: TrainConfig, classes: tuple[str, ...]) -> Detector:
    """The configured architecture, initialised from ``config.init`` when given."""
    if config.model not in list_models():
        raise UsageError(f"unknown model {config.model!r}; choose one of "
                         f"{', '.join(list_models())}")
    model = build_model(config.model, num_classes=len(classes))
    if config.init:
        load_initial_weights(model, Path(config.init), classes)
    return model


def initial_state(source: Path) -> dict[str, Any]:
    """The checkpoint ``--init`` names: a bundle folder's ``weights.pt``, or a ``best.pt``."""
    path = source / "weights.pt" if source.is_dir() else source
    if not path.is_file():
        raise UsageError(f"--init {source}: no weights found (a bundle made by 'xscreen export' "
                         "holds weights.pt; or pass a run's best.pt)")
    return load_checkpoint(path)


def load_initial_weights(model: Detector, source: Path,
                         classes: tuple[str, ...] | None = None) -> None:
    """Weights from a bundle folder (its ``weights.pt``) or a ``best.pt``/``last.pt`` file; when
    ``classes`` extends the parent's, the class layers grow (the parent's rows copied)."""
    state = initial_state(source)
    weights = dict(state.get("model", state))
    parent_classes = tuple(state.get("classes") or classes or ())
    if classes is not None and classes[:len(parent_classes)] != parent_classes:
        raise UsageError(f"--init {source}: its classes {list(parent_classes)} must come first, "
                         f"in order, in the data's {list(classes)} (a later model may add "
                         "classes after them, never reorder them)")
    weights = grow_class_layers(weights, model.state_dict())
    try:
        model.load_state_dict(weights)
    except RuntimeError as error:
        raise UsageError(f"--init {source}: its weights do not fit model "
                         f"{state.get('model_name', '?')} with these classes: "
                         f"{str(error).splitlines()[0]}") from None


def grow_class_layers(weights: dict[str, torch.Tensor],
                      target: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``weights`` with each class layer padded to the target's class count: the parent's rows
    first, then the target's freshly initialised rows for the appended classes."""
    grown = dict(weights)
    for name, value in weights.items():
        fresh = target.get(name)
        if (fresh is None or not name.endswith(GROWABLE) or fresh.shape == value.shape
                or fresh.shape[1:] != value.shape[1:] or fresh.shape[0] < value.shape[0]):
            continue
        grown[name] = torch.cat([value, fresh[value.shape[0]:].to(value.dtype)], dim=0)
    return grown


def category_names(folder: str | Path) -> list[str]:
    """The class names a dataset's ``annotations.json`` declares, in category-id order."""
    path = Path(folder) / "annotations.json"
    try:
        categories = json.loads(path.read_text()).get("categories", [])
        return [str(c["name"]) for c in sorted(categories, key=lambda c: int(c["id"]))]
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return []   # load_dataset reports what is wrong with the folder


def training_classes(config: TrainConfig) -> tuple[str, ...]:
    """The parent's classes (or the contract's), then the classes a dataset adds after them.

    A dataset adds classes by listing them after all of these, in order (as ``xscreen import
    --add-class`` writes its categories); any other unknown name is an error of ``load_dataset``.
    """
    classes = list(CLASSES)
    if config.init:
        classes = list(initial_state(Path(config.init)).get("classes") or CLASSES)
    for folder in (config.data, config.replay, config.val):
        names = category_names(folder) if folder else []
        if names[:len(classes)] == classes:
            classes += names[len(classes):]
    return tuple(classes)


def load_data(config: TrainConfig, classes: tuple[str, ...] = CLASSES
              ) -> tuple[Dataset, Dataset | None, Dataset | None]:
    """The training data (hold-out images left out), the replayed data and the validation set,
    each validated."""
    train_set = without_holdout(load_dataset(config.data, classes))
    if not train_set.images:
        raise DatasetError(f"{config.data} holds no images to train on"
                           + (" (all are held out)" if holdout_ids(load_dataset(
                               config.data, classes)) else ""))
    replay_set = load_dataset(config.replay, classes) if config.replay else None
    if replay_set is not None and not replay_set.images:
        raise DatasetError(f"replay data {config.replay} holds no images")
    val_set = load_dataset(config.val, classes) if config.val else None
    return train_set, replay_set, val_set


def run_lineage(config: TrainConfig, train_set: Dataset, replay_set: Dataset | None,
                classes: tuple[str, ...]) -> dict[str, Any]:
    """Where a fine-tuned model comes from: its parent and the data (empty without ``init``)."""
    if not config.init:
        return {}
    source = Path(config.init)
    parent: dict[str, Any] = {"path": str(source)}
    if (source / CARD_FILE).is_file():
        card = json.loads((source / CARD_FILE).read_text())
        parent.update({key: card.get(key) for key in ("name", "version", "sha256")},
                      classes=card.get("classes"), thresholds=card.get("thresholds"))
    else:
        parent["sha256_checkpoint"] = file_sha256(source)
    parent_classes = tuple(parent.get("classes") or initial_state(source).get("classes") or ())
    data = {"new": config.data, "new_images": len(train_set.images),
            "holdout_images": len(holdout_ids(load_dataset(config.data, classes))),
            "new_annotations_sha256": file_sha256(Path(config.data) / "annotations.json"),
            "replay": config.replay, "replay_ratio": config.replay_ratio if config.replay else 0,
            "replay_images": len(replay_set.images) if replay_set else 0,
            "classes_added": [c for c in classes if c not in parent_classes]}
    return {"parent": parent, "data": data}


def start_or_resume(config: TrainConfig, given: Collection[str] = ()) -> Trainer:
    """A :class:`Trainer` ready to train: fresh, or restored from ``RUN/last.pt``.

    ``given`` names the options set on the command line; on resume only those of
    ``RESUMABLE_OVERRIDES`` change the saved configuration.
    """
    run_dir = Path(config.out)
    world = init_world()
    resume = prepare_run_folder(run_dir)
    state = load_checkpoint(run_dir / "last.pt") if resume else None
    if state is not None:
        config = resumed_config(state["config"], config, given)
    device = resolve_device(config.device, world)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True   # rect batches come in a few shapes only
    # processes on one machine share its cores
    torch.set_num_threads(max(1, config.threads // world.local_size))
    seed_everything(config.seed)
    # a resumed run keeps what it started with, even if the parent bundle has moved since
    classes = tuple(state["classes"]) if state and state.get("classes") \
        else training_classes(config)
    train_set, replay_set, val_set = load_data(config, classes)
    model = build_detector(dataclasses.replace(config, init=None) if resume else config, classes)
    seed_everything(config.seed + world.rank)   # each rank its own augmentations
    lineage = state.get("lineage", {}) if state is not None \
        else run_lineage(config, train_set, replay_set, classes)
    trainer = Trainer(config, model, train_set, val_set, run_dir, replay_set=replay_set,
                      world=world, lineage=lineage, device=device)
    if state is not None:
        trainer.load_state_dict(state)
        if world.is_main:
            print(f"resuming {run_dir} at step {trainer.progress.step}", file=sys.stderr)
    if world.is_main:
        save_config(config, run_dir / "config.yaml")
    return trainer


def train(config: TrainConfig, given: Collection[str] = ()) -> Progress:
    """Train (or resume) the run that ``config`` describes; returns where it ended."""
    trainer = start_or_resume(config, given)
    world, finished = trainer.world, False
    try:
        progress = trainer.train()
        finished = True
        return progress
    finally:
        # DDP holds the process group: let it go while every rank is still connected, not at
        # interpreter exit, where gloo's threads have aborted a rank whose peer had gone
        del trainer
        gc.collect()
        close_world(world, wait=finished)
