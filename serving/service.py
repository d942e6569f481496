"""The service's composition root: one :class:`ScreeningService` per process builds the parts
and holds them, with no web framework in it. ``serving/app.py`` maps HTTP onto the parts:

- ``models``: :class:`~xscreen.serving.model_host.ModelHost` (registry, loading, swapping, the
  watcher thread);
- ``scans``: :class:`~xscreen.serving.scans.ScanRepository` (storage, queue, verdicts);
- ``screening``: :class:`~xscreen.serving.screening.Screening` (submit and detect, through the
  one pipeline, ``serving/pipeline.py``);
- ``renderings``: :class:`~xscreen.serving.renderings.Renderings` (PNG, TDR, training export);
- ``keys``: ``serving/keys.py``; ``recovery``: ``serving/recovery.py``.

Roles are checked by the routes (``serving/roles.py``), never here.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import text

from xscreen.serving import store
from xscreen.serving.batching import MicroBatcher
from xscreen.serving.blobs import BlobStore
from xscreen.serving.decode import DecodeLimits
from xscreen.serving.keys import KeyRing
from xscreen.serving.manifest import parse_manifest_data, parse_manifest_text  # noqa: F401
from xscreen.serving.metrics import Metrics
from xscreen.serving.model_host import ModelHost
from xscreen.serving.recovery import ScanRecovery
from xscreen.serving.registry import ModelRegistry
from xscreen.serving.renderings import Renderings
from xscreen.serving.risk import RiskConfig, load_risk_config
from xscreen.serving.roles import Principal, require_role  # noqa: F401  (re-exported)
from xscreen.serving.scans import (  # noqa: F401  (re-exported: their home was this module)
    CURSOR_PATTERN,
    DECISIONS,
    STATUSES,
    ScanRepository,
    decode_cursor,
    encode_cursor,
    scan_to_dict,
    verdict_to_dict,
)
from xscreen.serving.screening import Screening
from xscreen.serving.settings import Settings
from xscreen.serving.store import DbPartyHistory

log = logging.getLogger("xscreen.serving")


class ScreeningService:
    """One instance per process: the database, blob store, registry and batcher, and the
    parts built over them (see the module docstring)."""

    def __init__(self, settings: Settings, metrics: Metrics | None = None,
                 risk_config: RiskConfig | None = None) -> None:
        self.settings = settings
        self.metrics = metrics or Metrics()
        settings.home.mkdir(parents=True, exist_ok=True)
        self.engine = store.make_engine(settings.resolved_database_url)
        self.sessions = store.session_factory(self.engine)
        self.keys = KeyRing(self.sessions)
        self.blobs = BlobStore(settings.blobs_dir)
        self.registry = ModelRegistry(settings.models_dir)
        self.limits = DecodeLimits(settings.max_pixels, settings.min_side)
        workers, _ = settings.inference_layout()
        self.batcher = MicroBatcher(None, settings.max_batch, settings.max_wait_ms, self.metrics,
                                    workers, settings.max_queue)
        self.history = DbPartyHistory(self.sessions)
        # screens scans whose result missed the database, and never one twice at once
        self.recovery = ScanRecovery(self, settings.recovery_interval_s)
        # read and validated at start-up: a broken file stops the service with the key named
        self.risk_config = risk_config or load_risk_config(settings.risk_config)
        log.info("risk configuration %s from %s", self.risk_config.version,
                 settings.risk_config or "the packaged serving/risk.yaml")
        self.models = ModelHost(settings, self.registry, self.batcher, self.recover_pending)
        self.scans = ScanRepository(self.sessions, self.blobs, self.models.classes,
                                    self.recovery.forget_blobs)
        self.screening = Screening(self.scans, self.batcher, self.history, self.risk_config,
                                   self.limits, self.metrics, self.recovery.claims)
        self.renderings = Renderings(self.scans, self.limits, self.models.classes)

    # -- start-up and models -------------------------------------------------------------
    def first_admin_key(self) -> str | None:
        """The admin key created on a first start (no keys yet), else None."""
        return self.keys.first_admin_key()

    def load_initial_model(self) -> None:
        """Load the first model (:meth:`ModelHost.load_initial`)."""
        self.models.load_initial()

    def start_watching(self, interval_s: float = 2.0) -> None:
        """Follow the registry (``xscreen models activate``) and start the recovery sweep."""
        self.models.start_watching(interval_s)
        self.recovery.start()

    def ready(self) -> dict[str, Any]:
        """Readiness of the model and the database (each true/false, with a reason)."""
        database, reason = True, None
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as error:  # any driver error means not ready
            database, reason = False, str(error).splitlines()[0]
        model = self.batcher.detector
        return {"ready": database and model is not None, "database": database,
                "database_problem": reason, "model": model is not None,
                "model_problem": self.models.problem,
                "model_version": model.card.version if model is not None else None}

    def close(self) -> None:
        """Stop watching, finish queued inference, release the database."""
        self.models.stop()
        self.recovery.stop()
        self.batcher.close()
        self.engine.dispose()

    # -- keys -------------------------------------------------------------------------------
    def authenticate(self, token: str | None) -> Principal:
        key = self.keys.authenticate(token)     # revoked, expired, unknown: 401 (serving/keys.py)
        return Principal(key.id, key.role, key.name)

    def recover_pending(self) -> int:
        """Screen every scan accepted but not screened before now (the process stopped in
        between, or no model was loaded); newer ones are their own requests' work. The
        recovery sweep does the same every ``recovery_interval_s`` (serving/recovery.py)."""
        return self.recovery.screen_pending()
