"""A synthetic parcel stream for measuring the risk score: scans, manifests and party history.

Test and benchmark support, not part of the service: ``benchmarks/bench_risk.py`` measures the
risk score on it and the risk tests draw parcels from it (they load it with
``conftest.load_benchmark("scenarios")``; ``benchmarks/`` is not a package).

``generate(config, seed)`` returns a :class:`Scenario`: parcels (a synthetic dual-energy scan from
:func:`xscreen.datasets.scene.synthesise_scan`, its ground-truth threats, a manifest) and the
party history known before the stream starts. Contraband correlates with manifest signals, but
imperfectly, because that is what makes fusing worth measuring:

- some shippers and drop addresses are bad; most of them, not all, have earlier seizures on
  record, and they reappear under small spelling changes ("ACME Trading Co., Ltd" / "Acme Tradng");
- contraband is often, not always, declared as something that cannot hold it, under-valued,
  under-weighted, shipped from a listed origin, or by a first-time shipper;
- clean parcels sometimes look suspicious (catch-all descriptions, listed origins, cheap branded
  goods, a shipper with an old seizure), and some contraband comes with a spotless manifest.

Every probability lives in :class:`ScenarioConfig`; docs/risk.md says what the benchmark built on
this stream does and does not prove. Pure functions of (config, seed): parcel ``i`` draws its
manifest from ``default_rng([seed, i, 1])`` and its scan from ``default_rng([seed, i, 0])``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from xscreen import CLASSES
from xscreen.datasets.scene import Scan, SceneConfig, synthesise_scan
from xscreen.serving.manifest import Manifest, Money, Party, parse_manifest
from xscreen.serving.risk import InMemoryHistory, ScanFacts, party_keys, scan_facts

# (description, HS code) of ordinary e-commerce goods.
BENIGN_GOODS: tuple[tuple[str, str | None], ...] = (
    ("t-shirts", "6109.10"), ("clothing", "6204"), ("books", "4901"), ("phone case", "3926.90"),
    ("toys", "9503"), ("cosmetics", "3304.99"), ("kitchen utensils", "8215"),
    ("running shoes", "6404.11"), ("tea", "0902"), ("phone charger", "8504.40"),
    ("bluetooth speaker", "8518.22"), ("handbag", "4202.21"), ("wrist watch", "9102"),
    ("silver jewellery", "7113.11"), ("vitamins", "2106.90"), ("car parts", "8708"),
    ("stationery", "4820"), ("bed sheets", "6302"), ("LED lamp", "9405"),
    ("gift", None), ("sample", None), ("accessories", None), ("goods", None),
)
# What contraband of each class is declared as when the smuggler picks a plausible cover.
COVERS: dict[str, tuple[tuple[str, str | None], ...]] = {
    "firearm": (("car parts", "8708"), ("tools", "8205"), ("machine parts", "8487")),
    "narcotics": (("vitamins", "2106.90"), ("medicine", "3004.90"), ("tea", "0902"),
                  ("cosmetics", "3304.99")),
    "gold": (("jewellery", "7113.19"), ("gold plated jewellery", "7117"),
             ("coins", "7118.90")),
    "counterfeit": (("sneakers", "6404.11"), ("watches", "9102"), ("handbags", "4202.21"),
                    ("earbuds", "8518.30"), ("phone", "8517.13")),
}
BRANDS = ("Rolex", "Nike", "Gucci", "Louis Vuitton", "AirPods", "Adidas", "Cartier")
COUNTRIES = ("CN", "HK", "US", "DE", "GB", "TR", "IN", "TH", "VN", "JP", "PL", "AE")
RISK_ORIGINS = ("XA", "XB")     # the placeholder risk-list codes of serving/risk.yaml
CURRENCIES = ("USD", "USD", "USD", "EUR", "CNY", "GBP")
_USD_PER = {"USD": 1.0, "EUR": 1.08, "CNY": 0.14, "GBP": 1.27}
_NAME_PARTS = (
    ("Sunrise", "Golden", "Blue", "Pacific", "Northern", "Silver", "Eagle", "Lotus", "Harbor",
     "Summit", "Crystal", "Orient", "Maple", "Falcon", "Jade", "Atlas", "Coral", "Zenith",
     "Nova", "Delta", "Phoenix", "Ruby", "Granite", "Willow"),
    ("Star", "River", "Bridge", "Peak", "Wave", "Stone", "Field", "Gate", "Light", "Point",
     "Crown", "Way", "Port", "Leaf", "Line", "Path"),
    ("Trading", "Logistics", "Imports", "Electronics", "Commerce", "Supply", "Export",
     "Fashion", "Industrial", "Global"),
    ("Ltd", "Co., Ltd.", "LLC", "GmbH", "Inc.", "Limited", ""),
)
_STREETS = ("Main Street", "Harbour Road", "Station Avenue", "Mill Lane", "Church Road",
            "Park Avenue", "High Street", "Bridge Street", "Market Square", "Canal Road")


@dataclass(frozen=True)
class ScenarioConfig:
    """How the stream is drawn (shares are probabilities per parcel unless said otherwise)."""

    parcels: int = 400
    contraband_share: float = 0.08
    class_weights: tuple[float, ...] = (0.1, 0.35, 0.2, 0.35)   # CLASSES order
    width: int = 256              # scan size in pixels; the field of view stays a parcel's
    height: int = 192
    with_scans: bool = True       # False: no images (fast; ground truth = the intended class)
    shippers: int = 150           # regular shippers with a history
    bad_shippers: int = 12
    drop_addresses: int = 10      # consignee addresses used by smugglers
    known_bad_share: float = 0.65   # bad parties with earlier seizures on record
    clean_seizure_share: float = 0.03  # regular shippers with an old seizure (since reformed)
    bad_shipper_if_contraband: float = 0.4
    first_time_if_contraband: float = 0.3
    first_time_if_clean: float = 0.08
    bad_shipper_if_clean: float = 0.02
    drop_address_if_contraband: float = 0.3
    cover_if_contraband: float = 0.45     # a plausible description instead of a mismatched one
    undervalue_if_contraband: float = 0.5
    underweight_if_contraband: float = 0.45
    underweight_if_clean: float = 0.05
    brand_if_counterfeit: float = 0.35
    brand_if_clean: float = 0.04
    risk_origin_if_contraband: float = 0.35
    risk_origin_if_clean: float = 0.1
    transshipment_if_contraband: float = 0.2
    transshipment_if_clean: float = 0.05
    missing_field_share: float = 0.08     # each optional field dropped with this probability
    misspelling_share: float = 0.3        # a party's name written with a small variation

    def __post_init__(self) -> None:
        if self.parcels < 1:
            raise ValueError(f"parcels must be at least 1, got {self.parcels}")
        if len(self.class_weights) != len(CLASSES):
            raise ValueError(f"class_weights needs {len(CLASSES)} values ({', '.join(CLASSES)})")


@dataclass(frozen=True)
class PartyProfile:
    """A party of the simulated world, its canonical name and whether it smuggles."""

    name: str
    country: str
    bad: bool
    known: bool = False      # has earlier seizures on record


@dataclass
class Parcel:
    """One parcel of the stream: what the scanner saw and what the manifest says."""

    index: int
    manifest: Manifest
    labels: tuple[str, ...]               # ground truth: classes inside (empty: clean)
    scan: Scan | None = None
    facts: ScanFacts | None = None
    intended: str | None = None           # the class the generator meant to put in

    @property
    def contraband(self) -> bool:
        return bool(self.labels)


@dataclass
class World:
    """The parties of the simulated world and what customs knew before the stream."""

    shippers: list[PartyProfile]
    bad_shippers: list[PartyProfile]
    addresses: list[PartyProfile]         # drop addresses (the ``name`` is the address)
    history: InMemoryHistory = field(default_factory=InMemoryHistory)


@dataclass
class Scenario:
    """A stream of parcels and the history the risk score reads."""

    parcels: list[Parcel]
    history: InMemoryHistory
    config: ScenarioConfig


def generate(config: ScenarioConfig = ScenarioConfig(), seed: int = 0) -> Scenario:
    """The whole stream (parcel ``i`` draws from generators seeded by seed and i)."""
    world = make_world(config, np.random.default_rng([seed, 1_000_003]))
    parcels = [make_parcel(config, world, i, np.random.default_rng([seed, i, 1]),
                           np.random.default_rng([seed, i, 0]))
               for i in range(config.parcels)]
    return Scenario(parcels, world.history, config)


def make_world(config: ScenarioConfig, rng: np.random.Generator) -> World:
    """Regular and bad shippers, drop addresses, and their earlier parcels and seizures."""
    def party(bad: bool, known_share: float) -> PartyProfile:
        return PartyProfile(_company_name(rng), str(rng.choice(COUNTRIES)), bad,
                            bool(rng.random() < known_share))

    world = World([party(False, config.clean_seizure_share) for _ in range(config.shippers)],
                  [party(True, config.known_bad_share) for _ in range(config.bad_shippers)],
                  [PartyProfile(_address(rng), "", True, bool(rng.random() <
                                                               config.known_bad_share))
                   for _ in range(config.drop_addresses)])
    for profile in world.shippers + world.bad_shippers:
        keys = party_keys(Manifest(shipper=Party(name=profile.name)))
        for _ in range(int(rng.poisson(12)) + 1):
            world.history.record_parcel(keys)
        if profile.known:
            _record_seizures(world.history, keys, rng, config)
    for address in world.addresses:
        if address.known:
            keys = party_keys(Manifest(consignee=Party(address=address.name)))
            _record_seizures(world.history, keys, rng, config)
    return world


def _record_seizures(history: InMemoryHistory, keys: list[str], rng: np.random.Generator,
                     config: ScenarioConfig) -> None:
    for _ in range(int(rng.integers(1, 4))):
        history.record_seizure(keys, [_pick_class(rng, config)])


def _pick_class(rng: np.random.Generator, config: ScenarioConfig) -> str:
    weights = np.asarray(config.class_weights, np.float64)
    return CLASSES[int(rng.choice(len(CLASSES), p=weights / weights.sum()))]


def _company_name(rng: np.random.Generator) -> str:
    words = [str(rng.choice(part)) for part in _NAME_PARTS]
    return " ".join(word for word in words if word)


def _address(rng: np.random.Generator) -> str:
    return f"{int(rng.integers(1, 400))} {rng.choice(_STREETS)}, {int(rng.integers(10000, 99999))}"


def make_parcel(config: ScenarioConfig, world: World, index: int, rng: np.random.Generator,
                scan_rng: np.random.Generator) -> Parcel:
    """Draw whether the parcel holds contraband, its scan, then a manifest to go with it.

    The scan has its own generator, so a change in the synthesiser leaves the manifests'
    draws (all but the declared weight, which follows the scan) as they were.
    """
    intended = _pick_class(rng, config) if rng.random() < config.contraband_share else None
    scan, facts, labels = _scan(config, intended, scan_rng)
    manifest = make_manifest(config, world, intended, scan, facts, rng)
    return Parcel(index, manifest, labels, scan, facts, intended)


def _scan(config: ScenarioConfig, intended: str | None, rng: np.random.Generator
          ) -> tuple[Scan | None, ScanFacts | None, tuple[str, ...]]:
    """The synthetic scan (one threat of the intended class, or none) and its facts."""
    if not config.with_scans:
        return None, None, (intended,) if intended else ()
    weights = tuple(float(name == intended) for name in CLASSES) if intended else \
        (1.0,) * len(CLASSES)
    scene = SceneConfig(width=config.width, height=config.height,
                        threat_share=1.0 if intended else 0.0, max_threats=1,
                        class_weights=weights)
    scan = synthesise_scan(rng, scene)
    facts = scan_facts(scan.rgb, scan.high, scan.low, scan.pitch_mm)
    return scan, facts, tuple(sorted({a.label for a in scan.annotations}))


def make_manifest(config: ScenarioConfig, world: World, intended: str | None,
                  scan: Scan | None, facts: ScanFacts | None, rng: np.random.Generator
                  ) -> Manifest:
    """A manifest whose signals lean towards the intended contraband, imperfectly (see the
    module docs). A threat the synthesiser could not fit leaves a bad-looking, clean parcel."""
    bad = intended is not None
    description, hs_code = _goods(config, intended, rng)
    origin, shipper_country = _route(config, bad, rng)
    items = _item_count(scan, intended, rng)
    values = {
        "shipper": _shipper(config, world, bad, shipper_country, rng),
        "consignee": _consignee(config, world, bad, rng),
        "origin_country": origin, "hs_code": hs_code, "description": description,
        "declared_value": _value(config, intended, description, items, rng),
        "declared_weight_kg": _weight(config, bad, facts, rng),
        "item_count": items, "mail_order": bool(rng.random() < (0.8 if bad else 0.6)),
        "platform": str(rng.choice(("ShopFast", "MegaMart", "BazaarNow"))),
        "seller_id": f"S{int(rng.integers(1, 5000)):05d}",
        "carrier": str(rng.choice(("PostNet", "QuickShip", "AirParcel"))),
        "declaration_id": f"D{int(rng.integers(0, 10**9)):09d}",
    }
    optional = ("description", "hs_code", "declared_value", "declared_weight_kg", "item_count",
                "origin_country", "consignee")
    for key in optional:
        if rng.random() < config.missing_field_share:
            values[key] = None
    return parse_manifest(Manifest(**values).to_dict())    # validated and normalised


def _goods(config: ScenarioConfig, intended: str | None, rng: np.random.Generator
           ) -> tuple[str, str | None]:
    """A description and HS code: a plausible cover, a mismatch, or ordinary goods."""
    if intended is not None and rng.random() < config.cover_if_contraband:
        description, hs_code = COVERS[intended][int(rng.integers(len(COVERS[intended])))]
    else:
        description, hs_code = BENIGN_GOODS[int(rng.integers(len(BENIGN_GOODS)))]
    brand_share = config.brand_if_counterfeit if intended == "counterfeit" else \
        config.brand_if_clean
    if rng.random() < brand_share:
        description = f"{rng.choice(BRANDS)} {description}"
    return description, hs_code


def _route(config: ScenarioConfig, bad: bool, rng: np.random.Generator) -> tuple[str, str]:
    """Origin country and the shipper's country (different when transshipped)."""
    listed = config.risk_origin_if_contraband if bad else config.risk_origin_if_clean
    origin = str(rng.choice(RISK_ORIGINS if rng.random() < listed else COUNTRIES))
    moved = config.transshipment_if_contraband if bad else config.transshipment_if_clean
    return origin, str(rng.choice(COUNTRIES)) if rng.random() < moved else origin


