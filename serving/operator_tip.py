"""Threat image projection (TIP) for operator training, inside the operator viewer's loop.

Security screeners keep their eye sharp by meeting threats they do not expect: an admin switches
TIP on with a rate, and then each scan an operator opens is, with that probability, served with a
fictional threat projected into it (:func:`xscreen.datasets.tip.project_random`, the same
multiplicative projection training uses). Nothing in the API's answers tells a projected image
from a real one before the verdict: the scan JSON, the queue and the image's headers are the same.

The operator's verdict on a projected image is scored, not stored: a *hit* when the threat was
confirmed or a drawn box overlaps a projected box (IoU at least :data:`MIN_IOU`), else a *miss*.
It is kept in ``tip_presentations`` with the operator and the time, never as a
:class:`~xscreen.serving.store.Verdict`, so it feeds neither the party history (seizures) nor the
training export. After it the same operator sees the real scan and gives it its real verdict.

A presentation is decided once per operator and scan (and remembered, projected or not), so
reopening a scan never changes what it shows. Only ``operator`` keys are tested; admins,
engineers and scanners always see the real image.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import cv2
import numpy as np
from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError

from xscreen.models.boxes import box_iou
from xscreen.serving.errors import InvalidFieldError
from xscreen.serving.roles import Principal
from xscreen.serving.scans import iso_utc
from xscreen.serving.service import ScreeningService
from xscreen.serving.store import ApiKey, Scan, ServiceSetting, TipPresentation, utcnow

log = logging.getLogger("xscreen.serving")
SETTING = "tip"
MIN_IOU = 0.1          # a drawn box this close to a projected one found it
DEFAULT_RATE = 0.03    # about one scan in thirty, a common rate on real consoles
NOUNS = {"firearm": "firearm", "narcotics": "narcotics package", "gold": "gold object",
         "counterfeit": "counterfeit item"}


@dataclass(frozen=True)
class TipState:
    """The admin's TIP setting."""

    enabled: bool
    rate: float
    updated_at: datetime | None = None
    updated_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"enabled": self.enabled, "rate": self.rate,
                "updated_at": iso_utc(self.updated_at), "updated_by": self.updated_by}


