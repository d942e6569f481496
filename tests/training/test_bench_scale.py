"""benchmarks/bench_scale.py: objects rescaled without re-rendering, crowd regions ignored."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from conftest import load_benchmark, write_fake_bundle

from xscreen import CLASSES
from xscreen.training.metrics import ImageDetections, coco_map


def bench() -> ModuleType:
    return load_benchmark("bench_scale")


def scan() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    image = np.random.default_rng(0).integers(0, 255, (70, 100, 3), dtype=np.uint8)
    boxes = np.array([[40, 30, 50, 40], [0, 0, 30, 20]], np.float32)
    return image, boxes, np.array([0, 2])


def test_zoom_out_pads_with_air_and_moves_the_boxes() -> None:
    image, boxes, labels = scan()
    shown, view = bench().rescale(image, boxes, labels, 0.5, np.random.default_rng(1))
    assert shown.shape == (140, 200, 3) and (view.width, view.height) == (200, 140)
    ys, xs = np.nonzero((shown != 255).any(axis=2))
    top, left = ys.min(), xs.min()
    assert np.array_equal(shown[top:top + 70, left:left + 100], image)
    assert (shown == 255).sum() >= 3 * (140 * 200 - 70 * 100)
    assert np.allclose(view.boxes, boxes + np.array([left, top, left, top]))
    assert view.labels.tolist() == [0, 2] and len(view.crowd) == 0


def test_zoom_in_crops_a_window_objects_grow_cut_ones_become_crowd() -> None:
    image, boxes, labels = scan()
    module = bench()
    for seed in range(20):
        shown, view = module.rescale(image, boxes, labels, 2.0, np.random.default_rng(seed))
        assert shown.shape == (35, 50, 3) and (view.width, view.height) == (50, 35)
        # the window's own pixels, at the scan's resolution: find it in the scan
        found = [(y, x) for y in range(36) for x in range(51)
                 if np.array_equal(image[y:y + 35, x:x + 50], shown)]
        assert len(found) == 1
        top, left = found[0]
        for box, label in zip(view.boxes, view.labels, strict=True):
            original = boxes[list(labels).index(label)]
            shown = np.clip(original - [left, top, left, top], 0, [50, 35, 50, 35])
            assert np.allclose(box, shown)
            visible = (shown[2] - shown[0]) * (shown[3] - shown[1])
            assert visible >= 0.5 * (original[2] - original[0]) * (original[3] - original[1])
        for box, label in zip(view.crowd, view.crowd_labels, strict=True):   # under half visible
            original = boxes[list(labels).index(label)]
            area = (original[2] - original[0]) * (original[3] - original[1])
            assert 0 < (box[2] - box[0]) * (box[3] - box[1]) < 0.5 * area
        assert len(view.boxes) + len(view.crowd) >= 1   # the window is around an object
    # relative to the picture, a whole object is twice as large as in the scan
    _, view = module.rescale(image, boxes[:1], labels[:1], 2.0, np.random.default_rng(0))
    assert (view.boxes[0, 2] - view.boxes[0, 0]) / 50 == pytest.approx(2 * 10 / 100)


def test_detections_on_crowd_regions_neither_count_nor_cost() -> None:
    module = bench()
    view = module.Truth(50, 50, np.array([[5, 5, 20, 20]], np.float32), np.array([1]),
                        np.array([[30, 30, 45, 45]], np.float32), np.array([1]))
    dataset = module.as_dataset([view], CLASSES)
    right = np.array([[5, 5, 20, 20]], np.float32)

    def ap(extra: list[float]) -> float:
        boxes = np.vstack([right, np.array([extra], np.float32)])
        found = ImageDetections(1, boxes, np.array([0.5, 0.9]), np.array([1, 1]))
        return coco_map(dataset, [found]).ap50["narcotics"]

    assert ap([31, 31, 44, 44]) == pytest.approx(1.0)       # on the crowd region: ignored
    assert ap([0, 30, 15, 45]) < 0.6                         # elsewhere: a false alarm first


def test_main_prints_a_row_per_bundle_and_zoom(tiny_dataset: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    first = write_fake_bundle(tmp_path / "first", [[0, 0, 10, 10, 0.9, 0]])
    second = write_fake_bundle(tmp_path / "second", [[0, 0, 60, 60, 0.9, 1]])
    assert bench().main(["--bundle", str(first), "--bundle", str(second),
                         "--data", str(tiny_dataset), "--zoom", "0.5", "2", "--threads", "1"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[1:-1]]
    assert [(r[1], r[2]) for r in rows] == [("0.50", "first"), ("0.50", "second"),
                                            ("2.00", "first"), ("2.00", "second")]
    assert all(0.0 <= float(r[3]) <= 1.0 for r in rows)


def test_bad_input_is_refused(tiny_dataset: Path, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    bundle = write_fake_bundle(tmp_path / "b", [[0, 0, 10, 10, 0.9, 0]])
    assert bench().main(["--bundle", str(bundle), "--data", str(tmp_path / "missing")]) == 2
    assert "bench_scale:" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        bench().main(["--bundle", str(bundle), "--data", str(tiny_dataset), "--zoom", "0"])
    assert exit_info.value.code == 2
    assert "--zoom factors must be positive" in capsys.readouterr().err
