"""The training export: operators' verdicts as a COCO dataset in a zip (CONTRACT "Datasets"):
``images/`` (the pseudo-colour PNGs) and ``annotations.json``, ready for ``xscreen train``.

Each image says where its boxes come from: ``verdict`` is the decision they stand for (the
scan's latest), ``verdicts`` every verdict given on it, oldest first (decision, labels, note,
operator, time), so a label changed by a second look stays traceable."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np


@dataclass(frozen=True)
class Example:
    """One reviewed scan: its rendering, the verdict and the boxes that verdict stands for;
    ``history``: every verdict on the scan, oldest first, the last being ``decision``'s."""

    name: str
    rgb: np.ndarray
    decision: str
    labels: list[dict[str, Any]]
    history: tuple[dict[str, Any], ...] = ()


def verdict_labels(decision: str, corrected: list[dict[str, Any]] | None,
                   detections: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Corrected labels when the operator gave them, else the detections of a confirmed
    threat; a cleared scan without corrections is a negative (no boxes)."""
    if corrected is not None:
        return list(corrected)
    return list(detections) if decision == "threat_confirmed" else []


def coco_zip(examples: Iterable[Example], classes: tuple[str, ...]) -> bytes:
    """The zip of a COCO dataset holding ``examples``; its categories are ``classes`` (the
    serving model card's: the contract's, then any a model appended), extended by any other
    label an example carries."""
    from xscreen.datasets.coco import categories

    names = list(classes)
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for example in examples:
            image_id = len(images) + 1
            _, encoded = cv2.imencode(".png", cv2.cvtColor(example.rgb, cv2.COLOR_RGB2BGR))
            archive.writestr(f"images/{example.name}", encoded.tobytes())
            height, width = example.rgb.shape[:2]
            images.append({"id": image_id, "file_name": example.name, "width": width,
                           "height": height, "verdict": example.decision,
                           "verdicts": list(example.history)})
            names += [label["label"] for label in example.labels if label["label"] not in names]
            annotations.extend(_annotation(len(annotations) + i + 1, image_id, label,
                                           names.index(label["label"]) + 1)
                               for i, label in enumerate(example.labels))
        archive.writestr("annotations.json", json.dumps(
            {"images": images, "annotations": annotations,
             "categories": categories(tuple(names))}, indent=1))
    return buffer.getvalue()


def _annotation(annotation_id: int, image_id: int, label: dict[str, Any],
                category_id: int) -> dict[str, Any]:
    x1, y1, x2, y2 = (float(v) for v in label["box"])
    return {"id": annotation_id, "image_id": image_id, "category_id": category_id,
            "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1), "iscrowd": 0}
