"""Manifest parsing: every field optional, malformed fields named, codes checked for shape only."""

from __future__ import annotations

import json
from typing import Any

import pytest

from xscreen.errors import XscreenError
from xscreen.serving.errors import ManifestJsonError
from xscreen.serving.manifest import (
    Manifest,
    ManifestError,
    Money,
    Party,
    parse_manifest,
    parse_manifest_data,
    parse_manifest_text,
)

FULL: dict[str, Any] = {
    "declaration_id": "D1", "carrier": "PostNet", "platform": "ShopFast", "seller_id": "S9",
    "shipper": {"name": "Acme Ltd", "country": "cn"},
    "consignee": {"name": "J. Doe", "id": "ID7", "address": "1 Main Street"},
    "origin_country": "CN", "hs_code": "6109.10", "description": "t-shirts",
    "declared_value": {"amount": 20, "currency": "usd"}, "declared_weight_kg": 1.5,
    "item_count": 3, "mail_order": True,
}


def test_full_manifest_is_parsed_and_normalised() -> None:
    manifest = parse_manifest(FULL)
    assert manifest.shipper == Party(name="Acme Ltd", country="CN")
    assert manifest.declared_value == Money(20.0, "USD")
    assert manifest.hs_code == "610910" and manifest.hs_chapter == "61"
    assert manifest.item_count == 3 and manifest.mail_order is True


def test_round_trip_through_dict_and_json() -> None:
    manifest = parse_manifest(FULL)
    assert parse_manifest(manifest.to_dict()) == manifest
    assert parse_manifest(json.dumps(FULL)) == manifest
    assert parse_manifest(json.dumps(FULL).encode()) == manifest


@pytest.mark.parametrize("data", [None, {}, "{}", {"description": None, "shipper": None},
                                  {"description": "  ", "hs_code": ""}])
def test_missing_and_empty_manifests_are_empty(data: Any) -> None:
    assert parse_manifest(data) == Manifest()
    assert Manifest().to_dict() == {}


@pytest.mark.parametrize("data", [
    {"description": "books"}, {"shipper": {"name": "X"}}, {"declared_weight_kg": 0},
    {"consignee": {"address": "somewhere"}}, {"item_count": 2.0}, {"mail_order": False},
])
def test_partial_manifests_are_accepted(data: dict[str, Any]) -> None:
    manifest = parse_manifest(data)
    assert parse_manifest(manifest.to_dict()) == manifest


@pytest.mark.parametrize(("data", "field"), [
    ({"colour": "red"}, "colour"),
    ({"shipper": {"name": "A", "phone": "1"}}, "shipper.phone"),
    ({"description": 5}, "description"),
    ({"shipper": "Acme"}, "shipper"),
    ({"consignee": {"name": ["a"]}}, "consignee.name"),
    ({"declared_weight_kg": -1}, "declared_weight_kg"),
    ({"declared_weight_kg": "2"}, "declared_weight_kg"),
    ({"declared_weight_kg": float("nan")}, "declared_weight_kg"),
    ({"declared_weight_kg": True}, "declared_weight_kg"),
    ({"declared_value": {"amount": -5, "currency": "USD"}}, "declared_value.amount"),
    ({"declared_value": {"amount": "20", "currency": "USD"}}, "declared_value.amount"),
    ({"declared_value": {"currency": "USD"}}, "declared_value.amount"),
    ({"declared_value": {"amount": 20}}, "declared_value.currency"),
    ({"declared_value": {"amount": 20, "currency": "US$"}}, "declared_value.currency"),
    ({"declared_value": {"amount": 20, "currency": "DOLLAR"}}, "declared_value.currency"),
    ({"declared_value": {"amount": 20, "currency": 840}}, "declared_value.currency"),
    ({"declared_value": {"amount": 20, "currency": "USD", "fx": 1}}, "declared_value.fx"),
    ({"declared_value": 20}, "declared_value"),
    ({"item_count": 2.5}, "item_count"),
    ({"item_count": -1}, "item_count"),
    ({"mail_order": "yes"}, "mail_order"),
    ({"hs_code": "61O9"}, "hs_code"),
    ({"hs_code": 6109}, "hs_code"),
    ({"hs_code": "6"}, "hs_code"),
    ({"hs_code": "61091000000"}, "hs_code"),
    ({"origin_country": "China"}, "origin_country"),
    ({"shipper": {"country": "C1"}}, "shipper.country"),
    ({"description": "x" * 1001}, "description"),
    ([1, 2], "manifest"),
    ("{not json", "manifest"),
])
def test_malformed_manifests_name_the_field(data: Any, field: str) -> None:
    with pytest.raises(ManifestError) as caught:
        parse_manifest(data)
    assert caught.value.field == field
    assert repr(field) in str(caught.value)
    assert caught.value.http_status == 422
    assert isinstance(caught.value, XscreenError)


