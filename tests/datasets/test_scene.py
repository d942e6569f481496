"""Scenes: boxes tight around what is visible, determinism, the parcel on white."""

import numpy as np
import pytest

from xscreen import CLASSES
from xscreen.datasets import objects
from xscreen.datasets.physics import ScannerConfig, get_scanner
from xscreen.datasets.scene import (
    PathMaps,
    SceneConfig,
    random_pose,
    synthesise_scan,
    visible_mask,
)

QUIET = ScannerConfig(photons_per_pixel=1e9, electronic_noise=0.0, row_gain_sigma=0.0)


@pytest.mark.parametrize("label", CLASSES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_box_is_tight_around_the_visible_object(label: str, seed: int) -> None:
    """On air, every pixel outside the box is air and each side of the box touches the object."""
    rng = np.random.default_rng(seed)
    item = random_pose(objects.threat_items(rng, 1.0, label)[0], rng)
    maps = PathMaps(item.shape[1] + 40, item.shape[0] + 40)
    boxes = maps.place(item, 20, 20)
    assert boxes and all(b.label == label for b in boxes)
    obj = item.objects[0]
    mask = np.zeros((maps.height, maps.width), bool)
    mask[20:20 + item.shape[0], 20:20 + item.shape[1]] = visible_mask(obj)
    x, y, w, h = (int(v) for v in boxes[0].box)
    rows, cols = np.nonzero(mask)
    assert (x, y, x + w, y + h) == (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1)
    # What the scanner sees agrees: this object alone attenuates visibly inside the box only.
    alone = {obj.material: np.zeros((maps.height, maps.width), np.float32)}
    alone[obj.material][20:20 + item.shape[0], 20:20 + item.shape[1]] = obj.path_cm
    _high, low = get_scanner(QUIET).transmission(alone)
    outside = np.ones_like(mask)
    outside[max(y - 2, 0):y + h + 2, max(x - 2, 0):x + w + 2] = False
    assert (1 - low[outside]).max(initial=0) < 0.02
    edges = (low[y, x:x + w], low[y + h - 1, x:x + w], low[y:y + h, x], low[y:y + h, x + w - 1])
    for edge in edges:
        assert (1 - edge).max() > 0.01


def test_scan_has_contract_shapes_and_types() -> None:
    scan = synthesise_scan(np.random.default_rng(3), SceneConfig(width=320, height=224))
    assert scan.high.shape == scan.low.shape == (224, 320)
    assert scan.high.dtype == np.uint16 and scan.rgb.dtype == np.uint8
    assert scan.rgb.shape == (224, 320, 3)
    for ann in scan.annotations:
        x, y, w, h = ann.box
        assert x >= 0 and y >= 0 and x + w <= 320 and y + h <= 224 and w > 0 and h > 0
        assert ann.label in CLASSES and ann.mass_g > 0


def test_same_seed_same_scan_and_other_seed_other_scan() -> None:
    config = SceneConfig(width=256, height=180)
    a = synthesise_scan(np.random.default_rng([7, 0]), config)
    b = synthesise_scan(np.random.default_rng([7, 0]), config)
    c = synthesise_scan(np.random.default_rng([7, 1]), config)
    assert np.array_equal(a.high, b.high) and np.array_equal(a.rgb, b.rgb)
    assert [x.box for x in a.annotations] == [x.box for x in b.annotations]
    assert not np.array_equal(a.high, c.high)


def test_threat_share_zero_gives_benign_scans_and_one_gives_threats() -> None:
    benign = SceneConfig(width=256, height=180, threat_share=0.0)
    assert all(not synthesise_scan(np.random.default_rng(i), benign).annotations
               for i in range(4))
    loaded = SceneConfig(width=400, height=280, threat_share=1.0)
    assert sum(bool(synthesise_scan(np.random.default_rng(i), loaded).annotations)
               for i in range(4)) >= 3


def test_image_border_is_mostly_white_air() -> None:
    scan = synthesise_scan(np.random.default_rng(5), SceneConfig(width=320, height=224))
    corners = [scan.rgb[:3, :3], scan.rgb[:3, -3:], scan.rgb[-3:, :3], scan.rgb[-3:, -3:]]
    assert sum(c.min() > 200 for c in corners) >= 2


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"width": 10}, "at least 64"),
    ({"class_weights": (1.0, 1.0)}, "class_weights"),
])
def test_bad_scene_config_is_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SceneConfig(**kwargs)
