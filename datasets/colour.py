"""The pseudo-colour rendering of dual-energy scans (CONTRACT "Images").

Operators see parcels in the industry's colours: orange for organic matter (effective atomic
number below about 10), green for mixed and light inorganic matter (about 10-18), blue for metals
(above about 18), on white, darker with more attenuation and near black where nothing passes.

How a scanner gets there, and how this module does:

1. log-attenuations ``A_high = -ln T_high`` and ``A_low = -ln T_low``;
2. their ratio ``R = A_low / A_high`` grows with the atomic number (the photoelectric effect goes
   as Z^4/E^3 and bites the low channel harder) but also drifts with thickness (beam hardening),
   so Z is read from a table calibrated on reference materials of known Z at many thicknesses
   (:class:`Calibration`), exactly as vendors calibrate on step wedges;
3. the hue comes from Z, saturation and darkness from ``A_high`` (:class:`Palette`).

A caveat that physics, not this code, imposes: gold's and lead's K-edges (80.7 and 88.0 keV) lie in
the high-energy band, so a high-Z *foil* under about 0.3 mm has a low/high ratio like mixed
matter and reads as a low Z. Every real gold smuggling form (bars, coins, plates, jewellery of a
millimetre or more) attenuates so much that it renders near black, as on real scanners.

Several palettes stand for other vendors' colour maps and for greyscale single-energy scanners:
the model must not learn one vendor's exact colours.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from xscreen.datasets.materials import Material, effective_z
from xscreen.datasets.physics import Scanner, ScannerConfig, get_scanner

# Reference materials of the calibration wedge: (formula, density).
_REFERENCES = (("C2H4", 0.93), ("H2O", 1.0), ("CF2", 2.2), ("Mg", 1.74), ("Al", 2.70),
               ("Si", 2.33), ("Ca", 1.55), ("Ti", 4.51), ("Fe", 7.87), ("Cu", 8.96),
               ("Sn", 7.30))
_A_MIN, _A_MAX, _A_STEPS = 0.005, 11.0, 128       # A_high grid, log-spaced
_R_MIN, _R_MAX, _R_STEPS = 0.8, 4.0, 256          # ratio grid
_DENSE_FROM, _DENSE_FULL, _DENSE_Z = 3.5, 5.5, 26.0  # attenuation past which Z is "metal"


@dataclass(frozen=True)
class Calibration:
    """A lookup table from (A_high, A_low/A_high) to effective atomic number."""

    log_a: np.ndarray       # (A_STEPS,) grid of ln A_high
    ratios: np.ndarray      # (R_STEPS,) grid of R
    z_table: np.ndarray     # (A_STEPS, R_STEPS) effective Z

    def zeff(self, a_high: np.ndarray, a_low: np.ndarray) -> np.ndarray:
        """Effective atomic number per pixel (float32); air pixels get the lowest Z."""
        a = np.clip(a_high, _A_MIN, _A_MAX)
        ratio = np.clip(a_low / a, _R_MIN, _R_MAX)
        row = (np.log(a) - self.log_a[0]) / (self.log_a[-1] - self.log_a[0]) * (_A_STEPS - 1)
        col = (ratio - _R_MIN) / (_R_MAX - _R_MIN) * (_R_STEPS - 1)
        z = cv2.remap(self.z_table, col.astype(np.float32), row.astype(np.float32),
                      interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        # Past A ~ 4 (under 2% transmitted) the ratio is buried in noise and beam hardening;
        # scanners paint such pixels as dense metal, and so do we.
        dense = np.clip((a_high - _DENSE_FROM) / (_DENSE_FULL - _DENSE_FROM), 0.0, 1.0)
        return z + dense * (np.maximum(z, _DENSE_Z) - z)


CALIBRATION_TABLE = Path(__file__).with_name("calibration_default.npz")
"""The default scanner's calibration, shipped so that rendering a dual-energy pair needs neither
xraydb nor SpekPy (the service renders uploaded pairs and installs neither); a test checks it
equal to :func:`compute_calibration`. Regenerate with :func:`write_calibration_table`."""


@lru_cache(maxsize=8)
def calibrate(config: ScannerConfig = ScannerConfig()) -> Calibration:
    """The Z calibration of a scanner: the shipped table for the default one, else computed."""
    if config == ScannerConfig() and CALIBRATION_TABLE.is_file():
        with np.load(CALIBRATION_TABLE) as table:
            return Calibration(log_a=table["log_a"], ratios=table["ratios"],
                               z_table=table["z_table"])
    return compute_calibration(config)


def write_calibration_table(path: Path = CALIBRATION_TABLE) -> None:
    """Write the default scanner's calibration (after a change to the physics or the wedge)."""
    table = compute_calibration(ScannerConfig())
    np.savez_compressed(path, log_a=table.log_a, ratios=table.ratios, z_table=table.z_table)
    calibrate.cache_clear()


