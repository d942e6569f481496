"""Parcel scenes: a parcel, its benign contents and its threats, imaged by a simulated scanner.

``synthesise_scan(rng, config)`` is the whole synthesiser for one image: choose a scanner and a
pixel pitch, draw threats and benign contents (:mod:`xscreen.datasets.objects`) at real sizes,
pose them (rotation, mirror, out-of-plane tilt), pack them into a parcel, add up the path lengths,
image them (:mod:`xscreen.datasets.physics`) and render the pseudo-colour view
(:mod:`xscreen.datasets.colour`). Each threat's box is the bounding box of the pixels that its own
material visibly attenuates, so boxes are tight by construction.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from xscreen import CLASSES
from xscreen.datasets import objects
from xscreen.datasets.colour import get_palette, jpeg_roundtrip, render
from xscreen.datasets.materials import material
from xscreen.datasets.objects.clutter import COVERING_KINDS
from xscreen.datasets.objects.parcels import parcel_size_limit, pick_parcel_kind
from xscreen.datasets.physics import FanBeam, ScannerConfig, get_scanner
from xscreen.datasets.shapes import Item, LabelledObject, transform_item

# An object's pixel is "visible" when its own material removes at least this share of the beam
# at a typical effective energy: the boxing rule "tight around what is visible".
VISIBLE_ATTENUATION = 0.02
_TEXTURED_BELOW_DENSITY = 1.5  # g/cm^3: fabrics, paper, plastics, food, powders
_VISIBLE_AT_KEV = 70.0

# Tubes and detectors of several machines. The tubes (kVp, anode, aluminium) must be in
# physics.SPECTRUM_TABLE (three of them are); the rest spans real machines' looks: blur 0.45-1.3
# pixels (sharp to soft), photons 6000-40000 per pixel (noisy to quiet), scatter haze of
# 0.5-2.5% of the signal (what a collimated fan leaves after the vendor's scatter correction;
# at 5% and more the haze corrupts the low/high ratio at the rims of dense metal and paints
# them orange, which real consoles do not), board and line gains of 0.2-0.6%, and now and then
# a streak. Scanners differ, so the model must not learn one.
SCANNERS: tuple[ScannerConfig, ...] = (
    ScannerConfig(),
    ScannerConfig(kvp=140.0, tube_filter_al_mm=2.0, interlayer_filter_mm=0.5,
                  scatter_fraction=0.015, board_gain_sigma=0.003, defect_lines=0.5),
    ScannerConfig(kvp=160.0, tube_filter_al_mm=4.0, interlayer_filter_mm=0.8,
                  photons_per_pixel=30000.0, blur_sigma_px=0.5, scatter_fraction=0.01,
                  line_gain_sigma=0.002),
    ScannerConfig(kvp=150.0, photons_per_pixel=8000.0, blur_sigma_px=0.9,   # an older, noisier one
                  scatter_fraction=0.02, board_gain_sigma=0.006, line_gain_sigma=0.004,
                  defect_lines=1.0),
    # a soft, low-resolution console, as OPIXray's scans look
    ScannerConfig(photons_per_pixel=15000.0, blur_sigma_px=1.3, scan_blur_px=0.8,
                  scatter_fraction=0.015, board_gain_sigma=0.002, defect_lines=0.7),
    # a sharp, quiet one
    ScannerConfig(kvp=140.0, tube_filter_al_mm=2.0, interlayer_filter_mm=0.5,
                  photons_per_pixel=40000.0, blur_sigma_px=0.45, scatter_fraction=0.005,
                  defect_lines=0.3),
    # a worn one: noisy, soft, hazy and streaky
    ScannerConfig(kvp=160.0, tube_filter_al_mm=4.0, interlayer_filter_mm=0.8,
                  photons_per_pixel=6000.0, electronic_noise=0.001, blur_sigma_px=1.1,
                  scatter_fraction=0.025, board_gain_sigma=0.005, line_gain_sigma=0.003,
                  defect_lines=0.8),
)


@dataclass(frozen=True)
class SceneConfig:
    """What a synthetic dataset looks like. Defaults: a mix close to a customs parcel stream."""

    width: int = 1000
    height: int = 700
    threat_share: float = 0.7          # share of parcels holding at least one threat
    max_threats: int = 3
    class_weights: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0)   # CLASSES order
    benign_items: tuple[int, int, int] = (1, 4, 14)         # min, mode, max per parcel
    # A share of bags is packed full (real luggage): this many items, overlapping, instead.
    packed_share: float = 0.45
    packed_items: tuple[int, int] = (15, 40)
    # A share of bags is packed with clothes: a large, uneven organic mass under everything else
    # (objects.clothes_fill), as real luggage shows; without it real clothes alarmed (issue 23).
    clothes_fill_share: float = 0.4
    # A share of parcels gets one to three benign twins of threats on purpose (objects.
    # LOOKALIKE_KINDS: one phone or gadget, foods in rows, strap fittings, tools, toy guns), the
    # things real threat-free bags alarmed on (issue 23). Off by default: the default continued on
    # a 0.5 share scored real bags no lower (57.5% alarming at the same thresholds, against
    # 57.2%) and its synthetic-chosen thresholds fell (docs/detector.md, "Why real bags alarm").
    lookalike_share: float = 0.0
    # Of the parcels without clothes, this share is packed with a soft mass of a newly drawn
    # texture and material instead (objects.texture_fill: noise, folds, lumps, jumbles, weaves):
    # the clothes fill crops one fixed tile, and the detector learnt its look as "a benign bag"
    # (a lone watch scored 0.04 on it, 0.37 on white and 0.44 in real bags; issue 23).
    texture_fill_share: float = 0.0
    # A share of parcels gets one or two things a traveller packs (objects.PERSONAL_KINDS: one
    # phone, watch, earbuds case, handbag, pair of sneakers or gadget), benign unless in a lot.
    personal_share: float = 0.0
    # A share of scans shows things laid loose on the belt or a plain tray: no parcel shell, no
    # fill, up to three other things. Lone goods there are benign and lots are counterfeit as
    # anywhere: the detector must not need our bags' look to tell one watch from a lot (on
    # white, a lone watch scored 0.37, in our bags 0.0-0.25, in real bags 0.44; issue 23).
    loose_share: float = 0.0
    # Chance that a threat gets a dense benign thing (laptop, pot, book ...) laid partly over it.
    cover_share: float = 0.35
    pitch_mm: tuple[float, float] = (0.6, 1.5)   # millimetres per pixel at 1000 pixels wide
    # The model is judged on pale colour consoles and on greyscale scans: those get 0.36 and
    # 0.28 of the mix, the saturated palettes the rest (colour.PALETTES says how each was checked).
    palettes: tuple[tuple[str, float], ...] = (("classic", 0.2), ("vendor_b", 0.08),
                                               ("vendor_c", 0.08), ("pale_a", 0.22),
                                               ("pale_b", 0.14), ("grey", 0.06),
                                               ("grey_contrast", 0.07), ("grey_gdx", 0.15))
    fan_beam: bool = True              # perspective of the fan beam (physics.FanBeam)
    jpeg_share: float = 0.35           # share of renderings stored as a console's JPEG would be
    jpeg_quality: tuple[int, int] = (60, 95)
    # (label, kind) pairs: when given, every threat is one of these instead of the class mix,
    # e.g. (("gold", "hair_dryer_gold_sleeve"),) for scans of one new concealment.
    threats: tuple[tuple[str, str], ...] = ()
    # benign kinds every parcel holds one of, besides its random contents: e.g. ("appliance",),
    # the clean twins of a concealment, for the cleared scans that teach what is not a threat
    benign_kinds: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.width < 64 or self.height < 64:
            raise ValueError(f"image size must be at least 64x64 pixels, got "
                             f"{self.width}x{self.height}")
        if len(self.class_weights) != len(CLASSES):
            raise ValueError(f"class_weights needs {len(CLASSES)} values ({', '.join(CLASSES)})")
        for name, _weight in self.palettes:
            get_palette(name)   # an unknown name is refused with the known ones
        if not 0.0 <= self.jpeg_share <= 1.0 or not 1 <= self.jpeg_quality[0] <= \
                self.jpeg_quality[1] <= 100:
            raise ValueError(f"jpeg_share must be within 0-1 and jpeg_quality a (low, high) "
                             f"range within 1-100, got {self.jpeg_share} and {self.jpeg_quality}")
        for label, kind in self.threats:
            known = (*objects.THREAT_KINDS.get(label, ()), *objects.NEW_THREAT_KINDS.get(label, ()))
            if label not in CLASSES:
                raise ValueError(f"unknown threat label {label!r}; labels: {', '.join(CLASSES)}")
            if kind not in known:
                raise ValueError(f"unknown threat {label}:{kind}; known {label} kinds: "
                                 f"{', '.join(known)}")
        _check_density(self)
        for kind in self.benign_kinds:
            if kind not in objects.BENIGN_KINDS:
                raise ValueError(f"unknown benign kind {kind!r}; known: "
                                 f"{', '.join(objects.BENIGN_KINDS)}")


def _check_density(config: SceneConfig) -> None:
    """Item counts ordered and shares within 0-1, or a message naming the fix."""
    low, mode, high = config.benign_items
    if not 0 <= low <= mode <= high:
        raise ValueError(f"benign_items must be (min, mode, max) with 0 <= min <= mode <= max, "
                         f"got {config.benign_items}")
    if not 0 <= config.packed_items[0] <= config.packed_items[1]:
        raise ValueError(f"packed_items must be (min, max) with 0 <= min <= max, got "
                         f"{config.packed_items}")
    for name in ("packed_share", "cover_share", "clothes_fill_share", "lookalike_share",
                 "texture_fill_share", "personal_share", "loose_share"):
        if not 0.0 <= getattr(config, name) <= 1.0:
            raise ValueError(f"{name} must be within 0-1, got {getattr(config, name)}")


@dataclass
class Annotation:
    """A labelled object in a scan: class, tight box ``[x, y, w, h]`` and provenance extras."""

    label: str
    box: list[float]
    kind: str
    material: str
    mass_g: float
    concealment: str
    source: str = "parametric"
    pose: tuple[float, float, float] | None = None


@dataclass
class Scan:
    """One synthetic scan: raw dual-energy channels, the rendering, and its boxes."""

    high: np.ndarray                      # uint16, 65535 = air
    low: np.ndarray                       # uint16
    rgb: np.ndarray                       # uint8 HxWx3, the operator's view
    annotations: list[Annotation] = field(default_factory=list)
    palette: str = "classic"
    pitch_mm: float = 1.0
    scanner: ScannerConfig = ScannerConfig()


class PathMaps:
    """Full-frame per-material path lengths, filled by placing items."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.layers: dict[str, np.ndarray] = {}

    def place(self, item: Item, x: int, y: int) -> list[Annotation]:
        """Add an item with its top-left corner at (x, y); return its objects' boxes."""
        frame, local = overlap(x, y, item.shape, self.width, self.height)
        if frame is None or local is None:
            return []
        for name, path in item.layers.items():
            layer = self.layers.setdefault(name, np.zeros((self.height, self.width), np.float32))
            layer[frame] += path[local]
        boxes = [object_box(obj, x, y, self.width, self.height) for obj in item.objects]
        return [box for box in boxes if box is not None]

    def place_shell(self, shell: Item, x: int, y: int) -> None:
        """Place the parcel's shell (a subclass may see its lid and base apart)."""
        self.place(shell, x, y)


