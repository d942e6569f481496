"""Why do ordinary real bags alarm? A probe of a bundle's false alarms on real clutter (issue 23).

Runs a bundle over ``opixray_clutter`` (442 real colour bags holding none of our classes) as they
are and changed in one respect at a time, and prints the share of bags that alarm at the card's
thresholds, per class, for each change:

- ``grey``: colour removed (is the vendor's colour table the trigger?);
- ``desaturated``: half the colour removed (pale consoles);
- ``half-res``: down to half resolution and back (is it fine texture?);
- ``x1.5``: resampled 1.5x larger (interpolation only: the letterbox brings every image back to
  the card's input size, so this does not change how big things look to the model);
- ``blur``: Gaussian blur of 1.2 pixels (edges, JPEG blocks);
- ``smaller-1.5``, ``smaller-2``: the scan in the middle of a white (air) frame 1.5 or 2 times
  its size, so that everything looks that much smaller to the model (is it the scale of things?);
- ``larger-1.4``: the middle 70% of the scan each way, so that things look 1.4 times larger
  (the outer 15% each side is cut off: a bag's edges go with it).

With ``--synthetic DIR`` (a synthetic set with no threats, e.g. ``xscreen synth DIR --count 200
--threat-share 0``) the same figures for synthetic benign bags are printed beside them: the gap
between the two rows is the synthesiser's distance from real bags, as the model sees it.

    python benchmarks/probe_clutter.py [--bundle models/default] [--synthetic DIR] [--json FILE]

A measuring tool: nothing here is trained or tuned on the real bags.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from xscreen.datasets.coco import load_dataset
from xscreen.errors import XscreenError
from xscreen.models.runtime import OnnxDetector
from xscreen.training.evaluate import bundle_detections
from xscreen.training.realdata import default_realdata_root, judge_clutter

DEFAULT = Path(__file__).resolve().parents[1] / "models" / "default"
Change = Callable[[np.ndarray], np.ndarray]


def _grey(image: np.ndarray) -> np.ndarray:
    return np.repeat(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[:, :, None], 3, axis=2)


CHANGES: dict[str, Change] = {
    "as-is": lambda image: image,
    "grey": _grey,
    "desaturated": lambda image: cv2.addWeighted(image, 0.5, _grey(image), 0.5, 0.0),
    "half-res": lambda image: cv2.resize(
        cv2.resize(image, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA),
        (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR),
    "x1.5": lambda image: cv2.resize(image, None, fx=1.5, fy=1.5, interpolation=cv2.INTER_CUBIC),
    "blur": lambda image: cv2.GaussianBlur(image, (0, 0), 1.2),
    "smaller-1.5": lambda image: _in_air(image, 1.5),
    "smaller-2": lambda image: _in_air(image, 2.0),
    "larger-1.4": lambda image: _middle(image, 0.7),
}


def _in_air(image: np.ndarray, factor: float) -> np.ndarray:
    """The image centred in a white (air: nothing attenuates) frame ``factor`` times its size."""
    height, width = image.shape[:2]
    framed = np.full((int(round(height * factor)), int(round(width * factor)), 3), 255, np.uint8)
    top, left = (framed.shape[0] - height) // 2, (framed.shape[1] - width) // 2
    framed[top:top + height, left:left + width] = image
    return framed


def _middle(image: np.ndarray, share: float) -> np.ndarray:
    """The middle ``share`` of the image each way."""
    height, width = image.shape[:2]
    rows, cols = int(round(height * share)), int(round(width * share))
    top, left = (height - rows) // 2, (width - cols) // 2
    return np.ascontiguousarray(image[top:top + rows, left:left + cols])


def probe(detector: OnnxDetector, folder: Path, changes: list[str]) -> dict[str, dict]:
    """Per change: the share of images that alarm, per class, and boxes per image."""
    card = detector.card
    dataset = load_dataset(folder, classes=card.classes)
    figures = {}
    for name in changes:
        found = bundle_detections(detector, dataset, change=CHANGES[name])
        result = judge_clutter(folder.name, found, card.classes, card.threshold_list())
        figures[name] = {"alarm_share": result.alarm_share,
                         "by_class": result.alarm_share_by_class,
                         "boxes_per_image": result.boxes_per_image}
    return figures


def format_row(label: str, change: str, figures: dict) -> str:
    by_class = "  ".join(f"{name} {share:6.1%}" for name, share in figures["by_class"].items())
    return (f"{label:<22} {change:<12} alarm {figures['alarm_share']:6.1%}  {by_class}  "
            f"boxes/bag {figures['boxes_per_image']:.2f}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", default=str(DEFAULT), help="default: models/default")
    parser.add_argument("--realdata", default=None,
                        help="folder of the real sets (default: $XSCREEN_REALDATA or "
                             "../shared/realdata)")
    parser.add_argument("--synthetic", default=None,
                        help="a synthetic set without threats, judged beside the real bags")
    parser.add_argument("--changes", nargs="+", default=list(CHANGES), choices=list(CHANGES))
    parser.add_argument("--threads", type=int, default=2, help="ONNX Runtime threads")
    parser.add_argument("--json", help="write the figures to this JSON file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    root = Path(args.realdata) if args.realdata else default_realdata_root()
    clutter = root / "opixray_clutter"
    if not clutter.is_dir():
        print(f"probe_clutter: no opixray_clutter under {root}: give --realdata or set "
              "XSCREEN_REALDATA", file=sys.stderr)
        return 2
    started = time.perf_counter()
    try:
        detector = OnnxDetector(args.bundle, threads=args.threads)
        label = f"{Path(args.bundle).name} ({detector.card.version})"
        figures = {"real": probe(detector, clutter, args.changes)}
        if args.synthetic:
            figures["synthetic"] = probe(detector, Path(args.synthetic), args.changes)
    except XscreenError as error:
        print(f"probe_clutter: {error}", file=sys.stderr)
        return 2
    print(f"{label}: bags that alarm at the card's thresholds")
    for source, rows in figures.items():
        for change, row in rows.items():
            print(format_row(source, change, row))
    print(f"{time.perf_counter() - started:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({"bundle": args.bundle, **figures}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
