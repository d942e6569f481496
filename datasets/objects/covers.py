"""Things that conceal threats, and shared outlines: folded fabric, linings, tins, appliances.

Each function draws onto a caller's :class:`ItemCanvas` outside any recorded object, so the cover
adds to the item's layers but never to a threat's box. Benign recipes reuse several of them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

from xscreen.datasets.materials import material
from xscreen.datasets.objects.drawing import (
    ItemCanvas,
    Point,
    crop,
    ellipse_points,
    pick,
    rounded_rect,
    slab_thickness,
    stamp,
    uniform,
)
from xscreen.datasets.shapes import Item, merge

Draw = Callable[[np.random.Generator, ItemCanvas], None]


def folded_fabric(rng: np.random.Generator, canvas: ItemCanvas, x: float, y: float, w: float,
                  h: float) -> None:
    """Folded clothing: a soft pillow of fabric layers with thicker folded edges."""
    fabric = pick(rng, ("cotton", "polyester", "cotton"))
    thickness = uniform(rng, 10, 45)
    canvas.pillow(fabric, x + w / 2, y + h / 2, w, h, w * h * thickness / 1000 * 0.85,
                  squareness=uniform(rng, 4, 8))
    for _ in range(int(rng.integers(1, 4))):
        fold_y = y + uniform(rng, 0.1, 0.9) * h
        canvas.prism(fabric, (x + 4, fold_y), (x + w - 4, fold_y), 3.0,
                     lambda d: 4.0 * (1 - (d / 3.0) ** 2))


def wrap_in_clothing(rng: np.random.Generator, pitch_mm: float, item: Item) -> Item:
    """The item rolled in a folded garment 2-6 cm larger all round; its objects keep their maps
    and are marked concealed by "clothing"."""
    item = crop(item, pitch_mm, margin_mm=0.0)  # the garment fits what is drawn
    pad = int(np.ceil(uniform(rng, 20, 60) / pitch_mm))
    height, width = item.shape
    cover_w, cover_h = (width + 2 * pad) * pitch_mm, (height + 2 * pad) * pitch_mm
    canvas = ItemCanvas(cover_w, cover_h, pitch_mm, margin_mm=0.0)
    folded_fabric(rng, canvas, 0, 0, cover_w, cover_h)
    wrapped = merge([(canvas.item(), (0, 0)), (item, (pad, pad))], kind=item.kind)
    for obj in wrapped.objects:
        obj.concealment = "clothing"
    return wrapped


def lining_cover(rng: np.random.Generator, canvas: ItemCanvas, w: float, h: float) -> None:
    """A suitcase panel, a handbag or a jacket whose lining hides a thin layer."""
    cover = pick(rng, ("suitcase", "handbag", "jacket"))
    if cover == "suitcase":
        canvas.slab("polycarbonate", rounded_rect(0, 0, w, h, 25), 2 * 2.5)
        canvas.tube_outline("polycarbonate", rounded_rect(2, 2, w - 4, h - 4, 23), 2.0,
                            closed=True)
        for x in (w * 0.3, w * 0.7):
            canvas.cylinder("aluminium", (x, 5), (x, h - 5), 9.0, 8.0)  # trolley tubes
        canvas.rect("polyester", 10, 10, w - 20, h - 20, 0.8)
    elif cover == "handbag":
        canvas.slab("leather", rounded_rect(0, 0, w, h, 15), 3.0)
        canvas.rect("brass", 15, 8, w - 30, 4, 2.0)
        canvas.rect("zinc_alloy", w / 2 - 15, 20, 30, 20, 4.0)
    else:
        folded_fabric(rng, canvas, 0, 0, w, h)
        canvas.rect("brass", w * 0.48, 5, 5, h - 10, 1.2)  # zip


def bottle(canvas: ItemCanvas, radius: float, height: float, wall: float, shell: str) -> None:
    """A bottle standing, seen from the side in a ``2 radius x height`` box: body (a tube seen
    side-on), base edge-on, shoulder, neck and cap."""
    x, body_top = radius, height * 0.3
    canvas.cylinder(shell, (x, body_top), (x, height), radius, radius - wall)
    canvas.disc_edge_on(shell, x, height - wall, radius - wall, wall)
    neck = radius * 0.35
    canvas.cylinder(shell, (x, 8), (x, body_top), neck, neck - wall)
    canvas.slab(shell, [(x - neck, body_top), (x + neck, body_top), (x + radius, body_top + 20),
                        (x - radius, body_top + 20)], wall * 2)
    cap = "aluminium" if shell == "glass" else "polyethylene"
    canvas.cylinder(cap, (x, 0), (x, 12), neck + 1.5, neck + 0.3)


def bottle_liquid(canvas: ItemCanvas, radius: float, height: float, wall: float, liquid: str,
                  fill: float) -> None:
    """The liquid in a :func:`bottle`, filled to ``fill`` of the body."""
    level = height - (height * 0.7) * fill
    canvas.cylinder(liquid, (radius, level), (radius, height - wall), radius - wall)


def electronics_box(rng: np.random.Generator, canvas: ItemCanvas, x: float, y: float, w: float,
                    h: float) -> None:
    """A device housing (printer, amplifier, desktop PC) seen from above: plastic or steel
    shell, walls edge-on, a mains transformer, a board, steel guide rods, a motor."""
    shell = pick(rng, ("abs", "abs", "steel"))
    depth = uniform(rng, 80, 200)
    sheet = 2.0 if shell == "abs" else 0.7
    canvas.rect(shell, x, y, w, h, 2 * sheet)
    canvas.wall(shell, rounded_rect(x + 1, y + 1, w - 2, h - 2, 3), 2 * sheet, depth, closed=True)
    corner = (x + w - 60, y + 8) if rng.random() < 0.5 else (x + 8, y + h - 60)
    canvas.rect("carbon_steel", corner[0], corner[1], 50, 50, 30)             # transformer core
    canvas.rect("copper", corner[0] + 10, corner[1] + 5, 30, 40, 15)
    canvas.rect("pcb", x + 10, y + h * 0.55, w * 0.5, h * 0.4, 1.6)
    for rod_y in (y + 15, y + h - 15):
        canvas.cylinder("steel", (x + 10, rod_y), (x + w - 10, rod_y), 4.0)   # guide rods
    canvas.cylinder("steel", (x + w * 0.3, y + h * 0.3), (x + w * 0.3 + 40, y + h * 0.3), 14,
                    12.5)                                                    # motor


def shoe_outline(length: float) -> list[Point]:
    """A shoe's sole seen from above, heel at the left, toe to the right, in a
    ``length x 0.4 length`` box: narrow heel, waisted arch, wide ball, rounded toe."""
    half_widths = [(0.0, 0.0), (0.02, 0.22), (0.08, 0.3), (0.2, 0.32), (0.4, 0.28), (0.6, 0.4),
                   (0.72, 0.42), (0.85, 0.38), (0.94, 0.28), (0.99, 0.14), (1.0, 0.0)]
    width = 0.4 * length
    inner = [(t * length, width / 2 - f * width * 1.15) for t, f in half_widths]
    outer = [(t * length, width / 2 + f * width * 1.05) for t, f in reversed(half_widths)]
    return [(x, min(max(y, 0.0), width)) for x, y in inner[:-1] + outer[:-1]]


def tin_can(canvas: ItemCanvas, radius: float, height: float) -> None:
    """A food tin standing, seen from the side: tinplate walls and rolled rims."""
    canvas.cylinder("carbon_steel", (radius, 0), (radius, height), radius, radius - 0.25)
    for y in (0.0, height - 1.5):
        canvas.disc_edge_on("carbon_steel", radius, y, radius, 0.3)      # ends
        canvas.cylinder("carbon_steel", (0, y + 0.75), (2 * radius, y + 0.75), 0.75)  # rims


def chocolate_box(rng: np.random.Generator, canvas: ItemCanvas, w: float, h: float) -> None:
    """A box of chocolates: cardboard box, PET tray, rows of chocolates."""
    canvas.rect("cardboard", 0, 0, w, h, 2 * 1.5)
    canvas.rect("pet", 4, 4, w - 8, h - 8, 0.5)
    columns, rows = int(w // 32), int(h // 32)
    for col in range(columns):
        for row in range(rows):
            canvas.ellipsoid("chocolate", 16 + col * 32, 16 + row * 32, 12, 12,
                             uniform(rng, 15, 20), flat=0.5)


BAR_DISGUISE_MARGINS = {"food": 4.0, "books": 45.0, "clothing": 70.0}  # mm around the bar


def bar_disguise(rng: np.random.Generator, canvas: ItemCanvas, disguise: str, w: float,
                 h: float) -> None:
    """Disguise a gold bar lying at the centre of a ``w x h`` canvas: wrapped like a chocolate
    bar ("food"), in a hollowed-out book ("books"), or rolled in clothing ("clothing")."""
    if disguise == "food":
        canvas.rect("aluminium", 0, 0, w, h, 0.02)
        canvas.rect("paper", 0, 0, w, h, 0.2)
        canvas.rect("chocolate", 2, 2, w - 4, h - 4, 3.0)
    elif disguise == "books":
        hollow_book(rng, canvas, w, h, BAR_DISGUISE_MARGINS["books"] - 2)
    else:
        folded_fabric(rng, canvas, 0, 0, w, h)


def chain_path(rng: np.random.Generator, length: float,
               link: float) -> tuple[list[Point], tuple[float, float]]:
    """A dropped chain's path (a loose heap, points two links apart) and its canvas size."""
    path = _heap(rng, length, step=2 * link, radius=uniform(rng, 0.08, 0.2) * length)
    xs, ys = [p[0] for p in path], [p[1] for p in path]
    size = (max(xs) - min(xs) + 2 * link, max(ys) - min(ys) + 2 * link)
    return [(x - min(xs) + link, y - min(ys) + link) for x, y in path], size


