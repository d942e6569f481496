"""Detection metrics: COCO mAP (faster-coco-eval) and the screening figures customs use.

Screening works per image and per class: a scan *alarms* for a class when at least one detection
of that class scores at or above the class's threshold. ``pd`` is the share of images holding the
class that alarm for it; ``pfa`` the share of images without it that alarm for it.
"""

from __future__ import annotations

import contextlib
import copy
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from xscreen.datasets.coco import Dataset


@dataclass
class ImageDetections:
    """One image's detections in original pixels: ``boxes`` [K, 4] x1, y1, x2, y2, ``scores``
    [K], ``labels`` [K] class indices."""

    image_id: int
    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray


def coco_results(detections: Sequence[ImageDetections]) -> list[dict[str, Any]]:
    """Detections as COCO result records (category id = class index + 1, bbox x, y, w, h)."""
    results = []
    for image in detections:
        for box, score, label in zip(image.boxes, image.scores, image.labels, strict=True):
            x1, y1, x2, y2 = (float(v) for v in box)
            results.append({"image_id": image.image_id, "category_id": int(label) + 1,
                            "bbox": [x1, y1, x2 - x1, y2 - y1], "score": float(score)})
    return results


@dataclass
class CocoSummary:
    """mAP figures and, per class, AP50 and the precision at recall 0, 0.01, ..., 1 (IoU 0.5)."""

    map50: float
    map50_95: float
    ap50: dict[str, float]
    precision50: dict[str, np.ndarray]


def coco_map(dataset: Dataset, detections: Sequence[ImageDetections]) -> CocoSummary:
    """COCO bbox evaluation of ``detections`` against ``dataset``'s annotations."""
    from faster_coco_eval import COCO, COCOeval_faster

    names = dataset.classes
    results = coco_results(detections)
    if not results:
        return CocoSummary(0.0, 0.0, dict.fromkeys(names, 0.0),
                           {n: np.zeros(101) for n in names})
    with contextlib.redirect_stdout(io.StringIO()):
        ground_truth = COCO(_ground_truth_dict(dataset))
        evaluator = COCOeval_faster(ground_truth, ground_truth.loadRes(results), iouType="bbox")
        evaluator.run()
    precision = np.asarray(evaluator.eval["precision"])  # [IoU, recall, class, area, max dets]
    at50 = precision[0, :, :, 0, -1]
    ap50, curves = {}, {}
    for index, name in enumerate(names):
        curve = at50[:, index]
        ap50[name] = float(curve[curve > -1].mean()) if (curve > -1).any() else 0.0
        curves[name] = np.where(curve > -1, curve, 0.0)
    stats = evaluator.stats
    return CocoSummary(max(float(stats[1]), 0.0), max(float(stats[0]), 0.0), ap50, curves)


def _ground_truth_dict(dataset: Dataset) -> dict[str, Any]:
    """The dataset's COCO dict with categories in model order and areas/iscrowd filled in."""
    coco = copy.deepcopy(dataset.coco)
    name_to_id = {name: index + 1 for index, name in enumerate(dataset.classes)}
    old_to_new = {int(c["id"]): name_to_id[c["name"]] for c in coco["categories"]}
    coco["categories"] = [{"id": i, "name": n} for n, i in name_to_id.items()]
    for number, ann in enumerate(coco["annotations"], start=1):
        ann["category_id"] = old_to_new[int(ann["category_id"])]
        ann.setdefault("id", number)
        ann.setdefault("iscrowd", 0)
        ann.setdefault("area", float(ann["bbox"][2] * ann["bbox"][3]))
    return coco


def image_max_scores(detections: Sequence[ImageDetections], num_classes: int) -> np.ndarray:
    """[images, classes]: the best score of each class in each image (0 when absent)."""
    best = np.zeros((len(detections), num_classes), dtype=np.float64)
    for row, image in enumerate(detections):
        for label, score in zip(image.labels, image.scores, strict=True):
            best[row, int(label)] = max(best[row, int(label)], float(score))
    return best


def image_has_class(dataset: Dataset, image_ids: Sequence[int]) -> np.ndarray:
    """[images, classes] booleans: whether each image holds at least one box of each class."""
    by_id = {record.id: record for record in dataset.images}
    present = np.zeros((len(image_ids), len(dataset.classes)), dtype=bool)
    for row, image_id in enumerate(image_ids):
        present[row, by_id[image_id].labels] = True
    return present


