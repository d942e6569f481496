"""Scans that got a 201 but no screening result, screened again without a restart (issue 21).

A scan is stored (its bytes, then its row, committed) before it is screened, so a 201 is never
lost. Its result can still miss the database: the process stopped, no model was loaded, or the
database went down between the row and the result (the request then answered 503). Such a scan
stays ``accepted``. :class:`ScanRecovery` screens them: once at start-up
(:meth:`ScanRecovery.screen_pending`, what ``ScreeningService.recover_pending`` runs) and then
every ``interval_s`` in a background thread (the sweep), taking scans accepted more than one
interval ago, so the requests still screening their own scans are left alone.

No scan is screened twice at once: every screening in the process holds the scan's claim
(:class:`ScreeningClaims`) and the result is written only over an ``accepted`` row, locked while
it is written (``SELECT ... FOR UPDATE`` on PostgreSQL), so two processes cannot both write one.

Several replicas on one PostgreSQL (docs/deploy.md, "Replicas") screen a left-over scan once
between them, not once each: a stored scan is screened again (start-up, sweep, a retry) only under
a claim that holds across processes, a transaction-scoped advisory lock on the scan
(``pg_try_advisory_xact_lock``) taken without waiting, after which the scan must still be
``accepted``. A replica that finds the lock taken, or the scan screened, leaves it. (An advisory
lock, not ``SELECT ... FOR UPDATE SKIP LOCKED`` on the row: the result is written over the row
from another connection, which a row lock held by the claim would block.) A request screening the
scan it has just stored holds only the claim in its own process (a database connection held per
request in flight would drain the pool), so a replica starting at that moment may run the same
scan through its model too; the row lock above still keeps one result. On SQLite the claim is
per process: one process per SQLite database is the only supported case.

The sweep also removes blobs written for a row that then could not be inserted (the database
failed): at once when the database answers, else at the next sweep that reaches it. A blob is
removed only when no row names it (a commit whose answer was lost may still have stored it).
Left open: the same bytes uploaded again, by another request, in the instant between that check
and the removal (blobs are shared by content); and candidates of a process killed before its
sweep ran stay on disk as harmless orphans.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from xscreen.errors import XscreenError
from xscreen.serving import store
from xscreen.serving.errors import NotReadyError, OverloadedError, database_problem
from xscreen.serving.manifest import parse_manifest_data
from xscreen.serving.store import Scan, TipPresentation

if TYPE_CHECKING:
    from xscreen.serving.service import ScreeningService

log = logging.getLogger("xscreen.serving")

# how often the sweep runs, and so how old an accepted scan must be before it takes it
SWEEP_INTERVAL_S = 30.0


class ScreeningClaims:
    """The scans being screened in this process: one claim per scan id at a time; with the
    service's ``engine`` on PostgreSQL, ``hold(..., stored=True)`` claims across processes too."""

    def __init__(self, engine: Engine | None = None) -> None:
        self._held: set[str] = set()
        self._lock = threading.Lock()
        self._engine = engine

    @contextmanager
    def hold(self, scan_id: str, stored: bool = False) -> Iterator[bool]:
        """Claim ``scan_id`` for the block; yields False (and claims nothing) when another
        thread holds it, and the caller must then leave the scan to that thread. ``stored``: the
        scan is being screened again from the database, so claim it across replicas as well
        (yields False when another process holds it or the scan is no longer ``accepted``)."""
        with self._lock:
            local = scan_id not in self._held
            self._held.add(scan_id)
        try:
            with ExitStack() as claims:
                mine = local and (not stored or claims.enter_context(self._claim_stored(scan_id)))
                yield mine
        finally:
            if local:
                with self._lock:
                    self._held.discard(scan_id)

    @contextmanager
    def _claim_stored(self, scan_id: str) -> Iterator[bool]:
        """On PostgreSQL: an advisory lock on the scan for the block (a transaction held open,
        one pooled connection), True when it was free and the scan is still ``accepted``.
        Elsewhere True: one process per SQLite database."""
        if self._engine is None or self._engine.dialect.name != "postgresql":
            yield True
            return
        with self._engine.connect() as connection, connection.begin():
            locked = connection.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"),
                                       {"key": advisory_key(scan_id)})
            # read after the lock: a replica that screened it has committed before letting go
            status = connection.scalar(select(Scan.status).where(Scan.id == scan_id))
            yield bool(locked) and status == "accepted"

    def busy(self, scan_id: str) -> bool:
        """Whether some thread is screening ``scan_id`` now."""
        with self._lock:
            return scan_id in self._held


def advisory_key(scan_id: str) -> int:
    """The signed 64-bit advisory-lock key of a scan: its id's SHA-256, first 8 bytes."""
    return int.from_bytes(hashlib.sha256(f"xscreen-scan:{scan_id}".encode()).digest()[:8],
                          "big", signed=True)


