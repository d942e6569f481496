"""Shared fixtures: tiny COCO datasets of coloured shapes on white, for the detector's tests.

Each class has its own colour and shape (firearm: a dark blue L, narcotics: an orange ellipse,
gold: a small black bar, counterfeit: a green rectangle), so a tiny model learns them in seconds.
"""

from __future__ import annotations

import atexit
import functools
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import cv2
import numpy as np
import pytest

from xscreen import CLASSES
from xscreen.datasets.coco import categories, write_annotations

COLOURS_BGR = {0: (160, 60, 20), 1: (40, 140, 245), 2: (20, 20, 20), 3: (60, 170, 60)}


def _draw(image: np.ndarray, label: int, x: int, y: int, w: int, h: int) -> None:
    colour = COLOURS_BGR[label]
    if label == 0:  # an L: barrel along the top, grip down the left
        cv2.rectangle(image, (x, y), (x + w - 1, y + h // 3), colour, -1)
        cv2.rectangle(image, (x, y), (x + w // 3, y + h - 1), colour, -1)
    elif label == 1:
        cv2.ellipse(image, (x + w // 2, y + h // 2), (w // 2, h // 2), 0, 0, 360, colour, -1)
    else:
        cv2.rectangle(image, (x, y), (x + w - 1, y + h - 1), colour, -1)


def write_tiny_dataset(root: Path, count: int = 8, seed: int = 0, width: int = 128,
                       height: int = 96, objects_per_image: int = 2) -> Path:
    """A COCO dataset of ``count`` white images with a few shapes each; returns ``root``."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for index in range(count):
        image = np.full((height, width, 3), 255, np.uint8)
        for _ in range(objects_per_image):
            label = int(rng.integers(0, len(CLASSES)))
            w, h = int(rng.integers(16, 40)), int(rng.integers(14, 32))
            x, y = int(rng.integers(0, width - w)), int(rng.integers(0, height - h))
            _draw(image, label, x, y, w, h)
            annotations.append({"id": len(annotations) + 1, "image_id": index + 1,
                                "category_id": label + 1, "bbox": [x, y, w, h],
                                "area": w * h, "iscrowd": 0})
        name = f"img_{index:04d}.png"
        cv2.imwrite(str(root / "images" / name), image)
        images.append({"id": index + 1, "file_name": name, "width": width, "height": height})
    write_annotations(root, {"images": images, "annotations": annotations,
                             "categories": categories()})
    return root


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight 128x96 images with two shapes each (read-only: copy before changing it)."""
    return write_tiny_dataset(tmp_path_factory.mktemp("tiny") / "data", count=8, seed=1)


def lasting_tempdir(prefix: str) -> Path:
    """A new temporary folder that outlives the test that made it (for helpers cached across the
    session, whose pytest tmp_path would go first) and is removed when this process exits, so
    that test runs leave nothing behind in the system's temporary folder."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


@functools.cache
def load_benchmark(name: str) -> ModuleType:
    """``benchmarks/NAME.py`` as a module (benchmarks/ is not a package), loaded once."""
    path = Path(__file__).parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module      # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def write_fake_bundle(root: Path, rows: list[list[float]], input_size: int = 128,
                      thresholds: dict[str, float] | None = None, max_detections: int = 10) -> Path:
    """A bundle whose ONNX graph returns the same ``rows`` (x1, y1, x2, y2, score, class; input
    pixels) for every image, zero-padded to ``max_detections``: detections we control."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from xscreen.models.card import ModelCard, file_sha256, save_card

    table = np.zeros((1, max_detections, 6), np.float32)
    table[0, : len(rows)] = np.asarray(rows, np.float32).reshape(-1, 6)
    graph = helper.make_graph(
        [helper.make_node("Shape", ["images"], ["shape"]),
         helper.make_node("Slice", ["shape", "zero", "one"], ["batch"]),
         helper.make_node("Concat", ["batch", "one", "one"], ["repeats"], axis=0),
         helper.make_node("Tile", ["table", "repeats"], ["detections"])],
        "fixed_detections",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        [helper.make_tensor_value_info("detections", TensorProto.FLOAT,
                                       ["N", max_detections, 6])],
        initializer=[numpy_helper.from_array(table, "table"),
                     numpy_helper.from_array(np.array([0], np.int64), "zero"),
                     numpy_helper.from_array(np.array([1], np.int64), "one")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    root.mkdir(parents=True, exist_ok=True)
    onnx.save(model, root / "model.onnx")
    card = ModelCard(name="fake", version="0", classes=CLASSES, input_size=input_size,
                     sha256=file_sha256(root / "model.onnx"),
                     thresholds=thresholds or dict.fromkeys(CLASSES, 0.5))
    save_card(card, root / "model.json")
    return root


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LiveServer:
    """``xscreen serve`` on ``model`` in a subprocess (one ORT thread); ``lines`` collects its
    output. The serving and viewer tests' live servers."""

    def __init__(self, home: Path, model: Path, port: int | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.home = home
        self.url = f"http://127.0.0.1:{port or free_port()}"
        env = {**os.environ, "XSCREEN_ORT_THREADS": "1", **(env or {})}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "xscreen.cli", "serve", "--port", self.url.rsplit(":", 1)[1],
             "--home", str(home), "--model", str(model)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.wait_ready()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def wait_ready(self, timeout: float = 180) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError("server exited:\n" + "".join(self.lines))
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError("server not ready:\n" + "".join(self.lines))

    def admin_key(self) -> str:
        marker = next(i for i, line in enumerate(self.lines) if "admin API key" in line)
        return self.lines[marker + 1].strip()

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> bool:
        """SIGTERM; True when the server shut down gracefully (uvicorn re-raises the signal
        after its shutdown, so the exit status is -15 either way)."""
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)
            return False
        time.sleep(0.2)
        return any("Application shutdown complete" in line for line in self.lines)


def empty_database(kind: str) -> str:
    """The database URL for a parametrised storage test: "" (the service's own SQLite file) for
    ``sqlite``; for ``postgresql`` the server named by XSCREEN_TEST_POSTGRES_URL with every
    xscreen table dropped first, the test skipped where that is not set."""
    if kind == "sqlite":
        return ""
    url = os.environ.get("XSCREEN_TEST_POSTGRES_URL", "")
    if not url:
        pytest.skip("PostgreSQL tests need XSCREEN_TEST_POSTGRES_URL (run "
                    "'source .ci/postgres.sh' to start a local server and set it)")
    from xscreen.serving import store

    engine = store.make_engine(url)
    store.Base.metadata.drop_all(engine)
    engine.dispose()
    return url


def train_tiny(run: Path, data: Path, epochs: int, config: str = "") -> Path:
    """Train ``xscreen_tiny`` at 128 px on one thread (two warm-up steps, no loader workers) on
    ``data`` into ``run``, with ``config`` (YAML) added to the run's configuration."""
    from xscreen.cli import main

    yaml = run.parent / f"{run.name}.yaml"
    yaml.write_text("warmup_steps: 2\nworkers: 0\nthreads: 1\n" + config)
    assert main(["train", "--data", str(data), "--val", str(data), "--out", str(run),
                 "--model", "xscreen_tiny", "--input-size", "128", "--batch", "4",
                 "--epochs", str(epochs), "--config", str(yaml)]) == 0
    return run


@pytest.fixture
def torch_threads_restored() -> Iterator[None]:
    """Training in a test runs on one thread (threads: 1); later tests get theirs back."""
    import torch

    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """Train on one thread (as the tiny training tests do) and give the next test its threads
    back. Not autouse: the serving tests must not import torch."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