def compute_calibration(config: ScannerConfig) -> Calibration:
    """Calibrate Z on the reference wedge as the given scanner sees it (noise-free)."""
    scanner = get_scanner(config)
    log_a = np.linspace(np.log(_A_MIN), np.log(_A_MAX), _A_STEPS)
    zs, ratio_rows = [], []
    for formula, density in _REFERENCES:
        zs.append(effective_z(formula))
        ratio_rows.append(_ratio_curve(scanner, Material(formula, formula, density), log_a))
    z = np.asarray(zs)
    ratios = np.stack(ratio_rows, axis=1)                     # (A_STEPS, materials)
    grid = np.linspace(_R_MIN, _R_MAX, _R_STEPS)
    table = np.empty((_A_STEPS, _R_STEPS), np.float32)
    for i in range(_A_STEPS):
        # Beam hardening can fold the curves over at high attenuation: keep R monotonic in Z.
        monotonic = np.maximum.accumulate(ratios[i]) + np.arange(len(z)) * 1e-6
        table[i] = np.interp(grid, monotonic, z)
    return Calibration(log_a=log_a, ratios=grid, z_table=table)


def _ratio_curve(scanner: Scanner, reference: Material, log_a: np.ndarray) -> np.ndarray:
    """R = A_low/A_high of a material as a function of ln A_high, by a thickness sweep."""
    thickness = np.geomspace(1e-4, 60.0, 600).astype(np.float32)[None, :]
    high, low = scanner.transmission({reference: thickness})
    a_high = -np.log(np.clip(high[0], 1e-9, 1.0))
    a_low = -np.log(np.clip(low[0], 1e-9, 1.0))
    valid = (a_high > 1e-6) & (high[0] > 1e-7)
    curve_a, curve_r = np.log(a_high[valid]), a_low[valid] / a_high[valid]
    return np.interp(log_a, curve_a, curve_r)


@dataclass(frozen=True)
class Palette:
    """A vendor's colour map: hue anchors over Z, and how colour and darkness grow with A."""

    name: str
    z_anchors: tuple[float, ...]
    colours: tuple[tuple[int, int, int], ...]   # RGB at each anchor
    saturation_a: float = 0.22    # attenuation at which the colour is 63% in
    darkness_a: float = 2.6       # attenuation at which brightness has fallen to 37%
    gamma: float = 1.0
    greyscale: bool = False

    def render(self, zeff: np.ndarray, a_high: np.ndarray) -> np.ndarray:
        """RGB uint8 image from effective Z and high-energy attenuation."""
        a = np.clip(a_high, 0.0, None).astype(np.float32)
        brightness = np.exp(-(a / self.darkness_a) ** self.gamma)[..., None]
        if self.greyscale:
            return np.repeat(np.clip(brightness * 255.0 + 0.5, 0, 255), 3, axis=2).astype(np.uint8)
        hue = self._hue_table()[np.clip(zeff * 10.0, 0, 999).astype(np.int32)]
        saturation = (1.0 - np.exp(-a / self.saturation_a))[..., None]
        rgb = brightness * ((1.0 - saturation) + saturation * hue)
        return np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)


    def _hue_table(self) -> np.ndarray:
        """RGB (0-1) for Z = 0.0, 0.1, ..., 99.9: one lookup instead of three interpolations."""
        return _hue_table(self.z_anchors, self.colours)


