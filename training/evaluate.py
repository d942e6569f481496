"""``xscreen eval``'s work: run a bundle over a dataset, score it, choose thresholds, plot.

Everything runs through :class:`~xscreen.models.runtime.OnnxDetector`, the code serving uses, so
the figures describe the deployed model: same letterbox, same graph, same thresholds.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from xscreen.datasets.coco import Dataset
from xscreen.errors import DatasetError
from xscreen.models.boxes import box_iou
from xscreen.models.card import CARD_FILE, Bundle, ModelCard, save_card
from xscreen.models.imageio import read_dataset_rgb as read_rgb
from xscreen.models.runtime import OnnxDetector
from xscreen.training.metrics import (
    CocoSummary,
    ImageDetections,
    any_alarm_share,
    coco_map,
    image_has_class,
    image_max_scores,
    screening_figures,
    thresholds_for_any_pfa,
    thresholds_for_pfa,
)


def bundle_detections(detector: OnnxDetector, dataset: Dataset, progress: bool = False,
                      change: Callable[[np.ndarray], np.ndarray] | None = None
                      ) -> list[ImageDetections]:
    """Unthresholded detections of every image of ``dataset``, in the pixels the model saw:
    the original ones, or those of ``change(image)`` when given (a probe's greyscale or
    rescaled copy, benchmarks/probe_clutter.py)."""
    results = []
    for record in tqdm(dataset.images, disable=not progress, unit="image"):
        image = read_rgb(dataset.image_path(record))
        if image.shape[:2] != (record.height, record.width):
            raise DatasetError(f"{record.file_name} is {image.shape[1]}x{image.shape[0]} but "
                               f"annotations.json says {record.width}x{record.height}")
        found = detector.detect_all(image if change is None else change(image))
        results.append(ImageDetections(record.id, found.boxes, found.scores, found.labels))
    return results


@dataclass
class EvalReport:
    """What ``eval --json`` writes: mAP and, per class, AP50, Pd and Pfa at the thresholds;
    the share of threat-free images alarming for any class (``clean_alarm_share``); and how the
    target false-alarm rate is counted (``pfa_over``: per class, or any alarm on a threat-free
    image)."""

    map50: float
    map50_95: float
    per_class: dict[str, dict[str, float]]
    images: int
    target_pfa: float
    data: str
    clean_alarm_share: float = float("nan")
    pfa_over: str = "class"

    def to_dict(self) -> dict[str, Any]:
        return _json_safe(dataclasses.asdict(self))


def _json_safe(value: Any) -> Any:
    """NaN (a class absent from the data) becomes null, which JSON can hold."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


PFA_OVER = ("class", "any")
"""How a target false-alarm rate is counted: per class over the images without that class
(``class``), or over threat-free images alarming for any class (``any``)."""


def evaluate(card: ModelCard, dataset: Dataset, detections: list[ImageDetections],
             target_pfa: float = 0.05, thresholds: list[float] | None = None,
             pfa_over: str = "class") -> tuple[EvalReport, CocoSummary]:
    """Score ``detections``; Pd and Pfa at ``thresholds`` (default: the card's); the
    thresholds meeting ``target_pfa`` counted as ``pfa_over`` says (:data:`PFA_OVER`)."""
    if pfa_over not in PFA_OVER:
        raise ValueError(f"pfa_over must be one of {', '.join(PFA_OVER)}, got {pfa_over!r}")
    summary = coco_map(dataset, detections)
    best = image_max_scores(detections, len(card.classes))
    present = image_has_class(dataset, [d.image_id for d in detections])
    operating = thresholds if thresholds is not None else card.threshold_list()
    figures = screening_figures(best, present, operating)
    for_target = (thresholds_for_pfa(best, present, target_pfa) if pfa_over == "class"
                  else thresholds_for_any_pfa(best, present, target_pfa))
    per_class = {}
    for index, name in enumerate(card.classes):
        figure = figures[index]
        per_class[name] = {"ap50": summary.ap50.get(name, 0.0), "pd": figure.pd,
                           "pfa": figure.pfa, "threshold": figure.threshold,
                           "threshold_for_target_pfa": for_target[index],
                           "images_with": figure.positives, "images_without": figure.negatives}
    report = EvalReport(summary.map50, summary.map50_95, per_class, len(detections), target_pfa,
                        str(dataset.root), any_alarm_share(best, present, operating), pfa_over)
    return report, summary


