"""FCOS training targets and losses (Tian et al., "FCOS: Fully Convolutional One-Stage Object
Detection", ICCV 2019, with the centre sampling of its later versions).

A point is positive for a box when it lies inside the box, within ``center_radius`` strides of
the box's centre, and the box's largest side distance falls in the point's level range; when
several boxes qualify, the smallest wins. Losses: sigmoid focal loss on the classes, GIoU on the
boxes weighted by centre-ness, and binary cross-entropy on centre-ness.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.ops import generalized_box_iou_loss, sigmoid_focal_loss

from xscreen.models.detector import HeadOutputs, decode_boxes


@dataclass
class Targets:
    """One image's ground truth: ``boxes`` [G, 4] (x1, y1, x2, y2 input pixels), ``labels`` [G]."""

    boxes: Tensor
    labels: Tensor


def level_ranges(strides: Tensor) -> tuple[Tensor, Tensor]:
    """Per point, the range of the largest side distance it answers for (FCOS: 8 strides)."""
    levels = torch.unique(strides)
    low = torch.zeros_like(strides)
    high = torch.full_like(strides, float("inf"))
    for index, stride in enumerate(levels.tolist()):
        on_level = strides == stride
        if index > 0:
            low[on_level] = 8.0 * levels[index - 1]
        if index < len(levels) - 1:
            high[on_level] = 8.0 * stride
    return low, high


def assign_points(points: Tensor, strides: Tensor, targets: Targets, num_classes: int,
                  center_radius: float = 1.5) -> tuple[Tensor, Tensor]:
    """Class index per point (``num_classes`` = background) and the matched box per point."""
    num_points = points.shape[0]
    if targets.boxes.numel() == 0:
        return (torch.full((num_points,), num_classes, dtype=torch.long, device=points.device),
                points.new_zeros(num_points, 4))
    boxes = targets.boxes
    x, y = points[:, 0, None], points[:, 1, None]
    sides = torch.stack([x - boxes[:, 0], y - boxes[:, 1], boxes[:, 2] - x, boxes[:, 3] - y], 2)
    inside = sides.min(dim=2).values > 0
    centre_x, centre_y = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    radius = strides[:, None] * center_radius
    near_centre = ((x - centre_x).abs() < radius) & ((y - centre_y).abs() < radius)
    low, high = level_ranges(strides)
    largest = sides.max(dim=2).values
    in_range = (largest >= low[:, None]) & (largest <= high[:, None])
    areas = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))[None].expand(num_points, -1)
    eligible = inside & near_centre & in_range
    areas = torch.where(eligible, areas, torch.full_like(areas, float("inf")))
    best_area, best_box = areas.min(dim=1)
    labels = torch.where(torch.isinf(best_area), num_classes, targets.labels[best_box])
    return labels, boxes[best_box]


def centerness_target(points: Tensor, boxes: Tensor) -> Tensor:
    """FCOS centre-ness: sqrt of the min/max ratios of the left-right and top-bottom distances."""
    left, top = points[:, 0] - boxes[:, 0], points[:, 1] - boxes[:, 1]
    right, bottom = boxes[:, 2] - points[:, 0], boxes[:, 3] - points[:, 1]
    horizontal = torch.minimum(left, right) / torch.maximum(left, right).clamp(min=1e-6)
    vertical = torch.minimum(top, bottom) / torch.maximum(top, bottom).clamp(min=1e-6)
    return (horizontal.clamp(min=0) * vertical.clamp(min=0)).sqrt()


def detection_loss(outputs: HeadOutputs, targets: Sequence[Targets]) -> dict[str, Tensor]:
    """The three FCOS losses of a batch, each normalised by the number of positive points."""
    num_classes = outputs.class_logits.shape[2]
    assigned = [assign_points(outputs.points, outputs.strides, t, num_classes) for t in targets]
    labels = torch.stack([a[0] for a in assigned])
    matched_boxes = torch.stack([a[1] for a in assigned])
    positive = labels < num_classes
    num_positive = positive.sum().clamp(min=1).float()

    one_hot = F.one_hot(labels, num_classes + 1)[..., :num_classes].float()
    class_loss = sigmoid_focal_loss(outputs.class_logits, one_hot, reduction="sum") / num_positive

    points = outputs.points[None].expand_as(outputs.box_distances[..., :2])[positive]
    centerness = centerness_target(points, matched_boxes[positive])
    predicted = decode_boxes(outputs)[positive]
    box_iou_loss = generalized_box_iou_loss(predicted, matched_boxes[positive], reduction="none")
    box_loss = (box_iou_loss * centerness).sum() / centerness.sum().clamp(min=1e-6)
    centerness_loss = F.binary_cross_entropy_with_logits(
        outputs.centerness[positive], centerness, reduction="sum") / num_positive
    return {"class": class_loss, "box": box_loss, "centerness": centerness_loss}
