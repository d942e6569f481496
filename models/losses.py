"""Training targets and losses of the detector's head, two recipes over the same outputs.

``fcos`` (Tian et al., "FCOS: Fully Convolutional One-Stage Object Detection", ICCV 2019, with
the centre sampling of its later versions): a point is positive for a box when it lies inside the
box, within ``center_radius`` strides of the box's centre, and the box's largest side distance
falls in the point's level range; when several boxes qualify, the smallest wins. Losses: sigmoid
focal loss on the classes, GIoU on the boxes weighted by centre-ness, and binary cross-entropy on
centre-ness.

``tal`` (task-aligned learning, Feng et al., "TOOD: Task-aligned One-stage Object Detection",
ICCV 2021; the assigner of PP-YOLOE and YOLOv8): each box takes the ``topk`` points inside it
whose alignment ``score ** alpha * IoU ** beta`` of the current prediction is highest, on any
level; a point claimed by several boxes keeps the one it overlaps most. The class target of a
positive is its alignment, normalised so that a box's best point gets that point's IoU: the
classifier learns to rank by localisation quality (quality focal loss, Li et al., "Generalized
Focal Loss", NeurIPS 2020). Boxes: GIoU weighted by that target. The centre-ness output learns the
IoU of its point's box, so the graph's score (the geometric mean of the two) is unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn.utils.rnn import pad_sequence
from torchvision.ops import box_iou, generalized_box_iou_loss, sigmoid_focal_loss

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
                  center_radius: float = 1.5,
                  ranges: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
    """Class index per point (``num_classes`` = background) and the matched box per point, for
    one image; :func:`assign_batch` computes the same for a batch at once.

    ``ranges``: :func:`level_ranges` of ``strides``, when the caller has them (the same for
    every image of a batch)."""
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
    low, high = ranges if ranges is not None else level_ranges(strides)
    largest = sides.max(dim=2).values
    in_range = (largest >= low[:, None]) & (largest <= high[:, None])
    areas = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))[None].expand(num_points, -1)
    eligible = inside & near_centre & in_range
    areas = torch.where(eligible, areas, torch.full_like(areas, float("inf")))
    best_area, best_box = areas.min(dim=1)
    labels = torch.where(torch.isinf(best_area), num_classes, targets.labels[best_box])
    return labels, boxes[best_box]


def assign_batch(points: Tensor, strides: Tensor, targets: Sequence[Targets], num_classes: int,
                 center_radius: float = 1.5) -> tuple[Tensor, Tensor]:
    """:func:`assign_points` for a batch at once: labels [N, A] (``num_classes`` = background)
    and matched boxes [N, A, 4]. The images' boxes are padded to the batch's largest count and the
    padding never qualifies, so each image gets what it would alone; one set of tensor ops for
    the batch instead of one per image (a GPU step at batch 64 would otherwise spend more time
    launching the assignment's small kernels than computing the network; :func:`fcos_loss`
    keeps the loop on a CPU, where it is faster)."""
    num_images, num_points = len(targets), points.shape[0]
    counts = torch.tensor([t.boxes.shape[0] for t in targets], device=points.device)
    if num_images == 0 or int(counts.max()) == 0:
        return (torch.full((num_images, num_points), num_classes, dtype=torch.long,
                           device=points.device),
                points.new_zeros(num_images, num_points, 4))
    boxes = pad_sequence([t.boxes.to(points.dtype) for t in targets], batch_first=True)  # N,G,4
    labels = pad_sequence([t.labels for t in targets], batch_first=True,
                          padding_value=num_classes)                                   # N, G
    real = torch.arange(boxes.shape[1], device=points.device)[None] < counts[:, None]  # N, G
    x, y = points[None, :, 0, None], points[None, :, 1, None]                          # 1, A, 1
    x1, y1, x2, y2 = (boxes[:, None, :, k] for k in range(4))                          # N, 1, G
    sides = torch.stack([x - x1, y - y1, x2 - x, y2 - y], dim=3)                      # N, A, G, 4
    inside = sides.min(dim=3).values > 0
    radius = strides[None, :, None] * center_radius
    near_centre = ((x - (x1 + x2) / 2).abs() < radius) & ((y - (y1 + y2) / 2).abs() < radius)
    low, high = level_ranges(strides)
    largest = sides.max(dim=3).values
    in_range = (largest >= low[None, :, None]) & (largest <= high[None, :, None])
    eligible = inside & near_centre & in_range & real[:, None, :]
    areas = ((x2 - x1) * (y2 - y1)).expand(-1, num_points, -1)
    areas = torch.where(eligible, areas, torch.full_like(areas, float("inf")))
    best_area, best_box = areas.min(dim=2)                                   # the smallest wins
    assigned = torch.where(torch.isinf(best_area), num_classes, labels.gather(1, best_box))
    return assigned, boxes.gather(1, best_box[..., None].expand(-1, -1, 4))


def centerness_target(points: Tensor, boxes: Tensor) -> Tensor:
    """FCOS centre-ness: sqrt of the min/max ratios of the left-right and top-bottom distances."""
    left, top = points[:, 0] - boxes[:, 0], points[:, 1] - boxes[:, 1]
    right, bottom = boxes[:, 2] - points[:, 0], boxes[:, 3] - points[:, 1]
    horizontal = torch.minimum(left, right) / torch.maximum(left, right).clamp(min=1e-6)
    vertical = torch.minimum(top, bottom) / torch.maximum(top, bottom).clamp(min=1e-6)
    return (horizontal.clamp(min=0) * vertical.clamp(min=0)).sqrt()


ASSIGNERS = ("fcos", "tal")


def detection_loss(outputs: HeadOutputs, targets: Sequence[Targets],
                   assigner: str = "fcos") -> dict[str, Tensor]:
    """The batch's losses under ``assigner`` (see the module's docstring)."""
    if assigner == "fcos":
        return fcos_loss(outputs, targets)
    if assigner == "tal":
        return task_aligned_loss(outputs, targets)
    raise ValueError(f"unknown assigner {assigner!r}; known: {', '.join(ASSIGNERS)}")


def fcos_loss(outputs: HeadOutputs, targets: Sequence[Targets]) -> dict[str, Tensor]:
    """The three FCOS losses of a batch, each normalised by the number of positive points."""
    num_classes = outputs.class_logits.shape[2]
    if outputs.points.device.type == "cpu":
        # image by image: on a CPU, padding every image to the batch's largest box count costs
        # more than the loop saves (timed once at batch 8 and 64); a GPU wants one batched set
        ranges = level_ranges(outputs.strides)
        pairs = [assign_points(outputs.points, outputs.strides, t, num_classes, ranges=ranges)
                 for t in targets]
        labels = torch.stack([labels for labels, _ in pairs])
        matched_boxes = torch.stack([boxes for _, boxes in pairs])
    else:
        labels, matched_boxes = assign_batch(outputs.points, outputs.strides, targets,
                                             num_classes)
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


def task_aligned_assign(scores: Tensor, predicted: Tensor, points: Tensor, targets: Targets,
                        num_classes: int, topk: int = 13, alpha: float = 1.0,
                        beta: float = 6.0) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """TOOD's assignment for one image.

    ``scores`` [A, C] class probabilities and ``predicted`` [A, 4] decoded boxes, both of the
    current model and without gradient. Returns, per point, the class (``num_classes`` =
    background), the matched box, the soft class target and the IoU of the prediction with the
    matched box (both 0 off boxes).
    """
    num_points = points.shape[0]
    background = torch.full((num_points,), num_classes, dtype=torch.long, device=points.device)
    if targets.boxes.numel() == 0:
        zeros = points.new_zeros(num_points)
        return background, points.new_zeros(num_points, 4), zeros, zeros
    boxes = targets.boxes
    x, y = points[:, 0, None], points[:, 1, None]
    inside = (x > boxes[:, 0]) & (x < boxes[:, 2]) & (y > boxes[:, 1]) & (y < boxes[:, 3])
    ious = box_iou(predicted, boxes).clamp(min=0)                        # [A, G]
    alignment = scores[:, targets.labels].pow(alpha) * ious.pow(beta)
    alignment = torch.where(inside, alignment, torch.zeros_like(alignment))
    top = alignment.topk(min(topk, num_points), dim=0).indices           # [k, G]
    candidate = torch.zeros_like(inside).scatter_(0, top, True) & inside
    # A point several boxes claim keeps the box its prediction overlaps most.
    best_box = torch.where(candidate, ious, torch.full_like(ious, -1.0)).argmax(dim=1)
    chosen = candidate & (torch.arange(boxes.shape[0], device=points.device)[None]
                          == best_box[:, None])
    positive = chosen.any(dim=1)
    alignment = torch.where(chosen, alignment, torch.zeros_like(alignment))
    chosen_iou = torch.where(chosen, ious, torch.zeros_like(ious))
    best_iou = chosen_iou.amax(dim=0)                                    # per box
    quality = (alignment * best_iou / (alignment.amax(dim=0) + 1e-9)).amax(dim=1)
    labels = torch.where(positive, targets.labels[best_box], background)
    return labels, boxes[best_box], quality, chosen_iou.amax(dim=1)


def quality_focal_loss(logits: Tensor, targets: Tensor, gamma: float = 2.0) -> Tensor:
    """GFL's quality focal loss, summed: cross-entropy to a soft target, scaled by |p - t|^gamma."""
    modulation = (logits.sigmoid() - targets).abs().pow(gamma)
    return (F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
            * modulation).sum()


