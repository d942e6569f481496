"""How well does a bundle hold up when objects are larger or smaller than its training scans drew
them? (issue 3: "generalise, do not tune to your own generator")

Real scanners differ in pitch (millimetres a pixel) and in how much of the tunnel a scan shows:
GDXray's handguns fill half the picture, the synthesiser's a fifth. This benchmark rescales the
objects of a labelled set without changing the scanner's rendering:

- zoom ``z > 1``: a window ``1/z`` of the scan's width and height, around a random object,
  letterboxed as serving does, so every object is ``z`` times larger relative to the input;
  objects cut by the window and less than half visible become COCO *crowd* regions (a detection
  on them neither counts nor costs);
- zoom ``z < 1``: the scan placed at a random spot of a white (air) canvas ``1/z`` times larger,
  as a wide tunnel with a small parcel would image it;
- ``z = 1``: the set as it is.

For each bundle and zoom it prints COCO mAP50, mAP50-95 and per-class AP50 (the same evaluator as
``xscreen eval``). Each bundle sees the same windows (seeded), so give the baseline with
``--bundle`` in the same run:

    python benchmarks/bench_scale.py --bundle models/default --bundle var/bundles/candidate \\
        --data var/data/test --zoom 0.5 0.7 1 1.5 2 3 [--limit 200] [--seed 0] [--threads 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from xscreen.datasets.coco import Dataset, ImageRecord, categories, load_dataset
from xscreen.errors import XscreenError
from xscreen.models.runtime import OnnxDetector
from xscreen.training.data import read_rgb, record_boxes
from xscreen.training.metrics import ImageDetections, coco_map

AIR = 255
MIN_VISIBLE = 0.5   # share of an object's area inside a window for it to count


@dataclass
class Truth:
    """One rescaled scan's size, the objects that count, and the crowd (ignored) regions."""

    width: int
    height: int
    boxes: np.ndarray      # [G, 4] x1, y1, x2, y2
    labels: np.ndarray     # [G]
    crowd: np.ndarray      # [C, 4]
    crowd_labels: np.ndarray


def rescale(image: np.ndarray, boxes: np.ndarray, labels: np.ndarray, zoom: float,
            rng: np.random.Generator) -> tuple[np.ndarray, Truth]:
    """``image`` with its objects ``zoom`` times larger relative to the whole (see the module)."""
    height, width = image.shape[:2]
    no_crowd = np.zeros((0, 4), np.float32), np.zeros(0, np.int64)
    if zoom == 1:
        return image, Truth(width, height, boxes, labels, *no_crowd)
    if zoom < 1:
        canvas_w, canvas_h = round(width / zoom), round(height / zoom)
        left = int(rng.integers(0, canvas_w - width + 1))
        top = int(rng.integers(0, canvas_h - height + 1))
        canvas = np.full((canvas_h, canvas_w, *image.shape[2:]), AIR, dtype=image.dtype)
        canvas[top:top + height, left:left + width] = image
        shifted = boxes + np.array([left, top, left, top], np.float32)
        return canvas, Truth(canvas_w, canvas_h, shifted, labels, *no_crowd)
    window_w, window_h = max(1, round(width / zoom)), max(1, round(height / zoom))
    if len(boxes):   # centre the window on a random object, inside the scan
        x1, y1, x2, y2 = boxes[int(rng.integers(len(boxes)))]
        centre_x = (x1 + x2) / 2 + rng.uniform(-0.25, 0.25) * window_w
        centre_y = (y1 + y2) / 2 + rng.uniform(-0.25, 0.25) * window_h
    else:
        centre_x, centre_y = rng.uniform(0, width), rng.uniform(0, height)
    left = int(np.clip(round(centre_x - window_w / 2), 0, width - window_w))
    top = int(np.clip(round(centre_y - window_h / 2), 0, height - window_h))
    crop = image[top:top + window_h, left:left + window_w]
    moved = boxes - np.array([left, top, left, top], np.float32)
    clipped = np.clip(moved, 0, [window_w, window_h, window_w, window_h]).astype(np.float32)
    area = (moved[:, 2] - moved[:, 0]) * (moved[:, 3] - moved[:, 1])
    inside = (clipped[:, 2] - clipped[:, 0]) * (clipped[:, 3] - clipped[:, 1])
    visible = inside / np.maximum(area, 1e-9)
    keep, cut = visible >= MIN_VISIBLE, (visible > 0) & (visible < MIN_VISIBLE)
    return np.ascontiguousarray(crop), Truth(window_w, window_h, clipped[keep], labels[keep],
                                             clipped[cut], labels[cut])


