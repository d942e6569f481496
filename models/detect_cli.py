"""``xscreen detect IMAGE... [--model BUNDLE] [--json] [--annotate DIR]``: offline detection."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from xscreen.models.runtime import Detections

DEFAULT_BUNDLE = Path(__file__).resolve().parent / "default"
BOX_COLOURS_BGR = [(40, 40, 230), (230, 120, 20), (20, 200, 230), (200, 40, 200)]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="PNG, JPEG or TIFF scans")
    parser.add_argument("--model", help=f"model bundle folder (default {DEFAULT_BUNDLE})")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--annotate", metavar="DIR", help="write annotated PNGs into DIR")
    parser.add_argument("--threads", type=int, default=2, help="ONNX Runtime threads")


def default_bundle() -> Path:
    """The bundle shipped in the package, or ModelBundleError saying how to get one."""
    from xscreen.errors import ModelBundleError

    if not (DEFAULT_BUNDLE / "model.onnx").is_file():
        raise ModelBundleError(f"no default model in {DEFAULT_BUNDLE}: pass --model BUNDLE, or "
                               "train and export one ('xscreen train ...', then 'xscreen export "
                               f"RUN --out {DEFAULT_BUNDLE}')")
    return DEFAULT_BUNDLE


def draw_detections(image: np.ndarray, detections: Detections, classes: list[str]) -> np.ndarray:
    """A BGR copy of RGB ``image`` with each detection's box, class and score drawn on it."""
    import cv2

    canvas = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    for box, score, label in zip(detections.boxes, detections.scores, detections.labels,
                                 strict=True):
        colour = BOX_COLOURS_BGR[int(label) % len(BOX_COLOURS_BGR)]
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        cv2.rectangle(canvas, (x1, y1), (x2, y2), colour, 2)
        cv2.putText(canvas, f"{classes[int(label)]} {score:.2f}", (x1, max(y1 - 4, 10)),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 1, cv2.LINE_AA)
    return canvas


def main(args: argparse.Namespace) -> int:
    import json

    import cv2

    from xscreen.models.imageio import read_rgb_file
    from xscreen.models.runtime import OnnxDetector

    detector = OnnxDetector(args.model or default_bundle(), threads=args.threads)
    classes = list(detector.card.classes)
    annotate = Path(args.annotate) if args.annotate else None
    if annotate is not None:
        annotate.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []
    for path in args.images:
        image = read_rgb_file(path)
        found = detector.detect(image)
        results.append({"image": str(path), "width": image.shape[1], "height": image.shape[0],
                        "detections": found.to_records(classes)})
        if annotate is not None:
            cv2.imwrite(str(annotate / f"{Path(path).stem}.png"),
                        draw_detections(image, found, classes))
    model = {"name": detector.card.name, "version": detector.card.version}
    if args.json:
        print(json.dumps({"model": model, "results": results}, indent=2))
    else:
        for result in results:
            found_text = ", ".join(f"{d['label']} {d['score']:.2f}" for d in result["detections"])
            print(f"{result['image']}: {found_text or 'nothing found'}")
    return 0
