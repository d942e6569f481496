"""Typed training configuration: defaults here, a YAML overlay, then command-line overrides.

Both are pydantic models (:class:`xscreen.typedconfig.Strict`): unknown keys are errors (a typo
must not silently train with a default) and so are wrongly typed values (``lr: "0.001"``,
``epochs: ten``), each named by its field; both are frozen once checked. The resolved
configuration is written to ``RUN/config.yaml`` so that every run can be repeated.

Fine-tuning (``init`` given) starts from trained weights and must not forget what they know, so it
takes its own defaults (:data:`FINETUNE_DEFAULTS`) unless the YAML file or the command line sets
them: a short warmup, the backbone and the BatchNorm statistics frozen, three replayed scans to
each new one, and an EMA that averages the last hundred or so steps from the first update on.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field

from xscreen.errors import UsageError
from xscreen.fileio import atomic_writer
from xscreen.models.losses import ASSIGNERS
from xscreen.typedconfig import Strict, parse, parse_yaml_file

DEVICE_PATTERN = re.compile(r"auto|cpu|cuda(:\d+)?")
"""The values of ``TrainConfig.device`` (:func:`xscreen.training.distributed.resolve_device`)."""


class AugmentConfig(Strict):
    """Probabilities and ranges of the training augmentations (albumentations)."""

    flip: float = 0.5                 # horizontal and vertical, each
    rotate90: float = 0.5
    affine: float = 0.5
    scale_range: tuple[float, float] = (0.6, 1.4)
    colour_shift: float = 0.5         # hue/saturation, RGB shift, gamma: other vendors' palettes
    grey: float = 0.1                 # single-energy scanners render greyscale
    noise: float = 0.2
    blur: float = 0.1
    jpeg: float = 0.1
    # Close-ups: an extra zoom into a random part of the scan, so that objects appear up to
    # zoom_range[1] times larger than the synthesiser draws them (real scanners image a handgun
    # at up to half the picture: GDXray's bags); objects under 40% visible are dropped.
    zoom: float = 0.0
    zoom_range: tuple[float, float] = (1.5, 2.5)


class TrainConfig(Strict):
    """Everything that decides a training run."""

    data: str = ""
    val: str | None = None
    out: str = ""
    model: str = "xscreen_s"
    input_size: int = 512
    epochs: int = 30
    minutes: float | None = None      # total wall-clock budget of the run, across resumes
    batch: int = 8
    lr: float = 2e-3
    weight_decay: float = 0.05
    warmup_steps: int = 300
    ema_decay: float = 0.9998
    seed: int = 0
    workers: int = 1                  # loader processes; 1 keeps up with 2 cores
    threads: int = 2
    checkpoint_minutes: float = 5.0
    val_every: int = 1                # epochs between validations
    init: str | None = None           # a bundle (with weights.pt) or a checkpoint to start from
    # Fine-tuning on a few new images: replay synthetic (or earlier) scans so that the classes
    # the new images lack are not forgotten; replay_ratio is their share of each epoch.
    replay: str | None = None
    replay_ratio: float = 0.5
    # Fine-tuning keeps more of what the parent knew when BatchNorm statistics stay as trained
    # (a few new images would shift them) and, optionally, the backbone stays as it is.
    freeze_norm: bool = False
    freeze_backbone: bool = False
    # xscreen_lite0 only: how many of EfficientNet-Lite0's seven stages (with the stem) keep
    # their ImageNet weights and statistics; None is the model's own default (3). Fewer adapt
    # more to the scans, more keep more of what ImageNet taught (7: the whole backbone, as
    # freeze_backbone). A training choice only: the bundle's graph is the same.
    frozen_stages: int | None = Field(default=None, ge=0, le=7)
    ema_ramp: float = 2000.0          # updates over which the EMA decay ramps up to ema_decay
    augment: AugmentConfig = Field(default_factory=AugmentConfig)
    # Rectangular batches: each image letterboxed as serving does (long side input_size, the
    # other padded to a multiple of 32 only), each batch padded to its largest image. A
    # 1000x700 scan trains at 512x384 instead of 512x512: a quarter less compute per image.
    # Turns augment.rotate90 off (a quarter turn would mix landscape and portrait in a batch).
    rect: bool = False
    # bfloat16 autocast of the forward pass (the losses stay float32): faster on CPUs with
    # AVX512-BF16 or AMX, and on GPUs; benchmarks/bench_train.py measures it.
    bf16: bool = False
    # Hook: online threat-image projection of threats into benign scans. Off until
    # xscreen.datasets.tip provides project_threat(...); see training/data.py.
    online_tip: bool = False
    tip_probability: float = 0.5
    # Keep the training scans decoded (shrunk to input_size) in a file-backed cache in the run
    # folder, removed when the run ends: later epochs skip the PNG decoding. Skipped with online
    # TIP (it draws into full-size scans) and where the cache would take over half the free disk.
    cache_images: bool = True
    # How head outputs meet the ground truth: "fcos" (centre sampling by level) or "tal"
    # (task-aligned assignment with quality focal loss); xscreen.models.losses explains both.
    assigner: str = "fcos"
    # Where the step runs: "auto" (a CUDA GPU when torch sees one, else the CPU), "cpu", "cuda"
    # or "cuda:N". The data loader, validation's scoring and checkpoints stay on the CPU.
    device: str = "auto"


FINETUNE_DEFAULTS: dict[str, Any] = {"lr": 5e-4, "warmup_steps": 30, "freeze_backbone": True,
                                     "freeze_norm": True, "replay_ratio": 0.75,
                                     "ema_decay": 0.99, "ema_ramp": 1.0}
"""What fine-tuning (``init`` given) uses where neither the YAML file nor the command line says.

