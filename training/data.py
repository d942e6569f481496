"""Training data: COCO images read through ``load_dataset``, augmented, then letterboxed.

The letterbox is :func:`xscreen.models.preprocess.letterbox`, the same function serving uses.
Training asks for square padding so that images batch, or (``rect``) the serving letterbox
itself, and :func:`collate` pads each batch to its largest image.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import albumentations as A
import cv2
import numpy as np
import torch
from torch.utils.data import Dataset as TorchDataset

from xscreen.datasets.coco import Dataset, ImageRecord
from xscreen.errors import DatasetError, ImageDecodeError
from xscreen.models.imageio import read_rgb_file
from xscreen.models.losses import Targets
from xscreen.models.preprocess import PAD_VALUE, letterbox
from xscreen.training.config import AugmentConfig

WHITE = (255, 255, 255)

# Signature of the online threat-image projection hook: (rgb image, boxes xyxy, labels, rng)
# -> (image, boxes, labels): xscreen.datasets.tip.project_threat.
ThreatProjector = Callable[[np.ndarray, np.ndarray, np.ndarray, np.random.Generator],
                           tuple[np.ndarray, np.ndarray, np.ndarray]]


def build_augmentations(config: AugmentConfig) -> A.Compose:
    """Geometric and photometric augmentations; boxes follow (Pascal VOC x1, y1, x2, y2)."""
    low, high = config.scale_range
    return A.Compose(
        [
            A.HorizontalFlip(p=config.flip),
            A.VerticalFlip(p=config.flip),
            A.RandomRotate90(p=config.rotate90),
            A.Affine(scale=(low, high), translate_percent=(-0.1, 0.1), rotate=(-8, 8),
                     border_mode=cv2.BORDER_CONSTANT, fill=WHITE, p=config.affine),
            A.OneOf([
                A.HueSaturationValue(hue_shift_limit=12, sat_shift_limit=30, val_shift_limit=15),
                A.RGBShift(r_shift_limit=20, g_shift_limit=20, b_shift_limit=20),
                A.RandomGamma(gamma_limit=(70, 140)),
                A.RandomBrightnessContrast(brightness_limit=0.15, contrast_limit=0.25),
            ], p=config.colour_shift),
            A.ToGray(p=config.grey),
            A.GaussNoise(std_range=(0.01, 0.05), p=config.noise),
            A.GaussianBlur(blur_limit=(3, 5), p=config.blur),
            A.ImageCompression(quality_range=(50, 95), p=config.jpeg),
        ],
        bbox_params=A.BboxParams(format="pascal_voc", label_fields=["labels"], clip=True,
                                 min_visibility=0.4, min_width=2, min_height=2,
                                 filter_invalid_bboxes=True),
    )


def read_rgb(path: str | Path) -> np.ndarray:
    """An 8-bit RGB image of a dataset (DatasetError when it cannot be decoded)."""
    try:
        return read_rgb_file(path)
    except ImageDecodeError as error:
        raise DatasetError(str(error)) from None


def record_boxes(record: ImageRecord) -> tuple[np.ndarray, np.ndarray]:
    """A record's boxes as x1, y1, x2, y2 [G, 4] float32, and labels [G] int64."""
    boxes = np.asarray(record.boxes, dtype=np.float32).reshape(-1, 4)
    boxes[:, 2:] += boxes[:, :2]
    return boxes, np.asarray(record.labels, dtype=np.int64)


def shrink_to(image: np.ndarray, boxes: np.ndarray,
              long_side: int) -> tuple[np.ndarray, np.ndarray]:
    """Resize ``image`` down (never up) so its long side is ``long_side``, as letterbox would."""
    height, width = image.shape[:2]
    scale = long_side / max(height, width)
    if scale >= 1:
        return image, boxes
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), boxes * scale


class DetectionDataset(TorchDataset):
    """Letterboxed images [3, S, S] (``rect``: [3, H, W], long side S, the other a multiple of
    32) and :class:`Targets` in input pixels."""

    def __init__(self, dataset: Dataset, input_size: int, augment: AugmentConfig | None = None,
                 threat_projector: ThreatProjector | None = None, tip_probability: float = 0.0,
                 seed: int = 0, rect: bool = False) -> None:
        self.dataset = dataset
        self.input_size = input_size
        self.rect = rect
        self.augmentations = build_augmentations(augment) if augment is not None else None
        self.threat_projector = threat_projector
        self.tip_probability = tip_probability
        self.seed = seed

    def __len__(self) -> int:
        return len(self.dataset.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, Targets]:
        record = self.dataset.images[index]
        image = read_rgb(self.dataset.image_path(record))
        boxes, labels = record_boxes(record)
        if self.threat_projector is not None:
            image, boxes, labels = self._project_threat(image, boxes, labels)
        if self.augmentations is not None:
            # Shrink first so the augmentations work on the model's resolution (2x faster).
            image, boxes = shrink_to(image, boxes, self.input_size)
            out = self.augmentations(image=image, bboxes=boxes, labels=labels)
            image = out["image"]
            boxes = np.asarray(out["bboxes"], dtype=np.float32).reshape(-1, 4)
            labels = np.asarray(out["labels"], dtype=np.int64)
        array, info = letterbox(image, self.input_size, square=not self.rect)
        return torch.from_numpy(array), Targets(torch.from_numpy(boxes * info.scale),
                                                torch.from_numpy(labels))

    def _project_threat(self, image: np.ndarray, boxes: np.ndarray,
                        labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Online TIP hook: with ``tip_probability``, paste a threat into the scan."""
        rng = np.random.default_rng()
        if self.threat_projector is None or rng.random() >= self.tip_probability:
            return image, boxes, labels
        return self.threat_projector(image, boxes, labels, rng)


def collate(batch: list[tuple[torch.Tensor, Targets]]) -> tuple[torch.Tensor, list[Targets]]:
    """Stack the images, padded right and bottom with white to the batch's largest height and
    width (letterboxes sit top-left, so boxes stay put); keep each image's targets apart."""
    images, targets = zip(*batch, strict=True)
    height = max(image.shape[1] for image in images)
    width = max(image.shape[2] for image in images)
    if all(image.shape[1:] == (height, width) for image in images):
        return torch.stack(images), list(targets)
    out = torch.full((len(images), images[0].shape[0], height, width), PAD_VALUE)
    for index, image in enumerate(images):
        out[index, :, :image.shape[1], :image.shape[2]] = image
    return out, list(targets)


def load_threat_projector() -> ThreatProjector:
    """The online TIP function: the synthesiser's threat image projection."""
    from xscreen.datasets.tip import project_threat

    return project_threat
