"""The HTTP API over an ASGI client with a real ONNX Runtime session and real SQLite: every
endpoint, every role boundary, every input format and the bad inputs."""

from __future__ import annotations

import io
import json
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from conftest import empty_database
from fastapi.testclient import TestClient
from serving_support import (
    assert_problem,
    bearer,
    copy_bundle,
    dicom_without_pixels,
    dicos,
    jpeg_bytes,
    make_settings,
    png_bytes,
    raw_pair,
    real_bundle,
    scan_rgb,
    tiff_bytes,
)

from xscreen.serving import store
from xscreen.serving.app import create_app

pytestmark = pytest.mark.filterwarnings("ignore:Invalid value for VR UI")
PNG = png_bytes(scan_rgb())


class Api:
    """A running app with one key per role (two scanners)."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        service = client.app.state.service  # type: ignore[attr-defined]
        self.service = service
        self.keys = {"admin": client.app.state.first_admin_key}  # type: ignore[attr-defined]
        for role in ("scanner", "operator", "engineer"):
            self.keys[role] = store.create_key(service.sessions, role)
        self.keys["scanner2"] = store.create_key(service.sessions, "scanner", "other")

    def h(self, role: str) -> dict[str, str]:
        return bearer(self.keys[role])

    def submit(self, role: str = "scanner", data: bytes = PNG, name: str = "scan.png",
               manifest: Any = None, headers: dict[str, str] | None = None) -> Any:
        form = {} if manifest is None else {
            "manifest": manifest if isinstance(manifest, str) else json.dumps(manifest)}
        return self.client.post("/v1/scans", headers={**self.h(role), **(headers or {})},
                                files={"image": (name, data, "application/octet-stream")},
                                data=form)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """The service on SQLite, and again on PostgreSQL when XSCREEN_TEST_POSTGRES_URL is set."""
    database_url = empty_database(request.param)
    home = tmp_path_factory.mktemp("home")
    settings = make_settings(home, max_upload_bytes=3_000_000, print_admin_key=True,
                             database_url=database_url)
    with TestClient(create_app(settings)) as client:
        yield Api(client)


# -- ops ------------------------------------------------------------------------------------

def test_health_ready_metrics_docs(api: Api) -> None:
    client = api.client
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["model"] and ready.json()["database"]
    api.submit()
    metrics = client.get("/metrics").text
    for name in ("xscreen_request_seconds", "xscreen_inference_seconds", "xscreen_queue_seconds",
                 "xscreen_batch_size", "xscreen_errors_total"):
        assert name in metrics
    schema = client.get("/openapi.json").json()
    assert {"/v1/scans", "/v1/detect", "/v1/scans/{scan_id}/tdr", "/v1/models",
            "/v1/models/{version}/activate", "/v1/training-export",
            "/v1/scans/{scan_id}/verdict"} <= set(schema["paths"])
    assert "ScanOut" in schema["components"]["schemas"]
    assert client.get("/docs").status_code == 200
    assert client.get("/redoc").status_code == 404        # ReDoc only loads from a CDN: off
    assert "review queue" in client.get("/").text
    assert client.get("/healthz").headers["x-request-id"]


def test_docs_page_names_no_outside_host(api: Api) -> None:
    """/docs works without internet: its page loads Swagger UI from this service only, and the
    service serves those files (tests/viewer/test_docs_offline.py renders it in Chromium)."""
    import re

    page = api.client.get("/docs")
    assert page.status_code == 200 and "SwaggerUIBundle" in page.text
    hosts = set(re.findall(r"https?://([^/'\"\s>]+)", page.text))
    assert hosts <= {"testserver"}, hosts
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    assert any(a.endswith("swagger-ui.css") for a in assets)
    for asset in assets:
        assert asset.startswith("/"), asset
        response = api.client.get(asset)
        assert response.status_code == 200 and len(response.content) > 500, asset


# RFC 9110 15.5.6: a 405 lists in Allow every method the resource has, also where two routes
# share a path (Starlette's own answer names only the first route's)
@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("TRACE", "/v1/scans", "GET, POST"),
    ("DELETE", "/v1/tip/settings", "GET, PUT"),
    ("POST", "/v1/tip/settings", "GET, PUT"),
    ("PUT", "/v1/scans/abc/verdict", "POST"),
    ("OPTIONS", "/healthz", "GET"),
    ("PATCH", "/v1/models", "GET, POST"),
])
def test_405_says_which_methods_are_allowed(api: Api, method: str, path: str,
                                            allowed: str) -> None:
    response = api.client.request(method, path, headers=api.h("admin"))
    assert_problem(response, 405, f"{method} is not allowed")
    assert response.headers["allow"] == allowed
    assert allowed in response.json()["detail"]


def test_scan_risk_explains_how_the_points_make_the_score(api: Api) -> None:
    risk = api.submit(manifest={"description": "gift", "item_count": 1,
                                "declared_value": {"amount": 1, "currency": "USD"}}).json()["risk"]
    assert risk["points"] == pytest.approx(sum(f["points"] for f in risk["factors"]), abs=0.05)
    assert f"{risk['points']:g}" in risk["explanation"] or risk["points"] == 0


def test_not_ready_without_a_model(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, model=tmp_path / "missing")
    with TestClient(create_app(settings)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503 and not ready.json()["model"]
        assert "does not exist" in ready.json()["model_problem"]
        key = store.create_key(client.app.state.service.sessions, "scanner")
        response = client.post("/v1/detect", headers=bearer(key),
                               files={"image": ("a.png", PNG)})
        assert_problem(response, 503, "no model is loaded")


# -- formats --------------------------------------------------------------------------------

HIGH, LOW = raw_pair()


@pytest.mark.parametrize(("name", "data", "size"), [
    ("scan.png", PNG, (160, 96)),
    ("scan.png", jpeg_bytes(scan_rgb()), (160, 96)),           # a JPEG with the wrong extension
    ("scan.tif", tiff_bytes(scan_rgb()), (160, 96)),
    ("scan.tif", tiff_bytes(scan_rgb()[:, :, 0].astype(np.uint16) * 257), (160, 96)),
    ("raw.tif", tiff_bytes(HIGH, LOW), (160, 96)),
    ("a.dcs", dicos("SimpleProcessingDX.dcs"), (256, 128)),
    ("b.dcs", dicos("SimplePresentationDX.dcs"), (256, 128)),
    ("c.dcs", dicos("SimpleColorPaletteDX.dcs"), (256, 128)),
])
def test_every_format_is_screened(api: Api, name: str, data: bytes,
                                  size: tuple[int, int]) -> None:
    response = api.submit(data=data, name=name)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "screened" and body["id"]
    assert (body["image"]["width"], body["image"]["height"]) == size
    assert body["model"] == {"name": "xscreen-tiny", "version": "test-1"}
    assert {"score", "level", "action", "factors"} <= set(body["risk"])
    assert {"decode", "inference", "total"} <= set(body["timings_ms"])
    for detection in body["detections"]:
        x1, y1, x2, y2 = detection["box"]
        assert 0 <= x1 <= x2 <= size[0] and 0 <= y1 <= y2 <= size[1]
    assert response.headers["location"] == f"/v1/scans/{body['id']}"


def test_high_low_pair(api: Api) -> None:
    response = api.client.post("/v1/scans", headers=api.h("scanner"), files={
        "high": ("h.tif", tiff_bytes(HIGH)), "low": ("l.png", png_bytes(LOW))})
    assert response.status_code == 201, response.text
    scan_id = response.json()["id"]
    image = api.client.get(f"/v1/scans/{scan_id}/image", headers=api.h("scanner"))
    rgb = cv2.imdecode(np.frombuffer(image.content, np.uint8), cv2.IMREAD_COLOR)
    assert rgb.shape == (96, 160, 3) and rgb[0, 0].tolist() == [255, 255, 255]


# -- bad inputs -----------------------------------------------------------------------------

def _huge_png() -> bytes:
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", 40000, 40000, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr
            + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr)) + b"\x00" * 64)


@pytest.mark.parametrize(("case", "data", "manifest", "status", "words"), [
    ("empty file", b"", None, 400, "empty"),
    ("truncated png", PNG[: len(PNG) // 2], None, 422, "truncated"),
    ("1x1 image", png_bytes(np.zeros((1, 1, 3), np.uint8)), None, 422, "too small"),
    ("40000x40000 header", _huge_png(), None, 413, "40000 x 40000"),
    ("dicom without pixels", dicom_without_pixels(), None, 422, "no pixel data"),
    ("tdr as image", dicos("SimpleBaggageTDR.dcs"), None, 415, "Threat Detection Report"),
    ("unsupported format", b"%PDF-1.4 not a scan", None, 415, "PDF"),
    ("broken manifest json", PNG, '{"declaration_id": ', 422, "not valid JSON"),
    ("unknown manifest field", PNG, {"colour": "red"}, 422, "colour"),
    ("wrong manifest type", PNG, {"item_count": "three"}, 422, "item_count"),
])
def test_bad_inputs(api: Api, case: str, data: bytes, manifest: Any, status: int,
                    words: str) -> None:
    assert_problem(api.submit(data=data, manifest=manifest), status, words)
    assert api.client.get("/healthz").status_code == 200


def test_oversize_upload(api: Api) -> None:
    big = b"\x89PNG\r\n\x1a\n" + b"\x00" * 3_100_000
    assert_problem(api.submit(data=big), 413, "larger than the limit")
    assert api.submit().status_code == 201


def test_streamed_upload_over_the_limit(api: Api) -> None:
    """No Content-Length (chunked): the body is cut off once it passes the limit."""
    def chunks() -> Iterator[bytes]:
        yield b"--x\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a\"\r\n\r\n"
        for _ in range(40):
            yield b"\x00" * 100_000

    response = api.client.post("/v1/detect", content=chunks(), headers={
        **api.h("scanner"), "Content-Type": "multipart/form-data; boundary=x"})
    assert_problem(response, 413, "larger than the limit")
    assert api.client.get("/healthz").status_code == 200


def test_manifest_as_a_file_part(api: Api) -> None:
    response = api.client.post("/v1/scans", headers=api.h("scanner"), files={
        "image": ("a.png", PNG), "manifest": ("m.json", b'{"declaration_id": "F-1"}',
                                              "application/json")})
    assert response.status_code == 201 and response.json()["manifest"] == {
        "declaration_id": "F-1"}
    response = api.client.post("/v1/scans", headers=api.h("scanner"), files={
        "image": ("a.png", PNG), "manifest": ("m.json", b"\xff\xfe", "application/json")})
    assert_problem(response, 422, "UTF-8")


def test_missing_or_conflicting_parts(api: Api) -> None:
    response = api.client.post("/v1/scans", headers=api.h("scanner"), data={"scanner_id": "x"})
    assert_problem(response, 400, "no scan")
    response = api.client.post("/v1/scans", headers=api.h("scanner"), files={
        "image": ("a.png", PNG), "high": ("h.tif", tiff_bytes(HIGH))})
    assert_problem(response, 400, "not both")


# Every combination of file parts: the OpenAPI schema of the upload accepts exactly those the
# service accepts (issue 21: a client generated from the schema must work)
@pytest.mark.parametrize("path", ["/v1/scans", "/v1/detect"])
@pytest.mark.parametrize(("parts", "accepted"), [
    (("image",), True),
    (("high", "low"), True),
    ((), False),
    (("high",), False),
    (("low",), False),
    (("image", "high"), False),
    (("image", "low"), False),
    (("image", "high", "low"), False),
])
def test_the_schema_says_which_parts_a_scan_needs(api: Api, path: str, parts: tuple[str, ...],
                                                  accepted: bool) -> None:
    import jsonschema_rs

    spec = api.client.get("/openapi.json").json()
    body = spec["paths"][path]["post"]["requestBody"]
    assert body["required"] and "both `high` and `low`" in body["description"]
    form = spec["components"]["schemas"][
        body["content"]["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[-1]]
    files = {"image": ("a.png", PNG), "high": ("h.tif", tiff_bytes(HIGH)),
             "low": ("l.png", png_bytes(LOW))}
    response = api.client.post(path, headers=api.h("scanner"),
                               files={name: files[name] for name in parts} or None,
                               data={"scanner_id": "lane 1"} if not parts else None)
    assert response.status_code == (201 if path == "/v1/scans" else 200) if accepted \
        else response.status_code == 400, response.text
    schema_valid = jsonschema_rs.validator_for(form).is_valid(dict.fromkeys(parts, "bytes"))
    assert schema_valid is accepted


def test_the_schema_says_which_parts_a_model_upload_needs(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    operation = spec["paths"]["/v1/models"]["post"]
    form = spec["components"]["schemas"][operation["requestBody"]["content"][
        "multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[-1]]
    assert sorted(form["required"]) == ["card", "model"]
    assert form["properties"]["card"]["contentMediaType"] == "application/json"
    assert {"409", "422"} <= set(operation["responses"])
    response = api.client.post("/v1/models", headers=api.h("engineer"),
                               files={"card": ("model.json", b"{}")})
    assert_problem(response, 422, "model")


# -- roles ----------------------------------------------------------------------------------

def test_no_key_and_unknown_key_are_401(api: Api) -> None:
    for headers in ({}, bearer("xsk_wrong")):
        response = api.client.get("/v1/scans", headers=headers)
        assert_problem(response, 401, "API key")
        assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(("role", "method", "path"), [
    ("engineer", "post", "/v1/scans"),
    ("engineer", "get", "/v1/scans"),
    ("scanner", "post", "/v1/scans/{id}/verdict"),
    ("engineer", "post", "/v1/scans/{id}/verdict"),
    ("scanner", "get", "/v1/training-export"),
    ("operator", "get", "/v1/training-export"),
    ("scanner", "get", "/v1/models"),
    ("operator", "post", "/v1/models"),
    ("operator", "post", "/v1/models/test-1/activate"),
    ("scanner", "post", "/v1/models/test-1/activate"),
])
def test_wrong_role_is_403(api: Api, role: str, method: str, path: str) -> None:
    scan_id = api.submit().json()["id"]
    kwargs: dict[str, Any] = {"headers": api.h(role)}
    if path.endswith("verdict"):
        kwargs["json"] = {"decision": "cleared"}
    if path == "/v1/scans" and method == "post":
        kwargs["files"] = {"image": ("a.png", PNG)}
    if path == "/v1/models" and method == "post":
        kwargs["files"] = {"model": ("model.onnx", b"x"), "card": ("model.json", b"{}")}
    response = getattr(api.client, method)(path.replace("{id}", scan_id), **kwargs)
    assert_problem(response, 403, f"a {role} key may not")


def test_a_scanner_lists_only_its_own_scans(api: Api) -> None:
    mine = api.submit("scanner").json()["id"]
    theirs = api.submit("scanner2").json()["id"]
    listed = {item["id"] for item in api.client.get("/v1/scans?limit=500",
                                                    headers=api.h("scanner")).json()["items"]}
    assert mine in listed and theirs not in listed


@pytest.mark.parametrize("suffix", ["", "/image", "/image?annotated=true", "/tdr"])
def test_another_scanners_scan_is_404(api: Api, suffix: str) -> None:
    scan_id = api.submit("scanner").json()["id"]
    assert api.client.get(f"/v1/scans/{scan_id}{suffix}", headers=api.h("scanner")).is_success
    assert_problem(api.client.get(f"/v1/scans/{scan_id}{suffix}", headers=api.h("scanner2")),
                   404, "not yours")
    assert_problem(api.client.get(f"/v1/scans/nope{suffix}", headers=api.h("operator")),
                   404, "no scan")
    for role in ("operator", "admin"):
        assert api.client.get(f"/v1/scans/{scan_id}{suffix}", headers=api.h(role)).is_success


# -- scans ----------------------------------------------------------------------------------

def test_idempotency_key_returns_the_same_scan(api: Api) -> None:
    headers = {"Idempotency-Key": "parcel-123"}
    first = api.submit(headers=headers)
    second = api.submit(headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert second.headers["idempotent-replayed"] == "true"
    other = api.submit("scanner2", headers=headers)          # keys are per API key
    assert other.json()["id"] != first.json()["id"]


def test_an_idempotency_key_reused_for_another_request_is_refused(api: Api) -> None:
    """A retry repeats the request; the same key with another file, manifest or scanner id is a
    client bug and gets 422 problem+json naming the key (IETF Idempotency-Key draft), and the
    first scan stays what the key returns."""
    headers = {"Idempotency-Key": "lane7-0001"}
    first = api.submit(manifest={"item_count": 1}, headers=headers)
    assert first.status_code == 201
    other_file = api.submit(data=png_bytes(scan_rgb(seed=5)), manifest={"item_count": 1},
                            headers=headers)
    assert_problem(other_file, 422, "lane7-0001")
    assert "another request" in other_file.json()["detail"]
    assert other_file.json()["type"].endswith("/idempotency-key-reused")
    assert_problem(api.submit(manifest={"item_count": 2}, headers=headers), 422, "another")
    assert_problem(api.submit(headers=headers), 422, "another")          # manifest left out
    pair = api.client.post("/v1/scans", headers={**api.h("scanner"), **headers}, files={
        "high": ("h.png", png_bytes(raw_pair()[0])), "low": ("l.png", png_bytes(raw_pair()[1]))})
    assert_problem(pair, 422, "another")
    again = api.submit(manifest={"item_count": 1}, headers=headers)
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"


def test_idempotency_under_concurrent_retries(api: Api) -> None:
    ids: list[str] = []

    def post() -> None:
        ids.append(api.submit(headers={"Idempotency-Key": "race-1"}).json()["id"])

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(ids)) == 1


def test_detect_stores_nothing(api: Api) -> None:
    before = len(api.client.get("/v1/scans?limit=500", headers=api.h("operator")).json()["items"])
    for role in ("scanner", "operator", "engineer"):
        response = api.client.post("/v1/detect", headers=api.h(role),
                                   files={"image": ("x.jpg", PNG)})
        assert response.status_code == 200
        assert set(response.json()) == {"image", "detections", "model", "timings_ms"}
    after = len(api.client.get("/v1/scans?limit=500", headers=api.h("operator")).json()["items"])
    assert before == after
    assert_problem(api.client.post("/v1/detect", headers=api.h("scanner"),
                                   files={"image": ("x", b"")}), 400, "empty")


def test_image_renderings(api: Api) -> None:
    scan_id = api.submit().json()["id"]
    plain = api.client.get(f"/v1/scans/{scan_id}/image", headers=api.h("operator"))
    boxed = api.client.get(f"/v1/scans/{scan_id}/image?annotated=true", headers=api.h("operator"))
    assert plain.headers["content-type"] == boxed.headers["content-type"] == "image/png"
    decoded = cv2.imdecode(np.frombuffer(plain.content, np.uint8), cv2.IMREAD_COLOR)
    np.testing.assert_array_equal(decoded[:, :, ::-1], scan_rgb())
    assert plain.content != boxed.content


def test_tdr_over_http(api: Api) -> None:
    import pydicom

    body = api.submit(data=dicos("SimpleProcessingDX.dcs"), name="scan.dcs").json()
    response = api.client.get(f"/v1/scans/{body['id']}/tdr", headers=api.h("scanner"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/dicom"
    report = pydicom.dcmread(io.BytesIO(response.content))
    assert report.SOPClassUID == "1.2.840.10008.5.1.4.1.1.501.3"
    assert len(report.ThreatSequence) == len(body["detections"])
    assert report.AlarmDecision == ("ALARM" if body["detections"] else "CLEAR")
    original = pydicom.dcmread(io.BytesIO(dicos("SimpleProcessingDX.dcs")))
    assert report.ReferencedStudySequence[0].ReferencedSOPInstanceUID == \
        original.SOPInstanceUID
    if body["detections"]:
        first = report.ThreatSequence[0].ATDAssessmentSequence[0]
        assert first.ThreatCategoryDescription == body["detections"][0]["label"]
        assert first.ATDAssessmentProbability == pytest.approx(body["detections"][0]["score"],
                                                               abs=1e-4)


def test_queue_order_filters_and_cursor(api: Api) -> None:
    for _ in range(3):
        api.submit()
    client, headers = api.client, api.h("operator")
    everything = client.get("/v1/scans?limit=500", headers=headers).json()["items"]
    scores = [item["risk"]["score"] for item in everything if item["risk"]]
    assert scores == sorted(scores, reverse=True) and len(everything) >= 3
    pages, cursor = [], None
    while True:
        url = "/v1/scans?limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(url, headers=headers).json()
        pages.extend(item["id"] for item in body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == [item["id"] for item in everything]
    top = everything[0]["risk"]["score"]
    high = client.get(f"/v1/scans?min_risk={top}", headers=headers).json()["items"]
    assert high and all(item["risk"]["score"] >= top for item in high)
    screened = client.get("/v1/scans?status=screened", headers=headers).json()["items"]
    assert all(item["status"] == "screened" for item in screened)
    assert_problem(client.get("/v1/scans?status=bogus", headers=headers), 400, "status")
    assert_problem(client.get("/v1/scans?cursor=zzz", headers=headers), 400, "cursor")
    assert_problem(client.get("/v1/scans?limit=0", headers=headers), 400, "limit")


@pytest.mark.parametrize("cursor", ["0" * 48, "f" * 48, "7ff0" + "0" * 44, "fff0" + "9" * 44])
def test_any_cursor_of_the_declared_shape_is_a_position(api: Api, cursor: str) -> None:
    """The schema declares the cursor's shape; every value of that shape is accepted (a page,
    maybe empty), so a client that follows the schema is never refused."""
    import re

    api.submit()
    spec = api.client.get("/openapi.json").json()
    declared = next(p for p in spec["paths"]["/v1/scans"]["get"]["parameters"]
                    if p["name"] == "cursor")
    pattern = next(s["pattern"] for s in declared["schema"]["anyOf"] if "pattern" in s)
    assert re.fullmatch(pattern, cursor)
    response = api.client.get(f"/v1/scans?cursor={cursor}", headers=api.h("operator"))
    assert response.status_code == 200, response.text
    everything = api.client.get("/v1/scans?limit=500", headers=api.h("operator")).json()
    expected = [item["id"] for item in everything["items"]
                if (item["risk"]["score"] if item["risk"] else -1) < _cursor_score(cursor)]
    assert [item["id"] for item in response.json()["items"]] == expected[:50]


def _cursor_score(cursor: str) -> float:
    import math
    import struct

    score = struct.unpack(">d", bytes.fromhex(cursor[:16]))[0]
    return -math.inf if math.isnan(score) else score


# A bad value of every query parameter is a malformed request: 400, as docs/integration.md says
# (a body that parses but holds a bad value is 422: see test_bad_verdicts).
@pytest.mark.parametrize(("method", "path", "words"), [
    ("get", "/v1/scans?status=bogus", "status"),
    ("get", "/v1/scans?min_risk=high", "min_risk"),
    ("get", "/v1/scans?min_risk=-1", "min_risk"),
    ("get", "/v1/scans?min_risk=101", "min_risk"),
    ("get", "/v1/scans?limit=0", "limit"),
    ("get", "/v1/scans?limit=501", "limit"),
    ("get", "/v1/scans?limit=ten", "limit"),
    ("get", "/v1/scans?cursor=zzz", "cursor"),
    ("get", "/v1/scans?cursor=" + "a" * 501, "cursor"),
    ("get", "/v1/scans/{scan}/image?annotated=maybe", "annotated"),
    ("post", "/v1/models/test-1/activate?force=maybe", "force"),
    ("post", "/v1/models?force=maybe", "force"),
])
def test_bad_query_parameters_are_400(api: Api, method: str, path: str, words: str) -> None:
    scan_id = api.submit().json()["id"]
    response = api.client.request(method.upper(), path.format(scan=scan_id),
                                  headers=api.h("admin"))
    assert_problem(response, 400, words)


def test_a_too_long_idempotency_key_header_is_400(api: Api) -> None:
    response = api.submit(headers={"Idempotency-Key": "k" * 201})
    assert_problem(response, 400, "idempotency")


MANIFEST = {"declaration_id": "D-1", "shipper": {"name": "Golden Dragon Trading Ltd",
                                                 "country": "HK"},
            "consignee": {"name": "J. Smith", "address": "1 High Street"},
            "description": "gift", "declared_value": {"amount": 20, "currency": "USD"}}


def test_verdict_feeds_party_history_and_training_export(api: Api) -> None:
    first = api.submit(manifest=MANIFEST).json()
    assert not any(f["name"].startswith("party_history") for f in first["risk"]["factors"])
    labels = [{"label": "gold", "box": [10, 10, 40, 30]}]
    response = api.client.post(f"/v1/scans/{first['id']}/verdict", headers=api.h("operator"),
                               json={"decision": "threat_confirmed", "labels": labels,
                                     "note": "gold bar in a speaker"})
    assert response.status_code == 200
    assert response.json()["status"] == "reviewed"
    assert response.json()["verdict"]["decision"] == "threat_confirmed"
    later = api.submit(manifest={**MANIFEST, "shipper": {"name": "GOLDEN DRAGON TRADING"}})
    factors = {f["name"] for f in later.json()["risk"]["factors"]}
    assert "party_history.shipper" in factors
    cleared = api.submit().json()["id"]
    api.client.post(f"/v1/scans/{cleared}/verdict", headers=api.h("operator"),
                    json={"decision": "cleared"})
    export = api.client.get("/v1/training-export", headers=api.h("engineer"))
    assert export.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(export.content)) as archive:
        coco = json.loads(archive.read("annotations.json"))
        names = {image["file_name"] for image in coco["images"]}
        assert {f"{first['id']}.png", f"{cleared}.png"} <= names
        assert all(f"images/{name}" in archive.namelist() for name in names)
    image_id = next(i["id"] for i in coco["images"] if i["file_name"] == f"{first['id']}.png")
    boxes = [a for a in coco["annotations"] if a["image_id"] == image_id]
    assert [(a["category_id"], a["bbox"]) for a in boxes] == [(3, [10.0, 10.0, 30.0, 20.0])]
    assert [c["name"] for c in coco["categories"]] == ["firearm", "narcotics", "gold",
                                                       "counterfeit"]


def test_a_second_verdict_keeps_the_first(api: Api) -> None:
    """Issue 21: a confirmed seizure later cleared stays on record: the history holds both, in
    order, with who and when; the latest is the scan's state, drives party history and labels
    the training export, whose provenance lists both."""
    manifest = {"shipper": {"name": "Kestrel Verdict Holdings", "country": "NZ"}}
    scan_id = api.submit(manifest=manifest).json()["id"]
    labels = [{"label": "gold", "box": [10, 10, 40, 30]},
              {"label": "firearm", "box": [50, 20, 90, 60]}]
    sent = [{"decision": "threat_confirmed", "labels": labels, "note": "two items"},
            {"decision": "cleared", "note": "second look: a hair dryer"}]
    answers = [api.client.post(f"/v1/scans/{scan_id}/verdict", headers=api.h(role), json=body)
               for role, body in zip(("operator", "admin"), sent, strict=True)]
    assert [a.status_code for a in answers] == [200, 200]
    scan = api.client.get(f"/v1/scans/{scan_id}", headers=api.h("operator")).json()
    assert scan["verdict"]["decision"] == "cleared" and scan["verdict_count"] == 2
    history = api.client.get(f"/v1/scans/{scan_id}/verdicts", headers=api.h("operator"))
    assert history.status_code == 200, history.text
    verdicts = history.json()["verdicts"]
    assert [(v["decision"], v["labels"], v["note"]) for v in verdicts] == [
        ("threat_confirmed", labels, "two items"),
        ("cleared", None, "second look: a hair dryer")]
    assert [v["operator"]["name"] for v in verdicts] == ["operator", "first admin"]
    assert verdicts[0]["created_at"] <= verdicts[1]["created_at"]
    assert verdicts[1] == scan["verdict"]
    later = api.submit(manifest=manifest).json()        # cleared: no seizure to count
    assert not any(f["name"].startswith("party_history") for f in later["risk"]["factors"])
    export = api.client.get("/v1/training-export", headers=api.h("engineer"))
    with zipfile.ZipFile(io.BytesIO(export.content)) as archive:
        coco = json.loads(archive.read("annotations.json"))
    image = next(i for i in coco["images"] if i["file_name"] == f"{scan_id}.png")
    assert image["verdict"] == "cleared"
    assert [v["decision"] for v in image["verdicts"]] == ["threat_confirmed", "cleared"]
    assert image["verdicts"] == verdicts
    assert not [a for a in coco["annotations"] if a["image_id"] == image["id"]]


def test_verdict_history_of_an_unknown_or_foreign_scan_is_404(api: Api) -> None:
    scan_id = api.submit("scanner2").json()["id"]
    assert_problem(api.client.get(f"/v1/scans/{scan_id}/verdicts", headers=api.h("scanner")),
                   404, "not yours")
    assert_problem(api.client.get("/v1/scans/nope/verdicts", headers=api.h("operator")),
                   404, "no scan")
    mine = api.client.get(f"/v1/scans/{scan_id}/verdicts", headers=api.h("scanner2"))
    assert mine.status_code == 200 and mine.json() == {"scan_id": scan_id, "verdicts": []}


@pytest.mark.parametrize(("body", "status", "words"), [
    ({"decision": "maybe"}, 422, "decision"),
    ({"decision": "cleared", "labels": [{"label": "banana", "box": [0, 0, 1, 1]}]}, 422,
     "banana"),
    ({"decision": "cleared", "labels": [{"label": "gold", "box": [0, 0, 1]}]}, 422, "box"),
    ({"decision": "cleared", "extra": 1}, 422, "extra"),
])
def test_bad_verdicts(api: Api, body: dict[str, Any], status: int, words: str) -> None:
    scan_id = api.submit().json()["id"]
    response = api.client.post(f"/v1/scans/{scan_id}/verdict", headers=api.h("operator"),
                               json=body)
    assert_problem(response, status, words)


# -- models ---------------------------------------------------------------------------------

def test_model_registry_add_activate_rollback_under_load(api: Api, tmp_path: Path) -> None:
    client = api.client
    listed = client.get("/v1/models", headers=api.h("engineer")).json()
    assert [(m["version"], m["active"]) for m in listed] == [("test-1", True)]
    bundle = copy_bundle(real_bundle(), tmp_path / "v2", "test-2")
    response = client.post("/v1/models", headers=api.h("engineer"), files={
        "model": ("model.onnx", (bundle / "model.onnx").read_bytes()),
        "card": ("model.json", (bundle / "model.json").read_bytes())})
    assert response.status_code == 201 and response.json()["version"] == "test-2"
    failures: list[int] = []
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            status = client.post("/v1/detect", headers=api.h("scanner"),
                                 files={"image": ("a.png", PNG)}).status_code
            if status != 200:
                failures.append(status)

    workers = [threading.Thread(target=load) for _ in range(3)]
    for worker in workers:
        worker.start()
    activated = client.post("/v1/models/test-2/activate", headers=api.h("engineer"))
    assert activated.status_code == 200 and activated.json()["active"]
    assert api.submit().json()["model"]["version"] == "test-2"
    client.post("/v1/models/test-1/activate", headers=api.h("engineer"))       # roll back
    stop.set()
    for worker in workers:
        worker.join()
    assert failures == []
    assert api.submit().json()["model"]["version"] == "test-1"
    assert_problem(client.post("/v1/models/nope/activate", headers=api.h("engineer")), 404,
                   "no model version")


def test_add_model_checks_the_sha256(api: Api, tmp_path: Path) -> None:
    bundle = copy_bundle(real_bundle(), tmp_path / "v3", "test-3")
    response = api.client.post("/v1/models", headers=api.h("admin"), files={
        "model": ("model.onnx", (bundle / "model.onnx").read_bytes() + b"tampered"),
        "card": ("model.json", (bundle / "model.json").read_bytes())})
    assert_problem(response, 422, "does not match its card")
    assert_problem(api.client.post("/v1/models", headers=api.h("admin"), files={
        "model": ("model.onnx", b"x"), "card": ("model.json", b"not json")}), 422, "JSON")
