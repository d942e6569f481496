"""Validation with the PyTorch model during training: detections in original pixels, then mAP."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader

from xscreen.datasets.coco import Dataset
from xscreen.models.detector import DetectionPostprocess, Detector
from xscreen.models.preprocess import LetterboxInfo, padded_size, unletterbox_boxes
from xscreen.training.data import DetectionDataset, collate
from xscreen.training.metrics import ImageDetections, coco_map


@torch.no_grad()
def torch_detections(model: Detector, dataset: Dataset, input_size: int,
                     batch_size: int = 8) -> list[ImageDetections]:
    """Run ``model`` (eval mode) over ``dataset``; boxes mapped back to each image's pixels."""
    model.eval()
    postprocess = DetectionPostprocess()
    loader = DataLoader(DetectionDataset(dataset, input_size), batch_size=batch_size,
                        collate_fn=collate, num_workers=0)
    rows = [row for images, _ in loader for row in postprocess(model(images)).numpy()]
    return [_to_image_detections(r, rec.id, rec.width, rec.height, input_size)
            for r, rec in zip(rows, dataset.images, strict=True)]


def _to_image_detections(rows: np.ndarray, image_id: int, width: int, height: int,
                         input_size: int) -> ImageDetections:
    scale = padded_size(height, width, input_size, square=True)[0]
    rows = rows[rows[:, 4] > 0]
    boxes = unletterbox_boxes(rows[:, :4], LetterboxInfo(scale, 0, 0), width, height)
    return ImageDetections(image_id, boxes, rows[:, 4], rows[:, 5].astype(np.int64))


def validation_map50(model: Detector, dataset: Dataset, input_size: int) -> float:
    """COCO mAP at IoU 0.5 of ``model`` on ``dataset``."""
    return coco_map(dataset, torch_detections(model, dataset, input_size)).map50
