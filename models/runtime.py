"""Inference with a bundle through ONNX Runtime (no torch): what serving, ``detect`` and ``eval``
share.

``image (RGB uint8) -> letterbox -> ONNX session -> rows in input pixels -> original pixels ->
per-class thresholds -> Detections``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from xscreen.errors import ModelBundleError
from xscreen.models.card import Bundle, load_bundle
from xscreen.models.preprocess import LetterboxInfo, letterbox, unletterbox_boxes

INPUT_NAME = "images"
OUTPUT_NAME = "detections"


@dataclass
class Detections:
    """One image's detections in original pixels, sorted by score.

    ``boxes`` [K, 4] float32 x1, y1, x2, y2; ``scores`` [K] float32; ``labels`` [K] int64 indices
    into the card's classes.
    """

    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray

    def __post_init__(self) -> None:
        count = len(self.scores)
        if self.boxes.shape != (count, 4) or self.labels.shape != (count,):
            raise ValueError(f"expected boxes [{count}, 4] and labels [{count}], got "
                             f"{self.boxes.shape} and {self.labels.shape}")

    def __len__(self) -> int:
        return len(self.scores)

    def select(self, keep: np.ndarray) -> Detections:
        """The detections where boolean ``keep`` is true."""
        return Detections(self.boxes[keep], self.scores[keep], self.labels[keep])

    def to_records(self, classes: Sequence[str]) -> list[dict[str, Any]]:
        """JSON-ready ``{label, score, box}`` dicts (box rounded to 0.1 pixel)."""
        return [{"label": classes[int(label)], "score": round(float(score), 4),
                 "box": [round(float(v), 1) for v in box]}
                for box, score, label in zip(self.boxes, self.scores, self.labels, strict=True)]


def rows_to_detections(rows: np.ndarray, info: LetterboxInfo, width: int,
                       height: int) -> Detections:
    """Model output rows [K, 6] (input pixels, zero-padded) to detections in original pixels."""
    rows = rows[rows[:, 4] > 0]
    boxes = unletterbox_boxes(rows[:, :4], info, width, height)
    return Detections(boxes, rows[:, 4].astype(np.float32), rows[:, 5].astype(np.int64))


def apply_thresholds(detections: Detections, thresholds: Sequence[float]) -> Detections:
    """Drop each detection scoring under its class's threshold."""
    limits = np.asarray(thresholds, dtype=np.float32)
    valid = detections.labels < len(limits)
    keep = valid & (detections.scores >= limits[np.minimum(detections.labels, len(limits) - 1)])
    return detections.select(keep)


PROVIDER_PREFERENCE = ("TensorrtExecutionProvider", "CUDAExecutionProvider",
                       "CPUExecutionProvider")


def available_providers(preference: Sequence[str] = PROVIDER_PREFERENCE) -> list[str]:
    """The providers of ``preference`` that the installed ONNX Runtime build has, in order
    (TensorRT, CUDA, CPU by default); CPU is always last."""
    import onnxruntime as ort

    installed = set(ort.get_available_providers())
    chosen = [name for name in preference if name in installed and name != "CPUExecutionProvider"]
    return [*chosen, "CPUExecutionProvider"]


def create_session(model_path: str | Path, threads: int | None = None,
                   providers: Sequence[str] | None = None, spinning: bool = True) -> Any:
    """An ONNX Runtime session on the best installed providers (TensorRT, CUDA, then CPU, or
    ``providers`` in that order) with ``threads`` intra-op threads (ORT's default when None).

    ``spinning=False`` makes ORT's idle pool threads sleep instead of busy-waiting for the next
    op: a little slower per call, but the cores are left to whatever else the process does
    between calls (a server decoding and storing uploads)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    if not spinning:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    chosen = list(providers) if providers is not None else available_providers()
    try:
        return ort.InferenceSession(str(model_path), options, providers=chosen)
    except Exception as error:  # ORT raises its own exception types per failure
        raise ModelBundleError(f"ONNX Runtime cannot load {model_path}: {error}") from None


class OnnxDetector:
    """A loaded bundle: ``detect(image)`` returns thresholded detections in original pixels."""

    def __init__(self, bundle: Bundle | str | Path, threads: int | None = None,
                 providers: Sequence[str] | None = None, spinning: bool = True) -> None:
        self.bundle = bundle if isinstance(bundle, Bundle) else load_bundle(bundle)
        self.card = self.bundle.card
        self.session = create_session(self.bundle.model_path, threads, providers, spinning)

    def run(self, images: np.ndarray) -> np.ndarray:
        """The raw graph: ``[N, 3, H, W]`` float32 to ``[N, K, 6]`` rows."""
        output: np.ndarray = self.session.run([OUTPUT_NAME], {INPUT_NAME: images})[0]
        return output

    def detect_all(self, image: np.ndarray) -> Detections:
        """Every detection the graph returns for an RGB (or greyscale) image, unthresholded."""
        array, info = letterbox(image, self.card.input_size, stride=self.card.letterbox_stride)
        rows = self.run(array[None])[0]
        return rows_to_detections(rows, info, image.shape[1], image.shape[0])

    def detect(self, image: np.ndarray) -> Detections:
        """Detections at the card's per-class thresholds (its operating point)."""
        return apply_thresholds(self.detect_all(image), self.card.threshold_list())
