"""A canvas for object recipes: millimetre coordinates from the item's own origin, fast primitives.

:class:`ItemCanvas` is a :class:`~xscreen.datasets.shapes.Canvas` with three additions that every
recipe in this package relies on:

- a margin, so a recipe draws from ``(0, 0)`` and the item's canvas is tightly cropped around it;
- windowed primitives: each solid is drawn only over the pixels under its bounding box (the base
  class evaluates every primitive over the whole canvas, which is slow for a rifle at 0.8 mm);
- labelled objects with their mass: while an object is recorded, the mass of every material added
  is summed (``Canvas.mass_g`` of each contribution), so a firearm's steel, nylon and brass all
  count.

Some primitives are redrawn so that mass does not depend on the pitch: cylinders have flat ends
and a chord averaged over each pixel (a 0.25 mm tin-can wall or a 0.3 mm wire keeps its volume at
2 mm per pixel), axis-aligned rectangles get exact edge coverage, and wires and cables are drawn
with OpenCV at their true volume. A few solids the base class lacks are here too: a rounded
"pillow" (a wrapped brick, a bag of powder) of a given volume, prisms with any chord profile (a
revolver cylinder with its chambers), walls seen edge-on, and one small solid stamped many times
(pills, grains, chain links).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import TypeVar

import cv2
import numpy as np

from xscreen.datasets.materials import material
from xscreen.datasets.shapes import Canvas, Item, LabelledObject

Point = tuple[float, float]
ThreatRecipe = Callable[[np.random.Generator, float], list[Item]]  # (rng, pitch_mm) -> items
_SUPERSAMPLE = 4  # same anti-aliasing as the base class's polygon masks


class ItemCanvas(Canvas):
    """A canvas for one item: recipes draw in mm from ``(0, 0)``; a margin surrounds the drawing."""

    def __init__(self, width_mm: float, height_mm: float, pitch_mm: float,
                 margin_mm: float = 2.0) -> None:
        if margin_mm > 0:  # at least a pixel and a half, so edges never touch the border
            margin_mm = max(margin_mm, 1.5 * pitch_mm)
        super().__init__(width_mm + 2 * margin_mm, height_mm + 2 * margin_mm, pitch_mm)
        self.margin_mm = margin_mm
        self._window: tuple[int, int, int, int] | None = None  # rows r0:r1, columns c0:c1
        self._masses: dict[str, float] = {}
        self._subtracted = False  # something was carved out: clip the layers at zero when done

    # --- windows ------------------------------------------------------------------------------
    @contextmanager
    def _window_over(self, x0: float, y0: float, x1: float, y1: float) -> Iterator[bool]:
        """Restrict drawing to the pixels under a box in canvas mm; yields False if off-canvas."""
        p = self.pitch_mm
        c0, c1 = max(0, int(np.floor(x0 / p)) - 1), min(self.width, int(np.ceil(x1 / p)) + 1)
        r0, r1 = max(0, int(np.floor(y0 / p)) - 1), min(self.height, int(np.ceil(y1 / p)) + 1)
        if c0 >= c1 or r0 >= r1:
            yield False
            return
        self._window = (r0, r1, c0, c1)
        try:
            yield True
        finally:
            self._window = None

    def _grid(self) -> tuple[np.ndarray, np.ndarray]:
        if self._window is None:
            return super()._grid()
        r0, r1, c0, c1 = self._window
        xs = (np.arange(c0, c1, dtype=np.float32) + 0.5) * self.pitch_mm
        ys = (np.arange(r0, r1, dtype=np.float32) + 0.5) * self.pitch_mm
        grid_x, grid_y = np.meshgrid(xs, ys)
        return grid_x, grid_y

    def polygon_mask(self, points_mm: Sequence[Point]) -> np.ndarray:
        """Anti-aliased coverage of a polygon (canvas mm), over the current window if any."""
        if self._window is None:
            return super().polygon_mask(points_mm)
        r0, r1, c0, c1 = self._window
        # big polygons (a parcel's flaps): their edges matter less than the time
        supersample = _SUPERSAMPLE if (r1 - r0) * (c1 - c0) < 250_000 else 2
        scale = supersample / self.pitch_mm
        origin = np.array([c0 * self.pitch_mm, r0 * self.pitch_mm])
        pts = np.round((np.asarray(points_mm, np.float64) - origin) * scale).astype(np.int32)
        big = np.zeros(((r1 - r0) * supersample, (c1 - c0) * supersample), np.uint8)
        cv2.fillPoly(big, [pts], 255)
        small = cv2.resize(big, (c1 - c0, r1 - r0), interpolation=cv2.INTER_AREA)
        return small.astype(np.float32) / 255.0

    def _add(self, material_name: str, path_cm: np.ndarray) -> None:
        density = material(material_name).density  # unknown names fail here, listing the known
        r0, r1, c0, c1 = self._window or (0, self.height, 0, self.width)
        layer = self.layers.get(material_name)
        if layer is None:
            layer = self.layers[material_name] = np.zeros((self.height, self.width), np.float32)
        layer[r0:r1, c0:c1] += path_cm
        if self._recording is not None:
            self._recording[r0:r1, c0:c1] += path_cm
            grams = self.mass_g(path_cm, density)
            self._masses[material_name] = self._masses.get(material_name, 0.0) + grams

    def _shift(self, points_mm: Sequence[Point]) -> list[Point]:
        m = self.margin_mm
        return [(float(x) + m, float(y) + m) for x, y in points_mm]

    # --- the base primitives, windowed and shifted by the margin -------------------------------
    def slab(self, material_name: str, points_mm: Sequence[Point], thickness_mm: float) -> None:
        """A flat solid of constant thickness with a polygon outline (item mm)."""
        shifted = self._shift(points_mm)
        xs, ys = [p[0] for p in shifted], [p[1] for p in shifted]
        with self._window_over(min(xs), min(ys), max(xs), max(ys)) as inside:
            if inside:
                super().slab(material_name, shifted, thickness_mm)

    def rect(self, material_name: str, x_mm: float, y_mm: float, w_mm: float, h_mm: float,
             thickness_mm: float, angle_deg: float = 0.0) -> None:
        """A rectangular slab; axis-aligned ones get exact analytic edge coverage."""
        self._subtracted |= thickness_mm < 0
        if angle_deg % 180 != 0:
            super().rect(material_name, x_mm, y_mm, w_mm, h_mm, thickness_mm, angle_deg)
            return
        x0, y0 = x_mm + self.margin_mm, y_mm + self.margin_mm
        with self._window_over(x0, y0, x0 + w_mm, y0 + h_mm) as inside:
            if inside:
                r0, r1, c0, c1 = self._window or (0, self.height, 0, self.width)
                xs = (np.arange(c0, c1, dtype=np.float32) + 0.5) * self.pitch_mm
                ys = (np.arange(r0, r1, dtype=np.float32) + 0.5) * self.pitch_mm
                cover_x = _interval_cover(xs, x0, x0 + w_mm, self.pitch_mm)
                cover_y = _interval_cover(ys, y0, y0 + h_mm, self.pitch_mm)
                self._add(material_name, np.outer(cover_y, cover_x * np.float32(
                    thickness_mm / 10.0)))

    def ellipsoid(self, material_name: str, cx_mm: float, cy_mm: float, rx_mm: float,
                  ry_mm: float, depth_mm: float, angle_deg: float = 0.0,
                  flat: float = 0.0) -> None:
        """An ellipsoid or pillow (see the base class), centre in item mm."""
        cx, cy = cx_mm + self.margin_mm, cy_mm + self.margin_mm
        reach = max(rx_mm, ry_mm)
        with self._window_over(cx - reach, cy - reach, cx + reach, cy + reach) as inside:
            if inside:
                super().ellipsoid(material_name, cx, cy, rx_mm, ry_mm, depth_mm, angle_deg, flat)

    def cylinder(self, material_name: str, p0_mm: Point, p1_mm: Point, radius_mm: float,
                 inner_radius_mm: float = 0.0) -> None:
        """A cylinder with flat ends lying across the beam (a tube if ``inner_radius``), ends in
        item mm. Its chord is averaged over each pixel's width, so thin walls (a tin can, a PET
        bottle) and wires thinner than a pixel keep their true volume at any pitch instead of
        flickering with where the pixel centres fall."""
        half_pixel = 0.5 * self.pitch_mm

        def chord(d: np.ndarray) -> np.ndarray:
            solid = _pixel_chord(d, radius_mm, half_pixel)
            if inner_radius_mm > 0:
                solid = np.maximum(solid - _pixel_chord(d, inner_radius_mm, half_pixel), 0.0)
            return solid

        self.prism(material_name, p0_mm, p1_mm, radius_mm + 0.75 * self.pitch_mm, chord)

    def polyline(self, material_name: str, points_mm: Sequence[Point],
                 radius_mm: float) -> None:
        """A wire or rod along a path, with round joints, at the true volume of a rod of
        ``radius_mm`` (see :meth:`cable`)."""
        self.cable(points_mm, [(material_name, radius_mm, 0.0)])

    def cable(self, points_mm: Sequence[Point],
              sheaths: Sequence[tuple[str, float, float]]) -> None:
        """Concentric rods along one path: ``(material, outer radius, inner radius)`` each, e.g.
        copper core in a PVC jacket. Drawn in short runs, so that a coil crossing itself adds up
        where it crosses; each sheath holds its true volume."""
        run = 20  # about one turn of a coil: a run does not cross itself
        for first in range(0, max(1, len(points_mm) - 1), run):
            self._cable_run(points_mm[first:first + run + 1], sheaths)

    def _cable_run(self, points_mm: Sequence[Point],
                   sheaths: Sequence[tuple[str, float, float]]) -> None:
        shifted = np.asarray(self._shift(points_mm), np.float32)
        if len(shifted) < 2:
            return
        reach = max(max(outer, 0.6 * self.pitch_mm) for _, outer, _ in sheaths)
        (x0, y0), (x1, y1) = shifted.min(axis=0), shifted.max(axis=0)
        with self._window_over(x0 - reach, y0 - reach, x1 + reach, y1 + reach) as inside:
            if not inside:
                return
            length = float(np.sum(np.hypot(*np.diff(shifted, axis=0).T)))
            for material_name, outer, inner in sheaths:
                profile = self._rod_profile(shifted, outer)
                if inner > 0:
                    profile -= self._rod_profile(shifted, inner)
                drawn_mm3 = float(profile.sum()) * self.pitch_mm**2
                if drawn_mm3 > 0:
                    volume_mm3 = np.pi * (outer**2 - inner**2) * length
                    self._add(material_name, profile * np.float32(volume_mm3 / drawn_mm3 / 10))

    def _rod_profile(self, points: np.ndarray, radius: float) -> np.ndarray:
        """A rod's cross-section profile along a path over the current window, unscaled: three
        nested anti-aliased bands (full, 80 % and 50 % of the width) approximate the circle's
        chord. Drawn with OpenCV, so a long cable costs a few calls rather than one per segment."""
        assert self._window is not None
        r0, r1, c0, c1 = self._window
        supersample = 2
        scale = supersample / self.pitch_mm
        origin = np.array([c0 * self.pitch_mm, r0 * self.pitch_mm], np.float32)
        pixels = np.round((points - origin) * scale).astype(np.int32).reshape(-1, 1, 2)
        profile = np.zeros((r1 - r0, c1 - c0), np.float32)
        for share in (1.0, 0.8, 0.5):
            big = np.zeros(((r1 - r0) * supersample, (c1 - c0) * supersample), np.uint8)
            width = max(1, int(round(2 * radius * share * scale)))
            cv2.polylines(big, [pixels], False, 255, thickness=width, lineType=cv2.LINE_8)
            profile += cv2.resize(big, (c1 - c0, r1 - r0), interpolation=cv2.INTER_AREA)
        return profile / np.float32(255.0)

    def ring(self, material_name: str, cx_mm: float, cy_mm: float, outer_mm: float,
             inner_mm: float, thickness_mm: float) -> None:
        """A flat annulus seen face-on, centre in item mm."""
        cx, cy = cx_mm + self.margin_mm, cy_mm + self.margin_mm
        with self._window_over(cx - outer_mm, cy - outer_mm, cx + outer_mm,
                               cy + outer_mm) as inside:
            if inside:
                super().ring(material_name, cx, cy, outer_mm, inner_mm, thickness_mm)

    # --- extra solids ---------------------------------------------------------------------------
    def prism(self, material_name: str, p0_mm: Point, p1_mm: Point, half_width_mm: float,
              chord_mm: Callable[[np.ndarray], np.ndarray],
              volume_mm3: float | None = None) -> None:
        """A straight body from ``p0`` to ``p1`` with flat ends whose path length depends on the
        signed distance from its axis: ``chord_mm(d)`` (a cylinder, a revolver cylinder with its
        chambers, a wall seen edge-on); rescaled to ``volume_mm3`` if given."""
        (x0, y0), (x1, y1) = self._shift([p0_mm, p1_mm])
        reach = half_width_mm
        with self._window_over(min(x0, x1) - reach, min(y0, y1) - reach,
                               max(x0, x1) + reach, max(y0, y1) + reach) as inside:
            if not inside:
                return
            grid_x, grid_y = self._grid()
            dx, dy = x1 - x0, y1 - y0
            length = max(float(np.hypot(dx, dy)), 1e-6)
            along = ((grid_x - x0) * dx + (grid_y - y0) * dy) / length
            across = ((grid_x - x0) * dy - (grid_y - y0) * dx) / length
            cover = _interval_cover(along, 0.0, length, self.pitch_mm)
            inside_width = np.abs(across) <= half_width_mm
            path = np.where(inside_width, np.clip(chord_mm(across), 0.0, None), 0.0) * cover
            if volume_mm3 is not None:
                drawn_mm3 = float(path.sum()) * self.pitch_mm**2
                path = path * (volume_mm3 / drawn_mm3) if drawn_mm3 > 0 else path
            self._add(material_name, path.astype(np.float32) / 10.0)

    def pillow(self, material_name: str, cx_mm: float, cy_mm: float, w_mm: float, h_mm: float,
               volume_cm3: float, angle_deg: float = 0.0, squareness: float = 6.0) -> None:
        """A wrapped brick or a filled bag: a super-ellipse footprint ``w x h`` whose thickness
        falls off toward the rim, scaled so the solid holds exactly ``volume_cm3``."""
        cx, cy = cx_mm + self.margin_mm, cy_mm + self.margin_mm
        reach = float(np.hypot(w_mm, h_mm)) / 2
        with self._window_over(cx - reach, cy - reach, cx + reach, cy + reach) as inside:
            if not inside:
                return
            grid_x, grid_y = self._grid()
            cos, sin = np.cos(np.radians(angle_deg)), np.sin(np.radians(angle_deg))
            u = np.abs(((grid_x - cx) * cos + (grid_y - cy) * sin) / (w_mm / 2))
            v = np.abs((-(grid_x - cx) * sin + (grid_y - cy) * cos) / (h_mm / 2))
            radius = u**squareness + v**squareness
            profile = np.sqrt(np.clip(1.0 - radius, 0.0, 1.0)).astype(np.float32)
            total = float(profile.sum()) * (self.pitch_mm / 10.0) ** 2
            if total > 0:
                self._add(material_name, profile * np.float32(volume_cm3 / total))

    def wall(self, material_name: str, points_mm: Sequence[Point], wall_mm: float,
             depth_mm: float, closed: bool = False) -> None:
        """A thin wall seen edge-on along a path: ``wall_mm`` wide in the image, ``depth_mm``
        along the beam (a box's side, a magazine's front, a bag's gusset)."""
        path = [*points_mm, points_mm[0]] if closed else list(points_mm)
        for a, b in itertools.pairwise(path):
            self.prism(material_name, a, b, wall_mm / 2, lambda d: np.full_like(d, depth_mm))

    def disc_edge_on(self, material_name: str, cx_mm: float, top_mm: float, radius_mm: float,
                     thickness_mm: float) -> None:
        """A horizontal disc seen edge-on from the side (a pot's base, a lid, a can's end): a
        band ``thickness`` tall whose path is the chord ``2 sqrt(r^2 - x^2)`` across it."""
        half_pixel = 0.5 * self.pitch_mm
        self.prism(material_name, (cx_mm, top_mm), (cx_mm, top_mm + thickness_mm),
                   radius_mm + 0.75 * self.pitch_mm,
                   lambda d: _pixel_chord(d, radius_mm, half_pixel))

    def tube_outline(self, material_name: str, points_mm: Sequence[Point], radius_mm: float,
                     closed: bool = False) -> None:
        """A bent rod or wire along a path (a trigger guard, a chain, a heating element)."""
        path = list(points_mm) + ([points_mm[0]] if closed else [])
        self.polyline(material_name, path, radius_mm)

    def scatter(self, material_name: str, stamp_cm: np.ndarray,
                centres_mm: Sequence[Point]) -> None:
        """Add one small pre-drawn solid (``stamp_cm``, path lengths in cm at this pitch) at many
        centres (item mm), snapped to pixels: pills, crystals, chain links, lead shot."""
        rows, cols = stamp_cm.shape
        total = np.zeros((self.height + 2 * rows, self.width + 2 * cols), np.float32)
        for x_mm, y_mm in centres_mm:
            col = int((x_mm + self.margin_mm) / self.pitch_mm) - cols // 2 + cols
            row = int((y_mm + self.margin_mm) / self.pitch_mm) - rows // 2 + rows
            if 0 <= row <= total.shape[0] - rows and 0 <= col <= total.shape[1] - cols:
                total[row:row + rows, col:col + cols] += stamp_cm
        self._add(material_name, total[rows:rows + self.height, cols:cols + self.width])

    # --- labelled objects and the finished item -------------------------------------------------
    def start_object(self) -> None:
        """Begin recording one labelled object: its path length and its mass per material."""
        super().start_object()
        self._masses = {}

    def finish_object(self, label: str, kind: str, concealment: str = "none",
                      main_material: str | None = None) -> LabelledObject:
        """Stop recording and return the labelled object (main material: the heaviest)."""
        path_cm = self.end_object()
        masses, self._masses = self._masses, {}
        main = main_material or max(masses, key=lambda name: masses[name], default="air")
        return LabelledObject(label=label, kind=kind, material=main, path_cm=path_cm,
                              mass_g=float(sum(masses.values())), concealment=concealment)

    def item(self, objects: Sequence[LabelledObject] = (), kind: str = "") -> Item:
        """The finished item; path lengths are clipped at zero if anything was carved out."""
        if self._subtracted:
            for path in [*self.layers.values(), *(obj.path_cm for obj in objects)]:
                np.maximum(path, 0.0, out=path)
        return super().item(objects, kind)


def _pixel_chord(d: np.ndarray, radius: float, half_pixel: float) -> np.ndarray:
    """The chord ``2 sqrt(r^2 - x^2)`` of a circle averaged over ``[d - h, d + h]``: the
    antiderivative ``x sqrt(r^2 - x^2) + r^2 asin(x / r)``, differenced."""

    def antiderivative(x: np.ndarray) -> np.ndarray:
        x = np.clip(x, -radius, radius)
        return x * np.sqrt(np.clip(radius**2 - x * x, 0.0, None)) + radius**2 * np.arcsin(
            x / radius)

    if radius <= 0:
        return np.zeros_like(d)
    return (antiderivative(d + half_pixel) - antiderivative(d - half_pixel)) / (2 * half_pixel)


def _interval_cover(centres: np.ndarray, start: float, stop: float, pitch: float) -> np.ndarray:
    """Share (0-1) of each pixel, centred at ``centres``, that lies inside ``[start, stop]``."""
    low = np.maximum(centres - pitch / 2, start)
    high = np.minimum(centres + pitch / 2, stop)
    return (np.clip(high - low, 0.0, pitch) / pitch).astype(np.float32)


def rounded_rect(x_mm: float, y_mm: float, w_mm: float, h_mm: float, radius_mm: float,
                 steps: int = 4) -> list[Point]:
    """Outline of a rectangle with rounded corners (top-left corner at ``x, y``)."""
    r = min(radius_mm, w_mm / 2, h_mm / 2)
    centres = [(x_mm + w_mm - r, y_mm + r), (x_mm + w_mm - r, y_mm + h_mm - r),
               (x_mm + r, y_mm + h_mm - r), (x_mm + r, y_mm + r)]
    points: list[Point] = []
    for corner, (cx, cy) in enumerate(centres):
        for step in range(steps + 1):
            angle = np.radians(-90 + 90 * corner + 90 * step / steps)
            points.append((cx + r * float(np.cos(angle)), cy + r * float(np.sin(angle))))
    return points


def ellipse_points(cx_mm: float, cy_mm: float, rx_mm: float, ry_mm: float,
                   steps: int = 24, start_deg: float = 0.0, stop_deg: float = 360.0) -> list[Point]:
    """Points along an ellipse (or an arc of it), for outlines and bent wires."""
    angles = np.radians(np.linspace(start_deg, stop_deg, steps + 1))
    return [(cx_mm + rx_mm * float(np.cos(a)), cy_mm + ry_mm * float(np.sin(a))) for a in angles]


def slab_thickness(mass_g: float, area_mm2: float, density: float) -> float:
    """The thickness (mm) a slab of ``area_mm2`` needs to weigh ``mass_g``."""
    return mass_g / density / (area_mm2 / 100.0) * 10.0


def finish(canvas: ItemCanvas, objects: Sequence[LabelledObject], kind: str) -> list[Item]:
    """A recipe's result: the canvas as one finished item holding ``objects``."""
    return [canvas.item(objects, kind=kind)]


def pick(rng: np.random.Generator, options: Sequence[str]) -> str:
    """One of ``options`` at random (a typed wrapper around ``rng.choice``)."""
    return options[int(rng.integers(len(options)))]


def uniform(rng: np.random.Generator, low: float, high: float) -> float:
    """A float drawn uniformly from ``[low, high)``."""
    return float(rng.uniform(low, high))


Recipe = TypeVar("Recipe", bound=Callable[..., object])


def registrar(registry: dict[str, Recipe]) -> Callable[[str], Callable[[Recipe], Recipe]]:
    """A decorator factory that files recipes by kind name in ``registry``, refusing duplicates."""

    def register(name: str) -> Callable[[Recipe], Recipe]:
        def decorate(function: Recipe) -> Recipe:
            if name in registry:
                raise ValueError(f"recipe {name!r} is registered twice")
            registry[name] = function
            return function

        return decorate

    return register


def unknown(what: str, name: str, known: Sequence[str]) -> ValueError:
    """The error for an unknown kind or label, listing the known ones."""
    return ValueError(f"unknown {what} {name!r}; known: {', '.join(known)}")


def stamp(pitch_mm: float, draw: Callable[[ItemCanvas], None], width_mm: float,
          height_mm: float) -> np.ndarray:
    """A small solid drawn once (centred in a ``width x height`` box) for :meth:`scatter`."""
    canvas = ItemCanvas(width_mm, height_mm, pitch_mm, margin_mm=0.0)
    draw(canvas)
    layers = list(canvas.layers.values())
    return np.sum(layers, axis=0) if layers else np.zeros((canvas.height, canvas.width),
                                                          np.float32)


def crop(item: Item, pitch_mm: float, margin_mm: float = 2.0) -> Item:
    """Crop an item's canvas to what was drawn, keeping a margin (a part drawn in a whole gun's
    frame, a lot drawn on a roomy canvas)."""
    total = np.sum(list(item.layers.values()), axis=0)
    rows, cols = np.nonzero(total > 0)
    if rows.size == 0:
        return item
    pad = int(np.ceil(margin_mm / pitch_mm))
    r0, r1 = max(0, rows.min() - pad), min(total.shape[0], rows.max() + 1 + pad)
    c0, c1 = max(0, cols.min() - pad), min(total.shape[1], cols.max() + 1 + pad)
    layers = {name: np.ascontiguousarray(path[r0:r1, c0:c1]) for name, path in item.layers.items()}
    objects = [replace(obj, path_cm=np.ascontiguousarray(obj.path_cm[r0:r1, c0:c1]))
               for obj in item.objects]
    return Item(layers=layers, objects=objects, kind=item.kind)
