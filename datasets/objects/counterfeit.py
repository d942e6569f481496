"""Counterfeit-prone branded goods in commercial quantity, label ``counterfeit``: lots of 3-12
identical watches, sneakers, handbags, phones or earbuds, each item boxed. Whether a lot is
suspect (declared value, description) is the risk score's call, not the detector's.

One or two such things are what every traveller packs: a phone, a watch, a pair of sneakers.
Those are *personal goods* (:data:`PERSONAL_RECIPES`, benign, never boxed), drawn by the same
recipes, so the detector learns "a lot of identical branded items", not "a phone": trained with
single phones boxed as counterfeit, the model alarmed on 97% of real packed bags (issue 23).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from xscreen.datasets.objects import covers
from xscreen.datasets.objects.drawing import (
    ItemCanvas,
    ThreatRecipe,
    crop,
    ellipse_points,
    registrar,
    rounded_rect,
    uniform,
)
from xscreen.datasets.shapes import Item, merge

RECIPES: dict[str, ThreatRecipe] = {}
_counterfeit = registrar(RECIPES)
PersonalRecipe = Callable[[np.random.Generator, float], Item]


_PACKED_SHARE = {"watch": 0.5, "sneaker": 0.4, "phone": 0.5, "earbuds": 0.5, "handbag": 0.3}


LOT_SIZE = (3, 12)
"""Identical items in a counterfeit lot (fewer are personal goods)."""


def lot_recipe(kind: str, item_recipe: ThreatRecipe) -> ThreatRecipe:
    """A recipe of lots of the one counterfeit item that ``item_recipe`` draws (another
    module's, such as the outline library's)."""
    def recipe(rng: np.random.Generator, pitch_mm: float) -> list[Item]:
        return _lot(rng, pitch_mm, kind, lambda r, p: item_recipe(r, p)[0])

    recipe.__doc__ = f"a lot of {kind}"
    return recipe


def personal_recipe(kind: str, item_recipe: ThreatRecipe) -> PersonalRecipe:
    """The one item that ``item_recipe`` draws, as a traveller's own: benign, nothing boxed."""
    def recipe(rng: np.random.Generator, pitch_mm: float) -> Item:
        item = item_recipe(rng, pitch_mm)[0]
        return Item(layers=item.layers, objects=[], kind=kind)

    return recipe


def _lot(rng: np.random.Generator, pitch_mm: float, kind: str,
         draw: Callable[[np.random.Generator, float], Item]) -> list[Item]:
    """A lot of 3-12 identical items (same model, same packaging), each with its own object;
    sometimes each in its retail box (or a handbag in its dust bag)."""
    count = int(rng.integers(LOT_SIZE[0], LOT_SIZE[1] + 1))
    model = int(rng.integers(2**31))
    packed = rng.random() < _PACKED_SHARE.get(kind, 0.4)
    depth = uniform(rng, 30, 120)
    items = [draw(np.random.default_rng(model), pitch_mm) for _ in range(count)]
    return [_retail_pack(item, pitch_mm, depth, kind == "handbag") if packed else item
            for item in items]


def _retail_pack(item: Item, pitch_mm: float, depth_mm: float, dust_bag: bool) -> Item:
    """The item inside its retail box (paperboard faces, walls edge-on, a foam insert) or a
    cotton dust bag, merged so that the item keeps its object."""
    item = crop(item, pitch_mm, margin_mm=0.0)  # the box fits what is drawn, not the canvas
    pad = int(np.ceil(8.0 / pitch_mm))
    height, width = item.shape
    box_w, box_h = (width + 2 * pad) * pitch_mm, (height + 2 * pad) * pitch_mm
    canvas = ItemCanvas(box_w, box_h, pitch_mm, margin_mm=0.0)
    if dust_bag:
        canvas.rect("cotton", 0, 0, box_w, box_h, 2 * 0.6)
        canvas.pillow("paper", box_w / 2, box_h / 2, box_w * 0.8, box_h * 0.8,
                      box_w * box_h * 0.8 * 0.8 * 20 / 1000 * 0.1)       # stuffing
    else:
        canvas.rect("paper", 0, 0, box_w, box_h, 2 * 1.2)
        canvas.wall("paper", rounded_rect(0.6, 0.6, box_w - 1.2, box_h - 1.2, 1), 1.2,
                    depth_mm, closed=True)
        canvas.rect("eva_foam", 2, 2, box_w - 4, box_h - 4, depth_mm * 0.3)  # insert
    return merge([(canvas.item(), (0, 0)), (item, (pad, pad))], kind=item.kind)


