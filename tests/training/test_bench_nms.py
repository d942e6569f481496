"""benchmarks/bench_nms.py: objects with two boxes, and what a stricter suppression costs."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import load_benchmark, write_fake_bundle

from xscreen.datasets.coco import categories, write_annotations


def one_gun_set(root: Path) -> Path:
    (root / "images").mkdir(parents=True)
    cv2.imwrite(str(root / "images" / "a.png"), np.full((128, 128, 3), 255, np.uint8))
    write_annotations(root, {"images": [{"id": 1, "file_name": "a.png", "width": 128,
                                         "height": 128}],
                             "annotations": [{"id": 1, "image_id": 1, "category_id": 1,
                                              "bbox": [10, 10, 40, 50], "area": 2000,
                                              "iscrowd": 0}],
                             "categories": categories()})
    return root


def test_two_boxes_on_one_gun_are_counted_and_a_stricter_rule_removes_one(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # two firearm boxes at IoU 0.58 on one gun, both over the card's 0.5: what an operator saw
    bundle = write_fake_bundle(tmp_path / "b", [[10, 10, 50, 60, 0.9, 0],
                                                [10, 23.29, 50, 73.29, 0.8, 0]])
    data = one_gun_set(tmp_path / "data")
    assert load_benchmark("bench_nms").main(["--bundle", str(bundle), "--data", str(data),
                                             "--threads", "1"]) == 0
    rows = {line[:26].strip(): line[26:].split()
            for line in capsys.readouterr().out.splitlines()[2:]}
    assert rows["class IoU 0.6 (exported)"][:3] == ["1", "1", "0"]      # doubled, extra, lost
    assert rows["class IoU 0.5"][:3] == ["0", "0", "0"]
    assert json.loads((bundle / "model.json").read_text())["thresholds"]["firearm"] == 0.5


def test_missing_data_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = write_fake_bundle(tmp_path / "b", [[10, 10, 50, 60, 0.9, 0]])
    assert load_benchmark("bench_nms").main(["--bundle", str(bundle),
                                             "--data", str(tmp_path / "none")]) == 2
    assert "bench_nms:" in capsys.readouterr().err
