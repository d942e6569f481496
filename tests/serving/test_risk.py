"""The risk score's rules, alone and together; bands; the operators' sentences."""

from __future__ import annotations

import math
from typing import Any

import pytest

from xscreen.serving.manifest import parse_manifest
from xscreen.serving.risk import (
    Bands,
    Finding,
    InMemoryHistory,
    RiskAssessment,
    ScanFacts,
    keys_link,
    level_of,
    load_risk_config,
    normalise_address,
    normalise_name,
    party_keys,
    risk,
)

CONFIG = load_risk_config()
BOX = (10.0, 10.0, 50.0, 40.0)


def found(label: str, score: float = 0.9, count: int = 1, mass_kg: float | None = None
          ) -> list[Finding]:
    return [Finding(label, score, BOX, mass_kg) for _ in range(count)]


def assess(findings: list[Finding] | None = None, manifest: dict[str, Any] | None = None,
           history: InMemoryHistory | None = None, scan: ScanFacts | None = None
           ) -> RiskAssessment:
    return risk(findings or [], parse_manifest(manifest), history, CONFIG, scan)


def points(assessment: RiskAssessment) -> dict[str, float]:
    return {factor.name: factor.points for factor in assessment.factors}


def seized(keys: list[str], labels: tuple[str, ...] = ("narcotics",), seen: int = 5
           ) -> InMemoryHistory:
    history = InMemoryHistory()
    history.record_seizure(keys, labels)
    for _ in range(seen):
        history.record_parcel(keys)
    return history


def seen(keys: list[str]) -> InMemoryHistory:
    history = InMemoryHistory()
    history.record_parcel(keys)
    return history


def facts(dense_fraction: float = 0.0, regions: int = 0, mass: float | None = None) -> ScanFacts:
    return ScanFacts(400, 300, dense_fraction, regions, mass)


