"""The risk configuration: the packaged default loads; every bad key is named."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from xscreen.errors import XscreenError
from xscreen.serving.risk import (
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


@pytest.mark.parametrize(("path", "value", "key"), [
    ("colour", "red", "colour"),
    ("weight.pointz", 3, "weight.pointz"),
    ("bands", None, "bands"),
    ("version", None, "version"),
    ("version", "", "version"),
    ("mail_order.points", -1, "mail_order.points"),
    ("mail_order.points", "3", "mail_order.points"),
    ("mail_order.points", True, "mail_order.points"),
    ("mail_order.points", float("inf"), "mail_order.points"),
    ("classes.firearm.severity", "high", "classes.firearm.severity"),
    ("classes.gold.keywords", "gold", "classes.gold.keywords"),
    ("classes.gold.chapters", ["7"], "classes.gold.chapters"),
    ("classes.gold", None, "classes"),
    ("classes.firearm.colour", "red", "classes.firearm.colour"),
    ("bands.medium", 70, "bands"),
    ("bands.high", 120, "bands"),
    ("saturation_points", 0, "saturation_points"),
    ("weight.min_ratio", 0.5, "weight"),
    ("counterfeit_lot.min_items", 2.5, "counterfeit_lot.min_items"),
    ("counterfeit_lot.min_items", 20, "counterfeit_lot"),
    ("dense_area.full_at_fraction", 2.0, "dense_area"),
    ("party_history.fuzzy_ratio", 1.5, "party_history.fuzzy_ratio"),
    ("party_history.roles.courier", 1.0, "party_history.roles.courier"),
    ("currencies.usd", 1.0, "currencies.usd"),
    ("currencies.EUR", 0, "currencies.EUR"),
    ("origin.countries.XAA", 3, "origin.countries.XAA"),
    ("controlled_goods.chapters.9", 3, "controlled_goods.chapters.9"),
    ("hs_chapters.1", "live animals", "hs_chapters.1"),
    ("vague_description", ["gift"], "vague_description"),
])
def test_bad_keys_are_named(path: str, value: Any, key: str) -> None:
    with pytest.raises(RiskConfigError) as caught:
        risk_config_from_dict(_set(path, value), "my.yaml")
    assert caught.value.key == key
    assert str(caught.value).startswith(f"my.yaml: key {key!r}")
    assert isinstance(caught.value, XscreenError)


def test_top_level_must_be_a_mapping() -> None:
    with pytest.raises(RiskConfigError, match="must be a mapping"):
        risk_config_from_dict(["version"])


def test_files_are_read_and_errors_name_them(tmp_path: Path) -> None:
    good = tmp_path / "risk.yaml"
    good.write_text(yaml.safe_dump(_set("version", "site-7")))
    assert load_risk_config(good).version == "site-7"
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: [unclosed")
    with pytest.raises(RiskConfigError, match=r"bad\.yaml.*not valid YAML"):
        load_risk_config(bad)
    with pytest.raises(RiskConfigError, match="cannot be read"):
        load_risk_config(tmp_path / "missing.yaml")
