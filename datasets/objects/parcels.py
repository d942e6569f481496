"""Parcel shells: what every item in a scan is packed in, filling the parcel's whole footprint.

A shell is seen from above: its two faces lie across the whole area and the side walls are seen
edge-on, so a cardboard box shows a dark border (the walls' height along the beam) around a light
face. Real dimensions: single-wall board 3-4 mm, double-wall 6-7 mm; tape 50 µm; mailer film
60-100 µm.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from xscreen.datasets.objects.drawing import (
    ItemCanvas,
    ellipse_points,
    pick,
    registrar,
    rounded_rect,
    uniform,
    unknown,
)
from xscreen.datasets.objects.hardware import (
    ZIP_METALS,
    buckle,
    combination_lock,
    hinge,
    rivets,
    small_metal,
    trolley_tubes,
    webbing_strap,
    wheel,
    zip_chain,
    zip_pull,
)
from xscreen.datasets.shapes import Item

ParcelRecipe = Callable[[np.random.Generator, ItemCanvas, float, float], None]
PARCEL_RECIPES: dict[str, ParcelRecipe] = {}
_parcel = registrar(PARCEL_RECIPES)

_TAPE_MM = 0.05


def parcel(rng: np.random.Generator, pitch_mm: float, width_mm: float, height_mm: float,
           kind: str | None = None) -> Item:
    """The shell of a parcel filling exactly ``width_mm x height_mm``; ``kind`` one of
    :data:`PARCEL_KINDS` (random if None). The item holds no labelled objects."""
    if width_mm <= 0 or height_mm <= 0:
        raise ValueError(f"a parcel needs a positive size, got {width_mm} x {height_mm} mm")
    kind = kind if kind is not None else pick_parcel_kind(rng)
    if kind not in PARCEL_RECIPES:
        raise unknown("parcel kind", kind, PARCEL_KINDS)
    canvas = ItemCanvas(width_mm, height_mm, pitch_mm, margin_mm=0.0)
    PARCEL_RECIPES[kind](rng, canvas, width_mm, height_mm)
    return canvas.item(kind=kind)


@_parcel("cardboard_box")
def _cardboard_box(rng: np.random.Generator, canvas: ItemCanvas, w: float, h: float) -> None:
    board = uniform(rng, 3.0, 4.5) if rng.random() < 0.7 else uniform(rng, 6.0, 7.5)
    deepest = max(30.0, min(400.0, 0.8 * max(w, h)))  # the box's height along the beam
    depth = uniform(rng, min(60.0, deepest / 2), deepest)
    canvas.rect("cardboard", 0, 0, w, h, 2 * board)  # lid and base
    _box_walls(canvas, w, h, board, depth - 2 * board)
    _inner_flaps(canvas, w, h, board)
    _tape_strips(rng, canvas, w, h)
    if rng.random() < 0.3:
        _staples(rng, canvas, w, h)
    fill = rng.random()
    if fill < 0.25:
        _paper_void_fill(rng, canvas, w, h, depth)
    elif fill < 0.4:
        _air_pillows(rng, canvas, w, h)
    _shipping_label(rng, canvas, w, h)


def _paper_void_fill(rng: np.random.Generator, canvas: ItemCanvas, w: float, h: float,
                     depth: float) -> None:
    """Crumpled kraft paper stuffed around the contents (bulk density ~0.03 g/cm^3)."""
    for _ in range(int(rng.integers(2, 7))):
        bw, bh = uniform(rng, 0.2, 0.5) * w, uniform(rng, 0.2, 0.5) * h
        cx, cy = uniform(rng, bw / 2, w - bw / 2), uniform(rng, bh / 2, h - bh / 2)
        volume_cm3 = bw * bh * depth * 0.6 / 1000 * 0.03 / 0.8   # as solid paper
        canvas.pillow("paper", cx, cy, bw, bh, volume_cm3, angle_deg=uniform(rng, 0, 180),
                      squareness=2.5)


def _air_pillows(rng: np.random.Generator, canvas: ItemCanvas, w: float, h: float) -> None:
    """Inflated PE air pillows (about 200 x 100 mm, two 50 µm films, sealed edges)."""
    for _ in range(int(rng.integers(2, 8))):
        pw, ph = min(200.0, 0.5 * w), min(100.0, 0.5 * h)
        x, y = uniform(rng, 0, w - pw), uniform(rng, 0, h - ph)
        canvas.rect("polyethylene", x, y, pw, ph, 0.1)
        canvas.tube_outline("polyethylene", rounded_rect(x + 2, y + 2, pw - 4, ph - 4, 10),
                            0.6, closed=True)


def _box_walls(canvas: ItemCanvas, w: float, h: float, board: float, height: float) -> None:
    """The four side walls, seen edge-on: a border as wide as the board, as deep as the box."""
    canvas.rect("cardboard", 0, 0, w, board, height)
    canvas.rect("cardboard", 0, h - board, w, board, height)
    canvas.rect("cardboard", 0, board, board, h - 2 * board, height)
    canvas.rect("cardboard", w - board, board, board, h - 2 * board, height)


def _inner_flaps(canvas: ItemCanvas, w: float, h: float, board: float) -> None:
    """Inner flaps of a slotted box: at both ends of lid and base, half the short side long."""
    if w >= h:
        reach = min(h / 2, w / 2)
        canvas.rect("cardboard", 0, 0, reach, h, 2 * board)
        canvas.rect("cardboard", w - reach, 0, reach, h, 2 * board)
    else:
        reach = min(w / 2, h / 2)
        canvas.rect("cardboard", 0, 0, w, reach, 2 * board)
        canvas.rect("cardboard", 0, h - reach, w, reach, 2 * board)


def _tape_strips(rng: np.random.Generator, canvas: ItemCanvas, w: float, h: float) -> None:
    """Tape along the flaps' seam on lid and base, sometimes H-taped across the ends too."""
    tape_width = pick(rng, ("48", "50", "72"))
    width = float(tape_width)
    layers = int(rng.integers(2, 5))  # lid and base, sometimes taped twice
    if w >= h:
        canvas.rect("packing_tape", 0, h / 2 - width / 2, w, width, layers * _TAPE_MM)
    else:
        canvas.rect("packing_tape", w / 2 - width / 2, 0, width, h, layers * _TAPE_MM)
    if rng.random() < 0.4:
        canvas.rect("packing_tape", 0, 0, width / 2, h, 2 * _TAPE_MM)
        canvas.rect("packing_tape", w - width / 2, 0, width / 2, h, 2 * _TAPE_MM)


