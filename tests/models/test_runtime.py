"""The torch-free inference path: a bundle's graph, letterbox back to pixels, thresholds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import write_fake_bundle

from xscreen.models.runtime import Detections, OnnxDetector, apply_thresholds

ROWS = [[10, 20, 50, 60, 0.9, 0], [30, 30, 40, 40, 0.3, 1], [60, 10, 90, 30, 0.6, 2]]


def test_detect_applies_the_cards_thresholds(tmp_path: Path) -> None:
    bundle = write_fake_bundle(tmp_path / "b", ROWS, thresholds={
        "firearm": 0.95, "narcotics": 0.2, "gold": 0.6, "counterfeit": 0.5})
    detector = OnnxDetector(bundle)
    image = np.full((96, 128, 3), 255, np.uint8)
    assert len(detector.detect_all(image)) == 3
    found = detector.detect(image)
    assert found.labels.tolist() == [1, 2]      # firearm 0.9 < 0.95 dropped; gold 0.6 kept
    records = found.to_records(detector.card.classes)
    assert records[0] == {"label": "narcotics", "score": 0.3, "box": [30.0, 30.0, 40.0, 40.0]}


def test_boxes_come_back_in_original_pixels(tmp_path: Path) -> None:
    detector = OnnxDetector(write_fake_bundle(tmp_path / "b", ROWS[:1], input_size=128))
    found = detector.detect(np.full((192, 256), 200, np.uint8))   # scale 0.5, greyscale
    np.testing.assert_allclose(found.boxes, [[20, 40, 100, 120]])


@pytest.mark.parametrize(("stride", "padded"), [(None, (96, 128)), (64, (128, 128))])
def test_the_cards_letterbox_stride_pads_the_input(tmp_path: Path, stride: int | None,
                                                    padded: tuple[int, int]) -> None:
    from xscreen.models.card import load_card, save_card

    bundle = write_fake_bundle(tmp_path / "b", ROWS[:1], input_size=128)
    if stride is not None:       # None: a card without the field, which means 32
        card = load_card(bundle / "model.json")
        save_card(card.replace(letterbox_stride=stride), bundle / "model.json")
    detector = OnnxDetector(bundle)
    shapes: list[tuple[int, ...]] = []
    graph = detector.run

    def recording(images: np.ndarray) -> np.ndarray:
        shapes.append(images.shape)
        return graph(images)

    detector.run = recording
    found = detector.detect(np.zeros((70, 100, 3), np.uint8))   # 90 x 128 once scaled
    assert shapes == [(1, 3, *padded)]
    np.testing.assert_allclose(found.boxes, [[10 / 1.28, 20 / 1.28, 50 / 1.28, 60 / 1.28]],
                               rtol=1e-5)


def test_apply_thresholds_table() -> None:
    detections = Detections(np.zeros((3, 4), np.float32), np.array([0.5, 0.5, 0.7], np.float32),
                            np.array([0, 1, 7]))
    kept = apply_thresholds(detections, [0.5, 0.6])
    assert kept.labels.tolist() == [0]          # at threshold kept; under dropped; unknown dropped


def test_detections_validate_their_columns() -> None:
    with pytest.raises(ValueError, match="expected boxes"):
        Detections(np.zeros((2, 4)), np.zeros(3), np.zeros(3))


def test_serving_path_never_imports_torch() -> None:
    code = ("import sys; import xscreen.models.runtime, xscreen.models.card, "
            "xscreen.models.preprocess, xscreen.models.imageio, xscreen.models.detect_cli; "
            "print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


def test_read_rgb_file_formats(tmp_path: Path) -> None:
    import cv2
    import tifffile

    from xscreen.models.imageio import read_rgb_file

    rgb = np.zeros((8, 10, 3), np.uint8)
    rgb[..., 0] = 200                                     # red
    cv2.imwrite(str(tmp_path / "a.png"), rgb[..., ::-1])
    tifffile.imwrite(tmp_path / "b.tiff", rgb)
    cv2.imwrite(str(tmp_path / "c.tiff"), rgb[..., ::-1])   # cv2 writes LZW
    for name in ("a.png", "b.tiff", "c.tiff"):
        np.testing.assert_array_equal(read_rgb_file(tmp_path / name), rgb)
    tifffile.imwrite(tmp_path / "grey16.tiff", np.full((8, 10), 65535, np.uint16))
    assert read_rgb_file(tmp_path / "grey16.tiff").min() == 255
