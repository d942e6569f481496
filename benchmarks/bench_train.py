"""Training throughput on this CPU: images per second of one optimisation step, per variant.

Variants, timed in interleaved rounds on the same augmented batches so that machine noise hits
them alike (the first is the baseline every other is compared with):

- ``square``: the default, every scan letterboxed into a square ``--size`` input;
- ``rect``: ``xscreen train --rect``, the serving letterbox (a 10:7 scan: 512x384), batches
  padded to their largest image;
- ``square+bf16`` / ``rect+bf16``: the same under ``torch.autocast("cpu", torch.bfloat16)``
  (CPUs with AVX512-BF16 or AMX run bfloat16 convolutions faster; elsewhere it may be slower).

    python benchmarks/bench_train.py [--data var/data/train] [--model xscreen_s] [--size 512]
        [--batch 8] [--batches 6] [--rounds 3] [--threads 2]

It times the step only (forward, loss, backward, AdamW, EMA), not the data loader, which
runs beside it in its own process during training. Report the machine with the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from xscreen.datasets.coco import load_dataset
from xscreen.models.detector import build_model
from xscreen.models.losses import Targets, detection_loss
from xscreen.training.config import AugmentConfig, TrainConfig
from xscreen.training.data import DetectionDataset, collate
from xscreen.training.ema import ModelEma
from xscreen.training.trainer import build_optimizer

VARIANTS = ("square", "rect", "square+bf16", "rect+bf16")


def batches(data: Path, size: int, batch: int, count: int, rect: bool,
            seed: int) -> list[tuple[torch.Tensor, list[Targets]]]:
    """``count`` augmented batches (rotate90 off for both, so they hold the same scans)."""
    dataset = load_dataset(data)
    samples = DetectionDataset(dataset, size, AugmentConfig(rotate90=0.0), rect=rect)
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(samples), generator=generator)[:batch * count].tolist()
    return [collate([samples[i] for i in order[k * batch:(k + 1) * batch]])
            for k in range(count)]


class Stepper:
    """A model, optimiser and EMA taking training steps, optionally under bfloat16 autocast."""

    def __init__(self, model_name: str, bf16: bool) -> None:
        torch.manual_seed(0)
        self.model = build_model(model_name).to(memory_format=torch.channels_last).train()
        self.optimizer = build_optimizer(self.model, TrainConfig())
        self.ema = ModelEma(self.model)
        self.bf16 = bf16

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.bf16:
            return torch.autocast("cpu", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def step(self, images: torch.Tensor, targets: list[Targets]) -> float:
        images = images.contiguous(memory_format=torch.channels_last)
        with self._autocast():
            outputs = self.model(images)
        losses = detection_loss(outputs.to_float(), targets)
        total = sum(losses.values(), torch.zeros(()))
        self.optimizer.zero_grad(set_to_none=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), max_norm=10.0)
        self.optimizer.step()
        self.ema.update(self.model)
        return float(total.item())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("var/data/train"))
    parser.add_argument("--model", default="xscreen_s")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--batches", type=int, default=6, help="timed batches per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    data = {rect: batches(args.data, args.size, args.batch, args.batches, rect, 0)
            for rect in (False, True)}
    shapes = {rect: sorted({tuple(b[0].shape[2:]) for b in data[rect]}) for rect in data}
    print(f"{platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{args.threads} threads; {args.model}, batch {args.batch}; input shapes: square "
          f"{shapes[False]}, rect {shapes[True]}")
    steppers = {name: Stepper(args.model, "bf16" in name) for name in args.variants}
    for name, stepper in steppers.items():            # warm-up: allocator, oneDNN kernels
        stepper.step(*data["rect" in name][0])
    rates: dict[str, list[float]] = {name: [] for name in args.variants}
    for _ in range(args.rounds):
        for name, stepper in steppers.items():
            started = time.perf_counter()
            for images, targets in data["rect" in name]:
                stepper.step(images, targets)
            rates[name].append(args.batch * args.batches / (time.perf_counter() - started))
    baseline = max(rates[args.variants[0]])
    print(f"\n{'variant':<14}{'best img/s':>12}{'median':>10}{'vs ' + args.variants[0]:>14}")
    for name in args.variants:
        best = max(rates[name])
        print(f"{name:<14}{best:>12.1f}{statistics.median(rates[name]):>10.1f}"
              f"{best / baseline:>13.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
