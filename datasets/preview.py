"""Pictures of scans: boxes drawn on them, and contact sheets for people to look at.

:func:`draw_boxes` is the one drawing of boxes: the service's annotated PNG (``GET
/v1/scans/{id}/image?annotated=true``), threat image projection, ``xscreen detect --annotate``
and the contact sheets. Class colours as the README says (red firearm, magenta narcotics, yellow
gold, cyan counterfeit); lines and labels grow with the image, so that a box stays readable on a
2688-pixel scan and does not swamp a 160-pixel one. No web framework, no torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from xscreen import CLASSES
from xscreen.datasets.coco import Dataset, load_dataset

# One colour per class (RGB), chosen to stand out against orange/green/blue scans.
CLASS_COLOURS: dict[str, tuple[int, int, int]] = {
    "firearm": (230, 0, 0), "narcotics": (200, 0, 200), "gold": (255, 200, 0),
    "counterfeit": (0, 200, 200),
}


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


def draw_boxes(rgb: np.ndarray, boxes: Sequence[Sequence[float]], labels: Sequence[str],
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


def annotated_image(dataset: Dataset, index: int) -> np.ndarray:
    """Image ``index`` of a dataset with its ground-truth boxes drawn."""
    record = dataset.images[index]
    bgr = cv2.imread(str(dataset.image_path(record)), cv2.IMREAD_COLOR)
    if bgr is None:
        raise FileNotFoundError(dataset.image_path(record))
    boxes = [[x, y, x + w, y + h] for x, y, w, h in record.boxes]
    return draw_boxes(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), boxes,
                      [CLASSES[i] for i in record.labels])


def contact_sheet(dataset_dir: str | Path, out_png: str | Path, count: int = 16,
                  columns: int = 4, tile_width: int = 400) -> Path:
    """A grid of the first ``count`` scans of a dataset with their boxes, as one PNG."""
    dataset = load_dataset(dataset_dir)
    tiles = []
    for index in range(min(count, len(dataset.images))):
        image = annotated_image(dataset, index)
        scale = tile_width / image.shape[1]
        tiles.append(cv2.resize(image, (tile_width, int(round(image.shape[0] * scale))),
                                interpolation=cv2.INTER_AREA))
    tile_height = max(t.shape[0] for t in tiles)
    rows = -(-len(tiles) // columns)
    sheet = np.full((rows * (tile_height + 4) + 4, columns * (tile_width + 4) + 4, 3), 64,
                    np.uint8)
    for i, tile in enumerate(tiles):
        y, x = 4 + (i // columns) * (tile_height + 4), 4 + (i % columns) * (tile_width + 4)
        sheet[y:y + tile.shape[0], x:x + tile.shape[1]] = tile
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out_png), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    return out_png
