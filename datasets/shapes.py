"""Objects as path-length maps: the synthesiser's drawing primitives.

An X-ray image is a projection: what matters at each pixel is how many centimetres of each material
the ray crossed. An :class:`Item` holds exactly that, one float map per material on the item's own
canvas, plus the labelled objects inside it. A :class:`Canvas` draws solids into those maps with
coordinates in millimetres, so object recipes carry real dimensions and the pixel pitch (mm per
pixel) is chosen by the scene.

Each primitive writes the chord length of the solid along the beam (which runs into the image):
a slab adds its thickness, a lying cylinder ``2*sqrt(r^2 - d^2)``, an ellipsoid its chord. Overlaps
add up, as path lengths do.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

_SUPERSAMPLE = 4  # polygon masks are drawn at 4x and averaged: anti-aliased edges


@dataclass
class LabelledObject:
    """A threat (or a counterfeit-prone item) inside an item, with its own footprint."""

    label: str                # contract class name: firearm, narcotics, gold, counterfeit
    kind: str                 # what it is: "pistol", "cocaine_brick", "gold_bar_1kg", ...
    material: str             # the main material, for the annotation's extras
    path_cm: np.ndarray       # this object's own total path length map (cm), item canvas
    mass_g: float = 0.0
    concealment: str = "none"
    source: str = "parametric"  # where the shape comes from: "parametric", "mesh:<file>", ...
    pose: tuple[float, float, float] | None = None  # 3D (yaw, pitch, roll) degrees, if drawn so


@dataclass
class Item:
    """Per-material path-length maps (cm) on one canvas, and the labelled objects within."""

    layers: dict[str, np.ndarray]
    objects: list[LabelledObject] = field(default_factory=list)
    kind: str = ""

    @property
    def shape(self) -> tuple[int, int]:
        first = next(iter(self.layers.values()))
        return first.shape[0], first.shape[1]


class Canvas:
    """Draws solids into per-material path-length maps.

    Coordinates and sizes are in millimetres; ``pitch_mm`` is the size of one pixel. Thicknesses
    are in millimetres too and are stored as centimetres (attenuation coefficients are per cm).
    """

    def __init__(self, width_mm: float, height_mm: float, pitch_mm: float) -> None:
        if pitch_mm <= 0:
            raise ValueError(f"pitch_mm must be positive, got {pitch_mm}")
        self.pitch_mm = pitch_mm
        self.width = max(1, int(np.ceil(width_mm / pitch_mm)))
        self.height = max(1, int(np.ceil(height_mm / pitch_mm)))
        self.layers: dict[str, np.ndarray] = {}
        self._recording: np.ndarray | None = None

    # --- bookkeeping -------------------------------------------------------------------------
    def _add(self, material: str, path_cm: np.ndarray) -> None:
        layer = self.layers.get(material)
        if layer is None:
            layer = self.layers[material] = np.zeros((self.height, self.width), np.float32)
        layer += path_cm
        if self._recording is not None:
            self._recording += path_cm

    def start_object(self) -> None:
        """Begin recording the path length of one labelled object (see :meth:`end_object`)."""
        self._recording = np.zeros((self.height, self.width), np.float32)

    def end_object(self) -> np.ndarray:
        """Stop recording; return the recorded object's total path-length map (cm)."""
        if self._recording is None:
            raise RuntimeError("end_object() without start_object()")
        recorded, self._recording = self._recording, None
        return recorded

    def item(self, objects: Sequence[LabelledObject] = (), kind: str = "") -> Item:
        if not self.layers:  # an empty drawing still has a canvas
            self.layers["air"] = np.zeros((self.height, self.width), np.float32)
        return Item(layers=self.layers, objects=list(objects), kind=kind)

    def mass_g(self, path_cm: np.ndarray, density: float) -> float:
        """Mass of a path-length map of one material: sum(t) * pixel area * density."""
        area_cm2 = (self.pitch_mm / 10.0) ** 2
        return float(path_cm.sum() * area_cm2 * density)

    # --- geometry helpers ---------------------------------------------------------------------
    def _grid(self) -> tuple[np.ndarray, np.ndarray]:
        """Pixel-centre coordinates in mm."""
        xs = (np.arange(self.width, dtype=np.float32) + 0.5) * self.pitch_mm
        ys = (np.arange(self.height, dtype=np.float32) + 0.5) * self.pitch_mm
        return np.meshgrid(xs, ys)

    def polygon_mask(self, points_mm: Sequence[tuple[float, float]]) -> np.ndarray:
        """Anti-aliased coverage (0-1) of a polygon given in mm."""
        scale = _SUPERSAMPLE / self.pitch_mm
        pts = np.round(np.asarray(points_mm, np.float64) * scale).astype(np.int32)
        big = np.zeros((self.height * _SUPERSAMPLE, self.width * _SUPERSAMPLE), np.uint8)
        cv2.fillPoly(big, [pts], 255)
        small = cv2.resize(big, (self.width, self.height), interpolation=cv2.INTER_AREA)
        return small.astype(np.float32) / 255.0

    # --- primitives ---------------------------------------------------------------------------
    def slab(self, material: str, points_mm: Sequence[tuple[float, float]],
             thickness_mm: float) -> None:
        """A flat solid of constant thickness with a polygon outline."""
        self._add(material, self.polygon_mask(points_mm) * (thickness_mm / 10.0))

    def rect(self, material: str, x_mm: float, y_mm: float, w_mm: float, h_mm: float,
             thickness_mm: float, angle_deg: float = 0.0) -> None:
        """A flat rectangular slab; ``(x, y)`` is its top-left corner before the rotation,
        which turns it about its centre."""
        self.slab(material, rotated_rect(x_mm, y_mm, w_mm, h_mm, angle_deg), thickness_mm)

    def ellipsoid(self, material: str, cx_mm: float, cy_mm: float, rx_mm: float, ry_mm: float,
                  depth_mm: float, angle_deg: float = 0.0, flat: float = 0.0) -> None:
        """An ellipsoid (``flat=0``) or a pillow-like rounded slab (``flat`` toward 1).

        Path length is ``depth * sqrt(1 - r^2)`` with ``r`` the normalised radius, raised to
        ``(1 - flat)`` so that flat > 0 squares off the profile (a brick wrapped in film).
        """
        x, y = self._grid()
        cos, sin = np.cos(np.radians(angle_deg)), np.sin(np.radians(angle_deg))
        u = ((x - cx_mm) * cos + (y - cy_mm) * sin) / max(rx_mm, 1e-3)
        v = (-(x - cx_mm) * sin + (y - cy_mm) * cos) / max(ry_mm, 1e-3)
        r2 = u * u + v * v
        profile = np.sqrt(np.clip(1.0 - r2, 0.0, 1.0)) ** (1.0 - np.clip(flat, 0.0, 0.95))
        self._add(material, profile.astype(np.float32) * (depth_mm / 10.0))

    def cylinder(self, material: str, p0_mm: tuple[float, float], p1_mm: tuple[float, float],
                 radius_mm: float, inner_radius_mm: float = 0.0) -> None:
        """A cylinder lying across the beam from ``p0`` to ``p1`` (a tube if ``inner_radius``).

        The chord through a cylinder at distance ``d`` from its axis is ``2*sqrt(r^2 - d^2)``;
        a tube subtracts its bore's chord.
        """
        x, y = self._grid()
        (x0, y0), (x1, y1) = p0_mm, p1_mm
        dx, dy = x1 - x0, y1 - y0
        length2 = max(dx * dx + dy * dy, 1e-6)
        t = np.clip(((x - x0) * dx + (y - y0) * dy) / length2, 0.0, 1.0)
        d2 = (x - (x0 + t * dx)) ** 2 + (y - (y0 + t * dy)) ** 2
        chord = 2.0 * np.sqrt(np.clip(radius_mm**2 - d2, 0.0, None))
        if inner_radius_mm > 0:
            chord -= 2.0 * np.sqrt(np.clip(inner_radius_mm**2 - d2, 0.0, None))
        self._add(material, chord.astype(np.float32) / 10.0)

    def disc(self, material: str, cx_mm: float, cy_mm: float, radius_mm: float,
             thickness_mm: float) -> None:
        """A flat disc (a coin, a watch face) seen face-on."""
        self.ring(material, cx_mm, cy_mm, radius_mm, 0.0, thickness_mm)

    def ring(self, material: str, cx_mm: float, cy_mm: float, outer_mm: float, inner_mm: float,
             thickness_mm: float) -> None:
        """A flat annulus seen face-on (a washer, a trigger guard, a finger ring)."""
        x, y = self._grid()
        r = np.sqrt((x - cx_mm) ** 2 + (y - cy_mm) ** 2)
        half = self.pitch_mm / 2
        coverage = np.clip((outer_mm + half - r) / self.pitch_mm, 0, 1)
        if inner_mm > 0:
            coverage *= np.clip((r - inner_mm + half) / self.pitch_mm, 0, 1)
        self._add(material, coverage.astype(np.float32) * (thickness_mm / 10.0))

    def polyline(self, material: str, points_mm: Sequence[tuple[float, float]],
                 radius_mm: float) -> None:
        """A wire or cable along a path: a chain of lying cylinders (joints overlap slightly)."""
        for a, b in itertools.pairwise(points_mm):
            self.cylinder(material, a, b, radius_mm)


