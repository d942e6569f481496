"""The cargo risk score: what the X-ray saw, fused with the manifest and the parties' history.

``risk(findings, manifest, history, config, scan=None)`` is a pure function (no web framework, no
database): targeting rules each add points and a sentence an operator understands; the points'
sum ``P`` becomes the score ``100 * (1 - exp(-P / saturation_points))``, which stays in 0-100 and
never falls when a rule adds points. Bands turn the score into a level and an action
(low/release, medium/review, high/inspect). Every rule's points are non-negative and
non-decreasing in the detections and in the confirmed seizures, so a new detection or a new
seizure never lowers the score (tests/serving/test_risk_properties.py checks it).

The rules, their weights and lists live in ``serving/risk.yaml`` (:func:`load_risk_config`);
docs/risk.md explains each one.
"""

from __future__ import annotations

import difflib
import math
import re
import typing
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import yaml

from xscreen import CLASSES
from xscreen.errors import XscreenError
from xscreen.serving.manifest import Manifest, Money

LEVELS = ("low", "medium", "high")
ACTIONS = {"low": "release", "medium": "review", "high": "inspect"}
ROLES = ("shipper", "consignee", "consignee_id", "address", "seller", "platform")
_FUZZY_ROLES = frozenset({"shipper", "consignee", "address"})   # ids link only when equal
_FUZZY_MIN_CHARS = 6          # shorter names ("li wei") link only when equal
# The names factors carry: a rule's name, or "<rule>.<class or role>" for the per-class and
# per-role rules. ``factor_weights`` keys are either.
PER_CLASS_RULES = ("detection", "declared_content")
RULE_NAMES = (*PER_CLASS_RULES, "weight", "item_count", "counterfeit_lot", "brand_value",
              "low_value", "dense_area", "party_history", "first_time_shipper", "origin", "route",
              "mail_order", "controlled_goods", "vague_description", "unknown_currency",
              "unknown_hs_code")


def is_factor_key(key: str) -> bool:
    """A rule name, ``detection.<class>``, ``declared_content.<class>`` or
    ``party_history.<role>``."""
    rule, _, part = key.partition(".")
    if not part:
        return rule in RULE_NAMES
    return (rule in PER_CLASS_RULES and part in CLASSES) or (
        rule == "party_history" and part in ROLES)


def factor_weight(weights: dict[str, float], name: str) -> float:
    """The multiplier of a factor: its own name's, else its rule's, else 1."""
    if name in weights:
        return weights[name]
    return weights.get(name.partition(".")[0], 1.0)

# ---------------------------------------------------------------------------------------------
# Configuration (serving/risk.yaml)


class RiskConfigError(XscreenError):
    """The risk configuration is malformed; ``key`` names the offending key (dotted path)."""

    def __init__(self, key: str, message: str, source: str = "risk config") -> None:
        super().__init__(f"{source}: key {key!r} {message}")
        self.key, self.message = key, message


@dataclass(frozen=True)
class Bands:
    medium: float
    high: float


@dataclass(frozen=True)
class ClassRule:
    severity: float
    noun: str
    chapters: tuple[str, ...]
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class PointsRule:
    points: float


@dataclass(frozen=True)
class WeightRule:
    points: float
    min_ratio: float
    full_at_ratio: float
    min_difference_kg: float


@dataclass(frozen=True)
class ItemCountRule:
    points_per_item: float
    max_points: float


@dataclass(frozen=True)
class CounterfeitLotRule:
    points: float
    min_items: int
    full_at_items: int
    cheap_usd_per_item: float
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class BrandValueRule:
    points: float
    min_usd_per_item: float
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class LowValueRule:
    points: float
    min_usd_per_kg: float


@dataclass(frozen=True)
class DenseAreaRule:
    points: float
    min_fraction: float
    full_at_fraction: float


@dataclass(frozen=True)
class PartyHistoryRule:
    points_per_seizure: float
    max_points: float
    fuzzy_ratio: float
    roles: dict[str, float]


@dataclass(frozen=True)
class OriginRule:
    countries: dict[str, float]


@dataclass(frozen=True)
class RouteRule:
    transshipment_points: float


@dataclass(frozen=True)
class ControlledGoodsRule:
    chapters: dict[str, float]


