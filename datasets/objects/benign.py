"""Benign parcel contents, in real sizes and materials, with hard negatives among them.

Nothing here is boxed. Hard negatives are objects that look like a threat to a naive model:
food powders in bags and tubs (narcotics), chocolate and soap bars (bricks), steel tools, lead
weights and dumbbell plates (dense metal), toy guns (a gun's silhouette in ABS), belt buckles.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from xscreen.datasets.materials import material
from xscreen.datasets.objects import clutter, covers
from xscreen.datasets.objects.drawing import (
    ItemCanvas,
    Point,
    ellipse_points,
    pick,
    registrar,
    rounded_rect,
    uniform,
    unknown,
)
from xscreen.datasets.shapes import Item

BenignRecipe = Callable[[np.random.Generator, float], Item]
BENIGN_RECIPES: dict[str, BenignRecipe] = {}
_benign = registrar(BENIGN_RECIPES)


def benign_item(rng: np.random.Generator, pitch_mm: float, kind: str | None = None) -> Item:
    """One benign object of ``kind`` (random if None), random size and details within real
    ranges, drawn in its own frame; nothing in it is boxed."""
    kind = kind if kind is not None else pick(rng, BENIGN_KINDS)
    if kind not in BENIGN_RECIPES:
        raise unknown("benign kind", kind, BENIGN_KINDS)
    item = BENIGN_RECIPES[kind](rng, pitch_mm)
    item.kind = kind
    return item


# === clothing and shoes ==========================================================================
@_benign("folded_clothes")
def _folded_clothes(rng: np.random.Generator, pitch_mm: float) -> Item:
    """A folded garment (or a few): fabric layers, sometimes buttons or a zip."""
    w, h = uniform(rng, 200, 350), uniform(rng, 150, 300)
    canvas = ItemCanvas(w, h, pitch_mm)
    covers.folded_fabric(rng, canvas, 0, 0, w, h)
    trim = pick(rng, ("none", "buttons", "zip", "snaps"))
    if trim == "buttons":
        for k in range(int(rng.integers(4, 8))):
            canvas.disc(pick(rng, ("abs", "abs", "zinc_alloy")), w * 0.5, 15 + k * 22, 6, 2.5)
    elif trim == "zip":
        canvas.rect(pick(rng, ("brass", "nylon", "steel")), w * 0.5 - 2.5, 5, 5, h - 10, 1.2)
        canvas.rect("zinc_alloy", w * 0.5 - 5, 8, 10, 30, 3.5)
    elif trim == "snaps":
        for k in range(int(rng.integers(3, 7))):
            canvas.ring("brass", w * 0.45, 20 + k * 30, 6, 2, 3.0)
    return canvas.item()


@_benign("jeans")
def _jeans(rng: np.random.Generator, pitch_mm: float) -> Item:
    """Folded jeans: denim layers, brass zip, a metal shank button, copper rivets."""
    w, h = uniform(rng, 280, 350), uniform(rng, 200, 280)
    canvas = ItemCanvas(w, h, pitch_mm)
    canvas.pillow("cotton", w / 2, h / 2, w, h, w * h * uniform(rng, 25, 45) / 1000 * 0.85)
    x0, y0 = uniform(rng, 40, w - 60), uniform(rng, 20, h - 160)
    canvas.rect("brass", x0, y0, 5, uniform(rng, 100, 140), 1.4)       # zip teeth
    canvas.rect("zinc_alloy", x0 - 3, y0, 11, 25, 3.5)                   # slider and pull
    canvas.disc("zinc_alloy", x0 + 2, y0 - 12, 8.5, 3.5)                 # shank button
    for _ in range(int(rng.integers(4, 7))):
        canvas.disc("copper", uniform(rng, 10, w - 10), uniform(rng, 10, h - 10), 3.5, 2.0)
    return canvas.item()


@_benign("jacket")
def _jacket(rng: np.random.Generator, pitch_mm: float) -> Item:
    """A folded padded jacket: polyester shell and fill, a long zip, metal snaps."""
    w, h = uniform(rng, 280, 400), uniform(rng, 220, 350)
    canvas = ItemCanvas(w, h, pitch_mm)
    canvas.pillow("polyester", w / 2, h / 2, w, h, w * h * uniform(rng, 40, 80) / 1000 * 0.3,
                  squareness=4)                                      # lofty fill
    canvas.rect(pick(rng, ("brass", "nylon")), w * 0.3, 5, 6, h - 10, 1.4)
    canvas.polyline("steel", [(w * 0.3 + 3, 10), (w * 0.3 + 3, h - 10)], 0.6)
    for k in range(int(rng.integers(0, 6))):
        canvas.ring("steel", w * 0.6, 30 + k * 40, 6, 2, 3)
    return canvas.item()


@_benign("boot")
def _boot(rng: np.random.Generator, pitch_mm: float) -> Item:
    """A boot from the side: rubber sole and heel (as deep as the boot is wide), leather shaft,
    and the steel shank in the arch seen edge-on."""
    length, height = uniform(rng, 260, 320), uniform(rng, 140, 300)
    width = length * 0.35
    canvas = ItemCanvas(length, height, pitch_mm)
    canvas.slab("rubber", rounded_rect(0, height - 14, length, 14, 6), width * 0.7)
    canvas.rect("rubber", 0, height - 40, 70, 28, width * 0.6)           # heel
    upper = [(0, height - 14), (length, height - 14), (length * 0.9, height - 70),
             (length * 0.5, height - 95), (length * 0.38, 0), (0, 0)]
    canvas.slab("leather", upper, 4.5)
    canvas.tube_outline("leather", upper, 1.8, closed=True)
    canvas.rect("carbon_steel", 55, height - 22, 110, 2.0, 14)          # shank, edge-on
    for k in range(int(rng.integers(0, 8))):
        canvas.ring("brass", length * 0.42 + k * 6, height * 0.15 + k * 12, 3, 1.5, 6)
    return canvas.item()


@_benign("shoes_pair")
def _shoes_pair(rng: np.random.Generator, pitch_mm: float) -> Item:
    """A pair of leather shoes from above, side by side: rubber soles with heels, uppers seen
    edge-on around the rim, a steel shank in each arch (the clean twin of a drug-filled sole)."""
    length = uniform(rng, 240, 310)
    width = length * 0.4
    canvas = ItemCanvas(length, 2 * width + 10, pitch_mm)
    sole, upper = uniform(rng, 8, 14), uniform(rng, 50, 80)
    for y0 in (0.0, width + 10):
        outline = [(x, y + y0) for x, y in covers.shoe_outline(length)]
        canvas.slab("rubber", outline, sole)
        canvas.rect("rubber", length * 0.02, y0 + width * 0.25, length * 0.22, width * 0.5,
                    uniform(rng, 15, 40))                                  # heel block
        canvas.slab("leather", outline, 2 * 1.5)                           # insole and vamp
        canvas.wall("leather", outline, 1.8, upper, closed=True)
        canvas.rect("carbon_steel", length * 0.2, y0 + width * 0.45, length * 0.35, 12, 1.5)
    return canvas.item()


@_benign("sandal")
def _sandal(rng: np.random.Generator, pitch_mm: float) -> Item:
    """A sandal from above: EVA or rubber sole, leather straps, a small metal buckle."""
    length = uniform(rng, 230, 300)
    canvas = ItemCanvas(length, length * 0.4, pitch_mm)
    outline = covers.shoe_outline(length)
    canvas.slab(pick(rng, ("eva_foam", "rubber", "eva_foam")), outline, uniform(rng, 15, 30))
    for t in (0.35, 0.7):
        canvas.rect("leather", length * t, 0, 22, length * 0.4, 3.0)
    canvas.ring(pick(rng, ("zinc_alloy", "steel")), length * 0.35 + 11, length * 0.06, 9, 6, 2.5)
    return canvas.item()


# === paper and toys ==============================================================================
@_benign("book")
def _book(rng: np.random.Generator, pitch_mm: float) -> Item:
    """A book face-on (a slab of paper), hardcover boards, or a spiral-bound notebook."""
    w, h = pick(rng, ("148x210", "170x240", "210x297", "135x203")).split("x")
    width, height = float(w), float(h)
    binding = pick(rng, ("paperback", "hardcover", "spiral", "stapled"))
    pages = uniform(rng, 3, 50) if binding != "stapled" else uniform(rng, 1, 4)
    if rng.random() < 0.2:
        return _book_on_edge(pitch_mm, width, height, pages, binding == "hardcover")
    canvas = ItemCanvas(width + 6, height, pitch_mm)
    canvas.rect("paper", 6, 0, width, height, pages)
    if binding == "hardcover":
        canvas.rect("cardboard", 4, 0, width + 2, height, 2 * 2.5 * 4)  # dense board
    elif binding == "spiral":
        for y in np.arange(6, height - 4, 8.5):
            canvas.cylinder("steel", (0, y), (10, y + 3), 0.6)
    elif binding == "stapled":
        for y in (height * 0.25, height * 0.75):
            canvas.cylinder("steel", (6, y - 6), (6, y + 6), 0.35)
    return canvas.item()


def _book_on_edge(pitch_mm: float, width: float, height: float, pages: float,
                  hardcover: bool) -> Item:
    """A book standing on its edge: the beam runs across its width, so it shows as a narrow
    dense band (height x thickness) holding ``width`` mm of paper."""
    boards = 2.5 if hardcover else 0.3
    canvas = ItemCanvas(height, pages + 2 * boards, pitch_mm)
    canvas.rect("paper", 0, boards, height, pages, width)
    for y in (0.0, boards + pages):
        canvas.rect("cardboard" if hardcover else "paper", 0, y, height, boards,
                    width * (4 if hardcover else 1))
    return canvas.item()


@_benign("toy")
def _toy(rng: np.random.Generator, pitch_mm: float) -> Item:
    """A battery toy: an ABS shell (walls, edges seen edge-on), motor, speaker, AA/AAA cells."""
    w, h, depth = uniform(rng, 100, 260), uniform(rng, 70, 180), uniform(rng, 40, 90)
    canvas = ItemCanvas(w, h, pitch_mm)
    body = rounded_rect(0, 0, w, h, min(w, h) * uniform(rng, 0.1, 0.4))
    canvas.slab("abs", body, 2 * 2.2)
    canvas.tube_outline("abs", body, 1.2, closed=True)
    canvas.slab("abs", rounded_rect(w * 0.1, h * 0.1, w * 0.3, h * 0.3, 5), depth * 0.1)
    cells = int(rng.choice([2, 3, 4]))
    aa = rng.random() < 0.6
    radius, length = (7.25, 50.5) if aa else (5.25, 44.5)
    for k in range(cells):
        _alkaline_cell(canvas, (w * 0.4, h * 0.55 + (k - cells / 2) * 2 * radius * 0.55),
                       length, radius, vertical=False)
    canvas.cylinder("steel", (w * 0.75, h * 0.3), (w * 0.75 + 25, h * 0.3), 10, 9.5)  # motor
    canvas.cylinder("copper", (w * 0.75 + 3, h * 0.3), (w * 0.75 + 20, h * 0.3), 7, 4)
    canvas.ring("ferrite", w * 0.2, h * 0.7, 14, 5, 5)                   # speaker magnet
    canvas.rect("pcb", w * 0.6, h * 0.6, 35, 25, 1.6)
    canvas.polyline("copper", [(w * 0.5, h * 0.55), (w * 0.65, h * 0.65), (w * 0.75, h * 0.35)],
                    0.3)
    return canvas.item()


def _alkaline_cell(canvas: ItemCanvas, start: Point, length: float, radius: float,
                   vertical: bool) -> None:
    """An alkaline cell lying across the beam: nickel-plated steel can, zinc/MnO2 inside."""
    x, y = start
    end = (x, y + length) if vertical else (x + length, y)
    canvas.cylinder("steel", (x, y), end, radius, radius - 0.25)
    canvas.cylinder("alkaline_cell", (x, y), end, radius - 0.3)


@_benign("toy_gun")
def _toy_gun(rng: np.random.Generator, pitch_mm: float) -> Item:
    """A toy pistol (hard negative): a gun's silhouette in thin ABS, one tiny steel spring."""
    length = uniform(rng, 140, 260)
    height = length * uniform(rng, 0.6, 0.75)
    canvas = ItemCanvas(length, height, pitch_mm)
    outline = [(length * 0.25, 0), (length, 0), (length, height * 0.3),
               (length * 0.45, height * 0.32), (length * 0.35, height), (length * 0.08, height),
               (length * 0.2, height * 0.3), (length * 0.25, height * 0.3)]
    canvas.slab("abs", outline, 2 * 1.8)
    canvas.tube_outline("abs", outline, 1.0, closed=True)
    canvas.tube_outline("abs", ellipse_points(length * 0.55, height * 0.42, 15, 11, 12, -10,
                                              190), 2.0)
    canvas.rect("abs", length * 0.96, 0, length * 0.04, height * 0.3, 20)  # orange tip
    spring = [(length * 0.5 + 1.2 * k, height * 0.15 + (3 if k % 2 else -3)) for k in range(16)]
    canvas.polyline("steel", spring, 0.3)
    return canvas.item()


