"""Uploaded bytes to the RGB uint8 scan the detector takes (no web framework, no torch): the one
decoder of the screening pipeline, used alike by the API and ``xscreen detect``.

Formats are recognised by their content, never by a file name: PNG, JPEG, 8- and 16-bit TIFF
(a TIFF of two 16-bit pages is a raw dual-energy scan, page 0 high and page 1 low, rendered in
the standard pseudo-colour), a ``high`` + ``low`` pair of 16-bit images, and DICOS/DICOM DX or CR
images (modality and VOI LUTs applied, PS3.3 C.11). Image dimensions are read from the header and
checked against the pixel limit *before* any pixels are decoded. DICOS pixels are rendered by
``datasets/dicom.py``, which the DICOS import source shares.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from xscreen.datasets.dicom import DicomPixelError, dicom_to_rgb
from xscreen.models.imageio import as_rgb
from xscreen.serving.errors import (
    BadImageError,
    BadRequestError,
    EmptyUploadError,
    TooLargeError,
    UnsupportedFormatError,
)

TDR_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.501.3"
DX_PRESENTATION_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.501.2.1"
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpeg"), (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"), (b"II+\x00", "tiff"), (b"MM\x00+", "tiff"),
)
_KNOWN_UNSUPPORTED: tuple[tuple[bytes, str], ...] = (
    (b"GIF8", "GIF"), (b"BM", "BMP"), (b"%PDF", "PDF"), (b"PK\x03\x04", "ZIP"),
    (b"RIFF", "RIFF/WebP"), (b"\x00\x00\x00\x0cjP", "JPEG 2000"),
)


@dataclass(frozen=True)
class DecodeLimits:
    """Bounds on what is decoded: pixels per image (checked from the header) and side length."""

    max_pixels: int = 64_000_000
    min_side: int = 16


DEFAULT_LIMITS = DecodeLimits()


@dataclass
class DecodedScan:
    """A decoded scan: the RGB rendering, the raw channels when the input had them, metadata.

    ``meta`` holds at least ``format``, ``width`` and ``height``; DICOM inputs add
    ``sop_class_uid`` and ``sop_instance_uid`` (which a TDR references).
    """

    rgb: np.ndarray
    high: np.ndarray | None = None
    low: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])


@dataclass(frozen=True)
class Upload:
    """A scan's bytes: one ``image``, or a raw dual-energy ``high`` + ``low`` pair."""

    image: bytes | None = None
    high: bytes | None = None
    low: bytes | None = None


def decode_upload(upload: Upload, limits: DecodeLimits = DEFAULT_LIMITS) -> DecodedScan:
    """Decode a scan: exactly one of ``image`` or the ``high`` + ``low`` pair (400 otherwise)."""
    if upload.image is not None and (upload.high is not None or upload.low is not None):
        raise BadRequestError("send either 'image' or the pair 'high' + 'low', not both")
    if upload.image is not None:
        return decode_image(upload.image, limits)
    if upload.high is None or upload.low is None:
        raise BadRequestError("no scan: send a file part 'image', or both 'high' and 'low' "
                              "(raw 16-bit dual-energy channels)")
    return decode_pair(upload.high, upload.low, limits)


def sniff(data: bytes) -> str:
    """The format of ``data`` from its leading bytes: png, jpeg, tiff or dicom.

    Raises EmptyUploadError for no bytes and UnsupportedFormatError for anything else.
    """
    if not data:
        raise EmptyUploadError("the upload is empty (0 bytes); send the scan's file contents")
    for signature, name in _SIGNATURES:
        if data.startswith(signature):
            return name
    if len(data) >= 132 and data[128:132] == b"DICM":
        return "dicom"
    for signature, name in _KNOWN_UNSUPPORTED:
        if data.startswith(signature):
            raise UnsupportedFormatError(
                f"{name} is not a supported scan format; send PNG, JPEG, TIFF (8/16-bit or "
                "two-page raw dual-energy) or DICOS/DICOM DX")
    raise UnsupportedFormatError(
        "unrecognised file format (not PNG, JPEG, TIFF or DICOM by its content); send PNG, "
        "JPEG, TIFF (8/16-bit or two-page raw dual-energy) or DICOS/DICOM DX")