def _shipper(config: ScenarioConfig, world: World, bad: bool, country: str,
             rng: np.random.Generator) -> Party:
    """A regular, a bad or a first-time shipper, the name possibly misspelt."""
    draw = rng.random()
    to_bad = config.bad_shipper_if_contraband if bad else config.bad_shipper_if_clean
    first = config.first_time_if_contraband if bad else config.first_time_if_clean
    if draw < to_bad:
        name = world.bad_shippers[int(rng.integers(len(world.bad_shippers)))].name
    elif draw < to_bad + first:
        name = _company_name(rng) + f" {int(rng.integers(2, 99))}"   # unseen before
    else:
        name = world.shippers[int(rng.integers(len(world.shippers)))].name
    return Party(name=misspell(name, rng, config.misspelling_share), country=country)


def _consignee(config: ScenarioConfig, world: World, bad: bool,
               rng: np.random.Generator) -> Party:
    """A private consignee; smugglers often use a drop address."""
    share = config.drop_address_if_contraband if bad else 0.005
    if rng.random() < share:
        address = world.addresses[int(rng.integers(len(world.addresses)))].name
    else:
        address = _address(rng)
    name = f"{rng.choice(('A.', 'J.', 'M.', 'K.', 'S.'))} {rng.choice(_NAME_PARTS[0])}"
    return Party(name=name, address=misspell(address, rng, config.misspelling_share))


