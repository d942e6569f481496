"""Third-party assets: every file has an attribution entry with a licence that allows it."""

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

import xscreen.datasets

ASSETS = Path(xscreen.datasets.__file__).resolve().parent / "assets"
ATTRIBUTION = ASSETS / "ATTRIBUTION.json"
ALLOWED_LICENCES = {"CC0-1.0", "CC-BY-3.0", "CC-BY-4.0", "MIT", "Apache-2.0"}
REQUIRED_FIELDS = ("file", "title", "author", "source_repository", "source_path",
                   "source_commit", "licence", "licence_url", "changes")
_NOT_ASSETS = {"ATTRIBUTION.json", "ATTRIBUTION.md", "README.md"}  # the records themselves
_PROJECT_CODE = {".py"}  # conversion scripts beside the assets are ours (Apache-2.0), not theirs


def entries() -> list[dict[str, Any]]:
    loaded = json.loads(ATTRIBUTION.read_text())
    assert isinstance(loaded, list), "ATTRIBUTION.json is a list of entries, one per file"
    return loaded


def asset_files() -> list[str]:
    return sorted(path.relative_to(ASSETS).as_posix() for path in ASSETS.rglob("*")
                  if path.is_file() and path.name not in _NOT_ASSETS
                  and path.suffix not in _PROJECT_CODE and "__pycache__" not in path.parts)


def test_every_asset_file_has_exactly_one_entry() -> None:
    listed = [entry["file"] for entry in entries()]
    assert len(listed) == len(set(listed)), "a file is listed twice"
    missing = sorted(set(asset_files()) - set(listed))
    assert not missing, f"add these files to {ATTRIBUTION.name}: {missing}"
    stale = sorted(set(listed) - set(asset_files()))
    assert not stale, f"{ATTRIBUTION.name} lists files that are not there: {stale}"


@pytest.mark.parametrize("entry", entries(), ids=lambda entry: entry["file"])
def test_entry_is_complete_and_its_licence_allowed(entry: dict[str, Any]) -> None:
    for name in REQUIRED_FIELDS:
        assert str(entry.get(name, "")).strip(), f"{entry['file']}: '{name}' is missing"
    assert entry["licence"] in ALLOWED_LICENCES, (
        f"{entry['file']}: licence {entry['licence']!r} is not one of {sorted(ALLOWED_LICENCES)}")
    assert entry["licence_url"].startswith("https://")
    if entry["licence"].startswith("CC-BY"):  # attribution required: say to whom, and how
        assert entry["author"].strip()


@pytest.mark.parametrize("entry", [e for e in entries() if "sha256" in e],
                         ids=lambda entry: entry["file"])
def test_files_are_those_recorded(entry: dict[str, Any]) -> None:
    """A file replaced without updating its entry (and its 'changes') is caught."""
    digest = hashlib.sha256((ASSETS / entry["file"]).read_bytes()).hexdigest()
    assert digest == entry["sha256"], f"{entry['file']} changed: update its entry"
