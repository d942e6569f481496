"""Faults from outside (issue 21), over HTTP on the real test model and SQLite: more scans than
the inference queue holds (503 with Retry-After, nothing stored, the accepted ones complete) and
a disk that fills while a scan is written (507, no half-written file, no row, no 201)."""

from __future__ import annotations

import errno
import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import pytest
from fastapi.testclient import TestClient
from serving_support import assert_problem, bearer, make_settings, png_bytes, scan_rgb
from sqlalchemy import func, select

from xscreen.errors import UsageError
from xscreen.serving import batching, blobs, store
from xscreen.serving.app import create_app
from xscreen.serving.batching import MicroBatcher
from xscreen.serving.errors import OverloadedError
from xscreen.serving.settings import load_settings
from xscreen.serving.store import Scan


class Api:
    """The service with a queue bound of 1, and a scanner key."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.service = client.app.state.service  # type: ignore[attr-defined]
        self.key = store.create_key(self.service.sessions, "scanner")

    def submit(self, data: bytes) -> Any:
        return self.client.post("/v1/scans", headers=bearer(self.key),
                                files={"image": ("scan.png", data, "image/png")})

    def detect(self, data: bytes) -> Any:
        return self.client.post("/v1/detect", headers=bearer(self.key),
                                files={"image": ("scan.png", data, "image/png")})

    def scan_count(self) -> int:
        with self.service.sessions() as session:
            return int(session.scalar(select(func.count()).select_from(Scan)) or 0)

    def blob_files(self) -> list[Path]:
        """Every file under the blob store, temporary ones included."""
        return sorted(p for p in self.service.blobs.root.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    settings = make_settings(tmp_path_factory.mktemp("home"), max_queue=1, ort_threads=1)
    with TestClient(create_app(settings)) as client:
        yield Api(client)


def scan(seed: int) -> bytes:
    """A PNG no other test uploads (the blob store keeps each content once)."""
    return png_bytes(scan_rgb(seed=seed))


# -- overload -------------------------------------------------------------------------------

@contextmanager
def batcher_held(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Every batch waits until the test releases it; yields the event set when one waits."""
    entered, release = threading.Event(), threading.Event()
    real = batching.run_batch

    def held(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        assert release.wait(30), "the test never released the batch"
        return real(*args, **kwargs)

    monkeypatch.setattr(batching, "run_batch", held)
    try:
        yield entered
    finally:
        release.set()


def test_a_scan_beyond_the_queue_bound_gets_503_with_retry_after(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    before = api.scan_count()
    accepted: dict[str, Any] = {}
    refused_bytes = scan(2)
    with batcher_held(monkeypatch) as entered:
        first = threading.Thread(target=lambda: accepted.update(response=api.submit(scan(1))))
        first.start()
        assert entered.wait(30), "the first scan never reached the model"
        refused = api.submit(refused_bytes)
        refused_detect = api.detect(refused_bytes)
    first.join(30)
    for response in (refused, refused_detect):
        assert_problem(response, 503, "XSCREEN_MAX_QUEUE")
        assert int(response.headers["Retry-After"]) >= 1
    # the accepted scan completes; the refused one left no row and no bytes
    assert accepted["response"].status_code == 201, accepted["response"].text
    assert accepted["response"].json()["status"] == "screened"
    assert api.scan_count() == before + 1
    assert not api.service.blobs.path(hashlib.sha256(refused_bytes).hexdigest()).exists()
    # once the queue has room, the same scan is taken
    retried = api.submit(refused_bytes)
    assert retried.status_code == 201 and retried.json()["status"] == "screened"
    assert api.scan_count() == before + 2


def test_the_openapi_declares_retry_after_and_507(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    for path in ("/v1/scans", "/v1/detect"):
        assert "Retry-After" in paths[path]["post"]["responses"]["503"]["headers"]
    for path in ("/v1/scans", "/v1/models"):
        assert "507" in paths[path]["post"]["responses"]


def test_the_batcher_admits_at_most_max_queue() -> None:
    batcher = MicroBatcher(None, max_batch=2, max_queue=2)
    try:
        with batcher.admitted(), batcher.admitted():
            with pytest.raises(OverloadedError, match="XSCREEN_MAX_QUEUE") as refused, \
                    batcher.admitted():
                pass
            assert refused.value.headers == {"Retry-After": str(refused.value.retry_after_s)}
            assert refused.value.retry_after_s >= 1
        with batcher.admitted():   # the places were given back
            pass
    finally:
        batcher.close()


def test_waiting_admission_takes_the_next_free_place() -> None:
    batcher = MicroBatcher(None, max_queue=1)
    got = threading.Event()

    def background() -> None:
        with batcher.admitted(wait=True):
            got.set()

    try:
        with batcher.admitted():
            waiter = threading.Thread(target=background)
            waiter.start()
            assert not got.wait(0.2), "admitted beyond the bound"
        assert got.wait(10)
        waiter.join(10)
    finally:
        batcher.close()


def test_a_queue_bound_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="XSCREEN_MAX_QUEUE"):
        MicroBatcher(None, max_queue=0)


def test_the_queue_bound_is_a_setting() -> None:
    assert load_settings({"XSCREEN_MAX_QUEUE": "5"}).max_queue == 5
    assert load_settings({}).max_queue >= 1
    with pytest.raises(UsageError, match="XSCREEN_MAX_QUEUE"):
        load_settings({"XSCREEN_MAX_QUEUE": "many"})


# -- disk full --------------------------------------------------------------------------------

class FillsUp:
    """A file handle that takes half of a write, then reports the disk full (``code``)."""

    def __init__(self, handle: IO[Any], folder: Path, code: int) -> None:
        self.handle, self.folder, self.code = handle, folder, code
        self.temporaries: list[Path] = []

    def write(self, data: bytes) -> int:
        self.handle.write(data[:len(data) // 2])
        self.handle.flush()
        assert os.fstat(self.handle.fileno()).st_size > 0   # some bytes reached the disk
        self.temporaries = sorted(self.folder.glob(".*.tmp"))
        raise OSError(self.code, os.strerror(self.code))


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT])
def test_a_full_disk_while_a_scan_is_written_is_507_and_leaves_nothing(
        api: Api, monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    data = scan(10 + code)
    real = blobs.atomic_writer
    handles: list[FillsUp] = []

    @contextmanager
    def filling(path: str | Path, mode: str = "wb") -> Iterator[FillsUp]:
        with real(path, mode) as handle:
            handles.append(FillsUp(handle, Path(path).parent, code))
            yield handles[-1]

    monkeypatch.setattr(blobs, "atomic_writer", filling)
    before, files = api.scan_count(), api.blob_files()
    response = api.submit(data)
    assert_problem(response, 507, "storage is full")
    assert response.json()["type"].endswith("insufficient-storage")
    assert handles and handles[0].temporaries, "the write never began"
    assert not any(p.exists() for p in handles[0].temporaries)   # the half-written file is gone
    assert api.blob_files() == files and api.scan_count() == before
    monkeypatch.undo()
    stored = api.submit(data)   # space again: the same scan is taken
    assert stored.status_code == 201 and stored.json()["status"] == "screened"
    assert api.scan_count() == before + 1


def test_another_os_error_while_writing_stays_a_500(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(data: bytes) -> str:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(api.service.blobs, "put", broken)
    before = api.scan_count()
    assert_problem(api.submit(scan(3)), 500, "internal error")
    assert api.scan_count() == before
