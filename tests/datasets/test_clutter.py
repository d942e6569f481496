"""Real clutter: bags built like real ones, things with internal structure, packed scenes, threats
partly hidden under dense things with their boxes still tight, all deterministic per seed."""

from __future__ import annotations

import numpy as np
import pytest

from xscreen.datasets import objects, scene
from xscreen.datasets.materials import MATERIALS
from xscreen.datasets.objects import clutter, textures
from xscreen.datasets.objects.parcels import (
    PARCEL_KINDS,
    parcel_size_limit,
    pick_parcel_kind,
)
from xscreen.datasets.scene import PathMaps, SceneConfig, synthesise_scan, visible_mask
from xscreen.datasets.shapes import Item

SUITCASES = ("hard_suitcase", "soft_suitcase")

# Plausible total masses (g) of each new kind, from product data sheets and kitchen scales.
MASSES_G = {
    "laptop": (900, 3000), "phone": (100, 260), "tangled_cables": (30, 600),
    "crumpled_clothes": (100, 2500), "toiletry_bag": (120, 1200), "scissors": (15, 150),
    "pocket_clutter": (30, 600), "glasses_case": (25, 150), "pencil_case": (30, 400),
    "torch": (40, 500), "folded_shirt_stack": (250, 3000),
}


def _mass_g(item: Item, pitch_mm: float) -> float:
    return sum(float(path.sum()) * MATERIALS[name].density
               for name, path in item.layers.items()) * (pitch_mm / 10) ** 2


def test_every_new_kind_has_a_mass_range_and_is_in_the_library() -> None:
    assert set(MASSES_G) == set(clutter.RECIPES)
    assert set(clutter.RECIPES) <= set(objects.BENIGN_KINDS)
    assert set(clutter.COVERING_KINDS) <= set(objects.BENIGN_KINDS)


@pytest.mark.parametrize("pitch_mm", [0.8, 2.0])
@pytest.mark.parametrize("kind", sorted(MASSES_G))
def test_new_recipes_draw_finite_items_of_plausible_mass(kind: str, pitch_mm: float) -> None:
    for seed in range(3):
        item = objects.benign_item(np.random.default_rng(seed), pitch_mm, kind)
        for name, path in item.layers.items():
            assert name in MATERIALS and path.dtype == np.float32
            assert np.isfinite(path).all() and (path >= 0).all(), (kind, name)
        low, high = MASSES_G[kind]
        assert low <= _mass_g(item, pitch_mm) <= high, kind
        assert item.objects == []


@pytest.mark.parametrize("kind", ["laptop", "phone"])
def test_electronics_carry_a_populated_board(kind: str) -> None:
    """Chips (epoxy packages), solder and copper from the board texture, battery cells."""
    item = objects.benign_item(np.random.default_rng(0), 0.8, kind)
    assert {"pcb", "copper", "tin", "lithium_cell"} <= set(item.layers)
    board = item.layers["pcb"]
    assert np.unique(np.round(board[board > 0], 3)).size > 20, "a board is more than a slab"


def test_laptops_hold_a_row_of_18650_cells_or_pouch_cells() -> None:
    found_cans = False
    for seed in range(12):
        item = objects.benign_item(np.random.default_rng(seed), 1.0, "laptop")
        assert "lithium_cell" in item.layers
        found_cans |= "steel" in item.layers and float(item.layers["steel"].max()) > 0.4
    assert found_cans, "some laptops have cylindrical cells in steel cans"


@pytest.mark.parametrize("kind", SUITCASES)
@pytest.mark.parametrize("size_mm", [(700.0, 450.0), (420.0, 640.0)])
def test_suitcases_have_long_metal_rails_along_their_length(kind: str,
                                                            size_mm: tuple[float, float]) -> None:
    """Two trolley tubes: metal running along at least 60 % of the case's length on two lines
    well apart, whichever way round the case lies."""
    pitch = 1.0
    width, height = size_mm
    for seed in range(3):
        item = objects.parcel(np.random.default_rng(seed), pitch, width, height, kind)
        metal = sum(item.layers.get(name, 0) for name in ("aluminium", "steel"))
        assert isinstance(metal, np.ndarray)
        lines = metal if width >= height else metal.T          # rails along the long side
        cover = (lines > 0.05).mean(axis=1)
        rails = np.flatnonzero(cover > 0.6)
        assert rails.size >= 2, f"{kind} seed {seed}: no rails"
        assert rails.max() - rails.min() > 100 / pitch, "two rails, well apart"


