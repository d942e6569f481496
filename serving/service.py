"""The screening service's state and use cases, with no web framework in it: keys and roles,
durable scan storage, screening through the micro-batcher, the queue, verdicts, renderings,
TDRs, the training export and the model registry. ``serving/app.py`` maps HTTP onto it.
"""

from __future__ import annotations

import json
import logging
import math
import re
import struct
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
from sqlalchemy import and_, or_, select, text
from sqlalchemy.exc import IntegrityError

from xscreen import CLASSES
from xscreen.errors import XscreenError
from xscreen.models.runtime import OnnxDetector
from xscreen.serving import store
from xscreen.serving.batching import MicroBatcher
from xscreen.serving.blobs import BlobStore
from xscreen.serving.decode import DecodedScan, DecodeLimits, decode_image, decode_pair
from xscreen.serving.errors import (
    AuthenticationError,
    BadRequestError,
    IdempotencyKeyReusedError,
    InvalidFieldError,
    ManifestJsonError,
    NotFoundError,
    PermissionDeniedError,
)
from xscreen.serving.export import Example, coco_zip, verdict_labels
from xscreen.serving.manifest import parse_manifest
from xscreen.serving.metrics import Metrics
from xscreen.serving.pipeline import Upload, decode_upload, screen_decoded
from xscreen.serving.registry import ModelRegistry, RegistryEntry
from xscreen.serving.risk import RiskConfig, load_risk_config, party_keys
from xscreen.serving.settings import PACKAGED_MODEL, Settings
from xscreen.serving.store import ApiKey, DbPartyHistory, Scan, ScanParty, Verdict

log = logging.getLogger("xscreen.serving")
DECISIONS = ("threat_confirmed", "cleared")
STATUSES = ("accepted", "screened", "reviewed", "failed")


@dataclass(frozen=True)
class Principal:
    """Who is calling: an API key's id, role and name."""

    key_id: int
    role: str
    name: str


def require_role(principal: Principal, *roles: str) -> None:
    """PermissionDeniedError unless the key's role is one of ``roles`` (admin may do anything)."""
    if principal.role != "admin" and principal.role not in roles:
        raise PermissionDeniedError(f"a {principal.role} key may not do this; it needs the role "
                                    f"{' or '.join(roles)}")