def _staples(rng: np.random.Generator, canvas: ItemCanvas, w: float, h: float) -> None:
    """Box staples (flat steel wire, crown 30 mm) across the base's seam."""
    count = int(rng.integers(3, 7))
    along_x = w >= h
    length = w if along_x else h
    for position in np.linspace(0.15, 0.85, count) * length:
        if along_x:
            canvas.cylinder("carbon_steel", (position, h / 2 - 15), (position, h / 2 + 15), 0.5)
        else:
            canvas.cylinder("carbon_steel", (w / 2 - 15, position), (w / 2 + 15, position), 0.5)


def _shipping_label(rng: np.random.Generator, canvas: ItemCanvas, w: float, h: float) -> None:
    """A paper label (and sometimes a PE packing-list pouch) stuck on the lid."""
    label_w, label_h = min(100.0, 0.6 * w), min(150.0, 0.6 * h)
    x, y = uniform(rng, 0, w - label_w), uniform(rng, 0, h - label_h)
    canvas.rect("paper", x, y, label_w, label_h, 0.12)
    if rng.random() < 0.4:
        canvas.rect("polyethylene", x, y, label_w, label_h, 0.1)


@_parcel("poly_mailer")
def _poly_mailer(rng: np.random.Generator, canvas: ItemCanvas, w: float, h: float) -> None:
    film = uniform(rng, 0.05, 0.1)
    canvas.rect("polyethylene", 0, 0, w, h, 2 * film)
    _edge_seams(canvas, w, h, "polyethylene", 2 * film, 8.0)
    flap = min(50.0, h / 4)
    canvas.rect("polyethylene", 0, 0, w, flap, 2 * film)  # flap folded over, adhesive strip
    canvas.rect("paper", 0, flap / 3, w, 20.0, 0.05)
    _wrinkles(rng, canvas, w, h, "polyethylene", 2 * film)
    _shipping_label(rng, canvas, w, h)


@_parcel("paper_envelope")
def _paper_envelope(rng: np.random.Generator, canvas: ItemCanvas, w: float, h: float) -> None:
    paper = uniform(rng, 0.08, 0.15)
    canvas.rect("paper", 0, 0, w, h, 2 * paper)
    flap_depth = min(h * 0.4, 80.0)
    canvas.slab("paper", [(0, 0), (w, 0), (w / 2, flap_depth)], paper)
    canvas.slab("paper", [(0, 0), (w / 2, h * 0.6), (0, h)], paper)  # side flaps under the back
    canvas.slab("paper", [(w, 0), (w / 2, h * 0.6), (w, h)], paper)
    _wrinkles(rng, canvas, w, h, "paper", paper)
    _shipping_label(rng, canvas, w, h)


