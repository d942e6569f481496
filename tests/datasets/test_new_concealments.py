"""Concealments outside the default mix: drawn only when a scene names them, never by default;
scenes of one threat kind, and cleared scans holding a chosen benign kind."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from xscreen.cli import main
from xscreen.datasets import objects
from xscreen.datasets.objects.threats import NEW_THREAT_KINDS, THREAT_KINDS
from xscreen.datasets.scene import SceneConfig, synthesise_scan

SLEEVE = ("gold", "hair_dryer_gold_sleeve")


def test_new_kinds_are_not_in_the_default_mix() -> None:
    assert SLEEVE[1] in NEW_THREAT_KINDS["gold"]
    assert not set(NEW_THREAT_KINDS["gold"]) & set(THREAT_KINDS["gold"])


@pytest.mark.parametrize("pitch", [0.8, 2.0])
def test_the_sleeve_is_boxed_as_gold_at_its_real_mass(pitch: float) -> None:
    (item,) = objects.threat_items(np.random.default_rng(1), pitch, *SLEEVE)
    (obj,) = item.objects
    assert (obj.label, obj.kind, obj.material, obj.concealment) == (
        "gold", SLEEVE[1], "gold", "appliance")
    assert 20 < obj.mass_g < 90          # 0.06-0.15 mm foil around a 70 mm barrel
    assert {"abs", "steel", "copper", "gold"} <= set(item.layers)   # the dryer is drawn whole


def test_a_scene_of_one_kind_and_cleared_scenes_with_appliances() -> None:
    config = SceneConfig(width=320, height=224, threats=(SLEEVE,), threat_share=1.0,
                         max_threats=1)
    scans = [synthesise_scan(np.random.default_rng([4, i]), config) for i in range(2)]
    kinds = {a.kind for scan in scans for a in scan.annotations}
    assert kinds == {SLEEVE[1]}
    cleared = synthesise_scan(np.random.default_rng(5), SceneConfig(
        width=320, height=224, threat_share=0.0, benign_kinds=("appliance",)))
    assert cleared.annotations == []
    default = SceneConfig(width=320, height=224)
    first = synthesise_scan(np.random.default_rng(6), default)
    again = synthesise_scan(np.random.default_rng(6), SceneConfig(width=320, height=224,
                                                                  threats=(), benign_kinds=()))
    assert np.array_equal(first.rgb, again.rgb)       # the options off: the default bytes


@pytest.mark.parametrize(("changes", "message"), [
    ({"threats": (("gold", "banana"),)}, "unknown threat gold:banana"),
    ({"threats": (("knife", "x"),)}, "unknown threat label 'knife'"),
    ({"benign_kinds": ("banana",)}, "unknown benign kind 'banana'"),
])
def test_bad_scene_options_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SceneConfig(**changes)  # type: ignore[arg-type]


def test_synth_cli_draws_a_named_kind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["synth", str(tmp_path / "out"), "--count", "2", "--size", "256", "--quiet",
                 "--threat", "gold:hair_dryer_gold_sleeve", "--threat-share", "1",
                 "--max-threats", "1"]) == 0
    coco = json.loads((tmp_path / "out" / "annotations.json").read_text())
    assert {a["kind"] for a in coco["annotations"]} == {SLEEVE[1]}
    assert coco["info"]["scene"]["threats"] == [list(SLEEVE)]
    assert main(["synth", str(tmp_path / "bad"), "--count", "1", "--threat", "gold"]) == 2
    assert "LABEL:KIND" in capsys.readouterr().err
