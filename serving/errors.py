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


class OverloadedError(XscreenError):
    """More scans are being screened than the inference queue holds (``XSCREEN_MAX_QUEUE``):
    refused before anything is stored, with ``Retry-After`` (503: the next try may succeed)."""

    http_status = 503

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = max(1, int(retry_after_s))

    @property
    def headers(self) -> dict[str, str]:
        """The response headers the problem handler adds (RFC 9110 section 10.2.3)."""
        return {"Retry-After": str(self.retry_after_s)}