@pytest.mark.parametrize(("code", "stored", "chapter"), [
    ("6109.10", "610910", "61"), ("71 13 19", "711319", "71"), ("93", "93", "93"),
    ("9901.00.00", "99010000", "99"),   # well-formed though chapter 99 is not HS: risk reports it
])
def test_hs_codes_keep_their_digits(code: str, stored: str, chapter: str) -> None:
    manifest = parse_manifest({"hs_code": code})
    assert (manifest.hs_code, manifest.hs_chapter) == (stored, chapter)


def test_well_formed_unknown_currency_is_accepted_here() -> None:
    manifest = parse_manifest({"declared_value": {"amount": 3, "currency": "QQQ"}})
    assert manifest.declared_value == Money(3.0, "QQQ")


def test_every_bad_field_is_named() -> None:
    with pytest.raises(ManifestError) as caught:
        parse_manifest({"item_count": "3", "shipper": {"phone": "1"}, "declared_weight_kg": -2})
    message = str(caught.value)
    assert caught.value.field == "shipper.phone"     # the first in the model's order
    assert all(f"manifest field {name!r}" in message
               for name in ("item_count", "shipper.phone", "declared_weight_kg"))
    assert "known fields here: name, country, id, address" in message


def test_built_in_code_the_manifest_is_checked_too() -> None:
    assert Money(20, "usd") == Money(amount=20.0, currency="USD")
    assert Manifest(shipper=Party(country=" de ")).shipper == Party(country="DE")
    with pytest.raises(ValueError, match="currency"):
        Money(20, "dollars")
    with pytest.raises(ValueError, match="frozen"):
        Manifest().carrier = "x"   # type: ignore[misc]


@pytest.mark.parametrize("text", [None, "", "  \n"])
def test_an_absent_form_field_is_no_manifest(text: str | None) -> None:
    assert parse_manifest_text(text) is None
    assert parse_manifest_data(None) is None


def test_the_form_field_and_stored_data_go_through_the_one_parse() -> None:
    manifest = parse_manifest(FULL)
    assert parse_manifest_text(json.dumps(FULL)) == manifest
    assert parse_manifest_data(manifest.to_dict()) == manifest
    with pytest.raises(ManifestJsonError, match=r"not valid JSON: .* at line 1 column") as broken:
        parse_manifest_text('{"declaration_id": ')
    assert broken.value.http_status == 422
    with pytest.raises(ManifestError) as caught:
        parse_manifest_text('{"item_count": "three"}')
    assert caught.value.field == "item_count" and caught.value.http_status == 422


def test_the_service_delegates_to_the_manifest_module() -> None:
    from xscreen.serving import service

    assert service.parse_manifest_text(json.dumps(FULL)) == parse_manifest(FULL)
    assert service.parse_manifest_data(None) is None
    with pytest.raises(ManifestError, match="'colour'"):
        service.parse_manifest_data({"colour": "red"})
