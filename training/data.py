"""Training data: COCO images read through ``load_dataset``, augmented, then letterboxed.

The letterbox is :func:`xscreen.models.preprocess.letterbox`, the same function serving uses.
Training asks for square padding so that images batch, or (``rect``) the serving letterbox
itself, and :func:`collate` pads each batch to its largest image.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import albumentations as A
import cv2
import numpy as np
import torch
from torch.utils.data import Dataset as TorchDataset

from xscreen.datasets.coco import Dataset, ImageRecord
from xscreen.models.detector import Detector
from xscreen.models.imageio import read_dataset_rgb as read_rgb  # also imported from here
from xscreen.models.losses import Targets
from xscreen.models.preprocess import PAD_VALUE, STRIDE, letterbox
from xscreen.training.config import AugmentConfig

WHITE = (255, 255, 255)


def letterbox_stride(model: Detector) -> int:
    """The multiple a model's letterbox pads each side to: its coarsest level's stride, so
    that every level's grid covers the padded input exactly (what ``xscreen export`` writes
    into the card as ``letterbox_stride``)."""
    return max(model.strides)

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
            A.Affine(scale=config.zoom_range, translate_percent=(-0.3, 0.3),
                     border_mode=cv2.BORDER_CONSTANT, fill=WHITE, p=config.zoom),
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


def record_boxes(record: ImageRecord) -> tuple[np.ndarray, np.ndarray]:
    """A record's boxes as x1, y1, x2, y2 [G, 4] float32, and labels [G] int64."""
    boxes = np.asarray(record.boxes, dtype=np.float32).reshape(-1, 4)
    boxes[:, 2:] += boxes[:, :2]
    return boxes, np.asarray(record.labels, dtype=np.int64)


def shrink_scale(shape: tuple[int, ...], long_side: int) -> float:
    """The factor :func:`shrink_to` resizes an image of ``shape`` by (1 when it is small)."""
    return min(1.0, long_side / max(shape[:2]))


def shrink_to(image: np.ndarray, boxes: np.ndarray,
              long_side: int) -> tuple[np.ndarray, np.ndarray]:
    """Resize ``image`` down (never up) so its long side is ``long_side``, as letterbox would."""
    height, width = image.shape[:2]
    scale = shrink_scale(image.shape, long_side)
    if scale == 1:
        return image, boxes
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), boxes * scale


