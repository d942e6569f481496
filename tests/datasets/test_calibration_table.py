"""The shipped calibration of the default scanner: what the service renders dual-energy pairs with,
without the synthesiser's physics packages (the `synth` extra)."""

import sys

import numpy as np
import pytest

from xscreen.datasets.colour import (
    CALIBRATION_TABLE,
    calibrate,
    compute_calibration,
    render,
)
from xscreen.datasets.physics import ScannerConfig


def test_shipped_table_is_the_computed_calibration() -> None:
    """Regenerate with colour.write_calibration_table() when the physics or the wedge changes.
    Compared with a tolerance: another numpy or xraydb release moves the last bits."""
    assert CALIBRATION_TABLE.is_file()
    computed = compute_calibration(ScannerConfig())
    shipped = calibrate(ScannerConfig())
    np.testing.assert_allclose(shipped.log_a, computed.log_a, rtol=1e-9)
    np.testing.assert_allclose(shipped.ratios, computed.ratios, rtol=1e-9)
    np.testing.assert_allclose(shipped.z_table, computed.z_table, rtol=1e-5, atol=1e-4)


def test_rendering_a_pair_needs_neither_xraydb_nor_spekpy(monkeypatch: pytest.MonkeyPatch) -> None:
    high = np.full((32, 48), 65535, np.uint16)
    low = high.copy()
    high[8:24, 10:30], low[8:24, 10:30] = 30000, 12000     # something metal-ish in the middle
    expected = render(high, low)
    calibrate.cache_clear()
    for name in ("xraydb", "spekpy"):
        monkeypatch.setitem(sys.modules, name, None)     # import now raises ImportError
    try:
        assert np.array_equal(render(high, low), expected)
        with pytest.raises(ImportError):                 # another scanner needs the physics
            compute_calibration(ScannerConfig(kvp=100.0))
    finally:
        calibrate.cache_clear()
