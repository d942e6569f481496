"""The service's settings: XSCREEN_* variables (pydantic-settings), then overrides; a wrongly
typed variable or an unknown override is a UsageError naming it."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from xscreen.errors import UsageError
from xscreen.serving.settings import Settings, load_settings


def test_defaults_without_variables() -> None:
    settings = load_settings({})
    assert settings == Settings.model_validate({})
    assert (settings.home, settings.model, settings.ort_threads) == (Path("var"), None, None)
    assert settings.max_batch == 8 and settings.print_admin_key is True


def test_variables_are_typed_and_overrides_win(tmp_path: Path) -> None:
    settings = load_settings({"XSCREEN_HOME": str(tmp_path), "XSCREEN_MODEL": "bundle",
                              "XSCREEN_MAX_BATCH": "16", "XSCREEN_MAX_WAIT_MS": "3.5",
                              "XSCREEN_ORT_SPINNING": "on", "XSCREEN_RECOVERY_INTERVAL_S": "5",
                              "XSCREEN_ORT_THREADS": "",           # empty: unset
                              "XSCREEN_URL": "http://elsewhere"},  # another tool's: ignored
                             max_queue=4, max_wait_ms=None)        # None: not given
    assert settings.home == tmp_path and settings.model == Path("bundle")
    assert (settings.max_batch, settings.max_wait_ms, settings.max_queue) == (16, 3.5, 4)
    assert settings.ort_spinning is True and settings.ort_threads is None
    assert settings.recovery_interval_s == 5.0
    assert load_settings({"XSCREEN_MAX_BATCH": "16"}, max_batch=2).max_batch == 2


def test_the_process_environment_is_read_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XSCREEN_MAX_QUEUE", "7")
    assert load_settings().max_queue == 7
    assert Settings().max_queue == 7          # pydantic-settings reads it for direct use too
    assert load_settings({}).max_queue == 32  # a given mapping replaces the environment


@pytest.mark.parametrize(("variable", "value", "expected"), [
    ("XSCREEN_MAX_BATCH", "many", "must be a whole number"),
    ("XSCREEN_ORT_THREADS", "2.5", "must be a whole number"),
    ("XSCREEN_MAX_UPLOAD_BYTES", "64MB", "must be a whole number"),
    ("XSCREEN_MAX_WAIT_MS", "fast", "must be a number"),
    ("XSCREEN_RECOVERY_INTERVAL_S", "soon", "must be a number"),
    ("XSCREEN_ORT_SPINNING", "maybe", "must be true or false"),
])
def test_a_wrongly_typed_variable_is_named(variable: str, value: str, expected: str) -> None:
    with pytest.raises(UsageError, match=f"{variable}='{value}' {expected}"):
        load_settings({variable: value})


def test_every_bad_variable_is_named_and_overrides_by_their_name() -> None:
    with pytest.raises(UsageError) as caught:
        load_settings({"XSCREEN_MAX_BATCH": "x", "XSCREEN_MAX_QUEUE": "y"})
    assert "XSCREEN_MAX_BATCH='x'" in str(caught.value)
    assert "XSCREEN_MAX_QUEUE='y'" in str(caught.value)
    with pytest.raises(UsageError, match="max_batch='eight' must be a whole number"):
        load_settings({}, max_batch="eight")


def test_an_unknown_override_is_named() -> None:
    with pytest.raises(UsageError, match="unknown settings colour; known: home, "):
        load_settings({}, colour="red")


def test_settings_are_frozen() -> None:
    settings = load_settings({})
    with pytest.raises(ValidationError, match="frozen"):
        settings.max_batch = 2   # type: ignore[misc]