def recall_by(dataset: Dataset, detections: list[ImageDetections], thresholds: Sequence[float],
              attribute: str, iou: float = 0.5) -> dict[str, dict[str, tuple[int, int]]]:
    """Per class and value of ``attribute`` (an annotation's key such as ``kind`` or
    ``concealment``, else its image's, such as ``palette``): (found, total) objects, where an
    object is found when a detection of its class scoring at least the class's threshold
    overlaps it with IoU >= ``iou``. Objects without the attribute count as ``"-"``."""
    images = {int(image["id"]): image for image in dataset.coco.get("images", [])}
    by_image = {found.image_id: found for found in detections}
    table: dict[str, dict[str, list[int]]] = {name: {} for name in dataset.classes}
    for record in dataset.images:
        found = by_image.get(record.id)
        for box, label, extra in zip(record.boxes, record.labels, record.extras, strict=True):
            value = extra.get(attribute, images.get(record.id, {}).get(attribute, "-"))
            x, y, w, h = box
            hit = False
            if found is not None:
                keep = (found.labels == label) & (found.scores >= thresholds[label])
                hit = bool((box_iou([x, y, x + w, y + h], found.boxes[keep]) >= iou)
                           .any())
            counts = table[dataset.classes[label]].setdefault(str(value), [0, 0])
            counts[0] += hit
            counts[1] += 1
    return {name: {value: (c[0], c[1]) for value, c in sorted(rows.items())}
            for name, rows in table.items() if rows}


def chosen_thresholds(report: EvalReport, classes: tuple[str, ...]) -> list[float]:
    """The per-class thresholds meeting the report's target Pfa."""
    return [float(report.per_class[name]["threshold_for_target_pfa"]) for name in classes]


def write_thresholds(bundle: Bundle, thresholds: list[float], report: EvalReport) -> ModelCard:
    """Put ``thresholds`` and the evaluation at them into the bundle's card (model.json only)."""
    card = bundle.card
    metrics = {**card.metrics, "threshold_selection": {"data": report.data,
                                                       "target_pfa": report.target_pfa,
                                                       "pfa_over": report.pfa_over},
               "eval": report.to_dict()}
    updated = card.replace(thresholds=dict(zip(card.classes, thresholds, strict=True)),
                           metrics=metrics)
    save_card(updated, bundle.root / CARD_FILE)
    return updated


def write_metrics(bundle: Bundle, report: EvalReport) -> ModelCard:
    """Record ``report`` as the card's evaluation (``metrics.eval``)."""
    updated = bundle.card.replace(metrics={**bundle.card.metrics, "eval": report.to_dict()})
    save_card(updated, bundle.root / CARD_FILE)
    return updated


def plot_pr_curves(summary: CocoSummary, out_dir: str | Path) -> list[Path]:
    """One precision-recall PNG per class (IoU 0.5, COCO's 101 recall points)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    recall = np.linspace(0, 1, 101)
    paths = []
    for name, precision in summary.precision50.items():
        figure, axes = plt.subplots(figsize=(4.5, 4))
        axes.plot(recall, precision)
        axes.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02),
                 title=f"{name}: AP50 {summary.ap50.get(name, 0.0):.3f}")
        axes.grid(alpha=0.3)
        figure.tight_layout()
        path = out_dir / f"pr_{name}.png"
        figure.savefig(path, dpi=90)
        plt.close(figure)
        paths.append(path)
    return paths
