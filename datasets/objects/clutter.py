"""Everyday things with internal structure: what fills a real bag around (and over) a threat.

Electronics carry circuit boards (a crop of :func:`~.textures.pcb_reference`: chips, passives,
traces, shields), battery cells and hinges; clothes are crumpled (:func:`~.textures.
crumpled_fabric`) and trimmed with zips, buttons and underwires; cables come in tangles; a
toiletry bag holds tubes, cans and blades; pockets hold dozens of small metal things. All in real
sizes and materials, none boxed. Registered into :data:`~.benign.BENIGN_RECIPES`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from xscreen.datasets.materials import material
from xscreen.datasets.objects.drawing import (
    ItemCanvas,
    Point,
    ellipse_points,
    pick,
    registrar,
    rounded_rect,
    uniform,
)
from xscreen.datasets.objects.hardware import (
    ZIP_METALS,
    rivets,
    small_metal,
    zip_chain,
    zip_pull,
)
from xscreen.datasets.objects.textures import (
    crumpled_fabric,
    paste,
    paste_pcb,
    random_texture,
    rounded_footprint,
)
from xscreen.datasets.shapes import Item

RECIPES: dict[str, Callable[[np.random.Generator, float], Item]] = {}
_clutter = registrar(RECIPES)

COVERING_KINDS = ("laptop", "book", "steel_pot", "tablet", "crumpled_clothes", "phone",
                  "hard_drive", "shoes_pair", "toiletry_bag", "tangled_cables")
"""Dense or busy things a scene may lay over a threat to hide part of it."""


# === electronics =================================================================================
@_clutter("laptop")
def _laptop(rng: np.random.Generator, pitch_mm: float) -> Item:
    """A closed laptop from above: shells with their walls edge-on, display stack, keyboard
    plate, a populated main board (chips, passives, shields), heat pipes and fan, a battery of
    18650 cells in a row or flat pouch cells, SSD and RAM boards, hinges, speakers, ports and the
    screws round the base."""
    w, h = uniform(rng, 300, 380), uniform(rng, 205, 260)
    canvas = ItemCanvas(w, h, pitch_mm)
    shell = pick(rng, ("aluminium", "aluminium", "magnesium", "polycarbonate"))
    outline = rounded_rect(0, 0, w, h, 8)
    canvas.slab(shell, outline, 2 * uniform(rng, 0.8, 1.5))
    canvas.wall(shell, rounded_rect(1, 1, w - 2, h - 2, 7), 1.5, uniform(rng, 14, 22),
                closed=True)
    canvas.rect("glass", 6, 6, w - 12, h - 12, 1.0)                        # display glass
    canvas.rect("polycarbonate", 6, 6, w - 12, h - 12, 2.0)                # light guide
    canvas.rect(pick(rng, ("steel", "aluminium")), 10, h * 0.08, w - 20, h * 0.5, 0.25)  # keys
    board_w, board_h = w * uniform(rng, 0.5, 0.7), h * uniform(rng, 0.3, 0.42)
    board_x = uniform(rng, 12, w - board_w - 12)
    canvas.rect("pcb", board_x, 14, board_w, board_h, 1.2)
    paste_pcb(rng, canvas, board_x, 14, board_w, board_h)
    _heat_sink(rng, canvas, board_x + board_w * 0.3, 14 + board_h * 0.5, board_w * 0.6)
    _laptop_battery(rng, canvas, 18, h * 0.58, w - 36, h * 0.34)
    for x, width in ((board_x + board_w + 8, 30.0), (12, 22.0)):            # SSD, RAM
        if x + width * 2.5 < w - 8:
            canvas.rect("pcb", x, 20, width * 2.5, width, 0.8)
            paste_pcb(rng, canvas, x, 20, width * 2.5, width)
    for x in (22, w - 52):
        canvas.rect(pick(rng, ("steel", "zinc_alloy")), x, h - 16, 30, 14, 7)   # hinges
        canvas.rect("steel", x + 2, h - 13, 26, 4, 4)
        canvas.rect("neodymium_magnet", x + 5, h * 0.62, 14, 8, 3)         # speakers
    for y in np.linspace(h * 0.2, h * 0.5, int(rng.integers(1, 4))):
        canvas.rect("steel", 1, y, 8, 12, 5)                                 # ports
    screws = [(x, y) for x in np.linspace(10, w - 10, 5) for y in (8, h - 8)]
    rivets(canvas, "steel", screws, 2.0, 4.0)
    return canvas.item()


def _heat_sink(rng: np.random.Generator, canvas: ItemCanvas, x: float, y: float,
               reach: float) -> None:
    """Copper heat pipes from the processor to a finned block at the fan, and the fan."""
    for offset in range(int(rng.integers(1, 3))):
        canvas.cylinder("copper", (x, y + 8 * offset), (x + reach, y - 10 + 8 * offset), 3.5,
                        3.0)
    canvas.rect("copper", x - 15, y - 15, 30, 30, 1.0)                       # cold plate
    canvas.rect("copper", x + reach - 4, y - 30, 10, 45, 6)                  # fin block
    canvas.ring("abs", x + reach - 30, y - 10, 28, 10, 2)                    # fan
    canvas.disc("steel", x + reach - 30, y - 10, 9, 4)


def _laptop_battery(rng: np.random.Generator, canvas: ItemCanvas, x: float, y: float,
                    w: float, h: float) -> None:
    """18650 cells side by side (steel cans lying across the beam) or flat pouch cells."""
    if rng.random() < 0.45:
        count = int(min(6, w // 68))
        length = min(65.0, h - 4)
        for k in range(count):
            cx = x + 34 + 68 * k
            for row in range(int(min(2, (h + 2) // 20))):
                cy = y + 9.5 + row * 19
                canvas.cylinder("steel", (cx - length / 2, cy), (cx + length / 2, cy), 9.2, 8.95)
                canvas.cylinder("lithium_cell", (cx - length / 2, cy), (cx + length / 2, cy),
                                8.9)
    else:
        cells = int(rng.integers(2, 5))
        cell_w = (w - 4 * (cells - 1)) / cells
        for k in range(cells):
            canvas.rect("lithium_cell", x + k * (cell_w + 4), y, cell_w, h * 0.9,
                        uniform(rng, 4.5, 6.5))
    canvas.rect("pcb", x, y - 8, w * 0.4, 6, 1.2)                            # protection board


@_clutter("phone")
def _phone(rng: np.random.Generator, pitch_mm: float) -> Item:
    """A smartphone from above: glass front and back, a metal frame edge-on (a dark rim), a big
    pouch battery, a board with shield cans, a camera module, speaker magnets, a charging coil,
    a SIM tray and screws."""
    w, h = uniform(rng, 68, 80), uniform(rng, 140, 165)
    canvas = ItemCanvas(w, h, pitch_mm)
    canvas.slab("glass", rounded_rect(0, 0, w, h, 9), 2 * 0.6)
    frame = pick(rng, ("aluminium", "steel", "aluminium"))
    canvas.wall(frame, rounded_rect(0.5, 0.5, w - 1, h - 1, 8.5), 1.2, 8.0, closed=True)
    canvas.rect(frame, 3, 3, w - 6, h - 6, 0.5)                              # mid-plate
    canvas.rect("lithium_cell", 6, h * 0.35, w - 12, h * 0.5, 4.5)
    canvas.rect("pcb", 4, 5, w - 8, h * 0.28, 0.8)
    paste_pcb(rng, canvas, 4, 5, w - 8, h * 0.28)
    canvas.rect("steel", 6, 8, w * 0.5, h * 0.12, 0.3)                       # shield can
    canvas.rect("steel", 8, 10, 12, 12, 4)                                   # camera
    canvas.disc("glass", 14, 16, 5, 2)
    canvas.ring("copper", w / 2, h * 0.6, 22, 12, 0.3)                       # charging coil
    for y in (h - 12, 12):
        canvas.rect("neodymium_magnet", w * 0.6, y - 4, 10, 6, 2.5)
    canvas.rect("steel", w - 2, h * 0.3, 2, 16, 1.5)                         # SIM tray
    rivets(canvas, "steel", [(4, 4), (w - 4, 4), (4, h - 4), (w - 4, h - 4)], 1.0, 2.0)
    return canvas.item()


@_clutter("tangled_cables")
def _tangled_cables(rng: np.random.Generator, pitch_mm: float) -> Item:
    """Chargers' leads and earphone wires in a tangle: smooth random walks that cross
    themselves, copper in PVC, with plugs (USB shells, brass pins, a jack) and sometimes the
    charger brick itself."""
    size = uniform(rng, 90, 200)
    canvas = ItemCanvas(size + 40, size + 40, pitch_mm)
    for _ in range(int(rng.integers(2, 5))):
        path = _tangle(rng, size, start=(20 + uniform(rng, 0, size), 20 + uniform(rng, 0, size)))
        jacket = uniform(rng, 1.0, 2.8)
        canvas.cable(path, [("pvc", jacket, jacket * 0.5), ("copper", jacket * 0.45, 0.0)])
        for x, y in (path[0], path[-1]):
            plug = pick(rng, ("usb", "usb", "jack", "lightning"))
            canvas.rect("abs", x - 5, y - 5, 10, 18, 8)
            if plug == "usb":
                canvas.rect("steel", x - 6, y - 14, 12, 11, 0.6 * 2)
            elif plug == "jack":
                canvas.cylinder("brass", (x, y - 16), (x, y - 4), 1.75)
            else:
                canvas.rect("steel", x - 3, y - 12, 6, 9, 1.5)
    if rng.random() < 0.4:
        x, y = uniform(rng, 20, size - 20), uniform(rng, 20, size - 20)
        canvas.rect("polycarbonate", x, y, 45, 50, 28)                        # brick
        canvas.rect("ferrite", x + 8, y + 10, 16, 14, 12)
        canvas.rect("copper", x + 11, y + 12, 10, 10, 8)
        canvas.rect("pcb", x + 3, y + 3, 39, 44, 1.6)
    return canvas.item()


def _tangle(rng: np.random.Generator, size: float, start: Point) -> list[Point]:
    """A smooth random walk of 5 mm steps that stays inside a ``size`` box (offset by 20 mm)."""
    x, y = start
    heading = uniform(rng, 0, 2 * np.pi)
    points = [(x, y)]
    for _ in range(int(uniform(rng, 3, 8) * size / 5)):
        heading += float(rng.normal(0, 0.35))
        nx, ny = x + 5 * float(np.cos(heading)), y + 5 * float(np.sin(heading))
        if not (20 <= nx <= 20 + size and 20 <= ny <= 20 + size):
            heading += np.pi * uniform(rng, 0.6, 1.4)
            continue
        x, y = nx, ny
        points.append((x, y))
    return points if len(points) > 1 else [start, (start[0] + 5, start[1])]


# === clothes =====================================================================================
@_clutter("crumpled_clothes")
def _crumpled_clothes(rng: np.random.Generator, pitch_mm: float) -> Item:
    """A few garments thrown in: crumpled fabric layers of uneven thickness, overlapping, with
    their trims: zips and pulls, buttons, jeans rivets, a bra's steel underwires."""
    w, h = uniform(rng, 180, 400), uniform(rng, 150, 320)
    canvas = ItemCanvas(w, h, pitch_mm)
    for _ in range(int(rng.integers(1, 4))):
        gw, gh = w * uniform(rng, 0.55, 1.0), h * uniform(rng, 0.55, 1.0)
        gx, gy = uniform(rng, 0, w - gw), uniform(rng, 0, h - gh)
        crumpled_fabric(rng, canvas, pick(rng, ("cotton", "polyester", "cotton", "nylon")), gx,
                        gy, gw, gh, uniform(rng, 6, 22))
        garment_trim(rng, canvas, gx, gy, gw, gh)
    return canvas.item()


