"""Drug packages, label ``narcotics``: the object is the drug alone, never its wrapping or cover.

Taped bricks (1 kg of cocaine ~ 17 x 12 x 4 cm), pouches, bags of pills and crystals, and drugs
hidden in a lining, a shoe sole, a food tin or a box of chocolates. Volumes follow from the mass
and the packed density, so a brick weighs what it says.
"""

from __future__ import annotations

import numpy as np

from xscreen.datasets.materials import material
from xscreen.datasets.objects import covers
from xscreen.datasets.objects.drawing import (
    ItemCanvas,
    Point,
    ThreatRecipe,
    finish,
    pick,
    registrar,
    rounded_rect,
    stamp,
    uniform,
)
from xscreen.datasets.shapes import Item, LabelledObject

RECIPES: dict[str, ThreatRecipe] = {}
_narcotics = registrar(RECIPES)


_POWDERS = ("cocaine", "heroin", "methamphetamine", "ketamine")


def _brick(rng: np.random.Generator, pitch_mm: float, drug: str, kind: str,
           mass_g: float, size: tuple[float, float]) -> list[Item]:
    """A pressed brick wrapped in film and tape (the object: the drug, not its wrapping)."""
    w, h = size
    canvas = ItemCanvas(w + 4, h + 4, pitch_mm)
    obj = _draw_brick(rng, canvas, (0.0, 0.0), drug, kind, mass_g, size)
    return _maybe_in_clothing(rng, pitch_mm, finish(canvas, [obj], kind))


def _maybe_in_clothing(rng: np.random.Generator, pitch_mm: float, items: list[Item],
                       share: float = 0.2) -> list[Item]:
    """Sometimes (``share``) roll the package in a garment (see :func:`covers.wrap_in_clothing`)."""
    if rng.random() >= share:
        return items
    return [covers.wrap_in_clothing(rng, pitch_mm, item) for item in items]


def _draw_brick(rng: np.random.Generator, canvas: ItemCanvas, corner: Point, drug: str,
                kind: str, mass_g: float, size: tuple[float, float]) -> LabelledObject:
    """One taped brick with its top-left wrapping corner at ``corner``; returns its object."""
    (x, y), (w, h) = corner, size
    canvas.start_object()
    canvas.pillow(drug, x + w / 2 + 2, y + h / 2 + 2, w, h, mass_g / material(drug).density,
                  squareness=uniform(rng, 5, 10))
    obj = canvas.finish_object("narcotics", kind, "none", drug)
    wraps = int(rng.integers(3, 12))
    canvas.slab("packing_tape", rounded_rect(x, y, w + 4, h + 4, 8), 2 * wraps * 0.05)
    canvas.slab("polyethylene", rounded_rect(x + 1, y + 1, w + 2, h + 2, 8), 0.2)
    return obj


@_narcotics("brick_stack")
def _brick_stack(rng: np.random.Generator, pitch_mm: float) -> list[Item]:
    """Two to five 1 kg bricks stacked askew (as packed in a box or bag), each its own object."""
    drug = pick(rng, ("cocaine", "heroin", "cocaine"))
    count = int(rng.integers(2, 6))
    w, h = uniform(rng, 165, 185), uniform(rng, 110, 125)
    offsets = [(uniform(rng, 0, 60), uniform(rng, 0, 60)) for _ in range(count)]
    canvas = ItemCanvas(w + 64, h + 64, pitch_mm)
    objects = [_draw_brick(rng, canvas, offset, drug, "brick_stack", uniform(rng, 970, 1030),
                           (w, h)) for offset in offsets]
    return finish(canvas, objects, "brick_stack")


@_narcotics("cocaine_brick")
def _cocaine_brick(rng: np.random.Generator, pitch_mm: float) -> list[Item]:
    mass = 1000.0 * uniform(rng, 0.97, 1.03)
    return _brick(rng, pitch_mm, "cocaine", "cocaine_brick", mass,
                  (uniform(rng, 165, 185), uniform(rng, 110, 125)))