def task_aligned_loss(outputs: HeadOutputs, targets: Sequence[Targets],
                      box_weight: float = 2.0) -> dict[str, Tensor]:
    """TOOD's losses (quality focal, GIoU weighted by the class target) and the IoU branch."""
    num_classes = outputs.class_logits.shape[2]
    predicted = decode_boxes(outputs)
    with torch.no_grad():
        scores = outputs.class_logits.sigmoid()
        assigned = [task_aligned_assign(scores[i], predicted[i], outputs.points, t, num_classes)
                    for i, t in enumerate(targets)]
    labels = torch.stack([a[0] for a in assigned])
    matched_boxes = torch.stack([a[1] for a in assigned])
    quality = torch.stack([a[2] for a in assigned])
    iou = torch.stack([a[3] for a in assigned])
    positive = labels < num_classes
    num_positive = positive.sum().clamp(min=1).float()

    soft = F.one_hot(labels, num_classes + 1)[..., :num_classes].float() * quality[..., None]
    class_loss = quality_focal_loss(outputs.class_logits, soft) / num_positive

    weight = quality[positive]
    box_iou_loss = generalized_box_iou_loss(predicted[positive], matched_boxes[positive],
                                            reduction="none")
    box_loss = box_weight * (box_iou_loss * weight).sum() / weight.sum().clamp(min=1e-6)
    iou_loss = F.binary_cross_entropy_with_logits(
        outputs.centerness[positive], iou[positive], reduction="sum") / num_positive
    return {"class": class_loss, "box": box_loss, "centerness": iou_loss}
