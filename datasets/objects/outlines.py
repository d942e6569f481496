"""Objects drawn from real silhouettes: named firearms, gold, branded goods and everyday clutter.

The silhouettes are game-icons.net icons (CC BY 3.0; authors in ``datasets/assets/ATTRIBUTION``),
converted once by ``datasets/assets/outlines/convert.py`` into integer polygons per named region
(slide, frame, grip panels ...), the icon's white cut lines kept as seams, and the openings that
must stay empty (a trigger guard). Here each outline becomes an X-ray object:

- scaled to the real object's published size (an :class:`OutlineSpec` states each);
- given a thickness across the beam from its own shape: a rounded profile from the distance to
  the rim (a part ``2r`` tall has the chord of a cylinder of radius ``r``), capped at the
  object's real width, so a barrel is a tube and a grip is a rounded slab;
- made of a material per region, a hollow object's fill scaled so that it weighs what the real
  one does (a pistol's slide and frame are shells, not solid steel);
- given internal parts clipped to the outline: a barrel's bore, a magazine with cartridges
  (brass cases, lead bullets) in a pistol's grip, a revolver cylinder's chambers, a phone's
  battery and circuit board.

Recipes are rng-driven: mirrored half the time, length and height jittered by a few per cent,
magazines loaded at random, grips of wood or rubber. No SVG library is needed at synthesis time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

import cv2
import numpy as np

from xscreen.datasets.materials import material
from xscreen.datasets.objects.drawing import ItemCanvas, ThreatRecipe, pick, uniform, unknown
from xscreen.datasets.shapes import Item

_ASSETS = Path(__file__).resolve().parent.parent / "assets" / "outlines" / "outlines.json"
_SUPERSAMPLE = 4      # polygons are filled at 4x and averaged: anti-aliased rims
_SEAM_PATH = 0.6      # a cut line (a part's edge) keeps this share of the path: a faint line
_MARGIN_MM = 2.0

Fraction = tuple[float, float]   # (u, v): fractions of the outline's width and height


@dataclass(frozen=True)
class Magazine:
    """A box magazine along a line in the grip (fractions), with its cartridges (mm)."""

    top: Fraction
    bottom: Fraction
    capacity: int
    case_length: float = 19.0     # 9x19 mm unless stated
    case_radius: float = 4.9
    bullet_length: float = 10.0


@dataclass(frozen=True)
class Insert:
    """A flat part inside the outline (a battery, a movement): a box in fractions, clipped to the
    outline, ``thickness_mm`` of ``material_name``."""

    material_name: str
    box: tuple[float, float, float, float]       # u0, v0, u1, v1
    thickness_mm: float


@dataclass(frozen=True)
class OutlineSpec:
    """One real object drawn from an icon: its published size, materials and inner parts."""

    icon: str                                   # key in outlines.json
    model: str                                  # what it is, for the docs and the reader
    length_mm: float                            # the outline's extent along x
    width_mm: float                             # across the beam (the thickest part)
    materials: Mapping[str, tuple[str, ...]]    # region -> material choices (first: most often)
    height_mm: float | None = None              # extent along y; None keeps the icon's aspect
    fill: float = 1.0                           # solid share of the profile (hollow things < 1)
    mass_g: float | None = None                 # published empty mass: the fill is fitted to it
    bands: tuple[tuple[str, str, float], ...] = ()  # (region, "u<"/"u>"/"v<"/"v>", fraction)
    bore: tuple[float, float, float] | None = None  # barrel axis: u0, u1, v
    bore_radius_mm: float = 4.5
    magazine: Magazine | None = None
    cylinder: tuple[float, float, float] | None = None  # revolver cylinder: u0, u1, v of axis
    inserts: tuple[Insert, ...] = field(default=())


# --- the specs ----------------------------------------------------------------------------------
# Firearms: overall length and height from the makers' published figures; mass empty, without
# the magazine's cartridges (which are drawn).
FIREARM_SPECS: dict[str, OutlineSpec] = {
    "outline_glock": OutlineSpec(
        "glock", "Glock 17: 186 x 138 x 32 mm, 625 g (polymer frame)", 186, 32,
        {"slide": ("steel",), "frame": ("nylon",)}, height_mm=138, mass_g=700,
        bore=(0.12, 0.99, 0.14), magazine=Magazine((0.28, 0.32), (0.13, 0.88), 17)),
    "outline_m1911": OutlineSpec(
        "m1911", "Colt M1911: 216 x 140 x 33 mm, 1105 g", 216, 33,
        {"slide": ("steel",), "frame": ("steel",), "grip": ("wood", "rubber", "nylon")},
        height_mm=140, mass_g=1105, bore=(0.18, 0.99, 0.09),
        magazine=Magazine((0.30, 0.30), (0.17, 0.85), 7, 23.0, 6.0, 12.0)),
    "outline_luger": OutlineSpec(
        "luger", "Luger P08 (4 in): 222 mm long, 871 g", 222, 30, {"frame": ("steel",)},
        mass_g=871, bore=(0.10, 0.99, 0.16),
        magazine=Magazine((0.30, 0.36), (0.15, 0.80), 8)),
    "outline_walther_ppk": OutlineSpec(
        "walther_ppk", "Walther PPK: 155 x 109 x 25 mm, 590 g", 155, 25,
        {"frame": ("steel",), "grip": ("rubber", "nylon")}, height_mm=109, mass_g=590,
        bore=(0.12, 0.99, 0.16),
        magazine=Magazine((0.30, 0.34), (0.18, 0.85), 7, 17.0, 4.75, 8.0)),
    "outline_desert_eagle": OutlineSpec(
        "desert_eagle", "IMI Desert Eagle Mark XIX (6 in): 270 x 149 x 32 mm, 1998 g", 270, 32,
        {"frame": ("steel",)}, height_mm=149, mass_g=1998, bore=(0.08, 0.99, 0.2),
        bore_radius_mm=6.35, magazine=Magazine((0.24, 0.40), (0.13, 0.88), 7, 33.0, 7.0, 12.0)),
    "outline_revolver": OutlineSpec(
        "revolver", "S&W Model 10 class revolver (4 in): 240 mm long, 37 mm cylinder, 1020 g",
        240, 37, {"frame": ("steel",)}, mass_g=1020, bore=(0.57, 0.99, 0.12),
        cylinder=(0.31, 0.56, 0.2)),
    "outline_uzi": OutlineSpec(
        "uzi", "IMI Uzi, stock folded: 470 x 250 x 60 mm, 3500 g", 470, 60,
        {"frame": ("steel",)}, height_mm=250, mass_g=3500, bore=(0.02, 0.99, 0.12),
        magazine=Magazine((0.40, 0.40), (0.40, 0.98), 25)),
    "outline_mac10": OutlineSpec(
        "mac10", "Ingram MAC-10, stock retracted: 295 mm long, 50 mm wide, 2840 g", 295, 50,
        {"frame": ("steel",)}, mass_g=2840, bore=(0.10, 0.99, 0.18),
        magazine=Magazine((0.37, 0.42), (0.37, 0.98), 30)),
    "outline_ak47": OutlineSpec(
        "ak47", "AK-47: 880 mm long, 3470 g, wooden furniture", 880, 50,
        {"frame": ("steel",), "stock": ("wood",)}, mass_g=3470,
        bands=(("stock", "u<", 0.3),), bore=(0.35, 0.99, 0.2), bore_radius_mm=3.9,
        magazine=Magazine((0.45, 0.35), (0.55, 0.95), 30, 39.0, 5.6, 17.0)),
    "outline_sawed_off": OutlineSpec(
        "sawed_off", "sawed-off double-barrel shotgun: 450 mm long, 2200 g", 450, 45,
        {"frame": ("steel",), "stock": ("wood",)}, mass_g=2200, bands=(("stock", "u<", 0.3),)),
}

# Gold: solid, in its alloy. Counterfeit-prone goods: their real build, labelled counterfeit.
GOLD_SPECS: dict[str, OutlineSpec] = {
    "outline_gold_ring": OutlineSpec("ring", "gold ring, 21 mm across, 2.5 mm band", 21, 2.5,
                                     {"body": ("gold_18k", "gold_22k", "gold_14k")}),
    "outline_gold_ingot": OutlineSpec("ingot", "1 kg cast gold bar, 116 mm long", 116, 13,
                                      {"body": ("gold",)}),
}
COUNTERFEIT_SPECS: dict[str, OutlineSpec] = {
    "outline_watch": OutlineSpec(
        "watch", "steel bracelet watch, 42 mm case, 75 mm across", 75, 4,
        {"body": ("steel",)}, fill=0.7, inserts=(Insert("brass", (0.38, 0.3, 0.62, 0.7), 4.0),)),
    "outline_sneaker": OutlineSpec(
        "sneaker", "running shoe, 290 mm long", 290, 100,
        {"body": ("polyester",), "sole": ("eva_foam",)}, fill=0.25,
        bands=(("sole", "v>", 0.72),)),
    "outline_smartphone": OutlineSpec(
        "smartphone", "smartphone, 71 x 147 x 8 mm", 71, 8, {"body": ("aluminium",)},
        height_mm=147, fill=0.25,
        inserts=(Insert("lithium_cell", (0.12, 0.3, 0.88, 0.75), 4.5),
                 Insert("pcb", (0.12, 0.08, 0.88, 0.28), 1.6),
                 Insert("glass", (0.05, 0.03, 0.95, 0.97), 1.2))),
}
BENIGN_SPECS: dict[str, OutlineSpec] = {
    "outline_scissors": OutlineSpec("scissors", "steel scissors, 200 mm", 200, 3,
                                    {"body": ("steel",)}),
    "outline_spanner": OutlineSpec("spanner", "open-end spanner, 180 mm, 5 mm steel", 180, 5,
                                   {"body": ("steel", "carbon_steel")}),
    "outline_key": OutlineSpec("key", "door key, 55 mm, 2 mm", 55, 2,
                               {"body": ("brass", "steel")}),
    "outline_house_keys": OutlineSpec("house_keys", "three keys on a ring, 95 mm", 55, 2,
                                      {"body": ("brass", "steel")}),
    "outline_padlock": OutlineSpec("padlock", "brass padlock, 50 mm wide", 50, 25,
                                   {"body": ("brass",)}, fill=0.45),
    "outline_cutlery": OutlineSpec("cutlery", "fork, knife and spoon, 200 mm", 200, 2.5,
                                   {"body": ("steel",)}),
    "outline_toy_gun": OutlineSpec("water_gun", "toy water gun, 250 mm, ABS shell", 250, 40,
                                   {"body": ("abs",)}, fill=0.12),
}


# --- assets -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outline:
    """An icon's converted polygons: regions, seams and hole points, in grid units."""

    name: str
    source: str
    author: str
    size: tuple[int, int]                       # width, height in grid units
    regions: dict[str, list[np.ndarray]]        # region -> rings (N x 2 int arrays)
    seams: list[np.ndarray]
    holes: list[tuple[int, int]]


