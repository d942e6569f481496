"""The HTTP API (CONTRACT "HTTP API"): ``create_app(settings)`` returns the FastAPI application.

The model is loaded once in ``lifespan``; endpoints that block (decoding, inference, database)
are plain ``def`` functions, which FastAPI runs in its thread pool, so concurrent requests meet
in the micro-batcher. Errors are domain exceptions mapped to problem+json in
``serving/problems.py``; this module only routes. Each route names the roles it allows in its
signature, through one dependency (:func:`require`, e.g. ``principal: Operator``); nothing
behind the routes checks roles.

A scan's path: ``submit_scan`` -> ``Screening.submit`` (``serving/screening.py``) ->
``pipeline.screen`` (``serving/pipeline.py``: decode, store, model, detections, risk) ->
``ScanRepository`` (``serving/scans.py``) -> the scan JSON. ``docs/architecture.md`` draws it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, File, Form, Header, Query, Request, UploadFile
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from xscreen import __version__
from xscreen.serving import schemas
from xscreen.serving.decode import Upload
from xscreen.serving.errors import BadRequestError, ManifestJsonError
from xscreen.serving.metrics import Metrics
from xscreen.serving.middleware import (
    BodyLimitMiddleware,
    RequestContextMiddleware,
    configure_logging,
)
from xscreen.serving.operator_tip import TipTraining
from xscreen.serving.problems import install_problem_handlers
from xscreen.serving.risk import load_risk_config
from xscreen.serving.roles import Principal, require_role
from xscreen.serving.routes_keys import key_routes
from xscreen.serving.scans import CURSOR_PATTERN
from xscreen.serving.service import ScreeningService
from xscreen.serving.settings import Settings, load_settings

log = logging.getLogger("xscreen.serving")
STATIC = Path(__file__).resolve().parent / "static"
bearer = HTTPBearer(auto_error=False, description="an API key: 'Authorization: Bearer <key>'")


def get_service(request: Request) -> ScreeningService:
    service: ScreeningService = request.app.state.service
    return service


ServiceDep = Annotated[ScreeningService, Depends(get_service)]


def get_principal(service: ServiceDep, credentials: Annotated[
        HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Principal:
    return service.authenticate(credentials.credentials if credentials else None)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require(*roles: str) -> Callable[[Principal], Principal]:
    """The dependency every route takes for its caller: the key's :class:`Principal`, and 403
    unless its role is one of ``roles`` (admin may do anything; no roles: any valid key)."""

    def allowed(principal: PrincipalDep) -> Principal:
        if roles:
            require_role(principal, *roles)
        return principal

    return allowed


# who may call what (CONTRACT "HTTP API"), one alias per set of roles
AnyKey = Annotated[Principal, Depends(require())]
Submitter = Annotated[Principal, Depends(require("scanner", "operator"))]
ScanReader = Annotated[Principal, Depends(require("scanner", "operator", "engineer"))]
Operator = Annotated[Principal, Depends(require("operator"))]
Engineer = Annotated[Principal, Depends(require("engineer"))]
ModelReader = Annotated[Principal, Depends(require("engineer", "operator"))]
Admin = Annotated[Principal, Depends(require("admin"))]


def get_tip(service: ServiceDep) -> TipTraining:
    return TipTraining(service)


TipDep = Annotated[TipTraining, Depends(get_tip)]
ImagePart = Annotated[UploadFile | None, File(
    description="the scan: PNG, JPEG, TIFF (8/16-bit, or two-page raw dual-energy), DICOS/DICOM")]
HighPart = Annotated[UploadFile | None, File(description="raw 16-bit high-energy channel")]
LowPart = Annotated[UploadFile | None, File(description="raw 16-bit low-energy channel")]


def read_upload(image: UploadFile | None, high: UploadFile | None,
                low: UploadFile | None) -> Upload:
    """The multipart file parts as bytes (``read`` on the spooled file: we are in a thread)."""
    return Upload(image=image.file.read() if image is not None else None,
                  high=high.file.read() if high is not None else None,
                  low=low.file.read() if low is not None else None)


def manifest_text(manifest: str | UploadFile | None) -> str | None:
    """The manifest part as text, whether sent as a form field or as a file."""
    if manifest is None or isinstance(manifest, str):
        return manifest
    try:
        return manifest.file.read().decode("utf-8")
    except UnicodeDecodeError:
        raise ManifestJsonError("manifest is not UTF-8 text; send a JSON object") from None


def create_app(settings: Settings | None = None) -> FastAPI:
    """The application; nothing is loaded until its lifespan starts."""
    settings = settings or load_settings()
    metrics = Metrics()
    # checked now, not at start-up's end: a broken file stops `serve` with the key named
    risk_config = load_risk_config(settings.risk_config)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = ScreeningService(settings, metrics, risk_config)
        app.state.service = service
        admin_key = service.first_admin_key()
        if admin_key and settings.print_admin_key:
            print(f"xscreen: first start: created an admin API key (shown only once):\n"
                  f"  {admin_key}", flush=True)
        app.state.first_admin_key = admin_key
        service.load_initial_model()
        service.start_watching()
        recovery = threading.Thread(target=_recover, args=(service, settings), daemon=True,
                                    name="xscreen-recovery")
        recovery.start()
        app.state.recovery = recovery
        try:
            yield
        finally:
            recovery.join(timeout=60)
            service.close()

    # /docs is served below from the service's own files (air-gapped sites); ReDoc, which only
    # loads from a CDN, is off
    app = FastAPI(title="xscreen", version=__version__, lifespan=lifespan, docs_url=None,
                  redoc_url=None,
                  description="AI X-ray screening for customs: submit scans, read detections "
                              "and risk, review, export, manage models.")
    app.state.metrics = metrics
    _serve_exact_openapi(app)
    install_problem_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_upload_bytes)
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    api = APIRouter(responses=schemas.PROBLEMS)
    _add_scan_routes(api)
    _add_review_routes(api)
    _add_model_routes(api)
    _add_viewer_routes(api)
    api.include_router(key_routes(require("admin")))
    app.include_router(api)
    _add_ops_routes(app)
    _add_docs_routes(app)
    configure_logging()
    return app


def _serve_exact_openapi(app: FastAPI) -> None:
    """``/openapi.json`` with what the endpoints' signatures cannot say (which upload parts
    go together), so that a client generated from it works (:func:`schemas.exact_openapi`)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = schemas.exact_openapi(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _recover(service: ScreeningService, settings: Settings) -> None:
    """After start-up: screen left-over scans, then warm the dual-energy colour calibration
    (about a second) so that the first raw scan does not wait for it."""
    try:
        if settings.recover_on_start and service.batcher.detector is not None:
            service.recover_pending()
        from xscreen.datasets.colour import calibrate

        calibrate()
    except Exception:  # never kill the process from the background thread
        log.exception("start-up recovery failed")


def _add_scan_routes(router: APIRouter) -> None:
    @router.post("/v1/scans", status_code=201, response_model=schemas.ScanOut, tags=["scans"],
                 responses=schemas.STORAGE_FULL)
    def submit_scan(service: ServiceDep, principal: Submitter, response: Response,
                    image: ImagePart = None, high: HighPart = None, low: LowPart = None,
                    manifest: Annotated[str | UploadFile | None, Form(
                        description="advance cargo information: a JSON object, as a field "
                                    "or a file part")] = None,
                    scanner_id: Annotated[str | None, Form(max_length=200)] = None,
                    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
                    ) -> Any:
        """Store and screen a scan (role scanner or operator)."""
        body, created = service.screening.submit(read_upload(image, high, low),
                                                 manifest_text(manifest), scanner_id,
                                                 idempotency_key, principal)
        if not created:
            response.headers["Idempotent-Replayed"] = "true"
        response.headers["Location"] = f"/v1/scans/{body['id']}"
        return body

    @router.post("/v1/detect", response_model=schemas.DetectOut, tags=["scans"])
    def detect(service: ServiceDep, principal: AnyKey, image: ImagePart = None,
               high: HighPart = None, low: LowPart = None) -> Any:
        """Detections only; nothing is stored (any role)."""
        return service.screening.detect(read_upload(image, high, low))

    @router.get("/v1/scans", response_model=schemas.ScanPage, tags=["review"])
    def scan_queue(service: ServiceDep, principal: Submitter,
                   status: Annotated[Literal["accepted", "screened", "reviewed", "failed"]
                                     | None, Query()] = None,
                   min_risk: Annotated[float | None, Query(ge=0, le=100)] = None,
                   limit: Annotated[int, Query(ge=1, le=500)] = 50,
                   cursor: Annotated[str | None, Query(
                       pattern=CURSOR_PATTERN, description="the previous page's "
                       "`next_cursor` (opaque: 48 hex digits)")] = None) -> Any:
        """The review queue, highest risk first (role operator; a scanner lists its own scans)."""
        return service.scans.queue(principal, status, min_risk, limit, cursor)

    @router.get("/v1/scans/{scan_id}", response_model=schemas.ScanOut, tags=["scans"])
    def get_scan(scan_id: str, service: ServiceDep, principal: ScanReader) -> Any:
        """One scan (a scanner sees only its own)."""
        return service.scans.get(scan_id, principal)

    @router.get("/v1/scans/{scan_id}/image", response_class=Response, tags=["scans"],
             responses={200: {"content": {"image/png": {}}}})
    def scan_image(scan_id: str, service: ServiceDep, principal: ScanReader, tip: TipDep,
                   annotated: bool = False) -> Response:
        """The pseudo-colour rendering as PNG, with the detections' boxes if ``annotated``."""
        png = tip.presented_png(scan_id, principal, annotated)   # operator training, if on
        if png is None:
            png = service.renderings.image_png(scan_id, principal, annotated)
        return Response(png, media_type="image/png")

    @router.get("/v1/scans/{scan_id}/tdr", response_class=Response, tags=["scans"],
             responses={200: {"content": {"application/dicom": {}}}})
    def scan_tdr(scan_id: str, service: ServiceDep, principal: ScanReader) -> Response:
        """The DICOS Threat Detection Report."""
        return Response(service.renderings.tdr(scan_id, principal),
                        media_type="application/dicom",
                        headers={"Content-Disposition": f'attachment; filename="{scan_id}.dcs"'})


def _add_review_routes(router: APIRouter) -> None:
    @router.post("/v1/scans/{scan_id}/verdict", response_model=schemas.VerdictResult,
                 tags=["review"])
    def post_verdict(scan_id: str, verdict: schemas.VerdictIn, service: ServiceDep,
                     principal: Operator, tip: TipDep) -> Any:
        """An operator's decision, with corrected labels if the boxes were wrong; recorded
        with the operator's key and the time. On a threat image projection (training) it is
        scored instead and ``tip`` says so: the scan still awaits its real verdict."""
        labels = [label.model_dump() for label in verdict.labels] \
            if verdict.labels is not None else None
        outcome = tip.score_verdict(scan_id, verdict.decision, labels, principal,
                                    verdict.viewed_with_key)
        if outcome is not None:
            return {**service.scans.get(scan_id, principal), "tip": outcome}
        return service.scans.verdict(scan_id, verdict.decision, labels, verdict.note, principal)

    @router.get("/v1/scans/{scan_id}/verdicts", response_model=schemas.VerdictHistoryOut,
                tags=["review"])
    def verdict_history(scan_id: str, service: ServiceDep, principal: ScanReader) -> Any:
        """Every verdict on the scan, oldest first: who, when, what. The last is the scan's
        state; a later verdict never erases an earlier one."""
        return {"scan_id": scan_id, "verdicts": service.scans.verdict_history(scan_id,
                                                                          principal)}

    @router.get("/v1/training-export", response_class=Response, tags=["review"],
             responses={200: {"content": {"application/zip": {}}}})
    def training_export(service: ServiceDep, principal: Engineer) -> Response:
        """A COCO dataset (zip) of every scan with a verdict (role engineer)."""
        return Response(service.renderings.training_export(), media_type="application/zip",
                        headers={"Content-Disposition":
                                 'attachment; filename="xscreen-verdicts.zip"'})


def _add_model_routes(router: APIRouter) -> None:
    @router.get("/v1/models", response_model=list[schemas.ModelOut], tags=["models"])
    def list_models(service: ServiceDep, principal: ModelReader) -> Any:
        """Registered model versions (roles operator, engineer)."""
        return [entry.to_dict() for entry in service.models.versions()]

    @router.post("/v1/models", status_code=201, response_model=schemas.ModelOut, tags=["models"],
                 responses={409: schemas.PROBLEM, **schemas.STORAGE_FULL})
    def add_model(service: ServiceDep, principal: Engineer,
                  model: Annotated[UploadFile, File(description="model.onnx")],
                  card: Annotated[UploadFile, File(description="model.json (the card)")],
                  force: Annotated[bool, Query(description="register even if the promotion "
                                                           "gate has not cleared it")] = False,
                  ) -> Any:
        """Register a bundle (sha256, ONNX and promotion gate checked; role engineer)."""
        import tempfile

        with tempfile.TemporaryDirectory(dir=service.settings.home) as folder:
            Path(folder, "model.onnx").write_bytes(model.file.read())
            Path(folder, "model.json").write_bytes(card.file.read())
            return service.models.add(folder, force).to_dict()

    @router.post("/v1/models/rollback", response_model=schemas.ModelOut, tags=["models"])
    def rollback_model(service: ServiceDep, principal: Engineer) -> Any:
        """Serve again the version that served before the current one (role engineer)."""
        return service.models.rollback().to_dict()

    @router.post("/v1/models/{version}/activate", response_model=schemas.ModelOut, tags=["models"])
    def activate_model(version: str, service: ServiceDep, principal: Engineer,
                       force: Annotated[bool, Query(description="activate even if the promotion "
                                                                "gate has not cleared it")] = False,
                       ) -> Any:
        """Serve ``version`` from now on; requests in flight finish on the old model. A
        fine-tuned model needs a promotable gate report unless ``force``; a version that has
        served before may always come back (rollback) (role engineer)."""
        return service.models.activate(version, force).to_dict()


def _add_ops_routes(app: FastAPI) -> None:
    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"])
    def readyz(service: ServiceDep) -> JSONResponse:
        """Readiness: a model is loaded and the database answers (503 otherwise)."""
        state = service.ready()
        return JSONResponse(state, status_code=200 if state["ready"] else 503)

    @app.get("/metrics", tags=["ops"], response_class=Response)
    def prometheus(request: Request) -> Response:
        """Prometheus metrics."""
        return Response(generate_latest(request.app.state.metrics.registry),
                        media_type=CONTENT_TYPE_LATEST)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def viewer() -> HTMLResponse:
        """The operator viewer (a static page over this API)."""
        page = STATIC / "index.html"
        if not page.is_file():
            raise BadRequestError("the operator viewer is not installed")
        return HTMLResponse(page.read_text())

    # the viewer's scripts and styles: plain files, no build step
    app.mount("/static", StaticFiles(directory=STATIC), name="static")


def swagger_ui_assets() -> Path | None:
    """The folder of Swagger UI's script, styles and favicon shipped by the ``fastapi-offline``
    package (the ``serve`` extra; Swagger UI 5, which reads FastAPI's OpenAPI 3.1), or None
    where it is not installed."""
    from importlib import resources

    try:
        folder = Path(str(resources.files("fastapi_offline") / "static"))
    except ModuleNotFoundError:
        return None
    needed = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon.png")
    return folder if all((folder / name).is_file() for name in needed) else None


def _add_docs_routes(app: FastAPI) -> None:
    """``/docs``: Swagger UI from the service's own files, naming no outside host, so the docs
    work on a machine without internet."""
    assets = swagger_ui_assets()
    if assets is not None:
        app.mount("/docs/assets", StaticFiles(directory=assets), name="docs-assets")

    @app.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        if assets is None:
            return HTMLResponse(
                "<!doctype html><title>xscreen API</title><p>The interactive API docs need the "
                "<code>fastapi-offline</code> package (<code>pip install -e '.[serve]'</code>)."
                f" The API's description is at <a href=\"{root}/openapi.json\">/openapi.json</a>.")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} API",
            swagger_js_url=f"{root}/docs/assets/swagger-ui-bundle.js",
            swagger_css_url=f"{root}/docs/assets/swagger-ui.css",
            swagger_favicon_url=f"{root}/docs/assets/favicon.png",
            # no call to the online validator (the only outside host Swagger UI knows)
            swagger_ui_parameters={"validatorUrl": None})


