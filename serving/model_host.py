"""The model host: which registered model serves, loading and swapping it without dropping a
request, and a watcher thread that follows ``xscreen models activate`` run beside the service.

The loaded model lives in the micro-batcher (``serving/batching.py``): a swap is one reference
assignment, and a batch runs on the model it started with.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from xscreen.errors import XscreenError
from xscreen.models.card import load_card
from xscreen.models.runtime import OnnxDetector
from xscreen.serving.batching import MicroBatcher
from xscreen.serving.registry import ModelRegistry, RegistryEntry
from xscreen.serving.settings import PACKAGED_MODEL, Settings

log = logging.getLogger("xscreen.serving")


class ModelHost:
    """The registry and the model the batcher runs; ``on_first_model`` is called (in a thread)
    when a model is loaded for the first time after :meth:`start_watching`."""

    def __init__(self, settings: Settings, registry: ModelRegistry, batcher: MicroBatcher,
                 on_first_model: Callable[[], object] | None = None) -> None:
        self.settings = settings
        self.registry = registry
        self.batcher = batcher
        self.problem: str | None = "no model loaded yet"
        self._on_first_model = on_first_model
        self._activation = threading.Lock()
        self._stopping = threading.Event()
        self._started = False
        self._watch_interval = 2.0
        self._watcher = threading.Thread(target=self._watch_registry, daemon=True,
                                         name="xscreen-registry-watch")

    def load_initial(self) -> None:
        """The explicit model (settings), else the registry's active version, else the packaged
        default; on failure the service stays up, not ready, and says why in the log."""
        try:
            chosen = self.settings.model
            if chosen is None and self.registry.active_version() is not None:
                self.activate(str(self.registry.active_version()))
                return
            chosen = chosen or PACKAGED_MODEL
            # whoever starts the service with a model chose it: no promotion gate
            entry = self.registry.add(chosen, force=True)
            self.activate(entry.version, force=True)
        except XscreenError as error:
            self.problem = str(error)
            log.error("not ready: no model loaded: %s (pass --model BUNDLE or set XSCREEN_MODEL)",
                      error)

    def activate(self, version: str, force: bool = False) -> RegistryEntry:
        """Load ``version`` and swap it in; requests in flight finish on the previous model.
        Refused (before anything loads) when the promotion gate has not cleared it, unless
        ``force``; a version that cannot load leaves the current one serving."""
        with self._activation:
            self.registry.check_promotion(version, force)
            detector = OnnxDetector(self.registry.bundle(version),
                                    threads=self.settings.inference_layout()[1],
                                    spinning=self.settings.ort_spinning)
            bundle = self.registry.activate(version, force)   # recorded only once it loaded
            first_model = self.batcher.detector is None
            self.batcher.swap(detector)
            self.problem = None
        log.info("model %s %s active", bundle.card.name, version)
        if first_model and self._started and self._on_first_model is not None:
            # scans accepted while no model was loaded can be screened now
            threading.Thread(target=self._on_first_model, daemon=True).start()
        return next(e for e in self.registry.versions() if e.version == version)

    def add(self, bundle_path: str | Path, force: bool = False) -> RegistryEntry:
        """Register a bundle (checked: sha256, ONNX, the promotion gate unless ``force``)."""
        return self.registry.add(bundle_path, force)

    def rollback(self) -> RegistryEntry:
        """Serve again the version that served before the current one."""
        return self.activate(self.registry.previous_version())

    def versions(self) -> list[RegistryEntry]:
        """The registered versions."""
        return list(self.registry.versions())

    def classes(self) -> tuple[str, ...]:
        """The class names of the serving model's card, else of the packaged default's (the
        contract's classes: a later model only appends)."""
        detector = self.batcher.detector
        if detector is not None:
            return tuple(detector.card.classes)
        return tuple(load_card(Path(PACKAGED_MODEL) / "model.json").classes)

    def start_watching(self, interval_s: float = 2.0) -> None:
        """Follow ``xscreen models activate`` run beside the service (polls ``active.json``)."""
        self._watch_interval = interval_s
        self._started = True
        self._watcher.start()

    def stop(self) -> None:
        """Stop the watcher (at its next poll)."""
        self._stopping.set()

    def _watch_registry(self) -> None:
        failed: str | None = None
        while not self._stopping.wait(self._watch_interval):
            wanted = self.registry.active_version()
            current = self.batcher.detector
            if not wanted or wanted == failed or (current and current.card.version == wanted):
                continue
            try:
                self.activate(wanted)
            except Exception:  # a bad bundle must not stop the watcher; say so once
                failed = wanted
                log.exception("could not activate model %s from the registry", wanted)