def decode_image(data: bytes, limits: DecodeLimits = DEFAULT_LIMITS) -> DecodedScan:
    """Decode one uploaded scan file of any supported format."""
    kind = sniff(data)
    decoder = {"png": _decode_png, "jpeg": _decode_jpeg, "tiff": _decode_tiff,
               "dicom": _decode_dicom}[kind]
    scan = decoder(data, limits)
    scan.meta.setdefault("format", kind)
    scan.meta.update(width=scan.width, height=scan.height)
    return scan


def decode_pair(high: bytes, low: bytes, limits: DecodeLimits = DEFAULT_LIMITS) -> DecodedScan:
    """Decode a raw dual-energy pair (two single-channel 16-bit images) and render it."""
    high_array = _raw_channel(high, "high", limits)
    low_array = _raw_channel(low, "low", limits)
    if high_array.shape != low_array.shape:
        raise BadImageError(f"high and low must have the same size, got {high_array.shape[::-1]} "
                            f"and {low_array.shape[::-1]} (width x height)")
    scan = DecodedScan(_render(high_array, low_array), high_array, low_array,
                       {"format": "raw-pair"})
    scan.meta.update(width=scan.width, height=scan.height)
    return scan


def check_size(width: int, height: int, limits: DecodeLimits, what: str = "image") -> None:
    """Refuse images over the pixel limit (413) or under the minimum side (422)."""
    if width * height > limits.max_pixels:
        raise TooLargeError(f"the {what} is {width} x {height} = {width * height:,} pixels; the "
                            f"limit is {limits.max_pixels:,}: downscale or split the scan")
    if min(width, height) < limits.min_side:
        raise BadImageError(f"the {what} is {width} x {height} pixels, too small to screen; each "
                            f"side must be at least {limits.min_side} pixels")


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    if len(data) < 24 or data[12:16] != b"IHDR":
        raise BadImageError("the PNG is truncated or damaged: its IHDR header is missing")
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def jpeg_size(data: bytes) -> tuple[int, int]:
    """Width and height from a JPEG's start-of-frame marker (scanning the marker segments)."""
    position = 2
    while position + 9 <= len(data):
        if data[position] != 0xFF:
            break
        marker = data[position + 1]
        if marker == 0xFF:          # fill byte
            position += 1
            continue
        length = struct.unpack(">H", data[position + 2:position + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[position + 5:position + 9])
            return int(width), int(height)
        position += 2 + length
    raise BadImageError("the JPEG is truncated or damaged: no frame header (SOF) was found")


def _decode_png(data: bytes, limits: DecodeLimits) -> DecodedScan:
    check_size(*png_size(data), limits)
    if b"IEND" not in data[-32:]:
        raise BadImageError("the PNG is truncated: it ends before its IEND chunk; resend the "
                            "complete file")
    return DecodedScan(_imdecode(data, "PNG"))


def _decode_jpeg(data: bytes, limits: DecodeLimits) -> DecodedScan:
    check_size(*jpeg_size(data), limits)
    if b"\xff\xd9" not in data[-1024:]:
        raise BadImageError("the JPEG is truncated: it ends before its end-of-image marker; "
                            "resend the complete file")
    return DecodedScan(_imdecode(data, "JPEG"))


def _imdecode(data: bytes, name: str) -> np.ndarray:
    """RGB uint8 of PNG or JPEG bytes through OpenCV (which yields BGR)."""
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise BadImageError(f"the {name} is damaged and could not be decoded")
    if image.ndim == 3 and image.shape[2] in (3, 4):  # cvtColor: 50x faster than indexing
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB if image.shape[2] == 3
                             else cv2.COLOR_BGRA2RGB)
    try:
        return as_rgb(image)
    except Exception as error:  # as_rgb raises ImageDecodeError (415); here the file is broken
        raise BadImageError(f"the {name} has unsupported pixels: {error}") from None


def _tiff_pages(data: bytes, limits: DecodeLimits) -> list[np.ndarray]:
    """The pages of a TIFF, each checked against the limits from its header before decoding."""
    import tifffile

    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tiff:
            pages = list(tiff.pages)[:3]
            for page in pages:
                shape = page.shape
                check_size(int(shape[1]), int(shape[0]), limits, "TIFF page")
            try:
                return [np.asarray(page.asarray()) for page in pages]
            except Exception as error:  # e.g. LZW without imagecodecs: OpenCV decodes it
                return _opencv_tiff_pages(data, len(pages), error)
    except (TooLargeError, BadImageError):
        raise
    except Exception as error:  # tifffile raises many types for damaged files
        raise BadImageError(f"the TIFF is truncated or damaged: {error}") from None


