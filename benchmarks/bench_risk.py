"""Does fusing the X-ray with the manifest find more contraband than either alone? (issue 5)

A synthetic parcel stream (``benchmarks/scenarios.py``: scans, manifests, party history) is
scored three ways with the same risk configuration:

- image only: the detections and the scan's own facts (dense areas), with an empty manifest;
- manifest only: the manifest and the party history, no image;
- fused: everything.

For each it prints the share of contraband found when the top ``--budget`` (5%) of parcels by
score are inspected, and the ROC AUC of the score against "holds contraband".

    python benchmarks/bench_risk.py [--model models/default] [--parcels 600] [--seed 0]
        [--size 320] [--budget 0.05]
    python benchmarks/bench_risk.py --oracle-detections [--miss-rate 0.15] [--false-alarms 0.1]
    python benchmarks/bench_risk.py --fit [--fit-seed 1000] [--fit-verdicts reviewed|all]

``--fit`` also learns the rules' weights the way ``xscreen risk fit`` does, from the verdicts of a
*separate* calibration stream (another seed), and scores the measured stream with them too. By
default only the parcels a real site would have verdicts for count: those the configured score
sent to review or inspection, plus a random 5% audit of the released ones.

Detections come from a real bundle through ONNX Runtime (``--model``). While no trained bundle
exists, ``--oracle-detections`` derives them from the ground truth instead (each object missed
with ``--miss-rate``, ``--false-alarms`` spurious detections per parcel on average); the output
then says ORACLE in capitals, because such numbers say nothing about any model.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xscreen import CLASSES
from xscreen.serving.manifest import Manifest
from xscreen.serving.risk import Finding, RiskConfig, load_risk_config, risk
from xscreen.serving.risk_fit import (
    Labelled,
    RiskFit,
    fit_weights,
    points_by_name,
    report_lines,
    roc_auc,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))   # scenarios.py beside this file
from scenarios import Parcel, Scenario, ScenarioConfig, generate

Detect = Callable[[Parcel], list[Finding]]


@dataclass(frozen=True)
class Result:
    """One way of scoring the stream, measured."""

    name: str
    found_at_budget: float
    auc: float
    flagged_share: float      # share of parcels at medium or high


def share_found(scores: Sequence[float], truth: Sequence[bool], budget: float) -> float:
    """Share of positives among the top ``budget`` share of parcels by score.

    Ties at the cut are shared out in proportion (the expected value of a random tie-break), so a
    score that ties everything finds exactly ``budget`` of the positives.
    """
    score = np.asarray(scores, np.float64)
    positive = np.asarray(truth, bool)
    if not positive.any():
        return math.nan
    slots = budget * len(score)
    order = np.sort(np.unique(score))[::-1]
    found, used = 0.0, 0.0
    for value in order:
        tied = score == value
        size, hits = float(tied.sum()), float(positive[tied].sum())
        take = min(size, slots - used)
        found += hits * take / size
        used += take
        if used >= slots:
            break
    return found / float(positive.sum())


def oracle_detector(miss_rate: float, false_alarms: float, seed: int) -> Detect:
    """Detections from the ground-truth boxes: each missed with ``miss_rate`` (twice that when
    concealed), plus Poisson(``false_alarms``) spurious ones per parcel."""
    def detect(parcel: Parcel) -> list[Finding]:
        rng = np.random.default_rng([seed, 7, parcel.index])
        assert parcel.scan is not None
        findings = []
        for ann in parcel.scan.annotations:
            miss = miss_rate * (2.0 if ann.concealment != "none" else 1.0)
            if rng.random() >= miss:
                x, y, w, h = ann.box
                findings.append(Finding(ann.label, float(rng.uniform(0.45, 0.98)),
                                        (x, y, x + w, y + h)))
        height, width = parcel.scan.rgb.shape[:2]
        for _ in range(int(rng.poisson(false_alarms))):
            x, y = float(rng.uniform(0, width - 20)), float(rng.uniform(0, height - 20))
            findings.append(Finding(CLASSES[int(rng.integers(len(CLASSES)))],
                                    float(rng.uniform(0.3, 0.7)), (x, y, x + 20, y + 20)))
        return findings
    return detect


def model_detector(bundle: Path) -> Detect:
    """Detections of a real bundle at its card's thresholds, through ONNX Runtime."""
    from xscreen.models.runtime import OnnxDetector

    detector = OnnxDetector(bundle, threads=2)
    classes = detector.card.classes

    def detect(parcel: Parcel) -> list[Finding]:
        assert parcel.scan is not None
        records = detector.detect(parcel.scan.rgb).to_records(classes)
        return [Finding(r["label"], float(r["score"]), tuple(r["box"])) for r in records]
    return detect


