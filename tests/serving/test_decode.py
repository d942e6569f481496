"""Decoding uploads: every format by content, and each bad input with its status and message."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from serving_support import (
    dicom_without_pixels,
    dicos,
    jpeg_bytes,
    png_bytes,
    raw_pair,
    scan_rgb,
    tiff_bytes,
)

from xscreen.errors import XscreenError
from xscreen.serving.decode import DecodeLimits, decode_image, decode_pair, sniff

pytestmark = [pytest.mark.filterwarnings("ignore:Invalid value for VR UI"),
              pytest.mark.filterwarnings("ignore:Applying a VOI LUT on a float")]

RGB = scan_rgb()


def _huge_png_header(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(
        ">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk + b"\x00" * 64


@pytest.mark.parametrize(("name", "data", "fmt"), [
    ("png", png_bytes(RGB), "png"),
    ("png 16-bit grey", png_bytes(RGB[:, :, 0].astype(np.uint16) * 257), "png"),
    ("jpeg", jpeg_bytes(RGB), "jpeg"),
    ("tiff 8-bit rgb", tiff_bytes(RGB), "tiff"),
    ("tiff 16-bit grey", tiff_bytes(RGB[:, :, 1].astype(np.uint16) * 257), "tiff"),
    ("tiff two-page raw", tiff_bytes(*raw_pair()), "raw-tiff"),
])
def test_formats_decode_to_rgb(name: str, data: bytes, fmt: str) -> None:
    scan = decode_image(data)
    assert scan.rgb.dtype == np.uint8 and scan.rgb.shape == (96, 160, 3), name
    assert scan.meta["format"] == fmt and (scan.width, scan.height) == (160, 96)


def test_lossless_formats_keep_pixels() -> None:
    np.testing.assert_array_equal(decode_image(png_bytes(RGB)).rgb, RGB)
    np.testing.assert_array_equal(decode_image(tiff_bytes(RGB)).rgb, RGB)


def test_raw_tiff_and_pair_render_the_same_and_keep_channels() -> None:
    high, low = raw_pair()
    from_tiff = decode_image(tiff_bytes(high, low))
    from_pair = decode_pair(tiff_bytes(high), png_bytes(low))
    np.testing.assert_array_equal(from_tiff.rgb, from_pair.rgb)
    assert from_pair.high is not None and from_pair.low is not None
    np.testing.assert_array_equal(from_pair.high, high)
    assert from_tiff.rgb[0, 0].tolist() == [255, 255, 255]          # air renders white
    assert from_tiff.rgb[40, 60].mean() < 250                        # the block does not


@pytest.mark.parametrize("name", ["SimpleProcessingDX.dcs", "SimplePresentationDX.dcs",
                                  "SimpleColorPaletteDX.dcs"])
def test_dicos_dx_images(name: str) -> None:
    scan = decode_image(dicos(name))
    assert scan.rgb.shape == (128, 256, 3) and scan.rgb.dtype == np.uint8
    assert scan.meta["sop_class_uid"].startswith("1.2.840.10008.5.1.4.1.1.501.2")
    assert scan.meta["sop_instance_uid"] and scan.rgb.max() > scan.rgb.min()


def test_voi_lut_is_applied() -> None:
    """The presentation image's VOI LUT maps into 1000-1022: stretched to the LUT's range."""
    import pydicom
    from pydicom.pixels import apply_modality_lut, apply_voi_lut

    data = dicos("SimplePresentationDX.dcs")
    dataset = pydicom.dcmread(__import__("io").BytesIO(data))
    voi = apply_voi_lut(apply_modality_lut(dataset.pixel_array, dataset), dataset)
    grey = decode_image(data).rgb[:, :, 0].astype(int)
    order = np.argsort(voi.ravel(), kind="stable")
    assert (np.diff(grey.ravel()[order]) >= 0).all()              # monotone in the VOI output


JPEG = jpeg_bytes(RGB)
PNG = png_bytes(RGB)


@pytest.mark.parametrize(("name", "data", "status", "words"), [
    ("empty", b"", 400, "empty"),
    ("truncated png", PNG[: len(PNG) // 2], 422, "truncated"),
    ("png header only", PNG[:20], 422, "truncated"),
    ("truncated jpeg", JPEG[: len(JPEG) // 2], 422, "truncated"),
    ("1x1 png", png_bytes(np.zeros((1, 1, 3), np.uint8)), 422, "too small"),
    ("40000x40000 header", _huge_png_header(40000, 40000), 413, "limit"),
    ("dicom without pixels", dicom_without_pixels(), 422, "no pixel data"),
    ("tdr as image", dicos("SimpleBaggageTDR.dcs"), 415, "Threat Detection Report"),
    ("gif", b"GIF89a" + b"\x00" * 40, 415, "not a supported"),
    ("text", b"hello, this is not an image", 415, "unrecognised"),
    ("truncated tiff", tiff_bytes(RGB)[:100], 422, "TIFF"),
])
def test_bad_inputs(name: str, data: bytes, status: int, words: str) -> None:
    with pytest.raises(XscreenError) as caught:
        decode_image(data)
    assert caught.value.http_status == status, (name, str(caught.value))
    assert words in str(caught.value), (name, str(caught.value))


def test_pixel_limit_checked_from_the_header_before_decoding() -> None:
    with pytest.raises(XscreenError, match="limit is 1,000"):
        decode_image(PNG, DecodeLimits(max_pixels=1000))


def test_pair_errors() -> None:
    high, low = raw_pair()
    with pytest.raises(XscreenError, match="same size"):
        decode_pair(tiff_bytes(high), tiff_bytes(low[:50]))
    with pytest.raises(XscreenError, match="16-bit single-channel"):
        decode_pair(png_bytes(RGB), tiff_bytes(low))
    with pytest.raises(XscreenError, match="JPEG"):
        decode_pair(JPEG, tiff_bytes(low))


def test_sniff_ignores_names() -> None:
    assert sniff(JPEG) == "jpeg" and sniff(PNG) == "png"
    assert sniff(dicos("SimpleProcessingDX.dcs")) == "dicom"