def _add_viewer_routes(router: APIRouter) -> None:
    """What the operator viewer needs beyond the scan API: who is signed in, and threat image
    projection (TIP) for operator training."""

    @router.get("/v1/me", response_model=schemas.MeOut, tags=["keys"])
    def me(principal: AnyKey) -> Any:
        """The calling key's id, name and role (any role): a sign-in check."""
        return {"key_id": principal.key_id, "name": principal.name, "role": principal.role}

    @router.get("/v1/tip/settings", response_model=schemas.TipSettingsOut, tags=["tip"])
    def tip_settings(principal: Admin, tip: TipDep) -> Any:
        """Whether threat image projection is on, and its rate (role admin)."""
        return tip.settings(principal)

    @router.put("/v1/tip/settings", response_model=schemas.TipSettingsOut, tags=["tip"])
    def set_tip_settings(body: schemas.TipSettings, principal: Admin, tip: TipDep) -> Any:
        """Switch threat image projection on or off: with probability ``rate`` a scan an
        operator opens shows a projected fictional threat; the verdict on it is scored, never
        stored (role admin)."""
        return tip.update(body.enabled, body.rate, principal)

    @router.get("/v1/tip/stats", response_model=schemas.TipStatsOut, tags=["tip"])
    def tip_stats(principal: Operator, tip: TipDep) -> Any:
        """Each operator's TIP hits and misses (an admin sees every operator, an operator
        only themselves)."""
        return tip.stats(principal)
