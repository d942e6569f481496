"""Pictures of datasets: boxes drawn on scans, and contact sheets for people to look at."""

from __future__ import annotations

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


def draw_boxes(rgb: np.ndarray, boxes_xyxy: list[list[float]], labels: list[str],
               scores: list[float] | None = None, thickness: int = 2) -> np.ndarray:
    """A copy of ``rgb`` with labelled boxes (``[x1, y1, x2, y2]`` pixels) drawn on it."""
    out = np.ascontiguousarray(rgb.copy())
    for i, (box, label) in enumerate(zip(boxes_xyxy, labels, strict=True)):
        colour = CLASS_COLOURS.get(label, (255, 0, 0))
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, thickness)
        text = label if scores is None else f"{label} {scores[i]:.2f}"
        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)
        ty = max(y1, th + 4)
        cv2.rectangle(out, (x1, ty - th - 4), (x1 + tw + 4, ty), colour, -1)
        cv2.putText(out, text, (x1 + 2, ty - 3), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                    (255, 255, 255), 1, cv2.LINE_AA)
    return out


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
