"""``xscreen detect``: JSON and annotated output, thresholds, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import write_fake_bundle

from xscreen.cli import main

ROWS = [[10, 20, 50, 60, 0.9, 0], [30, 30, 40, 40, 0.3, 1]]


@pytest.fixture
def scan(tmp_path: Path) -> Path:
    path = tmp_path / "scan.png"
    cv2.imwrite(str(path), np.full((96, 128, 3), 255, np.uint8))
    return path


def test_json_and_annotations(tmp_path: Path, scan: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    bundle = write_fake_bundle(tmp_path / "b", ROWS)
    tiff = tmp_path / "scan16.tiff"
    cv2.imwrite(str(tiff), np.full((96, 128), 60000, np.uint16))
    assert main(["detect", str(scan), str(tiff), "--model", str(bundle), "--json",
                 "--annotate", str(tmp_path / "out")]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["model"] == {"name": "fake", "version": "0"}
    first = document["results"][0]
    assert (first["width"], first["height"]) == (128, 96)
    assert first["detections"] == [{"label": "firearm", "score": 0.9,
                                    "box": [10.0, 20.0, 50.0, 60.0]}]   # 0.3 < 0.5 dropped
    annotated = cv2.imread(str(tmp_path / "out" / "scan.png"))
    assert annotated.shape == (96, 128, 3) and (annotated != 255).any()


def test_text_output(tmp_path: Path, scan: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["detect", str(scan), "--model", str(write_fake_bundle(tmp_path / "b", []))]) == 0
    assert "nothing found" in capsys.readouterr().out


def test_bad_inputs(tmp_path: Path, scan: Path, capsys: pytest.CaptureFixture[str],
                    monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = write_fake_bundle(tmp_path / "b", ROWS)
    assert main(["detect", str(tmp_path / "absent.png"), "--model", str(bundle)]) != 0
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "junk.png").write_bytes(b"not an image")
    assert main(["detect", str(tmp_path / "junk.png"), "--model", str(bundle)]) != 0
    assert "cannot decode" in capsys.readouterr().err
    with (bundle / "model.onnx").open("ab") as handle:
        handle.write(b"\0")
    assert main(["detect", str(scan), "--model", str(bundle)]) != 0
    assert "does not match its card" in capsys.readouterr().err
    from xscreen.models import detect_cli

    monkeypatch.setattr(detect_cli, "DEFAULT_BUNDLE", tmp_path / "no-default")
    assert main(["detect", str(scan)]) != 0
    assert "no default model" in capsys.readouterr().err
