"""The model registry under ``$XSCREEN_HOME/models``: one folder per version (a checked copy of
a bundle), ``active.json`` naming the version in service and ``history.json`` the versions that
have been in service, in order.

Promotion is gated. A bundle is refused, at ``add`` and at ``activate``, when ONNX Runtime cannot
load it, when its ``xscreen gate`` verdict is not promotable, or when it was fine-tuned from a
parent (its card's lineage) but never gated; ``force`` overrides the gate (never a damaged file).
A version that has been in service before may always come back: rolling back is activating an
earlier version, and ``rollback()`` activates the one served before the current one.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from xscreen.errors import ModelBundleError
from xscreen.fileio import atomic_writer
from xscreen.models.card import CARD_FILE, MODEL_FILE, Bundle, ModelCard, load_bundle
from xscreen.serving.errors import ConflictError, NotFoundError

ACTIVE_FILE = "active.json"
HISTORY_FILE = "history.json"


class PromotionRefusedError(ConflictError):
    """The gate has not cleared this model for service (409); ``force`` overrides."""


@dataclass(frozen=True)
class RegistryEntry:
    version: str
    name: str
    sha256: str
    created_at: str
    classes: tuple[str, ...]
    active: bool
    parent: str | None = None
    gate: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "name": self.name, "sha256": self.sha256,
                "created_at": self.created_at, "classes": list(self.classes),
                "active": self.active, "parent": self.parent, "gate": self.gate}


def check_loadable(bundle: Bundle) -> None:
    """ModelBundleError unless ONNX Runtime loads ``model.onnx`` with the contract's input
    ``images`` and output ``detections`` (a file truncated or replaced after its card was
    written passes the checksum but not this)."""
    import onnxruntime as ort

    try:
        session = ort.InferenceSession(str(bundle.model_path), providers=["CPUExecutionProvider"])
    except Exception as error:  # ORT raises its own exception types per failure
        detail = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
        raise ModelBundleError(f"{bundle.model_path} is not a model ONNX Runtime can load "
                               f"({detail}); the file is damaged or not an xscreen export: "
                               "re-export the bundle") from None
    inputs = [i.name for i in session.get_inputs()]
    outputs = [o.name for o in session.get_outputs()]
    if inputs != ["images"] or "detections" not in outputs:
        raise ModelBundleError(f"{bundle.model_path} has inputs {inputs} and outputs {outputs}; "
                               "an xscreen model takes 'images' and returns 'detections'")


def promotion_problem(card: ModelCard) -> str | None:
    """Why the gate has not cleared ``card`` for service, or None when it has (or when the model
    is not a fine-tuned one: a model trained from scratch has no incumbent to beat)."""
    gate = card.gate
    if gate is not None and not gate.get("promotable"):
        reasons = "; ".join(str(r) for r in gate.get("reasons", [])[:3])
        return (f"{card.name} {card.version} failed its gate (verdict {gate.get('verdict')}: "
                f"{reasons}); promote it anyway with --force (API: force=true)")
    if gate is None and card.parent is not None:
        parent = card.parent
        return (f"{card.name} {card.version} was fine-tuned from {parent.get('name')} "
                f"{parent.get('version')} but has not been through the gate; run 'xscreen gate "
                "BUNDLE --bench DIR --new DIR' first, or promote it with --force")
    return None


class ModelRegistry:
    """Versions of model bundles, each checked against its card's sha256 when added."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def versions(self) -> list[RegistryEntry]:
        """Every registered version, oldest first."""
        active = self.active_version()
        entries = []
        for folder in sorted(p for p in self.root.iterdir() if (p / CARD_FILE).is_file()):
            try:
                card = json.loads((folder / CARD_FILE).read_text())
            except (OSError, ValueError):
                continue   # a damaged folder is not a version; bundle() says why
            entries.append(_entry(card, active))
        return sorted(entries, key=lambda e: (e.created_at, e.version))

    def add(self, bundle_path: str | Path, force: bool = False) -> RegistryEntry:
        """Copy a checked bundle in as its card's version (adding the same bytes twice is a
        no-op; another model under a registered version is a conflict). Refused when ONNX
        Runtime cannot load it, or when the gate has not cleared it unless ``force``."""
        bundle = load_bundle(bundle_path)
        target = self._folder(bundle.card.version)
        if target.exists():
            existing = load_bundle(target)
            if existing.card.sha256 != bundle.card.sha256:
                raise ConflictError(f"version {bundle.card.version} is already registered with "
                                    "a different model; export under a new version")
            return self._entry(existing)
        check_loadable(bundle)
        problem = promotion_problem(bundle.card)
        if problem and not force:
            raise PromotionRefusedError(f"not added: {problem}")
        staging = Path(tempfile.mkdtemp(dir=self.root, prefix=".add-"))
        for name in (MODEL_FILE, CARD_FILE):
            shutil.copyfile(bundle.root / name, staging / name)
        load_bundle(staging)
        os.replace(staging, target)
        return self._entry(load_bundle(target))

    def bundle(self, version: str) -> Bundle:
        folder = self._folder(version)
        if not folder.is_dir():
            known = ", ".join(e.version for e in self.versions()) or "none"
            raise NotFoundError(f"no model version {version!r} in the registry (known: {known}); "
                                "add it with 'xscreen models add BUNDLE'")
        return load_bundle(folder)

    def check_promotion(self, version: str, force: bool = False) -> Bundle:
        """The checked bundle of ``version`` if it may go into service now: it is active
        already, has served before (a rollback), the gate cleared it, or ``force``."""
        bundle = self.bundle(version)
        if force or version == self.active_version() or version in self.served_versions():
            return bundle
        problem = promotion_problem(bundle.card)
        if problem:
            raise PromotionRefusedError(f"not activated: {problem}")
        return bundle

    def activate(self, version: str, force: bool = False) -> Bundle:
        """Check ``version`` and record it as active (the service swaps to it)."""
        bundle = self.check_promotion(version, force)
        if version == self.active_version():
            return bundle
        self._append_history(version, force)
        with atomic_writer(self.root / ACTIVE_FILE, "w") as handle:
            handle.write(json.dumps({"version": version}))
        return bundle

    def previous_version(self) -> str:
        """The version in service before the current one (what ``rollback`` brings back)."""
        active = self.active_version()
        for entry in reversed(self.history()):
            if entry["version"] != active and self._folder(entry["version"]).is_dir():
                return str(entry["version"])
        raise NotFoundError("no earlier version has been in service; nothing to roll back to "
                            "('xscreen models list' shows the versions)")

    def rollback(self) -> Bundle:
        """Activate the version served before the current one."""
        return self.activate(self.previous_version())

    def active_version(self) -> str | None:
        path = self.root / ACTIVE_FILE
        if not path.is_file():
            return None
        return str(json.loads(path.read_text())["version"])

    def history(self) -> list[dict[str, Any]]:
        """Activations, oldest first: ``version``, ``activated_at``, ``forced``."""
        path = self.root / HISTORY_FILE
        if not path.is_file():
            active = self.active_version()   # a registry from before the history was kept
            return [{"version": active, "activated_at": None, "forced": False}] if active else []
        entries: list[dict[str, Any]] = json.loads(path.read_text())
        return entries

    def served_versions(self) -> set[str]:
        return {str(entry["version"]) for entry in self.history()}

    def _append_history(self, version: str, forced: bool) -> None:
        entries = [*self.history(), {"version": version, "forced": forced,
                                     "activated_at": datetime.now(UTC).isoformat(
                                         timespec="seconds")}]
        with atomic_writer(self.root / HISTORY_FILE, "w") as handle:
            handle.write(json.dumps(entries, indent=1))

    def _folder(self, version: str) -> Path:
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in version)
        return self.root / safe

    def _entry(self, bundle: Bundle) -> RegistryEntry:
        return _entry(bundle.card.to_dict(), self.active_version())


def _entry(card: dict[str, Any], active: str | None) -> RegistryEntry:
    lineage = card.get("lineage") or {}
    parent = lineage.get("parent") or {}
    gate = lineage.get("gate") or {}
    return RegistryEntry(card["version"], card["name"], card["sha256"],
                         card.get("created_at", ""), tuple(card["classes"]),
                         card["version"] == active, parent.get("version"), gate.get("verdict"))