class FanBeamMaps(PathMaps):
    """Path maps seen through a fan beam (:class:`~xscreen.datasets.physics.FanBeam`).

    Each placed item lies at its own random height in the parcel and is magnified across the
    belt (y) as that height says; the shell's base lies on the belt and its lid at the parcel's
    depth, each with half the shell's path lengths, so the walls show a double edge. Boxes come
    from the magnified objects: still tight.
    """

    def __init__(self, width: int, height: int, fan: FanBeam, rng: np.random.Generator) -> None:
        super().__init__(width, height)
        self.fan = fan
        # Heights from a generator of their own: placing an item draws nothing from the scene's.
        self._heights = np.random.default_rng(int(rng.integers(2**63)))

    def place(self, item: Item, x: int, y: int) -> list[Annotation]:
        height_mm = float(self._heights.uniform(0.0, 0.85)) * self.fan.parcel_depth_mm
        return self._place_at(item, x, y, self.fan.magnification(height_mm))

    def place_shell(self, shell: Item, x: int, y: int) -> None:
        half = Item({name: path * np.float32(0.5) for name, path in shell.layers.items()},
                    [], shell.kind)
        self._place_at(half, x, y, 1.0)
        self._place_at(half, x, y, self.fan.magnification(self.fan.parcel_depth_mm))

    def _place_at(self, item: Item, x: int, y: int, magnification: float) -> list[Annotation]:
        rows = item.shape[0]
        magnified = magnify_rows(item, magnification)
        centre = self.fan.project_row(y + rows / 2.0, magnification)
        return super().place(magnified, x, int(round(centre - magnified.shape[0] / 2.0)))