def _opencv_tiff_pages(data: bytes, count: int, first_error: Exception) -> list[np.ndarray]:
    """The first ``count`` pages through OpenCV (sizes already checked), colour ones in RGB
    order: OpenCV decodes the compressions (LZW, Deflate) that tifffile needs imagecodecs for,
    and writes LZW itself, so that ``xscreen detect`` and the API read what datasets hold."""
    ok, pages = cv2.imdecodemulti(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if not ok or not pages:
        raise BadImageError(f"the TIFF is truncated or damaged: {first_error}")
    return [cv2.cvtColor(p, cv2.COLOR_BGR2RGB) if p.ndim == 3 and p.shape[2] == 3 else p
            for p in list(pages)[:count]]


def _decode_tiff(data: bytes, limits: DecodeLimits) -> DecodedScan:
    pages = _tiff_pages(data, limits)
    if len(pages) == 2 and all(p.dtype == np.uint16 and p.ndim == 2 for p in pages):
        if pages[0].shape != pages[1].shape:
            raise BadImageError("the two pages of a raw dual-energy TIFF must have the same size")
        return DecodedScan(_render(pages[0], pages[1]), pages[0], pages[1],
                           {"format": "raw-tiff"})
    first = pages[0]
    if first.dtype not in (np.uint8, np.uint16):
        raise UnsupportedFormatError(f"TIFF pixels of type {first.dtype} are not supported; "
                                     "send 8- or 16-bit unsigned integer TIFF")
    return DecodedScan(as_rgb(first), meta={"format": "tiff", "bits": first.dtype.itemsize * 8})


def _raw_channel(data: bytes, name: str, limits: DecodeLimits) -> np.ndarray:
    """A single-channel 16-bit image (TIFF or PNG) for one energy of a dual-energy pair."""
    kind = sniff(data)
    channel: np.ndarray | None
    if kind == "tiff":
        channel = _tiff_pages(data, limits)[0]
    elif kind == "png":
        check_size(*png_size(data), limits, name)
        channel = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    else:
        raise UnsupportedFormatError(f"'{name}' must be a 16-bit single-channel TIFF or PNG, "
                                     f"got {kind.upper()}")
    if channel is None or channel.dtype != np.uint16 or channel.ndim != 2:
        got = "an undecodable file" if channel is None else f"{channel.dtype} {channel.shape}"
        raise BadImageError(f"'{name}' must be a 16-bit single-channel image (65535 = air), "
                            f"got {got}")
    return channel


def _render(high: np.ndarray, low: np.ndarray) -> np.ndarray:
    """The standard pseudo-colour rendering (imported lazily: calibration costs a second)."""
    from xscreen.datasets.colour import render

    return np.ascontiguousarray(render(high, low))


def _decode_dicom(data: bytes, limits: DecodeLimits) -> DecodedScan:
    import pydicom

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # vendors' UIDs often break VR rules; harmless here
            dataset = pydicom.dcmread(io.BytesIO(data))
    except Exception as error:  # pydicom raises several types for damaged files
        raise BadImageError(f"the DICOM file is damaged: {error}") from None
    sop_class = str(dataset.get("SOPClassUID", ""))
    if sop_class == TDR_SOP_CLASS or str(dataset.get("Modality", "")) == "TDR":
        raise UnsupportedFormatError(
            "this is a DICOS Threat Detection Report (a result), not an image; send the scan "
            "itself (a DICOS DX image)")
    if "PixelData" not in dataset:
        raise BadImageError("the DICOM file has no pixel data (7FE0,0010); send an image object "
                            "such as DICOS DX or DICOM DX/CR")
    check_size(int(dataset.get("Columns", 0)), int(dataset.get("Rows", 0)), limits, "DICOM image")
    try:
        rgb = dicom_to_rgb(dataset)
    except DicomPixelError as error:
        raise BadImageError(str(error)) from None
    meta = {"format": "dicom", "sop_class_uid": sop_class,
            "sop_instance_uid": str(dataset.get("SOPInstanceUID", "")),
            "modality": str(dataset.get("Modality", ""))}
    return DecodedScan(rgb, meta=meta)