@_narcotics("heroin_brick")
def _heroin_brick(rng: np.random.Generator, pitch_mm: float) -> list[Item]:
    mass = pick(rng, ("350", "500", "1000"))
    scale = (float(mass) / 1000) ** (1 / 3)
    return _brick(rng, pitch_mm, "heroin", "heroin_brick", float(mass),
                  (170 * scale, 120 * scale))


@_narcotics("cannabis_brick")
def _cannabis_brick(rng: np.random.Generator, pitch_mm: float) -> list[Item]:
    mass = uniform(rng, 400, 1100)
    scale = (mass / 1000) ** (1 / 3)
    return _brick(rng, pitch_mm, "cannabis", "cannabis_brick", mass,
                  (uniform(rng, 220, 260) * scale, uniform(rng, 140, 170) * scale))


@_narcotics("pouch")
def _pouch(rng: np.random.Generator, pitch_mm: float) -> list[Item]:
    drug = pick(rng, _POWDERS)
    mass = uniform(rng, 20, 300)
    w = (mass / 100) ** 0.4 * uniform(rng, 80, 110)
    h = w * uniform(rng, 0.6, 1.0)
    canvas = ItemCanvas(w + 6, h + 6, pitch_mm)
    canvas.start_object()
    canvas.pillow(drug, w / 2 + 3, h / 2 + 3, w, h, mass / material(drug).density * 0.7,
                  squareness=uniform(rng, 2.5, 4))
    obj = canvas.finish_object("narcotics", "pouch", "none", drug)
    canvas.rect("polyethylene", 0, 0, w + 6, h + 6, 0.12)
    canvas.rect("polyethylene", 0, 0, w + 6, 4, 0.6)  # zip seal
    return _maybe_in_clothing(rng, pitch_mm, finish(canvas, [obj], "pouch"))


@_narcotics("pill_bag")
def _pill_bag(rng: np.random.Generator, pitch_mm: float) -> list[Item]:
    count = int(rng.integers(30, 400))
    diameter, depth = uniform(rng, 7, 10), uniform(rng, 3.5, 5)
    side = float(np.sqrt(count) * diameter * 0.9)
    w, h = side * uniform(rng, 1.0, 1.4), side
    canvas = ItemCanvas(w + 10, h + 10, pitch_mm)
    pill = stamp(pitch_mm, lambda c: c.ellipsoid("mdma", diameter / 2, diameter / 2,
                                                 diameter / 2, diameter / 2, depth, flat=0.5),
                 diameter, diameter)
    u, v = rng.random(count), rng.random(count)
    centres = [(5 + diameter / 2 + a * (w - diameter), 5 + diameter / 2 + b * (h - diameter))
               for a, b in zip(u, v, strict=True)]
    canvas.start_object()
    canvas.scatter("mdma", pill, centres)
    obj = canvas.finish_object("narcotics", "pill_bag", "none", "mdma")
    canvas.rect("polyethylene", 0, 0, w + 10, h + 10, 0.15)
    return _maybe_in_clothing(rng, pitch_mm, finish(canvas, [obj], "pill_bag"))


@_narcotics("crystal_bag")
def _crystal_bag(rng: np.random.Generator, pitch_mm: float) -> list[Item]:
    mass = uniform(rng, 50, 1000)
    w = (mass / 250) ** 0.4 * 130
    h = w * uniform(rng, 0.6, 0.9)
    canvas = ItemCanvas(w + 6, h + 6, pitch_mm)
    shard = stamp(pitch_mm, lambda c: c.ellipsoid("methamphetamine", 3, 3, 3, 1.5, 4,
                                                  angle_deg=30), 6, 6)
    count = int(mass / 2)
    centres = [(3 + uniform(rng, 3, w - 3), 3 + uniform(rng, 3, h - 3)) for _ in range(count)]
    canvas.start_object()
    canvas.pillow("methamphetamine", w / 2 + 3, h / 2 + 3, w, h, mass / 1.0 * 0.5, squareness=3)
    canvas.scatter("methamphetamine", shard * np.float32(0.6), centres)
    obj = canvas.finish_object("narcotics", "crystal_bag", "none", "methamphetamine")
    canvas.rect("polyethylene", 0, 0, w + 6, h + 6, 0.15)
    return _maybe_in_clothing(rng, pitch_mm, finish(canvas, [obj], "crystal_bag"))