@dataclass(frozen=True)
class VagueDescriptionRule:
    points: float
    max_words: int
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class RiskConfig:
    """The whole of ``risk.yaml``, validated (see the file for what each key means)."""

    version: str
    saturation_points: float
    bands: Bands
    classes: dict[str, ClassRule]
    declared_content: PointsRule
    weight: WeightRule
    item_count: ItemCountRule
    counterfeit_lot: CounterfeitLotRule
    brand_value: BrandValueRule
    low_value: LowValueRule
    dense_area: DenseAreaRule
    party_history: PartyHistoryRule
    first_time_shipper: PointsRule
    origin: OriginRule
    route: RouteRule
    mail_order: PointsRule
    controlled_goods: ControlledGoodsRule
    vague_description: VagueDescriptionRule
    unknown_codes: PointsRule
    currencies: dict[str, float]
    hs_chapters: dict[str, str]
    # optional: multipliers of factors' points, by factor name ("detection.gold") or rule
    # ("party_history"); usually written by `xscreen risk fit` from operators' verdicts
    factor_weights: dict[str, float] = field(default_factory=dict)


def load_risk_config(path: str | Path | None = None) -> RiskConfig:
    """Read and validate a risk YAML file (default: the packaged ``serving/risk.yaml``).

    Raises :class:`RiskConfigError` naming the key for unknown, missing or invalid keys.
    """
    if path is None:
        source = "serving/risk.yaml"
        text = resources.files("xscreen.serving").joinpath("risk.yaml").read_text()
    else:
        source = str(path)
        try:
            text = Path(path).read_text()
        except OSError as error:
            raise RiskConfigError("(file)", f"cannot be read: {error}", source) from None
    try:
        values = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise RiskConfigError("(file)", f"is not valid YAML: {error}", source) from None
    return risk_config_from_dict(values, source)


def risk_config_from_dict(values: Any, source: str = "risk config") -> RiskConfig:
    """Build and check a :class:`RiskConfig` from parsed YAML."""
    try:
        config = _build(RiskConfig, values, "")
        _check(config)
    except RiskConfigError as error:
        raise RiskConfigError(error.key, error.message, source) from None
    return config


def _build(kind: type, values: Any, where: str) -> Any:
    """An instance of dataclass ``kind`` from a mapping; every key required, none unknown."""
    if not isinstance(values, dict):
        raise RiskConfigError(where or "(top level)", f"must be a mapping, got {values!r:.60}")
    hints = typing.get_type_hints(kind)
    names = [f.name for f in fields(kind)]
    for key in values:
        if key not in names:
            raise RiskConfigError(_join(where, key), f"is unknown; known keys here: "
                                  f"{', '.join(names)}")
    optional = {f.name for f in fields(kind)
                if f.default is not MISSING or f.default_factory is not MISSING}
    for name in names:
        if name not in values and name not in optional:
            raise RiskConfigError(_join(where, name), "is missing")
    return kind(**{name: _convert(hints[name], values[name], _join(where, name))
                   for name in names if name in values})


def _join(where: str, key: Any) -> str:
    return f"{where}.{key}" if where else str(key)


def _convert(hint: Any, value: Any, where: str) -> Any:
    """``value`` as type ``hint`` (float, int, str, tuple[str, ...], dict[str, X], dataclass)."""
    origin = typing.get_origin(hint)
    if is_dataclass(hint):
        return _build(typing.cast(type, hint), value, where)
    if origin is dict:
        if not isinstance(value, dict):
            raise RiskConfigError(where, f"must be a mapping, got {value!r:.60}")
        item_type = typing.get_args(hint)[1]
        return {str(k): _convert(item_type, v, _join(where, k)) for k, v in value.items()}
    if origin is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise RiskConfigError(where, f"must be a list of strings, got {value!r:.60}")
        return tuple(value)
    if hint is str:
        if not isinstance(value, str) or not value.strip():
            raise RiskConfigError(where, f"must be a non-empty string, got {value!r:.60}")
        return value
    return _number(hint, value, where)