@lru_cache(maxsize=32)
def _hue_table(z_anchors: tuple[float, ...], colours: tuple[tuple[int, int, int], ...]
               ) -> np.ndarray:
    z = np.arange(1000) / 10.0
    table = np.stack([np.interp(z, z_anchors, [c[k] for c in colours]) for k in range(3)],
                     axis=-1)
    return (table / 255.0).astype(np.float32)


PALETTES: dict[str, Palette] = {
    # The common international map: orange organics, green mixed, blue metals.
    "classic": Palette("classic", (5.0, 8.5, 10.0, 13.0, 17.0, 20.0, 26.0),
                       ((255, 150, 30), (240, 140, 20), (200, 170, 40), (90, 175, 60),
                        (40, 160, 110), (40, 110, 210), (30, 60, 200))),
    # A second vendor: browner organics, yellow-green mixed, violet-blue metals, darker.
    "vendor_b": Palette("vendor_b", (5.0, 9.0, 11.0, 14.0, 18.0, 22.0),
                        ((230, 120, 40), (210, 110, 30), (170, 170, 30), (70, 190, 70),
                         (60, 110, 200), (70, 50, 190)),
                        saturation_a=0.30, darkness_a=2.1, gamma=1.1),
    # A third: paler, with a softer fade to black.
    "vendor_c": Palette("vendor_c", (5.0, 9.5, 12.0, 16.0, 21.0),
                        ((250, 170, 60), (235, 160, 50), (120, 200, 90), (60, 170, 150),
                         (50, 90, 230)), saturation_a=0.18, darkness_a=3.2, gamma=0.9),
    # Single-energy scanners: grey, dark where dense; the second with a steeper, log-like display
    # curve that shows thin organics too (as in GDXray's baggage series).
    "grey": Palette("grey", (0.0,), ((0, 0, 0),), darkness_a=2.4, greyscale=True),
    "grey_contrast": Palette("grey_contrast", (0.0,), ((0, 0, 0),), darkness_a=1.1, gamma=0.75,
                             greyscale=True),
}


def attenuations(high: np.ndarray, low: np.ndarray, smooth_sigma: float = 0.7
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Log-attenuations (A_high, A_low) of 16-bit transmissions (65535 = air), lightly denoised."""
    t_high = np.clip(high.astype(np.float32) / 65535.0, 1.0 / 65535.0, 1.0)
    t_low = np.clip(low.astype(np.float32) / 65535.0, 1.0 / 65535.0, 1.0)
    a_high, a_low = -np.log(t_high), -np.log(t_low)
    if smooth_sigma > 0:
        a_high = cv2.GaussianBlur(a_high, (0, 0), smooth_sigma)
        a_low = cv2.GaussianBlur(a_low, (0, 0), smooth_sigma)
    return a_high, a_low


def render(high: np.ndarray, low: np.ndarray, palette: str | Palette = "classic",
           config: ScannerConfig = ScannerConfig()) -> np.ndarray:
    """Pseudo-colour RGB (uint8, HxWx3) of a raw dual-energy scan (16-bit high and low)."""
    if high.shape != low.shape:
        raise ValueError(f"high and low must have the same shape, got {high.shape} and {low.shape}")
    chosen = PALETTES[palette] if isinstance(palette, str) else palette
    a_high, a_low = attenuations(high, low)
    # Where almost nothing passes the ratio is noise: those pixels are near black regardless.
    zeff = calibrate(config).zeff(a_high, a_low) if not chosen.greyscale else a_high
    return chosen.render(zeff, a_high)