@_parcel("padded_envelope")
def _padded_envelope(rng: np.random.Generator, canvas: ItemCanvas, w: float, h: float) -> None:
    kraft = uniform(rng, 0.1, 0.18)
    canvas.rect("paper", 0, 0, w, h, 2 * kraft)
    _bubble_layer(canvas, w, h, bubble_mm=uniform(rng, 8.0, 12.0), height_mm=uniform(rng, 3, 5))
    _edge_seams(canvas, w, h, "paper", 2 * kraft, 10.0)
    canvas.rect("paper", 0, 0, w, min(40.0, h / 4), kraft)
    _wrinkles(rng, canvas, w, h, "paper", 2 * kraft)
    _shipping_label(rng, canvas, w, h)


def _edge_seams(canvas: ItemCanvas, w: float, h: float, material_name: str,
                thickness_mm: float, seam_mm: float) -> None:
    """Folded or sealed edges: a doubled band along the sides and the bottom."""
    seam = min(seam_mm, w / 4, h / 4)
    canvas.rect(material_name, 0, 0, seam, h, thickness_mm)
    canvas.rect(material_name, w - seam, 0, seam, h, thickness_mm)
    canvas.rect(material_name, seam, h - seam, w - 2 * seam, seam, thickness_mm)


def _wrinkles(rng: np.random.Generator, canvas: ItemCanvas, w: float, h: float,
              material_name: str, thickness_mm: float) -> None:
    """Creases: soft ridges where the film or paper folds onto itself (two more layers)."""
    for _ in range(int(rng.integers(3, 12))):
        start = (uniform(rng, 0, w), uniform(rng, 0, h))
        angle = uniform(rng, 0, np.pi)
        length = uniform(rng, 0.1, 0.5) * max(w, h)
        end = (start[0] + length * np.cos(angle), start[1] + length * np.sin(angle))
        half = uniform(rng, 1.0, 4.0)
        canvas.prism(material_name, start, end, half,
                     lambda d, half=half: 2 * thickness_mm * (1 - (d / half) ** 2))


def _bubble_layer(canvas: ItemCanvas, w: float, h: float, bubble_mm: float,
                  height_mm: float) -> None:
    """Bubble lining on both faces: PE film bubbles in a square lattice (bulk density 0.05)."""
    with canvas._window_over(0, 0, w, h) as inside:
        if not inside:
            return
        grid_x, grid_y = canvas._grid()
        phase = np.cos(2 * np.pi * grid_x / bubble_mm) * np.cos(2 * np.pi * grid_y / bubble_mm)
        relief = (0.6 + 0.4 * np.clip(phase, 0.0, 1.0)).astype(np.float32)
        canvas._add("bubble_wrap", relief * np.float32(2 * height_mm / 10.0))


# === bags and trays ==============================================================================
@_parcel("hard_suitcase")
def _hard_suitcase(rng: np.random.Generator, canvas: ItemCanvas, w: float, h: float) -> None:
    _long_way(rng, canvas, w, h, _draw_hard_suitcase)


@_parcel("soft_suitcase")
def _soft_suitcase(rng: np.random.Generator, canvas: ItemCanvas, w: float, h: float) -> None:
    _long_way(rng, canvas, w, h, _draw_soft_suitcase)


@_parcel("backpack")
def _backpack(rng: np.random.Generator, canvas: ItemCanvas, w: float, h: float) -> None:
    _long_way(rng, canvas, w, h, _draw_backpack)


