"""The detector: registry, output shapes, postprocessing and FCOS assignment."""

from __future__ import annotations

import math

import pytest
import torch

from xscreen.models.detector import (
    DetectionPostprocess,
    Detector,
    ExportableDetector,
    HeadOutputs,
    build_model,
    list_models,
    register_model,
)
from xscreen.models.losses import (
    Targets,
    assign_batch,
    assign_points,
    centerness_target,
    detection_loss,
    quality_focal_loss,
    task_aligned_assign,
)


def test_registry_lists_and_refuses_duplicates() -> None:
    assert {"xscreen_tiny", "xscreen_s"} <= set(list_models())
    with pytest.raises(ValueError, match="already registered"):
        register_model("xscreen_tiny")(lambda **kwargs: build_model("xscreen_tiny"))
    with pytest.raises(KeyError, match="unknown model"):
        build_model("yolo")


def test_builders_are_keyword_only() -> None:
    from xscreen.models.detector import xscreen_tiny

    with pytest.raises(TypeError):
        xscreen_tiny(3)  # type: ignore[misc]
    assert xscreen_tiny(num_classes=3).num_classes == 3


@pytest.mark.parametrize(("height", "width"), [(64, 64), (96, 128), (128, 64)])
def test_head_outputs_cover_three_levels(height: int, width: int) -> None:
    model = build_model("xscreen_tiny").eval()
    outputs = model(torch.rand(2, 3, height, width))
    points = sum((height // s) * (width // s) for s in (8, 16, 32))
    assert outputs.class_logits.shape == (2, points, 4)
    assert outputs.box_distances.shape == (2, points, 4)
    assert outputs.centerness.shape == (2, points)
    assert outputs.points.shape == (points, 2)
    assert outputs.points[0].tolist() == [4.0, 4.0]


def _outputs(scores: list[list[float]], boxes: list[list[float]]) -> HeadOutputs:
    """Head outputs whose decoded scores and boxes are the given ones (one image, stride 1).

    The score is sqrt(class probability x centre-ness): centre-ness ~1, class probability s^2.
    """
    score = torch.tensor([scores])
    logits = torch.logit((score**2).clamp(1e-12, 1 - 1e-6))
    box = torch.tensor(boxes)
    points = (box[:, :2] + box[:, 2:]) / 2
    distances = torch.cat([points - box[:, :2], box[:, 2:] - points], dim=1).log()[None]
    return HeadOutputs(class_logits=logits, box_distances=distances,
                       centerness=torch.full(score.shape[:2], 20.0), points=points,
                       strides=torch.ones(len(boxes)))


def test_postprocess_suppresses_sorts_and_pads() -> None:
    boxes = [[10, 10, 50, 50], [11, 11, 51, 51], [100, 100, 120, 120], [10, 10, 50, 50]]
    scores = [[0.9, 0, 0], [0.8, 0, 0], [0, 0.6, 0], [0, 0, 0.7]]
    rows = DetectionPostprocess(max_detections=5)(_outputs(scores, boxes))
    assert rows.shape == (1, 5, 6)
    kept = rows[0, rows[0, :, 4] > 0]
    assert kept[:, 5].tolist() == [0, 2, 1]            # the 0.8 overlap is suppressed
    assert kept[:, 4].tolist() == pytest.approx([0.9, 0.7, 0.6], abs=1e-4)
    assert kept[0, :4].tolist() == pytest.approx([10, 10, 50, 50], abs=1e-3)
    assert (rows[0, 3:] == 0).all()


@pytest.mark.parametrize(("second", "kept"), [
    ([10, 15.56, 50, 65.56], 1),    # IoU 0.80 with the first: one gun, one box
    ([10, 23.29, 50, 73.29], 1),    # IoU 0.58: two firearm boxes on one gun survived IoU 0.6
    ([10, 40, 50, 90], 2),          # IoU 0.25: two guns side by side keep their boxes
])
def test_one_box_per_object(second: list[float], kept: int) -> None:
    boxes = [[10, 10, 50, 60], second]
    rows = DetectionPostprocess(max_detections=5)(_outputs([[0.9, 0, 0], [0.8, 0, 0]], boxes))
    assert int((rows[0, :, 4] > 0).sum()) == kept


def test_postprocess_caps_each_image_at_k() -> None:
    boxes = [[i * 20.0, 0, i * 20.0 + 10, 10] for i in range(8)]
    scores = [[0.9 - 0.05 * i, 0, 0] for i in range(8)]
    outputs = _outputs(scores, boxes)
    batch = HeadOutputs(*(t.expand(2, *t.shape[1:]) if t.dim() > 2 or t is outputs.centerness
                          else t for t in (outputs.class_logits, outputs.box_distances,
                                           outputs.centerness)), outputs.points, outputs.strides)
    rows = DetectionPostprocess(max_detections=3)(batch)
    assert rows.shape == (2, 3, 6)
    assert rows[:, :, 4].tolist() == [pytest.approx([0.9, 0.85, 0.8], abs=1e-4)] * 2


def test_exportable_detector_has_contract_shape() -> None:
    graph = ExportableDetector(build_model("xscreen_tiny")).eval()
    with torch.no_grad():
        rows = graph(torch.rand(2, 3, 64, 96))
    assert rows.shape == (2, 100, 6)
    assert (rows[..., 4][:, :-1] >= rows[..., 4][:, 1:]).all()


def test_assignment_centre_sampling_and_smallest_box() -> None:
    points = torch.tensor([[20.0, 20.0], [44.0, 44.0], [4.0, 60.0]])
    strides = torch.full((3,), 8.0)
    targets = Targets(torch.tensor([[0.0, 0.0, 40.0, 40.0], [10.0, 10.0, 30.0, 30.0]]),
                      torch.tensor([1, 3]))
    labels, boxes = assign_points(points, strides, targets, num_classes=4)
    assert labels.tolist() == [3, 4, 4]              # the smaller box wins; others background
    assert boxes[0].tolist() == [10.0, 10.0, 30.0, 30.0]


def test_batch_assignment_is_each_image_alone() -> None:
    """Padding the images' boxes to one count never leaks: a batch (with an empty image and
    images of different counts) assigns exactly what each image gets alone."""
    generator = torch.Generator().manual_seed(3)
    ys, xs = torch.meshgrid(torch.arange(4.0, 96, 8), torch.arange(4.0, 128, 8), indexing="ij")
    points = torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1)
    points = torch.cat([points, points[::4] * 1.0, points[::16] * 1.0])
    strides = torch.cat([torch.full((192,), 8.0), torch.full((48,), 16.0),
                         torch.full((12,), 32.0)])
    targets = []
    for count in (3, 0, 1, 6):
        corner = torch.rand(count, 2, generator=generator) * torch.tensor([100.0, 70.0])
        size = torch.rand(count, 2, generator=generator) * 60 + 4
        targets.append(Targets(torch.cat([corner, corner + size], dim=1),
                               torch.randint(0, 4, (count,), generator=generator)))
    labels, boxes = assign_batch(points, strides, targets, num_classes=4)
    assert labels.shape == (4, 252) and boxes.shape == (4, 252, 4)
    assert (labels[0] < 4).any() and (labels[3] < 4).any() and (labels[1] == 4).all()
    for index, target in enumerate(targets):
        alone_labels, alone_boxes = assign_points(points, strides, target, num_classes=4)
        assert torch.equal(labels[index], alone_labels)
        positive = alone_labels < 4
        assert torch.equal(boxes[index][positive], alone_boxes[positive])
        if len(target.boxes):
            rule = target.boxes[_smallest_eligible(points, strides, target)]
            assert torch.equal(boxes[index][positive], rule[positive])


def _smallest_eligible(points: torch.Tensor, strides: torch.Tensor,
                       target: Targets) -> torch.Tensor:
    """The FCOS rule written as a plain loop (inside, within 1.5 strides of the centre, in the
    level's range; the smallest box wins): the index of each point's box, 0 where none."""
    chosen = []
    low_of = {8.0: 0.0, 16.0: 64.0, 32.0: 128.0}
    high_of = {8.0: 64.0, 16.0: 128.0, 32.0: float("inf")}
    for (x, y), stride in zip(points.tolist(), strides.tolist(), strict=True):
        best, best_area = 0, float("inf")
        for index, (x1, y1, x2, y2) in enumerate(target.boxes.tolist()):
            sides = (x - x1, y - y1, x2 - x, y2 - y)
            near = abs(x - (x1 + x2) / 2) < 1.5 * stride and abs(y - (y1 + y2) / 2) < 1.5 * stride
            in_range = low_of[stride] <= max(sides) <= high_of[stride]
            area = (x2 - x1) * (y2 - y1)
            if min(sides) > 0 and near and in_range and area < best_area:
                best, best_area = index, area
        chosen.append(best)
    return torch.tensor(chosen, dtype=torch.long)


def test_centerness_is_one_at_the_centre() -> None:
    value = centerness_target(torch.tensor([[20.0, 20.0], [12.0, 20.0]]),
                              torch.tensor([[10.0, 10.0, 30.0, 30.0]] * 2))
    assert value.tolist() == pytest.approx([1.0, (2 / 18) ** 0.5])


@pytest.mark.parametrize("assigner", ["fcos", "tal"])
def test_loss_is_finite_with_and_without_objects(assigner: str) -> None:
    model: Detector = build_model("xscreen_tiny")
    targets = [Targets(torch.tensor([[8.0, 8.0, 40.0, 30.0]]), torch.tensor([2])),
               Targets(torch.zeros(0, 4), torch.zeros(0, dtype=torch.long))]
    losses = detection_loss(model(torch.rand(2, 3, 64, 64)), targets, assigner)
    assert set(losses) == {"class", "box", "centerness"}
    assert all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_unknown_assigner_is_refused() -> None:
    outputs = build_model("xscreen_tiny")(torch.rand(1, 3, 64, 64))
    with pytest.raises(ValueError, match="unknown assigner 'atss'"):
        detection_loss(outputs, [Targets(torch.zeros(0, 4), torch.zeros(0, dtype=torch.long))],
                       "atss")


def test_task_aligned_assignment_by_hand() -> None:
    # Box A (class 1) and box B (class 3) overlap; p1 lies in both, p3 in neither.
    points = torch.tensor([[10.0, 10.0], [30.0, 30.0], [50.0, 50.0], [70.0, 70.0]])
    targets = Targets(torch.tensor([[0.0, 0.0, 40.0, 40.0], [20.0, 20.0, 60.0, 60.0]]),
                      torch.tensor([1, 3]))
    predicted = torch.tensor([[0.0, 0.0, 40.0, 40.0],     # A exactly
                              [20.0, 20.0, 60.0, 60.0],   # B exactly; IoU 1/7 with A
                              [30.0, 30.0, 60.0, 60.0],   # IoU 0.5625 with B
                              [60.0, 60.0, 80.0, 80.0]])
    scores = torch.full((4, 4), 0.5)
    labels, boxes, quality, iou = task_aligned_assign(scores, predicted, points, targets,
                                                      num_classes=4, topk=2)
    # A's two best are p0 and p1, B's are p1 and p2; p1 overlaps B more, so B keeps it.
    assert labels.tolist() == [1, 3, 3, 4]
    assert boxes[:3].tolist() == [[0.0, 0.0, 40.0, 40.0]] + [[20.0, 20.0, 60.0, 60.0]] * 2
    # Each box's best point gets its IoU (1 here); p2 gets (0.5 * 0.5625^6) / (0.5 * 1^6).
    assert quality.tolist() == pytest.approx([1.0, 1.0, 0.5625 ** 6, 0.0], rel=1e-5)
    assert iou.tolist() == pytest.approx([1.0, 1.0, 0.5625, 0.0])


def test_task_aligned_assignment_without_boxes_is_all_background() -> None:
    labels, _, quality, _ = task_aligned_assign(
        torch.rand(5, 4), torch.rand(5, 4), torch.rand(5, 2),
        Targets(torch.zeros(0, 4), torch.zeros(0, dtype=torch.long)), num_classes=4)
    assert labels.tolist() == [4] * 5 and quality.sum() == 0


def test_quality_focal_loss_vanishes_at_its_target() -> None:
    target = torch.tensor([0.0, 0.3, 1.0])
    logits = torch.logit(target.clamp(1e-6, 1 - 1e-6))
    assert quality_focal_loss(logits, target).item() == pytest.approx(0.0, abs=1e-6)
    # p = 0.5 against t = 0.3: cross-entropy ln 2, scaled by 0.2 ** 2.
    value = quality_focal_loss(torch.zeros(1), torch.tensor([0.3])).item()
    assert value == pytest.approx(0.04 * math.log(2))
