"""The training loop: AdamW, warmup then cosine, EMA weights, timed checkpoints, resume.

A run folder holds ``config.yaml`` (the resolved configuration), ``last.pt`` (resume state),
``best.pt`` (EMA weights with the best validation mAP50), ``log.csv`` and ``curves.png``. Starting
``xscreen train`` again on a folder holding ``last.pt`` resumes where it stopped, even after
``kill -9``: checkpoints are written atomically and the epoch's sample order is reproducible.

Fine-tuning with ``replay``: each epoch holds every new image once plus replayed scans drawn
afresh (``replay_ratio`` of the epoch), shuffled together. Under ``torchrun`` each rank takes its
own slice of the epoch (:mod:`xscreen.training.distributed`).
"""

from __future__ import annotations

import math
import random
import shlex
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Sampler
from tqdm import tqdm

from xscreen.datasets.coco import Dataset
from xscreen.models.backbones import backbone_weights_source
from xscreen.models.detector import Detector
from xscreen.models.losses import Targets, detection_loss
from xscreen.training import logbook
from xscreen.training.checkpoint import best_weights_state, save_checkpoint
from xscreen.training.config import TrainConfig, config_to_dict, load_config
from xscreen.training.data import DetectionDataset, collate
from xscreen.training.distributed import (
    SINGLE_PROCESS,
    World,
    agree_max,
    average_buffers,
    device_description,
    gather_digests,
    weights_digest,
)
from xscreen.training.setup import TrainingParts, build_parts, enter_training_mode
from xscreen.training.train_cli import flag_overrides
from xscreen.training.validate import validation_map50


@dataclass
class Progress:
    """Where a run stands; saved in ``last.pt``."""

    step: int = 0
    epoch: int = 0                 # the epoch in progress (0-based)
    batch_in_epoch: int = 0        # batches of that epoch already trained
    elapsed_s: float = 0.0         # training wall-clock time over all sessions
    best_map50: float = -1.0


def replayed_count(new_size: int, replay_size: int, ratio: float) -> int:
    """How many replayed scans an epoch holds so that they are ``ratio`` of it."""
    if replay_size == 0 or ratio <= 0:
        return 0
    return min(replay_size, round(new_size * ratio / (1 - ratio)))


def epoch_order(new_size: int, seed: int, epoch: int, replay_size: int = 0,
                ratio: float = 0.0) -> list[int]:
    """The sample order of one epoch, seeded by (seed, epoch): a permutation of the new images
    and, with replay, of them and :func:`replayed_count` replayed ones (indices from
    ``new_size`` on), drawn afresh each epoch."""
    generator = torch.Generator().manual_seed(seed * 100_003 + epoch)
    replayed = replayed_count(new_size, replay_size, ratio)
    if not replayed:
        return list(torch.randperm(new_size, generator=generator).tolist())
    picks = torch.randperm(replay_size, generator=generator)[:replayed] + new_size
    order = torch.cat([torch.arange(new_size), picks])
    return list(order[torch.randperm(len(order), generator=generator)].tolist())


class EpochSampler(Sampler[int]):
    """One rank's slice of an epoch's order, skipping the first ``start`` samples on resume.

    :meth:`set_order` gives it the next epoch's order, so that one loader (and its worker
    processes) serves the whole run."""

    def __init__(self, order: list[int], start: int = 0, world: World = SINGLE_PROCESS) -> None:
        self.world = world
        self.order: list[int] = []
        self.set_order(order, start)

    def set_order(self, order: list[int], start: int = 0) -> None:
        per_rank = len(order) // self.world.size          # equal slices: ranks step together
        self.order = order[self.world.rank::self.world.size][:per_rank][start:]

    def __iter__(self) -> Iterator[int]:
        return iter(self.order)

    def __len__(self) -> int:
        return len(self.order)