# === cosmetics and bottles =======================================================================
@_benign("glass_bottle")
def _glass_bottle(rng: np.random.Generator, pitch_mm: float) -> Item:
    """Wine, spirits or oil in a glass bottle (walls 3-5 mm)."""
    radius, height = uniform(rng, 33, 45), uniform(rng, 220, 320)
    canvas = ItemCanvas(2 * radius, height, pitch_mm)
    wall = uniform(rng, 3, 5)
    covers.bottle(canvas, radius, height, wall, "glass")
    covers.bottle_liquid(canvas, radius, height, wall, pick(rng, ("ethanol_solution", "water")),
                         uniform(rng, 0.7, 1.0))
    return canvas.item()


@_benign("plastic_bottle")
def _plastic_bottle(rng: np.random.Generator, pitch_mm: float) -> Item:
    """Water, shampoo or a drink in a PET bottle (walls 0.3 mm)."""
    radius, height = uniform(rng, 28, 45), uniform(rng, 180, 320)
    canvas = ItemCanvas(2 * radius, height, pitch_mm)
    covers.bottle(canvas, radius, height, 0.35, "pet")
    covers.bottle_liquid(canvas, radius, height, 0.35,
                         pick(rng, ("water", "ethanol_solution", "cream")), uniform(rng, 0.3, 1.0))
    return canvas.item()