def _counterfeit_item(canvas: ItemCanvas, kind: str, draw: Callable[[], None]) -> Item:
    canvas.start_object()
    draw()
    obj = canvas.finish_object("counterfeit", kind)
    return canvas.item([obj], kind=kind)


@_counterfeit("watch")
def _watch(rng: np.random.Generator, pitch_mm: float) -> list[Item]:
    return _lot(rng, pitch_mm, "watch", _watch_item)


def _watch_item(rng: np.random.Generator, pitch_mm: float) -> Item:
    """A wristwatch face-on: steel case ring (edge-on walls), crystal, movement, band."""
    radius, strap = uniform(rng, 18, 23), uniform(rng, 70, 110)
    metal_band = rng.random() < 0.5
    link = uniform(rng, 4, 7)
    height = 2 * radius + 2 * strap
    canvas = ItemCanvas(2 * radius + 6, height, pitch_mm)
    cx, cy = radius + 3, height / 2

    def draw() -> None:
        canvas.ring("steel", cx, cy, radius, radius - 2.5, uniform(rng, 9, 13))
        canvas.disc("steel", cx, cy, radius - 2.5, 1.2)           # case back
        canvas.disc("glass", cx, cy, radius - 2.5, 2.0)           # crystal
        canvas.disc("brass", cx, cy, radius * 0.65, 1.5)          # movement plates
        canvas.disc("steel", cx + radius * 0.3, cy, 3.9, 1.6)     # button cell
        canvas.rect("steel", cx + radius, cy - 2, 4, 4, 4)         # crown
        for y0 in (cy - radius - strap, cy + radius - 2):
            if metal_band:  # links with hairline gaps, a folding clasp on one side
                for y in np.arange(y0, y0 + strap + 2 - link, link):
                    canvas.rect("steel", cx - 10, float(y), 20, link - 0.5, 2.6)
            else:
                canvas.rect("leather", cx - 10, y0, 20, strap + 2, 3.5)
        if metal_band:
            canvas.rect("steel", cx - 9, cy + radius + strap * 0.4, 18, 30, 2.0)
        else:
            canvas.ring("steel", cx, cy + radius + strap - 8, 10, 8, 2.5)

    return _counterfeit_item(canvas, "watch", draw)


@_counterfeit("sneaker")
def _sneaker(rng: np.random.Generator, pitch_mm: float) -> list[Item]:
    return _lot(rng, pitch_mm, "sneaker", _sneaker_item)


def _sneaker_item(rng: np.random.Generator, pitch_mm: float) -> Item:
    """A sneaker from the side: rubber outsole and foam midsole (as deep as the shoe is wide),
    a textile upper (two walls), metal eyelets along the lacing."""
    length = uniform(rng, 260, 310)
    if rng.random() < 0.5:
        return _sneaker_from_above(pitch_mm, length)
    height = length * 0.42
    width = length * 0.36
    canvas = ItemCanvas(length, height, pitch_mm)

    def draw() -> None:
        canvas.slab("rubber", rounded_rect(0, height - 8, length, 8, 4), width * 0.5)
        canvas.slab("eva_foam", rounded_rect(0, height - 30, length, 23, 8), width)
        upper = [(2, height - 30), (length - 3, height - 30), (length * 0.97, height - 45),
                 (length * 0.85, height - 60), (length * 0.55, height * 0.3),
                 (length * 0.3, height * 0.12), (length * 0.08, 2), (0, height * 0.3)]
        canvas.slab("polyester", upper, 4.0)
        canvas.tube_outline("polyester", upper, 2.0, closed=True)
        canvas.slab("rubber", [(0, height * 0.35),
                    (length * 0.12, height * 0.3), (length * 0.12, height - 30),
                    (2, height - 30)], 3.0)                             # heel counter
        for t in np.linspace(0.0, 1.0, 7):
            x = length * (0.8 - 0.27 * t)
            y = (height - 58) + (height * 0.32 - (height - 58)) * t
            canvas.ring("aluminium", x, y, 3, 1.8, 6)

    return _counterfeit_item(canvas, "sneaker", draw)


