"""The scenario stream and the fusion benchmark's measures."""

from __future__ import annotations

import math
from pathlib import Path
from types import ModuleType

import pytest
from conftest import load_benchmark, write_fake_bundle

from xscreen import CLASSES
from xscreen.serving.manifest import parse_manifest
from xscreen.serving.risk import party_keys

scenarios = load_benchmark("scenarios")   # benchmarks/scenarios.py (not a package)
ScenarioConfig = scenarios.ScenarioConfig
generate = scenarios.generate
misspell = scenarios.misspell

FAST = ScenarioConfig(parcels=200, with_scans=False, contraband_share=0.2)


def load_bench() -> ModuleType:
    return load_benchmark("bench_risk")


def test_stream_is_deterministic_and_valid() -> None:
    first, second = generate(FAST, seed=3), generate(FAST, seed=3)
    assert [p.manifest for p in first.parcels] == [p.manifest for p in second.parcels]
    assert [p.manifest for p in first.parcels] != [p.manifest for p in generate(FAST, 4).parcels]
    for parcel in first.parcels:
        assert parse_manifest(parcel.manifest.to_dict()) == parcel.manifest
        assert set(parcel.labels) <= set(CLASSES)


def test_contraband_leans_on_manifest_signals_but_not_perfectly() -> None:
    parcels = generate(ScenarioConfig(parcels=600, with_scans=False, contraband_share=0.25),
                       seed=0).parcels
    bad = [p for p in parcels if p.contraband]
    clean = [p for p in parcels if not p.contraband]

    def share(group: list, test: object) -> float:
        return sum(bool(test(p.manifest)) for p in group) / len(group)  # type: ignore[operator]

    def listed(m: object) -> bool:
        return getattr(m, "origin_country", None) in ("XA", "XB")

    assert 0.15 < len(bad) / len(parcels) < 0.35
    assert share(bad, listed) > 2 * share(clean, listed) > 0    # correlated, not decisive
    assert share(bad, listed) < 0.6


def test_history_knows_some_bad_parties() -> None:
    scenario = generate(FAST, seed=1)
    seizures = [scenario.history.seizures(party_keys(p.manifest)) for p in scenario.parcels]
    linked_bad = [bool(s) for s, p in zip(seizures, scenario.parcels, strict=True) if p.contraband]
    linked_clean = [bool(s) for s, p in zip(seizures, scenario.parcels, strict=True)
                    if not p.contraband]
    assert 0 < sum(linked_bad) < len(linked_bad)
    assert sum(linked_clean) / len(linked_clean) < sum(linked_bad) / len(linked_bad)


def test_scans_come_with_facts_and_ground_truth() -> None:
    scenario = generate(ScenarioConfig(parcels=2, width=128, height=96, contraband_share=0.5),
                        seed=2)
    for parcel in scenario.parcels:
        assert parcel.scan is not None and parcel.facts is not None
        assert parcel.facts.estimated_mass_kg is not None
        assert parcel.labels == tuple(sorted({a.label for a in parcel.scan.annotations}))


def test_misspell_changes_little() -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    name = "Sunrise River Trading Ltd"
    variants = {misspell(name, rng, 1.0) for _ in range(30)}
    assert len(variants) > 3 and all(abs(len(v) - len(name)) <= 5 for v in variants)


@pytest.mark.parametrize(("scores", "truth", "budget", "found"), [
    ([0.9, 0.8, 0.1, 0.0], [True, False, True, False], 0.25, 0.5),
    ([1, 1, 1, 1], [True, False, False, False], 0.5, 0.5),        # all tied: budget's share
    ([3, 2, 2, 1], [False, True, False, True], 0.5, 0.25),        # half of a tie
])
def test_share_found(scores: list[float], truth: list[bool], budget: float,
                     found: float) -> None:
    assert load_bench().share_found(scores, truth, budget) == pytest.approx(found)


@pytest.mark.parametrize(("scores", "truth", "auc"), [
    ([0.9, 0.8, 0.1, 0.0], [True, True, False, False], 1.0),
    ([0.9, 0.8, 0.1, 0.0], [False, False, True, True], 0.0),
    ([1, 1, 1, 1], [True, False, True, False], 0.5),
    ([0.9, 0.5, 0.5, 0.1], [True, True, False, False], 0.875),
])
def test_roc_auc(scores: list[float], truth: list[bool], auc: float) -> None:
    assert load_bench().roc_auc(scores, truth) == pytest.approx(auc)
    assert math.isnan(load_bench().roc_auc([1, 2], [True, True]))


def test_benchmark_runs_on_oracle_detections(capsys: pytest.CaptureFixture[str]) -> None:
    bench = load_bench()
    assert bench.main(["--oracle-detections", "--parcels", "8", "--size", "128",
                       "--contraband-share", "0.4"]) == 0
    out = capsys.readouterr().out
    assert "ORACLE" in out and "fused" in out and "ROC AUC" in out


def test_benchmark_fits_weights_on_a_calibration_stream(capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    assert load_bench().main(["--oracle-detections", "--parcels", "8", "--size", "128",
                              "--contraband-share", "0.4", "--fit", "--fit-parcels", "16",
                              "--fit-verdicts", "all"]) == 0
    out = capsys.readouterr().out
    assert "weights fitted on calibration stream" in out and "with the fitted weights" in out


def test_benchmark_runs_on_a_model_bundle(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    # A fake bundle that finds one gold object in every parcel: the real OnnxDetector path.
    bundle = write_fake_bundle(tmp_path / "bundle", [[10, 10, 40, 40, 0.9, 2]])
    assert load_bench().main(["--model", str(bundle), "--parcels", "6", "--size", "128"]) == 0
    out = capsys.readouterr().out
    assert f"model bundle {bundle}" in out and "ORACLE" not in out


def test_benchmark_needs_a_model_or_the_oracle(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert load_bench().main(["--model", str(tmp_path / "none")]) == 2
    assert "--oracle-detections" in capsys.readouterr().err
