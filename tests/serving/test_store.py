"""Storage: the database (SQLite, and PostgreSQL when XSCREEN_TEST_POSTGRES_URL is set), the
content-addressed blob store, keys, party history and start-up recovery."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from conftest import empty_database
from fastapi.testclient import TestClient
from serving_support import bearer, make_settings, png_bytes, scan_rgb

from xscreen.errors import UsageError
from xscreen.serving import store
from xscreen.serving.app import create_app
from xscreen.serving.blobs import BlobStore
from xscreen.serving.pipeline import Upload, decode_upload
from xscreen.serving.service import Principal, ScreeningService
from xscreen.serving.settings import load_settings

PNG = png_bytes(scan_rgb())


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database: SQLite in tmp_path, or the PostgreSQL server named by
    XSCREEN_TEST_POSTGRES_URL (emptied first), skipped when that is not set."""
    yield empty_database(request.param) or f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def sessions(database_url: str) -> Iterator[store.sessionmaker[store.Session]]:
    engine = store.make_engine(database_url)
    yield store.session_factory(engine)
    engine.dispose()


def test_keys_are_stored_hashed(sessions: store.sessionmaker[store.Session]) -> None:
    first = store.ensure_admin_key(sessions)
    assert first is not None and first.startswith("xsk_")
    assert store.ensure_admin_key(sessions) is None                  # only on a first start
    key = store.create_key(sessions, "scanner", "lane 1")
    found = store.find_key(sessions, key)
    assert found is not None and (found.role, found.name) == ("scanner", "lane 1")
    assert found.key_hash == hashlib.sha256(key.encode()).hexdigest() and key not in found.key_hash
    assert store.find_key(sessions, key + "x") is None
    with pytest.raises(UsageError, match="unknown role"):
        store.create_key(sessions, "janitor")


def _service(tmp_path: Path, database_url: str, **overrides: object) -> ScreeningService:
    return ScreeningService(make_settings(tmp_path / "home", database_url=database_url,
                                          **overrides))


def _admin(service: ScreeningService) -> Principal:
    """The first admin key's principal (the key a fresh database prints once)."""
    admin = store.ensure_admin_key(service.sessions)
    assert admin is not None
    return service.authenticate(admin)


def test_scan_lifecycle_and_party_history(tmp_path: Path, database_url: str) -> None:
    service = _service(tmp_path, database_url)
    try:
        service.load_initial_model()
        me = _admin(service)
        manifest = '{"shipper": {"name": "Acme Trading Ltd"}, "platform": "ShopCo"}'
        scan, created = service.screening.submit(Upload(image=PNG), manifest, "lane-1", "k1", me)
        again, created_again = service.screening.submit(Upload(image=PNG), manifest, "lane-1",
                                                        "k1", me)
        assert created and not created_again and again["id"] == scan["id"]
        assert scan["status"] == "screened" and scan["manifest"]["platform"] == "ShopCo"
        assert service.history.parcels_seen("shipper:acme trading") == 1
        assert service.history.seizures(["shipper:acme trading"]) == []
        service.scans.verdict(scan["id"], "threat_confirmed", None, "seized", me)
        records = service.history.seizures(["shipper:acme tradin"])   # a spelling variant
        assert [r.scan_id for r in records] == [scan["id"]]
        assert service.history.seizures(["consignee:acme trading"]) == []
    finally:
        service.close()


@pytest.mark.parametrize(("decisions", "seized"), [
    (["threat_confirmed"], True),
    (["threat_confirmed", "threat_confirmed"], True),       # one seizure, not two
    (["threat_confirmed", "cleared"], False),               # the latest verdict is the state
    (["cleared", "threat_confirmed"], True),
    (["cleared"], False),
])
def test_verdicts_are_kept_and_the_latest_counts(tmp_path: Path, database_url: str,
                                                 decisions: list[str], seized: bool) -> None:
    """Every verdict stays a row of the scan's history, in order; party history counts a
    seizure by the latest one only (issue 21)."""
    service = _service(tmp_path, database_url)
    try:
        service.load_initial_model()
        me = _admin(service)
        manifest = '{"shipper": {"name": "Harrier Verdict Freight"}}'
        scan, _ = service.screening.submit(Upload(image=PNG), manifest, None, None, me)
        for number, decision in enumerate(decisions):
            service.scans.verdict(scan["id"], decision, None, f"look {number}", me)
        history = service.scans.verdict_history(scan["id"], me)
        assert [(v["decision"], v["note"]) for v in history] == [
            (decision, f"look {number}") for number, decision in enumerate(decisions)]
        assert service.scans.scan_dict(scan["id"])["verdict"] == history[-1]
        records = service.history.seizures(["shipper:harrier verdict freight"])
        assert [r.scan_id for r in records] == ([scan["id"]] if seized else [])
    finally:
        service.close()


