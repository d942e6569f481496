"""The one drawing of boxes (the service's PNG, TIP, ``xscreen detect --annotate``, contact
sheets): class colours, and line and label sizes that grow with the image."""

from __future__ import annotations

import numpy as np
import pytest

from xscreen.datasets.preview import draw_boxes, drawing_scale


def _line_width(drawn: np.ndarray, x: int, y: int) -> int:
    """How many pixels of the box's left edge, read across row ``y`` from ``x``, are not white."""
    row = drawn[y, max(0, x - 20): x + 40]
    return int((row.min(axis=1) < 250).sum())


def _label_height(drawn: np.ndarray, x: int, y1: int) -> int:
    """Rows above the box's top edge that the label tab fills."""
    column = drawn[: y1, x + 3]
    return int((column.min(axis=1) < 250).sum())


@pytest.mark.parametrize(("small", "large"), [(160, 2688), (800, 2688), (400, 1600)])
def test_lines_and_labels_grow_with_the_image(small: int, large: int) -> None:
    sizes = {}
    for side in (small, large):
        image = np.full((side, side, 3), 255, np.uint8)
        box = [side * 0.3, side * 0.5, side * 0.7, side * 0.8]
        drawn = draw_boxes(image, [box], ["counterfeit"], [0.9])
        sizes[side] = (_line_width(drawn, int(box[0]), int(side * 0.7)),
                       _label_height(drawn, int(box[0]), int(box[1])))
    assert sizes[large][0] > sizes[small][0] and sizes[large][1] > sizes[small][1]
    ratio = large / small
    # a label about a hundredth of the image tall, and never under 10 pixels
    assert sizes[large][1] >= min(ratio, 3) * sizes[small][1] * 0.6
    assert sizes[small][1] >= 10


def test_a_2688_pixel_scan_gets_readable_boxes() -> None:
    scale = drawing_scale(2688, 1800)
    assert scale.line_width >= 5 and scale.font_scale >= 1.5
    assert drawing_scale(160, 96).line_width == 2


@pytest.mark.parametrize(("label", "strong"), [
    ("firearm", (1, 0, 0)), ("narcotics", (1, 0, 1)), ("gold", (1, 1, 0)),
    ("counterfeit", (0, 1, 1)),
])
def test_class_colours_are_the_readmes(label: str, strong: tuple[int, int, int]) -> None:
    image = np.full((200, 200, 3), 255, np.uint8)
    drawn = draw_boxes(image, [[50, 60, 150, 180]], [label], [0.8])
    edge = drawn[150, 50]
    assert all(v > 150 if on else v < 60 for v, on in zip(edge, strong, strict=True)), edge


@pytest.mark.parametrize(("image", "boxes", "labels", "scores", "words"), [
    (np.zeros((8, 8), np.uint8), [], [], None, "RGB"),
    (np.zeros((8, 8, 3), np.uint8), [[0, 0, 1, 1]], [], None, "length"),
    (np.zeros((8, 8, 3), np.uint8), [[0, 0, 1, 1]], ["gold"], [0.1, 0.2], "length"),
])
def test_bad_input(image: np.ndarray, boxes: list[list[float]], labels: list[str],
                   scores: list[float] | None, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        draw_boxes(image, boxes, labels, scores)
    with pytest.raises(ValueError, match="positive"):
        drawing_scale(0, 10)