@_benign("perfume")
def _perfume(rng: np.random.Generator, pitch_mm: float) -> Item:
    """A perfume flacon: thick glass block, ethanol solution, metal spray pump, dip tube."""
    w, h, depth = uniform(rng, 50, 90), uniform(rng, 60, 110), uniform(rng, 25, 45)
    canvas = ItemCanvas(w, h + 30, pitch_mm)
    canvas.slab("glass", rounded_rect(0, 30, w, h, 6), 2 * uniform(rng, 4, 8))
    canvas.slab("glass", rounded_rect(0, 30 + h - 10, w, 10, 4), depth * 0.6)
    canvas.rect("ethanol_solution", 6, 30 + h * uniform(rng, 0.1, 0.5), w - 12, h * 0.5,
                depth * 0.5)
    canvas.rect(pick(rng, ("aluminium", "steel", "zinc_alloy")), w / 2 - 9, 14, 18, 16, 6)
    canvas.cylinder("polyethylene", (w / 2, 30), (w / 2, 30 + h - 8), 1.5)
    canvas.rect("abs", w / 2 - 12, 0, 24, 16, 20)                         # cap
    return canvas.item()


@_benign("lipsticks")
def _lipsticks(rng: np.random.Generator, pitch_mm: float) -> Item:
    """A few lipsticks side by side: aluminium tubes, steel mechanism, wax bullet."""
    count = int(rng.integers(1, 6))
    canvas = ItemCanvas(count * 22, 80, pitch_mm)
    for k in range(count):
        x = 11 + k * 22
        canvas.cylinder("aluminium", (x, 2), (x, 78), 9.5, 9.0)
        canvas.cylinder("steel", (x, 40), (x, 70), 7.0, 6.7)
        canvas.cylinder("cream", (x, 10), (x, 50), 6.0)
    return canvas.item()


@_benign("cream_jar")
def _cream_jar(rng: np.random.Generator, pitch_mm: float) -> Item:
    """A cream jar from above: glass or PP walls edge-on, the cream as deep as the jar."""
    radius, height = uniform(rng, 25, 45), uniform(rng, 25, 55)
    glass = rng.random() < 0.5
    wall = 4.0 if glass else 2.0
    canvas = ItemCanvas(2 * radius, 2 * radius, pitch_mm)
    canvas.ring("glass" if glass else "polyethylene", radius, radius, radius, radius - wall,
                height)
    canvas.disc("glass" if glass else "polyethylene", radius, radius, radius - wall, wall)
    canvas.disc("cream", radius, radius, radius - wall, height * uniform(rng, 0.5, 0.9))
    canvas.disc(pick(rng, ("aluminium", "abs")), radius, radius, radius + 1, 1.5)  # lid
    return canvas.item()


