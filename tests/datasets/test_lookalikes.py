"""Benign look-alikes (issue 23): what real threat-free bags alarmed on, drawn as hard negatives."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from xscreen.datasets import objects, scene
from xscreen.datasets.materials import MATERIALS
from xscreen.datasets.objects import lookalikes
from xscreen.datasets.scene import SceneConfig, synthesise_scan
from xscreen.datasets.shapes import Item

# Plausible masses (g), from product sheets and a kitchen scale.
MASSES_G = {"phone_in_case": (100, 420), "gadget": (60, 1200), "snack_multipack": (20, 4000),
            "bag_hardware": (10, 1000), "rod_bundle": (20, 2500)}


def _mass_g(item: Item, pitch_mm: float) -> float:
    return sum(float(path.sum()) * MATERIALS[name].density
               for name, path in item.layers.items()) * (pitch_mm / 10) ** 2


def test_every_lookalike_is_benign_and_picked_by_scenes() -> None:
    assert set(MASSES_G) == set(lookalikes.RECIPES)
    assert set(lookalikes.RECIPES) <= set(objects.LOOKALIKE_KINDS) <= set(objects.BENIGN_KINDS)
    assert len(set(objects.LOOKALIKE_KINDS)) == len(objects.LOOKALIKE_KINDS)
    assert any(kind.startswith("personal_") for kind in objects.LOOKALIKE_KINDS)


@pytest.mark.parametrize("pitch_mm", [0.6, 1.5])
@pytest.mark.parametrize("kind", sorted(MASSES_G))
def test_lookalikes_are_finite_unlabelled_of_plausible_mass_and_deterministic(
        kind: str, pitch_mm: float) -> None:
    for seed in range(12):
        item = objects.benign_item(np.random.default_rng(seed), pitch_mm, kind)
        again = objects.benign_item(np.random.default_rng(seed), pitch_mm, kind)
        assert item.objects == [] and item.kind == kind
        for name, path in item.layers.items():
            assert name in MATERIALS and path.dtype == np.float32
            assert np.isfinite(path).all() and (path >= 0).all(), (kind, name, seed)
            assert np.array_equal(path, again.layers[name])
        low, high = MASSES_G[kind]
        assert low <= _mass_g(item, pitch_mm) <= high, (kind, seed, _mass_g(item, pitch_mm))


def _blobs(layer: np.ndarray) -> int:
    _count, _labels, stats, _ = cv2.connectedComponentsWithStats(
        (layer > 0.05).astype(np.uint8), connectivity=4)
    return int((stats[1:, cv2.CC_STAT_AREA] >= 20).sum())


def test_foods_come_in_rows_of_separate_lumps() -> None:
    """A multipack is several identical lumps side by side, not one brick (the narcotics look
    it must teach apart)."""
    counts = []
    for seed in range(10):
        item = objects.benign_item(np.random.default_rng(seed), 0.8, "snack_multipack")
        food = [name for name in item.layers if name in ("flour", "sugar", "chocolate", "water",
                                                         "soap")]
        assert len(food) == 1, item.layers.keys()
        counts.append(_blobs(item.layers[food[0]]))
    assert min(counts) >= 3 and np.median(counts) >= 6, counts


def test_a_phone_in_its_case_is_one_phone_with_battery_magnets_and_lenses() -> None:
    for seed in range(6):
        item = objects.benign_item(np.random.default_rng(seed), 0.8, "phone_in_case")
        assert {"lithium_cell", "glass", "neodymium_magnet", "pcb"} <= set(item.layers)
        assert _blobs(item.layers["lithium_cell"]) == 1          # one battery: one phone
        h, w = item.shape
        assert 140 / 0.8 <= max(h, w) <= 185 / 0.8


def test_strap_fittings_are_small_dense_rings_on_webbing() -> None:
    for seed in range(8):
        item = objects.benign_item(np.random.default_rng(seed), 0.5, "bag_hardware")
        assert "nylon" in item.layers
        metal = sum(item.layers.get(name, 0) for name in ("zinc_alloy", "steel", "aluminium",
                                                          "brass"))
        assert isinstance(metal, np.ndarray) and 1 <= _blobs(metal) <= 12, seed
        # fittings are small (15-50 mm): a metal part is one or two touching fittings, not a bar
        _count, _labels, stats, _ = cv2.connectedComponentsWithStats(
            (metal > 0.05).astype(np.uint8))
        longest = np.maximum(stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT])
        assert longest.max() * 0.5 <= 130, longest


def test_rod_bundles_are_parallel_rods() -> None:
    for seed in range(8):
        item = objects.benign_item(np.random.default_rng(seed), 0.5, "rod_bundle")
        h, w = item.shape
        assert w > 2 * h or h > 2 * w, (h, w)     # long and narrow: rods side by side


def _explicit_kinds(monkeypatch: pytest.MonkeyPatch, config: SceneConfig,
                    seeds: range) -> list[list[str]]:
    """The kinds a scene asked for by name, scan by scan (random contents pass None)."""
    asked: list[list[str]] = []
    original = objects.benign_item

    def recording(rng: np.random.Generator, pitch: float, kind: str | None = None) -> Item:
        if kind is not None:
            asked[-1].append(kind)
        return original(rng, pitch, kind)

    monkeypatch.setattr(scene.objects, "benign_item", recording)
    for seed in seeds:
        asked.append([])
        synthesise_scan(np.random.default_rng(seed), config)
    return asked


@pytest.mark.parametrize(("share", "kinds", "most"), [
    ("lookalike_share", "LOOKALIKE_KINDS", 3),   # benign twins of threats, one to three
    ("personal_share", "PERSONAL_KINDS", 2),     # a traveller's own goods, one or two
])
def test_scenes_add_named_things_to_their_share_of_parcels(
        monkeypatch: pytest.MonkeyPatch, share: str, kinds: str, most: int) -> None:
    """A share of 1 asks for one to ``most`` of its kinds by name in every parcel (none boxed:
    no threats here), 0 for none."""
    base = dict(width=256, height=180, packed_share=0.0, cover_share=0.0, threat_share=0.0,
                clothes_fill_share=0.0)
    always = _explicit_kinds(monkeypatch, SceneConfig(**{share: 1.0}, **base), range(6))
    assert all(1 <= len(asked) <= most for asked in always), always
    assert {kind for asked in always for kind in asked} <= set(getattr(objects, kinds))
    never = _explicit_kinds(monkeypatch, SceneConfig(**{share: 0.0}, **base), range(6))
    assert never == [[]] * 6


@pytest.mark.parametrize("share", [-0.1, 1.5])
def test_a_lookalike_share_outside_0_1_is_refused(share: float) -> None:
    with pytest.raises(ValueError, match="lookalike_share"):
        SceneConfig(lookalike_share=share)