def magnify_rows(item: Item, magnification: float) -> Item:
    """The item stretched across the belt (y) by ``magnification``; path lengths unchanged
    (the fan magnifies the footprint, not the thickness a ray crosses)."""
    height, width = item.shape
    rows = max(1, int(round(height * magnification)))
    if rows == height:
        return item

    def stretch(path: np.ndarray) -> np.ndarray:
        # Linear, not area, even when shrinking: 4x faster, and at 0.63x and more it aliases
        # nothing that the detector's blur does not smooth away.
        return cv2.resize(path, (width, rows), interpolation=cv2.INTER_LINEAR)

    return Item({name: stretch(path) for name, path in item.layers.items()},
                [replace(obj, path_cm=stretch(obj.path_cm)) for obj in item.objects], item.kind)


def overlap(x: int, y: int, shape: tuple[int, int], width: int, height: int
             ) -> tuple[tuple[slice, slice] | None, tuple[slice, slice] | None]:
    """Frame and local slices where an array of ``shape`` at (x, y) overlaps the frame."""
    h, w = shape
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, width), min(y + h, height)
    if x1 <= x0 or y1 <= y0:
        return None, None
    return (slice(y0, y1), slice(x0, x1)), (slice(y0 - y, y1 - y), slice(x0 - x, x1 - x))


