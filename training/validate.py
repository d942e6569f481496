"""Validation with the PyTorch model during training: detections in original pixels, then mAP."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader

from xscreen.datasets.coco import Dataset
from xscreen.models.detector import DetectionPostprocess, Detector
from xscreen.models.preprocess import LetterboxInfo, padded_size, unletterbox_boxes
from xscreen.training.data import DetectionDataset, ImageCache, collate, letterbox_stride
from xscreen.training.metrics import ImageDetections, coco_map


@torch.no_grad()
def torch_detections(model: Detector, dataset: Dataset, input_size: int, batch_size: int = 8,
                     rect: bool = False, bf16: bool = False,
                     cache: ImageCache | None = None) -> list[ImageDetections]:
    """Run ``model`` (eval mode) over ``dataset``; boxes mapped back to each image's pixels.

    ``rect``: serving's letterbox (long side ``input_size``, the other padded to a multiple of
    32) instead of a square; ``bf16``: a bfloat16 autocast forward pass, as training's;
    ``cache``: decoded scans kept between validations (:class:`ImageCache`). Runs on the
    device that holds ``model``.
    """
    model.eval()
    postprocess = DetectionPostprocess()
    samples = DetectionDataset(dataset, input_size, rect=rect, cache=cache,
                               stride=letterbox_stride(model))
    loader = DataLoader(samples, batch_size=batch_size, collate_fn=collate, num_workers=0)
    weight = next(model.parameters(), None)
    device = weight.device if weight is not None else torch.device("cpu")
    rows = []
    for images, _ in loader:
        images = images.to(device).contiguous(memory_format=torch.channels_last)
        with torch.autocast(images.device.type, dtype=torch.bfloat16, enabled=bf16):
            outputs = model(images)
        rows += list(postprocess(outputs.to_float()).cpu().numpy())
    return [_to_image_detections(r, rec.id, rec.width, rec.height, input_size)
            for r, rec in zip(rows, dataset.images, strict=True)]


def _to_image_detections(rows: np.ndarray, image_id: int, width: int, height: int,
                         input_size: int) -> ImageDetections:
    scale = padded_size(height, width, input_size, square=True)[0]
    rows = rows[rows[:, 4] > 0]
    boxes = unletterbox_boxes(rows[:, :4], LetterboxInfo(scale, 0, 0), width, height)
    return ImageDetections(image_id, boxes, rows[:, 4], rows[:, 5].astype(np.int64))


def validation_map50(model: Detector, dataset: Dataset, input_size: int, rect: bool = False,
                     bf16: bool = False, cache: ImageCache | None = None) -> float:
    """COCO mAP at IoU 0.5 of ``model`` on ``dataset`` (options: :func:`torch_detections`)."""
    detections = torch_detections(model, dataset, input_size, rect=rect, bf16=bf16, cache=cache)
    return coco_map(dataset, detections).map50