def learning_rate(config: TrainConfig, step: int, progress: float) -> float:
    """Linear warmup over ``warmup_steps``, then cosine from ``lr`` down to 5% of it."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    cosine = 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
    return config.lr * (0.05 + 0.95 * cosine)


_NOT_RESULTS = frozenset({"threads", "device", "checkpoint_minutes", "cache_images"})
"""Configuration keys that change how fast a run goes, not what it learns."""


def command_line(config: TrainConfig) -> str:
    """An ``xscreen train`` command that repeats this run: its flags, and ``--config
    RUN/config.yaml`` (the resolved configuration the run saved) when the flags alone would
    not give the same configuration (a recipe's augmentations, frozen stages, ...)."""
    parts = ["xscreen", "train", "--data", config.data]
    if config.val:
        parts += ["--val", config.val]
    parts += ["--out", config.out, "--epochs", str(config.epochs)]
    if config.minutes is not None:
        parts += ["--minutes", f"{config.minutes:g}"]
    # the learning rate and assigner always: a later default must not change what this repeats
    parts += ["--seed", str(config.seed), "--batch", str(config.batch), "--model", config.model,
              "--input-size", str(config.input_size), "--lr", f"{config.lr:g}",
              "--assigner", config.assigner]
    if config.init:
        parts += ["--init", config.init]
    if config.replay:
        parts += ["--replay", config.replay, "--replay-ratio", f"{config.replay_ratio:g}"]
    parts += [flag for flag, on in (("--rect", config.rect), ("--bf16", config.bf16)) if on]
    # what these flags give, read by the command line's own parser
    flags_alone = config_to_dict(load_config(None, flag_overrides(parts[2:])))
    if any(value != flags_alone.get(key) for key, value in config_to_dict(config).items()
           if key not in _NOT_RESULTS):
        parts += ["--config", str(Path(config.out) / "config.yaml")]
    return shlex.join(parts)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _worker_init(worker_id: int) -> None:
    """Each loader worker: one torch thread (the main process owns the cores), its own seed.

    The seed also goes to the augmentations: albumentations draws from generators made when the
    pipeline was built, in the parent, so every forked worker would otherwise repeat the same
    flips, zooms and colour shifts as the others."""
    torch.set_num_threads(1)
    seed = torch.initial_seed() % 2**32    # the loader's base seed + worker_id: its own
    np.random.seed(seed)
    info = torch.utils.data.get_worker_info()
    datasets = getattr(info.dataset, "datasets", [info.dataset]) if info is not None else []
    for dataset in datasets:
        if isinstance(dataset, DetectionDataset):
            dataset.reseed(seed)


class TrainingLoop:
    """Trains the model of ``parts`` as ``config`` says, writing into ``run_dir``.

    It runs the loop (steps, learning rate, clock, validation, checkpoints); what it steps is
    built beforehand, once, by :func:`xscreen.training.setup.build_parts`."""

    def __init__(self, config: TrainConfig, parts: TrainingParts, run_dir: Path, *,
                 lineage: dict[str, Any] | None = None) -> None:
        self.config = config
        self.parts = parts
        # the parts the loop uses most, by name
        self.model, self.ema, self.optimizer = parts.model, parts.ema, parts.optimizer
        self.world, self.device = parts.world, parts.device
        self.run_dir = run_dir
        self.lineage = lineage or {}
        self.progress = Progress()
        data, world = parts.data, parts.world
        epoch_size = len(data.new) + replayed_count(len(data.new), data.replay_size,
                                                    config.replay_ratio)
        self.batch_size = max(1, min(config.batch, epoch_size // world.size))
        self.steps_per_epoch = max(1, epoch_size // world.size // self.batch_size)
        self.total_steps = self.steps_per_epoch * config.epochs
        self._clock = time.monotonic()
        self._epoch_loader: DataLoader | None = None

    # --- state ----------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "ema": self.ema.state_dict(),
                "optimizer": self.optimizer.state_dict(), "progress": vars(self.progress),
                "config": config_to_dict(self.config), "rng": torch.get_rng_state(),
                "classes": list(self.parts.data.new.dataset.classes), "lineage": self.lineage}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.ema.load_state_dict(state["ema"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.progress = Progress(**state["progress"])
        torch.set_rng_state(state["rng"])

    def save_last(self) -> None:
        if self.world.is_main:
            save_checkpoint(self.state_dict(), self.run_dir / "last.pt")

    def save_best(self, map50: float | None) -> None:
        if not self.world.is_main:
            return
        extra = {"step": self.progress.step, "val_map50": map50,
                 "config": config_to_dict(self.config), "command": command_line(self.config),
                 "data_info": self.parts.data.new.dataset.coco.get("info"),
                 "lineage": self.lineage,
                 "ranks": self.world.size, "device": device_description(self.device),
                 "pretrained": backbone_weights_source(self.model)}   # for the model card
        state = best_weights_state(self.ema.module.state_dict(), model_name=self.config.model,
                                   input_size=self.config.input_size,
                                   classes=self.parts.data.new.dataset.classes,
                                   extra=extra)
        save_checkpoint(state, self.run_dir / "best.pt")

    # --- loop -----------------------------------------------------------------------------

    def run_step(self, images: Tensor, targets: list[Targets]) -> dict[str, float]:
        """One optimisation step on images in 0-1 (or 0-255 bytes); returns the losses."""
        enter_training_mode(self.model, self.parts.frozen_norms)
        images = images.to(self.device, non_blocking=True)
        if images.dtype == torch.uint8:   # the loader's bytes (DetectionDataset uint8)
            images = images.float().div_(255)
        images = images.contiguous(memory_format=torch.channels_last)
        if self.device.type != "cpu":
            targets = [Targets(t.boxes.to(self.device, non_blocking=True),
                               t.labels.to(self.device, non_blocking=True)) for t in targets]
        if self.config.bf16:
            with torch.autocast(images.device.type, dtype=torch.bfloat16):
                outputs = self.parts.step_model(images)
            outputs = outputs.to_float()
        else:
            outputs = self.parts.step_model(images)
        losses = detection_loss(outputs, targets, self.config.assigner)
        total = sum(losses.values(), torch.zeros((), device=self.device))
        self.optimizer.zero_grad(set_to_none=True)
        total.backward()
        nn.utils.clip_grad_norm_(self.model.parameters(), max_norm=10.0)
        self.optimizer.step()
        average_buffers(self.model, self.world)
        self.ema.update(self.model)
        return {"loss": total.item(), **{f"loss_{k}": v.item() for k, v in losses.items()}}

    def budget_fraction(self) -> float:
        """How far along the run is: by steps, or by the time budget if that is further."""
        by_steps = self.progress.step / self.total_steps
        return max(by_steps, self.time_fraction())

    def time_fraction(self) -> float:
        """The share of the ``--minutes`` budget spent (0 without a budget)."""
        if self.config.minutes is None:
            return 0.0
        return self.progress.elapsed_s / (60 * self.config.minutes)

    def finished(self) -> bool:
        return self.progress.epoch >= self.config.epochs or self.time_fraction() >= 1.0

    def train(self) -> Progress:
        """Train until the epochs or the time budget run out; checkpoint on the way."""
        self._clock = time.monotonic()
        bar = tqdm(total=self.total_steps, initial=self.progress.step, unit="step",
                   dynamic_ncols=True, mininterval=2.0, disable=not self.world.is_main)
        try:
            while not self._finished_on_every_rank():
                self._train_epoch(bar)
        finally:
            bar.close()
        if self.progress.batch_in_epoch:  # stopped by the time budget inside an epoch
            self._log({}, val_map50=self._validate())
        self.save_last()
        self._epoch_loader = None   # its worker processes end
        for cache in self.parts.data.caches:
            cache.remove()
        if self.parts.data.val_set is None or self.progress.best_map50 < 0:
            self.save_best(None)
        if self.world.is_main:
            logbook.plot_curves(self.run_dir / "log.csv", self.run_dir / "curves.png")
        self.check_ranks_agree()
        return self.progress

    def check_ranks_agree(self) -> str:
        """Under torchrun: every rank must end with the same weights (a digest each, printed);
        RuntimeError when they do not. Returns this rank's digest."""
        digest = weights_digest(self.model, self.ema.module)
        if not self.world.distributed:
            return digest
        digests = gather_digests(digest, self.world)
        print(f"rank {self.world.rank} of {self.world.size}: weights sha256 {digest}",
              file=sys.stderr, flush=True)
        if len(set(digests)) != 1:
            raise RuntimeError(f"the ranks ended with different weights ({digests}); "
                               "data-parallel training went wrong")
        return digest

    def _finished_on_every_rank(self) -> bool:
        self._tick()
        self._sync_clock()
        return self.finished()

    def _sync_clock(self) -> None:
        """Ranks adopt the slowest one's elapsed time: the same learning rate, the same stop."""
        self.progress.elapsed_s = agree_max(self.progress.elapsed_s, self.world)

    def _loader(self) -> DataLoader:
        """The loader of the epoch in progress. One loader serves the whole run, its sampler
        given each epoch's order, so that worker processes start once, not once an epoch (a
        GPU run of hundreds of short epochs would spend minutes starting them)."""
        start = self.progress.batch_in_epoch * self.batch_size
        order = epoch_order(len(self.parts.data.new), self.config.seed, self.progress.epoch,
                            self.parts.data.replay_size, self.config.replay_ratio)
        if self._epoch_loader is not None:
            sampler = self._epoch_loader.sampler
            assert isinstance(sampler, EpochSampler)
            sampler.set_order(order, start)
            return self._epoch_loader
        # cv2's thread pool must not exist when the workers fork: a forked child that touches
        # it waits forever for threads that were not copied. One cv2 thread, set in the parent.
        cv2.setNumThreads(1)
        workers = self.config.workers
        self._epoch_loader = DataLoader(
            self.parts.data.train, batch_size=self.batch_size, sampler=EpochSampler(
                order, start, self.world), collate_fn=collate, drop_last=True,
            num_workers=workers, worker_init_fn=_worker_init if workers else None,
            persistent_workers=workers > 0, pin_memory=self.device.type == "cuda",
            prefetch_factor=4 if workers and self.device.type == "cuda" else None)
        return self._epoch_loader

    def _train_epoch(self, bar: tqdm) -> None:
        last_checkpoint = time.monotonic()
        window_start, window_images = time.monotonic(), 0
        losses: dict[str, float] = {}
        for images, targets in self._loader():
            self._set_learning_rate()
            losses = self.run_step(images, targets)
            self.progress.step += 1
            self.progress.batch_in_epoch += 1
            self._tick()
            self._sync_clock()
            window_images += len(images)
            bar.update(1)
            bar.set_postfix(loss=f"{losses['loss']:.3f}", epoch=self.progress.epoch)
            if self.progress.step % 20 == 0:
                speed = window_images / max(time.monotonic() - window_start, 1e-9)
                self._log(losses, images_per_s=speed)
                window_start, window_images = time.monotonic(), 0
            if time.monotonic() - last_checkpoint > 60 * self.config.checkpoint_minutes:
                self.save_last()
                last_checkpoint = time.monotonic()
            if self.time_fraction() >= 1.0:
                return
        self._end_epoch(losses)

    def _end_epoch(self, losses: dict[str, float]) -> None:
        self.progress.epoch += 1
        self.progress.batch_in_epoch = 0
        map50 = float("nan")
        if self.progress.epoch % self.config.val_every == 0 or self.finished():
            map50 = self._validate()
        self._log(losses, val_map50=map50)
        self.save_last()

    def _validate(self) -> float:
        """Validate the EMA weights; keep them as best.pt when they beat the best so far
        (rank 0 alone: the others' weights are the same)."""
        data = self.parts.data
        if data.val_set is None or not self.world.is_main:
            return float("nan")
        # Validated as training sees the scans: serving's letterbox with --rect, bfloat16 with
        # --bf16 (mAP within noise of float32's; about 4x faster than square float32 here)
        map50 = validation_map50(self.ema.module, data.val_set, self.config.input_size,
                                 rect=self.config.rect, bf16=self.config.bf16,
                                 cache=data.val_cache)
        if map50 > self.progress.best_map50:
            self.progress.best_map50 = map50
            self.save_best(map50)
        self._tick()
        return map50

    def _tick(self) -> None:
        """Add the wall-clock time since the last tick to the run's elapsed time."""
        now = time.monotonic()
        self.progress.elapsed_s += now - self._clock
        self._clock = now

    def _set_learning_rate(self) -> None:
        rate = learning_rate(self.config, self.progress.step, self.budget_fraction())
        for group in self.optimizer.param_groups:
            group["lr"] = rate

    def _log(self, losses: dict[str, float], **extra: float) -> None:
        if not self.world.is_main:
            return
        row = {"epoch": self.progress.epoch, "step": self.progress.step,
               "lr": self.optimizer.param_groups[0]["lr"],
               "elapsed_s": round(self.progress.elapsed_s, 1), **losses, **extra}
        logbook.append_row(self.run_dir / "log.csv", row)


class Trainer(TrainingLoop):
    """The training loop over ``model`` and data sets, its parts built by
    :func:`~xscreen.training.setup.build_parts` (what ``xscreen train`` runs)."""

    def __init__(self, config: TrainConfig, model: Detector, train_set: Dataset,
                 val_set: Dataset | None, run_dir: Path, *, replay_set: Dataset | None = None,
                 world: World = SINGLE_PROCESS, lineage: dict[str, Any] | None = None,
                 device: torch.device | None = None) -> None:
        parts = build_parts(config, model, train_set, val_set, run_dir, replay_set=replay_set,
                            world=world, device=device)
        super().__init__(config, parts, run_dir, lineage=lineage)
