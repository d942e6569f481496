"""The model card (``model.json``) and the bundle it travels in (CONTRACT "Model bundle").

A bundle is a folder with ``model.onnx`` and ``model.json``; it may also hold ``weights.pt``
(the PyTorch weights, for ``xscreen train --init``), which serving ignores. The card says
everything serving needs (classes, input size, padding, per-class thresholds) and how the model
was made; its ``sha256`` pins the ONNX file, so a swapped or damaged file is refused.

A fine-tuned model's card also carries its ``lineage``: the ``parent`` it was fine-tuned from
(name, version, sha256), the ``data`` it was fine-tuned on (new data, replayed data, mix) and,
once ``xscreen gate`` has judged it, the ``gate`` report. The registry refuses to promote a
fine-tuned model whose gate is missing or failed unless forced (``serving/registry.py``).

A model whose backbone started from third-party pretrained weights says where they came from in
``pretrained`` (:data:`PRETRAINED_KEYS`: the package that shipped them, the file, its licence and
sha256), so that a bundle's licence obligations can be read off its card.

A bundle made by ``xscreen quantize`` says ``precision: "int8"`` and, in ``quantization``, how it
was made (the parent bundle's name, version and sha256, the calibration set and image count, the
settings); cards written before the field say nothing and are ``"fp32"``.

``letterbox_stride`` is the multiple each side of the letterboxed input is padded to: the
detector's coarsest stride, which ``xscreen export`` writes. Cards written before the field
leave it out and mean 32; such a card is saved back without it, byte for byte.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from xscreen.errors import ModelBundleError
from xscreen.fileio import atomic_writer
from xscreen.typedconfig import Strict, describe, parse

MODEL_FILE = "model.onnx"
CARD_FILE = "model.json"
WEIGHTS_FILE = "weights.pt"
PRETRAINED_KEYS = ("package", "file", "licence", "sha256")
"""What a card's ``pretrained`` holds when it is not empty (it may hold more, e.g. ``dataset``)."""
PRECISIONS = ("fp32", "int8")
HEX_DIGITS = frozenset("0123456789abcdef")
IMPLIED_FIELDS = frozenset({"letterbox_stride"})
"""Fields a card written before them leaves out (their default holds): written only when set."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def is_sha256(digest: str) -> bool:
    """Whether ``digest`` is a SHA-256 as cards write it: 64 lowercase hex digits."""
    return len(digest) == 64 and set(digest) <= HEX_DIGITS


def _invalid(message: str) -> PydanticCustomError:
    """A card problem in words; pydantic puts the field's path before it."""
    return PydanticCustomError("invalid_card", message)


class ModelCard(Strict):
    """What a bundle's ``model.json`` holds: checked when built (``ModelCard(...)`` raises
    :class:`ModelBundleError` naming each bad field) and frozen afterwards; :meth:`replace`
    makes a checked copy with some fields changed."""

    name: str
    version: str
    classes: tuple[str, ...]
    input_size: int
    sha256: str
    pad_value: float = 1.0
    letterbox_stride: int = 32                                 # each side padded to a multiple
    thresholds: dict[str, float] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict)
    training: dict[str, Any] = Field(default_factory=dict)
    created_at: str = Field(default_factory=_now)
    lineage: dict[str, Any] = Field(default_factory=dict)
    pretrained: dict[str, Any] = Field(default_factory=dict)   # empty: trained from scratch
    precision: str = "fp32"                                    # "int8": see ``quantization``
    quantization: dict[str, Any] = Field(default_factory=dict)  # parent, calibration, settings

    def __init__(self, **values: Any) -> None:
        # pydantic calls an overridden __init__ when validating JSON too, so every way of
        # building a card raises the project's error
        try:
            super().__init__(**values)
        except ValidationError as error:
            raise ModelBundleError(describe(error, "invalid model card")) from None

    @field_validator("classes", mode="before")
    @classmethod
    def _classes_as_tuple(cls, value: Any) -> Any:
        # Python callers pass lists as often as tuples; JSON arrays arrive as lists anyway
        return tuple(value) if isinstance(value, list) else value

    @field_validator("classes")
    @classmethod
    def _distinct_classes(cls, classes: tuple[str, ...]) -> tuple[str, ...]:
        if not classes or len(set(classes)) != len(classes):
            raise _invalid(f"must be distinct names, got {list(classes)}")
        return classes

    @field_validator("input_size")
    @classmethod
    def _multiple_of_32(cls, size: int) -> int:
        if size <= 0 or size % 32:
            raise _invalid("must be a positive multiple of 32")
        return size

    @field_validator("letterbox_stride")
    @classmethod
    def _divides_input_size(cls, stride: int, info: ValidationInfo) -> int:
        size = info.data.get("input_size")     # absent when the input size was refused
        if stride <= 0 or (size is not None and size % stride):
            raise _invalid(f"must be a positive divisor of input_size ({size})")
        return stride

    @field_validator("sha256")
    @classmethod
    def _hex_digest(cls, digest: str) -> str:
        if not is_sha256(digest):
            raise _invalid("must be 64 lowercase hex digits")
        return digest

    @field_validator("thresholds")
    @classmethod
    def _thresholds(cls, thresholds: dict[str, float], info: ValidationInfo) -> dict[str, float]:
        outside = {name: value for name, value in thresholds.items() if not 0.0 <= value <= 1.0}
        if outside:   # NaN is outside too
            raise _invalid(f"each must be in [0, 1], got {outside}")
        classes = info.data.get("classes")    # absent when the classes were refused
        unknown = sorted(set(thresholds) - set(classes)) if classes is not None else []
        if unknown:
            raise _invalid(f"name unknown classes {unknown}")
        return thresholds

    @field_validator("pretrained", mode="before")
    @classmethod
    def _pretrained(cls, pretrained: Any) -> Any:
        problems = pretrained_problems(pretrained)
        if problems:
            raise _invalid(problems[0])
        return pretrained

    @field_validator("precision")
    @classmethod
    def _precision(cls, precision: str) -> str:
        if precision not in PRECISIONS:
            raise _invalid(f"must be one of {list(PRECISIONS)}")
        return precision

    @property
    def parent(self) -> dict[str, Any] | None:
        """The model this one was fine-tuned from (``name``, ``version``, ``sha256``), if any."""
        parent = self.lineage.get("parent")
        return parent if isinstance(parent, dict) else None

    @property
    def gate(self) -> dict[str, Any] | None:
        """The report of ``xscreen gate`` on this model, if it has been gated."""
        gate = self.lineage.get("gate")
        return gate if isinstance(gate, dict) else None

    def threshold_list(self) -> list[float]:
        """Thresholds in class-index order (0.5 for a class the card leaves out)."""
        return [float(self.thresholds.get(name, 0.5)) for name in self.classes]

    def to_dict(self) -> dict[str, Any]:
        """The card as ``model.json`` holds it, fields in their declared order."""
        # Python mode, not JSON mode: JSON mode would write a metric's NaN as null
        values = self.model_dump(exclude=set(IMPLIED_FIELDS - self.model_fields_set))
        values["classes"] = list(self.classes)
        return values

    def replace(self, **changes: Any) -> ModelCard:
        """A checked copy with ``changes`` applied (what ``dataclasses.replace`` did); a field
        the card left out stays out unless changed."""
        kept = {key: value for key, value in self
                if key in self.model_fields_set or key not in IMPLIED_FIELDS}
        return ModelCard(**{**kept, **changes})


