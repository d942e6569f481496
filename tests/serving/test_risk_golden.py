"""Characterisation of the risk score: the whole result, byte for byte, on a fixed set of inputs.

Every case below is built here from literal inputs (detections x manifests x party histories x
scan facts x configurations) and covers every rule, alone and together, with the edge cases: no
manifest, an empty manifest, no detections, parties nobody knows, a class the configuration
does not know, confidences 0 and 1, factor weights, and the scan facts of small literal scans.
The expected results (score, level, action, points, every factor's name, points and sentence,
the explanation, the leading finding, the party keys) are in ``golden/risk_golden.json``; they
were produced ONCE by the risk code as it stood before its split into a package (issue 20), so
this test says the refactoring changed nothing. Floats are compared as JSON text (their repr),
so ``12.0`` and ``12`` differ.

To regenerate the golden file after a deliberate change of behaviour (say why in the commit):
``XSCREEN_REGEN_GOLDEN=1 pytest tests/serving/test_risk_golden.py`` writes it and skips; then
review its diff, which is the behaviour change.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from xscreen.serving.manifest import parse_manifest
from xscreen.serving.risk import (
    RULE_NAMES,
    Finding,
    InMemoryHistory,
    ScanFacts,
    load_risk_config,
    party_keys,
    risk,
    risk_config_from_dict,
    scan_facts,
)

GOLDEN = Path(__file__).parent / "golden" / "risk_golden.json"
DEFAULT_PATH = Path(__file__).parents[2] / "serving" / "risk.yaml"

# --- inputs ---------------------------------------------------------------------------------

BOX = (12.0, 20.0, 64.5, 80.0)

# label, confidence, count, mass in kg (None: no estimate)
FINDINGS: dict[str, list[tuple[str, float, int, float | None]]] = {
    "none": [],
    "firearm": [("firearm", 0.91, 1, None)],
    "firearm sure": [("firearm", 0.95, 1, None)],
    "narcotics": [("narcotics", 0.5, 1, None)],
    "narcotics x3": [("narcotics", 0.5, 3, None)],
    "narcotics x8 weak": [("narcotics", 0.3, 8, None)],
    "gold": [("gold", 0.93, 1, None)],
    "gold weak": [("gold", 0.5, 1, None)],
    "two golds with mass": [("gold", 0.9, 1, 0.55), ("gold", 0.8, 1, 0.55)],
    "gold grams": [("gold", 0.61, 1, 0.042)],
    "counterfeit x6": [("counterfeit", 1.0, 6, None)],
    "counterfeit x12": [("counterfeit", 0.7, 12, None)],
    "counterfeit x2": [("counterfeit", 0.95, 2, None)],
    "unknown class": [("knife", 0.8, 1, None), ("gold", 0.4, 1, None)],
    "confidence edges": [("firearm", 0.0, 1, None), ("firearm", 1.0, 1, None),
                         ("narcotics", 1.0, 1, None)],
    "firearm and narcotics": [("firearm", 0.95, 1, None), ("narcotics", 0.6, 1, None)],
    "mixed": [("firearm", 0.9, 1, None), ("gold", 0.8, 2, 0.5), ("counterfeit", 0.3, 1, None)],
}

MANIFESTS: dict[str, dict[str, Any] | None] = {
    "none": None,
    "empty": {},
    "clothing 20 USD": {"description": "clothing",
                        "declared_value": {"amount": 20, "currency": "USD"}},
    "jewellery": {"description": "Gold ring"},
    "HS 71": {"hs_code": "7113.19"},
    "t-shirts HS 6109 12.50 EUR": {"description": "t-shirts", "hs_code": "6109.10",
                                   "declared_value": {"amount": 12.5, "currency": "EUR"}},
    "item count 1": {"item_count": 1},
    "declared 1 kg": {"declared_weight_kg": 1.0},
    "declared 0 kg": {"declared_weight_kg": 0},
    "declared 0.1 kg": {"declared_weight_kg": 0.1},
    "gift 18 USD": {"description": "gift", "declared_value": {"amount": 18, "currency": "USD"}},
    "assorted replica watches": {"description": "assorted replica watches"},
    "sneakers 900 USD": {"description": "sneakers",
                         "declared_value": {"amount": 900, "currency": "USD"}},
    "rolex 40 GBP x2": {"description": "Rolex watch", "item_count": 2,
                        "declared_value": {"amount": 40, "currency": "GBP"}},
    "louis vuitton 25 EUR": {"description": "Louis-Vuitton handbag",
                             "declared_value": {"amount": 25, "currency": "EUR"}},
    "rolex 9000 EUR": {"description": "Rolex watch",
                       "declared_value": {"amount": 9000, "currency": "EUR"}},
    "5 EUR for 4 kg": {"declared_weight_kg": 4.0,
                       "declared_value": {"amount": 5, "currency": "EUR"}},
    "1234.5 JPY for 2.5 kg": {"declared_weight_kg": 2.5, "item_count": 3,
                              "declared_value": {"amount": 1234.5, "currency": "JPY"}},
    "acme shipper": {"shipper": {"name": "ACME Trading Co., Ltd."}},
    "misspelt acme and harbour": {"shipper": {"name": "Acme Tradng Ltd", "country": "HK"},
                                  "consignee": {"name": "J. Doe",
                                                "address": "12 Harbour Road, 4021"}},
    "seller S-1": {"seller_id": "S-1"},
    "platform and consignee id": {"platform": "ShopFast", "mail_order": True,
                                  "consignee": {"id": "X-77", "name": "Li Wei"}},
    "unknown parties": {"shipper": {"name": "Nova Way", "country": "DE"},
                        "consignee": {"name": "Zenith Supply", "address": "1 Main Street"},
                        "seller_id": "S-999", "platform": "Elsewhere"},
    "old shipper": {"shipper": {"name": "Old Co"}},
    "origin XA shipped from CN": {"origin_country": "XA", "shipper": {"country": "CN"}},
    "shipper in XB": {"shipper": {"name": "Big Export", "country": "XB"}},
    "CN via HK": {"origin_country": "CN", "shipper": {"country": "HK"}},
    "mail order": {"mail_order": True, "description": "clothing"},
    "not mail order": {"mail_order": False},
    "arms declared": {"hs_code": "9302.00"},
    "fireworks declared": {"hs_code": "3604", "description": "fireworks"},
    "medicines declared": {"hs_code": "3004.90", "description": "medicines"},
    "gifts": {"description": "Gifts"},
    "long gift": {"description": "gift for my mother with love"},
    "unknown currency": {"description": "Rolex",
                         "declared_value": {"amount": 5, "currency": "QQQ"}},
    "unknown HS chapter": {"hs_code": "9901"},
    "everything": {"shipper": {"name": "Acme Trading Ltd", "country": "HK"},
                   "origin_country": "XA", "consignee": {"address": "12 Harbour Road"},
                   "description": "clothing", "declared_value": {"amount": 20, "currency": "USD"},
                   "declared_weight_kg": 1.0, "item_count": 1, "mail_order": True},
    "eight reasons": {"description": "gift", "mail_order": True, "item_count": 1,
                      "origin_country": "XA", "declared_value": {"amount": 1, "currency": "USD"}},
}

# seizures: (party keys, labels); parcels: party keys of earlier parcels
HISTORIES: dict[str, dict[str, list[Any]] | None] = {
    "none": None,
    "empty": {"seizures": [], "parcels": []},
    "records": {
        "seizures": [
            (["shipper:acme trading"], ["gold", "narcotics"]),
            (["address:12 harbour rd 4021", "consignee:j doe"], ["narcotics"]),
            (["address:12 harbour rd"], []),
            *[(["seller:s 1"], ["gold"])] * 5,
            *[(["platform:shopfast"], ["counterfeit"])] * 2,
            (["consignee_id:x 77"], ["firearm"]),
        ],
        "parcels": [["shipper:old"], ["shipper:old"], ["shipper:acme trading"],
                    ["shipper:big export"]],
    },
}

# width, height, dense fraction, dense regions, estimated mass (kg)
FACTS: dict[str, tuple[int, int, float, int, float | None] | None] = {
    "none": None,
    "plain": (400, 300, 0.0, 0, None),
    "dense full": (400, 300, 0.15, 2, None),
    "dense some": (400, 300, 0.03, 1, None),
    "dense 8%": (400, 300, 0.08, 3, None),
    "dense 30%": (400, 300, 0.3, 2, None),
    "dense speck": (400, 300, 0.005, 1, None),
    "mass 4.2 kg": (400, 300, 0.0, 0, 4.2),
    "mass 1.5 kg": (400, 300, 0.0, 0, 1.5),
    "mass 1.25 kg": (400, 300, 0.0, 0, 1.25),
    "mass 0.3 kg": (400, 300, 0.0, 0, 0.3),
    "mass 1 kg": (400, 300, 0.0, 0, 1.0),
    "dense and heavy": (400, 300, 0.1, 2, 4.0),
}

WEIGHTS = {"detection": 0.5, "detection.gold": 2.0, "mail_order": 0.0, "party_history": 1.5,
           "party_history.platform": 0.0, "declared_content": 0.25, "dense_area": 1.3}

# id: findings, manifest, history, scan facts, configuration
CASES: dict[str, tuple[str, str, str, str, str]] = {
    "nothing at all": ("none", "none", "none", "none", "default"),
    "empty manifest, empty history": ("none", "empty", "empty", "plain", "default"),
    "firearm, no manifest": ("firearm", "none", "none", "none", "default"),
    "narcotics alone": ("narcotics", "empty", "none", "none", "default"),
    "two golds as clothing": ("two golds with mass", "clothing 20 USD", "none", "none",
                              "default"),
    "gold as jewellery": ("gold", "jewellery", "none", "none", "default"),
    "gold under HS 71": ("gold", "HS 71", "none", "none", "default"),
    "gold in grams as t-shirts": ("gold grams", "t-shirts HS 6109 12.50 EUR", "none", "none",
                                  "default"),
    "firearm as t-shirts": ("firearm sure", "t-shirts HS 6109 12.50 EUR", "none", "none",
                            "default"),
    "more items than declared": ("narcotics x3", "item count 1", "none", "none", "default"),
    "items past the cap": ("narcotics x8 weak", "item count 1", "none", "none", "default"),
    "weight under-declared": ("none", "declared 1 kg", "none", "mass 4.2 kg", "default"),
    "weight a little over": ("none", "declared 1 kg", "none", "mass 1.5 kg", "default"),
    "weight close enough": ("none", "declared 1 kg", "none", "mass 1.25 kg", "default"),
    "weight declared zero": ("none", "declared 0 kg", "none", "mass 1 kg", "default"),
    "weight small difference": ("none", "declared 0.1 kg", "none", "mass 0.3 kg", "default"),
    "weight without a scan": ("none", "declared 1 kg", "none", "none", "default"),
    "counterfeit lot as gift": ("counterfeit x6", "gift 18 USD", "none", "none", "default"),
    "counterfeit lot, value unknown": ("counterfeit x12", "assorted replica watches", "none",
                                       "none", "default"),
    "counterfeit lot fairly valued": ("counterfeit x12", "sneakers 900 USD", "none", "none",
                                      "default"),
    "too few for a lot": ("counterfeit x2", "gift 18 USD", "none", "none", "default"),
    "brand at a bargain": ("none", "rolex 40 GBP x2", "none", "none", "default"),
    "brand phrase": ("none", "louis vuitton 25 EUR", "none", "none", "default"),
    "brand at its price": ("none", "rolex 9000 EUR", "none", "none", "default"),
    "cheap per kg": ("none", "5 EUR for 4 kg", "none", "none", "default"),
    "yen per kg": ("narcotics x3", "1234.5 JPY for 2.5 kg", "none", "none", "default"),
    "dense area, release": ("none", "none", "none", "dense full", "default"),
    "some dense area": ("none", "empty", "none", "dense some", "default"),
    "dense area, review": ("gold weak", "none", "none", "dense 30%", "default"),
    "dense area, inspect": ("firearm sure", "none", "none", "dense 8%", "default"),
    "dense speck": ("none", "none", "none", "dense speck", "default"),
    "seizure via shipper": ("none", "acme shipper", "records", "none", "default"),
    "seizures via misspelt shipper and address": ("none", "misspelt acme and harbour", "records",
                                                  "none", "default"),
    "seizures up to the cap": ("gold", "seller S-1", "records", "none", "default"),
    "platform and consignee id": ("none", "platform and consignee id", "records", "none",
                                  "default"),
    "unknown parties, known history": ("none", "unknown parties", "records", "none", "default"),
    "unknown parties, empty history": ("none", "unknown parties", "empty", "none", "default"),
    "unknown parties, no history": ("none", "unknown parties", "none", "none", "default"),
    "known shipper": ("none", "old shipper", "records", "none", "default"),
    "listed origin and transshipment": ("none", "origin XA shipped from CN", "none", "none",
                                        "default"),
    "listed shipper country": ("none", "shipper in XB", "records", "none", "default"),
    "transshipment": ("none", "CN via HK", "none", "none", "default"),
    "mail order": ("none", "mail order", "none", "none", "default"),
    "not mail order": ("none", "not mail order", "none", "none", "default"),
    "arms declared": ("none", "arms declared", "none", "none", "default"),
    "fireworks declared": ("none", "fireworks declared", "none", "none", "default"),
    "narcotics declared as medicines": ("narcotics", "medicines declared", "none", "none",
                                        "default"),
    "vague description": ("none", "gifts", "none", "none", "default"),
    "long description": ("none", "long gift", "none", "none", "default"),
    "unknown currency": ("none", "unknown currency", "none", "none", "default"),
    "unknown HS chapter": ("gold", "unknown HS chapter", "none", "none", "default"),
    "a class the config does not know": ("unknown class", "clothing 20 USD", "none", "none",
                                         "default"),
    "confidences 0 and 1": ("confidence edges", "empty", "none", "none", "default"),
    "everything together": ("two golds with mass", "everything", "records", "dense and heavy",
                            "default"),
    "eight reasons": ("firearm and narcotics", "eight reasons", "none", "none", "default"),
    "mixed classes with parties": ("mixed", "platform and consignee id", "records",
                                   "dense some", "default"),
    "weighted: everything together": ("two golds with mass", "everything", "records",
                                      "dense and heavy", "weighted"),
    "weighted: gold by mail": ("gold", "mail order", "none", "none", "weighted"),
    "weighted: platform and consignee id": ("none", "platform and consignee id", "records",
                                            "none", "weighted"),
    "weighted: mixed classes": ("mixed", "clothing 20 USD", "none", "dense 30%", "weighted"),
}


def findings_of(name: str) -> list[Finding]:
    return [Finding(label, score, BOX, mass) for label, score, count, mass in FINDINGS[name]
            for _ in range(count)]


def history_of(name: str) -> InMemoryHistory | None:
    spec = HISTORIES[name]
    if spec is None:
        return None
    history = InMemoryHistory()
    for keys, labels in spec["seizures"]:
        history.record_seizure(keys, labels)
    for keys in spec["parcels"]:
        history.record_parcel(keys)
    return history


def facts_of(name: str) -> ScanFacts | None:
    spec = FACTS[name]
    return None if spec is None else ScanFacts(*spec)


def configs() -> dict[str, Any]:
    values = yaml.safe_load(DEFAULT_PATH.read_text())
    weighted = copy.deepcopy(values)
    weighted["factor_weights"] = WEIGHTS
    weighted["version"] = "golden-weighted"
    return {"default": load_risk_config(), "weighted": risk_config_from_dict(weighted)}


# Small literal scans for the scan facts: a rendering on white with near-black blocks, a grey
# rendering, and raw 16-bit high/low channels (with and without a pixel pitch).

def rendered_scan() -> np.ndarray:
    rgb = np.full((60, 80, 3), 255, np.uint8)
    rgb[5:55, 5:75] = (230, 150, 60)          # an organic parcel (orange)
    rgb[10:22, 10:22] = (20, 30, 35)          # a dense block of 144 pixels
    rgb[30:36, 40:47] = (10, 10, 10)          # 42 pixels: counted without a pitch
    rgb[50:52, 70:72] = (0, 0, 0)             # a screw: too small
    return rgb


def raw_scan() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    attenuation = np.zeros((50, 70), np.float32)
    attenuation[5:45, 5:65] += 0.6
    attenuation[10:30, 10:30] += 5.0
    attenuation[35:40, 50:60] += 7.0
    high = np.round(65535 * np.exp(-attenuation)).astype(np.uint16)
    low = np.round(65535 * np.exp(-1.3 * attenuation)).astype(np.uint16)
    return np.full((50, 70, 3), 255, np.uint8), high, low


def scan_facts_cases() -> dict[str, ScanFacts]:
    rgb = rendered_scan()
    white, high, low = raw_scan()
    grey = rgb.mean(axis=2).astype(np.uint8)
    return {
        "rendered": scan_facts(rgb),
        "rendered at 0.4 mm": scan_facts(rgb, pitch_mm=0.4),
        "grey": scan_facts(grey),
        "white": scan_facts(np.full((20, 30, 3), 255, np.uint8)),
        "raw": scan_facts(white, high, low),
        "raw at 1 mm": scan_facts(white, high, low, pitch_mm=1.0),
        "raw at 2 mm": scan_facts(white, high, low, pitch_mm=2.0),
        "raw at 2 mm, steel": scan_facts(white, high, low, pitch_mm=2.0,
                                         mass_attenuation_cm2_g=0.5),
    }


# --- the results, as JSON -------------------------------------------------------------------

def facts_dict(facts: ScanFacts) -> dict[str, Any]:
    return {"width": facts.width, "height": facts.height, "dense_fraction": facts.dense_fraction,
            "dense_regions": facts.dense_regions, "estimated_mass_kg": facts.estimated_mass_kg}


def results() -> dict[str, Any]:
    """Every case's result; the scan facts' cases also scored with a declared weight."""
    config = configs()
    cases: dict[str, Any] = {}
    for case, (found, manifest_name, history, facts, config_name) in CASES.items():
        manifest = parse_manifest(MANIFESTS[manifest_name])
        assessment = risk(findings_of(found), None if MANIFESTS[manifest_name] is None
                          else manifest, history_of(history), config[config_name],
                          facts_of(facts))
        cases[case] = {"party_keys": party_keys(manifest), "risk": assessment.to_dict()}
    scans: dict[str, Any] = {}
    declared = parse_manifest({"declared_weight_kg": 0.2})
    for name, facts in scan_facts_cases().items():
        scored = risk(findings_of("gold weak"), declared, None, config["default"], facts)
        scans[name] = {"facts": facts_dict(facts), "risk": scored.to_dict()}
    return {"cases": cases, "scan_facts": scans}


def render(values: Any) -> str:
    return json.dumps(values, indent=1, ensure_ascii=False) + "\n"


@pytest.fixture(scope="module")
def actual() -> dict[str, Any]:
    return results()


@pytest.fixture(scope="module")
def golden(actual: dict[str, Any]) -> dict[str, Any]:
    if os.environ.get("XSCREEN_REGEN_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(render(actual), encoding="utf-8")
        pytest.skip(f"regenerated {GOLDEN}: review its diff")
    loaded: dict[str, Any] = json.loads(GOLDEN.read_text(encoding="utf-8"))
    return loaded


@pytest.mark.parametrize("case", sorted(CASES))
def test_risk_result_is_unchanged(case: str, actual: dict[str, Any],
                                  golden: dict[str, Any]) -> None:
    assert render(actual["cases"][case]) == render(golden["cases"][case])


@pytest.mark.parametrize("case", ["rendered", "rendered at 0.4 mm", "grey", "white", "raw",
                                  "raw at 1 mm", "raw at 2 mm", "raw at 2 mm, steel"])
def test_scan_facts_are_unchanged(case: str, actual: dict[str, Any],
                                  golden: dict[str, Any]) -> None:
    assert render(actual["scan_facts"][case]) == render(golden["scan_facts"][case])


def test_the_whole_file_is_reproduced(actual: dict[str, Any], golden: dict[str, Any]) -> None:
    """No case added or lost, and the file's bytes are what the code produces."""
    assert render(actual) == GOLDEN.read_text(encoding="utf-8")


def test_every_rule_fires_somewhere(golden: dict[str, Any]) -> None:
    """The cases exercise every factor the rules can give, and every action."""
    fired = {factor["name"].partition(".")[0] for case in golden["cases"].values()
             for factor in case["risk"]["factors"]}
    assert fired == set(RULE_NAMES)
    actions = {case["risk"]["action"] for case in golden["cases"].values()}
    assert actions == {"release", "review", "inspect"}
