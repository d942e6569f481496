"""Training configuration: defaults, YAML overlay, overrides, unknown keys."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from xscreen.errors import UsageError
from xscreen.training.config import (
    TrainConfig,
    config_from_dict,
    config_to_dict,
    load_config,
    replace_config,
    save_config,
)


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
    ("lr: 0.01\nlearning_rate: 2\n", {}, "learning_rate: unknown key"),
    ("augment:\n  sharpen: 0.2\n", {}, "augment.sharpen: unknown key"),
    ("augment: 3\n", {}, "augment: Input should be an object"),
    ("- a\n", {}, "expected a mapping"),
    ("a: [\n", {}, "not valid YAML"),
    ("", {"input_size": 500}, "multiple of 32"),
    ("", {"epochs": 0}, "at least 1"),
    ("", {"minutes": -1.0}, "positive"),
])
def test_bad_configs(tmp_path: Path, text: str, overrides: dict[str, object],
                     message: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(UsageError, match=re.escape(message)):
        load_config(path, overrides)


@pytest.mark.parametrize(("text", "field", "given"), [
    ('lr: "0.001"\n', "lr", "'0.001'"),             # a quoted number is text, not a rate
    ("epochs: ten\n", "epochs", "'ten'"),
    ("epochs: 2.5\n", "epochs", "2.5"),
    ("rect: maybe\n", "rect", "'maybe'"),
    ("data: 3\n", "data", "3"),
    ("augment:\n  grey: high\n", "augment.grey", "'high'"),
    ("augment:\n  zoom_range: [1.5, x]\n", "augment.zoom_range.1", "'x'"),
    ("augment:\n  zoom_range: [1.5]\n", "augment.zoom_range.1", ""),
])
def test_wrongly_typed_values_name_the_field_and_the_file(tmp_path: Path, text: str, field: str,
                                                          given: str) -> None:
    path = tmp_path / "recipe.yaml"
    path.write_text(text)
    with pytest.raises(UsageError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: 1 invalid field") and f"  {field}: " in message
    assert f"(given {given})" in message or not given


@pytest.mark.parametrize(("overrides", "field"), [
    ({"epochs": "ten"}, "epochs"), ({"lr": "0.001"}, "lr"),
    ({"learning_rate": 1.0}, "learning_rate"),
])
def test_bad_overrides_name_the_field(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(UsageError, match=rf"^command line: 1 invalid field:\n  {field}: "):
        load_config(None, overrides)


def test_every_bad_field_is_named_at_once(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text('lr: "0.001"\nepochs: ten\nbatch_size: 4\n')
    with pytest.raises(UsageError, match="3 invalid fields") as caught:
        load_config(path)
    assert all(f"  {name}: " in str(caught.value) for name in ("lr", "epochs", "batch_size"))


def test_ints_are_floats_and_the_saved_config_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("lr: 1\nminutes: 30\naugment:\n  zoom_range: [2, 3]\n")
    config = load_config(path)
    assert isinstance(config.lr, float) and config.minutes == 30.0
    assert config.augment.zoom_range == (2.0, 3.0)
    save_config(config, tmp_path / "config.yaml")
    assert load_config(tmp_path / "config.yaml") == config
    with pytest.raises(UsageError, match="saved config: 1 invalid field"):
        config_from_dict({**config_to_dict(config), "epochs": "ten"})


def test_a_save_that_fails_midway_keeps_the_old_config(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Resume reads RUN/config.yaml: a run killed while rewriting it must not leave half a file."""
    from contextlib import contextmanager

    import xscreen.training.config as config_module

    path = tmp_path / "config.yaml"
    old = load_config(None, {"lr": 0.001})
    save_config(old, path)
    before = path.read_text()
    real_writer = config_module.atomic_writer

    @contextmanager
    def killed_midway(target: Path, mode: str = "w"):  # type: ignore[no-untyped-def]
        with real_writer(target, mode) as handle:
            class Half:
                def write(self, text: str) -> None:
                    handle.write(text[: len(text) // 2])
                    raise KeyboardInterrupt
            yield Half()

    monkeypatch.setattr(config_module, "atomic_writer", killed_midway)
    with pytest.raises(KeyboardInterrupt):
        save_config(load_config(None, {"lr": 0.002}), path)
    assert path.read_text() == before and load_config(path) == old
    assert [p.name for p in tmp_path.iterdir()] == ["config.yaml"]


def test_configs_are_frozen_and_replaced_with_checks() -> None:
    config = TrainConfig()
    with pytest.raises(ValueError, match="frozen"):
        config.lr = 1.0   # type: ignore[misc]
    changed = replace_config(config, epochs=3, init=None)
    assert (changed.epochs, config.epochs) == (3, 30) and changed.augment == config.augment
    with pytest.raises(UsageError, match="epochs"):
        replace_config(config, epochs="three")


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"cannot read configuration .*absent\.yaml"):
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


def test_the_continue_recipe_trains_the_whole_network_from_init() -> None:
    """make default-model's second stage (training/recipes/continue.yaml over --init): every
    layer trains with the first stage's close-ups and EMA, not the head-only fine-tune."""
    recipe = Path(__file__).parents[2] / "training" / "recipes" / "continue.yaml"
    config = load_config(recipe, {"init": "var/bundles/default", "rect": True, "lr": 5e-4})
    assert (config.freeze_backbone, config.freeze_norm) == (False, False)
    assert (config.ema_decay, config.ema_ramp, config.warmup_steps) == (0.9998, 2000.0, 300)
    assert config.augment.zoom == 0.3 and config.augment.grey == 0.25


def test_resume_keeps_the_saved_config_but_for_the_resumable_options(tmp_path: Path) -> None:
    """RUN/config.yaml as saved, then the options a resumed run may change (training/run.py)."""
    import yaml

    from xscreen.training.run import resumed_config

    first = load_config(None, {"data": "d", "out": "o", "epochs": 5, "lr": 0.01})
    save_config(first, tmp_path / "config.yaml")
    saved = yaml.safe_load((tmp_path / "config.yaml").read_text())
    requested = load_config(None, {"data": "d", "out": "o", "epochs": 9, "lr": 0.5,
                                   "threads": 1})
    resumed = resumed_config(saved, requested, given={"epochs", "lr", "threads"})
    assert (resumed.epochs, resumed.threads, resumed.lr) == (9, 1, 0.01)   # lr is not resumable
    with pytest.raises(UsageError, match="saved config: 1 invalid field"):
        resumed_config({**saved, "epochs": "ten"}, requested, given=set())
