"""Judging bundles on real scans (training/realdata.py, benchmarks/bench_real.py), on small sets
made here in the layout of ../shared/realdata: guns found, clutter bags that alarm."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import cv2
import numpy as np
import pytest
from conftest import load_benchmark, write_fake_bundle

from xscreen import CLASSES
from xscreen.datasets.coco import categories, load_dataset, write_annotations
from xscreen.training.metrics import ImageDetections
from xscreen.training.realdata import judge_clutter, judge_guns

GUN = [30, 40, 90, 100]      # x1, y1, x2, y2 of the one handgun in each gun image


def bench() -> ModuleType:
    return load_benchmark("bench_real")


def write_set(root: Path, images: int, with_gun: bool) -> Path:
    (root / "images").mkdir(parents=True)
    records, boxes = [], []
    for index in range(images):
        name = f"scan_{index}.png"
        cv2.imwrite(str(root / "images" / name), np.full((128, 128, 3), 255, np.uint8))
        records.append({"id": index + 1, "file_name": name, "width": 128, "height": 128})
        if with_gun:
            x1, y1, x2, y2 = GUN
            boxes.append({"id": index + 1, "image_id": index + 1, "category_id": 1,
                          "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1),
                          "iscrowd": 0})
    write_annotations(root, {"images": records, "annotations": boxes,
                             "categories": categories()})
    return root


@pytest.fixture
def realdata(tmp_path: Path) -> Path:
    root = tmp_path / "realdata"
    write_set(root / "gdxray_b0046", 2, with_gun=True)
    write_set(root / "gdxray_more", 3, with_gun=True)
    write_set(root / "opixray_clutter", 4, with_gun=False)
    return root


def found(image_id: int, rows: list[list[float]]) -> ImageDetections:
    table = np.asarray(rows, np.float64).reshape(-1, 6)
    return ImageDetections(image_id, table[:, :4], table[:, 4], table[:, 5].astype(int))


def test_clutter_alarm_share_counts_bags_over_any_threshold() -> None:
    thresholds = [0.5, 0.6, 0.7, 0.8]
    detections = [found(1, [[0, 0, 5, 5, 0.55, 0]]),              # firearm alarm
                  found(2, [[0, 0, 5, 5, 0.75, 3], [0, 0, 5, 5, 0.9, 3]]),   # one box over 0.8
                  found(3, []),
                  found(4, [[0, 0, 5, 5, 0.65, 1], [0, 0, 5, 5, 0.95, 2]])]  # two classes
    result = judge_clutter("clutter", detections, CLASSES, thresholds)
    assert result.alarm_share == pytest.approx(3 / 4)
    assert result.alarm_share_by_class == pytest.approx(
        {"firearm": 1 / 4, "narcotics": 1 / 4, "gold": 1 / 4, "counterfeit": 1 / 4})
    assert result.boxes_per_image == pytest.approx(4 / 4)
    # The diagnosis: at that threshold at most 5% of the bags (here: none of 4) alarm per class.
    assert 0.9 < result.threshold_for_share["counterfeit"] < 0.91
    twenty = [found(i, [[0, 0, 5, 5, i / 100, 0]]) for i in range(1, 21)]   # 0.01 ... 0.20
    assert judge_clutter("c", twenty, CLASSES, thresholds).threshold_for_share["firearm"] == (
        pytest.approx(0.19, abs=1e-5))       # one bag of 20 (5%) may alarm: the 0.20 one


def test_guns_pd_counts_images_and_recall_needs_the_box(tmp_path: Path) -> None:
    dataset = load_dataset(write_set(tmp_path / "guns", 3, with_gun=True))
    thresholds = [0.5, 0.5, 0.5, 0.5]
    detections = [found(1, [[*GUN, 0.9, 0]]),                    # boxed
                  found(2, [[0, 0, 20, 20, 0.9, 0]]),            # alarms, wrong place
                  found(3, [[*GUN, 0.3, 0]])]                    # right place, under threshold
    result = judge_guns("guns", dataset, detections, CLASSES, thresholds)
    assert result.firearm_pd == pytest.approx(2 / 3)
    assert result.firearm_recall == pytest.approx(1 / 3)
    assert 0.0 < result.firearm_ap50 < 1.0


def test_bench_judges_at_each_cards_thresholds_and_records_them(
        realdata: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    alarming = write_fake_bundle(tmp_path / "alarming", [[*GUN, 0.9, 0]])
    quiet = write_fake_bundle(tmp_path / "quiet", [[*GUN, 0.9, 0]],
                              thresholds=dict.fromkeys(CLASSES, 0.95))
    out = tmp_path / "figures.json"
    assert bench().main(["--baseline", "none", "--bundle", str(alarming), "--bundle", str(quiet),
                         "--realdata", str(realdata), "--threads", "1", "--json", str(out),
                         "--write-metrics"]) == 0
    figures = json.loads(out.read_text())
    loud, silent = figures[str(alarming)], figures[str(quiet)]
    assert [r["name"] for r in loud] == ["gdxray_b0046", "gdxray_more", "opixray_clutter"]
    assert loud[0]["firearm_recall"] == 1.0 and loud[1]["firearm_pd"] == 1.0
    assert loud[2]["alarm_share"] == 1.0 and loud[2]["alarm_share_by_class"]["gold"] == 0.0
    assert silent[0]["firearm_pd"] == 0.0 and silent[2]["alarm_share"] == 0.0
    card = json.loads((alarming / "model.json").read_text())
    assert card["metrics"]["real_scans"]["opixray_clutter"]["alarm_share"] == 1.0
    out = capsys.readouterr().out
    assert "bags alarming 1.000" in out
    # silencing the clutter by thresholds alone (every bag holds the same 0.9 box) costs every gun
    assert ("at them, gdxray_b0046: firearm Pd 0.000, guns boxed 0.000 (at the card's: 1.000, "
            "1.000)") in out


def test_bench_judges_bundles_at_the_baselines_thresholds_too(
        realdata: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--at-baseline-thresholds: each bundle's own figures, then the same detections at the
    baseline card's thresholds (one operating point for every model)."""
    strict = write_fake_bundle(tmp_path / "strict", [[*GUN, 0.9, 0]],
                               thresholds=dict.fromkeys(CLASSES, 0.95))
    loose = write_fake_bundle(tmp_path / "loose", [[*GUN, 0.9, 0]])
    out = tmp_path / "figures.json"
    assert bench().main(["--baseline", str(strict), "--bundle", str(loose), "--realdata",
                         str(realdata), "--threads", "1", "--json", str(out),
                         "--at-baseline-thresholds"]) == 0
    figures = json.loads(out.read_text())
    assert figures[str(loose)][2]["alarm_share"] == 1.0           # at its own 0.5
    shared = figures[f"{loose}@baseline"]
    assert shared[2]["alarm_share"] == 0.0 and shared[0]["firearm_pd"] == 0.0   # at 0.95
    assert f"{strict}@baseline" not in figures
    assert "at the baseline's thresholds" in capsys.readouterr().out
    assert bench().main(["--baseline", "none", "--bundle", str(loose), "--realdata",
                         str(realdata), "--at-baseline-thresholds"]) == 2
    assert "needs a baseline" in capsys.readouterr().err
    # a bundle with another class list cannot be judged at the baseline's thresholds
    card = json.loads((loose / "model.json").read_text())
    card["classes"] = [*CLASSES, "knife"]
    card["thresholds"]["knife"] = 0.5
    (loose / "model.json").write_text(json.dumps(card))
    assert bench().main(["--baseline", str(strict), "--bundle", str(loose), "--realdata",
                         str(realdata), "--threads", "1", "--at-baseline-thresholds"]) == 2
    assert "classes differ from the baseline's" in capsys.readouterr().err


