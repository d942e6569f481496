"""The same object in different surroundings: does the model judge the thing or its context?

Real threat-free bags alarm mostly for ``counterfeit`` (issue 23), on single phones and gadgets,
which the synthesiser draws as benign when they come alone. This probe takes one benign thing
(``objects.benign_item``: a traveller's watch, phone, ...), renders it alone through the physics
in a pale console's colours, and lays it (multiplying transmissions, as threat image projection
does) into different surroundings, at the same size relative to the frame:

- ``real``: the real colour bags of ``opixray_clutter`` (measuring only: never trained on);
- ``white``: an empty 416 x 416 frame, the real bags' size (no context at all);
- each ``--synthetic DIR``: scans of a synthetic set (those in pale palettes, as the real bags'
  console, unless ``--all-palettes``).

For each it prints how often the class of interest (default ``counterfeit``) boxes the pasted
thing at the card's threshold (a box of that class overlapping it at IoU > ``--iou``) and the
median of its best such score (0 where none). A model that judges the thing scores it alike
everywhere; the default scored a lone watch 0.37 on white, 0.44 in real bags and 0.0-0.25 in
synthetic ones (docs/detector.md, "Why real bags alarm").

    python benchmarks/probe_context.py [--bundle models/default] [--kinds personal_watch ...]
        [--synthetic DIR ...] [--count 120] [--json FILE]

A measuring tool: nothing here is trained or tuned on the real bags.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from xscreen.datasets import objects
from xscreen.datasets.coco import load_dataset
from xscreen.datasets.shapes import Item
from xscreen.datasets.tip import project_rgb
from xscreen.errors import XscreenError
from xscreen.models.boxes import box_iou
from xscreen.models.imageio import read_dataset_rgb
from xscreen.models.runtime import Detections, OnnxDetector
from xscreen.training.realdata import default_realdata_root

DEFAULT = Path(__file__).resolve().parents[1] / "models" / "default"
REAL_SIDE = 416          # the real bags' frames: 416 x 416
REAL_PITCH_MM = 2.7      # a real phone (about 150 mm) is about 56 pixels long in them
WHITE = "white"


def pitch_for(frame: tuple[int, ...]) -> float:
    """The pixel pitch that gives a thing the size, relative to the frame's long side, it has in
    the real bags."""
    return REAL_PITCH_MM * REAL_SIDE / max(frame[0], frame[1])


def place(frame: tuple[int, ...], item: tuple[int, int],
          rng: np.random.Generator) -> tuple[int, int] | None:
    """A random top-left corner that keeps the item inside the middle 60% of the frame (inside
    the bag, mostly), or None when it does not fit."""
    height, width = frame[0], frame[1]
    rows, cols = item
    x0, y0 = width // 5, height // 5
    x1, y1 = width * 4 // 5 - cols, height * 4 // 5 - rows
    if x1 < x0 or y1 < y0:
        return None
    return int(rng.integers(x0, x1 + 1)), int(rng.integers(y0, y1 + 1))


def best_score(found: Detections, box: np.ndarray, label: int, iou: float) -> float:
    """The best score of a ``label`` box overlapping ``box`` at IoU > ``iou`` (0 if none)."""
    keep = found.labels == label
    if not keep.any():
        return 0.0
    overlaps = box_iou(box, found.boxes[keep])
    hits = found.scores[keep][overlaps > iou]
    return float(hits.max()) if hits.size else 0.0


def frames(source: str, root: Path, count: int, all_palettes: bool) -> list[np.ndarray]:
    """Up to ``count`` RGB frames of one context, spread evenly over its scans."""
    if source == WHITE:
        return [np.full((REAL_SIDE, REAL_SIDE, 3), 255, np.uint8)] * count
    folder = root / "opixray_clutter" if source == "real" else Path(source)
    dataset = load_dataset(folder)
    palettes = {entry.get("id"): str(entry.get("palette", "pale"))
                for entry in dataset.coco.get("images", [])}
    records = [record for record in dataset.images if all_palettes or source == "real"
               or palettes.get(record.id, "pale").startswith("pale")]
    if not records:
        raise XscreenError(f"{folder}: no scans in a pale palette (give --all-palettes)")
    step = max(1, len(records) // count)
    chosen = records[::step][:count]
    return [read_dataset_rgb(dataset.image_path(record)) for record in chosen]


def probe(detector: OnnxDetector, contexts: list[tuple[str, list[np.ndarray]]], kind: str,
          label: int, seed: int, iou: float, palette: str) -> dict[str, dict[str, float]]:
    """Per context: the share of pasted things boxed as ``label`` at the card's threshold, the
    share scoring 0.4 or more, and the median best score."""
    threshold = detector.card.threshold_list()[label]
    figures = {}
    for name, images in contexts:
        rng = np.random.default_rng(seed)        # the same things in every context
        scores = []
        for image in images:
            item: Item = objects.benign_item(rng, pitch_for(image.shape), kind)
            corner = place(image.shape, item.shape, rng)
            if corner is None:
                continue
            x, y = corner
            pasted = project_rgb(image, item, x, y, palette=palette).image
            box = np.array([x, y, x + item.shape[1], y + item.shape[0]], np.float64)
            scores.append(best_score(detector.detect_all(pasted), box, label, iou))
        values = np.asarray(scores)
        figures[name] = {"placed": len(values),
                         "boxed": float((values >= threshold).mean()) if len(values) else 0.0,
                         "over_0.4": float((values >= 0.4).mean()) if len(values) else 0.0,
                         "median_score": float(np.median(values)) if len(values) else 0.0}
    return figures


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", default=str(DEFAULT), help="default: models/default")
    parser.add_argument("--realdata", default=None,
                        help="folder of the real sets (default: $XSCREEN_REALDATA or "
                             "../shared/realdata)")
    parser.add_argument("--kinds", nargs="+", default=["personal_watch", "personal_phone"],
                        help="benign kinds to paste (objects.BENIGN_KINDS)")
    parser.add_argument("--synthetic", nargs="*", default=[],
                        help="synthetic sets whose scans are contexts too")
    parser.add_argument("--all-palettes", action="store_true",
                        help="use synthetic scans of every palette, not only the pale ones")
    parser.add_argument("--label", default="counterfeit", help="the class of interest")
    parser.add_argument("--count", type=int, default=120, help="placements per context")
    parser.add_argument("--iou", type=float, default=0.3)
    parser.add_argument("--palette", default="pale_b", help="the pasted thing's rendering")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, help="ONNX Runtime threads")
    parser.add_argument("--json", help="write the figures to this JSON file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    unknown = [kind for kind in args.kinds if kind not in objects.BENIGN_KINDS]
    problems = []
    if unknown:
        problems.append(f"unknown kinds {', '.join(unknown)} (objects.BENIGN_KINDS)")
    if args.count < 1:
        problems.append("--count must be at least 1")
    if not 0.0 <= args.iou < 1.0:
        problems.append("--iou must be in [0, 1)")
    if problems:
        print(f"probe_context: {'; '.join(problems)}", file=sys.stderr)
        return 2
    root = Path(args.realdata) if args.realdata else default_realdata_root()
    if not (root / "opixray_clutter").is_dir():
        print(f"probe_context: no opixray_clutter under {root}: give --realdata or set "
              "XSCREEN_REALDATA", file=sys.stderr)
        return 2
    started = time.perf_counter()
    try:
        detector = OnnxDetector(args.bundle, threads=args.threads)
        if args.label not in detector.card.classes:
            raise XscreenError(f"--label {args.label!r} is not one of the card's classes "
                               f"({', '.join(detector.card.classes)})")
        label = detector.card.classes.index(args.label)
        contexts = [(source if source in ("real", WHITE) else Path(source).name,
                     frames(source, root, args.count, args.all_palettes))
                    for source in ("real", WHITE, *args.synthetic)]
        results = {kind: probe(detector, contexts, kind, label, args.seed, args.iou, args.palette)
                   for kind in args.kinds}
    except (XscreenError, OSError) as error:
        print(f"probe_context: {error}", file=sys.stderr)
        return 2
    threshold = detector.card.threshold_list()[label]
    print(f"{Path(args.bundle).name} ({detector.card.version}): one thing pasted into each "
          f"context, boxed as {args.label} (threshold {threshold:.3f})")
    for kind, rows in results.items():
        for context, row in rows.items():
            print(f"{kind:<24} {context:<18} n {row['placed']:4d}  boxed {row['boxed']:6.1%}  "
                  f">=0.4 {row['over_0.4']:6.1%}  median score {row['median_score']:.2f}")
    print(f"{time.perf_counter() - started:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({"bundle": args.bundle, "label": args.label,
                                               "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
