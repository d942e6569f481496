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

Several palettes stand for other vendors' colour maps, saturated and pale, and for greyscale
single-energy scanners: the model must not learn one vendor's exact colours. The pale and the
GDXray-like greyscale ones were checked against real scans (see :data:`PALETTES`), and
:func:`jpeg_roundtrip` gives a share of renderings a console's JPEG storage.
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
"""The default scanner's calibration, shipped so that rendering a dual-energy pair (the service
renders every uploaded pair) needs no physics: no second of calibration at the first upload, and
neither xraydb nor SpekPy; a test checks it equal to :func:`compute_calibration`. Regenerate
with :func:`write_calibration_table`."""


@lru_cache(maxsize=8)
def calibrate(config: ScannerConfig = ScannerConfig()) -> Calibration:
    """The Z calibration of a scanner: the shipped table for the default one, else computed."""
    if config != config.spectral():   # noise, blur and artefacts do not move the calibration
        return calibrate(config.spectral())
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
    max_saturation: float = 1.0   # under 1: the colour never fully replaces white (pale consoles)
    # Greyscale only: the low channel's share of the attenuation shown. A single-energy
    # detector integrates the whole spectrum, so it sees organics with more contrast than the
    # high channel alone does.
    low_share: float = 0.0
    black_level: float = 0.0      # what "nothing passes" shows as (0-1): a display's black floor
    # Consoles clip near-air to white: attenuation under this is shown as air (noise, faint
    # streaks and the thinnest film vanish, as in OPIXray's scans, whose air is flat 254).
    air_threshold: float = 0.0
    # Organics (Z under 9) darken with this instead of darkness_a (blending back by Z 12): pale
    # consoles keep a thick pile of clothes bright orange while metal goes dark. 0: darkness_a.
    organic_darkness_a: float = 0.0

    def __post_init__(self) -> None:
        if len(self.z_anchors) != len(self.colours) or not self.z_anchors:
            raise ValueError(f"palette {self.name!r} needs one colour per Z anchor, got "
                             f"{len(self.z_anchors)} anchors and {len(self.colours)} colours")
        if not (0.0 < self.max_saturation <= 1.0 and 0.0 <= self.low_share <= 1.0
                and 0.0 <= self.black_level < 0.5 and 0.0 <= self.air_threshold < 0.2
                and self.organic_darkness_a >= 0.0 and self.darkness_a > 0.0):
            raise ValueError(f"palette {self.name!r}: needs max_saturation within (0, 1], "
                             f"low_share within [0, 1], black_level within [0, 0.5), "
                             f"air_threshold within [0, 0.2) and positive darkness")

    def render(self, zeff: np.ndarray, a_high: np.ndarray,
               a_low: np.ndarray | None = None) -> np.ndarray:
        """RGB uint8 image from effective Z and the attenuations (``a_low`` for greyscale)."""
        if self.greyscale and a_low is not None and self.low_share > 0:
            a_high = (1.0 - self.low_share) * a_high + self.low_share * a_low
        a = np.clip(a_high - np.float32(self.air_threshold), 0.0, None).astype(np.float32)
        z_index = np.clip(zeff * 10.0, 0, 999).astype(np.int32)
        darkness = self._darkness_table()[z_index] if self.organic_darkness_a and \
            not self.greyscale else np.float32(self.darkness_a)
        brightness = np.exp(-(a / darkness) ** self.gamma)[..., None]
        if self.black_level > 0:
            brightness = self.black_level + (1.0 - self.black_level) * brightness
        if self.greyscale:
            return np.repeat(np.clip(brightness * 255.0 + 0.5, 0, 255), 3, axis=2).astype(np.uint8)
        hue = self._hue_table()[z_index]
        saturation = (self.max_saturation * (1.0 - np.exp(-a / self.saturation_a)))[..., None]
        rgb = brightness * ((1.0 - saturation) + saturation * hue)
        return np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)


    def _hue_table(self) -> np.ndarray:
        """RGB (0-1) for Z = 0.0, 0.1, ..., 99.9: one lookup instead of three interpolations."""
        return _hue_table(self.z_anchors, self.colours)

    def _darkness_table(self) -> np.ndarray:
        """darkness_a for Z = 0.0, 0.1, ..., 99.9: organic_darkness_a up to Z 9, darkness_a
        from Z 12 on."""
        return _darkness_table(self.organic_darkness_a, self.darkness_a)


