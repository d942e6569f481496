"""Could calibration alone quiet real bags? Thresholds chosen on half the real bags, judged on the
other half, and what they cost in Pd (issue 23).

The question a site would ask: "raise the thresholds until at most T of our own cleared bags
alarm; what do we lose?" Measured honestly, with a held-out half:

1. the bundle runs over ``opixray_clutter`` (442 real colour bags holding none of our classes),
   the real gun sets, and a labelled synthetic validation and test set;
2. the bags are split in two by file name (alternate names, sorted): thresholds are chosen on
   the first half only, the second half judges them;
3. from the card's thresholds, one class at a time is raised to just above its next alarming
   bag, always the class whose raise quiets the most bags for the least Pd lost on the
   synthetic validation set (firearm's loss counted ``--firearm-weight`` times), until at most
   T of the first half alarm;
4. printed for each target T: the thresholds, the share of each half that alarms (the second
   half is the honest figure), the gun sets' firearm Pd and guns boxed, and the synthetic test
   set's Pd per class beside the card's.

    python benchmarks/probe_calibration.py --val var/data-v2/val --test var/data-v2/test \\
        [--bundle models/default] [--targets 0.05 0.1 0.2] [--firearm-weight 1 4] [--json FILE]

A measuring tool: thresholds chosen here are never written to a card (choosing them on the set
that judges them would fit it; the split says how far they carry).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from xscreen.datasets.coco import Dataset, load_dataset
from xscreen.errors import XscreenError
from xscreen.models.runtime import OnnxDetector
from xscreen.training.evaluate import bundle_detections
from xscreen.training.metrics import (
    ImageDetections,
    alarm_share,
    image_has_class,
    image_max_scores,
    screening_figures,
)
from xscreen.training.realdata import REAL_SETS, DetectedSet, default_realdata_root, detect_sets

DEFAULT = Path(__file__).resolve().parents[1] / "models" / "default"
CLUTTER = "opixray_clutter"


@dataclass
class Labelled:
    """A labelled set's image-level best scores and class presence."""

    best: np.ndarray      # [images, classes]
    present: np.ndarray   # [images, classes] bool

    @classmethod
    def of(cls, dataset: Dataset, detections: list[ImageDetections]) -> Labelled:
        classes = len(dataset.classes)
        return cls(image_max_scores(detections, classes),
                   image_has_class(dataset, [found.image_id for found in detections]))

    def pd(self, thresholds: Sequence[float]) -> list[float]:
        return [f.pd for f in screening_figures(self.best, self.present, thresholds)]


def split_bags(detected: DetectedSet) -> tuple[np.ndarray, np.ndarray]:
    """Best scores per class of the bags, [bags, classes], for the two halves: alternate file
    names in sorted order (choose on the first, judge on the second)."""
    names = {record.id: record.file_name for record in detected.dataset.images}
    order = sorted(detected.detections, key=lambda found: names[found.image_id])
    classes = len(detected.dataset.classes)
    return image_max_scores(order[0::2], classes), image_max_scores(order[1::2], classes)


def raise_thresholds(bags: np.ndarray, start: Sequence[float], target: float,
                     validation: Labelled, weights: Sequence[float]) -> list[float]:
    """Thresholds at or above ``start`` at which at most ``target`` of ``bags`` alarm, raised
    one step at a time (a class to just above its lowest alarming bag's score), each step the
    class that quiets the most bags per unit of weighted validation Pd lost."""
    thresholds = np.asarray(start, np.float64).copy()
    while (now := alarm_share(bags, thresholds)) > target:
        best_step: tuple[float, int, float] | None = None
        for c in range(bags.shape[1]):
            alarming = bags[:, c] >= thresholds[c]
            if not alarming.any():
                continue
            raised = float(np.nextafter(np.float32(bags[alarming, c].min()), np.float32(2.0)))
            trial = thresholds.copy()
            trial[c] = raised
            quieted = now - alarm_share(bags, trial)
            positives = validation.best[validation.present[:, c], c]
            lost = float(((positives >= thresholds[c]) & (positives < raised)).mean()) \
                if positives.size else 0.0
            cost = (weights[c] * lost + 1e-4) / max(quieted, 1e-9)
            if best_step is None or cost < best_step[0]:
                best_step = (cost, c, raised)
        if best_step is None:
            break
        thresholds[best_step[1]] = best_step[2]
    return [float(t) for t in thresholds]