def xywh(box: np.ndarray) -> list[float]:
    return [float(box[0]), float(box[1]), float(box[2] - box[0]), float(box[3] - box[1])]


def as_dataset(truths: list[Truth], classes: tuple[str, ...]) -> Dataset:
    """The rescaled scans' objects as an in-memory COCO dataset (crowd regions ``iscrowd``)."""
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    records: list[ImageRecord] = []
    for image_id, truth in enumerate(truths, start=1):
        images.append({"id": image_id, "file_name": f"{image_id}.png", "width": truth.width,
                       "height": truth.height})
        record = ImageRecord(image_id, f"{image_id}.png", truth.width, truth.height)
        boxes = np.concatenate([truth.boxes, truth.crowd]).reshape(-1, 4)
        labels = np.concatenate([truth.labels, truth.crowd_labels])
        crowds = [0] * len(truth.boxes) + [1] * len(truth.crowd)
        for box, label, crowd in zip(boxes, labels, crowds, strict=True):
            annotations.append({"id": len(annotations) + 1, "image_id": image_id,
                                "category_id": int(label) + 1, "bbox": xywh(box),
                                "iscrowd": crowd})
            if not crowd:
                record.boxes.append(xywh(box))
                record.labels.append(int(label))
        records.append(record)
    coco: dict[str, Any] = {"images": images, "annotations": annotations,
                            "categories": categories(classes)}
    return Dataset(Path("."), classes, records, coco)


def detect_at_zoom(dataset: Dataset, zoom: float, detectors: list[OnnxDetector], seed: int,
                   limit: int | None) -> tuple[list[Truth], list[list[ImageDetections]]]:
    """Every detector's detections on the same rescaled scans (one image in memory at a time)."""
    rng = np.random.default_rng(seed)
    truths: list[Truth] = []
    found: list[list[ImageDetections]] = [[] for _ in detectors]
    for image_id, record in enumerate(dataset.images[:limit], start=1):
        boxes, labels = record_boxes(record)
        image, truth = rescale(read_rgb(dataset.image_path(record)), boxes, labels, zoom, rng)
        truths.append(truth)
        for detector, results in zip(detectors, found, strict=True):
            result = detector.detect_all(image)
            results.append(ImageDetections(image_id, result.boxes, result.scores, result.labels))
    return truths, found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", action="append", required=True,
                        help="a model bundle (repeat: the first is the baseline)")
    parser.add_argument("--data", action="append", required=True,
                        help="a labelled COCO folder (repeatable)")
    parser.add_argument("--zoom", type=float, nargs="+", default=[0.5, 0.7, 1.0, 1.5, 2.0, 3.0])
    parser.add_argument("--limit", type=int, help="first N scans of each set only")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    if any(z <= 0 for z in args.zoom):
        parser.error("--zoom factors must be positive")
    try:
        detectors = [OnnxDetector(b, threads=args.threads) for b in args.bundle]
        classes = detectors[0].card.classes
        sets = [load_dataset(d, classes=classes) for d in args.data]
    except XscreenError as error:
        print(f"bench_scale: {error}", file=sys.stderr)
        return 2
    for detector in detectors[1:]:
        if detector.card.classes != classes:
            print(f"bench_scale: {detector.bundle.root} has other classes than "
                  f"{detectors[0].bundle.root}", file=sys.stderr)
            return 2
    header = f"{'data':<28} {'zoom':>5} {'bundle':<24} {'mAP50':>6} {'50-95':>6}  " + \
        " ".join(f"{name[:11]:>11}" for name in classes)
    print(header)
    started = time.perf_counter()
    try:
        for dataset in sets:
            for zoom in args.zoom:
                truths, found = detect_at_zoom(dataset, zoom, detectors, args.seed, args.limit)
                scored = as_dataset(truths, classes)
                present = {label for truth in truths for label in truth.labels.tolist()}
                for detector, detections in zip(detectors, found, strict=True):
                    summary = coco_map(scored, detections)
                    cells = [f"{summary.ap50.get(name, 0.0):>11.3f}" if index in present
                             else f"{'-':>11}" for index, name in enumerate(classes)]
                    print(f"{dataset.root.name:<28} {zoom:>5.2f} "
                          f"{detector.bundle.root.name:<24} {summary.map50:>6.3f} "
                          f"{summary.map50_95:>6.3f}  " + " ".join(cells), flush=True)
    except XscreenError as error:
        print(f"bench_scale: {error}", file=sys.stderr)
        return 2
    print(f"({time.perf_counter() - started:.0f} s; per-class columns are AP50, '-' where the "
          "set has no such object)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