@pytest.mark.parametrize("kind", SUITCASES)
def test_suitcases_have_wheels_with_steel_axles_and_zips(kind: str) -> None:
    item = objects.parcel(np.random.default_rng(4), 1.0, 700, 450, kind)
    assert {"rubber", "steel", "abs"} <= set(item.layers)
    zips = {"brass", "zinc_alloy", "steel", "aluminium", "nylon"} & set(item.layers)
    assert zips


def test_suitcases_and_bags_are_frequent_among_parcels() -> None:
    rng = np.random.default_rng(0)
    kinds = [pick_parcel_kind(rng) for _ in range(2000)]
    share = sum(kind in (*SUITCASES, "backpack") for kind in kinds) / len(kinds)
    assert share > 0.4
    assert set(kinds) == set(PARCEL_KINDS), "every kind still comes up"


def test_size_limits_keep_suitcases_real_and_refuse_unknown_kinds() -> None:
    long_side, short_side = parcel_size_limit("hard_suitcase") or (0.0, 0.0)
    assert 500 <= long_side <= 900 and 350 <= short_side <= 600
    assert parcel_size_limit("cardboard_box") is None
    with pytest.raises(ValueError, match="cardboard_box"):
        parcel_size_limit("crate")
    rng = np.random.default_rng(1)
    for _ in range(20):
        pitch, (x0, y0, x1, y1) = scene._parcel_geometry(rng, SceneConfig(), (800.0, 540.0))
        assert max(x1 - x0, y1 - y0) * pitch <= 800 + pitch
        assert min(x1 - x0, y1 - y0) * pitch <= 540 + pitch


def _count_benign_items(monkeypatch: pytest.MonkeyPatch, config: SceneConfig,
                        seeds: range) -> list[int]:
    counts: list[int] = []
    original = objects.benign_item

    def counting(rng: np.random.Generator, pitch: float, kind: str | None = None) -> Item:
        counts[-1] += 1
        return original(rng, pitch, kind)

    monkeypatch.setattr(scene.objects, "benign_item", counting)
    for seed in seeds:
        counts.append(0)
        synthesise_scan(np.random.default_rng(seed), config)
    return counts


def test_packed_scenes_hold_many_items_and_sparse_ones_few(
        monkeypatch: pytest.MonkeyPatch) -> None:
    packed = SceneConfig(width=200, height=140, packed_share=1.0, cover_share=0.0,
                         threat_share=0.0)
    counts = _count_benign_items(monkeypatch, packed, range(4))
    assert min(counts) >= 8 and max(counts) >= 20, counts
    sparse = SceneConfig(width=200, height=140, packed_share=0.0, cover_share=0.0,
                         threat_share=0.0, lookalike_share=0.0)
    assert max(_count_benign_items(monkeypatch, sparse, range(4))) <= 14
    # look-alikes come on top: one to three more
    with_lookalikes = SceneConfig(width=200, height=140, packed_share=0.0, cover_share=0.0,
                                  threat_share=0.0, lookalike_share=1.0)
    assert max(_count_benign_items(monkeypatch, with_lookalikes, range(4))) <= 17


def test_default_mix_keeps_sparse_and_packed_bags() -> None:
    rng = np.random.default_rng(0)
    counts = [scene._benign_count(rng, SceneConfig(), 240_000.0) for _ in range(200)]
    assert sum(c <= 5 for c in counts) > 20 and sum(c >= 15 for c in counts) > 40


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_threat_under_a_laptop_keeps_its_tight_box(monkeypatch: pytest.MonkeyPatch,
                                                     seed: int) -> None:
    """The laptop lands over the threat's box; the box is still the threat's own visible
    pixels."""
    monkeypatch.setattr(scene, "COVERING_KINDS", ("laptop",))
    rng = np.random.default_rng(seed)
    pitch = 1.0
    (item,) = objects.threat_items(rng, pitch, "firearm", "pistol_steel")[:1]
    maps = PathMaps(700, 500)
    (box,) = maps.place(item, 250, 180)
    obj = item.objects[0]
    rows, cols = np.nonzero(visible_mask(obj))
    expected = [250 + cols.min(), 180 + rows.min(), cols.max() - cols.min() + 1,
                rows.max() - rows.min() + 1]
    assert box.box == [float(v) for v in expected]
    before = {name: layer.copy() for name, layer in maps.layers.items()}
    scene._cover_threat(maps, rng, pitch, (10, 10, 690, 490), box.box)
    x, y, w, h = (int(v) for v in box.box)
    added = sum(float(layer[y:y + h, x:x + w].sum() - before.get(name, 0 * layer)[
        y:y + h, x:x + w].sum()) for name, layer in maps.layers.items())
    assert added > 0, "the laptop lies over the threat"
    assert "lithium_cell" in maps.layers