@_parcel("tray")
def _tray(rng: np.random.Generator, canvas: ItemCanvas, w: float, h: float) -> None:
    """A checkpoint tray (polypropylene, drawn as polyethylene): a ribbed 3 mm floor, flared
    walls that show as bands as wide as their slope, a thick rolled rim, darker corners."""
    canvas.rect("polyethylene", 0, 0, w, h, uniform(rng, 2.5, 4.0))
    band = min(uniform(rng, 15, 30), w / 6, h / 6)
    depth = uniform(rng, 90, 140)
    wall = 3.0 * depth / max(band, 1.0)          # a sloped wall crossed at a slant
    for x, y, bw, bh in ((0, 0, w, band), (0, h - band, w, band), (0, band, band, h - 2 * band),
                         (w - band, band, band, h - 2 * band)):
        canvas.rect("polyethylene", x, y, bw, bh, wall)
    rim = min(6.0, band / 2)
    canvas.wall("polyethylene", rounded_rect(rim / 2, rim / 2, w - rim, h - rim, 20), rim, 12.0,
                closed=True)
    for x, y in ((0, 0), (w - band, 0), (0, h - band), (w - band, h - band)):
        canvas.rect("polyethylene", x, y, band, band, wall)      # two walls meet
    for rib in np.arange(band + 40, w - band - 20, 60.0):
        canvas.rect("polyethylene", rib, band, 3, h - 2 * band, 8)


SuitcaseDraw = Callable[[np.random.Generator, ItemCanvas, float, float], None]


def _long_way(rng: np.random.Generator, canvas: ItemCanvas, w: float, h: float,
              draw: SuitcaseDraw) -> None:
    """Draw a bag whose recipe lays its length along x: on a turned canvas when the footprint
    is taller than wide, then turned back."""
    if w >= h:
        draw(rng, canvas, w, h)
        return
    turned = ItemCanvas(h, w, canvas.pitch_mm, margin_mm=0.0)
    draw(rng, turned, h, w)
    for name, layer in turned.layers.items():
        target = canvas.layers.setdefault(name, np.zeros((canvas.height, canvas.width),
                                                          np.float32))
        target += layer.T


def _draw_hard_suitcase(rng: np.random.Generator, canvas: ItemCanvas, length: float,
                        width: float) -> None:
    """A hard-shell case lying on its back, length along x: polycarbonate or ABS shells
    (both faces), side walls edge-on as deep as the case, corner guards, a perimeter zip edge-on
    (a dense line of teeth) or an aluminium frame with latches, trolley rails, wheels, hinges,
    a lock, handles and the lining's compression straps."""
    shell = pick(rng, ("polycarbonate", "polycarbonate", "abs"))
    skin = uniform(rng, 2.0, 3.5)
    depth = min(uniform(rng, 200, 320), 0.8 * width)
    canvas.rect(shell, 0, 0, length, width, 2 * skin)
    rim = min(skin * 2, width / 4)
    canvas.wall(shell, rounded_rect(rim / 2, rim / 2, length - rim, width - rim,
                                    min(40.0, width / 5)), rim, depth, closed=True)
    for x in np.linspace(length * 0.1, length * 0.9, int(rng.integers(3, 7))):
        canvas.rect(shell, x, rim, 6, width - 2 * rim, skin)              # moulded ribs
    framed = rng.random() < 0.25 and width > 120
    if framed:
        canvas.wall("aluminium", rounded_rect(1, 1, length - 2, width - 2, 20), 3.0,
                    0.15 * depth, closed=True)
        for x in (length * 0.25, length * 0.75):
            canvas.rect("zinc_alloy", x - 25, width - 14, 50, 12, 10)            # latches
    else:
        _perimeter_zip(rng, canvas, length, width, rim, edge_on=True)
    _bag_running_gear(rng, canvas, length, width, spinners=rng.random() < 0.7)
    for x in np.linspace(length * 0.3, length * 0.7, int(rng.integers(2, 4))):
        hinge(canvas, pick(rng, ("steel", "aluminium")), x - 20, rim + 8, 40)
    if width > 150 and length > 200:
        combination_lock(rng, canvas, length * uniform(rng, 0.35, 0.55), width - rim - 34)
    _interior(rng, canvas, length, width, rim)


