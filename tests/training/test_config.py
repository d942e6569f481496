"""Training configuration: defaults, YAML overlay, overrides, unknown keys."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from xscreen.errors import UsageError
from xscreen.training.config import config_from_dict, config_to_dict, load_config, save_config


def test_yaml_then_overrides(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("lr: 0.01\nbatch: 4\naugment:\n  grey: 0.5\n  scale_range: [0.8, 1.2]\n")
    config = load_config(path, {"batch": 2, "epochs": None})
    assert (config.lr, config.batch, config.epochs) == (0.01, 2, 30)
    assert config.augment.grey == 0.5 and config.augment.scale_range == (0.8, 1.2)
    save_config(config, tmp_path / "resolved.yaml")
    assert load_config(tmp_path / "resolved.yaml") == config
    assert config_from_dict(config_to_dict(config)) == config


@pytest.mark.parametrize(("text", "overrides", "message"), [
    ("lr: 0.01\nlearning_rate: 2\n", {}, "unknown key 'learning_rate'"),
    ("augment:\n  sharpen: 0.2\n", {}, "unknown key 'sharpen'"),
    ("augment: 3\n", {}, "must be a mapping"),
    ("- a\n", {}, "must hold a mapping"),
    ("a: [\n", {}, "not valid YAML"),
    ("", {"input_size": 500}, "multiple of 32"),
    ("", {"epochs": 0}, "at least 1"),
    ("", {"minutes": -1.0}, "positive"),
])
def test_bad_configs(tmp_path: Path, text: str, overrides: dict[str, object],
                     message: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(UsageError, match=message):
        load_config(path, overrides)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        load_config(tmp_path / "absent.yaml")


@pytest.mark.parametrize("augment, message", [
    ("{zoom: 1.5}", "augment.zoom is a probability in [0, 1], got 1.5"),
    ("{grey: -0.1}", "augment.grey is a probability"),
    ("{zoom_range: [0.5, 2.0]}", "augment.zoom_range must be [low, high] with 1 <= low <= high"),
    ("{zoom_range: [3.0, 2.0]}", "augment.zoom_range must be"),
])
def test_bad_augmentations_are_refused(tmp_path: Path, augment: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(f"augment: {augment}\n")
    with pytest.raises(UsageError, match=re.escape(message)):
        load_config(path)


def test_the_default_models_close_up_recipe_loads_as_documented() -> None:
    """make default-model's second stage: training/recipes/closeups.yaml over a fine-tune."""
    recipe = Path(__file__).parents[2] / "training" / "recipes" / "closeups.yaml"
    config = load_config(recipe, {"init": "var/runs/default/best.pt", "rect": True})
    assert config.augment.zoom == 0.3 and config.augment.zoom_range == (1.5, 2.5)
    # a full fine-tune, not the gentle defaults of a few new seizure images
    assert (config.lr, config.freeze_backbone, config.freeze_norm) == (5e-4, False, False)
    assert (config.ema_decay, config.warmup_steps) == (0.999, 30)
    assert load_config(None, {"init": "x.pt"}).freeze_backbone   # what the recipe overrides
