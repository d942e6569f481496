"""Helpers shared by the serving tests: scan files in every format, and a real exported model.

(Not a conftest.py: a second conftest module would clash with ``from conftest import ...``.)
"""

from __future__ import annotations

import functools
import io
import warnings
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import tifffile
from conftest import LiveServer, bearer, free_port, lasting_tempdir  # noqa: F401  (re-exported)

from xscreen import CLASSES

# shared/ lies beside the repository (here and in CI's fresh clone)
DICOS = Path(__file__).resolve().parents[3] / "shared" / "dicos"


def scan_rgb(width: int = 160, height: int = 96, seed: int = 0) -> np.ndarray:
    """A white scan with a few coloured blocks (RGB uint8)."""
    rng = np.random.default_rng(seed)
    image = np.full((height, width, 3), 255, np.uint8)
    for _ in range(3):
        x, y = int(rng.integers(0, width - 30)), int(rng.integers(0, height - 30))
        image[y:y + 24, x:x + 24] = rng.integers(0, 200, 3, dtype=np.uint8)
    return image


def png_bytes(image: np.ndarray) -> bytes:
    """PNG bytes of an RGB (or greyscale, 8/16-bit) array."""
    array = image[:, :, ::-1] if image.ndim == 3 else image
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(array))
    assert ok
    return encoded.tobytes()


def jpeg_bytes(image: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".jpg", np.ascontiguousarray(image[:, :, ::-1]))
    assert ok
    return encoded.tobytes()


def tiff_bytes(*pages: np.ndarray) -> bytes:
    """A TIFF with one page per array (RGB pages stored as RGB)."""
    buffer = io.BytesIO()
    with tifffile.TiffWriter(buffer) as writer:
        for page in pages:
            writer.write(page, photometric="rgb" if page.ndim == 3 else "minisblack")
    return buffer.getvalue()


def raw_pair(width: int = 160, height: int = 96) -> tuple[np.ndarray, np.ndarray]:
    """16-bit high and low transmissions (65535 = air) with an absorbing block."""
    high = np.full((height, width), 65535, np.uint16)
    low = np.full((height, width), 65535, np.uint16)
    high[20:60, 30:90], low[20:60, 30:90] = 20000, 9000
    return high, low


def dicos(name: str) -> bytes:
    return (DICOS / name).read_bytes()


def dicom_without_pixels() -> bytes:
    """A real DICOS DX file with its PixelData removed (a bad upload)."""
    import pydicom

    dataset = pydicom.dcmread(io.BytesIO(dicos("SimpleProcessingDX.dcs")))
    del dataset.PixelData
    buffer = io.BytesIO()
    dataset.save_as(buffer)
    return buffer.getvalue()


@functools.lru_cache(maxsize=1)
def real_bundle() -> Path:
    """A real detector bundle: the tiny registered detector (seeded weights) exported by the
    training code, with low thresholds so that an untrained model still yields detections."""
    import torch

    from xscreen.models.card import ModelCard, file_sha256, save_card
    from xscreen.models.detector import build_model
    from xscreen.training.export import check_graph, export_onnx

    root = lasting_tempdir("xscreen-real-bundle-") / "bundle"
    root.mkdir()
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")      # the TorchScript exporter's deprecation notices
        export_onnx(build_model("xscreen_tiny").eval(), root / "model.onnx", 128)
    check_graph(root / "model.onnx")
    card = ModelCard(name="xscreen-tiny", version="test-1", classes=CLASSES, input_size=128,
                     sha256=file_sha256(root / "model.onnx"),
                     thresholds=dict.fromkeys(CLASSES, 0.05))
    save_card(card, root / "model.json")
    return root


def copy_bundle(source: Path, target: Path, version: str) -> Path:
    """A copy of a bundle under a new version (same graph)."""
    from xscreen.models.card import load_card, save_card

    target.mkdir(parents=True)
    (target / "model.onnx").write_bytes((source / "model.onnx").read_bytes())
    card = load_card(source / "model.json")
    save_card(card.replace(version=version), target / "model.json")
    return target


def make_settings(home: Path, **overrides: object) -> Any:
    """Settings for a test service in ``home`` on the real model."""
    from xscreen.serving.settings import load_settings

    values: dict[str, Any] = {"home": home, "model": real_bundle(), "print_admin_key": False,
                              "max_wait_ms": 1.0, "ort_threads": 1}
    values.update(overrides)
    return load_settings({}, **values)


class Server(LiveServer):
    """``xscreen serve`` on the real test model in a subprocess; ``lines`` collects its output."""

    def __init__(self, home: Path, port: int, env: dict[str, str] | None = None) -> None:
        super().__init__(home, real_bundle(), port, env)


def assert_problem(response: Any, status: int, words: str) -> None:
    """An RFC 9457 problem+json answer of ``status`` whose detail says ``words``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert {"type", "title", "status", "detail"} <= set(body) and body["status"] == status
    assert words in body["detail"], body["detail"]
