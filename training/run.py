"""Start a training run, or resume it when its folder already holds ``last.pt``.

Fine-tuning (``init``) keeps the parent's class list and appends any class the data adds after
it (CONTRACT "Names"): the class layer of each head grows, the parent's rows copied, the new rows
starting at the focal-loss prior. Images the import marked ``holdout`` are never trained on. The
run records its lineage (parent, data) for the card ``xscreen export`` writes.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Collection
from pathlib import Path

import torch

from xscreen.errors import OutputExistsError, UsageError
from xscreen.models.detector import Detector, build_model, list_models, model_options
from xscreen.training.checkpoint import load_checkpoint
from xscreen.training.config import TrainConfig, config_from_dict, replace_config, save_config
from xscreen.training.distributed import close_world, init_world, resolve_device
from xscreen.training.inputs import Parent, initialise, read_inputs, read_parent, run_lineage
from xscreen.training.trainer import Progress, Trainer, seed_everything

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
    return replace_config(config, **changes)


def parent_architecture(config: TrainConfig, parent: Parent, announce: bool = True
                        ) -> TrainConfig:
    """Fine-tuning keeps the parent's architecture and input size where neither the YAML file
    nor the command line names them: ``xscreen train --init models/default`` fine-tunes
    whatever the default is."""
    chosen = config.model_fields_set        # the keys the YAML file or the command line set
    changes: dict[str, object] = {}
    name, size = parent.state.get("model_name"), parent.state.get("input_size")
    if name and "model" not in chosen and name != config.model:
        changes["model"] = str(name)
    if size and "input_size" not in chosen and int(size) != config.input_size:
        changes["input_size"] = int(size)
    if changes and announce:
        print(f"--init {parent.source}: training its architecture, "
              + ", ".join(f"{key} {value}" for key, value in changes.items()), file=sys.stderr)
    return replace_config(config, **changes) if changes else config


def build_detector(config: TrainConfig, classes: tuple[str, ...],
                   parent: Parent | None = None) -> Detector:
    """The configured architecture, initialised from ``parent`` (the ``--init`` checkpoint,
    already read) when given."""
    if config.model not in list_models():
        raise UsageError(f"unknown model {config.model!r}; choose one of "
                         f"{', '.join(list_models())}")
    options: dict[str, object] = {}
    if config.frozen_stages is not None:
        if "frozen_stages" not in model_options(config.model):
            takers = [name for name in list_models() if "frozen_stages" in model_options(name)]
            raise UsageError(f"frozen_stages applies to the pretrained backbones "
                             f"({', '.join(takers)}), not to {config.model}")
        options["frozen_stages"] = config.frozen_stages
    model = build_model(config.model, num_classes=len(classes), **options)
    if parent is not None:
        initialise(model, parent, classes, config.model)
    return model


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
    # a resumed run keeps what it started with, even if the parent bundle has moved since;
    # a fresh one reads the parent and each annotations file once (issue 20)
    parent = read_parent(config.init) if config.init and not resume else None
    if parent is not None:
        config = parent_architecture(config, parent, announce=world.is_main)
    saved_classes = tuple(state.get("classes") or ()) if state is not None else ()
    inputs = read_inputs(config, parent, saved_classes or None)
    model = build_detector(config, inputs.classes, parent)
    seed_everything(config.seed + world.rank)   # each rank its own augmentations
    lineage = state.get("lineage", {}) if state is not None \
        else run_lineage(config, inputs, parent)
    trainer = Trainer(config, model, inputs.train_set, inputs.val_set, run_dir,
                      replay_set=inputs.replay_set, world=world, lineage=lineage, device=device)
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