# === bathroom, desk, pockets =====================================================================
@_clutter("toiletry_bag")
def _toiletry_bag(rng: np.random.Generator, pitch_mm: float) -> Item:
    """A zipped wash bag: toothpaste tube, an aerosol can (aluminium, liquid, steel valve),
    small bottles with liquid, a razor with steel blades, nail clippers and tweezers."""
    w, h = uniform(rng, 200, 260), uniform(rng, 140, 170)
    canvas = ItemCanvas(w, h, pitch_mm)
    canvas.rect("polyester", 0, 0, w, h, 2 * 1.0)
    metal = pick(rng, ZIP_METALS)
    zip_chain(canvas, metal, [(5, 4), (w - 5, 4)])
    zip_pull(canvas, metal, w * 0.7, 16, 0.0)
    tube = pick(rng, ("aluminium", "polyethylene"))
    canvas.slab(tube, [(10, 25), (30, 25), (36, 100), (4, 100)], 2 * 0.15)    # toothpaste
    canvas.slab("cream", [(11, 30), (29, 30), (34, 95), (6, 95)], uniform(rng, 8, 14))
    canvas.cylinder("aluminium", (45, 30), (45, 130), 22, 21.6)               # aerosol
    canvas.cylinder(pick(rng, ("ethanol_solution", "water")), (45, 45), (45, 128), 21.5)
    canvas.rect("steel", 38, 22, 14, 10, 6)                                    # valve
    for k in range(int(rng.integers(1, 4))):
        x = 80 + k * 32
        canvas.cylinder("pet", (x, 30), (x, 110), 13, 12.6)
        canvas.cylinder(pick(rng, ("water", "cream", "ethanol_solution")), (x, 50), (x, 108),
                        12.5)
    razor_x = min(w - 60, 180.0)
    canvas.rect("abs", razor_x, 30, 12, 80, 10)                                # razor
    canvas.rect("steel", razor_x - 8, 20, 28, 4, 0.3 * 3)
    canvas.slab("steel", [(razor_x + 25, h - 20), (razor_x + 55, h - 22), (razor_x + 55, h - 12),
                          (razor_x + 25, h - 14)], 3.0)                        # clippers
    canvas.polyline("steel", [(razor_x + 28, 40), (razor_x + 40, 100), (razor_x + 34, 40)], 1.0)
    return canvas.item()


