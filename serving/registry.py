"""The model registry under ``$XSCREEN_HOME/models``: one folder per version (a checked copy of
a bundle) and ``active.json`` naming the version in service. Rolling back is activating an
earlier version."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xscreen.models.card import CARD_FILE, MODEL_FILE, Bundle, load_bundle
from xscreen.serving.errors import ConflictError, NotFoundError

ACTIVE_FILE = "active.json"


@dataclass(frozen=True)
class RegistryEntry:
    version: str
    name: str
    sha256: str
    created_at: str
    classes: tuple[str, ...]
    active: bool

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "name": self.name, "sha256": self.sha256,
                "created_at": self.created_at, "classes": list(self.classes),
                "active": self.active}


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
            card = json.loads((folder / CARD_FILE).read_text())
            entries.append(RegistryEntry(card["version"], card["name"], card["sha256"],
                                         card.get("created_at", ""), tuple(card["classes"]),
                                         card["version"] == active))
        return sorted(entries, key=lambda e: (e.created_at, e.version))

    def add(self, bundle_path: str | Path) -> RegistryEntry:
        """Copy a checked bundle in as its card's version (adding the same bytes twice is a
        no-op; another model under a registered version is a conflict)."""
        bundle = load_bundle(bundle_path)
        target = self._folder(bundle.card.version)
        if target.exists():
            existing = load_bundle(target)
            if existing.card.sha256 != bundle.card.sha256:
                raise ConflictError(f"version {bundle.card.version} is already registered with "
                                    "a different model; export under a new version")
            return self._entry(existing)
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

    def activate(self, version: str) -> Bundle:
        """Check ``version`` and record it as active (the service swaps to it)."""
        bundle = self.bundle(version)
        temporary = self.root / f".{ACTIVE_FILE}.tmp"
        temporary.write_text(json.dumps({"version": version}))
        os.replace(temporary, self.root / ACTIVE_FILE)
        return bundle

    def active_version(self) -> str | None:
        path = self.root / ACTIVE_FILE
        if not path.is_file():
            return None
        return str(json.loads(path.read_text())["version"])

    def _folder(self, version: str) -> Path:
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in version)
        return self.root / safe

    def _entry(self, bundle: Bundle) -> RegistryEntry:
        card = bundle.card
        return RegistryEntry(card.version, card.name, card.sha256, card.created_at, card.classes,
                             card.version == self.active_version())
