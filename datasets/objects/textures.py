"""Fine internal structure drawn once per process and reused: circuit boards and crumpled fabric.

A laptop's motherboard holds hundreds of chips, passives and traces; drawing each one per item
would cost more than the rest of a scan. Instead :func:`pcb_reference` draws one board, at a fine
reference pitch and with a fixed seed (so every worker process draws the same bytes, and a scan
depends only on its own seed), and :func:`paste_pcb` pastes a random crop of it, resampled to the
scan's pitch with area averaging so that path lengths (and so masses) are kept. Crumpled fabric
works the same way from one tile of ridged multi-octave noise (:func:`crumple_tile`).
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from xscreen.datasets.objects.drawing import ItemCanvas

PCB_PITCH_MM = 0.3                 # reference pitch: finer than any scan's (0.6 mm and up)
PCB_SIZE_MM = (320.0, 240.0)       # big enough for a laptop's main board
CRUMPLE_TILE_MM = 600.0            # one tile pixel per millimetre: the biggest garment fits
_TEXTURE_SEED = 20_170_917         # fixed: the texture is part of the library, not of a scan


@lru_cache(maxsize=1)
def pcb_reference() -> dict[str, np.ndarray]:
    """A populated board's component path lengths (cm per material) at :data:`PCB_PITCH_MM`,
    without the fibreglass itself (callers draw the board): copper traces and planes on four
    layers, vias, chip packages with lead frames and solder, BGA ball grids, ceramic passives,
    ferrite chokes, electrolytic capacitors and steel shield cans."""
    rng = np.random.default_rng(_TEXTURE_SEED)
    cols, rows = (int(round(size / PCB_PITCH_MM)) for size in PCB_SIZE_MM)
    board = _BoardPainter(rows, cols)
    board.traces(rng)
    board.passives(rng, count=int(cols * rows / 900))
    board.chips(rng, count=int(cols * rows / 9000))
    board.chokes_and_capacitors(rng, count=int(cols * rows / 30000))
    board.shields(rng, count=int(cols * rows / 60000))
    return {name: layer for name, layer in board.layers.items() if layer.any()}


class _BoardPainter:
    """Draws components in pixels of the reference pitch; values are path lengths in cm."""

    def __init__(self, rows: int, cols: int) -> None:
        self.shape = (rows, cols)
        self.layers: dict[str, np.ndarray] = {}

    def layer(self, name: str) -> np.ndarray:
        if name not in self.layers:
            self.layers[name] = np.zeros(self.shape, np.float32)
        return self.layers[name]

    def box(self, name: str, x: int, y: int, w: int, h: int, thickness_mm: float) -> None:
        """Add a filled axis-aligned box (pixels) of ``thickness_mm``."""
        self.layer(name)[y:y + h, x:x + w] += thickness_mm / 10.0

    def traces(self, rng: np.random.Generator) -> None:
        """Manhattan copper traces on four 35 µm layers, some ground pour, and vias."""
        rows, cols = self.shape
        copper = np.zeros(self.shape, np.float32)
        for _layer in range(4):
            sheet = np.zeros(self.shape, np.uint8)
            for _ in range(int(rows * cols / 2500)):
                x, y = int(rng.integers(cols)), int(rng.integers(rows))
                points = [(x, y)]
                for step in range(int(rng.integers(2, 6))):
                    length = int(rng.integers(10, 200))
                    x, y = (x + length * int(rng.choice([-1, 1])), y) if step % 2 == 0 else (
                        x, y + length * int(rng.choice([-1, 1])))
                    points.append((x, y))
                cv2.polylines(sheet, [np.array(points, np.int32)], False, 1,
                              thickness=int(rng.integers(1, 3)))
            for _ in range(3):  # ground and power pours
                x, y = int(rng.integers(cols)), int(rng.integers(rows))
                sheet[y:y + int(rng.integers(60, 300)), x:x + int(rng.integers(60, 300))] = 1
            copper += sheet.astype(np.float32) * np.float32(0.035 / 10.0)
        self.layer("copper")[:] += copper
        vias = rng.integers(0, [cols, rows], size=(int(rows * cols / 400), 2))
        self.layer("copper")[vias[:, 1], vias[:, 0]] += 1.6 * 0.1 / 10.0  # plated barrels

    def passives(self, rng: np.random.Generator, count: int) -> None:
        """Resistors and MLCCs (0402-1206): ceramic bodies with tin end caps, in clusters."""
        rows, cols = self.shape
        centres = rng.integers(0, [cols, rows], size=(max(1, count // 12), 2))
        for cx, cy in centres:
            for _ in range(12):
                x = int(cx + rng.normal(0, 25))
                y = int(cy + rng.normal(0, 25))
                length, width = int(rng.integers(3, 11)), int(rng.integers(2, 6))
                if rng.random() < 0.5:
                    length, width = width, length
                if 0 <= x < cols - length and 0 <= y < rows - width:
                    self.box("ceramic", x, y, length, width, float(rng.uniform(0.5, 1.2)))
                    self.box("tin", x, y, max(1, length // 4), width, 0.3)
                    self.box("tin", x + length - max(1, length // 4), y, max(1, length // 4),
                             width, 0.3)

    def chips(self, rng: np.random.Generator, count: int) -> None:
        """Packages 3-35 mm: epoxy bodies over copper lead frames with leads on their edges, and
        big BGAs with a grid of solder balls and sometimes a copper heat spreader."""
        rows, cols = self.shape
        for _ in range(count):
            big = rng.random() < 0.15
            side = int(rng.integers(60, 118)) if big else int(rng.integers(10, 50))
            w, h = side, int(side * rng.uniform(0.6, 1.0))
            x, y = int(rng.integers(0, cols - w)), int(rng.integers(0, rows - h))
            self.box("pcb", x, y, w, h, float(rng.uniform(0.8, 2.2)))
            if big:
                balls = np.zeros((h, w), np.float32)
                balls[1::3, 1::3] = 0.045  # 0.5 mm balls at 0.9 mm pitch (3 px)
                self.layer("tin")[y:y + h, x:x + w] += balls
                if rng.random() < 0.5:
                    self.box("copper", x + w // 6, y + h // 6, 2 * w // 3, 2 * h // 3, 1.0)
            else:
                self.box("copper", x + w // 4, y + h // 4, w // 2, h // 2, 0.2)  # die pad
                leads = np.zeros((h, w), np.float32)
                leads[1:-1:2, :3] = leads[1:-1:2, -3:] = 0.03   # gull-wing leads, 2 sides
                self.layer("copper")[y:y + h, x:x + w] += leads

    def chokes_and_capacitors(self, rng: np.random.Generator, count: int) -> None:
        """Power inductors (ferrite with a copper winding) and aluminium electrolytics seen end-on
        (their can's wall edge-on, the foil roll inside)."""
        rows, cols = self.shape
        for _ in range(count):
            side = int(rng.integers(14, 40))
            x, y = int(rng.integers(0, cols - side)), int(rng.integers(0, rows - side))
            if rng.random() < 0.6:
                self.box("ferrite", x, y, side, side, float(rng.uniform(3, 5)))
                self.box("copper", x + side // 4, y + side // 4, side // 2, side // 2, 1.5)
            else:
                canvas = np.zeros((side, side), np.uint8)
                cv2.circle(canvas, (side // 2, side // 2), side // 2 - 1, 1, 1)
                self.layer("aluminium")[y:y + side, x:x + side] += canvas * np.float32(1.0)
                disc = np.zeros((side, side), np.uint8)
                cv2.circle(disc, (side // 2, side // 2), side // 2 - 2, 1, -1)
                self.layer("aluminium")[y:y + side, x:x + side] += disc * np.float32(0.15)

    def shields(self, rng: np.random.Generator, count: int) -> None:
        """RF shield cans: 0.2 mm steel lids whose walls, seen edge-on, draw a dark outline."""
        rows, cols = self.shape
        for _ in range(count):
            w, h = int(rng.integers(40, 140)), int(rng.integers(30, 110))
            x, y = int(rng.integers(0, cols - w)), int(rng.integers(0, rows - h))
            self.box("steel", x, y, w, h, 0.2)
            outline = np.zeros((h, w), np.uint8)
            cv2.rectangle(outline, (0, 0), (w - 1, h - 1), 1, 1)
            self.layer("steel")[y:y + h, x:x + w] += outline * np.float32(0.25)


def paste_pcb(rng: np.random.Generator, canvas: ItemCanvas, x_mm: float, y_mm: float,
              w_mm: float, h_mm: float) -> None:
    """Paste a random crop of the reference board's components over ``w x h`` mm at ``(x, y)``
    (item mm); the caller draws the fibreglass. Crops larger than the reference are clipped."""
    w_mm, h_mm = min(w_mm, PCB_SIZE_MM[0]), min(h_mm, PCB_SIZE_MM[1])
    reference = pcb_reference()
    ref_rows, ref_cols = next(iter(reference.values())).shape
    crop_cols, crop_rows = int(w_mm / PCB_PITCH_MM), int(h_mm / PCB_PITCH_MM)
    c0 = int(rng.integers(0, ref_cols - crop_cols + 1))
    r0 = int(rng.integers(0, ref_rows - crop_rows + 1))
    flip = int(rng.integers(-1, 3))  # cv2.flip codes, 2 meaning none
    for name, layer in reference.items():
        patch = layer[r0:r0 + crop_rows, c0:c0 + crop_cols]
        if flip != 2:
            patch = cv2.flip(patch, flip)
        paste(canvas, name, x_mm, y_mm, w_mm, h_mm, patch)


@lru_cache(maxsize=1)
def crumple_tile() -> np.ndarray:
    """Ridged multi-octave noise, mean about 1, one pixel per mm: the thickness of crumpled
    fabric relative to its mean (folds are ridges where layers pile up, air gaps are thin)."""
    rng = np.random.default_rng(_TEXTURE_SEED + 1)
    size = int(CRUMPLE_TILE_MM)
    total = np.zeros((size, size), np.float32)
    for cells, weight in ((6, 1.0), (12, 0.7), (24, 0.45), (60, 0.25)):
        coarse = rng.normal(0, 1, (cells, cells)).astype(np.float32)
        smooth = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
        total += weight * (1.0 - 2.0 * np.abs(np.tanh(smooth)))  # ridges where it crosses 0
    total -= total.mean()
    total /= total.std()
    return np.clip(1.0 + 0.35 * total, 0.25, 2.2).astype(np.float32)


def crumpled_fabric(rng: np.random.Generator, canvas: ItemCanvas, material_name: str,
                    x_mm: float, y_mm: float, w_mm: float, h_mm: float,
                    mean_thickness_mm: float) -> None:
    """A crumpled garment over a ``w x h`` rounded footprint: a pillow of ``mean_thickness``
    (solid fabric) modulated by a random crop of the crumple tile."""
    p = canvas.pitch_mm
    cols, rows = max(1, int(round(w_mm / p))), max(1, int(round(h_mm / p)))
    tile = crumple_tile()
    size = tile.shape[0]
    span_c, span_r = min(size, max(8, int(w_mm))), min(size, max(8, int(h_mm)))
    c0, r0 = int(rng.integers(0, size - span_c + 1)), int(rng.integers(0, size - span_r + 1))
    field = cv2.resize(tile[r0:r0 + span_r, c0:c0 + span_c], (cols, rows),
                       interpolation=cv2.INTER_AREA)
    thickness = (rounded_footprint(rows, cols, float(rng.uniform(3, 7))) * field).astype(
        np.float32)
    mean = float(thickness.mean())
    if mean > 0:  # the rounded footprint covers about pi/4 of its box
        scale = np.float32(mean_thickness_mm / 10.0 / mean * np.pi / 4)
        paste(canvas, material_name, x_mm, y_mm, w_mm, h_mm, thickness * scale)


def rounded_footprint(rows: int, cols: int, squareness: float) -> np.ndarray:
    """A soft mass's relative thickness over its ``rows x cols`` box: 1 in the middle, falling to
    0 at a rounded-rectangle edge (a superellipse: 2 an ellipse, larger more square)."""
    u = np.abs(np.linspace(-1, 1, cols, dtype=np.float32))[None, :]
    v = np.abs(np.linspace(-1, 1, rows, dtype=np.float32))[:, None]
    return np.sqrt(np.clip(1.0 - (u**squareness + v**squareness), 0.0, 1.0))


def paste(canvas: ItemCanvas, material_name: str, x_mm: float, y_mm: float, w_mm: float,
          h_mm: float, patch_cm: np.ndarray) -> None:
    """Add a path-length patch (cm, any resolution) over ``w x h`` mm at ``(x, y)`` item mm,
    resampled to the canvas pitch by area averaging (so its volume is kept) and snapped to
    whole pixels."""
    p = canvas.pitch_mm
    cols, rows = max(1, int(round(w_mm / p))), max(1, int(round(h_mm / p)))
    if patch_cm.shape != (rows, cols):  # area averaging keeps the mean path over the same mm
        patch_cm = cv2.resize(patch_cm, (cols, rows), interpolation=cv2.INTER_AREA)
    c0 = int(round((x_mm + canvas.margin_mm) / p))
    r0 = int(round((y_mm + canvas.margin_mm) / p))
    c1, r1 = min(canvas.width, c0 + cols), min(canvas.height, r0 + rows)
    if c1 <= max(c0, 0) or r1 <= max(r0, 0):
        return
    local = patch_cm[max(0, -r0):r1 - r0, max(0, -c0):c1 - c0]
    canvas._window = (max(r0, 0), r1, max(c0, 0), c1)
    try:
        canvas._add(material_name, np.ascontiguousarray(local, np.float32))
    finally:
        canvas._window = None


# --- varied textures (issue 23): a bag's contents must not all share one tile's look ----------
TEXTURE_FAMILIES = ("fbm", "ridged", "cells", "leaves", "weave")
"""The families :func:`random_texture` draws from, each with its own random parameters."""


def random_texture(rng: np.random.Generator, rows: int, cols: int,
                   family: str | None = None) -> np.ndarray:
    """A non-negative texture field of mean 1 (``rows x cols``, one pixel per millimetre), newly
    drawn each call: multi-octave noise of random slope (``fbm``), ridged noise (``ridged``,
    folds), lumps around random points (``cells``: packed soft things), overlapping random
    shapes (``leaves``: a jumble of small things) or a warped weave (``weave``: knits, corrugated
    board). Half of the calls multiply two families. The crumple tile is one fixed texture that
    a detector can learn by heart; these are never the same twice."""
    rows, cols = max(2, rows), max(2, cols)
    name = family if family is not None else TEXTURE_FAMILIES[int(rng.integers(len(
        TEXTURE_FAMILIES)))]
    field = _TEXTURES[name](rng, rows, cols)
    if family is None and rng.random() < 0.5:
        other = TEXTURE_FAMILIES[int(rng.integers(len(TEXTURE_FAMILIES)))]
        field = field * _TEXTURES[other](rng, rows, cols)
    field = np.clip(field, 0.0, None).astype(np.float32)
    mean = float(field.mean())
    return field / mean if mean > 0 else np.ones((rows, cols), np.float32)


def _smooth_noise(rng: np.random.Generator, rows: int, cols: int, cell_mm: float) -> np.ndarray:
    """Gaussian noise on a grid of ``cell_mm`` cells, resized smoothly to ``rows x cols``."""
    grid = (max(2, int(rows / cell_mm) + 2), max(2, int(cols / cell_mm) + 2))
    coarse = rng.normal(0.0, 1.0, grid).astype(np.float32)
    return cv2.resize(coarse, (cols, rows), interpolation=cv2.INTER_CUBIC)


def _fbm(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    cell, slope = float(rng.uniform(15, 120)), float(rng.uniform(0.4, 1.4))
    total = np.zeros((rows, cols), np.float32)
    for octave in range(int(rng.integers(2, 6))):
        total += np.float32(2.0 ** (-slope * octave)) * _smooth_noise(rng, rows, cols,
                                                                      max(2.0, cell / 2**octave))
    total /= max(float(total.std()), 1e-6)
    return np.exp(np.float32(rng.uniform(0.2, 0.8)) * total)


def _ridged(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    cell = float(rng.uniform(20, 150))
    total = np.zeros((rows, cols), np.float32)
    for octave in range(int(rng.integers(1, 4))):
        smooth = _smooth_noise(rng, rows, cols, max(3.0, cell / 2**octave))
        total += np.float32(0.6**octave) * (1.0 - 2.0 * np.abs(np.tanh(smooth)))
    total /= max(float(total.std()), 1e-6)
    return 1.0 + np.float32(rng.uniform(0.2, 0.6)) * total


def _cells(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    size = float(rng.uniform(6, 60))
    count = max(1, int(rows * cols / size**2))
    seeds = np.full((rows, cols), 255, np.uint8)
    seeds[rng.integers(0, rows, count), rng.integers(0, cols, count)] = 0
    distance = cv2.distanceTransform(seeds, cv2.DIST_L2, 5)
    lumps = np.clip(1.0 - distance / np.float32(size * 0.7), 0.0, None)
    if rng.random() < 0.5:     # rims instead of lumps: bubble wrap, packed round things
        lumps = np.exp(-((distance - size * 0.4) / (size * 0.12)) ** 2)
    return 0.3 + lumps.astype(np.float32)


def _leaves(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    field = np.zeros((rows, cols), np.float32)
    size = float(rng.uniform(8, 80))
    for _ in range(max(3, int(rows * cols / size**2 * rng.uniform(0.8, 3.0)))):
        layer = np.zeros((rows, cols), np.uint8)
        cx, cy = int(rng.integers(0, cols)), int(rng.integers(0, rows))
        a, b = (max(1, int(size * rng.uniform(0.3, 1.0))) for _ in range(2))
        if rng.random() < 0.5:
            cv2.ellipse(layer, (cx, cy), (a, b), float(rng.uniform(0, 180)), 0, 360, 1, -1)
        else:
            box = cv2.boxPoints(((cx, cy), (2 * a, 2 * b), float(rng.uniform(0, 180))))
            cv2.fillPoly(layer, [box.astype(np.int32)], 1)
        field += layer * np.float32(rng.uniform(0.2, 1.0))
    return 0.2 + field


def _weave(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    period, angle = float(rng.uniform(2, 25)), float(rng.uniform(0, np.pi))
    ys, xs = np.mgrid[0:rows, 0:cols].astype(np.float32)
    warp = _smooth_noise(rng, rows, cols, float(rng.uniform(40, 200))) * np.float32(
        rng.uniform(0, period))
    u = xs * np.float32(np.cos(angle)) + ys * np.float32(np.sin(angle)) + warp
    v = -xs * np.float32(np.sin(angle)) + ys * np.float32(np.cos(angle))
    wave = np.sin(2 * np.pi * u / period)
    if rng.random() < 0.5:   # a cross weave
        wave = wave * np.sin(2 * np.pi * v / (period * float(rng.uniform(0.7, 1.5))))
    return 1.0 + np.float32(rng.uniform(0.2, 0.7)) * wave.astype(np.float32)


_TEXTURES = {"fbm": _fbm, "ridged": _ridged, "cells": _cells, "leaves": _leaves,
             "weave": _weave}