def chain(canvas: ItemCanvas, alloy: str, path: list[Point], link: float, wire: float,
          clasp: bool) -> None:
    """A link chain along ``path``: flat links as rings, the links between them seen edge-on
    as a thin rod, and a clasp."""
    middles = [((a[0] + b[0]) / 2, (a[1] + b[1]) / 2) for a, b in itertools.pairwise(path)]
    ring = stamp(canvas.pitch_mm, lambda c: c.ring(alloy, link / 2 + 1, link / 2 + 1, link / 2,
                                                   link / 2 - wire, wire), link + 2, link + 2)
    canvas.scatter(alloy, ring, path + middles)
    canvas.polyline(alloy, path, wire / 2)
    if clasp:
        canvas.ring(alloy, *path[-1], 5, 3, 2.5)


def _heap(rng: np.random.Generator, length: float, step: float, radius: float) -> list[Point]:
    """A random path ``length`` long that stays within about ``radius`` of where it started,
    turning back when it strays (a dropped chain), points ``step`` apart."""
    heading, x, y = uniform(rng, 0, 2 * np.pi), 0.0, 0.0
    points = [(x, y)]
    for _ in range(max(2, int(length / step))):
        heading += float(rng.normal(0, 0.5))
        if np.hypot(x, y) > radius:
            toward = float(np.arctan2(-y, -x))
            heading += 0.5 * float(np.angle(np.exp(1j * (toward - heading))))
        x, y = x + step * float(np.cos(heading)), y + step * float(np.sin(heading))
        points.append((x, y))
    return points