@cache
def outlines() -> dict[str, Outline]:
    """Every converted icon, loaded once from ``outlines.json``."""
    document = json.loads(_ASSETS.read_text())

    def ring_arrays(flat: list[list[int]]) -> list[np.ndarray]:
        return [np.asarray(ring, np.float64).reshape(-1, 2) for ring in flat]

    return {name: Outline(name, entry["source"], entry["author"], tuple(entry["size"]),
                          {region: ring_arrays(rings)
                           for region, rings in entry["regions"].items()},
                          ring_arrays(entry["seams"]), [tuple(hole) for hole in entry["holes"]])
            for name, entry in document["icons"].items()}


# --- drawing ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Jitter:
    """A recipe's random choices: mirror, stretch, materials, magazine load."""

    mirror: bool = False
    stretch: tuple[float, float] = (1.0, 1.0)
    materials: Mapping[str, str] = field(default_factory=dict)  # region -> chosen material
    loaded: float = 1.0                                          # share of the magazine filled

    @staticmethod
    def draw(rng: np.random.Generator, spec: OutlineSpec) -> Jitter:
        materials = {region: pick(rng, choices) for region, choices in spec.materials.items()}
        return Jitter(mirror=bool(rng.random() < 0.5),
                      stretch=(uniform(rng, 0.96, 1.04), uniform(rng, 0.96, 1.04)),
                      materials=materials, loaded=float(rng.choice([0.0, 0.5, 1.0, 1.0])))


