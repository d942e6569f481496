"""One mechanism for every configuration file and mapping: a pydantic v2 model, checked.

Each configuration in the project (training recipes, the service's settings, the risk score's
configuration, model cards, cargo manifests) is a pydantic model built on :class:`Strict`:
unknown keys are errors (a typo must not silently fall back to a default), values are checked
against their declared types, and :func:`parse` turns pydantic's errors into one message that
names every bad field by its path (``augment.zoom_range.1``) and says what was expected.

    class Recipe(Strict):
        lr: float = 2e-3

    recipe = parse(Recipe, yaml.safe_load(text), "recipe.yaml", UsageError)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from xscreen.errors import UsageError, XscreenError

Model = TypeVar("Model", bound=BaseModel)


class Strict(BaseModel):
    """Base of the project's configuration models: unknown keys and wrongly typed values are
    errors (``"0.001"`` is not a float, ``"ten"`` not an int; an int is a float), and a model
    is immutable once checked unless it says otherwise."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    # Mappings are checked by :func:`parse`, which validates them as JSON: in strict JSON mode a
    # list is a tuple and an int a float, but a string is never a number.


def field_path(location: tuple[int | str, ...]) -> str:
    """Pydantic's error location as a dotted path: ``("augment", "zoom_range", 1)`` ->
    ``augment.zoom_range.1``; the empty location is the document itself."""
    return ".".join(str(part) for part in location) or "(the whole document)"


def describe(error: ValidationError, source: str) -> str:
    """Every problem of ``error`` on a line of its own, field first, then what was expected and
    the value that was given."""
    lines = []
    for problem in error.errors(include_url=False):
        path = field_path(problem["loc"])
        if problem["type"] == "extra_forbidden":
            lines.append(f"  {path}: unknown key (check its spelling)")
            continue
        given = problem.get("input")
        shown = repr(given) if not isinstance(given, dict | list) else type(given).__name__
        lines.append(f"  {path}: {problem['msg']} (given {shown[:80]})")
    count = len(lines)
    return f"{source}: {count} invalid field{'s' if count != 1 else ''}:\n" + "\n".join(lines)


def parse(model: type[Model], data: Any, source: str,
          error: type[XscreenError] = UsageError) -> Model:
    """``data`` (a mapping) checked as ``model``; on failure ``error`` naming every bad field.

    ``source`` says where the data came from (a file name, "XSCREEN_* environment"), so that
    the message leads the user to the line to fix."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise error(f"{source}: expected a mapping of keys to values, got {type(data).__name__}")
    try:
        # checked as JSON: strict types, yet a YAML list is a valid tuple (Python-mode strict
        # validation would refuse it); YAML's dates and the like travel as their text
        return model.model_validate_json(json.dumps(data, default=str))
    except ValidationError as exc:
        raise error(describe(exc, source)) from None


def parse_yaml_file(model: type[Model], path: str | Path,
                    error: type[XscreenError] = UsageError) -> Model:
    """The YAML file at ``path`` checked as ``model`` (see :func:`parse`); a missing file or
    broken YAML is ``error`` too, with the file named."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"cannot read configuration {path}: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise error(f"{path} is not valid YAML: {exc}") from None
    return parse(model, data, str(path), error)