# Each rule alone: (id, findings, manifest, history, scan, expected {factor: points}).
# The expected dict is the whole set of factors: nothing else may contribute.
SINGLE_RULES: list[tuple[str, list[Finding], dict[str, Any] | None, InMemoryHistory | None,
                         ScanFacts | None, dict[str, float]]] = [
    ("firearm", found("firearm", 0.9), None, None, None, {"detection.firearm": 72.0}),
    ("narcotics", found("narcotics", 0.5), None, None, None, {"detection.narcotics": 30.0}),
    ("two golds combine", found("gold", 0.9) + found("gold", 0.8), None, None, None,
     {"detection.gold": 39.2}),
    ("counterfeit item", found("counterfeit", 1.0), None, None, None,
     {"detection.counterfeit": 12.0}),
    ("gold declared as clothing", found("gold", 0.9), {"description": "clothing"}, None, None,
     {"detection.gold": 36.0, "declared_content.gold": 27.0}),
    ("gold declared as jewellery", found("gold", 0.9), {"description": "Gold ring"}, None, None,
     {"detection.gold": 36.0}),
    ("gold under HS 71", found("gold", 0.9), {"hs_code": "7113.19"}, None, None,
     {"detection.gold": 36.0, "controlled_goods": 6.0}),
    ("firearm under HS 61", found("firearm", 1.0), {"hs_code": "6109"}, None, None,
     {"detection.firearm": 80.0, "declared_content.firearm": 30.0}),
    ("weight under-declared", [], {"declared_weight_kg": 1.0}, None, facts(mass=4.0),
     {"weight": 20.0}),
    ("weight a little over", [], {"declared_weight_kg": 1.0}, None, facts(mass=1.5),
     {"weight": 5.0}),
    ("weight declared zero", [], {"declared_weight_kg": 0}, None, facts(mass=1.0),
     {"weight": 20.0}),
    ("weight close enough", [], {"declared_weight_kg": 1.0}, None, facts(mass=1.25), {}),
    ("weight small difference", [], {"declared_weight_kg": 0.1}, None, facts(mass=0.3), {}),
    ("more items than declared", found("narcotics", 0.5, 3), {"item_count": 1}, None, None,
     {"detection.narcotics": 52.5, "item_count": 8.0}),
    ("counterfeit lot", found("counterfeit", 1.0, 6),
     {"description": "gift", "declared_value": {"amount": 12, "currency": "USD"}}, None, None,
     {"detection.counterfeit": 12.0, "counterfeit_lot": 15.0, "declared_content.counterfeit":
      30.0, "vague_description": 5.0}),
    ("counterfeit lot fairly valued", found("counterfeit", 1.0, 10),
     {"description": "sneakers", "declared_value": {"amount": 900, "currency": "USD"}},
     None, None, {"detection.counterfeit": 12.0, "counterfeit_lot": 12.0}),
    ("brand at a bargain", [], {"description": "Rolex watch", "item_count": 1,
                                "declared_value": {"amount": 20, "currency": "USD"}},
     None, None, {"brand_value": 12.0}),
    ("brand at its price", [], {"description": "Rolex watch",
                                "declared_value": {"amount": 9000, "currency": "EUR"}},
     None, None, {}),
    ("cheap per kg", [], {"declared_weight_kg": 4.0,
                          "declared_value": {"amount": 5, "currency": "EUR"}}, None, None,
     {"low_value": 6.0}),
    ("dense area", [], None, None, facts(0.15, 2), {"dense_area": 15.0}),
    ("some dense area", [], None, None, facts(0.03, 1), {"dense_area": 3.0}),
    ("speck of dense", [], None, None, facts(0.005, 1), {}),
    ("seizure via shipper", [], {"shipper": {"name": "ACME Trading Co., Ltd."}},
     seized(["shipper:acme trading"]), None, {"party_history.shipper": 20.0}),
    ("seizure via misspelt shipper", [], {"shipper": {"name": "Acme Tradng Ltd"}},
     seized(["shipper:acme trading"]), None, {"party_history.shipper": 20.0}),
    ("seizure via address", [], {"consignee": {"address": "12 Harbour Road, 4021"}},
     seized(["address:12 harbour rd 4021"]), None, {"party_history.address": 16.0}),
    ("seizure elsewhere", [], {"shipper": {"name": "Zenith Supply"}},
     seized(["shipper:acme trading"]), None, {"first_time_shipper": 6.0}),
    ("first-time shipper", [], {"shipper": {"name": "New Co"}}, InMemoryHistory(), None,
     {"first_time_shipper": 6.0}),
    ("known shipper", [], {"shipper": {"name": "Old Co"}}, seen(["shipper:old"]), None, {}),
    ("no history, no first-time", [], {"shipper": {"name": "New Co"}}, None, None, {}),
    ("listed origin", [], {"origin_country": "XA"}, None, None, {"origin": 14.0}),
    ("listed shipper country", [], {"shipper": {"country": "XB"}}, None, None, {"origin": 8.0}),
    ("transshipment", [], {"origin_country": "CN", "shipper": {"country": "HK"}}, None, None,
     {"route": 4.0}),
    ("mail order", [], {"mail_order": True}, None, None, {"mail_order": 3.0}),
    ("not mail order", [], {"mail_order": False}, None, None, {}),
    ("arms declared", [], {"hs_code": "9302.00"}, None, None, {"controlled_goods": 25.0}),
    ("vague description", [], {"description": "Gifts"}, None, None, {"vague_description": 5.0}),
    ("long description", [], {"description": "gift for my mother with love"}, None, None, {}),
    ("unknown currency", [], {"description": "Rolex", "declared_value":
                              {"amount": 5, "currency": "QQQ"}}, None, None,
     {"unknown_currency": 2.0}),
    ("unknown HS chapter", found("gold", 1.0), {"hs_code": "9901"}, None, None,
     {"detection.gold": 40.0, "unknown_hs_code": 2.0}),
]


@pytest.mark.parametrize(("findings", "manifest", "history", "scan", "expected"),
                         [case[1:] for case in SINGLE_RULES],
                         ids=[case[0] for case in SINGLE_RULES])
def test_each_rule_alone(findings: list[Finding], manifest: dict[str, Any] | None,
                         history: InMemoryHistory | None, scan: ScanFacts | None,
                         expected: dict[str, float]) -> None:
    assert points(assess(findings, manifest, history, scan)) == pytest.approx(expected)