def pretrained_problems(pretrained: Any) -> list[str]:
    """What is wrong with a card's ``pretrained`` provenance (empty when valid or absent)."""
    if not isinstance(pretrained, dict):
        return [f"must be an object, got {type(pretrained).__name__}"]
    if not pretrained:
        return []
    missing = [key for key in PRETRAINED_KEYS if not isinstance(pretrained.get(key), str)
               or not pretrained[key]]
    if missing:
        return [f"must name {', '.join(PRETRAINED_KEYS)}; missing {missing}"]
    digest = pretrained["sha256"]
    if not is_sha256(digest):
        return [f"sha256 must be 64 lowercase hex digits, got {digest!r}"]
    return []


def card_from_dict(values: dict[str, Any], source: str = "model card") -> ModelCard:
    """Build a card from parsed JSON; missing, unknown or wrongly typed fields raise
    ModelBundleError naming each of them."""
    if not isinstance(values, dict):
        raise ModelBundleError(f"{source} must hold a JSON object, got {type(values).__name__}")
    try:
        # ModelCard's own __init__ runs here too and raises ModelBundleError: say which card
        return parse(ModelCard, values, source, ModelBundleError)
    except ModelBundleError as error:
        raise ModelBundleError(f"{source}: {error}\nFix the card, or re-export the bundle "
                               "with 'xscreen export'") from None


def load_card(path: str | Path) -> ModelCard:
    """Read and validate a ``model.json``."""
    path = Path(path)
    try:
        values = json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelBundleError(f"{path} is missing; a bundle holds model.onnx and model.json "
                               "(make one with 'xscreen export RUN --out BUNDLE')") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelBundleError(f"{path} is not valid JSON: {error}") from None
    return card_from_dict(values, str(path))


def save_card(card: ModelCard, path: str | Path) -> None:
    """Write the card as indented JSON, atomically (:func:`xscreen.fileio.atomic_writer`)."""
    with atomic_writer(path, "wb") as handle:
        handle.write((json.dumps(card.to_dict(), indent=2) + "\n").encode("utf-8"))


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Bundle:
    """A checked bundle: its folder, card and ONNX path."""

    root: Path
    card: ModelCard

    @property
    def model_path(self) -> Path:
        return self.root / MODEL_FILE


def load_bundle(path: str | Path) -> Bundle:
    """Open a bundle folder: the card must be valid and ``model.onnx`` must match its sha256."""
    root = Path(path)
    if not root.is_dir():
        raise ModelBundleError(f"model bundle {root} does not exist; pass a folder made by "
                               "'xscreen export' (model.onnx + model.json)")
    card = load_card(root / CARD_FILE)
    model = root / MODEL_FILE
    if not model.is_file():
        raise ModelBundleError(f"{model} is missing; re-export the bundle with 'xscreen export'")
    actual = file_sha256(model)
    if actual != card.sha256:
        raise ModelBundleError(f"{model} does not match its card: sha256 {actual[:12]}... but "
                               f"model.json says {card.sha256[:12]}...; the file was changed or "
                               "damaged: re-export the bundle or restore the original model.onnx")
    return Bundle(root, card)
