"""Pydantic shapes of the API's JSON, so that OpenAPI describes every response (vendors generate
clients from it)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class ImageSize(BaseModel):
    width: int
    height: int


class DetectionOut(BaseModel):
    label: str
    score: float
    box: list[float] = Field(description="[x1, y1, x2, y2] in original pixels")


class FactorOut(BaseModel):
    name: str
    points: float
    detail: str


class RiskOut(BaseModel):
    model_config = {"extra": "allow"}
    score: float = Field(ge=0, le=100)
    level: Literal["low", "medium", "high"]
    action: Literal["release", "review", "inspect"]
    factors: list[FactorOut]
    # absent from scans screened before these were added
    points: float | None = Field(default=None, description="the factors' points, summed")
    saturation_points: float | None = Field(
        default=None, description="score = 100 * (1 - exp(-points / saturation_points))")
    explanation: str | None = Field(default=None,
                                    description="how the score comes from the points, in words")
    leading_finding: DetectionOut | None = Field(
        default=None, description="the detection that drives the risk: of the most serious "
                                  "class seen (the risk's class severity), the most confident")


class ModelRef(BaseModel):
    name: str
    version: str


class LabelIn(BaseModel):
    label: str
    box: list[float] = Field(min_length=4, max_length=4,
                             description="[x1, y1, x2, y2] in original pixels")


class OperatorRef(BaseModel):
    key_id: int
    name: str = Field(description="the name of the API key that recorded the verdict")


class VerdictOut(BaseModel):
    decision: str
    labels: list[LabelIn] | None = None
    note: str | None = None
    created_at: str | None = None
    operator: OperatorRef | None = None


class ScanOut(BaseModel):
    id: str
    status: Literal["accepted", "screened", "reviewed", "failed"]
    scanner_id: str | None = None
    created_at: str | None = None
    image: ImageSize
    detections: list[DetectionOut]
    risk: RiskOut | None = None
    model: ModelRef | None = None
    timings_ms: dict[str, float]
    manifest: dict[str, Any] | None = None
    error: str | None = None
    verdict: VerdictOut | None = None


class DetectOut(BaseModel):
    image: ImageSize
    detections: list[DetectionOut]
    model: ModelRef
    timings_ms: dict[str, float]


class ScanPage(BaseModel):
    items: list[ScanOut]
    next_cursor: str | None = None


class VerdictIn(BaseModel):
    model_config = {"extra": "forbid"}
    decision: Literal["threat_confirmed", "cleared"]
    labels: list[LabelIn] | None = None
    note: str | None = Field(default=None, max_length=5000)
    viewed_with_key: int | None = Field(
        default=None, description="the key id (GET /v1/me) under which the operator looked at "
        "the image, when another key sends the verdict (a verdict kept over a new sign-in): a "
        "training projection shown to that key is scored, never stored as a real verdict")


class TipOutcome(BaseModel):
    """The score of a verdict given on a threat image projection (operator training)."""

    result: Literal["hit", "miss"]
    label: str = Field(description="the class of the projected fictional threat")
    boxes: list[list[float]] = Field(description="where it was projected, [x1, y1, x2, y2]")
    message: str


class VerdictResult(ScanOut):
    """The scan after a verdict. ``tip`` is set only when the image the operator judged held a
    projected fictional threat (training): then the verdict was scored, not stored, and the
    scan still awaits its real verdict."""

    tip: TipOutcome | None = None


class MeOut(BaseModel):
    key_id: int
    name: str
    role: Literal["scanner", "operator", "engineer", "admin"]


class TipSettings(BaseModel):
    model_config = {"extra": "forbid"}
    enabled: bool
    rate: float = Field(gt=0, le=1, description="share of the scans an operator opens that "
                                                 "get a projected threat, e.g. 0.03")


class TipSettingsOut(TipSettings):
    updated_at: str | None = None
    updated_by: str | None = None


class TipOperatorStats(BaseModel):
    key_id: int
    name: str
    presented: int = Field(description="projected threats judged")
    hits: int
    misses: int
    hit_rate: float | None = Field(description="hits / presented; null before the first")
    last_at: str | None = None


class TipStatsOut(BaseModel):
    operators: list[TipOperatorStats]


class ModelOut(BaseModel):
    version: str
    name: str
    sha256: str
    created_at: str
    classes: list[str]
    active: bool
    parent: str | None = None      # the version it was fine-tuned from (its card's lineage)
    gate: str | None = None        # its gate verdict: better, worse, mixed or unchanged


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str


PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {"application/problem+json": {}}}
    for status in (400, 401, 403, 404, 413, 415, 422, 503)}
