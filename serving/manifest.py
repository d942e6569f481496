"""Advance cargo information (CONTRACT "HTTP API", Manifest): typed, validated, all optional.

Carriers and e-commerce platforms send a manifest with each parcel. ``parse_manifest`` turns its
JSON into a frozen :class:`Manifest` and refuses what no risk rule could use, naming the field:
unknown fields, wrong types, negative amounts, a currency that is not three letters, an HS code
that is not digits, a country that is not a two-letter code. It checks *shape*, not membership:
a well-formed currency or HS chapter that the risk configuration does not know is accepted here
and reported by the risk score (:mod:`xscreen.serving.risk`), never guessed.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, fields
from typing import Any

from xscreen.errors import XscreenError

MAX_TEXT = 1000          # characters in any text field; longer is a client bug or an attack
_CURRENCY = re.compile(r"[A-Z]{3}")
_COUNTRY = re.compile(r"[A-Z]{2}")
_HS_CODE = re.compile(r"\d{2,10}")
_HS_SEPARATORS = re.compile(r"[.\s-]")


class ManifestError(XscreenError):
    """A manifest field is malformed; ``field`` names it (e.g. ``declared_value.amount``)."""

    http_status = 422

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"manifest field {field!r}: {message}")
        self.field = field


@dataclass(frozen=True)
class Party:
    """A shipper or consignee: every part optional. Countries are ISO 3166 alpha-2, upper case."""

    name: str | None = None
    country: str | None = None
    id: str | None = None
    address: str | None = None


@dataclass(frozen=True)
class Money:
    """A declared value: a non-negative amount in an ISO 4217-shaped currency (``USD``)."""

    amount: float
    currency: str


@dataclass(frozen=True)
class Manifest:
    """Advance cargo information for one parcel (CONTRACT "Manifest"); every field optional."""

    declaration_id: str | None = None
    carrier: str | None = None
    platform: str | None = None
    seller_id: str | None = None
    shipper: Party | None = None
    consignee: Party | None = None
    origin_country: str | None = None
    hs_code: str | None = None
    description: str | None = None
    declared_value: Money | None = None
    declared_weight_kg: float | None = None
    item_count: int | None = None
    mail_order: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the fields that are set; ``parse_manifest`` reads it back."""
        return _plain(self)

    @property
    def hs_chapter(self) -> str | None:
        """The HS chapter (first two digits of ``hs_code``), or None."""
        return self.hs_code[:2] if self.hs_code else None


def _plain(value: Any) -> Any:
    """Dataclasses to dicts without their None fields."""
    if isinstance(value, Manifest | Party | Money):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)
                if getattr(value, f.name) is not None}
    return value


def parse_manifest(data: Any) -> Manifest:
    """Validate a manifest given as a dict, or as JSON text or bytes; None gives an empty one.

    Raises :class:`ManifestError` naming the first bad field.
    """
    if data is None:
        return Manifest()
    if isinstance(data, str | bytes | bytearray):
        data = _json(data)
    values = _mapping(data, "manifest", Manifest)
    return Manifest(
        declaration_id=_text(values, "declaration_id"),
        carrier=_text(values, "carrier"),
        platform=_text(values, "platform"),
        seller_id=_text(values, "seller_id"),
        shipper=_party(values.get("shipper"), "shipper"),
        consignee=_party(values.get("consignee"), "consignee"),
        origin_country=_country(values.get("origin_country"), "origin_country"),
        hs_code=_hs_code(values.get("hs_code")),
        description=_text(values, "description"),
        declared_value=_money(values.get("declared_value")),
        declared_weight_kg=_amount(values.get("declared_weight_kg"), "declared_weight_kg"),
        item_count=_count(values.get("item_count")),
        mail_order=_flag(values.get("mail_order")),
    )


def _json(text: str | bytes | bytearray) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ManifestError("manifest", f"is not valid JSON ({error}); send a JSON object "
                            "with the CONTRACT's Manifest fields") from None


def _mapping(data: Any, where: str, kind: type) -> dict[str, Any]:
    """``data`` as a dict whose keys are all fields of dataclass ``kind``."""
    if not isinstance(data, dict):
        raise ManifestError(where, f"must be a JSON object, got {_type_name(data)}")
    known = [f.name for f in fields(kind)]
    for key in data:
        if key not in known:
            name = key if where == "manifest" else f"{where}.{key}"
            raise ManifestError(name, f"is not a manifest field; known fields here: "
                                f"{', '.join(known)}")
    return data


def _type_name(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
             int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _text(values: dict[str, Any], key: str, where: str = "") -> str | None:
    """An optional string field (stripped; empty counts as absent)."""
    name = f"{where}.{key}" if where else key
    value = values.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ManifestError(name, f"must be a string, got {_type_name(value)}")
    if len(value) > MAX_TEXT:
        raise ManifestError(name, f"is {len(value)} characters; at most {MAX_TEXT} are accepted")
    return value.strip() or None


def _party(value: Any, where: str) -> Party | None:
    if value is None:
        return None
    values = _mapping(value, where, Party)
    return Party(name=_text(values, "name", where),
                 country=_country(values.get("country"), f"{where}.country"),
                 id=_text(values, "id", where),
                 address=_text(values, "address", where))


def _country(value: Any, name: str) -> str | None:
    """ISO 3166-1 alpha-2 shape (two letters), upper-cased; empty counts as absent."""
    if value is None:
        return None
    code = value.strip().upper() if isinstance(value, str) else None
    if code == "":
        return None
    if code is None or not _COUNTRY.fullmatch(code):
        raise ManifestError(name, f"must be a two-letter ISO 3166 country code such as 'DE', "
                            f"got {value!r}")
    return code


def _hs_code(value: Any) -> str | None:
    """Digits only (dots, spaces and dashes dropped), 2 to 10 of them: chapter, heading, ..."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ManifestError("hs_code", f"must be a string of digits such as '6109.10', got "
                            f"{_type_name(value)}")
    digits = _HS_SEPARATORS.sub("", value)
    if not digits:
        return None
    if not _HS_CODE.fullmatch(digits):
        raise ManifestError("hs_code", f"must hold 2 to 10 digits (dots and spaces allowed), "
                            f"such as '6109.10', got {value!r}")
    return digits


def _money(value: Any) -> Money | None:
    if value is None:
        return None
    values = _mapping(value, "declared_value", Money)
    amount = _amount(values.get("amount"), "declared_value.amount")
    currency = values.get("currency")
    if amount is None:
        raise ManifestError("declared_value.amount", "is required when declared_value is given")
    if currency is None:
        raise ManifestError("declared_value.currency", "is required when declared_value is "
                            "given (an ISO 4217 code such as 'USD')")
    if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency.strip().upper()):
        raise ManifestError("declared_value.currency", f"must be a three-letter ISO 4217 code "
                            f"such as 'USD' or 'EUR', got {currency!r}")
    return Money(amount=amount, currency=currency.strip().upper())


def _amount(value: Any, name: str) -> float | None:
    """A finite, non-negative number."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ManifestError(name, f"must be a number, got {_type_name(value)}")
    if not math.isfinite(value) or value < 0:
        raise ManifestError(name, f"must be a finite number of at least 0, got {value!r}")
    return float(value)


def _count(value: Any) -> int | None:
    """A non-negative whole number (``3.0`` is accepted as 3)."""
    if value is None:
        return None
    number = _amount(value, "item_count")
    if number is None or not number.is_integer():
        raise ManifestError("item_count", f"must be a whole number, got {value!r}")
    return int(number)


def _flag(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise ManifestError("mail_order", f"must be true or false, got {_type_name(value)}")
