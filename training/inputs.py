"""What a training run starts from, each file read once: the ``--init`` checkpoint and each
dataset's ``annotations.json``.

The class list, the data sets, the initial weights and the lineage a fine-tuned model records
all come from one read of each file (issue 20: the checkpoint had been read two or three times
and the annotations twice, so a file replaced mid-start could mix two versions).
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from xscreen import CLASSES
from xscreen.datasets.coco import Dataset, load_dataset
from xscreen.datasets.splits import holdout_ids, without_holdout
from xscreen.errors import DatasetError, UsageError
from xscreen.models.card import CARD_FILE
from xscreen.models.detector import Detector
from xscreen.training.config import TrainConfig

GROWABLE = ("class_logits.weight", "class_logits.bias")
"""Parameters whose first dimension is the class count: grown when classes are appended."""


@dataclass(frozen=True)
class Annotations:
    """A dataset folder's ``annotations.json``, read once: parsed (None when it is missing or
    not JSON: :func:`load_dataset` then says what is wrong) and its SHA-256."""

    folder: Path
    coco: dict[str, Any] | None
    sha256: str

    def category_names(self) -> list[str]:
        """The class names it declares, in category-id order (none when it is malformed)."""
        try:
            categories = (self.coco or {}).get("categories", [])
            return [str(c["name"]) for c in sorted(categories, key=lambda c: int(c["id"]))]
        except (ValueError, TypeError, KeyError, AttributeError):
            return []   # load_dataset reports what is wrong with the folder

    def dataset(self, classes: tuple[str, ...]) -> Dataset:
        """The validated dataset, with ``classes`` as its class list."""
        return load_dataset(self.folder, classes, coco=self.coco)


@dataclass(frozen=True)
class Parent:
    """The checkpoint ``--init`` names, read once, and the SHA-256 of its bytes."""

    source: Path
    state: dict[str, Any]
    sha256: str

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(self.state.get("classes") or ())


@dataclass(frozen=True)
class RunInputs:
    """A run's class list and data sets (hold-out images left out of ``train_set``)."""

    classes: tuple[str, ...]
    train_set: Dataset
    replay_set: Dataset | None
    val_set: Dataset | None
    holdout_images: int
    data_sha256: str          # of the training data's annotations.json


def read_annotations(folder: str | Path) -> Annotations:
    """``folder/annotations.json`` read once (parsed and hashed from the same bytes)."""
    path = Path(folder) / "annotations.json"
    try:
        raw = path.read_bytes()
    except OSError:
        return Annotations(Path(folder), None, "")
    try:
        coco = json.loads(raw)
    except ValueError:
        coco = None
    return Annotations(Path(folder), coco if isinstance(coco, dict) else None,
                       hashlib.sha256(raw).hexdigest())


def read_parent(source: str | Path) -> Parent:
    """The checkpoint ``--init`` names: a bundle folder's ``weights.pt``, or a ``best.pt``."""
    source = Path(source)
    path = source / "weights.pt" if source.is_dir() else source
    if not path.is_file():
        raise UsageError(f"--init {source}: no weights found (a bundle made by 'xscreen export' "
                         "holds weights.pt; or pass a run's best.pt)")
    raw = path.read_bytes()
    try:
        state = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=False)
    except Exception as error:  # pickle and zip errors vary by torch version
        raise UsageError(f"checkpoint {path} cannot be read ({error}); delete it to start "
                         "afresh") from None
    return Parent(source, state, hashlib.sha256(raw).hexdigest())


def training_classes(parent: Parent | None, annotations: list[Annotations]) -> tuple[str, ...]:
    """The parent's classes (or the contract's), then the classes a dataset adds after them, in
    order (as ``xscreen import --add-class`` writes its categories)."""
    classes = list(parent.classes or CLASSES) if parent is not None else list(CLASSES)
    for names in (a.category_names() for a in annotations):
        if names[:len(classes)] == classes:
            classes += names[len(classes):]
    return tuple(classes)


def read_inputs(config: TrainConfig, parent: Parent | None = None,
                classes: tuple[str, ...] | None = None) -> RunInputs:
    """The run's classes (``classes`` when a resumed run kept its own) and data sets, each
    dataset's annotations read once."""
    data = read_annotations(config.data)
    replay = read_annotations(config.replay) if config.replay else None
    val = read_annotations(config.val) if config.val else None
    classes = classes or training_classes(parent, [a for a in (data, replay, val) if a])
    everything = data.dataset(classes)
    held = len(holdout_ids(everything))
    train_set = without_holdout(everything)
    if not train_set.images:
        raise DatasetError(f"{config.data} holds no images to train on"
                           + (" (all are held out)" if held else ""))
    replay_set = replay.dataset(classes) if replay is not None else None
    if replay_set is not None and not replay_set.images:
        raise DatasetError(f"replay data {config.replay} holds no images")
    return RunInputs(classes, train_set, replay_set, val.dataset(classes) if val else None,
                     held, data.sha256)


def initialise(model: Detector, parent: Parent, classes: tuple[str, ...] | None = None,
               model_name: str = "this model") -> None:
    """Load the parent's weights into ``model``; when ``classes`` extends the parent's, the class
    layers grow (the parent's rows copied)."""
    weights = dict(parent.state.get("model", parent.state))
    parent_classes = parent.classes or classes or ()
    if classes is not None and classes[:len(parent_classes)] != parent_classes:
        raise UsageError(f"--init {parent.source}: its classes {list(parent_classes)} must come "
                         f"first, in order, in the data's {list(classes)} (a later model may "
                         "add classes after them, never reorder them)")
    weights = grow_class_layers(weights, model.state_dict())
    try:
        model.load_state_dict(weights)
    except RuntimeError as error:
        detail = " ".join(line.strip() for line in str(error).splitlines()[1:3])
        parent_model = parent.state.get("model_name", "?")
        raise UsageError(f"--init {parent.source}: its weights ({parent_model}) do not fit "
                         f"{model_name} with these classes; leave out --model to "
                         f"train the parent's architecture ({detail[:300]})") from None


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


def run_lineage(config: TrainConfig, inputs: RunInputs, parent: Parent | None) -> dict[str, Any]:
    """Where a fine-tuned model comes from: its parent and the data (empty without a parent)."""
    if parent is None:
        return {}
    source = parent.source
    record: dict[str, Any] = {"path": str(source)}
    if (source / CARD_FILE).is_file():
        card = json.loads((source / CARD_FILE).read_text())
        record.update({key: card.get(key) for key in ("name", "version", "sha256")},
                      classes=card.get("classes"), thresholds=card.get("thresholds"))
    else:
        record["sha256_checkpoint"] = parent.sha256
    parent_classes = tuple(record.get("classes") or parent.classes)
    data = {"new": config.data, "new_images": len(inputs.train_set.images),
            "holdout_images": inputs.holdout_images,
            "new_annotations_sha256": inputs.data_sha256,
            "replay": config.replay, "replay_ratio": config.replay_ratio if config.replay else 0,
            "replay_images": len(inputs.replay_set.images) if inputs.replay_set else 0,
            "classes_added": [c for c in inputs.classes if c not in parent_classes]}
    return {"parent": record, "data": data}
