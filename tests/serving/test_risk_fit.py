"""Factor weights: the configuration applies them, ``risk fit`` learns them from verdicts (the
pure fit, then through the service's real database and the CLI), ``serve --risk-config`` uses
the file it writes, and every bad input is named."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import bearer, empty_database
from fastapi.testclient import TestClient
from serving_support import make_settings, png_bytes, scan_rgb

from xscreen import cli
from xscreen.serving import store
from xscreen.serving.app import create_app
from xscreen.serving.manifest import Manifest
from xscreen.serving.risk import (
    Finding,
    RiskConfigError,
    factor_weight,
    load_risk_config,
    risk,
    risk_config_from_dict,
)
from xscreen.serving.risk_fit import (
    Labelled,
    RiskFitError,
    fit_weights,
    holdout_check,
    roc_auc,
)

DEFAULT_PATH = Path(__file__).parents[2] / "serving" / "risk.yaml"
DEFAULT: dict[str, Any] = yaml.safe_load(DEFAULT_PATH.read_text())
CONFIG = load_risk_config()


def weighted_config(weights: dict[str, Any], version: str = "test-weights") -> Any:
    values = copy.deepcopy(DEFAULT)
    values["factor_weights"] = weights
    values["version"] = version
    return risk_config_from_dict(values)


# --- the configuration's factor_weights -----------------------------------------------------

GOLD = [Finding("gold", 0.9, (10, 10, 40, 40))]
MAIL = Manifest(mail_order=True, description="clothing")


def points(assessment: Any) -> dict[str, float]:
    return {f.name: f.points for f in assessment.factors}


@pytest.mark.parametrize(("weights", "expected"), [
    ({}, {"detection.gold": 36.0, "declared_content.gold": 27.0, "mail_order": 3.0}),
    ({"detection": 0.5}, {"detection.gold": 18.0, "declared_content.gold": 27.0,
                          "mail_order": 3.0}),
    # a factor's own name wins over its rule's
    ({"detection": 0.5, "detection.gold": 2.0}, {"detection.gold": 72.0,
                                                 "declared_content.gold": 27.0, "mail_order": 3.0}),
    ({"detection.firearm": 0.0}, {"detection.gold": 36.0, "declared_content.gold": 27.0,
                                  "mail_order": 3.0}),
    # weighted to nothing: left out of the explanation
    ({"mail_order": 0.0, "declared_content": 0.1},
     {"detection.gold": 36.0, "declared_content.gold": 2.7}),
])
def test_factor_weights_scale_points(weights: dict[str, float],
                                     expected: dict[str, float]) -> None:
    assessment = risk(GOLD, MAIL, None, weighted_config(weights))
    assert points(assessment) == expected
    assert assessment.config_version == "test-weights"


def test_factor_weight_lookup() -> None:
    weights = {"party_history": 0.5, "party_history.platform": 0.0}
    assert factor_weight(weights, "party_history.shipper") == 0.5
    assert factor_weight(weights, "party_history.platform") == 0.0
    assert factor_weight(weights, "origin") == 1.0


@pytest.mark.parametrize(("weights", "field"), [
    ({"detection.knife": 1.0}, "factor_weights.detection.knife.[key]"),
    ({"party_history.cousin": 1.0}, "factor_weights.party_history.cousin.[key]"),
    ({"colour": 1.0}, "factor_weights.colour.[key]"),
    ({"origin.XA": 1.0}, "factor_weights.origin.XA.[key]"),
    ({"unknown_codes": 1.0}, "factor_weights.unknown_codes.[key]"),   # a section, no factor
    ({"detection": -0.5}, "factor_weights.detection"),
    ({"detection": "high"}, "factor_weights.detection"),
    ([1, 2], "factor_weights"),
])
def test_bad_factor_weights_are_named(weights: Any, field: str) -> None:
    with pytest.raises(RiskConfigError) as caught:
        weighted_config(weights)
    assert f"\n  {field}: " in str(caught.value)


def test_weights_keep_the_score_monotonic() -> None:
    """Adding a detection never lowers the score, with weights too (they are >= 0)."""
    config = weighted_config({"detection": 0.3, "declared_content.gold": 0.0, "dense_area": 2.5})
    rng = np.random.default_rng(3)
    for _ in range(200):
        findings = [Finding(str(rng.choice(["gold", "firearm", "narcotics", "counterfeit"])),
                            float(rng.uniform(0.01, 1)), (0, 0, 10, 10))
                    for _ in range(int(rng.integers(0, 4)))]
        extra = Finding("counterfeit", float(rng.uniform(0.01, 1)), (5, 5, 20, 20))
        before = risk(findings, MAIL, None, config).score
        assert risk([*findings, extra], MAIL, None, config).score >= before


# --- the fit ---------------------------------------------------------------------------------

def stream(n: int = 400, seed: int = 0) -> list[Labelled]:
    """``weight`` fires mostly on contraband, ``mail_order`` at random, ``origin`` mostly on
    clean parcels, ``detection.gold`` with contraband only when strong."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        bad = bool(rng.random() < 0.3)
        pts: dict[str, float] = {}
        if rng.random() < (0.8 if bad else 0.05):
            pts["weight"] = 20.0
        if rng.random() < 0.5:
            pts["mail_order"] = 3.0
        if rng.random() < (0.05 if bad else 0.4):
            pts["origin"] = 14.0
        if rng.random() < 0.5:
            pts["detection.gold"] = 40.0 * float(rng.uniform(0.8, 1.0) if bad else
                                                 rng.uniform(0.1, 0.5))
        rows.append(Labelled(pts, bad))
    return rows