def _sneaker_from_above(pitch_mm: float, length: float) -> Item:
    """A sneaker lying flat: outsole and foam midsole over the sole's outline, the textile upper
    seen edge-on around it, two rows of eyelets and the laces over the instep."""
    width = 0.4 * length
    canvas = ItemCanvas(length, width, pitch_mm)
    outline = covers.shoe_outline(length)

    def draw() -> None:
        canvas.slab("rubber", outline, 4.0)
        canvas.slab("eva_foam", outline, 25.0)
        canvas.slab("polyester", outline, 3.0)                              # insole and vamp
        canvas.wall("polyester", outline, 2.5, 60, closed=True)
        for row in (-1, 1):
            for x in np.linspace(length * 0.45, length * 0.7, 6):
                canvas.ring("aluminium", float(x), width / 2 + row * 14, 3, 1.8, 1.0)
        canvas.rect("polyester", length * 0.42, width / 2 - 12, length * 0.3, 24, 4)  # laces

    return _counterfeit_item(canvas, "sneaker", draw)


@_counterfeit("handbag")
def _handbag(rng: np.random.Generator, pitch_mm: float) -> list[Item]:
    return _lot(rng, pitch_mm, "handbag", _handbag_item)


def _handbag_item(rng: np.random.Generator, pitch_mm: float) -> Item:
    """A handbag face-on: two leather panels, edges seen edge-on, zinc-alloy hardware."""
    w, h, depth = uniform(rng, 220, 340), uniform(rng, 160, 250), uniform(rng, 80, 150)
    chain = rng.random() < 0.5
    canvas = ItemCanvas(w, h + 60, pitch_mm)
    outline = [(10, 60), (w - 10, 60), (w, h + 60), (0, h + 60)]

    def draw() -> None:
        canvas.slab("leather", outline, 3.0)
        canvas.tube_outline("leather", outline, 1.2, closed=True)
        canvas.rect("leather", 5, h + 55, w - 10, 5, depth * 0.15)
        canvas.rect("brass", 20, 62, w - 40, 4, 2.0)               # zip teeth
        canvas.rect("zinc_alloy", w - 40, 60, 12, 25, 3.0)         # zip pull
        canvas.rect("zinc_alloy", w / 2 - 15, 80, 30, 20, 4.0)     # turn-lock / logo plate
        for x in (20, w - 20):
            canvas.disc("zinc_alloy", x, h + 58, 5, 6)              # feet
        if chain:
            canvas.polyline("zinc_alloy", ellipse_points(w / 2, 60, w * 0.35, 50, 40, 180, 360),
                            2.0)
        else:
            canvas.polyline("leather", ellipse_points(w / 2, 60, w * 0.3, 55, 30, 180, 360), 5)

    return _counterfeit_item(canvas, "handbag", draw)


@_counterfeit("phone")
def _phone(rng: np.random.Generator, pitch_mm: float) -> list[Item]:
    return _lot(rng, pitch_mm, "phone", _phone_item)


def _phone_item(rng: np.random.Generator, pitch_mm: float) -> Item:
    """A smartphone face-on: glass faces, aluminium frame edge-on, battery, board, cameras."""
    w, h, depth = uniform(rng, 68, 78), uniform(rng, 140, 165), uniform(rng, 7.4, 8.9)
    if rng.random() < 0.15:
        return _phone_on_edge(pitch_mm, w, h, depth)
    canvas = ItemCanvas(w, h, pitch_mm)

    def draw() -> None:
        canvas.slab("glass", rounded_rect(0, 0, w, h, 9), 1.6)            # front and back
        canvas.wall("aluminium", rounded_rect(1, 1, w - 2, h - 2, 8), 2.0, depth, closed=True)
        canvas.slab("aluminium", rounded_rect(3, 3, w - 6, h - 6, 6), 0.8)  # mid-frame plate
        canvas.rect("lithium_cell", 8, h * 0.35, w - 16, h * 0.55, depth * 0.55)
        canvas.rect("pcb", 5, 8, w - 10, h * 0.3, 1.2)
        canvas.rect("steel", 8, 12, w - 20, h * 0.22, 0.4)          # RF shields
        for k in range(int(rng.integers(1, 4))):
            canvas.disc("glass", 14, 14 + 12 * k, 5, 3)
            canvas.ring("steel", 14, 14 + 12 * k, 5.5, 4.5, 2)
        canvas.rect("neodymium_magnet", w / 2 - 6, h - 10, 12, 4, 2.5)

    return _counterfeit_item(canvas, "phone", draw)


