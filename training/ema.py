"""Exponential moving average of a model's weights, the weights that get validated and exported."""

from __future__ import annotations

import copy
import math
from typing import Any

import torch
from torch import nn


class ModelEma:
    """Keeps ``decay``-weighted averages of parameters; buffers (BatchNorm stats) are copied.

    The effective decay ramps up as ``decay * (1 - exp(-updates / 2000))`` so that the average
    follows the fast-changing weights of early training (as in YOLOX and timm).
    """

    def __init__(self, model: nn.Module, decay: float = 0.9998, ramp: float = 2000.0) -> None:
        self.module = copy.deepcopy(model).eval()
        for parameter in self.module.parameters():
            parameter.requires_grad_(False)
        self.decay = decay
        self.ramp = ramp
        self.updates = 0

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Fold the current weights of ``model`` into the average."""
        self.updates += 1
        decay = self.decay * (1 - math.exp(-self.updates / self.ramp))
        averaged = self.module.state_dict()
        targets, sources = [], []
        for name, value in model.state_dict().items():
            if value.dtype.is_floating_point:
                targets.append(averaged[name])
                sources.append(value.detach())
            else:
                averaged[name].copy_(value)
        # one multi-tensor kernel each instead of two per tensor (a GPU launches ~300 fewer a
        # step); the same arithmetic as mul_ then add_ per tensor
        torch._foreach_mul_(targets, decay)
        torch._foreach_add_(targets, sources, alpha=1 - decay)

    def state_dict(self) -> dict[str, Any]:
        return {"module": self.module.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.module.load_state_dict(state["module"])
        self.updates = int(state["updates"])
