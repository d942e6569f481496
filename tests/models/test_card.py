"""The model card and bundle loading: validation, round trip, checksum."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from xscreen import CLASSES
from xscreen.errors import ModelBundleError
from xscreen.models.card import ModelCard, card_from_dict, load_bundle, load_card, save_card

SHA = "0" * 64


def make_card(**changes: Any) -> ModelCard:
    values: dict[str, Any] = {"name": "m", "version": "1", "classes": CLASSES, "input_size": 512,
                              "sha256": SHA, **changes}
    return ModelCard(**values)


def test_round_trip(tmp_path: Path) -> None:
    card = make_card(thresholds={"firearm": 0.3}, metrics={"map50": 0.9},
                     training={"seed": 1, "data": "x"})
    save_card(card, tmp_path / "model.json")
    assert load_card(tmp_path / "model.json") == card
    assert card.threshold_list() == [0.3, 0.5, 0.5, 0.5]


@pytest.mark.parametrize(("changes", "message"), [
    ({"input_size": 500}, "multiple of 32"),
    ({"sha256": "abc"}, "64 lowercase hex"),
    ({"classes": ("a", "a")}, "distinct"),
    ({"thresholds": {"pistol": 0.5}}, "unknown classes"),
    ({"thresholds": {"firearm": 1.5}}, r"in \[0, 1\]"),
])
def test_invalid_cards_are_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ModelBundleError, match=message):
        make_card(**changes)


@pytest.mark.parametrize(("drop", "add", "message"), [
    ("sha256", {}, "lacks sha256"),
    (None, {"colour": "red"}, "unknown fields colour"),
])
def test_card_fields_are_checked(drop: str | None, add: dict[str, Any], message: str) -> None:
    values = {**dataclasses.asdict(make_card()), **add}
    values.pop(drop or "", None)
    with pytest.raises(ModelBundleError, match=message):
        card_from_dict(values)


def test_bad_json_is_reported(tmp_path: Path) -> None:
    (tmp_path / "model.json").write_text("{nope")
    with pytest.raises(ModelBundleError, match="not valid JSON"):
        load_card(tmp_path / "model.json")


def test_load_bundle_checks_files_and_checksum(tmp_path: Path) -> None:
    with pytest.raises(ModelBundleError, match="does not exist"):
        load_bundle(tmp_path / "absent")
    with pytest.raises(ModelBundleError, match=r"model\.json is missing"):
        load_bundle(tmp_path)
    save_card(make_card(), tmp_path / "model.json")
    with pytest.raises(ModelBundleError, match=r"model\.onnx is missing"):
        load_bundle(tmp_path)
    (tmp_path / "model.onnx").write_bytes(b"not the model")
    with pytest.raises(ModelBundleError, match="does not match its card"):
        load_bundle(tmp_path)


def test_load_bundle_accepts_matching_checksum(tmp_path: Path) -> None:
    import hashlib

    (tmp_path / "model.onnx").write_bytes(b"weights")
    digest = hashlib.sha256(b"weights").hexdigest()
    save_card(make_card(sha256=digest), tmp_path / "model.json")
    bundle = load_bundle(tmp_path)
    assert bundle.card.sha256 == digest
    assert json.loads((tmp_path / "model.json").read_text())["classes"] == list(CLASSES)