def test_covered_scenes_are_deterministic_and_boxes_stay_in_frame() -> None:
    config = SceneConfig(width=256, height=180, packed_share=1.0, cover_share=1.0,
                         threat_share=1.0)
    a = synthesise_scan(np.random.default_rng([5, 1]), config)
    b = synthesise_scan(np.random.default_rng([5, 1]), config)
    assert np.array_equal(a.high, b.high) and np.array_equal(a.rgb, b.rgb)
    assert [ann.box for ann in a.annotations] == [ann.box for ann in b.annotations]
    for ann in a.annotations:
        x, y, w, h = ann.box
        assert x >= 0 and y >= 0 and x + w <= 256 and y + h <= 180 and w > 0 and h > 0


def test_textures_do_not_depend_on_process_history() -> None:
    """The cached board and crumple tile are drawn from a fixed seed: a fresh process (another
    worker) draws the same bytes, so a scan depends on its own seed only."""
    first = objects.benign_item(np.random.default_rng(3), 0.9, "laptop")
    textures.pcb_reference.cache_clear()
    textures.crumple_tile.cache_clear()
    again = objects.benign_item(np.random.default_rng(3), 0.9, "laptop")
    assert first.layers.keys() == again.layers.keys()
    for name in first.layers:
        assert np.array_equal(first.layers[name], again.layers[name])


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"packed_share": 1.5}, "packed_share"),
    ({"cover_share": -0.1}, "cover_share"),
    ({"packed_items": (30, 10)}, "packed_items"),
    ({"benign_items": (5, 2, 10)}, "benign_items"),
    ({"clothes_fill_share": 1.2}, "clothes_fill_share"),
    ({"lookalike_share": -0.5}, "lookalike_share"),
    ({"texture_fill_share": 1.1}, "texture_fill_share"),
    ({"personal_share": -0.2}, "personal_share"),
    ({"loose_share": 3.0}, "loose_share"),
])
def test_bad_density_settings_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SceneConfig(**kwargs)


@pytest.mark.parametrize(("turns", "flip"), [(0, True), (1, False), (2, True), (3, False)])
def test_quarter_turns_keep_every_path_length(turns: int, flip: bool) -> None:
    item = objects.benign_item(np.random.default_rng(2), 2.0, "phone")
    turned = scene.quarter_turn(item, turns, flip)
    height, width = item.shape
    assert turned.shape == ((width, height) if turns % 2 else (height, width))
    for name, path in item.layers.items():
        assert np.isclose(turned.layers[name].sum(), path.sum(), rtol=1e-6)
        assert np.array_equal(np.sort(turned.layers[name].ravel()), np.sort(path.ravel()))


@pytest.mark.parametrize("pitch_mm", [0.7, 1.6])
def test_clothes_fill_holds_a_packed_bags_mass_of_clothes(pitch_mm: float) -> None:
    """A bag's clothes: 80-400 g per dm2 of the part they fill (trims add a little), finite and
    non-negative, uneven (crumpled, not a slab), unboxed; deterministic per seed."""
    w_mm, h_mm = 450.0, 300.0
    low, high = clutter.CLOTHES_FILL_MASS_G_PER_DM2
    for seed in range(4):
        item = objects.clothes_fill(np.random.default_rng(seed), pitch_mm, w_mm, h_mm)
        again = objects.clothes_fill(np.random.default_rng(seed), pitch_mm, w_mm, h_mm)
        assert item.layers.keys() == again.layers.keys()
        assert all(np.array_equal(item.layers[k], again.layers[k]) for k in item.layers)
        assert item.objects == [] and item.kind == "clothes_fill"
        for path in item.layers.values():
            assert np.isfinite(path).all() and (path >= 0).all()
        fabric = sum(float(path.sum()) * MATERIALS[name].density
                     for name, path in item.layers.items()
                     if name in ("cotton", "polyester", "nylon")) * (pitch_mm / 10) ** 2
        # the filled part is 70-100% of the interior each way
        assert low * 0.7**2 * w_mm * h_mm / 1e4 * 0.99 <= fabric <= high * w_mm * h_mm / 1e4 * 1.01
        grams_cm2 = sum(path * MATERIALS[name].density for name, path in item.layers.items()
                        if name in ("cotton", "polyester", "nylon"))
        covered = grams_cm2[grams_cm2 > 0.05]
        assert covered.size > 0.3 * grams_cm2.size, "the clothes fill most of the bag"
        assert covered.std() / covered.mean() > 0.2, "crumpled clothes are uneven"