class TipTraining:
    """TIP over the service's database and blob store (cheap to make: it holds no state)."""

    def __init__(self, service: ScreeningService) -> None:
        self.service = service
        self.sessions = service.sessions

    # -- the admin's switch ---------------------------------------------------------------------
    def state(self) -> TipState:
        with self.sessions() as session:
            row = session.get(ServiceSetting, SETTING)
            if row is None:
                return TipState(False, DEFAULT_RATE)
            who = session.get(ApiKey, row.updated_by) if row.updated_by is not None else None
        return TipState(bool(row.value.get("enabled")), float(row.value.get("rate", 0.0)),
                        row.updated_at, who.name if who is not None else None)

    def settings(self, principal: Principal) -> dict[str, Any]:
        """The setting (role admin: checked by the route)."""
        return self.state().to_dict()

    def update(self, enabled: bool, rate: float, principal: Principal) -> dict[str, Any]:
        """Switch TIP on or off and set its rate (0 < rate <= 1; role admin: checked by the
        route)."""
        if not 0.0 < rate <= 1.0:
            raise InvalidFieldError(f"rate must be above 0 and at most 1, got {rate}")
        with self.sessions.begin() as session:
            row = session.get(ServiceSetting, SETTING)
            if row is None:
                row = ServiceSetting(name=SETTING, value={})
                session.add(row)
            row.value = {"enabled": enabled, "rate": rate}
            row.updated_by, row.updated_at = principal.key_id, utcnow()
        log.info("TIP %s at rate %.3f", "on" if enabled else "off", rate)
        if enabled:     # load the threat library now, not on an operator's first projection
            threading.Thread(target=_warm_up, daemon=True, name="xscreen-tip-warm-up").start()
        return self.state().to_dict()

    # -- presenting -----------------------------------------------------------------------------
    def presented_png(self, scan_id: str, principal: Principal, annotated: bool) -> bytes | None:
        """The projected image this operator is to judge, or None: show the real scan."""
        if principal.role != "operator":
            return None
        presentation = self._open_presentation(scan_id, principal)
        if presentation is None:
            presentation = self._roll(scan_id, principal)
        if presentation is None or not presentation.projected or presentation.result is not None:
            return None
        assert presentation.blob is not None
        png = self.service.blobs.get(presentation.blob)
        if not annotated:
            return png
        return _annotated(png, self.service.scans.scan_dict(scan_id)["detections"])

    def _open_presentation(self, scan_id: str, principal: Principal) -> TipPresentation | None:
        with self.sessions() as session:
            return session.scalar(select(TipPresentation).where(
                TipPresentation.key_id == principal.key_id, TipPresentation.scan_id == scan_id))

    def _roll(self, scan_id: str, principal: Principal) -> TipPresentation | None:
        """Decide, once, whether this operator gets a projected threat in this scan: only for
        scans awaiting a verdict, only while TIP is on."""
        state = self.state()
        if not state.enabled:
            return None
        with self.sessions() as session:
            record = session.get(Scan, scan_id)
        if record is None or record.status != "screened":
            return None
        rng = np.random.default_rng()
        row = TipPresentation(scan_id=scan_id, key_id=principal.key_id, projected=False)
        projected = self._project(scan_id, principal, rng) if rng.random() < state.rate else None
        if projected is not None:
            row.projected = True
            row.blob, row.label, row.boxes = projected
        try:
            with self.sessions.begin() as session:
                session.add(row)
        except IntegrityError:    # a concurrent request of the same operator rolled first
            return self._open_presentation(scan_id, principal)
        return row

    def _project(self, scan_id: str, principal: Principal, rng: np.random.Generator
                 ) -> tuple[str, str, list[list[float]]] | None:
        """Project a random fictional threat into the real rendering and store it as a blob;
        None when no part of the threat ended up visible (no fair test)."""
        from xscreen.datasets.tip import project_random

        png = self.service.renderings.image_png(scan_id, principal, annotated=False)
        rgb = _decode_png(png)
        # As training does: a scan's width spans about 0.6-1.5 m, so threats come at real sizes.
        pitch_mm = float(rng.uniform(0.6, 1.5)) * 1000.0 / max(rgb.shape[1], 1)
        projection = project_random(rgb, rng, pitch_mm=pitch_mm)
        if not projection.annotations:
            return None
        boxes = [[float(x), float(y), float(x + w), float(y + h)]
                 for x, y, w, h in (a.box for a in projection.annotations)]
        label = projection.annotations[0].label
        ok, encoded = cv2.imencode(".png", cv2.cvtColor(projection.image, cv2.COLOR_RGB2BGR))
        assert ok
        return self.service.blobs.put(encoded.tobytes()), label, boxes

    # -- scoring --------------------------------------------------------------------------------
    def score_verdict(self, scan_id: str, decision: str, labels: list[dict[str, Any]] | None,
                      principal: Principal, viewed_with_key: int | None = None
                      ) -> dict[str, Any] | None:
        """Score a verdict given on a projected image (and close the presentation); None when
        the operator judged the real scan, whose verdict the service then stores.

        ``viewed_with_key``: the key the image was shown to, when another key sends the verdict
        (the viewer keeps a verdict over a new sign-in): what that key saw decides, and the
        score is that key's."""
        # the same check as a real verdict's, so that a bad label gives nothing away either
        classes = self.service.models.classes()     # the serving model card's
        for label in labels or []:
            if label.get("label") not in classes:
                raise InvalidFieldError(f"label {label.get('label')!r} is not one of "
                                        f"{', '.join(classes)}")
        with self.sessions.begin() as session:
            row = session.scalar(select(TipPresentation).where(
                TipPresentation.key_id == (viewed_with_key or principal.key_id),
                TipPresentation.scan_id == scan_id,
                TipPresentation.projected.is_(True), TipPresentation.result.is_(None))
                .with_for_update())
            if row is None:
                return None
            projected = row.boxes or []
            hit = decision == "threat_confirmed" or any(
                (box_iou(label["box"], projected) >= MIN_IOU).any() for label in labels or [])
            row.decision, row.labels = decision, labels
            row.result, row.decided_at = ("hit" if hit else "miss"), utcnow()
            outcome = {"result": row.result, "label": row.label or "", "boxes": projected}
        noun = f"a fictional {NOUNS.get(outcome['label'], outcome['label'])}"
        outcome["message"] = (
            f"Training test (TIP): {noun} was projected into this image and you found it. "
            if hit else
            f"Training test (TIP): {noun} was projected into this image and was missed. ") + \
            "Nothing was recorded against the parcel; now give the real scan its verdict."
        return outcome

    # -- results --------------------------------------------------------------------------------
    def stats(self, principal: Principal) -> dict[str, Any]:
        """Each operator's TIP hit rate (an admin sees everyone, an operator themselves)."""
        hits = func.sum(case((TipPresentation.result == "hit", 1), else_=0))
        query = (select(TipPresentation.key_id, ApiKey.name, func.count(TipPresentation.id),
                        hits, func.max(TipPresentation.decided_at))
                 .join(ApiKey, ApiKey.id == TipPresentation.key_id)
                 .where(TipPresentation.projected.is_(True), TipPresentation.result.is_not(None))
                 .group_by(TipPresentation.key_id, ApiKey.name)
                 .order_by(ApiKey.name, TipPresentation.key_id))
        if principal.role != "admin":
            query = query.where(TipPresentation.key_id == principal.key_id)
        with self.sessions() as session:
            rows = session.execute(query).all()
        return {"operators": [
            {"key_id": key_id, "name": name, "presented": int(count), "hits": int(hit or 0),
             "misses": int(count) - int(hit or 0),
             "hit_rate": round(int(hit or 0) / int(count), 4) if count else None,
             "last_at": iso_utc(last)}
            for key_id, name, count, hit, last in rows]}


def _annotated(png: bytes, detections: list[dict[str, Any]]) -> bytes:
    """The real scan's detection boxes drawn on a projected image (as ``?annotated=true``)."""
    from xscreen.datasets.preview import draw_boxes

    rgb = draw_boxes(_decode_png(png), [d["box"] for d in detections],
                          [d["label"] for d in detections], [d["score"] for d in detections])
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok
    return bytes(encoded.tobytes())


def _warm_up() -> None:
    """One projection into a blank image: imports and caches what the first real one needs."""
    try:
        from xscreen.datasets.objects import mesh_firearms, outlines
        from xscreen.datasets.tip import project_random

        project_random(np.full((256, 256, 3), 255, np.uint8), np.random.default_rng(0))
        mesh_firearms.preload()     # the mesh guns and silhouettes a later projection may draw
        outlines.outlines()
    except Exception:  # a failed warm-up only costs the first projection its speed
        log.exception("TIP warm-up failed")


def _decode_png(png: bytes) -> np.ndarray:
    bgr = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert bgr is not None, "the service's own PNG rendering did not decode"
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
