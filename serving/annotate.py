"""Detections drawn on a scan: the one drawing used by the service's annotated PNG
(``GET /v1/scans/{id}/image?annotated=true``) and by ``xscreen detect --annotate``.

Class colours are the project's (``datasets/preview.py``; README: red firearm, magenta
narcotics, yellow gold, cyan counterfeit). Lines and labels grow with the image, so that a box
stays readable on a 2688-pixel scan and does not swamp a 160-pixel one. No web framework, no
torch: the CLI imports it without the service's packages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from xscreen.datasets.preview import CLASS_COLOURS

UNKNOWN_CLASS_COLOUR = (255, 255, 255)       # a class a later model added (outlined in white)
# A long side of REFERENCE_SIDE pixels gets 2-pixel lines and OpenCV's 0.5 font scale (about
# 11 pixels tall); bigger images scale both in proportion, smaller ones keep these minimums.
REFERENCE_SIDE = 800
MIN_LINE_WIDTH = 2
MIN_FONT_SCALE = 0.5


@dataclass(frozen=True)
class DrawingScale:
    """How thick the boxes and how large the labels are on one image."""

    line_width: int
    font_scale: float
    text_width: int


def drawing_scale(width: int, height: int) -> DrawingScale:
    """Line width and label size for an image of ``width`` x ``height`` pixels."""
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width} x {height}")
    factor = max(width, height) / REFERENCE_SIDE
    line = max(MIN_LINE_WIDTH, round(MIN_LINE_WIDTH * factor))
    font = max(MIN_FONT_SCALE, round(MIN_FONT_SCALE * factor, 2))
    return DrawingScale(line, font, max(1, line // 2))


def class_colour(label: str) -> tuple[int, int, int]:
    """The RGB colour of a class's boxes."""
    return CLASS_COLOURS.get(label, UNKNOWN_CLASS_COLOUR)


def draw_detections(rgb: np.ndarray, boxes: Sequence[Sequence[float]], labels: Sequence[str],
                    scores: Sequence[float] | None = None) -> np.ndarray:
    """A copy of RGB ``rgb`` with each box (``[x1, y1, x2, y2]`` pixels) outlined in its class
    colour and labelled ``class score`` on a filled tab above it (inside, at the top edge)."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an RGB image [H, W, 3], got shape {rgb.shape}")
    if len(boxes) != len(labels) or (scores is not None and len(scores) != len(labels)):
        raise ValueError(f"boxes, labels and scores differ in length: {len(boxes)}, "
                         f"{len(labels)}, {len(scores) if scores is not None else '-'}")
    out = np.ascontiguousarray(rgb.copy())
    scale = drawing_scale(out.shape[1], out.shape[0])
    for index, (box, label) in enumerate(zip(boxes, labels, strict=True)):
        colour = class_colour(label)
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, scale.line_width)
        text = label if scores is None else f"{label} {scores[index]:.2f}"
        _label(out, text, (x1, y1), colour, scale)
    return out


def _label(out: np.ndarray, text: str, corner: tuple[int, int], colour: tuple[int, int, int],
           scale: DrawingScale) -> None:
    """A filled tab in the class colour holding ``text`` in black or white, whichever reads."""
    (text_w, text_h), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX,
                                                 scale.font_scale, scale.text_width)
    pad = max(2, scale.line_width)
    x, top = corner[0], max(0, corner[1] - text_h - baseline - 2 * pad)
    bottom = top + text_h + baseline + 2 * pad
    cv2.rectangle(out, (x, top), (x + text_w + 2 * pad, bottom), colour, -1)
    luma = 0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2]
    ink = (0, 0, 0) if luma > 130 else (255, 255, 255)     # black on yellow and cyan
    cv2.putText(out, text, (x + pad, bottom - baseline - pad), cv2.FONT_HERSHEY_SIMPLEX,
                scale.font_scale, ink, scale.text_width, cv2.LINE_AA)