def _phone_on_edge(pitch_mm: float, w: float, h: float, depth: float) -> Item:
    """A phone standing on its side: a thin band (length x thickness) that the beam crosses
    along the phone's width: glass faces, frame, mid-plate, battery and board, all long paths."""
    canvas = ItemCanvas(h, depth, pitch_mm)

    def draw() -> None:
        for y in (0.0, depth - 0.7):
            canvas.rect("glass", 0, y, h, 0.7, w - 2)
        canvas.rect("aluminium", 0, 0, h, depth, 2 * 1.5)                   # side walls
        canvas.rect("aluminium", 2, depth * 0.45, h - 4, 0.6, w - 6)        # mid-frame plate
        canvas.rect("lithium_cell", h * 0.35, 1.2, h * 0.55, depth * 0.5, w - 16)
        canvas.rect("pcb", 4, depth * 0.55, h * 0.3, 1.2, w - 10)
        canvas.rect("glass", 10, -1.0, 12, 1.0, 20)                          # camera bump

    return _counterfeit_item(canvas, "phone", draw)


@_counterfeit("earbuds")
def _earbuds(rng: np.random.Generator, pitch_mm: float) -> list[Item]:
    return _lot(rng, pitch_mm, "earbuds", _earbuds_item)


def _earbuds_item(rng: np.random.Generator, pitch_mm: float) -> Item:
    """An earbuds charging case face-on: plastic shell, battery, magnets, the two buds."""
    w, h, depth = uniform(rng, 45, 62), uniform(rng, 45, 55), uniform(rng, 20, 25)
    canvas = ItemCanvas(w, h, pitch_mm)

    def draw() -> None:
        canvas.slab("polycarbonate", rounded_rect(0, 0, w, h, 12), 3.0)
        canvas.tube_outline("polycarbonate", rounded_rect(1, 1, w - 2, h - 2, 11), 1.0,
                            closed=True)
        canvas.rect("lithium_cell", w * 0.2, h * 0.62, w * 0.6, h * 0.25, 5)
        canvas.rect("pcb", w * 0.2, h * 0.55, w * 0.6, 5, 1.0)
        for x in (w * 0.3, w * 0.7):
            canvas.ellipsoid("abs", x, h * 0.35, 8, 12, depth * 0.6)
            canvas.disc("lithium_cell", x, h * 0.3, 4, 4)
            canvas.rect("neodymium_magnet", x - 2, h * 0.5, 4, 3, 3)
        canvas.cylinder("steel", (w * 0.3, 3), (w * 0.7, 3), 0.8)  # hinge pin
        canvas.rect("steel", w / 2 - 4, h - 3, 8, 3, 2.5)           # USB-C port

    return _counterfeit_item(canvas, "earbuds", draw)


# === personal goods: the same things, one or a pair, benign ====================================
PERSONAL_RECIPES: dict[str, PersonalRecipe] = {}
"""Benign kinds ``personal_<kind>``: one phone, watch, handbag or earbuds case, or a pair of
sneakers, as a traveller packs them; drawn by the lot recipes' item functions, nothing boxed."""


def _personal(kind: str, draw: Callable[[np.random.Generator, float], Item],
              pair: bool = False) -> None:
    def recipe(rng: np.random.Generator, pitch_mm: float) -> Item:
        item = draw(rng, pitch_mm)
        if pair:       # the other shoe (its mirror image) beside the first, toe to heel
            second = Item(layers={name: np.ascontiguousarray(path[:, ::-1])
                                  for name, path in item.layers.items()})
            item = merge([(item, (0, 0)), (second, (0, item.shape[0]))])
        return Item(layers=item.layers, objects=[], kind=f"personal_{kind}")

    PERSONAL_RECIPES[f"personal_{kind}"] = recipe


_personal("phone", _phone_item)
_personal("watch", _watch_item)
_personal("sneakers", _sneaker_item, pair=True)
_personal("earbuds", _earbuds_item)
_personal("handbag", _handbag_item)


def _outline_goods() -> None:
    """The outline library's counterfeit-prone goods, as personal goods too (``personal_<kind>``:
    the detector must not learn an outline's look, only "a lot")."""
    from xscreen.datasets.objects.outlines import COUNTERFEIT_RECIPES

    for kind, recipe in COUNTERFEIT_RECIPES.items():
        PERSONAL_RECIPES[f"personal_{kind}"] = personal_recipe(f"personal_{kind}", recipe)


_outline_goods()