def rotated_rect(x_mm: float, y_mm: float, w_mm: float, h_mm: float,
                 angle_deg: float = 0.0) -> list[tuple[float, float]]:
    """Corners of a rectangle rotated about its centre."""
    cx, cy = x_mm + w_mm / 2, y_mm + h_mm / 2
    cos, sin = np.cos(np.radians(angle_deg)), np.sin(np.radians(angle_deg))
    corners = [(-w_mm / 2, -h_mm / 2), (w_mm / 2, -h_mm / 2), (w_mm / 2, h_mm / 2),
               (-w_mm / 2, h_mm / 2)]
    return [(cx + u * cos - v * sin, cy + u * sin + v * cos) for u, v in corners]


def transform_item(item: Item, angle_deg: float, flip: bool = False, squash: float = 1.0) -> Item:
    """Rotate an item in the image plane, optionally mirrored and foreshortened.

    ``squash`` < 1 tilts the item out of the image plane: its footprint shrinks along x by
    ``squash`` and its path lengths grow by ``1/squash`` (the same volume, seen at a slant).
    """
    h, w = item.shape
    matrix = np.asarray(cv2.getRotationMatrix2D((w / 2, h / 2), angle_deg, 1.0), np.float64)
    if flip:
        matrix = matrix @ np.array([[-1, 0, w], [0, 1, 0], [0, 0, 1]], np.float64)
    matrix[0, :] *= squash
    corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], np.float64).T
    mapped = matrix @ corners
    x_min, y_min = mapped.min(axis=1)
    x_max, y_max = mapped.max(axis=1)
    matrix[:, 2] -= (x_min, y_min)
    size = (int(np.ceil(x_max - x_min)) + 1, int(np.ceil(y_max - y_min)) + 1)
    gain = 1.0 / squash

    def warp(path: np.ndarray) -> np.ndarray:
        out = cv2.warpAffine(path, matrix, size, flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        return out * np.float32(gain)

    layers = {name: warp(path) for name, path in item.layers.items()}
    objects = [replace(o, path_cm=warp(o.path_cm)) for o in item.objects]
    return Item(layers=layers, objects=objects, kind=item.kind)


def merge(items: Sequence[tuple[Item, tuple[int, int]]], kind: str = "") -> Item:
    """Combine items placed at pixel offsets ``(x, y)`` into one item (a concealment, a lot)."""
    width = max(off[0] + it.shape[1] for it, off in items)
    height = max(off[1] + it.shape[0] for it, off in items)
    layers: dict[str, np.ndarray] = {}
    objects: list[LabelledObject] = []
    for it, (ox, oy) in items:
        h, w = it.shape
        for name, path in it.layers.items():
            target = layers.setdefault(name, np.zeros((height, width), np.float32))
            target[oy:oy + h, ox:ox + w] += path
        for obj in it.objects:
            full = np.zeros((height, width), np.float32)
            full[oy:oy + h, ox:ox + w] = obj.path_cm
            objects.append(replace(obj, path_cm=full))
    return Item(layers=layers, objects=objects, kind=kind)
