"""Every Python package of the tree is in pyproject.toml's package list: an installed copy (a
wheel, the container image) has only the listed ones, so a forgotten subpackage works in the
editable checkout and breaks in production."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_subpackage_is_listed() -> None:
    setup = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(setup["packages"])
    expected = set()
    for name, folder in setup["package-dir"].items():
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder)
            expected.add(".".join([name, *relative.parts]))
    missing = sorted(expected - listed)
    assert not missing, f"add these to [tool.setuptools] packages in pyproject.toml: {missing}"