@lru_cache(maxsize=32)
def _darkness_table(organic: float, other: float) -> np.ndarray:
    z = np.arange(1000) / 10.0
    return np.interp(z, (9.0, 12.0), (organic, other)).astype(np.float32)


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
    # Pale consoles (the look of OPIXray's scans): thin organics beige, thick ones orange but
    # still bright, thin inorganics pale green, metal from light blue to navy and near black,
    # air clipped to white. Checked against the 442 OPIXray clutter scans by the HSV of non-air
    # pixels (air: V >= 0.93 and S <= 0.10; a colour band: S > 0.12), against 30 synthetic
    # 500x350 scenes (seed 11) rendered in each palette; real / pale_a / pale_b (classic):
    # S median 0.32 / 0.35 / 0.30 (0.54); share with S < 0.12: 0.10 / 0.07 / 0.09 (0.03);
    # orange band hue 34 / 32 / 32, S 0.33 / 0.31 / 0.29 (0.42), V10 0.75 / 0.82 / 0.73 (0.63);
    # green band hue 131 / 126 / 138, S 0.35 / 0.32 / 0.26 (0.61); blue band hue 203 / 199 /
    # 205 (215), S 0.53 / 0.53 / 0.43 (0.79), V 0.63 / 0.62 / 0.64 (0.38). Our scenes hold more
    # thick metal than OPIXray's bags: the share under V 0.2 is 0.009 real and 0.044 / 0.034
    # here, left so, since 2 cm of steel (a gun's slide) must stay near black.
    "pale_a": Palette("pale_a", (5.0, 8.5, 10.0, 12.0, 15.0, 18.0, 22.0, 26.0),
                      ((240, 150, 40), (235, 145, 45), (200, 185, 85), (120, 200, 110),
                       (80, 180, 170), (60, 165, 215), (55, 140, 225), (45, 115, 220)),
                      saturation_a=0.5, darkness_a=3.0, gamma=1.5, max_saturation=0.9,
                      air_threshold=0.015, organic_darkness_a=6.0),
    # A second pale console: peach organics, mint inorganics, sky blue to violet-blue metal,
    # paler still and with a softer fade (numbers above).
    "pale_b": Palette("pale_b", (5.0, 9.0, 11.0, 13.0, 17.0, 21.0, 26.0),
                      ((245, 165, 70), (240, 160, 65), (190, 200, 100), (120, 205, 150),
                       (80, 170, 210), (70, 130, 230), (60, 95, 215)),
                      saturation_a=0.6, darkness_a=3.4, gamma=1.3, max_saturation=0.85,
                      air_threshold=0.02, organic_darkness_a=5.0),
    # A single-energy scanner as in GDXray's baggage series: dark, high contrast, never quite
    # black. Checked by grey levels (0-255) against gdxray_more (21 images) and gdxray_b0046
    # (7 labelled images), 30 synthetic scenes as above: inside firearm boxes the 10th / 25th
    # percentiles are 12 / 20 and 15 / 31 real, 12 / 21 here (grey: 33 / 67); non-air pixels
    # outside the boxes have medians 131 and 202 real, 156 here (grey: 181).
    "grey_gdx": Palette("grey_gdx", (0.0,), ((0, 0, 0),), darkness_a=1.3, greyscale=True,
                        low_share=0.5, black_level=0.03),
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
    chosen = get_palette(palette) if isinstance(palette, str) else palette
    a_high, a_low = attenuations(high, low)
    # Where almost nothing passes the ratio is noise: those pixels are near black regardless.
    zeff = calibrate(config).zeff(a_high, a_low) if not chosen.greyscale else a_high
    return chosen.render(zeff, a_high, a_low)


def get_palette(name: str) -> Palette:
    """The palette called ``name``; an unknown name is refused with the known ones."""
    if name not in PALETTES:
        raise ValueError(f"unknown palette {name!r}; known palettes: {', '.join(PALETTES)}")
    return PALETTES[name]


def jpeg_roundtrip(rgb: np.ndarray, quality: int) -> np.ndarray:
    """The image after a JPEG encode and decode at ``quality`` (1-100).

    Consoles and the archives that real scans come from store JPEGs (OPIXray's scans are JPEGs
    at 416 pixels): the 8x8 blocks, the ringing at edges and the halved chroma resolution
    (4:2:0) are part of how real colour scans look. libjpeg via OpenCV: the same bytes every run.
    """
    if not 1 <= quality <= 100:
        raise ValueError(f"JPEG quality must be within 1-100, got {quality}")
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 image (HxWx3), got {rgb.dtype} {rgb.shape}")
    ok, encoded = cv2.imencode(".jpg", np.ascontiguousarray(rgb[..., ::-1]),
                               [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    decoded = cv2.imdecode(encoded, cv2.IMREAD_COLOR) if ok else None
    if decoded is None:
        raise ValueError("OpenCV could not round-trip the image through JPEG")
    return np.ascontiguousarray(decoded[..., ::-1])
