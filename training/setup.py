"""What a training loop works with, built once: the model on its device, the data, the EMA, the
optimiser and, under ``torchrun``, the data-parallel wrapper.

:class:`xscreen.training.trainer.Trainer` runs the loop over a :class:`TrainingParts`;
:func:`build_parts` makes one from a model and data sets. Each part has its own small function,
so a test or a benchmark can build, or replace, one alone.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import ConcatDataset
from torch.utils.data import Dataset as TorchDataset

from xscreen.datasets.coco import Dataset
from xscreen.models.detector import Detector
from xscreen.models.preprocess import STRIDE
from xscreen.training.config import TrainConfig
from xscreen.training.data import (
    DetectionDataset,
    ImageCache,
    letterbox_stride,
    load_threat_projector,
)
from xscreen.training.distributed import SINGLE_PROCESS, World
from xscreen.training.ema import ModelEma


@dataclass
class TrainingData:
    """The datasets a run trains and validates on, and the image caches behind them."""

    new: DetectionDataset              # every training image (fine-tuning: the new ones)
    train: TorchDataset                # ``new``, then the replayed scans when there are any
    replay_size: int                   # replayed scans to draw from (0 without replay)
    val_set: Dataset | None
    val_cache: ImageCache | None       # rank 0 alone validates, so only it has one
    caches: list[ImageCache] = field(default_factory=list)   # removed when the run ends


@dataclass
class TrainingParts:
    """Everything :class:`~xscreen.training.trainer.Trainer` steps, saves and validates."""

    model: Detector                    # on its device, channels-last; what checkpoints hold
    step_model: nn.Module              # ``model``, or DDP around it under torchrun
    frozen_norms: list[_BatchNorm]     # BatchNorm layers kept in eval mode while training
    ema: ModelEma
    optimizer: torch.optim.Optimizer
    data: TrainingData
    world: World
    device: torch.device


def prepare_model(model: Detector, config: TrainConfig, device: torch.device) -> Detector:
    """``model`` on ``device``, channels-last, its backbone frozen when the config says so."""
    # channels-last runs the convolutions about a third faster on CPU (oneDNN), and is what
    # GPU tensor cores want too.
    model = model.to(device, memory_format=torch.channels_last)
    if config.freeze_backbone:
        for parameter in model.backbone.parameters():
            parameter.requires_grad_(False)
    return model


def frozen_norm_layers(model: nn.Module, config: TrainConfig) -> list[_BatchNorm]:
    """The BatchNorm layers whose running statistics must stay as the parent learnt them: all
    of them with ``freeze_norm``; with ``freeze_backbone``, those without trainable weights."""
    if not (config.freeze_norm or config.freeze_backbone):
        return []
    return [module for module in model.modules() if isinstance(module, _BatchNorm)
            and (config.freeze_norm
                 or not any(p.requires_grad for p in module.parameters(recurse=False)))]


def enter_training_mode(model: nn.Module, frozen_norms: list[_BatchNorm]) -> None:
    """``model`` in training mode with ``frozen_norms`` in eval mode, changing modes only when
    they are not so already (a walk over every module costs a step about a millisecond)."""
    if model.training and not any(norm.training for norm in frozen_norms):
        return
    model.train()
    for norm in frozen_norms:
        norm.eval()   # running statistics stay as the parent learnt them


def build_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """AdamW over the trainable parameters; biases and normalisation weights are not decayed."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    decayed = [p for p in trainable if p.ndim > 1]
    plain = [p for p in trainable if p.ndim <= 1]
    return torch.optim.AdamW([{"params": decayed, "weight_decay": config.weight_decay},
                              {"params": plain, "weight_decay": 0.0}], lr=config.lr)


def wrap_for_ranks(model: nn.Module, world: World) -> nn.Module:
    """Under torchrun, DDP around ``model`` (gradients averaged over the ranks); else itself.

    EMA and checkpoints use the plain module, which DDP keeps identical on every rank."""
    if not world.distributed:
        return model
    return DistributedDataParallel(model, forward_sync_buffers=False)


def image_cache(config: TrainConfig, run_dir: Path, world: World, name: str,
                dataset: Dataset) -> ImageCache | None:
    """A decoded-image cache for ``dataset`` in the run folder, when the config allows one and
    the disk has room for it (twice its size free)."""
    if not config.cache_images or config.online_tip:
        return None
    folder = run_dir / "image-cache" / f"{name}-rank{world.rank}"
    size = len(dataset.images) * config.input_size ** 2 * 3
    run_dir.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(run_dir).free
    if not folder.exists() and 2 * size > free:
        print(f"image cache for {name} skipped: it needs {size / 2**30:.1f} GiB and "
              f"{free / 2**30:.1f} GiB are free", file=sys.stderr)
        return None
    return ImageCache(folder, dataset, config.input_size)


def build_data(config: TrainConfig, train_set: Dataset, val_set: Dataset | None, run_dir: Path,
               *, replay_set: Dataset | None = None,
               world: World = SINGLE_PROCESS, stride: int = STRIDE) -> TrainingData:
    """The augmented training datasets (new, then replayed scans, letterboxed to multiples of
    ``stride``) and the validation set."""
    projector = load_threat_projector() if config.online_tip else None
    caches: list[ImageCache] = []

    def augmented(name: str, dataset: Dataset) -> DetectionDataset:
        cache = image_cache(config, run_dir, world, name, dataset)
        caches.extend([cache] if cache is not None else [])
        # the replayed scans draw their own augmentations, not the new scans' sequence again
        seed = config.seed + (1 if name == "replay" else 0)
        return DetectionDataset(dataset, config.input_size, config.augment, projector,
                                config.tip_probability, seed, config.rect, cache,
                                uint8=True, stride=stride)

    new = augmented("train", train_set)
    train: TorchDataset = new if replay_set is None else ConcatDataset(
        [new, augmented("replay", replay_set)])
    val_cache = None
    if val_set is not None and world.is_main:
        val_cache = image_cache(config, run_dir, world, "val", val_set)
        caches.extend([val_cache] if val_cache is not None else [])
    return TrainingData(new, train, len(replay_set.images) if replay_set is not None else 0,
                        val_set, val_cache, caches)


def build_parts(config: TrainConfig, model: Detector, train_set: Dataset,
                val_set: Dataset | None, run_dir: Path, *, replay_set: Dataset | None = None,
                world: World = SINGLE_PROCESS,
                device: torch.device | None = None) -> TrainingParts:
    """Everything a :class:`~xscreen.training.trainer.Trainer` needs, each part made once."""
    device = device or torch.device("cpu")
    model = prepare_model(model, config, device)
    ema = ModelEma(model, config.ema_decay, config.ema_ramp)
    optimizer = build_optimizer(model, config)
    step_model = wrap_for_ranks(model, world)
    data = build_data(config, train_set, val_set, run_dir, replay_set=replay_set, world=world,
                      stride=letterbox_stride(model))
    frozen_norms = frozen_norm_layers(model, config)
    model.train()           # every module, once: later steps change modes only when they must
    enter_training_mode(model, frozen_norms)
    return TrainingParts(model, step_model, frozen_norms, ema, optimizer, data, world, device)
