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
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from xscreen.errors import ModelBundleError

MODEL_FILE = "model.onnx"
CARD_FILE = "model.json"
WEIGHTS_FILE = "weights.pt"
PRETRAINED_KEYS = ("package", "file", "licence", "sha256")
"""What a card's ``pretrained`` holds when it is not empty (it may hold more, e.g. ``dataset``)."""
PRECISIONS = ("fp32", "int8")


@dataclass(frozen=True)
class ModelCard:
    """What a bundle's ``model.json`` holds."""

    name: str
    version: str
    classes: tuple[str, ...]
    input_size: int
    sha256: str
    pad_value: float = 1.0
    thresholds: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    lineage: dict[str, Any] = field(default_factory=dict)
    pretrained: dict[str, Any] = field(default_factory=dict)   # empty: trained from scratch
    precision: str = "fp32"                                    # "int8": see ``quantization``
    quantization: dict[str, Any] = field(default_factory=dict)  # parent, calibration, settings

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

    def __post_init__(self) -> None:
        problems = card_problems(self)
        if problems:
            raise ModelBundleError(f"invalid model card: {'; '.join(problems)}")

    def threshold_list(self) -> list[float]:
        """Thresholds in class-index order (0.5 for a class the card leaves out)."""
        return [float(self.thresholds.get(name, 0.5)) for name in self.classes]

    def to_dict(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        values["classes"] = list(self.classes)
        return values


def card_problems(card: ModelCard) -> list[str]:
    """Everything wrong with a card, as expected-versus-actual phrases (empty when valid)."""
    problems = []
    if not card.classes or len(set(card.classes)) != len(card.classes):
        problems.append(f"classes must be distinct names, got {list(card.classes)}")
    if card.input_size <= 0 or card.input_size % 32:
        problems.append(f"input_size must be a positive multiple of 32, got {card.input_size}")
    if len(card.sha256) != 64 or any(c not in "0123456789abcdef" for c in card.sha256):
        problems.append(f"sha256 must be 64 lowercase hex digits, got {card.sha256!r}")
    if not isinstance(card.lineage, dict):
        problems.append(f"lineage must be an object, got {type(card.lineage).__name__}")
    problems += pretrained_problems(card.pretrained)
    if card.precision not in PRECISIONS:
        problems.append(f"precision must be one of {list(PRECISIONS)}, got {card.precision!r}")
    if not isinstance(card.quantization, dict):
        problems.append(f"quantization must be an object, got {type(card.quantization).__name__}")
    unknown = sorted(set(card.thresholds) - set(card.classes))
    if unknown:
        problems.append(f"thresholds name unknown classes {unknown}")
    for name, value in card.thresholds.items():
        if not (isinstance(value, int | float) and 0.0 <= value <= 1.0 and math.isfinite(value)):
            problems.append(f"threshold of {name} must be in [0, 1], got {value!r}")
    return problems


def pretrained_problems(pretrained: Any) -> list[str]:
    """What is wrong with a card's ``pretrained`` provenance (empty when valid or absent)."""
    if not isinstance(pretrained, dict):
        return [f"pretrained must be an object, got {type(pretrained).__name__}"]
    if not pretrained:
        return []
    missing = [key for key in PRETRAINED_KEYS if not isinstance(pretrained.get(key), str)
               or not pretrained[key]]
    if missing:
        return [f"pretrained must name {', '.join(PRETRAINED_KEYS)}; missing {missing}"]
    digest = pretrained["sha256"]
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        return [f"pretrained.sha256 must be 64 lowercase hex digits, got {digest!r}"]
    return []


def card_from_dict(values: dict[str, Any], source: str = "model card") -> ModelCard:
    """Build a card from parsed JSON; missing or unknown fields raise ModelBundleError."""
    known = {f.name for f in dataclasses.fields(ModelCard)}
    required = {f.name for f in dataclasses.fields(ModelCard)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    missing = sorted(required - set(values))
    if missing:
        raise ModelBundleError(f"{source} lacks {', '.join(missing)}; re-export the bundle "
                               "with 'xscreen export'")
    unknown = sorted(set(values) - known)
    if unknown:
        raise ModelBundleError(f"{source} has unknown fields {', '.join(unknown)}")
    try:
        return ModelCard(**{**values, "classes": tuple(values["classes"]),
                            "input_size": int(values["input_size"])})
    except (TypeError, ValueError) as error:
        raise ModelBundleError(f"{source}: {error}") from None


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
    if not isinstance(values, dict):
        raise ModelBundleError(f"{path} must hold a JSON object")
    return card_from_dict(values, str(path))


def save_card(card: ModelCard, path: str | Path) -> None:
    """Write the card as indented JSON (through a temporary file, then a rename)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(card.to_dict(), indent=2) + "\n")
    tmp.replace(path)


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
