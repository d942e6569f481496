"""Firearms and their major parts, seen from the side (muzzle to the right), label ``firearm``.

The beam crosses the gun's width, so hollow parts (a slide, a grip, a receiver) show their walls'
total thickness, walls seen edge-on show the full width, and a magazine shows its cartridges
(brass cases, lead bullets) stacked inside. Masses come out as real guns weigh: a polymer pistol
loaded 0.6-1.1 kg, an all-steel one 0.8-1.3 kg, a rifle 2.5-4.5 kg.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from xscreen.datasets.objects import covers
from xscreen.datasets.objects.drawing import (
    ItemCanvas,
    Point,
    ThreatRecipe,
    crop,
    ellipse_points,
    finish,
    pick,
    registrar,
    rounded_rect,
    uniform,
)
from xscreen.datasets.shapes import Item

RECIPES: dict[str, ThreatRecipe] = {}
_firearm = registrar(RECIPES)


@dataclass
class PistolSpec:
    """A semi-automatic pistol's dimensions (mm) and materials, side view, muzzle right."""

    length: float          # slide length
    height: float          # slide top to magazine base
    slide_height: float
    width: float           # across the beam
    grip_angle_deg: float
    frame_material: str    # nylon (polymer frame) or steel
    frame_path: float      # equivalent path of the frame's solid parts
    cartridges: int
    bore_radius: float
    double_stack: bool
    grip_material: str     # grip panels of steel-framed pistols
    serrations: int        # grooves cut across the slide's rear

    @property
    def grip_slope(self) -> float:
        """How far (mm) the grip's top sits forward of its base: the grip angle's run."""
        return float(np.tan(np.radians(self.grip_angle_deg))) * (self.height - self.slide_height)


def _pistol_spec(rng: np.random.Generator, polymer: bool) -> PistolSpec:
    length = uniform(rng, 160, 215) if polymer else uniform(rng, 150, 205)
    return PistolSpec(
        length=length, height=length * uniform(rng, 0.66, 0.74),
        slide_height=uniform(rng, 26, 32), width=uniform(rng, 22, 32),
        grip_angle_deg=uniform(rng, 12, 22),
        frame_material="nylon" if polymer else "steel",
        frame_path=uniform(rng, 12, 18) if polymer else uniform(rng, 4.5, 6.5),
        cartridges=int(rng.integers(0, 18)), bore_radius=float(rng.choice([4.5, 4.5, 5.1, 5.7])),
        double_stack=polymer or rng.random() < 0.3,
        grip_material=pick(rng, ("wood", "rubber", "nylon")),
        serrations=int(rng.choice([0, 6, 8, 10])),
    )


def _draw_slide(canvas: ItemCanvas, spec: PistolSpec) -> None:
    """The slide (see :func:`_draw_slide_shell`) with the barrel and recoil spring inside."""
    _draw_slide_shell(canvas, spec)
    x0, length = spec.grip_slope, spec.length
    _draw_barrel(canvas, (x0 + 18, spec.slide_height * 0.45), length - 20, spec.bore_radius)
    spring_y = spec.slide_height - 4
    canvas.cylinder("steel", (x0 + 60, spring_y), (x0 + length - 4, spring_y), 4.5, 3.9)
    canvas.cylinder("steel", (x0 + 60, spring_y), (x0 + length - 4, spring_y), 1.5)


def _draw_slide_shell(canvas: ItemCanvas, spec: PistolSpec) -> None:
    """The slide alone: a steel shell (two walls, the top edge-on, the breech block), with its
    ejection port cut through one wall, rear serrations, sights, and a hammer on steel guns."""
    x0, length, height, wall = spec.grip_slope, spec.length, spec.slide_height, 2.6
    canvas.slab("steel", rounded_rect(x0, 0, length, height, 3), 2 * wall)
    canvas.rect("steel", x0, 0, length, 3, spec.width - 2 * wall)
    canvas.rect("steel", x0, 0, 12, height, spec.width - 2 * wall)          # breech block
    canvas.rect("steel", x0 + 0.3 * length, 1, 0.18 * length, 0.55 * height, -wall)  # port
    for groove in range(int(spec.serrations)):
        canvas.rect("steel", x0 + 14 + groove * 3.0, 3, 1.5, height - 5, -1.6)
    canvas.rect("steel", x0 + length - 12, -3.5, 4, 3.5, 3.5)                # front sight
    canvas.rect("steel", x0 + 6, -4.5, 8, 4.5, spec.width * 0.5)             # rear sight
    if spec.frame_material == "steel":                                       # exposed hammer
        canvas.slab("steel", [(x0 + 1, height * 0.2), (x0 - 10, -1), (x0 - 14, 3),
                              (x0 + 1, height * 0.75)], 7)


