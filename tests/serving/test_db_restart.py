"""PostgreSQL stopped and started while scans arrive (issue 21), for real: ``xscreen serve`` in
its own process on a PostgreSQL cluster of this test's own (initdb in a temporary folder, its
own port, so the cluster of ``.ci/postgres.sh`` and the other tests are left alone).

While the database is down, requests get 503 with Retry-After (never a 500, never a hang); once
it is back the same process answers 201 again; every scan that got 201 is in the database and
ends screened, and so does every scan stored before the outage cut its screening short (the
recovery sweep, no restart)."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from serving_support import Server, bearer, free_port, png_bytes, scan_rgb
from sqlalchemy import create_engine, select

from xscreen.serving.store import Scan

pytestmark = pytest.mark.slow
CLIENT_TIMEOUT_S = 20        # a request that hangs past this fails the test
OUTAGE_S = 3


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's bin folder (Debian layout), or where initdb is."""
    folders = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                     key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit()
                     else 0)
    if folders:
        return Path(folders[-1])
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class Cluster:
    """A throw-away PostgreSQL cluster on 127.0.0.1:``port`` (as user ``postgres`` when this
    runs as root: PostgreSQL refuses to run as root)."""

    def __init__(self, bin_dir: Path, port: int) -> None:
        self.bin, self.port = bin_dir, port
        self.data = Path(tempfile.mkdtemp(prefix="xscreen-pg-restart-"))
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.data, "postgres")
        self.run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")
        self.start()
        self.run("createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "xscreen")
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/xscreen"

    def run(self, tool: str, *args: str) -> None:
        command = [str(self.bin / tool), *args]
        if self.as_root:
            command = ["su", "postgres", "-s", "/bin/sh", "-c", subprocess.list2cmdline(command)]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.data / "server.log"), "-w",
                 "-o", f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 "
                       "-c fsync=off", "start")

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):   # stopped already
            self.stop()
        shutil.rmtree(self.data, ignore_errors=True)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    bin_dir = postgres_bin()
    if bin_dir is None or not (bin_dir / "pg_ctl").is_file():
        pytest.skip("needs the PostgreSQL server binaries (initdb, pg_ctl): install the "
                    "'postgresql' package (apt-get install postgresql)")
    if os.geteuid() == 0 and shutil.which("su") is None:
        pytest.skip("running as root needs 'su' to start PostgreSQL as the postgres user")
    started = Cluster(bin_dir, free_port())
    try:
        yield started
    finally:
        started.remove()


@dataclass
class Answer:
    sent: float
    status: int          # 0: no answer within the client's timeout, or a broken connection
    scan_id: str | None
    retry_after: str | None
    problem_type: str


def uploader(url: str, key: str, worker: int, stop: threading.Event,
             answers: list[Answer]) -> None:
    with httpx.Client(base_url=url, timeout=CLIENT_TIMEOUT_S, headers=bearer(key)) as http:
        for index in range(100_000):
            if stop.is_set():
                return
            sent = time.monotonic()
            image = png_bytes(scan_rgb(64, 48, seed=worker * 100_000 + index))
            try:
                response = http.post("/v1/scans", files={"image": ("scan.png", image)})
            except httpx.HTTPError:
                answers.append(Answer(sent, 0, None, None, ""))
                continue
            body = response.json()
            answers.append(Answer(sent, response.status_code,
                                  body.get("id") if response.status_code == 201 else None,
                                  response.headers.get("Retry-After"), str(body.get("type"))))


def wait_until(condition: object, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not callable(condition) or not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_postgres_restart_under_load_loses_no_201_and_recovers(cluster: Cluster,
                                                              tmp_path: Path) -> None:
    server = Server(tmp_path / "home", free_port(),
                    env={"XSCREEN_DATABASE_URL": cluster.url,
                         "XSCREEN_RECOVERY_INTERVAL_S": "1"})
    answers: list[Answer] = []
    stop = threading.Event()
    workers = [threading.Thread(target=uploader, args=(server.url, server.admin_key(), i, stop,
                                                       answers)) for i in range(3)]
    try:
        for worker in workers:
            worker.start()
        wait_until(lambda: sum(a.status == 201 for a in answers) >= 5, 30)
        cluster.stop()
        time.sleep(OUTAGE_S)
        cluster.start()
        back = time.monotonic()
        wait_until(lambda: sum(a.status == 201 and a.sent > back for a in answers) >= 5, 30)
        stop.set()
        for worker in workers:
            worker.join(CLIENT_TIMEOUT_S + 5)
        assert server.process.poll() is None          # the same process, never restarted
        during = [a for a in answers if a.status == 503]
        assert during, "no request met the outage"
        assert all(a.retry_after and int(a.retry_after) >= 1 for a in during)
        assert all(a.problem_type.endswith("database-unavailable") for a in during)
        assert {a.status for a in answers} <= {201, 503}, sorted({a.status for a in answers})
        created = {a.scan_id for a in answers if a.status == 201}
        engine = create_engine(cluster.url)
        try:
            def all_screened() -> bool:
                with engine.connect() as connection:
                    rows = dict(connection.execute(select(Scan.id, Scan.status)).all())
                return created <= set(rows) and all(s == "screened" for s in rows.values())

            # scans stored before the outage cut their screening short: the sweep, no restart
            wait_until(all_screened, 30)
        finally:
            engine.dispose()
    finally:
        stop.set()
        server.stop()