def test_scans_left_unscreened_are_screened_at_start(tmp_path: Path, database_url: str) -> None:
    """A scan stored (201 not yet sent) when the process died is screened on the next start."""
    service = _service(tmp_path, database_url)
    admin = store.ensure_admin_key(service.sessions)
    assert admin is not None
    me = service.authenticate(admin)
    upload = Upload(image=PNG)
    scan_id = service.scans.store(upload, decode_upload(upload), None, None, None, me)
    assert service.scans.scan_dict(scan_id)["status"] == "accepted"
    service.close()
    settings = make_settings(tmp_path / "home", database_url=database_url)
    with TestClient(create_app(settings)) as client:
        client.app.state.recovery.join(timeout=60)  # type: ignore[attr-defined]
        body = client.get(f"/v1/scans/{scan_id}", headers=bearer(admin)).json()
    assert body["status"] == "screened" and body["risk"] is not None


def test_blob_store_is_content_addressed_and_atomic(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    digest = blobs.put(b"scan bytes")
    assert digest == hashlib.sha256(b"scan bytes").hexdigest()
    assert blobs.path(digest) == tmp_path / "blobs" / digest[:2] / digest
    assert blobs.put(b"scan bytes") == digest and blobs.get(digest) == b"scan bytes"
    assert not [p for p in (tmp_path / "blobs").rglob(".*")]          # no half-written files
    with pytest.raises(Exception, match="missing"):
        blobs.get("0" * 64)


def test_settings_from_environment(tmp_path: Path) -> None:
    settings = load_settings({"XSCREEN_HOME": str(tmp_path), "XSCREEN_MAX_BATCH": "16",
                              "XSCREEN_MAX_WAIT_MS": "3.5"}, max_batch=4)
    assert settings.home == tmp_path and settings.max_batch == 4 and settings.max_wait_ms == 3.5
    assert settings.resolved_database_url == f"sqlite:///{(tmp_path / 'xscreen.db').resolve()}"
    assert settings.blobs_dir == tmp_path / "blobs"
    with pytest.raises(UsageError, match="XSCREEN_MAX_BATCH"):
        load_settings({"XSCREEN_MAX_BATCH": "many"})
    with pytest.raises(UsageError, match="unknown settings"):
        load_settings({}, colour="red")
    assert load_settings({}).ort_spinning is False     # idle ORT threads sleep in the service
    assert load_settings({"XSCREEN_ORT_SPINNING": "yes"}).ort_spinning is True
    assert load_settings({"XSCREEN_ORT_SPINNING": "0"}).ort_spinning is False
    assert load_settings({}, ort_threads=2).inference_layout() == (2, 1)   # two 1-thread runs
    assert load_settings({}, ort_threads=8).inference_layout() == (2, 4)
    assert load_settings({}, ort_threads=1).inference_layout() == (1, 1)
    assert load_settings({"XSCREEN_INFERENCE_WORKERS": "1"},
                         ort_threads=2).inference_layout() == (1, 2)
    with pytest.raises(UsageError, match="XSCREEN_ORT_SPINNING='maybe' must be true or false"):
        load_settings({"XSCREEN_ORT_SPINNING": "maybe"})


def test_principal_roles(tmp_path: Path) -> None:
    from xscreen.serving.errors import PermissionDeniedError
    from xscreen.serving.service import require_role

    require_role(Principal(1, "admin", "a"), "engineer")
    with pytest.raises(PermissionDeniedError, match="needs the role engineer"):
        require_role(Principal(2, "scanner", "s"), "engineer")


def test_a_retry_screens_a_scan_stored_but_never_screened(tmp_path: Path) -> None:
    service = _service(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        service.load_initial_model()
        me = _admin(service)
        upload = Upload(image=PNG)
        scan_id = service.scans.store(upload, decode_upload(upload), None, None, "retry-1", me)
        scan, created = service.screening.submit(upload, None, None, "retry-1", me)
        assert not created and scan["id"] == scan_id and scan["status"] == "screened"
    finally:
        service.close()


def test_a_database_from_before_request_fingerprints_keeps_working(database_url: str) -> None:
    """Databases made before ``scans.request_sha256`` existed get the column on start, keep their
    scans, and replay them under their Idempotency-Key (no fingerprint to compare)."""
    from sqlalchemy import inspect, text

    engine = store.make_engine(database_url)
    sessions = store.session_factory(engine)
    key_id = store.find_key(sessions, store.create_key(sessions, "scanner")).id  # type: ignore[union-attr]
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE scans DROP COLUMN request_sha256"))
        connection.execute(text(
            "INSERT INTO scans (id, owner_key_id, idempotency_key, status, kind, blob, width, "
            "height, meta, risk_score, created_at) VALUES ('old1', :key, 'k-1', 'screened', "
            "'image', 'b', 4, 4, '{}', 1.0, :now)"), {"key": key_id, "now": store.utcnow()})
    engine.dispose()
    engine = store.make_engine(database_url)                 # the service starts again
    try:
        assert "request_sha256" in {c["name"] for c in inspect(engine).get_columns("scans")}
        assert store.add_missing_columns(engine) == []        # once only
        with store.session_factory(engine)() as session:
            old = session.get(store.Scan, "old1")
            assert old is not None and old.request_sha256 is None and old.idempotency_key == "k-1"
    finally:
        engine.dispose()


@pytest.mark.parametrize(("first", "second", "same"), [
    ([("image", b"abc")], [("image", b"abc")], True),
    ([("image", b"abc")], [("image", b"abd")], False),
    ([("image", b"ab"), ("manifest", b"c")], [("image", b"a"), ("manifest", b"bc")], False),
    ([("image", b"abc"), ("manifest", None)], [("image", b"abc"), ("manifest", b"")], False),
    ([("high", b"a"), ("low", b"b")], [("high", b"b"), ("low", b"a")], False),
])
def test_request_fingerprint(first: list[tuple[str, bytes | None]],
                             second: list[tuple[str, bytes | None]], same: bool) -> None:
    assert (store.request_fingerprint(first) == store.request_fingerprint(second)) is same
    assert len(store.request_fingerprint(first)) == 64


def test_replicas_starting_together_make_one_first_admin_key(
        sessions: store.sessionmaker[store.Session], monkeypatch: pytest.MonkeyPatch) -> None:
    """Two replicas on one empty database both see no keys; only one may make (and print) the
    first admin key. Simulated by letting the second skip its look for keys, as if it had looked
    before the first committed."""
    first = store.ensure_admin_key(sessions)
    assert first is not None
    real_sessions = sessions

    class Blind:
        """Answers the first look for keys with 'none', as a replica that looked too early."""

        def __init__(self) -> None:
            self.looked = False

        def __call__(self) -> store.Session:
            session = real_sessions()
            if not self.looked:
                self.looked = True
                monkeypatch.setattr(session, "scalar", lambda *args, **kwargs: 0)
            return session

        def begin(self) -> Any:
            return real_sessions.begin()

    assert store.ensure_admin_key(Blind()) is None    # type: ignore[arg-type]
    with sessions() as session:
        keys = session.scalars(store.select(store.ApiKey)).all()
    assert [(k.role, k.name) for k in keys] == [("admin", "first admin")]
    assert store.find_key(sessions, first) is not None


def test_a_database_whose_keys_were_all_deleted_gets_a_new_first_admin_key(
        sessions: store.sessionmaker[store.Session]) -> None:
    assert store.ensure_admin_key(sessions) is not None
    with sessions.begin() as session:
        session.execute(store.update(store.ServiceSetting)
                        .where(store.ServiceSetting.name == store.FIRST_ADMIN_MARK)
                        .values(updated_by=None))
        session.execute(sqlalchemy.delete(store.ApiKey))
    again = store.ensure_admin_key(sessions)
    assert again is not None and store.find_key(sessions, again) is not None
    assert store.ensure_admin_key(sessions) is None


def test_replicas_racing_on_one_empty_database_make_one_first_admin_key(
        database_url: str) -> None:
    """Four replicas (each its own engine and connections, as separate processes have) start
    together on an empty database, round after round: each round exactly one of them makes and
    prints the first admin key, the others return None without an error, and one key is stored.
    Real connections racing, not a simulated early look."""
    import threading

    engines = [store.make_engine(database_url) for _ in range(4)]
    factories = [store.session_factory(engine) for engine in engines]
    try:
        for _ in range(5):
            with factories[0].begin() as session:   # an empty database again
                session.execute(sqlalchemy.delete(store.ServiceSetting))
                session.execute(sqlalchemy.delete(store.ApiKey))
            start = threading.Barrier(len(factories))
            results: list[str | None] = []
            errors: list[BaseException] = []

            def replica(sessions: store.sessionmaker[store.Session], start: threading.Barrier,
                        results: list[str | None], errors: list[BaseException]) -> None:
                start.wait()
                try:
                    results.append(store.ensure_admin_key(sessions))
                except BaseException as error:      # reported below, not lost in a thread
                    errors.append(error)

            threads = [threading.Thread(target=replica, args=(f, start, results, errors))
                       for f in factories]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            assert errors == []
            printed = [key for key in results if key is not None]
            assert len(results) == 4 and len(printed) == 1, results
            with factories[0]() as session:
                keys = session.scalars(store.select(store.ApiKey)).all()
            assert [(k.role, k.name) for k in keys] == [("admin", "first admin")]
            assert store.find_key(factories[0], printed[0]) is not None
    finally:
        for engine in engines:
            engine.dispose()