def _draw_barrel(canvas: ItemCanvas, breech: Point, length: float, bore_radius: float) -> None:
    """A barrel: a thick-walled steel tube, thicker still at the chamber, with a locking lug."""
    x, y = breech
    canvas.cylinder("steel", (x, y), (x + length, y), bore_radius + 2.2, bore_radius)
    canvas.cylinder("steel", (x, y), (x + 25, y), bore_radius + 4.5, bore_radius + 2.2)
    canvas.rect("steel", x + 20, y + bore_radius, 14, 7, 9)


def _draw_pistol_frame(canvas: ItemCanvas, spec: PistolSpec) -> None:
    """Frame and grip: the dust cover under the slide, the hollow grip, trigger and guard."""
    s, sh, h = spec.grip_slope, spec.slide_height, spec.height
    grip = 0.28 * spec.length
    mat = spec.frame_material
    polymer = mat == "nylon"
    canvas.slab(mat, [(s + 5, sh), (s + spec.length - 6, sh), (s + spec.length - 6, sh + 12),
                      (s + grip + 45, sh + 14), (s + grip, sh + 16)], spec.frame_path)
    outline = [(s, sh - 2), (s + grip, sh), (grip, h), (0, h - 4)]
    canvas.slab(mat, outline, 6.0 if polymer else 3.0)                 # grip walls
    canvas.wall(mat, [(s, sh), (0, h - 4)], 3.0 if polymer else 2.0, spec.width - 6)
    canvas.wall(mat, [(s + grip, sh + 10), (grip, h)], 3.0 if polymer else 2.0, spec.width - 6)
    if not polymer:
        panels = [(s + 3, sh + 12), (s + grip - 3, sh + 14), (grip - 3, h - 6), (3, h - 8)]
        canvas.slab(spec.grip_material, panels, 10.0)
    canvas.rect("steel", s + 10, sh - 2, spec.length - 30, 2, spec.width * 0.5)  # rails
    guard = ellipse_points(s + grip + 18, sh + 18, 18, 13, 16, -10, 190)
    canvas.tube_outline(mat, guard, 2.6)
    canvas.slab(mat, [(s + grip + 10, sh + 6), (s + grip + 15, sh + 6), (s + grip + 12, sh + 24),
                      (s + grip + 8, sh + 24)], 6)


def _draw_magazine(canvas: ItemCanvas, spec: PistolSpec, loaded: int) -> None:
    """A box magazine in the grip: thin steel walls, a baseplate, cartridges (single or double
    stack: in a double stack they overlap, staggered, every 5 mm)."""
    s, sh, h = spec.grip_slope, spec.slide_height, spec.height
    inset, mag_w = 6.0, 0.28 * spec.length - 12
    top, bottom = sh + 8, h + 2
    canvas.slab("steel", [(s * 0.9 + inset, top), (s * 0.9 + inset + mag_w, top),
                          (inset + mag_w, bottom), (inset, bottom)], 1.8)
    canvas.rect("nylon", inset - 2, bottom - 4, mag_w + 4, 6, spec.width - 4)
    step = 5.0 if spec.double_stack else 9.5
    for index in range(loaded):
        y = top + 3 + index * step
        if y > bottom - 10:
            break
        x = s * 0.9 * (1 - (y - top) / (bottom - top)) + inset + 1 + (index % 2) * 1.5
        _cartridge(canvas, (x, y), case_length=19, case_radius=4.9, bullet_length=10)


