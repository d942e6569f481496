"""Box arithmetic in numpy, for the places that must not import torch (serving) and those that
score detections (evaluation): one definition of intersection over union."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def box_iou(box: Sequence[float] | np.ndarray, boxes: Sequence[Sequence[float]] | np.ndarray
            ) -> np.ndarray:
    """IoU of one ``[x1, y1, x2, y2]`` box with each of ``boxes`` [K, 4]; corners in any order
    (an operator may draw a box from any corner); boxes without area overlap nothing."""
    one = _ordered(np.asarray(box, dtype=np.float64).reshape(1, 4))[0]
    many = _ordered(np.asarray(boxes, dtype=np.float64).reshape(-1, 4))
    if len(many) == 0:
        return np.zeros(0)
    low = np.maximum(one[:2], many[:, :2])
    high = np.minimum(one[2:], many[:, 2:])
    inter = np.clip(high - low, 0, None).prod(axis=1)
    union = np.prod(one[2:] - one[:2]) + (many[:, 2:] - many[:, :2]).prod(axis=1) - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def _ordered(boxes: np.ndarray) -> np.ndarray:
    """Boxes with x1 <= x2 and y1 <= y2."""
    return np.concatenate([np.minimum(boxes[:, :2], boxes[:, 2:]),
                           np.maximum(boxes[:, :2], boxes[:, 2:])], axis=1)