def test_fit_raises_telling_factors_and_silences_the_others() -> None:
    rows = stream()
    fit = fit_weights(rows, CONFIG)
    by_name = {f.name: f for f in fit.factors}
    assert by_name["weight"].multiplier > 1.0
    assert by_name["mail_order"].multiplier < 0.3
    assert by_name["origin"].multiplier == 0.0       # anti-correlated: clipped at zero, not < 0
    assert all(w >= 0 for w in fit.weights.values())
    assert fit.auc_after > fit.auc_before
    assert fit.parcels == len(rows) and fit.confirmed == sum(r.contraband for r in rows)
    # the points confirmed parcels collect keep their total (the bands keep their meaning)
    before = sum(sum(r.points.values()) for r in rows if r.contraband)
    after = sum(p * by_name[n].multiplier for r in rows if r.contraband
                for n, p in r.points.items())
    assert after == pytest.approx(before, rel=1e-6)


def test_fit_multiplies_the_base_weights_and_keeps_rare_factors() -> None:
    base = weighted_config({"weight": 0.5, "brand_value": 3.0})
    rows = [*stream(), Labelled({"brand_value": 12.0}, True)]
    fit = fit_weights(rows, base, min_parcels=10)
    multiplier = next(f.multiplier for f in fit.factors if f.name == "weight")
    assert fit.weights["weight"] == pytest.approx(0.5 * multiplier, abs=1e-3)
    assert fit.unfitted == ["brand_value"] and fit.weights["brand_value"] == 3.0
    # the written weights load
    values = {**copy.deepcopy(DEFAULT), "factor_weights": fit.weights}
    assert risk_config_from_dict(values).factor_weights == fit.weights


def test_holdout_check_scores_parcels_the_fit_did_not_see() -> None:
    rows = stream(600, seed=1)
    check = holdout_check(rows, CONFIG, share=0.3, seed=2)
    assert check is not None and 120 < check.parcels < 240
    assert check.auc_after > check.auc_before
    one_outcome = [Labelled({"weight": 20.0}, True)] * 30 + [Labelled({}, False)] * 2
    assert holdout_check(one_outcome, CONFIG, share=0.1, seed=0) is None
    with pytest.raises(RiskFitError, match="held-out share"):
        holdout_check(rows, CONFIG, share=1.0)


@pytest.mark.parametrize(("rows", "words"), [
    ([], "no assessed parcels"),
    ([Labelled({"weight": 20.0}, True)] * 20, "both outcomes"),
    ([Labelled({"weight": 20.0}, True), Labelled({}, False)] * 3, "no factor fired in 10"),
    ([Labelled({"origin": 14.0}, False)] * 20 + [Labelled({}, True)] * 20,
     "no factor's points tell"),
])
def test_fit_refuses_what_cannot_be_fitted(rows: list[Labelled], words: str) -> None:
    with pytest.raises(RiskFitError, match=words):
        fit_weights(rows, CONFIG)


@pytest.mark.parametrize(("scores", "truth", "auc"), [
    ([1, 2, 3, 4], [0, 0, 1, 1], 1.0),
    ([4, 3, 2, 1], [0, 0, 1, 1], 0.0),
    ([1, 1, 1, 1], [0, 1, 0, 1], 0.5),
    ([1, 2, 2, 3], [0, 1, 0, 1], 0.875),
])
def test_roc_auc_hand_checked(scores: list[float], truth: list[int], auc: float) -> None:
    assert roc_auc(scores, [bool(t) for t in truth]) == pytest.approx(auc)


