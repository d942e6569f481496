"""The model card and bundle loading: validation, round trip, checksum."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from xscreen import CLASSES
from xscreen.errors import ModelBundleError
from xscreen.models.card import ModelCard, card_from_dict, load_bundle, load_card, save_card

SHA = "0" * 64
DEFAULT_BUNDLE = Path(__file__).parents[2] / "models" / "default"


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


@pytest.mark.parametrize(("drop", "add", "field", "message"), [
    ("sha256", {}, "sha256", "Field required"),
    (None, {"colour": "red"}, "colour", "unknown key"),
    (None, {"input_size": "512"}, "input_size", "valid integer"),     # a string is no number
    (None, {"pad_value": "1.0"}, "pad_value", "valid number"),
    (None, {"classes": "firearm"}, "classes", "valid tuple"),
    (None, {"thresholds": {"firearm": "0.3"}}, "thresholds.firearm", "valid number"),
    (None, {"lineage": []}, "lineage", "valid dictionary"),
    (None, {"precision": "int4"}, "precision", "must be one of"),
    (None, {"letterbox_stride": 48}, "letterbox_stride", "positive divisor of input_size"),
    (None, {"letterbox_stride": 0}, "letterbox_stride", "positive divisor of input_size"),
    (None, {"letterbox_stride": -32}, "letterbox_stride", "positive divisor of input_size"),
    (None, {"letterbox_stride": "32"}, "letterbox_stride", "valid integer"),
])
def test_card_fields_are_checked(drop: str | None, add: dict[str, Any], field: str,
                                 message: str) -> None:
    values = {**make_card().to_dict(), **add}
    values.pop(drop or "", None)
    with pytest.raises(ModelBundleError) as caught:
        card_from_dict(values, "bundle/model.json")
    text = str(caught.value)
    assert text.startswith("bundle/model.json: ") and f"  {field}: " in text and message in text
    assert "re-export" in text


def test_every_bad_field_is_named_at_once() -> None:
    with pytest.raises(ModelBundleError) as caught:
        make_card(input_size=500, sha256="abc", colour="red")
    assert all(f"  {name}: " in str(caught.value) for name in ("input_size", "sha256", "colour"))


def test_replace_checks_the_copy() -> None:
    card = make_card()
    assert card.replace(version="2").version == "2" and card.version == "1"
    assert card.replace(classes=["a", "b"]).classes == ("a", "b")
    with pytest.raises(ModelBundleError, match="input_size"):
        card.replace(input_size="512")
    with pytest.raises(ValueError, match="frozen"):
        card.version = "3"   # type: ignore[misc]


def test_the_shipped_card_is_written_back_byte_for_byte(tmp_path: Path) -> None:
    """Reading and saving a card changes no byte: its JSON is what tools and people diff."""
    shipped = (DEFAULT_BUNDLE / "model.json").read_bytes()
    save_card(load_card(DEFAULT_BUNDLE / "model.json"), tmp_path / "model.json")
    assert (tmp_path / "model.json").read_bytes() == shipped
    assert load_bundle(DEFAULT_BUNDLE).card == load_card(tmp_path / "model.json")


def test_a_card_without_a_letterbox_stride_means_32_and_stays_without(tmp_path: Path) -> None:
    old = {k: v for k, v in make_card().to_dict().items() if k != "letterbox_stride"}
    card = card_from_dict(old)
    assert card.letterbox_stride == 32
    assert "letterbox_stride" not in card.to_dict()
    assert "letterbox_stride" not in card.replace(version="2").to_dict()
    save_card(card.replace(letterbox_stride=64), tmp_path / "model.json")
    assert json.loads((tmp_path / "model.json").read_text())["letterbox_stride"] == 64
    assert load_card(tmp_path / "model.json").letterbox_stride == 64
    assert make_card(letterbox_stride=32).to_dict()["letterbox_stride"] == 32   # given: written


def test_save_is_atomic(tmp_path: Path) -> None:
    save_card(make_card(), tmp_path / "model.json")
    with pytest.raises(TypeError):     # a value JSON cannot hold: nothing is replaced
        save_card(make_card(metrics={"x": object()}), tmp_path / "model.json")
    assert load_card(tmp_path / "model.json") == make_card(
        created_at=load_card(tmp_path / "model.json").created_at)
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"]   # no temporary left


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
