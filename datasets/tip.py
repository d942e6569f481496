"""Threat image projection (TIP): put a threat into an existing scan.

X-ray transmission multiplies: a ray that crosses a parcel and a threat keeps
``T_parcel * T_threat`` of its photons. So a threat is projected into a raw dual-energy scan by
multiplying both channels by the threat's own transmission, and into a pseudo-colour image by
multiplying the image by the threat rendered alone on white (each palette's colours darken
multiplicatively with attenuation, so this is the image-domain equivalent). Training uses it to put
threats into benign scans, real ones included; the operator viewer uses it to test operators.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xscreen.datasets import objects
from xscreen.datasets.colour import render
from xscreen.datasets.physics import ScannerConfig, get_scanner
from xscreen.datasets.scene import Annotation, object_box, overlap, random_pose
from xscreen.datasets.shapes import Item


@dataclass
class Projection:
    """A scan with a threat projected into it, and the threat's boxes (``[x, y, w, h]``)."""

    image: np.ndarray                      # RGB uint8, or high (uint16) for raw input
    low: np.ndarray | None                 # the low channel, for raw input
    annotations: list[Annotation]


def project_raw(high: np.ndarray, low: np.ndarray, threat: Item, x: int, y: int,
                config: ScannerConfig = ScannerConfig()) -> Projection:
    """Multiply a raw scan (16-bit, 65535 = air) by a threat's transmission at (x, y)."""
    t_high, t_low = get_scanner(config).transmission(threat.layers)
    out_high, out_low = high.copy(), low.copy()
    frame, local = overlap(x, y, t_high.shape, high.shape[1], high.shape[0])
    for out, t in ((out_high, t_high), (out_low, t_low)):
        if frame is not None and local is not None:
            out[frame] = np.clip(np.round(out[frame] * t[local]), 1, 65535).astype(np.uint16)
    return Projection(out_high, out_low, _boxes(threat, x, y, high.shape))


def project_rgb(rgb: np.ndarray, threat: Item, x: int, y: int, palette: str | None = None,
                config: ScannerConfig = ScannerConfig()) -> Projection:
    """Multiply a pseudo-colour scan by the threat rendered alone on white, at (x, y).

    ``palette`` defaults to ``grey`` for a greyscale scan and ``classic`` otherwise.
    """
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[..., None], 3, axis=2)
    if palette is None:
        palette = "grey" if _is_greyscale(rgb) else "classic"
    t_high, t_low = get_scanner(config).transmission(threat.layers)
    alone = render(_to_uint16(t_high), _to_uint16(t_low), palette, config)
    out = rgb.copy()
    frame, local = overlap(x, y, alone.shape[:2], rgb.shape[1], rgb.shape[0])
    if frame is not None and local is not None:
        blended = out[frame].astype(np.float32) * alone[local].astype(np.float32) / 255.0
        out[frame] = np.clip(np.round(blended), 0, 255).astype(np.uint8)
    return Projection(out, None, _boxes(threat, x, y, rgb.shape[:2]))


def random_threat(rng: np.random.Generator, label: str | None = None, pitch_mm: float = 1.0
                  ) -> Item:
    """One posed threat of a class (random class if None) drawn at the given pixel pitch."""
    from xscreen import CLASSES

    chosen = label if label is not None else CLASSES[int(rng.integers(len(CLASSES)))]
    return random_pose(objects.threat_items(rng, pitch_mm, chosen)[0], rng)


def project_random(image: np.ndarray, rng: np.random.Generator, label: str | None = None,
                   pitch_mm: float = 1.0, low: np.ndarray | None = None) -> Projection:
    """Project a random threat into a random spot of a scan, preferring the parcel itself.

    ``image`` is an RGB uint8 scan, or the high channel of a raw scan with ``low`` given.
    """
    threat = random_threat(rng, label, pitch_mm)
    x, y = _spot(image if low is None else (image // 257).astype(np.uint8), threat.shape, rng)
    if low is not None:
        return project_raw(image, low, threat, x, y)
    return project_rgb(image, threat, x, y)


def project_threat(image: np.ndarray, boxes: np.ndarray, labels: np.ndarray,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training's online TIP: project a random threat into an RGB scan and add its boxes.

    ``boxes`` are ``[K, 4]`` x1, y1, x2, y2 pixels and ``labels`` ``[K]`` class indices; the
    projected threat's boxes and labels are appended. The pixel pitch is drawn from the
    synthesiser's range for the scan's width, so threats come at believable sizes.
    """
    from xscreen import CLASSES

    pitch = float(rng.uniform(0.6, 1.5)) * 1000.0 / max(image.shape[1], 1)
    projection = project_random(image, rng, pitch_mm=pitch)
    added = [[x, y, x + w, y + h] for x, y, w, h in (a.box for a in projection.annotations)]
    new_boxes = np.concatenate([boxes.reshape(-1, 4),
                                np.asarray(added, np.float32).reshape(-1, 4)]).astype(np.float32)
    new_labels = np.concatenate([labels.reshape(-1), np.asarray(
        [CLASSES.index(a.label) for a in projection.annotations], np.int64)])
    return projection.image, new_boxes, new_labels


def _spot(image: np.ndarray, shape: tuple[int, int], rng: np.random.Generator) -> tuple[int, int]:
    """A top-left corner where the threat overlaps the parcel (non-white pixels) if it can."""
    height, width = image.shape[:2]
    h, w = shape
    grey = image.mean(axis=2) if image.ndim == 3 else image
    best, best_score = (0, 0), -1.0
    for _ in range(12):
        x = int(rng.integers(min(0, width - w), max(width - w, 0) + 1))
        y = int(rng.integers(min(0, height - h), max(height - h, 0) + 1))
        patch = grey[max(y, 0):y + h, max(x, 0):x + w]
        score = float((patch < 235).mean()) if patch.size else 0.0
        if score > best_score:
            best, best_score = (x, y), score
    return best


def _boxes(threat: Item, x: int, y: int, shape: tuple[int, ...]) -> list[Annotation]:
    boxes = [object_box(obj, x, y, shape[1], shape[0]) for obj in threat.objects]
    return [box for box in boxes if box is not None]


def _to_uint16(transmission: np.ndarray) -> np.ndarray:
    return np.clip(np.round(transmission * 65535.0), 1, 65535).astype(np.uint16)


def _is_greyscale(rgb: np.ndarray) -> bool:
    return np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2])