class ScreeningService:
    """One instance per process: the database, blob store, registry and batcher."""

    def __init__(self, settings: Settings, metrics: Metrics | None = None,
                 risk_config: RiskConfig | None = None) -> None:
        self.settings = settings
        self.metrics = metrics or Metrics()
        settings.home.mkdir(parents=True, exist_ok=True)
        self.engine = store.make_engine(settings.resolved_database_url)
        self.sessions = store.session_factory(self.engine)
        self.blobs = BlobStore(settings.blobs_dir)
        self.registry = ModelRegistry(settings.models_dir)
        self.limits = DecodeLimits(settings.max_pixels, settings.min_side)
        workers, _ = settings.inference_layout()
        self.batcher = MicroBatcher(None, settings.max_batch, settings.max_wait_ms, self.metrics,
                                    workers, settings.max_queue)
        self.history = DbPartyHistory(self.sessions)
        # read and validated at start-up: a broken file stops the service with the key named
        self.risk_config = risk_config or load_risk_config(settings.risk_config)
        log.info("risk configuration %s from %s", self.risk_config.version,
                 settings.risk_config or "the packaged serving/risk.yaml")
        self.model_problem: str | None = "no model loaded yet"
        self._activation = threading.Lock()
        self._stopping = threading.Event()
        self._started = False
        self._watcher = threading.Thread(target=self._watch_registry, daemon=True,
                                         name="xscreen-registry-watch")

    # -- start-up and models -------------------------------------------------------------
    def first_admin_key(self) -> str | None:
        """The admin key created on a first start (no keys yet), else None."""
        return store.ensure_admin_key(self.sessions)

    def load_initial_model(self) -> None:
        """The explicit model (settings), else the registry's active version, else the packaged
        default; on failure the service stays up, not ready, and says why in the log."""
        try:
            chosen = self.settings.model
            if chosen is None and self.registry.active_version() is not None:
                self.activate(str(self.registry.active_version()))
                return
            chosen = chosen or PACKAGED_MODEL
            # whoever starts the service with a model chose it: no promotion gate
            entry = self.registry.add(chosen, force=True)
            self.activate(entry.version, force=True)
        except XscreenError as error:
            self.model_problem = str(error)
            log.error("not ready: no model loaded: %s (pass --model BUNDLE or set XSCREEN_MODEL)",
                      error)

    def activate(self, version: str, force: bool = False) -> RegistryEntry:
        """Load ``version`` and swap it in; requests in flight finish on the previous model.
        Refused (before anything loads) when the promotion gate has not cleared it, unless
        ``force``; a version that cannot load leaves the current one serving."""
        with self._activation:
            self.registry.check_promotion(version, force)
            detector = OnnxDetector(self.registry.bundle(version),
                                    threads=self.settings.inference_layout()[1],
                                    spinning=self.settings.ort_spinning)
            bundle = self.registry.activate(version, force)   # recorded only once it loaded
            first_model = self.batcher.detector is None
            self.batcher.swap(detector)
            self.model_problem = None
        log.info("model %s %s active", bundle.card.name, version)
        if first_model and self._started:
            # scans accepted while no model was loaded can be screened now
            threading.Thread(target=self.recover_pending, daemon=True).start()
        return next(e for e in self.registry.versions() if e.version == version)

    def start_watching(self, interval_s: float = 2.0) -> None:
        """Follow ``xscreen models activate`` run beside the service (polls ``active.json``)."""
        self._watch_interval = interval_s
        self._started = True
        self._watcher.start()

    def _watch_registry(self) -> None:
        failed: str | None = None
        while not self._stopping.wait(self._watch_interval):
            wanted = self.registry.active_version()
            current = self.batcher.detector
            if not wanted or wanted == failed or (current and current.card.version == wanted):
                continue
            try:
                self.activate(wanted)
            except Exception:  # a bad bundle must not stop the watcher; say so once
                failed = wanted
                log.exception("could not activate model %s from the registry", wanted)

    def add_model(self, bundle_path: str | Path, force: bool = False) -> RegistryEntry:
        return self.registry.add(bundle_path, force)

    def rollback(self) -> RegistryEntry:
        """Serve again the version that served before the current one."""
        return self.activate(self.registry.previous_version())

    def ready(self) -> dict[str, Any]:
        """Readiness of the model and the database (each true/false, with a reason)."""
        database, reason = True, None
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as error:  # any driver error means not ready
            database, reason = False, str(error).splitlines()[0]
        model = self.batcher.detector
        return {"ready": database and model is not None, "database": database,
                "database_problem": reason, "model": model is not None,
                "model_problem": self.model_problem,
                "model_version": model.card.version if model is not None else None}

    def close(self) -> None:
        """Stop watching, finish queued inference, release the database."""
        self._stopping.set()
        self.batcher.close()
        self.engine.dispose()

    # -- keys -------------------------------------------------------------------------------
    def authenticate(self, token: str | None) -> Principal:
        if not token:
            raise AuthenticationError("no API key: send 'Authorization: Bearer <key>' (an admin "
                                      "makes keys with 'xscreen keys create --role ROLE')")
        key = store.find_key(self.sessions, token)
        if key is None:
            raise AuthenticationError("unknown API key; check it or ask an admin for a new one")
        return Principal(key.id, key.role, key.name)

    # -- scans --------------------------------------------------------------------------------
    def submit(self, upload: Upload, manifest_text: str | None, scanner_id: str | None,
               idempotency_key: str | None, principal: Principal) -> tuple[dict[str, Any], bool]:
        """Store and screen a scan; returns the scan and whether it is new (False: a retry with
        the same Idempotency-Key)."""
        require_role(principal, "scanner", "operator")
        fingerprint = store.request_fingerprint(
            [("image", upload.image), ("high", upload.high), ("low", upload.low),
             ("manifest", _utf8(manifest_text)), ("scanner_id", _utf8(scanner_id))])
        if idempotency_key:
            existing = self._by_idempotency(principal.key_id, idempotency_key, fingerprint)
            if existing is not None:
                return self._finish(existing), False
        manifest = parse_manifest_text(manifest_text)
        # a place in the inference queue before anything is stored: a scan refused for overload
        # (503) was never kept, and one that got 201 was screened too
        with self.batcher.admitted():
            started = time.perf_counter()
            scan = decode_upload(upload, self.limits)
            timings = {"decode": round((time.perf_counter() - started) * 1000, 2)}
            try:
                scan_id = self._store(upload, scan, manifest, scanner_id, idempotency_key,
                                      principal, fingerprint)
            except IntegrityError:
                existing = self._by_idempotency(principal.key_id, idempotency_key or "",
                                                fingerprint)
                if existing is None:
                    raise
                return existing, False
            self._screen(scan_id, scan, manifest, timings)
        return self.scan_dict(scan_id), True

    def _finish(self, scan: dict[str, Any]) -> dict[str, Any]:
        """A retried scan that was stored but never screened (the first try failed or the
        process stopped) is screened now."""
        if scan["status"] != "accepted" or self.batcher.detector is None:
            return scan
        with self.sessions() as session:
            record = session.get(Scan, scan["id"])
        assert record is not None
        with self.batcher.admitted():   # overloaded: 503, and the next retry screens it
            self._screen(record.id, self._decode_stored(record),
                         parse_manifest_data(record.manifest))
        return self.scan_dict(record.id)

    def detect(self, upload: Upload, principal: Principal) -> dict[str, Any]:
        """Screen without storing anything."""
        with self.batcher.admitted():
            started = time.perf_counter()
            scan = decode_upload(upload, self.limits)
            decoded = time.perf_counter()
            result = self.batcher.infer(scan.rgb)
            done = time.perf_counter()
        timings = {"decode": round((decoded - started) * 1000, 2),
                   "queue": round(result.queue_ms, 2), "inference": round(result.inference_ms, 2),
                   "total": round((done - started) * 1000, 2)}
        return {"image": {"width": scan.width, "height": scan.height},
                "detections": result.detections.to_records(result.card.classes),
                "model": {"name": result.card.name, "version": result.card.version},
                "timings_ms": timings}

    def _by_idempotency(self, key_id: int, idempotency_key: str,
                        fingerprint: str) -> dict[str, Any] | None:
        """The scan stored under this key, if any; IdempotencyKeyReusedError when it was stored
        for other request parts (a scan stored before fingerprints were kept is replayed)."""
        with self.sessions() as session:
            row = session.execute(select(Scan.id, Scan.request_sha256).where(
                Scan.owner_key_id == key_id, Scan.idempotency_key == idempotency_key)).first()
        if row is None:
            return None
        if row.request_sha256 is not None and row.request_sha256 != fingerprint:
            raise IdempotencyKeyReusedError(
                f"Idempotency-Key {idempotency_key!r} was already used for another request "
                f"(scan {row.id}) with different parts; a retry must send the same image, "
                "manifest and scanner_id, and a new scan needs a new key")
        return self.scan_dict(row.id)

    def _store(self, upload: Upload, scan: DecodedScan, manifest: Any, scanner_id: str | None,
               idempotency_key: str | None, principal: Principal,
               fingerprint: str | None = None) -> str:
        """Bytes to the blob store (fsynced), then the record (committed): durable before 201."""
        primary = upload.image if upload.image is not None else upload.high
        assert primary is not None
        blob = self.blobs.put(primary)
        blob_low = self.blobs.put(upload.low) if upload.image is None and upload.low else None
        scan_id = uuid.uuid4().hex
        meta = {k: v for k, v in scan.meta.items() if isinstance(v, str | int | float)}
        with self.sessions.begin() as session:
            session.add(Scan(id=scan_id, owner_key_id=principal.key_id, scanner_id=scanner_id,
                             idempotency_key=idempotency_key, request_sha256=fingerprint,
                             status="accepted",
                             kind="image" if blob_low is None else "pair", blob=blob,
                             blob_low=blob_low, width=scan.width, height=scan.height,
                             manifest=manifest.to_dict() if manifest is not None else None,
                             meta=meta))
        return scan_id

    def _screen(self, scan_id: str, scan: DecodedScan, manifest: Any,
                timings: dict[str, float] | None = None) -> None:
        result = screen_decoded(scan, manifest, self.batcher, self.history, self.risk_config,
                                timings)
        body = result.to_dict()
        stored = {key: body[key] for key in ("detections", "risk", "model", "timings_ms")}
        # party keys join the history with the result, so a parcel never counts as its own past
        keys = sorted(set(party_keys(manifest))) if manifest is not None else []
        with self.sessions.begin() as session:
            session.add_all([ScanParty(scan_id=scan_id, key=key) for key in keys])
            record = session.get(Scan, scan_id)
            assert record is not None
            record.result, record.status = stored, "screened"
            record.risk_score = float(result.risk["score"])
            record.screened_at = store.utcnow()
        self.metrics.screened.inc()

    def recover_pending(self) -> int:
        """Screen every scan accepted but not screened before now (the process stopped in
        between, or no model was loaded); newer ones are their own requests' work."""
        before = store.utcnow()
        with self.sessions() as session:
            pending = session.scalars(select(Scan).where(Scan.status == "accepted",
                                                         Scan.created_at <= before)).all()
        for record in pending:
            try:
                manifest = parse_manifest_data(record.manifest)
                with self.batcher.admitted(wait=True):   # takes its turn with live requests
                    self._screen(record.id, self._decode_stored(record), manifest)
            except XscreenError as error:
                log.error("scan %s could not be screened at start-up: %s", record.id, error)
                self._mark_failed(record.id, str(error))
        if pending:
            log.info("screened %d scans left over from the previous run", len(pending))
        return len(pending)

    def _mark_failed(self, scan_id: str, problem: str) -> None:
        with self.sessions.begin() as session:
            record = session.get(Scan, scan_id)
            if record is not None:
                record.status, record.error = "failed", problem

    def _record(self, scan_id: str, principal: Principal) -> Scan:
        """The scan row, or NotFoundError when unknown or another scanner's."""
        with self.sessions() as session:
            record = session.get(Scan, scan_id)
        if record is None or (principal.role == "scanner"
                              and record.owner_key_id != principal.key_id):
            raise NotFoundError(f"no scan {scan_id!r} (or it is not yours)")
        return record

    def get_scan(self, scan_id: str, principal: Principal) -> dict[str, Any]:
        require_role(principal, "scanner", "operator", "engineer")
        self._record(scan_id, principal)
        return self.scan_dict(scan_id)

    def scan_dict(self, scan_id: str) -> dict[str, Any]:
        """The contract's scan JSON: its latest verdict, and how many it has had."""
        with self.sessions() as session:
            record = session.get(Scan, scan_id)
            if record is None:
                raise NotFoundError(f"no scan {scan_id!r}")
            verdicts = _verdicts_of(session, scan_id)
            names = _key_names(session, verdicts[-1:])
        return scan_to_dict(record, verdicts[-1] if verdicts else None, names, len(verdicts))

    def _dicts(self, records: Sequence[Scan]) -> list[dict[str, Any]]:
        """Scan JSON of many rows, with their latest verdicts in one query."""
        ids = [r.id for r in records]
        with self.sessions() as session:
            verdicts = session.scalars(select(Verdict).where(Verdict.scan_id.in_(ids))
                                       .order_by(Verdict.id)).all() if ids else []
            history = _by_scan(verdicts)
            names = _key_names(session, [kept[-1] for kept in history.values()])
        return [scan_to_dict(r, history[r.id][-1] if r.id in history else None, names,
                             len(history.get(r.id, []))) for r in records]

    def verdict_history(self, scan_id: str, principal: Principal) -> list[dict[str, Any]]:
        """Every verdict on a scan, oldest first: who, when, what. The last is the scan's
        state; none is ever replaced or deleted."""
        require_role(principal, "scanner", "operator", "engineer")
        self._record(scan_id, principal)
        with self.sessions() as session:
            verdicts = _verdicts_of(session, scan_id)
            names = _key_names(session, verdicts)
        return [verdict_to_dict(v, names) for v in verdicts]

    def _decode_stored(self, record: Scan) -> DecodedScan:
        if record.kind == "pair" and record.blob_low:
            return decode_pair(self.blobs.get(record.blob), self.blobs.get(record.blob_low),
                               self.limits)
        return decode_image(self.blobs.get(record.blob), self.limits)

    def image_png(self, scan_id: str, principal: Principal, annotated: bool) -> bytes:
        """The scan's pseudo-colour rendering as PNG, with boxes if ``annotated``."""
        require_role(principal, "scanner", "operator", "engineer")
        record = self._record(scan_id, principal)
        rgb = self._decode_stored(record).rgb
        if annotated:
            from xscreen.datasets.preview import draw_boxes

            found = (record.result or {}).get("detections", [])
            rgb = draw_boxes(rgb, [d["box"] for d in found], [d["label"] for d in found],
                                  [d["score"] for d in found])
        ok, encoded = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        assert ok
        return bytes(encoded.tobytes())

    def tdr(self, scan_id: str, principal: Principal) -> bytes:
        """The scan's DICOS Threat Detection Report."""
        from xscreen.serving.tdr import tdr_bytes

        require_role(principal, "scanner", "operator", "engineer")
        record = self._record(scan_id, principal)
        if record.result is None:
            raise NotFoundError(f"scan {scan_id} is not screened yet; try again shortly")
        body = self.scan_dict(scan_id)
        body["meta"] = record.meta
        return tdr_bytes(body)

    # -- queue and verdicts -------------------------------------------------------------------
    def queue(self, principal: Principal, status: str | None, min_risk: float | None,
              limit: int, cursor: str | None) -> dict[str, Any]:
        """Scans by risk, highest first (keyset-paginated: ``next_cursor`` continues); a scanner
        sees only its own."""
        require_role(principal, "operator", "scanner")
        if status is not None and status not in STATUSES:
            raise BadRequestError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
        query = select(Scan)
        if principal.role == "scanner":
            query = query.where(Scan.owner_key_id == principal.key_id)
        if status:
            query = query.where(Scan.status == status)
        if min_risk is not None:
            query = query.where(Scan.risk_score >= min_risk)
        if cursor:
            score, last_id = decode_cursor(cursor)
            query = query.where(or_(Scan.risk_score < score,
                                    and_(Scan.risk_score == score, Scan.id < last_id)))
        query = query.order_by(Scan.risk_score.desc(), Scan.id.desc()).limit(limit + 1)
        with self.sessions() as session:
            records = session.scalars(query).all()
        page = records[:limit]
        items = self._dicts(page)
        more = len(records) > limit
        return {"items": items,
                "next_cursor": encode_cursor(page[-1].risk_score, page[-1].id) if more else None}

    def verdict(self, scan_id: str, decision: str, labels: list[dict[str, Any]] | None,
                note: str | None, principal: Principal) -> dict[str, Any]:
        """Record an operator's decision (and corrected labels) on a scan. A later verdict
        becomes the scan's state; the earlier ones stay in its history (never overwritten)."""
        require_role(principal, "operator")
        if decision not in DECISIONS:
            raise InvalidFieldError(f"decision must be one of {', '.join(DECISIONS)}, "
                                    f"got {decision!r}")
        classes = self._classes()
        for label in labels or []:
            if label.get("label") not in classes:
                raise InvalidFieldError(f"label {label.get('label')!r} is not one of "
                                        f"{', '.join(classes)}")
        self._record(scan_id, principal)
        with self.sessions.begin() as session:
            session.add(Verdict(scan_id=scan_id, decision=decision, labels=labels, note=note,
                                key_id=principal.key_id))
            record = session.get(Scan, scan_id)
            assert record is not None
            record.status = "reviewed"
        return self.scan_dict(scan_id)

    def training_export(self, principal: Principal) -> bytes:
        """A COCO zip of every scan with a verdict, labelled by its latest; each image's
        ``verdicts`` holds the whole history (provenance)."""
        require_role(principal, "engineer")
        scans, names = self._verdict_scans()
        examples = (Example(f"{record.id}.png", self._decode_stored(record).rgb,
                            history[-1].decision,
                            verdict_labels(history[-1].decision, history[-1].labels,
                                           (record.result or {}).get("detections", [])),
                            tuple(verdict_to_dict(v, names) for v in history))
                    for record, history in scans)
        return coco_zip(examples, self._classes())

    def _classes(self) -> tuple[str, ...]:
        """The contract's classes, and those the active model appends after them."""
        detector = self.batcher.detector
        return detector.card.classes if detector is not None else CLASSES

    def _verdict_scans(self) -> tuple[list[tuple[Scan, list[Verdict]]], dict[int, str]]:
        """Each scan that has verdicts with all of them, oldest first; the operators' names."""
        with self.sessions() as session:
            history = _by_scan(session.scalars(select(Verdict).order_by(Verdict.id)).all())
            records = session.scalars(select(Scan).where(Scan.id.in_(list(history)))).all()
            names = _key_names(session, [v for kept in history.values() for v in kept])
        return [(r, history[r.id]) for r in sorted(records, key=lambda r: r.created_at)], names