def _cartridge(canvas: ItemCanvas, base: Point, case_length: float, case_radius: float,
               bullet_length: float, bullet_radius: float | None = None,
               direction: Point = (1.0, 0.0)) -> None:
    """A cartridge lying across the beam: brass case (walls, powder ignored) and lead bullet."""
    x, y = base
    ux, uy = direction
    case_end = (x + ux * case_length, y + uy * case_length)
    canvas.cylinder("brass", (x, y), case_end, case_radius, case_radius - 0.45)
    canvas.cylinder("brass", (x, y), (x + ux * 1.5, y + uy * 1.5), case_radius)  # head
    tip = (case_end[0] + ux * bullet_length, case_end[1] + uy * bullet_length)
    back = (case_end[0] - ux * 5, case_end[1] - uy * 5)
    canvas.cylinder("lead", back, tip, bullet_radius or case_radius - 0.5)


def _pistol_canvas(spec: PistolSpec, pitch_mm: float, margin_mm: float = 6.0) -> ItemCanvas:
    """The pistol's canvas: the margin holds the sights and hammer, drawn above and behind."""
    return ItemCanvas(spec.length + spec.grip_slope + 2, spec.height + 6, pitch_mm, margin_mm)


def _pistol(rng: np.random.Generator, pitch_mm: float, polymer: bool, kind: str) -> list[Item]:
    spec = _pistol_spec(rng, polymer)
    concealment = _concealment(rng)
    canvas = _pistol_canvas(spec, pitch_mm, _CONCEALMENT_MARGINS[concealment])
    _conceal(rng, canvas, concealment, spec.length + spec.grip_slope + 2, spec.height + 6)
    canvas.start_object()
    _draw_slide(canvas, spec)
    _draw_pistol_frame(canvas, spec)
    _draw_magazine(canvas, spec, spec.cartridges)
    return finish(canvas, [canvas.finish_object("firearm", kind, concealment, "steel")], kind)


@_firearm("pistol_polymer")
def _pistol_polymer(rng: np.random.Generator, pitch_mm: float) -> list[Item]:
    return _pistol(rng, pitch_mm, polymer=True, kind="pistol_polymer")


@_firearm("pistol_steel")
def _pistol_steel(rng: np.random.Generator, pitch_mm: float) -> list[Item]:
    return _pistol(rng, pitch_mm, polymer=False, kind="pistol_steel")


_CONCEALMENT_MARGINS = {"none": 6.0, "clothing": 6.0, "electronics": 40.0}  # mm around


def _concealment(rng: np.random.Generator) -> str:
    """How a handgun travels: bare (most), wrapped in clothing, or inside an electronic device."""
    draw = rng.random()
    return "none" if draw < 0.6 else "clothing" if draw < 0.85 else "electronics"


def _conceal(rng: np.random.Generator, canvas: ItemCanvas, concealment: str, w: float,
             h: float) -> None:
    """Draw the cover (outside any object) around a ``w x h`` threat drawn from ``(0, 0)``."""
    margin = _CONCEALMENT_MARGINS[concealment] - 1
    if concealment == "clothing":
        covers.folded_fabric(rng, canvas, -margin, -margin, w + 2 * margin, h + 2 * margin)
    elif concealment == "electronics":
        covers.electronics_box(rng, canvas, -margin, -margin, w + 2 * margin, h + 2 * margin)


@_firearm("pistol_slide")
def _pistol_slide(rng: np.random.Generator, pitch_mm: float) -> list[Item]:
    return _pistol_part(rng, pitch_mm, "pistol_slide", _draw_slide)


@_firearm("pistol_frame")
def _pistol_frame(rng: np.random.Generator, pitch_mm: float) -> list[Item]:
    return _pistol_part(rng, pitch_mm, "pistol_frame", _draw_pistol_frame)


