"""Parcel shells: what every item in a scan is packed in, filling the parcel's whole footprint.

A shell is seen from above: its two faces lie across the whole area and the side walls are seen
edge-on, so a cardboard box shows a dark border (the walls' height along the beam) around a light
face. Real dimensions: single-wall board 3-4 mm, double-wall 6-7 mm; tape 50 µm; mailer film
60-100 µm.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from xscreen.datasets.objects.drawing import (
    ItemCanvas,
    pick,
    registrar,
    rounded_rect,
    uniform,
    unknown,
)
from xscreen.datasets.shapes import Item

ParcelRecipe = Callable[[np.random.Generator, ItemCanvas, float, float], None]
PARCEL_RECIPES: dict[str, ParcelRecipe] = {}
_parcel = registrar(PARCEL_RECIPES)

_TAPE_MM = 0.05


def parcel(rng: np.random.Generator, pitch_mm: float, width_mm: float, height_mm: float,
           kind: str | None = None) -> Item:
    """The shell of a parcel filling exactly ``width_mm x height_mm``; ``kind`` one of
    :data:`PARCEL_KINDS` (random if None). The item holds no labelled objects."""
    if width_mm <= 0 or height_mm <= 0:
        raise ValueError(f"a parcel needs a positive size, got {width_mm} x {height_mm} mm")
    kind = kind if kind is not None else pick(rng, PARCEL_KINDS)
    if kind not in PARCEL_RECIPES:
        raise unknown("parcel kind", kind, PARCEL_KINDS)
    canvas = ItemCanvas(width_mm, height_mm, pitch_mm, margin_mm=0.0)
    PARCEL_RECIPES[kind](rng, canvas, width_mm, height_mm)
    return canvas.item(kind=kind)


@_parcel("cardboard_box")
def _cardboard_box(rng: np.random.Generator, canvas: ItemCanvas, w: float, h: float) -> None:
    board = uniform(rng, 3.0, 4.5) if rng.random() < 0.7 else uniform(rng, 6.0, 7.5)
    deepest = max(30.0, min(400.0, 0.8 * max(w, h)))  # the box's height along the beam
    depth = uniform(rng, min(60.0, deepest / 2), deepest)
    canvas.rect("cardboard", 0, 0, w, h, 2 * board)  # lid and base
    _box_walls(canvas, w, h, board, depth - 2 * board)
    _inner_flaps(canvas, w, h, board)
    _tape_strips(rng, canvas, w, h)
    if rng.random() < 0.3:
        _staples(rng, canvas, w, h)
    fill = rng.random()
    if fill < 0.25:
        _paper_void_fill(rng, canvas, w, h, depth)
    elif fill < 0.4:
        _air_pillows(rng, canvas, w, h)
    _shipping_label(rng, canvas, w, h)


def _paper_void_fill(rng: np.random.Generator, canvas: ItemCanvas, w: float, h: float,
                     depth: float) -> None:
    """Crumpled kraft paper stuffed around the contents (bulk density ~0.03 g/cm^3)."""
    for _ in range(int(rng.integers(2, 7))):
        bw, bh = uniform(rng, 0.2, 0.5) * w, uniform(rng, 0.2, 0.5) * h
        cx, cy = uniform(rng, bw / 2, w - bw / 2), uniform(rng, bh / 2, h - bh / 2)
        volume_cm3 = bw * bh * depth * 0.6 / 1000 * 0.03 / 0.8   # as solid paper
        canvas.pillow("paper", cx, cy, bw, bh, volume_cm3, angle_deg=uniform(rng, 0, 180),
                      squareness=2.5)


def _air_pillows(rng: np.random.Generator, canvas: ItemCanvas, w: float, h: float) -> None:
    """Inflated PE air pillows (about 200 x 100 mm, two 50 µm films, sealed edges)."""
    for _ in range(int(rng.integers(2, 8))):
        pw, ph = min(200.0, 0.5 * w), min(100.0, 0.5 * h)
        x, y = uniform(rng, 0, w - pw), uniform(rng, 0, h - ph)
        canvas.rect("polyethylene", x, y, pw, ph, 0.1)
        canvas.tube_outline("polyethylene", rounded_rect(x + 2, y + 2, pw - 4, ph - 4, 10),
                            0.6, closed=True)


def _box_walls(canvas: ItemCanvas, w: float, h: float, board: float, height: float) -> None:
    """The four side walls, seen edge-on: a border as wide as the board, as deep as the box."""
    canvas.rect("cardboard", 0, 0, w, board, height)
    canvas.rect("cardboard", 0, h - board, w, board, height)
    canvas.rect("cardboard", 0, board, board, h - 2 * board, height)
    canvas.rect("cardboard", w - board, board, board, h - 2 * board, height)


def _inner_flaps(canvas: ItemCanvas, w: float, h: float, board: float) -> None:
    """Inner flaps of a slotted box: at both ends of lid and base, half the short side long."""
    if w >= h:
        reach = min(h / 2, w / 2)
        canvas.rect("cardboard", 0, 0, reach, h, 2 * board)
        canvas.rect("cardboard", w - reach, 0, reach, h, 2 * board)
    else:
        reach = min(w / 2, h / 2)
        canvas.rect("cardboard", 0, 0, w, reach, 2 * board)
        canvas.rect("cardboard", 0, h - reach, w, reach, 2 * board)


def _tape_strips(rng: np.random.Generator, canvas: ItemCanvas, w: float, h: float) -> None:
    """Tape along the flaps' seam on lid and base, sometimes H-taped across the ends too."""
    tape_width = pick(rng, ("48", "50", "72"))
    width = float(tape_width)
    layers = int(rng.integers(2, 5))  # lid and base, sometimes taped twice
    if w >= h:
        canvas.rect("packing_tape", 0, h / 2 - width / 2, w, width, layers * _TAPE_MM)
    else:
        canvas.rect("packing_tape", w / 2 - width / 2, 0, width, h, layers * _TAPE_MM)
    if rng.random() < 0.4:
        canvas.rect("packing_tape", 0, 0, width / 2, h, 2 * _TAPE_MM)
        canvas.rect("packing_tape", w - width / 2, 0, width / 2, h, 2 * _TAPE_MM)