@_narcotics("lining")
def _lining(rng: np.random.Generator, pitch_mm: float) -> list[Item]:
    """Powder spread in a thin wide layer sewn into a garment, bag or suitcase lining."""
    w, h = uniform(rng, 250, 420), uniform(rng, 180, 320)
    drug = pick(rng, _POWDERS)
    canvas = ItemCanvas(w + 40, h + 40, pitch_mm)
    covers.lining_cover(rng, canvas, w + 40, h + 40)
    layer = uniform(rng, 2, 8)
    canvas.start_object()
    canvas.pillow(drug, w / 2 + 20, h / 2 + 20, w * 0.9, h * 0.9,
                  w * h * 0.81 * layer / 1000 * 0.9, squareness=8)
    obj = canvas.finish_object("narcotics", "lining", "lining", drug)
    canvas.rect("polyethylene", 20, 20, w, h, 0.2)
    return finish(canvas, [obj], "lining")


@_narcotics("shoe_sole")
def _shoe_sole(rng: np.random.Generator, pitch_mm: float) -> list[Item]:
    """A shoe seen from above, its sole hollowed and filled with powder."""
    length = uniform(rng, 250, 310)
    canvas = ItemCanvas(length, length * 0.4, pitch_mm)
    outline = covers.shoe_outline(length)
    canvas.slab("rubber", outline, 12)
    canvas.slab("leather", outline, 3)
    drug = pick(rng, _POWDERS)
    canvas.start_object()
    cavity_w, cavity_h = length * 0.55, length * 0.22
    canvas.pillow(drug, length * 0.45, length * 0.2, cavity_w, cavity_h,
                  cavity_w * cavity_h * 0.8 * 12 / 1000, squareness=4)
    obj = canvas.finish_object("narcotics", "shoe_sole", "shoe_sole", drug)
    canvas.slab("rubber", outline, 6)
    canvas.tube_outline("leather", outline, 3.0, closed=True)  # upper's walls edge-on
    return finish(canvas, [obj], "shoe_sole")


@_narcotics("food_tin")
def _food_tin(rng: np.random.Generator, pitch_mm: float) -> list[Item]:
    """A food tin seen from the side: a steel can whose contents are drug packages."""
    radius, height = uniform(rng, 37, 55), uniform(rng, 80, 160)
    canvas = ItemCanvas(2 * radius, height, pitch_mm)
    covers.tin_can(canvas, radius, height)
    drug = pick(rng, _POWDERS)
    canvas.start_object()
    canvas.cylinder(drug, (radius, 3), (radius, height - 3), radius - 3)
    obj = canvas.finish_object("narcotics", "food_tin", "food", drug)
    return finish(canvas, [obj], "food_tin")


@_narcotics("candy_box")
def _candy_box(rng: np.random.Generator, pitch_mm: float) -> list[Item]:
    """A box of chocolates with drug pouches hidden beneath the tray, each its own object."""
    w, h = uniform(rng, 180, 280), uniform(rng, 120, 200)
    canvas = ItemCanvas(w, h, pitch_mm)
    covers.chocolate_box(rng, canvas, w, h)
    objects = []
    count = int(rng.integers(1, 4))
    drug = pick(rng, _POWDERS)
    for index in range(count):
        cx = w * (index + 0.5) / count
        pw, ph = w / count * 0.8, h * 0.7
        canvas.start_object()
        canvas.pillow(drug, cx, h / 2, pw, ph, pw * ph * 8 / 1000 * 0.7, squareness=4)
        objects.append(canvas.finish_object("narcotics", "candy_box", "food", drug))
    return finish(canvas, objects, "candy_box")


