"""``xscreen eval`` on a hand-checked case: a fake bundle whose detections we control."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from conftest import write_fake_bundle

from xscreen.cli import main
from xscreen.datasets.coco import categories, write_annotations
from xscreen.models.card import load_bundle
from xscreen.models.runtime import OnnxDetector

BOX_A, BOX_B, BOX_C = [10, 10, 40, 30], [60, 40, 30, 30], [20, 50, 20, 20]   # x, y, w, h
# Every image gets the same two detections: firearm on A (0.9) and narcotics on B (0.3).
ROWS = [[10, 10, 50, 40, 0.9, 0], [60, 40, 90, 70, 0.3, 1]]
# image: the (class index, box) pairs it holds
IMAGES = [[(0, BOX_A), (1, BOX_B)], [(0, BOX_A)], [(2, BOX_C)], []]


def write_case(root: Path) -> Path:
    (root / "images").mkdir(parents=True)
    images, annotations = [], []
    for index, objects in enumerate(IMAGES, start=1):
        cv2.imwrite(str(root / "images" / f"{index}.png"), np.full((96, 128, 3), 255, np.uint8))
        images.append({"id": index, "file_name": f"{index}.png", "width": 128, "height": 96})
        for label, box in objects:
            annotations.append({"id": len(annotations) + 1, "image_id": index,
                                "category_id": label + 1, "bbox": box})
    write_annotations(root, {"images": images, "annotations": annotations,
                             "categories": categories()})
    return root


def run_eval(tmp_path: Path, *extra: str) -> tuple[Path, dict[str, Any]]:
    bundle = write_fake_bundle(tmp_path / "bundle", ROWS)
    data = write_case(tmp_path / "data")
    report = tmp_path / "report.json"
    assert main(["eval", str(bundle), str(data), "--json", str(report), *extra]) == 0
    return bundle, json.loads(report.read_text())


def test_figures_match_the_hand_computed_case(tmp_path: Path) -> None:
    _, report = run_eval(tmp_path, "--plots", str(tmp_path / "plots"))
    firearm, narcotics = report["per_class"]["firearm"], report["per_class"]["narcotics"]
    gold, counterfeit = report["per_class"]["gold"], report["per_class"]["counterfeit"]
    # firearm: in images 1, 2 (both alarm at 0.9 >= 0.5); absent from 3, 4 (both alarm too)
    assert (firearm["pd"], firearm["pfa"]) == (1.0, 1.0)
    # narcotics: in image 1 only, scored 0.3 < 0.5: no alarm anywhere
    assert (narcotics["pd"], narcotics["pfa"]) == (0.0, 0.0)
    assert (gold["pd"], gold["pfa"], gold["ap50"]) == (0.0, 0.0, 0.0)
    assert counterfeit["pd"] is None and counterfeit["pfa"] == 0.0
    # AP50: both classes' true positives come first in image order (ties), precision 1
    assert firearm["ap50"] == pytest.approx(1.0) and narcotics["ap50"] == pytest.approx(1.0)
    assert report["map50"] == pytest.approx(2 / 3, abs=1e-6)      # counterfeit has no boxes
    assert report["images"] == 4
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == [
        "pr_counterfeit.png", "pr_firearm.png", "pr_gold.png", "pr_narcotics.png"]


def test_write_thresholds_puts_the_operating_point_in_the_card(tmp_path: Path) -> None:
    bundle, report = run_eval(tmp_path, "--write-thresholds", "--target-pfa", "0.05")
    card = load_bundle(bundle).card            # the checksum still matches: only JSON changed
    # any firearm threshold at or under 0.9 alarms on both negatives: it must exceed 0.9
    assert card.thresholds["firearm"] > np.float32(0.9)
    assert card.thresholds["narcotics"] > np.float32(0.3)
    assert report["per_class"]["firearm"]["pfa"] == 0.0
    assert report["per_class"]["firearm"]["threshold"] == card.thresholds["firearm"]
    assert card.metrics["threshold_selection"]["target_pfa"] == 0.05
    # detection at the new operating point: both detections now fall under their thresholds
    assert len(OnnxDetector(bundle).detect(np.full((96, 128, 3), 255, np.uint8))) == 0


def test_thresholds_for_any_alarm_on_threat_free_images(tmp_path: Path) -> None:
    """--pfa-over any: image 4 holds nothing and alarms for firearm at 0.9 under the default
    threshold; the operating point must silence it, whatever the per-class figures say."""
    _, before = run_eval(tmp_path / "a")
    assert before["clean_alarm_share"] == 1.0 and before["pfa_over"] == "class"
    bundle, report = run_eval(tmp_path / "b", "--write-thresholds", "--pfa-over", "any",
                              "--target-pfa", "0.05")
    card = load_bundle(bundle).card
    assert report["clean_alarm_share"] == 0.0 and report["pfa_over"] == "any"
    assert card.thresholds["firearm"] > np.float32(0.9)
    assert card.metrics["threshold_selection"]["pfa_over"] == "any"


def test_write_metrics_records_the_figures(tmp_path: Path) -> None:
    bundle, report = run_eval(tmp_path, "--write-metrics")
    assert load_bundle(bundle).card.metrics["eval"]["map50"] == report["map50"]


@pytest.mark.parametrize(("break_it", "message"), [
    ("checksum", "does not match its card"),
    ("no data", "does not exist"),
    ("unknown class", "unknown class"),
    ("bad pfa", "--target-pfa"),
    ("bad pfa-over", "invalid choice"),
])
def test_bad_inputs(tmp_path: Path, break_it: str, message: str,
                    capsys: pytest.CaptureFixture[str]) -> None:
    bundle = write_fake_bundle(tmp_path / "bundle", ROWS)
    data = write_case(tmp_path / "data")
    args = ["eval", str(bundle), str(data)]
    if break_it == "checksum":
        (bundle / "model.onnx").write_bytes((bundle / "model.onnx").read_bytes() + b"\0")
    elif break_it == "no data":
        args[2] = str(tmp_path / "absent")
    elif break_it == "unknown class":
        coco = json.loads((data / "annotations.json").read_text())
        coco["categories"][3]["name"] = "watch"
        (data / "annotations.json").write_text(json.dumps(coco))
    elif break_it == "bad pfa-over":
        args += ["--pfa-over", "bags"]
    else:
        args += ["--target-pfa", "2"]
    if break_it == "bad pfa-over":
        with pytest.raises(SystemExit) as exit_info:
            main(args)
        assert exit_info.value.code == 2
        assert message in capsys.readouterr().err
        return
    assert main(args) != 0
    assert message in capsys.readouterr().err


def test_recall_by_kind_and_palette(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--by: objects found at the card's thresholds (IoU >= 0.5), per class and attribute value
    (annotation's first, then image's); objects without it count as '-'."""
    bundle = write_fake_bundle(tmp_path / "bundle", ROWS)
    data = write_case(tmp_path / "data")
    coco = json.loads((data / "annotations.json").read_text())
    kinds = {1: "pistol", 2: "brick", 3: "revolver"}          # annotation 4 (gold): none
    for annotation in coco["annotations"]:
        if annotation["id"] in kinds:
            annotation["kind"] = kinds[annotation["id"]]
    for image in coco["images"]:
        image["palette"] = "grey" if image["id"] <= 2 else "classic"
    write_annotations(data, coco)
    report = tmp_path / "report.json"
    assert main(["eval", str(bundle), str(data), "--json", str(report), "--by", "kind",
                 "--by", "palette"]) == 0
    found = json.loads(report.read_text())["recall_by"]
    # firearm A is detected at 0.9 in images 1 and 2; narcotics B only at 0.3 (< 0.5)
    assert found["kind"] == {"firearm": {"pistol": [1, 1], "revolver": [1, 1]},
                             "narcotics": {"brick": [0, 1]}, "gold": {"-": [0, 1]}}
    assert found["palette"] == {"firearm": {"grey": [2, 2]}, "narcotics": {"grey": [0, 1]},
                                "gold": {"classic": [0, 1]}}
    out = capsys.readouterr().out
    assert "found at the thresholds, by kind:" in out and "revolver" in out
    # a lower narcotics threshold in the card finds the brick
    card = json.loads((bundle / "model.json").read_text())
    card["thresholds"]["narcotics"] = 0.25
    (bundle / "model.json").write_text(json.dumps(card))
    assert main(["eval", str(bundle), str(data), "--json", str(report), "--by", "kind"]) == 0
    assert json.loads(report.read_text())["recall_by"]["kind"]["narcotics"] == {"brick": [1, 1]}