Chosen by measurement (docs/retraining.md): teaching the default model a new gold concealment
from 80 seizure scans, a full fine-tune at this rate gained most on the new images (+0.74 AP50)
but lost 0.04-0.08 AP50 on every old class; freezing the backbone and the statistics, replaying
three old scans per new one and averaging the weights (with 40 cleared appliance scans among the
new data) kept the old classes within about 0.02 and still gained +0.35 on the new concealment,
in half the time per step."""


def load_config(yaml_path: str | Path | None = None,
                overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Defaults, then the YAML file, then ``overrides`` (``None`` values are skipped); with
    ``init``, :data:`FINETUNE_DEFAULTS` for the keys neither of them set."""
    # the file alone first, so that its mistakes are reported against its name
    from_file = TrainConfig() if yaml_path is None else parse_yaml_file(TrainConfig, yaml_path)
    values = from_file.model_dump(exclude_unset=True)     # what the file says, nothing more
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    merged = {**values, **given}
    if merged.get("init"):
        merged.update({k: v for k, v in FINETUNE_DEFAULTS.items()
                       if k not in values and k not in given})
    augment = dict(values.get("augment") or {})
    if merged.get("rect") and "rotate90" not in augment:
        # rect batches cannot mix orientations: quarter turns are off unless asked for (and
        # then refused by validate)
        merged["augment"] = {**augment, "rotate90": 0.0}
    config = parse(TrainConfig, merged, "command line" if given else str(yaml_path))
    validate(config)
    return config


def validate(config: TrainConfig) -> None:
    """Raise UsageError for values no run could use."""
    if config.input_size <= 0 or config.input_size % 32:
        raise UsageError(f"input_size must be a positive multiple of 32, got {config.input_size}")
    if config.epochs < 1 or config.batch < 1:
        raise UsageError(f"epochs and batch must be at least 1, got epochs {config.epochs}, "
                         f"batch {config.batch}")
    if config.minutes is not None and config.minutes <= 0:
        raise UsageError(f"minutes must be positive, got {config.minutes}")
    if config.ema_ramp <= 0 or not 0.0 < config.ema_decay < 1.0:
        raise UsageError(f"ema_decay must be in (0, 1) and ema_ramp positive, got "
                         f"{config.ema_decay} and {config.ema_ramp}")
    for name, value in config.augment.model_dump().items():
        if not isinstance(value, tuple) and not 0.0 <= value <= 1.0:
            raise UsageError(f"augment.{name} is a probability in [0, 1], got {value}")
    low, high = config.augment.zoom_range
    if not 1.0 <= low <= high:
        raise UsageError(f"augment.zoom_range must be [low, high] with 1 <= low <= high, got "
                         f"{list(config.augment.zoom_range)}")
    if config.rect and config.augment.rotate90 > 0:
        raise UsageError(f"rect batches need augment.rotate90: 0 (got {config.augment.rotate90}):"
                         " a quarter turn mixes landscape and portrait scans in one batch")
    if config.assigner not in ASSIGNERS:
        raise UsageError(f"assigner must be one of {', '.join(ASSIGNERS)}, got "
                         f"{config.assigner!r}")
    if not DEVICE_PATTERN.fullmatch(config.device):
        raise UsageError(f"device must be auto, cpu, cuda or cuda:N, got {config.device!r}")
    if not 0.0 <= config.replay_ratio < 1.0:
        raise UsageError(f"replay_ratio is the replayed share of each epoch, in [0, 1); got "
                         f"{config.replay_ratio}")


def config_to_dict(config: TrainConfig) -> dict[str, Any]:
    """A plain dict (tuples as lists) for YAML and checkpoints."""
    return config.model_dump(mode="json")


def config_from_dict(values: dict[str, Any], source: str = "saved config") -> TrainConfig:
    """The inverse of :func:`config_to_dict`: ``values`` checked as a :class:`TrainConfig`."""
    return parse(TrainConfig, values, source, UsageError)


def replace_config(config: TrainConfig, **changes: Any) -> TrainConfig:
    """A checked copy of ``config`` with ``changes`` (the models are frozen)."""
    return config_from_dict({**config_to_dict(config), **changes}, "changed config")


def save_config(config: TrainConfig, path: str | Path) -> None:
    """Write the resolved configuration as YAML, atomically: a run killed while writing keeps
    the config.yaml it had (resume reads it)."""
    text = yaml.safe_dump(config_to_dict(config), sort_keys=False)
    with atomic_writer(path, "w") as handle:
        handle.write(text)