def _pistol_part(rng: np.random.Generator, pitch_mm: float, kind: str,
                 draw: Callable[[ItemCanvas, PistolSpec], None]) -> list[Item]:
    spec = _pistol_spec(rng, polymer=rng.random() < 0.6)
    canvas = _pistol_canvas(spec, pitch_mm)
    canvas.start_object()
    draw(canvas, spec)
    obj = canvas.finish_object("firearm", kind)
    return [crop(canvas.item([obj], kind=kind), pitch_mm)]


@_firearm("pistol_disassembled")
def _pistol_disassembled(rng: np.random.Generator, pitch_mm: float) -> list[Item]:
    """A pistol field-stripped and spread through the parcel: slide, barrel and recoil spring
    apart, the frame with its magazine; each major part its own item and box."""
    spec = _pistol_spec(rng, polymer=rng.random() < 0.7)
    slide = _part_item(spec, pitch_mm, _draw_slide_shell)
    frame = _part_item(spec, pitch_mm, _draw_frame_and_magazine)
    barrel_canvas = ItemCanvas(spec.length - 20, 2 * spec.bore_radius + 12, pitch_mm)
    barrel_canvas.start_object()
    _draw_barrel(barrel_canvas, (0, spec.bore_radius + 5), spec.length - 20, spec.bore_radius)
    barrel = barrel_canvas.item([barrel_canvas.finish_object("firearm", "pistol_disassembled")],
                                kind="pistol_disassembled")
    return [slide, frame, barrel]


def _draw_frame_and_magazine(canvas: ItemCanvas, spec: PistolSpec) -> None:
    _draw_pistol_frame(canvas, spec)
    _draw_magazine(canvas, spec, spec.cartridges)


def _part_item(spec: PistolSpec, pitch_mm: float,
               draw: Callable[[ItemCanvas, PistolSpec], None]) -> Item:
    canvas = _pistol_canvas(spec, pitch_mm)
    canvas.start_object()
    draw(canvas, spec)
    obj = canvas.finish_object("firearm", "pistol_disassembled")
    return crop(canvas.item([obj], kind="pistol_disassembled"), pitch_mm)


@_firearm("barrel")
def _barrel(rng: np.random.Generator, pitch_mm: float) -> list[Item]:
    long_gun = rng.random() < 0.4
    length = uniform(rng, 400, 650) if long_gun else uniform(rng, 75, 130)
    bore = uniform(rng, 2.8, 4.0) if long_gun else uniform(rng, 4.0, 5.7)
    canvas = ItemCanvas(length, 2 * bore + 12, pitch_mm)
    canvas.start_object()
    _draw_barrel(canvas, (0, bore + 5), length, bore)
    obj = canvas.finish_object("firearm", "barrel")
    return finish(canvas, [obj], "barrel")


@dataclass
class RevolverSpec:
    """A revolver, side view, muzzle right (mm): the bore lines up with the top chamber, so the
    cylinder's axis sits one chamber circle below it."""

    barrel: float
    cylinder_length: float
    radius: float
    chambers: int
    height: float
    grip_material: str
    loaded: bool

    @property
    def cylinder_axis(self) -> Point:
        """Where the cylinder's axis starts (its rear face's centre), mm."""
        return 58.0, self.radius + 10

    @property
    def bore_y(self) -> float:
        """The barrel's axis height: in line with the top chamber."""
        return self.cylinder_axis[1] - self.radius * 0.62


@_firearm("revolver")
def _revolver(rng: np.random.Generator, pitch_mm: float) -> list[Item]:
    spec = RevolverSpec(barrel=uniform(rng, 50, 155), cylinder_length=uniform(rng, 38, 44),
                        radius=uniform(rng, 17, 21), chambers=int(rng.choice([5, 6, 6, 8])),
                        height=uniform(rng, 105, 150),
                        grip_material=pick(rng, ("wood", "rubber", "wood")),
                        loaded=rng.random() < 0.6)
    length = spec.cylinder_axis[0] + spec.cylinder_length + spec.barrel + 6
    concealment = _concealment(rng)
    canvas = ItemCanvas(length, spec.height, pitch_mm, _CONCEALMENT_MARGINS[concealment])
    _conceal(rng, canvas, concealment, length, spec.height)
    canvas.start_object()
    _revolver_frame(canvas, spec)
    _revolver_cylinder(canvas, spec.cylinder_axis, spec.cylinder_length, spec.radius,
                       spec.chambers, spec.loaded)
    x = spec.cylinder_axis[0] + spec.cylinder_length + 2
    canvas.cylinder("steel", (x, spec.bore_y), (x + spec.barrel, spec.bore_y), 8.5, 4.5)
    canvas.rect("steel", x, spec.bore_y + 5, spec.barrel * uniform(rng, 0.3, 1.0), 9, 13)
    canvas.rect("steel", x + spec.barrel - 14, spec.bore_y - 14, 12, 7, 5)   # front sight
    obj = canvas.finish_object("firearm", "revolver", concealment, "steel")
    return finish(canvas, [obj], "revolver")