def visible_mask(obj: LabelledObject) -> np.ndarray:
    """Pixels where the object's own material visibly attenuates the beam."""
    mu = float(material(obj.material).mu(np.array([_VISIBLE_AT_KEV]))[0])
    return obj.path_cm * mu > -np.log1p(-VISIBLE_ATTENUATION)


def object_box(obj: LabelledObject, x: int, y: int, width: int, height: int
               ) -> Annotation | None:
    """The tight box of an object placed at (x, y), clipped to the frame; None if unseen."""
    rows, cols = np.nonzero(visible_mask(obj))
    if rows.size == 0:
        return None
    x0, x1 = max(cols.min() + x, 0), min(cols.max() + x + 1, width)
    y0, y1 = max(rows.min() + y, 0), min(rows.max() + y + 1, height)
    if x1 <= x0 or y1 <= y0:
        return None
    return Annotation(obj.label, [float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
                      obj.kind, obj.material, round(obj.mass_g, 1), obj.concealment,
                      obj.source, obj.pose)


def random_pose(item: Item, rng: np.random.Generator, tilt: bool = True) -> Item:
    """Any in-plane angle, a mirror half the time, and an out-of-plane tilt now and then."""
    squash = float(rng.uniform(0.55, 1.0)) if tilt and rng.random() < 0.35 else 1.0
    return transform_item(item, float(rng.uniform(0, 360)), bool(rng.random() < 0.5), squash)


def _choice(rng: np.random.Generator, options: tuple[tuple[str, float], ...]) -> str:
    names = [name for name, _ in options]
    weights = np.array([weight for _, weight in options], np.float64)
    return names[int(rng.choice(len(names), p=weights / weights.sum()))]


def _spot(rng: np.random.Generator, inner: tuple[int, int, int, int], shape: tuple[int, int]
          ) -> tuple[int, int] | None:
    """A top-left corner putting an item of ``shape`` inside ``inner`` (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = inner
    h, w = shape
    if w > x1 - x0 or h > y1 - y0:
        return None
    return int(rng.integers(x0, x1 - w + 1)), int(rng.integers(y0, y1 - h + 1))


def _pose_to_fit(item: Item, rng: np.random.Generator, inner: tuple[int, int, int, int]
                 ) -> tuple[Item, tuple[int, int]] | None:
    """Pose an item randomly; if it does not fit, try poses aligned with the parcel."""
    for attempt in range(4):
        posed = random_pose(item, rng, tilt=attempt < 2) if attempt < 3 else \
            transform_item(item, 0.0 if inner[2] - inner[0] >= inner[3] - inner[1] else 90.0)
        spot = _spot(rng, inner, posed.shape)
        if spot is not None:
            return posed, spot
    return None


def _pose_benign(item: Item, rng: np.random.Generator, inner: tuple[int, int, int, int]
                 ) -> tuple[Item, tuple[int, int]] | None:
    """Pose a benign item: packed things often lie square to the bag's walls (a laptop, a book,
    folded clothes), so four in ten are turned by quarter turns, exactly and cheaply; the rest
    at any angle."""
    if rng.random() < 0.4:
        turned = quarter_turn(item, int(rng.integers(4)), bool(rng.random() < 0.5))
        spot = _spot(rng, inner, turned.shape)
        if spot is not None:
            return turned, spot
    return _pose_to_fit(item, rng, inner)


def quarter_turn(item: Item, turns: int, flip: bool) -> Item:
    """The item turned by ``turns`` quarter turns and mirrored if ``flip``: pixels moved, not
    resampled, so path lengths and masses are exact."""
    def move(path: np.ndarray) -> np.ndarray:
        path = np.rot90(path, turns)
        return np.ascontiguousarray(path[:, ::-1] if flip else path)

    objects_ = [LabelledObject(o.label, o.kind, o.material, move(o.path_cm), o.mass_g,
                               o.concealment) for o in item.objects]
    return Item({name: move(path) for name, path in item.layers.items()}, objects_, item.kind)


def _threat_picks(rng: np.random.Generator, config: SceneConfig) -> list[tuple[str, str | None]]:
    """The threats of a parcel as (label, kind): a kind of None is a random one of the mix."""
    if rng.random() >= config.threat_share:
        return []
    count = int(rng.integers(1, config.max_threats + 1))
    if config.threats:
        return [config.threats[int(i)] for i in rng.integers(len(config.threats), size=count)]
    weights = np.asarray(config.class_weights, np.float64)
    picks = rng.choice(len(CLASSES), size=count, p=weights / weights.sum())
    return [(CLASSES[int(i)], None) for i in picks]


def _benign_count(rng: np.random.Generator, config: SceneConfig, area_mm2: float) -> int:
    """Most e-commerce parcels hold a few items; big ones hold more (scaled to a 40x30 cm box).
    A share of bags is packed full: real luggage holds 15-40 overlapping things."""
    if rng.random() < config.packed_share:
        low, high = config.packed_items
        count = rng.uniform(low, high + 1) * min(1.0, np.sqrt(area_mm2 / 200_000.0))
        return int(np.clip(count, min(low, 6), high))
    low, mode, high = config.benign_items
    count = rng.triangular(low, mode, high + 1) * np.sqrt(area_mm2 / 120_000.0)
    return int(np.clip(count, low, high))


def _parcel_geometry(rng: np.random.Generator, config: SceneConfig,
                     largest_mm: tuple[float, float] | None = None
                     ) -> tuple[float, tuple[int, int, int, int]]:
    """Pixel pitch and the parcel's rectangle (x0, y0, x1, y1) in the frame, no bigger than
    ``largest_mm`` (long side, short side) if given: a suitcase is not a metre and a half long."""
    # The pitch range is for a 1000-pixel-wide frame: --size changes resolution, not field of view.
    pitch = float(rng.uniform(*config.pitch_mm)) * 1000.0 / config.width
    w = int(config.width * rng.uniform(0.55, 0.96))
    h = int(config.height * rng.uniform(0.5, 0.94))
    if largest_mm is not None:
        long_px, short_px = (int(size / pitch) for size in largest_mm)
        w, h = (min(w, long_px), min(h, short_px)) if w >= h else (min(w, short_px),
                                                                   min(h, long_px))
    x0 = int(rng.integers(0, config.width - w + 1))
    y0 = int(rng.integers(0, config.height - h + 1))
    return pitch, (x0, y0, x0 + w, y0 + h)


def _bag_fill(rng: np.random.Generator, config: SceneConfig, pitch: float,
              inner_mm: tuple[float, float]) -> Item | None:
    """What a bag is packed with under everything else: clothes in ``clothes_fill_share`` of
    bags, else a texture fill in ``texture_fill_share`` of the rest, else nothing."""
    if rng.random() < config.clothes_fill_share:
        return objects.clothes_fill(rng, pitch, *inner_mm)
    if config.texture_fill_share > 0 and rng.random() < config.texture_fill_share:
        return objects.texture_fill(rng, pitch, *inner_mm)
    return None


def synthesise_scan(rng: np.random.Generator, config: SceneConfig = SceneConfig()) -> Scan:
    """Make one synthetic parcel scan (see the module docstring)."""
    parcel_kind = pick_parcel_kind(rng)
    pitch, (px0, py0, px1, py1) = _parcel_geometry(rng, config, parcel_size_limit(parcel_kind))
    maps = FanBeamMaps(config.width, config.height, FanBeam.draw(rng, config.height), rng) \
        if config.fan_beam else PathMaps(config.width, config.height)
    shell = objects.parcel(rng, pitch, (px1 - px0) * pitch, (py1 - py0) * pitch, parcel_kind)
    # (no draw at a zero share: a configuration without loose scans or texture fills makes the
    # same bytes as before they existed)
    loose = config.loose_share > 0 and rng.random() < config.loose_share
    if not loose:
        maps.place_shell(shell, px0, py0)
    wall = max(2, int(round(6.0 / pitch)))
    inner = (px0 + wall, py0 + wall, px1 - wall, py1 - wall)
    fill = None if loose else _bag_fill(rng, config, pitch, ((inner[2] - inner[0]) * pitch,
                                                              (inner[3] - inner[1]) * pitch))
    if fill is not None:
        maps.place(fill, inner[0], inner[1])
    annotations: list[Annotation] = []
    for label, kind in _threat_picks(rng, config):
        boxes = _place_threat(maps, rng, pitch, label, inner, kind)
        annotations += boxes
        if boxes and rng.random() < config.cover_share:
            _cover_threat(maps, rng, pitch, inner, boxes[0].box)
    kinds: list[str | None] = [config.benign_kinds[int(rng.integers(len(config.benign_kinds)))]
                               ] if config.benign_kinds else []
    count = _benign_count(rng, config, (px1 - px0) * (py1 - py0) * pitch**2)
    for _ in range(min(count, int(rng.integers(0, 4))) if loose else count):
        kinds.append(None)
    if rng.random() < config.lookalike_share:
        kinds += [objects.LOOKALIKE_KINDS[int(i)]
                  for i in rng.integers(len(objects.LOOKALIKE_KINDS), size=rng.integers(1, 4))]
    if config.personal_share > 0 and rng.random() < config.personal_share:
        kinds += [objects.PERSONAL_KINDS[int(i)]
                  for i in rng.integers(len(objects.PERSONAL_KINDS), size=rng.integers(1, 3))]
    for kind in kinds:
        posed = _pose_benign(objects.benign_item(rng, pitch, kind), rng, inner)
        if posed is not None:
            maps.place(posed[0], *posed[1])
    if not maps.layers:   # a loose scan of nothing at all: air everywhere
        maps.layers["air"] = np.zeros((config.height, config.width), np.float32)
    _texture_soft_matter(maps.layers, rng)
    scanner_config = SCANNERS[int(rng.integers(len(SCANNERS)))]
    high, low = get_scanner(scanner_config).acquire(maps.layers, rng)
    palette = _choice(rng, config.palettes)
    rgb = render(high, low, palette, scanner_config)
    if rng.random() < config.jpeg_share:
        rgb = jpeg_roundtrip(rgb, int(rng.integers(config.jpeg_quality[0],
                                                   config.jpeg_quality[1] + 1)))
    return Scan(high, low, rgb, annotations, palette, pitch, scanner_config)


def _texture_soft_matter(layers: dict[str, np.ndarray], rng: np.random.Generator) -> None:
    """Give light materials (fabric, paper, food, powders) the uneven density of real ones.

    Folds, air gaps and crumpling make a cotton shirt or a bag of flour anything but a uniform
    slab: each light material's path lengths are multiplied by a smooth random field (mean 1).
    Labelled objects keep their own maps, so boxes are unaffected.
    """
    for name, layer in layers.items():
        if material(name).density >= _TEXTURED_BELOW_DENSITY or not layer.any():
            continue
        height, width = layer.shape
        coarse = rng.normal(1.0, 0.22, size=(max(2, height // 24), max(2, width // 24)))
        field = cv2.resize(coarse.astype(np.float32), (width, height),
                           interpolation=cv2.INTER_CUBIC)
        layer *= np.clip(field, 0.6, 1.4)


def _cover_threat(maps: PathMaps, rng: np.random.Generator, pitch: float,
                  inner: tuple[int, int, int, int], box: list[float]) -> None:
    """Lay a dense benign thing (a laptop, a pot, a book ...) partly over a threat's box: its
    centre falls inside the box. The threat's own box is unchanged: it is the threat's own
    visible pixels, whatever lies over it."""
    kind = COVERING_KINDS[int(rng.integers(len(COVERING_KINDS)))]
    posed = _pose_to_fit(objects.benign_item(rng, pitch, kind), rng, inner)
    if posed is None:
        return
    item = posed[0]
    h, w = item.shape
    x, y, bw, bh = box
    cx, cy = rng.uniform(x, x + bw), rng.uniform(y, y + bh)
    left = int(np.clip(cx - w / 2, inner[0], max(inner[0], inner[2] - w)))
    top = int(np.clip(cy - h / 2, inner[1], max(inner[1], inner[3] - h)))
    maps.place(item, left, top)


def _place_threat(maps: PathMaps, rng: np.random.Generator, pitch: float, label: str,
                  inner: tuple[int, int, int, int], kind: str | None = None) -> list[Annotation]:
    """Draw one threat (a lot of items for counterfeits) and place it; return its boxes.

    A threat too big for the parcel (a rifle in a shoebox) is redrawn, up to three times.
    """
    for _ in range(3):
        posed = [_pose_to_fit(item, rng, inner)
                 for item in objects.threat_items(rng, pitch, label, kind)]
        fitting = [p for p in posed if p is not None]
        if fitting:
            return [box for item, spot in fitting for box in maps.place(item, *spot)]
    return []
