"""The EMA weights: the time of one update, torch's averaging against the hand-written one.

Issue 20 asked whether ``torch.optim.swa_utils.AveragedModel`` with ``get_ema_multi_avg_fn``
(and ``use_buffers=True``, so BatchNorm statistics are averaged as before) could replace the
hand-written average of :mod:`xscreen.training.ema`. This times, on a real detector and
interleaved in rounds so that a busy machine slows all alike:

- ``hand``: the average ``ModelEma`` did before (``_foreach_mul_`` then ``_foreach_add_`` over
  the two state dicts, integer buffers copied), kept here as the reference;
- ``torch``: ``AveragedModel`` with ``get_ema_multi_avg_fn`` as torch ships it (fixed decay; it
  averages the integer ``num_batches_tracked`` too, truncating the result);
- ``ModelEma``: xscreen's, now ``AveragedModel`` with the decay ramp and integers copied.

It then says how far ``ModelEma``'s average drifts from the hand-written one after the same 20
updates (``lerp`` against ``mul`` then ``add``: float rounding) and what each keeps of
``num_batches_tracked``::

    python benchmarks/bench_ema.py --model xscreen_s --model xscreen_lite0 --updates 300

An update's cost does not depend on the batch, only on the model's tensors.
"""

from __future__ import annotations

import argparse
import copy
import math
import statistics
import sys
import time
from collections.abc import Callable

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from xscreen.models.detector import build_model, list_models
from xscreen.training.ema import ModelEma

DECAY = 0.9998
RAMP = 2000.0


class HandEma:
    """The hand-written average ``ModelEma`` used before issue 20 (the reference)."""

    def __init__(self, model: nn.Module) -> None:
        self.module = copy.deepcopy(model).eval()
        self.updates = 0

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        decay = DECAY * (1 - math.exp(-self.updates / RAMP))
        averaged = self.module.state_dict()
        targets, sources = [], []
        for name, value in model.state_dict().items():
            if value.dtype.is_floating_point:
                targets.append(averaged[name])
                sources.append(value.detach())
            else:
                averaged[name].copy_(value)
        torch._foreach_mul_(targets, decay)
        torch._foreach_add_(targets, sources, alpha=1 - decay)


def updaters(model: nn.Module) -> dict[str, tuple[Callable[[], None], nn.Module]]:
    """Each way's update of ``model``, and its averaged module."""
    hand, ours = HandEma(model), ModelEma(model, DECAY, RAMP)
    torch_ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(DECAY), use_buffers=True)
    return {"hand": (lambda: hand.update(model), hand.module),
            "torch": (lambda: torch_ema.update_parameters(model), torch_ema.module),
            "ModelEma": (lambda: ours.update(model), ours.module)}


def per_update_ms(update: Callable[[], None], count: int, device: torch.device) -> float:
    """Milliseconds per call of ``update`` over ``count`` calls (a GPU's queue drained)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    for _ in range(count):
        update()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return 1000 * (time.perf_counter() - start) / count


@torch.no_grad()
def drift(model: nn.Module, steps: int, seed: int = 0) -> tuple[float, list[int]]:
    """All three averages after the same ``steps`` changes of ``model``: the largest difference
    between ModelEma's and the hand-written one, and ``num_batches_tracked`` of the model, then
    of each average."""
    torch.manual_seed(seed)
    ways = updaters(model)
    for _ in range(steps):
        for tensor in [*model.parameters(), *model.buffers()]:
            if tensor.dtype.is_floating_point:
                tensor.add_(torch.randn_like(tensor), alpha=0.01)
            else:
                tensor.add_(1)
        for update, _module in ways.values():
            update()
    hand, ours = ways["hand"][1].state_dict(), ways["ModelEma"][1].state_dict()
    largest = max(float((hand[k] - ours[k]).abs().max()) for k in hand)
    tracked = next(k for k in hand if k.endswith("num_batches_tracked"))
    return largest, [int(module.state_dict()[tracked])
                     for module in (model, *(m for _, m in ways.values()))]


def compare(name: str, device: torch.device, updates: int, rounds: int) -> list[float]:
    """Median milliseconds per update of the hand-written average, torch's and ModelEma, for
    model ``name``."""
    model = build_model(name).to(device)
    ways = updaters(model)
    times: dict[str, list[float]] = {key: [] for key in ways}
    for update, _module in ways.values():
        per_update_ms(update, max(1, updates // 10), device)     # warm-up: caches, allocator
    for _ in range(rounds):
        for key, (update, _module) in ways.items():
            times[key].append(per_update_ms(update, updates, device))
    return [statistics.median(times[key]) for key in ways]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", choices=list_models(),
                        help="detector to time (repeatable; default xscreen_s, xscreen_lite0)")
    parser.add_argument("--updates", type=int, default=300, help="updates per timed round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--threads", type=int, default=1, help="torch threads on CPU")
    args = parser.parse_args(argv)
    if args.updates < 1 or args.rounds < 1:
        parser.error("--updates and --rounds must be at least 1")
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("bench_ema: no CUDA GPU here; use --device cpu", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    print(f"EMA update, {args.updates} updates x {args.rounds} rounds on {device} "
          f"({args.threads} thread(s)), median ms per update")
    print(f"{'model':<15} {'hand':>8} {'torch':>8} {'ModelEma':>9} {'ratio':>6} "
          f"{'max diff':>9} {'batches tracked':>16}")
    for name in args.model or ["xscreen_s", "xscreen_lite0"]:
        hand, plain, ours = compare(name, device, args.updates, args.rounds)
        largest, tracked = drift(build_model(name).to(device), steps=20)
        print(f"{name:<15} {hand:8.3f} {plain:8.3f} {ours:9.3f} {ours / hand:6.2f} "
              f"{largest:9.2e} {'/'.join(map(str, tracked)):>16}", flush=True)
    print("ratio: ModelEma / hand; max diff: ModelEma against hand after 20 updates; batches "
          "tracked: num_batches_tracked of the model / hand / torch / ModelEma")
    return 0


if __name__ == "__main__":
    sys.exit(main())