def probe(detected: list[DetectedSet], classes: Sequence[str], card_thresholds: Sequence[float],
          validation: Labelled, test: Labelled, targets: Sequence[float],
          firearm_weights: Sequence[float]) -> list[dict[str, Any]]:
    """One row per (target, firearm weight), plus the card's own row first."""
    by_name = {one.name: one for one in detected}
    choose, judge = split_bags(by_name[CLUTTER])
    guns = [one for one in detected if REAL_SETS[one.name] == "guns"]
    firearm = list(classes).index("firearm")

    def row(label: str, thresholds: Sequence[float]) -> dict[str, Any]:
        judged = judge >= np.asarray(thresholds)[None, :]
        figures: dict[str, Any] = {
            "setting": label, "thresholds": dict(zip(classes, thresholds, strict=True)),
            "chosen_half_alarming": alarm_share(choose, thresholds),
            "held_out_half_alarming": alarm_share(judge, thresholds),
            "held_out_by_class": {c: float(judged[:, i].mean()) for i, c in enumerate(classes)},
            "synthetic_test_pd": dict(zip(classes, test.pd(thresholds), strict=True))}
        for one in guns:
            result = one.judge(classes, thresholds)
            figures[one.name] = {"firearm_pd": result.firearm_pd,
                                 "guns_boxed": result.firearm_recall}
        return figures

    rows = [row("card", card_thresholds)]
    for target in targets:
        for weight in firearm_weights:
            weights = [weight if c == firearm else 1.0 for c in range(len(classes))]
            chosen = raise_thresholds(choose, card_thresholds, target, validation, weights)
            rows.append(row(f"{target:.0%} of half 1, firearm x{weight:g}", chosen))
    return rows


def format_rows(rows: list[dict[str, Any]], classes: Sequence[str]) -> str:
    lines = []
    for figures in rows:
        thresholds = " ".join(f"{v:.3f}" for v in figures["thresholds"].values())
        guns = "  ".join(f"{name} Pd {figures[name]['firearm_pd']:.2f}"
                         for name, kind in REAL_SETS.items() if kind == "guns" and name in figures)
        pd = " ".join(f"{figures['synthetic_test_pd'][c]:.3f}" for c in classes)
        lines.append(f"{figures['setting']:<28} thr {thresholds}  bags alarming: half 1 "
                     f"{figures['chosen_half_alarming']:.3f}, held-out half 2 "
                     f"{figures['held_out_half_alarming']:.3f}  {guns}  synthetic test Pd {pd}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", default=str(DEFAULT), help="default: models/default")
    parser.add_argument("--val", required=True,
                        help="labelled synthetic validation set: the Pd each raise costs")
    parser.add_argument("--test", required=True,
                        help="labelled synthetic test set: the Pd reported at each setting")
    parser.add_argument("--realdata", default=None,
                        help="folder of the real sets (default: $XSCREEN_REALDATA or "
                             "../shared/realdata)")
    parser.add_argument("--targets", type=float, nargs="+", default=[0.05, 0.1, 0.2],
                        help="shares of the first half of the bags allowed to alarm")
    parser.add_argument("--firearm-weight", type=float, nargs="+", default=[1.0, 4.0],
                        help="how many times firearm's lost Pd counts (one row per value)")
    parser.add_argument("--threads", type=int, default=2, help="ONNX Runtime threads")
    parser.add_argument("--json", help="write the rows to this JSON file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    root = Path(args.realdata) if args.realdata else default_realdata_root()
    if not (root / CLUTTER).is_dir():
        print(f"probe_calibration: no {CLUTTER} under {root}: give --realdata or set "
              "XSCREEN_REALDATA", file=sys.stderr)
        return 2
    if any(not 0.0 <= target < 1.0 for target in args.targets):
        print("probe_calibration: --targets must be shares within 0-1", file=sys.stderr)
        return 2
    try:
        detector = OnnxDetector(args.bundle, threads=args.threads)
        card = detector.card
        detected = detect_sets(detector, root, list(REAL_SETS))
        labelled = []
        for folder in (args.val, args.test):
            dataset = load_dataset(folder, classes=card.classes)
            labelled.append(Labelled.of(dataset, bundle_detections(detector, dataset)))
    except XscreenError as error:
        print(f"probe_calibration: {error}", file=sys.stderr)
        return 2
    rows = probe(detected, card.classes, card.threshold_list(), labelled[0], labelled[1],
                 args.targets, args.firearm_weight)
    print(f"{Path(args.bundle).name} ({card.version}); synthetic Pd in class order "
          f"{', '.join(card.classes)}")
    print(format_rows(rows, card.classes))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