def test_bench_refuses_missing_data_and_unknown_sets(realdata: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    bundle = write_fake_bundle(tmp_path / "b", [[*GUN, 0.9, 0]])
    assert bench().main(["--bundle", str(bundle), "--realdata", str(tmp_path / "none")]) == 2
    assert "no real sets" in capsys.readouterr().err
    assert bench().main(["--baseline", "none", "--realdata", str(realdata)]) == 2
    assert "nothing to judge" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        bench().main(["--bundle", str(bundle), "--sets", "imagenet"])
    assert exit_info.value.code == 2
    (realdata / "gdxray_more" / "annotations.json").write_text("{")
    assert bench().main(["--baseline", "none", "--bundle", str(bundle),
                         "--realdata", str(realdata)]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_clutter_probe_changes_one_thing_at_a_time() -> None:
    probe = load_benchmark("probe_clutter")
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    grey = probe.CHANGES["grey"](image)
    assert grey.shape == image.shape and (grey[..., 0] == grey[..., 2]).all()
    half = probe.CHANGES["desaturated"](image).astype(int)
    # halfway between the colour and its grey: channel spread halves (rounding aside)
    spread = np.ptp(image.astype(int), axis=2).mean()
    assert abs(np.ptp(half, axis=2).mean() - spread / 2) < 1.5
    assert probe.CHANGES["half-res"](image).shape == image.shape
    assert not np.array_equal(probe.CHANGES["half-res"](image), image)
    assert probe.CHANGES["x1.5"](image).shape == (90, 120, 3)
    # smaller: the scan unchanged in the middle of air, twice the size each way
    framed = probe.CHANGES["smaller-2"](image)
    assert framed.shape == (120, 160, 3)
    assert np.array_equal(framed[30:90, 40:120], image)
    assert (framed[:30] == 255).all() and (framed[:, :40] == 255).all()
    assert (framed[90:] == 255).all() and (framed[:, 120:] == 255).all()
    assert probe.CHANGES["smaller-1.5"](image).shape == (90, 120, 3)
    # larger: the middle 70% each way, pixels untouched
    middle = probe.CHANGES["larger-1.4"](image)
    assert middle.shape == (42, 56, 3) and np.array_equal(middle, image[9:51, 12:68])
    assert np.array_equal(probe.CHANGES["as-is"](image), image)


def test_clutter_probe_judges_real_and_synthetic_bags(
        realdata: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    probe = load_benchmark("probe_clutter")
    alarming = write_fake_bundle(tmp_path / "alarming", [[*GUN, 0.9, 3]])
    synthetic = write_set(tmp_path / "synthetic", 2, with_gun=False)
    out = tmp_path / "probe.json"
    assert probe.main(["--bundle", str(alarming), "--realdata", str(realdata), "--synthetic",
                       str(synthetic), "--changes", "as-is", "grey", "--threads", "1",
                       "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert set(figures["real"]) == {"as-is", "grey"} and set(figures["synthetic"]) == {
        "as-is", "grey"}
    assert figures["real"]["grey"]["by_class"]["counterfeit"] == 1.0
    assert figures["real"]["grey"]["by_class"]["firearm"] == 0.0
    assert "real                   grey" in capsys.readouterr().out
    assert probe.main(["--bundle", str(alarming), "--realdata", str(tmp_path / "none")]) == 2
    assert "no opixray_clutter" in capsys.readouterr().err
    assert probe.main(["--bundle", str(tmp_path / "missing"), "--realdata", str(realdata)]) == 2


def test_calibration_probe_raises_the_class_that_costs_least_pd() -> None:
    probe = load_benchmark("probe_calibration")
    # Four bags: firearm alarms on bags 0-1 (0.6, 0.7), counterfeit on bags 0-3 (0.6 ... 0.9).
    bags = np.array([[0.6, 0, 0, 0.6], [0.7, 0, 0, 0.7], [0, 0, 0, 0.8], [0, 0, 0, 0.9]])
    # Validation: raising counterfeit past 0.9 loses every counterfeit; firearm's scores are 0.95.
    validation = probe.Labelled(best=np.array([[0.95, 0, 0, 0], [0, 0, 0, 0.85]]),
                                present=np.array([[True, False, False, False],
                                                  [False, False, False, True]]))
    start = [0.5, 0.5, 0.5, 0.5]
    # Half may alarm: raising firearm alone cannot get there (counterfeit alarms on all four),
    # counterfeit to just over 0.7 costs nothing on validation and leaves bags 0-1 alarming for
    # firearm: 2 of 4.
    chosen = probe.raise_thresholds(bags, start, 0.5, validation, [1, 1, 1, 1])
    assert chosen[1:3] == [0.5, 0.5]
    assert 0.7 < chosen[3] <= 0.8 + 1e-6 and probe.alarm_share(bags, chosen) == 0.5
    # None may alarm: counterfeit above 0.9 (losing its validation Pd), firearm above 0.7.
    quiet = probe.raise_thresholds(bags, start, 0.0, validation, [4, 1, 1, 1])
    assert quiet[0] > 0.7 and quiet[3] > 0.9 and probe.alarm_share(bags, quiet) == 0.0
    assert validation.pd(quiet)[0] == 1.0 and validation.pd(quiet)[3] == 0.0
    # Thresholds never go below the card's.
    assert probe.raise_thresholds(bags, [0.95] * 4, 0.0, validation, [1] * 4) == [0.95] * 4


def test_calibration_probe_judges_a_held_out_half(
        realdata: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    probe = load_benchmark("probe_calibration")
    # Every image: a gun-sized firearm box at 0.6 and a counterfeit box at 0.9.
    bundle = write_fake_bundle(tmp_path / "b", [[*GUN, 0.6, 0], [0, 0, 20, 20, 0.9, 3]],
                               thresholds=dict.fromkeys(CLASSES, 0.5))
    val = write_set(tmp_path / "val", 2, with_gun=True)
    out = tmp_path / "rows.json"
    assert probe.main(["--bundle", str(bundle), "--realdata", str(realdata), "--val", str(val),
                       "--test", str(val), "--targets", "0.0", "--firearm-weight", "1",
                       "--threads", "1", "--json", str(out)]) == 0
    card, quiet = json.loads(out.read_text())
    assert card["setting"] == "card" and card["held_out_half_alarming"] == 1.0
    assert card["gdxray_b0046"]["firearm_pd"] == 1.0
    # Quieting every bag raises firearm over the real guns' 0.6: their Pd goes, and it says so.
    assert quiet["chosen_half_alarming"] == 0.0 and quiet["held_out_half_alarming"] == 0.0
    assert quiet["thresholds"]["firearm"] > 0.6 and quiet["thresholds"]["counterfeit"] > 0.9
    assert quiet["gdxray_b0046"]["firearm_pd"] == 0.0
    assert quiet["synthetic_test_pd"]["firearm"] == 0.0
    assert "held-out half 2 0.000" in capsys.readouterr().out
    assert probe.main(["--bundle", str(bundle), "--realdata", str(tmp_path / "none"),
                       "--val", str(val), "--test", str(val)]) == 2
    assert "no opixray_clutter" in capsys.readouterr().err
    assert probe.main(["--bundle", str(bundle), "--realdata", str(realdata), "--val",
                       str(tmp_path / "missing"), "--test", str(val)]) == 2
    assert probe.main(["--bundle", str(bundle), "--realdata", str(realdata), "--val", str(val),
                       "--test", str(val), "--targets", "1.5"]) == 2
    assert "--targets" in capsys.readouterr().err


def test_context_probe_places_things_inside_the_frame_at_the_real_bags_scale() -> None:
    probe = load_benchmark("probe_context")
    # a 416-pixel frame is the real bags' own: their pitch; twice the pixels, half the pitch
    assert probe.pitch_for((416, 416, 3)) == pytest.approx(probe.REAL_PITCH_MM)
    assert probe.pitch_for((560, 832, 3)) == pytest.approx(probe.REAL_PITCH_MM / 2)
    rng = np.random.default_rng(0)
    for _ in range(50):
        x, y = probe.place((400, 600, 3), (50, 80), rng)
        assert 120 <= x <= 480 - 80 and 80 <= y <= 320 - 50
    assert probe.place((100, 100, 3), (90, 20), rng) is None
    found = probe.Detections(np.array([[0, 0, 10, 10], [100, 100, 200, 200]], np.float32),
                             np.array([0.9, 0.6], np.float32), np.array([3, 3]))
    box = np.array([110, 110, 190, 190], np.float64)
    assert probe.best_score(found, box, 3, 0.3) == pytest.approx(0.6)
    assert probe.best_score(found, box, 0, 0.3) == 0.0
    assert probe.best_score(found, np.array([300, 300, 310, 310.0]), 3, 0.3) == 0.0


def test_context_probe_pastes_into_real_white_and_synthetic_frames(
        realdata: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    probe = load_benchmark("probe_context")
    # one counterfeit box over the whole input: every pasted thing overlaps it (IoU > 0)
    bundle = write_fake_bundle(tmp_path / "b", [[0, 0, 128, 128, 0.9, 3]])
    synthetic = write_set(tmp_path / "synthetic", 3, with_gun=False)
    out = tmp_path / "context.json"
    assert probe.main(["--bundle", str(bundle), "--realdata", str(realdata), "--synthetic",
                       str(synthetic), "--kinds", "personal_watch", "--count", "3", "--iou",
                       "0", "--threads", "1", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["results"]["personal_watch"]
    assert set(rows) == {"real", "white", "synthetic"}
    assert all(row["placed"] >= 1 and row["boxed"] == 1.0 and row["median_score"] ==
               pytest.approx(0.9) for row in rows.values())
    assert "personal_watch           white" in capsys.readouterr().out
    # asked about another class, nothing is boxed
    assert probe.main(["--bundle", str(bundle), "--realdata", str(realdata), "--kinds",
                       "personal_watch", "--count", "2", "--iou", "0", "--label", "firearm",
                       "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["results"]["personal_watch"]
    assert all(row["boxed"] == 0.0 for row in rows.values())
    for bad, message in ((["--kinds", "unicorn"], "unknown kinds unicorn"),
                         (["--count", "0"], "--count must be at least 1"),
                         (["--iou", "1.5"], "--iou must be in [0, 1)"),
                         (["--label", "knife"], "not one of the card's classes")):
        assert probe.main(["--bundle", str(bundle), "--realdata", str(realdata), *bad]) == 2
        assert message in capsys.readouterr().err
    assert probe.main(["--bundle", str(bundle), "--realdata", str(tmp_path / "none")]) == 2
    assert "no opixray_clutter" in capsys.readouterr().err
