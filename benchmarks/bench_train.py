"""Training throughput on this CPU: images per second of one optimisation step, per variant.

Variants, timed in interleaved rounds on the same augmented batches so that machine noise hits
them alike (the first is the baseline every other is compared with):

- ``square``: the default, every scan letterboxed into a square ``--size`` input;
- ``rect``: ``xscreen train --rect``, the serving letterbox (a 10:7 scan: 512x384), batches
  padded to their largest image;
- ``square+bf16`` / ``rect+bf16``: the same under ``torch.autocast("cpu", torch.bfloat16)``
  (CPUs with AVX512-BF16 or AMX run bfloat16 convolutions faster; elsewhere it may be slower).

    python benchmarks/bench_train.py [--data var/data/train] [--model xscreen_s] [--size 512]
        [--batch 8] [--batches 6] [--rounds 3] [--threads 2] [--loader 200]

It times ``Trainer.run_step`` (forward, loss, backward, AdamW, EMA). The data loader runs beside
it in its own process during training and takes CPU from it; ``--loader`` also times one
augmented ``--rect`` sample, decoded from its PNG (the baseline) and read back from the run's
decoded-scan cache (``training.data.ImageCache``, every epoch after the first), on one core.
Report the machine with the figures.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import torch

from xscreen.datasets.coco import Dataset, load_dataset
from xscreen.models.detector import build_model
from xscreen.models.losses import Targets
from xscreen.training.config import AugmentConfig, TrainConfig
from xscreen.training.data import DetectionDataset, ImageCache, collate
from xscreen.training.trainer import Trainer

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


def trainer(model_name: str, bf16: bool, dataset: Dataset, run_dir: Path) -> Trainer:
    """The training code's own :class:`Trainer` (its ``run_step`` is what gets timed)."""
    torch.manual_seed(0)
    config = TrainConfig(data=str(dataset.root), out=str(run_dir), model=model_name, bf16=bf16,
                         threads=torch.get_num_threads(), cache_images=False)
    return Trainer(config, build_model(model_name), dataset, None, run_dir)


def loader_times(data: Path, size: int, samples: int) -> dict[str, float]:
    """Milliseconds per augmented rect sample: decoded from the PNG, and from a warm cache."""
    cv2.setNumThreads(1)
    dataset = load_dataset(data)
    count = min(samples, len(dataset.images))
    with tempfile.TemporaryDirectory(prefix="bench-loader-") as folder:
        cache = ImageCache(Path(folder) / "cache", dataset, size)
        variants = {"decoded": DetectionDataset(dataset, size, AugmentConfig(rotate90=0.0),
                                                rect=True),
                    "cached": DetectionDataset(dataset, size, AugmentConfig(rotate90=0.0),
                                               rect=True, cache=cache)}
        for index in range(count):                 # fill the cache (the first epoch's work)
            variants["cached"][index]
        times = {}
        for name, samples_of in variants.items():
            started = time.perf_counter()
            for index in range(count):
                samples_of[index]
            times[name] = 1000 * (time.perf_counter() - started) / count
        cache.remove()
    return times


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
    parser.add_argument("--loader", type=int, default=0, metavar="N",
                        help="also time the loader on N samples, decoded and cached")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.loader:
        times = loader_times(args.data, args.size, args.loader)
        print(f"loader, one augmented rect sample on one core ({args.loader} samples): decoded "
              f"{times['decoded']:.1f} ms, cached {times['cached']:.1f} ms "
              f"({times['decoded'] / times['cached']:.1f}x)")
    data = {rect: batches(args.data, args.size, args.batch, args.batches, rect, 0)
            for rect in (False, True)}
    shapes = {rect: sorted({tuple(b[0].shape[2:]) for b in data[rect]}) for rect in data}
    print(f"{platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{args.threads} threads; {args.model}, batch {args.batch}; input shapes: square "
          f"{shapes[False]}, rect {shapes[True]}")
    dataset = load_dataset(args.data)
    run_dir = Path(tempfile.mkdtemp(prefix="bench-train-"))
    steppers = {name: trainer(args.model, "bf16" in name, dataset, run_dir)
                for name in args.variants}
    for name, stepper in steppers.items():            # warm-up: allocator, oneDNN kernels
        stepper.run_step(*data["rect" in name][0])
    rates: dict[str, list[float]] = {name: [] for name in args.variants}
    for _ in range(args.rounds):
        for name, stepper in steppers.items():
            started = time.perf_counter()
            for images, targets in data["rect" in name]:
                stepper.run_step(images, targets)
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
