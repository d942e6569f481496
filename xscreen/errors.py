"""Domain exceptions. Each message says what was wrong and how to fix it.

The CLI prints them and exits non-zero; the HTTP API maps them to problem+json in one place.
"""


class XscreenError(Exception):
    """Base class of every error a user can act on."""

    exit_code = 2
    http_status = 400


class UsageError(XscreenError):
    """A command-line argument or option is invalid."""


class OutputExistsError(XscreenError):
    """The output folder exists and is not empty, or cannot be written."""


class DatasetError(XscreenError):
    """A dataset folder or its annotations are missing or malformed."""

    http_status = 422


class ImageDecodeError(XscreenError):
    """Bytes that should be an image could not be decoded."""

    http_status = 415


class ModelBundleError(XscreenError):
    """A model bundle is missing files, has a bad card, or fails its checksum."""

    http_status = 422
