"""The screening use case: a submitted scan is stored, screened through the pipeline
(``serving/pipeline.py``) on the micro-batcher, and its result written; ``/v1/detect`` screens
without storing. Idempotent retries, overload and the claim that keeps one scan from being
screened twice at once are handled here; the steps themselves are the pipeline's.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

from sqlalchemy.exc import IntegrityError

from xscreen.serving import store
from xscreen.serving.batching import MicroBatcher
from xscreen.serving.decode import DecodedScan, DecodeLimits, Upload, decode_upload
from xscreen.serving.manifest import Manifest, parse_manifest_data, parse_manifest_text
from xscreen.serving.metrics import Metrics
from xscreen.serving.pipeline import screen
from xscreen.serving.risk import PartyHistory, RiskConfig, party_keys
from xscreen.serving.roles import Principal
from xscreen.serving.scans import ScanRepository


class Screening:
    """Submit (store, then screen) and detect (screen only), through the one pipeline."""

    def __init__(self, scans: ScanRepository, batcher: MicroBatcher, history: PartyHistory,
                 risk_config: RiskConfig, limits: DecodeLimits, metrics: Metrics,
                 claims: Any) -> None:
        self.scans = scans
        self.batcher = batcher
        self.history = history
        self.risk_config = risk_config
        self.limits = limits
        self.metrics = metrics
        self.claims = claims       # serving/recovery.py's ScreeningClaims: one screening a scan

    def submit(self, upload: Upload, manifest_text: str | None, scanner_id: str | None,
               idempotency_key: str | None, principal: Principal) -> tuple[dict[str, Any], bool]:
        """Store and screen a scan; returns the scan and whether it is new (False: a retry with
        the same Idempotency-Key)."""
        fingerprint = store.request_fingerprint(
            [("image", upload.image), ("high", upload.high), ("low", upload.low),
             ("manifest", _utf8(manifest_text)), ("scanner_id", _utf8(scanner_id))])
        if idempotency_key:
            existing = self.scans.by_idempotency(principal.key_id, idempotency_key, fingerprint)
            if existing is not None:
                return self._finish(existing), False
        manifest = parse_manifest_text(manifest_text)
        stored: list[str] = []
        # a place in the inference queue before anything is stored: a scan refused for overload
        # (503) was never kept, and one that got 201 was screened too
        with self.batcher.admitted(), ExitStack() as claimed:

            def keep(scan: DecodedScan) -> None:   # decoded, so good input: durable before 201
                stored.append(self.scans.store(upload, scan, manifest, scanner_id,
                                               idempotency_key, principal, fingerprint))
                claimed.enter_context(self.claims.hold(stored[0]))   # held until it is saved

            try:
                result = screen(upload, self.batcher, manifest=manifest, history=self.history,
                                risk_config=self.risk_config, limits=self.limits,
                                on_decoded=keep)
            except IntegrityError:      # the same Idempotency-Key stored by a concurrent retry
                existing = None if stored else self.scans.by_idempotency(
                    principal.key_id, idempotency_key or "", fingerprint)
                if existing is None:
                    raise
                return existing, False
            self._save(stored[0], result.to_dict(), manifest)
        return self.scans.scan_dict(stored[0]), True

    def detect(self, upload: Upload) -> dict[str, Any]:
        """Detections only: nothing is stored and no risk is assessed."""
        with self.batcher.admitted():
            result = screen(upload, self.batcher, assess_risk=False, limits=self.limits)
        return result.to_dict()

    def screen_stored(self, scan_id: str, scan: DecodedScan, manifest: Manifest | None) -> bool:
        """Screen a stored scan and write its result, unless another thread or replica screens
        it now or has screened it (a retry, the recovery sweep): one screening of a scan at a
        time. True when it was screened here."""
        with self.claims.hold(scan_id, stored=True) as mine:
            if mine:
                result = screen(scan, self.batcher, manifest=manifest, history=self.history,
                                risk_config=self.risk_config, limits=self.limits)
                self._save(scan_id, result.to_dict(), manifest)
        return bool(mine)

    def _save(self, scan_id: str, body: dict[str, Any], manifest: Manifest | None) -> None:
        stored = {key: body[key] for key in ("detections", "risk", "model", "timings_ms")}
        keys = sorted(set(party_keys(manifest))) if manifest is not None else []
        if self.scans.save_result(scan_id, stored, float(body["risk"]["score"]), keys):
            self.metrics.screened.inc()

    def _finish(self, scan: dict[str, Any]) -> dict[str, Any]:
        """A retried scan that was stored but never screened (the first try failed or the
        process stopped) is screened now."""
        if scan["status"] != "accepted" or self.batcher.detector is None:
            return scan
        with self.scans.sessions() as session:
            record = session.get(store.Scan, scan["id"])
        assert record is not None
        with self.batcher.admitted():   # overloaded: 503, and the next retry screens it
            self.screen_stored(record.id, self.decode_stored(record),
                               parse_manifest_data(record.manifest))
        return self.scans.scan_dict(record.id)

    def decode_stored(self, record: store.Scan) -> DecodedScan:
        """A stored scan decoded again from its bytes, as it was when submitted."""
        return decode_upload(self.scans.stored_upload(record), self.limits)


def _utf8(value: str | None) -> bytes | None:
    return None if value is None else value.encode("utf-8")