def test_seizures_add_up_to_the_role_cap() -> None:
    history = InMemoryHistory()
    for _ in range(5):
        history.record_seizure(["seller:s1"], ["gold"])
    assert points(assess([], {"seller_id": "S1"}, history)) == {"party_history.seller": 60.0}


def test_rules_together() -> None:
    history = seized(["shipper:acme trading", "address:12 harbour rd"], ("gold",))
    manifest = {"shipper": {"name": "Acme Trading Ltd", "country": "HK"}, "origin_country": "XA",
                "consignee": {"address": "12 Harbour Road"}, "description": "clothing",
                "declared_value": {"amount": 20, "currency": "USD"}, "declared_weight_kg": 1.0,
                "item_count": 1, "mail_order": True}
    result = assess(found("gold", 0.9, 2, 0.55), manifest, history, facts(0.1, 2, 4.0))
    assert set(points(result)) == {
        "detection.gold", "declared_content.gold", "weight", "item_count", "dense_area",
        "party_history.shipper", "party_history.address", "origin", "route", "mail_order"}
    assert result.level == "high" and result.action == "inspect"
    assert 90.0 < result.score <= 100.0


def test_score_is_the_saturating_sum_of_points() -> None:
    result = assess(found("gold", 0.9), {"description": "clothing"})
    total = sum(points(result).values())
    assert result.score == pytest.approx(100 * (1 - math.exp(-total / 50)), abs=0.05)


def test_nothing_known_is_low() -> None:
    result = assess()
    assert (result.score, result.level, result.action, result.factors) == \
        (0.0, "low", "release", ())
    assert risk([], None, None, CONFIG).score == 0.0


@pytest.mark.parametrize(("score", "level"), [
    (0.0, "low"), (29.9, "low"), (30.0, "medium"), (59.9, "medium"), (60.0, "high"),
    (100.0, "high"),
])
def test_bands(score: float, level: str) -> None:
    assert level_of(score, Bands(medium=30, high=60)) == level


@pytest.mark.parametrize(("findings", "expected_level", "expected_action"), [
    (found("firearm", 0.9), "high", "inspect"),
    (found("narcotics", 0.9), "high", "inspect"),
    (found("gold", 0.9), "medium", "review"),
    (found("counterfeit", 0.9), "low", "release"),
])
def test_severity_orders_the_classes(findings: list[Finding], expected_level: str,
                                     expected_action: str) -> None:
    result = assess(findings)
    assert (result.level, result.action) == (expected_level, expected_action)


# Explanations: (findings, manifest, history, scan, factor, sentence).
SENTENCES: list[tuple[list[Finding], dict[str, Any], InMemoryHistory | None, ScanFacts | None,
                      str, str]] = [
    (found("gold", 0.9, 2, 0.55), {"description": "clothing",
                                   "declared_value": {"amount": 20, "currency": "USD"}},
     None, None, "declared_content.gold",
     "2 gold objects, about 1.1 kg, declared as 'clothing' at 20 USD"),
    (found("gold", 0.93), {"description": "t-shirts", "hs_code": "6109.10",
                           "declared_value": {"amount": 12.5, "currency": "EUR"}},
     None, None, "declared_content.gold",
     "1 gold object, declared as 't-shirts' / HS 6109.10 (knitted clothing) at 12.50 EUR"),
    (found("firearm", 0.91), {}, None, None, "detection.firearm",
     "1 firearm (confidence up to 0.91)"),
    (found("narcotics", 0.8, 2), {}, None, None, "detection.narcotics",
     "2 narcotics packages (confidence up to 0.80)"),
    ([], {"declared_weight_kg": 1.0}, None, facts(mass=4.2), "weight",
     "the scan implies about 4.2 kg but 1 kg was declared"),
    (found("narcotics", 0.8, 3), {"item_count": 1}, None, None, "item_count",
     "3 objects detected but 1 declared"),
    (found("counterfeit", 0.9, 6), {"description": "gift",
                                    "declared_value": {"amount": 18, "currency": "USD"}},
     None, None, "counterfeit_lot",
     "a lot of 6 counterfeit-prone items declared as 'gift' at 18 USD (about 3 USD each)"),
    ([], {}, None, facts(0.08, 3), "dense_area",
     "3 areas the X-ray cannot see through (8% of the parcel): noted only: too little on its "
     "own to open the parcel"),
    ([], {"shipper": {"name": "ACME Trading Ltd."}},
     seized(["shipper:acme trading"], ("gold", "narcotics")), None, "party_history.shipper",
     "shipper 'ACME Trading Ltd.' is linked to 1 confirmed seizure (gold, narcotics)"),
    ([], {"shipper": {"name": "Nova Way"}}, InMemoryHistory(), None, "first_time_shipper",
     "first parcel from shipper 'Nova Way'"),
    ([], {"origin_country": "XA"}, None, None, "origin", "origin XA is on the risk list"),
    ([], {"declared_value": {"amount": 5, "currency": "QQQ"}}, None, None, "unknown_currency",
     "currency 'QQQ' is not a known ISO 4217 code: the declared value was not compared"),
    ([], {"hs_code": "9901.00"}, None, None, "unknown_hs_code",
     "HS code '9901.00' (chapter 99) is not a known HS chapter: it was not compared with what "
     "was seen"),
    ([], {"hs_code": "9302"}, None, None, "controlled_goods",
     "declared as HS 9302 (arms and ammunition): controlled goods"),
]