def pairs_auc(scores: np.ndarray, truth: np.ndarray) -> float:
    """ROC AUC by brute force: over every (positive, negative) pair, 1 when the positive scores
    higher, 1/2 on a tie."""
    positives, negatives = scores[truth], scores[~truth]
    wins = sum(float(p > n) + 0.5 * float(p == n) for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


@pytest.mark.parametrize("seed", range(4))
def test_roc_auc_counts_pairs_ties_included(seed: int) -> None:
    """The rank-sum AUC (scipy's average ranks) equals the pair count exactly, with many ties
    (scores drawn from a few values, as points sums are), and is NaN with one outcome."""
    rng = np.random.default_rng(seed)
    for _ in range(50):
        size = int(rng.integers(2, 40))
        scores = rng.integers(0, int(rng.integers(1, 6)), size).astype(np.float64) * 2.5
        truth = rng.random(size) < 0.4
        if truth.all() or not truth.any():
            assert np.isnan(roc_auc(scores, truth))
            continue
        assert roc_auc(scores, truth) == pairs_auc(scores, truth)


# --- through the service and the CLI ---------------------------------------------------------

@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def reviewed(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A service database holding 32 screened parcels with verdicts: mail-order parcels were
    mostly seizures, the others mostly cleared."""
    database_url = empty_database(request.param)
    home = tmp_path_factory.mktemp("risk-fit-home")
    settings = make_settings(home, database_url=database_url, print_admin_key=True)
    with TestClient(create_app(settings)) as client:
        service = client.app.state.service  # type: ignore[attr-defined]
        scanner = bearer(store.create_key(service.sessions, "scanner"))
        operator = bearer(store.create_key(service.sessions, "operator"))
        png = png_bytes(scan_rgb())
        for index in range(32):
            mail = index % 2 == 0
            manifest = {"shipper": {"name": f"Shipper {index}"}, "mail_order": mail}
            response = client.post("/v1/scans", headers=scanner,
                                   files={"image": ("scan.png", png, "image/png")},
                                   data={"manifest": json.dumps(manifest)})
            assert response.status_code == 201, response.text
            confirmed = mail != (index % 8 in (2, 3))      # a quarter go the other way
            decision = "threat_confirmed" if confirmed else "cleared"
            verdict = client.post(f"/v1/scans/{response.json()['id']}/verdict",
                                  headers=operator, json={"decision": decision})
            assert verdict.status_code == 200, verdict.text
    yield home, database_url


def run_cli(*args: str) -> int:
    return cli.main(["risk", *args])


def test_risk_fit_from_the_database_and_serve_it(reviewed: tuple[Path, str], tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    home, database_url = reviewed
    out = tmp_path / "fitted.yaml"
    assert run_cli("fit", "--home", str(home), "--database-url", database_url, "--out",
                   str(out), "--min-parcels", "5", "--version", "site-fit-1") == 0
    printed = capsys.readouterr().out
    assert "fitted on 32 parcels with a verdict (16 confirmed)" in printed
    assert "held-out verdicts" in printed or "no held-out check" in printed
    fitted = load_risk_config(out)
    assert fitted.version == "site-fit-1"
    # mail order told seizures apart here; the model's detections (on every parcel) did not
    assert fitted.factor_weights["mail_order"] > 1.0
    detection = [w for n, w in fitted.factor_weights.items() if n.startswith("detection.")]
    assert detection and all(w < fitted.factor_weights["mail_order"] for w in detection)
    assert run_cli("check", str(out)) == 0
    assert "valid, version site-fit-1" in capsys.readouterr().out

    settings = make_settings(tmp_path / "serve-home", risk_config=out)
    with TestClient(create_app(settings)) as client:
        key = client.app.state.first_admin_key  # type: ignore[attr-defined]
        response = client.post("/v1/scans", headers=bearer(key),
                               files={"image": ("scan.png", png_bytes(scan_rgb()), "image/png")},
                               data={"manifest": '{"mail_order": true}'})
        assessment = response.json()["risk"]
        assert assessment["config_version"] == "site-fit-1"
        mail = next(f for f in assessment["factors"] if f["name"] == "mail_order")
        assert mail["points"] == round(3.0 * fitted.factor_weights["mail_order"], 1)


def test_risk_fit_bad_inputs(reviewed: tuple[Path, str], tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    home, database_url = reviewed
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump({**DEFAULT, "version": "another-version"}))
    out = tmp_path / "out.yaml"
    common = ["--home", str(home), "--database-url", database_url, "--out", str(out)]
    assert run_cli("fit", *common, "--config", str(other)) == 2
    error = capsys.readouterr().err
    assert "no verdicts on parcels assessed under version 'another-version'" in error
    assert f"{CONFIG.version} (32)" in error
    assert not out.exists()
    assert run_cli("fit", *common, "--holdout", "1.5") == 2
    assert "--holdout must be in (0, 1)" in capsys.readouterr().err
    assert run_cli("fit", *common, "--min-parcels", "1000") != 0
    assert "no factor fired in 1000" in capsys.readouterr().err
    out.write_text("keep me")
    assert run_cli("fit", *common) == 2
    assert "exists; pass --force" in capsys.readouterr().err and out.read_text() == "keep me"
    assert run_cli("fit", "--home", str(tmp_path / "nowhere"), "--out", str(out), "--force") == 2
    assert "no service database" in capsys.readouterr().err


@pytest.mark.parametrize(("text", "words"), [
    ("version: [", "is not valid YAML"),
    (yaml.safe_dump({**DEFAULT, "factor_weights": {"detection.knife": 1}}),
     "factor_weights.detection.knife"),
    (yaml.safe_dump({**DEFAULT, "bands": {"medium": 70, "high": 60}}), "bands"),
])
def test_serve_and_check_refuse_a_bad_risk_config(tmp_path: Path, text: str, words: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "risk.yaml"
    path.write_text(text)
    assert run_cli("check", str(path)) != 0
    assert words in capsys.readouterr().err
    assert cli.main(["serve", "--home", str(tmp_path / "home"), "--risk-config", str(path)]) != 0
    assert words in capsys.readouterr().err
    assert cli.main(["risk", "check", str(tmp_path / "missing.yaml")]) != 0
    assert "cannot read configuration" in capsys.readouterr().err
