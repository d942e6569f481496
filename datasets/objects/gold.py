"""Gold, label ``gold``: standard bars, coins, jewellery, and gold hidden in appliances or cables.

Bars take their thickness from their mass and footprint (a 1 kg cast bar is 116 x 52 mm), coins
their real diameters and alloys (22 carat Krugerrands and Eagles, 24 carat Maple Leaves). When the
gold is inside an appliance the appliance is drawn whole, but only the gold is boxed.
"""

from __future__ import annotations

import numpy as np

from xscreen.datasets.materials import material
from xscreen.datasets.objects import covers
from xscreen.datasets.objects.drawing import (
    ItemCanvas,
    ThreatRecipe,
    finish,
    pick,
    registrar,
    rounded_rect,
    slab_thickness,
    stamp,
    uniform,
)
from xscreen.datasets.shapes import Item

RECIPES: dict[str, ThreatRecipe] = {}
_gold = registrar(RECIPES)
NEW_RECIPES: dict[str, ThreatRecipe] = {}
"""Concealments outside the default mix: drawn only when a scene names them
(``SceneConfig.threats``), e.g. to play a newly seen smuggling method that a model has not
learnt (``benchmarks/bench_retrain.py``)."""
_new_gold = registrar(NEW_RECIPES)


_BARS = {  # kind: (mass g, length mm, width mm, cast)
    "gold_bar_1kg": (1000.0, 116.0, 52.0, True),
    "gold_bar_500g": (500.0, 95.0, 42.0, True),
    "gold_bar_250g": (250.0, 75.0, 33.0, True),
    "gold_bar_100g": (100.0, 55.0, 31.0, False),
    "gold_bar_50g": (50.0, 45.5, 25.0, False),
    "gold_bar_1oz": (31.1, 41.0, 24.0, False),
}


def _gold_bar(rng: np.random.Generator, pitch_mm: float, kind: str) -> list[Item]:
    """A bar of standard size, sometimes disguised (a chocolate wrapper, a hollowed book,
    clothing); cast bars taper (drawn as two steps), minted ones are flat."""
    mass, length, width, cast = _BARS[kind]
    disguise = pick(rng, ("none",) * 7 + tuple(covers.BAR_DISGUISE_MARGINS))
    margin = covers.BAR_DISGUISE_MARGINS.get(disguise, 5.0)
    canvas = ItemCanvas(length + 2 * margin, width + 2 * margin, pitch_mm)
    if disguise != "none":
        covers.bar_disguise(rng, canvas, disguise, length + 2 * margin, width + 2 * margin)
    density = material("gold").density
    canvas.start_object()
    if cast:
        inset = 3.0
        area = length * width + (length - 2 * inset) * (width - 2 * inset)
        half = slab_thickness(mass, area, density)
        canvas.slab("gold", rounded_rect(margin, margin, length, width, 2), half)
        canvas.slab("gold", rounded_rect(margin + inset, margin + inset, length - 2 * inset,
                                         width - 2 * inset, 2), half)
    else:
        canvas.rect("gold", margin, margin, length, width,
                    slab_thickness(mass, length * width, density))
    obj = canvas.finish_object("gold", kind, disguise, "gold")
    return finish(canvas, [obj], kind)


def _register_bars() -> None:
    for kind in _BARS:
        _gold(kind)(lambda rng, pitch_mm, kind=kind: _gold_bar(rng, pitch_mm, kind))


_register_bars()

_COINS = (  # (diameter mm, thickness mm, material): Krugerrand, Maple Leaf, Eagle, Sovereign
    (32.77, 2.84, "gold_22k"), (30.0, 2.87, "gold"), (32.7, 2.87, "gold_22k"),
    (22.05, 1.52, "gold_22k"), (16.5, 1.3, "gold"),
)


@_gold("coin_stack")
def _coin_stack(rng: np.random.Generator, pitch_mm: float) -> list[Item]:
    """A stack of coins, side-on (a lying cylinder) or face-on (a thick disc), maybe in a tube."""
    diameter, thickness, alloy = _COINS[int(rng.integers(len(_COINS)))]
    count = int(rng.integers(3, 26))
    radius, length = diameter / 2, count * thickness
    side_on = rng.random() < 0.6
    w, h = (length + 8, diameter + 8) if side_on else (diameter + 8, diameter + 8)
    canvas = ItemCanvas(w, h, pitch_mm)
    canvas.start_object()
    if side_on:
        canvas.cylinder(alloy, (4, h / 2), (4 + length, h / 2), radius)
    else:
        canvas.disc(alloy, w / 2, h / 2, radius, length)
    obj = canvas.finish_object("gold", "coin_stack", "none", alloy)
    if side_on and rng.random() < 0.5:
        canvas.cylinder("polycarbonate", (1, h / 2), (w - 1, h / 2), radius + 2, radius + 0.5)
    return finish(canvas, [obj], "coin_stack")


