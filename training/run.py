"""Start a training run, or resume it when its folder already holds ``last.pt``."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Collection
from pathlib import Path

import torch

from xscreen.datasets.coco import Dataset, load_dataset
from xscreen.errors import DatasetError, OutputExistsError, UsageError
from xscreen.models.detector import Detector, build_model, list_models
from xscreen.training.checkpoint import load_checkpoint
from xscreen.training.config import TrainConfig, config_from_dict, save_config
from xscreen.training.trainer import Progress, Trainer, seed_everything

RESUMABLE_OVERRIDES = ("epochs", "minutes", "checkpoint_minutes", "workers", "threads")
RUN_FILES = {"config.yaml", "last.pt", "best.pt", "log.csv", "curves.png"}


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


def build_detector(config: TrainConfig, num_classes: int) -> Detector:
    """The configured architecture, initialised from ``config.init`` when given."""
    if config.model not in list_models():
        raise UsageError(f"unknown model {config.model!r}; choose one of "
                         f"{', '.join(list_models())}")
    model = build_model(config.model, num_classes=num_classes)
    if config.init:
        load_initial_weights(model, Path(config.init))
    return model


def load_initial_weights(model: Detector, source: Path) -> None:
    """Weights from a bundle folder (its ``weights.pt``) or a ``best.pt``/``last.pt`` file."""
    path = source / "weights.pt" if source.is_dir() else source
    if not path.is_file():
        raise UsageError(f"--init {source}: no weights found (a bundle made by 'xscreen export' "
                         "holds weights.pt; or pass a run's best.pt)")
    state = load_checkpoint(path)
    weights = state.get("model", state)
    try:
        model.load_state_dict(weights)
    except RuntimeError as error:
        raise UsageError(f"--init {source}: its weights do not fit model "
                         f"{state.get('model_name', '?')} with these classes: "
                         f"{str(error).splitlines()[0]}") from None


def load_data(config: TrainConfig) -> tuple[Dataset, Dataset | None]:
    """The training and (optional) validation datasets, validated."""
    train_set = load_dataset(config.data)
    if not train_set.images:
        raise DatasetError(f"{config.data} holds no images")
    val_set = load_dataset(config.val) if config.val else None
    return train_set, val_set


def start_or_resume(config: TrainConfig, given: Collection[str] = ()) -> Trainer:
    """A :class:`Trainer` ready to train: fresh, or restored from ``RUN/last.pt``.

    ``given`` names the options set on the command line; on resume only those of
    ``RESUMABLE_OVERRIDES`` change the saved configuration.
    """
    run_dir = Path(config.out)
    resume = prepare_run_folder(run_dir)
    state = load_checkpoint(run_dir / "last.pt") if resume else None
    if state is not None:
        config = resumed_config(state["config"], config, given)
    torch.set_num_threads(config.threads)
    seed_everything(config.seed)
    train_set, val_set = load_data(config)
    model = build_detector(dataclasses.replace(config, init=None) if resume else config,
                           len(train_set.classes))
    trainer = Trainer(config, model, train_set, val_set, run_dir)
    if state is not None:
        trainer.load_state_dict(state)
        print(f"resuming {run_dir} at step {trainer.progress.step}", file=sys.stderr)
    save_config(config, run_dir / "config.yaml")
    return trainer


def train(config: TrainConfig, given: Collection[str] = ()) -> Progress:
    """Train (or resume) the run that ``config`` describes; returns where it ended."""
    return start_or_resume(config, given).train()
