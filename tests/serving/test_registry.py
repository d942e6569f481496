"""Promotion, rollback and refusal in the model registry, from the CLI, the API and a live
service: a gate that failed (or never ran) blocks promotion unless forced, a damaged bundle is
refused with a clear message while the active model keeps serving, activation under a steady
load drops no request, and rolling back gives the previous version's answers exactly."""

from __future__ import annotations

import functools
import json
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from serving_support import (
    Server,
    bearer,
    free_port,
    lasting_tempdir,
    make_settings,
    png_bytes,
    real_bundle,
    scan_rgb,
)

from xscreen import CLASSES
from xscreen.cli import main
from xscreen.models.card import file_sha256, load_card, save_card
from xscreen.serving import store
from xscreen.serving.app import create_app
from xscreen.serving.registry import ModelRegistry

PNG = png_bytes(scan_rgb(seed=3))
PASSED = {"verdict": "better", "promotable": True, "reasons": ["gold on new: +0.5"],
          "against": {"name": "xscreen-tiny", "version": "test-1", "sha256": "0" * 64}}
FAILED = {"verdict": "mixed", "promotable": False,
          "reasons": ["firearm on bench: AP50 0.400 -> 0.300 (-0.100, drop beyond the 0.02 "
                      "margin)"], "against": PASSED["against"]}
PARENT = {"name": "xscreen-tiny", "version": "test-1"}


@functools.lru_cache(maxsize=4)
def seeded_graph(seed: int) -> Path:
    """model.onnx of the tiny detector with seed ``seed``'s weights (answers differ by seed)."""
    import torch

    from xscreen.models.detector import build_model
    from xscreen.training.export import export_onnx

    path = lasting_tempdir(f"xscreen-seed-{seed}-") / "model.onnx"
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_onnx(build_model("xscreen_tiny").eval(), path, 128)
    return path


def bundle(root: Path, version: str, seed: int = 1, **lineage: Any) -> Path:
    """A bundle of seed ``seed``'s graph under ``version`` with ``lineage`` in its card."""
    root.mkdir(parents=True)
    (root / "model.onnx").write_bytes(seeded_graph(seed).read_bytes())
    card = load_card(real_bundle() / "model.json").replace(
        version=version, sha256=file_sha256(root / "model.onnx"), lineage=lineage)
    save_card(card, root / "model.json")
    return root