# === electronics =================================================================================
@_benign("cable")
def _cable(rng: np.random.Generator, pitch_mm: float) -> Item:
    """A coiled cable: copper conductors in PVC, steel USB shells or brass mains pins."""
    coil = covers.coil_path(rng, turns=int(rng.integers(2, 8)), radius=uniform(rng, 35, 90))
    canvas = ItemCanvas(*covers.path_extent(coil), pitch_mm)
    jacket = uniform(rng, 1.5, 3.5)
    canvas.cable(coil, [("pvc", jacket, jacket * 0.45), ("copper", jacket * 0.45, 0.0)])
    for end in (coil[0], coil[-1]):
        x, y = end
        canvas.rect("abs", x - 6, y - 6, 12, 22, 9)
        if rng.random() < 0.7:
            canvas.rect("steel", x - 6, y - 16, 12, 12, 0.8)                # USB shell
        else:
            canvas.rect("brass", x - 4, y - 18, 2, 14, 2)
            canvas.rect("brass", x + 2, y - 18, 2, 14, 2)
    return canvas.item()


@_benign("tablet")
def _tablet(rng: np.random.Generator, pitch_mm: float) -> Item:
    """A tablet from above: glass, aluminium back, a large battery, board, magnets."""
    w, h = uniform(rng, 160, 250), uniform(rng, 240, 290)
    canvas = ItemCanvas(w, h, pitch_mm)
    canvas.slab("glass", rounded_rect(0, 0, w, h, 10), 1.0)
    canvas.slab("aluminium", rounded_rect(0, 0, w, h, 10), 1.0)
    canvas.tube_outline("aluminium", rounded_rect(1, 1, w - 2, h - 2, 9), 1.0, closed=True)
    canvas.rect("lithium_cell", 10, h * 0.25, w - 20, h * 0.6, 3.2)
    canvas.rect("pcb", 10, 10, w - 20, h * 0.15, 1.2)
    for y in np.linspace(30, h - 30, 5):
        canvas.rect("neodymium_magnet", 2, y, 3, 12, 2)
    return canvas.item()


@_benign("power_bank")
def _power_bank(rng: np.random.Generator, pitch_mm: float) -> Item:
    """A power bank from above: 18650 cells (steel cans) or a pouch cell, board, shell."""
    cells = int(rng.integers(1, 5))
    cylindrical = rng.random() < 0.6
    w, h = (cells * 19 + 10, 90.0) if cylindrical else (uniform(rng, 65, 80),
                                                         uniform(rng, 130, 150))
    canvas = ItemCanvas(w, h, pitch_mm)
    canvas.slab(pick(rng, ("abs", "aluminium")), rounded_rect(0, 0, w, h, 5), 2 * 1.2)
    if cylindrical:
        for k in range(cells):
            x = 14.5 + k * 19
            canvas.cylinder("steel", (x, 5), (x, 70), 9, 8.75)
            canvas.cylinder("lithium_cell", (x, 5), (x, 70), 8.7)
    else:
        canvas.rect("lithium_cell", 5, 5, w - 10, h * 0.75, 9)
    canvas.rect("pcb", 4, h - 18, w - 8, 14, 1.6)
    canvas.rect("steel", w / 2 - 6, h - 4, 12, 4, 4)
    return canvas.item()


@_benign("charger")
def _charger(rng: np.random.Generator, pitch_mm: float) -> Item:
    """A mains charger from the side: plastic shell, ferrite transformer with copper windings,
    capacitors, board, brass prongs."""
    w, h = uniform(rng, 35, 60), uniform(rng, 40, 70)
    canvas = ItemCanvas(w, h + 18, pitch_mm)
    canvas.slab("polycarbonate", rounded_rect(0, 18, w, h, 5), 2 * 1.8)
    canvas.tube_outline("polycarbonate", rounded_rect(1, 19, w - 2, h - 2, 4), 1.0, closed=True)
    canvas.rect("pcb", 3, 18 + h - 10, w - 6, 2, 25)
    canvas.rect("ferrite", w * 0.2, 18 + h * 0.3, 16, 14, 12)
    canvas.rect("copper", w * 0.2 + 3, 18 + h * 0.3 + 2, 10, 10, 8)
    canvas.cylinder("aluminium", (w * 0.7, 18 + h * 0.2), (w * 0.7, 18 + h * 0.6), 4, 3.7)
    for x in (w / 2 - 7, w / 2 + 5):
        canvas.rect("brass", x, 0, 2, 19, 6)
    return canvas.item()


# === kitchen =====================================================================================
@_benign("steel_pot")
def _steel_pot(rng: np.random.Generator, pitch_mm: float) -> Item:
    """A stainless pot from the side: its wall a tube seen side-on, the base edge-on, handles."""
    radius, height = uniform(rng, 70, 130), uniform(rng, 70, 180)
    wall = uniform(rng, 0.5, 1.0)
    canvas = ItemCanvas(2 * radius + 50, height, pitch_mm)
    cx = radius + 25
    canvas.cylinder("steel", (cx, 0), (cx, height), radius, radius - wall)
    canvas.disc_edge_on("aluminium", cx, height - 4, radius - 8, 3)      # capsule base: core
    canvas.disc_edge_on("steel", cx, height - 1, radius - 6, 1)
    for side in (-1, 1):
        canvas.polyline("steel", [(cx + side * radius, 15), (cx + side * (radius + 22), 20),
                                  (cx + side * radius, 30)], 3.0)
    if rng.random() < 0.5:
        canvas.disc_edge_on("glass", cx, 0, radius + 2, 4)                 # lid, edge-on
    return canvas.item()


