"""Faults from outside (issue 21), over HTTP on the real test model and SQLite: more scans than
the inference queue holds (503 with Retry-After, nothing stored, the accepted ones complete); a
disk that fills while a scan is written (507, no half-written file, no row, no 201); a database
that is unreachable (503 with Retry-After, no orphan blob, no 201; a result it missed is screened
by the recovery sweep) or full (507). PostgreSQL stopped and started for real under load:
tests/serving/test_db_restart.py."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import pytest
from fastapi.testclient import TestClient
from serving_support import assert_problem, bearer, make_settings, png_bytes, scan_rgb
from sqlalchemy import event, exc, func, select

from xscreen.errors import UsageError
from xscreen.serving import batching, blobs, store
from xscreen.serving.app import create_app
from xscreen.serving.batching import MicroBatcher
from xscreen.serving.errors import (
    DatabaseFullError,
    DatabaseUnavailableError,
    OverloadedError,
    database_problem,
)
from xscreen.serving.recovery import ScanRecovery, ScreeningClaims
from xscreen.serving.settings import load_settings
from xscreen.serving.store import Scan, ScanParty


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
    def broken(data: bytes) -> tuple[str, bool]:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(api.service.blobs, "put_new", broken)
    before = api.scan_count()
    assert_problem(api.submit(scan(3)), 500, "internal error")
    assert api.scan_count() == before


# -- the database unreachable or full -------------------------------------------------------

@pytest.fixture(scope="module")
def db_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """A service of its own whose recovery sweep runs every half second."""
    settings = make_settings(tmp_path_factory.mktemp("db-home"), ort_threads=1,
                             recovery_interval_s=0.5)
    with TestClient(create_app(settings)) as client:
        yield Api(client)


def unreachable(kind: str) -> Exception:
    """What SQLAlchemy raises when the database cannot be reached, by ``kind``."""
    refused = Exception('connection to server at "10.9.8.7", port 5432 failed: refused')
    return {"operational": exc.OperationalError("SELECT 1", {}, refused),
            "interface": exc.InterfaceError("SELECT 1", {}, refused),
            "disconnection": exc.DisconnectionError("the connection was dropped"),
            "pool-timeout": exc.TimeoutError("QueuePool limit of size 10 overflow 20 reached, "
                                             "connection timed out, timeout 5.00")}[kind]


def assert_database_unavailable(response: Any) -> None:
    assert_problem(response, 503, "database is unavailable")
    assert response.json()["type"].endswith("database-unavailable")
    assert int(response.headers["Retry-After"]) >= 1
    assert "10.9.8.7" not in response.text     # the driver's words stay in the log


@pytest.mark.parametrize("kind", ["operational", "interface", "disconnection", "pool-timeout"])
def test_a_database_that_cannot_be_reached_is_503_with_retry_after(
        db_api: Api, monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise unreachable(kind)

    monkeypatch.setattr(db_api.service.engine, "connect", refuse)
    assert_database_unavailable(db_api.submit(scan(40)))
    assert_database_unavailable(db_api.client.get("/v1/scans", headers=bearer(db_api.key)))
    monkeypatch.undo()
    assert db_api.submit(scan(40)).status_code == 201      # back without a restart


@contextmanager
def failing_statement(api: Api, starts: str, words: str) -> Iterator[list[str]]:
    """Every statement that starts with ``starts`` fails in the driver (sqlite3) with
    ``words``, as it does when the database goes away; yields the statements refused."""
    refused: list[str] = []

    def fail(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith(starts):
            refused.append(statement)
            raise sqlite3.OperationalError(words)

    event.listen(api.service.engine, "before_cursor_execute", fail)
    try:
        yield refused
    finally:
        event.remove(api.service.engine, "before_cursor_execute", fail)


def test_a_row_the_database_refuses_leaves_no_blob_and_no_201(db_api: Api) -> None:
    data = scan(41)
    before, files = db_api.scan_count(), db_api.blob_files()
    with failing_statement(db_api, "INSERT INTO SCANS", "unable to open database file") as hit:
        response = db_api.submit(data)
    assert hit, "the insert was never tried"
    assert_database_unavailable(response)
    assert db_api.blob_files() == files and db_api.scan_count() == before
    assert db_api.submit(data).status_code == 201


def test_a_blob_named_by_a_row_is_never_removed_as_an_orphan(db_api: Api) -> None:
    stored = db_api.submit(scan(42))
    digest = hashlib.sha256(scan(42)).hexdigest()
    orphan, _ = db_api.service.blobs.put_new(b"bytes no row names")
    db_api.service.recovery.forget_blobs([digest, orphan])
    assert db_api.service.blobs.path(digest).is_file()      # a 201's bytes stay
    assert not db_api.service.blobs.path(orphan).exists()
    assert db_api.client.get(f"/v1/scans/{stored.json()['id']}/image",
                             headers=bearer(db_api.key)).status_code == 200


def test_an_orphan_is_removed_by_the_sweep_once_the_database_answers(db_api: Api) -> None:
    orphan, _ = db_api.service.blobs.put_new(b"written while the database was down")
    with failing_statement(db_api, "SELECT", "unable to open database file"):
        db_api.service.recovery.forget_blobs([orphan])      # cannot tell: kept for the sweep
        assert db_api.service.blobs.path(orphan).is_file()
    wait_for(lambda: not db_api.service.blobs.path(orphan).exists(), "the orphan removed")


def wait_for(condition: Any, what: str, timeout_s: float = 15) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def status_of(api: Api, scan_id: str) -> str:
    with api.service.sessions() as session:
        record = session.get(Scan, scan_id)
        assert record is not None
        return record.status


def test_a_result_the_database_missed_is_screened_by_the_sweep(db_api: Api) -> None:
    """The row was stored, then the database went away before the result: 503, the scan stays
    accepted, and the background sweep screens it once the database is back (no restart)."""
    before = db_api.scan_count()
    with failing_statement(db_api, "UPDATE SCANS", "server closed the connection") as hit:
        response = db_api.submit(scan(43))
    assert hit and db_api.scan_count() == before + 1
    assert_database_unavailable(response)
    with db_api.service.sessions() as session:
        scan_id = session.scalars(select(Scan.id).order_by(Scan.created_at.desc())).first()
    assert scan_id is not None
    wait_for(lambda: status_of(db_api, scan_id) == "screened", "the sweep to screen it")


def test_a_scan_is_never_screened_twice(db_api: Api) -> None:
    manifest = {"description": "gift", "consignee": {"name": "Ada Lovelace", "country": "GB"}}
    response = db_api.client.post("/v1/scans", headers=bearer(db_api.key),
                                  data={"manifest": json.dumps(manifest)},
                                  files={"image": ("scan.png", scan(44), "image/png")})
    assert response.status_code == 201 and response.json()["status"] == "screened"
    scan_id, service = response.json()["id"], db_api.service

    def parties() -> int:
        with service.sessions() as session:
            return int(session.scalar(select(func.count()).select_from(ScanParty)
                                      .where(ScanParty.scan_id == scan_id)) or 0)

    with service.sessions() as session:
        record = session.get(Scan, scan_id)
    assert record is not None and parties() > 0
    written = parties()
    decoded = service.screening.decode_stored(record)
    service.screening.screen_stored(scan_id, decoded, service_manifest(record))   # no write
    assert parties() == written


def service_manifest(record: Scan) -> Any:
    from xscreen.serving.manifest import parse_manifest_data

    return parse_manifest_data(record.manifest)


def test_claims_let_one_thread_screen_a_scan_at_a_time() -> None:
    claims = ScreeningClaims()
    with claims.hold("a") as first:
        with claims.hold("a") as second, claims.hold("b") as other:
            assert first and not second and other
        assert claims.busy("a") and not claims.busy("b")
    assert not claims.busy("a")         # given back; the refused claim gave nothing back


def test_the_sweep_skips_a_scan_another_thread_is_screening(db_api: Api) -> None:
    before = db_api.scan_count()
    with failing_statement(db_api, "UPDATE SCANS", "server closed the connection"):
        assert_database_unavailable(db_api.submit(scan(45)))
    with db_api.service.sessions() as session:
        scan_id = session.scalars(select(Scan.id).order_by(Scan.created_at.desc())).first()
    assert scan_id is not None and db_api.scan_count() == before + 1
    with db_api.service.recovery.claims.hold(scan_id) as mine:
        assert mine
        time.sleep(1.5)      # three sweeps
        assert status_of(db_api, scan_id) == "accepted"
    wait_for(lambda: status_of(db_api, scan_id) == "screened", "the sweep to screen it")


def test_a_full_sqlite_database_is_507_and_stores_nothing(db_api: Api) -> None:
    """SQLite refuses to grow past ``PRAGMA max_page_count`` with SQLITE_FULL, as on a full
    disk; a scan whose row needs new pages (a long manifest) is then refused."""
    engine = db_api.service.engine
    with engine.connect() as connection:
        pages = int(connection.exec_driver_sql("PRAGMA page_count").scalar_one())

    def cap(connection: Any, _record: Any) -> None:
        connection.execute(f"PRAGMA max_page_count = {pages}")

    long = "x" * 1000        # each text field's most: together several pages of row
    party = {"name": long, "address": long}
    manifest = json.dumps({**{field: long for field in ("declaration_id", "carrier", "platform",
                                                        "seller_id", "description")},
                           "shipper": party, "consignee": party})
    data = scan(46)
    before, files = db_api.scan_count(), db_api.blob_files()
    event.listen(engine, "connect", cap)
    engine.dispose()
    try:
        response = db_api.client.post("/v1/scans", headers=bearer(db_api.key),
                                      data={"manifest": manifest},
                                      files={"image": ("scan.png", data, "image/png")})
    finally:
        event.remove(engine, "connect", cap)
        engine.dispose()
    assert_problem(response, 507, "database is full")
    assert response.json()["type"].endswith("database-full")
    assert db_api.blob_files() == files and db_api.scan_count() == before
    assert db_api.client.post("/v1/scans", headers=bearer(db_api.key),
                              data={"manifest": manifest},
                              files={"image": ("scan.png", data, "image/png")}).status_code == 201


class DriverError(Exception):
    """A driver exception with the attributes psycopg and sqlite3 give."""

    def __init__(self, text: str, sqlstate: str | None = None,
                 sqlite_errorcode: int | None = None) -> None:
        super().__init__(text)
        self.sqlstate, self.sqlite_errorcode = sqlstate, sqlite_errorcode


@pytest.mark.parametrize(("error", "expected"), [
    (exc.OperationalError("INSERT", {}, DriverError("could not extend file", "53100")),
     DatabaseFullError),
    (exc.OperationalError("INSERT", {}, DriverError("no room", "53100")), DatabaseFullError),
    (exc.OperationalError("INSERT", {}, DriverError("database or disk is full", None, 13)),
     DatabaseFullError),
    (exc.OperationalError("INSERT", {}, DriverError("terminating connection due to "
                                                    "administrator command", "57P01")),
     DatabaseUnavailableError),
    (exc.InterfaceError("SELECT", {}, DriverError("connection already closed")),
     DatabaseUnavailableError),
    (exc.DisconnectionError("gone"), DatabaseUnavailableError),
    (exc.TimeoutError("QueuePool limit reached"), DatabaseUnavailableError),
    (exc.IntegrityError("INSERT", {}, DriverError("duplicate key", "23505")), None),
    (exc.ProgrammingError("SELECT", {}, DriverError("syntax error", "42601")), None),
    (ValueError("not the database"), None),
])
def test_database_failures_are_told_apart(error: Exception, expected: type | None) -> None:
    problem = database_problem(error)
    assert (None if problem is None else type(problem)) is expected
    if problem is not None:
        assert problem.http_status == (507 if expected is DatabaseFullError else 503)


def test_the_sweep_interval_must_be_positive(db_api: Api) -> None:
    with pytest.raises(ValueError, match="positive number of seconds"):
        ScanRecovery(db_api.service, interval_s=0)
    assert load_settings({"XSCREEN_RECOVERY_INTERVAL_S": "2.5"}).recovery_interval_s == 2.5
    with pytest.raises(UsageError, match="XSCREEN_RECOVERY_INTERVAL_S"):
        load_settings({"XSCREEN_RECOVERY_INTERVAL_S": "soon"})


def test_a_postgres_engine_checks_connections_and_gives_up_quickly(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Dead pooled connections are replaced (pre-ping) and a database that does not answer
    costs a request seconds, not the driver's default of waiting for ever."""
    made: dict[str, Any] = {}
    real = store.create_engine

    def recording(url: str, **options: Any) -> Any:
        made.update(options)
        return real("sqlite://")      # stands in: the options are what is checked

    monkeypatch.setattr(store, "create_engine", recording)
    store.make_engine("postgresql+psycopg://xscreen@db.invalid/xscreen").dispose()
    assert made["pool_pre_ping"] is True
    assert 0 < made["connect_args"]["connect_timeout"] <= 5
    assert 0 < made["pool_timeout"] <= 10
