"""Objects from real silhouettes: real sizes and masses, empty openings, determinism, bad kinds."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from xscreen.datasets.objects import BENIGN_KINDS, THREAT_KINDS, benign_item, outlines
from xscreen.datasets.scene import SceneConfig, synthesise_scan, visible_mask

PITCH = 0.8

# Published figures, written here independently of the specs: (length mm, height mm or None,
# mass range g). Firearm masses are empty guns plus up to a loaded magazine.
REAL = {
    "outline_glock": (186, 138, (600, 1100)),
    "outline_m1911": (216, 140, (1000, 1500)),
    "outline_luger": (222, None, (800, 1150)),
    "outline_walther_ppk": (155, 109, (550, 800)),
    "outline_desert_eagle": (270, 149, (1900, 2500)),
    "outline_revolver": (240, None, (950, 1250)),
    "outline_uzi": (470, 250, (3300, 4000)),
    "outline_mac10": (295, None, (2700, 3500)),
    "outline_ak47": (880, None, (3300, 4300)),
    "outline_sawed_off": (450, None, (2000, 2600)),
    "outline_gold_ring": (21, None, (2, 12)),
    "outline_gold_ingot": (116, None, (800, 1200)),
    "outline_watch": (75, None, (40, 200)),
    "outline_sneaker": (290, None, (50, 400)),
    "outline_smartphone": (71, 147, (80, 250)),
    "outline_scissors": (200, None, (50, 250)),
    "outline_spanner": (180, None, (100, 450)),
    "outline_key": (55, None, (3, 20)),
    "outline_house_keys": (55, None, (10, 60)),
    "outline_padlock": (50, None, (60, 400)),
    "outline_cutlery": (200, None, (100, 400)),
    "outline_toy_gun": (250, None, (50, 400)),
}


def test_every_spec_has_real_figures_here() -> None:
    assert set(REAL) == set(outlines.ALL_SPECS)


@pytest.mark.parametrize("kind", sorted(REAL))
def test_size_mass_and_sanity(kind: str) -> None:
    length, height, (low, high) = REAL[kind]
    drawing = outlines.draw_outline(kind, PITCH)
    item = drawing.item
    for path in item.layers.values():
        assert np.isfinite(path).all() and path.min() >= 0
    total = np.sum(list(item.layers.values()), axis=0)
    assert total.max() > 0
    label = outlines.ALL_SPECS[kind]
    if kind in outlines.BENIGN_SPECS:
        assert item.objects == []
        from xscreen.datasets.materials import material
        mass = sum(float(p.sum()) * (PITCH / 10) ** 2 * material(n).density
                   for n, p in item.layers.items())
        visible = total > 0.01
    else:
        (obj,) = item.objects
        assert obj.label in ("firearm", "gold", "counterfeit"), label
        mass = obj.mass_g
        visible = visible_mask(obj)
    rows, cols = np.nonzero(visible)
    width_mm = (cols.max() - cols.min() + 1) * PITCH
    assert width_mm == pytest.approx(length, rel=0.1)
    if height is not None:
        assert (rows.max() - rows.min() + 1) * PITCH == pytest.approx(height, rel=0.1)
    assert low <= mass <= high, f"{kind}: {mass:.0f} g"


@pytest.mark.parametrize("kind", [k for k, v in outlines.ALL_SPECS.items()
                                  if outlines.outlines()[v.icon].holes])
@pytest.mark.parametrize("mirror", [False, True])
def test_openings_stay_empty(kind: str, mirror: bool) -> None:
    jitter = outlines.Jitter(mirror=mirror, stretch=(1.03, 0.97))
    drawing = outlines.draw_outline(kind, PITCH, jitter)
    total = np.sum(list(drawing.item.layers.values()), axis=0)
    assert drawing.hole_pixels
    for row, col in drawing.hole_pixels:
        assert total[row, col] == 0.0
        # ... while the gun surrounds it: something above it and to both sides
        assert total[:row, col].max() > 0
        assert total[row, :col].max() > 0 and total[row, col:].max() > 0


def test_firearms_have_parts_of_their_materials() -> None:
    glock = outlines.draw_outline("outline_glock", PITCH, outlines.Jitter(loaded=1.0)).item
    assert {"steel", "nylon", "brass", "lead"} <= set(glock.layers)
    m1911 = outlines.draw_outline(
        "outline_m1911", PITCH, outlines.Jitter(materials={"grip": "wood"})).item
    assert m1911.layers["wood"].sum() > 0 and "nylon" not in m1911.layers


def test_revolver_chambers_are_bored_through_the_cylinder(
        monkeypatch: pytest.MonkeyPatch) -> None:
    spec = replace(outlines.FIREARM_SPECS["outline_revolver"], mass_g=None, fill=1.0)
    assert spec.cylinder is not None
    steel = {}
    for name, cylinder in (("bored", spec.cylinder), ("solid", None)):
        monkeypatch.setitem(outlines.ALL_SPECS, "outline_revolver",
                            replace(spec, cylinder=cylinder))
        item = outlines.draw_outline("outline_revolver", PITCH, outlines.Jitter(loaded=0.0)).item
        u0, u1, _ = spec.cylinder
        width = item.shape[1]
        steel[name] = float(item.layers["steel"][:, int(u0 * width):int(u1 * width)].sum())
    # six chambers of 0.26 r remove about 6 * 0.26^2 = 40 % of a full drum's section
    assert steel["bored"] < 0.9 * steel["solid"]


@pytest.mark.parametrize("kind", ["outline_glock", "outline_house_keys", "outline_watch"])
def test_same_seed_same_bytes(kind: str) -> None:
    first = outlines.outline_item(kind, np.random.default_rng(7), PITCH)
    second = outlines.outline_item(kind, np.random.default_rng(7), PITCH)
    assert first.layers.keys() == second.layers.keys()
    for name in first.layers:
        assert first.layers[name].tobytes() == second.layers[name].tobytes()


def test_rounded_profile_is_a_cylinder_chord() -> None:
    bar = np.zeros((60, 200), np.float32)
    bar[20:40, :] = 1.0          # a 16 mm tall bar at 0.8 mm: a rod of radius 8 mm
    profile = outlines.rounded_profile(bar, PITCH, width_mm=30)
    assert profile[30, 100] == pytest.approx(16, rel=0.05)   # the full diameter at the axis
    assert profile[20, 100] < 0.6 * profile[30, 100]         # rounded at the rim
    assert profile[:20].max() == 0


def test_registered_with_the_synthesiser() -> None:
    assert set(outlines.FIREARM_RECIPES) <= set(THREAT_KINDS["firearm"])
    assert set(outlines.GOLD_RECIPES) <= set(THREAT_KINDS["gold"])
    assert set(outlines.COUNTERFEIT_RECIPES) <= set(THREAT_KINDS["counterfeit"])
    assert set(outlines.BENIGN_RECIPES) <= set(BENIGN_KINDS)
    item = benign_item(np.random.default_rng(0), 1.0, "outline_padlock")
    assert item.kind == "outline_padlock"


def test_a_scan_boxes_an_outline_gun() -> None:
    config = SceneConfig(width=320, height=240, threat_share=1.0, max_threats=1,
                         threats=(("firearm", "outline_glock"),), benign_items=(0, 0, 0))
    scan = synthesise_scan(np.random.default_rng(3), config)
    assert [a.kind for a in scan.annotations] == ["outline_glock"]


@pytest.mark.parametrize("call", [
    lambda: outlines.draw_outline("outline_bazooka", PITCH),
    lambda: outlines.outline_item("glock", np.random.default_rng(0), PITCH),
])
def test_unknown_kinds_are_refused_with_the_known_ones(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="outline_glock"):
        call()


def test_bad_pitch_is_refused() -> None:
    with pytest.raises(ValueError, match="pitch_mm"):
        outlines.draw_outline("outline_key", 0.0)


def test_assets_attributed() -> None:
    from pathlib import Path
    assets = Path(outlines.__file__).resolve().parent.parent / "assets"
    entries = json.loads((assets / "ATTRIBUTION.json").read_text())
    (entry,) = [e for e in entries if e["file"] == "outlines/outlines.json"]
    document = json.loads((assets / "outlines" / "outlines.json").read_text())
    assert entry["licence"] == "CC-BY-3.0"
    for icon in document["icons"].values():
        assert icon["source"] in entry["source_path"]
        assert icon["author"] in entry["author"]