def cached(detect: Detect) -> Detect:
    """``detect`` run once per parcel (a stream is scored more than once)."""
    seen: dict[tuple[int, int], list[Finding]] = {}

    def run(parcel: Parcel) -> list[Finding]:
        key = (id(parcel), parcel.index)
        if key not in seen:
            seen[key] = detect(parcel)
        return seen[key]
    return run


def fit_on_stream(scenario: Scenario, detect: Detect, config: RiskConfig, verdicts: str,
                  audit: float, seed: int) -> RiskFit:
    """Weights fitted to the verdicts of ``scenario``: every parcel's (``verdicts="all"``) or,
    as at a real site, only those the configured score sent to review or inspection plus a
    random ``audit`` share of the released ones."""
    rng = np.random.default_rng([seed, 11])
    rows = []
    for parcel in scenario.parcels:
        assessment = risk(detect(parcel), parcel.manifest, scenario.history, config,
                          parcel.facts)
        if verdicts == "all" or assessment.level != "low" or rng.random() < audit:
            points = points_by_name((f.name, f.points) for f in assessment.factors)
            rows.append(Labelled(points, parcel.contraband))
    return fit_weights(rows, config)


def score_stream(scenario: Scenario, detect: Detect, config: RiskConfig
                 ) -> dict[str, list[float] | list[str]]:
    """The three scores and the fused level of every parcel."""
    scores: dict[str, list[float]] = {"image only": [], "manifest only": [], "fused": []}
    levels: dict[str, list[str]] = {name: [] for name in scores}
    empty = Manifest()
    for parcel in scenario.parcels:
        findings = detect(parcel)
        ways = {"image only": risk(findings, empty, None, config, parcel.facts),
                "manifest only": risk([], parcel.manifest, scenario.history, config),
                "fused": risk(findings, parcel.manifest, scenario.history, config,
                              parcel.facts)}
        for name, assessment in ways.items():
            scores[name].append(assessment.score)
            levels[name].append(assessment.level)
    return {**scores, **{f"{name} level": values for name, values in levels.items()}}


def measure(scenario: Scenario, detect: Detect, config: RiskConfig, budget: float
            ) -> list[Result]:
    """Score the stream three ways and measure each."""
    truth = [parcel.contraband for parcel in scenario.parcels]
    table = score_stream(scenario, detect, config)
    results = []
    for name in ("image only", "manifest only", "fused"):
        scores = [float(s) for s in table[name]]
        flagged = sum(level != "low" for level in table[f"{name} level"]) / len(scores)
        results.append(Result(name, share_found(scores, truth, budget), roc_auc(scores, truth),
                              flagged))
    return results


