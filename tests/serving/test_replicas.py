"""Two replicas, one service (issue 22): two live ``xscreen serve`` processes on one PostgreSQL
database and one shared home (blob and model folders) behave as one service. An
Idempotency-Key retry that lands on the other replica gets the same scan; scans left accepted
are screened once between the replicas, not once each; a model activated or rolled back on one
replica serves on the other within seconds; keys and TIP settings made on one hold on the other.

Needs PostgreSQL (``XSCREEN_TEST_POSTGRES_URL``, set by ``source .ci/postgres.sh``; skipped
without it). The test makes its own database on that server and drops it afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from conftest import LiveServer, write_fake_bundle
from serving_support import bearer, free_port, png_bytes, scan_rgb
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from xscreen.serving import store
from xscreen.serving.blobs import BlobStore
from xscreen.serving.settings import PACKAGED_MODEL
from xscreen.serving.store import ApiKey, Scan

pytestmark = pytest.mark.slow
LEFT_OVER = 24          # scans left accepted for the two replicas to recover at once


class Replica(LiveServer):
    """``xscreen serve`` on ``database_url`` and ``home`` with no ``--model``: it serves the
    shared registry's active version (the packaged default on a first start). Started without
    waiting, so that two can start at once; :meth:`wait_ready` waits."""

    def __init__(self, home: Path, database_url: str) -> None:   # not LiveServer's: no wait
        self.home = home
        self.url = f"http://127.0.0.1:{free_port()}"
        env = {**os.environ, "XSCREEN_ORT_THREADS": "1", "XSCREEN_DATABASE_URL": database_url}
        env.pop("XSCREEN_MODEL", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "xscreen.cli", "serve", "--port", self.url.rsplit(":", 1)[1],
             "--home", str(home)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def metric(self, name: str) -> float:
        """One unlabelled sample of this replica's /metrics."""
        for line in httpx.get(self.url + "/metrics", timeout=10).text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        raise AssertionError(f"no metric {name} on {self.url}")


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    """A database of this test's own on the test PostgreSQL server, dropped afterwards."""
    base = os.environ.get("XSCREEN_TEST_POSTGRES_URL", "")
    if not base:
        pytest.skip("the replica test needs XSCREEN_TEST_POSTGRES_URL (run "
                    "'source .ci/postgres.sh' to start a local server and set it)")
    name = f"xscreen_replicas_{os.getpid()}"
    server = create_engine(make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


@pytest.fixture(scope="module")
def replicas(database_url: str, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[tuple[Replica, Replica, str, Path]]:
    """Replicas A and B on one database and one home, and the first admin key (A made it)."""
    home = tmp_path_factory.mktemp("replicas") / "home"
    first = Replica(home, database_url)
    first.wait_ready()              # the first start on an empty database makes the admin key
    second = Replica(home, database_url)
    try:
        second.wait_ready()
        yield first, second, first.admin_key(), home
    finally:
        for replica in (first, second):
            if replica.process.poll() is None:
                replica.stop()


def wait_for(check: Callable[[], bool], what: str, timeout_s: float = 10.0) -> float:
    """Seconds until ``check()`` held; fails naming ``what`` after ``timeout_s``."""
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        if check():
            return time.monotonic() - start
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout_s} s: {what}")


def test_a_retry_on_the_other_replica_returns_the_same_scan(
        replicas: tuple[Replica, Replica, str, Path], database_url: str) -> None:
    a, b, key, _ = replicas
    idempotency = f"retry-{uuid.uuid4().hex}"
    png = png_bytes(scan_rgb(seed=5))
    headers = {**bearer(key), "Idempotency-Key": idempotency}
    first = httpx.post(a.url + "/v1/scans", headers=headers, files={"image": ("a.png", png)},
                       timeout=60)
    retry = httpx.post(b.url + "/v1/scans", headers=headers, files={"image": ("a.png", png)},
                       timeout=60)
    assert first.status_code == 201 and retry.status_code == 201
    assert retry.json()["id"] == first.json()["id"]
    assert retry.headers.get("Idempotent-Replayed") == "true"
    other = httpx.post(b.url + "/v1/scans", headers=headers, timeout=60,
                       files={"image": ("a.png", png_bytes(scan_rgb(seed=6)))})
    assert other.status_code == 422          # the key reused for another body, on B too
    engine = store.make_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.scalar(select(func.count()).select_from(Scan)
                                     .where(Scan.idempotency_key == idempotency))
    finally:
        engine.dispose()
    assert rows == 1


def test_activation_and_rollback_on_one_replica_reach_the_other(
        replicas: tuple[Replica, Replica, str, Path], tmp_path: Path) -> None:
    a, b, key, _ = replicas
    default = json.loads((PACKAGED_MODEL / "model.json").read_text())["version"]

    def serving(replica: Replica) -> str | None:
        return httpx.get(replica.url + "/readyz", timeout=10).json()["model_version"]

    assert serving(a) == serving(b) == default
    bundle = write_fake_bundle(tmp_path / "fake", [[10, 10, 60, 60, 0.9, 0]])
    added = httpx.post(a.url + "/v1/models", headers=bearer(key), timeout=60, files={
        "model": ("model.onnx", (bundle / "model.onnx").read_bytes()),
        "card": ("model.json", (bundle / "model.json").read_bytes())})
    assert added.status_code == 201, added.text
    version = added.json()["version"]
    assert version != default
    activated = httpx.post(f"{a.url}/v1/models/{version}/activate", headers=bearer(key),
                           timeout=60)
    assert activated.status_code == 200, activated.text
    assert serving(a) == version
    wait_for(lambda: serving(b) == version, f"replica B serving {version}", timeout_s=8)
    listed = httpx.get(b.url + "/v1/models", headers=bearer(key), timeout=10).json()
    assert [entry["version"] for entry in listed if entry["active"]] == [version]
    rolled = httpx.post(a.url + "/v1/models/rollback", headers=bearer(key), timeout=60)
    assert rolled.status_code == 200 and rolled.json()["version"] == default
    wait_for(lambda: serving(b) == default, "replica B back on the default", timeout_s=8)


def test_keys_and_tip_settings_made_on_one_replica_hold_on_the_other(
        replicas: tuple[Replica, Replica, str, Path]) -> None:
    a, b, key, _ = replicas
    made = httpx.post(a.url + "/v1/keys", headers=bearer(key), timeout=10,
                      json={"role": "operator", "name": "replica test operator"})
    assert made.status_code == 201, made.text
    operator = made.json()["key"]
    assert httpx.get(b.url + "/v1/me", headers=bearer(operator), timeout=10).status_code == 200
    revoked = httpx.post(f"{a.url}/v1/keys/{made.json()['id']}/revoke", headers=bearer(key),
                         timeout=10)
    assert revoked.status_code == 200
    assert httpx.get(b.url + "/v1/me", headers=bearer(operator), timeout=10).status_code == 401
    before = httpx.get(b.url + "/v1/tip/settings", headers=bearer(key), timeout=10).json()
    rate = 0.25 if before["rate"] != 0.25 else 0.5
    put = httpx.put(a.url + "/v1/tip/settings", headers=bearer(key), timeout=10,
                    json={"enabled": False, "rate": rate})
    assert put.status_code == 200, put.text
    after = httpx.get(b.url + "/v1/tip/settings", headers=bearer(key), timeout=10).json()
    assert after["rate"] == rate and after["updated_by"] == "first admin"


def test_left_over_scans_are_screened_once_by_two_replicas_starting_at_once(
        replicas: tuple[Replica, Replica, str, Path], database_url: str) -> None:
    a, b, _, home = replicas
    for replica in (a, b):
        assert replica.stop()
    engine = store.make_engine(database_url)
    sessions = store.session_factory(engine)
    blobs = BlobStore(home / "blobs")
    ids = [uuid.uuid4().hex for _ in range(LEFT_OVER)]
    try:
        with sessions.begin() as session:
            owner = session.scalar(select(ApiKey.id).order_by(ApiKey.id))
            for index, scan_id in enumerate(ids):   # stored, then the process stopped
                image = scan_rgb(width=64, height=48, seed=100 + index)
                session.add(Scan(id=scan_id, owner_key_id=owner, status="accepted",
                                 kind="image", blob=blobs.put(png_bytes(image)), width=64,
                                 height=48, meta={},
                                 created_at=store.utcnow() - timedelta(minutes=5)))
        restarted = (Replica(home, database_url), Replica(home, database_url))
        try:
            for replica in restarted:
                replica.wait_ready()

            def screened() -> int:
                with sessions() as session:
                    return int(session.scalar(select(func.count()).select_from(Scan).where(
                        Scan.id.in_(ids), Scan.status == "screened")) or 0)

            logs = "".join(restarted[0].lines[-15:] + restarted[1].lines[-15:])
            wait_for(lambda: screened() == LEFT_OVER,
                     f"every left-over scan screened ({screened()} were); the logs:\n{logs}", 40)
            # images through each replica's model: each scan once between them, not once each
            inferred = [replica.metric("xscreen_batch_size_sum") for replica in restarted]
            written = [replica.metric("xscreen_scans_screened_total") for replica in restarted]
            assert sum(inferred) == LEFT_OVER, inferred
            assert sum(written) == LEFT_OVER, written
        finally:
            for replica in restarted:
                replica.stop()
    finally:
        engine.dispose()