@_benign("cutlery")
def _cutlery(rng: np.random.Generator, pitch_mm: float) -> Item:
    """Knives, forks and spoons lying flat (steel, 1.5-3 mm), side by side."""
    count = int(rng.integers(3, 13))
    canvas = ItemCanvas(count * 28, 215, pitch_mm)
    for k in range(count):
        x = 14 + k * 28
        piece = pick(rng, ("knife", "fork", "spoon"))
        canvas.slab("steel", [(x - 5, 0), (x + 5, 0), (x + 6, 120), (x - 6, 120)], 2.5)
        if piece == "knife":
            canvas.slab("steel", [(x - 8, 120), (x + 8, 120), (x + 6, 215), (x - 2, 215)], 1.5)
        elif piece == "fork":
            canvas.slab("steel", rounded_rect(x - 12, 120, 24, 40, 10), 2.0)
            for tine in (-9, -3, 3, 9):
                canvas.rect("steel", x + tine - 1.5, 160, 3, 40, 2.0)
        else:
            canvas.ellipsoid("steel", x, 172, 12.5, 24, 1.8, flat=0.95)
    return canvas.item()


@_benign("ceramic_mug")
def _ceramic_mug(rng: np.random.Generator, pitch_mm: float) -> Item:
    """A mug from the side: a ceramic tube, base edge-on, a handle."""
    radius, height = uniform(rng, 38, 48), uniform(rng, 85, 110)
    canvas = ItemCanvas(2 * radius + 30, height, pitch_mm)
    canvas.cylinder("ceramic", (radius, 0), (radius, height), radius, radius - 5)
    canvas.disc_edge_on("ceramic", radius, height - 6, radius - 5, 6)
    canvas.polyline("ceramic", ellipse_points(2 * radius, height / 2, 22, height * 0.3, 12, -90,
                                              90), 5)
    return canvas.item()


# === food and household: hard negatives for narcotics ============================================
@_benign("powder_tub")
def _powder_tub(rng: np.random.Generator, pitch_mm: float) -> Item:
    """Milk or protein powder in a plastic tub or tin, from above or the side; a scoop inside."""
    powder = pick(rng, ("milk_powder", "milk_powder", "flour", "sugar"))
    radius, height = uniform(rng, 50, 80), uniform(rng, 110, 230)
    shell = pick(rng, ("polyethylene", "carbon_steel"))
    wall = 2.0 if shell == "polyethylene" else 0.25
    if rng.random() < 0.5:
        canvas = ItemCanvas(2 * radius, 2 * radius, pitch_mm)
        canvas.ring(shell, radius, radius, radius, radius - wall, height)
        canvas.disc(powder, radius, radius, radius - wall, height * uniform(rng, 0.5, 0.95))
        canvas.disc("polyethylene", radius, radius, radius - 10, 1.5)      # scoop, face-on
    else:
        canvas = ItemCanvas(2 * radius, height, pitch_mm)
        canvas.cylinder(shell, (radius, 0), (radius, height), radius, radius - wall)
        canvas.cylinder(powder, (radius, height * uniform(rng, 0.05, 0.5)), (radius, height - 2),
                        radius - wall)
    canvas.disc("aluminium", radius, radius, radius - 2, 0.03)                # foil seal
    return canvas.item()


@_benign("food_bag")
def _food_bag(rng: np.random.Generator, pitch_mm: float) -> Item:
    """A bag of flour, sugar, milk powder, coffee, tea or rice (0.25-2 kg): a soft pillow."""
    food = pick(rng, ("flour", "sugar", "milk_powder", "coffee", "tea"))
    mass = uniform(rng, 250, 2000)
    volume = mass / material(food).density
    w = uniform(rng, 1.2, 1.6) * volume ** (1 / 3) * 10
    h = w * uniform(rng, 0.55, 0.8)
    canvas = ItemCanvas(w + 6, h + 6, pitch_mm)
    canvas.pillow(food, w / 2 + 3, h / 2 + 3, w, h, volume, squareness=uniform(rng, 3, 8))
    canvas.rect(pick(rng, ("paper", "polyethylene")), 0, 0, w + 6, h + 6, 0.2)
    if food == "coffee":
        canvas.rect("aluminium", 0, 0, w + 6, h + 6, 0.02)                  # foil laminate
        canvas.disc("polyethylene", w / 2, 15, 10, 4)                       # degassing valve
    return canvas.item()


@_benign("chocolate_bars")
def _chocolate_bars(rng: np.random.Generator, pitch_mm: float) -> Item:
    """A stack or row of chocolate bars in foil and paper."""
    count = int(rng.integers(1, 6))
    w, h, t = uniform(rng, 140, 210), uniform(rng, 65, 85), uniform(rng, 8, 14)
    canvas = ItemCanvas(w + count * 12, h + count * 8, pitch_mm)
    for k in range(count):
        x, y = k * 12, k * 8
        canvas.rect("chocolate", x + 1, y + 1, w - 2, h - 2, t)
        for groove in np.arange(x + 20, x + w - 10, 20):
            canvas.rect("chocolate", groove, y + 1, 2, h - 2, -t * 0.3)
        canvas.rect("aluminium", x, y, w, h, 0.02)
        canvas.rect("paper", x, y, w, h, 0.3)
    return canvas.item()


