"""The built-in targeting rules, each registered once with its name, settings model and function.

Each rule reads the parcel's :class:`~xscreen.serving.risk.facts.Evidence` and its own section
of ``risk.yaml`` (checked as the model it is registered with) and returns its factors: none
when it does not apply, else points and a sentence an operator understands. Every rule's points
are non-negative and non-decreasing in the detections and the confirmed seizures, so a new
detection or seizure never lowers the score (tests/serving/test_risk_properties.py).
Factors are listed in the order the rules are registered here. docs/risk.md explains each rule;
the package docstring shows how to add one.
"""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import model_validator

from xscreen import CLASSES
from xscreen.serving.manifest import Money
from xscreen.serving.risk.config import Chapter, Count, Country, Number, Share, Words, shaped
from xscreen.serving.risk.facts import Evidence, mentions
from xscreen.serving.risk.parties import ROLES, party_names
from xscreen.serving.risk.registry import RULES, Factor
from xscreen.typedconfig import Strict

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


# --- the rules, in the order their factors are listed; each one's settings model (its
# section of risk.yaml) stands above it


class PointsRule(Strict):
    """The section of a rule that adds fixed points (``mail_order: {points: 3}``)."""

    points: Number


@RULES.register("detection", parts=CLASSES)
def detection_factors(evidence: Evidence, _: None) -> list[Factor]:
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


@RULES.register("declared_content", PointsRule, parts=CLASSES)
def declared_content_factors(evidence: Evidence, settings: PointsRule) -> list[Factor]:
    """A class seen that neither the description nor the HS chapter can hold."""
    manifest, config = evidence.manifest, evidence.config
    chapter = manifest.hs_chapter if manifest.hs_chapter in config.hs_chapters else None
    if not evidence.words and chapter is None:
        return []     # nothing (known) declared to compare with
    factors = []
    for label, found in sorted(evidence.by_class.items()):
        rule = config.classes.get(label)
        if rule is None or chapter in rule.chapters or mentions(evidence.words, rule.keywords):
            continue
        points = settings.points * max(min(f.score, 1.0) for f in found)
        factors.append(Factor(f"declared_content.{label}", round(points, 1),
                              f"{_class_phrase(evidence, label)}, {declared_as(evidence)}"))
    return factors


class WeightRule(Strict):
    """``weight``: the scan's water-equivalent mass against the declared weight."""

    points: Number                # reached at full_at_ratio (log scale from min_ratio)
    min_ratio: Number
    full_at_ratio: Number
    min_difference_kg: Number

    @model_validator(mode="after")
    def _ordered(self) -> WeightRule:
        if not self.full_at_ratio > self.min_ratio >= 1.0:
            raise ValueError(f"needs full_at_ratio > min_ratio >= 1, got min_ratio "
                             f"{self.min_ratio:g}, full_at_ratio {self.full_at_ratio:g}")
        return self


@RULES.register("weight", WeightRule)
def weight_factors(evidence: Evidence, rule: WeightRule) -> list[Factor]:
    """The scan implies much more mass than was declared (under-declared weight)."""
    declared = evidence.manifest.declared_weight_kg
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


class ItemCountRule(Strict):
    """``item_count``: more items detected than declared."""

    points_per_item: Number
    max_points: Number


@RULES.register("item_count", ItemCountRule)
def item_count_factors(evidence: Evidence, rule: ItemCountRule) -> list[Factor]:
    """More objects detected than the manifest's item count."""
    declared, seen = evidence.manifest.item_count, len(evidence.findings)
    if declared is None or seen <= declared:
        return []
    points = min(rule.max_points, rule.points_per_item * (seen - declared))
    return [Factor("item_count", round(points, 1),
                   f"{_plural(seen, 'object')} detected but {declared} declared")]


class CounterfeitLotRule(Strict):
    """``counterfeit_lot``: many counterfeit-prone items, cheap per item, vague description."""

    points: Number
    min_items: Count
    full_at_items: Count
    cheap_usd_per_item: Number
    keywords: Words

    @model_validator(mode="after")
    def _ordered(self) -> CounterfeitLotRule:
        if not 1 <= self.min_items <= self.full_at_items:
            raise ValueError(f"needs 1 <= min_items <= full_at_items, got min_items "
                             f"{self.min_items}, full_at_items {self.full_at_items}")
        return self