@pytest.mark.parametrize(("findings", "manifest", "history", "scan", "name", "sentence"),
                         SENTENCES, ids=[case[4] + str(i) for i, case in enumerate(SENTENCES)])
def test_explanations(findings: list[Finding], manifest: dict[str, Any],
                      history: InMemoryHistory | None, scan: ScanFacts | None, name: str,
                      sentence: str) -> None:
    details = {f.name: f.detail for f in assess(findings, manifest, history, scan).factors}
    assert details[name] == sentence


def test_to_dict_is_the_contract_shape() -> None:
    result = assess(found("firearm"), {"mail_order": True}).to_dict()
    assert set(result) == {"score", "level", "action", "factors", "config_version", "points",
                           "saturation_points", "explanation", "leading_finding"}
    assert result["config_version"] == CONFIG.version
    assert all(set(f) == {"name", "points", "detail"} for f in result["factors"])


@pytest.mark.parametrize(("raw", "expected"), [
    ("ACME Trading Co., Ltd.", "acme trading"),
    ("  Acme   TRADING  limited ", "acme trading"),
    ("Müller GmbH & Co. KG", "muller"),
    ("Co. Ltd.", "co ltd"),            # nothing but suffixes: keep them
])
def test_names_are_normalised(raw: str, expected: str) -> None:
    assert normalise_name(raw) == expected


def test_addresses_are_normalised() -> None:
    assert normalise_address("12, Harbour Road.") == normalise_address("12 harbour rd")


@pytest.mark.parametrize(("a", "b", "linked"), [
    ("shipper:acme trading", "shipper:acme tradng", True),
    ("shipper:acme trading", "shipper:trading acme", True),
    ("shipper:acme trading", "consignee:acme trading", False),
    ("shipper:acme trading", "shipper:zenith supply", False),
    ("shipper:li wei", "shipper:li wen", False),          # short names link only when equal
    ("seller:s10001", "seller:s10002", False),            # ids link only when equal
    ("seller:s10001", "seller:s10001", True),
])
def test_keys_link(a: str, b: str, linked: bool) -> None:
    assert keys_link(a, b) is linked


def test_party_keys() -> None:
    manifest = parse_manifest({"shipper": {"name": "Acme Ltd"}, "platform": "ShopFast",
                               "consignee": {"name": "J. Doe", "id": "X1", "address": "1 Main St"},
                               "seller_id": "S-9"})
    assert party_keys(manifest) == ["shipper:acme", "consignee:j doe", "consignee_id:x1",
                                    "address:1 main st", "seller:s 9", "platform:shopfast"]
    assert party_keys(parse_manifest({})) == []


# -- the explanation agrees with the score and the action (issue 19) -----------------------

