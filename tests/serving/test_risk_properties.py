"""Randomised properties (fixed seeds): a detection or a confirmed seizure never lowers the
score, and the score stays in 0-100 whatever the inputs."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import load_benchmark

from xscreen import CLASSES
from xscreen.serving.manifest import Manifest
from xscreen.serving.risk import (
    Finding,
    InMemoryHistory,
    ScanFacts,
    level_of,
    load_risk_config,
    normalise_name,
    party_keys,
    risk,
)

scenarios = load_benchmark("scenarios")   # benchmarks/scenarios.py (not a package)
ScenarioConfig = scenarios.ScenarioConfig
generate = scenarios.generate
misspell = scenarios.misspell

CONFIG = load_risk_config()
SCENARIO = generate(ScenarioConfig(parcels=120, with_scans=False, missing_field_share=0.3), 5)
LABELS = (*CLASSES, "knife")      # a class a later model might add


def random_finding(rng: np.random.Generator) -> Finding:
    x, y = rng.uniform(0, 300, 2)
    return Finding(str(rng.choice(LABELS)), float(rng.uniform(0.01, 1.0)),
                   (float(x), float(y), float(x) + 20, float(y) + 30))


def random_findings(rng: np.random.Generator) -> list[Finding]:
    return [random_finding(rng) for _ in range(int(rng.integers(0, 12)))]


def random_facts(rng: np.random.Generator) -> ScanFacts | None:
    if rng.random() < 0.3:
        return None
    mass = float(rng.uniform(0, 10)) if rng.random() < 0.7 else None
    return ScanFacts(320, 224, float(rng.uniform(0, 0.4)), int(rng.integers(0, 4)), mass)


def random_manifest(rng: np.random.Generator) -> Manifest:
    if rng.random() < 0.1:
        return Manifest()
    return SCENARIO.parcels[int(rng.integers(len(SCENARIO.parcels)))].manifest


def history_of(seizures: list[tuple[list[str], str]], parcels: list[list[str]]
               ) -> InMemoryHistory:
    history = InMemoryHistory()
    for keys, label in seizures:
        history.record_seizure(keys, [label])
    for keys in parcels:
        history.record_parcel(keys)
    return history


def test_adding_a_detection_never_lowers_the_score() -> None:
    rng = np.random.default_rng(0)
    for _ in range(300):
        findings, manifest, scan = random_findings(rng), random_manifest(rng), random_facts(rng)
        history = SCENARIO.history if rng.random() < 0.7 else None
        before = risk(findings, manifest, history, CONFIG, scan)
        grown = [*findings, random_finding(rng)]
        order = rng.permutation(len(grown))
        after = risk([grown[i] for i in order], manifest, history, CONFIG, scan)
        assert after.score >= before.score, (findings, grown, manifest, scan)
        assert sum(f.points for f in after.factors) >= sum(f.points for f in before.factors)


def test_adding_a_confirmed_seizure_never_lowers_the_score() -> None:
    rng = np.random.default_rng(1)
    for _ in range(300):
        manifest, findings, scan = random_manifest(rng), random_findings(rng), random_facts(rng)
        keys = party_keys(manifest) or ["shipper:somebody else"]

        def pick(keys: list[str] = keys) -> list[str]:
            """One of the parcel's keys, sometimes misspelt, as the service would store it."""
            role, _, name = str(rng.choice(keys)).partition(":")
            return [f"{role}:{normalise_name(misspell(name, rng, 0.3))}"]

        seizures = [(pick(), str(rng.choice(CLASSES))) for _ in range(int(rng.integers(0, 4)))]
        parcels = [pick() for _ in range(int(rng.integers(0, 3)))]
        before = risk(findings, manifest, history_of(seizures, parcels), CONFIG, scan)
        more = [*seizures, (pick(), str(rng.choice(CLASSES)))]
        after = risk(findings, manifest, history_of(more, parcels), CONFIG, scan)
        assert after.score >= before.score, (manifest, seizures, more)


@pytest.mark.parametrize("seed", [2, 3])
def test_score_is_bounded_and_banded(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(200):
        findings = random_findings(rng) * int(rng.integers(1, 4))
        result = risk(findings, random_manifest(rng), SCENARIO.history, CONFIG, random_facts(rng))
        assert 0.0 <= result.score <= 100.0
        assert all(f.points >= 0 for f in result.factors)
        assert result.level == level_of(result.score, CONFIG.bands)
