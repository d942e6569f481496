"""The one preprocessing step shared by training, evaluation and serving (numpy and cv2 only).

:func:`letterbox` scales an RGB scan so that its long side is the card's ``input_size``, keeps its
aspect, and pads right and bottom to multiples of the card's ``letterbox_stride`` (32 for every
detector so far: their coarsest level's stride) with 1.0 (white: air, CONTRACT "Model
bundle"). :func:`unletterbox_boxes` maps boxes from the model's input pixels back to the scan's.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

STRIDE = 32
"""The default letterbox stride: the coarsest level's stride of the detectors built so far."""
PAD_VALUE = 1.0


@dataclass(frozen=True)
class LetterboxInfo:
    """How a scan was placed in the model input: ``input = original * scale + pad``."""

    scale: float
    pad_x: int
    pad_y: int


def to_rgb(image: np.ndarray) -> np.ndarray:
    """An RGB [H, W, 3] view of ``image``: greyscale (2-D or one channel) becomes three channels."""
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] not in (1, 3, 4):
        raise ValueError(f"expected an image of shape [H, W], [H, W, 1], [H, W, 3] or "
                         f"[H, W, 4], got {image.shape}")
    if image.shape[2] == 1:
        return np.repeat(image, 3, axis=2)
    return image[:, :, :3]


def padded_size(height: int, width: int, input_size: int, square: bool = False,
                stride: int = STRIDE) -> tuple[float, int, int]:
    """Scale and padded (height, width) when the long side is scaled to ``input_size`` and each
    side padded up to a multiple of ``stride``."""
    if stride <= 0:
        raise ValueError(f"the letterbox stride must be positive, got {stride}")
    if input_size % stride:
        raise ValueError(f"input_size must be a multiple of {stride} (the letterbox stride), "
                         f"got {input_size}")
    scale = input_size / max(height, width)
    if square:
        return scale, input_size, input_size
    new_h, new_w = round(height * scale), round(width * scale)
    return scale, -(-new_h // stride) * stride, -(-new_w // stride) * stride


def letterbox(image: np.ndarray, input_size: int, square: bool = False,
              stride: int = STRIDE) -> tuple[np.ndarray, LetterboxInfo]:
    """RGB uint8 [H, W, 3] (or greyscale) to a float32 [3, H', W'] array in 0-1, and its placement.

    The long side becomes ``input_size``; the other keeps the aspect ratio; the image sits at the
    top-left and the rest is padded with 1.0 up to multiples of ``stride`` (the card's
    ``letterbox_stride``; or to a square ``input_size`` when ``square``, which training uses to
    batch images).
    """
    rgb = to_rgb(image)
    height, width = rgb.shape[:2]
    scale, out_h, out_w = padded_size(height, width, input_size, square, stride)
    new_h, new_w = min(round(height * scale), out_h), min(round(width * scale), out_w)
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(np.ascontiguousarray(rgb), (new_w, new_h), interpolation=interpolation)
    if resized.ndim == 2:  # cv2 drops a trailing axis of one
        resized = resized[:, :, None]
    # Straight into the channels-first float canvas: scaling and transposing in one pass is ten
    # times faster than building an HWC float image and copying it (same values, bit for bit).
    canvas = np.empty((3, out_h, out_w), dtype=np.float32)
    canvas[:, new_h:, :] = PAD_VALUE
    canvas[:, :new_h, new_w:] = PAD_VALUE
    np.divide(resized.transpose(2, 0, 1), np.float32(_full_scale(rgb.dtype)),
              out=canvas[:, :new_h, :new_w], casting="unsafe")
    return canvas, LetterboxInfo(scale, 0, 0)


def _full_scale(dtype: np.dtype) -> float:
    """The value of white for an integer dtype (255 for uint8, 65535 for uint16); 1 for floats."""
    return float(np.iinfo(dtype).max) if np.issubdtype(dtype, np.integer) else 1.0


def unletterbox_boxes(boxes: np.ndarray, info: LetterboxInfo, orig_w: int,
                      orig_h: int) -> np.ndarray:
    """Boxes [K, 4] (x1, y1, x2, y2) from model-input pixels to the original scan's, clipped."""
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4).copy()
    boxes[:, [0, 2]] = (boxes[:, [0, 2]] - info.pad_x) / info.scale
    boxes[:, [1, 3]] = (boxes[:, [1, 3]] - info.pad_y) / info.scale
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, orig_w)
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, orig_h)
    return boxes
