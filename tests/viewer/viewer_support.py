"""Helpers shared by the viewer tests: a model whose boxes we know, scans, a live ``xscreen
serve``, and a headless Chromium driven by Playwright.

(Not a conftest.py: a second conftest module would clash with ``from conftest import ...``.)
"""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
from conftest import LiveServer as ConftestLiveServer
from conftest import bearer, lasting_tempdir, write_fake_bundle

from xscreen.serving import store

# Every scan gets these detections (x1, y1, x2, y2 in the model's 256-pixel input, score, class):
# a counterfeit-prone item and a gold object, so there are classes to toggle, at confidences that
# leave the risk score room to differ by manifest.
FIXED_ROWS = [[40.0, 40.0, 110.0, 90.0, 0.9, 3], [150.0, 100.0, 190.0, 130.0, 0.62, 2]]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

# The classic palette's colours at a middle darkness (datasets/colour.py): the swatches the
# image tools are checked on.
ORGANIC, INORGANIC, METAL, DENSE = (214, 128, 26), (77, 150, 51), (34, 94, 180), (12, 10, 14)


@functools.lru_cache(maxsize=1)
def fixed_bundle() -> Path:
    """A model bundle whose ONNX graph returns :data:`FIXED_ROWS` for every image."""
    root = lasting_tempdir("xscreen-viewer-bundle-") / "bundle"
    return write_fake_bundle(root, FIXED_ROWS, input_size=256)


def png_bytes(rgb: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(rgb[:, :, ::-1]))
    assert ok
    return bytes(encoded.tobytes())


def decode_png(data: bytes) -> np.ndarray:
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert bgr is not None
    return np.ascontiguousarray(bgr[:, :, ::-1])


def swatch_scan(width: int = 1000, height: int = 700) -> np.ndarray:
    """A parcel of four material swatches on white, for checking the image tools: organic,
    inorganic, metal and a dense (near-black) block, plus a small dense dot that is too small
    for the high-density alert. Swatches are 120 px squares at known places (:func:`swatches`)."""
    image = np.full((height, width, 3), 255, np.uint8)
    cv2.rectangle(image, (60, 60), (width - 60, height - 60), (236, 224, 205), -1)   # the box
    for (x, y), colour in zip(swatches().values(), (ORGANIC, INORGANIC, METAL, DENSE),
                              strict=True):
        image[y:y + 120, x:x + 120] = colour
    image[560:564, 820:824] = DENSE                                  # 16 px: below the alert
    return image


def swatches() -> dict[str, tuple[int, int]]:
    """Top-left corners of the swatches of :func:`swatch_scan`."""
    return {"organic": (150, 150), "inorganic": (400, 150), "metal": (650, 150),
            "dense": (400, 420)}


def synthetic_scans(count: int, seed: int = 7, width: int = 1000, height: int = 700
                    ) -> list[np.ndarray]:
    """Parcels from the synthesiser (classic palette), as operators would see them."""
    from xscreen.datasets.scene import SceneConfig, synthesise_scan

    config = SceneConfig(width=width, height=height, palettes=(("classic", 1.0),))
    return [synthesise_scan(np.random.default_rng([seed, i]), config).rgb for i in range(count)]


def create_keys(home: Path, names: dict[str, str]) -> dict[str, str]:
    """API keys made straight in the (new) database of ``home``: ``{label: role}`` to
    ``{label: key}``; the key's name is the label."""
    home.mkdir(parents=True, exist_ok=True)
    engine = store.make_engine(f"sqlite:///{(home / 'xscreen.db').resolve()}")
    try:
        sessions = store.session_factory(engine)
        return {label: store.create_key(sessions, role, label) for label, role in names.items()}
    finally:
        engine.dispose()


def revoke_key(url: str, admin_key: str, name: str) -> dict[str, Any]:
    """Revoke the key named ``name`` as an admin does, over the API (GET /v1/keys finds its
    id, POST /v1/keys/{id}/revoke revokes it); returns the revoked key as listed."""
    listed = httpx.get(url + "/v1/keys", headers=bearer(admin_key), timeout=30)
    assert listed.status_code == 200, listed.text
    [key_id] = [key["id"] for key in listed.json() if key["name"] == name]
    revoked = httpx.post(f"{url}/v1/keys/{key_id}/revoke", headers=bearer(admin_key), timeout=30)
    assert revoked.status_code == 200, revoked.text
    body: dict[str, Any] = revoked.json()
    return body


class LiveServer(ConftestLiveServer):
    """``xscreen serve`` on ``model`` in a subprocess, batching with a 1 ms wait."""

    def __init__(self, home: Path, model: Path, port: int | None = None) -> None:
        super().__init__(home, model, port, {"XSCREEN_MAX_WAIT_MS": "1"})


def submit(url: str, key: str, rgb: np.ndarray, manifest: dict[str, Any] | None = None) -> Any:
    import json

    data = {"manifest": json.dumps(manifest)} if manifest is not None else {}
    response = httpx.post(url + "/v1/scans", headers=bearer(key), data=data,
                          files={"image": ("scan.png", png_bytes(rgb))}, timeout=60)
    assert response.status_code == 201, response.text
    return response.json()


def chromium_path() -> str | None:
    """Debian's Chromium (``.ci/chromium.sh`` installs it), or ``$XSCREEN_CHROMIUM``."""
    chosen = os.environ.get("XSCREEN_CHROMIUM") or shutil.which("chromium") \
        or shutil.which("chromium-browser")
    return chosen if chosen and Path(chosen).exists() else None


def require_chromium() -> str:
    """The browser's path; skips the test without one, except under CI, where it fails."""
    path = chromium_path()
    problem = None
    if path is None:
        problem = "the browser tests need Debian's chromium ('bash .ci/chromium.sh' installs it)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "the browser tests need the playwright package (the dev extra)"
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(problem + " (CI needs it)")
        pytest.skip(problem)
    assert path is not None
    return path


def browser() -> Iterator[Any]:
    """A headless Chromium for one test module (a generator for a fixture)."""
    from playwright.sync_api import sync_playwright

    path = require_chromium()
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()
