"""Every error response in one place: domain exceptions (``XscreenError`` and its subclasses,
each with its ``http_status``), request validation and framework errors become
``application/problem+json`` (RFC 9457: ``type``, ``title``, ``status``, ``detail``); so do
a full disk (507) and a database that is down (503 with Retry-After) or full (507)."""

from __future__ import annotations

import errno
import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from xscreen.errors import XscreenError
from xscreen.serving.errors import DatabaseFullError, database_problem

log = logging.getLogger("xscreen.serving")
PROBLEM_TYPE = "https://xscreen.dev/problems/"


def problem(status: int, detail: str, kind: str | None = None,
            extra: dict[str, Any] | None = None,
            headers: dict[str, str] | None = None) -> JSONResponse:
    """A problem+json response (with ``headers``, and the challenge on a 401)."""
    title = HTTPStatus(status).phrase
    body = {"type": PROBLEM_TYPE + (kind or title.lower().replace(" ", "-")), "title": title,
            "status": status, "detail": detail, **(extra or {})}
    headers = {**(headers or {}), **({"WWW-Authenticate": "Bearer"} if status == 401 else {})}
    return JSONResponse(body, status_code=status, media_type="application/problem+json",
                        headers=headers or None)


def _kebab(name: str) -> str:
    name = name.removesuffix("Error")
    return "".join(f"-{c.lower()}" if c.isupper() else c for c in name).lstrip("-")


async def _domain(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, XscreenError)
    field = getattr(error, "field", None)
    extra = {"field": field} if field else None
    headers = getattr(error, "headers", None)   # e.g. Retry-After of an overload
    return _counted(request, error.http_status, str(error), _kebab(type(error).__name__), extra,
                    headers)


# The file system is full (or the service's user is over its quota): 507 Insufficient Storage
# (RFC 4918 section 11.5), a state of the server that a retry after space is freed clears. The
# writes go through a temporary file renamed into place (``xscreen.fileio.atomic_writer``), which
# removes it on the error, and the database row comes after the file: nothing half-written stays.
STORAGE_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


async def _os_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, OSError)
    if error.errno not in STORAGE_FULL_ERRNOS:
        return await _unexpected(request, error)
    log.error("storage full on %s %s: %s", request.method, request.url.path, error)
    return _counted(request, 507, "the service's storage is full, so nothing of this request "
                    "was stored; retry once an operator has freed space (same Idempotency-Key)",
                    "insufficient-storage")


async def _database(request: Request, error: Exception) -> JSONResponse:
    """A database that is down or restarting is 503 with Retry-After, one that is full 507
    (:func:`~xscreen.serving.errors.database_problem`); any other database error is a bug: 500."""
    domain = database_problem(error)
    if domain is None:
        return await _unexpected(request, error)
    cause = getattr(error, "orig", None) or error
    words = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
    # one line, no traceback: an outage fails every request, and the cause is the same
    log.error("database %s on %s %s: %s",
              "full" if isinstance(domain, DatabaseFullError) else "unavailable",
              request.method, request.url.path, words)
    return await _domain(request, domain)


# Where a validation error lies decides its status (RFC 9110 15.5.1 and 15.5.21): a bad query
# parameter, header or path segment is a malformed request (400); a body that parsed but whose
# fields are wrong is well-formed content the service cannot process (422).
MALFORMED_REQUEST_PARTS = frozenset({"query", "header", "path", "cookie"})


def validation_status(errors: list[Any]) -> int:
    """400 when any error lies in the request line or headers, else 422 (the body)."""
    where = {str(e["loc"][0]) for e in errors if e.get("loc")}
    return 400 if where & MALFORMED_REQUEST_PARTS else 422


async def _validation(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = list(error.errors())
    parts = [f"{' '.join(str(p) for p in e['loc'][:1] if p != 'body')} "
             f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}".strip()
             for e in errors]
    return _counted(request, validation_status(errors), "invalid request: " + "; ".join(parts),
                    "validation")


async def _http(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    kind = HTTPStatus(error.status_code).phrase.lower().replace(" ", "-")
    headers = dict(error.headers or {})
    detail = str(error.detail)
    if error.status_code == 405:
        # Starlette's router names only the first route at the path; the resource may have more
        allowed = allowed_methods(request)
        headers["Allow"] = ", ".join(allowed)
        detail = (f"{request.method} is not allowed on {request.url.path}; it allows "
                  f"{', '.join(allowed)}")
    return _counted(request, error.status_code, detail, kind, headers=headers)


# the methods a route here may serve; TRACE and CONNECT never are
ROUTABLE_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """The methods that some route of the app serves at the request's path, in
    :data:`ROUTABLE_METHODS` order: what a 405 must list in ``Allow`` (RFC 9110 section
    15.5.6). Each is asked of the router with a fresh scope (routing marks the request's own)."""
    allowed = []
    for method in ROUTABLE_METHODS:
        probe = {"type": "http", "method": method, "path": request.scope["path"],
                 "root_path": request.scope.get("root_path", ""), "headers": [],
                 "query_string": b"", "app": request.app}
        if any(route.matches(probe)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return allowed


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return _counted(request, 500, "internal error; the service logged it with the request id",
                    "internal")


def _counted(request: Request, status: int, detail: str, kind: str,
             extra: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None) -> JSONResponse:
    """The problem response, counted in the error metric by status and type."""
    metrics = getattr(request.app.state, "metrics", None)
    if metrics is not None:
        metrics.errors.labels(str(status), kind).inc()
    return problem(status, detail, kind, extra, headers)


def install_problem_handlers(app: FastAPI) -> None:
    """Map every exception to problem+json (the only place that does)."""
    app.add_exception_handler(XscreenError, _domain)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(OSError, _os_error)
    app.add_exception_handler(SQLAlchemyError, _database)
    app.add_exception_handler(Exception, _unexpected)
