"""The service's domain exceptions. Each carries its HTTP status; ``serving/problems.py`` maps
every :class:`~xscreen.errors.XscreenError` to problem+json in one place."""

from __future__ import annotations

from xscreen.errors import ImageDecodeError, XscreenError


class EmptyUploadError(ImageDecodeError):
    """An upload has no bytes."""

    http_status = 400


class BadImageError(ImageDecodeError):
    """The bytes are a known format but broken, too small, or lack pixels."""

    http_status = 422


class UnsupportedFormatError(ImageDecodeError):
    """The bytes are not a format the service accepts (or a DICOS object that is not an image)."""

    http_status = 415


class TooLargeError(XscreenError):
    """An upload has too many bytes or its image too many pixels."""

    http_status = 413


class BadRequestError(XscreenError):
    """A request is malformed: missing or conflicting parts, bad parameters."""

    http_status = 400


class InvalidFieldError(XscreenError):
    """A request body that parsed but holds a value the service cannot take (a verdict's
    unknown label): 422, as for any body field that fails validation."""

    http_status = 422


class IdempotencyKeyReusedError(XscreenError):
    """An Idempotency-Key sent again with other request parts: a retry must repeat the request
    (422, as the IETF Idempotency-Key header draft says for a reused key)."""

    http_status = 422


class AuthenticationError(XscreenError):
    """No API key, or a key the service does not know."""

    http_status = 401


class PermissionDeniedError(XscreenError):
    """The key's role may not do this."""

    http_status = 403


class NotFoundError(XscreenError):
    """Unknown, or not visible to this key (a scanner sees only its own scans)."""

    http_status = 404


class ConflictError(XscreenError):
    """The request conflicts with the current state (e.g. a model version already registered)."""

    http_status = 409


class NotReadyError(XscreenError):
    """The service cannot screen yet: no model loaded or the database is unreachable."""

    http_status = 503


class ManifestJsonError(XscreenError):
    """The manifest part is not valid JSON."""

    http_status = 422


class RetryLaterError(XscreenError):
    """503: the request may succeed if retried after ``retry_after_s`` seconds, which the
    problem handler sends as ``Retry-After`` (RFC 9110 section 10.2.3)."""

    http_status = 503
    retry_after_s = 1

    @property
    def headers(self) -> dict[str, str]:
        """The response headers the problem handler adds."""
        return {"Retry-After": str(self.retry_after_s)}


class OverloadedError(RetryLaterError):
    """More scans are being screened than the inference queue holds (``XSCREEN_MAX_QUEUE``):
    refused before anything is stored, with ``Retry-After`` (503: the next try may succeed)."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = max(1, int(retry_after_s))


# -- the database -------------------------------------------------------------------------------

# Seconds a client waits before retrying when the database is unreachable: the engine checks each
# pooled connection before use (pool_pre_ping), so the first request after the database is back
# succeeds; a restart of PostgreSQL takes a few seconds.
DATABASE_RETRY_AFTER_S = 3


class DatabaseUnavailableError(RetryLaterError):
    """The database cannot be reached or dropped the connection (restarting, down, the pool
    exhausted): 503 with ``Retry-After``; the service reconnects by itself."""

    retry_after_s = DATABASE_RETRY_AFTER_S


class DatabaseFullError(XscreenError):
    """The database has no room to grow (PostgreSQL cannot extend a file, SQLite is full):
    507 Insufficient Storage, as for a full disk."""

    http_status = 507


# What a full database says: PostgreSQL's SQLSTATE 53100 (disk_full: "could not extend file"),
# SQLite's SQLITE_FULL (13: "database or disk is full"); the texts for drivers that give no code.
POSTGRES_DISK_FULL = "53100"
SQLITE_FULL = 13
DATABASE_FULL_TEXTS = ("could not extend file", "database or disk is full",
                       "no space left on device")


def database_problem(error: BaseException) -> XscreenError | None:
    """The domain error for a failure of the database itself (``error`` raised by SQLAlchemy):
    :class:`DatabaseFullError` when it is out of space, :class:`DatabaseUnavailableError` when
    the connection failed (``OperationalError``, ``InterfaceError``, ``DisconnectionError``, a
    pool timeout); None for anything else (a constraint, a bug in a query), which stays a 500."""
    from sqlalchemy import exc

    if not isinstance(error, exc.SQLAlchemyError):
        return None
    cause = getattr(error, "orig", None)
    code = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    text = str(cause if cause is not None else error).lower()
    if (code == POSTGRES_DISK_FULL or getattr(cause, "sqlite_errorcode", None) == SQLITE_FULL
            or any(words in text for words in DATABASE_FULL_TEXTS)):
        return DatabaseFullError(
            "the service's database is full, so nothing of this request was stored; retry once "
            "an operator has freed space (same Idempotency-Key)")
    if isinstance(error, exc.OperationalError | exc.InterfaceError | exc.DisconnectionError
                  | exc.TimeoutError):
        # the driver's words name hosts and ports: they go to the log, not to the client
        return DatabaseUnavailableError(
            "the service's database is unavailable (restarting or unreachable); retry after "
            f"{DATABASE_RETRY_AFTER_S} seconds with the same Idempotency-Key: a scan stored "
            "before the failure is then returned and screened, never stored twice")
    return None
