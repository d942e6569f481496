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


class ModelRef(BaseModel):
    name: str
    version: str


class LabelIn(BaseModel):
    label: str
    box: list[float] = Field(min_length=4, max_length=4,
                             description="[x1, y1, x2, y2] in original pixels")


class VerdictOut(BaseModel):
    decision: str
    labels: list[LabelIn] | None = None
    note: str | None = None
    created_at: str | None = None


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


class ModelOut(BaseModel):
    version: str
    name: str
    sha256: str
    created_at: str
    classes: list[str]
    active: bool


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str


PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {"application/problem+json": {}}}
    for status in (400, 401, 403, 404, 413, 415, 422, 503)}
