"""The service as people run it: ``xscreen serve`` under uvicorn in its own process, over real
HTTP; then killed hard in the middle of a stream of uploads and restarted: every scan that got a
201 is there and screened. Also: serving never imports torch."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
from serving_support import Server, bearer, free_port, png_bytes, real_bundle, scan_rgb

pytestmark = pytest.mark.slow
PNG = png_bytes(scan_rgb())


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "home"


def test_live_server_round_trip_and_graceful_stop(home: Path) -> None:
    server = Server(home, free_port())
    try:
        key = server.admin_key()
        assert any("serving on http://127.0.0.1" in line for line in server.lines)
        response = httpx.post(server.url + "/v1/scans", headers=bearer(key),
                              files={"image": ("a.png", PNG)}, timeout=30)
        assert response.status_code == 201
        scan = httpx.get(f"{server.url}/v1/scans/{response.json()['id']}", headers=bearer(key))
        assert scan.json()["status"] == "screened"
    finally:
        assert server.stop()
    restarted = Server(home, free_port())            # a second start prints no new key
    try:
        assert not any("admin API key" in line for line in restarted.lines)
    finally:
        restarted.stop()


def test_kill_minus_nine_mid_stream_loses_no_acknowledged_scan(home: Path) -> None:
    server = Server(home, free_port())
    key = server.admin_key()
    acknowledged: list[str] = []
    stop = threading.Event()

    def upload(worker: int) -> None:
        with httpx.Client(timeout=30) as client:
            for index in range(10_000):
                if stop.is_set():
                    return
                try:
                    response = client.post(server.url + "/v1/scans", headers={
                        **bearer(key), "Idempotency-Key": f"w{worker}-{index}"},
                        files={"image": ("a.png", PNG)})
                except httpx.HTTPError:
                    return
                if response.status_code == 201:
                    acknowledged.append(response.json()["id"])

    workers = [threading.Thread(target=upload, args=(i,)) for i in range(4)]
    for worker in workers:
        worker.start()
    deadline = time.monotonic() + 120
    while len(acknowledged) < 8 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.kill()
    stop.set()
    for worker in workers:
        worker.join()
    assert len(acknowledged) >= 8
    restarted = Server(home, free_port())
    try:
        with httpx.Client(base_url=restarted.url, headers=bearer(key), timeout=30) as client:
            for scan_id in acknowledged:
                body = client.get(f"/v1/scans/{scan_id}").json()
                assert body["status"] == "screened" and body["risk"] is not None, body
            deadline = time.monotonic() + 30    # scans stored but not screened: done at start
            while client.get("/v1/scans?status=accepted").json()["items"]:
                assert time.monotonic() < deadline, "left-over scans were not screened"
                time.sleep(0.2)
    finally:
        restarted.stop()


def test_serving_never_imports_torch(tmp_path: Path) -> None:
    """The service screens a PNG and a dual-energy pair (rendered with the shipped calibration)
    with the synthesiser's physics packages (SpekPy, xraydb) unimportable, and never loads
    torch."""
    script = f"""
import sys
for blocked in ("spekpy", "xraydb"):
    sys.modules[blocked] = None        # import now raises ImportError, as where not installed
from fastapi.testclient import TestClient
from xscreen.serving.app import create_app
from xscreen.serving.settings import load_settings
import xscreen.serving.pipeline, xscreen.serving.tdr, xscreen.serving.decode
import xscreen.cli
xscreen.cli.build_parser()
app = create_app(load_settings({{}}, home={str(tmp_path)!r}, model={str(real_bundle())!r},
                               print_admin_key=False))
with TestClient(app) as client:
    key = app.state.first_admin_key
    response = client.post("/v1/scans", headers={{"Authorization": "Bearer " + key}},
                           files={{"image": ("a.png", open({str(tmp_path / 'a.png')!r}, "rb"))}})
    assert response.status_code == 201, response.text
    client.get("/v1/scans/" + response.json()["id"] + "/tdr",
               headers={{"Authorization": "Bearer " + key}})
    pair = {{name: (name + ".png", open({str(tmp_path)!r} + "/" + name + ".png", "rb"))
             for name in ("high", "low")}}
    response = client.post("/v1/scans", headers={{"Authorization": "Bearer " + key}},
                           files=pair)
    assert response.status_code == 201, response.text
loaded = sorted(name for name in sys.modules if name == "torch" or name.startswith("torch."))
print("TORCH:", loaded)
"""
    (tmp_path / "a.png").write_bytes(PNG)
    channel = np.full((64, 96), 65535, np.uint16)
    channel[20:40, 30:60] = 20000
    for name, value in (("high", 30000), ("low", 18000)):
        channel[20:40, 30:60] = value
        (tmp_path / f"{name}.png").write_bytes(cv2.imencode(".png", channel)[1].tobytes())
    real_bundle()
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "TORCH: []" in result.stdout


def test_sigterm_finishes_requests_in_flight(home: Path) -> None:
    """An upload still being served when SIGTERM arrives gets its 201. (The batcher waits 3 s
    for company, so the request is surely in flight.)"""
    server = Server(home, free_port(), env={"XSCREEN_MAX_WAIT_MS": "3000"})
    key = server.admin_key()
    outcome: dict[str, object] = {}

    def upload() -> None:
        try:
            outcome["status"] = httpx.post(server.url + "/v1/scans", headers=bearer(key),
                                           files={"image": ("a.png", PNG)},
                                           timeout=120).status_code
        except httpx.HTTPError as error:
            outcome["error"] = repr(error)

    worker = threading.Thread(target=upload)
    worker.start()
    deadline = time.monotonic() + 120    # until the upload is in flight (besides this probe)
    while "xscreen_requests_in_flight 2.0" not in httpx.get(server.url + "/metrics").text:
        assert time.monotonic() < deadline and "status" not in outcome, outcome
        time.sleep(0.02)
    assert server.stop()
    worker.join()
    assert outcome == {"status": 201}
