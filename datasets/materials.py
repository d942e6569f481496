"""Materials by chemical formula and density, with attenuation from NIST data (xraydb).

Every object the synthesiser draws is made of materials named here. Attenuation is never painted:
``mass_attenuation`` comes from xraydb's tables (Elam/NIST), so K-edges (gold 80.7 keV, lead
88.0 keV) and the photoelectric Z^4 dependence are whatever nature says they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

# Atomic numbers for the effective-Z estimate; covers every element the library uses.
_ATOMIC_NUMBER = {
    "H": 1, "B": 5, "C": 6, "N": 7, "O": 8, "F": 9, "Na": 11, "Mg": 12, "Al": 13, "Si": 14,
    "P": 15, "S": 16, "Cl": 17, "K": 19, "Ca": 20, "Ti": 22, "Cr": 24, "Mn": 25, "Fe": 26,
    "Co": 27, "Ni": 28, "Cu": 29, "Zn": 30, "Br": 35, "Ag": 47, "Sn": 50, "Sb": 51, "I": 53,
    "Ba": 56, "W": 74, "Pt": 78, "Au": 79, "Pb": 82, "Bi": 83, "Li": 3, "Nd": 60,
}


@dataclass(frozen=True)
class Material:
    """A homogeneous material: chemical formula (xraydb syntax, fractions allowed) and density."""

    name: str
    formula: str
    density: float  # g/cm^3

    def mu(self, energies_kev: np.ndarray) -> np.ndarray:
        """Linear attenuation coefficient in 1/cm at the given energies (keV)."""
        return _mu_cached(self.formula, self.density, tuple(np.round(energies_kev, 4)))

    @property
    def zeff(self) -> float:
        """Effective atomic number (power-law mean over electron fractions, exponent 2.94)."""
        return effective_z(self.formula)


@lru_cache(maxsize=512)
def _mu_cached(formula: str, density: float, energies_kev: tuple[float, ...]) -> np.ndarray:
    import xraydb  # the `synth` extra: serving renders with a shipped calibration instead

    energies_ev = np.asarray(energies_kev, dtype=np.float64) * 1000.0
    return np.asarray(xraydb.material_mu(formula, energies_ev, density), dtype=np.float64)


def effective_z(formula: str) -> float:
    """Effective atomic number of a compound (Spiers/Murty power law, exponent 2.94)."""
    counts = _parse_formula(formula)
    electrons = {el: n * _ATOMIC_NUMBER[el] for el, n in counts.items()}
    total = sum(electrons.values())
    return float(sum(e / total * _ATOMIC_NUMBER[el] ** 2.94 for el, e in electrons.items())
                 ** (1 / 2.94))


def _parse_formula(formula: str) -> dict[str, float]:
    counts: dict[str, float] = {}
    for element, number in re.findall(r"([A-Z][a-z]?)([0-9.]*)", formula):
        if element not in _ATOMIC_NUMBER:
            raise KeyError(f"element {element!r} in {formula!r} has no atomic number here")
        counts[element] = counts.get(element, 0.0) + (float(number) if number else 1.0)
    return counts


def _m(name: str, formula: str, density: float) -> tuple[str, Material]:
    return name, Material(name, formula, density)


MATERIALS: dict[str, Material] = dict([
    # Parcel and packaging.
    _m("cardboard", "C6H10O5", 0.20),          # corrugated board, bulk density
    _m("paper", "C6H10O5", 0.80),
    _m("polyethylene", "C2H4", 0.93),
    _m("bubble_wrap", "C2H4", 0.05),
    _m("air", "N0.78O0.21Ar0.01", 0.0012),
    # Organics: textiles, plastics, food, cosmetics.
    _m("cotton", "C6H10O5", 0.35),             # folded fabric, with air
    _m("polyester", "C10H8O4", 0.40),
    _m("leather", "C5H8N1O2", 0.85),
    _m("rubber", "C5H8", 0.95),
    _m("abs", "C15H17N", 1.05),
    _m("pvc", "C2H3Cl", 1.38),
    _m("polycarbonate", "C16H14O3", 1.20),
    _m("pet", "C10H8O4", 1.38),
    _m("nylon", "C6H11NO", 1.14),
    _m("silicone", "C2H6OSi", 1.10),
    _m("eva_foam", "C2.4H4.4O0.3", 0.25),      # shoe midsoles, sandals
    _m("alkaline_cell", "MnO2Zn0.6K0.15O0.15H0.3", 2.50),  # AA/AAA contents inside the can
    _m("wood", "C6H10O5", 0.65),
    _m("water", "H2O", 1.00),
    _m("ethanol_solution", "H2.3O0.85C0.15", 0.95),  # perfume, spirits
    _m("cream", "C1H2O1", 0.98),
    _m("milk_powder", "C12H22O11N0.4Ca0.02", 0.55),
    _m("flour", "C6H10O5", 0.60),
    _m("sugar", "C12H22O11", 0.85),
    _m("chocolate", "C15H22O5", 1.25),
    _m("coffee", "C8H10N4O2C10H8O4", 0.45),
    _m("tea", "C6H10O5N0.1", 0.35),
    _m("soap", "C18H35NaO2", 1.05),
    # Narcotics, by formula and packed density.
    _m("cocaine", "C17H22ClNO4", 1.20),         # hydrochloride, pressed brick
    _m("heroin", "C21H23NO5", 1.10),
    _m("methamphetamine", "C10H15N", 1.00),     # crystal, loosely packed
    _m("cannabis", "C21H30O2C6H10O5", 0.55),    # compressed plant matter
    _m("mdma", "C11H15NO2", 1.15),              # pressed pills
    _m("cocaine_solution", "C17H22ClNO4H88O44", 1.10),  # ~30 % by mass in water or wine
    _m("ketamine", "C13H17Cl2NO", 0.90),       # hydrochloride powder, loosely packed
    _m("packing_tape", "C3H6", 0.90),
    # Light inorganics and glass.
    _m("glass", "SiO2Na0.3Ca0.1", 2.50),
    _m("ceramic", "Al2O3SiO2", 2.40),
    _m("aluminium", "Al", 2.70),
    _m("magnesium", "Mg", 1.74),
    _m("pcb", "SiO2C8H8O2Cu0.2Br0.1", 1.85),
    _m("lithium_cell", "LiCoO2C6Cu0.3Al0.3", 2.60),  # cell-averaged
    _m("salt", "NaCl", 1.30),
    _m("ferrite", "Fe2O3Mn0.3Zn0.3", 4.80),
    _m("mica", "KAl3Si3O12H2", 2.80),          # heating-element boards
    # Metals.
    _m("steel", "Fe0.7Cr0.18Ni0.1C0.02", 7.90),
    _m("carbon_steel", "Fe0.98C0.02", 7.85),
    _m("copper", "Cu", 8.96),
    _m("brass", "Cu0.65Zn0.35", 8.50),
    _m("zinc_alloy", "Zn0.96Al0.04", 6.60),    # die-cast buckles, zamak
    _m("titanium", "Ti", 4.51),
    _m("tin", "Sn", 7.30),
    _m("nichrome", "Ni0.8Cr0.2", 8.40),        # heating wire
    _m("lead", "Pb", 11.34),
    _m("tungsten", "W", 19.30),
    _m("silver", "Ag", 10.49),
    _m("neodymium_magnet", "Nd2Fe14B", 7.50),
    _m("gold", "Au", 19.32),                   # 24 carat
    _m("gold_22k", "Au0.917Ag0.03Cu0.053", 17.8),  # bullion coins: Krugerrand, Eagle, Sovereign
    _m("gold_18k", "Au0.75Ag0.125Cu0.125", 15.6),
    _m("gold_14k", "Au0.585Ag0.2Cu0.215", 13.1),
])


def material(name: str) -> Material:
    """Look a material up by name; the error lists the known names."""
    try:
        return MATERIALS[name]
    except KeyError:
        known = ", ".join(sorted(MATERIALS))
        raise KeyError(f"unknown material {name!r}; known materials: {known}") from None
