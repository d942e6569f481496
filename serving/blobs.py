"""A content-addressed file store for scan bytes: ``blobs/ab/abcdef...`` named by SHA-256.

A blob is written to a temporary file, fsynced, renamed into place and its folder fsynced, so a
blob that :meth:`BlobStore.put` returned survives a crash, and a half-written one never has a
real name.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from xscreen.fileio import atomic_writer
from xscreen.serving.errors import NotFoundError


class BlobStore:
    """Immutable blobs under ``root``, addressed by the hex SHA-256 of their bytes."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, digest: str) -> Path:
        return self.root / digest[:2] / digest

    def put(self, data: bytes) -> str:
        """Store ``data`` durably; returns its SHA-256 (a second put of the same bytes is free)."""
        return self.put_new(data)[0]

    def put_new(self, data: bytes) -> tuple[str, bool]:
        """:meth:`put`, and whether this call wrote the blob (False: it was stored already), so
        a caller whose database row then fails knows which blobs it alone made."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.is_file():
            return digest, False
        target.parent.mkdir(exist_ok=True)
        with atomic_writer(target) as out:
            out.write(data)
        _fsync_dir(target.parent)
        return digest, True

    def get(self, digest: str) -> bytes:
        path = self.path(digest)
        if not path.is_file():
            raise NotFoundError(f"stored scan bytes {digest[:12]}... are missing from {self.root}")
        return path.read_bytes()


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX; a no-op where folders cannot be opened)."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
