"""Dual-energy X-ray physics: tube spectrum, a dual-layer detector, transmission, noise.

The model of a parcel scanner (a line scanner with a dual-layer detector):

* the tube's polychromatic spectrum comes from SpekPy (tungsten anode, kVp and filtration
  configurable; parcel scanners run at about 140-160 kVp);
* the beam crosses the parcel; at each pixel the transmitted spectrum is
  ``S(E) * exp(-sum_m mu_m(E) * L_m)``, with ``mu_m`` from NIST data (xraydb, see
  :mod:`xscreen.datasets.materials`) and ``L_m`` the path length through material ``m``:
  path lengths of overlapping objects add up;
* a thin front scintillator absorbs mostly low-energy photons (the *low* channel); a copper filter
  and a thick rear scintillator behind it see the hardened rest (the *high* channel). Both layers
  integrate energy: each absorbed photon contributes its energy;
* the signal is blurred by the scintillator, gets quantum (photon) noise and a little electronic
  noise, row gains of the detector array (the line-scan streaks) and is stored as 16-bit
  transmission, 65535 = air (CONTRACT "Images");
* what makes real scanners' images look as they do, each cheap and drawn from the scan's random
  generator (:meth:`Scanner.detect`): scatter haze (a share of the transmitted signal spread
  into a wide halo, which softens the edges of dense objects), detector boards' gain steps, the
  tube's line-to-line flicker, and now and then a bright or dark detector line along the belt's
  motion; and the fan beam's perspective (:class:`FanBeam`): the beam fans out from a point
  source across the belt, so a thing nearer the source is magnified more across the belt (y)
  and not at all along it (x), and the walls of a deep box show a double edge.

To stay fast (thousands of scans to train on), the 1 keV spectrum is folded into about twenty
energy groups whose edges sit on the K-edges that matter (Sn, Gd, W, Au, Pb): a pixel's
attenuation is then one small matrix product and one exponential per group.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from threadpoolctl import ThreadpoolController

from xscreen.datasets.materials import Material, material

# Group edges (keV). K-edges: Ag 25.5, Sn 29.2, I 33.2, Cs 36.0, Gd 50.2, W 69.5, Au 80.7, Pb 88.0.
_GROUP_EDGES_KEV = (10, 18, 25.5, 29.2, 33.2, 36.0, 42, 50.2, 57, 63, 69.5, 75, 80.7, 88.0, 96,
                    106, 118, 132, 146, 161)

# Detector materials (formula, density g/cm^3).
_SCINTILLATOR = ("CsI", 4.51)
_FILTER = ("Cu", 8.96)


@dataclass(frozen=True)
class ScannerConfig:
    """A dual-energy line scanner. Defaults are those of a typical parcel scanner."""

    kvp: float = 150.0
    anode_angle_deg: float = 12.0
    tube_filter_al_mm: float = 3.0       # inherent + added aluminium filtration
    front_layer_mm: float = 0.4          # CsI, low-energy layer
    interlayer_filter_mm: float = 0.6    # copper between the layers
    rear_layer_mm: float = 4.0           # CsI, high-energy layer
    photons_per_pixel: float = 20000.0   # tube photons reaching one pixel in air
    electronic_noise: float = 0.0004     # in transmission units
    blur_sigma_px: float = 0.6           # scintillator spread
    scan_blur_px: float = 0.4            # extra smear along the belt's motion (x)
    row_gain_sigma: float = 0.002        # residual detector-row gain after flat-field
    monochromatic_kev: float | None = None  # a test beam: one energy, both channels
    # The looks of real machines (all off by default: the physics tests see a clean detector).
    scatter_fraction: float = 0.0        # share of the signal scattered into a wide halo
    scatter_sigma_px: float = 30.0       # the halo's width
    board_gain_sigma: float = 0.0        # gain step between detector boards (rows of 32)
    line_gain_sigma: float = 0.0         # the tube's output flicker from one line (x) to the next
    defect_lines: float = 0.0            # mean count of bright or dark detector lines per scan

    def __post_init__(self) -> None:
        if not 40.0 <= self.kvp <= 160.0:
            raise ValueError(f"kvp must be within 40-160 (the group table's range), "
                             f"got {self.kvp}")
        if self.photons_per_pixel <= 0:
            raise ValueError("photons_per_pixel must be positive")
        if not 0.0 <= self.scatter_fraction < 0.5:
            raise ValueError(f"scatter_fraction must be within 0-0.5 (a share of the signal), "
                             f"got {self.scatter_fraction}")
        effects = {"scatter_sigma_px": self.scatter_sigma_px, "blur_sigma_px": self.blur_sigma_px,
                   "scan_blur_px": self.scan_blur_px, "board_gain_sigma": self.board_gain_sigma,
                   "line_gain_sigma": self.line_gain_sigma, "defect_lines": self.defect_lines,
                   "row_gain_sigma": self.row_gain_sigma}
        for name, value in effects.items():
            if value < 0:
                raise ValueError(f"{name} must not be negative, got {value}")

    def spectral(self) -> ScannerConfig:
        """The same tube and detector layers with default detector effects: what the spectra,
        and so the Z calibration, depend on (noise, blur and artefacts do not change them)."""
        return ScannerConfig(kvp=self.kvp, anode_angle_deg=self.anode_angle_deg,
                             tube_filter_al_mm=self.tube_filter_al_mm,
                             front_layer_mm=self.front_layer_mm,
                             interlayer_filter_mm=self.interlayer_filter_mm,
                             rear_layer_mm=self.rear_layer_mm,
                             monochromatic_kev=self.monochromatic_kev)


class Scanner:
    """Computes the high/low transmission images of a scene described by path-length maps."""

    def __init__(self, config: ScannerConfig = ScannerConfig()) -> None:
        self.config = config
        energies, weights_low, weights_high = _channel_weights(config)
        self.group_energies, self._low, self._high, self._group_of = _groups(
            energies, weights_low, weights_high)
        self._energies_fine = energies
        self._fine_low, self._fine_high = weights_low, weights_high
        self._mu_cache: dict[tuple[str, float], np.ndarray] = {}

    # --- attenuation tables -------------------------------------------------------------------
    def mu_groups(self, materials: Sequence[Material]) -> np.ndarray:
        """Group-averaged linear attenuation (1/cm), shape (groups, materials)."""
        return np.stack([self._group_mu(item) for item in materials], axis=1)

    def _group_mu(self, item: Material) -> np.ndarray:
        """One material's attenuation averaged over each group, weighted by the beam in air."""
        key = (item.formula, item.density)
        cached = self._mu_cache.get(key)
        if cached is None:
            weight = self._fine_low + self._fine_high
            mu = item.mu(self._energies_fine)
            count = len(self.group_energies)
            cached = np.bincount(self._group_of, weight * mu, count) / np.maximum(
                np.bincount(self._group_of, weight, count), 1e-30)
            self._mu_cache[key] = cached
        return cached

    # --- imaging ------------------------------------------------------------------------------
    def transmission(self, paths: Mapping[str | Material, np.ndarray]
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Noise-free (high, low) transmission, float32 in 0-1, for path-length maps in cm.

        ``paths`` is keyed by material name (see :mod:`~xscreen.datasets.materials`) or by a
        :class:`~xscreen.datasets.materials.Material` itself.
        """
        names = [n for n in paths if n != "air"]
        shape = next(iter(paths.values())).shape
        high = np.ones(shape, np.float32)
        low = np.ones(shape, np.float32)
        window = _occupied_window([paths[n] for n in names])
        if window is None:
            return high, low
        rows, cols = window
        # Only the window holding matter is computed: the rest of the frame is air (T = 1).
        stack = np.stack([paths[n][rows, cols] for n in names]).astype(np.float32, copy=False)
        flat = stack.reshape(len(names), -1)
        materials = [n if isinstance(n, Material) else material(n) for n in names]
        mu = self.mu_groups(materials).astype(np.float32)
        # One BLAS thread: a multi-threaded product sums in another order, and the same seed
        # must give the same bytes whatever the number of threads or workers.
        with _blas_controller().limit(limits=1, user_api="blas"):
            spectra = mu @ flat                                        # (G, P) exponents
            np.negative(spectra, out=spectra)
            np.exp(spectra, out=spectra)  # in place: far faster than allocating a new array
            window_shape = stack.shape[1:]
            high[rows, cols] = (self._high[0] @ spectra).reshape(window_shape)
            low[rows, cols] = (self._low[0] @ spectra).reshape(window_shape)
        return high, low

    def acquire(self, paths: dict[str, np.ndarray],
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """A scan as the scanner would store it: blurred, noisy, 16-bit (high, low)."""
        high, low = self.transmission(paths)
        return self.detect(high, low, rng)

    def detect(self, high: np.ndarray, low: np.ndarray,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Scatter, blur, quantum and electronic noise, gains, defect lines, 16-bit quantisation."""
        cfg = self.config
        row_gain = 1.0 + rng.normal(0.0, cfg.row_gain_sigma, size=(high.shape[0], 1))
        row_gain *= _board_gains(rng, high.shape[0], cfg.board_gain_sigma)
        gain = row_gain.astype(np.float32)
        if cfg.line_gain_sigma > 0:
            # The tube feeds both layers: its flicker from line to line is common to both.
            gain = gain * (1.0 + rng.normal(0.0, cfg.line_gain_sigma, size=(1, high.shape[1]))
                           ).astype(np.float32)
        defects = draw_defect_lines(rng, high.shape, cfg.defect_lines)
        out = []
        for channel, (signal, weights) in enumerate(((high, self._high), (low, self._low))):
            scattered = scatter(signal, cfg.scatter_fraction, cfg.scatter_sigma_px)
            blurred = _blur(scattered, cfg.blur_sigma_px, cfg.scan_blur_px)
            # Quantum noise of an energy-integrating layer: var(T) ~= T * <E^2>/<E>^2 / N,
            # plus electronic noise, independent: the variances add.
            variance = np.clip(blurred, 0, 1) * np.float32(weights[1, 0] / cfg.photons_per_pixel)
            variance += np.float32(cfg.electronic_noise**2)
            noisy = blurred + np.sqrt(variance) * rng.standard_normal(signal.shape,
                                                                      dtype=np.float32)
            noisy *= gain
            for line in defects:
                if channel in line.channels:
                    noisy[line.row, line.start:line.stop] *= np.float32(line.gain)
            out.append(np.clip(np.round(noisy * 65535.0), 1, 65535).astype(np.uint16))
        return out[0], out[1]

    def spectrum(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(energies keV, low weight, high weight) per 1 keV bin; each weight sums to 1."""
        return self._energies_fine, self._fine_low, self._fine_high


@dataclass(frozen=True)
class FanBeam:
    """The perspective of a line scanner's fan beam, for one scan.

    The beam fans out from the tube's focal spot across the belt (the image's y axis); the belt
    carries the parcel through the fan (x), one detector line at a time. A point at height h
    above the belt, with the source ``source_to_belt_mm`` below it, is projected across the belt
    with a magnification ``S / (S + h)`` relative to the belt: things lying low (nearer the
    source) look larger, and only across the belt, since x is sampled by the belt's motion.
    Pixel pitches are those of the belt plane. A box's lid (at ``parcel_depth_mm``) projects
    smaller than its base: its walls show a double edge, as on real scans.
    """

    central_row: float          # the frame row of the ray normal to the belt
    source_to_belt_mm: float
    parcel_depth_mm: float      # the parcel's height above the belt, along the beam

    def __post_init__(self) -> None:
        if self.source_to_belt_mm <= 0 or self.parcel_depth_mm < 0:
            raise ValueError(f"a fan beam needs a positive source distance and a depth of 0 or "
                             f"more, got {self.source_to_belt_mm} and {self.parcel_depth_mm} mm")

    @classmethod
    def draw(cls, rng: np.random.Generator, frame_rows: int) -> FanBeam:
        """A random geometry: the source 600-1000 mm under the belt (for tunnels 60-100 cm
        wide), the central ray in the middle half of the frame, a parcel 40-350 mm deep: its
        lid is seen at 0.63-0.99 times its base's size across the belt."""
        return cls(central_row=float(rng.uniform(0.25, 0.75) * frame_rows),
                   source_to_belt_mm=float(rng.uniform(600.0, 1000.0)),
                   parcel_depth_mm=float(rng.uniform(40.0, 350.0)))

    def magnification(self, height_mm: float) -> float:
        """Across-belt magnification of a point ``height_mm`` above the belt (1 on the belt)."""
        return self.source_to_belt_mm / (self.source_to_belt_mm + max(height_mm, 0.0))

    def project_row(self, row: float, magnification: float) -> float:
        """Where a belt-plane row lands when seen at ``magnification``."""
        return self.central_row + (row - self.central_row) * magnification


@lru_cache(maxsize=16)
def get_scanner(config: ScannerConfig = ScannerConfig()) -> Scanner:
    """A cached scanner: building one computes a spectrum (about a second)."""
    return Scanner(config)


@lru_cache(maxsize=1)
def _blas_controller() -> ThreadpoolController:
    return ThreadpoolController()


def _occupied_window(layers: list[np.ndarray]) -> tuple[slice, slice] | None:
    """The smallest row/column window holding every non-zero path length, or None."""
    if not layers:
        return None
    any_rows = np.zeros(layers[0].shape[0], bool)
    any_cols = np.zeros(layers[0].shape[1], bool)
    for layer in layers:
        occupied = layer > 0
        any_rows |= occupied.any(axis=1)
        any_cols |= occupied.any(axis=0)
    if not any_rows.any():
        return None
    row_index, col_index = np.flatnonzero(any_rows), np.flatnonzero(any_cols)
    return (slice(row_index[0], row_index[-1] + 1), slice(col_index[0], col_index[-1] + 1))


def scatter(signal: np.ndarray, fraction: float, sigma_px: float) -> np.ndarray:
    """Scatter haze: ``(1 - f) * T + f * blur(T)``, a share of the signal spread wide.

    Photons scattered in the parcel and in the detector land around where they would have gone:
    dense objects get a veil from the bright parcel around them, their edges soften, and the
    parcel beside them darkens a little. A convex mix of T and its blur, so never above air
    (1) and never negative. Blurred at a reduced size: a wide Gaussian costs little there.
    """
    if fraction <= 0 or sigma_px <= 0:
        return signal
    height, width = signal.shape
    shrink = max(1, int(sigma_px // 4))
    small = cv2.resize(signal, (max(1, width // shrink), max(1, height // shrink)),
                       interpolation=cv2.INTER_AREA)
    halo = cv2.GaussianBlur(small, (0, 0), sigma_px / shrink, borderType=cv2.BORDER_REPLICATE)
    halo = cv2.resize(halo, (width, height), interpolation=cv2.INTER_LINEAR)
    hazy = cv2.addWeighted(signal.astype(np.float32, copy=False), 1.0 - fraction,
                           halo.astype(np.float32, copy=False), fraction, 0.0)
    return np.minimum(hazy, 1.0, out=hazy)  # a rounding ulp must not make it brighter than air


@dataclass(frozen=True)
class DefectLine:
    """A detector pixel gone bright or dark for part of a scan: a line along the belt (x)."""

    row: int
    start: int
    stop: int
    gain: float
    channels: tuple[int, ...]   # 0 high, 1 low


_BOARD_ROWS = 32  # detector pixels per board (line-scan arrays come in boards of 16-64)


def draw_defect_lines(rng: np.random.Generator, shape: tuple[int, ...], mean_count: float
                      ) -> list[DefectLine]:
    """Defect lines of one scan: a Poisson count, most dark (a dying pixel), some bright."""
    if mean_count <= 0:
        return []
    height, width = shape[0], shape[1]
    lines = []
    for _ in range(int(rng.poisson(mean_count))):
        row = int(rng.integers(height))
        start = int(rng.integers(width)) if rng.random() < 0.5 else 0
        stop = int(rng.integers(start + 1, width + 1)) if rng.random() < 0.5 else width
        gain = float(rng.uniform(0.75, 0.95) if rng.random() < 0.7 else rng.uniform(1.03, 1.15))
        pick = rng.random()
        channels = (0,) if pick < 0.35 else (1,) if pick < 0.7 else (0, 1)
        lines.append(DefectLine(row, start, stop, gain, channels))
    return lines


def _board_gains(rng: np.random.Generator, rows: int, sigma: float) -> np.ndarray:
    """Per-row gain of the detector boards: a step every :data:`_BOARD_ROWS` rows."""
    if sigma <= 0:
        return np.ones((rows, 1))
    boards = 1.0 + rng.normal(0.0, sigma, size=(rows + _BOARD_ROWS - 1) // _BOARD_ROWS)
    return np.repeat(boards, _BOARD_ROWS)[:rows, None]


def _blur(image: np.ndarray, sigma: float, scan_sigma: float) -> np.ndarray:
    if sigma <= 0 and scan_sigma <= 0:
        return image
    sigma_x = float(np.hypot(sigma, scan_sigma))
    return cv2.GaussianBlur(image, (0, 0), sigmaX=sigma_x, sigmaY=max(sigma, 1e-3),
                            borderType=cv2.BORDER_REPLICATE)


SPECTRUM_TABLE = Path(__file__).with_name("tube_spectra.json")
"""SpekPy's spectra of the scanners the synthesiser draws (:data:`scene.SCANNERS`), computed
once by :func:`write_spectrum_table`: the same numbers, without SpekPy's 160 MB of data tables
(a GPU machine that cannot install packages synthesises with the table and xraydb alone). A test
checks every entry against SpekPy; other tubes are computed by SpekPy as they are asked for."""


def spectrum_key(config: ScannerConfig) -> str:
    """What a tube's spectrum depends on: voltage, anode angle and aluminium filtration."""
    return (f"kvp={config.kvp:g} anode={config.anode_angle_deg:g} "
            f"al={config.tube_filter_al_mm:g}")


@lru_cache(maxsize=1)
def _tabulated_spectra() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    if not SPECTRUM_TABLE.is_file():
        return {}
    table = json.loads(SPECTRUM_TABLE.read_text())
    return {key: (np.asarray(entry["energies_kev"], np.float64),
                  np.asarray(entry["fluence"], np.float64))
            for key, entry in table["spectra"].items()}


def _tube_spectrum(config: ScannerConfig) -> tuple[np.ndarray, np.ndarray]:
    """Photon fluence per 1 keV bin of a tungsten tube: SpekPy's (:data:`SPECTRUM_TABLE`)."""
    if config.monochromatic_kev is not None:
        return np.array([config.monochromatic_kev]), np.array([1.0])
    tabulated = _tabulated_spectra().get(spectrum_key(config))
    if tabulated is not None:
        return tabulated[0].copy(), tabulated[1].copy()
    return spekpy_spectrum(config)


def spekpy_spectrum(config: ScannerConfig) -> tuple[np.ndarray, np.ndarray]:
    """Photon fluence per 1 keV bin of a tungsten tube, computed by SpekPy."""
    import spekpy

    spek = spekpy.Spek(kvp=config.kvp, th=config.anode_angle_deg, dk=1.0)
    spek.filter("Al", config.tube_filter_al_mm)
    energies, fluence = spek.get_spectrum()
    keep = energies >= _GROUP_EDGES_KEV[0]
    return np.asarray(energies[keep], np.float64), np.asarray(fluence[keep], np.float64)


def write_spectrum_table(configs: Sequence[ScannerConfig],
                         path: Path = SPECTRUM_TABLE) -> None:
    """Compute the spectra of ``configs`` with SpekPy and write them as :data:`SPECTRUM_TABLE`
    (``python -c "from xscreen.datasets.physics import write_spectrum_table; from
    xscreen.datasets.scene import SCANNERS; write_spectrum_table(SCANNERS)"``)."""
    import spekpy

    spectra = {}
    for config in configs:
        energies, fluence = spekpy_spectrum(config)
        spectra[spectrum_key(config)] = {"energies_kev": energies.tolist(),
                                         "fluence": fluence.tolist()}
    path.write_text(json.dumps({"source": f"spekpy {getattr(spekpy, '__version__', '?')}, "
                                          "1 keV bins, tungsten anode, aluminium filter",
                                "spectra": spectra}, indent=1) + "\n")
    _tabulated_spectra.cache_clear()


def _absorbed(formula_density: tuple[str, float], thickness_mm: float,
              energies: np.ndarray) -> np.ndarray:
    import xraydb

    formula, density = formula_density
    mu = xraydb.material_mu(formula, energies * 1000.0, density)
    return np.asarray(1.0 - np.exp(-mu * thickness_mm / 10.0))


def _transmitted(formula_density: tuple[str, float], thickness_mm: float,
                 energies: np.ndarray) -> np.ndarray:
    return 1.0 - _absorbed(formula_density, thickness_mm, energies)


def _channel_weights(config: ScannerConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Energy-integrating response of each layer: fluence x absorbed fraction x energy."""
    energies, fluence = _tube_spectrum(config)
    if config.monochromatic_kev is not None:
        return energies, np.ones(1), np.ones(1)
    front = _absorbed(_SCINTILLATOR, config.front_layer_mm, energies)
    through = (1.0 - front) * _transmitted(_FILTER, config.interlayer_filter_mm, energies)
    rear = through * _absorbed(_SCINTILLATOR, config.rear_layer_mm, energies)
    low = fluence * front * energies
    high = fluence * rear * energies
    return energies, low / low.sum(), high / high.sum()


def _group_index(energies: np.ndarray) -> np.ndarray:
    edges = np.asarray(_GROUP_EDGES_KEV)
    return np.clip(np.searchsorted(edges, energies, side="right") - 1, 0, len(edges) - 2)


def _groups(energies: np.ndarray, low: np.ndarray, high: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fold 1 keV weights into groups.

    Returns the groups' mean energies, per channel a (2, G) array (row 0: the group's share of
    the signal; row 1: the channel's noise factor, repeated) and each fine bin's group index.
    """
    group = _group_index(energies)
    remap = np.searchsorted(np.unique(group), group)
    count = int(remap.max()) + 1
    weight = low + high
    mean_energy = np.bincount(remap, weight * energies, count) / np.maximum(
        np.bincount(remap, weight, count), 1e-30)

    def channel(w: np.ndarray) -> np.ndarray:
        share = np.bincount(remap, w, count)
        return np.stack([share, np.full(count, _noise_factor(energies, w))]).astype(np.float32)

    return mean_energy, channel(low), channel(high), remap


def _noise_factor(energies: np.ndarray, weight: np.ndarray) -> float:
    """Swank-like factor of an energy-integrating layer: <E^2>/<E>^2 over absorbed photons.

    ``weight`` is fluence x absorption x E (normalised); photons are ``weight / E``.
    """
    photons = weight / energies
    mean_e = (photons * energies).sum() / photons.sum()
    mean_e2 = (photons * energies**2).sum() / photons.sum()
    # Photons absorbed per pixel in this layer, relative to the tube's photons: the layer's
    # absorption efficiency is folded into photons_per_pixel; the factor keeps the spread.
    return float(mean_e2 / mean_e**2)