def print_report(results: list[Result], scenario: Scenario, source: str, budget: float,
                 seconds: float) -> None:
    parcels = scenario.parcels
    positives = sum(p.contraband for p in parcels)
    best = min(1.0, budget * len(parcels) / positives) if positives else math.nan
    print(f"detections: {source}")
    print(f"stream: {len(parcels)} parcels, {positives} with contraband "
          f"({positives / len(parcels):.1%}); scans {scenario.config.width}x"
          f"{scenario.config.height}; {seconds:.0f} s")
    print(f"inspecting the top {budget:.0%} ({budget * len(parcels):.0f} parcels) can find at "
          f"most {best:.0%} of the contraband\n")
    print(f"{'score':<15}{'found at ' + format(budget, '.0%'):>12}{'ROC AUC':>10}"
          f"{'medium+high':>13}")
    for r in results:
        print(f"{r.name:<15}{r.found_at_budget:>12.1%}{r.auc:>10.3f}{r.flagged_share:>13.1%}")
    fused = results[-1]
    alone = max(results[:-1], key=lambda r: r.found_at_budget)
    verdict = "finds more than" if fused.found_at_budget > alone.found_at_budget else \
        "does NOT find more than"
    print(f"\nfused {verdict} the better single source ({alone.name}) at {budget:.0%}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--model", type=Path, default=Path("models/default"),
                        help="model bundle giving the detections (default models/default)")
    parser.add_argument("--oracle-detections", action="store_true",
                        help="derive detections from the ground truth instead of a model")
    parser.add_argument("--miss-rate", type=float, default=0.15)
    parser.add_argument("--false-alarms", type=float, default=0.1,
                        help="spurious oracle detections per parcel (mean)")
    parser.add_argument("--parcels", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=320, help="scan width in pixels")
    parser.add_argument("--contraband-share", type=float, default=0.08)
    parser.add_argument("--budget", type=float, default=0.05, help="share of parcels inspected")
    parser.add_argument("--config", type=Path, default=None, help="risk YAML (default packaged)")
    parser.add_argument("--fit", action="store_true",
                        help="also fit the weights on a calibration stream and score with them")
    parser.add_argument("--fit-seed", type=int, default=1000, help="the calibration stream's seed")
    parser.add_argument("--fit-parcels", type=int, default=None,
                        help="calibration stream size (default --parcels)")
    parser.add_argument("--fit-verdicts", choices=("reviewed", "all"), default="reviewed",
                        help="which calibration parcels have verdicts (default: reviewed + audit)")
    parser.add_argument("--audit", type=float, default=0.05,
                        help="share of released calibration parcels audited anyway")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.oracle_detections:
        detect = oracle_detector(args.miss_rate, args.false_alarms, args.seed)
        source = (f"ORACLE (ground truth, miss rate {args.miss_rate:.0%}, {args.false_alarms:g} "
                  f"false alarms per parcel) -- NOT a model")
    elif (args.model / "model.onnx").is_file():
        detect = model_detector(args.model)
        source = f"model bundle {args.model}"
    else:
        print(f"no model bundle at {args.model} (model.onnx missing); train one, pass --model, "
              "or pass --oracle-detections for ground-truth-derived detections", file=sys.stderr)
        return 2
    if args.fit and args.fit_seed == args.seed:
        print("--fit-seed must differ from --seed: a fit is judged on parcels it did not see",
              file=sys.stderr)
        return 2
    config = load_risk_config(args.config)
    detect = cached(detect)
    started = time.perf_counter()

    def stream(parcels: int, seed: int) -> Scenario:
        return generate(ScenarioConfig(parcels=parcels, width=args.size,
                                       height=max(64, args.size * 7 // 10),
                                       contraband_share=args.contraband_share), seed)

    scenario = stream(args.parcels, args.seed)
    results = measure(scenario, detect, config, args.budget)
    print_report(results, scenario, source, args.budget, time.perf_counter() - started)
    if args.fit:
        calibration = stream(args.fit_parcels or args.parcels, args.fit_seed)
        fit = fit_on_stream(calibration, detect, config, args.fit_verdicts, args.audit,
                            args.fit_seed)
        print(f"\nweights fitted on calibration stream seed {args.fit_seed} "
              f"({args.fit_verdicts} verdicts):")
        for line in report_lines(fit):
            print("  " + line)
        fitted = config.model_copy(update={"factor_weights": fit.weights,
                                           "version": f"{config.version}-fit"})
        print(f"\nthe measured stream (seed {args.seed}) scored with the fitted weights:")
        print_report(measure(scenario, detect, fitted, args.budget), scenario, source,
                     args.budget, time.perf_counter() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