class ImageCache:
    """Decoded scans, already shrunk to the model's input size, in a file-backed array that the
    loader workers share: the first epoch decodes each PNG once, the later ones read it back.

    Decoding an 800x560 PNG and shrinking it is about half of a sample's loader time on this
    CPU, and the loader shares the two cores with the training step. Slots are ``S x S x 3``
    uint8 (a sparse file, ``count * S * S * 3`` bytes at most); ``meta`` holds each slot's
    height, width and scale, written after the pixels, so a slot interrupted mid-write (a killed
    run) reads as empty and is decoded again.
    """

    def __init__(self, folder: Path, dataset: Dataset, input_size: int) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        count = len(dataset.images)
        key_file, shape_file, pixels_file = (folder / "key.txt", folder / "meta.f32",
                                             folder / "pixels.u8")
        key = self.key(dataset, input_size)
        fresh = not key_file.exists() or key_file.read_text() != key or \
            not shape_file.exists() or not pixels_file.exists()
        mode: Literal["w+", "r+"] = "w+" if fresh else "r+"
        key_file.unlink(missing_ok=True)  # written again once the arrays exist
        self.meta = np.memmap(shape_file, np.float32, mode, shape=(count, 3))
        self.pixels = np.memmap(pixels_file, np.uint8, mode,
                                shape=(count, input_size, input_size, 3))
        key_file.write_text(key)

    @staticmethod
    def key(dataset: Dataset, input_size: int) -> str:
        """What the cached pixels depend on: the input size and every image file's path, size
        and modification time (a cache of other data or another size is rebuilt)."""
        digest = hashlib.sha256(f"{input_size}\n".encode())
        for record in dataset.images:
            path = dataset.image_path(record)
            try:
                stat = path.stat()
            except OSError:  # reading it will say what is wrong
                digest.update(f"{path}:missing\n".encode())
                continue
            digest.update(f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
        return digest.hexdigest()

    def get(self, index: int) -> tuple[np.ndarray, float] | None:
        """The cached image and its scale, or None when the slot is empty."""
        height, width, scale = self.meta[index]
        if height == 0:
            return None
        return np.array(self.pixels[index, :int(height), :int(width)]), float(scale)

    def put(self, index: int, image: np.ndarray, scale: float) -> None:
        height, width = image.shape[:2]
        self.pixels[index, :height, :width] = image
        self.meta[index] = (height, width, scale)

    def remove(self) -> None:
        """Delete the cache's files (the end of a run)."""
        for name in ("key.txt", "meta.f32", "pixels.u8"):
            (self.folder / name).unlink(missing_ok=True)
        for folder in (self.folder, self.folder.parent):   # and the run's image-cache/
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()


class DetectionDataset(TorchDataset):
    """Letterboxed images [3, S, S] (``rect``: [3, H, W], long side S, the other a multiple of
    ``stride``, the model's :func:`letterbox_stride`) and :class:`Targets` in input pixels.

    ``uint8``: the images as 0-255 bytes, the letterbox's 0-1 values times 255 (exact: they are
    bytes divided by 255), for the trainer to divide on its device: a quarter of the bytes
    through the loader's shared memory, collation and the copy to a GPU."""

    def __init__(self, dataset: Dataset, input_size: int, augment: AugmentConfig | None = None,
                 threat_projector: ThreatProjector | None = None, tip_probability: float = 0.0,
                 seed: int = 0, rect: bool = False, cache: ImageCache | None = None,
                 uint8: bool = False, stride: int = STRIDE) -> None:
        if cache is not None and threat_projector is not None:
            raise ValueError("the image cache holds shrunk scans; online TIP needs full ones")
        self.dataset = dataset
        self.cache = cache
        self.input_size = input_size
        self.rect = rect
        self.stride = stride
        self.augmentations = build_augmentations(augment) if augment is not None else None
        self.threat_projector = threat_projector
        self.tip_probability = tip_probability
        self.seed = seed
        self.uint8 = uint8
        self.rng: np.random.Generator
        self.reseed(seed)   # loader workers reseed with their own; without workers this holds

    def __len__(self) -> int:
        return len(self.dataset.images)

    def reseed(self, seed: int) -> None:
        """Seed the augmentations' and the threat projection's random generators (each loader
        worker its own): the same seed draws the same augmented scans."""
        self.rng = np.random.default_rng(seed)
        if self.augmentations is not None:
            self.augmentations.set_random_seed(seed)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, Targets]:
        record = self.dataset.images[index]
        boxes, labels = record_boxes(record)
        if self.cache is not None:
            image, boxes = self._cached(index, boxes)
        else:
            image = read_rgb(self.dataset.image_path(record))
        if self.threat_projector is not None:
            image, boxes, labels = self._project_threat(image, boxes, labels)
        if self.augmentations is not None:
            # Shrink first so the augmentations work on the model's resolution (2x faster).
            image, boxes = shrink_to(image, boxes, self.input_size)
            out = self.augmentations(image=image, bboxes=boxes, labels=labels)
            image = out["image"]
            boxes = np.asarray(out["bboxes"], dtype=np.float32).reshape(-1, 4)
            labels = np.asarray(out["labels"], dtype=np.int64)
        array, info = letterbox(image, self.input_size, square=not self.rect,
                                stride=self.stride)
        if self.uint8:
            array = np.rint(array * np.float32(255)).astype(np.uint8)
        return torch.from_numpy(array), Targets(torch.from_numpy(boxes * info.scale),
                                                torch.from_numpy(labels))

    def _cached(self, index: int, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The scan shrunk as :func:`shrink_to` would (from the cache, else decoded and
        stored), and its boxes scaled alike."""
        assert self.cache is not None
        hit = self.cache.get(index)
        if hit is not None:
            image, scale = hit
            return image, boxes * np.float32(scale)
        image = read_rgb(self.dataset.image_path(self.dataset.images[index]))
        scale = shrink_scale(image.shape, self.input_size)
        image, boxes = shrink_to(image, boxes, self.input_size)
        self.cache.put(index, image, scale)
        return image, boxes

    def _project_threat(self, image: np.ndarray, boxes: np.ndarray,
                        labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Online TIP hook: with ``tip_probability``, paste a threat into the scan."""
        if self.threat_projector is None or self.rng.random() >= self.tip_probability:
            return image, boxes, labels
        return self.threat_projector(image, boxes, labels, self.rng)


def collate(batch: list[tuple[torch.Tensor, Targets]]) -> tuple[torch.Tensor, list[Targets]]:
    """Stack the images, padded right and bottom with white (1.0, or 255 for bytes) to the
    batch's largest height and width (letterboxes sit top-left, so boxes stay put); keep each
    image's targets apart."""
    images, targets = zip(*batch, strict=True)
    height = max(image.shape[1] for image in images)
    width = max(image.shape[2] for image in images)
    if all(image.shape[1:] == (height, width) for image in images):
        return torch.stack(images), list(targets)
    white = PAD_VALUE if images[0].is_floating_point() else 255
    out = torch.full((len(images), images[0].shape[0], height, width), white,
                     dtype=images[0].dtype)
    for index, image in enumerate(images):
        out[index, :, :image.shape[1], :image.shape[2]] = image
    return out, list(targets)


def load_threat_projector() -> ThreatProjector:
    """The online TIP function: the synthesiser's threat image projection."""
    from xscreen.datasets.tip import project_threat

    return project_threat