@_gold("coins_loose")
def _coins_loose(rng: np.random.Generator, pitch_mm: float) -> list[Item]:
    """Loose coins face-on in a pouch, each its own object."""
    diameter, thickness, alloy = _COINS[int(rng.integers(len(_COINS)))]
    count = int(rng.integers(2, 10))
    side = diameter * (1 + np.sqrt(count))
    canvas = ItemCanvas(side, side, pitch_mm)
    objects = []
    for _ in range(count):
        cx, cy = uniform(rng, diameter / 2, side - diameter / 2), uniform(
            rng, diameter / 2, side - diameter / 2)
        canvas.start_object()
        canvas.disc(alloy, cx, cy, diameter / 2, thickness)
        objects.append(canvas.finish_object("gold", "coins_loose", "none", alloy))
    canvas.rect("polyethylene", 0, 0, side, side, 0.1)
    return finish(canvas, objects, "coins_loose")


@_gold("chain")
def _chain(rng: np.random.Generator, pitch_mm: float) -> list[Item]:
    """A necklace or bracelet dropped in a loose heap (see :func:`covers.chain`)."""
    alloy = pick(rng, ("gold_18k", "gold_14k", "gold_22k"))
    link, wire = uniform(rng, 3, 9), uniform(rng, 0.6, 2.0)
    path, size = covers.chain_path(rng, uniform(rng, 180, 700), link)
    canvas = ItemCanvas(*size, pitch_mm)
    canvas.start_object()
    covers.chain(canvas, alloy, path, link, wire, clasp=rng.random() < 0.7)
    obj = canvas.finish_object("gold", "chain", "none", alloy)
    return finish(canvas, [obj], "chain")


@_gold("bangles")
def _bangles(rng: np.random.Generator, pitch_mm: float) -> list[Item]:
    """Bangles lying flat (annuli as deep as the bangle is wide), each its own object."""
    count = int(rng.integers(1, 7))
    alloy = pick(rng, ("gold_22k", "gold_18k", "gold"))
    size = 75 + 40 * np.sqrt(count)
    canvas = ItemCanvas(size, size, pitch_mm)
    objects = []
    for _ in range(count):
        outer, band = uniform(rng, 31, 36), uniform(rng, 2, 5)
        cx, cy = uniform(rng, outer, size - outer), uniform(rng, outer, size - outer)
        canvas.start_object()
        canvas.ring(alloy, cx, cy, outer, outer - band, uniform(rng, 3, 10))
        objects.append(canvas.finish_object("gold", "bangles", "none", alloy))
    return finish(canvas, objects, "bangles")


@_gold("rings")
def _rings(rng: np.random.Generator, pitch_mm: float) -> list[Item]:
    """Finger rings in a pouch, face-on, each its own object."""
    count = int(rng.integers(1, 12))
    alloy = pick(rng, ("gold_18k", "gold_14k", "gold_22k"))
    size = 30 + 14 * np.sqrt(count)
    canvas = ItemCanvas(size, size, pitch_mm)
    objects = []
    for _ in range(count):
        inner = uniform(rng, 8, 10)
        cx, cy = uniform(rng, 12, size - 12), uniform(rng, 12, size - 12)
        canvas.start_object()
        canvas.ring(alloy, cx, cy, inner + uniform(rng, 1.2, 3), inner, uniform(rng, 2, 8))
        objects.append(canvas.finish_object("gold", "rings", "none", alloy))
    canvas.rect("cotton", 0, 0, size, size, 1.0)
    return finish(canvas, objects, "rings")


@_gold("gold_in_appliance")
def _gold_in_appliance(rng: np.random.Generator, pitch_mm: float) -> list[Item]:
    """Gold plates or a cast part inside an appliance (drawn whole); the gold alone is boxed."""
    appliance = pick(rng, tuple(covers.APPLIANCES))
    draw, hiding_place = covers.APPLIANCES[appliance]
    w, h = covers.APPLIANCE_SIZES[appliance]
    canvas = ItemCanvas(w, h, pitch_mm)
    draw(rng, canvas)
    canvas.start_object()
    hiding_place(rng, canvas)
    obj = canvas.finish_object("gold", "gold_in_appliance", "appliance")
    return finish(canvas, [obj], "gold_in_appliance")


@_gold("gold_wire_cable")
def _gold_wire_cable(rng: np.random.Generator, pitch_mm: float) -> list[Item]:
    """A coiled cable whose conductors are gold wire instead of copper."""
    coil = covers.coil_path(rng, turns=int(rng.integers(3, 8)), radius=uniform(rng, 50, 90))
    canvas = ItemCanvas(*covers.path_extent(coil), pitch_mm)
    jacket, core = uniform(rng, 2.5, 4), uniform(rng, 0.8, 1.5)
    canvas.cable(coil, [("pvc", jacket, core)])
    canvas.start_object()
    canvas.polyline("gold", coil, core)
    obj = canvas.finish_object("gold", "gold_wire_cable", "electronics", "gold")
    return finish(canvas, [obj], "gold_wire_cable")