@dataclass
class Drawing:
    """A drawn outline object and where its openings lie (pixel row, column)."""

    item: Item
    hole_pixels: list[tuple[int, int]]


class _Frame:
    """Maps the outline's fractions and grid units to item millimetres and pixels."""

    def __init__(self, outline: Outline, spec: OutlineSpec, jitter: Jitter,
                 pitch_mm: float) -> None:
        width_units, height_units = outline.size
        length = spec.length_mm * jitter.stretch[0]
        height = (spec.height_mm or spec.length_mm * height_units / width_units) * jitter.stretch[1]
        self.scale = np.array([length / width_units, height / height_units])
        self.size_mm = (length, height)
        self.pitch_mm = pitch_mm
        self.margin_mm = self.canvas().margin_mm   # the canvas may widen a margin (coarse pitch)

    def canvas(self) -> _OutlineCanvas:
        """An empty canvas for the object: the outline, and apart its inner parts."""
        return _OutlineCanvas(*self.size_mm, self.pitch_mm, _MARGIN_MM)

    def mm(self, u: float, v: float) -> tuple[float, float]:
        """A point given as fractions of the outline, in item mm."""
        return u * self.size_mm[0], v * self.size_mm[1]

    def pixels(self, rings: list[np.ndarray], supersample: int) -> list[np.ndarray]:
        """Rings in grid units as pixel polygons on a canvas supersampled ``supersample``x."""
        factor = self.scale * supersample / self.pitch_mm
        offset = self.margin_mm * supersample / self.pitch_mm
        return [np.round(ring * factor + offset).astype(np.int32) for ring in rings]


