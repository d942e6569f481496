"""The risk configuration: the packaged default loads; every bad value is named by its field."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from xscreen.errors import XscreenError
from xscreen.serving.risk import (
    RULES,
    RiskConfigError,
    load_risk_config,
    risk_config_from_dict,
)

DEFAULT_PATH = Path(__file__).parents[2] / "serving" / "risk.yaml"
DEFAULT: dict[str, Any] = yaml.safe_load(DEFAULT_PATH.read_text())


def test_packaged_default_loads() -> None:
    config = load_risk_config()
    assert config.version and config == load_risk_config(DEFAULT_PATH)
    assert config.classes["firearm"].severity == max(r.severity for r in config.classes.values())
    assert config.currencies["USD"] == 1.0
    assert "77" not in config.hs_chapters and len(config.hs_chapters) == 96
    assert isinstance(config.saturation_points, float)       # an int in YAML is a float


def test_every_rule_with_settings_has_its_section() -> None:
    """The rule sections of risk.yaml are the registry's rules, neither more nor fewer."""
    shared = {"version", "saturation_points", "bands", "classes", "currencies", "hs_chapters",
              "factor_weights"}
    assert set(DEFAULT) - shared == {rule.name for rule in RULES if rule.settings is not None}


def _set(path: str, value: Any) -> dict[str, Any]:
    """A copy of the default with ``path`` (dotted) set to ``value``, or removed if None."""
    values = copy.deepcopy(DEFAULT)
    *parents, last = path.split(".")
    node = values
    for key in parents:
        node = node[key]
    if value is None:
        del node[last]
    else:
        node[last] = value
    return values


# (what is set, its value (None: removed), the field the message names, words it says)
BAD_VALUES: list[tuple[str, Any, str, str]] = [
    # the four kinds: a string weight, an unknown rule, a negative threshold, a missing
    # section
    ("weight.points", "20", "weight.points", "valid number"),
    ("value_mismatch", {"weight": 2}, "value_mismatch", "unknown key"),
    ("dense_area.min_fraction", -0.1, "dense_area.min_fraction", "greater than or equal to 0"),
    ("weight", None, "weight", "Field required"),
    ("bands", None, "bands", "Field required"),
    ("version", None, "version", "Field required"),
    ("item_count.max_points", None, "item_count.max_points", "Field required"),
    # unknown keys, wherever they are
    ("colour", "red", "colour", "unknown key"),
    ("weight.pointz", 3, "weight.pointz", "unknown key"),
    ("classes.firearm.colour", "red", "classes.firearm.colour", "unknown key"),
    # types
    ("version", "", "version", "non-empty text"),
    ("version", 7, "version", "valid string"),
    ("mail_order.points", "3", "mail_order.points", "valid number"),
    ("mail_order.points", True, "mail_order.points", "valid number"),
    ("mail_order.points", float("inf"), "mail_order.points", "finite number"),
    ("mail_order.points", -1, "mail_order.points", "greater than or equal to 0"),
    ("classes.firearm.severity", "high", "classes.firearm.severity", "valid number"),
    ("classes.gold.keywords", "gold", "classes.gold.keywords", "valid array"),
    ("classes.gold.keywords", ["gold", ""], "classes.gold.keywords.1", "non-empty text"),
    ("classes.gold.chapters", ["7"], "classes.gold.chapters.0", "two-digit HS chapter"),
    ("counterfeit_lot.min_items", 2.5, "counterfeit_lot.min_items", "valid integer"),
    ("vague_description", ["gift"], "vague_description", "an object"),
    # ranges and relations between keys
    ("saturation_points", 0, "saturation_points", "greater than 0"),
    ("bands.medium", 70, "bands", "0 < medium < high <= 100"),
    ("bands.high", 120, "bands", "0 < medium < high <= 100"),
    ("classes.gold", None, "classes", "lacks the contract's classes ['gold']"),
    ("weight.min_ratio", 0.5, "weight", "full_at_ratio > min_ratio >= 1"),
    ("counterfeit_lot.min_items", 20, "counterfeit_lot", "min_items <= full_at_items"),
    ("dense_area.full_at_fraction", 2.0, "dense_area", "full_at_fraction <= 1"),
    ("party_history.fuzzy_ratio", 1.5, "party_history.fuzzy_ratio", "less than or equal to 1"),
    ("party_history.fuzzy_ratio", 0, "party_history.fuzzy_ratio", "greater than 0"),
    ("currencies.EUR", 0, "currencies.EUR", "greater than 0"),
    # keys of the wrong shape
    ("party_history.roles.courier", 1.0, "party_history.roles.courier.[key]", "one of shipper"),
    ("currencies.usd", 1.0, "currencies.usd.[key]", "three-letter ISO 4217 code"),
    ("origin.countries.XAA", 3, "origin.countries.XAA.[key]", "two-letter country code"),
    ("controlled_goods.chapters.9", 3, "controlled_goods.chapters.9.[key]", "two-digit HS"),
    ("hs_chapters.1", "live animals", "hs_chapters.1.[key]", "two-digit HS chapter"),
    ("factor_weights", {"detection.knife": 1.0}, "factor_weights.detection.knife.[key]",
     "a factor name"),
]


@pytest.mark.parametrize(("path", "value", "field", "words"), BAD_VALUES,
                         ids=[f"{row[0]}={row[1]!r}" for row in BAD_VALUES])
def test_bad_values_name_the_field(path: str, value: Any, field: str, words: str) -> None:
    with pytest.raises(RiskConfigError) as caught:
        risk_config_from_dict(_set(path, value), "my.yaml")
    message = str(caught.value)
    assert message.startswith("my.yaml: 1 invalid field:")
    line = next((line for line in message.splitlines() if line.startswith(f"  {field}: ")), "")
    assert line, message
    assert words in line
    assert isinstance(caught.value, XscreenError)


def test_every_bad_field_is_named_at_once() -> None:
    values = _set("weight.points", "20")
    values["mail_order"]["points"] = -1
    del values["bands"]
    with pytest.raises(RiskConfigError) as caught:
        risk_config_from_dict(values, "my.yaml")
    message = str(caught.value)
    assert message.startswith("my.yaml: 3 invalid fields:")
    for field in ("weight.points", "mail_order.points", "bands"):
        assert f"\n  {field}: " in message


def test_top_level_must_be_a_mapping() -> None:
    with pytest.raises(RiskConfigError, match="expected a mapping"):
        risk_config_from_dict(["version"])


def test_files_are_read_and_errors_name_them(tmp_path: Path) -> None:
    good = tmp_path / "risk.yaml"
    good.write_text(yaml.safe_dump(_set("version", "site-7")))
    assert load_risk_config(good).version == "site-7"
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: [unclosed")
    with pytest.raises(RiskConfigError, match=r"bad\.yaml.*not valid YAML"):
        load_risk_config(bad)
    with pytest.raises(RiskConfigError, match=r"cannot read configuration .*missing\.yaml"):
        load_risk_config(tmp_path / "missing.yaml")
    typo = tmp_path / "typo.yaml"
    typo.write_text(yaml.safe_dump(_set("weight.points", "20")))
    with pytest.raises(RiskConfigError, match=r"typo\.yaml: 1 invalid field:\n  weight\.points: "):
        load_risk_config(typo)


def test_a_loaded_configuration_is_frozen() -> None:
    config = load_risk_config()
    with pytest.raises(ValueError, match="frozen"):
        config.saturation_points = 10.0    # type: ignore[misc]