def _fill_sizes(monkeypatch: pytest.MonkeyPatch, fill: str, config: SceneConfig,
                seeds: range) -> tuple[list[tuple[float, float]], list]:
    """The interiors (pixels) that ``objects.<fill>`` was asked to fill, and the scans."""
    sizes: list[tuple[float, float]] = []
    original = getattr(objects, fill)

    def recording(rng: np.random.Generator, pitch: float, w_mm: float, h_mm: float) -> Item:
        sizes.append((w_mm / pitch, h_mm / pitch))
        return original(rng, pitch, w_mm, h_mm)

    monkeypatch.setattr(scene.objects, fill, recording)
    return sizes, [synthesise_scan(np.random.default_rng(seed), config) for seed in seeds]


def test_scenes_lay_clothes_under_their_share_of_bags(monkeypatch: pytest.MonkeyPatch) -> None:
    """clothes_fill_share 1 packs every bag with clothes, sized to its interior; 0 never; the
    fill is not labelled (no boxes in threat-free scans)."""
    base = dict(width=256, height=180, packed_share=0.0, cover_share=0.0, threat_share=0.0)
    for share, expected in ((0.0, 0), (1.0, 3)):
        sizes, scans = _fill_sizes(monkeypatch, "clothes_fill",
                                   SceneConfig(clothes_fill_share=share, **base), range(3))
        assert len(sizes) == expected
        assert all(w <= 256 and h <= 180 and w > 50 and h > 40 for w, h in sizes), sizes
        assert all(scan.annotations == [] for scan in scans)


@pytest.mark.parametrize("family", textures.TEXTURE_FAMILIES)
def test_each_texture_family_is_a_varied_field_of_mean_one(family: str) -> None:
    """Non-negative, mean 1, uneven; the same generator state draws the same field, another
    state another one (never one tile cropped again and again)."""
    field = textures.random_texture(np.random.default_rng(1), 120, 200, family)
    assert field.shape == (120, 200) and field.dtype == np.float32
    assert np.isfinite(field).all() and (field >= 0).all()
    assert abs(float(field.mean()) - 1.0) < 1e-3
    assert float(field.std()) > 0.05, "a texture, not a slab"
    again = textures.random_texture(np.random.default_rng(1), 120, 200, family)
    other = textures.random_texture(np.random.default_rng(2), 120, 200, family)
    assert np.array_equal(field, again) and not np.allclose(field, other)


def test_random_textures_draw_every_family_and_mix_them() -> None:
    rng = np.random.default_rng(0)
    fields = [textures.random_texture(rng, 40, 60) for _ in range(40)]
    assert all(abs(float(f.mean()) - 1.0) < 1e-3 and (f >= 0).all() for f in fields)
    # pairwise different: no two calls return the same field
    assert len({f.tobytes() for f in fields}) == len(fields)
    with pytest.raises(KeyError):
        textures.random_texture(rng, 10, 10, "plaid")


