"""The pseudo-colour rendering puts materials in the industry's colour bands."""

import cv2
import numpy as np
import pytest

from xscreen.datasets.colour import PALETTES, attenuations, calibrate, render
from xscreen.datasets.physics import get_scanner


def rendered_hsv(name: str, thickness_cm: float, palette: str = "classic") -> tuple[float, ...]:
    """Median hue (degrees), saturation and value of a noisy slab rendered on white."""
    scanner = get_scanner()
    paths = {name: np.zeros((60, 60), np.float32)}
    paths[name][10:50, 10:50] = thickness_cm
    high, low = scanner.acquire(paths, np.random.default_rng(0))
    rgb = render(high, low, palette)
    hsv = cv2.cvtColor(rgb[20:40, 20:40], cv2.COLOR_RGB2HSV_FULL).reshape(-1, 3)
    h, s, v = np.median(hsv, axis=0)
    background = rgb[:5, :5].reshape(-1, 3)
    assert background.min() >= 240, "air must render white"
    return h * 360 / 255, s / 255, v / 255


@pytest.mark.parametrize(("name", "thickness_cm", "band"), [
    ("water", 4.0, "orange"), ("cotton", 15.0, "orange"), ("cocaine", 3.0, "orange"),
    ("polyethylene", 5.0, "orange"), ("aluminium", 1.0, "green"), ("glass", 1.0, "green"),
    ("steel", 0.3, "blue"), ("copper", 0.2, "blue"), ("tin", 0.2, "blue"),
])
def test_materials_land_in_their_colour_band(name: str, thickness_cm: float, band: str) -> None:
    hue, saturation, _value = rendered_hsv(name, thickness_cm)
    ranges = {"orange": (15, 50), "green": (75, 170), "blue": (200, 260)}
    low, high = ranges[band]
    assert low <= hue <= high, f"{name} rendered at hue {hue:.0f}, expected {band}"
    assert saturation > 0.3


@pytest.mark.parametrize(("name", "thickness_cm"), [
    ("gold", 0.1), ("gold", 0.9), ("lead", 0.2), ("steel", 3.0), ("gold_14k", 0.15),
])
def test_thick_metal_is_near_black(name: str, thickness_cm: float) -> None:
    """A 1 mm gold chain, a 9 mm gold bar, a lead sinker, a pistol slide: hardly anything passes."""
    _, _, value = rendered_hsv(name, thickness_cm)
    assert value < 0.1


def test_darker_with_more_attenuation() -> None:
    values = [rendered_hsv("aluminium", t)[2] for t in (0.5, 1.0, 2.0, 4.0)]
    assert values == sorted(values, reverse=True)


def test_calibration_recovers_z_of_pure_elements() -> None:
    scanner = get_scanner()
    calibration = calibrate()
    for name, z in (("aluminium", 13.0), ("water", 7.4), ("copper", 29.0)):
        high, low = scanner.transmission({name: np.full((1, 1), 0.5, np.float32)})
        a_high, a_low = attenuations((high * 65535).astype(np.uint16),
                                     (low * 65535).astype(np.uint16), smooth_sigma=0)
        assert calibration.zeff(a_high, a_low)[0, 0] == pytest.approx(z, rel=0.15)


@pytest.mark.parametrize("palette", sorted(PALETTES))
def test_every_palette_renders_white_air_and_dark_metal(palette: str) -> None:
    _, _, value_air = rendered_hsv("water", 0.0, palette)
    _, _, value_steel = rendered_hsv("steel", 2.0, palette)
    assert value_air > 0.9 and value_steel < 0.25


def test_grey_palette_is_grey() -> None:
    scanner = get_scanner()
    paths = {"steel": np.full((8, 8), 0.2, np.float32)}
    rgb = render(*scanner.acquire(paths, np.random.default_rng(0)), "grey")
    assert np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2])


def test_mismatched_channels_are_refused() -> None:
    with pytest.raises(ValueError, match="same shape"):
        render(np.zeros((4, 4), np.uint16), np.zeros((4, 5), np.uint16))