def hollow_book(rng: np.random.Generator, canvas: ItemCanvas, w: float, h: float,
                margin: float) -> None:
    """A hardcover book whose pages are cut away inside ``margin`` of its edges."""
    pages = uniform(rng, 25, 45)
    canvas.rect("paper", 0, 0, w, h, pages)
    canvas.rect("paper", margin, margin, w - 2 * margin, h - 2 * margin, -pages * 0.8)
    canvas.rect("cardboard", 0, 0, w, h, 2 * 2.5 * 4)                   # dense boards


def coil_path(rng: np.random.Generator, turns: int, radius: float) -> list[Point]:
    """A coiled cable's centre line: loops of slightly varying radius, offset to start at 20 mm
    (room for the plugs)."""
    points: list[Point] = []
    for turn in range(turns):
        r = radius * uniform(rng, 0.85, 1.1)
        squash = uniform(rng, 0.6, 1.0)
        centre = (radius * 1.2 + uniform(rng, -8, 8), radius * 1.2 + uniform(rng, -8, 8))
        steps = max(12, int(2 * np.pi * r / 14))                      # ~14 mm segments
        points += ellipse_points(centre[0], centre[1], r, r * squash, steps, turn * 15,
                                 turn * 15 + 360)[:-1]
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return [(x - min(xs) + 20, y - min(ys) + 20) for x, y in points]


def path_extent(points: list[Point], margin: float = 20.0) -> tuple[float, float]:
    """The size of the box holding a path drawn from 0 with a margin on the far sides."""
    return max(p[0] for p in points) + margin, max(p[1] for p in points) + margin


# --- appliances (side or face views) with a hiding place for gold --------------------------------
def _gold_plate(canvas: ItemCanvas, outline: list[Point], mass_g: float) -> None:
    """A gold plate of a given mass over a polygon outline (its area from the shoelace formula)."""
    xs, ys = np.array([p[0] for p in outline]), np.array([p[1] for p in outline])
    area = 0.5 * abs(float(np.dot(xs, np.roll(ys, 1)) - np.dot(ys, np.roll(xs, 1))))
    canvas.slab("gold", outline, slab_thickness(mass_g, area, material("gold").density))


def _heating_coil(canvas: ItemCanvas, x: float, y: float, w: float, h: float) -> None:
    """Nichrome wire zig-zag on a mica board."""
    canvas.rect("mica", x, y, w, h, 0.5)
    zigzag = [(x + w * t, y + (h if k % 2 else 0)) for k, t in enumerate(np.linspace(0, 1, 14))]
    canvas.polyline("nichrome", zigzag, 0.35)


