"""Pydantic shapes of the API's JSON, so that OpenAPI describes every response (vendors generate
clients from it)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, StrictBool


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
    verdict: VerdictOut | None = Field(
        default=None, description="the latest verdict: the scan's state (GET "
        "/v1/scans/{id}/verdicts has every one)")
    verdict_count: int = Field(default=0, description="how many verdicts the scan has had; "
                               "none is ever replaced")


class VerdictHistoryOut(BaseModel):
    scan_id: str
    verdicts: list[VerdictOut] = Field(description="every verdict on the scan, oldest first; "
                                       "the last is the scan's state")


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
    # strict: 0 or "yes" is not a boolean in the schema, so not here either
    enabled: StrictBool
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


PROBLEM: dict[str, Any] = {"model": Problem, "content": {"application/problem+json": {}}}
RETRY_AFTER = {"Retry-After": {
    "description": "seconds to wait before retrying: sent when the inference queue is full "
                   "(XSCREEN_MAX_QUEUE); nothing of the request was stored",
    "schema": {"type": "integer", "minimum": 1}}}
PROBLEMS: dict[int | str, dict[str, Any]] = {
    **{status: PROBLEM for status in (400, 401, 403, 404, 413, 415, 422)},
    503: {**PROBLEM, "headers": RETRY_AFTER,
          "description": "cannot answer now: no model loaded, the database unreachable, or "
                         "the inference queue full (then with Retry-After)"}}
# on the routes that write files (scans, model bundles): the disk is full, nothing was stored
STORAGE_FULL: dict[int | str, dict[str, Any]] = {507: {
    **PROBLEM, "description": "the service's storage is full; nothing was stored"}}


# -- what FastAPI cannot say from the endpoints' signatures ----------------------------------

SCAN_PARTS_RULE = ("Send the file part `image`, or both `high` and `low` (raw 16-bit "
                   "dual-energy channels), never `image` with either: any other combination is "
                   "refused with 400. A part that is empty is refused with 400; bytes that are "
                   "not an image the service reads with 415 (unknown format) or 422 (broken).")
MODEL_PARTS_RULE = ("A model bundle as two file parts, both required: `model` (model.onnx) and "
                    "`card` (model.json, the model card). The card must be JSON, its `sha256` "
                    "that of `model`, and the graph must load: otherwise 422. A version already "
                    "registered is 409.")


def exact_openapi(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` (FastAPI's OpenAPI 3.1 document) made exact where the signatures cannot say it:
    which multipart parts an upload needs (optional file parts are not nullable: a part is sent
    or left out). Changes ``spec`` in place and returns it."""
    for path, extra in (("/v1/scans", ("manifest", "scanner_id")), ("/v1/detect", ())):
        body, form = _multipart(spec, path)
        body.update(required=True, description=SCAN_PARTS_RULE)
        form.update(_scan_parts(form["properties"], extra))
    body, form = _multipart(spec, "/v1/models")
    body["description"] = MODEL_PARTS_RULE
    for name in ("model", "card"):
        form["properties"][name].update(minLength=1)
    form["properties"]["card"]["contentMediaType"] = "application/json"
    return spec


def _multipart(spec: dict[str, Any], path: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The POST operation's request body and the schema of its multipart form."""
    body: dict[str, Any] = spec["paths"][path]["post"]["requestBody"]
    reference = body["content"]["multipart/form-data"]["schema"]["$ref"]
    form: dict[str, Any] = spec["components"]["schemas"][reference.rsplit("/", 1)[-1]]
    return body, form


def _scan_parts(properties: dict[str, Any], extra: tuple[str, ...]) -> dict[str, Any]:
    """The form of a scan upload: ``image`` or ``high`` + ``low``, never both (JSON Schema
    ``oneOf``), each a non-empty file; ``extra`` fields plain optional strings."""
    exact: dict[str, Any] = {}
    for name in ("image", "high", "low"):
        exact[name] = {"type": "string", "contentMediaType": "application/octet-stream",
                       "minLength": 1, "description": properties[name].get("description", "")}
    if "manifest" in extra:
        exact["manifest"] = {"type": "string", "contentMediaType": "application/json",
                             "contentSchema": {"type": "object"},
                             "description": properties["manifest"].get("description", "")}
    if "scanner_id" in extra:
        exact["scanner_id"] = {"type": "string", "maxLength": 200}
    single = {"required": ["image"], "not": {"anyOf": [{"required": ["high"]},
                                                       {"required": ["low"]}]}}
    pair = {"required": ["high", "low"], "not": {"required": ["image"]}}
    return {"properties": exact, "oneOf": [single, pair], "description": SCAN_PARTS_RULE}
