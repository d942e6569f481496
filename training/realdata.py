"""Judging a bundle on real scans: the questions customs ask, on sets it never trained on.

The project keeps a few real X-ray sets beside the checkout (``../shared/realdata``, licensed for
measuring only: never train on them, never copy them into the project). Two kinds:

- ``guns``: real scans with every handgun boxed (GDXray's baggage series, greyscale). Figures:
  firearm AP50, the image-level Pd at the card's firearm threshold (an image with a gun alarms for
  ``firearm``), and the share of guns boxed at that threshold (IoU >= 0.5).
- ``clutter``: real colour scans of ordinary packed bags holding none of our classes (OPIXray's
  negatives). Figure: the share of bags that raise *any* alarm at the card's thresholds, overall
  and per class, and the boxes drawn per bag. An ordinary bag must not alarm.

Everything runs through :class:`~xscreen.models.runtime.OnnxDetector`, the serving code, at the
card's thresholds, so the figures describe the deployed model. The threshold each class would
need for ``target_share`` of the clutter bags to alarm is printed as a diagnosis only: choosing
thresholds on these sets would fit the model to them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from xscreen.datasets.coco import Dataset, load_dataset
from xscreen.errors import DatasetError
from xscreen.models.boxes import box_iou
from xscreen.models.runtime import OnnxDetector
from xscreen.training.evaluate import bundle_detections
from xscreen.training.metrics import ImageDetections, coco_map, image_max_scores

REAL_SETS: dict[str, str] = {
    "gdxray_b0046": "guns",
    "gdxray_more": "guns",
    "opixray_clutter": "clutter",
}
"""The sets in ``../shared/realdata`` and their kind."""
FIREARM = "firearm"


def default_realdata_root() -> Path:
    """``$XSCREEN_REALDATA``, else ``../shared/realdata`` beside the checkout."""
    configured = os.environ.get("XSCREEN_REALDATA")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / "shared" / "realdata"


@dataclass
class RealSetResult:
    """A bundle's figures on one real set (``None`` where the kind has no such figure)."""

    name: str
    kind: str
    images: int
    firearm_ap50: float | None = None
    firearm_pd: float | None = None            # images with a gun that alarm for firearm
    firearm_recall: float | None = None        # guns boxed at the threshold, IoU >= 0.5
    alarm_share: float | None = None           # clutter bags raising any alarm
    alarm_share_by_class: dict[str, float] = field(default_factory=dict)
    boxes_per_image: float | None = None       # boxes at the thresholds, per clutter bag
    threshold_for_share: dict[str, float] = field(default_factory=dict)   # diagnosis only

    def to_dict(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items()
                if value is not None and value != {}}


def judge_guns(name: str, dataset: Dataset, detections: list[ImageDetections],
               classes: Sequence[str], thresholds: Sequence[float]) -> RealSetResult:
    """Firearm AP50, image Pd and object recall at the card's firearm threshold."""
    firearm = list(classes).index(FIREARM)
    summary = coco_map(dataset, detections)
    by_image = {found.image_id: found for found in detections}
    with_gun = alarmed = guns = boxed = 0
    for record in dataset.images:
        truth = [box for box, label in zip(record.boxes, record.labels, strict=True)
                 if label == firearm]
        if not truth:
            continue
        found = by_image[record.id]
        keep = (found.labels == firearm) & (found.scores >= thresholds[firearm])
        with_gun += 1
        alarmed += bool(keep.any())
        for x, y, w, h in truth:
            guns += 1
            boxed += bool((box_iou([x, y, x + w, y + h], found.boxes[keep]) >= 0.5).any())
    if not guns:
        raise DatasetError(f"{name}: no firearm boxes in its annotations.json")
    return RealSetResult(name, "guns", len(detections),
                         firearm_ap50=summary.ap50.get(FIREARM, 0.0),
                         firearm_pd=alarmed / with_gun, firearm_recall=boxed / guns)


def judge_clutter(name: str, detections: list[ImageDetections], classes: Sequence[str],
                  thresholds: Sequence[float], target_share: float = 0.05) -> RealSetResult:
    """The share of threat-free bags that alarm (any class, and per class) at ``thresholds``."""
    if not detections:
        raise DatasetError(f"{name}: no images")
    best = image_max_scores(detections, len(classes))          # [images, classes]
    alarms = best >= np.asarray(thresholds, np.float64)[None, :]
    boxes = sum(int((found.scores >= np.asarray(thresholds)[found.labels]).sum())
                for found in detections)
    # The lowest threshold at which at most target_share of the bags alarm: just above the best
    # score of the first bag past the allowed count, in descending order.
    allowed = int(np.floor(target_share * len(detections)))
    ranked = -np.sort(-best, axis=0)
    needed = {name_: float(ranked[allowed, index] + 1e-6) if allowed < len(ranked) else 0.0
              for index, name_ in enumerate(classes)}
    return RealSetResult(name, "clutter", len(detections),
                         alarm_share=float(alarms.any(axis=1).mean()),
                         alarm_share_by_class={c: float(alarms[:, i].mean())
                                               for i, c in enumerate(classes)},
                         boxes_per_image=boxes / len(detections),
                         threshold_for_share=needed)


@dataclass
class DetectedSet:
    """One real set and a bundle's unthresholded detections on it: judge it at any thresholds
    without running the model again."""

    name: str
    dataset: Dataset
    detections: list[ImageDetections]

    def judge(self, classes: Sequence[str], thresholds: Sequence[float]) -> RealSetResult:
        """The set's figures at ``thresholds`` (see the module)."""
        if REAL_SETS[self.name] == "guns":
            return judge_guns(self.name, self.dataset, self.detections, classes, thresholds)
        return judge_clutter(self.name, self.detections, classes, thresholds)


def detect_sets(detector: OnnxDetector, root: Path, sets: Sequence[str] = tuple(REAL_SETS),
                progress: bool = False) -> list[DetectedSet]:
    """The bundle's detections on each of ``sets`` under ``root``."""
    detected = []
    for name in sets:
        if name not in REAL_SETS:
            raise DatasetError(f"unknown real set {name!r}; known: {', '.join(REAL_SETS)}")
        dataset = load_dataset(root / name, classes=detector.card.classes)
        detected.append(DetectedSet(name, dataset,
                                    bundle_detections(detector, dataset, progress=progress)))
    return detected


def judge_bundle(detector: OnnxDetector, root: Path, sets: Sequence[str] = tuple(REAL_SETS),
                 progress: bool = False) -> list[RealSetResult]:
    """The bundle's figures on each of ``sets`` under ``root``, at its card's thresholds."""
    thresholds = detector.card.threshold_list()
    return [detected.judge(detector.card.classes, thresholds)
            for detected in detect_sets(detector, root, sets, progress)]


def format_results(label: str, results: Sequence[RealSetResult]) -> str:
    """One line per set, as text."""
    lines = []
    for result in results:
        if result.kind == "guns":
            lines.append(f"{label:<28} {result.name:<16} firearm AP50 {result.firearm_ap50:.3f}"
                         f"  Pd {result.firearm_pd:.3f}  guns boxed {result.firearm_recall:.3f}"
                         f"  ({result.images} images)")
        else:
            shares = " ".join(f"{c} {v:.3f}" for c, v in result.alarm_share_by_class.items())
            lines.append(f"{label:<28} {result.name:<16} bags alarming {result.alarm_share:.3f}"
                         f" ({shares}); {result.boxes_per_image:.2f} boxes a bag"
                         f"  ({result.images} bags)")
    return "\n".join(lines)
