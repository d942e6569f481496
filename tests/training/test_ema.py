"""The EMA weights: the decay's ramp, parameters and BatchNorm statistics averaged, integer
buffers copied, and checkpoints of the earlier layout resumed."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from xscreen.training.ema import ModelEma


def small_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))


def change(model: nn.Module) -> None:
    """New weights, and (training mode) new BatchNorm statistics."""
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(1.0)
    model(torch.rand(2, 3, 8, 8))


def expected_after_update(start: dict[str, torch.Tensor], model: nn.Module,
                          decay: float) -> dict[str, torch.Tensor]:
    return {name: start[name] * decay + value * (1 - decay) if value.dtype.is_floating_point
            else value for name, value in model.state_dict().items()}


def test_average_follows_the_ramped_decay_and_copies_integer_buffers() -> None:
    model = small_model()
    ema = ModelEma(model, decay=0.9, ramp=2.0)
    start = {k: v.clone() for k, v in ema.module.state_dict().items()}
    change(model)
    ema.update(model)
    expected = expected_after_update(start, model, 0.9 * (1 - math.exp(-1 / 2.0)))
    for name, got in ema.module.state_dict().items():
        if got.dtype.is_floating_point:   # weights and running statistics alike
            assert torch.allclose(got, expected[name], atol=1e-6), name
        else:
            assert torch.equal(got, expected[name]), name      # num_batches_tracked
    assert not any(p.requires_grad for p in ema.module.parameters())
    assert not ema.module.training


def test_a_checkpoint_of_the_earlier_layout_resumes_on_the_ramp() -> None:
    # what ModelEma.state_dict wrote before it used AveragedModel: the module's state and the
    # update count
    model = small_model()
    saved = {k: v + 0.5 if v.dtype.is_floating_point else v + 7
             for k, v in model.state_dict().items()}
    ema = ModelEma(small_model(), decay=0.9, ramp=2.0)
    ema.load_state_dict({"module": saved, "updates": 5})
    assert ema.updates == 5
    assert all(torch.equal(ema.module.state_dict()[k], v) for k, v in saved.items())
    change(model)
    ema.update(model)
    expected = expected_after_update(saved, model, 0.9 * (1 - math.exp(-6 / 2.0)))
    for name, got in ema.module.state_dict().items():
        assert torch.allclose(got, expected[name], atol=1e-6), name
    again = ModelEma(small_model(), decay=0.9, ramp=2.0)
    again.load_state_dict(ema.state_dict())
    assert again.updates == 6 and set(ema.state_dict()) == {"module", "updates"}


@pytest.mark.parametrize(("decay", "ramp"), [(1.5, 10.0), (-0.1, 10.0), (0.9, 0.0)])
def test_bad_decay_or_ramp_is_refused(decay: float, ramp: float) -> None:
    with pytest.raises(ValueError, match="decay must be in"):
        ModelEma(small_model(), decay=decay, ramp=ramp)
