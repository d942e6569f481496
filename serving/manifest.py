"""Advance cargo information (CONTRACT "HTTP API", Manifest): typed, validated, all optional.

Carriers and e-commerce platforms send a manifest with each parcel. One pydantic model,
:class:`Manifest` (built on :class:`xscreen.typedconfig.Strict`), says what a manifest may hold,
and one function, :func:`parse_manifest`, checks one: it refuses what no risk rule could use,
naming the field: unknown fields, wrong types (``"20"`` is not an amount), negative amounts, a
currency that is not three letters, an HS code that is not digits, a country that is not a
two-letter code. It checks *shape*, not membership: a well-formed currency or HS chapter that the
risk configuration does not know is accepted here and reported by the risk score
(:mod:`xscreen.serving.risk`), never guessed. The service reads the form field through
:func:`parse_manifest_text` and a stored manifest through :func:`parse_manifest_data`, both of
them this one parse.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints, ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

from xscreen.errors import XscreenError
from xscreen.serving.errors import ManifestJsonError
from xscreen.typedconfig import Strict, field_path

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


def _blank_is_none(text: str) -> str | None:
    """Stripped; a field of spaces counts as absent."""
    return text.strip() or None


def _country(text: str) -> str | None:
    """ISO 3166-1 alpha-2 shape (two letters), upper-cased; empty counts as absent."""
    code = text.strip().upper()
    if code and not _COUNTRY.fullmatch(code):
        raise PydanticCustomError("country_code", "must be a two-letter ISO 3166 country code "
                                  "such as 'DE'")
    return code or None


def _hs_code(text: str) -> str | None:
    """Digits only (dots, spaces and dashes dropped), 2 to 10 of them: chapter, heading, ..."""
    digits = _HS_SEPARATORS.sub("", text)
    if digits and not _HS_CODE.fullmatch(digits):
        raise PydanticCustomError("hs_code", "must hold 2 to 10 digits (dots and spaces "
                                  "allowed), such as '6109.10'")
    return digits or None


def _currency(text: str) -> str:
    code = text.strip().upper()
    if not _CURRENCY.fullmatch(code):
        raise PydanticCustomError("currency_code", "must be a three-letter ISO 4217 code such "
                                  "as 'USD' or 'EUR'")
    return code


def _whole(value: Any) -> Any:
    """``3.0`` counts as the whole number 3 (JSON writers differ); ``2.5`` stays refused."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


Text = Annotated[str, StringConstraints(max_length=MAX_TEXT), AfterValidator(_blank_is_none)]
Country = Annotated[str, AfterValidator(_country)]
Amount = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Count = Annotated[int, BeforeValidator(_whole), Field(ge=0)]


class Party(Strict):
    """A shipper or consignee: every part optional. Countries are ISO 3166 alpha-2, upper case."""

    name: Text | None = None
    country: Country | None = None
    id: Text | None = None
    address: Text | None = None


class Money(Strict):
    """A declared value: a non-negative amount in an ISO 4217-shaped currency (``USD``)."""

    amount: Amount
    currency: Annotated[str, AfterValidator(_currency)]

    def __init__(self, *args: Any, **values: Any) -> None:
        # ``Money(20.0, "USD")`` reads well where manifests are built in code (scenarios)
        values.update(zip(("amount", "currency"), args, strict=False))
        super().__init__(**values)


class Manifest(Strict):
    """Advance cargo information for one parcel (CONTRACT "Manifest"); every field optional."""

    declaration_id: Text | None = None
    carrier: Text | None = None
    platform: Text | None = None
    seller_id: Text | None = None
    shipper: Party | None = None
    consignee: Party | None = None
    origin_country: Country | None = None
    hs_code: Annotated[str, AfterValidator(_hs_code)] | None = None
    description: Text | None = None
    declared_value: Money | None = None
    declared_weight_kg: Amount | None = None
    item_count: Count | None = None
    mail_order: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the fields that are set; ``parse_manifest`` reads it back."""
        return self.model_dump(exclude_none=True)

    @property
    def hs_chapter(self) -> str | None:
        """The HS chapter (first two digits of ``hs_code``), or None."""
        return self.hs_code[:2] if self.hs_code else None


_PARTS: dict[str, type[Strict]] = {"shipper": Party, "consignee": Party,
                                   "declared_value": Money}


def parse_manifest(data: Any) -> Manifest:
    """Validate a manifest given as a dict, or as JSON text or bytes; None gives an empty one.

    Raises :class:`ManifestError` naming the first bad field (and any others after it).
    """
    if data is None:
        return Manifest()
    if isinstance(data, str | bytes | bytearray):
        try:
            data = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ManifestError("manifest", f"is not valid JSON ({error}); send a JSON object "
                                "with the CONTRACT's Manifest fields") from None
    if not isinstance(data, dict):
        raise ManifestError("manifest", f"must be a JSON object, got {_type_name(data)}")
    try:
        # checked as JSON, like every configuration (xscreen.typedconfig.parse); NaN travels
        # as NaN and is refused by the amounts
        return Manifest.model_validate_json(json.dumps(data, default=str))
    except ValidationError as error:
        raise _named(error) from None


def parse_manifest_data(data: Any) -> Manifest | None:
    """A stored or already decoded manifest: None (none was sent) stays None."""
    return None if data is None else parse_manifest(data)


def parse_manifest_text(text: str | None) -> Manifest | None:
    """The ``manifest`` form field: JSON text, or nothing (absent or blank).

    Broken JSON is :class:`~xscreen.serving.errors.ManifestJsonError` (422, with the line and
    column); a malformed field is :class:`ManifestError` (422, naming the field)."""
    if text is None or not text.strip():
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ManifestJsonError(f"manifest is not valid JSON: {error.msg} at line "
                                f"{error.lineno} column {error.colno}") from None
    return parse_manifest_data(data)


def _named(error: ValidationError) -> ManifestError:
    """Pydantic's problems as one ManifestError: the first field named, then the others."""
    problems = [(field_path(problem["loc"]), _words(problem))
                for problem in error.errors(include_url=False)]
    field, words = problems[0]
    others = "".join(f"; manifest field {name!r}: {more}" for name, more in problems[1:])
    return ManifestError(field, words + others)


def _words(problem: ErrorDetails) -> str:
    if problem["type"] == "extra_forbidden":
        model = _PARTS.get(str(problem["loc"][0]), Manifest) if len(problem["loc"]) > 1 \
            else Manifest
        return f"is not a manifest field; known fields here: {', '.join(model.model_fields)}"
    given = problem.get("input")
    if problem["type"] == "missing":
        return "is required when its object is given"
    return f"{problem['msg'][:1].lower()}{problem['msg'][1:]}, got {_shown(given)}"


def _shown(value: Any) -> str:
    if isinstance(value, dict | list):
        return _type_name(value)
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _type_name(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
             int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)
