"""Reading scan files into the RGB uint8 arrays the detector takes (numpy, cv2, tifffile only)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from xscreen.errors import ImageDecodeError

TIFF_SUFFIXES = {".tif", ".tiff"}


def to_uint8(image: np.ndarray) -> np.ndarray:
    """8-bit from 8- or 16-bit integer images (65535 maps to 255)."""
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return (image / 257.0).round().astype(np.uint8)
    raise ImageDecodeError(f"unsupported pixel type {image.dtype}; expected 8- or 16-bit")


def as_rgb(image: np.ndarray) -> np.ndarray:
    """RGB [H, W, 3] from greyscale [H, W] / [H, W, 1] or RGB(A); integer 8/16-bit."""
    image = to_uint8(image)
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] not in (1, 3, 4):
        raise ImageDecodeError(f"unsupported image shape {image.shape}")
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return np.ascontiguousarray(image[:, :, :3])


def read_rgb_file(path: str | Path) -> np.ndarray:
    """RGB uint8 of a PNG, JPEG or TIFF file.

    A TIFF of two 16-bit pages is a raw dual-energy scan (page 0 high, page 1 low, CONTRACT
    "Images") and is rendered in the standard pseudo-colour.
    """
    path = Path(path)
    if not path.is_file():
        raise ImageDecodeError(f"{path} does not exist")
    if path.suffix.lower() in TIFF_SUFFIXES:
        return _read_tiff(path)
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ImageDecodeError(f"cannot decode {path}: expected a PNG, JPEG or TIFF image")
    if image.ndim == 3:  # cv2 reads BGR(A)
        image = image[:, :, [2, 1, 0]] if image.shape[2] >= 3 else image
    return as_rgb(image)


def _read_tiff(path: Path) -> np.ndarray:
    pages = _tiff_pages(path)
    if len(pages) == 2 and all(p.dtype == np.uint16 and p.ndim == 2 for p in pages):
        from xscreen.datasets.colour import render

        return np.ascontiguousarray(render(pages[0], pages[1]))
    return as_rgb(pages[0])


def _tiff_pages(path: Path) -> list[np.ndarray]:
    """The pages of a TIFF, colour ones in RGB order: tifffile first, then cv2 (which decodes
    LZW without imagecodecs)."""
    import tifffile

    try:
        stack = tifffile.imread(path, key=None)
        return [stack[0], stack[1]] if stack.ndim == 3 and stack.shape[0] == 2 else [stack]
    except Exception:  # compressed without imagecodecs, or not a TIFF tifffile reads
        pass
    ok, pages = cv2.imreadmulti(str(path), flags=cv2.IMREAD_UNCHANGED)
    if not ok or not pages:
        raise ImageDecodeError(f"cannot decode TIFF {path}: not a TIFF that tifffile or cv2 reads")
    return [p[:, :, [2, 1, 0]] if p.ndim == 3 and p.shape[2] >= 3 else p for p in pages]  # BGR


def read_dataset_rgb(path: str | Path) -> np.ndarray:
    """RGB uint8 of a dataset's image file (DatasetError naming it when it cannot be decoded).

    Here rather than in ``training/data.py`` so that evaluating an ONNX bundle needs no
    training packages (that module imports albumentations and torch)."""
    from xscreen.errors import DatasetError

    try:
        return read_rgb_file(path)
    except ImageDecodeError as error:
        raise DatasetError(str(error)) from None
