"""The synthesiser's physics: Beer-Lambert, beam hardening, dual-energy ratio, noise."""

import numpy as np
import pytest

from xscreen.datasets.materials import effective_z, material
from xscreen.datasets.physics import Scanner, ScannerConfig, get_scanner


def slab(name: str, thickness_cm: float, shape: tuple[int, int] = (1, 1)) -> dict:
    return {name: np.full(shape, thickness_cm, np.float32)}


@pytest.mark.parametrize("name", ["water", "aluminium", "steel", "gold", "cocaine"])
@pytest.mark.parametrize("energy", [40.0, 60.0, 100.0])
def test_monochromatic_beam_follows_beer_lambert(name: str, energy: float) -> None:
    scanner = Scanner(ScannerConfig(monochromatic_kev=energy))
    mu = float(material(name).mu(np.array([energy]))[0])
    for thickness in (0.01, 0.1, 0.5, 2.0):
        high, low = scanner.transmission(slab(name, thickness))
        expected = np.exp(-mu * thickness)
        assert high[0, 0] == pytest.approx(expected, rel=1e-4, abs=1e-7)
        assert low[0, 0] == pytest.approx(expected, rel=1e-4, abs=1e-7)


def test_polychromatic_beam_hardens() -> None:
    """-ln T grows less than linearly with thickness: the beam hardens as it goes."""
    scanner = get_scanner()
    thickness = np.array([[0.5, 1.0, 2.0, 4.0, 8.0]], np.float32)
    high, low = scanner.transmission({"aluminium": thickness})
    a_high, a_low = -np.log(high[0]), -np.log(low[0])
    assert np.all(np.diff(a_high) > 0)
    per_cm = a_high / thickness[0]
    assert np.all(np.diff(per_cm) < 0)
    assert np.all(a_low > a_high)  # the low channel is always attenuated more


def test_paths_add_up() -> None:
    """Two 1 cm layers of one material transmit like one 2 cm layer; overlaps multiply."""
    scanner = get_scanner()
    two = scanner.transmission({"water": np.full((1, 1), 2.0, np.float32)})
    split = scanner.transmission({"water": np.full((1, 1), 1.0, np.float32),
                                  "cream": np.zeros((1, 1), np.float32)})
    assert split[0][0, 0] > two[0][0, 0]
    stacked = get_scanner().transmission({"water": np.full((1, 1), 2.0, np.float32),
                                          "steel": np.zeros((1, 1), np.float32)})
    assert stacked[0][0, 0] == pytest.approx(two[0][0, 0], rel=1e-6)


def _thickness_for(scanner: Scanner, name: str, target_a: float) -> float:
    """Thickness (cm) of a material whose high-energy attenuation is target_a."""
    grid = np.geomspace(1e-4, 50, 4000).astype(np.float32)[None, :]
    high, _ = scanner.transmission({name: grid})
    return float(np.interp(target_a, -np.log(np.clip(high[0], 1e-12, 1)), grid[0]))


@pytest.mark.parametrize("target_a", [0.2, 0.6, 1.5])
def test_low_high_ratio_orders_materials_by_atomic_number(target_a: float) -> None:
    scanner = get_scanner()
    names = ["polyethylene", "water", "glass", "aluminium", "titanium", "steel", "copper"]
    zs = [material(n).zeff for n in names]
    assert zs == sorted(zs)
    ratios = []
    for name in names:
        t = _thickness_for(scanner, name, target_a)
        high, low = scanner.transmission(slab(name, t))
        ratios.append(np.log(low[0, 0]) / np.log(high[0, 0]))
    assert ratios == sorted(ratios), dict(zip(names, ratios, strict=True))


def test_effective_z_of_known_compounds() -> None:
    assert effective_z("H2O") == pytest.approx(7.4, abs=0.15)
    assert effective_z("C2H4") == pytest.approx(5.5, abs=0.2)
    assert effective_z("Fe") == pytest.approx(26.0)


def test_quantum_noise_matches_photon_statistics() -> None:
    config = ScannerConfig(photons_per_pixel=5000.0, electronic_noise=0.0, row_gain_sigma=0.0,
                           blur_sigma_px=0.0, scan_blur_px=0.0)
    scanner = Scanner(config)
    paths = slab("water", 5.0, (200, 200))
    clean_high, _ = scanner.transmission(paths)
    high, _ = scanner.detect(*scanner.transmission(paths), np.random.default_rng(0))
    measured = (high.astype(np.float64) / 65535).std()
    t = float(clean_high[0, 0])
    expected = np.sqrt(t * scanner._high[1, 0] / config.photons_per_pixel)
    assert measured == pytest.approx(expected, rel=0.1)
    assert (high.astype(np.float64) / 65535).mean() == pytest.approx(t, rel=0.01)


def test_air_is_65535_give_or_take_noise() -> None:
    scanner = get_scanner()
    high, low = scanner.acquire({"air": np.zeros((64, 64), np.float32)},
                                np.random.default_rng(1))
    assert high.dtype == np.uint16 and low.dtype == np.uint16
    assert abs(float(np.median(high)) - 65535) < 400


def test_bad_scanner_config_is_refused() -> None:
    with pytest.raises(ValueError, match="kvp"):
        ScannerConfig(kvp=300)
    with pytest.raises(ValueError, match="photons"):
        ScannerConfig(photons_per_pixel=0)


def test_shipped_spectra_are_spekpys_and_cover_every_scanner() -> None:
    """tube_spectra.json holds SpekPy's own numbers for each scanner the synthesiser draws
    (regenerate it with physics.write_spectrum_table when a tube changes)."""
    import json

    from xscreen.datasets.physics import SPECTRUM_TABLE, spectrum_key, spekpy_spectrum
    from xscreen.datasets.scene import SCANNERS

    table = json.loads(SPECTRUM_TABLE.read_text())["spectra"]
    assert {spectrum_key(config) for config in SCANNERS} <= set(table)
    for config in SCANNERS:
        energies, fluence = spekpy_spectrum(config)
        entry = table[spectrum_key(config)]
        # SpekPy's numbers, not bit for bit: another numpy or SpekPy release moves the last bit
        # (3e-16 relative with spekpy 2.5.4 and numpy 2.4); 1e-9 still catches a changed tube.
        np.testing.assert_allclose(energies, entry["energies_kev"], rtol=1e-9, atol=0)
        np.testing.assert_allclose(fluence, entry["fluence"], rtol=1e-9, atol=0)


def test_synthesiser_scanners_build_without_spekpy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The drawn scanners need no SpekPy (a GPU machine without it synthesises from the table);
    any other tube still asks SpekPy, and says so when it is missing."""
    import sys

    from xscreen.datasets.scene import SCANNERS

    with_spekpy = [Scanner(config).spectrum() for config in SCANNERS]
    monkeypatch.setitem(sys.modules, "spekpy", None)    # import spekpy now raises ImportError
    for config, expected in zip(SCANNERS, with_spekpy, strict=True):
        for got, want in zip(Scanner(config).spectrum(), expected, strict=True):
            assert np.array_equal(got, want)
    with pytest.raises(ImportError):
        Scanner(ScannerConfig(kvp=100.0))
