"""DICOS/DICOM image pixels to the RGB uint8 rendering the detector takes (pydicom, numpy only).

Shared by the service's decoder (``serving/decode.py``, bytes from an upload) and the DICOS
import source (``datasets/import_dicos.py``, files of a dataset), so that both render a DICOS
DX image alike: palette colour through its LUT, greyscale through the modality LUT (PS3.3
C.11.1) and then the VOI LUT or window (C.11.2), MONOCHROME1 inverted.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from xscreen.errors import ImageDecodeError
from xscreen.models.imageio import as_rgb


class DicomPixelError(ImageDecodeError):
    """A DICOM file's pixel data cannot be decoded (a missing codec, truncated data)."""

    http_status = 422


def dicom_to_rgb(dataset: Any) -> np.ndarray:
    """RGB uint8 of a DICOM image: palette colour through its LUT; greyscale through the modality
    LUT (PS3.3 C.11.1), then the VOI LUT or window (C.11.2), MONOCHROME1 inverted."""
    from pydicom.pixels import apply_color_lut, apply_modality_lut, apply_voi_lut

    try:
        pixels = dataset.pixel_array
    except Exception as error:  # missing codec, truncated data, bad attributes
        raise DicomPixelError(f"the DICOM pixel data cannot be decoded: {error}") from None
    if pixels.ndim == 3 and int(dataset.get("SamplesPerPixel", 1)) == 1:
        pixels = pixels[0]  # multi-frame: screen the first frame
    photometric = str(dataset.get("PhotometricInterpretation", "MONOCHROME2"))
    if photometric == "PALETTE COLOR":
        return _to_uint8_range(np.asarray(apply_color_lut(pixels, dataset)), full_scale=True)
    if photometric in ("RGB", "YBR_FULL", "YBR_FULL_422"):
        return as_rgb(pixels.astype(np.uint8) if pixels.dtype != np.uint16 else pixels)
    values = np.asarray(apply_modality_lut(pixels, dataset))
    if values.dtype.kind == "f" and np.array_equal(values, np.round(values)):
        values = values.astype(np.int64)  # an identity rescale: keep integers for the VOI LUT
    low, high = _voi_range(dataset)
    if (low, high) != (None, None):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = apply_voi_lut(values, dataset)
    grey = _stretch(np.asarray(values, np.float64), low, high)
    if photometric == "MONOCHROME1":
        grey = 255 - grey
    return as_rgb(grey)


def _voi_range(dataset: Any) -> tuple[float | None, float | None]:
    """The output range of the dataset's VOI transform, or (None, None) when it has none."""
    if "VOILUTSequence" in dataset and len(dataset.VOILUTSequence):
        item = dataset.VOILUTSequence[0]
        bits = int(item.LUTDescriptor[2])
        lut = np.frombuffer(item.LUTData, np.uint16 if bits > 8 else np.uint8) \
            if isinstance(item.LUTData, bytes) else np.asarray(item.LUTData)
        return float(lut.min()), float(lut.max())
    if "WindowCenter" in dataset and "WindowWidth" in dataset:
        bits = int(dataset.get("BitsStored", 16))
        return 0.0, float(2 ** bits - 1)
    return None, None


def _stretch(values: np.ndarray, low: float | None, high: float | None) -> np.ndarray:
    """uint8 from ``values`` mapped linearly from [low, high] (the data's own range if None)."""
    low = float(values.min()) if low is None else low
    high = float(values.max()) if high is None else high
    if high <= low:
        return np.full(values.shape, 255, np.uint8)
    return (np.clip((values - low) / (high - low), 0, 1) * 255).round().astype(np.uint8)


def _to_uint8_range(rgb: np.ndarray, full_scale: bool) -> np.ndarray:
    """RGB uint8 from palette output (pydicom yields 16-bit LUT values for 8- or 16-bit LUTs)."""
    if rgb.dtype == np.uint8:
        return np.ascontiguousarray(rgb)
    top = 65535.0 if full_scale and rgb.max() > 255 else 255.0
    return np.ascontiguousarray((rgb.astype(np.float64) / top * 255).round().astype(np.uint8))
