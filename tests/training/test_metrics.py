"""Metrics against hand-computed cases: mAP, Pd, Pfa and thresholds for a target Pfa."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import write_tiny_dataset

from xscreen.datasets.coco import load_dataset
from xscreen.training.metrics import (
    ImageDetections,
    any_alarm_share,
    coco_map,
    image_has_class,
    image_max_scores,
    screening_figures,
    threshold_for_pfa,
    thresholds_for_any_pfa,
    thresholds_for_pfa,
)


def _ground_truth_as_detections(dataset_root: Path, score: float = 0.9) -> list[ImageDetections]:
    dataset = load_dataset(dataset_root)
    detections = []
    for record in dataset.images:
        boxes = np.asarray(record.boxes, np.float32).reshape(-1, 4)
        boxes[:, 2:] += boxes[:, :2]
        detections.append(ImageDetections(record.id, boxes, np.full(len(boxes), score),
                                          np.asarray(record.labels)))
    return detections


def test_perfect_detections_score_one(tiny_dataset: Path) -> None:
    summary = coco_map(load_dataset(tiny_dataset), _ground_truth_as_detections(tiny_dataset))
    assert summary.map50 == pytest.approx(1.0)
    assert summary.map50_95 == pytest.approx(1.0)


def test_no_detections_score_zero(tiny_dataset: Path) -> None:
    dataset = load_dataset(tiny_dataset)
    empty = [ImageDetections(r.id, np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64))
             for r in dataset.images]
    assert coco_map(dataset, empty).map50 == 0.0


def test_half_the_boxes_found(tmp_path: Path) -> None:
    root = write_tiny_dataset(tmp_path / "d", count=4, objects_per_image=1, seed=3)
    detections = _ground_truth_as_detections(root)
    for image in detections[::2]:          # drop images 1 and 3's detections
        image.boxes, image.scores, image.labels = np.zeros((0, 4)), np.zeros(0), np.zeros(0, int)
    summary = coco_map(load_dataset(root), detections)
    labels = [r.labels[0] for r in load_dataset(root).images]
    # each class's AP is the share of its boxes found (all found ones rank first, precision 1)
    expected = [np.mean([i % 2 == 1 for i, lab in enumerate(labels) if lab == c])
                for c in sorted(set(labels))]
    assert summary.map50 == pytest.approx(np.mean(expected), abs=0.011)


def test_pd_and_pfa_by_hand() -> None:
    # 4 images; class 0 present in images 0 and 1; class 1 present in image 2 only.
    best = np.array([[0.9, 0.0], [0.4, 0.0], [0.6, 0.7], [0.0, 0.2]])
    present = np.array([[True, False], [True, False], [False, True], [False, False]])
    firearm, narcotics = screening_figures(best, present, [0.5, 0.5])
    assert (firearm.pd, firearm.pfa) == (0.5, 0.5)          # 1 of 2 found; 1 of 2 false
    assert (narcotics.pd, narcotics.pfa) == (1.0, 0.0)
    assert (firearm.positives, firearm.negatives) == (2, 2)


def test_pd_is_nan_without_positives() -> None:
    (figure,) = screening_figures(np.array([[0.1]]), np.array([[False]]), [0.5])
    assert np.isnan(figure.pd) and figure.pfa == 0.0


@pytest.mark.parametrize(("scores", "target", "alarms_allowed"), [
    ([0.9, 0.8, 0.7, 0.1] * 5, 0.05, 1),
    ([0.9, 0.8, 0.7, 0.1] * 5, 0.10, 2),
    ([0.5] * 10, 0.05, 0),
    ([0.3, 0.2], 1.0, 2),
])
def test_threshold_meets_target_pfa(scores: list[float], target: float,
                                    alarms_allowed: int) -> None:
    threshold = threshold_for_pfa(np.array(scores), target)
    alarms = int((np.array(scores) >= threshold).sum())
    assert alarms <= alarms_allowed
    assert alarms / len(scores) <= target


def test_threshold_without_negatives_is_nominal() -> None:
    assert threshold_for_pfa(np.array([]), 0.05) == 0.5


def test_image_level_tables(tiny_dataset: Path) -> None:
    dataset = load_dataset(tiny_dataset)
    detections = _ground_truth_as_detections(tiny_dataset, score=0.7)
    best = image_max_scores(detections, 4)
    present = image_has_class(dataset, [d.image_id for d in detections])
    np.testing.assert_array_equal(best > 0, present)


def test_any_alarm_thresholds_keep_ordinary_parcels_quiet() -> None:
    """Per class 5% each lets about 4 x 5% of threat-free images alarm when classes fire on
    different images; counted as any alarm, at most 5% do, the classes sharing the budget."""
    rng = np.random.default_rng(0)
    clean, with_gun = 400, 100
    best = rng.uniform(0, 1, (clean + with_gun, 4))       # independent per class
    present = np.zeros_like(best, bool)
    present[clean:, 0] = True
    best[clean:, 0] = rng.uniform(0.5, 1.0, with_gun)
    per_class = thresholds_for_pfa(best, present, 0.05)
    assert any_alarm_share(best, present, per_class) > 0.15
    shared = thresholds_for_any_pfa(best, present, 0.05)
    share = any_alarm_share(best, present, shared)
    assert 0.04 <= share <= 0.05
    negatives = best[:clean]
    rates = [(negatives[:, c] >= shared[c]).mean() for c in range(4)]
    assert max(rates) - min(rates) <= 1 / clean + 1e-9      # the budget shared evenly
    assert all(a >= b for a, b in zip(shared, per_class, strict=True))   # stricter, never looser


def test_any_alarm_thresholds_edge_cases() -> None:
    best = np.array([[0.9, 0.1], [0.2, 0.8]])
    assert thresholds_for_any_pfa(best, np.ones_like(best, bool), 0.05) == [0.5, 0.5]
    assert np.isnan(any_alarm_share(best, np.ones_like(best, bool), [0.5, 0.5]))
    quiet = thresholds_for_any_pfa(best, np.zeros_like(best, bool), 0.0)
    assert any_alarm_share(best, np.zeros_like(best, bool), quiet) == 0.0