def _revolver_frame(canvas: ItemCanvas, spec: RevolverSpec) -> None:
    """Top strap and crane around the cylinder window, recoil shield and hammer behind it,
    a narrow steel grip frame inside wood or rubber grips, trigger and guard."""
    cx, cy = spec.cylinder_axis
    top, bottom = cy - spec.radius - 5, cy + spec.radius + 2
    window_end = cx + spec.cylinder_length + 8
    canvas.rect("steel", cx - 4, top, window_end - cx + 4, 6, 14)           # top strap
    canvas.rect("steel", cx - 4, bottom - 2, window_end - cx + 4, 9, 16)    # crane and frame
    canvas.rect("steel", cx - 14, top, 12, bottom - top + 7, 30)            # recoil shield
    canvas.slab("steel", [(cx - 14, top + 4), (cx - 30, top - 4), (cx - 38, top - 2),
                          (cx - 24, top + 14), (cx - 14, top + 22)], 9)     # hammer and spur
    grip = [(cx - 14, bottom + 2), (cx + 6, bottom + 7), (cx - 14, spec.height),
            (cx - 52, spec.height - 6)]
    canvas.slab(spec.grip_material, grip, 30)
    canvas.wall("steel", [(cx - 12, bottom + 4), (cx - 42, spec.height - 8)], 8, 12)
    canvas.rect("steel", cx - 14, bottom + 2, 18, 10, 20)
    guard = ellipse_points(cx + 14, bottom + 12, 14, 11, 14, -10, 190)
    canvas.tube_outline("steel", guard, 2.2)
    canvas.slab("steel", [(cx + 6, bottom + 4), (cx + 10, bottom + 4), (cx + 8, bottom + 20),
                          (cx + 4, bottom + 18)], 6)                       # trigger


def _revolver_cylinder(canvas: ItemCanvas, axis: Point, length: float, radius: float,
                       chambers: int, loaded: bool) -> None:
    """The cylinder seen side-on: a steel drum minus its chambers' chords, cartridges inside."""
    chamber_r, circle = radius * 0.26, radius * 0.62
    offsets = [circle * float(np.sin(2 * np.pi * k / chambers)) for k in range(chambers)]

    def chord(d: np.ndarray) -> np.ndarray:
        solid = 2 * np.sqrt(np.clip(radius**2 - d**2, 0, None))
        for offset in offsets:
            solid -= 2 * np.sqrt(np.clip(chamber_r**2 - (d - offset) ** 2, 0, None))
        return solid

    x, y = axis
    canvas.prism("steel", (x, y), (x + length, y), radius, chord)
    canvas.cylinder("steel", (x - 4, y), (x + length + 6, y), 3.5)         # ejector rod
    if loaded:
        for offset in offsets:
            _cartridge(canvas, (x, y + offset), length - 8, chamber_r - 0.1, 8)


@dataclass
class LongGunSpec:
    """A rifle or shotgun, side view, muzzle right (mm)."""

    stock_length: float
    receiver_length: float
    barrel_length: float
    bore_radius: float
    barrel_radius: float
    stock_material: str
    receiver_material: str
    receiver_path: float
    magazine: str          # "box", "curved", "tube", "double", "none"
    stock_style: str = "classic"  # "classic" (wood or polymer butt), "buffer_tube", "folding"