@pytest.mark.parametrize("pitch_mm", [0.8, 1.4])
def test_texture_fill_holds_its_mass_unlabelled_and_varied(pitch_mm: float) -> None:
    """30-400 g per dm2 of the filled part (50-100% of the interior each way), soft materials
    only, finite and non-negative, uneven, unboxed; deterministic per seed."""
    w_mm, h_mm = 450.0, 300.0
    low, high = clutter.TEXTURE_FILL_MASS_G_PER_DM2
    materials = set()
    for seed in range(6):
        item = objects.texture_fill(np.random.default_rng(seed), pitch_mm, w_mm, h_mm)
        again = objects.texture_fill(np.random.default_rng(seed), pitch_mm, w_mm, h_mm)
        assert item.layers.keys() == again.layers.keys()
        assert all(np.array_equal(item.layers[k], again.layers[k]) for k in item.layers)
        assert item.objects == [] and item.kind == "texture_fill"
        assert set(item.layers) <= set(clutter.TEXTURE_FILL_MATERIALS)
        materials |= set(item.layers)
        for path in item.layers.values():
            assert np.isfinite(path).all() and (path >= 0).all()
        grams = sum(float(path.sum()) * MATERIALS[name].density
                    for name, path in item.layers.items()) * (pitch_mm / 10) ** 2
        assert low * 0.5**2 * w_mm * h_mm / 1e4 * 0.98 <= grams <= high * w_mm * h_mm / 1e4 * 1.02
        grams_cm2 = sum(path * MATERIALS[name].density for name, path in item.layers.items())
        covered = grams_cm2[grams_cm2 > 0.01]
        assert covered.size > 0.15 * grams_cm2.size
        assert covered.std() / covered.mean() > 0.1, "textured, not a slab"
    assert len(materials) >= 4, materials


def test_scenes_fill_bags_without_clothes_with_textures(monkeypatch: pytest.MonkeyPatch) -> None:
    """texture_fill_share 1 fills every bag that has no clothes, sized to its interior; with
    clothes in every bag it is never drawn; fills are not labelled."""
    base = dict(width=256, height=180, packed_share=0.0, cover_share=0.0, threat_share=0.0,
                texture_fill_share=1.0)
    for clothes, expected in ((1.0, 0), (0.0, 3)):
        sizes, scans = _fill_sizes(monkeypatch, "texture_fill",
                                   SceneConfig(clothes_fill_share=clothes, **base), range(3))
        assert len(sizes) == expected
        assert all(w <= 256 and h <= 180 and w > 50 and h > 40 for w, h in sizes), sizes
        assert all(scan.annotations == [] for scan in scans)


def test_loose_scans_have_no_parcel_no_fill_and_few_things(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """loose_share 1: nothing of a parcel's shell or fill is drawn, at most three random things
    besides the threats; lots keep every item boxed."""
    shells: list[int] = []
    fills: list[int] = []
    monkeypatch.setattr(scene.PathMaps, "place_shell",
                        lambda self, *args: shells.append(1))
    monkeypatch.setattr(scene.FanBeamMaps, "place_shell",
                        lambda self, *args: shells.append(1))
    for name in ("clothes_fill", "texture_fill"):
        original = getattr(objects, name)
        monkeypatch.setattr(scene.objects, name,
                            lambda *args, _f=original: fills.append(1) or _f(*args))
    config = SceneConfig(width=256, height=180, packed_share=1.0, clothes_fill_share=1.0,
                         texture_fill_share=1.0, threat_share=1.0, loose_share=1.0,
                         threats=(("counterfeit", "watch"),), max_threats=1)
    counts = _count_benign_items(monkeypatch, config, range(4))
    assert shells == [] and fills == []
    assert max(counts) <= 3, counts
    scan = synthesise_scan(np.random.default_rng(9), config)
    assert len([a for a in scan.annotations if a.label == "counterfeit"]) >= 3
    # the same settings without loose scans draw shells and fills
    counts = _count_benign_items(monkeypatch, SceneConfig(
        width=256, height=180, packed_share=1.0, clothes_fill_share=1.0, threat_share=0.0),
        range(2))
    assert len(shells) == 2 and len(fills) == 2 and min(counts) > 3


def test_a_loose_scan_of_nothing_renders_as_air() -> None:
    """No parcel, no threat, no thing drawn: the belt alone, white, unlabelled (it once failed
    in the physics on an empty set of materials)."""
    config = SceneConfig(width=128, height=90, threat_share=0.0, loose_share=1.0,
                         benign_items=(0, 0, 0), packed_share=0.0)
    scan = synthesise_scan(np.random.default_rng(0), config)
    assert scan.annotations == [] and scan.rgb.shape == (90, 128, 3)
    assert scan.high.min() > 60000 and scan.low.min() > 60000, "air everywhere"
