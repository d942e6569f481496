"""The screening pipeline in one straight line, with no web framework in it (STYLE principle 2):

``bytes -> decode -> letterbox + ONNX Runtime -> detections in original pixels -> risk -> result``

:func:`screen` is the one function every entry point calls: ``POST /v1/scans`` and
``POST /v1/detect`` (through ``serving/screening.py``) and ``xscreen detect``
(``models/detect_cli.py``). The steps are ``serving/decode.py`` (the one decoder, on bytes),
``Infer.infer`` (the micro-batcher in the service, :class:`~xscreen.serving.batching.DirectInfer`
in the CLI: both letterbox with ``models/preprocess.py`` and run ``models/runtime.py``'s session),
:func:`detections_of` and ``serving/risk``.

A detection is one type from the session's output to the response: the frozen
:class:`~xscreen.serving.risk.Finding` (label, score, box in original pixels), which the risk
engine scores and :meth:`ScreeningResult.to_dict` writes as the contract's JSON.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import numpy as np

from xscreen.models.runtime import Detections
from xscreen.serving import risk as risk_engine
from xscreen.serving.batching import ModelResult
from xscreen.serving.decode import DEFAULT_LIMITS, DecodedScan, DecodeLimits, Upload, decode_upload
from xscreen.serving.manifest import Manifest
from xscreen.serving.manifest import parse_manifest as parse_manifest_data
from xscreen.serving.risk import Finding, RiskAssessment

__all__ = ["Finding", "Infer", "ScreeningResult", "Upload", "decode_upload", "detection_json",
           "detections_of", "parse_manifest", "screen"]

T = TypeVar("T")


class Infer(Protocol):
    """Anything that turns one RGB image into a :class:`ModelResult` (a batcher, a detector)."""

    def infer(self, image: np.ndarray) -> ModelResult: ...


@dataclass(frozen=True)
class ScreeningResult:
    """What screening one scan produced: the decoded ``scan``, its detections, the risk (None
    when not asked for), the model that ran and how long each step took."""

    scan: DecodedScan = field(repr=False)
    detections: tuple[Finding, ...]
    risk: RiskAssessment | None
    model: dict[str, str]
    timings_ms: dict[str, float]

    @property
    def width(self) -> int:
        return self.scan.width

    @property
    def height(self) -> int:
        return self.scan.height

    def to_dict(self) -> dict[str, Any]:
        """The contract's JSON of the result (``risk`` only when it was assessed)."""
        body: dict[str, Any] = {
            "image": {"width": self.width, "height": self.height},
            "detections": [detection_json(found) for found in self.detections],
            "model": dict(self.model), "timings_ms": dict(self.timings_ms)}
        if self.risk is not None:
            body["risk"] = dict(self.risk.to_dict())
        return body


def screen(scan: Upload | DecodedScan, model: Infer, *, manifest: Manifest | None = None,
           history: risk_engine.PartyHistory | None = None,
           risk_config: risk_engine.RiskConfig | None = None, assess_risk: bool = True,
           limits: DecodeLimits = DEFAULT_LIMITS,
           on_decoded: Callable[[DecodedScan], None] | None = None) -> ScreeningResult:
    """Screen one scan: its bytes (or a scan decoded already, e.g. a stored one) through every
    step. ``on_decoded`` runs between decoding and the model: the API stores the scan there, so
    that bad input is refused before anything is kept and a stored scan is durable before it is
    screened. Without ``assess_risk`` the result has detections only (``POST /v1/detect``)."""
    timings: dict[str, float] = {}
    decoded = scan if isinstance(scan, DecodedScan) else \
        _timed(timings, "decode", lambda: decode_upload(scan, limits))
    if on_decoded is not None:
        on_decoded(decoded)
    ran = _timed(timings, "model", lambda: model.infer(decoded.rgb))
    timings.update(queue=round(ran.queue_ms, 2), inference=round(ran.inference_ms, 2))
    detections = detections_of(ran.detections, ran.card.classes)
    assessment = _timed(timings, "risk", lambda: assess(detections, decoded, manifest, history,
                                                        risk_config)) if assess_risk else None
    timings["total"] = round(sum(v for k, v in timings.items()
                                 if k in ("decode", "model", "risk")), 2)
    return ScreeningResult(decoded, detections, assessment,
                           {"name": ran.card.name, "version": ran.card.version}, timings)


def detections_of(found: Detections, classes: Sequence[str]) -> tuple[Finding, ...]:
    """The model's detections (numpy columns, class indices) as named detections, the score
    to 4 decimals and the box to 0.1 pixel: the precision the contract's JSON carries, so that
    risk scores exactly what the response shows."""
    return tuple(Finding(classes[int(label)], round(float(score), 4), _box(box))
                 for box, score, label in zip(found.boxes, found.scores, found.labels,
                                              strict=True))


def detection_json(found: Finding) -> dict[str, Any]:
    """One detection as the contract's JSON: ``label``, ``score``, ``box`` [x1, y1, x2, y2]."""
    return {"label": found.label, "score": found.score, "box": list(found.box)}


def assess(detections: Sequence[Finding], scan: DecodedScan, manifest: Manifest | None,
           history: risk_engine.PartyHistory | None,
           risk_config: risk_engine.RiskConfig | None) -> RiskAssessment:
    """The risk of a scan's detections, its own facts (dense areas, mass), the manifest and
    the parties' history."""
    config = risk_config if risk_config is not None else risk_engine.default_risk_config()
    facts = risk_engine.scan_facts(scan.rgb, scan.high, scan.low)
    return risk_engine.risk(list(detections), manifest, history, config, facts)


def parse_manifest(data: Any) -> Manifest | None:
    """A Manifest from parsed JSON (None stays None); bad fields raise ManifestError (422)."""
    return None if data is None else parse_manifest_data(data)


def _box(values: np.ndarray) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = (round(float(v), 1) for v in values)
    return x1, y1, x2, y2


def _timed(timings: dict[str, float], name: str, step: Callable[[], T]) -> T:
    started = time.perf_counter()
    value = step()
    timings[name] = round((time.perf_counter() - started) * 1000, 2)
    return value
