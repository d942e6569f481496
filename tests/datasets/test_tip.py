"""Threat image projection multiplies transmissions and reports the threat's box."""

import numpy as np
import pytest

from xscreen import CLASSES
from xscreen.datasets.physics import get_scanner
from xscreen.datasets.tip import project_random, project_raw, project_rgb, random_threat


@pytest.fixture(scope="module")
def pistol():
    return random_threat(np.random.default_rng(0), "firearm", pitch_mm=1.0)


def test_raw_projection_multiplies_transmissions(pistol) -> None:
    height, width = pistol.shape[0] + 40, pistol.shape[1] + 40
    background = np.full((height, width), int(0.5 * 65535), np.uint16)  # a 50% slab
    result = project_raw(background, background.copy(), pistol, 20, 10)
    t_high, t_low = get_scanner().transmission(pistol.layers)
    region = (slice(10, 10 + pistol.shape[0]), slice(20, 20 + pistol.shape[1]))
    expected = np.clip(np.round(background[region] * t_high), 1, 65535)
    assert np.abs(result.image[region].astype(int) - expected).max() <= 1
    assert np.abs(result.low[region].astype(int)
                  - np.clip(np.round(background[region] * t_low), 1, 65535)).max() <= 1
    untouched = np.ones((height, width), bool)
    untouched[region] = False
    assert np.array_equal(result.image[untouched], background[untouched])
    assert len(result.annotations) == 1 and result.annotations[0].label == "firearm"


def test_box_of_projection_matches_the_changed_pixels(pistol) -> None:
    air = np.full((300, 400), 65535, np.uint16)
    result = project_raw(air, air.copy(), pistol, 50, 30)
    x, y, w, h = (int(v) for v in result.annotations[0].box)
    changed = np.argwhere(result.low < 65535 * 0.98)
    assert changed[:, 1].min() >= x - 1 and changed[:, 1].max() <= x + w
    assert changed[:, 0].min() >= y - 1 and changed[:, 0].max() <= y + h


def test_rgb_projection_into_white_is_the_threat_alone(pistol) -> None:
    white = np.full((pistol.shape[0] + 10, pistol.shape[1] + 10, 3), 255, np.uint8)
    result = project_rgb(white, pistol, 5, 5)
    assert result.image.min() < 60  # a steel slide is dark
    assert result.image[:5].min() == 255  # outside the threat nothing changes
    dark = result.image.copy()
    dark[:] = 128
    halved = project_rgb(dark, pistol, 5, 5).image.astype(int)
    assert np.abs(halved - np.round(result.image.astype(int) * 128 / 255)).max() <= 1


def test_greyscale_scans_stay_grey(pistol) -> None:
    grey = np.full((pistol.shape[0] + 4, pistol.shape[1] + 4, 3), 200, np.uint8)
    image = project_rgb(grey, pistol, 2, 2).image
    assert np.array_equal(image[..., 0], image[..., 1])
    assert np.array_equal(image[..., 1], image[..., 2])
    two_d = project_rgb(grey[..., 0], pistol, 2, 2).image
    assert two_d.shape == grey.shape


@pytest.mark.parametrize("label", CLASSES)
def test_random_projection_into_a_scan(label: str) -> None:
    rng = np.random.default_rng(4)
    scan = np.full((500, 700, 3), 255, np.uint8)
    scan[100:400, 150:600] = (230, 160, 90)  # a parcel
    result = project_random(scan, rng, label=label, pitch_mm=1.2)
    assert result.annotations and {a.label for a in result.annotations} == {label}
    for ann in result.annotations:
        x, y, w, h = ann.box
        assert x >= 0 and y >= 0 and x + w <= 700 and y + h <= 500
    assert not np.array_equal(result.image, scan)


def test_random_projection_into_a_raw_scan() -> None:
    rng = np.random.default_rng(5)
    high = np.full((400, 500), 60000, np.uint16)
    result = project_random(high, rng, label="gold", low=high.copy())
    assert result.low is not None and result.image.dtype == np.uint16
    assert result.annotations[0].label == "gold"


def test_online_tip_for_training_appends_boxes_and_labels() -> None:
    from xscreen.datasets.tip import project_threat

    rng = np.random.default_rng(6)
    scan = np.full((350, 500, 3), 255, np.uint8)
    scan[50:300, 50:450] = (230, 160, 90)
    boxes = np.array([[10, 10, 40, 40]], np.float32)
    labels = np.array([2], np.int64)
    image, new_boxes, new_labels = project_threat(scan, boxes, labels, rng)
    assert image.shape == scan.shape and image.dtype == np.uint8
    assert len(new_boxes) == len(new_labels) >= 2
    assert np.array_equal(new_boxes[0], boxes[0]) and new_labels[0] == 2
    assert np.all(new_boxes[1:, 2] > new_boxes[1:, 0])
    assert np.all(new_boxes[1:, 3] > new_boxes[1:, 1])
    assert set(new_labels[1:].tolist()) <= {0, 1, 2, 3}