@_clutter("scissors")
def _scissors(rng: np.random.Generator, pitch_mm: float) -> Item:
    """Scissors lying flat: two steel blades crossing at a pivot screw, plastic or steel ring
    handles, a little open."""
    length = uniform(rng, 130, 230)
    canvas = ItemCanvas(length, length * 0.45, pitch_mm)
    cy, pivot = length * 0.225, length * 0.45
    spread = uniform(rng, 2, 12)
    handles = pick(rng, ("abs", "abs", "steel"))
    for side in (-1, 1):
        tip = (length - 2, cy + side * spread)
        canvas.slab("steel", [(pivot - 12, cy - 5), (pivot - 12, cy + 5), tip], 2.2)
        canvas.ring(handles, pivot * 0.45, cy - side * (length * 0.1), length * 0.09,
                    length * 0.055, 7 if handles == "abs" else 3)
        canvas.polyline("steel", [(pivot - 12, cy), (pivot * 0.45 + length * 0.07,
                                                     cy - side * length * 0.08)], 3.0)
    canvas.disc("steel", pivot, cy, 4, 6)
    return canvas.item()


@_clutter("pocket_clutter")
def _pocket_clutter(rng: np.random.Generator, pitch_mm: float) -> Item:
    """What collects in a bag's bottom or a pocket: a dozen to forty small metal things (coins,
    zip pulls, paper clips, safety pins, grommets, buttons, keys) spread over a small area."""
    size = uniform(rng, 80, 220)
    canvas = ItemCanvas(size + 60, size + 60, pitch_mm)
    for _ in range(int(rng.integers(12, 41))):
        small_metal(rng, canvas, 30 + uniform(rng, 0, size), 30 + uniform(rng, 0, size))
    return canvas.item()