def _coverage(frame: _Frame, rings: list[np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    """Anti-aliased coverage (0-1) of even-odd filled rings."""
    big = np.zeros((shape[0] * _SUPERSAMPLE, shape[1] * _SUPERSAMPLE), np.uint8)
    if rings:
        cv2.fillPoly(big, frame.pixels(rings, _SUPERSAMPLE), 255)
    small = cv2.resize(big, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)
    return small.astype(np.float32) / 255.0


def rounded_profile(silhouette: np.ndarray, pitch_mm: float, width_mm: float) -> np.ndarray:
    """Path length (mm) across the beam of a solid with this silhouette and rounded edges.

    ``d`` is a pixel's distance to the rim and ``rho`` the half-height of the part it lies in
    (the largest ``d`` nearby), capped at half the object's width: the chord of a circle of
    radius ``rho`` at depth ``d`` is ``2 sqrt(2 rho d - d^2)``, so a thin part is a rod, a broad
    part a slab of the full width whose rim is rounded off.
    """
    inside = (silhouette > 0.5).astype(np.uint8)
    padded = cv2.copyMakeBorder(inside, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    distance = cv2.distanceTransform(padded, cv2.DIST_L2, 5)[1:-1, 1:-1] * np.float32(pitch_mm)
    radius = width_mm / 2
    reach = max(3, 2 * int(np.ceil(radius / pitch_mm)) + 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (reach, reach))
    rho = np.minimum(cv2.dilate(distance, kernel), np.float32(radius))
    depth = np.minimum(distance + np.float32(pitch_mm / 2), rho)   # pixel centres, not edges
    chord = 2 * np.sqrt(np.clip(2 * rho * depth - depth * depth, 0, None))
    return (np.minimum(chord, np.float32(width_mm)) * silhouette).astype(np.float32)


class _OutlineCanvas(ItemCanvas):
    """An item canvas that also takes whole path-length maps (the filled outline)."""

    def add_map(self, material_name: str, path_cm: np.ndarray) -> None:
        if path_cm.min() < 0:
            self._subtracted = True
        self._add(material_name, path_cm.astype(np.float32))


def _region_maps(outline: Outline, spec: OutlineSpec, frame: _Frame,
                 shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """Coverage per region, with the spec's bands (a stock, a sole) cut out of the others."""
    maps = {region: _coverage(frame, rings, shape) for region, rings in outline.regions.items()}
    rows, cols = np.indices(shape, dtype=np.float32)
    pitch = frame.pitch_mm
    u = ((cols + 0.5) * pitch - frame.margin_mm) / frame.size_mm[0]
    v = ((rows + 0.5) * pitch - frame.margin_mm) / frame.size_mm[1]
    for region, rule, value in spec.bands:
        axis = u if rule[0] == "u" else v
        inside = (axis < value) if rule[1] == "<" else (axis > value)
        band = np.zeros(shape, np.float32)
        for name in list(maps):
            band += maps[name] * inside
            maps[name] = maps[name] * ~inside
        maps[region] = maps.get(region, np.zeros(shape, np.float32)) + band
    return maps


def draw_outline(kind: str, pitch_mm: float, jitter: Jitter | None = None) -> Drawing:
    """Draw outline object ``kind`` (any of :data:`ALL_SPECS`) with the given random choices."""
    if kind not in ALL_SPECS:
        raise unknown("outline kind", kind, tuple(ALL_SPECS))
    if pitch_mm <= 0:
        raise ValueError(f"pitch_mm must be positive, got {pitch_mm}")
    spec = ALL_SPECS[kind]
    jitter = jitter or Jitter(materials={r: c[0] for r, c in spec.materials.items()})
    outline = outlines()[spec.icon]
    frame = _Frame(outline, spec, jitter, pitch_mm)
    canvas = frame.canvas()
    shape = (canvas.height, canvas.width)
    regions = _region_maps(outline, spec, frame, shape)
    silhouette = np.clip(sum(regions.values(), np.zeros(shape, np.float32)), 0, 1)
    seams = 1 - (1 - _SEAM_PATH) * _coverage(frame, outline.seams, shape)
    profile = rounded_profile(silhouette, pitch_mm, spec.width_mm) * seams
    inner = _inner_parts(spec, frame, jitter, pitch_mm)
    fill = _fill(spec, jitter, regions, profile, inner, pitch_mm)
    canvas.start_object()
    for region, coverage in regions.items():
        path_cm = profile * coverage * np.float32(fill / 10)
        canvas.add_map(_material_of(spec, jitter, region), path_cm)
    for name, path in inner.layers.items():   # inner parts lie inside the outline only
        canvas.add_map(name, path * np.minimum(silhouette, 1.0))
    label = _LABELS.get(kind, "")
    obj = canvas.finish_object(label, kind)
    item = canvas.item([obj] if label else [], kind=kind)
    holes = [_hole_pixel(frame, hole) for hole in outline.holes]
    if jitter.mirror:
        item = _mirrored(item)
        holes = [(row, shape[1] - 1 - col) for row, col in holes]
    return Drawing(item, holes)


def _material_of(spec: OutlineSpec, jitter: Jitter, region: str) -> str:
    """The region's material: the jitter's choice, else the spec's first (a region the spec
    does not name takes the first region's)."""
    choices = spec.materials.get(region) or next(iter(spec.materials.values()))
    return jitter.materials.get(region, choices[0])


def _hole_pixel(frame: _Frame, hole: tuple[int, int]) -> tuple[int, int]:
    x_mm, y_mm = np.asarray(hole, np.float64) * frame.scale + frame.margin_mm
    return int(y_mm / frame.pitch_mm), int(x_mm / frame.pitch_mm)


def _mirrored(item: Item) -> Item:
    layers = {name: np.ascontiguousarray(path[:, ::-1]) for name, path in item.layers.items()}
    objects = [replace(obj, path_cm=np.ascontiguousarray(obj.path_cm[:, ::-1]))
               for obj in item.objects]
    return Item(layers=layers, objects=objects, kind=item.kind)


def _fill(spec: OutlineSpec, jitter: Jitter, regions: dict[str, np.ndarray],
          profile: np.ndarray, inner: ItemCanvas, pitch_mm: float) -> float:
    """The solid share of the profile: the spec's, or fitted so the object weighs ``mass_g``
    with its inner parts (a gun's empty mass includes its barrel and magazine)."""
    if spec.mass_g is None:
        return spec.fill
    area_cm2 = (pitch_mm / 10) ** 2
    solid_g = sum(float((profile * coverage).sum()) / 10 * area_cm2
                  * material(_material_of(spec, jitter, region)).density
                  for region, coverage in regions.items())
    inner_g = sum(inner.mass_g(path, material(name).density)
                  for name, path in inner.layers.items() if name not in ("brass", "lead"))
    return float(np.clip((spec.mass_g - inner_g) / max(solid_g, 1e-6), 0.05, 1.0))


def _inner_parts(spec: OutlineSpec, frame: _Frame, jitter: Jitter,
                 pitch_mm: float) -> ItemCanvas:
    """Barrel, magazine and cartridges, revolver chambers and inserts on a canvas of their own
    (clipped to the outline when added)."""
    canvas = frame.canvas()
    if spec.bore is not None:
        u0, u1, v = spec.bore
        breech, muzzle = frame.mm(u0, v), frame.mm(u1, v)
        canvas.cylinder("steel", breech, muzzle, spec.bore_radius_mm + 2.2, spec.bore_radius_mm)
    if spec.magazine is not None:
        _magazine(canvas, frame, spec.magazine, jitter.loaded)
    if spec.cylinder is not None:
        _revolver_chambers(canvas, frame, spec.cylinder, spec.width_mm / 2, jitter.loaded > 0)
    for insert in spec.inserts:
        u0, v0, u1, v1 = insert.box
        (x0, y0), (x1, y1) = frame.mm(u0, v0), frame.mm(u1, v1)
        canvas.rect(insert.material_name, x0, y0, x1 - x0, y1 - y0, insert.thickness_mm)
    return canvas


def _magazine(canvas: ItemCanvas, frame: _Frame, magazine: Magazine, loaded: float) -> None:
    """Sheet-steel walls along the grip and cartridges stacked in a staggered column."""
    top, bottom = np.array(frame.mm(*magazine.top)), np.array(frame.mm(*magazine.bottom))
    axis = bottom - top
    length = float(np.hypot(*axis))
    along = axis / max(length, 1e-6)
    # cartridges lie across the magazine, noses to the muzzle (forward and, in a raked grip,
    # slightly down)
    across = np.array([along[1], -along[0]])
    half = magazine.case_length / 2 + magazine.bullet_length / 2 + 1.5
    corners = [top - across * half, top + across * half, bottom + across * half,
               bottom - across * half]
    canvas.slab("steel", [(float(x), float(y)) for x, y in corners], 1.6)
    step = magazine.case_radius * 1.05      # a double stack seen from the side
    count = min(int(round(magazine.capacity * loaded)), int((length - 6) / step))
    for index in range(count):
        centre = top + along * (4 + index * step) + across * (0.8 if index % 2 else -0.8)
        base = centre - across * half * 0.9
        _cartridge(canvas, base, across, magazine)


def _cartridge(canvas: ItemCanvas, base: np.ndarray, direction: np.ndarray,
               magazine: Magazine) -> None:
    """A brass case (its walls and head) and a lead bullet, lying across the beam."""
    case_end = base + direction * magazine.case_length
    tip = case_end + direction * magazine.bullet_length
    radius = magazine.case_radius

    def point(p: np.ndarray) -> tuple[float, float]:
        return float(p[0]), float(p[1])

    canvas.cylinder("brass", point(base), point(case_end), radius, radius - 0.45)
    canvas.cylinder("brass", point(base), point(base + direction * 1.5), radius)
    canvas.cylinder("lead", point(case_end - direction * 5), point(tip), radius - 0.5)


def _revolver_chambers(canvas: _OutlineCanvas, frame: _Frame,
                       cylinder: tuple[float, float, float], radius: float,
                       loaded: bool) -> None:
    """A revolver cylinder's six chambers, bored through the outline's steel (drawn as negative
    steel on this canvas), each with a cartridge if loaded."""
    u0, u1, v = cylinder
    (x0, y), (x1, _) = frame.mm(u0, v), frame.mm(u1, v)
    chamber = radius * 0.26
    for k in range(6):
        offset = radius * 0.62 * float(np.sin(2 * np.pi * k / 6 + np.pi / 6))
        start, stop = (x0, y + offset), (x1, y + offset)
        bore = frame.canvas()
        bore.cylinder("steel", start, stop, chamber)
        canvas.add_map("steel", -bore.layers["steel"])
        if loaded:
            canvas.cylinder("brass", start, (x1 - 6, y + offset), chamber - 0.1, chamber - 0.55)
            canvas.cylinder("lead", (x1 - 10, y + offset), (x1 - 1, y + offset), chamber - 0.6)


# --- recipes ------------------------------------------------------------------------------------
ALL_SPECS: dict[str, OutlineSpec] = {**FIREARM_SPECS, **GOLD_SPECS, **COUNTERFEIT_SPECS,
                                     **BENIGN_SPECS}
_LABELS: dict[str, str] = {**dict.fromkeys(FIREARM_SPECS, "firearm"),
                           **dict.fromkeys(GOLD_SPECS, "gold"),
                           **dict.fromkeys(COUNTERFEIT_SPECS, "counterfeit")}


def outline_item(kind: str, rng: np.random.Generator, pitch_mm: float) -> Item:
    """One outline object of ``kind`` with random mirror, stretch, materials and load."""
    if kind not in ALL_SPECS:
        raise unknown("outline kind", kind, tuple(ALL_SPECS))
    return draw_outline(kind, pitch_mm, Jitter.draw(rng, ALL_SPECS[kind])).item


def _threat_recipe(kind: str) -> ThreatRecipe:
    def recipe(rng: np.random.Generator, pitch_mm: float) -> list[Item]:
        return [outline_item(kind, rng, pitch_mm)]

    recipe.__doc__ = ALL_SPECS[kind].model
    return recipe


def _benign_recipe(kind: str) -> Callable[[np.random.Generator, float], Item]:
    def recipe(rng: np.random.Generator, pitch_mm: float) -> Item:
        return outline_item(kind, rng, pitch_mm)

    recipe.__doc__ = ALL_SPECS[kind].model
    return recipe


FIREARM_RECIPES: dict[str, ThreatRecipe] = {k: _threat_recipe(k) for k in FIREARM_SPECS}
GOLD_RECIPES: dict[str, ThreatRecipe] = {k: _threat_recipe(k) for k in GOLD_SPECS}
COUNTERFEIT_RECIPES: dict[str, ThreatRecipe] = {k: _threat_recipe(k) for k in COUNTERFEIT_SPECS}
BENIGN_RECIPES: dict[str, Callable[[np.random.Generator, float], Item]] = {
    k: _benign_recipe(k) for k in BENIGN_SPECS}