def corrupt(root: Path, version: str) -> Path:
    """A bundle whose model.onnx is cut short and whose card was re-hashed to match it: the
    checksum passes, ONNX Runtime cannot load it."""
    bundle(root, version)
    data = (root / "model.onnx").read_bytes()
    (root / "model.onnx").write_bytes(data[: len(data) // 2])
    card = load_card(root / "model.json")
    save_card(card.replace(sha256=file_sha256(root / "model.onnx")), root / "model.json")
    return root


def upload(root: Path) -> dict[str, Any]:
    return {"model": ("model.onnx", (root / "model.onnx").read_bytes()),
            "card": ("model.json", (root / "model.json").read_bytes())}


class Api:
    def __init__(self, client: TestClient) -> None:
        self.client = client
        sessions = client.app.state.service.sessions  # type: ignore[attr-defined]
        self.keys = {role: store.create_key(sessions, role)
                     for role in ("scanner", "operator", "engineer")}

    def post(self, path: str, role: str = "engineer", **kwargs: Any) -> Any:
        return self.client.post(path, headers=bearer(self.keys[role]), **kwargs)

    def detections(self) -> tuple[str, list[dict[str, Any]]]:
        body = self.post("/v1/detect", "scanner", files={"image": ("a.png", PNG)}).json()
        return body["model"]["version"], body["detections"]

    def version(self) -> str:
        return str(self.client.get("/readyz").json()["model_version"])


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with TestClient(create_app(make_settings(tmp_path / "home"))) as client:
        yield Api(client)


def problem(response: Any, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert words in response.json()["detail"], response.json()["detail"]


def test_a_corrupt_bundle_is_refused_and_the_active_model_keeps_serving(
        api: Api, tmp_path: Path) -> None:
    before = api.detections()
    problem(api.post("/v1/models", files=upload(corrupt(tmp_path / "cut", "cut-1"))), 422,
            "is not a model ONNX Runtime can load")
    tampered = bundle(tmp_path / "tampered", "tampered-1")
    with (tampered / "model.onnx").open("ab") as handle:
        handle.write(b"x")
    problem(api.post("/v1/models", files=upload(tampered)), 422, "does not match its card")
    problem(api.post("/v1/models/cut-1/activate"), 404, "no model version")
    assert api.version() == "test-1" and api.detections() == before
    listed = api.client.get("/v1/models", headers=bearer(api.keys["engineer"])).json()
    assert [m["version"] for m in listed] == ["test-1"]


def test_promotion_needs_a_passed_gate_unless_forced(api: Api, tmp_path: Path) -> None:
    failed = bundle(tmp_path / "failed", "failed-1", parent=PARENT, gate=FAILED)
    problem(api.post("/v1/models", files=upload(failed)), 409, "failed its gate (verdict mixed")
    ungated = bundle(tmp_path / "ungated", "ungated-1", parent=PARENT)
    problem(api.post("/v1/models", files=upload(ungated)), 409, "has not been through the gate")
    assert api.post("/v1/models", params={"force": "true"},
                    files=upload(failed)).status_code == 201
    problem(api.post("/v1/models/failed-1/activate"), 409, "not activated: xscreen-tiny "
                                                          "failed-1 failed its gate")
    assert api.version() == "test-1"
    passed = bundle(tmp_path / "passed", "passed-1", parent=PARENT, gate=PASSED)
    added = api.post("/v1/models", files=upload(passed))
    assert added.status_code == 201, added.text
    assert (added.json()["parent"], added.json()["gate"]) == ("test-1", "better")
    assert api.post("/v1/models/passed-1/activate").status_code == 200
    assert api.version() == "passed-1"
    forced = api.post("/v1/models/failed-1/activate", params={"force": "true"})
    assert forced.status_code == 200 and api.version() == "failed-1"


def test_rollback_gives_the_previous_answers_exactly(api: Api, tmp_path: Path) -> None:
    version, first = api.detections()
    assert version == "test-1" and first
    api.post("/v1/models", files=upload(bundle(tmp_path / "b", "child-1", seed=7,
                                               parent=PARENT, gate=PASSED)))
    assert api.post("/v1/models/child-1/activate").status_code == 200
    version, second = api.detections()
    assert version == "child-1" and second != first
    rolled = api.post("/v1/models/rollback")
    assert rolled.status_code == 200 and rolled.json()["version"] == "test-1"
    assert api.detections() == ("test-1", first)             # same bytes in, same answers out
    # a version that has served may come back without the gate being asked again
    assert api.post("/v1/models/child-1/activate").status_code == 200
    assert api.detections() == ("child-1", second)
    problem(api.post("/v1/models/rollback", "operator"), 403, "needs the role engineer")


def test_models_cli_gate_rollback_and_show(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    home = ["--home", str(tmp_path / "home")]
    assert main(["models", *home, "rollback"]) == 2
    assert "nothing to roll back to" in capsys.readouterr().err
    assert main(["models", *home, "add", str(real_bundle()), "--activate"]) == 0
    failed = bundle(tmp_path / "failed", "failed-1", parent=PARENT, gate=FAILED)
    assert main(["models", *home, "add", str(failed)]) == 2
    assert "failed its gate" in capsys.readouterr().err
    assert main(["models", *home, "add", str(failed), "--force"]) == 0
    assert main(["models", *home, "activate", "failed-1"]) == 2
    assert "--force" in capsys.readouterr().err
    passed = bundle(tmp_path / "passed", "passed-1", parent=PARENT, gate=PASSED)
    assert main(["models", *home, "add", str(passed), "--activate"]) == 0
    assert "fine-tuned from test-1, gate: better" in capsys.readouterr().out
    assert main(["models", *home, "rollback"]) == 0
    assert "active: xscreen-tiny test-1" in capsys.readouterr().out
    assert main(["models", *home, "rollback", "failed-1"]) == 2
    assert "never been in service" in capsys.readouterr().err
    assert main(["models", *home, "rollback", "passed-1"]) == 0
    capsys.readouterr()
    assert main(["models", *home, "list"]) == 0
    listed = capsys.readouterr().out
    assert "* passed-1" in listed and "from test-1, gate better" in listed
    assert main(["models", *home, "show", "passed-1"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["lineage"]["gate"]["verdict"] == "better"
    cut = corrupt(tmp_path / "cut", "cut-1")
    assert main(["models", *home, "add", str(cut), "--force"]) == 2
    assert "ONNX Runtime can load" in capsys.readouterr().err


def test_the_verdict_export_imports_as_the_operators_drew_it(api: Api, tmp_path: Path) -> None:
    drawn = {0: [{"label": "gold", "box": [10, 12, 40, 30]}],
             1: [{"label": "firearm", "box": [5, 6, 60, 50]},
                 {"label": "narcotics", "box": [100, 10, 150, 40]}],
             2: None}
    for seed, labels in drawn.items():
        scan = api.post("/v1/scans", "scanner", files={
            "image": (f"{seed}.png", png_bytes(scan_rgb(seed=seed)))}).json()
        api.post(f"/v1/scans/{scan['id']}/verdict", "operator", json={
            "decision": "cleared" if labels is None else "threat_confirmed",
            "labels": labels if labels is not None else []})
    export = api.client.get("/v1/training-export", headers=bearer(api.keys["engineer"]))
    (tmp_path / "export.zip").write_bytes(export.content)
    assert main(["import", "verdicts", str(tmp_path / "export.zip"), str(tmp_path / "out")]) == 0
    from xscreen.datasets.coco import load_dataset

    dataset = load_dataset(tmp_path / "out")
    found = sorted((CLASSES[label], [box[0], box[1], box[0] + box[2], box[1] + box[3]])
                   for record in dataset.images
                   for label, box in zip(record.labels, record.boxes, strict=True))
    assert found == sorted((label["label"], [float(v) for v in label["box"]])
                           for labels in drawn.values() for label in labels or [])
    assert sorted(i["verdict"] for i in dataset.coco["images"]) == [
        "cleared", "threat_confirmed", "threat_confirmed"]


@pytest.mark.slow
def test_activation_under_a_steady_load_drops_no_request(tmp_path: Path) -> None:
    """A live ``xscreen serve``: clients post scans without pause while a fine-tuned model is
    uploaded, activated, rolled back and activated again."""
    server = Server(tmp_path / "home", free_port())
    try:
        key = server.admin_key()
        statuses: list[int] = []
        versions: set[str] = set()
        stop = threading.Event()

        def post_scans() -> None:
            with httpx.Client(timeout=60) as client:
                while not stop.is_set():
                    try:
                        response = client.post(server.url + "/v1/scans", headers=bearer(key),
                                               files={"image": ("a.png", PNG)})
                        statuses.append(response.status_code)
                        versions.add(response.json()["model"]["version"])
                    except httpx.HTTPError:
                        statuses.append(0)

        clients = [threading.Thread(target=post_scans) for _ in range(3)]
        for client in clients:
            client.start()
        child = bundle(tmp_path / "child", "child-1", seed=7, parent=PARENT, gate=PASSED)
        with httpx.Client(base_url=server.url, headers=bearer(key), timeout=60) as admin:
            assert admin.post("/v1/models", files=upload(child)).status_code == 201
            for path in ("/v1/models/child-1/activate", "/v1/models/rollback",
                         "/v1/models/child-1/activate"):
                time.sleep(0.5)
                assert admin.post(path).status_code == 200
            time.sleep(0.5)
            stop.set()
            for client in clients:
                client.join()
            assert admin.get("/readyz").json()["model_version"] == "child-1"
        assert len(statuses) >= 10 and set(statuses) == {201}, statuses
        assert versions == {"test-1", "child-1"}
    finally:
        server.stop()


@pytest.mark.parametrize("failing_write", [1, 2])   # history.json's, then active.json's
def test_a_failed_activation_write_leaves_the_files_as_they_were(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing_write: int) -> None:
    """The registry's files are written through xscreen.fileio.atomic_writer: a write that
    fails (a full disk) leaves the previous file whole and no temporary behind."""
    import xscreen.fileio

    registry = ModelRegistry(tmp_path / "models")
    for version in ("v1", "v2"):
        registry.add(bundle(tmp_path / version, version), force=True)
    registry.activate("v1", force=True)
    before = {name: (registry.root / name).read_bytes()
              for name in ("active.json", "history.json")}
    writes = []

    def fsync(descriptor: int) -> None:
        writes.append(descriptor)
        if len(writes) == failing_write:
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(xscreen.fileio.os, "fsync", fsync)
    with pytest.raises(OSError, match="No space"):
        registry.activate("v2", force=True)
    assert registry.active_version() == "v1"
    assert (registry.root / "active.json").read_bytes() == before["active.json"]
    if failing_write == 1:
        assert (registry.root / "history.json").read_bytes() == before["history.json"]
    assert not [p.name for p in registry.root.iterdir() if p.name.endswith(".tmp")]
    monkeypatch.undo()
    registry.activate("v2", force=True)
    assert registry.active_version() == "v2" and registry.previous_version() == "v1"
