"""The scan repository: stored scans (bytes in the blob store, rows in the database), their
results, the review queue and the operators' verdicts, as the contract's JSON.

A scanner key sees only its own scans: every read that takes a :class:`Principal` filters by
it (a filter on the data, not a role check: those are the routes', ``serving/roles.py``).
"""

from __future__ import annotations

import math
import re
import struct
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import SQLAlchemyError

from xscreen.serving import store
from xscreen.serving.blobs import BlobStore
from xscreen.serving.decode import DecodedScan, Upload
from xscreen.serving.errors import (
    BadRequestError,
    IdempotencyKeyReusedError,
    InvalidFieldError,
    NotFoundError,
    database_problem,
)
from xscreen.serving.manifest import Manifest
from xscreen.serving.roles import Principal
from xscreen.serving.store import ApiKey, Scan, ScanParty, Verdict

DECISIONS = ("threat_confirmed", "cleared")
STATUSES = ("accepted", "screened", "reviewed", "failed")
Reviewed = list[tuple[Scan, list[Verdict]]]


class ScanRepository:
    """Scans, results and verdicts over one database and blob store."""

    def __init__(self, sessions: Any, blobs: BlobStore, classes: Callable[[], tuple[str, ...]],
                 forget_blobs: Callable[[list[str]], None] | None = None) -> None:
        self.sessions = sessions
        self.blobs = blobs
        self._classes = classes                 # the active model card's, for verdict labels
        self._forget_blobs = forget_blobs       # blobs a failed insert left behind

    # -- storing and screening -------------------------------------------------------------
    def store(self, upload: Upload, scan: DecodedScan, manifest: Manifest | None,
              scanner_id: str | None, idempotency_key: str | None, principal: Principal,
              fingerprint: str | None = None) -> str:
        """Bytes to the blob store (fsynced), then the record (committed): durable before 201."""
        primary = upload.image if upload.image is not None else upload.high
        assert primary is not None
        blob, new = self.blobs.put_new(primary)
        blob_low, new_low = (self.blobs.put_new(upload.low) if upload.image is None and upload.low
                             else (None, False))
        scan_id = uuid.uuid4().hex
        meta = {k: v for k, v in scan.meta.items() if isinstance(v, str | int | float)}
        try:
            with self.sessions.begin() as session:
                session.add(Scan(id=scan_id, owner_key_id=principal.key_id,
                                 scanner_id=scanner_id, idempotency_key=idempotency_key,
                                 request_sha256=fingerprint, status="accepted",
                                 kind="image" if blob_low is None else "pair", blob=blob,
                                 blob_low=blob_low, width=scan.width, height=scan.height,
                                 manifest=manifest.to_dict() if manifest is not None else None,
                                 meta=meta))
        except SQLAlchemyError as error:
            if database_problem(error) is not None and self._forget_blobs is not None:
                # down or full: no row, so no orphan blob
                self._forget_blobs([d for d, made in ((blob, new), (blob_low, new_low))
                                    if made and d])
            raise
        return scan_id

    def by_idempotency(self, key_id: int, idempotency_key: str,
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

    def stored_upload(self, record: Scan) -> Upload:
        """The bytes a stored scan was sent as."""
        if record.kind == "pair" and record.blob_low:
            return Upload(high=self.blobs.get(record.blob), low=self.blobs.get(record.blob_low))
        return Upload(image=self.blobs.get(record.blob))

    def save_result(self, scan_id: str, result: dict[str, Any], risk_score: float,
                    party_keys: Iterable[str]) -> bool:
        """Write a screening result (``detections``, ``risk``, ``model``, ``timings_ms``) over
        an ``accepted`` scan, and the parties it names; False when it was screened already."""
        with self.sessions.begin() as session:
            # locked while written: another process screening it too writes nothing
            record = session.get(Scan, scan_id, with_for_update=True)
            assert record is not None
            if record.status != "accepted":
                return False
            # party keys join the history with the result, so a parcel never counts as its past
            session.add_all([ScanParty(scan_id=scan_id, key=key) for key in party_keys])
            record.result, record.status = result, "screened"
            record.risk_score = risk_score
            record.screened_at = store.utcnow()
        return True

    def mark_failed(self, scan_id: str, problem: str) -> None:
        """A stored scan that cannot be screened (its bytes no longer decode): ``failed``,
        with the reason."""
        with self.sessions.begin() as session:
            record = session.get(Scan, scan_id)
            if record is not None:
                record.status, record.error = "failed", problem

    # -- reading ----------------------------------------------------------------------------
    def visible(self, scan_id: str, principal: Principal) -> Scan:
        """The scan row, or NotFoundError when unknown or another scanner's."""
        with self.sessions() as session:
            record = session.get(Scan, scan_id)
        if record is None or (principal.role == "scanner"
                              and record.owner_key_id != principal.key_id):
            raise NotFoundError(f"no scan {scan_id!r} (or it is not yours)")
        return record

    def get(self, scan_id: str, principal: Principal) -> dict[str, Any]:
        """The contract's scan JSON of a scan this caller may see."""
        self.visible(scan_id, principal)
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

    def queue(self, principal: Principal, status: str | None, min_risk: float | None,
              limit: int, cursor: str | None) -> dict[str, Any]:
        """Scans by risk, highest first (keyset-paginated: ``next_cursor`` continues); a scanner
        sees only its own."""
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
        more = len(records) > limit
        return {"items": self._dicts(page),
                "next_cursor": encode_cursor(page[-1].risk_score, page[-1].id) if more else None}

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

    # -- verdicts ---------------------------------------------------------------------------
    def verdict(self, scan_id: str, decision: str, labels: list[dict[str, Any]] | None,
                note: str | None, principal: Principal) -> dict[str, Any]:
        """Record an operator's decision (and corrected labels) on a scan. A later verdict
        becomes the scan's state; the earlier ones stay in its history (never overwritten)."""
        if decision not in DECISIONS:
            raise InvalidFieldError(f"decision must be one of {', '.join(DECISIONS)}, "
                                    f"got {decision!r}")
        classes = self._classes()
        for label in labels or []:
            if label.get("label") not in classes:
                raise InvalidFieldError(f"label {label.get('label')!r} is not one of "
                                        f"{', '.join(classes)}")
        self.visible(scan_id, principal)
        with self.sessions.begin() as session:
            session.add(Verdict(scan_id=scan_id, decision=decision, labels=labels, note=note,
                                key_id=principal.key_id))
            record = session.get(Scan, scan_id)
            assert record is not None
            record.status = "reviewed"
        return self.scan_dict(scan_id)

    def verdict_history(self, scan_id: str, principal: Principal) -> list[dict[str, Any]]:
        """Every verdict on a scan, oldest first: who, when, what. The last is the scan's
        state; none is ever replaced or deleted."""
        self.visible(scan_id, principal)
        with self.sessions() as session:
            verdicts = _verdicts_of(session, scan_id)
            names = _key_names(session, verdicts)
        return [verdict_to_dict(v, names) for v in verdicts]

    def reviewed(self) -> tuple[Reviewed, dict[int, str]]:
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
        "created_at": iso_utc(record.created_at),
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
            "created_at": iso_utc(verdict.created_at),
            "operator": {"key_id": verdict.key_id,
                         "name": (operators or {}).get(verdict.key_id, "")}}


def iso_utc(moment: datetime | None) -> str | None:
    """A stored time as ISO 8601, UTC (SQLite gives back naive times, stored in UTC)."""
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


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