@RULES.register("counterfeit_lot", CounterfeitLotRule)
def counterfeit_lot_factors(evidence: Evidence, rule: CounterfeitLotRule) -> list[Factor]:
    """Many counterfeit-prone items, cheap per item, with a catch-all description."""
    count = len(evidence.by_class.get("counterfeit", []))
    if count < rule.min_items:
        return []
    size = (count - rule.min_items + 1) / (rule.full_at_items - rule.min_items + 1)
    per_item = evidence.value_usd / count if evidence.value_usd is not None else None
    cheap = 0.5 if per_item is None else float(per_item < rule.cheap_usd_per_item)
    words = mentions(evidence.words, rule.keywords)
    evidence_share = 0.4 + 0.4 * cheap + 0.2 * bool(words)
    points = rule.points * min(size, 1.0) * evidence_share
    detail = f"a lot of {_plural(count, 'counterfeit-prone item')} {declared_as(evidence)}"
    if per_item is not None:
        detail += f" (about {per_item:,.0f} USD each)"
    return [Factor("counterfeit_lot", round(points, 1), detail)]


class BrandValueRule(Strict):
    """``brand_value``: a famous brand declared far below what it sells for."""

    points: Number
    min_usd_per_item: Number
    keywords: Words


@RULES.register("brand_value", BrandValueRule)
def brand_value_factors(evidence: Evidence, rule: BrandValueRule) -> list[Factor]:
    """A famous brand named in the description at a price no genuine item sells for."""
    brands = mentions(evidence.words, rule.keywords)
    if not brands or evidence.value_usd is None:
        return []
    items = max(evidence.manifest.item_count or 1, 1)
    per_item = evidence.value_usd / items
    if per_item >= rule.min_usd_per_item:
        return []
    return [Factor("brand_value", rule.points,
                   f"'{brands[0]}' declared at about {per_item:,.0f} USD per item")]


class LowValueRule(Strict):
    """``low_value``: declared value per declared kilogram."""

    points: Number
    min_usd_per_kg: Number


@RULES.register("low_value", LowValueRule)
def low_value_factors(evidence: Evidence, rule: LowValueRule) -> list[Factor]:
    """A declared value per declared kilogram too low for any real goods."""
    weight = evidence.manifest.declared_weight_kg
    if evidence.value_usd is None or not weight or weight <= 0:
        return []
    per_kg = evidence.value_usd / weight
    if per_kg >= rule.min_usd_per_kg:
        return []
    return [Factor("low_value", rule.points,
                   f"declared at {per_kg:,.2f} USD per kg ({weight:g} kg)")]


class DenseAreaRule(Strict):
    """``dense_area``: the scanners' high-density alert."""

    points: Number
    min_fraction: Number
    full_at_fraction: Number

    @model_validator(mode="after")
    def _ordered(self) -> DenseAreaRule:
        if not 0 < self.min_fraction < self.full_at_fraction <= 1:
            raise ValueError(f"needs 0 < min_fraction < full_at_fraction <= 1, got "
                             f"min_fraction {self.min_fraction:g}, full_at_fraction "
                             f"{self.full_at_fraction:g}")
        return self


@RULES.register("dense_area", DenseAreaRule)
def dense_area_factors(evidence: Evidence, rule: DenseAreaRule) -> list[Factor]:
    """Areas the X-ray cannot see through (the high-density alert): anything could hide there."""
    scan = evidence.scan
    if scan is None or scan.dense_regions == 0 or scan.dense_fraction < rule.min_fraction:
        return []
    points = rule.points * min(1.0, scan.dense_fraction / rule.full_at_fraction)
    return [Factor("dense_area", round(points, 1),
                   f"{_plural(scan.dense_regions, 'area')} the X-ray cannot see through "
                   f"({scan.dense_fraction:.0%} of the parcel)")]   # advice: score.with_advice


Role = Annotated[str, shaped("|".join(ROLES), f"one of {', '.join(ROLES)}")]


class PartyHistoryRule(Strict):
    """``party_history``: confirmed seizures linked to the parties."""

    points_per_seizure: Number
    max_points: Number            # per role
    fuzzy_ratio: Share
    roles: dict[Role, Number]     # how much a link through each kind of party key counts


@RULES.register("party_history", PartyHistoryRule, parts=ROLES)
def party_history_factors(evidence: Evidence, rule: PartyHistoryRule) -> list[Factor]:
    """Confirmed seizures linked to each of the parcel's parties."""
    if evidence.history is None:
        return []
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