def _staples(rng: np.random.Generator, canvas: ItemCanvas, w: float, h: float) -> None:
    """Box staples (flat steel wire, crown 30 mm) across the base's seam."""
    count = int(rng.integers(3, 7))
    along_x = w >= h
    length = w if along_x else h
    for position in np.linspace(0.15, 0.85, count) * length:
        if along_x:
            canvas.cylinder("carbon_steel", (position, h / 2 - 15), (position, h / 2 + 15), 0.5)
        else:
            canvas.cylinder("carbon_steel", (w / 2 - 15, position), (w / 2 + 15, position), 0.5)


def _shipping_label(rng: np.random.Generator, canvas: ItemCanvas, w: float, h: float) -> None:
    """A paper label (and sometimes a PE packing-list pouch) stuck on the lid."""
    label_w, label_h = min(100.0, 0.6 * w), min(150.0, 0.6 * h)
    x, y = uniform(rng, 0, w - label_w), uniform(rng, 0, h - label_h)
    canvas.rect("paper", x, y, label_w, label_h, 0.12)
    if rng.random() < 0.4:
        canvas.rect("polyethylene", x, y, label_w, label_h, 0.1)


@_parcel("poly_mailer")
def _poly_mailer(rng: np.random.Generator, canvas: ItemCanvas, w: float, h: float) -> None:
    film = uniform(rng, 0.05, 0.1)
    canvas.rect("polyethylene", 0, 0, w, h, 2 * film)
    _edge_seams(canvas, w, h, "polyethylene", 2 * film, 8.0)
    flap = min(50.0, h / 4)
    canvas.rect("polyethylene", 0, 0, w, flap, 2 * film)  # flap folded over, adhesive strip
    canvas.rect("paper", 0, flap / 3, w, 20.0, 0.05)
    _wrinkles(rng, canvas, w, h, "polyethylene", 2 * film)
    _shipping_label(rng, canvas, w, h)


