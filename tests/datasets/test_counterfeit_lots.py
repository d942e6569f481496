"""Counterfeit means a lot of identical branded goods; one phone or a pair of sneakers is a
traveller's own and never boxed (issue 23: real packed bags must not alarm)."""

from __future__ import annotations

import numpy as np
import pytest

from xscreen.datasets.objects import BENIGN_KINDS, benign_item, threat_items
from xscreen.datasets.objects.counterfeit import LOT_SIZE, PERSONAL_RECIPES, RECIPES
from xscreen.datasets.scene import SceneConfig, synthesise_scan


@pytest.mark.parametrize("kind", sorted(RECIPES))
def test_a_counterfeit_threat_is_a_lot_of_identical_boxed_items(kind: str) -> None:
    for seed in range(6):
        items = threat_items(np.random.default_rng(seed), 1.0, "counterfeit", kind)
        assert LOT_SIZE[0] <= len(items) <= LOT_SIZE[1]
        assert all(len(item.objects) == 1 and item.objects[0].label == "counterfeit"
                   for item in items)
        masses = [item.objects[0].mass_g for item in items]
        assert max(masses) == pytest.approx(min(masses), rel=1e-6)   # one model, one size


@pytest.mark.parametrize("kind", sorted(PERSONAL_RECIPES))
def test_personal_goods_are_benign_and_drawn(kind: str) -> None:
    assert kind in BENIGN_KINDS
    item = benign_item(np.random.default_rng(3), 1.0, kind)
    assert item.objects == [] and item.kind == kind
    total = sum(float(layer.sum()) for layer in item.layers.values())
    assert np.isfinite(total) and total > 0


def test_a_pair_of_sneakers_is_two_shoes() -> None:
    from xscreen.datasets.objects.counterfeit import _sneaker_item

    pair = benign_item(np.random.default_rng(5), 1.0, "personal_sneakers")
    one = _sneaker_item(np.random.default_rng(5), 1.0)
    for name, layer in one.layers.items():
        assert float(pair.layers[name].sum()) == pytest.approx(2 * float(layer.sum()), rel=1e-5)
    assert pair.shape == (2 * one.shape[0], one.shape[1])


def test_a_parcel_of_personal_goods_has_no_boxes() -> None:
    config = SceneConfig(width=320, height=224, threat_share=0.0,
                         benign_kinds=tuple(sorted(PERSONAL_RECIPES)))
    for seed in range(3):
        assert synthesise_scan(np.random.default_rng(seed), config).annotations == []
