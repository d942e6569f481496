"""The rules' registry: a rule is one registration (name, settings model, function) plus its
risk.yaml section, and everything else follows from the registry."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from xscreen.serving.manifest import parse_manifest
from xscreen.serving.risk import (
    PER_CLASS_RULES,
    RULE_NAMES,
    RULES,
    Evidence,
    Factor,
    Finding,
    RiskConfig,
    RiskConfigError,
    is_factor_key,
    load_risk_config,
    mentions,
    risk,
    risk_config_from_dict,
)
from xscreen.serving.risk.config import Number
from xscreen.typedconfig import Strict

DEFAULT: dict[str, Any] = yaml.safe_load(
    (Path(__file__).parents[2] / "serving" / "risk.yaml").read_text())
BATTERIES = parse_manifest({"description": "lithium batteries", "mail_order": True})


class BatteryRule(Strict):
    points: Number


def with_battery_rule() -> Any:
    """A copy of the built-in registry with a toy rule added, as the package docstring shows."""
    rules = RULES.copy()

    @rules.register("battery", BatteryRule)
    def battery_factors(evidence: Evidence, rule: BatteryRule) -> list[Factor]:
        if not mentions(evidence.words, ["battery", "batteries"]):
            return []
        return [Factor("battery", rule.points, "declared as batteries")]

    return rules


def battery_values(section: Any = None) -> dict[str, Any]:
    values = copy.deepcopy(DEFAULT)
    values["battery"] = {"points": 5} if section is None else section
    return values


def test_the_registry_gives_the_factor_names() -> None:
    """The names factors carry (stored with every assessment, keys of factor_weights) are the
    ones the rules had before the registry."""
    assert RULE_NAMES == (
        "detection", "declared_content", "weight", "item_count", "counterfeit_lot",
        "brand_value", "low_value", "dense_area", "party_history", "first_time_shipper",
        "origin", "route", "mail_order", "controlled_goods", "vague_description",
        "unknown_currency", "unknown_hs_code")
    assert PER_CLASS_RULES == ("detection", "declared_content")
    assert is_factor_key("party_history.platform") and is_factor_key("unknown_hs_code")
    assert not is_factor_key("unknown_codes") and not is_factor_key("detection.knife")


def test_a_rule_is_one_registration_and_its_section() -> None:
    rules = with_battery_rule()
    config = risk_config_from_dict(battery_values(), "site.yaml", rules)
    assessment = risk([Finding("gold", 0.9, (0, 0, 9, 9))], BATTERIES, None, config)
    names = [factor.name for factor in assessment.factors]
    assert names[-1] == "battery" and names[:-1] == ["detection.gold", "declared_content.gold",
                                                     "mail_order"]
    assert assessment.factors[-1] == Factor("battery", 5.0, "declared as batteries")
    # the built-in rules score the same with or without it
    default = risk([Finding("gold", 0.9, (0, 0, 9, 9))], BATTERIES, None, load_risk_config())
    assert assessment.factors[:-1] == default.factors


def test_a_rules_section_is_required_and_checked() -> None:
    rules = with_battery_rule()
    with pytest.raises(RiskConfigError, match=r"\n  battery: Field required"):
        risk_config_from_dict(DEFAULT, "site.yaml", rules)
    with pytest.raises(RiskConfigError, match=r"\n  battery\.points: Input should be a valid"):
        risk_config_from_dict(battery_values({"points": "5"}), "site.yaml", rules)
    with pytest.raises(RiskConfigError, match=r"\n  battery\.colour: unknown key"):
        risk_config_from_dict(battery_values({"points": 5, "colour": 1}), "site.yaml", rules)


def test_factor_weights_may_name_a_registered_rule() -> None:
    rules = with_battery_rule()
    values = {**battery_values(), "factor_weights": {"battery": 2.0}}
    config = risk_config_from_dict(values, "site.yaml", rules)
    assert risk([], BATTERIES, None, config).factors[-1].points == 10.0
    with pytest.raises(RiskConfigError, match=r"factor_weights\.battery\.\[key\]"):
        risk_config_from_dict(values)      # the built-in rules know no battery


def test_the_built_in_registry_is_untouched() -> None:
    with_battery_rule()
    assert "battery" not in RULES
    with pytest.raises(RiskConfigError, match=r"\n  battery: unknown key"):
        risk_config_from_dict(battery_values())


@pytest.mark.parametrize(("name", "options", "words"), [
    ("weight", {}, "already registered"),
    ("unknown_currency", {}, "already registered"),           # a factor of unknown_codes
    ("battery", {"factors": ("origin",)}, "already registered"),
    ("Battery", {}, "lower-case identifier"),
    ("bat.tery", {}, "lower-case identifier"),
    ("battery", {"parts": ("Li-ion",)}, "lower-case identifier"),
])
def test_bad_registrations_are_refused(name: str, options: dict[str, Any], words: str) -> None:
    rules = RULES.copy()
    with pytest.raises(ValueError, match=words):
        rules.register(name, BatteryRule, **options)(lambda evidence, rule: [])


def test_a_rule_may_not_shadow_a_shared_section() -> None:
    rules = RULES.copy()
    rules.register("bands", BatteryRule)(lambda evidence, rule: [])
    with pytest.raises(ValueError, match="named like shared sections"):
        risk_config_from_dict(DEFAULT, "x", rules)


def test_a_configuration_without_rules_is_refused() -> None:
    shared = {key: DEFAULT[key] for key in ("version", "saturation_points", "bands", "classes",
                                            "currencies", "hs_chapters")}
    bare = RiskConfig.model_validate_json(json.dumps(shared))     # the shared sections only
    with pytest.raises(ValueError, match="load_risk_config"):
        risk([], None, None, bare)