@_benign("tea_box")
def _tea_box(rng: np.random.Generator, pitch_mm: float) -> Item:
    """Tea in a cardboard box of bags (each with a staple or not) or a tin caddy."""
    w, h, depth = uniform(rng, 120, 180), uniform(rng, 60, 90), uniform(rng, 60, 80)
    canvas = ItemCanvas(w, h, pitch_mm)
    box = pick(rng, ("cardboard", "carbon_steel"))
    canvas.rect(box, 0, 0, w, h, 2 * (1.0 if box == "cardboard" else 0.25) * (5 if box ==
                "cardboard" else 1))
    canvas.tube_outline(box, rounded_rect(0.5, 0.5, w - 1, h - 1, 1), 0.5, closed=True)
    bags = int(w // 7)
    for k in range(bags):
        canvas.rect("tea", 3 + k * 7, 4, 6, h - 8, depth * 0.35)
        if rng.random() < 0.5:
            canvas.cylinder("steel", (3 + k * 7, 6), (3 + k * 7, 14), 0.25)
    return canvas.item()


@_benign("soap_bars")
def _soap_bars(rng: np.random.Generator, pitch_mm: float) -> Item:
    """One to four soap bars (100-150 g each) in paper wrappers."""
    count = int(rng.integers(1, 5))
    w, h = uniform(rng, 80, 100), uniform(rng, 50, 65)
    canvas = ItemCanvas(w, count * (h + 4), pitch_mm)
    for k in range(count):
        y = k * (h + 4)
        canvas.pillow("soap", w / 2, y + h / 2, w - 2, h - 2, uniform(rng, 100, 150) / 1.05)
        canvas.rect("paper", 0, y, w, h, 0.3)
    return canvas.item()


# === tools and dense metal: hard negatives =======================================================
@_benign("wrench")
def _wrench(rng: np.random.Generator, pitch_mm: float) -> Item:
    """A combination spanner lying flat: forged steel, ring end and open jaw."""
    length = uniform(rng, 120, 300)
    jaw = length * 0.1
    thickness = uniform(rng, 4, 8)
    canvas = ItemCanvas(length + 2.2 * jaw, 2.4 * jaw, pitch_mm)
    cy = 1.2 * jaw
    canvas.rect("carbon_steel", jaw, cy - jaw * 0.3, length, jaw * 0.6, thickness)
    canvas.ring("carbon_steel", jaw, cy, jaw * 1.1, jaw * 0.55, thickness * 1.2)
    canvas.ring("carbon_steel", length + jaw, cy, jaw * 1.15, jaw * 0.5, thickness)
    canvas.rect("carbon_steel", length + jaw * 0.9, cy - jaw * 0.5, jaw * 1.2, jaw, -thickness)
    return canvas.item()


@_benign("pliers")
def _pliers(rng: np.random.Generator, pitch_mm: float) -> Item:
    """Pliers lying flat: two crossed steel halves, a rivet, rubber or PVC grips."""
    length = uniform(rng, 150, 250)
    canvas = ItemCanvas(length, length * 0.3, pitch_mm)
    cy = length * 0.15
    for side in (-1, 1):
        arm = [(0, cy + side * length * 0.12), (length * 0.6, cy + side * 3), (length, cy)]
        canvas.polyline("carbon_steel", arm, 5.5)
        canvas.polyline(pick(rng, ("pvc", "rubber")), arm[:2], 8)
    canvas.disc("carbon_steel", length * 0.62, cy, 7, 4)
    return canvas.item()


@_benign("hammer")
def _hammer(rng: np.random.Generator, pitch_mm: float) -> Item:
    """A hammer: steel head (a lying bar) on a wood or fibreglass handle."""
    length, head = uniform(rng, 250, 340), uniform(rng, 90, 130)
    canvas = ItemCanvas(length, head, pitch_mm)
    canvas.cylinder(pick(rng, ("wood", "nylon")), (0, head / 2), (length - 20, head / 2), 14)
    canvas.cylinder("carbon_steel", (length - 15, 4), (length - 15, head - 4), 13)
    return canvas.item()


@_benign("screwdrivers")
def _screwdrivers(rng: np.random.Generator, pitch_mm: float) -> Item:
    """One to six screwdrivers: steel shafts in plastic handles."""
    count = int(rng.integers(1, 7))
    length = uniform(rng, 150, 260)
    canvas = ItemCanvas(length, count * 34, pitch_mm)
    for k in range(count):
        y = 17 + k * 34
        canvas.cylinder(pick(rng, ("abs", "polycarbonate")), (0, y), (length * 0.4, y), 14)
        canvas.cylinder("steel", (length * 0.3, y), (length, y), uniform(rng, 2, 4))
    return canvas.item()


@_benign("fishing_weights")
def _fishing_weights(rng: np.random.Generator, pitch_mm: float) -> Item:
    """A bag of lead sinkers (egg and pear shapes, 10-100 g) with some steel swivels."""
    count = int(rng.integers(3, 25))
    side = 40 + 18 * np.sqrt(count)
    canvas = ItemCanvas(side, side, pitch_mm)
    for _ in range(count):
        r = uniform(rng, 4, 10)
        canvas.ellipsoid("lead", uniform(rng, 2 * r, side - 2 * r), uniform(rng, 2 * r,
                         side - 2 * r), r, 1.6 * r, 2 * r, angle_deg=uniform(rng, 0, 180))
    for _ in range(int(rng.integers(0, 6))):
        x, y = uniform(rng, 10, side - 10), uniform(rng, 10, side - 10)
        canvas.polyline("steel", [(x, y), (x + 8, y + 3)], 1.0)
    canvas.rect("polyethylene", 0, 0, side, side, 0.1)
    return canvas.item()


@_benign("dumbbell_plate")
def _dumbbell_plate(rng: np.random.Generator, pitch_mm: float) -> Item:
    """A cast-iron weight plate (0.5-5 kg) lying flat, face-on."""
    mass = float(rng.choice([500, 1000, 1250, 2000, 2500, 5000]))
    radius = 70 + 60 * (mass / 5000) ** 0.5
    hole = 14.5
    area_cm2 = np.pi * (radius**2 - hole**2) / 100
    thickness = mass / 7.2 / area_cm2 * 10
    canvas = ItemCanvas(2 * radius, 2 * radius, pitch_mm)
    canvas.ring("carbon_steel", radius, radius, radius, hole, thickness * 0.85)
    canvas.ring("carbon_steel", radius, radius, radius, radius - 12, thickness * 0.6)  # rim
    return canvas.item()


@_benign("belt")
def _belt(rng: np.random.Generator, pitch_mm: float) -> Item:
    """A rolled leather belt from above (a spiral roll as deep as the belt is wide) and its
    metal buckle."""
    width = uniform(rng, 30, 40)
    roll = uniform(rng, 35, 50)
    canvas = ItemCanvas(2 * roll + 70, 2 * roll, pitch_mm)
    canvas.ring("leather", roll, roll, roll, roll * 0.35, width * 0.55)
    buckle = pick(rng, ("zinc_alloy", "steel", "brass"))
    x0 = 2 * roll + 5
    canvas.tube_outline(buckle, rounded_rect(x0, roll - width / 2 - 6, 55, width + 12, 8), 2.5,
                        closed=True)
    canvas.cylinder(buckle, (x0 + 25, roll - width / 2 - 4), (x0 + 25, roll + width / 2 + 4), 1.5)
    canvas.rect(buckle, x0 + 5, roll - 10, 20, 20, 3.0)
    return canvas.item()


@_benign("umbrella")
def _umbrella(rng: np.random.Generator, pitch_mm: float) -> Item:
    """A folded umbrella: steel or aluminium shaft and ribs, polyester canopy, plastic handle."""
    length = uniform(rng, 230, 330)
    canvas = ItemCanvas(length, 50, pitch_mm)
    canvas.pillow("polyester", length * 0.55, 25, length * 0.8, 45, length * 0.8 * 45 * 0.02)
    canvas.cylinder(pick(rng, ("steel", "aluminium")), (20, 25), (length, 25), 4.5, 3.7)
    for k in range(8):
        canvas.polyline("steel", [(length * 0.2, 25 + (k - 4) * 1.5), (length, 25 + (k - 4))],
                        0.8)
    canvas.rect("abs", 0, 10, 35, 30, 25)
    return canvas.item()


@_benign("keys")
def _keys(rng: np.random.Generator, pitch_mm: float) -> Item:
    """A bunch of keys on a split ring: brass or nickel-silver blades with bows, cut bittings."""
    count = int(rng.integers(1, 7))
    canvas = ItemCanvas(150, 150, pitch_mm)
    canvas.ring("steel", 75, 75, 14, 12, 2.5)
    for k in range(count):
        angle = k * 360 / max(count, 1) + uniform(rng, -15, 15)
        _key(canvas, (75, 75), angle, pick(rng, ("brass", "steel", "brass")), rng)
    if rng.random() < 0.5:
        canvas.rect("abs", 2, 2, 30, 45, 8)                                  # car fob
        canvas.disc("lithium_cell", 17, 30, 10, 3.2)
    return canvas.item()


def _key(canvas: ItemCanvas, hub: Point, angle_deg: float, metal: str,
         rng: np.random.Generator) -> None:
    """One key hanging from ``hub``: a round bow, then a blade with a cut edge, 2 mm thick."""
    cos, sin = float(np.cos(np.radians(angle_deg))), float(np.sin(np.radians(angle_deg)))

    def at(u: float, v: float) -> Point:
        return hub[0] + u * cos - v * sin, hub[1] + u * sin + v * cos

    canvas.ring(metal, *at(24, 0), 12, 4, 2.2)
    cuts = [at(36 + 4 * i, -4 + (1.5 if i % 2 else float(rng.uniform(-1, 2)))) for i in range(9)]
    canvas.slab(metal, [at(34, 4), at(72, 4), at(74, 0), *reversed(cuts), at(34, -6)], 2.2)


@_benign("costume_jewellery")
def _costume_jewellery(rng: np.random.Generator, pitch_mm: float) -> Item:
    """Steel, brass or silver chains and bangles: the clean twins of gold jewellery."""
    alloy = pick(rng, ("steel", "brass", "silver", "zinc_alloy"))
    link, wire = uniform(rng, 3, 9), uniform(rng, 0.6, 2.0)
    path, (w, h) = covers.chain_path(rng, uniform(rng, 180, 600), link)
    canvas = ItemCanvas(max(w, 115), h + 80, pitch_mm)
    covers.chain(canvas, alloy, path, link, wire, clasp=True)
    for k in range(int(rng.integers(0, 3))):
        canvas.ring(alloy, 36 + k * 40, h + 40, 34, 30, uniform(rng, 3, 8))
    return canvas.item()


@_benign("coin_purse")
def _coin_purse(rng: np.random.Generator, pitch_mm: float) -> Item:
    """A leather purse with circulation coins (brass, cupronickel, steel): clean twins of gold
    coins."""
    w, h = uniform(rng, 90, 130), uniform(rng, 70, 100)
    canvas = ItemCanvas(w, h, pitch_mm)
    canvas.slab("leather", rounded_rect(0, 0, w, h, 10), 2 * 1.5)
    canvas.rect("brass", 5, 4, w - 10, 4, 1.5)                               # zip
    for _ in range(int(rng.integers(2, 15))):
        radius = uniform(rng, 8, 14)
        canvas.disc(pick(rng, ("brass", "copper", "steel", "carbon_steel")),
                    uniform(rng, radius, w - radius), uniform(rng, radius + 8, h - radius),
                    radius, uniform(rng, 1.5, 2.4))
    if rng.random() < 0.5:
        canvas.rect("pvc", 10, 15, 54, 86 if h > 90 else h - 20, 0.8)       # cards
    return canvas.item()


@_benign("headphones")
def _headphones(rng: np.random.Generator, pitch_mm: float) -> Item:
    """Over-ear headphones folded flat: steel headband in plastic, two cups with drivers
    (neodymium magnet, steel pole pieces), foam cushions."""
    size = uniform(rng, 160, 200)
    canvas = ItemCanvas(size, size * 0.9, pitch_mm)
    band = ellipse_points(size / 2, size * 0.55, size / 2 - 42, size * 0.45, 16, 180, 360)
    canvas.polyline("steel", band, 1.2)
    canvas.polyline("abs", band, 5)
    for x in (42, size - 42):
        canvas.ring("abs", x, size * 0.62, 40, 36, 30)
        canvas.disc("abs", x, size * 0.62, 40, 3)
        canvas.disc("neodymium_magnet", x, size * 0.62, 7, 4)
        canvas.ring("carbon_steel", x, size * 0.62, 12, 7, 3)
        canvas.ring("polyester", x, size * 0.62, 42, 26, 20)               # cushion
        canvas.rect("lithium_cell", x - 10, size * 0.62 + 15, 20, 12, 5)
    return canvas.item()


@_benign("hard_drive")
def _hard_drive(rng: np.random.Generator, pitch_mm: float) -> Item:
    """A 3.5-inch or 2.5-inch hard drive from above: die-cast aluminium base, platters,
    actuator magnets (neodymium on steel plates), spindle motor, board: a dense brick that is
    not gold."""
    large = rng.random() < 0.6
    w, h, depth = (147.0, 101.6, 26.1) if large else (100.0, 69.85, 9.5)
    canvas = ItemCanvas(w, h, pitch_mm)
    canvas.rect("aluminium", 0, 0, w, h, depth * 0.3)
    canvas.wall("aluminium", rounded_rect(0.5, 0.5, w - 1, h - 1, 2), 3, depth, closed=True)
    platter = h * 0.46
    canvas.disc(pick(rng, ("aluminium", "glass")), h * 0.5, h * 0.5, platter,
                1.27 * int(rng.integers(1, 5)))
    canvas.disc("steel", h * 0.5, h * 0.5, 12, depth * 0.4)                 # spindle motor
    canvas.rect("neodymium_magnet", w * 0.78, h * 0.1, w * 0.15, h * 0.3, 3)
    canvas.rect("carbon_steel", w * 0.76, h * 0.08, w * 0.19, h * 0.34, 4)
    canvas.rect("pcb", 2, 2, w - 4, h - 4, 1.6)
    canvas.rect("steel", w - 15, 5, 12, 30, 1.0)                             # connector shells
    return canvas.item()


@_benign("stationery")
def _stationery(rng: np.random.Generator, pitch_mm: float) -> Item:
    """Office bits in a pouch: scissors, a stapler, pens with steel springs, paper clips."""
    canvas = ItemCanvas(200, 120, pitch_mm)
    canvas.rect("polyester", 0, 0, 200, 120, 1.0)
    for side in (-1, 1):                                                    # scissors
        canvas.slab("steel", [(10, 30), (90, 30 + side * 4), (90, 30 + side * 8)], 2.5)
        canvas.ring("abs", 105, 30 + side * 12, 12, 7, 7)
    canvas.rect("steel", 20, 55, 110, 25, 2.0)                               # stapler
    canvas.rect("abs", 20, 55, 110, 25, 15)
    canvas.rect("steel", 30, 62, 90, 8, 4)
    for k in range(int(rng.integers(1, 6))):                                 # pens
        y = 88 + k * 6
        canvas.cylinder("abs", (10, y), (150, y), 4.5, 3.5)
        canvas.cylinder("steel", (60, y), (80, y), 2.0, 1.7)
        canvas.cylinder("brass", (145, y), (155, y), 1.0)
    for _ in range(int(rng.integers(0, 8))):
        x, y = uniform(rng, 160, 190), uniform(rng, 10, 100)
        canvas.tube_outline("steel", rounded_rect(x, y, 8, 25, 4), 0.5, closed=True)
    return canvas.item()


@_benign("appliance")
def _appliance(rng: np.random.Generator, pitch_mm: float) -> Item:
    """A small appliance (hair dryer, iron, toaster, speaker): the clean twin of gold smuggled
    inside one, so that dense parts in appliances are not gold by default."""
    appliance = pick(rng, tuple(covers.APPLIANCES))
    draw, _ = covers.APPLIANCES[appliance]
    canvas = ItemCanvas(*covers.APPLIANCE_SIZES[appliance], pitch_mm)
    draw(rng, canvas)
    return canvas.item()


def _register(recipes: dict[str, BenignRecipe]) -> None:
    """File another module's recipes here, refusing a kind registered twice."""
    for kind, recipe in recipes.items():
        _benign(kind)(recipe)


_register(clutter.RECIPES)  # laptops, phones, tangles, crumpled clothes, wash bags, pockets ...


from xscreen.datasets.objects.outlines import BENIGN_RECIPES as _OUTLINES  # noqa: E402

_register(_OUTLINES)  # clutter drawn from real silhouettes: scissors, keys, padlocks ...

from xscreen.datasets.objects.counterfeit import PERSONAL_RECIPES  # noqa: E402

_register(PERSONAL_RECIPES)  # one phone, watch, handbag, earbuds or pair of sneakers: not a lot

from xscreen.datasets.objects.lookalikes import RECIPES as _LOOKALIKES  # noqa: E402

_register(_LOOKALIKES)  # what real bags alarmed on: gadgets, foods in rows, strap fittings, rods
BENIGN_KINDS: tuple[str, ...] = tuple(BENIGN_RECIPES)

LOOKALIKE_KINDS: tuple[str, ...] = (*_LOOKALIKES, *PERSONAL_RECIPES, "phone", "power_bank",
                                    "charger", "tablet", "headphones", "chocolate_bars",
                                    "soap_bars", "food_bag", "belt", "keys", "pliers", "umbrella",
                                    "costume_jewellery", "toy_gun", "outline_toy_gun")
"""Benign twins of the four classes, the things real threat-free bags alarmed on (issue 23):
one gadget or one branded item (not a lot), foods in rows and bags of powder, dense small metal,
tools and toy guns. A scene adds a few of these on purpose (``SceneConfig.lookalike_share``)."""

PERSONAL_KINDS: tuple[str, ...] = (*PERSONAL_RECIPES, "phone_in_case", "gadget")
"""What nearly every traveller packs, one each: a phone (maybe in its case), a watch, earbuds, a
handbag, a pair of sneakers, a gadget. Of a lot of identical ones each is boxed counterfeit; one
alone is benign (``SceneConfig.personal_share``)."""