def _long_gun(rng: np.random.Generator, pitch_mm: float, spec: LongGunSpec,
              kind: str) -> list[Item]:
    length = spec.stock_length + spec.receiver_length + spec.barrel_length + 60
    concealment = "clothing" if rng.random() < 0.15 else "none"
    height = 340 if spec.magazine == "curved" else 260  # room for the magazine; cropped after
    canvas = ItemCanvas(length, height, pitch_mm)
    canvas.start_object()
    axis_y = 75.0
    _stock(canvas, spec, axis_y)
    _receiver(canvas, spec, axis_y)
    x_barrel = spec.stock_length + spec.receiver_length
    _draw_barrel_long(canvas, (x_barrel - 20, axis_y), spec)
    _long_gun_magazine(rng, canvas, spec, axis_y)
    if spec.magazine != "tube" and rng.random() < 0.3:
        _scope(canvas, spec.stock_length + 20, axis_y - 45, spec.receiver_length + 120)
    obj = canvas.finish_object("firearm", kind, concealment, "steel")
    if concealment == "clothing":  # wrapped after drawing: the cover follows the cropped gun
        covers.folded_fabric(rng, canvas, 0, 35, length, 180)
    return [crop(canvas.item([obj], kind=kind), pitch_mm)]


def _stock(canvas: ItemCanvas, spec: LongGunSpec, axis_y: float) -> None:
    """Butt stock, pistol grip, trigger guard and handguard (wood, or a polymer shell)."""
    s = spec.stock_length
    path = 38.0 if spec.stock_material == "wood" else 14.0
    _BUTTS[spec.stock_style](canvas, spec, axis_y, path)
    grip_x = s + 40
    canvas.slab(spec.stock_material, [(grip_x, axis_y + 15), (grip_x + 35, axis_y + 15),
                                      (grip_x + 12, axis_y + 100), (grip_x - 18, axis_y + 95)],
                path * 0.8)
    canvas.tube_outline("steel", ellipse_points(grip_x + 50, axis_y + 28, 20, 13, 14, -10, 190),
                        2.2)
    hand_x = s + spec.receiver_length
    canvas.slab(spec.stock_material, rounded_rect(hand_x, axis_y - 18, spec.barrel_length * 0.45,
                                                  36, 8), path * 0.7)


def _classic_butt(canvas: ItemCanvas, spec: LongGunSpec, axis_y: float, path: float) -> None:
    """A classic butt: a wedge from the receiver down to a butt plate."""
    s = spec.stock_length
    canvas.slab(spec.stock_material, [(0, axis_y + 5), (s, axis_y - 12), (s + 10, axis_y + 12),
                                      (s - 40, axis_y + 30), (0, axis_y + 115)], path)
    canvas.rect("steel", 0, axis_y + 5, 6, 110, 8)


def _buffer_tube_butt(canvas: ItemCanvas, spec: LongGunSpec, axis_y: float,
                      path: float) -> None:
    """An AR-style butt: an aluminium buffer tube (spring and buffer inside) under a
    collapsible polymer stock."""
    s = spec.stock_length
    canvas.cylinder("aluminium", (30, axis_y), (s + 5, axis_y), 15.0, 13.5)
    canvas.cylinder("steel", (60, axis_y), (s, axis_y), 12.0, 11.0)           # action spring
    canvas.slab("nylon", [(0, axis_y - 20), (90, axis_y - 20), (110, axis_y + 25),
                          (0, axis_y + 100)], 12)


def _folding_butt(canvas: ItemCanvas, spec: LongGunSpec, axis_y: float, path: float) -> None:
    """A skeleton stock of steel struts (folded or open) with a butt plate."""
    s = spec.stock_length
    for y0, y1 in ((axis_y - 8, axis_y + 2), (axis_y + 12, axis_y + 70)):
        canvas.cylinder("steel", (10, y1), (s, y0), 5.0, 3.5)
    canvas.slab("steel", rounded_rect(0, axis_y - 5, 14, 85, 4), 6)


_BUTTS = {"classic": _classic_butt, "buffer_tube": _buffer_tube_butt, "folding": _folding_butt}