@_parcel("paper_envelope")
def _paper_envelope(rng: np.random.Generator, canvas: ItemCanvas, w: float, h: float) -> None:
    paper = uniform(rng, 0.08, 0.15)
    canvas.rect("paper", 0, 0, w, h, 2 * paper)
    flap_depth = min(h * 0.4, 80.0)
    canvas.slab("paper", [(0, 0), (w, 0), (w / 2, flap_depth)], paper)
    canvas.slab("paper", [(0, 0), (w / 2, h * 0.6), (0, h)], paper)  # side flaps under the back
    canvas.slab("paper", [(w, 0), (w / 2, h * 0.6), (w, h)], paper)
    _wrinkles(rng, canvas, w, h, "paper", paper)
    _shipping_label(rng, canvas, w, h)


@_parcel("padded_envelope")
def _padded_envelope(rng: np.random.Generator, canvas: ItemCanvas, w: float, h: float) -> None:
    kraft = uniform(rng, 0.1, 0.18)
    canvas.rect("paper", 0, 0, w, h, 2 * kraft)
    _bubble_layer(canvas, w, h, bubble_mm=uniform(rng, 8.0, 12.0), height_mm=uniform(rng, 3, 5))
    _edge_seams(canvas, w, h, "paper", 2 * kraft, 10.0)
    canvas.rect("paper", 0, 0, w, min(40.0, h / 4), kraft)
    _wrinkles(rng, canvas, w, h, "paper", 2 * kraft)
    _shipping_label(rng, canvas, w, h)


def _edge_seams(canvas: ItemCanvas, w: float, h: float, material_name: str,
                thickness_mm: float, seam_mm: float) -> None:
    """Folded or sealed edges: a doubled band along the sides and the bottom."""
    seam = min(seam_mm, w / 4, h / 4)
    canvas.rect(material_name, 0, 0, seam, h, thickness_mm)
    canvas.rect(material_name, w - seam, 0, seam, h, thickness_mm)
    canvas.rect(material_name, seam, h - seam, w - 2 * seam, seam, thickness_mm)


def _wrinkles(rng: np.random.Generator, canvas: ItemCanvas, w: float, h: float,
              material_name: str, thickness_mm: float) -> None:
    """Creases: soft ridges where the film or paper folds onto itself (two more layers)."""
    for _ in range(int(rng.integers(3, 12))):
        start = (uniform(rng, 0, w), uniform(rng, 0, h))
        angle = uniform(rng, 0, np.pi)
        length = uniform(rng, 0.1, 0.5) * max(w, h)
        end = (start[0] + length * np.cos(angle), start[1] + length * np.sin(angle))
        half = uniform(rng, 1.0, 4.0)
        canvas.prism(material_name, start, end, half,
                     lambda d, half=half: 2 * thickness_mm * (1 - (d / half) ** 2))


def _bubble_layer(canvas: ItemCanvas, w: float, h: float, bubble_mm: float,
                  height_mm: float) -> None:
    """Bubble lining on both faces: PE film bubbles in a square lattice (bulk density 0.05)."""
    with canvas._window_over(0, 0, w, h) as inside:
        if not inside:
            return
        grid_x, grid_y = canvas._grid()
        phase = np.cos(2 * np.pi * grid_x / bubble_mm) * np.cos(2 * np.pi * grid_y / bubble_mm)
        relief = (0.6 + 0.4 * np.clip(phase, 0.0, 1.0)).astype(np.float32)
        canvas._add("bubble_wrap", relief * np.float32(2 * height_mm / 10.0))


PARCEL_KINDS: tuple[str, ...] = tuple(PARCEL_RECIPES)
