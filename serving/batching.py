"""Dynamic micro-batching, as Triton's dynamic batcher does: concurrent requests' images are
gathered for at most ``max_wait_ms`` (or until ``max_batch`` are waiting) and run as one ONNX
Runtime call. The detector can be swapped at any moment: a batch runs on the detector it started
with, so no request fails during an activation.

With ``workers`` > 1, that many threads each gather and run their own batches on the shared
session, like Triton's model instances: on a small CPU, two single-threaded runs side by side
beat one run on two threads, because one preempted thread no longer stalls the other at each
operator's barrier while the same cores also decode and store uploads.

The queue is bounded (issue 21, overload): a caller first takes one of ``max_queue`` places with
:meth:`MicroBatcher.admitted` and holds it until its image has run; when none is free it is
refused at once with :class:`OverloadedError` (503 and ``Retry-After``) instead of waiting behind
an ever longer queue, so the latency of the requests accepted stays bounded.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from xscreen.models.card import ModelCard
from xscreen.models.preprocess import LetterboxInfo, letterbox
from xscreen.models.runtime import Detections, OnnxDetector, apply_thresholds, rows_to_detections
from xscreen.serving.errors import NotReadyError, OverloadedError
from xscreen.serving.metrics import Metrics

log = logging.getLogger("xscreen.serving.batching")


@dataclass(frozen=True)
class ModelResult:
    """Detections of one image (thresholded, original pixels) and how they were made."""

    detections: Detections
    card: ModelCard
    queue_ms: float
    inference_ms: float
    batch_size: int


@dataclass
class _Request:
    image: np.ndarray
    placed: tuple[np.ndarray, LetterboxInfo]  # letterboxed by the caller, off the batch thread
    input_size: int                           # ... for this size (a swap may change it)
    future: Future[ModelResult]
    enqueued: float


class DirectInfer:
    """Inference without batching: each call runs its own ONNX Runtime call (CLI, baselines)."""

    def __init__(self, detector: OnnxDetector) -> None:
        self.detector = detector

    def infer(self, image: np.ndarray) -> ModelResult:
        started = time.perf_counter()
        detections = run_batch(self.detector, [image])[0]
        elapsed = (time.perf_counter() - started) * 1000
        return ModelResult(detections, self.detector.card, 0.0, elapsed, 1)


class MicroBatcher:
    """One worker thread feeding the current :class:`OnnxDetector` with batches."""

    def __init__(self, detector: OnnxDetector | None, max_batch: int = 8,
                 max_wait_ms: float = 2.0, metrics: Metrics | None = None,
                 workers: int = 1, max_queue: int = 32) -> None:
        if max_queue < 1:
            raise ValueError(f"max_queue must be at least 1 (images screened at once), got "
                             f"{max_queue}; set XSCREEN_MAX_QUEUE to a positive number")
        self.detector = detector
        self.max_queue = max_queue
        self._places = threading.BoundedSemaphore(max_queue)
        self._batch_seconds = 0.05   # a running mean of one batch's time, for Retry-After
        self.max_batch = max(1, max_batch)
        self.max_wait = max(0.0, max_wait_ms) / 1000.0
        self.metrics = metrics or Metrics()
        self._queue: queue.Queue[_Request | None] = queue.Queue()
        self._workers = [threading.Thread(target=self._loop, name=f"xscreen-batcher-{index}",
                                          daemon=True) for index in range(max(1, workers))]
        for worker in self._workers:
            worker.start()

    def swap(self, detector: OnnxDetector) -> None:
        """Make ``detector`` the one for the next batch (reference assignment is atomic)."""
        self.detector = detector
        self.metrics.model_ready.set(1)

    @contextmanager
    def admitted(self, wait: bool = False) -> Iterator[None]:
        """Hold one of the ``max_queue`` places for the block (the caller's :meth:`infer` and
        whatever it does around it). When none is free: :class:`OverloadedError` at once, or,
        with ``wait`` (background work such as start-up recovery), wait for one."""
        if not self._places.acquire(blocking=wait):
            raise OverloadedError(
                f"the service is screening as many scans as it queues ({self.max_queue}); "
                "nothing was stored: retry after the Retry-After seconds (same "
                "Idempotency-Key), or raise XSCREEN_MAX_QUEUE where the hardware can take more",
                self.retry_after_s())
        try:
            yield
        finally:
            self._places.release()

    def retry_after_s(self) -> int:
        """Seconds until a full queue has likely drained: its batches, shared among the
        workers, at the recent time per batch (at least 1)."""
        batches = math.ceil(self.max_queue / (self.max_batch * len(self._workers)))
        return max(1, math.ceil(batches * self._batch_seconds))

    def infer(self, image: np.ndarray) -> ModelResult:
        """Detections for one RGB image; blocks until its batch has run. Callers that must be
        bounded hold a place from :meth:`admitted` around it."""
        detector = self.detector
        if detector is None:
            raise NotReadyError("no model is loaded; start the service with --model BUNDLE or "
                                "activate one with 'xscreen models activate VERSION'")
        size = detector.card.input_size
        placed = letterbox(image, size, stride=detector.card.letterbox_stride)
        request = _Request(image, placed, size, Future(), time.perf_counter())
        self._queue.put(request)
        self.metrics.queue_depth.inc()
        return request.future.result()

    def close(self) -> None:
        """Finish the queued images, then stop the workers (one stop sentinel each)."""
        for _ in self._workers:
            self._queue.put(None)
        for worker in self._workers:
            worker.join(timeout=30)

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            deadline = time.perf_counter() + self.max_wait
            stop = self._gather(batch, deadline)
            self.metrics.queue_depth.dec(len(batch))
            self._run(batch)
            if stop:
                return

    def _gather(self, batch: list[_Request], deadline: float) -> bool:
        """Add waiting requests to ``batch`` until it is full or the deadline passes; True when
        the stop sentinel was met."""
        while len(batch) < self.max_batch:
            remaining = deadline - time.perf_counter()
            try:
                item = self._queue.get(timeout=remaining) if remaining > 0 else \
                    self._queue.get_nowait()
            except queue.Empty:
                return False
            if item is None:
                return True
            batch.append(item)
        return False

    def _run(self, batch: list[_Request]) -> None:
        detector = self.detector
        assert detector is not None
        started = time.perf_counter()
        try:
            size = detector.card.input_size
            results = run_batch(detector, [r.image for r in batch],
                                [r.placed if r.input_size == size else None for r in batch])
        except Exception as error:  # hand every failure to its request, keep the worker alive
            log.exception("inference failed for a batch of %d", len(batch))
            for request in batch:
                request.future.set_exception(error)
            return
        seconds = time.perf_counter() - started
        self._batch_seconds = 0.8 * self._batch_seconds + 0.2 * seconds
        self.metrics.inference.observe(seconds)
        self.metrics.batch_size.observe(len(batch))
        for request, detections in zip(batch, results, strict=True):
            waited = started - request.enqueued
            self.metrics.queue.observe(waited)
            request.future.set_result(ModelResult(detections, detector.card, waited * 1000,
                                                  seconds * 1000, len(batch)))


def run_batch(detector: OnnxDetector, images: list[np.ndarray],
              placed_already: list[tuple[np.ndarray, LetterboxInfo] | None] | None = None
              ) -> list[Detections]:
    """Letterbox each image (unless ``placed_already`` has it for this detector's input size),
    pad all to one shape with white (1.0, air: the image sits top-left, so padding more changes
    nothing) and run them as one batch."""
    given = placed_already or [None] * len(images)
    card = detector.card
    placed = [ready if ready is not None
              else letterbox(image, card.input_size, stride=card.letterbox_stride)
              for image, ready in zip(images, given, strict=True)]
    height = max(array.shape[1] for array, _ in placed)
    width = max(array.shape[2] for array, _ in placed)
    batch = np.full((len(placed), 3, height, width), detector.card.pad_value, np.float32)
    for index, (array, _) in enumerate(placed):
        batch[index, :, :array.shape[1], :array.shape[2]] = array
    rows = detector.run(batch)
    thresholds = detector.card.threshold_list()
    return [apply_thresholds(rows_to_detections(rows[i], info, image.shape[1], image.shape[0]),
                             thresholds)
            for i, ((_, info), image) in enumerate(zip(placed, images, strict=True))]
