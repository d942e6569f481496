"""The EMA weights: the decay's ramp, buffers copied, parameters averaged."""

from __future__ import annotations

import math

import torch
from torch import nn

from xscreen.training.ema import ModelEma


def test_average_follows_the_ramped_decay_and_copies_integer_buffers() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    ema = ModelEma(model, decay=0.9, ramp=2.0)
    start = {k: v.clone() for k, v in ema.module.state_dict().items()}
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(1.0)
    model(torch.rand(2, 3, 8, 8))          # training mode: BatchNorm's statistics move
    ema.update(model)
    decay = 0.9 * (1 - math.exp(-1 / 2.0))
    for name, value in model.state_dict().items():
        got = ema.module.state_dict()[name]
        if value.dtype.is_floating_point:
            expected = start[name] * decay + value * (1 - decay)
            assert torch.allclose(got, expected, atol=1e-6), name
        else:
            assert torch.equal(got, value), name      # num_batches_tracked
    assert not any(p.requires_grad for p in ema.module.parameters())