@dataclass
class ScreeningFigures:
    """Per class: probability of detection and false-alarm rate at a threshold."""

    threshold: float
    pd: float
    pfa: float
    positives: int
    negatives: int


def screening_figures(best_scores: np.ndarray, present: np.ndarray,
                      thresholds: Sequence[float]) -> list[ScreeningFigures]:
    """Pd and Pfa per class from image-level best scores and class presence."""
    figures = []
    for index, threshold in enumerate(thresholds):
        alarms = best_scores[:, index] >= threshold
        positives, negatives = present[:, index], ~present[:, index]
        figures.append(ScreeningFigures(
            threshold=float(threshold),
            pd=float(alarms[positives].mean()) if positives.any() else float("nan"),
            pfa=float(alarms[negatives].mean()) if negatives.any() else float("nan"),
            positives=int(positives.sum()), negatives=int(negatives.sum())))
    return figures


def threshold_for_pfa(negative_scores: np.ndarray, target_pfa: float,
                      minimum: float = 0.01) -> float:
    """The lowest threshold whose false-alarm rate on ``negative_scores`` is at most the target.

    Alarms are ``score >= threshold``; thresholds are placed just above a negative image's best
    score, so ties never exceed the target; never below ``minimum`` (the exported graph drops
    scores under 0.01 anyway). With no negatives the threshold is a nominal 0.5.
    """
    scores = np.sort(np.asarray(negative_scores, dtype=np.float64))[::-1]
    if scores.size == 0:
        return 0.5
    allowed = int(np.floor(target_pfa * scores.size + 1e-9))  # false alarms we may raise
    if allowed >= scores.size:
        return minimum
    # The next float32 up: scores are float32, so a float64 step would round back onto the score.
    above = np.nextafter(np.float32(scores[allowed]), np.float32(np.inf))
    return max(float(above), minimum)


def thresholds_for_pfa(best_scores: np.ndarray, present: np.ndarray,
                       target_pfa: float) -> list[float]:
    """Per class, :func:`threshold_for_pfa` over the images without that class."""
    return [threshold_for_pfa(best_scores[~present[:, c], c], target_pfa)
            for c in range(best_scores.shape[1])]


def clean_images(present: np.ndarray) -> np.ndarray:
    """Images that hold no threat of any class (an ordinary parcel)."""
    return np.logical_not(np.asarray(present, bool).any(axis=1))


def any_alarm_share(best_scores: np.ndarray, present: np.ndarray,
                    thresholds: Sequence[float]) -> float:
    """The share of threat-free images that raise an alarm for any class at ``thresholds``
    (NaN without such images): what an operator sees of ordinary parcels."""
    return alarm_share(best_scores[clean_images(present)], thresholds)


def alarm_share(scores: np.ndarray, thresholds: Sequence[float]) -> float:
    """The share of the rows of ``scores`` (images x classes) with any class at or over its
    threshold; NaN without rows."""
    if scores.shape[0] == 0:
        return float("nan")
    return float((scores >= np.asarray(thresholds, np.float64)[None, :]).any(axis=1).mean())


def thresholds_for_any_pfa(best_scores: np.ndarray, present: np.ndarray, target_pfa: float,
                           steps: int = 40) -> list[float]:
    """Per-class thresholds at which at most ``target_pfa`` of the threat-free images alarm
    for *any* class, the budget shared evenly: every class gets the largest common per-class
    false-alarm rate whose union stays within the target (by bisection; the union grows with
    the rate). Per-class 5% each lets up to 20% of ordinary parcels alarm with four classes;
    this is the operating point an ordinary bag's "no alarm" asks for."""
    clean = best_scores[clean_images(present)]
    num_classes = best_scores.shape[1]
    if clean.shape[0] == 0:
        return [0.5] * num_classes

    def at(rate: float) -> list[float]:
        return [threshold_for_pfa(clean[:, c], rate) for c in range(num_classes)]

    low, high = 0.0, float(target_pfa)
    if alarm_share(clean, at(high)) <= target_pfa:
        return at(high)
    for _ in range(steps):
        middle = (low + high) / 2
        if alarm_share(clean, at(middle)) <= target_pfa:
            low = middle
        else:
            high = middle
    return at(low)