@_clutter("glasses_case")
def _glasses_case(rng: np.random.Generator, pitch_mm: float) -> Item:
    """Spectacles in a hard case: the case's steel spring band, polycarbonate lenses in a thin
    metal or acetate frame, hinges with screws, folded temples."""
    canvas = ItemCanvas(160, 65, pitch_mm)
    canvas.slab("abs", rounded_rect(0, 0, 160, 65, 25), 2 * 1.5)
    canvas.tube_outline("steel", rounded_rect(3, 3, 154, 59, 23), 0.5, closed=True)
    metal_frame = rng.random() < 0.6
    frame = pick(rng, ("steel", "titanium")) if metal_frame else "abs"
    for cx in (45, 115):
        canvas.ellipsoid("polycarbonate", cx, 32, 26, 20, 3.0, flat=0.8)
        canvas.tube_outline(frame, ellipse_points(cx, 32, 27, 21, 20), 0.8 if metal_frame
                            else 2.0, closed=True)
    canvas.polyline(frame, [(71, 30), (80, 26), (89, 30)], 0.8)               # bridge
    for x in (18, 142):
        canvas.rect("steel", x - 4, 14, 8, 6, 3)                               # hinges
        canvas.polyline(frame, [(x, 17), (80, 12 if x < 80 else 16)], 1.0)     # temples
    return canvas.item()


