"""The shared configuration mechanism: unknown keys, wrong types and broken files are errors
that name the field."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import Field

from xscreen.errors import DatasetError, UsageError
from xscreen.typedconfig import Strict, parse, parse_yaml_file


class Inner(Strict):
    zoom_range: tuple[float, float] = (1.5, 2.5)


class Recipe(Strict):
    lr: float = 2e-3
    epochs: int = Field(default=30, ge=1)
    augment: Inner = Inner()


def test_defaults_and_values() -> None:
    recipe = parse(Recipe, {"lr": 1, "augment": {"zoom_range": [2, 3]}}, "r.yaml")
    assert recipe.lr == 1.0 and isinstance(recipe.lr, float)   # an int is a float
    assert recipe.augment.zoom_range == (2.0, 3.0)
    assert parse(Recipe, None, "empty.yaml") == Recipe()


@pytest.mark.parametrize(("data", "names"), [
    ({"lr": "0.001"}, ["lr"]),
    ({"epochs": "ten"}, ["epochs"]),
    ({"epochs": 0}, ["epochs"]),
    ({"ephocs": 3}, ["ephocs", "unknown key"]),
    ({"augment": {"zoom_range": [1, "x"]}}, ["augment.zoom_range.1"]),
    ({"lr": "a", "epochs": "b"}, ["2 invalid fields", "lr", "epochs"]),
])
def test_bad_values_name_the_field(data: dict, names: list[str]) -> None:
    with pytest.raises(UsageError) as caught:
        parse(Recipe, data, "recipe.yaml")
    message = str(caught.value)
    assert message.startswith("recipe.yaml")
    for name in names:
        assert name in message


def test_not_a_mapping_and_error_class() -> None:
    with pytest.raises(DatasetError, match="expected a mapping"):
        parse(Recipe, [1, 2], "list.yaml", DatasetError)


def test_yaml_file(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("lr: 0.01\n")
    assert parse_yaml_file(Recipe, good).lr == 0.01
    broken = tmp_path / "broken.yaml"
    broken.write_text("lr: [1\n")
    with pytest.raises(UsageError, match="not valid YAML"):
        parse_yaml_file(Recipe, broken)
    with pytest.raises(UsageError, match="cannot read"):
        parse_yaml_file(Recipe, tmp_path / "missing.yaml")
