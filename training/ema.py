"""Exponential moving average of a model's weights, the weights that get validated and exported.

The averaging is torch's :class:`~torch.optim.swa_utils.AveragedModel` with
:func:`~torch.optim.swa_utils.get_ema_multi_avg_fn` (one multi-tensor ``lerp`` per device and
dtype); ``benchmarks/bench_ema.py`` timed it against the hand-written average it replaced: as
fast on xscreen_s, faster on xscreen_lite0 (issue 20).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

Tensors = tuple[Tensor, ...] | list[Tensor]


class ModelEma:
    """``decay``-weighted averages of a model's parameters and floating-point buffers (BatchNorm
    running statistics); integer buffers (``num_batches_tracked``) are copied.

    The effective decay ramps up as ``decay * (1 - exp(-updates / ramp))`` so that the average
    follows the fast-changing weights of early training (as in YOLOX and timm). ``module`` is
    the averaged model; :meth:`state_dict` is ``{"module": ..., "updates": n}``, the layout
    checkpoints have always held.
    """

    def __init__(self, model: nn.Module, decay: float = 0.9998, ramp: float = 2000.0) -> None:
        if not 0.0 <= decay <= 1.0 or ramp <= 0:
            raise ValueError(f"EMA decay must be in [0, 1] and its ramp positive, got {decay} "
                             f"and {ramp}")
        self.decay = decay
        self.ramp = ramp
        self.updates = 0
        self._averaged = AveragedModel(model, multi_avg_fn=self._average, use_buffers=True)
        # AveragedModel copies the weights at its first update; its copy of the model counts as
        # that copy here, so that every update, the first included, follows the ramp
        self._averaged.n_averaged.fill_(1)
        self.module = self._averaged.module.eval()
        for parameter in self.module.parameters():
            parameter.requires_grad_(False)

    def current_decay(self) -> float:
        """The decay of the latest update (0 before any)."""
        return self.decay * (1 - math.exp(-self.updates / self.ramp))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Fold the current weights of ``model`` into the average."""
        self.updates += 1
        self._averaged.update_parameters(model)

    def _average(self, averages: Tensors, currents: Tensors, count: Tensor | int) -> None:
        """AveragedModel's ``multi_avg_fn``, called once per device and dtype: the ramped EMA
        for floating-point tensors; integers copied (torch would average and truncate them)."""
        if averages[0].is_floating_point():
            get_ema_multi_avg_fn(self.current_decay())(averages, currents, count)
            return
        for average, current in zip(averages, currents, strict=True):
            average.copy_(current)

    def state_dict(self) -> dict[str, Any]:
        return {"module": self.module.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.module.load_state_dict(state["module"])
        self.updates = int(state["updates"])
