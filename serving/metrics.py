"""Prometheus metrics of one service instance (its own registry, so several apps can coexist)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64)


@dataclass
class Metrics:
    """Request, queue and inference durations, batch sizes and errors."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        reg = self.registry
        self.requests = Histogram("xscreen_request_seconds", "HTTP request duration",
                                  ["method", "route", "status"], registry=reg,
                                  buckets=LATENCY_BUCKETS)
        self.errors = Counter("xscreen_errors_total", "Problem responses by status and type",
                              ["status", "type"], registry=reg)
        self.queue = Histogram("xscreen_queue_seconds", "Time an image waited for a batch",
                               registry=reg, buckets=LATENCY_BUCKETS)
        self.inference = Histogram("xscreen_inference_seconds", "ONNX Runtime time per batch",
                                   registry=reg, buckets=LATENCY_BUCKETS)
        self.batch_size = Histogram("xscreen_batch_size", "Images per inference batch",
                                    registry=reg, buckets=BATCH_BUCKETS)
        self.screened = Counter("xscreen_scans_screened_total", "Scans screened", registry=reg)
        self.queue_depth = Gauge("xscreen_queue_depth", "Images waiting for inference",
                                 registry=reg)
        self.in_flight = Gauge("xscreen_requests_in_flight", "HTTP requests being served",
                               registry=reg)
        self.model_ready = Gauge("xscreen_model_ready", "1 when a model is loaded", registry=reg)
