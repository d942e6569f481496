"""The risk configuration (``serving/risk.yaml``): typed pydantic models, checked when loaded.

Built on :mod:`xscreen.typedconfig`: unknown keys, missing keys, wrongly typed values (``"3"``
is not a number, ``true`` neither), numbers that are not finite and >= 0, and keys of the wrong
shape are a :class:`RiskConfigError` that names every bad field by its path
(``weight.min_ratio``, ``classes.gold.chapters.0``, ``currencies.usd.[key]``).

:class:`RiskConfig` holds the sections every rule may read (version, score scale, bands,
classes, currencies, HS chapters, factor weights). Each rule's own section is the model it was
registered with (:mod:`xscreen.serving.risk.rules`), so a loaded configuration is an instance
of :func:`config_model`, the subclass of :class:`RiskConfig` that adds one field per rule.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, ClassVar

import yaml
from pydantic import AfterValidator, Field, create_model, field_validator, model_validator

from xscreen import CLASSES
from xscreen.errors import XscreenError
from xscreen.serving.risk.registry import RULES, Registry, Rule
from xscreen.typedconfig import Strict, parse, parse_yaml_file

PACKAGED = "serving/risk.yaml"     # shown in messages; read from the installed xscreen.serving


class RiskConfigError(XscreenError):
    """The risk configuration is malformed; the message names each bad field (dotted path) and
    what it must be."""


def shaped(pattern: str, wanted: str) -> AfterValidator:
    """A check (for ``Annotated[str, ...]``) that a text matches ``pattern`` in full; else the
    error ``must be <wanted>``."""
    def check(text: str) -> str:
        if not re.fullmatch(pattern, text):
            raise ValueError(f"must be {wanted}")
        return text
    return AfterValidator(check)


# Every number in the file is finite and >= 0 (a rule's points never subtract).
Number = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0)]
Share = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]     # in (0, 1]
Text = Annotated[str, shaped(r"(?s).*\S.*", "a non-empty text")]
Words = tuple[Text, ...]                  # keyword lists: single words or phrases
Chapter = Annotated[str, shaped(r"\d\d", "a two-digit HS chapter")]
Country = Annotated[str, shaped(r"[A-Z]{2}", "a two-letter country code")]
Currency = Annotated[str, shaped(r"[A-Z]{3}", "a three-letter ISO 4217 code")]


class Bands(Strict):
    """Scores from which a parcel is medium (review) and high (inspect)."""

    medium: Number
    high: Number

    @model_validator(mode="after")
    def _ordered(self) -> Bands:
        if not 0 < self.medium < self.high <= 100:
            raise ValueError(f"needs 0 < medium < high <= 100, got medium {self.medium:g}, "
                             f"high {self.high:g}")
        return self


class ClassRule(Strict):
    """What a detected class counts for, and what a declaration that can hold it says."""

    severity: Number                      # points of one detection at confidence 1
    noun: Text                            # how a sentence names one such object
    chapters: tuple[Chapter, ...]         # HS chapters that can hold it
    keywords: Words                       # description words that can hold it


class RiskConfig(Strict):
    """The sections of ``risk.yaml`` that every rule may read (see the file for each key).

    A loaded configuration is an instance of :func:`config_model`, which adds each registered
    rule's section; ``registry`` is then the rules it was checked for, which
    :func:`~xscreen.serving.risk.score.risk` runs.
    """

    registry: ClassVar[Registry | None] = None

    version: Text                         # recorded with every assessment
    saturation_points: Positive
    bands: Bands
    classes: dict[str, ClassRule]
    currencies: dict[Currency, Positive]  # US dollars per unit
    hs_chapters: dict[Chapter, Text]
    # optional: multipliers of factors' points, by factor name ("detection.gold") or rule
    # ("party_history"); usually written by `xscreen risk fit` from operators' verdicts
    factor_weights: dict[str, Number] = Field(default_factory=dict)

    @field_validator("classes")
    @classmethod
    def _contract_classes(cls, classes: dict[str, ClassRule]) -> dict[str, ClassRule]:
        missing = [name for name in CLASSES if name not in classes]
        if missing:
            raise ValueError(f"lacks the contract's classes {missing}")
        return classes


def config_model(rules: Registry = RULES) -> type[RiskConfig]:
    """:class:`RiskConfig` with a required section per rule of ``rules`` (checked as the
    rule's settings model) and ``factor_weights`` keys checked against its factors."""
    return _model(tuple(rules))


@lru_cache(maxsize=16)
def _model(rules: tuple[Rule, ...]) -> type[RiskConfig]:
    registry = Registry(rules)
    shared = set(RiskConfig.model_fields)
    clash = [rule.name for rule in rules if rule.name in shared]
    if clash:
        raise ValueError(f"risk rules {clash} are named like shared sections of risk.yaml; "
                         "rename them")

    def factor_key(key: str) -> str:
        if not registry.is_factor_key(key):
            raise ValueError(f"must be {registry.factor_keys_text()}")
        return key

    key = Annotated[str, AfterValidator(factor_key)]
    sections: dict[str, Any] = {rule.name: (rule.settings, ...) for rule in rules
                                if rule.settings is not None}
    model = create_model("RiskConfig", __base__=RiskConfig, __module__=__name__,
                         factor_weights=(dict[key, Number], Field(default_factory=dict)),
                         **sections)
    model.registry = registry
    return model


def risk_config_from_dict(values: Any, source: str = "risk config",
                          rules: Registry = RULES) -> RiskConfig:
    """``values`` (parsed YAML) checked as the configuration of ``rules``; a
    :class:`RiskConfigError` naming ``source`` and every bad field otherwise."""
    return parse(config_model(rules), values, source, RiskConfigError)


def load_risk_config(path: str | Path | None = None, rules: Registry = RULES) -> RiskConfig:
    """Read and check a risk YAML file (default: the packaged ``serving/risk.yaml``).

    Raises :class:`RiskConfigError` naming the file and every unknown, missing or invalid key.
    """
    if path is not None:
        return parse_yaml_file(config_model(rules), path, RiskConfigError)
    text = resources.files("xscreen.serving").joinpath("risk.yaml").read_text(encoding="utf-8")
    return risk_config_from_dict(yaml.safe_load(text), PACKAGED, rules)


@lru_cache(maxsize=1)
def default_risk_config() -> RiskConfig:
    """The packaged configuration, loaded once."""
    return load_risk_config()
