"""``xscreen keys``, ``xscreen models`` and ``xscreen serve`` argument handling."""

from __future__ import annotations

from pathlib import Path

import pytest
from serving_support import copy_bundle, real_bundle

from xscreen.cli import main
from xscreen.serving import store
from xscreen.serving.settings import load_settings


def test_keys_create_prints_a_working_key(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "create", "--role", "operator", "--name", "desk 4", "--home",
                 str(tmp_path)]) == 0
    key = capsys.readouterr().out.strip()
    engine = store.make_engine(load_settings({}, home=tmp_path).resolved_database_url)
    found = store.find_key(store.session_factory(engine), key)
    engine.dispose()
    assert found is not None and (found.role, found.name) == ("operator", "desk 4")


def test_keys_create_refuses_unknown_roles(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["keys", "create", "--role", "janitor"])
    assert "invalid choice" in capsys.readouterr().err


def test_models_add_list_activate_rollback(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    home = ["--home", str(tmp_path / "home")]
    second = copy_bundle(real_bundle(), tmp_path / "b2", "test-2")
    assert main(["models", *home, "add", str(real_bundle())]) == 0
    assert main(["models", *home, "add", str(second)]) == 0
    assert main(["models", *home, "activate", "test-2"]) == 0
    assert main(["models", *home, "activate", "test-1"]) == 0              # roll back
    capsys.readouterr()
    assert main(["models", *home, "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0:2] for line in lines] == [["*", "test-1"], ["test-2", "xscreen-tiny"]]
    assert main(["models", *home, "activate", "nope"]) == 2
    assert "no model version 'nope'" in capsys.readouterr().err


def test_models_add_refuses_a_damaged_bundle(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    damaged = copy_bundle(real_bundle(), tmp_path / "bad", "bad-1")
    with (damaged / "model.onnx").open("ab") as handle:
        handle.write(b"x")
    assert main(["models", "--home", str(tmp_path / "h"), "add", str(damaged)]) == 2
    assert "does not match its card" in capsys.readouterr().err


def test_serve_rejects_a_bad_port(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--port", "70000"]) == 2
    assert "--port" in capsys.readouterr().err


def test_a_running_service_follows_models_activate(tmp_path: Path) -> None:
    import time

    from fastapi.testclient import TestClient
    from serving_support import make_settings

    from xscreen.serving.app import create_app

    home = tmp_path / "home"
    second = copy_bundle(real_bundle(), tmp_path / "b2", "test-2")
    with TestClient(create_app(make_settings(home))) as client:
        service = client.app.state.service  # type: ignore[attr-defined]
        service.models._watch_interval = 0.05
        assert main(["models", "--home", str(home), "add", str(second)]) == 0
        assert main(["models", "--home", str(home), "activate", "test-2"]) == 0
        deadline = time.monotonic() + 10
        while service.batcher.detector.card.version != "test-2":
            assert time.monotonic() < deadline, "the service did not follow the registry"
            time.sleep(0.05)
