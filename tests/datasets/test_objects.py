"""The object library: every kind draws, at real masses, deterministically, and refuses unknowns."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from xscreen import CLASSES
from xscreen.datasets.materials import MATERIALS
from xscreen.datasets.objects import (
    BENIGN_KINDS,
    PARCEL_KINDS,
    THREAT_KINDS,
    benign_item,
    parcel,
    threat_items,
)
from xscreen.datasets.objects.drawing import ItemCanvas
from xscreen.datasets.shapes import Item

PITCHES = (0.8, 2.0)
THREATS = [(label, kind) for label, kinds in THREAT_KINDS.items() for kind in kinds]


def assert_well_formed(item: Item) -> None:
    """Known materials, one canvas shape, finite non-negative path lengths, something drawn."""
    assert item.layers, "an item needs at least one layer"
    for name, path in item.layers.items():
        assert name in MATERIALS, f"unknown material {name!r}"
        assert path.shape == item.shape and path.dtype == np.float32
        assert np.isfinite(path).all() and (path >= 0).all(), name
    assert sum(float(path.sum()) for path in item.layers.values()) > 0, "nothing drawn"


def test_threat_kinds_cover_exactly_the_contract_classes() -> None:
    assert tuple(THREAT_KINDS) == CLASSES
    assert all(THREAT_KINDS[label] for label in CLASSES)


@pytest.mark.parametrize("size_mm", [(400.0, 300.0), (60.0, 40.0), (900.0, 600.0)])
@pytest.mark.parametrize("pitch_mm", PITCHES)
@pytest.mark.parametrize("kind", PARCEL_KINDS)
def test_parcel_fills_its_footprint(kind: str, pitch_mm: float,
                                    size_mm: tuple[float, float]) -> None:
    width, height = size_mm
    item = parcel(np.random.default_rng(0), pitch_mm, width, height, kind)
    assert_well_formed(item)
    assert item.shape == (int(np.ceil(height / pitch_mm)), int(np.ceil(width / pitch_mm)))
    assert not item.objects
    total = sum(item.layers.values())
    assert (total > 0).mean() > 0.99, "the shell must cover the whole parcel"


@pytest.mark.parametrize("pitch_mm", PITCHES)
@pytest.mark.parametrize("kind", BENIGN_KINDS)
def test_benign_item_draws_and_boxes_nothing(kind: str, pitch_mm: float) -> None:
    for seed in range(2):
        item = benign_item(np.random.default_rng(seed), pitch_mm, kind)
        assert_well_formed(item)
        assert item.objects == []
        assert item.kind == kind


@pytest.mark.parametrize("pitch_mm", PITCHES)
@pytest.mark.parametrize(("label", "kind"), THREATS)
def test_threat_objects_are_labelled_and_inside_their_item(label: str, kind: str,
                                                           pitch_mm: float) -> None:
    for seed in range(2):
        items = threat_items(np.random.default_rng(seed), pitch_mm, label, kind)
        assert items
        for item in items:
            assert_well_formed(item)
            assert item.objects, "a threat item must hold at least one labelled object"
            total = np.sum(list(item.layers.values()), axis=0)
            for obj in item.objects:
                assert obj.label == label and obj.kind == kind
                assert obj.material in MATERIALS
                assert obj.path_cm.shape == item.shape
                assert obj.path_cm.max() > 0
                assert (obj.path_cm <= total + 1e-4).all(), "object outside its item's layers"
                assert obj.mass_g > 0 and obj.concealment


@pytest.mark.parametrize(("label", "kind", "low_g", "high_g"), [
    ("gold", "gold_bar_1kg", 900, 1100),
    ("gold", "gold_bar_100g", 90, 110),
    ("narcotics", "cocaine_brick", 750, 1250),
    ("firearm", "pistol_polymer", 500, 1300),
    ("firearm", "pistol_steel", 500, 1300),
    ("firearm", "revolver", 500, 1500),
    ("firearm", "rifle", 2500, 5000),
])
def test_masses_are_physical(label: str, kind: str, low_g: float, high_g: float) -> None:
    for seed in range(6):
        for pitch_mm in PITCHES:
            for item in threat_items(np.random.default_rng(seed), pitch_mm, label, kind):
                mass = sum(obj.mass_g for obj in item.objects)
                assert low_g <= mass <= high_g, f"{kind} seed {seed}: {mass:.0f} g"


def test_a_gold_bar_weighs_what_its_maps_say() -> None:
    (item,) = threat_items(np.random.default_rng(3), 0.8, "gold", "gold_bar_1kg")
    (bar,) = item.objects
    area_cm2 = (0.8 / 10) ** 2
    assert float(item.layers["gold"].sum()) * area_cm2 * 19.32 == pytest.approx(bar.mass_g,
                                                                                 rel=1e-3)


@pytest.mark.parametrize(("draw", "args"), [
    (parcel, (0.8, 300.0, 200.0)),
    (benign_item, (0.8,)),
    (threat_items, (0.8, "firearm")),
    (threat_items, (2.0, "counterfeit")),
])
def test_same_seed_draws_identical_arrays(draw: Callable[..., Item | list[Item]],
                                          args: tuple[object, ...]) -> None:
    first = draw(np.random.default_rng(7), *args)
    second = draw(np.random.default_rng(7), *args)
    for a, b in zip(first if isinstance(first, list) else [first],
                    second if isinstance(second, list) else [second], strict=True):
        assert a.kind == b.kind and a.layers.keys() == b.layers.keys()
        for name in a.layers:
            np.testing.assert_array_equal(a.layers[name], b.layers[name])
        for obj_a, obj_b in zip(a.objects, b.objects, strict=True):
            np.testing.assert_array_equal(obj_a.path_cm, obj_b.path_cm)


@pytest.mark.parametrize(("call", "message"), [
    (lambda rng: benign_item(rng, 0.8, "spaceship"), "known: folded_clothes"),
    (lambda rng: threat_items(rng, 0.8, "explosives"), "known: firearm, narcotics"),
    (lambda rng: threat_items(rng, 0.8, "gold", "pistol_polymer"), "gold_bar_1kg"),
    (lambda rng: parcel(rng, 0.8, 300, 200, "crate"), "cardboard_box"),
    (lambda rng: parcel(rng, 0.8, 0, 200), "positive size"),
])
def test_unknown_names_are_refused_with_the_known_ones(
        call: Callable[[np.random.Generator], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call(np.random.default_rng(0))


def test_random_kinds_cover_the_library() -> None:
    # k kinds drawn uniformly: about k * (ln k + 14) draws leave one unseen with odds under 1e-6
    draws = int(len(BENIGN_KINDS) * (np.log(len(BENIGN_KINDS)) + 14))
    rng = np.random.default_rng(1)
    seen = {benign_item(rng, 2.0).kind for _ in range(draws)}
    assert seen == set(BENIGN_KINDS)


def _drawn_volume_cm3(draw: Callable[[ItemCanvas], None], pitch_mm: float) -> float:
    canvas = ItemCanvas(120.0, 80.0, pitch_mm)
    draw(canvas)
    return float(sum(path.sum() for path in canvas.layers.values())) * (pitch_mm / 10) ** 2


@pytest.mark.parametrize("pitch_mm", [0.5, 0.8, 2.0, 3.0])
@pytest.mark.parametrize(("draw", "volume_cm3"), [
    (lambda c: c.cylinder("steel", (10, 40), (110, 40), 5.0), np.pi * 0.25 * 10),
    (lambda c: c.cylinder("copper", (10, 20), (100, 60), 0.3), np.pi * 0.0009 * np.hypot(9, 4)),
    (lambda c: c.cylinder("steel", (10, 40), (110, 40), 5.0, 4.0), np.pi * 0.09 * 10),
    (lambda c: c.polyline("copper", [(10, 10), (60, 70), (110, 10)], 0.4),
     np.pi * 0.0016 * 2 * np.hypot(5, 6)),
    (lambda c: c.pillow("cocaine", 60, 40, 100, 60, 150.0), 150.0),
    (lambda c: c.rect("gold", 10.3, 10.7, 50.0, 30.0, 4.0), 6.0),
])
def test_primitives_hold_their_volume_at_any_pitch(draw: Callable[[ItemCanvas], None],
                                                   volume_cm3: float, pitch_mm: float) -> None:
    assert _drawn_volume_cm3(draw, pitch_mm) == pytest.approx(volume_cm3, rel=0.03)


def test_recorded_object_holds_only_what_was_drawn_while_recording() -> None:
    canvas = ItemCanvas(100.0, 60.0, 1.0)
    canvas.rect("cotton", 0, 0, 100, 60, 20)
    canvas.start_object()
    canvas.rect("gold", 20, 20, 40, 20, 5)
    canvas.disc("steel", 70, 30, 10, 2)
    obj = canvas.finish_object("gold", "test")
    assert obj.material == "gold"
    assert obj.mass_g == pytest.approx(4 * 19.32 + np.pi * 1 * 0.2 * 7.9, rel=0.02)
    assert float(obj.path_cm.sum()) == pytest.approx(
        float(canvas.layers["gold"].sum() + canvas.layers["steel"].sum()), rel=1e-5)


def _total_mass_g(items: list[Item]) -> float:
    return sum(float(path.sum()) * MATERIALS[name].density for item in items
               for name, path in item.layers.items())


def _draw_every_kind(pitch_mm: float, seed: int = 0) -> dict[str, float]:
    masses = {kind: _total_mass_g([benign_item(np.random.default_rng(seed), pitch_mm, kind)])
              for kind in BENIGN_KINDS}
    for label, kind in THREATS:
        masses[kind] = _total_mass_g(threat_items(np.random.default_rng(seed), pitch_mm, label,
                                                  kind))
    return masses


def test_nothing_is_drawn_off_the_item_canvas(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every recipe fits its canvas: widening every margin (by whole pixels) adds no mass."""
    pitch_mm = 2.0
    tight = _draw_every_kind(pitch_mm)
    original = ItemCanvas.__init__

    def roomy(self: ItemCanvas, width_mm: float, height_mm: float, pitch: float,
              margin_mm: float = 2.0) -> None:
        wider = max(margin_mm, 1.5 * pitch) + 40 * pitch if margin_mm > 0 else margin_mm
        original(self, width_mm, height_mm, pitch, wider)

    monkeypatch.setattr(ItemCanvas, "__init__", roomy)
    roomy_masses = _draw_every_kind(pitch_mm)
    clipped = {key: round(1 - tight[key] / roomy_masses[key], 4) for key in tight
               if tight[key] < roomy_masses[key] * 0.999}
    assert not clipped, f"drawn off the canvas (share of mass lost): {clipped}"


def test_every_kind_survives_a_coarse_pitch() -> None:
    """Small synthetic images mean pitches of several mm: nothing may vanish or divide by 0."""
    for kind in BENIGN_KINDS:
        assert_well_formed(benign_item(np.random.default_rng(0), 6.0, kind))
    for label, kind in THREATS:
        for item in threat_items(np.random.default_rng(0), 6.0, label, kind):
            assert_well_formed(item)
            assert all(obj.path_cm.max() > 0 for obj in item.objects)