@_narcotics("liquid_bottle")
def _liquid_bottle(rng: np.random.Generator, pitch_mm: float) -> list[Item]:
    """Cocaine dissolved in a bottle of wine, rum or shampoo: the liquid is the package."""
    glass = rng.random() < 0.6
    radius, height = uniform(rng, 33, 45), uniform(rng, 200, 320)
    wall = uniform(rng, 3, 5) if glass else 0.4
    canvas = ItemCanvas(2 * radius, height, pitch_mm)
    covers.bottle(canvas, radius, height, wall, "glass" if glass else "pet")
    canvas.start_object()
    covers.bottle_liquid(canvas, radius, height, wall, "cocaine_solution", uniform(rng, 0.7, 1))
    obj = canvas.finish_object("narcotics", "liquid_bottle", "liquid", "cocaine_solution")
    return finish(canvas, [obj], "liquid_bottle")


@_narcotics("pellets")
def _pellets(rng: np.random.Generator, pitch_mm: float) -> list[Item]:
    """Latex-wrapped pellets (finger-sized, ~10 g each) loose in a bag: one package."""
    count = int(rng.integers(10, 80))
    drug = pick(rng, ("cocaine", "heroin"))
    length, radius = uniform(rng, 25, 40), uniform(rng, 6, 8)
    side = float(np.sqrt(count)) * length * 0.7 + length
    canvas = ItemCanvas(side, side, pitch_mm)
    canvas.start_object()
    for _ in range(count):
        cx, cy = uniform(rng, length / 2, side - length / 2), uniform(rng, length / 2,
                                                                      side - length / 2)
        canvas.ellipsoid(drug, cx, cy, length / 2, radius, 2 * radius,
                         angle_deg=uniform(rng, 0, 180), flat=0.3)
    obj = canvas.finish_object("narcotics", "pellets", "none", drug)
    canvas.rect("polyethylene", 0, 0, side, side, 0.15)
    return finish(canvas, [obj], "pellets")


@_narcotics("in_speaker")
def _in_speaker(rng: np.random.Generator, pitch_mm: float) -> list[Item]:
    """Packages hidden in a loudspeaker cabinet, around the driver: each its own object."""
    canvas = ItemCanvas(*covers.APPLIANCE_SIZES["speaker"], pitch_mm)
    covers.speaker(rng, canvas)
    drug = pick(rng, _POWDERS)
    objects = []
    for cy in rng.permutation([60.0, 150.0, 225.0])[:int(rng.integers(1, 4))]:
        mass = uniform(rng, 100, 500)
        canvas.start_object()
        canvas.pillow(drug, 85, float(cy), 120, 60, mass / material(drug).density, squareness=5)
        objects.append(canvas.finish_object("narcotics", "in_speaker", "electronics", drug))
    return finish(canvas, objects, "in_speaker")


@_narcotics("in_book")
def _in_book(rng: np.random.Generator, pitch_mm: float) -> list[Item]:
    """A flat package in a hollowed-out hardcover book (pages cut away around it)."""
    w, h = uniform(rng, 150, 220), uniform(rng, 210, 300)
    margin = uniform(rng, 20, 30)
    canvas = ItemCanvas(w, h, pitch_mm)
    covers.hollow_book(rng, canvas, w, h, margin)
    drug = pick(rng, _POWDERS)
    pw, ph = w - 2 * margin, h - 2 * margin
    canvas.start_object()
    canvas.pillow(drug, w / 2, h / 2, pw, ph, pw * ph * uniform(rng, 10, 25) / 1000 * 0.85,
                  squareness=8)
    obj = canvas.finish_object("narcotics", "in_book", "books", drug)
    return finish(canvas, [obj], "in_book")

