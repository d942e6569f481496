"""The screening pipeline in one straight line, with no web framework in it:

``bytes -> decode -> letterbox -> ONNX Runtime -> detections in original pixels -> risk -> result``.

The API calls :func:`decode_upload` first (to refuse bad input before storing anything) and then
:func:`screen_decoded`; :func:`screen` does both for callers that hold bytes (CLI, benchmarks).
The risk step is ``serving/risk.py`` (issue 5).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import numpy as np

from xscreen.serving import risk as risk_engine
from xscreen.serving.batching import ModelResult
from xscreen.serving.decode import (
    DEFAULT_LIMITS,
    DecodedScan,
    DecodeLimits,
    decode_image,
    decode_pair,
)
from xscreen.serving.errors import BadRequestError
from xscreen.serving.manifest import Manifest
from xscreen.serving.manifest import parse_manifest as parse_manifest_data

T = TypeVar("T")


class Infer(Protocol):
    """Anything that turns one RGB image into a :class:`ModelResult` (a batcher, a detector)."""

    def infer(self, image: np.ndarray) -> ModelResult: ...


@dataclass(frozen=True)
class Upload:
    """The scan's bytes: one ``image``, or a raw dual-energy ``high`` + ``low`` pair."""

    image: bytes | None = None
    high: bytes | None = None
    low: bytes | None = None


@dataclass
class ScreeningResult:
    """What screening one scan produced (the contract's scan fields, less storage ones)."""

    width: int
    height: int
    detections: list[dict[str, Any]]
    risk: dict[str, Any]
    model: dict[str, str]
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"image": {"width": self.width, "height": self.height},
                "detections": self.detections, "risk": self.risk, "model": self.model,
                "timings_ms": self.timings_ms}


def decode_upload(upload: Upload, limits: DecodeLimits = DEFAULT_LIMITS) -> DecodedScan:
    """Decode an upload: exactly one of ``image`` or the ``high`` + ``low`` pair."""
    if upload.image is not None and (upload.high is not None or upload.low is not None):
        raise BadRequestError("send either 'image' or the pair 'high' + 'low', not both")
    if upload.image is not None:
        return decode_image(upload.image, limits)
    if upload.high is None or upload.low is None:
        raise BadRequestError("no scan: send a file part 'image', or both 'high' and 'low' "
                              "(raw 16-bit dual-energy channels)")
    return decode_pair(upload.high, upload.low, limits)


def parse_manifest(data: Any) -> Manifest | None:
    """A Manifest from parsed JSON (None stays None); bad fields raise ManifestError (422)."""
    return None if data is None else parse_manifest_data(data)


def screen_decoded(scan: DecodedScan, manifest: Any, model: Infer, history: Any = None,
                   risk_config: Any = None, timings: dict[str, float] | None = None
                   ) -> ScreeningResult:
    """Detect and score a decoded scan."""
    timings = dict(timings or {})
    result = _timed(timings, "model", lambda: model.infer(scan.rgb))
    timings.update(queue=round(result.queue_ms, 2), inference=round(result.inference_ms, 2))
    classes = result.card.classes
    records = result.detections.to_records(classes)
    assessment = _timed(timings, "risk", lambda: assess(records, manifest, history, risk_config,
                                                        scan))
    timings["total"] = round(sum(v for k, v in timings.items()
                                 if k in ("decode", "model", "risk")), 2)
    return ScreeningResult(scan.width, scan.height, records, assessment,
                           {"name": result.card.name, "version": result.card.version}, timings)


def assess(records: list[dict[str, Any]], manifest: Any, history: Any, risk_config: Any,
           scan: DecodedScan) -> dict[str, Any]:
    """The risk score of detection records plus manifest and party history, as a dict."""
    config = risk_config if risk_config is not None else risk_engine.default_risk_config()
    findings = [risk_engine.Finding(r["label"], float(r["score"]), _box(r["box"]))
                for r in records]
    facts = risk_engine.scan_facts(scan.rgb, scan.high, scan.low)
    assessment = risk_engine.risk(findings, manifest, history, config, facts)
    return dict(assessment.to_dict())


def _box(values: list[float]) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = (float(v) for v in values)
    return x1, y1, x2, y2


def screen(upload: Upload, manifest: Any, model: Infer, history: Any = None,
           risk_config: Any = None, limits: DecodeLimits = DEFAULT_LIMITS) -> ScreeningResult:
    """Decode, detect and score one scan's bytes."""
    timings: dict[str, float] = {}
    scan = _timed(timings, "decode", lambda: decode_upload(upload, limits))
    return screen_decoded(scan, manifest, model, history, risk_config, timings)


def _timed(timings: dict[str, float], name: str, step: Callable[[], T]) -> T:
    started = time.perf_counter()
    value = step()
    timings[name] = round((time.perf_counter() - started) * 1000, 2)
    return value