def _number(hint: Any, value: Any, where: str) -> float | int:
    """A finite number >= 0 (every number in the risk config is)."""
    wanted = "a whole number" if hint is int else "a number"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RiskConfigError(where, f"must be {wanted} >= 0, got {value!r:.60}")
    if hint is int and not float(value).is_integer():
        raise RiskConfigError(where, f"must be a whole number, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise RiskConfigError(where, f"must be {wanted} >= 0, got {value!r}")
    return int(value) if hint is int else float(value)


def _check(config: RiskConfig) -> None:
    """Relations between keys that types alone cannot express."""
    _require(config.saturation_points > 0, "saturation_points", "must be above 0")
    _require(0 < config.bands.medium < config.bands.high <= 100, "bands",
             f"needs 0 < medium < high <= 100, got {config.bands}")
    missing = [name for name in CLASSES if name not in config.classes]
    _require(not missing, "classes", f"lacks the contract's classes {missing}")
    _require(config.weight.full_at_ratio > config.weight.min_ratio >= 1.0, "weight",
             "needs full_at_ratio > min_ratio >= 1")
    _require(1 <= config.counterfeit_lot.min_items <= config.counterfeit_lot.full_at_items,
             "counterfeit_lot", "needs 1 <= min_items <= full_at_items")
    _require(0 < config.dense_area.min_fraction < config.dense_area.full_at_fraction <= 1,
             "dense_area", "needs 0 < min_fraction < full_at_fraction <= 1")
    _require(0 < config.party_history.fuzzy_ratio <= 1, "party_history.fuzzy_ratio",
             "must be in (0, 1]")
    _check_keys(config.party_history.roles, "party_history.roles", lambda k: k in ROLES,
                f"one of {', '.join(ROLES)}")
    _check_codes(config)
    _check_keys(config.factor_weights, "factor_weights", is_factor_key,
                "a factor name (detection.<class>, declared_content.<class>, "
                "party_history.<role>) or a rule name")


def _check_codes(config: RiskConfig) -> None:
    """Country, currency and chapter keys must have their ISO / HS shapes."""
    def chapter(key: str) -> bool:
        return re.fullmatch(r"\d\d", key) is not None

    _check_keys(config.currencies, "currencies", lambda k: re.fullmatch("[A-Z]{3}", k) is not None,
                "a three-letter ISO 4217 code")
    for code, rate in config.currencies.items():
        _require(rate > 0, f"currencies.{code}", "must be above 0")
    _check_keys(config.origin.countries, "origin.countries",
                lambda k: re.fullmatch("[A-Z]{2}", k) is not None, "a two-letter country code")
    _check_keys(config.hs_chapters, "hs_chapters", chapter, "a two-digit HS chapter")
    _check_keys(config.controlled_goods.chapters, "controlled_goods.chapters", chapter,
                "a two-digit HS chapter")
    for name, rule in config.classes.items():
        for code in rule.chapters:
            _require(chapter(code), f"classes.{name}.chapters",
                     f"must hold two-digit HS chapters, got {code!r}")


def _check_keys(mapping: dict[str, Any], where: str, valid: Callable[[str], bool],
                wanted: str) -> None:
    for key in mapping:
        _require(valid(key), f"{where}.{key}", f"must be {wanted}")


def _require(condition: bool, key: str, message: str) -> None:
    if not condition:
        raise RiskConfigError(key, message)


# ---------------------------------------------------------------------------------------------
# What the pipeline hands over: findings and facts about the scan


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
# Party history


@dataclass(frozen=True)
class SeizureRecord:
    """A confirmed seizure linked to a party key (as stored: ``role:normalised``)."""

    key: str
    labels: tuple[str, ...] = ()
    scan_id: str | None = None


class PartyHistory(Protocol):
    """What the risk score asks of earlier verdicts (the service implements it over its DB)."""

    def seizures(self, keys: Sequence[str]) -> list[SeizureRecord]:
        """Confirmed seizures linked to any of ``keys`` (fuzzily: see :func:`keys_link`)."""
        ...

    def parcels_seen(self, key: str) -> int:
        """Earlier parcels linked to ``key``."""
        ...


_COMPANY_SUFFIXES = frozenset({
    "ltd", "limited", "llc", "inc", "incorporated", "co", "corp", "corporation", "company",
    "gmbh", "mbh", "ag", "sa", "sas", "sarl", "srl", "spa", "bv", "nv", "plc", "pty", "pte",
    "kk", "oy", "ab", "as", "kg", "lp", "llp", "ltda", "the", "and"})
_ADDRESS_WORDS = {"street": "st", "road": "rd", "avenue": "ave", "apartment": "apt",
                  "building": "bldg", "floor": "fl", "number": "no", "strasse": "str"}


def normalise_name(text: str) -> str:
    """Fold a party name so spelling variants meet: accents dropped, case folded, punctuation
    and company suffixes (Ltd, GmbH, Co., ...) removed, whitespace collapsed."""
    words = _words(text)
    kept = [word for word in words if word not in _COMPANY_SUFFIXES]
    return " ".join(kept or words)


def normalise_address(text: str) -> str:
    """Fold an address: as :func:`normalise_name`, with common street words abbreviated."""
    return " ".join(_ADDRESS_WORDS.get(word, word) for word in _words(text))


def _words(text: str) -> list[str]:
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return re.sub(r"[^\w]+|_", " ", plain).split()


def party_keys(manifest: Manifest) -> list[str]:
    """The manifest's normalised party keys: ``shipper:``, ``consignee:``, ``consignee_id:``,
    ``address:`` (the consignee's), ``seller:`` and ``platform:`` (those present)."""
    return list(party_names(manifest))


def party_names(manifest: Manifest) -> dict[str, str]:
    """Each party key of the manifest with the text it was folded from (for explanations)."""
    shipper, consignee = manifest.shipper, manifest.consignee
    candidates = [
        ("shipper", shipper.name if shipper else None, normalise_name),
        ("consignee", consignee.name if consignee else None, normalise_name),
        ("consignee_id", consignee.id if consignee else None, normalise_name),
        ("address", consignee.address if consignee else None, normalise_address),
        ("seller", manifest.seller_id, normalise_name),
        ("platform", manifest.platform, normalise_name),
    ]
    names = {}
    for role, text, fold in candidates:
        folded = fold(text) if text else ""
        if text and folded:
            names[f"{role}:{folded}"] = text
    return names


def keys_link(a: str, b: str, fuzzy_ratio: float = 0.88) -> bool:
    """Whether two party keys name the same party: same role and equal, or (names and
    addresses of 6+ characters) the same words in any order or a difflib ratio >= fuzzy_ratio."""
    role_a, _, text_a = a.partition(":")
    role_b, _, text_b = b.partition(":")
    if role_a != role_b:
        return False
    if text_a == text_b:
        return True
    if role_a not in _FUZZY_ROLES or min(len(text_a), len(text_b)) < _FUZZY_MIN_CHARS:
        return False
    if sorted(text_a.split()) == sorted(text_b.split()):
        return True
    matcher = difflib.SequenceMatcher(None, text_a, text_b, autojunk=False)
    return matcher.real_quick_ratio() >= fuzzy_ratio and matcher.ratio() >= fuzzy_ratio


def linked_keys(key: str, known: Iterable[str], fuzzy_ratio: float = 0.88) -> list[str]:
    """The keys among ``known`` that :func:`keys_link` to ``key`` (for PartyHistory stores)."""
    return [other for other in known if keys_link(key, other, fuzzy_ratio)]


class InMemoryHistory:
    """A :class:`PartyHistory` in memory, for tests and the benchmark."""

    def __init__(self, fuzzy_ratio: float = 0.88) -> None:
        self.fuzzy_ratio = fuzzy_ratio
        self._seizures: dict[str, list[SeizureRecord]] = defaultdict(list)
        self._seen: Counter[str] = Counter()
        self._links: dict[tuple[str, str], bool] = {}

    def record_parcel(self, keys: Iterable[str]) -> None:
        """Count a parcel for each of its party keys."""
        self._seen.update(set(keys))

    def record_seizure(self, keys: Iterable[str], labels: Sequence[str] = (),
                       scan_id: str | None = None) -> None:
        """A confirmed seizure (an operator's ``threat_confirmed`` verdict) linked to ``keys``."""
        for key in set(keys):
            self._seizures[key].append(SeizureRecord(key, tuple(labels), scan_id))

    def seizures(self, keys: Sequence[str]) -> list[SeizureRecord]:
        """Seizures whose key links to any of ``keys``."""
        return [record for stored in self._linked(keys, self._seizures)
                for record in self._seizures[stored]]

    def parcels_seen(self, key: str) -> int:
        """Parcels whose key links to ``key``."""
        return sum(self._seen[stored] for stored in self._linked([key], self._seen))

    def _linked(self, keys: Sequence[str], known: Iterable[str]) -> list[str]:
        stored = list(known)
        return [other for other in stored
                if any(self._link(key, other) for key in keys)]

    def _link(self, key: str, other: str) -> bool:
        """:func:`keys_link`, memoised (difflib is the slow part of scoring)."""
        pair = (key, other)
        if pair not in self._links:
            self._links[pair] = keys_link(key, other, self.fuzzy_ratio)
        return self._links[pair]


# ---------------------------------------------------------------------------------------------
# The assessment


@dataclass(frozen=True)
class Factor:
    """One rule's contribution: its name, points and a sentence for the operator."""

    name: str
    points: float
    detail: str


@dataclass(frozen=True)
class RiskAssessment:
    """Score 0-100, level (low/medium/high), action (release/review/inspect), and why.

    ``points`` is the factors' sum and ``saturation_points`` the scale that turns it into the
    score; ``leading`` is the finding that drives the risk (the most serious class seen, then
    the most confident of it), which a queue shows rather than the most confident of all.
    """

    score: float
    level: str
    action: str
    factors: tuple[Factor, ...]
    config_version: str
    points: float = 0.0
    saturation_points: float = 50.0
    leading: Finding | None = None

    def to_dict(self) -> dict[str, Any]:
        """The CONTRACT's ``risk`` object, plus ``config_version``, the points' sum and how the
        score comes from it (``explanation``), and the leading finding."""
        leading = None if self.leading is None else {
            "label": self.leading.label, "score": self.leading.score,
            "box": list(self.leading.box)}
        return {"score": self.score, "level": self.level, "action": self.action,
                "factors": [{"name": f.name, "points": f.points, "detail": f.detail}
                            for f in self.factors],
                "points": self.points, "saturation_points": self.saturation_points,
                "explanation": explain_score(self.points, self.saturation_points, self.score),
                "leading_finding": leading,
                "config_version": self.config_version}


def saturate(points: float, saturation_points: float) -> float:
    """The score of a points' sum: ``100 * (1 - exp(-points / saturation_points))``, to 0.1."""
    return round(100.0 * (1.0 - math.exp(-points / saturation_points)), 1)


def explain_score(points: float, saturation_points: float, score: float) -> str:
    """How the score comes from the points, in an operator's words: the sum, the formula with
    its numbers, and why points listed beside a high score add up to more than it."""
    if points <= 0:
        return "No rule added points, so the score is 0."
    steps = ", ".join(f"{n * saturation_points:g} give "
                      f"{saturate(n * saturation_points, saturation_points):g}" for n in (1, 2, 3))
    return (f"The points add up to {points:g}; the score is 100 × (1 − e^(−{points:g} / "
            f"{saturation_points:g})) = {score:g}. Each point counts for less as the total "
            f"grows ({steps}), so the score never passes 100 and beyond about "
            f"{2 * saturation_points:g} points more evidence changes it little.")


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


def risk(findings: Sequence[Finding], manifest: Manifest | None, history: PartyHistory | None,
         config: RiskConfig, scan: ScanFacts | None = None) -> RiskAssessment:
    """Score one parcel (see the module docstring); ``manifest`` and ``history`` may be None."""
    evidence = gather(findings, manifest or Manifest(), history, config, scan)
    factors = tuple(factor for rule in RULES for factor in rule(evidence))
    if config.factor_weights:
        factors = _weighted(factors, config.factor_weights)
    # the shown (rounded) points, summed to 0.1, are what the score comes from: they add up
    points = round(sum(factor.points for factor in factors), 1)
    score = saturate(points, config.saturation_points)
    level = level_of(score, config.bands)
    factors = with_advice(factors, ACTIONS[level])
    return RiskAssessment(score, level, ACTIONS[level], factors, config.version, points,
                          config.saturation_points, leading_finding(findings, config))


def leading_finding(findings: Sequence[Finding], config: RiskConfig) -> Finding | None:
    """The finding that drives the risk: of the class with the highest severity, the most
    confident (a firearm at 0.3 leads a gold buckle at 0.6)."""
    lowest = min((rule.severity for rule in config.classes.values()), default=0.0)

    def seriousness(finding: Finding) -> tuple[float, float]:
        rule = config.classes.get(finding.label)
        return (rule.severity if rule else lowest, finding.score)

    return max(findings, key=seriousness, default=None)


# What to do about a reason that calls for a look inside, by the assessment's action: advice to
# open must not stand beside "release" (the reason is then informational).
DENSE_AREA_ADVICE = {
    "release": "noted only: too little on its own to open the parcel",
    "review": "look closely at them in the image before deciding",
    "inspect": "open to see what is inside",
}


def with_advice(factors: tuple[Factor, ...], action: str) -> tuple[Factor, ...]:
    """The factors with the dense-area sentence ending in advice that agrees with ``action``."""
    return tuple(Factor(f.name, f.points, f"{f.detail}: {DENSE_AREA_ADVICE[action]}")
                 if f.name == "dense_area" else f for f in factors)


def _weighted(factors: tuple[Factor, ...], weights: dict[str, float]) -> tuple[Factor, ...]:
    """Each factor's points times its weight; a factor weighted to nothing is left out."""
    scaled = (Factor(f.name, round(f.points * factor_weight(weights, f.name), 1), f.detail)
              for f in factors)
    return tuple(f for f in scaled if f.points > 0)


def level_of(score: float, bands: Bands) -> str:
    """``high`` from ``bands.high``, ``medium`` from ``bands.medium``, else ``low``."""
    if score >= bands.high:
        return "high"
    return "medium" if score >= bands.medium else "low"


def gather(findings: Sequence[Finding], manifest: Manifest, history: PartyHistory | None,
           config: RiskConfig, scan: ScanFacts | None) -> Evidence:
    """Group the findings by class, convert the declared value, fold the description."""
    by_class: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        by_class[finding.label].append(finding)
    value = manifest.declared_value
    rate = config.currencies.get(value.currency) if value else None
    value_usd = value.amount * rate if value is not None and rate is not None else None
    words = f" {' '.join(_words(manifest.description))} " if manifest.description else ""
    return Evidence(tuple(findings), manifest, history, config, scan, dict(by_class), value_usd,
                    words)


def _mentions(words: str, keywords: Iterable[str]) -> list[str]:
    """The keywords (single words or phrases) that the folded description contains."""
    return [kw for kw in keywords if f" {' '.join(_words(kw))} " in words] if words else []


# --- explanations' phrases


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _money_text(value: Money) -> str:
    amount = f"{value.amount:,.0f}" if value.amount.is_integer() else f"{value.amount:,.2f}"
    return f"{amount} {value.currency}"


def _mass_text(kg: float) -> str:
    return f"about {kg:.1f} kg" if kg >= 0.1 else f"about {kg * 1000:.0f} g"


def _quote(text: str, limit: int = 40) -> str:
    return f"'{text if len(text) <= limit else text[:limit - 1] + '…'}'"


def _hs_text(evidence: Evidence) -> str | None:
    code, chapter = evidence.manifest.hs_code, evidence.manifest.hs_chapter
    if code is None or chapter is None:
        return None
    name = evidence.config.hs_chapters.get(chapter)
    return f"HS {format_hs(code)} ({name})" if name else f"HS {format_hs(code)}"


def format_hs(code: str) -> str:
    """HS digits as usually written: ``610910`` -> ``6109.10``, ``61091000`` -> ``6109.10.00``."""
    groups = [code[:4]] + [code[i:i + 2] for i in range(4, len(code), 2)]
    return ".".join(group for group in groups if group)


def declared_as(evidence: Evidence) -> str:
    """``declared as 'clothing' (HS 6109: ...) at 20 USD``, or what is missing."""
    manifest = evidence.manifest
    parts = [_quote(manifest.description)] if manifest.description else []
    hs = _hs_text(evidence)
    if hs:
        parts.append(hs)
    text = f"declared as {' / '.join(parts)}" if parts else "with no declared contents"
    if manifest.declared_value is not None:
        text += f" at {_money_text(manifest.declared_value)}"
    return text


def _class_phrase(evidence: Evidence, label: str) -> str:
    """``2 gold objects, about 1.1 kg`` for the findings of one class."""
    rule = evidence.config.classes.get(label)
    found = evidence.by_class[label]
    text = _plural(len(found), rule.noun if rule else f"{label} object")
    masses = [f.mass_kg for f in found if f.mass_kg is not None]
    return f"{text}, {_mass_text(sum(masses))}" if masses else text


# --- the rules: each returns its factors (none when it does not apply)


def detection_factors(evidence: Evidence) -> list[Factor]:
    """Each class seen: severity x P(at least one is real) = 1 - prod(1 - confidence)."""
    factors = []
    for label, found in sorted(evidence.by_class.items()):
        rule = evidence.config.classes.get(label)
        severity = rule.severity if rule else min(r.severity for r in
                                                  evidence.config.classes.values())
        miss = math.prod(1.0 - min(max(f.score, 0.0), 1.0) for f in found)
        top = max(f.score for f in found)
        factors.append(Factor(f"detection.{label}", round(severity * (1.0 - miss), 1),
                              f"{_class_phrase(evidence, label)} (confidence up to "
                              f"{top:.2f})"))
    return factors


def declared_content_factors(evidence: Evidence) -> list[Factor]:
    """A class seen that neither the description nor the HS chapter can hold."""
    manifest, config = evidence.manifest, evidence.config
    chapter = manifest.hs_chapter if manifest.hs_chapter in config.hs_chapters else None
    if not evidence.words and chapter is None:
        return []     # nothing (known) declared to compare with
    factors = []
    for label, found in sorted(evidence.by_class.items()):
        rule = config.classes.get(label)
        if rule is None or chapter in rule.chapters or _mentions(evidence.words, rule.keywords):
            continue
        points = config.declared_content.points * max(min(f.score, 1.0) for f in found)
        factors.append(Factor(f"declared_content.{label}", round(points, 1),
                              f"{_class_phrase(evidence, label)}, {declared_as(evidence)}"))
    return factors


def weight_factors(evidence: Evidence) -> list[Factor]:
    """The scan implies much more mass than was declared (under-declared weight)."""
    rule, declared = evidence.config.weight, evidence.manifest.declared_weight_kg
    implied = evidence.scan.estimated_mass_kg if evidence.scan else None
    if implied is None or declared is None or implied - declared < rule.min_difference_kg:
        return []
    ratio = implied / declared if declared > 0 else math.inf
    if ratio < rule.min_ratio:
        return []
    share = min(1.0, math.log(ratio / rule.min_ratio) / math.log(rule.full_at_ratio /
                                                                rule.min_ratio)) \
        if math.isfinite(ratio) else 1.0
    points = rule.points * max(share, 0.25)
    return [Factor("weight", round(points, 1),
                   f"the scan implies {_mass_text(implied)} but {declared:g} kg was declared")]


def item_count_factors(evidence: Evidence) -> list[Factor]:
    """More objects detected than the manifest's item count."""
    declared, seen = evidence.manifest.item_count, len(evidence.findings)
    if declared is None or seen <= declared:
        return []
    rule = evidence.config.item_count
    points = min(rule.max_points, rule.points_per_item * (seen - declared))
    return [Factor("item_count", round(points, 1),
                   f"{_plural(seen, 'object')} detected but {declared} declared")]


def counterfeit_lot_factors(evidence: Evidence) -> list[Factor]:
    """Many counterfeit-prone items, cheap per item, with a catch-all description."""
    rule = evidence.config.counterfeit_lot
    count = len(evidence.by_class.get("counterfeit", []))
    if count < rule.min_items:
        return []
    size = (count - rule.min_items + 1) / (rule.full_at_items - rule.min_items + 1)
    per_item = evidence.value_usd / count if evidence.value_usd is not None else None
    cheap = 0.5 if per_item is None else float(per_item < rule.cheap_usd_per_item)
    words = _mentions(evidence.words, rule.keywords)
    evidence_share = 0.4 + 0.4 * cheap + 0.2 * bool(words)
    points = rule.points * min(size, 1.0) * evidence_share
    detail = f"a lot of {_plural(count, 'counterfeit-prone item')} {declared_as(evidence)}"
    if per_item is not None:
        detail += f" (about {per_item:,.0f} USD each)"
    return [Factor("counterfeit_lot", round(points, 1), detail)]


def brand_value_factors(evidence: Evidence) -> list[Factor]:
    """A famous brand named in the description at a price no genuine item sells for."""
    rule = evidence.config.brand_value
    brands = _mentions(evidence.words, rule.keywords)
    if not brands or evidence.value_usd is None:
        return []
    items = max(evidence.manifest.item_count or 1, 1)
    per_item = evidence.value_usd / items
    if per_item >= rule.min_usd_per_item:
        return []
    return [Factor("brand_value", rule.points,
                   f"'{brands[0]}' declared at about {per_item:,.0f} USD per item")]


def low_value_factors(evidence: Evidence) -> list[Factor]:
    """A declared value per declared kilogram too low for any real goods."""
    rule, weight = evidence.config.low_value, evidence.manifest.declared_weight_kg
    if evidence.value_usd is None or not weight or weight <= 0:
        return []
    per_kg = evidence.value_usd / weight
    if per_kg >= rule.min_usd_per_kg:
        return []
    return [Factor("low_value", rule.points,
                   f"declared at {per_kg:,.2f} USD per kg ({weight:g} kg)")]


def dense_area_factors(evidence: Evidence) -> list[Factor]:
    """Areas the X-ray cannot see through (the high-density alert): anything could hide there."""
    rule, scan = evidence.config.dense_area, evidence.scan
    if scan is None or scan.dense_regions == 0 or scan.dense_fraction < rule.min_fraction:
        return []
    points = rule.points * min(1.0, scan.dense_fraction / rule.full_at_fraction)
    return [Factor("dense_area", round(points, 1),
                   f"{_plural(scan.dense_regions, 'area')} the X-ray cannot see through "
                   f"({scan.dense_fraction:.0%} of the parcel)")]   # advice: with_advice


def party_history_factors(evidence: Evidence) -> list[Factor]:
    """Confirmed seizures linked to each of the parcel's parties."""
    if evidence.history is None:
        return []
    rule = evidence.config.party_history
    factors = []
    for key, name in party_names(evidence.manifest).items():
        role = key.partition(":")[0]
        weight = rule.roles.get(role, 0.0)
        records = evidence.history.seizures([key]) if weight > 0 else []
        if not records:
            continue
        points = min(rule.max_points, rule.points_per_seizure * len(records) * weight)
        labels = sorted({label for record in records for label in record.labels})
        what = f" ({', '.join(labels)})" if labels else ""
        factors.append(Factor(f"party_history.{role}", round(points, 1),
                              f"{role.replace('_', ' ')} {_quote(name)} is linked to "
                              f"{_plural(len(records), 'confirmed seizure')}{what}"))
    return factors


def first_time_shipper_factors(evidence: Evidence) -> list[Factor]:
    """No earlier parcel from this shipper."""
    shippers = [(k, name) for k, name in party_names(evidence.manifest).items()
                if k.startswith("shipper:")]
    if evidence.history is None or not shippers or evidence.history.parcels_seen(shippers[0][0]):
        return []
    return [Factor("first_time_shipper", evidence.config.first_time_shipper.points,
                   f"first parcel from shipper {_quote(shippers[0][1])}")]


def origin_factors(evidence: Evidence) -> list[Factor]:
    """The origin (else the shipper's) country is on the risk list; transshipment."""
    manifest, config = evidence.manifest, evidence.config
    shipper_country = manifest.shipper.country if manifest.shipper else None
    origin = manifest.origin_country or shipper_country
    factors = []
    if origin in config.origin.countries:
        factors.append(Factor("origin", config.origin.countries[origin],
                              f"origin {origin} is on the risk list"))
    if manifest.origin_country and shipper_country and shipper_country != manifest.origin_country:
        factors.append(Factor("route", config.route.transshipment_points,
                              f"goods from {manifest.origin_country} shipped by a party in "
                              f"{shipper_country}"))
    return factors


def mail_order_factors(evidence: Evidence) -> list[Factor]:
    """E-commerce (mail-order) parcels carry most counterfeits and small drug orders."""
    if not evidence.manifest.mail_order:
        return []
    return [Factor("mail_order", evidence.config.mail_order.points, "mail-order parcel")]


def declaration_factors(evidence: Evidence) -> list[Factor]:
    """Controlled goods declared; catch-all descriptions."""
    config, chapter = evidence.config, evidence.manifest.hs_chapter
    factors = []
    if chapter in config.controlled_goods.chapters:
        factors.append(Factor("controlled_goods", config.controlled_goods.chapters[chapter],
                              f"declared as {_hs_text(evidence)}: controlled goods"))
    rule = config.vague_description
    count = len(evidence.words.split())
    if 0 < count <= rule.max_words and _mentions(evidence.words, rule.keywords):
        factors.append(Factor("vague_description", rule.points,
                              f"vague description {_quote(evidence.manifest.description or '')}"))
    return factors


def unknown_code_factors(evidence: Evidence) -> list[Factor]:
    """A well-formed currency or HS chapter the configuration does not know: reported, never
    guessed (the value or chapter is then left out of the other rules)."""
    manifest, config = evidence.manifest, evidence.config
    points = config.unknown_codes.points
    factors = []
    value = manifest.declared_value
    if value is not None and value.currency not in config.currencies:
        factors.append(Factor("unknown_currency", points,
                              f"currency {value.currency!r} is not a known ISO 4217 code: "
                              "the declared value was not compared"))
    chapter = manifest.hs_chapter
    if chapter is not None and chapter not in config.hs_chapters:
        factors.append(Factor("unknown_hs_code", points,
                              f"HS code {format_hs(manifest.hs_code or '')!r} (chapter "
                              f"{chapter}) is not a known HS chapter: it was not compared "
                              "with what was seen"))
    return factors


RULES: tuple[Callable[[Evidence], list[Factor]], ...] = (
    detection_factors, declared_content_factors, weight_factors, item_count_factors,
    counterfeit_lot_factors, brand_value_factors, low_value_factors, dense_area_factors,
    party_history_factors, first_time_shipper_factors, origin_factors, mail_order_factors,
    declaration_factors, unknown_code_factors,
)
"""The rules in the order their factors are listed."""


@lru_cache(maxsize=1)
def default_risk_config() -> RiskConfig:
    """The packaged configuration, loaded once."""
    return load_risk_config()
