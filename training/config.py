"""Typed training configuration: defaults here, a YAML overlay, then command-line overrides.

Unknown keys are errors (a typo must not silently train with a default). The resolved
configuration is written to ``RUN/config.yaml`` so that every run can be repeated.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from xscreen.errors import UsageError


@dataclass
class AugmentConfig:
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


@dataclass
class TrainConfig:
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
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    # Hook: online threat-image projection of threats into benign scans. Off until
    # xscreen.datasets.tip provides project_threat(...); see training/data.py.
    online_tip: bool = False
    tip_probability: float = 0.5


def _overlay(instance: Any, values: dict[str, Any], where: str) -> Any:
    """A copy of dataclass ``instance`` with ``values`` applied; unknown keys raise UsageError."""
    known = {f.name: f for f in dataclasses.fields(instance)}
    changes: dict[str, Any] = {}
    for key, value in values.items():
        if key not in known:
            raise UsageError(f"{where}: unknown key {key!r}; known keys: {', '.join(known)}")
        current = getattr(instance, key)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, dict):
                raise UsageError(f"{where}: {key!r} must be a mapping")
            value = _overlay(current, value, f"{where}.{key}")
        elif isinstance(current, tuple) and isinstance(value, list):
            value = tuple(value)
        changes[key] = value
    return dataclasses.replace(instance, **changes)


def load_config(yaml_path: str | Path | None = None,
                overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Defaults, then the YAML file, then ``overrides`` (``None`` values are skipped)."""
    config = TrainConfig()
    if yaml_path is not None:
        path = Path(yaml_path)
        if not path.is_file():
            raise UsageError(f"config file {path} does not exist")
        try:
            values = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as error:
            raise UsageError(f"{path} is not valid YAML: {error}") from None
        if not isinstance(values, dict):
            raise UsageError(f"{path} must hold a mapping of config keys")
        config = _overlay(config, values, str(path))
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    config = _overlay(config, given, "command line")
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


def config_to_dict(config: TrainConfig) -> dict[str, Any]:
    """A plain dict (tuples as lists) for YAML and checkpoints."""
    def plain(value: Any) -> Any:
        if isinstance(value, tuple):
            return list(value)
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value
    return {k: plain(v) for k, v in dataclasses.asdict(config).items()}


def config_from_dict(values: dict[str, Any]) -> TrainConfig:
    """The inverse of :func:`config_to_dict`."""
    return _overlay(TrainConfig(), values, "saved config")


def save_config(config: TrainConfig, path: str | Path) -> None:
    """Write the resolved configuration as YAML."""
    Path(path).write_text(yaml.safe_dump(config_to_dict(config), sort_keys=False))
