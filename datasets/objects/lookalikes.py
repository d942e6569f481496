"""Benign look-alikes of what real bags were seen to alarm on (issue 23).

The shipped default, run over real threat-free bags (``benchmarks/probe_clutter.py``), put its
highest-scoring false boxes on a few kinds of ordinary things that our scans had too few of:

- a single phone or gadget in a case (a magnet ring, a camera island, a speaker's magnet):
  "counterfeit";
- boxes and trays of identical foods in rows (biscuits, sweets, buns, fruit): "narcotics";
- a bag's own hardware, a few dense rings and buckles on its straps: "gold";
- bundles of parallel rods (pens, brushes, chopsticks, tent poles): "firearm".

Each is drawn here in real sizes and materials, never boxed, and registered into
:data:`~.benign.BENIGN_RECIPES`; :data:`~.benign.LOOKALIKE_KINDS` names them with the other
benign twins of threats, which a scene adds on purpose (``SceneConfig.lookalike_share``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from xscreen.datasets.objects.drawing import ItemCanvas, pick, registrar, rounded_rect, uniform
from xscreen.datasets.objects.hardware import webbing_strap
from xscreen.datasets.objects.textures import paste_pcb
from xscreen.datasets.shapes import Item

RECIPES: dict[str, Callable[[np.random.Generator, float], Item]] = {}
_lookalike = registrar(RECIPES)


# === one gadget, not a lot ======================================================================
@_lookalike("phone_in_case")
def _phone_in_case(rng: np.random.Generator, pitch_mm: float) -> Item:
    """A smartphone in its case: a ring of magnets for wireless charging (a dense circle in the
    middle), a camera island of two to four lenses, battery and board, and a silicone, TPU or
    leather wallet case that may hold cards and a few coins."""
    w, h = uniform(rng, 68, 80), uniform(rng, 140, 165)
    case = pick(rng, ("silicone", "polycarbonate", "leather", "none"))
    pad = 0.0 if case == "none" else uniform(rng, 1.5, 4.0)
    wallet = case == "leather" and rng.random() < 0.7
    cw = w + 2 * pad + (w + 4 if wallet else 0)
    canvas = ItemCanvas(cw, h + 2 * pad, pitch_mm)
    if case != "none":
        canvas.slab(case, rounded_rect(0, 0, w + 2 * pad, h + 2 * pad, 11), 2 * 1.2)
    if wallet:   # the front flap, opened beside the phone, with cards in its pockets
        canvas.slab("leather", rounded_rect(w + 2 * pad + 2, 0, w + 2, h + 2 * pad, 6), 1.5)
        for k in range(int(rng.integers(1, 4))):
            canvas.rect("pvc", w + 2 * pad + 8, 10 + k * 12, 54, 85.6 * 0.6, 0.76)
    x, y = pad, pad
    canvas.slab("glass", rounded_rect(x, y, w, h, 9), 2 * 0.6)
    canvas.wall(pick(rng, ("aluminium", "steel")), rounded_rect(x + 0.5, y + 0.5, w - 1, h - 1,
                                                                 8.5), 1.2, 8.0, closed=True)
    canvas.rect("lithium_cell", x + 6, y + h * 0.3, w - 12, h * 0.55, 4.5)
    canvas.rect("pcb", x + 4, y + 5, w * 0.55, h * 0.25, 0.8)
    paste_pcb(rng, canvas, x + 4, y + 5, w * 0.55, h * 0.25)
    if rng.random() < 0.7:     # magnet ring and coil under the battery
        r = uniform(rng, 23, 28)
        canvas.ring("neodymium_magnet", x + w / 2, y + h * 0.55, r, r - 2.5, 1.2)
        canvas.ring("copper", x + w / 2, y + h * 0.55, r - 4, 10, 0.25)
    lenses = int(rng.integers(1, 5))
    island = 14 + 12 * (lenses > 2)
    canvas.rect("aluminium", x + 5, y + 5, island + 6, island + 6, 2.0)
    for k in range(lenses):
        lx, ly = x + 11 + 12 * (k % 2), y + 11 + 12 * (k // 2)
        canvas.ring("steel", lx, ly, 5.5, 4.0, 2.0)
        canvas.disc("glass", lx, ly, 4.0, 4.0)
    for ly in (y + h - 10, y + h * 0.28):
        canvas.rect("neodymium_magnet", x + w * 0.6, ly - 3, 9, 5, 2.5)  # speaker, vibrator
    return canvas.item()


@_lookalike("gadget")
def _gadget(rng: np.random.Generator, pitch_mm: float) -> Item:
    """A handheld device: a Bluetooth speaker (big driver magnets), a compact camera (lens
    barrel, battery), a games console (two sticks, board, battery), an e-reader (a thin board
    and battery) or a power bank in a pouch (a row of 18650 cells)."""
    kind = pick(rng, ("speaker", "camera", "console", "ereader", "pouch_bank"))
    if kind == "speaker":
        w, h = uniform(rng, 120, 200), uniform(rng, 60, 80)
        canvas = ItemCanvas(w, h, pitch_mm)
        canvas.slab("abs", rounded_rect(0, 0, w, h, h / 2.5), 2 * 2.0)
        canvas.wall("abs", rounded_rect(1, 1, w - 2, h - 2, h / 2.5), 2.0, 60, closed=True)
        for cx in (w * 0.28, w * 0.72):
            canvas.disc("ferrite", cx, h / 2, uniform(rng, 12, 18), uniform(rng, 8, 12))
            canvas.ring("steel", cx, h / 2, h * 0.4, h * 0.36, 6)
        canvas.rect("lithium_cell", w * 0.42, h * 0.2, w * 0.16, h * 0.6, 18)
        canvas.rect("pcb", w * 0.4, h * 0.1, w * 0.2, h * 0.12, 1.2)
    elif kind == "camera":
        w, h = uniform(rng, 100, 130), uniform(rng, 60, 75)
        canvas = ItemCanvas(w, h, pitch_mm)
        canvas.slab(pick(rng, ("magnesium", "aluminium", "abs")), rounded_rect(0, 0, w, h, 6),
                    2 * 1.5)
        r = uniform(rng, 18, 26)
        canvas.ring("aluminium", w * 0.4, h / 2, r, r - 3, 35)
        for k in range(int(rng.integers(3, 7))):
            canvas.disc("glass", w * 0.4, h / 2, r - 4 - k, 3)
        canvas.rect("lithium_cell", w * 0.75, h * 0.15, w * 0.15, h * 0.7, 12)
        canvas.rect("pcb", w * 0.05, h * 0.1, w * 0.6, h * 0.8, 1.0)
        paste_pcb(rng, canvas, w * 0.05, h * 0.1, w * 0.6, h * 0.8)
    elif kind == "console":
        w, h = uniform(rng, 170, 240), uniform(rng, 80, 105)
        canvas = ItemCanvas(w, h, pitch_mm)
        canvas.slab("abs", rounded_rect(0, 0, w, h, 14), 2 * 2.0)
        canvas.rect("glass", w * 0.22, h * 0.1, w * 0.56, h * 0.8, 1.5)
        canvas.rect("pcb", w * 0.25, h * 0.15, w * 0.5, h * 0.6, 1.2)
        paste_pcb(rng, canvas, w * 0.25, h * 0.15, w * 0.5, h * 0.6)
        canvas.rect("lithium_cell", w * 0.3, h * 0.25, w * 0.4, h * 0.5, 5)
        for cx in (w * 0.11, w * 0.89):
            canvas.disc("steel", cx, h * 0.35, 9, 6)                               # stick
            for k in range(4):
                canvas.disc("abs", cx + 8 * np.cos(k * np.pi / 2), h * 0.7 + 8 * np.sin(
                    k * np.pi / 2), 3.5, 4)
    elif kind == "ereader":
        w, h = uniform(rng, 110, 130), uniform(rng, 160, 180)
        canvas = ItemCanvas(w, h, pitch_mm)
        canvas.slab("polycarbonate", rounded_rect(0, 0, w, h, 6), 2 * 1.0)
        canvas.rect("glass", 8, 10, w - 16, h - 30, 1.0)
        canvas.rect("lithium_cell", 10, h * 0.5, w - 20, h * 0.3, 3)
        canvas.rect("pcb", 10, h * 0.82, w - 20, 15, 1.0)
    else:
        cells = int(rng.integers(2, 5))
        w, h = cells * 19.0 + 16, uniform(rng, 80, 100)
        canvas = ItemCanvas(w + 20, h + 20, pitch_mm)
        canvas.pillow(pick(rng, ("nylon", "polyester")), (w + 20) / 2, (h + 20) / 2, w + 18,
                      h + 18, (w + 18) * (h + 18) * 3 / 1000)
        for k in range(cells):
            canvas.cylinder("lithium_cell", (18 + k * 19, 12), (18 + k * 19, 12 + 65), 9)
        canvas.rect("pcb", 10, 80, w - 4, 10, 1.2)
    return canvas.item()


# === identical foods in rows ====================================================================
_FOODS = ("flour", "sugar", "chocolate", "flour", "water", "soap")
"""Biscuits and buns (flour), sweets (sugar), pralines, fruit (mostly water), soap samples."""


@_lookalike("snack_multipack")
def _snack_multipack(rng: np.random.Generator, pitch_mm: float) -> Item:
    """A box, tray or bag of identical foods in rows, each maybe in its own wrapper: biscuits,
    sweets, buns, pralines, mooncakes, fruit. Real bags carry these; a model that learnt
    "rows of organic lumps" for packed narcotics alarmed on them."""
    food = pick(rng, _FOODS)
    cols, rows = int(rng.integers(2, 7)), int(rng.integers(2, 6))
    size = uniform(rng, 18, 70)
    aspect = uniform(rng, 0.6, 1.0)
    thick = size * uniform(rng, 0.3, 0.8)
    gap = size * uniform(rng, 0.03, 0.3)
    w, h = cols * (size + gap) + gap, rows * (size * aspect + gap) + gap
    canvas = ItemCanvas(w + 4, h + 4, pitch_mm)
    tray = pick(rng, ("cardboard", "pet", "polyethylene"))
    canvas.rect(tray, 0, 0, w + 4, h + 4, 2 * (1.5 if tray == "cardboard" else 0.3))
    if tray == "cardboard":
        canvas.wall("cardboard", rounded_rect(0.5, 0.5, w + 3, h + 3, 1), 1.5, thick * 1.3,
                    closed=True)
    wrapped = rng.random() < 0.5
    flat = uniform(rng, 0.2, 0.8)
    for i in range(cols):
        for j in range(rows):
            if rng.random() < 0.08:
                continue            # one eaten
            cx = 2 + gap + i * (size + gap) + size / 2 + uniform(rng, -gap, gap) / 2
            cy = 2 + gap + j * (size * aspect + gap) + size * aspect / 2
            rx = size / 2 * uniform(rng, 0.92, 1.05)
            ry = size * aspect / 2 * uniform(rng, 0.92, 1.05)
            angle = uniform(rng, -10, 10)
            canvas.ellipsoid(food, cx, cy, rx, ry, thick * uniform(rng, 0.9, 1.1), angle, flat)
            if wrapped:
                canvas.ellipsoid("polyethylene", cx, cy, rx * 1.12, ry * 1.12, 0.15, angle, 0.9)
    return canvas.item()


# === a bag's hardware ===========================================================================
@_lookalike("bag_hardware")
def _bag_hardware(rng: np.random.Generator, pitch_mm: float) -> Item:
    """Straps with their fittings, as a backpack or holdall carries them: D-rings, rectangular
    rings, tri-glide adjusters, snap hooks and cam buckles in zinc alloy or steel, 15-50 mm."""
    w, h = uniform(rng, 120, 320), uniform(rng, 80, 240)
    canvas = ItemCanvas(w, h, pitch_mm)
    metal = pick(rng, ("zinc_alloy", "zinc_alloy", "steel", "aluminium", "brass"))
    for _ in range(int(rng.integers(2, 7))):
        size = uniform(rng, 15, min(50.0, min(w, h) / 2.5))
        x, y = uniform(rng, size, w - size), uniform(rng, size, h - size)
        angle = uniform(rng, 0, 180)
        start = (float(np.clip(x - np.cos(np.radians(angle)) * size * 2, size / 2, w - size / 2)),
                 float(np.clip(y - np.sin(np.radians(angle)) * size * 2, size / 2, h - size / 2)))
        webbing_strap(canvas, start, (x, y), size * 0.8)      # the strap, inside the canvas
        _fitting(rng, canvas, metal, x, y, size, angle)
    return canvas.item()


def _fitting(rng: np.random.Generator, canvas: ItemCanvas, metal: str, x: float, y: float,
             size: float, angle: float) -> None:
    """One strap fitting of ``size`` mm centred at ``(x, y)``."""
    wire = max(2.0, size * uniform(rng, 0.08, 0.14))
    shape = pick(rng, ("d_ring", "rectangle", "tri_glide", "snap_hook", "cam_buckle"))
    a = np.radians(angle)
    cos, sin = float(np.cos(a)), float(np.sin(a))

    def turn(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
        return [(x + px * cos - py * sin, y + px * sin + py * cos) for px, py in points]

    half = size / 2
    if shape == "d_ring":
        arc = [(half * 0.6 * np.cos(t), half * np.sin(t)) for t in np.linspace(-np.pi / 2,
                                                                                np.pi / 2, 12)]
        canvas.tube_outline(metal, turn([(-half * 0.4, -half), *arc, (-half * 0.4, half)]),
                            wire / 2, closed=True)
    elif shape in ("rectangle", "tri_glide"):
        outline = [(-half * 0.5, -half), (half * 0.5, -half), (half * 0.5, half),
                   (-half * 0.5, half)]
        canvas.tube_outline(metal, turn(outline), wire / 2, closed=True)
        if shape == "tri_glide":
            canvas.tube_outline(metal, turn([(0, -half), (0, half)]), wire / 2)
    elif shape == "snap_hook":
        canvas.tube_outline(metal, turn([(-half, 0), (half * 0.3, 0)]), wire * 0.8)
        hook = [(half * 0.3 + half * 0.5 * np.cos(t), half * 0.5 * np.sin(t))
                for t in np.linspace(-np.pi, np.pi * 0.8, 14)]
        canvas.tube_outline(metal, turn(hook), wire / 2)
        canvas.disc(metal, *turn([(-half, 0)])[0], wire * 1.5, wire)            # swivel eye
    else:
        canvas.rect(metal, x - half * 0.5, y - half * 0.35, size * 0.5, size * 0.7, wire,
                    angle)
        canvas.rect(metal, x - half * 0.3, y - half * 0.2, size * 0.3, size * 0.4, -wire * 0.6,
                    angle)


# === parallel rods ==============================================================================
@_lookalike("rod_bundle")
def _rod_bundle(rng: np.random.Generator, pitch_mm: float) -> Item:
    """A bundle of parallel rods held together: pens and markers with their springs and refills,
    make-up brushes (aluminium ferrules), chopsticks, knitting needles or folding tent poles
    with their steel ferrules."""
    kind = pick(rng, ("pens", "brushes", "chopsticks", "needles", "tent_poles"))
    count = int(rng.integers(4, 16))
    length = {"pens": uniform(rng, 130, 150), "brushes": uniform(rng, 140, 190),
              "chopsticks": uniform(rng, 220, 260), "needles": uniform(rng, 300, 400),
              "tent_poles": uniform(rng, 380, 450)}[kind]
    radius = {"pens": 5.0, "brushes": 4.0, "chopsticks": 3.5, "needles": 2.5,
              "tent_poles": 4.5}[kind]
    canvas = ItemCanvas(length + 10, count * radius * 2.2 + 12, pitch_mm)
    for k in range(count):
        y = 6 + radius + k * radius * 2.1 + uniform(rng, -0.5, 0.5)
        x0 = 5 + uniform(rng, 0, 8)
        x1 = x0 + length - 8
        if kind == "pens":
            canvas.cylinder("polycarbonate", (x0, y), (x1, y), radius, radius - 1)
            canvas.cylinder("pvc", (x0 + 10, y), (x1 - 15, y), 1.5)
            canvas.cylinder("brass", (x0, y), (x0 + 4, y), 0.6)                      # tip
            canvas.polyline("steel", [(x1 - 25, y - 1), (x1 - 15, y + 1)], 0.4)      # spring
        elif kind == "brushes":
            canvas.cylinder("wood", (x0 + 60, y), (x1, y), radius)
            canvas.cylinder("aluminium", (x0 + 30, y), (x0 + 60, y), radius, radius - 0.3)
            canvas.ellipsoid("nylon", x0 + 15, y, 15, radius * 1.3, radius * 1.5)
        elif kind == "tent_poles":
            canvas.cylinder("aluminium", (x0, y), (x1, y), radius, radius - 0.7)
            canvas.cylinder("steel", (x1 - 40, y), (x1, y), radius - 0.8, radius - 1.3)
            canvas.polyline("rubber", [(x0, y), (x1, y)], 1.5)                      # shock cord
        else:
            canvas.cylinder("wood" if kind == "chopsticks" else pick(rng, ("aluminium", "steel",
                            "wood")), (x0, y), (x1, y), radius)
    for band in (0.3, 0.7):
        canvas.rect("rubber", 5 + length * band, 4, 6, count * radius * 2.2 + 4, 1.5)
    return canvas.item()
