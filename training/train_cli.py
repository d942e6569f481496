"""``xscreen train``: train or fine-tune a detector; rerun on the same ``--out`` to resume.

The same command runs data-parallel under ``torchrun`` (``torchrun --standalone --nproc-per-node
N -m xscreen.cli train ...``); see :mod:`xscreen.training.distributed`.
"""

from __future__ import annotations

import argparse
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="training dataset folder (COCO)")
    parser.add_argument("--val", help="validation dataset folder; best.pt is chosen on it")
    parser.add_argument("--out", required=True, help="run folder (resumed if it holds last.pt)")
    parser.add_argument("--epochs", type=int, help="epochs to train (default 30)")
    parser.add_argument("--minutes", type=float,
                        help="wall-clock budget of the whole run, across resumes")
    parser.add_argument("--init", help="fine-tune from a bundle (with weights.pt) or a "
                                       "checkpoint: its classes kept, new ones appended")
    parser.add_argument("--replay", help="dataset replayed while fine-tuning (e.g. synthetic "
                                         "scans of every class), so old classes are not forgotten")
    parser.add_argument("--replay-ratio", type=float, dest="replay_ratio",
                        help="replayed share of each epoch, in [0, 1) (default 0.5; 0.75 "
                             "when fine-tuning)")
    parser.add_argument("--lr", type=float,
                        help="peak learning rate (default 0.002; 0.0005 when fine-tuning)")
    parser.add_argument("--config", help="YAML file overlaying the defaults")
    parser.add_argument("--seed", type=int, help="random seed (default 0)")
    parser.add_argument("--batch", type=int, help="images per step (default 8)")
    parser.add_argument("--model", help="architecture (default xscreen_s)")
    parser.add_argument("--input-size", type=int, dest="input_size",
                        help="long side of the model input, a multiple of 32 (default 512)")
    parser.add_argument("--threads", type=int,
                        help="torch threads (default 2; use 1 on a machine busy with other work)")
    parser.add_argument("--workers", type=int, help="data loader processes (default 1)")
    parser.add_argument("--bf16", action="store_true", default=None,
                        help="bfloat16 autocast forward pass (faster on CPUs with AVX512-BF16 "
                             "or AMX; see benchmarks/bench_train.py)")
    parser.add_argument("--rect", action="store_true", default=None,
                        help="rectangular batches, letterboxed as serving does: a quarter less "
                             "compute on 10:7 scans; no quarter-turn augmentation")
    parser.add_argument("--device",
                        help="where the training step runs: auto (a CUDA GPU when there is one, "
                             "the default), cpu, cuda or cuda:N")
    parser.add_argument("--assigner",   # checked with the YAML's value (training/config.py)
                        help="how predictions meet the ground truth: fcos (centre sampling by "
                             "level, the default) or tal (task-aligned, quality focal loss)")


FLAGS = ("data", "val", "out", "epochs", "minutes", "init", "seed", "batch", "model",
         "input_size", "threads", "workers", "replay", "replay_ratio", "lr", "rect", "bf16",
         "assigner", "device")
"""The configuration keys the command line sets (``--config`` names the YAML file instead)."""


def overrides(args: argparse.Namespace) -> dict[str, Any]:
    """What the command line sets, by configuration key (None where a flag is not given)."""
    return {key: getattr(args, key) for key in FLAGS}


def flag_overrides(argv: list[str]) -> dict[str, Any]:
    """:func:`overrides` of ``xscreen train``'s arguments ``argv`` (without ``train``)."""
    parser = argparse.ArgumentParser(prog="xscreen train")
    add_arguments(parser)
    return overrides(parser.parse_args(argv))


def main(args: argparse.Namespace) -> int:
    import os

    from xscreen.training.config import load_config
    from xscreen.training.run import train

    given = overrides(args)
    config = load_config(args.config, given)
    progress = train(config, given={key for key, value in given.items() if value is not None})
    if os.environ.get("RANK", "0") != "0":
        return 0   # rank 0 reports for all
    best = f", best val mAP50 {progress.best_map50:.3f}" if progress.best_map50 >= 0 else ""
    print(f"trained {progress.step} steps ({progress.elapsed_s / 60:.1f} min){best}; "
          f"weights in {config.out}/best.pt")
    return 0
