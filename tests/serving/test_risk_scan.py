"""Scan facts: dense areas from raw or rendered scans, and the water-equivalent mass."""

from __future__ import annotations

import numpy as np
import pytest

from xscreen.serving.risk import WATER_MASS_ATTENUATION, scan_facts


def raw_scan(blocks: list[tuple[slice, slice, float]], shape: tuple[int, int] = (150, 200)
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """High/low 16-bit channels with rectangular blocks of given high-energy attenuation."""
    attenuation = np.zeros(shape, np.float32)
    for rows, cols, a_high in blocks:
        attenuation[rows, cols] += a_high
    high = np.round(65535 * np.exp(-attenuation)).astype(np.uint16)
    low = np.round(65535 * np.exp(-1.3 * attenuation)).astype(np.uint16)
    rgb = np.full((*shape, 3), 255, np.uint8)
    return rgb, high, low


def test_water_slab_mass_is_recovered() -> None:
    # 10 x 10 cm of 5 cm water at 1 mm pitch: 500 g.
    a_high = 5.0 * WATER_MASS_ATTENUATION
    rgb, high, low = raw_scan([(slice(20, 120), slice(50, 150), a_high)])
    facts = scan_facts(rgb, high, low, pitch_mm=1.0)
    assert facts.estimated_mass_kg == pytest.approx(0.5, rel=0.03)
    assert (facts.dense_regions, facts.dense_fraction) == (0, 0.0)
    assert (facts.width, facts.height) == (200, 150)


def test_dense_blocks_are_counted_from_raw_data() -> None:
    rgb, high, low = raw_scan([(slice(10, 140), slice(10, 190), 0.5),
                               (slice(20, 50), slice(20, 50), 6.0),
                               (slice(80, 110), slice(100, 140), 6.0),
                               (slice(130, 132), slice(180, 182), 6.0)])   # a screw: ignored
    facts = scan_facts(rgb, high, low, pitch_mm=1.0)
    assert facts.dense_regions == 2
    assert facts.dense_fraction == pytest.approx((900 + 1200) / (130 * 180), rel=0.1)


def test_rendered_scan_gives_dense_areas_but_no_mass() -> None:
    rgb = np.full((100, 100, 3), 255, np.uint8)
    rgb[10:90, 10:90] = (240, 160, 60)
    rgb[20:40, 20:40] = 10
    facts = scan_facts(rgb)
    assert (facts.dense_regions, facts.estimated_mass_kg) == (1, None)
    assert facts.dense_fraction == pytest.approx(400 / 6400)
    grey = scan_facts(rgb.min(axis=2))
    assert grey.dense_regions == 1


def test_raw_without_pitch_has_no_mass() -> None:
    rgb, high, low = raw_scan([(slice(20, 120), slice(50, 150), 1.0)])
    assert scan_facts(rgb, high, low).estimated_mass_kg is None


def test_both_channels_are_needed() -> None:
    rgb, high, _ = raw_scan([])
    with pytest.raises(ValueError, match="both high and low"):
        scan_facts(rgb, high, None)
