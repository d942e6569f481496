"""The Makefile's recipes name only variables it defines: an undefined one expands to nothing, and
`make default-model` once ran `rm -rf /train` and `xscreen train --out  --epochs ` that way."""

from __future__ import annotations

import re
from pathlib import Path

MAKEFILE = Path(__file__).resolve().parents[2] / "Makefile"
BUILT_IN = {"MAKE", "CURDIR", "MAKEFLAGS", "SHELL", "MAKECMDGOALS"}


def test_every_variable_the_makefile_uses_is_defined_in_it() -> None:
    text = MAKEFILE.read_text()
    defined = set(re.findall(r"^([A-Z][A-Z0-9_]*)\s*(?::=|\?=|=)", text, flags=re.MULTILINE))
    used = set(re.findall(r"\$\(([A-Z][A-Z0-9_]*)\)", text))
    assert used - defined - BUILT_IN == set(), "used in the Makefile but never defined"
    assert {"DATA", "RUN", "BUNDLE", "DATA3", "RUN2", "BUNDLE2"} <= defined
