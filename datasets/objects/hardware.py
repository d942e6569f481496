"""Bag hardware: zips, zip pulls, buckles, rivets, trolley tubes and wheels, in real sizes.

Real bag scans are full of small metal: every zip is a line of metal teeth ending in a die-cast
slider and pull, every strap has a buckle or a slide, a suitcase has two long trolley tubes, wheels
on steel axles, hinges and a lock. Containers (:mod:`.parcels`) and benign items (:mod:`.benign`)
draw them with these functions onto their own :class:`ItemCanvas`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from xscreen.datasets.objects.drawing import ItemCanvas, Point, pick, rounded_rect, uniform

ZIP_METALS = ("brass", "zinc_alloy", "steel", "aluminium")


def zip_chain(canvas: ItemCanvas, metal: str, points: Sequence[Point], band_mm: float = 6.0,
              depth_mm: float = 1.6, tooth_mm: float = 3.0) -> None:
    """A zip's chain along a path of straight runs (item mm): a ``band_mm`` wide line of
    interlocked teeth ``depth_mm`` thick along the beam, one tooth every ``tooth_mm`` with gaps
    between. For a zip seen edge-on (in a suitcase's wall) pass the chain's width as
    ``depth_mm`` and its thickness as ``band_mm``."""
    p = canvas.pitch_mm
    m = canvas.margin_mm
    for (ax, ay), (bx, by) in itertools.pairwise(points):
        x0, y0, x1, y1 = ax + m, ay + m, bx + m, by + m
        half = band_mm / 2
        with canvas._window_over(min(x0, x1) - half, min(y0, y1) - half, max(x0, x1) + half,
                                 max(y0, y1) + half) as inside:
            if not inside:
                continue
            grid_x, grid_y = canvas._grid()
            length = max(float(np.hypot(x1 - x0, y1 - y0)), 1e-6)
            ux, uy = (x1 - x0) / length, (y1 - y0) / length
            along = (grid_x - x0) * ux + (grid_y - y0) * uy
            across = np.abs((grid_x - x0) * uy - (grid_y - y0) * ux)
            cover = np.clip((half + p / 2 - across) / p, 0, 1) * np.clip(
                (np.minimum(along, length - along) + p / 2) / p, 0, 1)
            # teeth: a square wave of duty 0.6, averaged over a pixel (a smooth wave when the
            # pixel is coarser than the teeth, their mean when much coarser)
            contrast = float(np.clip(1.5 - p / tooth_mm, 0.0, 1.0))
            teeth = 0.6 + 0.5 * contrast * np.cos(2 * np.pi * along / tooth_mm)
            canvas._add(metal, (cover * np.clip(teeth, 0, 1) * (depth_mm / 10.0)).astype(
                np.float32))


def zip_pull(canvas: ItemCanvas, metal: str, x: float, y: float, angle_deg: float,
             size: float = 1.0) -> None:
    """A zip's slider (a die-cast body 10 x 20 mm, 4-5 mm thick) and its pull tab hanging
    from it (a plate with a window), centre of the slider at ``(x, y)``."""
    a = np.radians(angle_deg)
    cos, sin = float(np.cos(a)), float(np.sin(a))
    canvas.rect(metal, x - 5 * size, y - 10 * size, 10 * size, 20 * size, 4.5 * size, angle_deg)
    tab_x, tab_y = x - 22 * size * sin, y + 22 * size * cos
    canvas.rect(metal, tab_x - 5 * size, tab_y - 13 * size, 10 * size, 26 * size, 1.6 * size,
                angle_deg)
    canvas.rect(metal, tab_x - 2 * size, tab_y - 8 * size, 4 * size, 10 * size, -1.6 * size,
                angle_deg)                                                       # window


def buckle(canvas: ItemCanvas, x: float, y: float, width: float, metal: bool,
           angle_deg: float = 0.0) -> None:
    """A strap buckle for webbing ``width`` mm wide, centred at ``(x, y)``: a side-release
    buckle in acetal (drawn as nylon) or a die-cast metal frame with its bar."""
    if not metal:
        canvas.rect("nylon", x - width * 0.8, y - width * 0.7, width * 1.6, width * 1.4, 5.0,
                    angle_deg)
        canvas.rect("nylon", x - width * 0.5, y - width * 0.4, width, width * 0.8, -3.0,
                    angle_deg)
        return
    frame = rounded_rect(x - width * 0.45, y - width * 0.7, width * 0.9, width * 1.4, 3)
    if angle_deg:
        frame = _rotate(frame, (x, y), angle_deg)
    canvas.tube_outline("zinc_alloy", frame, 1.8, closed=True)


def rivets(canvas: ItemCanvas, metal: str, points: Sequence[Point], radius: float = 3.0,
           thickness: float = 3.0) -> None:
    """Rivets or screw heads seen face-on at ``points``."""
    for x, y in points:
        canvas.disc(metal, x, y, radius, thickness)


def webbing_strap(canvas: ItemCanvas, start: Point, end: Point, width: float,
                  material: str = "nylon", thickness: float = 1.5) -> None:
    """A flat webbing strap lying from ``start`` to ``end``."""
    canvas.prism(material, start, end, width / 2, lambda d: np.full_like(d, thickness))


def trolley_tubes(rng: np.random.Generator, canvas: ItemCanvas, x0: float, length: float,
                  centres_y: Sequence[float]) -> None:
    """A retracted telescopic trolley handle along x: per rail a rectangular aluminium (or
    steel) tube with one or two stages nested inside (each a tube 1-1.5 mm thick, its side
    walls seen edge-on as two dark lines), end brackets with screws, and the grip bar across
    the tops of the rails."""
    metal = "aluminium" if rng.random() < 0.8 else "steel"
    stages = int(rng.integers(2, 4))
    width, depth = uniform(rng, 18, 32), uniform(rng, 12, 22)
    wall = uniform(rng, 1.0, 1.5) if metal == "aluminium" else uniform(rng, 0.6, 0.9)
    for cy in centres_y:
        for stage in range(stages):
            w, d = width - 2.6 * wall * stage, depth - 2.6 * wall * stage
            run = length * (1.0 - 0.08 * stage)
            top = cy - w / 2
            canvas.rect(metal, x0, top, run, wall, d)                  # side walls, edge-on
            canvas.rect(metal, x0, top + w - wall, run, wall, d)
            canvas.rect(metal, x0, top + wall, run, w - 2 * wall, 2 * wall)  # top and bottom
        for bracket_x in (x0 - 8, x0 + length - 22):
            canvas.rect("abs", bracket_x, cy - width / 2 - 8, 30, width + 16, 12)
            rivets(canvas, "steel", [(bracket_x + 15, cy - width / 2 - 4),
                                     (bracket_x + 15, cy + width / 2 + 4)], 3.5, 4)
    top, bottom = min(centres_y) - width / 2, max(centres_y) + width / 2
    canvas.rect("abs", x0 - 30, top - 10, 28, bottom - top + 20, 30)            # grip
    canvas.rect(metal, x0 - 22, top, 12, bottom - top, 2 * wall * 2)           # grip bar
    canvas.polyline("steel", [(x0 - 15, (top + bottom) / 2 - 10 + 2 * k) for k in range(11)],
                    0.5)                                                          # button spring


def wheel(canvas: ItemCanvas, cx: float, cy: float, radius: float, tyre_mm: float,
          housing: bool = True) -> None:
    """A bag wheel whose axle runs along y (the bag lying on its back): a rubber or PU tyre and
    plastic hub seen as cylinders along the axle, two steel ball bearings, a steel axle, and
    the plastic housing around it."""
    y0, y1 = cy - tyre_mm / 2, cy + tyre_mm / 2
    if housing:
        canvas.rect("abs", cx - radius - 6, y0 - 8, 2 * radius + 12, tyre_mm + 16, 18)
    canvas.cylinder("rubber", (cx, y0), (cx, y1), radius, radius * 0.75)
    canvas.cylinder("abs", (cx, y0), (cx, y1), radius * 0.75, radius * 0.3)
    for end in (y0 + 1, y1 - 8):
        canvas.cylinder("steel", (cx, end), (cx, end + 7), 11.0, 4.0)          # 608 bearing
    canvas.cylinder("steel", (cx, y0 - 6), (cx, y1 + 6), 4.0)                  # axle


def hinge(canvas: ItemCanvas, metal: str, x: float, y: float, length: float) -> None:
    """A leaf hinge seen from above with the case lying flat: two leaves and the pin between."""
    canvas.rect(metal, x, y - 10, length, 20, 1.5)
    canvas.cylinder(metal, (x, y), (x + length, y), 3.0)
    rivets(canvas, "steel", [(x + length * 0.25, y - 5), (x + length * 0.75, y + 5)], 2.5, 3)


def combination_lock(rng: np.random.Generator, canvas: ItemCanvas, x: float, y: float) -> None:
    """A built-in TSA lock: a die-cast body, three brass dials seen edge-on, a steel shackle
    spring."""
    canvas.rect("zinc_alloy", x, y, 60, 28, uniform(rng, 5, 9))
    for k in range(3):
        canvas.rect("brass", x + 10 + 14 * k, y + 4, 4, 20, 14)
    canvas.polyline("steel", [(x + 52, y + 4 + 2 * k) for k in range(11)], 0.4)


def small_metal(rng: np.random.Generator, canvas: ItemCanvas, x: float, y: float) -> None:
    """One small metal thing lost in a bag: a coin, a key, a safety pin, a paper clip, a
    grommet, a spare zip pull or a button."""
    thing = pick(rng, ("coin", "coin", "pull", "clip", "pin", "grommet", "button", "key"))
    angle = uniform(rng, 0, 180)
    if thing == "coin":
        canvas.disc(pick(rng, ("brass", "copper", "steel", "carbon_steel")), x, y,
                    uniform(rng, 8, 13.5), uniform(rng, 1.5, 2.3))
    elif thing == "pull":
        zip_pull(canvas, pick(rng, ZIP_METALS), x, y, angle, uniform(rng, 0.6, 1.0))
    elif thing == "clip":
        canvas.tube_outline("steel", _rotate(rounded_rect(x - 4, y - 14, 8, 28, 4), (x, y),
                                             angle), 0.5, closed=True)
    elif thing == "pin":
        canvas.polyline("steel", _rotate([(x - 18, y), (x + 18, y), (x + 18, y + 4),
                                          (x - 14, y + 4)], (x, y), angle), 0.5)
    elif thing == "grommet":
        canvas.ring("brass", x, y, 7, 4, 3)
    elif thing == "button":
        canvas.disc("zinc_alloy", x, y, 8, 3)
    else:
        canvas.rect(pick(rng, ("brass", "steel")), x - 4, y - 25, 8, 50, 2.2, angle)


def _rotate(points: Sequence[Point], centre: Point, angle_deg: float) -> list[Point]:
    a = np.radians(angle_deg)
    cos, sin = float(np.cos(a)), float(np.sin(a))
    cx, cy = centre
    return [(cx + (px - cx) * cos - (py - cy) * sin, cy + (px - cx) * sin + (py - cy) * cos)
            for px, py in points]
