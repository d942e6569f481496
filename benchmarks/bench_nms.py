"""One box per object: how many objects get two boxes, and what each suppression rule costs.

The exported graph suppresses overlapping boxes of one class at IoU 0.6 (FCOS's default). An
operator saw two firearm boxes at IoU 0.58 on one gun survive it, so the API said "2 firearms"
(issue 18). This benchmark takes a bundle's detections on a labelled set and re-suppresses them
with each candidate rule, then prints, at the card's thresholds:

- ``doubled``: objects covered (IoU >= 0.5) by two or more boxes of their class;
- ``extra``: boxes of a class over an object that a higher box of that class already covers;
- ``lost``: objects found at the exported rule but no longer found (a neighbour suppressed them);
- mAP50 over the whole set (faster-coco-eval, as ``xscreen eval``).

Rules: ``class IoU t`` (class-wise, as exported, at a lower threshold t), ``any-class IoU t`` (a
box of any class suppresses another class's box at IoU t, as well as class-wise at 0.6):

    python benchmarks/bench_nms.py --bundle models/default --data var/data/test

Only rules at or below the exported IoU can be measured this way (the graph already applied
its own).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torchvision.ops import batched_nms, box_iou, nms

from xscreen.datasets.coco import Dataset, load_dataset
from xscreen.errors import XscreenError
from xscreen.models.runtime import OnnxDetector
from xscreen.training.evaluate import bundle_detections
from xscreen.training.metrics import ImageDetections, coco_map

Rule = Callable[[ImageDetections], ImageDetections]


def class_wise(iou: float) -> Rule:
    """Class-wise NMS at ``iou``."""
    def rule(found: ImageDetections) -> ImageDetections:
        keep = batched_nms(torch.as_tensor(found.boxes, dtype=torch.float32),
                           torch.as_tensor(found.scores, dtype=torch.float32),
                           torch.as_tensor(found.labels), iou).numpy()
        return _subset(found, keep)
    return rule


def any_class(iou: float) -> Rule:
    """NMS across classes at ``iou`` (one object, one class)."""
    def rule(found: ImageDetections) -> ImageDetections:
        keep = nms(torch.as_tensor(found.boxes, dtype=torch.float32),
                   torch.as_tensor(found.scores, dtype=torch.float32), iou).numpy()
        return _subset(found, keep)
    return rule


def contained(share: float) -> Rule:
    """As exported, then a box goes when a higher-scoring box of its class covers ``share`` of
    its area (a part of a gun boxed inside the whole gun), decided for all boxes at once (Fast
    NMS, Bolya et al. 2019: a suppressed box still suppresses), as a graph could."""
    def rule(found: ImageDetections) -> ImageDetections:
        order = np.argsort(-found.scores, kind="stable")
        boxes = torch.as_tensor(found.boxes[order], dtype=torch.float32)
        lt = torch.max(boxes[:, None, :2], boxes[None, :, :2])
        rb = torch.min(boxes[:, None, 2:], boxes[None, :, 2:])
        inter = (rb - lt).clamp(min=0).prod(dim=2)
        area = (boxes[:, 2:] - boxes[:, :2]).clamp(min=0).prod(dim=1)
        covered = inter / area.clamp(min=1e-6)[None, :]          # [i, j]: share of j under i
        labels = torch.as_tensor(found.labels[order])
        same = labels[:, None] == labels[None, :]
        above = torch.ones_like(covered, dtype=torch.bool).triu(diagonal=1)
        suppressed = ((covered >= share) & same & above).any(dim=0).numpy()
        return _subset(found, order[~suppressed])
    return rule


def _subset(found: ImageDetections, keep: np.ndarray) -> ImageDetections:
    keep = np.sort(keep)
    return ImageDetections(found.image_id, found.boxes[keep], found.scores[keep],
                           found.labels[keep])


def box_counts(dataset: Dataset, detections: list[ImageDetections],
               thresholds: list[float]) -> tuple[int, int, set[tuple[int, int]]]:
    """(objects with two or more boxes of their class, extra boxes, the found objects' keys)
    at ``thresholds``, IoU >= 0.5."""
    by_image = {found.image_id: found for found in detections}
    doubled = extra = 0
    found_keys: set[tuple[int, int]] = set()
    for record in dataset.images:
        found = by_image[record.id]
        for index, ((x, y, w, h), label) in enumerate(
                zip(record.boxes, record.labels, strict=True)):
            keep = (found.labels == label) & (found.scores >= thresholds[label])
            if not keep.any():
                continue
            truth = torch.tensor([[x, y, x + w, y + h]], dtype=torch.float32)
            hits = int((box_iou(truth, torch.as_tensor(found.boxes[keep], dtype=torch.float32))
                        >= 0.5).sum())
            if hits:
                found_keys.add((record.id, index))
            doubled += hits >= 2
            extra += max(hits - 1, 0)
    return doubled, extra, found_keys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    try:
        detector = OnnxDetector(args.bundle, threads=args.threads)
        dataset = load_dataset(args.data, classes=detector.card.classes)
    except XscreenError as error:
        print(f"bench_nms: {error}", file=sys.stderr)
        return 2
    thresholds = detector.card.threshold_list()
    exported = bundle_detections(detector, dataset, progress=True)
    rules: dict[str, Rule] = {"class IoU 0.6 (exported)": lambda found: found}
    for iou in (0.5, 0.45, 0.4):
        rules[f"class IoU {iou}"] = class_wise(iou)
    for iou in (0.8, 0.7):
        rules[f"any-class IoU {iou}"] = any_class(iou)
    for share in (0.9, 0.8, 0.7):
        rules[f"contained {share}"] = contained(share)
    objects = sum(len(record.boxes) for record in dataset.images)
    print(f"{Path(args.bundle).name} on {args.data}: {len(dataset.images)} images, "
          f"{objects} objects, at the card's thresholds")
    print(f"{'rule':<26} {'doubled':>8} {'extra':>6} {'lost':>5} {'mAP50':>6}")
    baseline: set[tuple[int, int]] | None = None
    for name, rule in rules.items():
        detections = [rule(found) for found in exported]
        doubled, extra, found_keys = box_counts(dataset, detections, thresholds)
        baseline = found_keys if baseline is None else baseline
        lost = len(baseline - found_keys)
        summary = coco_map(dataset, detections)
        print(f"{name:<26} {doubled:>8} {extra:>6} {lost:>5} {summary.map50:6.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