class ScanRecovery:
    """Start-up recovery, the periodic sweep, and orphan blobs, for one service."""

    def __init__(self, service: ScreeningService, interval_s: float = SWEEP_INTERVAL_S) -> None:
        if not interval_s > 0:
            raise ValueError(f"the recovery sweep's interval must be a positive number of "
                             f"seconds, got {interval_s!r}")
        self.service = service
        self.interval_s = float(interval_s)
        self.claims = ScreeningClaims(service.engine)
        self._orphans: set[str] = set()
        self._orphans_lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # -- screening ------------------------------------------------------------------------
    def screen_pending(self, older_than_s: float = 0.0) -> int:
        """Screen every scan still ``accepted`` that was stored ``older_than_s`` ago or
        earlier; returns how many it screened. A scan that cannot be (its bytes do not decode,
        or are missing) is marked ``failed`` with the reason. A database failure stops the
        round (raised): the next round starts over."""
        service = self.service
        if service.batcher.detector is None:
            return 0          # no model yet: activating one starts recovery
        before = store.utcnow() - timedelta(seconds=older_than_s)
        with service.sessions() as session:
            pending = session.scalars(select(Scan).where(Scan.status == "accepted",
                                                         Scan.created_at <= before)
                                      .order_by(Scan.created_at)).all()
        screened = 0
        for record in pending:
            if self._stopping.is_set():
                break
            if not self.claims.busy(record.id):
                screened += self._screen_one(record)
        if screened:
            log.info("screened %d scans that had been accepted but not screened", screened)
        return screened

    def _screen_one(self, record: Scan) -> int:
        """Screen one stored scan; 1 when it was screened here (or marked failed), else 0."""
        service = self.service
        try:
            manifest = parse_manifest_data(record.manifest)
            with service.batcher.admitted(wait=True):   # takes its turn with live requests
                screened = service.screening.screen_stored(
                    record.id, service.screening.decode_stored(record), manifest)
        except (NotReadyError, OverloadedError) as error:
            log.warning("scan %s left for the next sweep: %s", record.id, error)
            return 0
        except XscreenError as error:
            log.error("scan %s could not be screened: %s", record.id, error)
            service.scans.mark_failed(record.id, str(error))
            return 1
        return int(screened)      # 0: another thread or replica has it, or had it

    # -- blobs whose row never came ----------------------------------------------------------
    def forget_blobs(self, digests: Iterable[str]) -> None:
        """Remove these blobs (just written for a row that could not be inserted) unless a row
        names them; when the database cannot say, the sweep tries again."""
        digests = [d for d in digests if d]
        with self._orphans_lock:
            self._orphans.update(digests)
        try:
            self.remove_orphans()
        except Exception as error:  # the database is down: the sweep retries
            # never raised: the caller is already answering the database's own failure
            if database_problem(error) is None:
                log.exception("could not check blobs %s for rows; the sweep retries", digests)

    def remove_orphans(self) -> int:
        """Remove the orphan candidates no row names; returns how many were removed."""
        with self._orphans_lock:
            candidates = sorted(self._orphans)
        if not candidates:
            return 0
        with self.service.sessions() as session:
            named = set(session.scalars(select(Scan.blob).where(Scan.blob.in_(candidates))))
            named |= set(session.scalars(select(Scan.blob_low)
                                         .where(Scan.blob_low.in_(candidates))))
            named |= set(session.scalars(select(TipPresentation.blob)
                                         .where(TipPresentation.blob.in_(candidates))))
        removed = 0
        for digest in candidates:
            if digest not in named:
                self.service.blobs.path(digest).unlink(missing_ok=True)
                removed += 1
        with self._orphans_lock:
            self._orphans.difference_update(candidates)
        return removed

    # -- the sweep thread ---------------------------------------------------------------------
    def start(self) -> None:
        """Sweep every ``interval_s`` in a daemon thread until :meth:`stop`."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, daemon=True,
                                            name="xscreen-recovery-sweep")
            self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def sweep_once(self) -> int:
        """One round: orphan blobs, then the scans accepted more than an interval ago."""
        self.remove_orphans()
        return self.screen_pending(older_than_s=self.interval_s)

    def _loop(self) -> None:
        while not self._stopping.wait(self.interval_s):
            try:
                self.sweep_once()
            except Exception as error:  # the sweep must outlive any one failure
                if database_problem(error) is None:
                    log.exception("the recovery sweep failed; it runs again in %.0f s",
                                  self.interval_s)
                else:
                    log.warning("recovery sweep: the database is unavailable; again in %.0f s",
                                self.interval_s)