def _receiver(canvas: ItemCanvas, spec: LongGunSpec, axis_y: float) -> None:
    """Receiver with the bolt inside: a box of sheet or milled metal seen from the side."""
    x0, length = spec.stock_length, spec.receiver_length
    canvas.slab(spec.receiver_material, rounded_rect(x0, axis_y - 20, length, 48, 5),
                spec.receiver_path)
    canvas.rect(spec.receiver_material, x0, axis_y - 20, length, 4, 25)  # top edge-on
    canvas.cylinder("steel", (x0 + 20, axis_y), (x0 + length * 0.8, axis_y), 9.0)  # bolt
    canvas.cylinder("steel", (x0 + length * 0.55, axis_y), (x0 + length * 0.55, axis_y + 24), 3)


def _draw_barrel_long(canvas: ItemCanvas, breech: Point, spec: LongGunSpec) -> None:
    """The barrel (thicker at the chamber), its gas tube and gas block, front sight, muzzle."""
    x, y = breech
    length = spec.barrel_length + 20
    canvas.cylinder("steel", (x, y), (x + length * 0.35, y), spec.barrel_radius + 2,
                    spec.bore_radius)
    canvas.cylinder("steel", (x + length * 0.35, y), (x + length, y), spec.barrel_radius,
                    spec.bore_radius)
    if spec.magazine == "double":  # over-and-under: a second barrel beneath
        low = y + 2 * spec.barrel_radius + 1
        canvas.cylinder("steel", (x, low), (x + length, low), spec.barrel_radius,
                        spec.bore_radius)
    if spec.magazine in ("tube", "double"):
        return  # pump and break actions: no gas system
    gas_x = x + length * 0.6
    canvas.cylinder("steel", (x + 20, y - spec.barrel_radius - 7), (gas_x, y - spec.barrel_radius
                                                                  - 7), 7.0, 6.0)
    canvas.rect("steel", gas_x - 10, y - spec.barrel_radius - 15, 30, 2 * spec.barrel_radius + 15,
                22)                                                     # gas block
    canvas.rect("steel", x + length - 40, y - spec.barrel_radius - 30, 14, 30, 8)  # front sight
    canvas.cylinder("steel", (x + length, y), (x + length + 50, y), spec.barrel_radius + 2,
                    spec.bore_radius + 1)                               # muzzle device


def _long_gun_magazine(rng: np.random.Generator, canvas: ItemCanvas, spec: LongGunSpec,
                       axis_y: float) -> None:
    """Tube magazine under the barrel (shotguns) or a box magazine, straight or curved."""
    x0 = spec.stock_length + min(spec.receiver_length - 64, max(115, 0.55 * spec.receiver_length))
    if spec.magazine == "tube":
        end = spec.stock_length + spec.receiver_length + spec.barrel_length * 0.85
        y = axis_y + spec.barrel_radius + 11
        canvas.cylinder("steel", (x0, y), (end, y), 11.0, 10.2)
        for index in range(int(rng.integers(0, 6))):
            _shotshell(canvas, (x0 + 5 + index * 70, y))
    elif spec.magazine in ("box", "curved"):
        _box_magazine(rng, canvas, (x0, axis_y + 22), curved=spec.magazine == "curved")


def _box_magazine(rng: np.random.Generator, canvas: ItemCanvas, top: Point,
                  curved: bool) -> None:
    """A rifle magazine: sheet-steel walls (edge-on at front and back), rifle cartridges."""
    depth = uniform(rng, 150, 220) if curved else uniform(rng, 60, 160)
    bend = 0.3 * depth if curved else 0.0
    x0, y0 = top
    spine = [(x0 + bend * (t / depth) ** 2, y0 + t) for t in np.linspace(0, depth, 7)]
    front = [(x + 62, y) for x, y in spine]
    outline = [*spine, *reversed(front)]
    canvas.slab("steel", outline, 2.0)
    canvas.wall("steel", spine, 1.0, 24)
    canvas.wall("steel", front, 1.0, 24)
    canvas.rect("steel", spine[-1][0], y0 + depth - 4, 62, 6, 24)       # floor plate
    loaded = int(rng.integers(0, int(depth / 6)))
    for index in range(loaded):
        t = 3 + index * 6.0
        x = x0 + bend * (t / depth) ** 2 + 2 + (index % 2) * 2
        _cartridge(canvas, (x, y0 + t), case_length=39, case_radius=5.6, bullet_length=17,
                   bullet_radius=3.9)