def _verdicts_of(session: Any, scan_id: str) -> Sequence[Verdict]:
    """A scan's verdicts, oldest first."""
    return session.scalars(select(Verdict).where(Verdict.scan_id == scan_id)
                           .order_by(Verdict.id)).all()


def _by_scan(verdicts: Sequence[Verdict]) -> dict[str, list[Verdict]]:
    """Verdicts grouped by scan, each group in the order given."""
    grouped: dict[str, list[Verdict]] = {}
    for verdict in verdicts:
        grouped.setdefault(verdict.scan_id, []).append(verdict)
    return grouped


def _key_names(session: Any, verdicts: Sequence[Verdict]) -> dict[int, str]:
    """The names of the keys that recorded ``verdicts`` (the operators), by key id."""
    ids = {v.key_id for v in verdicts}
    if not ids:
        return {}
    return dict(session.execute(select(ApiKey.id, ApiKey.name).where(ApiKey.id.in_(ids))).all())


def scan_to_dict(record: Scan, verdict: Verdict | None,
                 operators: dict[int, str] | None = None, verdict_count: int = 0
                 ) -> dict[str, Any]:
    """The contract's scan JSON; ``verdict`` is the latest of ``verdict_count``."""
    result = record.result or {}
    return {
        "id": record.id, "status": record.status, "scanner_id": record.scanner_id,
        "created_at": _iso(record.created_at),
        "image": {"width": record.width, "height": record.height},
        "detections": result.get("detections", []), "risk": result.get("risk"),
        "model": result.get("model"), "timings_ms": result.get("timings_ms", {}),
        "manifest": record.manifest, "error": record.error,
        "verdict": None if verdict is None else verdict_to_dict(verdict, operators),
        "verdict_count": verdict_count,
    }