def hair_dryer(rng: np.random.Generator, canvas: ItemCanvas) -> None:
    """A hair dryer from the side: barrel, motor and fan, heating element, handle, cord."""
    canvas.cylinder("abs", (10, 45), (200, 45), 38, 35.5)
    canvas.cylinder("steel", (20, 45), (50, 45), 15, 12)          # motor can
    canvas.cylinder("copper", (24, 45), (46, 45), 11, 5)          # windings
    canvas.cylinder("steel", (10, 45), (60, 45), 1.5)             # shaft
    canvas.rect("abs", 55, 12, 6, 66, 20)                          # fan
    _heating_coil(canvas, 90, 20, 100, 50)
    handle = [(40, 80), (90, 80), (75, 220), (45, 220)]
    canvas.slab("abs", handle, 5.0)
    canvas.tube_outline("abs", handle, 1.5, closed=True)
    canvas.rect("pcb", 55, 100, 20, 40, 1.6)
    canvas.polyline("pvc", [(60, 220), (62, 240)], 3.5)


def _hair_dryer_gold(rng: np.random.Generator, canvas: ItemCanvas) -> None:
    if rng.random() < 0.5:
        _gold_plate(canvas, [(48, 90), (82, 90), (70, 205), (50, 205)], uniform(rng, 150, 600))
    else:  # a gold cylinder in place of the motor's rotor
        canvas.cylinder("gold", (24, 45), (46, 45), uniform(rng, 8, 11))


def clothes_iron(rng: np.random.Generator, canvas: ItemCanvas) -> None:
    """A steam iron from above: aluminium soleplate, heating tube, plastic body, water tank."""
    outline = [(0, 10), (170, 10), (250, 60), (170, 110), (0, 110)]
    canvas.slab("aluminium", outline, 6.0)
    canvas.polyline("steel", [(20, 25), (170, 25), (225, 60), (170, 95), (20, 95)], 4.0)
    canvas.slab("abs", outline, 5.0)
    canvas.tube_outline("abs", outline, 2.0, closed=True)
    canvas.rect("polyethylene", 120, 30, 90, 60, 3.0)
    canvas.disc("steel", 60, 60, 12, 3.0)                          # thermostat


def _iron_gold(rng: np.random.Generator, canvas: ItemCanvas) -> None:
    _gold_plate(canvas, [(10, 20), (160, 20), (215, 60), (160, 100), (10, 100)],
                uniform(rng, 300, 1500))


def toaster(rng: np.random.Generator, canvas: ItemCanvas) -> None:
    """A two-slot toaster from the side: steel shell (walls edge-on), mica boards, lever."""
    w, h, depth = 280.0, 190.0, 160.0
    canvas.rect("steel", 0, 0, w, h, 2 * 0.6)
    for x in (0.0, w - 1.0):
        canvas.rect("steel", x, 0, 1.0, h, depth * 0.6)
    canvas.rect("steel", 0, h - 1.0, w, 1.0, depth * 0.6)
    for y in (40.0, 60.0):
        _heating_coil(canvas, 20, y, 240, 110)
    canvas.rect("carbon_steel", 250, 30, 10, 100, 6)               # lever mechanism
    canvas.rect("abs", 0, h - 15, w, 15, 20)                       # base


def _toaster_gold(rng: np.random.Generator, canvas: ItemCanvas) -> None:
    _gold_plate(canvas, rounded_rect(25, 45, 230, 100, 3), uniform(rng, 500, 2500))


def speaker(rng: np.random.Generator, canvas: ItemCanvas) -> None:
    """A bookshelf speaker face-on: wooden box (walls edge-on), driver with a ferrite magnet."""
    w, h = 170.0, 260.0
    canvas.rect("wood", 0, 0, w, h, 2 * 15)
    for x, y, bw, bh in ((0, 0, 15, h), (w - 15, 0, 15, h), (15, 0, w - 30, 15),
                         (15, h - 15, w - 30, 15)):
        canvas.rect("wood", x, y, bw, bh, 180)
    canvas.ring("steel", w / 2, 150, 65, 55, 1.5)                  # basket
    canvas.ring("ferrite", w / 2, 150, 45, 20, 15)                 # magnet
    canvas.disc("carbon_steel", w / 2, 150, 45, 5)                 # plates
    canvas.disc("aluminium", w / 2, 60, 13, 3)                     # tweeter


def _speaker_gold(rng: np.random.Generator, canvas: ItemCanvas) -> None:
    canvas.ring("gold", 85, 150, uniform(rng, 35, 45), 20, uniform(rng, 4, 12))


APPLIANCES: dict[str, tuple[Draw, Draw]] = {
    "hair_dryer": (hair_dryer, _hair_dryer_gold),
    "iron": (clothes_iron, _iron_gold),
    "toaster": (toaster, _toaster_gold),
    "speaker": (speaker, _speaker_gold),
}
APPLIANCE_SIZES: dict[str, tuple[float, float]] = {
    "hair_dryer": (210.0, 245.0), "iron": (252.0, 120.0), "toaster": (282.0, 192.0),
    "speaker": (172.0, 262.0),
}