@_clutter("pencil_case")
def _pencil_case(rng: np.random.Generator, pitch_mm: float) -> Item:
    """A zipped pencil case: ballpoint pens (steel springs, brass tips, ink tubes), a metal
    pen, pencils, a sharpener's blade, a USB stick."""
    w, h = uniform(rng, 190, 230), uniform(rng, 60, 90)
    canvas = ItemCanvas(w, h, pitch_mm)
    canvas.rect("polyester", 0, 0, w, h, 2 * 1.0)
    metal = pick(rng, ZIP_METALS)
    zip_chain(canvas, metal, [(4, 4), (w - 4, 4)])
    zip_pull(canvas, metal, w - 20, 16, 0.0)
    for k in range(int(max(1, (h - 20) // 9))):
        y = 16 + k * 9
        body = pick(rng, ("abs", "abs", "aluminium", "wood"))
        canvas.cylinder(body, (8, y), (w - 30, y), 4.2, 3.4 if body != "wood" else 0.0)
        if body != "wood":
            canvas.cylinder("polyethylene", (14, y), (w - 45, y), 1.3, 0.8)
            canvas.polyline("steel", [(w - 60 + 1.2 * i, y + (1.6 if i % 2 else -1.6))
                                      for i in range(14)], 0.25)               # spring
            canvas.cylinder("brass", (w - 33, y), (w - 27, y), 1.0)
    if rng.random() < 0.5:
        canvas.rect("steel", w - 26, h - 22, 14, 10, 1.5)                      # USB stick
        canvas.rect("pcb", w - 26, h - 22, 24, 14, 1.2)
    return canvas.item()


@_clutter("torch")
def _torch(rng: np.random.Generator, pitch_mm: float) -> Item:
    """An aluminium flashlight: tube, reflector head, cells in a row, spring, switch."""
    length, radius = uniform(rng, 110, 200), uniform(rng, 10, 16)
    canvas = ItemCanvas(length, 2 * radius + 10, pitch_mm)
    cy = radius + 5
    canvas.cylinder("aluminium", (0, cy), (length - 30, cy), radius, radius - 1.5)
    canvas.cylinder("aluminium", (length - 32, cy), (length, cy), radius + 5, radius + 3.5)
    canvas.rect("pcb", length - 12, cy - radius, 1.6, 2 * radius, 2 * radius * 0.8)
    cell = min(65.0, (length - 50) / 2)
    for k in range(2 if length > 150 else 1):
        x = 8 + k * cell
        canvas.cylinder("steel", (x, cy), (x + cell, cy), radius - 2, radius - 2.3)
        canvas.cylinder("alkaline_cell", (x, cy), (x + cell, cy), radius - 2.4)
    canvas.polyline("steel", [(2 + i, cy + (radius - 4) * (1 if i % 2 else -1))
                              for i in range(6)], 0.6)
    return canvas.item()


def garment_trim(rng: np.random.Generator, canvas: ItemCanvas, gx: float, gy: float, gw: float,
                 gh: float) -> None:
    """A garment's metal and plastic trim over its ``gw x gh`` footprint at ``(gx, gy)``: none, a
    zip with its pull, buttons, jeans rivets or a bra's steel underwires."""
    trim = pick(rng, ("none", "zip", "buttons", "rivets", "underwire"))
    if trim == "zip":
        metal = pick(rng, ZIP_METALS)
        x = gx + gw * uniform(rng, 0.3, 0.7)
        zip_chain(canvas, metal, [(x, gy + 5), (x + uniform(rng, -20, 20), gy + gh - 5)])
        zip_pull(canvas, metal, x, gy + 15, uniform(rng, -20, 20))
    elif trim == "buttons":
        for k in range(int(rng.integers(3, 8))):
            canvas.disc(pick(rng, ("abs", "abs", "zinc_alloy")), gx + gw / 2,
                        gy + 10 + k * min(22.0, (gh - 20) / 8), 6, 2.5)
    elif trim == "rivets":
        rivets(canvas, "copper", [(gx + uniform(rng, 10, gw - 10), gy + uniform(
            rng, 10, gh - 10)) for _ in range(int(rng.integers(4, 8)))], 3.5, 2.0)
    elif trim == "underwire":
        for cx in (gx + gw * 0.35, gx + gw * 0.65):
            canvas.polyline("steel", ellipse_points(cx, gy + gh * 0.5, min(55.0, gw * 0.15),
                                                    min(50.0, gh * 0.3), 10, 0, 180), 0.9)


@_clutter("folded_shirt_stack")
def _folded_shirt_stack(rng: np.random.Generator, pitch_mm: float) -> Item:
    """A stack of folded shirts or T-shirts, each a crumpled layer with its collar and folded
    edges, some with plastic collar stays and buttons."""
    w, h = uniform(rng, 220, 320), uniform(rng, 180, 260)
    canvas = ItemCanvas(w + 30, h + 30, pitch_mm)
    for _ in range(int(rng.integers(2, 6))):
        dx, dy = uniform(rng, 0, 30), uniform(rng, 0, 30)
        crumpled_fabric(rng, canvas, pick(rng, ("cotton", "cotton", "polyester")), dx, dy, w, h,
                        uniform(rng, 5, 12))
        canvas.prism("cotton", (dx + 5, dy + h * 0.3), (dx + w - 5, dy + h * 0.3), 3.0,
                     lambda d: 4.0 * (1 - (d / 3.0) ** 2))
        if rng.random() < 0.5:
            for k in range(5):
                canvas.disc("abs", dx + w / 2, dy + 20 + k * (h - 40) / 4, 5, 2.0)
    return canvas.item()


CLOTHES_FILL_MASS_G_PER_DM2 = (80.0, 400.0)
"""Clothes packed into a bag, grams per square decimetre of the part they fill: a carry-on's
4-8 kg of clothes over about 50 x 35 cm is 230-460 g/dm2; loosely packed holdalls and parcels of
a garment or two less."""


def clothes_fill(rng: np.random.Generator, pitch_mm: float, w_mm: float, h_mm: float) -> Item:
    """The clothes a bag is packed with, filling most of its ``w x h`` interior: three to eight
    garments crumpled over each other (uneven, ridged thickness; folds pile layers up), with
    their trims. Real packed bags show this as a large, textured organic mass under everything
    else; without it the detector took real clothes for lots of counterfeit goods (issue 23)."""
    canvas = ItemCanvas(w_mm, h_mm, pitch_mm)
    fill_w, fill_h = w_mm * uniform(rng, 0.7, 1.0), h_mm * uniform(rng, 0.7, 1.0)
    fx, fy = uniform(rng, 0, w_mm - fill_w), uniform(rng, 0, h_mm - fill_h)
    garments = int(rng.integers(3, 9))
    # the mass over the filled part, shared among garments that each cover 40-100% of it
    grams = uniform(rng, *CLOTHES_FILL_MASS_G_PER_DM2) * fill_w * fill_h / 1e4
    shares = rng.dirichlet(np.full(garments, 2.0))
    for index, share in enumerate(shares):
        least = 0.85 if index == 0 else 0.4  # the first garment spreads over the whole fill
        gw, gh = fill_w * uniform(rng, least, 1.0), fill_h * uniform(rng, least, 1.0)
        gx, gy = fx + uniform(rng, 0, fill_w - gw), fy + uniform(rng, 0, fill_h - gh)
        fabric = pick(rng, ("cotton", "cotton", "polyester", "nylon"))
        density = material(fabric).density
        # mean thickness (mm of the fabric as drawn) that holds this garment's grams
        mean_mm = float(share) * grams / density / (gw * gh * np.pi / 4) * 1000.0
        crumpled_fabric(rng, canvas, fabric, gx, gy, gw, gh, mean_mm)
        if rng.random() < 0.5:
            garment_trim(rng, canvas, gx, gy, gw, gh)
    return canvas.item(kind="clothes_fill")


TEXTURE_FILL_MATERIALS = ("cotton", "polyester", "nylon", "paper", "cardboard", "polyethylene",
                          "leather", "rubber", "eva_foam", "pvc", "water", "wood", "silicone")
"""What a bag's soft mass may be made of: fabrics, paper, plastics, foam, liquids, wood."""
TEXTURE_FILL_MASS_G_PER_DM2 = (30.0, 400.0)


def texture_fill(rng: np.random.Generator, pitch_mm: float, w_mm: float, h_mm: float) -> Item:
    """Whatever a bag is packed with, as one to three uneven masses over 50-100% of its ``w x
    h`` interior each way, each of a random soft material and a newly drawn texture
    (:func:`~.textures.random_texture`: noise, folds, lumps, jumbles, weaves), laid under
    everything else like :func:`clothes_fill`. The clothes fill crops one fixed tile, which a
    detector can learn as "the look of a benign bag"; real bags look like none of our tiles, so
    the contents' look must vary (issue 23)."""
    canvas = ItemCanvas(w_mm, h_mm, pitch_mm)
    fill_w, fill_h = w_mm * uniform(rng, 0.5, 1.0), h_mm * uniform(rng, 0.5, 1.0)
    fx, fy = uniform(rng, 0, w_mm - fill_w), uniform(rng, 0, h_mm - fill_h)
    grams = uniform(rng, *TEXTURE_FILL_MASS_G_PER_DM2) * fill_w * fill_h / 1e4
    masses = int(rng.integers(1, 4))
    shares = rng.dirichlet(np.full(masses, 2.0))
    for index, share in enumerate(shares):
        least = 0.8 if index == 0 else 0.3
        gw, gh = fill_w * uniform(rng, least, 1.0), fill_h * uniform(rng, least, 1.0)
        gx, gy = fx + uniform(rng, 0, fill_w - gw), fy + uniform(rng, 0, fill_h - gh)
        rows, cols = max(2, int(gh)), max(2, int(gw))      # one texture pixel per millimetre
        field = random_texture(rng, rows, cols)
        thickness = rounded_footprint(rows, cols, float(rng.uniform(2, 8))) * field
        fabric = pick(rng, TEXTURE_FILL_MATERIALS)
        mean_cm = float(share) * grams / material(fabric).density / (gw * gh) * 100.0
        scale = np.float32(mean_cm / max(float(thickness.mean()), 1e-6))
        paste(canvas, fabric, gx, gy, gw, gh, (thickness * scale).astype(np.float32))
    return canvas.item(kind="texture_fill")