@_gold("gold_disguised")
def _gold_disguised(rng: np.random.Generator, pitch_mm: float) -> list[Item]:
    """Gold cast as an everyday metal part and plated: a belt buckle on a rolled belt, or a
    handful of nuts and washers. Shape says zinc or steel; only the dual-energy colour says
    gold."""
    if rng.random() < 0.5:
        return _gold_buckle(rng, pitch_mm)
    count = int(rng.integers(3, 12))
    canvas = ItemCanvas(90, 90, pitch_mm)
    canvas.start_object()
    for _ in range(count):
        outer = uniform(rng, 8, 16)
        canvas.ring("gold", uniform(rng, outer, 90 - outer), uniform(rng, outer, 90 - outer),
                    outer, outer * 0.5, uniform(rng, 2, 8))
    obj = canvas.finish_object("gold", "gold_disguised", "disguised", "gold")
    canvas.rect("polyethylene", 0, 0, 90, 90, 0.1)
    return finish(canvas, [obj], "gold_disguised")


def _gold_buckle(rng: np.random.Generator, pitch_mm: float) -> list[Item]:
    width = uniform(rng, 30, 40)
    roll = uniform(rng, 35, 50)
    canvas = ItemCanvas(2 * roll + 70, 2 * roll, pitch_mm)
    canvas.ring("leather", roll, roll, roll, roll * 0.35, width * 0.55)
    x0 = 2 * roll + 5
    canvas.start_object()
    canvas.tube_outline("gold", rounded_rect(x0 + 4, roll - width / 2 - 4, 50, width + 8, 6),
                        uniform(rng, 3, 5), closed=True)                 # a solid frame
    canvas.rect("gold", x0 + 8, roll - 8, 16, 16, uniform(rng, 3, 6))     # logo plate
    obj = canvas.finish_object("gold", "gold_disguised", "disguised", "gold")
    canvas.cylinder("steel", (x0 + 25, roll - width / 2 - 4), (x0 + 25, roll + width / 2 + 4), 1.5)
    return finish(canvas, [obj], "gold_disguised")


@_gold("gold_granules")
def _gold_granules(rng: np.random.Generator, pitch_mm: float) -> list[Item]:
    """Gold grain or nuggets (1-5 mm) in a small pouch: one object, a heap thinning at its rim."""
    mass = uniform(rng, 50, 600)
    side = 40 + (mass / 19.32) ** (1 / 3) * 15
    canvas = ItemCanvas(side, side, pitch_mm)
    canvas.start_object()
    canvas.pillow("gold", side / 2, side / 2, side * 0.8, side * 0.7, mass / 19.32 * 0.6,
                  squareness=2.2)
    grain = stamp(pitch_mm, lambda c: c.ellipsoid("gold", 2, 2, 2, 1.5, 2.5), 4, 4)
    grain_g = float(grain.sum()) * (pitch_mm / 10) ** 2 * 19.32
    count = int(mass * 0.4 / grain_g) if grain_g > 0 else 0  # grains vanish at coarse pitch
    spread = np.clip(rng.normal(0, 0.2, (count, 2)), -0.4, 0.4) * side + side / 2
    centres = [(float(x), float(y)) for x, y in spread]
    canvas.scatter("gold", grain, centres)
    obj = canvas.finish_object("gold", "gold_granules", "none", "gold")
    canvas.rect("polyethylene", 0, 0, side, side, 0.15)
    return finish(canvas, [obj], "gold_granules")



@_new_gold("hair_dryer_gold_sleeve")
def _hair_dryer_gold_sleeve(rng: np.random.Generator, pitch_mm: float) -> list[Item]:
    """Gold foil rolled into a sleeve inside a hair dryer's barrel, around the heating element:
    no bar shape, a tube of metal where the barrel's plastic should be. The appliance is drawn
    whole; only the gold is boxed."""
    w, h = covers.APPLIANCE_SIZES["hair_dryer"]
    canvas = ItemCanvas(w, h, pitch_mm)
    covers.hair_dryer(rng, canvas)
    foil = uniform(rng, 0.06, 0.15)
    start, stop = uniform(rng, 62, 85), uniform(rng, 170, 198)
    canvas.start_object()
    canvas.cylinder("gold", (start, 45), (stop, 45), 35.0, 35.0 - foil)
    obj = canvas.finish_object("gold", "hair_dryer_gold_sleeve", "appliance", "gold")
    return finish(canvas, [obj], "hair_dryer_gold_sleeve")
