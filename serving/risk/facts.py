"""What the rules read: the detections, what the scan itself says, and the parcel's evidence.

:func:`scan_facts` measures a scan (dense areas, water-equivalent mass); :func:`gather` resolves
once per parcel what the rules share (the findings by class, the declared value in US dollars,
the description's folded words) into an :class:`Evidence`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from xscreen.serving.manifest import Manifest
from xscreen.serving.risk.config import RiskConfig
from xscreen.serving.risk.parties import PartyHistory, fold_words


@dataclass(frozen=True)
class Finding:
    """One detection in original pixels. ``mass_kg``: an optional estimate, shown to operators."""

    label: str
    score: float
    box: tuple[float, float, float, float]     # x1, y1, x2, y2
    mass_kg: float | None = None


@dataclass(frozen=True)
class ScanFacts:
    """What the scan itself says, apart from the detections (see :func:`scan_facts`)."""

    width: int
    height: int
    dense_fraction: float = 0.0       # share of the parcel's pixels in dense regions
    dense_regions: int = 0            # regions the X-ray cannot see through
    estimated_mass_kg: float | None = None


AIR_ATTENUATION = 0.03        # A_high below this is air (noise) and not parcel
DENSE_ATTENUATION = 4.0       # A_high above this lets under 2% of the beam through
DENSE_RENDERED = 40           # rendered pixels whose brightest channel is <= this are near black
MIN_DENSE_REGION_MM2 = 150.0  # about 12 x 12 mm: smaller dark spots are screws and noise
MIN_DENSE_REGION_PX = 30      # the same when the pitch is unknown
WATER_MASS_ATTENUATION = 0.175  # cm^2/g, water at the high-energy channel (140-160 kVp scanners)


def scan_facts(rgb: np.ndarray, high: np.ndarray | None = None, low: np.ndarray | None = None,
               pitch_mm: float | None = None, *,
               mass_attenuation_cm2_g: float = WATER_MASS_ATTENUATION) -> ScanFacts:
    """Dense areas and (with raw data and a pitch) the parcel's water-equivalent mass.

    With raw 16-bit ``high``/``low`` channels, dense pixels are those whose high-energy
    log-attenuation ``A_high = -ln T_high`` exceeds :data:`DENSE_ATTENUATION` (the scanners'
    high-density alert); without them, near-black pixels of the rendering. The mass is
    ``sum(A_high) / (mu/rho)_water * pixel area`` over the parcel's pixels: close for water-like
    matter, an overestimate for metals (higher mu/rho, ~3x for steel) and capped where nothing
    passes (A_high saturates at ln 65535 ~ 11), so docs/risk.md calls it rough.
    """
    height, width = rgb.shape[:2]
    if (high is None) != (low is None):
        raise ValueError("scan_facts needs both high and low raw channels, or neither")
    a_high = None
    if high is not None and low is not None:
        from xscreen.datasets.colour import attenuations  # lazy: pulls in the physics tables

        a_high = attenuations(high, low)[0]
        occupied, dense = a_high > AIR_ATTENUATION, a_high > DENSE_ATTENUATION
    else:
        occupied, dense = _rendered_masks(rgb)
    fraction, regions = dense_regions(occupied, dense, pitch_mm)
    mass = None
    if a_high is not None and pitch_mm:
        mass = water_equivalent_mass_kg(a_high, occupied, pitch_mm, mass_attenuation_cm2_g)
    return ScanFacts(width, height, fraction, regions, mass)


def _rendered_masks(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Parcel and near-black pixels of a pseudo-colour (or grey) rendering on white."""
    if rgb.ndim == 2:
        return rgb < 240, rgb <= DENSE_RENDERED
    import cv2

    # inRange tests all three channels at once: the parcel is where not every channel is
    # >= 240 (darkest < 240), dense where every channel is <= DENSE_RENDERED (brightest).
    rgb = np.ascontiguousarray(rgb)
    white = cv2.inRange(rgb, (240, 240, 240), (255, 255, 255))
    black = cv2.inRange(rgb, (0, 0, 0), (DENSE_RENDERED,) * 3)
    return white == 0, black.view(bool)


def dense_regions(occupied: np.ndarray, dense: np.ndarray, pitch_mm: float | None
                  ) -> tuple[float, int]:
    """Share of the parcel's pixels in dense regions big enough to hide something, and their
    count (8-connected regions of at least :data:`MIN_DENSE_REGION_MM2`)."""
    import cv2

    min_pixels = MIN_DENSE_REGION_MM2 / pitch_mm**2 if pitch_mm else MIN_DENSE_REGION_PX
    mask = np.ascontiguousarray(dense).view(np.uint8)
    x, y, w, h = cv2.boundingRect(mask)  # label only the box around the dense pixels
    areas: np.ndarray = np.zeros(0, np.int32)
    if w and h:
        count, _, stats, _ = cv2.connectedComponentsWithStats(
            np.ascontiguousarray(mask[y:y + h, x:x + w]), connectivity=8)
        areas = stats[1:count, cv2.CC_STAT_AREA]
    big = areas[areas >= min_pixels]
    parcel = int(np.count_nonzero(occupied | dense))
    return (float(big.sum()) / parcel if parcel else 0.0), int(big.size)


def water_equivalent_mass_kg(a_high: np.ndarray, occupied: np.ndarray, pitch_mm: float,
                             mass_attenuation_cm2_g: float = WATER_MASS_ATTENUATION) -> float:
    """Mass in kg if every occupied pixel's attenuation came from water: areal density
    ``A / (mu/rho)`` in g/cm^2 times the pixel's area in cm^2, summed."""
    pixel_cm2 = (pitch_mm / 10.0) ** 2
    grams = float(a_high[occupied].sum()) / mass_attenuation_cm2_g * pixel_cm2
    return grams / 1000.0


# ---------------------------------------------------------------------------------------------
# The evidence of one parcel


@dataclass(frozen=True)
class Evidence:
    """Everything the rules read, resolved once per parcel."""

    findings: tuple[Finding, ...]
    manifest: Manifest
    history: PartyHistory | None
    config: RiskConfig
    scan: ScanFacts | None
    by_class: dict[str, list[Finding]] = field(default_factory=dict)
    value_usd: float | None = None
    words: str = ""          # the description's folded words, space-padded for phrase search


def gather(findings: Sequence[Finding], manifest: Manifest, history: PartyHistory | None,
           config: RiskConfig, scan: ScanFacts | None) -> Evidence:
    """Group the findings by class, convert the declared value, fold the description."""
    by_class: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        by_class[finding.label].append(finding)
    value = manifest.declared_value
    rate = config.currencies.get(value.currency) if value else None
    value_usd = value.amount * rate if value is not None and rate is not None else None
    words = f" {' '.join(fold_words(manifest.description))} " if manifest.description else ""
    return Evidence(tuple(findings), manifest, history, config, scan, dict(by_class), value_usd,
                    words)


def mentions(words: str, keywords: Iterable[str]) -> list[str]:
    """The keywords (single words or phrases) that the folded description contains."""
    return [kw for kw in keywords if f" {' '.join(fold_words(kw))} " in words] if words else []

