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
    assert "unrecognised file format" in capsys.readouterr().err
    with (bundle / "model.onnx").open("ab") as handle:
        handle.write(b"\0")
    assert main(["detect", str(scan), "--model", str(bundle)]) != 0
    assert "does not match its card" in capsys.readouterr().err
    from xscreen.models import detect_cli

    monkeypatch.setattr(detect_cli, "DEFAULT_BUNDLE", tmp_path / "no-default")
    assert main(["detect", str(scan)]) != 0
    assert "no default model" in capsys.readouterr().err


# -- every format the API reads, through the API's decoder (issue 19) ---------------------

DICOS = Path(__file__).resolve().parents[3] / "shared" / "dicos"
DX_FILES = ["SimpleProcessingDX.dcs", "SimplePresentationDX.dcs", "SimpleColorPaletteDX.dcs"]


@pytest.mark.filterwarnings("ignore:Invalid value for VR UI")
@pytest.mark.parametrize("name", DX_FILES)
def test_detect_reads_dicos_as_the_api_does(name: str, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from xscreen.serving.decode import decode_image

    if not (DICOS / name).is_file():
        pytest.skip(f"{DICOS / name} is not here (shared/ lies beside the repository)")
    bundle = write_fake_bundle(tmp_path / "b", ROWS)
    assert main(["detect", str(DICOS / name), "--model", str(bundle), "--json",
                 "--annotate", str(tmp_path / "out")]) == 0
    result = json.loads(capsys.readouterr().out)["results"][0]
    api_scan = decode_image((DICOS / name).read_bytes())
    assert (result["width"], result["height"]) == (api_scan.width, api_scan.height)
    drawn = cv2.imread(str(tmp_path / "out" / f"{Path(name).stem}.png"))
    assert drawn.shape[:2] == (api_scan.height, api_scan.width)


def test_a_dicos_report_is_refused_with_the_apis_message(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = DICOS / "SimpleBaggageTDR.dcs"
    if not report.is_file():
        pytest.skip(f"{report} is not here")
    assert main(["detect", str(report), "--model",
                 str(write_fake_bundle(tmp_path / "b", ROWS))]) != 0
    assert "Threat Detection Report" in capsys.readouterr().err


def test_detect_reads_a_high_low_pair(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from xscreen.serving.decode import decode_pair

    high = np.full((96, 128), 65535, np.uint16)
    low = high.copy()
    high[20:60, 30:90], low[20:60, 30:90] = 20000, 9000
    cv2.imwrite(str(tmp_path / "high.png"), high)
    cv2.imwrite(str(tmp_path / "low.png"), low)
    bundle = write_fake_bundle(tmp_path / "b", ROWS)
    assert main(["detect", "--high", str(tmp_path / "high.png"), "--low",
                 str(tmp_path / "low.png"), "--model", str(bundle), "--json",
                 "--annotate", str(tmp_path / "out")]) == 0
    result = json.loads(capsys.readouterr().out)["results"][0]
    assert (result["width"], result["height"]) == (128, 96) and result["detections"]
    rendered = decode_pair((tmp_path / "high.png").read_bytes(),
                           (tmp_path / "low.png").read_bytes())
    drawn = cv2.imread(str(tmp_path / "out" / "high.png"))[:, :, ::-1]
    far = (slice(90, 96), slice(100, 128))              # away from every box and label
    np.testing.assert_array_equal(drawn[far], rendered.rgb[far])


@pytest.mark.parametrize(("args", "words"), [
    (["--high", "h.png"], "pairs"),
    (["--high", "h.png", "--high", "h2.png", "--low", "l.png"], "pairs"),
    ([], "nothing to detect"),
])
def test_bad_pairs(args: list[str], words: str, tmp_path: Path,
                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["detect", *args, "--model", str(write_fake_bundle(tmp_path / "b", ROWS))]) != 0
    assert words in capsys.readouterr().err


def test_annotations_use_the_class_colours(tmp_path: Path, scan: Path) -> None:
    """The CLI draws as the service does: each class in its README colour (red firearm, magenta
    narcotics, yellow gold, cyan counterfeit)."""
    rows = [[4, 30, 30, 90, 0.9, 0], [34, 30, 60, 90, 0.9, 1], [64, 30, 90, 90, 0.9, 2],
            [94, 30, 120, 90, 0.9, 3]]
    bundle = write_fake_bundle(tmp_path / "b", rows)
    assert main(["detect", str(scan), "--model", str(bundle), "--annotate",
                 str(tmp_path / "out")]) == 0
    drawn = cv2.imread(str(tmp_path / "out" / "scan.png"))[:, :, ::-1].astype(int)
    # which of R, G, B are strong (> 150) and which weak (< 60), by colour name
    expected = {"red": (1, 0, 0), "magenta": (1, 0, 1), "yellow": (1, 1, 0), "cyan": (0, 1, 1)}
    for (x1, _, _, y2, _, _), (name, strong) in zip(rows, expected.items(), strict=True):
        edge = drawn[int(y2) - 10, int(x1)]            # the box's left edge, below the label
        assert all(value > 150 if on else value < 60
                   for value, on in zip(edge, strong, strict=True)), (name, edge)