EXPLAINED = [
    ([], None, None),
    (found("gold", 0.61), None, None),
    (found("firearm", 0.9) + found("gold", 0.8, 2, 0.5), {"description": "clothing",
     "mail_order": True, "item_count": 1, "declared_value": {"amount": 5, "currency": "USD"}},
     facts(0.2, 4)),
]


@pytest.mark.parametrize(("findings", "manifest", "scan"), EXPLAINED)
def test_the_explanation_reproduces_the_score(findings: list[Finding],
                                              manifest: dict[str, Any] | None,
                                              scan: ScanFacts | None) -> None:
    """The listed points add up to the stated sum, and the stated formula, evaluated on the
    numbers the explanation prints, gives the score (an operator can check it by hand)."""
    import re

    body = assess(findings, manifest, scan=scan).to_dict()
    listed = sum(f["points"] for f in body["factors"])
    assert body["points"] == pytest.approx(listed, abs=0.05)
    text = body["explanation"]
    if not body["factors"]:
        assert body["score"] == 0 and "score is 0" in text
        return
    match = re.search(r"add up to ([\d.]+); the score is 100 × \(1 − e\^\(−([\d.]+) / ([\d.]+)\)\)"
                      r" = (\d+(?:\.\d+)?)", text)
    assert match, text
    total, again, scale, score = (float(g) for g in match.groups())
    assert total == again == pytest.approx(listed, abs=0.05)
    assert scale == CONFIG.saturation_points
    assert score == body["score"]
    assert round(100 * (1 - math.exp(-total / scale)), 1) == pytest.approx(score, abs=0.05)
    assert "100" in text and "changes it little" in text


def test_points_past_the_saturation_are_explained_beside_a_high_score() -> None:
    """The issue's case: eight reasons summing to about 142 beside a score of 94."""
    result = assess(found("firearm", 0.95) + found("narcotics", 0.6),
                    {"description": "gift", "mail_order": True, "item_count": 1,
                     "origin_country": "XA", "declared_value": {"amount": 1, "currency": "USD"}})
    assert result.points > 100 > result.score
    assert f"{result.points:g}" in result.to_dict()["explanation"]


@pytest.mark.parametrize(("fraction", "action", "advice", "never"), [
    (0.08, "release", "too little on its own to open", "open to see"),
    (0.5, "release", "too little on its own to open", "open to see"),
])
def test_dense_area_advice_agrees_with_a_release(fraction: float, action: str, advice: str,
                                                 never: str) -> None:
    result = assess(scan=facts(fraction, 2))
    assert result.action == action
    detail = next(f.detail for f in result.factors if f.name == "dense_area")
    assert advice in detail and never not in detail


@pytest.mark.parametrize(("findings", "action", "advice"), [
    (found("gold", 0.5), "review", "look closely"),
    (found("firearm", 0.95), "inspect", "open to see what is inside"),
])
def test_dense_area_advice_follows_the_action(findings: list[Finding], action: str,
                                              advice: str) -> None:
    result = assess(findings, scan=facts(0.3, 2))
    assert result.action == action
    assert advice in next(f.detail for f in result.factors if f.name == "dense_area")


def test_no_release_carries_advice_to_open() -> None:
    """Whatever the evidence, a parcel released carries no reason telling the operator to open
    it, or to inspect it."""
    for fraction in (0.01, 0.05, 0.15, 0.9):
        for findings in ([], found("counterfeit", 0.5), found("gold", 0.3)):
            result = assess(findings, scan=facts(fraction, 3))
            if result.action == "release":
                assert not any(word in f.detail for f in result.factors
                               for word in ("open to see", "inspect"))


@pytest.mark.parametrize(("findings", "lead"), [
    (found("gold", 0.61) + found("firearm", 0.3), ("firearm", 0.3)),      # serious, not sure
    (found("counterfeit", 0.95) + found("gold", 0.4), ("gold", 0.4)),
    (found("narcotics", 0.5) + found("narcotics", 0.7), ("narcotics", 0.7)),
    ([], None),
])
def test_the_leading_finding_is_the_most_serious(findings: list[Finding],
                                                 lead: tuple[str, float] | None) -> None:
    leading = assess(findings).to_dict()["leading_finding"]
    assert (None if leading is None else (leading["label"], leading["score"])) == lead