def _shotshell(canvas: ItemCanvas, base: Point) -> None:
    x, y = base
    canvas.cylinder("brass", (x, y), (x + 10, y), 10.0, 9.5)
    canvas.cylinder("polyethylene", (x, y), (x + 68, y), 10.0, 9.3)
    canvas.cylinder("lead", (x + 30, y), (x + 66, y), 7.0)  # shot at ~60 % packing


def _scope(canvas: ItemCanvas, x: float, y: float, length: float) -> None:
    canvas.cylinder("aluminium", (x, y), (x + length, y), 13.0, 11.5)
    canvas.cylinder("aluminium", (x + length * 0.7, y), (x + length, y), 21.0, 19.5)
    for lens_x in (x + 5, x + length - 5):
        canvas.cylinder("glass", (lens_x, y), (lens_x + 4, y), 12.0)
    canvas.rect("steel", x + length * 0.2, y + 10, 15, 25, 10)
    canvas.rect("steel", x + length * 0.7, y + 10, 15, 25, 10)


@_firearm("rifle")
def _rifle(rng: np.random.Generator, pitch_mm: float) -> list[Item]:
    stock_wood = rng.random() < 0.5
    spec = LongGunSpec(
        stock_length=uniform(rng, 230, 330), receiver_length=uniform(rng, 180, 240),
        barrel_length=uniform(rng, 400, 600), bore_radius=uniform(rng, 2.8, 3.9),
        barrel_radius=uniform(rng, 8.5, 10.5),
        stock_material="wood" if stock_wood else "nylon",
        receiver_material="steel" if rng.random() < 0.7 else "aluminium",
        receiver_path=uniform(rng, 5, 8), magazine=pick(rng, ("curved", "box", "none")),
    )
    if spec.receiver_material == "aluminium":
        spec.receiver_path *= 3.5
        spec.stock_style = "buffer_tube" if rng.random() < 0.7 else "classic"
    elif rng.random() < 0.25:
        spec.stock_style = "folding"
    return _long_gun(rng, pitch_mm, spec, "rifle")


@_firearm("shotgun")
def _shotgun(rng: np.random.Generator, pitch_mm: float) -> list[Item]:
    """A pump-action (tube magazine), an over-and-under, or either sawn off (short barrel,
    stock cut down to a grip)."""
    sawn_off = rng.random() < 0.25
    spec = LongGunSpec(
        stock_length=uniform(rng, 90, 130) if sawn_off else uniform(rng, 300, 360),
        receiver_length=uniform(rng, 170, 220),
        barrel_length=uniform(rng, 250, 350) if sawn_off else uniform(rng, 450, 710),
        bore_radius=9.2, barrel_radius=uniform(rng, 10.5, 11.5),
        stock_material="wood" if rng.random() < 0.6 else "nylon",
        receiver_material="aluminium" if rng.random() < 0.5 else "steel",
        receiver_path=uniform(rng, 6, 9), magazine=pick(rng, ("tube", "double", "none")),
    )
    return _long_gun(rng, pitch_mm, spec, "shotgun")


@_firearm("receiver")
def _receiver_part(rng: np.random.Generator, pitch_mm: float) -> list[Item]:
    spec = LongGunSpec(300, uniform(rng, 180, 240), 0, 3.0, 9.0, "nylon",
                       pick(rng, ("steel", "aluminium")), uniform(rng, 6, 14), "none")
    canvas = ItemCanvas(spec.stock_length + spec.receiver_length, 120, pitch_mm)
    canvas.start_object()
    _receiver(canvas, spec, 60.0)
    obj = canvas.finish_object("firearm", "receiver")
    return [crop(canvas.item([obj], kind="receiver"), pitch_mm)]