def _draw_soft_suitcase(rng: np.random.Generator, canvas: ItemCanvas, length: float,
                        width: float) -> None:
    """A fabric case lying on its back, length along x: polyester faces over a plastic
    stiffening board, fabric gussets edge-on, PVC piping round the edges (a spring-steel wire
    frame in some), a perimeter zip edge-on, front-pocket zips lying flat, trolley rails and
    wheels, handles."""
    fabric = uniform(rng, 1.0, 2.0)
    depth = min(uniform(rng, 200, 300), 0.8 * width)
    canvas.rect("polyester", 0, 0, length, width, 2 * fabric)
    canvas.rect("polyethylene", 0, 0, length, width, uniform(rng, 1.5, 3.0))      # back board
    rim = min(4.0, width / 4)
    outline = rounded_rect(rim / 2, rim / 2, length - rim, width - rim, min(30.0, width / 5))
    canvas.wall("polyester", outline, rim, depth, closed=True)
    sheaths = [("pvc", 2.5, 1.5 if rng.random() < 0.5 else 0.0)]
    if sheaths[0][2] > 0:
        sheaths.append(("steel", 1.5, 0.0))                                        # wire frame
    canvas.cable([*outline, outline[0]], sheaths)
    _perimeter_zip(rng, canvas, length, width, rim, edge_on=True)
    metal = pick(rng, ZIP_METALS)
    for _ in range(int(rng.integers(1, 4))):                                       # pockets
        y = uniform(rng, 0.15, 0.85) * width
        x0, x1 = length * uniform(rng, 0.1, 0.3), length * uniform(rng, 0.7, 0.9)
        zip_chain(canvas, metal, [(x0, y), (x1, y)])
        zip_pull(canvas, metal, x1 - 8, y, 0.0)
    _bag_running_gear(rng, canvas, length, width, spinners=rng.random() < 0.5)
    _interior(rng, canvas, length, width, rim)


def _draw_backpack(rng: np.random.Generator, canvas: ItemCanvas, length: float,
                   width: float) -> None:
    """A backpack lying on its front, length along x (top at x = 0): nylon body, a foam back
    panel, two padded shoulder straps with webbing, slides and buckles, zips lying flat and
    round the top, their pulls, a grab handle and sometimes aluminium frame stays."""
    canvas.rect(pick(rng, ("nylon", "polyester")), 0, 0, length, width, uniform(rng, 1.0, 2.0))
    rim = min(3.0, width / 4)
    body = rounded_rect(rim / 2, rim / 2, length - rim, width - rim, min(width / 3, 90.0))
    canvas.wall("polyester", body, rim, min(150.0, 0.6 * width), closed=True)
    canvas.rect("eva_foam", length * 0.05, width * 0.12, length * 0.85, width * 0.76,
                uniform(rng, 6, 14))                                              # back panel
    strap_w = min(60.0, width / 5)
    metal_hardware = rng.random() < 0.35
    for cy in (width * 0.3, width * 0.7):
        canvas.rect("eva_foam", length * 0.05, cy - strap_w / 2, length * 0.6, strap_w, 15)
        webbing_strap(canvas, (length * 0.6, cy), (length * 0.95, cy + uniform(rng, -20, 20)),
                      25.0)
        buckle(canvas, length * 0.65, cy, 25.0, metal_hardware)
    if rng.random() < 0.4:                                                  # frame stays
        for cy in (width * 0.4, width * 0.6):
            canvas.rect("aluminium", length * 0.08, cy - 12, length * 0.75, 25, 3)
    metal = pick(rng, ZIP_METALS)
    arc = [(length * 0.02 + 0.25 * length * (1 - np.sin(t)), width / 2 + 0.45 * width *
            np.cos(t)) for t in np.linspace(0, np.pi, 14)]
    zip_chain(canvas, metal, arc, band_mm=3.0, depth_mm=6.0)                     # main zip
    for end in (arc[0], arc[-1]):
        zip_pull(canvas, metal, end[0], end[1], uniform(rng, 0, 180))
    for _ in range(int(rng.integers(1, 4))):                                  # pocket zips
        x = uniform(rng, 0.35, 0.9) * length
        y0, y1 = width * uniform(rng, 0.1, 0.3), width * uniform(rng, 0.7, 0.9)
        zip_chain(canvas, metal, [(x, y0), (x, y1)])
        zip_pull(canvas, metal, x, y1 - 8, 90.0)
    canvas.polyline("nylon", ellipse_points(12, width / 2, 10, 30, 10, 90, 270), 4)  # handle


def _perimeter_zip(rng: np.random.Generator, canvas: ItemCanvas, length: float, width: float,
                   rim: float, edge_on: bool) -> None:
    """The zip round a case's seam, seen edge-on in the side walls: a dense line of teeth
    (coil zips are nylon) with one or two sliders and pulls."""
    metal = pick(rng, (*ZIP_METALS, "nylon"))
    inset = rim + 2
    path = [(inset, inset), (length - inset, inset), (length - inset, width - inset),
            (inset, width - inset), (inset, inset)]
    band, depth = (2.0, 6.0) if edge_on else (6.0, 1.6)
    zip_chain(canvas, metal, path, band_mm=band, depth_mm=depth)
    for _ in range(int(rng.integers(1, 3))):
        x = uniform(rng, 0.2, 0.8) * length
        zip_pull(canvas, "zinc_alloy" if metal == "nylon" else metal, x, width - inset - 14,
                 uniform(rng, -30, 30))


