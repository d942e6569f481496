"""The one numpy IoU that evaluation and the operator TIP both score with."""

from __future__ import annotations

import numpy as np
import pytest

from xscreen.models.boxes import box_iou


@pytest.mark.parametrize(("a", "b", "iou"), [
    ([0, 0, 10, 10], [0, 0, 10, 10], 1.0),
    ([0, 0, 10, 10], [5, 0, 15, 10], 1 / 3),
    ([0, 0, 10, 10], [20, 20, 30, 30], 0.0),
    ([10, 10, 0, 0], [0, 0, 10, 10], 1.0),          # corners in any order
    ([0, 0, 0, 10], [0, 0, 10, 10], 0.0),           # an empty box
    ([0, 0, 0, 10], [0, 0, 0, 10], 0.0),            # two empty boxes: no union, no overlap
])
def test_box_iou(a: list[float], b: list[float], iou: float) -> None:
    assert box_iou(a, [b]).tolist() == [pytest.approx(iou)]


def test_box_iou_against_many() -> None:
    boxes = np.array([[0, 0, 10, 10], [5, 5, 15, 15], [0, 0, 5, 10]])
    assert box_iou([0, 0, 10, 10], boxes).tolist() == pytest.approx([1.0, 25 / 175, 0.5])
    assert box_iou([0, 0, 10, 10], np.zeros((0, 4))).shape == (0,)