@RULES.register("first_time_shipper", PointsRule)
def first_time_shipper_factors(evidence: Evidence, rule: PointsRule) -> list[Factor]:
    """No earlier parcel from this shipper."""
    shippers = [(k, name) for k, name in party_names(evidence.manifest).items()
                if k.startswith("shipper:")]
    if evidence.history is None or not shippers or evidence.history.parcels_seen(shippers[0][0]):
        return []
    return [Factor("first_time_shipper", rule.points,
                   f"first parcel from shipper {_quote(shippers[0][1])}")]


def _shipper_country(evidence: Evidence) -> str | None:
    shipper = evidence.manifest.shipper
    return shipper.country if shipper else None


class OriginRule(Strict):
    """``origin``: country (origin, else the shipper's) -> points."""

    countries: dict[Country, Number]


@RULES.register("origin", OriginRule)
def origin_factors(evidence: Evidence, rule: OriginRule) -> list[Factor]:
    """The origin (else the shipper's) country is on the risk list."""
    origin = evidence.manifest.origin_country or _shipper_country(evidence)
    if origin is None or origin not in rule.countries:
        return []
    return [Factor("origin", rule.countries[origin], f"origin {origin} is on the risk list")]


class RouteRule(Strict):
    """``route``: transshipment."""

    transshipment_points: Number


@RULES.register("route", RouteRule)
def route_factors(evidence: Evidence, rule: RouteRule) -> list[Factor]:
    """Transshipment: the shipper's country is not the origin country."""
    origin, shipper_country = evidence.manifest.origin_country, _shipper_country(evidence)
    if not (origin and shipper_country and shipper_country != origin):
        return []
    return [Factor("route", rule.transshipment_points,
                   f"goods from {origin} shipped by a party in {shipper_country}")]


@RULES.register("mail_order", PointsRule)
def mail_order_factors(evidence: Evidence, rule: PointsRule) -> list[Factor]:
    """E-commerce (mail-order) parcels carry most counterfeits and small drug orders."""
    if not evidence.manifest.mail_order:
        return []
    return [Factor("mail_order", rule.points, "mail-order parcel")]


class ControlledGoodsRule(Strict):
    """``controlled_goods``: HS chapter -> points when declared."""

    chapters: dict[Chapter, Number]


@RULES.register("controlled_goods", ControlledGoodsRule)
def controlled_goods_factors(evidence: Evidence, rule: ControlledGoodsRule) -> list[Factor]:
    """Goods declared under an HS chapter that needs a licence or a closer look."""
    chapter = evidence.manifest.hs_chapter
    if chapter is None or chapter not in rule.chapters:
        return []
    return [Factor("controlled_goods", rule.chapters[chapter],
                   f"declared as {_hs_text(evidence)}: controlled goods")]


class VagueDescriptionRule(Strict):
    """``vague_description``: a short description made only of catch-all words."""

    points: Number
    max_words: Count
    keywords: Words


@RULES.register("vague_description", VagueDescriptionRule)
def vague_description_factors(evidence: Evidence, rule: VagueDescriptionRule) -> list[Factor]:
    """A short description made only of catch-all words."""
    count = len(evidence.words.split())
    if not (0 < count <= rule.max_words and mentions(evidence.words, rule.keywords)):
        return []
    return [Factor("vague_description", rule.points,
                   f"vague description {_quote(evidence.manifest.description or '')}")]


@RULES.register("unknown_codes", PointsRule, factors=("unknown_currency", "unknown_hs_code"))
def unknown_code_factors(evidence: Evidence, rule: PointsRule) -> list[Factor]:
    """A well-formed currency or HS chapter the configuration does not know: reported, never
    guessed (the value or chapter is then left out of the other rules)."""
    manifest, config = evidence.manifest, evidence.config
    factors = []
    value = manifest.declared_value
    if value is not None and value.currency not in config.currencies:
        factors.append(Factor("unknown_currency", rule.points,
                              f"currency {value.currency!r} is not a known ISO 4217 code: "
                              "the declared value was not compared"))
    chapter = manifest.hs_chapter
    if chapter is not None and chapter not in config.hs_chapters:
        factors.append(Factor("unknown_hs_code", rule.points,
                              f"HS code {format_hs(manifest.hs_code or '')!r} (chapter "
                              f"{chapter}) is not a known HS chapter: it was not compared "
                              "with what was seen"))
    return factors