def misspell(text: str, rng: np.random.Generator, share: float) -> str:
    """With probability ``share``, a small variation: case, punctuation, a dropped letter."""
    if rng.random() >= share:
        return text
    kind = int(rng.integers(3))
    if kind == 0:
        return text.upper()
    if kind == 1:
        return text.replace(" ", "  ").replace(",", "") + "."
    cut = int(rng.integers(1, max(2, len(text) - 1)))
    return text[:cut] + text[cut + 1:]


def _item_count(scan: Scan | None, intended: str | None, rng: np.random.Generator) -> int:
    """Declared items: honest for clean parcels, often one for a counterfeit lot."""
    if intended == "counterfeit" and scan is not None and rng.random() < 0.6:
        return int(rng.integers(1, 3))
    return int(rng.integers(1, 6))


def _value(config: ScenarioConfig, intended: str | None, description: str, items: int,
           rng: np.random.Generator) -> Money:
    """A declared value: genuine-looking, or under-valued for most contraband."""
    usd = float(np.exp(rng.normal(np.log(25.0 * items), 0.7)))
    if any(brand.casefold() in description.casefold() for brand in BRANDS):
        usd *= 6.0                               # genuine branded goods cost more ...
    if intended is not None and rng.random() < config.undervalue_if_contraband:
        usd = float(rng.uniform(2.0, 12.0))      # ... and smugglers declare next to nothing
    currency = str(rng.choice(CURRENCIES))
    return Money(round(usd / _USD_PER[currency], 2), currency)


def _weight(config: ScenarioConfig, bad: bool, facts: ScanFacts | None,
            rng: np.random.Generator) -> float | None:
    """Declared weight around the scan's own estimate; under-declared for some contraband.

    The honest weight is drawn around :func:`scan_facts`' estimate (the simulator does not
    track the true mass), so this stream does not test the estimator's accuracy.
    """
    if facts is None or facts.estimated_mass_kg is None:
        return round(float(rng.uniform(0.3, 3.0)), 2)
    mass = facts.estimated_mass_kg
    under = config.underweight_if_contraband if bad else config.underweight_if_clean
    factor = rng.uniform(0.2, 0.5) if rng.random() < under else np.exp(rng.normal(0.0, 0.15))
    return round(max(0.05, mass * float(factor)), 2)
