"""``xscreen gate``: better, worse, mixed and unchanged candidates, judged on a fixed benchmark and
on the held-out part of the new images only; the report lands in the candidate's card.

The models are ONNX graphs that return fixed detections (``write_fake_bundle``) on datasets
whose every image holds the same boxes, so each model's AP50 per class is exactly 0 or 1.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from conftest import write_fake_bundle

from xscreen import CLASSES
from xscreen.cli import main
from xscreen.datasets.coco import categories, write_annotations
from xscreen.models.card import load_bundle
from xscreen.training.gate import ClassComparison, judge

FIREARM_BOX = [70.0, 60.0, 110.0, 100.0]
GOLD_BOX = [20.0, 20.0, 60.0, 50.0]
ELSEWHERE = [2.0, 80.0, 30.0, 120.0]
FIREARM = [*FIREARM_BOX, 0.9, 0.0]
GOLD = [*GOLD_BOX, 0.9, 2.0]


def write_set(root: Path, boxes_per_image: list[list[tuple[str, list[float]]]],
              holdout: set[int] = frozenset()) -> Path:  # type: ignore[assignment]
    """128x128 white images with the given (class, x1 y1 x2 y2) boxes; ``holdout`` indices
    marked ``split: holdout``."""
    (root / "images").mkdir(parents=True)
    coco: dict[str, Any] = {"images": [], "annotations": [], "categories": categories()}
    for index, boxes in enumerate(boxes_per_image):
        name = f"{index:03d}.png"
        cv2.imwrite(str(root / "images" / name), np.full((128, 128, 3), 255, np.uint8))
        entry: dict[str, Any] = {"id": index + 1, "file_name": name, "width": 128, "height": 128}
        if index in holdout:
            entry["split"] = "holdout"
        coco["images"].append(entry)
        for label, (x1, y1, x2, y2) in boxes:
            coco["annotations"].append({"id": len(coco["annotations"]) + 1,
                                        "image_id": index + 1,
                                        "category_id": CLASSES.index(label) + 1,
                                        "bbox": [x1, y1, x2 - x1, y2 - y1]})
    write_annotations(root, coco)
    return root


@pytest.fixture(scope="module")
def sets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("gate")
    both = [("firearm", FIREARM_BOX), ("gold", GOLD_BOX)]
    # the new data: gold where the models look on the held-out images, elsewhere on the rest
    new = [[("gold", GOLD_BOX)]] * 6 + [[("gold", ELSEWHERE)]] * 6
    return {"bench": write_set(root / "bench", [both] * 6),
            "new": write_set(root / "new", new, holdout=set(range(6)))}


def bundle(tmp_path: Path, name: str, rows: list[list[float]]) -> Path:
    return write_fake_bundle(tmp_path / name, rows, thresholds=dict.fromkeys(CLASSES, 0.5))


def gate(tmp_path: Path, sets: dict[str, Path], candidate: list[list[float]],
         incumbent: list[list[float]], *extra: str) -> tuple[int, Path]:
    cand = bundle(tmp_path, "candidate", candidate)
    code = main(["gate", str(cand), "--against", str(bundle(tmp_path, "incumbent", incumbent)),
                 "--bench", str(sets["bench"]), "--new", str(sets["new"]),
                 "--json", str(tmp_path / "gate.json"), "--min-boxes", "3", *extra])
    return code, cand


@pytest.mark.parametrize(("candidate", "incumbent", "verdict", "code", "words"), [
    ([FIREARM, GOLD], [FIREARM], "better", 0, ["gold on bench", "gold on new"]),
    ([FIREARM], [FIREARM, GOLD], "worse", 1, ["gold on bench: AP50 1.000 -> 0.000"]),
    ([GOLD], [FIREARM], "mixed", 1, ["firearm on bench", "gold on new"]),
    ([FIREARM, GOLD], [GOLD, FIREARM], "unchanged", 1, ["no class moved"]),
], ids=["better", "worse", "mixed", "unchanged"])
def test_verdicts_and_refusals(tmp_path: Path, sets: dict[str, Path],
                               capsys: pytest.CaptureFixture[str], candidate: list[list[float]],
                               incumbent: list[list[float]], verdict: str, code: int,
                               words: list[str]) -> None:
    assert gate(tmp_path, sets, candidate, incumbent)[0] == code
    out, err = capsys.readouterr()
    report = json.loads((tmp_path / "gate.json").read_text())
    assert report["verdict"] == verdict and report["promotable"] == (code == 0)
    assert f"verdict: {verdict}" in out
    for word in words:
        assert word in out and (code == 0 or word in err)
    if code:
        assert "not promotable" in err


def test_report_goes_into_the_card_and_judges_held_out_images_only(
        tmp_path: Path, sets: dict[str, Path]) -> None:
    code, candidate = gate(tmp_path, sets, [FIREARM, GOLD], [FIREARM])
    assert code == 0
    report = load_bundle(candidate).card.gate
    assert report is not None and report["verdict"] == "better" and report["promotable"]
    assert report["sets"]["new"]["images"] == 6 and report["sets"]["new"]["holdout_only"]
    # the six images not held out have gold elsewhere: judged on all twelve, AP50 would be 0.5
    gold_new = next(c for c in report["classes"] if c["set"] == "new" and c["class"] == "gold")
    assert (gold_new["ap50_before"], gold_new["ap50_after"]) == (0.0, 1.0)
    assert set(report["latency_ms"]) == {"before", "after"}
    assert report["against"]["name"] == "fake" and report["margin"] == 0.02


def test_no_record_leaves_the_card_alone(tmp_path: Path, sets: dict[str, Path]) -> None:
    code, candidate = gate(tmp_path, sets, [FIREARM, GOLD], [FIREARM], "--no-record")
    assert code == 0 and load_bundle(candidate).card.gate is None


def test_classes_with_few_boxes_are_reported_not_judged() -> None:
    def row(name: str, boxes: int, before: float, after: float) -> ClassComparison:
        figures = {"pd": 0.0, "pfa": 0.0}
        return ClassComparison("bench", name, boxes, {"ap50": before, **figures},
                               {"ap50": after, **figures}, judged=boxes >= 5)

    verdict, reasons = judge([row("gold", 40, 0.3, 0.6), row("firearm", 2, 0.9, 0.1)], 0.02)
    assert verdict == "better" and len(reasons) == 1 and "gold" in reasons[0]
    assert judge([row("gold", 40, 0.30, 0.31)], 0.02)[0] == "unchanged"


@pytest.mark.parametrize(("arguments", "message"), [
    (["--margin", "2"], "--margin"),
    (["--against", "same"], "are the same model"),
    (["--against", "active"], "no active model"),
    (["--bench", "/nonexistent"], "does not exist"),
])
def test_bad_input_is_refused(tmp_path: Path, sets: dict[str, Path],
                              capsys: pytest.CaptureFixture[str], arguments: list[str],
                              message: str) -> None:
    candidate = bundle(tmp_path, "candidate", [GOLD])
    values = {"--against": str(bundle(tmp_path, "incumbent", [FIREARM])),
              "--bench": str(sets["bench"]), "--home": str(tmp_path / "home")}
    for flag, value in zip(arguments[::2], arguments[1::2], strict=True):
        values[flag] = str(candidate) if value == "same" else value
    argv = ["gate", str(candidate), *[part for pair in values.items() for part in pair]]
    assert main(argv) == 2
    assert message in capsys.readouterr().err