def _bag_running_gear(rng: np.random.Generator, canvas: ItemCanvas, length: float, width: float,
                      spinners: bool) -> None:
    """Trolley rails from the handle end (x = 0), wheels at the far end (four spinners, two at
    each corner, or two inline), carry handles on the top and side walls with their screws."""
    spacing = min(uniform(rng, 180, 300), 0.6 * width)
    centres = (width / 2 - spacing / 2, width / 2 + spacing / 2)
    run = length * uniform(rng, 0.75, 0.88)
    trolley_tubes(rng, canvas, 40.0 if length > 160 else length * 0.25, run - 40, centres)
    radius = min(uniform(rng, 25, 40), width / 8, length / 10)
    tyre = min(uniform(rng, 18, 30), width / 8)
    corners = [(length - radius - 12, radius + 14), (length - radius - 12, width - radius - 14)]
    if spinners:
        corners += [(radius + 12, radius + 14), (radius + 12, width - radius - 14)]
    for cx, cy in corners:
        for offset in ((-tyre * 0.6, tyre * 0.6) if spinners else (0.0,)):
            wheel(canvas, cx, cy + offset, radius, tyre * (0.7 if spinners else 1.0))
    for x, y, w, h in ((length * 0.4, 2.0, length * 0.2, 14.0),
                       (2.0, width * 0.4, 14.0, width * 0.2)):
        canvas.rect("abs", x, y, w, h, 25)                                   # handle, edge-on
        rivets(canvas, "steel", [(x + 4, y + 4), (x + w - 4, y + h - 4)], 2.5, 5)


def _interior(rng: np.random.Generator, canvas: ItemCanvas, length: float, width: float,
              rim: float) -> None:
    """The lining (polyester both faces), compression straps across with their buckles, a
    zipped mesh divider, and a few lost small metal things."""
    canvas.rect("polyester", rim, rim, length - 2 * rim, width - 2 * rim, 0.6)
    metal = rng.random() < 0.3
    for x in (length * uniform(rng, 0.25, 0.4), length * uniform(rng, 0.6, 0.75)):
        webbing_strap(canvas, (x, rim), (x, width - rim), 25.0)
        buckle(canvas, x, width / 2, 25.0, metal)
    if rng.random() < 0.5:
        y = width * uniform(rng, 0.1, 0.2)
        zip_chain(canvas, pick(rng, ZIP_METALS), [(length * 0.1, y), (length * 0.9, y)])
    for _ in range(int(rng.integers(0, 6))):
        small_metal(rng, canvas, uniform(rng, 0.1, 0.9) * length, uniform(rng, 0.1, 0.9) * width)


PARCEL_KINDS: tuple[str, ...] = tuple(PARCEL_RECIPES)
PARCEL_WEIGHTS: dict[str, float] = {
    # Real bag scans are dominated by suitcases and backpacks: their frames and rails are what a
    # model must learn to ignore. The rest are the customs stream's boxes and mailers.
    "hard_suitcase": 0.2, "soft_suitcase": 0.17, "backpack": 0.15, "tray": 0.05,
    "cardboard_box": 0.2, "poly_mailer": 0.1, "paper_envelope": 0.05, "padded_envelope": 0.08,
}
PARCEL_MAX_MM: dict[str, tuple[float, float]] = {
    # (long side, short side): the biggest of each kind; boxes and mailers come in any size.
    "hard_suitcase": (800.0, 540.0), "soft_suitcase": (800.0, 520.0),
    "backpack": (560.0, 380.0), "tray": (650.0, 460.0),
    "paper_envelope": (400.0, 300.0), "padded_envelope": (450.0, 350.0),
}


def pick_parcel_kind(rng: np.random.Generator) -> str:
    """A parcel kind drawn with :data:`PARCEL_WEIGHTS` (kinds without a weight get 0.05)."""
    weights = np.array([PARCEL_WEIGHTS.get(kind, 0.05) for kind in PARCEL_KINDS])
    return PARCEL_KINDS[int(rng.choice(len(PARCEL_KINDS), p=weights / weights.sum()))]


def parcel_size_limit(kind: str) -> tuple[float, float] | None:
    """The biggest ``(long, short)`` footprint in mm of a parcel ``kind``, None if any size."""
    if kind not in PARCEL_RECIPES:
        raise unknown("parcel kind", kind, PARCEL_KINDS)
    return PARCEL_MAX_MM.get(kind)