def verdict_to_dict(verdict: Verdict, operators: dict[int, str] | None = None
                    ) -> dict[str, Any]:
    """One verdict's JSON: what was decided, by which key (``operators``: names by key id)
    and when."""
    return {"decision": verdict.decision, "labels": verdict.labels, "note": verdict.note,
            "created_at": _iso(verdict.created_at),
            "operator": {"key_id": verdict.key_id,
                         "name": (operators or {}).get(verdict.key_id, "")}}


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def _utf8(value: str | None) -> bytes | None:
    return None if value is None else value.encode("utf-8")


def parse_manifest_text(text_value: str | None) -> Any:
    """The manifest form field: JSON text to a Manifest (422 for broken JSON or bad fields)."""
    if text_value is None or not text_value.strip():
        return None
    try:
        data = json.loads(text_value)
    except json.JSONDecodeError as error:
        raise ManifestJsonError(f"manifest is not valid JSON: {error.msg} at line "
                                f"{error.lineno} column {error.colno}") from None
    return parse_manifest_data(data)


def parse_manifest_data(data: Any) -> Any:
    return None if data is None else parse_manifest(data)


# A cursor is the position after which the next page starts: the last scan's risk score (the
# 16 hex digits of its IEEE 754 bits, so the order is kept exactly) and its id. Opaque to
# clients, but every string of this shape is a position, so the schema can say exactly what the
# service accepts (issue 21: a vendor's generated client must never send a "valid" cursor that
# is refused).
CURSOR_PATTERN = r"^[0-9a-f]{48}$"


def encode_cursor(score: float, scan_id: str) -> str:
    """The cursor of the position after the scan ``scan_id`` of risk ``score``."""
    if not re.fullmatch(r"[0-9a-f]{32}", scan_id):
        raise ValueError(f"scan id {scan_id!r} is not 32 hex digits; a cursor cannot hold it")
    return struct.pack(">d", score).hex() + scan_id


def decode_cursor(cursor: str) -> tuple[float, str]:
    """The position a cursor names. Any string of :data:`CURSOR_PATTERN`'s shape is one: a
    score that is not a number sorts after every scan (an empty page)."""
    if not re.fullmatch(CURSOR_PATTERN, cursor):
        raise BadRequestError("cursor is not one this service issued (48 hex digits); pass "
                              "'next_cursor' from the previous page")
    (score,) = struct.unpack(">d", bytes.fromhex(cursor[:16]))
    return (-math.inf if math.isnan(score) else score), cursor[16:]
